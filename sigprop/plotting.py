"""The figures' shared style: greyscale-safe, saved atomically, bands over seeds from :mod:`sigprop.core.stats`.

A figure of one study's result lives beside the study (``figure(result, path)``, named by its
descriptor or command, e.g. :func:`sigprop.rho.prediction.profile_figure`); this module holds what
they share: :func:`pyplot` (the style), :func:`save`, :func:`figure_paths`, the Student-t band
over seeds (:func:`series`, :func:`band_plot`) and the legends.  The figures that lived here keep
their old spelling (``sigprop.plotting.profile_figure``) as deprecated aliases (:data:`MOVED`).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sigprop.core.results import atomic_write
from sigprop.core.stats import t_band

#: The figures that moved beside their studies: old name -> ``"module:function"``.
MOVED = {
    "profile_figure": "sigprop.rho.prediction:profile_figure",
    "gaussian_error_figure": "sigprop.rho.gaussian_error:gaussian_error_figure",
    "history_figure": "sigprop.model.train:history_figure",
    "spectrum_figure": "sigprop.gap.spectra:spectrum_figure",
    "width_figure": "sigprop.gap.collapse:width_figure",
    "depth_figure": "sigprop.gap.collapse:depth_figure",
    "nnt_stable_rank_figure": "sigprop.gap.stable_rank:nnt_stable_rank_figure",
    "nnt_gradients_figure": "sigprop.gap.stable_rank:nnt_gradients_figure",
    "nnt_training_figure": "sigprop.gap.trainability:nnt_training_figure",
    "validity_figure": "sigprop.gap.validity:validity_figure",
    "nnt_encoder_figure": "sigprop.checkpoints.encoder_gap:nnt_encoder_figure",
    "heads_figure": "sigprop.checkpoints.heads:heads_figure",
}


def __getattr__(name: str) -> Any:
    """A moved figure by its old name (:data:`MOVED`), with a :class:`DeprecationWarning`."""
    if name not in MOVED:
        raise AttributeError(f"module 'sigprop.plotting' has no attribute {name!r}")
    from sigprop.core.study import resolve  # the study's module, named by a string: it is a higher layer

    new = MOVED[name].replace(":", ".")
    warnings.warn(f"sigprop.plotting.{name} is deprecated: use {new}", DeprecationWarning, stacklevel=2)
    return resolve(MOVED[name])


def pyplot():
    """matplotlib's ``pyplot`` on the Agg backend with the package's figure style (one place for it)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 120, "axes.grid": True, "grid.alpha": 0.3,
                         "font.size": 10, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def save(fig, path) -> None:
    """Save ``fig`` atomically to ``path`` (or to each path of a list) and close it."""
    for one in ([path] if isinstance(path, (str, Path)) else path):
        fmt = Path(one).suffix.lstrip(".").lower() or "png"
        atomic_write(one, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, bbox_inches="tight"))
    pyplot().close(fig)


def figure_paths(out, name: str) -> list[Path]:
    """``out/name.png`` and ``out/name.pdf``."""
    return [Path(out) / f"{name}.png", Path(out) / f"{name}.pdf"]


# --- bands over seeds ---------------------------------------------------------------------------

def series(records, value, x_key, **match):
    """``(x, values[seed, x])`` of ``value`` for the records matching ``match`` (one row per ``seed``)."""
    rows = [r for r in records if all(r.get(k) == v for k, v in match.items())]
    xs = sorted({r[x_key] for r in rows})
    seeds = sorted({r["seed"] for r in rows})
    grid = np.full((len(seeds), len(xs)), np.nan)
    for r in rows:
        grid[seeds.index(r["seed"]), xs.index(r[x_key])] = r[value]
    return np.array(xs, dtype=float), grid


def band_plot(ax, x, grid, style, label):
    """The mean of ``grid`` over its first axis (seeds) against ``x``, with its 95% Student-t band.

    ``style`` is ``(color, marker, linestyle)``; the band is :func:`sigprop.core.stats.t_band`.
    """
    color, marker, ls = style
    mean, half = t_band(grid)                # 95% Student-t band over seeds (sigprop.core.stats)
    ax.plot(x, mean, ls, color=color, marker=marker, ms=3.5, mfc="white", lw=1.2, label=label)
    ax.fill_between(x, mean - half, mean + half, color=color, alpha=0.15, lw=0)


def legend_below(ax, ncol: int = 2, fontsize: float = 7, offset: float = 0.2):
    """The legend of ``ax`` under its x label, outside the panel: it covers no data."""
    return ax.legend(fontsize=fontsize, loc="upper center", bbox_to_anchor=(0.5, -offset), ncol=ncol,
                     frameon=False)


def figure_legend_below(fig, axes, ncol: int, fontsize: float = 8):
    """One legend under all panels with every entry of ``axes`` once (panels sharing line styles)."""
    entries: dict = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    return fig.legend(list(entries.values()), list(entries), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                      ncol=ncol, fontsize=fontsize, frameon=False)


