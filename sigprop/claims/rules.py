"""Decision rules of the claims ledger: pure functions from measured numbers to a verdict.

Every rule returns a :class:`Decision`: the ``verdict`` (one of :data:`VERDICTS`),
the ``reason`` (generated from the numbers it was given, never a fixed sentence)
and ``rule`` (the rule in words, with its thresholds, test and multiplicity
correction).  Rules know nothing of how the numbers were measured
(:mod:`sigprop.claims.ledger` does that), so tests can feed them synthetic numbers
on both sides of every threshold.

Interval rules classify an interval ``[low, high]`` against an acceptance band
``[a, b]``: ``inside`` (``a <= low`` and ``high <= b``), ``outside`` (disjoint)
or ``straddles``.  :func:`combine` turns the statuses of a claim's parts into a
verdict: all inside -> ``supported``; all outside -> ``refuted``; at least one
inside and one outside -> ``partly``; otherwise (a straddling interval decides the
verdict) -> ``inconclusive``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sigprop.claims.statistics import bonferroni_z, holm
from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError

VERDICTS = ("supported", "partly", "refuted", "inconclusive")


@dataclass(frozen=True)
class Decision:
    verdict: str
    reason: str
    rule: str

    def __post_init__(self):
        _checks.choice("verdict", self.verdict, VERDICTS)


def sig3(x) -> str:
    """``x`` to 3 significant digits, as the rules' reasons print numbers."""
    return f"{x:.3g}"


# --- intervals against bands -------------------------------------------------------

def status(low: float, high: float, band: tuple[float, float], refute: tuple[float, float] | None = None) -> str:
    """``inside``, ``outside`` or ``straddles``: ``[low, high]`` against ``band``.

    With a ``refute`` band (disjoint from ``band``, a gap between them), ``outside`` needs the
    interval to lie inside ``refute``; an interval in the gap straddles (undecided).  A NaN
    bound (an undefined measurement) always straddles.
    """
    a, b = band
    if a <= low and high <= b:
        return "inside"
    if refute is not None:
        c, e = refute
        return "outside" if c <= low and high <= e else "straddles"
    if high < a or low > b:
        return "outside"
    return "straddles"


def combine(statuses) -> str:
    """Verdict from the statuses of a claim's parts (see the module doc)."""
    statuses = list(statuses)
    if not statuses:
        raise ArgumentError.about("statuses", "combine needs at least one status")
    inside, outside = statuses.count("inside"), statuses.count("outside")
    if inside == len(statuses):
        return "supported"
    if outside == len(statuses):
        return "refuted"
    if inside and outside:
        return "partly"
    return "inconclusive"


def _band(band) -> str:
    a, b = band
    if a == -np.inf:
        return f"<= {sig3(b)}"
    if b == np.inf:
        return f">= {sig3(a)}"
    return f"in [{sig3(a)}, {sig3(b)}]"


def intervals(parts: list[dict], *, interval: str = "95% t-interval over seeds") -> Decision:
    """Each part ``dict(name, estimate, low, high, band)``: its interval must lie in its band.

    A part may add ``refute``: a band the interval must lie in to count against the claim
    (:func:`status`).  Verdict by :func:`combine` over the parts' statuses.
    """
    sts = [status(p["low"], p["high"], p["band"], p.get("refute")) for p in parts]
    verdict = combine(sts)
    words = {"inside": "within", "outside": "outside", "straddles": "straddles"}
    reason = "; ".join(f"{p['name']} {sig3(p['estimate'])} [{sig3(p['low'])}, {sig3(p['high'])}] "
                       + (f"{words[s]} the band {_band(p['band'])}" if "refute" not in p else
                          {"inside": f"within the band {_band(p['band'])}",
                           "outside": f"within the refuting band {_band(p['refute'])}",
                           "straddles": f"in neither {_band(p['band'])} nor {_band(p['refute'])}"}[s])
                       for p, s in zip(parts, sts))
    refuting = any("refute" in p for p in parts)
    rule = (f"each part's {interval} is compared with its acceptance band"
            + (" (and, where given, its refuting band: outside means inside the refuting band, an interval in "
               "the gap between the bands is undecided)" if refuting else "")
            + ": every interval inside -> supported; every interval outside -> refuted; some inside and some "
            "outside -> partly; otherwise (an interval straddles its band) -> inconclusive")
    return Decision(verdict, reason, rule)


