"""The exact rho with a token mean: the non-central chi-square mixture (docs/theory.md (3.30)).

Three faces: the SymPy decomposition (``derivations/noncentral.py``), the NumPy weights and
linear coefficients (``LogitModel.noncentral_weights``) with the non-central integration
(``chi2sum.cdf(..., linear=...)``) against an mpmath reference (the bound holds), and Monte
Carlo with a token mean for several data models (Wilson intervals at a Bonferroni-corrected
family level 1e-3, fixed seeds).
"""
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from derivations import noncentral
from sigprop.core.stats import wilson_interval
from sigprop.rho import chi2sum
from sigprop.rho.logits import LogitModel
from sigprop.rho.montecarlo import simulate
from sigprop.rho.theory import theory
from tests.helpers import chi2_cdf_mp

FAMILY = 1e-3


def test_sympy_decomposition_has_zero_residual():
    assert noncentral.residual() == 0


_MAG = st.floats(0.05, 2.0)
_SIGNED = st.tuples(st.sampled_from([-1.0, 1.0]), _MAG).map(lambda t: t[0] * t[1])


@settings(max_examples=6, deadline=None, derandomize=True)
@given(st.lists(_SIGNED, min_size=3, max_size=5), st.lists(st.one_of(st.just(0.0), _SIGNED), min_size=5, max_size=5),
       st.floats(-6, 4), st.sampled_from([0.0, 1.0, -0.6]), st.booleans())
