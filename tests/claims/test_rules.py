"""Every decision rule of the ledger, fed synthetic numbers on both sides of its thresholds."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from sigprop.claims import rules
from sigprop.claims import statistics as cs

# --- statistics ------------------------------------------------------------------------------

def test_welch_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 7), rng.normal(0.8, 2, 5)
    w = cs.welch(a, b)
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert w["t"] == pytest.approx(ref.statistic) and w["p"] == pytest.approx(ref.pvalue)
    assert w["diff"] == pytest.approx(b.mean() - a.mean())


def test_welch_of_constant_samples():
    assert cs.welch([1, 1], [2, 2])["p"] == 0.0 and cs.welch([1, 1], [1, 1])["p"] == 1.0


def test_holm_by_hand():
    # sorted p: 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.04 (x1 = 0.04); back in input order
    assert np.allclose(cs.holm([0.04, 0.01, 0.02]), [0.04, 0.03, 0.04])
    assert np.allclose(cs.holm([0.5, 0.9]), [1.0, 1.0])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_is_at_least_p_and_monotone(p):
    p = np.array(p)
    h = cs.holm(p)
    assert np.all(h >= p - 1e-15) and np.all(h <= 1)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(h[order]) >= -1e-15)


def test_intervals_cover_at_their_level():
    """95% t- and bootstrap intervals of a normal mean over 6 draws, 400 repetitions:
    coverage within the binomial 99.9% band (the bootstrap is known to under-cover at n = 6)."""
    rng = np.random.default_rng(1)
    hits_t = hits_b = 0
    reps = 400
    for k in range(reps):
        x = rng.normal(3.0, 1.0, 6)
        _, lo, hi = cs.t_interval(x)
        hits_t += lo <= 3.0 <= hi
        _, lo, hi = cs.bootstrap_interval(x, seed=k, resamples=500)
        hits_b += lo <= 3.0 <= hi
    half = 3.29 * np.sqrt(0.95 * 0.05 / reps)
    assert abs(hits_t / reps - 0.95) < half
    assert 0.80 < hits_b / reps < 0.95 + half


def test_bonferroni_z():
    assert cs.bonferroni_z(0.05, 1) == pytest.approx(1.959964, abs=1e-6)
    assert cs.bonferroni_z(0.05, 10) > cs.bonferroni_z(0.05, 1)


# --- interval rules ----------------------------------------------------------------------------

def test_status_and_combine():
    assert rules.status(0.95, 1.05, (0.9, 1.1)) == "inside"
    assert rules.status(1.2, 1.3, (0.9, 1.1)) == "outside"
    assert rules.status(1.0, 1.3, (0.9, 1.1)) == "straddles"
    assert rules.combine(["inside", "inside"]) == "supported"
    assert rules.combine(["outside", "outside"]) == "refuted"
    assert rules.combine(["inside", "outside", "straddles"]) == "partly"
    assert rules.combine(["inside", "straddles"]) == "inconclusive"


@pytest.mark.parametrize("low, high, verdict", [(0.95, 1.05, "supported"), (1.15, 1.2, "refuted"),
                                                (1.05, 1.15, "inconclusive")])
def test_intervals_rule_flips(low, high, verdict):
    d = rules.intervals([dict(name="ratio", estimate=(low + high) / 2, low=low, high=high, band=(0.9, 1.1))])
    assert d.verdict == verdict
    assert f"{low:.3g}" in d.reason and "[0.9, 1.1]" in d.reason and "t-interval" in d.rule


def test_intervals_rule_partly():
    parts = [dict(name="a", estimate=1, low=0.95, high=1.05, band=(0.9, 1.1)),
             dict(name="b", estimate=-5, low=-5.5, high=-4.5, band=(-np.inf, -6))]
    d = rules.intervals(parts)
    assert d.verdict == "partly" and "<= -6" in d.reason


@pytest.mark.parametrize("low, high, verdict", [(0.6, 0.9, "supported"), (0.0, 0.2, "refuted"),
                                                (0.3, 0.45, "inconclusive"), (0.4, 0.9, "inconclusive"),
                                                (float("nan"), float("nan"), "inconclusive")])
def test_intervals_rule_with_a_refuting_band_flips(low, high, verdict):
    # claimed: above 0.5; refuted only inside <= 0.25; the gap between the bands is undecided
    part = dict(name="exponent", estimate=(low + high) / 2, low=low, high=high, band=(0.5, np.inf),
                refute=(-np.inf, 0.25))
    d = rules.intervals([part])
    assert d.verdict == verdict and "refuting band" in d.rule


# --- closed form against Monte Carlo -------------------------------------------------------------

def test_closed_form_vs_monte_carlo_flips():
    zc = cs.bonferroni_z(0.05, 16)
    assert rules.closed_form_vs_monte_carlo(zc + 1, zc - 1, 16).verdict == "refuted"
    assert rules.closed_form_vs_monte_carlo(zc - 0.1, zc - 1, 16).verdict == "supported"
    assert rules.closed_form_vs_monte_carlo(zc + 1, zc + 0.1, 16).verdict == "inconclusive"
    d = rules.closed_form_vs_monte_carlo(50.0, 1.0, 16)
    assert "50" in d.reason and f"{zc:.2f}" in d.rule


def test_approximation_error_flips_monotonically():
    assert rules.approximation_error({"d = 4": 0.01, "d = 64": 0.001}, 0.02).verdict == "supported"
    assert rules.approximation_error({"d = 4": 0.05, "d = 64": 0.001}, 0.02).verdict == "partly"
    assert rules.approximation_error({"d = 4": 0.05, "d = 64": 0.03}, 0.02).verdict == "refuted"
    order = {"supported": 0, "partly": 1, "refuted": 2}
    prev = -1
    for e in np.linspace(0.0, 0.05, 11):        # a growing error never improves the verdict
        v = order[rules.approximation_error({"a": e, "b": e / 2}, 0.02).verdict]
        assert v >= prev
        prev = v


def test_shape_independence_flips():
    zc = cs.bonferroni_z(0.05, 32)
    assert rules.shape_independence(0.03, zc + 2, 32, 0.004, delta=0.01).verdict == "refuted"
    assert rules.shape_independence(0.005, zc + 2, 32, 0.004, delta=0.01).verdict == "partly"
    assert rules.shape_independence(0.003, zc - 1, 32, 0.004, delta=0.01).verdict == "supported"
    assert rules.shape_independence(0.003, zc - 1, 32, 0.02, delta=0.01).verdict == "inconclusive"


# --- closed-form trends ----------------------------------------------------------------------------

def test_increasing_flips():
    x = [0.01, 0.1, 1, 10]
    assert rules.increasing(x, [0.1, 0.2, 0.3, 0.4], what="e", along="v").verdict == "supported"
    assert rules.increasing(x, [0.4, 0.3, 0.3, 0.1], what="e", along="v").verdict == "refuted"
    d = rules.increasing(x, [0.1, 0.3, 0.2, 0.4], what="e", along="v")
    assert d.verdict == "partly" and "2 of 3" in d.reason


def test_trend_words():
    assert rules.trend_words([1, 2, 3], [33.1, 33.5, 35.2]) == "rises"
    assert rules.trend_words([1, 2, 3, 4], [33.1, 33.5, 35.2, 28.6]) == "is not monotone"
    assert rules.trend_words([1, 2], [2, 1]) == "falls"


def test_flat_and_flatter_flips():
    assert rules.flat_and_flatter([0.99, 0.97], [0.8, 0.9]).verdict == "supported"
    assert rules.flat_and_flatter([0.99, 0.90], [0.8, 0.85]).verdict == "partly"
    assert rules.flat_and_flatter([0.8, 0.7], [0.9, 0.95]).verdict == "refuted"
    assert rules.flat_and_flatter([0.96, 0.97], [0.98, 0.9]).verdict == "partly"     # flat but not flatter
    d = rules.flat_and_flatter([0.99, 0.97], [0.8, 0.9], label="i.i.d. tokens", reference="the random walk")
    assert "at i.i.d. tokens: 0.99" in d.reason and "the random walk's" in d.rule


def test_localizes_per_model_flips():
    v = [0.01, 0.1, 1.0]
    assert rules.localizes_per_model({"a": [0.8, 0.9, 0.95], "b": [0.7, 0.8, 0.9]}, v).verdict == "supported"
    assert rules.localizes_per_model({"a": [0.8, 0.9, 0.95], "b": [0.97, 0.98, 0.99]}, v).verdict == "partly"
    assert rules.localizes_per_model({"a": [0.9, 0.85, 0.95]}, v).verdict == "refuted"      # not monotone
    assert rules.localizes_per_model({"a": [0.96, 0.97, 0.99]}, v).verdict == "refuted"     # never localized
    assert "a: 0.8, 0.9, 0.95 (rises, localized" in rules.localizes_per_model({"a": [0.8, 0.9, 0.95]}, v).reason


# --- interventions -----------------------------------------------------------------------------------

def _tests(entropy, loss, spread=(-1.0, 0.001), groups=("a", "b")):
    out = []
    for g in groups:
        for metric, (diff, p) in (("spread", spread), ("attention_entropy", entropy[g]), ("heldout_loss", loss[g])):
            out.append(dict(group=g, strength=0.1, metric=metric, diff=diff, p_holm=p))
    return out


M = dict(attention_entropy=+1, heldout_loss=-1)


def _verdict(entropy, loss, **kw):
    return rules.intervention(_tests(entropy, loss, **kw), metrics=M, manipulation="spread").verdict


def test_intervention_flips():
    good, null, bad = (0.1, 0.001), (0.1, 0.5), (-0.1, 0.001)
    good_loss, bad_loss = (-0.1, 0.001), (0.1, 0.001)
    assert _verdict({"a": good, "b": good}, {"a": good_loss, "b": good_loss}) == "supported"
    assert _verdict({"a": good, "b": null}, {"a": good_loss, "b": good_loss}) == "partly"
    assert _verdict({"a": bad, "b": null}, {"a": good_loss, "b": good_loss}) == "refuted"
    assert _verdict({"a": null, "b": null}, {"a": good_loss, "b": good_loss}) == "inconclusive"
    assert _verdict({"a": good, "b": good}, {"a": bad_loss, "b": bad_loss}) == "refuted"
    # the significance threshold itself: p_holm just below / above alpha
    assert _verdict({"a": (0.1, 0.049), "b": (0.1, 0.049)}, {"a": good_loss, "b": good_loss}) == "supported"
    assert _verdict({"a": (0.1, 0.051), "b": (0.1, 0.051)}, {"a": good_loss, "b": good_loss}) == "inconclusive"


def test_intervention_needs_the_penalty_to_act():
    good, good_loss = (0.1, 0.001), (-0.1, 0.001)
    assert _verdict({"a": good, "b": good}, {"a": good_loss, "b": good_loss}, spread=(-1.0, 0.2)) == "inconclusive"
    d = rules.intervention(_tests({"a": good, "b": good}, {"a": good_loss, "b": good_loss}, spread=(-1.0, 0.2)),
                           metrics=M, manipulation="spread")
    assert "no effect on spread" in d.reason and "Holm" in d.rule


# --- correlations ------------------------------------------------------------------------------------

def _c(rho, low, high):
    return dict(rho=rho, low=low, high=high)


def test_negative_correlations_flips():
    weak = {"e": _c(-0.1, -0.3, 0.1), "l": _c(-0.1, -0.3, 0.1)}
    assert rules.negative_correlations({"e": _c(-0.6, -0.8, -0.3), "l": _c(-0.5, -0.7, -0.2)}, weak,
                                       0.975).verdict == "supported"
    strong = {"e": _c(-0.9, -0.95, -0.8), "l": _c(-0.9, -0.95, -0.8)}
    assert rules.negative_correlations({"e": _c(-0.6, -0.8, -0.3), "l": _c(-0.5, -0.7, -0.2)}, strong,
                                       0.975).verdict == "partly"
    assert rules.negative_correlations({"e": _c(-0.6, -0.8, -0.3), "l": _c(-0.1, -0.4, 0.2)}, weak,
                                       0.975).verdict == "partly"
    assert rules.negative_correlations({"e": _c(0.6, 0.3, 0.8), "l": _c(-0.1, -0.4, 0.2)}, weak,
                                       0.975).verdict == "refuted"
    assert rules.negative_correlations({"e": _c(-0.2, -0.5, 0.1), "l": _c(-0.1, -0.4, 0.2)}, weak,
                                       0.975).verdict == "inconclusive"


def test_a_decision_rejects_unknown_verdicts():
    with pytest.raises(ValueError, match="verdict must be one of"):
        rules.Decision("maybe", "r", "rule")


def test_within_condition_flips():
    assert rules.within_condition({"a": ["holds", "holds"], "b": ["holds"]}, "c").verdict == "supported"
    assert rules.within_condition({"a": ["fails", "fails"], "b": ["fails"]}, "c").verdict == "refuted"
    assert rules.within_condition({"a": ["holds", "fails"]}, "c").verdict == "partly"
    assert rules.within_condition({"a": ["holds", "undecided"]}, "c").verdict == "inconclusive"
    d = rules.within_condition({"sigma_2": ["holds", "fails", "fails"]}, "T >= 10")
    assert "1 of 3 cells hold, 2 fail" in d.reason and "T >= 10" in d.rule


def test_coverage_flips_on_a_missing_group():
    d = rules.Decision("supported", "holds", "a rule")
    assert rules.coverage(d, {"2 layers": True}).verdict == "supported"
    out = rules.coverage(d, {"2 layers": True, "4 heads": False})
    assert out.verdict == "inconclusive" and "not tested: 4 heads" in out.reason and "holds" in out.reason
    assert "2 layers, 4 heads" in out.rule
    assert rules.coverage(rules.Decision("refuted", "fails", "r"), {"x": False}).verdict == "inconclusive"


def _avoid_tests(diff):
    return [dict(group="g", strength=0.1, metric="spread", diff=-1.0, p=1e-4),
            dict(group="g", strength=0.1, metric="rank", diff=diff, p=1e-4),
            dict(group="g", strength=0.1, metric="entropy", diff=diff, p=1e-4)]


def test_avoidance_is_decided_only_where_the_collapse_occurs():
    assert rules.collapse_occurs((0.1, 0.05, 0.2), 0.25) and not rules.collapse_occurs((0.3, 0.2, 0.3), 0.25)
    assert not rules.collapse_occurs((0.1, None, None), 0.25)          # one seed: not established
    metrics = dict(rank=+1, entropy=+1)
    # nothing collapses in the control: nothing to avoid, whatever the treated arm does
    for diff in (+0.5, -0.5):
        d = rules.avoidance(_avoid_tests(diff), set(), metrics=metrics, manipulation="spread")
        assert d.verdict == "inconclusive" and d.reason.startswith("nothing to avoid")
    # rank collapse occurs: decided on rank only (the entropy test is not used)
    d = rules.avoidance(_avoid_tests(+0.5), {("g", "rank")}, metrics=metrics, manipulation="spread")
    assert d.verdict == "supported" and "entropy" not in d.reason and "precondition" in d.rule
    d = rules.avoidance(_avoid_tests(-0.5), {("g", "rank")}, metrics=metrics, manipulation="spread")
    assert d.verdict == "refuted"


def test_a_collapse_that_remains_under_the_intervention_is_not_avoided():
    metrics = dict(rank=+1, entropy=+1)
    present = {("g", "rank")}
    levels = dict(rank=0.25, entropy=0.25)
    # the treated arm rose significantly (+0.5 in the tests) but its own interval is still below 0.25
    stayed = rules.collapse_remains([("g", 0.1, dict(rank=(0.1, 0.05, 0.2), entropy=(0.9, 0.8, 1.0)))], present,
                                    levels)
    assert stayed == {("g", 0.1): "the collapse remains: rank 0.1 [0.05, 0.2] also < 0.25"}
    d = rules.avoidance(_avoid_tests(+0.5), present, metrics=metrics, manipulation="spread", remains=stayed)
    assert d.verdict == "refuted" and "the collapse remains" in d.reason and "whatever the paired" in d.rule
    # out of the collapse (interval above the level), or one seed (no interval): not "remains"
    for interval in ((0.5, 0.4, 0.6), (0.1, None, None)):
        arms = [("g", 0.1, dict(rank=interval, entropy=(0.9, 0.8, 1.0)))]
        assert rules.collapse_remains(arms, present, levels) == {}
    # entropy below the level in the treated arm counts only where the control's entropy collapses
    arms = [("g", 0.1, dict(rank=(0.5, 0.4, 0.6), entropy=(0.1, 0.05, 0.2)))]
    assert rules.collapse_remains(arms, present, levels) == {}
    d = rules.avoidance(_avoid_tests(+0.5), present, metrics=metrics, manipulation="spread", remains={})
    assert d.verdict == "supported"
