"""Ledger rows of [BHK24]: the closed forms, localization by a small eigenvalue variance, and LocAteR on toy tasks.

The closed-form rows check the logit moments and the Gaussian approximation against Monte
Carlo and the exact method; the localization rows read the closed-form ``rho`` profile of the
random walk and of other data models (docs/data-models.md); the LocAteR rows train one softmax
attention layer on two toy tasks over seeds (:func:`sigprop.model.locater_sweep.locater_study`).
The rows on a real checkpoint are in :mod:`sigprop.claims.data`, the softmax ones in
:mod:`sigprop.claims.softmax`, the language-model ones in :mod:`sigprop.claims.lm`.
"""
from __future__ import annotations

import numpy as np

from sigprop.claims import rules
from sigprop.claims.provenance import ANTRP_CODE, Regime, Source, sigprop, summary
from sigprop.claims.registry import ALPHA, TOY, register
from sigprop.claims.statistics import bonferroni_z, holm, welch
from sigprop.model.locater_sweep import locater_study
from sigprop.rho.data_study import localization_over_data
from sigprop.rho.localization import localization_metrics
from sigprop.rho.montecarlo import simulate
from sigprop.rho.propagation import antrp_moments, spectrum_moments
from sigprop.rho.spectrum import make_weights
from sigprop.rho.theory import theory_spectrum

# --- [BHK24]: the closed forms -----------------------------------------------------------

#: The random-walk model of docs/theory.md §1 with the piecewise-linear softmax, the setting of [BHK24]'s analysis.
WALK = "the random-walk data model and the piecewise-linear softmax of [BHK24]'s analysis (docs/theory.md §1-3)"
#: Where the closed form of the ANTRP code is judged: the random-walk model it is meant to describe.
ANTRP_REGIME = Regime("sigprop-setup", "the random-walk model (docs/theory.md §1), the model that sigprop's own "
                                       "derivation describes; the ANTRP code applies the form to post-softmax maps")


@register("antrp-form", sources=Source("third-party-code", ANTRP_CODE,
                                       "mu_i = (i/T - 1/2) tr(W)/sqrt(d), v_i = (2 i^2/T^2 + 7/12) tr(W^2)/d^2"),
          regime=ANTRP_REGIME, evidence="monte-carlo", randomized=True,
          claim="The closed form of the ANTRP code, mu_i = (i/T - 1/2) tr(W)/sqrt(d), v_i = (2 i^2/T^2 + 7/12) "
                "tr(W^2)/d^2, gives the mean and variance of the centered logits of the random-walk model.")
def antrp_form(ctx):
    n = 50_000 if ctx.quick else 200_000
    m, v, d, T = 0.5, 0.1, 16, 8
    sim = simulate(make_weights(m, v, d, seed=ctx.seed(11)), T, samples=n, seed=ctx.seed(12))

    def zmax(mean, var):
        return float(max(np.max(np.abs(sim.mean - mean) / sim.mean_se),
                         np.max(np.abs(sim.variance - var) / sim.variance_se)))
    dz, pz = zmax(*spectrum_moments(m, v, d, T)), zmax(*antrp_moments(m, v, d, T))
    return dict(check=f"Monte Carlo, symmetric W with m = {m}, v = {v}, d = {d}, T = {T}, {n} samples (seed "
                      f"{ctx.seed(12)}); largest |difference| / standard error over the logit means and variances at "
                      "all positions, for the ANTRP code's form and the derived (exact finite-T) form",
                numbers=dict(antrp_max_z=pz, derived_max_z=dz, comparisons_per_form=2 * T, samples=n),
                decision=rules.closed_form_vs_monte_carlo(pz, dz, 2 * T, ALPHA))


@register("gaussian-approximation", sources=[summary("closed-form"), sigprop("docs/theory.md §3, docs/exact.md")],
          regime=Regime("paper-setting", WALK + ", Sigma = I"), evidence="theory",
          claim="Approximating the centered logit by a Gaussian with its exact mean and variance gives the signal "
                "propagation probability accurately.")
