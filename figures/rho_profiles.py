"""The localization picture of [BHK24]: rho profiles over a grid of (m, v), and metrics as heat maps."""
from __future__ import annotations

import numpy as np

from sigprop import localization_metrics, theory_spectrum
from sigprop.plotting import figure_paths, pyplot, save

D, T = 64, 128


def make(out, quick: bool = False):
    plt = pyplot()
    means, variances = (0.0, 0.25, 0.5, 1.0), (0.01, 0.1, 1.0, 10.0)
    prof = theory_spectrum(np.array(means)[:, None], np.array(variances), D, T, method="gaussian").rho
    fig, axes = plt.subplots(1, len(means), figsize=(14, 3.4), sharey=True)
    styles = ("k-", "k--", "k-.", "k:")
    for ax, m, rows in zip(axes, means, prof, strict=True):
        for style, v, rho in zip(styles, variances, rows, strict=True):
            ax.plot(np.arange(1, T + 1), rho, style, label=f"v = {v:g}")
        ax.set(title=f"eigenvalue mean m = {m:g}", xlabel="position i")
    axes[0].set_ylabel(r"$\rho_i = P(0 < zc_i < 1)$")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"signal propagation profiles (closed form), d = {D}, T = {T}, c = 1/sqrt(d)", fontsize=10)
    fig.tight_layout()
    files = figure_paths(out, "rho_profiles")
    save(fig, files)

    n = 41 if quick else 121
    m_grid = np.linspace(-1.5, 1.5, n)
    v_grid = np.logspace(-3, 1.5, n)
    loc = localization_metrics(theory_spectrum(m_grid[:, None], v_grid, D, T, method="gaussian").rho)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title, unit in ((axes[0], "total", r"expected propagating tokens $\sum_i \rho_i$", r"$\sum_i \rho_i$"),
                                 (axes[1], "entropy_normalized", "normalized entropy of the profile",
                                  "entropy / log T")):
        im = ax.pcolormesh(v_grid, m_grid, loc[key], cmap="Greys", shading="auto")
        ax.set(xscale="log", xlabel="eigenvalue variance v", ylabel="eigenvalue mean m", title=title)
        ax.grid(False)
        fig.colorbar(im, ax=ax, label=unit)
    fig.suptitle(f"localization metrics over (m, v), d = {D}, T = {T}", fontsize=10)
    fig.tight_layout()
    more = figure_paths(out, "localization_maps")
    save(fig, more)
    return files + more


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
