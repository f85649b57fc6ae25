"""The exact signal propagation probability (chi-square decomposition, Imhof)."""
from unittest.mock import patch

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from derivations import chi_square
from sigprop.rho import chi2sum, exact, montecarlo, propagation, spectrum
from sigprop.rho.theory import theory, theory_spectrum
from tests.helpers import chi2_cdf_mp


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
    alpha, beta = propagation.coefficients(9)
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
    mean, var = propagation.logit_moments(W, 7, step_cov=sigma, scale=0.6)
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
    assert np.allclose(F, [0.5204998778130465, 0.4795001221869535]) and np.all(err <= 1e-15)


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
        gauss = theory(W, T, method="gaussian").rho
        assert np.sum((gauss < sim.ci_low) | (gauss > sim.ci_high)) >= T // 4


def test_exact_spectrum_form_and_errors():
    p = theory_spectrum(np.array([0.5, 1.0]), 0.1, 8, 16, method="exact")
    assert p.rho.shape == (2, 16) and p.config["rho_error"].max() < 1e-6
    with pytest.raises(ValueError, match="method 'exact' needs form 'finite'"):
        theory_spectrum(0.5, 0.1, 8, 16, method="exact", form="limit")
    with pytest.raises(ValueError, match="method must be one of"):
        theory(np.eye(2), 4, method="saddle")


# --- the error bound against an arbitrary-precision reference (mpmath, tests/helpers.py) ---

def _mixed_weights(draw_signs, magnitudes, scale):
    return np.array([s * m for s, m in zip(draw_signs, magnitudes)]) * scale


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from([-1.0, 1.0]), min_size=2, max_size=6),
       st.lists(st.floats(-3, 3), min_size=6, max_size=6),
       st.floats(-12, 6), st.sampled_from([0.0, 1.0, -0.4, 2.5]))
def test_cdf_meets_its_bound_against_mpmath(signs, log_mag, log_scale, x):
    """Generic mixed-sign weights, magnitudes over 6 decades, overall scale 1e-12..1e6, at the
    points of rho (0 and 1) and two others: |F - F_mpmath| <= the returned bound, and the bound
    is the claimed accuracy (below 1e-6), not a vacuous one."""
    assume(1.0 in signs and -1.0 in signs)
    lam = _mixed_weights(signs, 10.0 ** np.array(log_mag[:len(signs)]), 10.0 ** log_scale)
    F, err = exact.cdf(lam[None], np.array([x]))
    ref = chi2_cdf_mp(lam, x)
    assert abs(F[0] - ref) <= err[0] + 1e-15          # 1e-15: the reference rounded to float64
    assert err[0] < 1e-6


@settings(max_examples=8, deadline=None)
@given(st.integers(8, 32), st.integers(0, 2**31), st.floats(-2.5, 0), st.floats(-8, 4),
       st.sampled_from([0.0, 1.0, -0.4, 2.5, "mean"]), st.booleans())
def test_saddle_line_meets_its_bound_against_mpmath(n, seed, log_spread, log_scale, x, dominant):
    """Many weights (the random walk's case): the trapezoidal rule on the line through the saddle
    point (``chi2sum._bromwich``; its node cap raised to 8192 here, so that it is the path taken
    and tested even where the cap of 512 would hand the row to Imhof) meets its bound:
    |F - F_mpmath| <= the returned bound < 1e-6, also with one dominant weight (a narrow analytic
    strip) and at the mean."""
    rng = np.random.default_rng(seed)
    lam = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(log_spread, 0.3, n)
    if dominant:
        lam[0] *= 20
    lam *= 10.0 ** log_scale
    x = float(lam.sum()) if x == "mean" else x
    s = np.ldexp(1.0, np.frexp(np.abs(lam).max())[1] - 1)
    bound, _ = chi2sum.chernoff(lam[None] / s, np.array([x / s]))
    assume(bound[0] > 1e-7)                                     # not in the far tail
    with patch.object(chi2sum, "_BROMWICH_NODES", 8192):
        assert chi2sum._bromwich(lam[None] / s, np.array([x / s]), 1e-7)[2][0]
        F, err = exact.cdf(lam[None], np.array([x]))
    ref = chi2_cdf_mp(lam, x)
    assert abs(F[0] - ref) <= err[0] + 1e-15 and err[0] < 1e-6


