"""[NNT24]'s key-query stacks with LayerNorm as :class:`~sigprop.stack.config.StackConfig`: the positional
recursion's stable ranks beside the paper's protocol (``docs/stack.md``).

[NNT24]'s official code (:mod:`sigprop.gap.protocol`) runs attention-only stacks on isometric input
(``X_0 X_0^T = I_T``: per coordinate ``1 / d``, cosine 0), key-query attention with ``W_Q, W_K`` of
entries ``N(0, 1/d)`` and logits ``/ sqrt(d)`` (a logit variance of ``1`` on unit-per-coordinate
tokens: ``beta = 1 / sqrt(log T)`` at ``T_init = T``), values ``X W_V`` with ``N(0, 1)`` entries
(``var_v = d``; ``var_v = 1`` for the "upscaled skip" ``H / sqrt(d) + X``), ``W_O = I``, no biases, no
MLP, LayerNorm after the sum (Post-LN; its ``eps = 1e-5``, sigprop's ``1e-12``).  Three of its
configurations are such stacks:

* ``A(X)+LN``: ``X' = LN(A X W_V)`` (``alpha_attention = 0``);
* ``A(X)+skip+LN``: ``X' = LN(A X W_V + X)``;
* ``A(X)+skip/sqrt(d)+LN``: ``X' = LN(A X W_V / sqrt(d) + X)``.

:func:`stable_ranks` runs, for each configuration, ``T`` and ``gamma = T / d``, the positional
recursion (``stable_rank``: ``d -> infinity`` at fixed ``T``; ``stable_rank_d``: Gaussian features of
covariance ``G_l`` at the width ``d``), ``sigprop.stack.simulate`` on the same stack, and the paper's
protocol (:func:`sigprop.gap.stable_rank.stable_ranks`), and reports per layer the means over seeds
with 95% Student-t intervals.  ``python -m sigprop.stack.nnt`` prints the table of ``docs/stack.md``.
"""
from __future__ import annotations

import math

import numpy as np

from sigprop.core.stats import t_interval
from sigprop.stack.config import StackConfig

#: The three [NNT24] configurations that are stacks of :class:`StackConfig`, by their paper name.
CONFIGS = ("A(X)+LN", "A(X)+skip+LN", "A(X)+skip/sqrt(d)+LN")


def config(name: str, T: int, gamma: float, layers: int = 10, samples: int = 512) -> StackConfig:
    """The :class:`StackConfig` of [NNT24]'s configuration ``name`` at length ``T`` and ``d = T / gamma``."""
    from sigprop.core.checks import choice
    from sigprop.gap.protocol import width

    choice("config", name, CONFIGS)
    d = width(T, gamma)
    return StackConfig(layers=layers, T=T, d=d, beta=1.0 / math.sqrt(math.log(T)), norm="post", activation="none",
                       var_v=1.0 if "sqrt(d)" in name else float(d), var_b=0.0,
                       alpha_attention=0.0 if "skip" not in name else 1.0, cosine0=0.0, input_scale=1.0 / d,
                       recursion="positional", samples=samples)


def stable_ranks(configs=CONFIGS, lengths=(20, 50, 150), gammas=(1.0, 0.2), layers: int = 10,
                 seeds=range(5), samples: int = 512) -> list[dict]:
    """Per configuration, ``gamma``, ``T`` and layer: predicted and measured stable ranks (module doc).

    Returns
    -------
    list of dict
        ``config, gamma, T, d, layer``, ``predicted`` (``d -> infinity``), ``predicted_d`` (width ``d``),
        ``stack`` and ``nnt`` (means over seeds of ``sigprop.stack.simulate`` and of the paper's
        protocol) with ``stack_low``, ``stack_high``, ``nnt_low``, ``nnt_high`` (95% t-intervals).
    """
    from sigprop.gap.stable_rank import stable_ranks as nnt_runs
    from sigprop.stack.recursion import predict
    from sigprop.stack.simulation import simulate

    seeds = list(seeds)
    out = []
    for name in configs:
        nnt = nnt_runs([name], lengths, gammas, layers, seeds)["records"]
        for gamma in gammas:
            for T in lengths:
                cfg = config(name, T, gamma, layers, samples)
                th = predict(cfg)["layers"]
                sim = simulate(cfg, seeds=seeds)["layers"]
                for k in range(layers + 1):
                    ref = np.array([r["stable_rank"] for r in nnt
                                    if r["gamma"] == gamma and r["length"] == T and r["layer"] == k])
                    mean, low, high = t_interval(ref, 0.95)
                    out.append(dict(config=name, gamma=gamma, T=T, d=cfg.d, layer=k,
                                    predicted=th[k]["stable_rank"], predicted_d=th[k]["stable_rank_d"],
                                    stack=sim[k]["stable_rank"], stack_low=sim[k]["stable_rank_low"],
                                    stack_high=sim[k]["stable_rank_high"], nnt=float(mean), nnt_low=float(low),
                                    nnt_high=float(high)))
    return out


def _main() -> None:
    rows = stable_ranks()
    print("| configuration | gamma | T | layer | predicted (d -> inf) | predicted at d | stack simulate [95% CI] "
          "| [NNT24] protocol [95% CI] |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        if r["layer"] in (1, 2, 10):
            print(f"| `{r['config']}` | {r['gamma']:g} | {r['T']} | {r['layer']} | {r['predicted']:.3g} | "
                  f"{r['predicted_d']:.3g} | {r['stack']:.3g} [{r['stack_low']:.3g}, {r['stack_high']:.3g}] | "
                  f"{r['nnt']:.3g} [{r['nnt_low']:.3g}, {r['nnt_high']:.3g}] |")


if __name__ == "__main__":
    _main()
