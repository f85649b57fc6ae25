"""LocAteR: the penalty variants, their exact gradients, and the mean held exactly in training."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigprop.model import attention as att
from sigprop.model import gradcheck, locater, optim
from sigprop.model.train import TrainConfig, train
from sigprop.rho import spectrum


def nilpotent_example(d: int = 16, seed: int = 0):
    """``W = 0.5 I + N`` with ``N`` strictly upper triangular (nilpotent), Gaussian entries."""
    N = np.triu(np.random.default_rng(seed).standard_normal((d, d)), 1)
    return 0.5 * np.eye(d) + N, N


@given(st.floats(-2, 2), st.floats(0, 3), st.integers(2, 12))
def test_every_variant_is_the_eigenvalue_variance_for_symmetric_W(m, v, d):
    W = spectrum.make_weights(m, v, d, seed=0)
    for variant in locater.VARIANTS:
        assert np.isclose(locater.penalty(W, variant), v, atol=1e-8 * (1 + v + m * m)), variant


@given(st.integers(1, 8), st.integers(0, 2**31), st.floats(-3, 3))
def test_bounded_variants_are_nonnegative_and_zero_at_multiples_of_identity(d, seed, m):
    W = np.random.default_rng(seed).standard_normal((d, d))
    for variant in ("frobenius", "symmetric", "complex-abs"):
        assert locater.penalty(W, variant) >= -1e-12
        assert abs(locater.penalty(m * np.eye(d), variant)) < 1e-12


@given(st.integers(2, 8), st.integers(0, 2**31))
def test_schur_ordering_of_the_spreads(d, seed):
    """``|R_C| <= R_|C| <= R_F`` (Schur) and ``R_S <= R_F`` for every real ``W``."""
    W = np.random.default_rng(seed).standard_normal((d, d))
    rc, rabs, rs, rf = (locater.penalty(W, v) for v in ("complex", "complex-abs", "symmetric", "frobenius"))
    tol = 1e-9 * (1 + rf)
    assert abs(rc) <= rabs + tol and rabs <= rf + tol and rs <= rf + tol


def test_complex_is_unbounded_below():
    A = np.array([[0.0, 1.0], [-1.0, 0.0]])
    assert locater.penalty(10 * A, "complex") == pytest.approx(-100.0)


def test_nilpotent_example_what_each_variant_sees():
    W, N = nilpotent_example()
    d = W.shape[0]
    nf = float(np.sum(N * N)) / d
    assert locater.penalty(W, "frobenius") == pytest.approx(nf)
    assert locater.penalty(W, "symmetric") == pytest.approx(nf / 2)
    assert abs(locater.penalty(W, "complex")) < 1e-12
    assert abs(locater.penalty(W, "complex-abs")) < 1e-12
    with pytest.raises(FloatingPointError, match="defective"):
        locater.penalty_grad_W(W, "complex-abs")


@pytest.mark.parametrize("variant", locater.VARIANTS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_match_finite_differences(variant, seed):
    rng = np.random.default_rng(seed)
    d, dk = 5, 3
    for params in ({"W": rng.standard_normal((d, d))},
                   {"W_Q": rng.standard_normal((d, dk)), "W_K": rng.standard_normal((d, dk))}):
        grads = locater.gradients(params, 0.7, variant)
        for name, value in params.items():
            fd = gradcheck.numerical_gradient(
                lambda p=params: 0.7 * locater.penalty(att.qk_matrix(p), variant), value)
            assert np.linalg.norm(fd) > 1e-3
            assert gradcheck.relative_error(grads[name], fd) < 1e-6, (variant, name)


@given(st.integers(2, 10), st.floats(0.001, 0.2), st.floats(0.1, 5), st.integers(0, 2**31))
def test_a_frobenius_step_keeps_the_mean_and_shrinks_the_spread(d, lr, lam, seed):
    W = np.random.default_rng(seed).standard_normal((d, d))
    step = W - lr * locater.gradients({"W": W}, lam)["W"]
    assert np.isclose(np.trace(step), np.trace(W))
    factor = 1 - 2 * lr * lam / d
    assert np.isclose(locater.penalty(step), factor ** 2 * locater.penalty(W))


@given(st.integers(1, 8), st.integers(1, 6), st.integers(0, 2**31), st.floats(-2, 2))
def test_project_restores_the_trace(d, dk, seed, t0):
    rng = np.random.default_rng(seed)
    full = {"W": rng.standard_normal((d, d))}
    fact = {"W_Q": rng.standard_normal((d, dk)), "W_K": rng.standard_normal((d, dk))}
    before = {k: v.copy() for k, v in fact.items()}
    for p in (full, fact):
        locater.project(p, t0)
        assert abs(locater.trace(p) - t0) < 1e-12 * (1 + abs(t0) + np.sum(np.abs(att.qk_matrix(p))))
    Q, K = before["W_Q"], before["W_K"]
    t, s = np.sum(Q * K), np.sum(Q * Q) + np.sum(K * K)
    if s * s >= 4 * t * (t - t0):                # W_Q += a W_K, W_K += a W_Q with the root a nearest 0
        a = np.roots([t, s, t - t0]) if t != 0 else np.array([(t0 - t) / s])
        a = np.real(a[np.argmin(np.abs(a))])
        assert np.allclose(fact["W_K"], K + a * Q, atol=1e-9)
        assert np.allclose(fact["W_Q"], Q + a * K, atol=1e-9)
    else:                                        # no real root: the smaller factor moves along the larger
        small, large = ("W_Q", "W_K") if np.sum(K * K) >= np.sum(Q * Q) else ("W_K", "W_Q")
        dq = fact[small] - before[small]
        assert np.array_equal(fact[large], before[large])
        assert np.allclose(dq, np.sum(dq * before[large]) / np.sum(before[large] ** 2) * before[large])


def test_project_of_zero_factors():
    zero = {"W_Q": np.zeros((3, 2)), "W_K": np.zeros((3, 2))}
    locater.project(zero, 0.0)
    with pytest.raises(FloatingPointError, match="W_Q and W_K are zero"):
        locater.project(zero, 1.0)


def _penalty_only(params, opt_name, steps, project, variant="frobenius"):
    opt = optim.make(opt_name, 0.01 if opt_name == "adam" else 0.05)
    t0 = locater.trace(params)
    worst = 0.0
    for _ in range(steps):
        opt.step(params, locater.gradients(params, 1.0, variant))
        if project:
            locater.project(params, t0)
        worst = max(worst, abs(locater.trace(params) - t0) / abs(t0))
    return worst


@pytest.mark.parametrize("opt_name", optim.OPTIMIZERS)
@pytest.mark.parametrize("factored", [True, False])
def test_penalty_only_runs_keep_the_mean_only_with_the_projection(opt_name, factored):
    """Without the projection the mean drifts (the failure the issue measured) except for plain
    gradient steps on a full-rank ``W`` (the Frobenius gradient is traceless); with it, it is exact."""
    def fresh():
        rng = np.random.default_rng(5)
        if factored:
            Q = rng.standard_normal((8, 8)) / np.sqrt(8)
            return {"W_Q": Q + np.eye(8), "W_K": rng.standard_normal((8, 8)) / np.sqrt(8) + np.eye(8)}
        return {"W": rng.standard_normal((8, 8)) / np.sqrt(8) + 0.5 * np.eye(8)}
    start = locater.penalty(att.qk_matrix(fresh()))
    unprojected = _penalty_only(fresh(), opt_name, 200, project=False)
    assert unprojected < 1e-12 if (opt_name, factored) == ("sgd", False) else unprojected > 1e-4
    params = fresh()
    assert _penalty_only(params, opt_name, 200, project=True) < 1e-6
    assert locater.penalty(att.qk_matrix(params)) < 0.5 * start       # and the spread shrinks


@pytest.mark.parametrize("opt_name", optim.OPTIMIZERS)
@pytest.mark.parametrize("d_k", [8, None], ids=["factored", "full-rank"])
def test_the_mean_stays_within_1e6_over_a_whole_training_run(opt_name, d_k):
    cfg = TrainConfig(task="teacher", d=8, d_k=d_k, T=8, batch=16, steps=150, optimizer=opt_name,
                      lr=0.01 if opt_name == "adam" else 0.05, locater=0.5, locater_mean="initial", seed=1,
                      probe=64, log_every=25, init_scale=2.0)
    rec = train(cfg)
    means = np.array([h["eig_mean"] for h in rec["history"]])
    assert abs(means[0]) > 1e-3                                 # a relative test needs a non-zero mean
    assert rec["locater_mean_drift"] < 1e-6                     # every step, not only the logged ones
    assert np.max(np.abs(means - means[0])) < 1e-6 * abs(means[0])
    assert rec["history"][-1]["spread"] < rec["history"][0]["spread"]
    free = train(TrainConfig(**{**cfg.__dict__, "locater": 0.0}))
    free_means = np.array([h["eig_mean"] for h in free["history"]])
    assert np.max(np.abs(free_means - free_means[0])) > 1e-3 * abs(free_means[0])   # the task moves it


def test_locater_mean_sets_the_held_value():
    rec = train(TrainConfig(task="teacher", d=6, d_k=6, T=8, batch=8, steps=20, locater=0.2,
                            locater_mean=0.5, probe=32, log_every=10))
    assert all(abs(h["eig_mean"] - 0.5) < 1e-9 for h in rec["history"])


@pytest.mark.parametrize("opt_name", optim.OPTIMIZERS)
@pytest.mark.parametrize("d_k", [6, None], ids=["factored", "full-rank"])
def test_in_task_mode_the_penalty_never_moves_the_mean_but_the_loss_does(opt_name, d_k):
    """Default mode: after every step tr(W) is where the task gradients alone would have put it."""
    cfg = TrainConfig(task="teacher", d=6, d_k=d_k, T=8, batch=16, steps=100, optimizer=opt_name,
                      lr=0.01 if opt_name == "adam" else 0.05, locater=0.5, probe=32, log_every=50,
                      init_scale=2.0)
    assert cfg.locater_mean == "task"
    rec = train(cfg)
    assert rec["locater_mean_drift"] < 1e-6
    means = [h["eig_mean"] for h in rec["history"]]
    assert abs(means[-1] - means[0]) > 0.05


def test_bad_locater_settings_are_one_line_errors():
    with pytest.raises(ValueError, match="locater_variant must be one of frobenius"):
        TrainConfig(locater_variant="spectral")
    with pytest.raises(ValueError, match="locater_mean must be 'task', 'initial' or a finite number"):
        TrainConfig(locater_mean="start")
