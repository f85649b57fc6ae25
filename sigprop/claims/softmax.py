"""Softmax rows of the claims ledger: every [BHK24] claim asked of softmax attention (docs/softmax.md §8).

Each row ``<id>-softmax`` says what the claim ``<id>`` means for softmax attention, with
``p = softmax(z)`` and the three per-position quantities of :mod:`sigprop.rho.softmax_profile`
(expected weight ``E[p_i]``, sensitivity ``E[p_i(1-p_i)]``, gradient share), computed by the
semi-analytic method (randomized quasi-Monte Carlo over the conditional Gaussian process,
docs/theory.md (3.30)), and decides it by a rule of :mod:`sigprop.claims.softmax_rules`.
Claims with no softmax meaning of their own (about the logits' moments, or measured on softmax
attention already) say so in the reason and keep the measured row's verdict
(:func:`sigprop.claims.softmax_rules.inherited`).

Cost (2 shared cores, loaded): quick mode about 1-3 s per measured row; full mode about 4-8 times
that (4-8 times the points); the inherited rows reuse the measured row's run (the LocAteR
study, the real-text study: no extra cost when the whole ledger runs).
"""
from __future__ import annotations

import numpy as np

from sigprop.claims import rules
from sigprop.claims import softmax_rules as srules
from sigprop.claims.provenance import ANTRP_CODE, Regime, Source, sigprop, summary
from sigprop.claims.registry import ALPHA, REAL_HEADS, TOY, Context, measured, register
from sigprop.claims.statistics import bonferroni_z
from sigprop.rho import softmax_map
from sigprop.rho.localization import localization_metrics
from sigprop.rho.logits import LogitModel
from sigprop.rho.softmax_profile import QUANTITIES, limit, semi_analytic
from sigprop.rho.spectrum import make_weights

#: The two eigenvalue variances the localization rows compare (the ends of the ledger's grid).
VARIANCES = (0.01, 10.0)
#: Data models of ``localization-beyond-walk`` (as in the piecewise-linear row).
DATA_MODELS = ("ar1:16", "ar1:64", "fbm:0.3", "fbm:0.7")
#: Entropy floor of "localized" (the piecewise-linear rows' 0.95) and the entropy margin.
FLOOR = 0.95
MARGIN = softmax_map.MARGIN


def _points(ctx: Context, quick: int, full: int) -> int:
    return 1 << (quick if ctx.quick else full)


def _entropy(value: np.ndarray) -> np.ndarray:
    """Normalized entropy of each quantity's profile (rows of ``value``)."""
    return np.asarray(localization_metrics(np.clip(value, 0.0, 1.0))["entropy_normalized"], dtype=float)


def _data_length(ctx: Context) -> int:
    return 64 if ctx.quick else 128


def _data_profiles(ctx: Context, data: str, v: float):
    """Semi-analytic profiles of all quantities, m = 0.5, d = 64, T = 64 (quick) or 128 (shared
    between rows)."""
    samples = _points(ctx, 10, 13)
    return ctx.shared(f"softmax-data:{data}:{v}", lambda: semi_analytic(
        LogitModel.from_spectrum(0.5, v, 64, _data_length(ctx), data=data), quantity=QUANTITIES,
        samples=samples, seed=ctx.seeds([17, int(1000 * v), len(data)])))


#: The regime of the softmax rows that are sigprop's own set-up.
SOFTMAX = "softmax attention on the random-walk model (docs/softmax.md)"


# --- formulas -------------------------------------------------------------------------------

@register("antrp-form-softmax", sources=Source("third-party-code", ANTRP_CODE), regime=Regime("sigprop-setup", SOFTMAX),
          evidence="monte-carlo", randomized=True,
          claim="For softmax attention: the closed form of the ANTRP code gives the mean and variance of the centered "
                "logits.")
def antrp_form_softmax(ctx):
    out = measured("antrp-form", ctx)
    return dict(check="the measurement of antrp-form (the logits feed softmax unchanged)",
                numbers=out["numbers"],
                decision=srules.inherited(out["decision"], "the claim is about the logits' moments, which do not "
                                                          "depend on the softmax that follows them"))


