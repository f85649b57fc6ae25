"""Stable rank and gradient norms of [NNT24]'s protocol, against an independent implementation."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from sigprop.gap import protocol
from sigprop.gap import stable_rank as SR
from tests.gap import independent_nnt as indep


def test_stable_rank_limits():
    rng = np.random.default_rng(0)
    X = protocol.haar_rows(12, 30, rng)
    assert SR.stable_rank(X) == pytest.approx(12, rel=1e-12)
    u, v = rng.standard_normal(12), rng.standard_normal(30)
    assert SR.stable_rank(np.outer(u, v)) == pytest.approx(1, rel=1e-12)
    assert np.isnan(SR.stable_rank(np.zeros((3, 4))))
    with pytest.raises(ValueError, match="finite"):
        SR.stable_rank(np.full((2, 2), np.nan))


@settings(max_examples=40, deadline=None)
@given(T=st.integers(2, 8), d=st.integers(2, 10), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 10**6))
def test_stable_rank_range_and_invariances(T, d, scale, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T, d))
    s = SR.stable_rank(X)
    assume(np.linalg.matrix_rank(X) >= 1)
    assert 1 - 1e-12 <= s <= min(T, d) + 1e-9
    Q = protocol.haar_rows(d, d, rng)
    assert SR.stable_rank(scale * X @ Q) == pytest.approx(s, rel=1e-9)
    assert SR.stable_rank(X) == pytest.approx(indep.stable_rank_plain(X), rel=1e-8)


def test_study_equals_the_independent_code_on_the_same_draws():
    """Fed the protocol's own draws, the independent code gives the same numbers (forward check)."""
    T, d, layers, seeds = 6, 12, 3, [0, 1]
    for name in protocol.paper_configs():
        cfg = protocol.parse(name)
        got = SR.stable_ranks(name, lengths=[T], gammas=[T / d], layers=layers, seeds=seeds)["records"]
        for s in seeds:
            dr = protocol.Draws([s], T, d)
            weights = [{k: v[0] for k, v in dr.layer().items()} for _ in range(layers)]
            want = indep.stable_ranks(name, dr.X0[0], weights)
            mine = [r["stable_rank"] for r in got if r["seed"] == s]
            np.testing.assert_allclose(mine, want, rtol=1e-7, err_msg=f"{name} seed {s}")
            assert cfg.name == name


def test_study_agrees_with_the_independent_implementation_within_seed_spread():
    """Means over 5 seeds, independent draws, every paper configuration, two widths, two depths.

    The two means differ by less than ``t * sqrt(sd_a^2/5 + sd_b^2/5)`` with ``t`` the Student
    quantile (8 degrees of freedom) at a Bonferroni-corrected family level of 1% over all the
    comparisons, plus 1e-9 relative for configurations with no spread at all (rank one exactly).
    """
    seeds, layers = 5, 3
    cases = [(20, 1.0), (20, 0.5)]
    names = protocol.paper_configs()
    comparisons = len(names) * len(cases) * 2
    t = stats.t.ppf(1 - 0.01 / (2 * comparisons), 2 * seeds - 2)
    for T, gamma in cases:
        d = protocol.width(T, gamma)
        res = SR.stable_ranks("all", lengths=[T], gammas=[gamma], layers=layers, seeds=range(seeds))[
            "records"
        ]
        for name in names:
            other = np.array(
                [indep.stable_ranks(name, *indep.draw(T, d, layers, 1000 + s)) for s in range(seeds)]
            )
            for layer in (1, layers):
                a = np.array([r["stable_rank"] for r in res if r["config"] == name and r["layer"] == layer])
                b = other[:, layer]
                tol = t * math.sqrt(a.var(ddof=1) / seeds + b.var(ddof=1) / seeds) + 1e-9 * abs(a.mean())
                assert abs(a.mean() - b.mean()) <= tol, (name, T, gamma, layer, a.mean(), b.mean())


