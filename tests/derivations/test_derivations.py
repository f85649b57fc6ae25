"""The SymPy derivations, evaluated and compared with the package.

Each derivation module is imported, its symbolic result evaluated, and the
numbers compared with ``sigprop`` on hypothesis-drawn inputs; independent
brute-force computations close the triangle.
"""
import numpy as np
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derivations import bilinear_variance, propagation_moments, walk_moments
from sigprop.rho import propagation, spectrum, walk

lengths = st.integers(2, 300)


@given(lengths)
def test_walk_coefficients_match_package(T):
    alpha_f, beta_f = walk_moments.numeric()
    i = np.arange(1, T + 1)
    alpha, beta = propagation.coefficients(T)
    assert np.allclose(alpha_f(i, T), alpha, rtol=1e-12, atol=1e-15)
    assert np.allclose(beta_f(i, T), beta, rtol=1e-12, atol=1e-15)


@given(st.integers(2, 40))
def test_walk_coefficients_match_brute_force_covariance(T):
    # a_i = e_i - 1/T: Cov(x_i - xbar) / Sigma = a_i^T K a_i with K = min(i, j)/T
    K = walk.position_covariance(T)
    A = np.eye(T) - 1.0 / T
    alpha, beta = propagation.coefficients(T)
    assert np.allclose(np.einsum("it,ts,is->i", A, K, A), alpha)
    assert np.allclose(A @ K[:, -1], beta)


def test_limits_are_the_package_limit_coefficients():
    a, b, total = walk_moments.limits()
    s = walk_moments.s
    assert sp.simplify(a - (s ** 2 - s + sp.Rational(1, 3))) == 0
    assert sp.simplify(b - (s - sp.Rational(1, 2))) == 0
    assert sp.simplify(total - (2 * s ** 2 - 2 * s + sp.Rational(7, 12))) == 0
    alpha, beta = propagation.coefficients(8, limit=True)
    sv = np.arange(1, 9) / 8
    assert np.allclose(alpha, sp.lambdify(s, a)(sv)) and np.allclose(beta, sp.lambdify(s, b)(sv))


def test_bilinear_variance_from_the_mgf_equals_trace_formula():
    _, variance, mean_residual, variance_residual = bilinear_variance.derive(2)
    assert mean_residual == 0 and variance_residual == 0
    assert variance != 0


@given(st.integers(1, 6), st.integers(2, 30), st.floats(0.05, 3), st.integers(0, 2**31))
def test_bilinear_moments_match_package_for_general_W(d, T, c, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, d))                      # non-symmetric
    B = rng.standard_normal((d, d))
    sigma = B @ B.T + 0.1 * np.eye(d)                     # general step covariance
    mean, var = propagation.logit_moments(W, T, step_cov=sigma, scale=c)
    ref_mean, ref_var = propagation_moments.moments(W, T, sigma, c)
    assert np.allclose(mean, ref_mean, rtol=1e-10, atol=1e-12)
    assert np.allclose(var, ref_var, rtol=1e-10, atol=1e-12)


@given(st.floats(-3, 3), st.floats(0, 4), st.integers(2, 128), lengths)
def test_spectrum_form_matches_package(m, v, d, T):
    sm, sv = propagation_moments.spectrum_form()
    sym = propagation_moments
    f_mean = sp.lambdify((sym.i, sym.T, sym.m, sym.v, sym.d), sm, "numpy")
    f_var = sp.lambdify((sym.i, sym.T, sym.m, sym.v, sym.d), sv, "numpy")
    i = np.arange(1, T + 1)
    mean, var = propagation.spectrum_moments(m, v, d, T)
    assert np.allclose(mean, f_mean(i, T, m, v, d) + 0 * i, rtol=1e-10, atol=1e-12)
    assert np.allclose(var, f_var(i, T, m, v, d) + 0 * i, rtol=1e-10, atol=1e-12)


@given(st.floats(-3, 3), st.floats(0, 4), st.integers(2, 64), st.integers(0, 2**31))
def test_spectrum_form_is_the_general_form_on_a_matching_W(m, v, d, seed):
    W = spectrum.make_weights(m, v, d, seed=seed)
    T = 17
    for a, b in zip(propagation.spectrum_moments(m, v, d, T), propagation.logit_moments(W, T), strict=True):
        assert np.allclose(a, b, rtol=1e-8, atol=1e-10)


@given(st.floats(-3, 3), st.floats(0, 4), st.integers(2, 128), lengths)
def test_limit_and_antrp_forms_match_package(m, v, d, T):
    sym = propagation_moments
    s = np.arange(1, T + 1) / T
    args = (sym.s, sym.m, sym.v, sym.d)
    lm, lv = (sp.lambdify(args, e, "numpy") for e in sym.limit_form())
    pm, pv = (sp.lambdify(args, e, "numpy") for e in sym.antrp_form())
    mean, var = propagation.spectrum_moments(m, v, d, T, limit=True)
    assert np.allclose(mean, lm(s, m, v, d), rtol=1e-10, atol=1e-12)
    assert np.allclose(var, lv(s, m, v, d), rtol=1e-10, atol=1e-12)
    pub_mean, pub_var = propagation.antrp_moments(m, v, d, T)
    assert np.allclose(pub_mean, pm(s, m, v, d), rtol=1e-10, atol=1e-12)
    assert np.allclose(pub_var, pv(s, m, v, d), rtol=1e-10, atol=1e-12)


def test_derivation_scripts_run_and_print(capsys):
    for module in (walk_moments, bilinear_variance, propagation_moments):
        module.main()
    out = capsys.readouterr().out
    assert "alpha + beta^2 -> 2*s**2 - 2*s + 7/12" in out
    assert "minus tr(C_uu W C_ww W^T) + tr(W C_wu W C_wu): 0" in out
