"""The frozen logit distribution: against a simulation of the tokens, against the closed-form moments
and the exact rho, and its own identities (ppf inverts cdf, sf = 1 - cdf, pdf integrates to cdf)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtri

import sigprop as sp
from sigprop.core.checks import ArgumentError
from sigprop.rho.montecarlo import general_logits
from sigprop.rho.propagation import moments
from tests.helpers import bonferroni_z

QUANTILES = np.linspace(0.1, 0.9, 9)
EXAMPLES = 8
SAMPLES = 4000


@st.composite
def models(draw, token_mean=True):
    """A single-query model: a general (non-symmetric) W, any T, query and, sometimes, a token mean."""
    d = draw(st.integers(2, 5))
    T = draw(st.integers(2, 10))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, d)) * draw(st.sampled_from([0.3, 1.0, 3.0])) + draw(st.floats(-1, 1)) * np.eye(d)
    query = draw(st.integers(1, T))
    mu = rng.standard_normal(d) * 0.5 if token_mean and draw(st.booleans()) else None
    model = sp.LogitModel(W, T, query=query, token_mean=mu)
    return model, draw(st.integers(1, T)), seed


@settings(max_examples=EXAMPLES)
@given(models())
def test_cdf_matches_a_simulation_of_the_tokens(case):
    """At nine points x_k = mean + std Phi^-1(k/10) (fixed before the draws), the share of simulated
    logits <= x_k is within z sqrt(F (1 - F) / n) + the cdf's error bound of F = cdf(x_k), z
    Bonferroni-corrected for the 9 points and EXAMPLES configurations at family level 1e-3 (fixed
    seeds: the same draws every run)."""
    model, i, seed = case
    z = sp.logit_distribution(model, i, tol=1e-7)
    standard = np.random.default_rng([seed, 1]).standard_normal((SAMPLES, model.T, model.d))
    logits = general_logits(standard, model)[:, i - 1]               # the tokens, W and the centering
    x = z.mean() + z.std() * ndtri(QUANTILES)
    F = np.asarray(z.cdf(x))
    share = (logits[:, None] <= x).mean(axis=0)
    q = bonferroni_z(1e-3, QUANTILES.size * EXAMPLES)
    allowed = q * np.sqrt(F * (1 - F) / SAMPLES) + np.asarray(z.cdf_error(x))
    assert np.all(np.abs(share - F) <= allowed), (share, F)


@settings(max_examples=20)
@given(models())
def test_mean_and_var_are_the_closed_form_moments(case):
    """mean() = sum lambda and var() = 2 sum lambda^2 + sum l^2 against (3.5) computed from traces,
    relative 1e-9 (two routes: eigenvalues of the 2d x 2d forms, traces of W)."""
    model, _, _ = case
    z = sp.logit_distribution(model, np.arange(1, model.T + 1))
    mean, var = moments(model)
    scale = np.sqrt(var).max() + 1e-300
    np.testing.assert_allclose(z.mean(), mean, rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(z.var(), var, rtol=1e-9, atol=1e-9 * scale ** 2)
    np.testing.assert_allclose(z.std(), np.sqrt(var), rtol=1e-9, atol=1e-9 * scale)


@settings(max_examples=20)
@given(models(token_mean=False), st.floats(0.02, 0.98))
def test_ppf_inverts_cdf_and_sf_is_one_minus_cdf(case, q):
    """cdf(ppf(q)) = q within the cdf's error; ppf(cdf(x)) = x within (error of cdf) / pdf + 1e-9 std."""
    model, i, _ = case
    z = sp.logit_distribution(model, i)
    x = z.ppf(q)
    assert abs(z.cdf(x) - q) <= 2 * z.cdf_error(x) + 1e-12
    assert z.sf(x) == 1 - z.cdf(x)
    assert z.isf(1 - q) == pytest.approx(x, abs=1e-9 * z.std())
    back = z.ppf(z.cdf(x))
    density = max(z.pdf(x), 1e-12)
    assert abs(back - x) <= 4 * z.cdf_error(x) / density + 1e-9 * z.std()


