"""Localization beyond the random walk: rho profiles and their width over data models (AR(1), fBm, i.i.d.)."""
from __future__ import annotations

import numpy as np

from sigprop.plotting import figure_paths, pyplot, save
from sigprop.rho.data_study import localization_over_data, profiles

D, T, M = 64, 128, 0.5


def make(out, quick: bool = False):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    pos = np.arange(1, T + 1)
    groups = ((axes[0], ("random-walk", "iid", "ar1:4", "ar1:32", "ar1:256"), "data models"),
              (axes[1], ("fbm:0.1", "fbm:0.3", "fbm:0.5", "fbm:0.7", "fbm:0.9"),
               "fractional Brownian motion"))
    styles = [dict(color="k", ls=ls) for ls in ("-", "--", "-.", ":")] + [dict(color="0.5", ls="-")]
    for ax, specs, title in groups:
        for style, (spec, rho) in zip(styles, profiles(M, 0.01, D, T, specs).items(), strict=True):
            ax.plot(pos, rho, label=spec, **style)
        ax.set(title=f"{title}, m = {M}, v = 0.01", xlabel="position i")
        ax.legend(fontsize=7)
    axes[0].set_ylabel(r"$\rho_i$ (closed form, query at T)")
    axes[1].set_ylabel(r"$\rho_i$ (closed form, query at T)")
    lengths = (1, 2, 4, 8, 16, 32, 64, 128, 256) if not quick else (1, 4, 16, 64, 256)
    for style, v in zip(("k-", "k--", "k:"), (0.01, 0.1, 1.0), strict=True):
        rows = localization_over_data(M, (v,), D, T, [f"ar1:{L}" for L in lengths])
        axes[2].plot(lengths, [r["entropy_normalized"] for r in rows], style, marker="o", label=f"v = {v:g}")
    walk = localization_over_data(M, (0.01,), D, T, ["random-walk"])[0]["entropy_normalized"]
    axes[2].axhline(walk, color="0.5", lw=1, label="random walk, v = 0.01")
    axes[2].set(xscale="log", xlabel="AR(1) correlation length L", ylabel="normalized entropy of the profile",
                title="localization against correlation length")
    axes[2].legend(fontsize=7)
    fig.suptitle(f"does localization need the random walk? d = {D}, T = {T}, c = 1/sqrt(d)", fontsize=10)
    fig.tight_layout()
    files = figure_paths(out, "data_models")
    save(fig, files)
    return files


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
