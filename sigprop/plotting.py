"""Figures of signal propagation profiles, in one consistent, greyscale-safe style."""
from __future__ import annotations

import numpy as np

from .io import atomic_write


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 120, "axes.grid": True, "grid.alpha": 0.3,
                         "font.size": 10, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def save(fig, path) -> None:
    """Save ``fig`` to ``path`` atomically and close it."""
    fmt = str(path).rsplit(".", 1)[-1] if "." in str(path) else "png"
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, bbox_inches="tight"))
    fig.canvas.figure.clf()
    _pyplot().close(fig)


def profile_figure(result: dict, path) -> None:
    """``rho_i`` against position ``i`` (theory line; simulation with intervals if present)."""
    plt = _pyplot()
    cfg = result["config"]
    pos = np.asarray(result["positions"])
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(pos, result["rho"], "k-", lw=1.6, label=f"closed form ({cfg['form']})")
    if "rho_mc" in result:
        rho_mc = np.asarray(result["rho_mc"])
        err = np.vstack([rho_mc - np.asarray(result["ci_low"]), np.asarray(result["ci_high"]) - rho_mc])
        ax.errorbar(pos, rho_mc, yerr=err, fmt="o", ms=2.5, color="0.45", mfc="white", elinewidth=0.8,
                    label=f"Monte Carlo, {cfg['samples']} samples, {cfg['confidence']:.0%} Wilson CI")
    ax.set_xlabel("position i (query = token T)")
    ax.set_ylabel(r"$\rho_i = P(0 < zc_i < 1)$")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(_title(cfg), fontsize=9)
    ax.legend(fontsize=8, loc="best")
    save(fig, path)


def _title(cfg: dict) -> str:
    if cfg.get("weights"):
        head = f"W from {cfg['weights']}"
    else:
        head = f"eigenvalue mean m = {cfg['mean']:g}, variance v = {cfg['var']:g}"
    return f"{head}; d = {cfg['dim']}, T = {cfg['length']}, c = {cfg['scale']:.4g}"
