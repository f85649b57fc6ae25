"""The measured map of the Gaussian approximation's error that ``method="auto"`` reads
(``results/gaussian_error/map.json``, written by ``sigprop gaussian-error --map``): the largest
``|rho_gauss - rho_exact|`` over positions of every map row against the effective rank of ``W``,
with the rule's envelope (``sigprop.rho.auto.ENVELOPE``) and the tolerance 0.01.  A redraw of
stored results: ``--quick`` draws the same."""
from __future__ import annotations

import json

import numpy as np

from sigprop.plotting import figure_paths, legend_below, pyplot, save
from sigprop.rho import auto


def make(out, quick: bool = False):
    from sigprop_results import folder

    rows = json.loads((folder("gaussian_error") / "map.json").read_text())["rows"]
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
    for ax, family in zip(axes, ("symmetric", "general")):
        fam = [r for r in rows if r["family"] == family]
        for T, marker in zip(sorted({r["T"] for r in fam}), ("o", "s", "^")):
            sel = [r for r in fam if r["T"] == T]
            sc = ax.scatter([r["effective_rank"] for r in sel], [max(r["gauss_vs_exact"], 1e-5) for r in sel],
                            c=[np.log2(r["d"]) for r in sel], cmap="viridis", vmin=1, vmax=10, s=10,
                            marker=marker, alpha=0.7, label=f"T = {T}")
        env = auto.ENVELOPE.get(family, ())
        if env:
            r = [e[0] for e in env] + [env[-1][0] * 2 ** 0.5]
            ax.step(r, [e[1] for e in env] + [env[-1][1]], where="post", color="k", lw=1.2,
                    label="rule's estimate")
        ax.axhline(auto.TOLERANCE, color="C3", ls="--", lw=1, label=f"tolerance {auto.TOLERANCE:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("effective rank of W")
        ax.set_title(f"{family} W ({len(fam)} rows)")
        legend_below(ax, ncol=3, offset=0.16)
    axes[0].set_ylabel("max_i |rho_gauss - rho_exact|")
    fig.colorbar(sc, ax=axes, label="log2 d")
    files = figure_paths(out, "gaussian_error_map")
    save(fig, files)
    return files


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
