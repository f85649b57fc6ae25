"""Closed form against Monte Carlo with confidence bands at several d; Gaussian and exact side by side."""
from __future__ import annotations

import numpy as np

from sigprop import make_weights, simulate, theory
from sigprop.plotting import figure_paths, pyplot, save

T = 64


def make(out, quick: bool = False):
    plt = pyplot()
    dims = (4, 16, 64)
    samples = 20_000 if quick else 200_000
    fig, axes = plt.subplots(1, len(dims), figsize=(14, 3.8), sharey=True)
    pos = np.arange(1, T + 1)
    for k, (ax, d) in enumerate(zip(axes, dims, strict=True)):
        W = make_weights(0.5, 0.1, d, seed=k)
        sim = simulate(W, T, samples=samples, seed=100 + k)
        ax.fill_between(pos, sim.ci_low, sim.ci_high, color="0.8", label="Monte Carlo 95% Wilson band")
        ax.plot(pos, sim.rho, color="0.5", lw=0.8, label=f"Monte Carlo ({samples} samples)")
        ax.plot(pos, theory(W, T, method="gaussian").rho, "k--", lw=1.2, label="Gaussian approximation")
        ax.plot(pos, theory(W, T, method="exact").rho, "k-", lw=1.2, label="exact (chi-square)")
        ax.set(title=f"d = {d}, m = 0.5, v = 0.1", xlabel="position i")
    axes[0].set_ylabel(r"$\rho_i$")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"closed form against simulation, T = {T}", fontsize=10)
    fig.tight_layout()
    files = figure_paths(out, "theory_vs_mc")
    save(fig, files)
    return files


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