def within_condition(cells: dict[str, list[str]], condition: str) -> Decision:
    """Cells of a validity map that satisfy a stated condition: does each prediction hold there?

    ``cells`` maps a prediction's name to the verdicts (``holds``, ``fails``, ``undecided``)
    of the map's cells that satisfy ``condition``.  A cell that holds counts as inside its
    band, one that fails as outside, an undecided one as straddling; verdict by
    :func:`combine` over every cell of every prediction.
    """
    statuses = [{"holds": "inside", "fails": "outside"}.get(v, "straddles")
                for verdicts in cells.values() for v in verdicts]
    verdict = combine(statuses)
    reason = "; ".join(f"{name}: {vs.count('holds')} of {len(vs)} cells hold, {vs.count('fails')} fail"
                       for name, vs in cells.items())
    rule = (f"over the cells of the map where {condition}: every cell of every prediction holds -> supported; "
            "every cell fails -> refuted; some hold and some fail -> partly; otherwise -> inconclusive")
    return Decision(verdict, reason, rule)


# --- Monte Carlo against closed forms -------------------------------------------------

def closed_form_vs_monte_carlo(quoted_z: float, derived_z: float, comparisons: int,
                               alpha: float = 0.05) -> Decision:
    """A quoted closed form (e.g. the ANTRP code's) against Monte Carlo, with the derived form as the control.

    ``*_z``: the largest ``|closed form - Monte Carlo| / se`` over the logit means and
    variances at every position (``comparisons`` of them per form).
    """
    zc = bonferroni_z(alpha, comparisons)
    rule = (f"largest |z| over the {comparisons} mean and variance comparisons per form against the Bonferroni "
            f"critical value z* = {zc:.2f} (family level {alpha}); derived form above z* -> inconclusive "
            "(the check itself failed); else the quoted form above z* -> refuted; else supported")
    if derived_z > zc:
        return Decision("inconclusive", f"the derived form's largest |z| = {sig3(derived_z)} exceeds z* = {zc:.2f}: "
                                        "the Monte Carlo check does not hold for the reference", rule)
    if quoted_z > zc:
        return Decision("refuted", f"the quoted form's largest |z| = {sig3(quoted_z)} exceeds z* = {zc:.2f}, "
                                   f"while the derived form's is {sig3(derived_z)}", rule)
    return Decision("supported", f"the quoted form's largest |z| = {sig3(quoted_z)} is below z* = {zc:.2f} "
                                 f"(derived form {sig3(derived_z)})", rule)


def approximation_error(errors: dict, tolerance: float = 0.02) -> Decision:
    """``errors``: label -> largest ``|approximation - reference|``; accurate when ``< tolerance``."""
    sts = ["inside" if e < tolerance else "outside" for e in errors.values()]
    verdict = combine(sts)
    good = [k for k, s in zip(errors, sts) if s == "inside"]
    bad = [k for k, s in zip(errors, sts) if s == "outside"]
    parts = [f"{k}: {sig3(e)}" for k, e in errors.items()]
    reason = "largest error " + ", ".join(parts)
    if good:
        reason += f"; accurate (< {tolerance}) at {', '.join(good)}"
    if bad:
        reason += f"; not accurate at {', '.join(bad)}"
    rule = (f"accurate where the largest absolute error over positions is below {tolerance}: accurate everywhere "
            "checked -> supported; nowhere -> refuted; in part -> partly (numerical comparison, no sampling)")
    return Decision(verdict, reason, rule)


