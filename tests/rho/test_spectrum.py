"""Eigenspectrum statistics and the construction of W with a given spectrum."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigprop.rho import spectrum


@given(st.floats(-3, 3), st.floats(0, 5), st.integers(2, 40), st.sampled_from(spectrum.SHAPES),
       st.integers(0, 2**31))
def test_make_weights_matches_mean_and_variance_exactly(m, v, d, shape, seed):
    W = spectrum.make_weights(m, v, d, shape=shape, seed=seed)
    assert np.allclose(W, W.T)
    lam = np.linalg.eigvalsh(W)
    assert np.isclose(lam.mean(), m, atol=1e-10)
    assert np.isclose(lam.var(), v, atol=1e-9 * (1 + v + m * m))
    assert np.isclose(spectrum.eig_mean(W), m, atol=1e-10)
    assert np.isclose(spectrum.eig_var(W), v, atol=1e-9 * (1 + v + m * m))


def test_shapes_differ_but_share_moments():
    z = {s: spectrum.standard_spectrum(8, s) for s in spectrum.SHAPES}
    assert np.allclose(z["two-point"], [-1] * 4 + [1] * 4)
    assert np.allclose(np.diff(z["uniform"]), np.diff(z["uniform"])[0])
    # (mean 0 and variance 1 are imposed by the construction: tested through make_weights above)
    assert np.allclose(z["gaussian"], -z["gaussian"][::-1]) and np.all(np.diff(z["gaussian"]) > 0)
    assert len({tuple(np.round(v, 9)) for v in z.values()}) == 3            # the shapes differ
    odd = spectrum.standard_spectrum(7, "two-point")
    assert len(np.unique(odd.round(12))) == 2 and np.isclose(odd.var(), 1)


@given(st.integers(1, 12), st.integers(0, 2**31))
def test_trace_moments_are_the_complex_eigenvalue_moments(d, seed):
    W = np.random.default_rng(seed).standard_normal((d, d))     # non-symmetric
    lam = np.linalg.eigvals(W)
    assert np.isclose(spectrum.eig_mean(W), lam.mean().real, atol=1e-9)
    second = np.mean(lam ** 2) - np.mean(lam) ** 2
    assert np.isclose(spectrum.eig_var(W), second.real, atol=1e-8 * (1 + abs(second)))
    assert abs(second.imag) < 1e-8 * (1 + abs(second))


def test_batched_statistics():
    Ws = np.stack([spectrum.make_weights(m, 0.5, 6, seed=1) for m in (0.0, 1.0, 2.0)])
    assert np.allclose(spectrum.eig_mean(Ws), [0, 1, 2])
    assert np.allclose(spectrum.eig_var(Ws), 0.5)


@pytest.mark.parametrize("kwargs, name", [
    (dict(m=0.0, v=-1.0, d=4), "v must be >= 0"),
    (dict(m=0.0, v=1.0, d=1), "v must be 0 when d = 1"),
    (dict(m=np.nan, v=1.0, d=4), "m must be finite"),
    (dict(m=0.0, v=1.0, d=0), "d must be an integer >= 1"),
    (dict(m=0.0, v=1.0, d=4, shape="cauchy"), "shape must be one of"),
])
def test_bad_spectrum_requests_are_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        spectrum.make_weights(**kwargs)


def test_non_square_matrix_is_refused():
    with pytest.raises(ValueError, match="square"):
        spectrum.eig_mean(np.ones((2, 3)))


@given(st.integers(1, 10), st.integers(0, 2**31))
def test_eig_spread_is_the_complex_spread_between_eig_var_and_schur(d, seed):
    """mean |lambda - m|^2 from the eigenvalues, >= eig_var (|z|^2 >= Re z^2), <= ||W - mI||_F^2/d
    (Schur), equal to LocAteR's complex-abs penalty."""
    from sigprop.model import locater
    W = np.random.default_rng(seed).standard_normal((d, d))
    lam = np.linalg.eigvals(W)
    spread = float(spectrum.eig_spread(W))
    assert np.isclose(spread, np.mean(np.abs(lam - lam.mean()) ** 2), rtol=1e-10, atol=1e-12)
    assert spread >= spectrum.eig_var(W) - 1e-9 * (1 + spread)
    m = np.trace(W) / d
    assert spread <= np.sum((W - m * np.eye(d)) ** 2) / d + 1e-9 * (1 + spread)
    assert np.isclose(spread, locater.penalty(W, "complex-abs"), rtol=1e-9, atol=1e-12)


def test_eig_spread_of_a_rotation_is_positive_where_eig_var_is_negative():
    """A rotation by 90 degrees has eigenvalues +-i: m = 0, tr(W^2)/2 = -1, mean |lambda|^2 = 1."""
    W = np.array([[0.0, -1.0], [1.0, 0.0]])
    assert np.isclose(spectrum.eig_var(W), -1.0) and np.isclose(spectrum.eig_spread(W), 1.0)
    S = spectrum.make_weights(0.3, 0.7, 5, seed=2)                  # symmetric: the two agree
    assert np.isclose(spectrum.eig_spread(S), 0.7) and np.isclose(spectrum.eig_var(S), 0.7)
    assert np.allclose(spectrum.eig_spread(np.stack([W, 2 * W])), [1.0, 4.0])
