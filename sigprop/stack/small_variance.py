"""The small-variance question in numbers: ``python -m sigprop.stack.small_variance`` (``docs/stack.md``).

Does a query-key matrix of small eigenvalue variance ``v`` and non-zero mean ``m`` ([BHK24]'s
localizing regime) keep a deep stack away from both rank collapse and entropy collapse?  This prints,
for two stacks, the positional recursion's cosine ``p_l``, attention entropy ``H_l`` and [BHK24]'s
``rho`` (from the layer's own ``K_l``) at layers 1, 10, 20 and 50 over the grid
:data:`sigprop.stack.phase.SPECTRUM_MEANS` x :data:`sigprop.stack.phase.SPECTRUM_VARIANCES`, with
the labels of :func:`sigprop.stack.phase.spectrum_diagram`.
"""
from __future__ import annotations

from sigprop.stack import phase


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
    _main()