def shape_independence(max_difference: float, max_z: float, comparisons: int, halfwidth: float,
                       delta: float = 0.01, alpha: float = 0.05, what: str = "the Monte Carlo rho") -> Decision:
    """Does ``rho`` differ between two spectra with the same mean and variance?

    ``max_z``: the largest two-sample ``|z|`` over positions; ``halfwidth``: the
    Bonferroni half-width of the difference (the resolution of the Monte Carlo).
    """
    zc = bonferroni_z(alpha, comparisons)
    rule = (f"two-sample z-test of {what} at each of {comparisons} positions, Bonferroni z* = {zc:.2f} "
            f"(family level {alpha}), relevance threshold delta = {delta}: a significant difference of at least "
            "delta -> refuted; significant but smaller -> partly; no significant difference with resolution "
            "(Bonferroni half-width) below delta -> supported; otherwise inconclusive")
    sig = max_z > zc
    desc = f"largest difference {sig3(max_difference)}, largest |z| {sig3(max_z)} (z* = {zc:.2f})"
    if sig and max_difference >= delta:
        return Decision("refuted", desc + f": {what} depends on the spectrum's shape by at least {delta}", rule)
    if sig:
        return Decision("partly", desc + f": a detectable dependence on the shape, below {delta}", rule)
    if halfwidth < delta:
        return Decision("supported", desc + f": no dependence on the shape, resolution {sig3(halfwidth)} < {delta}",
                        rule)
    return Decision("inconclusive", desc + f": not significant, but the resolution {sig3(halfwidth)} is not below "
                                           f"{delta}", rule)


# --- closed-form trends ----------------------------------------------------------------

def increasing(x, y, *, what: str, along: str) -> Decision:
    """``y`` should increase strictly with ``x``: strictly increasing -> supported,
    non-increasing -> refuted, neither -> partly (closed form, no sampling)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    steps = np.diff(y[np.argsort(x)])
    if np.all(steps > 0):
        verdict, trend = "supported", "rises strictly"
    elif np.all(steps <= 0):
        verdict, trend = "refuted", "never rises"
    else:
        verdict, trend = "partly", f"is not monotone (rises in {int(np.sum(steps > 0))} of {steps.size} steps)"
    reason = f"{what} {trend} with {along}: " + ", ".join(sig3(v) for v in y)
    return Decision(verdict, reason, f"{what} strictly increasing in {along} -> supported; non-increasing -> "
                                     "refuted; otherwise partly (closed form, no sampling)")


def trend_words(x, y) -> str:
    """``rises``, ``falls``, ``is not monotone`` or ``is constant``: the direction of ``y`` along ``x``."""
    steps = np.diff(np.asarray(y, dtype=float)[np.argsort(x)])
    if np.all(steps > 0):
        return "rises"
    if np.all(steps < 0):
        return "falls"
    if np.all(steps == 0):
        return "is constant"
    return "is not monotone"


def flat_and_flatter(entropy_zero_mean, entropy_reference, floor: float = 0.95, *, label: str = "m = 0",
                     reference: str = "the reference mean") -> Decision:
    """No localization at zero mean: every normalized entropy at ``m = 0`` at least
    ``floor`` (nearly flat profile) and at least the reference's at the same variance."""
    e0, e1 = np.asarray(entropy_zero_mean, dtype=float), np.asarray(entropy_reference, dtype=float)
    flat = e0 >= floor
    flatter = e0 >= e1 - 1e-9
    sts = ["inside" if f and g else "outside" for f, g in zip(flat, flatter)]
    reason = (f"normalized entropy at {label}: {', '.join(sig3(v) for v in e0)} ({int(flat.sum())} of {e0.size} "
              f"at least {floor}); at {reference}: {', '.join(sig3(v) for v in e1)}")
    return Decision(combine(sts), reason,
                    f"at each variance, 'no localization' means normalized entropy >= {floor} and >= {reference}'s: "
                    "at every variance -> supported; at none -> refuted; at some -> partly "
                    "(closed form, no sampling)")


# --- interventions over seeds ------------------------------------------------------------

