"""Data models beyond the random walk: covariances, checks, general moments, the three faces.

Monte Carlo tolerances: each comparison uses the estimate's own standard error (mean,
variance) or a Wilson interval (rho) at a Bonferroni-corrected level, so that every
family of comparisons in a test has probability at most 1e-3 of a false alarm; seeds
are fixed, so the outcome is the same on every run.
"""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import sigprop as sp
from derivations import general_moments
from sigprop.core.stats import wilson_interval, z_value
from sigprop.rho import data, propagation, walk
from sigprop.rho.logits import LogitModel
from sigprop.rho.montecarlo import simulate
from sigprop.rho.theory import theory
from tests.helpers import bonferroni_z

FAMILY = 1e-3


def _psd(T, seed, rank=None):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((T, rank or T))
    return B @ B.T / T


def _setup(seed, d=3):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, d))                       # not symmetric
    B = rng.standard_normal((d, d))
    return W, B @ B.T / d + 0.3 * np.eye(d), rng.standard_normal(d)


# --- covariances -------------------------------------------------------------------------

@pytest.mark.parametrize("model", [data.random_walk(), data.iid(), data.ar1(2.5), data.fbm(0.3),
                                   data.fbm(0.8), data.matrix(_psd(7, 0, rank=3))])
def test_covariances_are_symmetric_psd(model):
    K = model.covariance(7)
    assert K.shape == (7, 7) and np.array_equal(K, K.T)
    assert np.linalg.eigvalsh(K).min() > -1e-12
    assert data.check_covariance("K", K) is not None


def test_named_covariances():
    T = 6
    i = np.arange(1, T + 1)
    assert np.array_equal(data.random_walk().covariance(T), walk.position_covariance(T))
    assert np.allclose(data.fbm(0.5).covariance(T), walk.position_covariance(T), rtol=0, atol=1e-15)
    assert np.array_equal(data.iid().covariance(T), np.eye(T))
    assert np.allclose(data.ar1(2.0).covariance(T), np.exp(-0.5) ** np.abs(i[:, None] - i[None, :]))
    assert np.allclose(np.diag(data.fbm(0.7).covariance(T)), (i / T) ** 1.4)


@pytest.mark.parametrize("spec, message", [
    ("brownian", "data must be random-walk, iid"),
    ("fbm:1.0", "data fbm: hurst must be in (0, 1)"),
    ("fbm:0", "data fbm: hurst must be in (0, 1)"),
    ("fbm:x", "data must be fbm:H in (0, 1)"),
    ("ar1:-1", "data ar1: length must be > 0"),
    ("iid:3", "data 'iid' takes no parameter"),
    (np.array([[1.0, 2.0], [2.0, 1.0]]), "data must be positive semi-definite"),
    (np.array([[1.0, 0.5], [0.0, 1.0]]), "data must be symmetric"),
    (np.ones((2, 3)), "data must be one T x T matrix"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "data must have finite entries"),
    (np.ones((1, 1)), "data must be T x T with T >= 2"),
])
def test_bad_data_is_refused_with_one_line(spec, message):
    with pytest.raises(ValueError) as err:
        data.data_model(spec)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_matrix_fixes_T_and_query_is_checked():
    with pytest.raises(ValueError, match="^T must be 5"):
        LogitModel(np.eye(2), 6, data=_psd(5, 0))
    with pytest.raises(ValueError, match="^query must be 'all' or an integer in 1..T = 6"):
        LogitModel(np.eye(2), 6, query=7)
    with pytest.raises(ValueError, match="^token_mean must be a vector of length d = 2"):
        LogitModel(np.eye(2), 6, token_mean=np.ones(3))


# --- coefficients: SymPy, NumPy, the random walk ------------------------------------------