@settings(max_examples=10)
@given(models(token_mean=False))
def test_exact_rho_is_cdf_1_minus_cdf_0(case):
    """rho_i = P(0 < zc_i < 1) = cdf(1) - cdf(0) = sf(0) - sf(1) (docs/theory.md (3.1)), within the
    exact method's error bound plus the two cdf errors."""
    model, _, _ = case
    z = sp.logit_distribution(model, np.arange(1, model.T + 1))
    exact = sp.theory(model, method="exact")
    got = np.asarray(z.cdf(1.0)) - np.asarray(z.cdf(0.0))
    bound = exact.config["rho_error"] + np.asarray(z.cdf_error(1.0)) + np.asarray(z.cdf_error(0.0))
    assert np.all(np.abs(got - exact.rho) <= bound)
    np.testing.assert_allclose(np.asarray(z.sf(0.0)) - np.asarray(z.sf(1.0)), got, atol=1e-15)


def test_pdf_integrates_to_cdf_differences():
    """int_a^b pdf (Gauss-Legendre, 64 nodes on each of 8 panels) = cdf(b) - cdf(a) within 1e-6: the
    five-point difference's error (h = std/128, cdf to 1e-11: 3 tol / (2h) about 2e-9 / std) and the
    quadrature's are far below it."""
    model = sp.LogitModel.from_spectrum(0.5, 0.3, 6, 12)
    t, w = np.polynomial.legendre.leggauss(64)
    for i in (3, 12):
        one = sp.logit_distribution(model, i, tol=1e-11)
        a, b = one.ppf(0.02), one.ppf(0.97)
        edges = np.linspace(a, b, 9)
        mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
        nodes = (mid[:, None] + half[:, None] * t).ravel()
        integral = float(np.sum(np.repeat(half, t.size) * np.tile(w, mid.size) * one.pdf(nodes)))
        assert integral == pytest.approx(one.cdf(b) - one.cdf(a), abs=1e-6)


def test_support_follows_the_signs_of_the_weights():
    z = sp.logit_distribution(sp.LogitModel.from_spectrum(0.5, 0.1, 3, 8), 8)
    assert z.support() == (-np.inf, np.inf)                  # weights of both signs
    z.weights, z.linear = np.array([0.5, 1.0, 0.0]), np.zeros(3)
    assert z.support() == (0.0, np.inf)
    z.linear = np.array([0.4, -0.2, 0.0])                    # 0.5 (Z + 0.4)^2 + (Z - 0.1)^2 - 0.08 - 0.01
    assert z.support() == (pytest.approx(-0.09), np.inf)
    z.weights, z.linear = -z.weights, np.zeros(3)
    assert z.support() == (-np.inf, 0.0)
    z.linear = np.array([0.0, 0.0, 0.3])                     # a normal term: the whole line
    assert z.support() == (-np.inf, np.inf)


def test_rvs_follows_the_distribution_and_the_seed():
    """rvs draws the quadratic form: same seed, same draws; its mean within 5 standard errors of mean();
    its shape follows scipy's rule (positions are the trailing axes)."""
    model = sp.LogitModel(np.array([[1.0, 0.3], [-0.2, 0.5]]), 6, token_mean=[0.4, -0.1])
    z = sp.logit_distribution(model, [2, 6])
    draws = z.rvs(size=(20000, 2), random_state=3)
    assert draws.shape == (20000, 2)
    np.testing.assert_array_equal(draws, z.rvs(size=(20000, 2), random_state=3))
    se = np.sqrt(np.asarray(z.var()) / draws.shape[0])
    assert np.all(np.abs(draws.mean(axis=0) - z.mean()) <= 5 * se)
    assert isinstance(sp.logit_distribution(model, 6).rvs(random_state=0), float)
    with pytest.raises(ArgumentError, match="size"):
        z.rvs(size=(5, 3))


def test_scalar_positions_give_floats_and_bad_positions_are_refused():
    model = sp.LogitModel.from_spectrum(0.5, 0.1, 4, 8)
    z = sp.logit_distribution(model, 8)
    assert all(isinstance(v, float) for v in (z.mean(), z.var(), z.cdf(0.2), z.pdf(0.2), z.ppf(0.3)))
    assert np.shape(sp.logit_distribution(model, [[1, 2], [3, 4]]).cdf(0.0)) == (2, 2)
    for bad in (0, 9, 2.5, []):
        with pytest.raises(ArgumentError, match="i"):
            sp.logit_distribution(model, bad)
    with pytest.raises(ArgumentError, match="q"):
        z.ppf(1.5)
