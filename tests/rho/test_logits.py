"""The validated logit model: validation once, cached derived quantities, same numbers."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sigprop as sp
from sigprop.rho import exact, montecarlo, propagation, walk
from sigprop.rho.logits import LogitModel, as_model


def _model(seed, d=5, T=9):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((d, d))
    return rng.standard_normal((d, d)), T, B @ B.T + 0.1 * np.eye(d), 0.6


def test_model_is_exported_frozen_and_read_only():
    W, T, S, c = _model(0)
    model = sp.LogitModel(W, T, step_cov=S, scale=c)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.T = 3
    with pytest.raises(ValueError):
        model.W[0, 0] = 1.0                      # a copy, read-only: the caller's W is untouched
    W[0, 0] += 1.0
    assert model.W[0, 0] != W[0, 0]


@given(st.integers(1, 6), st.integers(0, 2**31))
def test_square_roots_are_roots_of_sigma(d, seed):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((d, d))
    sigma = B @ B.T + 0.01 * np.eye(d)
    model = LogitModel(np.eye(d), 4, step_cov=sigma)
    S, L = model.sigma_sqrt, model.step_factor
    scale = np.abs(sigma).max()
    assert np.allclose(S, S.T) and np.allclose(S @ S, sigma, atol=1e-12 * scale)
    assert np.allclose(L @ L.T, sigma, atol=1e-12 * scale)
    assert np.all(np.linalg.eigvalsh(S) >= -1e-12 * np.sqrt(scale))


def test_identity_step_has_no_factor():
    model = LogitModel(np.eye(3), 4)
    assert model.identity_step and model.step_factor is None
    assert np.array_equal(model.sigma_sqrt, np.eye(3))


def test_keyword_forms_give_the_same_numbers_as_the_model():
    W, T, S, c = _model(1)
    model = LogitModel(W, T, step_cov=S, scale=c)
    for method in ("gaussian", "exact"):
        a, b = sp.theory(W, T, step_cov=S, scale=c, method=method), sp.theory(model, method=method)
        for field in ("mean", "variance", "rho"):
            assert np.array_equal(getattr(a, field), getattr(b, field))
    a = montecarlo.simulate(W, T, step_cov=S, scale=c, samples=500, seed=3)
    b = montecarlo.simulate(model, samples=500, seed=3)
    assert np.array_equal(a.rho, b.rho) and np.array_equal(a.mean, b.mean)
    assert np.array_equal(exact.chi2_weights(W, T, step_cov=S, scale=c), model.chi2_weights)
    for x, y in zip(propagation.logit_moments(W, T, step_cov=S, scale=c), propagation.moments(model)):
        assert np.array_equal(x, y)


def test_derived_quantities_are_computed_once():
    W, T, S, c = _model(2)
    model = LogitModel(W, T, step_cov=S, scale=c)
    assert model.chi2_weights is model.chi2_weights and model.traces is model.traces
    assert model.sigma_sqrt is model.sigma_sqrt


def test_spectrum_model_matches_the_dense_matrix():
    spectral = LogitModel.from_spectrum(0.4, 0.2, 6, 10)
    lam = 0.4 + np.sqrt(0.2) * sp.rho.spectrum.standard_spectrum(6)
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((6, 6)))[0]
    dense = LogitModel((q * lam) @ q.T, 10)
    assert np.allclose(np.sort(spectral.chi2_weights, axis=1), np.sort(dense.chi2_weights, axis=1))
    for x, y in zip(propagation.moments(spectral), propagation.moments(dense)):
        assert np.allclose(x, y)


@pytest.mark.parametrize("call, message", [
    (lambda m: sp.theory(m, 5), "T must be None or the model's T"),
    (lambda m: sp.theory(m, scale=0.3), "step_cov and scale must be None"),
    (lambda m: montecarlo.simulate(m, step_cov=2.0, samples=10), "step_cov and scale must be None"),
    (lambda m: sp.theory(np.eye(2)), "T must be given"),
    (lambda m: LogitModel(np.eye(2), 1), "T must be an integer >= 2"),
    (lambda m: LogitModel(np.eye(2), 4, scale=-1.0), "scale must be > 0"),
    (lambda m: LogitModel(np.ones((2, 3)), 4), "W must be a square"),
    (lambda m: LogitModel(np.eye(2), 4, step_cov=-1.0), "step_cov must be >= 0"),
    (lambda m: exact.theory(np.ones((2, 3, 3)), 4), "W must be a single d x d matrix for the exact"),
    (lambda m: montecarlo.simulate(np.ones((2, 3, 3)), 4), "W must be a single d x d matrix for simulation"),
])
def test_bad_models_are_refused_with_one_line(call, message):
    model = LogitModel(np.eye(2), 4)
    with pytest.raises(ValueError, match=message) as info:
        call(model)
    assert "\n" not in str(info.value)


def test_as_model_passes_a_model_through():
    model = LogitModel(np.eye(2), 4)
    assert as_model(model) is model and as_model(model, 4) is model


def test_coefficients_live_in_the_walk():
    assert propagation.coefficients is walk.coefficients is sp.coefficients


def _general_path(model: LogitModel) -> LogitModel:
    """``model`` with its diagonal shortcut switched off: the traces by the two ``d x d`` products."""
    model.__dict__["diagonal_step"] = None
    return model


@given(st.integers(1, 12), st.integers(0, 2), st.sampled_from(["identity", "diagonal", "dense"]),
       st.floats(1e-3, 1e3), st.integers(0, 2**31))
def test_diagonal_step_traces_equal_the_general_products(d, batch, kind, size, seed):
    """Sigma = I or diagonal: the O(d^2) traces agree with the two d x d products to 1e-12
    (relative to the traces' scale, sum |Wn| |Sn| ...; only the order of the sums differs)."""
    rng = np.random.default_rng(seed)
    W = size * rng.standard_normal((batch, d, d) if batch else (d, d))
    if kind == "identity":
        step = None
    elif kind == "diagonal":
        step = rng.uniform(0.0, 3.0, d) * (rng.random(d) > 0.2)  # some zero variances
    else:
        B = rng.standard_normal((d, d))
        step = B @ B.T + 0.1 * np.eye(d)
    fast = LogitModel(W, 9, step_cov=step)
    slow = _general_path(LogitModel(W, 9, step_cov=step))
    assert (fast.diagonal_step is None) == (kind == "dense" and d > 1)
    assert fast.identity_step == (kind == "identity")
    Wn = np.abs(W) / np.abs(W).max(axis=(-2, -1), keepdims=True)
    scale = np.abs(Wn).sum(axis=(-2, -1)) ** 2 + 1.0           # bound on every |trace| (|Sn| <= 1)
    for a, b in zip(fast.traces[:3], slow.traces[:3]):
        assert np.all(np.abs(a - b) <= 1e-12 * scale)
    assert np.array_equal(fast.traces[3], slow.traces[3])
    for x, y in zip(propagation.moments(fast), propagation.moments(slow)):
        assert np.allclose(x, y, rtol=1e-12, atol=1e-12 * np.abs(y).max())
