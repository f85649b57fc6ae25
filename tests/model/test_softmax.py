"""Softmax and piecewise-linear softmax: values, invariances, Jacobians."""
import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sigprop.model import softmax as sm

logits = arrays(np.float64, st.integers(2, 9), elements=st.floats(-20, 20))


def _fd_jacobian(f, z, h=1e-6):
    cols = []
    for j in range(z.size):
        e = np.zeros_like(z)
        e[j] = h
        cols.append((f(z + e) - f(z - e)) / (2 * h))
    return np.stack(cols, axis=-1)


@given(logits, st.floats(-50, 50))
def test_softmax_is_a_distribution_and_shift_invariant(z, shift):
    p = sm.softmax(z)
    assert np.all(p >= 0) and np.isclose(p.sum(), 1)
    assert np.allclose(sm.softmax(z + shift), p, atol=1e-12)


def test_softmax_is_stable_for_huge_logits():
    p = sm.softmax(np.array([1e4, 1e4 - 1.0, -1e4]))
    assert np.all(np.isfinite(p))
    assert np.allclose(p, [1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1)), 0.0])
    assert np.all(np.isfinite(sm.softmax_jacobian(np.array([800.0, -800.0]))))


@given(logits)
def test_softmax_jacobian_matches_finite_differences(z):
    assert np.allclose(sm.softmax_jacobian(z), _fd_jacobian(sm.softmax, z), atol=1e-7)


@given(logits, st.floats(-50, 50))
def test_pwl_softmax_range_and_shift_invariance(z, shift):
    p = sm.pwl_softmax(z)
    assert np.all((p >= 0) & (p <= 1))
    assert np.allclose(sm.pwl_softmax(z + shift), p, atol=1e-9)


@given(logits)
def test_pwl_jacobian_matches_finite_differences_away_from_kinks(z):
    zc = sm.centered(z)
    # a kink within the difference step: the derivative is undefined there
    assume(np.min(np.abs(np.concatenate([zc, zc - 1]))) >= 1e-4)
    assert np.allclose(sm.pwl_softmax_jacobian(z), _fd_jacobian(sm.pwl_softmax, z), atol=1e-7)


def test_pwl_passes_no_gradient_when_saturated():
    z = np.array([5.0, 0.2, 0.0, -5.0])     # zc = [4.95, 0.15, -0.05, -5.05]
    J = sm.pwl_softmax_jacobian(z)
    assert np.array_equal(sm.linear_regime(z), [False, True, False, False])
    assert np.all(J[[0, 2, 3]] == 0) and np.allclose(J[1], np.eye(4)[1] - 0.25)


def test_batched_jacobians_have_the_right_shape():
    z = np.random.default_rng(0).standard_normal((3, 2, 5))
    assert sm.softmax_jacobian(z).shape == (3, 2, 5, 5)
    assert sm.pwl_softmax_jacobian(z).shape == (3, 2, 5, 5)


@given(logits, st.integers(0, 2**31))
def test_vjps_equal_jacobian_transpose_products(z, seed):
    rng = np.random.default_rng(seed)
    dp = rng.standard_normal(z.shape)
    allowed = rng.random(z.shape) < 0.7
    allowed[0] = True
    for mask in (None, allowed):
        p = sm.softmax(z, mask)
        assert np.allclose(sm.softmax_vjp(p, dp), sm.softmax_jacobian(z, mask).T @ dp, atol=1e-12)
        assert np.allclose(sm.pwl_softmax_vjp(z, dp, mask), sm.pwl_softmax_jacobian(z, mask).T @ dp,
                           atol=1e-12)


@given(logits, st.integers(0, 2**31))
def test_masked_rows_ignore_masked_positions(z, seed):
    rng = np.random.default_rng(seed)
    allowed = rng.random(z.shape) < 0.6
    allowed[-1] = True
    junk = np.where(allowed, z, rng.standard_normal(z.shape) * 100)
    for f in (sm.softmax, sm.pwl_softmax):
        p = f(junk, allowed)
        assert np.all(p[~allowed] == 0)
        assert np.allclose(p[allowed], f(z[allowed]), atol=1e-12)
