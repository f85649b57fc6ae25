"""Figures of a language-model run: validation perplexity, attention entropy, the QK
eigenspectrum and ``rho`` (closed form beside the measured linear share), against steps."""
from __future__ import annotations

import numpy as np

from sigprop.plotting import _pyplot, save


def run_figure(record: dict, path) -> None:
    """Four panels from ``record["history"]``, one line per layer and head."""
    plt = _pyplot()
    h = record["history"]
    steps = np.array([r["step"] for r in h])
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
    ax = axes[0, 0]
    ax.plot(steps, [r["perplexity"] for r in h], "k-", label="validation")
    unigram = record["data"]["unigram_perplexity"]["valid"]
    ax.axhline(unigram, color="0.5", ls="--", label=f"unigram ({unigram:.0f})")
    ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="perplexity")
    ax.legend(fontsize=8)
    per_head = {k: np.array([r[k] for r in h], dtype=float)
                for k in ("entropy", "eig_mean", "eig_var", "rho_theory", "linear_share_last")}
    L, H = per_head["entropy"].shape[1:]
    styles = ["-", "--", ":", "-."]
    for layer in range(L):
        for head in range(H):
            lab = f"L{layer + 1}H{head + 1}"
            st = styles[layer % 4]
            axes[0, 1].plot(steps, per_head["entropy"][:, layer, head], st, label=lab)
            axes[1, 0].plot(steps, per_head["eig_mean"][:, layer, head], st, color="k", label=f"{lab} mean")
            axes[1, 0].plot(steps, per_head["eig_var"][:, layer, head], st, color="0.6", label=f"{lab} var")
            axes[1, 1].plot(steps, per_head["rho_theory"][:, layer, head], st, color="k",
                            label=f"{lab} theory")
            axes[1, 1].plot(steps, per_head["linear_share_last"][:, layer, head], st, color="0.6",
                            label=f"{lab} measured")
    axes[0, 1].set(xlabel="step", ylabel="attention entropy (nats)")
    axes[1, 0].set(xlabel="step", ylabel="W_QK eigenvalue mean / variance")
    axes[1, 1].set(xlabel="step", ylabel="rho (mean over positions)")
    for ax in (axes[0, 1], axes[1, 0], axes[1, 1]):
        if L * H <= 4:
            ax.legend(fontsize=7)
    m = record["config"]["model"]
    fig.suptitle(f"{m['layers']} layer(s), {m['heads']} head(s), width {m['width']}, {m['norm']}-LN, "
                 f"{m['regularizer']}, seed {record['config']['seed']}", fontsize=10)
    fig.tight_layout()
    save(fig, path)
