"""Softmax counterparts of rho: plain Monte Carlo, the conditional-process method, the d -> inf limit."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from derivations import softmax_conditional as deriv
from sigprop.rho import data as D
from sigprop.rho import softmax_profile as S
from sigprop.rho.logits import LogitModel
from tests.helpers import bonferroni_z

ALL = S.QUANTITIES


def _models():
    rng = np.random.default_rng(7)
    nonsym = rng.normal(0.3, 0.8, (3, 3))
    return {
        "m0.5 v0.5 d4 T32": LogitModel.from_spectrum(0.5, 0.5, 4, 32),
        "m1 v0.2 d2 T12": LogitModel.from_spectrum(1.0, 0.2, 2, 12),
        "m0 v2 d4 T20": LogitModel.from_spectrum(0.0, 2.0, 4, 20),
        "m-0.3 v0.5 d16 T48": LogitModel.from_spectrum(-0.3, 0.5, 16, 48),
        "nonsymmetric d3 T24, Sigma diag": LogitModel(nonsym, 24, step_cov=[1.0, 0.5, 2.0], scale=0.8),
    }


def test_semi_analytic_agrees_with_plain_monte_carlo():
    """Every quantity at every position of five models, including d <= 4 and a non-symmetric W
    with a non-identity step covariance: |semi-analytic - MC| <= z sqrt(se_sa^2 + se_mc^2) with z
    the Bonferroni quantile for family error 1e-3 over all comparisons (both estimators are
    unbiased and their errors independent and near normal: 2^15 walks, 16 RQMC replicates)."""
    models = _models()
    total = sum(3 * m.T for m in models.values())
    z = bonferroni_z(1e-3, total)
    for k, (name, model) in enumerate(models.items()):
        mc = S.simulate(model, quantity=ALL, samples=1 << 15, seed=100 + k)
        sa = S.semi_analytic(model, quantity=ALL, samples=1 << 14, seed=200 + k)
        se = np.sqrt(mc.se ** 2 + sa.se ** 2)
        assert np.all(np.abs(mc.value - sa.value) <= z * se), name
        # the conditional method is the more accurate one at half the samples
        assert np.median(sa.se / mc.se) < 0.5, name


def _data_models():
    rng = np.random.default_rng(11)
    nonsym = rng.normal(0.3, 0.8, (3, 3))
    G = rng.normal(size=(10, 4))
    return {
        "iid d4 T12": LogitModel.from_spectrum(0.5, 0.5, 4, 12, data="iid"),
        "ar1:4 nonsymmetric d3 T16, Sigma diag": LogitModel(nonsym, 16, data="ar1:4", step_cov=[1.0, 0.5, 2.0],
                                                             scale=0.8),
        "fbm:0.3 causal q10 d2 T16": LogitModel.from_spectrum(1.0, 0.3, 2, 16, data="fbm:0.3", query=10,
                                                              causal=True),
        "walk q7 token mean d3 T12": LogitModel(nonsym, 12, query=7, token_mean=[0.5, -1.0, 0.3]),
        "user rank-4 K causal q8 token mean d2 T10": LogitModel(
            [[0.9, -0.4], [0.6, 0.2]], 10, data=D.matrix(G @ G.T / 4), query=8, causal=True,
            token_mean=[1.0, 0.5]),
    }


def test_data_models_agree_with_monte_carlo():
    """The conditional process (3.30) for five data models (iid, AR(1) with a non-symmetric W and a
    step covariance, causal fBm with q < T, the walk with q < T and a token mean, a user rank-4 K,
    causal, with a token mean; d <= 4): |semi-analytic - MC| <= z sqrt(se_sa^2 + se_mc^2) with the
    Bonferroni z for family error 1e-3 over every compared position (positions a causal query
    does not attend to are 0 in both, exactly)."""
    models = _data_models()
    total = sum(3 * (m.query if m.causal else m.T) for m in models.values())
    z = bonferroni_z(1e-3, total)
    for k, (name, model) in enumerate(models.items()):
        mc = S.simulate(model, quantity=ALL, samples=1 << 14, seed=300 + k)
        sa = S.semi_analytic(model, quantity=ALL, samples=1 << 13, seed=400 + k)
        inside = np.arange(model.T) < (model.query if model.causal else model.T)
        assert np.all(mc.value[:, ~inside] == 0) and np.all(sa.value[:, ~inside] == 0), name
        se = np.sqrt(mc.se ** 2 + sa.se ** 2)[:, inside]
        assert np.all(np.abs(mc.value - sa.value)[:, inside] <= z * se), name
        np.testing.assert_allclose(sa.value[[0, 2]].sum(axis=1), 1.0, atol=1e-12)
        assert np.median(sa.se[:, inside] / mc.se[:, inside]) < 0.8, name


def test_data_model_check_has_power():
    """The same rule rejects the random-walk semi-analytic profile for AR(1) tokens."""
    W = LogitModel.from_spectrum(1.0, 0.2, 3, 16).W
    mc = S.simulate(LogitModel(W, 16, data="ar1:2"), quantity=ALL, samples=1 << 14, seed=5)
    sa = S.semi_analytic(LogitModel(W, 16), quantity=ALL, samples=1 << 13, seed=6)
    se = np.sqrt(mc.se ** 2 + sa.se ** 2)
    assert np.any(np.abs(mc.value - sa.value) > bonferroni_z(1e-3, 48) * se)


def test_general_process_of_the_walk_is_the_bridge():
    """The eigen-decomposed process of the walk's K fed as a user matrix has the bridge's drift and
    covariance (3.30), to rounding."""
    T = 9
    i = np.arange(1, T + 1)
    model = LogitModel(np.eye(2), T, data=D.matrix(np.minimum.outer(i, i) / T))
    s, sd, U = S.conditional_process(model)
    np.testing.assert_allclose(s, i / T, atol=1e-12)
    np.testing.assert_allclose((U * sd ** 2) @ U.T, np.minimum.outer(i, i) / T - np.outer(i, i) / T ** 2,
                               atol=1e-12)
    assert sd.size == T - 1


def test_softmax_refuses_all_queries():
    with pytest.raises(ValueError, match="^query "):
        S.semi_analytic(LogitModel(np.eye(2), 8, data="iid", query="all"))


def test_monte_carlo_detects_a_wrong_model():
    """The agreement test can fail: a different drift (W scaled by 1.3) is rejected."""
    model = LogitModel.from_spectrum(0.5, 0.5, 4, 32)
    wrong = LogitModel(1.3 * model.W, 32)
    mc = S.simulate(model, quantity=ALL, samples=1 << 15, seed=1)
    sa = S.semi_analytic(wrong, quantity=ALL, samples=1 << 14, seed=2)
    se = np.sqrt(mc.se ** 2 + sa.se ** 2)
    assert np.any(np.abs(mc.value - sa.value) > bonferroni_z(1e-3, 96) * se)


def test_derivation_residuals_vanish():
    coef, cov = deriv.bridge()
    assert list(coef) == [deriv.i / deriv.T, deriv.j / deriv.T]
    assert sp.simplify(cov[0, 1] - (deriv.i / deriv.T - deriv.i * deriv.j / deriv.T ** 2)) == 0
    assert deriv.scalar_moments() == (0, 0, 0)
    assert deriv.general_scalar_moments() == (0, 0, 0)
    coef, cov = deriv.general_conditional()
    assert coef.is_zero_matrix and cov.is_zero_matrix
    assert deriv.diagonal_r2_variance() == 0
    moments, limits = deriv.large_d()
    assert limits == (2 * deriv.m ** 2 + 2 * deriv.v, deriv.m ** 2 + deriv.v, 0)


def test_bridge_basis_gives_the_bridge_covariance():
    for T in (2, 3, 17, 64):
        sd = S.bridge_basis(T)
        modes = S.bridges(np.eye(T - 1), sd)                 # row k: mode k's path
        cov = modes.T @ modes
        i = np.arange(1, T + 1)
        exact = np.minimum.outer(i, i) / T - np.outer(i, i) / T ** 2
        np.testing.assert_allclose(cov, exact, atol=1e-12)


@pytest.mark.parametrize("data", [{}, dict(data="ar1:3", query=5, token_mean=[0.4, -0.8, 1.2])])
def test_conditional_scalars_match_their_derived_moments(data):
    """Monte Carlo moments of (A, R^2) against limit_scalars (the derived E A, sd A, E R^2 of
    (3.31), with kappa != 1 and a token mean in the second case); z = 4 per moment (3 moments,
    family error < 2e-4 per case)."""
    rng = np.random.default_rng(3)
    model = LogitModel(rng.normal(0.2, 1.0, (3, 3)), 8, step_cov=[1.0, 2.0, 0.5], **data)
    y = rng.standard_normal((200_000, 3))
    A, R = S.conditional_scalars(model, y)
    mean_a, sd_a, r = S.limit_scalars(model)
    n = y.shape[0]
    assert abs(A.mean() - mean_a) <= 4 * A.std() / np.sqrt(n)
    dev2 = (A - A.mean()) ** 2
    assert abs(dev2.mean() - sd_a ** 2) <= 4 * dev2.std() / np.sqrt(n)
    assert abs((R ** 2).mean() - r ** 2) <= 4 * (R ** 2).std() / np.sqrt(n)


def test_limit_is_approached_as_d_grows():
    """At fixed (m, v) the semi-analytic profile approaches the d -> inf form like d^{-1/2}:
    the largest gap shrinks by more than 2 from d = 4 to d = 64 (d^{-1/2} predicts 4), and the
    gaps are far above their standard errors, so the comparison is not noise."""
    gaps = []
    for d in (4, 64):
        model = LogitModel.from_spectrum(0.2, 1.0, d, 16)
        sa = S.semi_analytic(model, quantity=ALL, samples=1 << 14, seed=2)
        lim = S.limit(model, quantity=ALL, samples=1 << 12, seed=3)
        gap = np.abs(sa.value - lim.value).max()
        assert gap > 3 * np.sqrt(sa.se ** 2 + lim.se ** 2).max()
        gaps.append(gap)
    assert gaps[1] < gaps[0] / 2


logits = arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 12)),
                elements=st.floats(-60, 60, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(logits, st.floats(-50, 50))
def test_quantity_invariants(z, shift):
    q = S.softmax_quantities(z)
    weight, sens, grad = q[..., 0, :], q[..., 1, :], q[..., 2, :]
    np.testing.assert_allclose(weight.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(grad.sum(-1), 1.0, rtol=1e-9)
    assert np.all((sens >= 0) & (sens <= 0.25 + 1e-15))
    assert np.all((grad >= 0) & (grad <= 1 + 1e-12))
    np.testing.assert_allclose(S.softmax_quantities(z + shift), q, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 6))
def test_gradient_share_uniform_and_tied(T):
    """Equal logits share everything equally; a large gap gives the limit 1/2, 1/2."""
    np.testing.assert_allclose(S.softmax_quantities(np.zeros(T))[2], np.full(T, 1.0 / T))
    z = np.zeros(T)
    z[0], z[1] = 2000.0, 1000.0
    share = S.softmax_quantities(z)[2]
    assert share[0] == share[1] == 0.5


def test_profiles_sum_to_one_and_reproduce():
    model = LogitModel.from_spectrum(0.4, 0.3, 3, 10)
    sa = S.semi_analytic(model, quantity=("weight", "gradient"), samples=1 << 10, seed=5)
    np.testing.assert_allclose(sa.value.sum(-1), 1.0, rtol=1e-12)
    again = S.semi_analytic(model, quantity="gradient", samples=1 << 10, seed=5)
    np.testing.assert_array_equal(again.value, sa.select("gradient").value)
    mc = S.simulate(model, quantity="weight", samples=1000, seed=5, batch_size=77)
    np.testing.assert_allclose(mc.value, S.simulate(model, quantity="weight", samples=1000, seed=5).value)
    np.testing.assert_allclose(mc.value.sum(), 1.0)


def test_scale_and_w_enter_only_through_their_product():
    W = np.diag([0.5, 1.5, -0.2])
    a = S.semi_analytic(W, 12, quantity=ALL, scale=0.6, samples=1 << 10, seed=1)
    b = S.semi_analytic(2 * W, 12, quantity=ALL, scale=0.3, samples=1 << 10, seed=1)
    np.testing.assert_allclose(a.value, b.value, rtol=1e-12, atol=1e-15)


def test_zero_w_gives_uniform_attention():
    sa = S.semi_analytic(np.zeros((2, 2)), 8, quantity=ALL, samples=1 << 8, seed=0)
    np.testing.assert_allclose(sa.value, np.array([[1 / 8] * 8, [7 / 64] * 8, [1 / 8] * 8]))
    np.testing.assert_array_equal(sa.se, 0.0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(quantity="entropy"), "quantity"), (dict(quantity=()), "quantity"),
    (dict(samples=100), "samples"), (dict(replicates=1), "replicates"),
])
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} "):
        S.semi_analytic(np.eye(2), 8, **kwargs)


def test_too_many_sobol_dimensions_is_refused():
    with pytest.raises(ValueError, match="^T plus d - 1 must be at most"):
        S.semi_analytic(np.eye(2), 30_000)
