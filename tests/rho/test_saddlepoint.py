"""The saddle-point method: its documented error bound against the exact method, limits, dispatch."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from sigprop.rho import exact, saddlepoint
from sigprop.rho.logits import LogitModel
from sigprop.rho.theory import theory, theory_spectrum


@settings(max_examples=20)
@given(m=st.floats(-2, 2), v=st.floats(0.0, 2.0), d=st.sampled_from([2, 3, 4, 8, 16]),
       T=st.integers(2, 16), symmetric=st.booleans(), seed=st.integers(0, 1000))
def test_documented_error_bound_holds(m, v, d, T, symmetric, seed):
    # docs/saddlepoint.md: |rho_saddlepoint - rho_exact| <= error_bound(d); the exact
    # method's own error bound is added (it is the reference's uncertainty).
    if symmetric:
        model = LogitModel.from_spectrum(m, v, d, T)
    else:
        rng = np.random.default_rng(seed)
        model = LogitModel(m * np.eye(d) + np.sqrt(v / d) * rng.standard_normal((d, d)), T)
    lam = model.chi2_weights
    size = np.abs(lam).max()
    small = np.abs(lam[np.abs(lam) > 1e-12 * size])
    # W = 0 is exact for both; weights spread over 1e4 make Imhof's reference need ~1e6 nodes
    assume(size > 1e-6 and small.min() > 1e-4 * size)
    ref, err = exact.band(lam)
    sp = saddlepoint.band(lam)
    assert np.all(np.abs(sp - ref) <= saddlepoint.error_bound(d) + err)


def test_the_bound_separates_a_worse_method():
    # the check has power: the Gaussian approximation breaks the bound at small d
    W = np.diag([1.0, 0.2])
    assert np.abs(theory(W, 8, method="gaussian").rho - exact.theory(W, 8).rho).max() > saddlepoint.error_bound(2)


def test_equal_weights_match_the_chi_square_distribution():
    # n equal weights lam: Q = lam chi2_n.  Saddle point is accurate to O(1/n) relative.
    n, lam = 40, 0.05
    x = np.linspace(0.5, 4.0, 15)
    F = saddlepoint.cdf(np.full(n, lam), x)
    want = stats.chi2.cdf(x / lam, n)
    assert np.abs(F - want).max() < 2e-4
    F1 = saddlepoint.cdf(np.full(n, lam), x, order=1)
    assert np.abs(F - want).max() < np.abs(F1 - want).max()      # the correction pays here


def test_mixed_signs_near_the_mean_are_continuous():
    # the formula is 0/0 at the mean: across it the interpolation must be smooth
    lam = np.array([0.3, 0.2, -0.25, -0.1, 0.05])
    mean = lam.sum()
    x = mean + np.linspace(-1e-3, 1e-3, 41)
    F = saddlepoint.cdf(lam, x)
    ref, err = exact.cdf(lam, x)
    assert np.all(np.diff(F) > 0)
    assert np.abs(F - ref).max() < 1e-2


def test_support_limits_are_exact():
    assert saddlepoint.cdf([0.5, 0.2], 0.0) == 0.0       # positive weights: Q > 0
    assert saddlepoint.cdf([-0.5, -0.2], 0.0) == 1.0
    assert saddlepoint.cdf([0.0, 0.0], 0.3) == 1.0
    assert saddlepoint.cdf([0.0, 0.0], -0.3) == 0.0
    with pytest.raises(ValueError, match="order"):
        saddlepoint.cdf([0.5], 1.0, order=3)


def test_dispatch_through_theory_and_spectrum():
    W = np.diag([0.5, 1.0, -0.3, 0.8])
    p = theory(W, 16, method="saddlepoint")
    q = exact.theory(W, 16)
    assert p.config["method"] == "saddlepoint"
    assert np.allclose(p.mean, q.mean) and np.allclose(p.variance, q.variance)
    assert np.all(np.abs(p.rho - q.rho) <= p.config["rho_error"] + q.config["rho_error"])
    s = theory_spectrum(0.5, 0.1, 8, 16, method="saddlepoint")
    assert s.rho.shape == (16,)
    with pytest.raises(ValueError, match="method"):
        theory(W, 16, method="saddlepoint", form="limit")
