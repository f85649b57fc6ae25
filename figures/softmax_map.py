"""Softmax against the piecewise-linear theory: localization of rho and of its three softmax counterparts.

Writes ``softmax_map.json`` (every grid point's localization metrics, the verdicts of the two
[BHK24] conclusions per profile kind, and the full configuration) and the figure
``softmax_map.png/.pdf``: (left) normalized entropy against the eigenvalue variance ``v`` at
``d = 64, T = 128`` for ``m = 0.5, 1``; (middle) the four profiles, each normalized to sum 1,
at ``m = 1, v = 0.1, d = 64, T = 128``; (right) where each piecewise-linear conclusion holds,
fails or is undecided, per profile kind and grid cell
(:func:`sigprop.rho.softmax_map.cell_verdicts`).  The full grid (m in 0, 0.5, 1; v in 0.01, 0.1, 1, 4;
d in 4, 64; T in 32, 128) takes about 20 s on one core; ``--quick`` runs d = 4, 64 at T = 32.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sigprop.plotting import figure_paths, legend_below, pyplot, save
from sigprop.rho import softmax_map as M
from sigprop.rho.logits import LogitModel
from sigprop.rho.softmax_profile import QUANTITIES, semi_analytic
from sigprop.rho.theory import theory_spectrum

MEANS, VARIANCES, DIMS, LENGTHS = (0.0, 0.5, 1.0), (0.01, 0.1, 1.0, 4.0), (4, 64), (32, 128)
LABELS = {"rho": "rho (piecewise linear)", "weight": "E[p_i]", "sensitivity": "E[p_i(1-p_i)]",
          "gradient": "gradient share"}
STYLES = {"rho": "k-", "weight": "C0--", "sensitivity": "C1-.", "gradient": "C2:"}


def draw(result: dict, profiles: dict, paths) -> None:
    plt = pyplot()
    fig, (left, right, grid) = plt.subplots(1, 3, figsize=(16, 4.2), gridspec_kw=dict(width_ratios=(1, 1, 1.3)))
    d, T = max(result["config"]["dims"]), max(result["config"]["lengths"])
    for m, marker in ((0.5, "o"), (1.0, "s")):
        for kind in M.KINDS:
            rows = sorted((r for r in result["rows"] if (r["m"], r["d"], r["T"]) == (m, d, T)),
                          key=lambda r: r["v"])
            if rows:
                left.plot([r["v"] for r in rows], [r[f"{kind}.entropy_normalized"] for r in rows],
                          STYLES[kind], marker=marker, label=f"{LABELS[kind]}, m = {m}")
    left.set_xscale("log")
    left.set_xlabel("eigenvalue variance v")
    left.set_ylabel("normalized entropy of the profile")
    left.set_title(f"d = {d}, T = {T}")
    legend_below(left, ncol=2, fontsize=6, offset=0.16)
    for kind, prof in profiles.items():
        right.plot(np.arange(1, prof.size + 1), prof / prof.sum(), STYLES[kind], label=LABELS[kind])
    right.set_xlabel("position i")
    right.set_ylabel("share of the profile")
    right.set_title("m = 1, v = 0.1, d = 64, T = 128")
    right.legend(fontsize=7)
    verdict_grid(grid, M.cell_verdicts(result))
    fig.tight_layout()
    save(fig, paths)


COLOURS = {"holds": "tab:green", "fails": "tab:red", "inconclusive": "0.7"}


def verdict_grid(ax, cells: list[dict]) -> None:
    """One row per (conclusion, profile kind), one square per cell: where each conclusion holds."""
    rows = [(c, k) for c in M.CONCLUSIONS for k in M.KINDS]
    for y, (conclusion, kind) in enumerate(rows):
        mine = sorted((c for c in cells if (c["conclusion"], c["kind"]) == (conclusion, kind)),
                      key=lambda c: (c["m"], c["v"] or 0.0, c["d"], c["T"]))
        for x, c in enumerate(mine):
            ax.scatter(x, y, marker="s", s=36, color=COLOURS[c["outcome"]])
    ax.set_yticks(range(len(rows)), [f"{c}: {LABELS[k]}" for c, k in rows], fontsize=6)
    ax.set_ylabel("conclusion: profile")
    ax.invert_yaxis()
    ax.set_xlabel("cell: (m, d, T) for small-variance, (m, v, d, T) otherwise, in grid order")
    ax.set_title("green holds, red fails, grey inconclusive")


def make(out, quick: bool = False, progress: bool = False):
    lengths = (32,) if quick else LENGTHS
    raw = M.localization_map(MEANS, VARIANCES, DIMS, lengths, progress=progress)
    raw["verdicts"] = M.verdicts(raw)
    raw.save(Path(out) / "softmax_map.json")                   # type-tagged: sigprop.load reads it back
    T = max(lengths)
    model = LogitModel.from_spectrum(1.0, 0.1, 64, T)
    sa = semi_analytic(model, quantity=QUANTITIES, samples=1 << 13, seed=0)
    profiles = {"rho": theory_spectrum(1.0, 0.1, 64, T, method="gaussian").rho,
                **dict(zip(QUANTITIES, sa.value, strict=True))}
    draw(raw, profiles, figure_paths(out, "softmax_map"))
    return [Path(out) / "softmax_map.json"] + figure_paths(out, "softmax_map")


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(lambda out, quick: make(out, quick, progress=True), __doc__)