def gaussian_approximation(ctx):
    T, ds = 64, ((4, 16, 64) if ctx.quick else (4, 16, 64, 256))
    errors = {}
    for d in ds:
        g = theory_spectrum(0.5, 0.1, d, T, method="gaussian").rho
        e = theory_spectrum(0.5, 0.1, d, T, method="exact").rho
        errors[f"d = {d}"] = float(np.abs(g - e).max())
    slope = float(np.polyfit(np.log(ds), np.log(list(errors.values())), 1)[0])
    return dict(check=f"largest |rho_gauss - rho_exact| over positions, m = 0.5, v = 0.1, T = {T}, d in {list(ds)} "
                      "(exact: chi-square decomposition and numerical inversion)",
                numbers=dict(max_abs_error=errors, loglog_slope_in_d=slope),
                decision=rules.approximation_error(errors, tolerance=0.02))


@register("mean-variance-only", sources=[summary("localizes"), sigprop("SPEC.md §3, docs/theory.md §3")],
          regime=Regime("paper-setting", WALK + ", symmetric W, Sigma = I"), evidence="monte-carlo", randomized=True,
          claim="For symmetric W and Sigma = I, rho depends on W only through the eigenvalue mean and variance.")
def mean_variance_only(ctx):
    m, v, d, T = 0.5, 0.5, 4, 32
    n = 50_000 if ctx.quick else 400_000
    sims = {s: simulate(make_weights(m, v, d, shape=s, seed=ctx.seed(3)), T, samples=n, seed=ctx.seed(4 + i)).rho
            for i, s in enumerate(("gaussian", "two-point"))}
    p1, p2 = sims["gaussian"], sims["two-point"]
    se = np.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n)
    diff = np.abs(p1 - p2)
    z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff > 0, np.inf, 0.0))
    halfwidth = bonferroni_z(ALPHA, T) * float(se.max())
    exact = {s: theory_spectrum(m, v, d, T, method="exact", shape=s).rho for s in ("gaussian", "two-point")}
    return dict(check=f"Monte Carlo rho for a Gaussian-quantile and a two-point spectrum with the same m = {m}, "
                      f"v = {v}, d = {d}, T = {T}, {n} samples each; the exact rho of both for reference",
                numbers=dict(max_mc_difference=float(diff.max()), max_z=float(z.max()), bonferroni_halfwidth=halfwidth,
                             max_exact_difference=float(np.abs(exact["gaussian"] - exact["two-point"]).max()),
                             samples=n),
                decision=rules.shape_independence(float(diff.max()), float(z.max()), T, halfwidth, delta=0.01,
                                                  alpha=ALPHA))


_VARIANCES = [0.01, 0.1, 1.0, 10.0]


@register("small-variance-localizes", sources=summary("localizes"), regime=Regime("paper-setting", WALK),
          evidence="theory",
          claim="With a non-zero eigenvalue mean, a small eigenvalue variance localizes the rho profile and a large "
                "variance spreads it thin.")
def small_variance_localizes(ctx):
    loc = localization_metrics(theory_spectrum(0.5, np.array(_VARIANCES), 64, 128, method="gaussian").rho)
    ent, tot = loc["entropy_normalized"], loc["total"]
    return dict(check="closed form (Gaussian approximation), m = 0.5, d = 64, T = 128, v in 0.01, 0.1, 1, 10: "
                      "normalized entropy of the profile (1 = flat), total and width reported beside it",
                numbers=dict(variances=_VARIANCES, entropy_normalized=ent.tolist(), total=tot.tolist(),
                             width=loc["width"].tolist(),
                             total_trend=f"the total {rules.trend_words(_VARIANCES, tot)} with v"),
                decision=rules.increasing(_VARIANCES, ent, what="the normalized entropy", along="the variance v"))


@register("zero-mean-no-localization", sources=[summary("localizes"), sigprop("SPEC.md §4: the converse")],
          regime=Regime("paper-setting", WALK), evidence="theory",
          claim="With zero eigenvalue mean there is no localization.")