def intervention(tests: list[dict], *, metrics: dict, manipulation: str, alpha: float = 0.05,
                 test: str = "Welch t-test of each strength against lambda = 0", group: str = "task",
                 failed: dict | None = None) -> Decision:
    """Did an intervention (e.g. LocAteR at strength ``lambda``) move every metric the claimed way?

    ``tests``: one dict per (group, strength, metric) with ``group`` (e.g. the task),
    ``strength``, ``metric``, ``diff`` (treated - control mean), ``p_holm`` (Holm-adjusted
    Welch p over all tests of the claim).  ``metrics``: metric -> ``+1`` (should rise)
    or ``-1`` (should fall); ``manipulation``: the metric (direction ``-1``) that shows the
    intervention took effect.
    A strength is *effective* when the manipulation metric fell significantly;
    *favorable* when effective and every metric moved significantly the claimed way;
    *adverse* when effective and some metric moved significantly the other way.
    A group *holds* if some strength is favorable, *fails* if none is and some is adverse.
    ``failed``: ``(group, strength) -> reason`` for strengths that fail whatever the tests say
    (e.g. the collapse to be avoided remains under the intervention, :func:`avoidance`): when
    effective, such a strength counts as adverse, never favorable, and its reason is reported.
    ``test`` and ``group`` name, in the rule's words, the test that gave the p-values and
    what a group is.
    Verdict: every group holds -> supported; some hold -> partly; every group fails ->
    refuted, some fail (none hold) -> refuted as well; otherwise inconclusive.
    """
    def sig(t, sign):
        return t["p_holm"] < alpha and np.sign(t["diff"]) == sign

    failed = failed or {}
    groups = list(dict.fromkeys(t["group"] for t in tests))
    lines, holds, fails = [], [], []
    for g in groups:
        strengths = list(dict.fromkeys(t["strength"] for t in tests if t["group"] == g))
        fav, adv, ineff, why = [], [], [], []
        for s in strengths:
            by = {t["metric"]: t for t in tests if t["group"] == g and t["strength"] == s}
            if not sig(by[manipulation], -1):
                ineff.append(s)
                continue
            if (g, s) in failed:
                adv.append(s)
                why.append(f"at lambda {sig3(s)}: {failed[(g, s)]}")
            elif all(sig(by[m], d) for m, d in metrics.items()):
                fav.append(s)
            elif any(sig(by[m], -d) for m, d in metrics.items()):
                adv.append(s)
        if fav:
            holds.append(g)
            state = f"holds at lambda {', '.join(sig3(s) for s in fav)}"
        elif adv:
            fails.append(g)
            state = f"fails (adverse at lambda {', '.join(sig3(s) for s in adv)}{''.join('; ' + w for w in why)})"
        else:
            state = "undecided"
        details = ", ".join(
            f"{t['metric']} {'+' if t['diff'] >= 0 else ''}{sig3(t['diff'])} (p_holm {sig3(t['p_holm'])}) "
            f"at {sig3(t['strength'])}"
            for t in tests if t["group"] == g and t["metric"] in metrics)
        extra = f"; no effect on {manipulation} at lambda {', '.join(sig3(s) for s in ineff)}" if ineff else ""
        lines.append(f"{g}: {state}{extra} [{details}]")
    if len(holds) == len(groups):
        verdict = "supported"
    elif holds:
        verdict = "partly"
    elif fails:
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    want = ", ".join(f"{m} {'up' if d > 0 else 'down'}" for m, d in metrics.items())
    rule = (f"{test} for every metric, Holm-corrected over all "
            f"{len(tests)} tests of the claim, family level {alpha}; a strength is favorable when {manipulation} "
            f"fell significantly (the penalty acted) and {want} all significantly, adverse when a metric moved "
            f"significantly the other way; a {group} holds if some strength is favorable, fails if none is and one "
            f"is adverse; all {group}s hold -> supported, some -> partly, none hold but some fail -> refuted, "
            "else inconclusive")
    return Decision(verdict, "; ".join(lines), rule)


