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
