"""Invariants of the Gaussian closed form: ranges, limits, symmetries, scalings, errors.

``theory`` and ``theory_spectrum`` here are the Gaussian method (``method="gaussian"``); the memory
refusals go through ``sp.theory`` with the default ``method="auto"``."""
import functools

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigprop.rho import propagation as P
from sigprop.rho import spectrum
from sigprop.rho import theory as _theory

theory = functools.partial(_theory.theory, method="gaussian")
theory_spectrum = functools.partial(_theory.theory_spectrum, method="gaussian")

means = st.floats(-50, 50)
variances = st.floats(0, 1e6)


@given(means, variances)
def test_rho_is_a_probability(mu, var):
    rho = P.band_probability(mu, var)
    assert np.isfinite(rho) and 0 <= rho <= 1


@given(st.floats(-5, 5), st.floats(1e-6, 100))
def test_band_is_symmetric_about_one_half(mu, var):
    # P(0 < Z < 1) is unchanged by mu -> 1 - mu (the band is symmetric about 1/2)
    assert np.isclose(P.band_probability(mu, var), P.band_probability(1 - mu, var), atol=1e-14)


@given(st.floats(-3, 4).filter(lambda m: min(abs(m), abs(m - 1)) > 1e-3))
def test_vanishing_variance_gives_the_indicator(mu):
    inside = float(0 < mu < 1)
    assert P.band_probability(mu, 0.0) == inside
    assert abs(P.band_probability(mu, 1e-12) - inside) < 1e-12


def test_exact_zero_is_outside_the_open_band():
    assert P.band_probability(0.0, 0.0) == 0 and P.band_probability(1.0, 0.0) == 0
    assert np.isclose(P.band_probability(0.0, 1e-20), 0.5)


@pytest.mark.parametrize("mu, var", [(10.0, 1.0), (-8.0, 0.5), (40.0, 4.0), (0.5, 1e-3)])
def test_tails_keep_relative_precision(mu, var):
    mpmath.mp.dps = 50
    sd = mpmath.sqrt(var)
    exact = mpmath.ncdf((1 - mu) / sd) - mpmath.ncdf(-mu / sd)
    assert abs(P.band_probability(mu, var) / float(exact) - 1) < 1e-10


@given(st.integers(2, 200), st.floats(-2, 2), st.floats(0, 3), st.integers(1, 64))
def test_profile_symmetry_in_position(T, m, v, d):
    v = 0.0 if d == 1 else v
    mean, var = P.spectrum_moments(m, v, d, T)
    assert np.allclose(mean, -mean[::-1], atol=1e-12)       # mu_{T+1-i} = -mu_i
    assert np.allclose(var, var[::-1], rtol=1e-12)          # v_{T+1-i} = v_i


@given(st.integers(2, 64), st.floats(0.1, 10), st.floats(0.05, 2), st.integers(0, 2**31))
def test_scaling_W_by_lambda_and_c_by_1_over_lambda_changes_nothing(d, lam, c, seed):
    W = np.random.default_rng(seed).standard_normal((d, d))
    a = theory(W, 12, scale=c)
    b = theory(lam * W, 12, scale=c / lam)
    assert np.allclose(a.rho, b.rho, atol=1e-12) and np.allclose(a.variance, b.variance)


@given(st.integers(1, 16), st.floats(0.1, 10), st.integers(0, 2**31))
def test_step_scale_acts_like_logit_scale(d, k, seed):
    # Sigma = k I makes every token sqrt(k) larger, so the logits scale by k
    W = np.random.default_rng(seed).standard_normal((d, d))
    a = theory(W, 9, step_cov=k, scale=0.3)
    b = theory(W, 9, scale=0.3 * k)
    assert np.allclose(a.rho, b.rho, atol=1e-12)


@given(st.integers(2, 16), st.integers(0, 2**31))
def test_rotation_invariance(d, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, d))
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    assert np.allclose(theory(W, 10).rho, theory(q @ W @ q.T, 10).rho, atol=1e-12)


# magnitudes below 1e-100 are excluded: make_weights rotates the spectrum, and rounding
# in the subnormal range (below 2e-308) no longer represents it (see test_tiny_W below)
representable = st.floats(-2, 2).filter(lambda x: x == 0 or abs(x) > 1e-100)


