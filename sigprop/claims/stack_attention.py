"""Ledger row of the deep-stack engine's attention option (``docs/stack.md``, "Piecewise-linear attention").

``piecewise-linear-attention-depth`` asks whether [BHK24]'s piecewise-linear softmax, the approximation its
one-layer theory is built on, propagates signals through a deep stack as softmax does.  [GG26]'s encoder
configuration at initialisation is simulated with each kind of attention at ``beta`` in {0.5, 1, 2}
(``T = 64``, ``d = 256``, a few seconds: quick mode runs it as is), 5 seeds, and the mean cosine similarity of the
tokens after ``LAYER`` blocks is compared with the collapse and no-collapse bands, and the piecewise-linear
stack's after the first block (before it has collapsed) with the engine's prediction.
"""
from __future__ import annotations

from sigprop.claims import rules
from sigprop.claims.provenance import Regime, sigprop
from sigprop.claims.registry import ALPHA, MIN_SEEDS, register, seed_list
from sigprop.claims.statistics import t_interval
from sigprop.stack import GG_CONFIG, StackConfig, predict, simulate

BETAS = (0.5, 1.0, 2.0)
LAYER = 5
COLLAPSED = 0.95            # a mean cosine above it: the tokens have collapsed to one direction
APART = 0.6                 # below it: the tokens are kept apart
ENGINE_BAND = 0.05          # |simulated - predicted| within it: the engine predicts the stack
ENGINE_REFUTE = 0.1


def _config(beta: float, attention: str) -> StackConfig:
    return StackConfig(**dict(GG_CONFIG, layers=LAYER, T_init=None, cosine0=0.2, beta=beta, attention=attention,
                              T=64, d=256))


@register("piecewise-linear-attention-depth", evidence="simulation", randomized=True,
          regime=Regime("sigprop-setup", "[GG26]'s encoder configuration at initialisation (Post-LN, ReLU MLP, "
                                         "var_w = var_v = 0.2, var_b = 4e-4, alpha = 1) with softmax or [BHK24]'s "
                                         "piecewise-linear attention, Gaussian input tokens of cosine 0.2, drawn in "
                                         "NumPy by sigprop.stack.simulate"),
          sources=[sigprop("docs/stack.md: piecewise-linear attention, sigprop.stack.linear")],
          claim="Through depth at initialisation, [BHK24]'s piecewise-linear softmax collapses the tokens to one "
                "direction within a few blocks where softmax attention keeps them apart, and the engine's "
                "exact-in-T recursion predicts the piecewise-linear stack.")
def piecewise_linear_attention_depth(ctx):
    """Both attentions' simulated cosine at layer ``LAYER`` against the bands; the engine against the linear stack."""
    def compute():
        out = {}
        for beta in BETAS:
            for attention in ("softmax", "linear"):
                cfg = _config(beta, attention)
                cosine = simulate(cfg, seeds=seed_list(ctx))["per_seed"]["cosine"]
                out[(beta, attention)] = dict(per_seed=cosine[LAYER], first=cosine[1],
                                              predicted=predict(cfg)["layers"][1]["cosine"])
        return out
    runs = compute()
    level = 1 - ALPHA / (3 * len(BETAS))
    parts = []
    for beta in BETAS:
        lin, soft = runs[(beta, "linear")], runs[(beta, "softmax")]
        for name, layer, values, band, refute in (
                ("piecewise-linear: cosine", LAYER, lin["per_seed"], (COLLAPSED, 1.0), (0.0, APART)),
                ("softmax: cosine", LAYER, soft["per_seed"], (0.0, APART), (COLLAPSED, 1.0)),
                ("piecewise-linear: simulated - predicted cosine", 1, [v - lin["predicted"] for v in lin["first"]],
                 (-ENGINE_BAND, ENGINE_BAND), None)):
            est, low, high = t_interval(values, level)
            part = dict(name=f"{name}, beta = {beta:g}, layer {layer}", estimate=est, low=low, high=high, band=band)
            part["refute"] = refute if refute is not None else (
                (ENGINE_REFUTE, float("inf")) if est > 0 else (float("-inf"), -ENGINE_REFUTE))
            parts.append(part)
    cfg = _config(BETAS[0], "linear")
    check = (f"[GG26]'s encoder with softmax and with piecewise-linear attention at beta in {list(BETAS)}, "
             f"T = {cfg.T}, d = {cfg.d}, input cosine {cfg.cosine0}, {MIN_SEEDS} seeds (sigprop.stack.simulate); "
             f"at layer {LAYER} "
             f"the Student-t interval over seeds at the Bonferroni level 1 - {ALPHA} / {len(parts)} of the mean cosine "
             f"(collapsed: in [{COLLAPSED}, 1]; apart: in [0, {APART}]) and of the piecewise-linear stack's simulated "
             f"minus predicted cosine after the first block, before the collapse (band {ENGINE_BAND}, refuting beyond "
             f"{ENGINE_REFUTE}; sigprop.stack.predict)")
    numbers = {p["name"]: dict(estimate=p["estimate"], low=p["low"], high=p["high"]) for p in parts}
    return dict(check=check, numbers=numbers, decision=rules.intervals(parts))
