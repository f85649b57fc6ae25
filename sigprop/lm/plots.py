"""Figures of a language-model run: validation perplexity, attention entropy, the QK
eigenspectrum and ``rho`` (closed form beside the measured linear share), against steps."""
from __future__ import annotations

import numpy as np

from sigprop.core.checks import ArgumentError
from sigprop.plotting import pyplot, save


def run_figure(record: dict, path) -> None:
    """Four panels from ``record["history"]``, one line per layer and head."""
    plt = pyplot()
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
                for k in ("entropy", "eig_mean", "eig_var", "spread_abs", "rho_theory", "linear_share_last")
                if k in h[0]}
    L, H = per_head["entropy"].shape[1:]
    styles = ["-", "--", ":", "-."]
    for layer in range(L):
        for head in range(H):
            lab = f"L{layer + 1}H{head + 1}"
            st = styles[layer % 4]
            axes[0, 1].plot(steps, per_head["entropy"][:, layer, head], st, label=lab)
            axes[1, 0].plot(steps, per_head["eig_mean"][:, layer, head], st, color="k", label=f"{lab} mean")
            axes[1, 0].plot(steps, per_head["eig_var"][:, layer, head], st, color="0.6",
                            label=f"{lab} tr(W^2)/D - m^2")
            if "spread_abs" in per_head:
                axes[1, 0].plot(steps, per_head["spread_abs"][:, layer, head], st, color="tab:blue",
                                label=f"{lab} mean |lambda - m|^2")
            axes[1, 1].plot(steps, per_head["rho_theory"][:, layer, head], st, color="k",
                            label=f"{lab} theory")
            axes[1, 1].plot(steps, per_head["linear_share_last"][:, layer, head], st, color="0.6",
                            label=f"{lab} measured")
    axes[0, 1].set(xlabel="step", ylabel="attention entropy (nats)")
    axes[1, 0].set(xlabel="step", ylabel="W_QK eigenvalues: mean m, tr(W^2)/D - m^2, spread")
    axes[1, 1].set(xlabel="step", ylabel="rho (mean over positions)")
    for ax in (axes[0, 1], axes[1, 0], axes[1, 1]):
        if L * H <= 4:
            ax.legend(fontsize=7)
    m = record["config"]["model"]
    fig.suptitle(f"{m['layers']} layer(s), {m['heads']} head(s), width {m['width']}, {m['norm']}-LN, "
                 f"{m['regularizer']}, seed {record['config']['seed']}", fontsize=10)
    fig.tight_layout()
    save(fig, path)


def summary_figure(result: dict, path) -> None:
    """Three panels from a summary (:func:`sigprop.lm.summary.collect`): the final validation
    perplexity and attention entropy per shape and regularizer, mean and 95% interval over
    seeds, and the paired differences from ``none`` (entropy against perplexity, both
    intervals)."""
    plt = pyplot()
    rows = sorted(result["summary"], key=lambda r: (r["layers"], r["heads"], r["steps"],
                                                   r["regularizer"] != "none", r["regularizer"]))
    shapes = list(dict.fromkeys((r["layers"], r["heads"], r["steps"]) for r in rows))
    regs = list(dict.fromkeys(r["regularizer"] for r in rows))
    colors = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    ticks, labels = [], []
    for i, r in enumerate(rows):
        x = i + shapes.index((r["layers"], r["heads"], r["steps"]))        # a gap between shapes
        c = colors(regs.index(r["regularizer"]) % 10)
        for ax, k in zip(axes[:2], ("perplexity", "entropy_mean")):
            m, lo, hi = (np.nan if v is None else v for v in r[k])
            ax.errorbar([x], [m], yerr=[[m - lo], [hi - m]], fmt="o", color=c, capsize=3)
        ticks.append(x)
        reg = r["regularizer"].replace(" (mean held)", "")
        labels.append(f"{r['layers']}x{r['heads']} ({r['steps']}) {reg}" if len(shapes) > 1 else reg)
    for ax, ylabel in zip(axes[:2], ("validation perplexity", "attention entropy (nats)")):
        ax.set_xlabel("shape and regularizer" if len(shapes) > 1 else "regularizer")
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
        ax.set_ylabel(ylabel)
    ax = axes[2]
    markers = "osD^v<>"
    for r in result["paired"]:
        e, p = r["entropy_mean"], r["perplexity"]
        shape = (r["layers"], r["heads"], r["steps"])
        ax.errorbar([e["mean"]], [p["mean"]], xerr=[[e["mean"] - e["low"]], [e["high"] - e["mean"]]],
                    yerr=[[p["mean"] - p["low"]], [p["high"] - p["mean"]]], capsize=3,
                    fmt=markers[shapes.index(shape) % len(markers)], color=colors(regs.index(r["regularizer"]) % 10),
                    label=f"{r['layers']}x{r['heads']} ({r['steps']} steps) {r['regularizer']}")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set(xlabel="entropy minus none (nats)", ylabel="perplexity minus none", title="paired by seed")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)   # beside: covers no data
    n = "/".join(map(str, sorted({r["n"] for r in rows})))
    steps = "/".join(str(s) for s in dict.fromkeys(s[2] for s in shapes))
    fig.suptitle(f"final validation measures, mean and 95% Student-t interval over {n} seeds "
                 f"(layers x heads (steps); {steps} steps)", fontsize=10)
    fig.tight_layout()
    save(fig, path)


