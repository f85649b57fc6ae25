"""The exact signal propagation probability (chi-square decomposition, Imhof)."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import ndtr

from derivations import chi_square
from sigprop.rho import exact, montecarlo, spectrum
from sigprop.rho import propagation as P
from sigprop.rho.theory import theory, theory_spectrum


def test_gauss_kronrod_rule_is_exact_to_its_degree():
    x = exact.GK_NODES
    for deg in range(0, 23):
        want = (1 - (-1) ** (deg + 1)) / (deg + 1)
        assert abs(exact.GK_WEIGHTS @ x ** deg - want) < 1e-14
        if deg <= 13:
            assert abs(exact.GAUSS_WEIGHTS @ x ** deg - want) < 1e-14


def test_derivation_weights_match_package():
    wp, wm = chi_square.weights()
    assert all(r == 0 for r in chi_square.checks()[2:])
    W = spectrum.make_weights(0.3, 0.2, 5, seed=1)
    mu = np.linalg.eigvalsh(W)
    alpha, beta = P.coefficients(9)
    f = sp.lambdify((chi_square.alpha, chi_square.beta, chi_square.c, chi_square.mu), [wp, wm])
    want = np.sort(np.concatenate([np.array(f(a, b, 0.7, mu)).ravel()
                                   for a, b in zip(alpha, beta, strict=True)])
                   .reshape(9, -1), axis=1)
    assert np.allclose(np.sort(exact.chi2_weights(W, 9, scale=0.7), axis=1), want)


@given(st.integers(1, 6), st.integers(0, 2**31))
def test_weights_reproduce_the_exact_moments(d, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, d))
    B = rng.standard_normal((d, d))
    sigma = B @ B.T + 0.1 * np.eye(d)
    lam = exact.chi2_weights(W, 7, step_cov=sigma, scale=0.6)
    mean, var = P.logit_moments(W, 7, step_cov=sigma, scale=0.6)
    assert np.allclose(lam.sum(axis=1), mean, atol=1e-10) and np.allclose(2 * (lam ** 2).sum(axis=1), var)


def test_symmetric_shortcut_equals_the_general_eigenproblem():
    W = spectrum.make_weights(0.5, 0.3, 4, seed=2)
    sym = np.sort(exact.chi2_weights(W, 6), axis=1)
    # a tiny antisymmetric part forces the general path; weights move by O(1e-9) only
    general = np.sort(exact.chi2_weights(W + 1e-9 * np.triu(np.ones((4, 4)), 1), 6), axis=1)
    assert np.allclose(sym, general, atol=1e-8)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 12])
def test_cdf_matches_a_direct_simulation_of_the_weighted_chi_square(n):
    # 10^6 draws of sum w_k Z_k^2; binomial standard error, Bonferroni over 5 points at 1e-3
    rng = np.random.default_rng(n)
    lam = rng.standard_normal(n)
    xs = np.array([-1.0, 0.0, 0.5, 1.0, 3.0])
    F, err = exact.cdf(np.broadcast_to(lam, (5, n)), xs)
    Q = (rng.standard_normal((1_000_000, n)) ** 2) @ lam
    emp = (Q[:, None] <= xs).mean(axis=0)
    se = np.sqrt(np.maximum(emp * (1 - emp), 1e-12) / 1e6)
    assert np.all(np.abs(F - emp) <= 3.9 * se + err + 1e-6)
    assert np.all(err < 1e-6)


def test_one_weight_closed_form():
    F, err = exact.cdf(np.array([[2.0, 0, 0], [-2.0, 0, 0]]), np.array([1.0, -1.0]))
    assert np.allclose(F, [0.5204998778130465, 0.4795001221869535]) and np.all(err == 0)


@given(st.lists(st.floats(-3, 3).filter(lambda w: abs(w) > 0.05), min_size=3, max_size=10),
       st.floats(-5, 5), st.floats(0.01, 3))
def test_cdf_is_a_distribution_function(lam, x, dx):
    F, err = exact.cdf(np.array([lam, lam]), np.array([x, x + dx]))
    assert np.all((F >= 0) & (F <= 1)) and np.all(err < 1e-6)
    assert F[1] >= F[0] - err.sum()


@given(st.integers(3, 400), st.integers(0, 2**31), st.floats(-2, 2))
def test_cdf_approaches_the_gaussian_as_the_number_of_weights_grows(n, seed, z):
    # Berry-Esseen for independent summands lambda_k (Z^2 - 1): |F - Phi| <= 0.56 sum E|X|^3 / s^3,
    # E|Z^2 - 1|^3 = 8.6916 (test_berry_esseen_constant_input), s^2 = 2 sum lambda^2
    lam = (np.random.default_rng(seed).uniform(0.2, 1.0, n)
           * np.random.default_rng(seed + 1).choice([-1, 1], n))
    mean, sd = lam.sum(), np.sqrt(2 * np.sum(lam ** 2))
    F, err = exact.cdf(lam[None], np.array([mean + z * sd]))
    bound = 0.56 * 8.6916 * np.sum(np.abs(lam) ** 3) / sd ** 3
    assert abs(F[0] - ndtr(z)) <= bound + err[0]


def test_berry_esseen_constant_input():
    from scipy import integrate
    f = lambda z: abs(z * z - 1) ** 3 * np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    val = 2 * (integrate.quad(f, 0, 1)[0] + integrate.quad(f, 1, np.inf)[0])
    assert abs(val - 8.6916) < 1e-3


@pytest.mark.parametrize("d", [4, 16, 64])
@pytest.mark.parametrize("symmetric", [True, False])
def test_exact_rho_within_monte_carlo_intervals(d, symmetric):
    """Coverage bound: with intervals at level 1 - 1e-3/T, the union bound gives
    P(any of the T positions misses) <= 1e-3 under any dependence, so no miss is allowed.

    A binomial bound on the misses of 95% intervals (Binomial(T, 0.05): at most 6 of 32
    with probability 1 - 1e-3) assumes independent positions, which they are not: the
    estimates of neighbouring positions share the same walks.  With 100 000 samples the
    non-symmetric d = 64 case below misses 7 of 32 at 95% although the exact value lies
    within 0.5 standard errors of a 10^6-sample direct simulation of its chi-square form,
    so the binomial count would fail a correct method; the union bound does not.
    """
    T = 32
    rng = np.random.default_rng(d)
    W = (spectrum.make_weights(0.5, 0.1, d, seed=d) if symmetric
         else rng.standard_normal((d, d)) * 0.7 / np.sqrt(d))
    sim = montecarlo.simulate(W, T, samples=100_000, seed=d + symmetric, confidence=1 - 1e-3 / T)
    ex = theory(W, T, method="exact")
    assert ex.config["rho_error"].max() < 1e-6
    assert np.all((ex.rho >= sim.ci_low) & (ex.rho <= sim.ci_high))
    if d == 4:   # the Gaussian approximation visibly fails there
        gauss = theory(W, T).rho
        assert np.sum((gauss < sim.ci_low) | (gauss > sim.ci_high)) >= T // 4


def test_exact_spectrum_form_and_errors():
    p = theory_spectrum(np.array([0.5, 1.0]), 0.1, 8, 16, method="exact")
    assert p.rho.shape == (2, 16) and p.config["rho_error"].max() < 1e-6
    with pytest.raises(ValueError, match="method 'exact' needs form 'finite'"):
        theory_spectrum(0.5, 0.1, 8, 16, method="exact", form="limit")
    with pytest.raises(ValueError, match="method must be one of"):
        theory(np.eye(2), 4, method="saddle")
