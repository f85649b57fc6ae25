"""Giorlandino & Goldt's deep encoder at initialisation: their recursion, sigprop's, and NumPy stacks.

[GG26]'s published configuration (``deep_prop_encoder.ipynb`` of
``aGiorlandino/ICLR-Signal-Propagation-Transformers``): Post-LN BERT-style blocks without an
output map, one head, width ``d = 720``, ReLU MLP of width 720, ``var_w = var_v = 0.2``,
``var_b = 4e-4``, ``alpha_A = alpha_MLP = 1``, query-key weights of standard deviation
``sqrt(beta) log(512)^{1/4} / sqrt(d)``, 50 layers, ``beta`` in {0.5, 3}.  Their inputs are
TinyStories sentences; here the input is ``T = 128`` tokens of pairwise cosine 0.1 (sigprop's
choice: the recursion starts from the measured layer-0 cosine in their notebook).

Writes ``stack_gg.json`` (the three results per beta, each with its configuration; the simulation's
per-layer means, intervals and standard errors, without the per-seed values) and
``stack_gg.png``: (left) the mean cosine similarity per layer, [GG26]'s recursion (dashed),
sigprop's recursion exact in ``T`` (solid) and the simulation (5 seeds, 95% intervals); (right)
the attention participation ``sum_j a_ij^2`` per layer (the REM's ``Y_2``).  About 2 minutes on
one core; ``--quick``: ``d = 128``, 12 layers.
"""
from __future__ import annotations

import numpy as np

from sigprop.plotting import pyplot, save
from sigprop.stack import GG_BETAS, GG_CONFIG, StackConfig, predict, simulate

T, COSINE0, SEEDS = 128, 0.1, (0, 1, 2, 3, 4)


def configuration(beta: float, quick: bool) -> StackConfig:
    fields = dict(GG_CONFIG, beta=beta, T=T, cosine0=COSINE0)
    if quick:
        fields.update(d=128, layers=12)
    return StackConfig(**fields)


def compute(quick: bool = False) -> dict:
    runs = {}
    for beta in GG_BETAS:
        cfg = configuration(beta, quick)
        runs[str(beta)] = dict(gg=predict(cfg, recursion="gg"), sigprop=predict(cfg, recursion="sigprop"),
                               simulation=simulate(cfg, seeds=SEEDS))
    return dict(study="stack-gg", T=T, cosine0=COSINE0, seeds=list(SEEDS), runs=runs)


def _value(x) -> float:
    """A stored number; NaN for a missing one (JSON stores NaN as null)."""
    return float("nan") if x is None else float(x)


def draw(result: dict, path) -> None:
    """Draw the figure from :func:`compute`'s result, or from ``stack_gg.json`` read back."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for k, (beta, run) in enumerate(result["runs"].items()):
        colour = f"C{k}"
        for ax, name in ((left, "cosine"), (right, "attention_overlap")):
            sim = run["simulation"]["layers"]
            layers = np.array([r["layer"] for r in sim])
            mean = np.array([_value(r[name]) for r in sim])
            err = np.array([[_value(r[name]) - _value(r[f"{name}_low"]), _value(r[f"{name}_high"]) - _value(r[name])]
                            for r in sim]).T
            ax.errorbar(layers, mean, yerr=err, fmt="o", ms=3, color=colour, alpha=0.8,
                        label=f"NumPy stacks, beta = {beta}")
            for key, style, label in (("gg", "--", "G&G recursion (REM)"), ("sigprop", "-", "exact-T recursion")):
                rows = run[key]["layers"]
                ax.plot([r["layer"] for r in rows], [_value(r[name]) for r in rows], style, color=colour,
                        label=f"{label}, beta = {beta}")
    left.set_xlabel("layer")
    left.set_ylabel("mean cosine similarity p_l")
    right.set_xlabel("layer")
    right.set_ylabel("attention participation sum_j a_ij^2")
    cfg = next(iter(result["runs"].values()))["simulation"]["config"]
    left.set_title(f"Post-LN, d = {cfg['d']}, T = {cfg['T']}, T_init = {cfg['T_init']}")
    right.set_title("dashed: the REM, max(0, 1 - beta_c / beta), T -> infinity")
    left.legend(fontsize=7)
    fig.tight_layout()
    save(fig, path)


def stored(result: dict) -> dict:
    """``result`` without the simulations' per-seed values (their means, intervals and standard errors
    stay): what ``stack_gg.json`` holds."""
    runs = {beta: {k: ({f: v for f, v in r.items() if f != "per_seed"} if k == "simulation" else r)
                   for k, r in run.items()} for beta, run in result["runs"].items()}
    return dict(result, runs=runs)


def make(out, quick: bool = False):
    from sigprop_figures import stored_figure

    result = compute(quick)
    return stored_figure(out, "stack_gg", stored(result), draw, result)


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
