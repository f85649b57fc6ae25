"""Fuzz the public Python API: any argument gives a one-line ValueError or a finite result.

Every public name of :mod:`sigprop` (and the public functions of the other modules a
user calls) gets extreme magnitudes, non-finite values, wrong types and wrong shapes
(tests/fuzz/contract.py).  Sizes are drawn tiny or far beyond any machine, so that an
accepted call is quick and a huge one must be refused up front (memory) or by range.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigprop as sp
from sigprop.core import stats
from sigprop.gap import collapse, spectra
from sigprop.rho import exact
from tests.fuzz.contract import NASTY, counts, holds, reals, sizes

FEW = settings(max_examples=25)


def matrices():
    """Square matrices of nasty or ordinary entries, and things that are not square matrices."""
    entries = st.one_of(st.floats(-10, 10), st.sampled_from([1e300, -1e300, 1e154, float("nan"),
                                                             float("inf"), 1e-300, 0.0]))
    square = st.integers(1, 4).flatmap(lambda d: st.lists(entries, min_size=d * d, max_size=d * d)
                                       .map(lambda xs, d=d: np.array(xs).reshape(d, d)))
    return st.one_of(square, st.sampled_from([np.zeros((2, 3)), np.ones(3), np.eye(2) * (1 + 1j),
                                              np.array([["a", "b"], ["c", "d"]]), [[1, 2], [3]],
                                              np.zeros((0, 0)), "eye", None, 3.0]))


@FEW
@given(W=matrices(), T=sizes(), scale=st.one_of(st.none(), reals()),
       method=st.sampled_from(["auto", "gaussian", "exact", "banana", 3]),
       form=st.sampled_from(["finite", "limit", "antrp", None]))
def test_theory(W, T, scale, method, form):
    holds(lambda: sp.theory(W, T, scale=scale, method=method, form=form), probabilities=("rho",))


@FEW
@given(m=reals(), v=reals(), d=sizes(), T=sizes(), scale=st.one_of(st.none(), reals()),
       form=st.sampled_from(["finite", "limit", "antrp"]), method=st.sampled_from(["auto", "gaussian", "exact"]),
       shape=st.sampled_from(["gaussian", "uniform", "two-point", "x"]))
def test_theory_spectrum(m, v, d, T, scale, form, method, shape):
    holds(lambda: sp.theory_spectrum(m, v, d, T, scale=scale, form=form, method=method, shape=shape),
          probabilities=("rho",))


@FEW
@given(m=reals(), v=reals(), d=sizes(), T=sizes())
def test_moments(m, v, d, T):
    holds(lambda: sp.spectrum_moments(m, v, d, T))
    holds(lambda: sp.antrp_moments(m, v, d, T))


@FEW
@given(W=matrices(), T=sizes(), step_cov=st.one_of(st.none(), reals(), matrices()))
def test_logit_model_and_moments(W, T, step_cov):
    holds(lambda: sp.LogitModel(W, T, step_cov=step_cov))
    holds(lambda: sp.logit_moments(W, T, step_cov=step_cov))


@FEW
@given(mean=reals(), variance=reals())
def test_band_probability(mean, variance):
    holds(lambda: sp.band_probability(mean, variance))
    out = holds(lambda: sp.band_probability(mean, variance))
    if out is not None:
        assert np.all((out >= 0) & (out <= 1))


@settings(max_examples=20)
@given(W=matrices(), T=sizes((2, 3, 5)), samples=counts((3, 10, 50)), seed=st.one_of(
       st.sampled_from([0, 1, None, -1, 2.5, "s", [1, 2], [-1]]), st.integers(0, 2 ** 64)),
       confidence=st.one_of(st.sampled_from([0.95, 0.5, 1.0, 0.0, -1.0]), reals()),
       dtype=st.sampled_from(["float64", "float32", "banana", np.int64, None]),
       batch_size=st.one_of(st.none(), sizes((1, 7))))
def test_simulate(W, T, samples, seed, confidence, dtype, batch_size):
    holds(lambda: sp.simulate(W, T, samples=samples, seed=seed, confidence=confidence, dtype=dtype,
                              batch_size=batch_size), probabilities=("rho", "ci_low", "ci_high"))


@FEW
@given(m=reals(), v=reals(), d=sizes(), seed=st.sampled_from([0, None, -1, "x"]),
       shape=st.sampled_from(["gaussian", "uniform", "two-point", "x"]), basis=st.sampled_from(["random", "x"]))
def test_make_weights(m, v, d, seed, shape, basis):
    holds(lambda: sp.make_weights(m, v, d, seed=seed, shape=shape, basis=basis))


@FEW
@given(W=matrices())
def test_eigenvalue_statistics(W):
    holds(lambda: sp.eig_mean(W))
    holds(lambda: sp.eig_var(W))


@FEW
@given(samples=counts(), T=sizes(), d=sizes(), seed=st.sampled_from([0, -1, None, "x"]),
       step_cov=st.one_of(st.none(), reals()))
def test_sample(samples, T, d, seed, step_cov):
    def run():
        return [x.sum() for x in sp.sample(samples, T, d, seed=seed, step_cov=step_cov)]
    holds(run)


@FEW
@given(rho=st.one_of(st.lists(st.floats(0, 1), min_size=0, max_size=6), st.lists(reals(), max_size=4),
                     st.sampled_from(NASTY)))
def test_localization_metrics(rho):
    def run():
        return sp.localization_metrics(rho)        # an all-zero profile is refused (no NaN)
    holds(run)


@FEW
@given(k=reals(), n=reals(), confidence=reals())
def test_wilson_interval(k, n, confidence):
    out = holds(lambda: stats.wilson_interval(k, n, confidence))
    if out is not None:
        low, high = out
        assert np.all((0 <= low) & (low <= high) & (high <= 1))


@pytest.mark.parametrize("n", [1, 2, 10, 10 ** 6, 10 ** 12])
def test_wilson_end_points_are_exact(n):
    low, high = stats.wilson_interval([0, n], n, 0.95)
    assert low[0] == 0.0 and high[1] == 1.0
    assert 0 < high[0] < 1 and 0 < low[1] < 1


@FEW
@given(weights=st.one_of(st.lists(st.floats(-5, 5), min_size=1, max_size=5), st.sampled_from(NASTY)),
       x=reals())
def test_exact_cdf(weights, x):
    out = holds(lambda: exact.cdf(weights, x))
    if out is not None:
        assert np.all((out[0] >= 0) & (out[0] <= 1))


@settings(max_examples=15)
@given(T=sizes((2, 5, 16)), sigma=reals(), model=st.sampled_from(["markov", "attention", "x"]),
       d=sizes((1, 4)), seed=st.sampled_from([0, -1, "x"]))
def test_spectral_gap(T, sigma, model, d, seed):
    holds(lambda: spectra.report(T, sigma, model=model, d=d, seed=seed))
    holds(lambda: spectra.predictions(T, sigma))


@settings(max_examples=15)
@given(T=sizes((2, 5, 16)), sigma=reals(), d=sizes((1, 4)), samples=counts((2, 3)),
       L=sizes((1, 2)), model=st.sampled_from(["markov", "attention"]))
def test_rank_collapse(T, sigma, d, samples, L, model):
    holds(lambda: collapse.width(T, sigma, d=d, samples=samples, model=model))
    holds(lambda: collapse.depth(L, T, sigma, d=d, model=model))