def test_noncentral_cdf_meets_its_bound_against_mpmath(lam, lin, log_scale, x, normal_term):
    """Three to five weights of either sign over 1.6 decades, linear coefficients 0 or of the weights'
    order (the mpmath reference shifts x by sum l^2/(4 lambda); it loses digits when l^2/lambda is
    far larger than the weights), an overall scale 1e-6..1e4, with and without a pure normal term
    (a zero weight with a linear coefficient): |F - F_mpmath| <= the bound."""
    n = len(lam)
    w = np.array(lam) * 10.0 ** log_scale
    ln = np.array(lin[:n]) * 10.0 ** log_scale
    assume(np.any(ln != 0))
    if normal_term:
        w, ln = np.append(w, 0.0), np.append(ln, 0.3 * 10.0 ** log_scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # a loose bound is still a bound
        F, err = chi2sum.cdf(w[None], np.array([x]), linear=ln[None])
    ref = chi2_cdf_mp(w, x, linear=ln)
    assert abs(F[0] - ref) <= err[0] + 1e-15


@pytest.mark.parametrize("lam, lin, x", [
    ([1.3, -0.7, 0.4, 0.9], [0.5, 0.0, -1.2, 0.3], 0.0),
    ([1.0, -1.0, 1e-3, 0.5], [0.2, 0.1, 0.3, -0.4], 1.0),     # a small weight with a linear term
    ([2.0, -1.0, 0.0, 0.7], [0.0, 0.0, 0.8, 0.1], -0.3),      # a normal term
    ([1e6, -2e5, 3e5], [1e3, 2e2, -5e2], 1.0),                 # huge weights: x = 1 next to 0
    ([1.0, 0.0], [1.0, 0.3], 0.0),                             # one weight and a normal term (1-D quadrature)
    ([-0.8, 0.0, 0.0], [0.5, 0.2, -0.1], 1.0),
])
def test_noncentral_bound_holds_and_is_tight_on_fixed_cases(lam, lin, x):
    F, err = chi2sum.cdf(np.array([lam]), np.array([x]), linear=np.array([lin]))
    assert abs(F[0] - chi2_cdf_mp(lam, x, linear=lin)) <= err[0] + 1e-15 and err[0] < 1e-6


@pytest.mark.parametrize("lam, lin, x", [(1.3, 0.7, 1.0), (-0.9, 0.4, -0.2), (1e-3, 2e-2, 0.5)])
def test_one_weight_is_scipys_noncentral_chi_square(lam, lin, x):
    """One weight: two normal probabilities in closed form, against scipy's ``ncx2``."""
    a = lin / (2 * lam)
    y = (x + lam * a * a) / lam
    ref = stats.ncx2.cdf(y, 1, a * a) if lam > 0 else stats.ncx2.sf(y, 1, a * a)
    F, err = chi2sum.cdf([[lam, 0.0, 0.0]], [x], linear=[[lin, 0.0, 0.0]])
    assert abs(F[0] - ref) <= err[0] + 1e-12 and err[0] < 1e-12


def test_zero_token_mean_equals_the_central_method_to_rounding():
    rng = np.random.default_rng(3)
    W, S = rng.standard_normal((4, 4)), np.diag([1.0, 0.5, 2.0, 0.7])
    for kw in (dict(), dict(data="ar1:3", query=5, causal=True)):
        central = theory(LogitModel(W, 8, step_cov=S, **kw), method="exact")
        zero = theory(LogitModel(W, 8, step_cov=S, token_mean=np.zeros(4), **kw), method="exact")
        assert np.allclose(zero.rho, central.rho, rtol=0, atol=1e-12)
    sym = W + W.T                                          # the symmetric path
    a = theory(LogitModel(sym, 8), method="exact").rho
    b = theory(LogitModel(sym, 8, token_mean=np.zeros(4)), method="exact").rho
    assert np.allclose(a, b, rtol=0, atol=1e-12)


def test_weights_reproduce_the_moments():
    """sum lambda = mean and 2 sum lambda^2 + sum l^2 = variance: (3.30) against (D.4)-(D.5)."""
    rng = np.random.default_rng(5)
    W, mu = rng.standard_normal((3, 3)), rng.standard_normal(3)
    for Wk in (W, W + W.T):
        for kw in (dict(), dict(data="fbm:0.3", query=4, causal=True), dict(data="iid", query=2)):
            model = LogitModel(Wk, 6, step_cov=np.diag([1.0, 0.4, 1.7]), token_mean=mu, **kw)
            lam, lin = model.noncentral_weights
            th = theory(model)
            assert np.allclose(lam.sum(axis=1), th.mean, atol=1e-12)
            assert np.allclose(2 * (lam ** 2).sum(axis=1) + (lin ** 2).sum(axis=1), th.variance, atol=1e-12)


@pytest.mark.parametrize("spec, query, causal, symmetric", [
    ("random-walk", 6, False, False), ("ar1:3", 5, False, True), ("iid", 6, True, False),
    ("fbm:0.7", 4, True, False)])
def test_exact_noncentral_rho_agrees_with_monte_carlo(spec, query, causal, symmetric):
    T = 6
    rng = np.random.default_rng(21)
    W = rng.standard_normal((3, 3))
    W = W + W.T if symmetric else W
    mu = 1.5 * rng.standard_normal(3)
    model = LogitModel(W, T, step_cov=np.diag([1.0, 0.6, 1.4]), scale=1.5, data=spec, query=query,
                       causal=causal, token_mean=mu)
    ex = theory(model, method="exact")
    central = theory(LogitModel(W, T, step_cov=np.diag([1.0, 0.6, 1.4]), scale=1.5, data=spec, query=query,
                                causal=causal), method="exact")
    sim = simulate(model, samples=40_000, seed=13)
    live = np.arange(1, T + 1) <= (query if causal else T)
    low, high = wilson_interval(sim.rho * sim.samples, sim.samples, 1 - FAMILY / int(live.sum()))
    assert np.all((ex.rho >= low - ex.config["rho_error"]) & (ex.rho <= high + ex.config["rho_error"]))
    assert np.all(ex.rho[~live] == 0) and ex.config["rho_error"].max() < 1e-6
    # power: the token mean matters here, the central rho falls outside the same intervals
    assert np.any((central.rho < low) | (central.rho > high))