@settings(max_examples=12, deadline=None)
@given(st.integers(3, 7), st.integers(0, 2**31), st.floats(-2, 0), st.floats(-6, 3),
       st.sampled_from([0.0, 1.0, -0.4, 2.5, "mean"]))
def test_sinh_map_with_few_weights_meets_its_bound_against_mpmath(n, seed, log_spread, log_scale, x):
    """Few weights (3 to 7), where ``|f|`` decays like a low power of ``y``: the saddle-point line
    in the variable ``y = alpha sinh(s)`` takes the row with its default node cap, and
    |F - F_mpmath| <= the returned bound < 1e-6."""
    rng = np.random.default_rng(seed)
    lam = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(log_spread, 0.3, n) * 10.0 ** log_scale
    x = float(lam.sum()) if x == "mean" else x
    s = np.ldexp(1.0, np.frexp(np.abs(lam).max())[1] - 1)
    bound, _ = chi2sum.chernoff(lam[None] / s, np.array([x / s]))
    assume(bound[0] > 1e-7)
    kept, _ = chi2sum.drop_negligible(lam[None] / s, 1e-7 / 4)
    assume(np.count_nonzero(kept) >= 3)
    assume(chi2sum._bromwich(kept, np.array([x / s]), 1e-7)[2][0])    # the saddle-point line's row
    F, err = exact.cdf(lam[None], np.array([x]))
    ref = chi2_cdf_mp(lam, x)
    assert abs(F[0] - ref) <= err[0] + 1e-15 and err[0] < 1e-6


@settings(max_examples=12, deadline=None)
@given(st.integers(3, 12), st.integers(0, 2**31), st.floats(-2.5, 0), st.floats(-4, 3),
       st.sampled_from([1.0, -0.4, 2.5, 7.0, -3.0]), st.booleans())
def test_parabola_meets_its_bound_against_mpmath(n, seed, log_spread, log_scale, x, relative):
    """``x`` far from 0 with few weights: the phase ``x y`` turns many times before ``|f|`` decays on
    the line, and the row goes to the parabola ``c + iy + kappa y^2`` (``chi2sum._trapezoid_bent``,
    asserted), where ``e^{-tx}`` decays like a Gaussian: |F - F_mpmath| <= the bound < 1e-6."""
    rng = np.random.default_rng(seed)
    lam = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(log_spread, 0.3, n) * 10.0 ** log_scale
    x = x * float(np.abs(lam).sum()) / 3 if relative else x
    calls = []
    bent = chi2sum._trapezoid_bent
    with patch.object(chi2sum, "_trapezoid_bent", lambda *a: calls.append(1) or bent(*a)):
        F, err = exact.cdf(lam[None], np.array([x]))
    assume(calls)
    assert abs(F[0] - chi2_cdf_mp(lam, x)) <= err[0] + 1e-15 and err[0] < 1e-6


@pytest.mark.parametrize("lam, x", [
    ([1.0, -0.5, 0.25], 0.0), ([1.0, 0.9, 0.8, -0.1], 1.5), ([1.5, -1.0, 0.5, 0.2, -0.1, 0.05], -0.3),
    ([1.0] * 40, 30.0), ([1.9, -0.2, 0.1], 0.0), ("walk", 0.0),
])
def test_saddle_line_tail_bounds_hold(lam, x):
    """The truncation point ``Y`` of the saddle-point line (power and convexity bounds): the tail
    ``(1/pi) int_Y^inf |f(y)| dy``, integrated in mpmath, is below the target it was set for.
    ("walk": the random walk's 64 weights at position 11, where the convexity bound lowers ``Y``.)"""
    import mpmath as mp
    walk = isinstance(lam, str)
    if walk:
        lam = exact.chi2_weights(spectrum.make_weights(0.5, 0.1, 32, seed=0), 128)[10]
    lam = np.array([lam])
    xs = np.array([x])
    c, side, edge = chi2sum._saddle(lam, xs)
    beta = 1 - 2 * c[:, None] * lam
    log_scale = -0.5 * np.log(beta).sum(axis=1) - c * xs
    target = 1e-8
    Y = chi2sum._bromwich_cut(lam, beta, log_scale, target)[0]
    if walk:
        assert Y < 0.75 * chi2sum._bromwich_cut(lam, beta, log_scale, target, tries=0)[0]
    g = [mp.mpf(v) for v in 2 * lam[0] / beta[0]]
    with mp.workdps(30):                             # |f(y)| = M(c) e^{-cx} prod (1 + g^2 y^2)^{-1/4} / |c + iy|
        def modulus(y):
            return (mp.exp(log_scale[0]) * mp.fprod([(1 + (gj * y) ** 2) ** mp.mpf(-0.25) for gj in g])
                    / mp.sqrt(mp.mpf(c[0]) ** 2 + y * y))
        tail = float(mp.quad(modulus, [Y, 10 * Y, 100 * Y, mp.inf]) / mp.pi)
    assert tail <= target
    assert tail > target / 1e4                        # and the point is not needlessly far out