def zero_mean(ctx):
    ent0 = localization_metrics(theory_spectrum(0.0, np.array(_VARIANCES), 64, 128,
                                                method="gaussian").rho)["entropy_normalized"]
    ent5 = localization_metrics(theory_spectrum(0.5, np.array(_VARIANCES), 64, 128,
                                                method="gaussian").rho)["entropy_normalized"]
    return dict(check="closed form, m = 0 against m = 0.5, d = 64, T = 128, v in 0.01, 0.1, 1, 10: normalized entropy",
                numbers=dict(variances=_VARIANCES, entropy_m0=ent0.tolist(), entropy_m05=ent5.tolist()),
                decision=rules.flat_and_flatter(ent0, ent5, floor=0.95))


_DATA_MODELS = ("ar1:16", "ar1:64", "fbm:0.3", "fbm:0.7")


@register("localization-beyond-walk", evidence="theory",
          sources=[summary("random-walk"), sigprop("docs/data-models.md")],
          regime=Regime("sigprop-setup", "Gaussian token sequences other than the random walk (AR(1), fBm), "
                                         "piecewise-linear softmax"),
          claim="Localization by a small eigenvalue variance does not need the random walk: it holds for other "
                "correlated token sequences (AR(1), fractional Brownian motion).")
def localization_beyond_walk(ctx):
    rows = localization_over_data(0.5, _VARIANCES, 64, 128, _DATA_MODELS)
    ent = {s: [r["entropy_normalized"] for r in rows if f"{r['data']}:{r['parameter']:g}" == s]
           for s in _DATA_MODELS}
    return dict(check="closed form (Gaussian approximation, general moments), m = 0.5, d = 64, T = 128, query "
                      "at T, v in 0.01, 0.1, 1, 10, data AR(1) L = 16, 64 and fBm H = 0.3, 0.7: normalized entropy",
                numbers=dict(variances=_VARIANCES, entropy_normalized=ent),
                decision=rules.localizes_per_model(ent, _VARIANCES))


@register("iid-no-localization", sources=sigprop("docs/data-models.md"), evidence="theory",
          regime=Regime("sigprop-setup", "i.i.d. Gaussian tokens, piecewise-linear softmax"),
          claim="With i.i.d. tokens (no correlation between positions) the profile does not localize.")
def iid_no_localization(ctx):
    iid = [r["entropy_normalized"] for r in localization_over_data(0.5, _VARIANCES, 64, 128, ("iid",))]
    walk = [r["entropy_normalized"] for r in localization_over_data(0.5, _VARIANCES, 64, 128, ("random-walk",))]
    return dict(check="closed form, m = 0.5, d = 64, T = 128, v in 0.01, 0.1, 1, 10: normalized entropy with "
                      "i.i.d. tokens against the random walk's",
                numbers=dict(variances=_VARIANCES, entropy_iid=iid, entropy_random_walk=walk),
                decision=rules.flat_and_flatter(iid, walk, floor=0.95, label="i.i.d. tokens",
                                                reference="the random walk"))


# --- [BHK24]: LocAteR in training ----------------------------------------------------------

def _locater_tests(study: dict, metrics) -> list[dict]:
    tests = []
    for task, rows in study["runs"].items():
        base = [r for r in rows if r["locater"] == 0.0]
        for lam in study["config"]["lambdas"][1:]:
            treated = [r for r in rows if r["locater"] == lam]
            for k in metrics:
                w = welch([r[k] for r in base], [r[k] for r in treated])
                tests.append(dict(group=task, strength=lam, metric=k, diff=w["diff"], p=w["p"]))
    for t, p in zip(tests, holm([t["p"] for t in tests])):
        t["p_holm"] = float(p)
    return tests