@given(representable, st.floats(0, 3).filter(lambda x: x == 0 or x > 1e-100), st.integers(2, 64),
       st.sampled_from(spectrum.SHAPES))
def test_symmetric_W_depends_only_on_mean_and_variance(m, v, d, shape):
    W = spectrum.make_weights(m, v, d, shape=shape, seed=3)
    assert np.allclose(theory(W, 20).rho, theory_spectrum(m, v, d, 20).rho, atol=1e-10)


@pytest.mark.parametrize("size", [1e-300, 1e-150, 1.0, 1e150])
def test_tiny_or_huge_W_keeps_its_profile(size):
    # rho is invariant under (W, c) -> (k W, c / k); no underflow to a degenerate logit
    W = np.random.default_rng(0).standard_normal((4, 4))
    assert np.allclose(theory(size * W, 8, scale=0.5 / size).rho, theory(W, 8, scale=0.5).rho, atol=1e-12)
    if 1e-300 < size ** 2 < 1e300:          # the variance v = 0.2 size^2 must itself be representable
        assert np.allclose(theory_spectrum(0.3 * size, 0.2 * size ** 2, 4, 8, scale=0.5 / size).rho,
                           theory_spectrum(0.3, 0.2, 4, 8, scale=0.5).rho, atol=1e-12)
    assert np.all(theory(size * W, 8).rho >= 0)


def test_non_symmetric_W_is_not_captured_by_its_eigenvalue_moments():
    # same tr(W) and tr(W^2) as the zero matrix, but ||W||_F^2 = 1: different variance
    W = np.array([[0.0, 1.0], [0.0, 0.0]])
    assert spectrum.eig_mean(W) == 0 and spectrum.eig_var(W) == 0
    assert np.all(theory(W, 8).variance > 0)
    assert np.all(theory_spectrum(0.0, 0.0, 2, 8).variance == 0)


@given(st.floats(-2, 2), st.floats(0, 3), st.integers(2, 64))
def test_finite_T_converges_to_the_limit_like_one_over_T(m, v, d):
    # beta differs from s - 1/2 by 1/(2T); alpha + beta^2 from its limit by O(1/T)
    gaps = []
    for T in (50, 500, 5000):
        fm, fv = P.spectrum_moments(m, v, d, T)
        lm, lv = P.spectrum_moments(m, v, d, T, limit=True)
        gaps.append(max(np.abs(fm - lm).max(), np.abs(fv - lv).max()))
        bound = (np.sqrt(d) * abs(m) / 2 + (v + m * m) * 2) / T
        assert gaps[-1] <= bound + 1e-12


@given(st.floats(-1, 1), st.floats(0, 2), st.integers(2, 32))
def test_grid_call_broadcasts_like_pointwise_calls(m0, v0, d):
    ms = np.array([m0, m0 + 0.5])[:, None]
    vs = np.array([v0, v0 + 1.0, v0 + 2.0])
    grid = theory_spectrum(ms, vs, d, 16).rho
    assert grid.shape == (2, 3, 16)
    assert np.allclose(grid[1, 2], theory_spectrum(m0 + 0.5, v0 + 2.0, d, 16).rho)