@register("gaussian-approximation-softmax", sources=[summary("closed-form"), sigprop("docs/softmax.md §8")],
          regime=Regime("sigprop-setup", SOFTMAX), evidence="monte-carlo", randomized=True,
          claim="For softmax attention: the Gaussian (d -> infinity) form of the logits given the query, A Gaussian "
                "and R at its root mean square (docs/theory.md (3.31)), gives the expected weights, sensitivities "
                "and gradient shares accurately.")
def gaussian_approximation_softmax(ctx):
    m, v, T = 0.5, 0.1, 64
    ds = (4, 16, 64) if ctx.quick else (4, 16, 64, 256)
    n_sa, n_lim = _points(ctx, 14, 16), _points(ctx, 12, 14)
    z = bonferroni_z(ALPHA, len(ds) * len(QUANTITIES) * T)
    parts, errors = {}, {}
    for d in ds:
        model = LogitModel.from_spectrum(m, v, d, T)
        sa = semi_analytic(model, quantity=QUANTITIES, samples=n_sa, seed=ctx.seeds([5, d]))
        li = limit(model, quantity=QUANTITIES, samples=n_lim, seed=ctx.seeds([6, d]))
        diff, se = np.abs(sa.value - li.value), np.sqrt(sa.se ** 2 + li.se ** 2)
        for k, q in enumerate(QUANTITIES):
            top = float(sa.value[k].max())
            est = float(diff[k].max()) / top
            low = max(0.0, float((diff[k] - z * se[k]).max())) / top
            high = float((diff[k] + z * se[k]).max()) / top
            parts[f"d = {d} {q}"] = (est, low, high)
            errors[f"d = {d} {q}"] = est
    return dict(check=f"semi-analytic ({n_sa} points) against the d -> infinity form ({n_lim} points, 40 "
                      f"Gauss-Hermite nodes), m = {m}, v = {v}, T = {T}, d in {list(ds)}: largest |difference| "
                      "over positions relative to the profile's largest value, each quantity",
                numbers=dict(relative_error=errors, bonferroni_z=z),
                decision=srules.accurate(parts, tolerance=0.02))


@register("mean-variance-only-softmax", sources=[summary("localizes"), sigprop("docs/softmax.md §8")],
          regime=Regime("sigprop-setup", SOFTMAX + ", symmetric W, Sigma = I"), evidence="monte-carlo", randomized=True,
          claim="For softmax attention, symmetric W and Sigma = I: the expected weights, sensitivities and gradient "
                "shares depend on W only through the eigenvalue mean and variance.")
def mean_variance_only_softmax(ctx):
    m, v, d, T = 0.5, 0.5, 4, 32
    n = _points(ctx, 14, 16)
    prof = {s: semi_analytic(LogitModel(make_weights(m, v, d, shape=s, seed=ctx.seed(3)), T), quantity=QUANTITIES,
                             samples=n, seed=ctx.seeds([8, i])) for i, s in enumerate(("gaussian", "two-point"))}
    a, b = prof["gaussian"], prof["two-point"]
    top = a.value.max(axis=1, keepdims=True)
    diff = np.abs(a.value - b.value)
    se = np.sqrt(a.se ** 2 + b.se ** 2)
    zs = diff / se
    comparisons = len(QUANTITIES) * T
    halfwidth = bonferroni_z(ALPHA, comparisons) * float((se / top).max())
    rel = float((diff / top).max())
    per = {q: dict(max_relative_difference=float((diff[k] / top[k]).max()), max_z=float(zs[k].max()))
           for k, q in enumerate(QUANTITIES)}
    return dict(check=f"semi-analytic softmax quantities ({n} points each) for a Gaussian-quantile and a two-point "
                      f"spectrum with the same m = {m}, v = {v}, d = {d}, T = {T} (the piecewise-linear row's "
                      "case); differences relative to the Gaussian spectrum's largest value",
                numbers=dict(per_quantity=per, bonferroni_halfwidth_relative=halfwidth, samples=n),
                decision=rules.shape_independence(rel, float(zs.max()), comparisons, halfwidth, delta=0.02,
                                                  alpha=ALPHA, what="the semi-analytic softmax quantities "
                                                                     "(relative to their largest value)"))


# --- localization -----------------------------------------------------------------------------

def _softmax_map(ctx):
    samples = _points(ctx, 11, 13)
    return ctx.shared("softmax-map", lambda: softmax_map.localization_map(
        [0.0, 0.5, 1.0], list(VARIANCES), [64], [128], samples=samples, seed=ctx.seed(0)))