@pytest.mark.parametrize("T, q, causal", [(3, 3, False), (4, 2, True), (4, 3, False)])
def test_coefficients_match_sympy(T, q, causal):
    alpha_s, beta_s, kappa_s, Ksym, residual = general_moments.coefficients(T, q, causal)
    assert set(residual) == {0}
    K = _psd(T, 1)
    subs = {Ksym[a, b]: K[a, b] for a in range(T) for b in range(T)}
    alpha, beta, kappa = data.coefficients(K, q, causal)
    inside = np.arange(1, T + 1) <= (q if causal else T)
    assert np.allclose(alpha[inside], [float(e.subs(subs)) for e in np.array(alpha_s)[inside]], atol=1e-13)
    assert np.allclose(beta[inside], [float(e.subs(subs)) for e in np.array(beta_s)[inside]], atol=1e-13)
    assert np.all(alpha[~inside] == 0) and np.all(beta[~inside] == 0)
    assert kappa == pytest.approx(float(kappa_s.subs(subs)))


@given(st.integers(2, 200))
def test_random_walk_reduces_to_todays_coefficients(T):
    alpha, beta, kappa = data.coefficients(data.random_walk().covariance(T), T, False)
    wa, wb = walk.coefficients(T)
    assert kappa == pytest.approx(1.0, abs=1e-15)
    assert np.allclose(alpha, wa, rtol=1e-12, atol=1e-15) and np.allclose(beta, wb, rtol=1e-12, atol=1e-15)


_CACHE: dict = {}


def _lambdified(expr):
    if expr not in _CACHE:
        g = general_moments
        _CACHE[expr] = __import__("sympy").lambdify((g.i, g.q, g.T), expr, "numpy")
    return _CACHE[expr]


@given(st.integers(2, 60), st.data())
def test_random_walk_closed_forms_for_any_query(T, draw):
    q = draw.draw(st.integers(1, T))
    (fa, fb, fb_after), (ca, cb, _) = general_moments.walk_forms()
    K = data.random_walk().covariance(T)
    i = np.arange(1, T + 1)

    def ev(e, ii):
        return np.broadcast_to(_lambdified(e)(ii.astype(float), q, T), ii.shape)
    alpha, beta, _ = data.coefficients(K, q, False)
    assert np.allclose(alpha, ev(fa, i), atol=1e-13)
    assert np.allclose(beta, np.where(i <= q, ev(fb, i), ev(fb_after, i)), atol=1e-13)
    alpha, beta, _ = data.coefficients(K, q, True)
    assert np.allclose(alpha[:q], ev(ca, i[:q]), atol=1e-13)
    assert np.allclose(beta[:q], ev(cb, i[:q]), atol=1e-13)


def test_general_path_equals_todays_moments_to_rounding():
    # the general code path (a user-supplied K equal to the walk's) against the random-walk one
    W, S, _ = _setup(2, d=4)
    for T in (2, 9, 64):
        today = propagation.moments(LogitModel(W, T, step_cov=S, scale=0.7))
        general = LogitModel(W, T, step_cov=S, scale=0.7, data=data.random_walk().covariance(T))
        assert not general.is_walk
        new = propagation.moments(general)
        assert np.allclose(new[0], today[0], rtol=1e-12, atol=1e-14)
        assert np.allclose(new[1], today[1], rtol=1e-12, atol=1e-14)
        every = propagation.moments(LogitModel(W, T, step_cov=S, scale=0.7, query="all"))
        assert np.allclose(every[0][-1], today[0], rtol=1e-12, atol=1e-14)
        assert np.allclose(every[1][-1], today[1], rtol=1e-12, atol=1e-14)


def test_mean_embedding_sympy_residual_is_zero():
    dm, dv = general_moments.mean_embedding(2)
    assert dm == 0 and dv == 0


@pytest.mark.parametrize("spec", ["iid", "ar1:2", "fbm:0.3", "user"])
@pytest.mark.parametrize("causal", [False, True])
def test_moments_match_the_derivation_for_every_query(spec, causal):
    T = 6
    W, S, mu = _setup(3)
    K = _psd(T, 4) if spec == "user" else data.data_model(spec).covariance(T)
    model = LogitModel(W, T, step_cov=S, scale=0.8, data=K if spec == "user" else spec, query="all",
                       causal=causal, token_mean=mu)
    mean, var = propagation.moments(model)
    assert mean.shape == var.shape == (T, T)
    for q in range(1, T + 1):
        m_ref, v_ref = general_moments.numeric(K, W, S, 0.8, q, causal, mu)
        assert np.allclose(mean[q - 1], m_ref, rtol=1e-11, atol=1e-13)
        assert np.allclose(var[q - 1], v_ref, rtol=1e-11, atol=1e-13)
        one = propagation.moments(LogitModel(W, T, step_cov=S, scale=0.8, data=K, query=q, causal=causal,
                                             token_mean=mu))
        assert np.allclose(one[0], mean[q - 1], rtol=1e-12, atol=1e-14)