@given(st.floats(0.01, 4), st.integers(2, 64), st.integers(2, 300))
def test_zero_mean_profile_peaks_in_the_middle_and_is_symmetric(v, d, T):
    # m = 0: v_i ~ alpha_i + beta_i^2 is smallest in the middle, so rho_i = Phi(1/sd_i) - 1/2 peaks there
    rho = theory_spectrum(0.0, v, d, T).rho
    assert np.allclose(rho, rho[::-1], rtol=1e-12, atol=1e-15)
    middle = [(T - 1) // 2, T // 2]                       # 0-based centre position(s)
    assert np.isclose(rho[middle[0]], rho[middle[1]], rtol=1e-12) and rho.max() <= rho[middle].max() + 1e-15
    assert np.all(np.diff(rho[: middle[0] + 1]) >= -1e-15)   # rises up to the middle


def test_antrp_form_differs_from_the_derived_one():
    pm, pv = P.antrp_moments(0.5, 0.1, 64, 128)
    lm, lv = P.spectrum_moments(0.5, 0.1, 64, 128, limit=True)
    s = np.arange(1, 129) / 128
    assert np.allclose(pm, lm)                     # same mean in the limit
    # variance ratio (24 s^2 + 7) / (d (24 s^2 - 24 s + 7)), from propagation_moments.py
    assert np.allclose(pv / lv, (24 * s * s + 7) / (64 * (24 * s * s - 24 * s + 7)))
    assert np.all(pv / lv < 0.25)


@pytest.mark.parametrize("call, message", [
    (lambda: theory_spectrum(0.5, -0.1, 64, 128), "v must be >= 0"),
    (lambda: theory_spectrum(0.5, 0.1, 64, 1), "T must be an integer >= 2"),
    (lambda: theory_spectrum(0.5, 0.1, 0, 128), "d must be >= 1"),
    (lambda: theory_spectrum(0.5, 0.1, 2.5, 128), "d must be an integer"),
    (lambda: theory_spectrum(0.5, 0.1, 1, 128), "v must be 0 when d = 1"),
    (lambda: theory_spectrum(np.nan, 0.1, 4, 8), "m must be finite"),
    (lambda: theory_spectrum(0.5, 0.1, 4, 8, form="exact"), "form must be one of"),
    (lambda: theory(np.ones((2, 3)), 8), "square"),
    (lambda: theory(np.array([[np.inf]]), 8), "finite"),
    (lambda: theory(np.eye(2), 8, scale=0.0), "scale must be > 0"),
])
def test_bad_input_is_refused_with_a_named_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_closed_form_memory_checked_before_the_work(monkeypatch):
    """T (or the grid) beyond the limit is a ValueError naming it, before any allocation."""
    import sigprop as sp
    from sigprop.rho.logits import LogitModel
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "1000000000")
    for call in (lambda: sp.theory_spectrum(0.5, 0.1, 64, 10**12),
                 lambda: sp.theory(np.eye(4), 10**9),
                 lambda: sp.theory_spectrum(0.5, 0.1, 64, 10**5, method="exact"),
                 lambda: sp.theory_spectrum(0.5, 0.1, 64, 10**5, method="saddlepoint"),
                 lambda: LogitModel(np.eye(4), 10**5, query="all"),
                 lambda: LogitModel(np.eye(4), 10**5, data="iid")):
        with pytest.raises(ValueError, match="needs about") as exc:
            call()
        assert exc.value.argument == "T"
    with pytest.raises(ValueError, match="needs about") as exc:       # the grid drives it
        sp.theory_spectrum(np.linspace(0, 1, 10**7), 0.1, 64, 4)
    assert exc.value.argument == "m"


def test_closed_form_memory_estimate_bounds_the_peak_and_admits_the_bench(monkeypatch):
    """The estimate ((12 G + 4) T float64 numbers) is above the measured peak, and the bench's
    500 x 500 grid at T = 128 (3.07 GB estimated, 2.0 GB measured) passes a limit of 3.1 GB."""
    import tracemalloc

    import sigprop as sp
    from sigprop.rho.logits import LogitModel
    m = np.linspace(0.1, 1.0, 50)
    for call, need in ((lambda: sp.theory_spectrum(m, 0.1, 64, 2000, method="gaussian"), (12 * 50 + 4) * 2000 * 8),
                       # auto: the Gaussian profile first (checked as above), then exact model by model
                       (lambda: sp.theory_spectrum(m, 0.1, 64, 2000),
                        max((12 * 50 + 4) * 2000, 24 * 2000 * 128 + 8 * 50 * 2000) * 8),
                       (lambda: sp.theory(LogitModel(np.eye(4), 300, query="all")), 16 * 300 * 300 * 8),
                       (lambda: sp.theory_spectrum(0.5, 0.1, 16, 1000, method="exact"), 24 * 1000 * 32 * 8)):
        tracemalloc.start()
        call()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak <= need, (peak, need)
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "3100000000")
    P.require_profile(500 * 500, 128)