def _map_decision(counts: dict, what: str) -> rules.Decision:
    sts = []
    for kind in QUANTITIES:
        c = counts[kind][what]
        sts += ["inside"] * c["holds"] + ["outside"] * c["fails"] + ["straddles"] * c["inconclusive"]
    reason = "; ".join(f"{kind}: holds {c['holds']}, fails {c['fails']}, inconclusive {c['inconclusive']}"
                       for kind, c in ((k, counts[k][what]) for k in QUANTITIES))
    rule = (f"per cell and softmax quantity, the rule of sigprop.rho.softmax_map (entropy margin "
            f"{softmax_map.MARGIN}, flat = normalized entropy >= {softmax_map.FLAT}): holds everywhere -> "
            "supported; fails everywhere -> refuted; both -> partly; otherwise inconclusive")
    return rules.Decision(rules.combine(sts), reason, rule)


def _map_row(ctx, *, zero_mean: bool, conclusion: str, check: str) -> dict:
    """A row judged on the softmax map's cells with ``m = 0`` (``zero_mean``) or ``m != 0``."""
    res = _softmax_map(ctx)
    rows = [r for r in res["rows"] if (r["m"] == 0) == zero_mean]
    numbers: dict = dict(cells=[{k: r[k] for k in ("m", "v", "d", "T")} | {
        kind: r[f"{kind}.entropy_normalized"] for kind in softmax_map.KINDS} for r in rows])
    if not zero_mean:
        numbers["peak_s"] = {kind: sorted({r[f"{kind}.peak_s"] for r in rows}) for kind in softmax_map.KINDS}
    numbers["samples"] = res["config"]["samples"]
    return dict(check=check, numbers=numbers, decision=_map_decision(softmax_map.verdicts(res), conclusion))


@register("small-variance-localizes-softmax", sources=[summary("localizes"), sigprop("docs/softmax.md §5")],
          regime=Regime("sigprop-setup", SOFTMAX), evidence="monte-carlo", randomized=True,
          claim="For softmax attention: with a non-zero eigenvalue mean, a small eigenvalue variance "
                "localizes the expected attention weights E[p_i], the sensitivities E[p_i(1-p_i)] and the "
                "gradient shares.")
def small_variance_localizes_softmax(ctx):
    return _map_row(ctx, zero_mean=False, conclusion="small-variance-localizes",
                    check="semi-analytic softmax quantities (randomized quasi-Monte Carlo), m = 0.5 and 1, d = 64, "
                          f"T = 128: normalized entropy at v = {VARIANCES[0]} against v = {VARIANCES[-1]}")


@register("zero-mean-no-localization-softmax", sources=[summary("localizes"), sigprop("docs/softmax.md §5")],
          regime=Regime("sigprop-setup", SOFTMAX), evidence="monte-carlo", randomized=True,
          claim="For softmax attention: with zero eigenvalue mean the expected attention weights, "
                "sensitivities and gradient shares do not localize.")
def zero_mean_softmax(ctx):
    return _map_row(ctx, zero_mean=True, conclusion="zero-mean-does-not-localize",
                    check=f"semi-analytic softmax quantities, m = 0, v = {VARIANCES[0]} and {VARIANCES[-1]}, d = 64, "
                          "T = 128: normalized entropy")


@register("localization-beyond-walk-softmax", sources=[summary("random-walk"), sigprop("docs/softmax.md §8")],
          regime=Regime("sigprop-setup", "softmax attention on AR(1) and fBm token sequences"), evidence="monte-carlo",
          randomized=True,
          claim="For softmax attention: localization by a small eigenvalue variance holds for other correlated "
                "token sequences (AR(1), fractional Brownian motion).")
def localization_beyond_walk_softmax(ctx):
    cells, peaks = {}, {}
    for data in DATA_MODELS:
        ent = {v: _entropy(_data_profiles(ctx, data, v).value) for v in VARIANCES}
        for k, q in enumerate(QUANTITIES):
            cells[f"{data} {q}"] = (float(ent[VARIANCES[0]][k]), float(ent[VARIANCES[-1]][k]))
        prof = _data_profiles(ctx, data, VARIANCES[0]).value
        peaks[data] = [int(np.argmax(p)) + 1 for p in prof]
    return dict(check=f"semi-analytic softmax quantities ({_points(ctx, 10, 13)} points), m = 0.5, d = 64, "
                      f"T = {_data_length(ctx)}, query at T, data {', '.join(DATA_MODELS)}: normalized entropy "
                      f"at v = {VARIANCES[0]} and {VARIANCES[-1]}",
                numbers=dict(entropy_small_large_v=cells, peak_position_small_v=peaks),
                decision=srules.localizes(cells, margin=MARGIN, floor=FLOOR))


