"""Small eigenvalue variance with a non-zero mean: does it keep a deep stack away from both collapses?

The positional recursion (:mod:`sigprop.stack.positional`) on [GG26]'s encoder (``sigprop.stack.GG_CONFIG``,
Post-LN, ReLU MLP) with a symmetric query-key matrix of eigenvalue mean ``m`` and variance ``v`` in every
layer ([BHK24]'s logits ``x^T W x / sqrt(d)``), ``T = 32``, ``d = 256``, input cosine 0.1, 50 layers,
256 logit draws per layer; layers labelled by the rules of :mod:`sigprop.stack.phase`.  Writes
``stack_small_variance.png``: against ``m``, for ``v`` = 0.01 and 1, (left) the first layer in rank
collapse (none within 50: drawn at 51), (right) the numbers of layers in entropy collapse and healthy;
and ``stack_small_variance.json`` (the same numbers, the configuration, the rules).  About 2 minutes of
CPU; ``--quick``: three means, one variance, 20 layers.
"""
from __future__ import annotations

from sigprop.plotting import pyplot, save
from sigprop.stack import GG_CONFIG
from sigprop.stack.phase import spectrum_diagram
from sigprop.stack.phase import summary as one

MEANS = (-0.2, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)
VARIANCES = (0.01, 1.0)


def compute(quick: bool = False):
    means, variances, layers = ((0.0, 0.5, 1.0), (0.01,), 20) if quick else (MEANS, VARIANCES, 50)
    return spectrum_diagram(means, variances, dict(GG_CONFIG, T=32, d=256, cosine0=0.1, layers=layers,
                                                   samples=256))


def summary(result) -> dict:
    cfg = result["config"]
    cells = [one(result["rows"], m, v) for v in cfg["variances"] for m in cfg["means"]]
    return dict(study="stack-small-variance", config=cfg, rules=result["rules"], cells=cells)


def draw(result, path) -> None:
    plt = pyplot()
    data = summary(result)
    layers = data["config"]["layers"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for v in data["config"]["variances"]:
        cells = [c for c in data["cells"] if c["v"] == v]
        ms = [c["m"] for c in cells]
        first = [c["first_rank_collapse"] or layers + 1 for c in cells]
        axes[0].plot(ms, first, "o-", label=f"v = {v:g}")
        axes[1].plot(ms, [c["entropy_collapsed"] for c in cells], "o-", label=f"entropy collapse, v = {v:g}")
        axes[1].plot(ms, [c["healthy"] for c in cells], "s--", label=f"healthy, v = {v:g}")
    axes[0].set_ylabel(f"first layer in rank collapse ({layers + 1}: none)")
    axes[1].set_ylabel(f"layers (of {layers})")
    for ax in axes:
        ax.set_xlabel("eigenvalue mean m of W (d = 256)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, path)


def make(out, quick: bool = False):
    from sigprop_figures import stored_figure

    result = compute(quick)
    return stored_figure(out, "stack_small_variance", summary(result), draw, result)


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