def test_gradient_norm_estimate_matches_the_exact_jacobian_norm():
    """Hutchinson's estimate against the exact ||dX_L/dW_l||_F from one backward per output entry.

    The estimate of ||J||_F^2 averages ``probes`` values of ||J^T g||^2; it must lie within 4 of
    its own reported standard errors of the exact value (4 sigma, 3 layers x 2 configurations).
    """
    T, d, layers = 3, 4, 3
    for name in ("A(X)+skip+LN", "A_perp"):
        cfg = protocol.parse(name)
        res = SR.gradient_norms(name, lengths=[T], gammas=[T / d], layers=layers, seeds=[0], probes=400)[
            "records"
        ]
        X0, params = protocol.init_params(cfg, [0], T, d, layers)
        xs, caches = protocol.forward(cfg, params, X0, keep=True)
        exact = np.zeros(layers)
        for i in range(T):
            for j in range(d):
                e = np.zeros((1, 1, T, d))
                e[0, 0, i, j] = 1
                grads, _ = protocol.backward(cfg, params, caches, e)
                exact += [float((g["W_V"] ** 2).sum()) for g in grads]
        for r in res:
            est = r["grad_W_V"] ** 2
            assert abs(est - exact[r["layer"] - 1]) <= 4 * r["rel_se_W_V"] * est, (name, r["layer"])


def test_width_rule_on_clear_cases():
    res = SR.stable_ranks(
        ["A(X)", "A(X)_perp+skip"], lengths=[10, 20, 40], gammas=[1.0], layers=1, seeds=range(5)
    )["records"]
    assert SR.width_verdict(res, "A(X)", 1.0, 1)["verdict"] == "collapsed"
    assert SR.width_verdict(res, "A(X)_perp+skip", 1.0, 1)["verdict"] == "high"
    assert SR.width_verdict(res, "A(X)", 1.0, 1)["seeds"] == 5
    few = [r for r in res if r["seed"] < 3]
    assert SR.width_verdict(few, "A(X)", 1.0, 1)["verdict"] == "inconclusive"


def test_summary_intervals():
    recs = [dict(config="c", gamma=1.0, length=5, layer=1, stable_rank=v) for v in (1.0, 2.0, 3.0, np.nan)]
    (s,) = SR.seed_summary(recs)
    assert s["n"] == 3 and s["nan"] == 1 and s["mean"] == 2.0
    assert s["high"] - s["mean"] == pytest.approx(stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lengths=[1]), "lengths"),
        (dict(gammas=[0]), "gammas"),
        (dict(layers=0), "layers"),
        (dict(seeds=[-1]), "seeds"),
        (dict(configs="B"), "config"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SR.stable_ranks(**dict(dict(configs="A", lengths=[4], gammas=[1.0], layers=1, seeds=[0]), **kwargs))


def test_registered_as_a_sweep_study_with_the_same_numbers():
    from sigprop.sweep.registry import STUDIES
    from sigprop.sweep.studies import nnt_stable_rank

    study = STUDIES["nnt-stable-rank"]
    assert study.outputs == {"stable_rank": ("layer",)}
    cell = nnt_stable_rank("A(X)_perp+skip", 6, 0.5, L=2, seed=123456789012345)
    direct = SR.stable_ranks("A(X)_perp+skip", lengths=[6], gammas=[0.5], layers=2, seeds=[123456789012345])
    assert cell["stable_rank"] == [r["stable_rank"] for r in direct["records"]] and len(cell["stable_rank"]) == 3


def test_memory_checked_before_the_work(monkeypatch):
    """A length whose one seed exceeds the limit is refused up front, naming lengths."""
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "1000000000")
    for study in (SR.stable_ranks, SR.gradient_norms):
        with pytest.raises(ValueError, match="needs about") as exc:
            study("A", lengths=[8, 100_000], gammas=[0.001], layers=2, seeds=[0])
        assert exc.value.argument == "lengths"