@pytest.mark.parametrize("lam, x", [
    ([1.0, 1.0, 1.0, -1.0], 0.0),          # x = 0 with few weights: the truncation error is near its bound
    ([1.3, -0.7, 0.4], 0.0),
    ([1.0, -1.0, 1e-6], 1.0),              # a negligible weight, dropped with its bound
    ([2.0, -1.0, 1e-12, 1e-12], -0.3),
    ([1.0, -1.0, 1e-4, -1e-4, 1e-4], 0.0),
    ([1e-6, -3e-6, 2e-6], 1.0),            # tiny weights: x = 1 is in the far tail (Chernoff)
    ([1e6, -2e5, 3e5], 1.0),               # huge weights: x = 1 is next to 0
])
def test_cdf_bound_holds_on_hard_cases(lam, x):
    F, err = exact.cdf(np.array([lam]), np.array([x]))
    assert abs(F[0] - chi2_cdf_mp(lam, x)) <= err[0] + 1e-15 and err[0] < 1e-6


@pytest.mark.parametrize("lam, x", [([0.1, 0.12, -0.05], 1.0), ([1.0, 0.9, -0.8, 0.1], 4.0),
                                    ([0.05, -0.06, 0.04, 0.03, -0.02], -0.5), ([1.5, 1.2, 0.3], 8.0)])
def test_parabola_tail_bound_holds(lam, x):
    """The truncation point ``Y`` of the parabola: ``(1/pi) int_Y^inf |M(t) e^{-tx} t'(y) / t| dy``
    on ``t(y) = c + iy + kappa y^2``, integrated in mpmath, is below the target it was set for."""
    import mpmath as mp
    lam, xs = np.array([lam]), np.array([x])
    c, side, edge = chi2sum._saddle(lam, xs)
    a = np.minimum(np.abs(c), edge - np.abs(c))
    kappa, strip, _ = chi2sum._bent_plan(lam, xs, c, a, 1e-7)
    target = 1e-8
    Y = chi2sum._bent_cut(lam, xs, c, kappa, target)[0]
    k, cc = mp.mpf(kappa[0]), mp.mpf(c[0])
    with mp.workdps(30):
        def modulus(y):
            t = cc + 1j * y + k * y * y
            M = mp.fprod([(1 - 2 * t * mp.mpf(v)) ** mp.mpf(-0.5) for v in lam[0]])
            return abs(M * mp.exp(-t * x) * (1 + 2j * k * y) / t)
        tail = float(mp.quad(modulus, [Y, 2 * Y, 4 * Y, mp.inf]) / mp.pi)
    assert tail <= target and tail > target / 1e4


def test_saddle_point_with_a_bracket_of_many_decades():
    """Two weights near -1 and six of order 1e-10, mostly positive: the saddle point's bracket
    ``(0, 1/(2 lambda_max))`` spans ten decades, and 16 Newton-or-bisection steps leave ``c`` far
    from the minimum (formerly a NaN on the parabola): the root finder goes on for those rows."""
    lam = np.array([-1.01449598, -1.46201871, 7.84e-10, 3.32e-10, -4.75e-10, 4.67e-10, 3.67e-10, 3.35e-10])
    F, err = exact.cdf(lam[None], np.array([-1.0]), tol=1e-9)
    assert np.isfinite(F[0]) and abs(F[0] - chi2_cdf_mp(lam, -1.0)) <= err[0] + 1e-15 and err[0] < 1e-8