def _locater_check(study: dict) -> str:
    c = study["config"]
    return (f"LocAteR ({c['locater_variant']} spread, mean held exactly at the task's value, docs/locater.md) "
            f"on toy tasks {', '.join(c['tasks'])}: softmax attention, d = {c['d']}, d_k = {c['d_k']}, T = {c['T']}, "
            f"{c['optimizer']} lr {c['lr']}, {c['steps']} steps, lambda in {c['lambdas']}, {len(c['seeds'])} seeds; "
            f"final measurements on a {c['probe']}-sequence probe; mean and 95% bootstrap interval over seeds")


def _locater_numbers(study: dict, metrics, tests) -> dict:
    summary = {f"{e['task']} lambda={e['locater']:g}": {k: e[k] for k in metrics} for e in study["summary"]}
    return dict(seeds=len(study["config"]["seeds"]), summary=summary,
        tests=[{k: t[k] for k in ("group", "strength", "metric", "diff", "p", "p_holm")}
                                        for t in tests])


@register("locater-entropy-loss", sources=summary("locater"), regime=TOY, evidence="training", randomized=True,
          claim="LocAteR increases attention entropy and improves the loss.")
def locater_entropy_loss(ctx):
    study = ctx.shared("locater", lambda: locater_study(ctx.quick, first_seed=ctx.seed(0)))
    metrics = dict(attention_entropy=+1, heldout_loss=-1)
    tests = _locater_tests(study, ["spread", *metrics])
    return dict(check=_locater_check(study), numbers=_locater_numbers(study, ["spread", *metrics], tests),
                decision=rules.intervention(tests, metrics=metrics, manipulation="spread", alpha=ALPHA))


#: Below this level (the control's whole 95% interval) the toy rows count a collapse (rank residual or
#: normalized entropy; 0 is the collapse): the same level as the language-model row's.
TOY_COLLAPSE_LEVEL = 0.25


@register("localization-avoids-collapse", sources=summary("avoids-collapse"), regime=TOY, evidence="training",
          randomized=True,
          claim="Localized attention (small eigenvalue variance) avoids both rank collapse and entropy collapse.")
def localization_avoids_collapse(ctx):
    study = ctx.shared("locater", lambda: locater_study(ctx.quick, first_seed=ctx.seed(0)))
    metrics = dict(rank_residual=+1, all_entropy=+1)
    tests = _locater_tests(study, ["spread", *metrics])
    pre = {e["task"]: {k: dict(control=[e[k]["mean"], e[k]["low"], e[k]["high"]], level=TOY_COLLAPSE_LEVEL,
                               occurs=rules.collapse_occurs((e[k]["mean"], e[k]["low"], e[k]["high"]),
                                                            TOY_COLLAPSE_LEVEL)) for k in metrics}
           for e in study["summary"] if e["locater"] == 0.0}
    present = {(g, k) for g, p in pre.items() for k, v in p.items() if v["occurs"]}
    remains = rules.collapse_remains(((e["task"], e["locater"], {k: (e[k]["mean"], e[k]["low"], e[k]["high"])
                                                                 for k in metrics})
                                      for e in study["summary"] if e["locater"] > 0), present,
                                     dict.fromkeys(metrics, TOY_COLLAPSE_LEVEL))
    words = rules.preconditions_words(pre)
    numbers = _locater_numbers(study, ["spread", *metrics], tests)
    numbers["preconditions"] = pre
    return dict(check=_locater_check(study) + "; rank residual of the all-queries output (0 = rank collapse) and "
                                              "normalized entropy of all attention rows (0 = entropy collapse); a "
                                              "collapse occurs in a task when the control's (lambda = 0) 95% "
                                              f"interval lies wholly below {TOY_COLLAPSE_LEVEL}",
                numbers=numbers,
                decision=rules.avoidance(tests, present, metrics=metrics, manipulation="spread", alpha=ALPHA,
                                         levels_words=str(TOY_COLLAPSE_LEVEL), preconditions_words=words,
                                         remains=remains))



# The rows are registered (sigprop.claims.registry.CLAIMS), not imported: the public names are the settings.
__all__ = ["ANTRP_REGIME", "TOY_COLLAPSE_LEVEL", "WALK"]
