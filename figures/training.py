"""Training histories with and without LocAteR: eigenspectrum, entropy, loss, profiles."""
from __future__ import annotations

import numpy as np

from sigprop.model.train import TrainConfig, train
from sigprop.plotting import figure_paths, pyplot, save


def make(out, quick: bool = False):
    plt = pyplot()
    steps = 150 if quick else 300
    runs = {lam: train(TrainConfig(task="next-token", steps=steps, seed=0, locater=lam,
                                   probe=512 if quick else 2048)) for lam in (0.0, 0.1)}
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    styles = {0.0: ("k", "-"), 0.1: ("0.45", "--")}
    for lam, rec in runs.items():
        color, ls = styles[lam]
        hist = rec["history"]
        step = np.array([h["step"] for h in hist])
        label = "no LocAteR" if lam == 0 else f"LocAteR $\\lambda$ = {lam}"
        series = {k: np.array([np.nan if h[k] is None else h[k] for h in hist], dtype=float)
                  for k in ("eig_mean", "spread", "attention_entropy", "heldout_loss", "train_loss")}
        axes[0, 0].plot(step, series["eig_mean"], ls, color=color, label=label)
        axes[0, 1].semilogy(step, series["spread"], ls, color=color, label=label)
        axes[0, 2].plot(step, series["attention_entropy"], ls, color=color, label=label)
        axes[1, 0].semilogy(step, series["heldout_loss"], ls, color=color, label=label)
        pos = np.arange(1, len(hist[-1]["rho_theory"]) + 1)
        emp = np.array(hist[-1]["profile_empirical"])
        th = np.array(hist[-1]["rho_theory"])
        axes[1, 1].plot(pos, th / th.sum(), ls, color=color, label=f"closed form, {label}")
        axes[1, 1].plot(pos, emp / emp.sum(), "o", ms=3, mfc="white", color=color,
                        label=f"$E[p_i(1-p_i)]$, {label}")
        axes[1, 2].plot(step, [h["rank_residual"] for h in hist], ls, color=color, label=label)
    titles = [("eigenvalue mean m of W", "m"), ("spread $\\|W - mI\\|_F^2/d$ (= v if W symmetric)", "spread"),
              ("attention entropy / log T (last query)", "entropy"), ("held-out loss", "loss L"),
              ("final profiles, as shares", "share"), ("rank residual (all queries)", "residual")]
    for ax, (title, ylabel) in zip(axes.ravel(), titles, strict=True):
        ax.set(title=title, ylabel=ylabel, xlabel="position i" if "profiles" in title else "step")
        ax.legend(fontsize=7)
    fig.suptitle(f"one-layer softmax attention, next-token task, d = 16, T = 32, {steps} steps, seed 0",
                 fontsize=10)
    fig.tight_layout()
    files = figure_paths(out, "training_locater")
    save(fig, files)
    return files


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