def collapse_occurs(control, level: float) -> bool:
    """The precondition of "X avoids a collapse": the collapse occurs in the control arm, i.e. the
    control's 95% interval ``(mean, low, high)`` of a measure on which 0 means collapse lies wholly
    below ``level`` (no interval, e.g. one seed: not established)."""
    return control[2] is not None and bool(control[2] < level)


def collapse_remains(arms, present: set, levels: dict) -> dict:
    """Where a collapse present in the control stays under the intervention.

    ``arms``: ``(group, strength, intervals)`` of each treated arm, ``intervals``: measure ->
    95% interval ``(mean, low, high)``; ``present``: the ``(group, measure)`` pairs whose control
    collapses; ``levels``: measure -> level.  Returns ``(group, strength) -> words`` for the arms
    whose own interval of a present measure also lies wholly below its level
    (:func:`collapse_occurs`): the input of :func:`avoidance`'s ``remains``."""
    out: dict = {}
    for g, s, intervals in arms:
        for k, lvl in levels.items():
            if (g, k) in present and collapse_occurs(intervals[k], lvl):
                m, lo, hi = intervals[k]
                out.setdefault((g, s), []).append(f"{k} {sig3(m)} [{sig3(lo)}, {sig3(hi)}] also < {lvl}")
    return {key: "the collapse remains: " + ", ".join(w) for key, w in out.items()}


def preconditions_words(pre: dict) -> str:
    """``group -> measure -> dict(control=[mean, low, high], level, occurs)`` in words."""
    def value(x) -> str:
        return "-" if x is None else sig3(x)
    return "; ".join(f"{g}: " + ", ".join(f"{k} control {value(v['control'][0])} [{value(v['control'][1])}, "
                                          f"{value(v['control'][2])}] {'<' if v['occurs'] else 'not <'} {v['level']}"
                                          for k, v in p.items()) for g, p in pre.items())


def avoidance(tests: list[dict], present: set, *, metrics: dict, manipulation: str, alpha: float = 0.05,
              test: str = "Welch t-test of each strength against lambda = 0", group: str = "task",
              levels_words: str = "", preconditions_words: str = "", remains: dict | None = None) -> Decision:
    """Did an intervention avoid a collapse *where the collapse occurs*?

    ``present``: the ``(group, metric)`` pairs whose control arm shows the collapse
    (:func:`collapse_occurs`).  Only those pairs are tested (with the manipulation's tests of
    their groups), Holm-corrected among themselves, by :func:`intervention`; none present ->
    ``inconclusive`` (nothing to avoid).  ``tests`` as in :func:`intervention` with ``p``
    (unadjusted) in each.  ``remains``: ``(group, strength) -> words`` where the treated arm's own
    95% interval also lies wholly below the level of a collapse present in the control: the
    collapse was not avoided there, whatever the paired differences (adverse).
    """
    pre = (f"precondition: a collapse can be avoided only where it occurs in the control arm (its 95% interval "
           f"wholly below {levels_words}); only those (group, measure) pairs are tested; none -> inconclusive "
           "(nothing to avoid)" + ("; a strength whose own arm's 95% interval is also wholly below the level has "
                                   "not avoided the collapse (adverse, whatever the paired differences)"
                                   if remains is not None else ""))
    if not present:
        return Decision("inconclusive", f"nothing to avoid: no collapse occurs in the control arm "
                                        f"({preconditions_words})",
                        f"{test}, Holm-corrected, on the pairs where the collapse occurs; " + pre)
    groups = {g for g, _ in present}
    used = [dict(t) for t in tests if t["group"] in groups and (t["metric"] == manipulation
                                                                 or (t["group"], t["metric"]) in present)]
    for t, p in zip(used, holm([t["p"] for t in used])):
        t["p_holm"] = float(p)
    kept = {k: v for k, v in metrics.items() if any(m == k for _, m in present)}
    d = intervention(used, metrics=kept, manipulation=manipulation, alpha=alpha, test=test, group=group,
                     failed={k: v for k, v in (remains or {}).items() if k[0] in groups})
    return Decision(d.verdict, d.reason + (f"; preconditions: {preconditions_words}" if preconditions_words else ""),
                    d.rule + "; " + pre)