@register("iid-no-localization-softmax", sources=sigprop("docs/softmax.md §8"),
          regime=Regime("sigprop-setup", "softmax attention on i.i.d. Gaussian tokens"), evidence="monte-carlo",
          randomized=True,
          claim="For softmax attention: with i.i.d. tokens the expected weights, sensitivities and gradient shares "
                "do not localize.")
def iid_no_localization_softmax(ctx):
    cells, query = {}, {}
    for v in VARIANCES:
        iid, walk = _data_profiles(ctx, "iid", v), _data_profiles(ctx, "random-walk", v)
        e_iid, e_walk = _entropy(iid.value), _entropy(walk.value)
        for k, q in enumerate(QUANTITIES):
            cells[f"v = {v} {q}"] = (float(e_iid[k]), float(e_walk[k]))
        query[f"v = {v}"] = dict(iid=float(iid.value[0, -1]), random_walk=float(walk.value[0, -1]))
    return dict(check=f"semi-analytic softmax quantities ({_points(ctx, 10, 13)} points), m = 0.5, d = 64, "
                      f"T = {_data_length(ctx)}, v = {VARIANCES[0]} and {VARIANCES[-1]}: normalized entropy with "
                      "i.i.d. tokens against the random walk's; the query token's own expected weight E[p_T] beside it",
                numbers=dict(entropy_iid_walk=cells, weight_on_query_token=query),
                decision=srules.flat(cells, floor=FLOOR, margin=MARGIN, reference="the random walk"))


# --- already about softmax attention ------------------------------------------------------------

@register("locater-entropy-loss-softmax", sources=summary("locater"), regime=TOY, evidence="training", randomized=True,
          claim="For softmax attention: LocAteR increases attention entropy and improves the loss.")
def locater_entropy_loss_softmax(ctx):
    out = measured("locater-entropy-loss", ctx)
    return dict(check=out["check"], numbers=out["numbers"],
                decision=srules.inherited(out["decision"], "the LocAteR study trains softmax attention already"))


@register("localization-avoids-collapse-softmax", sources=summary("avoids-collapse"), regime=TOY,
          evidence="training", randomized=True,
          claim="For softmax attention: localized attention (small eigenvalue variance) avoids both rank collapse and "
                "entropy collapse.")
def localization_avoids_collapse_softmax(ctx):
    out = measured("localization-avoids-collapse", ctx)
    return dict(check=out["check"], numbers=out["numbers"],
                decision=srules.inherited(out["decision"], "the LocAteR study trains softmax attention already"))


@register("real-heads-softmax", sources=[summary("entropy"), sigprop("docs/softmax.md §8")], regime=REAL_HEADS,
          evidence="real-model",
          claim="For softmax attention in a real pretrained model: heads with a small QK eigenvalue variance have "
                "higher softmax attention entropy (the linear-regime share, a piecewise-linear notion, left out).")
def real_heads_softmax(ctx):
    out = measured("real-heads", ctx)
    level = 1 - ALPHA
    from sigprop.checkpoints import realtext
    rows = ctx.cache["realtext"]["records"]
    c = realtext.spearman_ci([r["eig_var"] for r in rows], [r["attention_entropy"] for r in rows], level)
    k = realtext.spearman_ci([r["frobenius"] for r in rows], [r["attention_entropy"] for r in rows], level)
    return dict(check=out["check"].split("; Spearman")[0] + "; Spearman correlation over heads of the softmax "
                      "attention entropy with the eigenvalue variance (one correlation: level 0.95), and with "
                      "||W||_F as the control",
                numbers=dict(correlation_with_eig_var=dict(attention_entropy=c),
                             correlation_with_frobenius=dict(attention_entropy=k)),
                decision=rules.negative_correlations(dict(attention_entropy=c), dict(attention_entropy=k), level))


__all__ = ["DATA_MODELS", "FLOOR", "MARGIN", "VARIANCES"]