@given(st.integers(2, 12), st.floats(0.05, 20.0), st.floats(-3, 3), st.integers(0, 2**31))
def test_scaling_and_token_mean_invariants(T, a, shift, seed):
    assume(abs(shift) > 1e-3)
    W, S, mu = _setup(seed % 1000)
    K = _psd(T, seed % 997)
    base = LogitModel(W, T, step_cov=S, data=K, query="all")
    m0, v0 = propagation.moments(base)
    m1, v1 = propagation.moments(LogitModel(W, T, step_cov=S, data=a * K, query="all"))
    assert np.allclose(m1, a * m0, rtol=1e-9, atol=1e-12)
    assert np.allclose(v1, a * a * v0, rtol=1e-9, atol=1e-12)
    m2, v2 = propagation.moments(LogitModel(W, T, step_cov=S, data=K, query="all", token_mean=shift * mu))
    assert np.allclose(m2, m0, rtol=1e-12, atol=1e-12)        # a token mean leaves the mean alone
    assert np.all(v2 >= v0 - 1e-12 * np.abs(v0).max())        # and only adds variance
    assert np.all(v0 >= 0)


# --- Monte Carlo ----------------------------------------------------------------------------

CASES = [
    dict(data="random-walk", query=4, causal=True),
    dict(data="random-walk", query=3, token_mean=True),
    dict(data="iid", query="all"),
    dict(data="ar1:2", query="all", causal=True, token_mean=True),
    dict(data="fbm:0.3", query=5),
    dict(data="fbm:0.8", query="all", causal=True),
    dict(data="user", query="all", token_mean=True),
    dict(data="empirical", query=6, causal=True, token_mean=True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_closed_form_agrees_with_monte_carlo(case):
    T, n = 6, 40_000
    W, S, mu = _setup(5)
    spec = case["data"]
    if spec == "user":
        spec = _psd(T, 6, rank=4)
    elif spec == "empirical":
        spec = data.empirical(np.random.default_rng(7).standard_normal((50, T, 2)).cumsum(axis=1))[0]
    model = LogitModel(W, T, step_cov=S, scale=0.5, data=spec, query=case["query"],
                       causal=case.get("causal", False), token_mean=mu if case.get("token_mean") else None)
    th = theory(model)
    sim = simulate(model, samples=n, seed=11)
    assert sim.rho.shape == th.rho.shape == ((T, T) if case["query"] == "all" else (T,))
    live = th.variance > 0                                  # masked positions: 0 in both
    assert np.all(sim.mean[~live] == 0) and np.all(sim.rho[~live] == 0) and np.all(th.rho[~live] == 0)
    z = bonferroni_z(FAMILY, 3 * int(live.sum()))
    assert np.all(np.abs(sim.mean - th.mean)[live] <= z * sim.mean_se[live])
    assert np.all(np.abs(sim.variance - th.variance)[live] <= z * sim.variance_se[live])
    # rho: the Gaussian closed form is an approximation, so only the moments are tied here;
    # rho itself is tied by the exact method below (central case) at the same level.
    assert th.config["data"]["name"] in ("random-walk", "iid", "ar1", "fbm", "matrix", "empirical")


@pytest.mark.parametrize("spec, query, causal", [("ar1:3", 5, False), ("iid", 6, True), ("fbm:0.7", 3, True)])
def test_exact_rho_agrees_with_monte_carlo(spec, query, causal):
    T = 6
    W, S, _ = _setup(8)
    model = LogitModel(W, T, step_cov=S, scale=2.0, data=spec, query=query, causal=causal)
    ex = theory(model, method="exact")
    sim = simulate(model, samples=40_000, seed=12)
    live = np.arange(1, T + 1) <= (query if causal else T)
    n = int(live.sum())
    low, high = wilson_interval(sim.rho * sim.samples, sim.samples, 1 - FAMILY / n)
    assert z_value(1 - FAMILY / n) > 3.0
    assert np.all((ex.rho >= low - ex.config["rho_error"]) & (ex.rho <= high + ex.config["rho_error"]))
    assert np.all(ex.rho[~live] == 0)


def test_the_walk_theory_is_rejected_for_other_data():
    # power: the same check fails when the data model is wrong (AR(1) data, random-walk theory)
    T = 6
    W, S, _ = _setup(5)
    sim = simulate(LogitModel(W, T, step_cov=S, scale=0.5, data="ar1:2"), samples=40_000, seed=11)
    th = theory(LogitModel(W, T, step_cov=S, scale=0.5))
    z = bonferroni_z(FAMILY, 2 * T)
    assert np.any(np.abs(sim.mean - th.mean) > z * sim.mean_se) or \
        np.any(np.abs(sim.variance - th.variance) > z * sim.variance_se)


def test_simulation_is_seeded_and_matches_walk_numbers():
    W, S, _ = _setup(9)
    model = LogitModel(W, 8, step_cov=S, data="ar1:2", query="all")
    a, b = simulate(model, samples=500, seed=3), simulate(model, samples=500, seed=3, batch_size=37)
    assert np.array_equal(a.rho, b.rho) and np.allclose(a.mean, b.mean, rtol=1e-12, atol=1e-14)
    # the general sampler fed the walk's K gives the walk's statistics at the same seed
    walk_model = LogitModel(W, 8, step_cov=S)
    general = LogitModel(W, 8, step_cov=S, data=walk.position_covariance(8))
    x, y = simulate(walk_model, samples=50_000, seed=4), simulate(general, samples=50_000, seed=4)
    z = bonferroni_z(FAMILY, 8)
    assert np.all(np.abs(x.mean - y.mean) <= z * np.hypot(x.mean_se, y.mean_se))


def test_empirical_recovers_a_known_model():
    T, d, n = 5, 3, 20_000
    rng = np.random.default_rng(0)
    K = data.ar1(1.5).covariance(T)
    _, S, mu = _setup(1)
    X = mu + data.factor(K) @ rng.standard_normal((n, T, d)) @ np.linalg.cholesky(S).T
    model, S_hat, mu_hat = data.empirical(X)
    scale = np.trace(K) / T                                 # tr K_hat = T
    assert np.trace(model.K) == pytest.approx(T)
    assert np.allclose(model.K, K / scale, atol=0.05) and np.allclose(S_hat, S * scale, atol=0.05)
    assert np.allclose(mu_hat, mu, atol=0.03)
    assert model.describe() == dict(name="empirical", T=T)


def test_exact_method_refuses_all_queries_saddlepoint_a_token_mean():
    with pytest.raises(ValueError, match="^token_mean must be None for the saddle-point method"):
        theory(LogitModel(np.eye(2), 4, token_mean=np.ones(2)), method="saddlepoint")
    with pytest.raises(ValueError, match="^query must be a single position"):
        theory(LogitModel(np.eye(2), 4, query="all"), method="exact")
    with pytest.raises(ValueError, match="^form 'limit' is for the random walk"):
        theory(LogitModel(np.eye(2), 4, data="iid"), form="limit")
    assert sp.LogitModel is LogitModel


@given(st.integers(2, 10), st.integers(0, 2**31), st.booleans(), st.integers(1, 9))
def test_coefficients_obey_cauchy_schwarz(T, seed, causal, rank):
    # alpha_i kappa >= beta_i^2 (Var(u_i) Var(y_q) >= Cov^2), so the chi-square weights are real
    K = _psd(T, seed % 10_000, rank=min(rank, T))
    alpha, beta, kappa = data.coefficients(K, "all", causal)
    scale = np.abs(K).max() ** 2
    assert np.all(alpha >= 0) and np.all(kappa >= 0)
    assert np.all(alpha * kappa - beta ** 2 >= -1e-10 * scale)
    model = LogitModel(np.eye(2), T, data=K, query="all", causal=causal)
    assert np.all((theory(model).rho >= 0) & (theory(model).rho <= 1))