def coverage(decision: Decision, required: dict[str, bool]) -> Decision:
    """A verdict stands only where the data cover what the claim is about.

    ``required``: a description of each group the claim needs tested -> whether it was
    (e.g. ``"2 or more layers": True``).  Any untested -> ``inconclusive``, the measured
    reason kept; otherwise ``decision`` unchanged.
    """
    missing = [k for k, tested in required.items() if not tested]
    rule = (decision.rule + f"; the verdict stands only if these were tested: {', '.join(required)} "
            "(else inconclusive)")
    if not missing:
        return Decision(decision.verdict, decision.reason, rule)
    return Decision("inconclusive", f"not tested: {', '.join(missing)} (tested: {decision.reason})", rule)


# --- correlations over real heads ---------------------------------------------------------

def negative_correlations(correlations: dict, control: dict, level: float) -> Decision:
    """Claimed negative Spearman correlations with a control variable.

    ``correlations``: name -> ``dict(rho, low, high)`` against the claimed variable
    (eigenvalue variance); ``control``: the same against a competing explanation (the
    Frobenius norm of ``W``).  Every interval below 0 and each claimed correlation
    stronger than its control's -> supported; every interval below 0 but some control
    at least as strong -> partly (the data do not single out the claimed variable);
    some interval above 0 -> refuted; otherwise inconclusive (or partly if some but
    not all are below 0).
    """
    below = {k: c["high"] < 0 for k, c in correlations.items()}
    above = {k: c["low"] > 0 for k, c in correlations.items()}
    stronger = {k: abs(c["rho"]) > abs(control[k]["rho"]) for k, c in correlations.items()}
    parts = [f"{k}: rho {sig3(c['rho'])} [{sig3(c['low'])}, {sig3(c['high'])}] (control {sig3(control[k]['rho'])})"
             for k, c in correlations.items()]
    if any(above.values()):
        verdict, why = "refuted", "a correlation is significantly positive"
    elif all(below.values()) and all(stronger.values()):
        verdict, why = "supported", "every correlation is significantly negative and stronger than its control"
    elif all(below.values()):
        verdict, why = "partly", "every correlation is significantly negative, but the control is as strong"
    elif any(below.values()):
        verdict, why = "partly", "only some correlations are significantly negative"
    else:
        verdict, why = "inconclusive", "no correlation is significant"
    rule = (f"Spearman correlation over heads with a Fisher-z interval at level {level:.4g} (Bonferroni over the "
            f"{len(correlations)} correlations): every interval below 0 and stronger than the control variable's "
            "-> supported; below 0 but not stronger -> partly; some below 0 -> partly; some above 0 -> refuted; "
            "none significant -> inconclusive")
    return Decision(verdict, why + ": " + "; ".join(parts), rule)


def localizes_per_model(entropy: dict, variances, floor: float = 0.95) -> Decision:
    """Localization by a small eigenvalue variance, model by model: for each data model
    (``entropy[name]``: normalized entropies along ``variances``), ``inside`` when the entropy
    rises strictly with the variance and the smallest-variance profile is localized
    (entropy below ``floor``), else ``outside``; :func:`combine` gives the verdict."""
    sts, parts = [], []
    for name, ent in entropy.items():
        ent = np.asarray(ent, dtype=float)
        rises = bool(np.all(np.diff(ent[np.argsort(variances)]) > 0))
        localized = bool(ent[int(np.argmin(variances))] < floor)
        sts.append("inside" if rises and localized else "outside")
        parts.append(f"{name}: {', '.join(sig3(v) for v in ent)} ({'rises' if rises else 'does not rise'}, "
                     f"{'localized' if localized else 'not localized'} at the smallest v)")
    return Decision(combine(sts), "normalized entropy along v: " + "; ".join(parts),
                    f"per data model: entropy strictly increasing in v and below {floor} at the smallest v -> "
                    "holds; all hold -> supported; none -> refuted; some -> partly (closed form, no sampling)")
