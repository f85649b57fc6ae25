"""A stored variable against the sweep's first axis: one line per value of its other dimensions."""
from __future__ import annotations

import itertools
import json

import numpy as np

from sigprop.core.checks import ArgumentError
from sigprop.plotting import pyplot, save

MAX_LEGEND = 10
#: Where the lines' colours stop on viridis (its lighter end is pale yellow on white).
DARKEST_END = 0.6
MARKERS = "os^Dvp<>h*"


def sweep_figure(ds, var: str, path) -> None:
    """Draw ``ds[var]`` against the first axis of the sweep and save it to ``path``.

    Every other dimension (axes and the study's own, e.g. ``position``) gives one line per
    combination of its values; cells not done are NaN and leave gaps.  An axis of positive
    values spanning more than a factor 20 is drawn on a log scale.
    """
    if var not in ds.data_vars or var in ("status", "error"):
        names = [v for v in ds.data_vars if v not in ("status", "error")]
        raise ArgumentError("var", f"must be a variable of the store ({', '.join(names)}), got {var!r}")
    axes = list(json.loads(ds.attrs["sweep_spec"])["axes"])
    first = axes[0]
    da = ds[var].load()
    others = [d for d in da.dims if d != first]
    x = da[first].values
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    combos = list(itertools.product(*(range(da.sizes[d]) for d in others)))
    cmap = plt.get_cmap("viridis")
    for k, combo in enumerate(combos):
        y = da.isel(dict(zip(others, combo, strict=True))).values
        label = ", ".join(f"{d}={_fmt(da[d].values[i])}" for d, i in zip(others, combo, strict=True)) or var
        # viridis up to DARKEST_END: every line keeps a 3:1 contrast against the white page
        color = "k" if len(combos) == 1 else cmap(DARKEST_END * k / max(1, len(combos) - 1))
        ax.plot(x if np.issubdtype(np.asarray(x).dtype, np.number) else [str(v) for v in x], y,
                marker=MARKERS[k % len(MARKERS)], ls="-", ms=3.5, lw=1.2, color=color, label=label)
    numeric = np.issubdtype(np.asarray(x).dtype, np.number) and np.asarray(x).dtype != bool
    if numeric and np.all(np.asarray(x) > 0) and np.max(x) >= 20 * np.min(x):
        ax.set_xscale("log")                    # an axis over decades, e.g. a log range
    ax.set_xlabel(first)
    ax.set_ylabel(var)
    ax.set_title(f"sweep of {ds.attrs.get('study', '?')}: {var} against {first}", fontsize=9)
    if 1 < len(combos) <= MAX_LEGEND:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)  # beside the data
    elif len(combos) > MAX_LEGEND:
        ax.text(0.99, 0.01, f"{len(combos)} lines over {', '.join(others)}", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=7)
    save(fig, path)


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)