#: The predictions set beside the measured linear-regime share in a run with ``--datamodel``.
PREDICTIONS = (("rho_datamodel", "data model, Gaussian", "tab:blue", "o"),
               ("rho_datamodel_exact", "data model, exact", "tab:orange", "s"),
               ("rho_theory", "random walk", "0.4", "^"))


def theory_loop_figure(record: dict, path) -> None:
    """Theory in the loop (a run with ``--datamodel``): each head's measured linear-regime share
    (last query) through training beside the predictions of the empirical data model fitted on
    that head's input (Gaussian and exact methods) and of the random walk; right, predicted
    against measured over every head and evaluation, with each prediction's calibration
    (``record["calibration"]``: mean absolute error and Spearman)."""
    plt = pyplot()
    h = [r for r in record["history"] if "rho_datamodel" in r]
    if not h:
        raise ArgumentError("record", "must hold evaluations with the data model (a run trained with --datamodel N)")
    steps = np.array([r["step"] for r in h])
    measured = np.array([r["linear_share_last"] for r in h], dtype=float)          # evals x layers x heads
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    L, H = measured.shape[1:]
    for layer in range(L):
        for head in range(H):
            lab = f" L{layer + 1}H{head + 1}" if L * H > 1 else ""
            axes[0].plot(steps, measured[:, layer, head], "k-", lw=2, label="measured" + lab)
            for key, name, color, marker in PREDICTIONS:
                if key in h[0]:
                    pred = np.array([r[key] for r in h], dtype=float)[:, layer, head]
                    axes[0].plot(steps, pred, "--", color=color, marker=marker, ms=4, label=name + lab)
    axes[0].set(xlabel="step", ylabel="linear-regime share of the last query", ylim=(0, 0.6))
    axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax = axes[1]
    cal = record.get("calibration", {})
    for key, name, color, marker in PREDICTIONS:
        if key in h[0]:
            pred = np.array([r[key] for r in h], dtype=float)
            c = cal.get(key, {})
            words = f" (MAE {c['mean_abs_error']:.3f}, Spearman {c['spearman']:.2f})" if c else ""
            ax.plot(measured.ravel(), pred.ravel(), marker, color=color, ms=5, ls="none", label=name + words)
    top = 0.6
    ax.plot([0, top], [0, top], color="0.7", lw=0.8)
    ax.set(xlabel="measured share", ylabel="predicted share", xlim=(0, top), ylim=(0, top))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    m = record["config"]["model"]
    fig.suptitle(f"theory in the loop: {m['layers']} layer(s), {m['heads']} head(s), width {m['width']}, "
                 f"{m['norm']}-LN, {m['regularizer']}, {record['config']['corpus']}, seed {record['config']['seed']}; "
                 f"data model fitted on {record['config']['datamodel']} validation windows", fontsize=9)
    fig.tight_layout()
    save(fig, path)