def test_truncation_bound_is_not_divided_by_pi_twice():
    """At x = 0 with four equal-magnitude weights the Imhof tail is non-oscillatory, so the error
    of the truncated integral nearly equals the rigorous tail bound: a bound smaller by a factor
    pi (the former defect) would be exceeded.  (The Imhof path is forced: the saddle-point line,
    which this row takes otherwise, has an error far below its bound here.)"""
    lam = np.array([[1.0, 1.0, 1.0, -1.0]])
    with patch.object(chi2sum, "_BROMWICH_NODES", 0):
        F, err = exact.cdf(lam, np.array([0.0]))
    actual = abs(F[0] - chi2_cdf_mp(lam[0], 0.0))
    assert actual <= err[0] and actual > err[0] / np.pi


def test_capped_work_reports_a_larger_bound_that_still_holds():
    """The Imhof path's cost cap (forced: the saddle-point parabola takes this row otherwise and
    needs no cap)."""
    lam = np.array([[1.0, -1.0, 1e-3, -2e-3, 1e-3]])
    with pytest.warns(RuntimeWarning, match="error bound reaches"), patch.object(chi2sum, "_BROMWICH_NODES", 0):
        F, err = chi2sum.cdf(lam, np.array([1.0]), work=2e3)
    assert err[0] > 1e-6 and abs(F[0] - chi2_cdf_mp(lam[0], 1.0)) <= err[0]


@pytest.mark.parametrize("size", [1e-12, 1e-6, 1e6])
def test_exact_rho_at_extreme_scales_against_mpmath(size):
    """W with entries ~1e-12 (the logit concentrated near 0), ~1e-6 and ~1e6: rho at the first
    and last positions against mpmath's F(1) - F(0), with bounds at the claimed accuracy."""
    W = size * np.array([[0.9, -0.4], [0.3, 0.5]])
    prof = exact.theory(W, 16)
    lam = exact.chi2_weights(W, 16)
    assert prof.config["rho_error"].max() < 1e-6
    for i in (0, 15):
        ref = chi2_cdf_mp(lam[i], 1.0) - chi2_cdf_mp(lam[i], 0.0)
        assert abs(prof.rho[i] - ref) <= prof.config["rho_error"][i] + 1e-15


def test_small_w_limit_is_the_sign_probability():
    """For W -> 0 the logit is concentrated near 0, so rho -> P(zc > 0), which is scale-free:
    the values at W and at 1e-12 W agree to the bounds (the former method biased them by -0.0055)."""
    W = np.random.default_rng(3).standard_normal((4, 4))
    lam = exact.chi2_weights(W, 8)
    p = exact.theory(1e-12 * W, 8)
    sign, err = exact.cdf(lam, 0.0)
    assert np.all(np.abs(p.rho - (1 - sign)) <= p.config["rho_error"] + err + 1e-12)


@pytest.mark.filterwarnings("ignore:chi-square distribution:RuntimeWarning")
@given(st.lists(st.floats(-2, 2).filter(lambda w: abs(w) > 0.05), min_size=2, max_size=6),
       st.floats(-8, 8))
def test_chernoff_bound_is_an_upper_bound(lam, x):
    """(the reference F may warn that its own bound exceeds the 1e-9 asked; the bound is used)"""
    lam = np.array(lam)
    bound, side = chi2sum.chernoff(lam[None], np.array([x]))
    assume(bound[0] < 0.5)
    F, err = exact.cdf(lam[None], np.array([x]), tol=1e-9)
    tail = 1 - F[0] if side[0] else F[0]
    assert tail <= bound[0] + err[0]


@pytest.mark.filterwarnings("ignore:chi-square distribution:RuntimeWarning")
@settings(max_examples=25, deadline=None)
@given(st.integers(3, 8), st.integers(0, 2**31), st.floats(-14, -6), st.floats(-1, 2))
def test_dropped_weights_move_the_cdf_by_less_than_the_bound(n, seed, log_small, x):
    rng = np.random.default_rng(seed)
    small = 10 ** (log_small + rng.uniform(0, 1, n - 2))
    lam = rng.choice([-1, 1], n) * np.concatenate([rng.uniform(0.5, 1.5, 2), small])
    kept, bound = chi2sum.drop_negligible(lam[None], 1e-8)
    full, e1 = exact.cdf(lam[None], np.array([x]), tol=1e-9)
    part, e2 = exact.cdf(kept, np.array([x]), tol=1e-9)
    assert abs(full[0] - part[0]) <= bound[0] + e1[0] + e2[0]
