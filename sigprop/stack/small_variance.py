"""The small-variance question in numbers: ``python -m sigprop.stack.small_variance`` (``docs/stack.md``).

Does a query-key matrix of small eigenvalue variance ``v`` and non-zero mean ``m`` ([BHK24]'s
localizing regime) keep a deep stack away from both rank collapse and entropy collapse?  This prints,
for two stacks, the positional recursion's cosine ``p_l``, attention entropy ``H_l`` and [BHK24]'s
``rho`` (from the layer's own ``K_l``) at layers 1, 10, 20 and 50 over the grid
:data:`sigprop.stack.phase.SPECTRUM_MEANS` x :data:`sigprop.stack.phase.SPECTRUM_VARIANCES`, with
the labels of :func:`sigprop.stack.phase.spectrum_diagram`.

``python -m sigprop.stack.small_variance --breakdown`` measures where the positional recursion parts
from ``sigprop.stack.simulate`` on the same question (:func:`breakdown`): small ``d``, small ``T``
and near the boundary between the regimes.
"""
from __future__ import annotations

import sys

from sigprop.stack import phase

#: (m, v) of the breakdown: near the boundary (0.5, 0.01), in rank collapse (0.2, 0.1), in entropy collapse (1, 0.1).
BREAKDOWN_POINTS = ((0.5, 0.01), (0.2, 0.1), (1.0, 0.1))
BREAKDOWN_SIZES = ((256, 32), (64, 32), (32, 32), (256, 8), (256, 4))       # (d, T)


def breakdown(points=BREAKDOWN_POINTS, sizes=BREAKDOWN_SIZES, layers: int = 50, seeds=range(16)) -> list[dict]:
    """Positional recursion against simulation on [GG26]'s encoder with a symmetric query-key matrix.

    For each ``(m, v)`` and ``(d, T)``: the cosine at layers 10, 20 and 50 and the attention entropy at
    layers 1 and 20, predicted and simulated (mean over ``seeds`` and its standard error), and the first
    rank-collapsed layer (``p_l >= 0.9``) of each (the simulated one from the mean cosine).
    """
    from sigprop.stack.config import GG_CONFIG, StackConfig
    from sigprop.stack.recursion import predict
    from sigprop.stack.simulation import simulate

    out = []
    for m, v in points:
        for d, T in sizes:
            cfg = StackConfig(**dict(GG_CONFIG, T=T, d=d, cosine0=0.1, layers=layers, samples=256, qk_mean=m,
                                     qk_variance=v, recursion="positional"))
            th, mc = predict(cfg)["layers"], simulate(cfg, seeds=list(seeds))["layers"]
            row = dict(m=m, v=v, d=d, T=T)
            for name, at in (("cosine", (10, 20, 50)), ("attention_entropy", (1, 20))):
                for k in at:
                    row[f"{name}_{k}"] = (th[k][name], mc[k][name], mc[k][f"{name}_se"])
            row["first_rank_collapse"] = tuple(next((r["layer"] for r in rows[1:] if r["cosine"] >= phase.RANK_COSINE),
                                                    None) for rows in (th, mc))
            out.append(row)
    return out


def _print_breakdown() -> None:
    print("| m | v | d | T | p_10 predicted / simulated (se) | p_20 | p_50 | H_1 | H_20 | first rank collapse |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in breakdown():
        cells = " | ".join(f"{r[k][0]:.3f} / {r[k][1]:.3f} ({r[k][2]:.3f})" for k in
                           ("cosine_10", "cosine_20", "cosine_50", "attention_entropy_1", "attention_entropy_20"))
        first = " / ".join(str(x) if x is not None else "none" for x in r["first_rank_collapse"])
        print(f"| {r['m']:g} | {r['v']:g} | {r['d']} | {r['T']} | {cells} | {first} |")


def _main() -> None:
    from sigprop.stack.config import GG_CONFIG

    stacks = {"GG26 encoder (ReLU MLP, var_v = var_w = 0.2)": dict(GG_CONFIG),
              "attention only (var_v = 1, no MLP)": dict(GG_CONFIG, activation="none", var_v=1.0)}
    for title, fields in stacks.items():
        stack = dict(fields, T=32, d=256, cosine0=0.1, samples=256)
        result = phase.spectrum_diagram(phase.SPECTRUM_MEANS, phase.SPECTRUM_VARIANCES, stack)
        print(f"\n{title}, T = 32, d = 256, cosine0 = 0.1, 50 layers")
        print("| m | v | layer 1: p, H, rho | layer 10 | layer 20 | layer 50 | first rank collapse | "
              "entropy-collapsed layers | healthy layers |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        rows = result["rows"]
        for m in phase.SPECTRUM_MEANS:
            for v in phase.SPECTRUM_VARIANCES:
                at = {r["layer"]: r for r in rows if r["m"] == m and r["v"] == v}
                s = phase.summary(rows, m, v)
                cells = " | ".join(f"{at[k]['cosine']:.2f}, {at[k]['attention_entropy']:.2f}, {at[k]['rho_bhk']:.2f}"
                                   for k in (1, 10, 20, 50))
                print(f"| {m:g} | {v:g} | {cells} | {s['first_rank_collapse'] or 'none'} | "
                      f"{s['entropy_collapsed']} | {s['healthy']} |")


if __name__ == "__main__":
    _print_breakdown() if "--breakdown" in sys.argv[1:] else _main()
