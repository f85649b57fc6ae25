"""One-layer attention: hand-written gradients, forward invariants, LocAteR, optimizers."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from sigprop.model import attention as att
from sigprop.model import gradcheck, optim
from sigprop.model.softmax import softmax
from sigprop.rho import walk


@pytest.mark.parametrize("variant", gradcheck.VARIANTS,
                         ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_gradients_match_finite_differences(variant):
    cfg = att.Config(d=5, d_k=3 if variant["factored"] else None, attention=variant["attention"],
                     mode=variant["mode"], causal=variant["causal"], remove_gap=variant["remove_gap"],
                     gap_scale=1.7 if variant["remove_gap"] else 1.0)
    out = gradcheck.check(cfg, seed=1)
    assert max(out["errors"].values()) < 1e-6, out["errors"]
    assert min(out["norms"].values()) > 1e-3          # the check is not vacuous


def test_gradcheck_detects_a_wrong_gradient():
    a = np.random.default_rng(0).standard_normal((4, 3))
    assert gradcheck.relative_error(a, a * (1 + 1e-4)) > 1e-6


def _inputs(d=4, T=7, B=3, seed=0):
    return np.concatenate(list(walk.sample(B, T, d, seed=seed))) * 2


@pytest.mark.parametrize("attention", att.ATTENTIONS)
def test_last_query_is_the_last_row_of_all_queries(attention):
    X = _inputs()
    cfg = att.Config(d=4, d_k=2, attention=attention)
    params = att.init_params(cfg, 0, qk_std=2.0)
    y_last, _ = att.forward(params, X, cfg)
    y_all, _ = att.forward(params, X, att.Config(d=4, d_k=2, attention=attention, mode="all"))
    assert np.allclose(y_last, y_all[:, -1])


def test_causal_first_token_sees_only_itself():
    X = _inputs()
    params = att.init_params(att.Config(d=4), 0)
    y, cache = att.forward(params, X, att.Config(d=4, mode="all", causal=True))
    assert np.allclose(y[:, 0], X[:, 0] @ params["W_V"])
    assert np.allclose(np.triu(cache["A"], 1), 0)
    y_pwl, _ = att.forward(params, X, att.Config(d=4, mode="all", causal=True, attention="pwl"))
    assert np.allclose(y_pwl[:, 0], 0)       # one position: centered logit 0, outside (0, 1)


def test_logits_follow_the_spec_convention():
    # z_i = c x_i^T W x_T with W = W_Q W_K^T
    X = _inputs(d=3, T=5)
    cfg = att.Config(d=3, d_k=2, scale=0.7)
    params = att.init_params(cfg, 3)
    W = params["W_Q"] @ params["W_K"].T
    Z, _ = att.logits(X, W, cfg)
    assert np.allclose(Z[1, 2], 0.7 * X[1, 2] @ W @ X[1, -1])


@given(st.integers(2, 30), st.floats(0.1, 3), st.booleans(), st.integers(0, 2**31))
def test_gap_removal_takes_out_the_outlier_and_keeps_the_rest(T, sigma, causal, seed):
    # Brauer: for A 1 = 1, A - 1 w^T with w^T 1 = 1 has eigenvalues {0} u (those of A without the 1)
    Z = sigma * np.random.default_rng(seed).standard_normal((T, T))
    allowed = att.causal_mask(T) if causal else None
    A = softmax(Z, allowed)
    R = att.remove_gap(A, allowed, scale=1.3)
    assert np.allclose(R.sum(axis=1), 0, atol=1e-12)
    if causal:
        assert np.allclose(np.triu(R, 1), 0)                 # the mask is kept
    else:
        ev_A = np.linalg.eigvals(A)
        want = np.append(np.delete(ev_A, np.argmin(np.abs(ev_A - 1))), 0)
        got = np.linalg.eigvals(R / 1.3)
        rows, cols = linear_sum_assignment(np.abs(want[:, None] - got[None, :]))
        assert np.abs(want[rows] - got[cols]).max() < 1e-6


@pytest.mark.parametrize("kwargs, message", [(dict(d=0), "d must be"), (dict(d=4, attention="relu"), "attention"),
                                             (dict(d=4, mode="first"), "mode"),
                                             (dict(d=4, causal=True), "causal")])
def test_bad_configurations_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        att.Config(**kwargs)


# --- optimizers ----------------------------------------------------------------

def test_sgd_with_momentum_follows_its_recursion():
    p = {"w": np.array([1.0, -2.0])}
    opt = optim.SGD(lr=0.1, momentum=0.5)
    g = {"w": np.array([1.0, 1.0])}
    opt.step(p, g)                     # b = g
    assert np.allclose(p["w"], [0.9, -2.1])
    opt.step(p, g)                     # b = 0.5 g + g
    assert np.allclose(p["w"], [0.75, -2.25])


def test_adam_first_step_is_lr_times_sign():
    p = {"w": np.array([1.0, -2.0, 3.0])}
    optim.Adam(lr=0.01).step(p, {"w": np.array([5.0, -0.001, 1e3])})
    assert np.allclose(p["w"], [0.99, -1.99, 2.99], atol=1e-6)


@pytest.mark.parametrize("name, lr", [("sgd", 0.05), ("adam", 0.05)])
def test_optimizers_minimize_a_quadratic(name, lr):
    A = np.diag([1.0, 4.0, 9.0])
    p = {"w": np.ones(3)}
    opt = optim.make(name, lr)
    for _ in range(500):
        opt.step(p, {"w": A @ p["w"]})
    assert np.linalg.norm(p["w"]) < 1e-3


def test_bad_optimizer_settings_are_refused():
    with pytest.raises(ValueError, match="lr must be > 0"):
        optim.SGD(lr=0)
    with pytest.raises(ValueError, match="momentum must be < 1"):
        optim.SGD(momentum=1.0)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        optim.make("lbfgs", 0.1)
