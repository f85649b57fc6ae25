"""sigprop.stack: the softmax overlaps, the recursion, the simulation, and where they part.

Monte Carlo comparisons use fixed seeds.  A simulated mean over ``n`` seeds is compared with
the prediction through its Student-t interval at the Bonferroni level ``FAMILY_ALPHA / m``
(``m`` = the number of comparisons in the test: layers x measures), i.e. the tolerance is
``t_{n-1}(1 - FAMILY_ALPHA / (2 m)) * se``; nothing is added to it.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import erf, stdtrit

from sigprop.core.checks import ArgumentError
from sigprop.core.labelled import Result
from sigprop.stack import StackConfig, overlaps, predict, rem_overlaps, simulate
from sigprop.stack.recursion import gelu_kernel, relu_kernel, stable_rank_equicorrelated
from tests.helpers import bonferroni_z

FAMILY_ALPHA = 1e-3


def t_tolerance(se: float, n: int, comparisons: int) -> float:
    return float(stdtrit(n - 1, 1 - FAMILY_ALPHA / (2 * comparisons))) * se


# --- the softmax overlaps, exact in T ---------------------------------------------------------

def softmax_rows(p, s, T, n, rng):
    """``n`` pairs of softmax rows whose logits are N(0, s^2), correlated ``p`` key by key."""
    u, v, w = (rng.standard_normal((n, T)) for _ in range(3))
    g = s * (math.sqrt(p) * u + math.sqrt(1 - p) * v)
    h = s * (math.sqrt(p) * u + math.sqrt(1 - p) * w)
    a = np.exp(g - g.max(1, keepdims=True))
    b = np.exp(h - h.max(1, keepdims=True))
    return a / a.sum(1, keepdims=True), b / b.sum(1, keepdims=True)


@settings(max_examples=12)
@given(p=st.floats(0.0, 0.95), s=st.floats(0.0, 6.0), T=st.integers(2, 96))
def test_overlaps_equal_monte_carlo(p, s, T):
    rng = np.random.default_rng(7)
    a, b = softmax_rows(p, s, T, 4000, rng)
    samples = dict(y_self=(a * a).sum(1), y_cross=(a * b).sum(1),
                   entropy=-(a * np.log(np.maximum(a, 1e-300))).sum(1))
    exact = overlaps(p, s, T)
    z = bonferroni_z(FAMILY_ALPHA, 3 * 12)           # three statistics, twelve examples
    for name, x in samples.items():
        se = x.std(ddof=1) / math.sqrt(x.size)
        assert abs(exact[name] - x.mean()) <= z * se + 1e-12, (name, exact[name], x.mean(), se)


def test_overlaps_limits():
    # s = 0: uniform rows; p = 1: two identical rows
    assert overlaps(0.3, 0.0, 10) == dict(y_self=0.1, y_cross=0.1, entropy=math.log(10))
    same = overlaps(1.0, 2.0, 20)
    assert same["y_cross"] == pytest.approx(same["y_self"], rel=1e-6)
    # more spread logits: rows more concentrated
    ys = [overlaps(0.2, s, 64, cross=False)["y_self"] for s in (0.5, 1.0, 2.0, 4.0)]
    assert np.all(np.diff(ys) > 0)


def test_rem_limit_is_approached_slowly():
    """The exact participation tends to the REM's ``max(0, 1 - beta_c / beta)`` as ``T`` grows; the
    gap shrinks slowly (in ``log T``) and is widest near ``beta_c`` (measured, see docs/stack.md)."""
    p = 0.2
    beta_c = math.sqrt(2 / (1 - p))
    gaps = {}
    for beta in (0.5 * beta_c, beta_c, 2.0 * beta_c):
        rem = rem_overlaps(p, beta)[0]
        gaps[beta] = [overlaps(p, beta * math.sqrt((1 - p) * math.log(T)), T, cross=False)["y_self"] - rem
                      for T in (2 ** 6, 2 ** 12, 2 ** 20)]
        assert np.all(np.diff(gaps[beta]) < 0) and gaps[beta][-1] > 0
    # widest at beta_c, at every T
    assert all(gaps[beta_c][k] > max(gaps[0.5 * beta_c][k], gaps[2 * beta_c][k]) for k in range(3))


# --- the recursion ----------------------------------------------------------------------------

def gg_post_reference(p, beta, var_w, var_v, var_b, alpha_a, alpha_m):
    """[GG26]'s Post-LN block update written out from the paper's equations (REM attention, ReLU MLP);
    a collapsed input (``p = 1``) stays collapsed."""
    if p >= 1:
        return 1.0
    beta_c = math.sqrt(2 / (1 - p))
    y2 = max(0.0, 1 - beta_c / beta)
    q_att, p_att = p + (1 - p) * y2, p
    p0 = (var_v * p_att + var_b + alpha_a ** 2 * p) / (var_v * q_att + var_b + alpha_a ** 2)
    q1, p1 = var_w + var_b, var_w * p0 + var_b
    c = p1 / q1
    arc = (math.sqrt(1 - c * c) + c * (math.pi - math.acos(c))) / math.pi
    q_m, p_m = var_w * q1 / 2 + var_b, var_w * q1 / 2 * arc + var_b
    return (p_m + alpha_m ** 2 * p0) / (q_m + alpha_m ** 2)


def gg_pre_reference(q, p, beta, var_w, var_b, alpha_a, alpha_m):
    """[GG26]'s Pre-LN block update (value variance 1, no value bias), ``beta_c = sqrt(2 / (q (q - p)))``."""
    if p >= q:
        return q, p
    beta_c = math.sqrt(2 / (q * (q - p)))
    y2 = max(0.0, 1 - beta_c / beta)
    c = p / q
    q, p = c + (1 - c) * y2 + alpha_a ** 2 * q, c + alpha_a ** 2 * p
    c = p / q
    q1, p1 = var_w + var_b, var_w * c + var_b
    arc = (math.sqrt(1 - (p1 / q1) ** 2) + p1 / q1 * (math.pi - math.acos(p1 / q1))) / math.pi
    return var_w * q1 / 2 + var_b + alpha_m ** 2 * q, var_w * q1 / 2 * arc + var_b + alpha_m ** 2 * p


@settings(max_examples=20)
@given(beta=st.floats(0.1, 5.0), p0=st.floats(0.0, 0.9), var_w=st.floats(0.05, 2.0),
       var_b=st.floats(0.0, 0.1), alpha=st.floats(0.1, 2.0))
def test_gg_recursion_is_the_published_one(beta, p0, var_w, var_b, alpha):
    post = predict(layers=12, beta=beta, cosine0=p0, var_w=var_w, var_v=var_w, var_b=var_b,
                   alpha_attention=alpha, alpha_mlp=1.0, recursion="gg", T=512)
    p = p0
    for row in post["layers"][1:]:
        p = gg_post_reference(p, beta, var_w, var_w, var_b, alpha, 1.0)
        assert row["cosine"] == pytest.approx(p, rel=1e-12, abs=1e-14)
    pre = predict(layers=12, beta=beta, cosine0=p0, var_w=var_w, var_v=1.0, var_b=0.0, norm="pre",
                  alpha_attention=1.0, alpha_mlp=alpha, recursion="gg", T=512)
    q, p = 1.0, p0
    for row in pre["layers"][1:]:
        q, p = gg_pre_reference(q, p, beta, var_w, 0.0, 1.0, alpha)
        assert row["cosine"] == pytest.approx(p / q, rel=1e-12)
        assert row["norm"] == pytest.approx(math.sqrt(q), rel=1e-12)


@pytest.mark.parametrize("kernel, phi", [(relu_kernel, lambda x: np.maximum(x, 0)),
                                         (gelu_kernel, lambda x: x * 0.5 * (1 + erf(x / math.sqrt(2))))])
def test_activation_kernels_equal_monte_carlo(kernel, phi):
    rng = np.random.default_rng(3)
    n = 200_000
    cases = [(0.2, 0.05), (1.0, 0.5), (2.0, -0.7), (0.7, 0.7)]
    z = bonferroni_z(FAMILY_ALPHA, len(cases))
    for q, p in cases:
        c = p / q
        z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
        u = math.sqrt(q) * z1
        v = math.sqrt(q) * (c * z1 + math.sqrt(1 - c * c) * z2)
        x = phi(u) * phi(v)
        assert abs(kernel(q, p) - x.mean()) <= z * x.std() / math.sqrt(n), (q, p)


def test_stable_rank_of_equicorrelated_tokens():
    T = 12
    for c in (0.0, 0.3, 0.9):
        G = (1 - c) * np.eye(T) + c
        s = np.linalg.eigvalsh(G)
        assert stable_rank_equicorrelated(c, T) == pytest.approx((s ** 2).sum() / s.max() ** 2)


# --- theory equals simulation ------------------------------------------------------------------

N_SEEDS = 6
COMPARED = ("cosine", "norm", "attention_overlap", "attention_entropy")


@settings(max_examples=5)
@given(norm=st.sampled_from(["post", "pre"]), activation=st.sampled_from(["relu", "gelu", "none"]),
       beta=st.floats(0.2, 3.0), alpha=st.floats(0.5, 1.5), cosine0=st.floats(0.0, 0.6),
       T=st.integers(12, 32), var_o=st.sampled_from([None, 1.0]))
def test_theory_equals_simulation(norm, activation, beta, alpha, cosine0, T, var_o):
    """Every layer's cosine, norm, attention participation and entropy fall within the simulation's
    Bonferroni t-interval (6 seeds, d = 256, 3 layers; m = 3 layers x 4 measures x 5 examples)."""
    cfg = StackConfig(layers=3, T=T, d=256, beta=beta, norm=norm, activation=activation, alpha_attention=alpha,
                      alpha_mlp=alpha, cosine0=cosine0, var_o=var_o, var_v=1.0, var_w=1.0, var_b=0.01)
    theory, sim = predict(cfg), simulate(cfg, seeds=range(N_SEEDS))
    m = 3 * len(COMPARED) * 5
    for th, mc in zip(theory["layers"][1:], sim["layers"][1:]):
        for name in COMPARED:
            tol = t_tolerance(mc[f"{name}_se"], N_SEEDS, m)
            assert abs(th[name] - mc[name]) <= tol + 1e-9, (th["layer"], name, th[name], mc[name], tol)


def test_small_width_breaks_the_recursion():
    """At d = 16 (T = 16, beta = 1) the simulated mean cosine of layer 4 is below the prediction by more
    than its Bonferroni interval (200 seeds): the recursion is a d -> infinity limit.  The same
    stack at d = 256 agrees within the interval (checked above at drawn configurations)."""
    cfg = StackConfig(layers=4, T=16, d=16, beta=1.0, cosine0=0.2)
    theory, sim = predict(cfg), simulate(cfg, seeds=range(200))
    th, mc = theory["layers"][-1], sim["layers"][-1]
    assert th["cosine"] - mc["cosine"] > t_tolerance(mc["cosine_se"], 200, 4)


def test_small_length_breaks_the_rem_recursion():
    """At T = 16 and beta = 3 > beta_c the REM's participation 1 - beta_c / beta is far below the
    measured one; the overlap exact in T is within the interval (64 seeds, d = 64)."""
    cfg = StackConfig(layers=2, T=16, d=64, beta=3.0, cosine0=0.2, activation="none")
    sim = simulate(cfg, seeds=range(64))
    exact, rem = predict(cfg), predict(cfg, recursion="gg")
    for k in (1, 2):
        mc = sim["layers"][k]
        tol = t_tolerance(mc["attention_overlap_se"], 64, 4)
        assert abs(exact["layers"][k]["attention_overlap"] - mc["attention_overlap"]) <= tol
        assert mc["attention_overlap"] - rem["layers"][k]["attention_overlap"] > tol


def test_rem_error_is_largest_near_beta_c_measured():
    """One attention layer (T = 64, d = 64, cosine 0.2, 32 seeds): the measured participation exceeds the REM's
    by more at beta = beta_c (REM: 0) than at 2 beta_c (REM: 1/2) -- Bonferroni intervals over the two."""
    from sigprop.stack import beta_critical

    beta_c = float(beta_critical(0.2))
    gaps = []
    for beta in (beta_c, 2 * beta_c):
        cfg = StackConfig(layers=1, T=64, d=64, beta=beta, cosine0=0.2, activation="none")
        mc = simulate(cfg, seeds=range(32))["layers"][1]
        rem = predict(cfg, recursion="gg")["layers"][1]["attention_overlap"]
        tol = t_tolerance(mc["attention_overlap_se"], 32, 2)
        gaps.append((mc["attention_overlap"] - rem - tol, mc["attention_overlap"] - rem + tol))
    assert gaps[0][0] > gaps[1][1] > 0


# --- interface ------------------------------------------------------------------------------------

def test_same_result_type_and_seeds_reproduce():
    cfg = StackConfig(layers=2, T=8, d=16, beta=1.0)
    a, b = simulate(cfg, seeds=[3, 4]), simulate(cfg, seeds=[3, 4])
    th = predict(cfg)
    assert isinstance(a, Result) and isinstance(th, Result) and a.kind == th.kind == "stack"
    for name, values in a["per_seed"].items():
        np.testing.assert_array_equal(values, b["per_seed"][name])        # NaN where there is no attention
    assert set(th["layers"][0]) <= set(a["layers"][0])
    assert a["config"] == th["config"] == cfg.to_dict()
    assert a["layers"][0]["cosine"] == pytest.approx(cfg.cosine0, abs=1e-12)   # exact input cosine (d >= T + 2)


@pytest.mark.parametrize("fields, argument", [
    (dict(layers=0), "layers"), (dict(beta=-1.0), "beta"), (dict(T=1), "T"), (dict(d=1), "d"),
    (dict(norm="mid"), "norm"), (dict(activation="tanh"), "activation"), (dict(var_w=-0.1), "var_w"),
    (dict(var_o=0.0), "var_o"), (dict(alpha_mlp=float("nan")), "alpha_mlp"), (dict(cosine0=1.0), "cosine0"),
    (dict(recursion="exact"), "recursion"), (dict(T_init=1), "T_init"),
    (dict(var_v=0.0, var_b=0.0, alpha_attention=0.0), "var_v"),
])
def test_bad_input_names_the_argument(fields, argument):
    with pytest.raises(ArgumentError) as info:
        StackConfig(**fields)
    assert info.value.argument == argument


def test_bad_seeds_and_config_refused():
    with pytest.raises(ArgumentError, match="seeds"):
        simulate(StackConfig(layers=1, T=4, d=8), seeds=[1])
    with pytest.raises(ArgumentError, match="seeds"):
        simulate(StackConfig(layers=1, T=4, d=8), seeds=[1, -2])
    with pytest.raises(ArgumentError, match="config"):
        predict(dict(layers=2, depth=3))


# --- the phase diagram -----------------------------------------------------------------------------

def test_phase_rules_and_depth_drift():
    """By the stated rules: a strongly condensed stack (beta = 6, [GG26]'s variances, REM recursion) starts
    in entropy collapse and, as depth raises the cosine, never returns to it once it left; a weak one
    (beta = 0.5, alpha = 0.5) ends in rank collapse.  The cosine rises with depth in both."""
    from sigprop.stack import GG_CONFIG, phase_diagram
    from sigprop.stack.phase import regime

    assert regime(0.95, 0.1) == "rank collapse" and regime(0.5, 0.5) == "entropy collapse"
    assert regime(0.5, 2.0) == "healthy"
    result = phase_diagram([0.5, 6.0], [0.5], dict(GG_CONFIG, T=32, T_init=512, cosine0=0.1, layers=30,
                                                   recursion="gg"))
    order = {"entropy collapse": 0, "healthy": 1, "rank collapse": 2}
    for beta in (0.5, 6.0):
        rows = [r for r in result["rows"] if r["beta"] == beta]
        assert np.all(np.diff([r["cosine"] for r in rows]) > 0)
        assert np.all(np.diff([order[r["regime"]] for r in rows]) >= 0)
        assert rows[-1]["regime"] == "rank collapse"
        assert rows[0]["condensed"] == (beta == 6.0)
    assert next(r for r in result["rows"] if r["beta"] == 6.0)["regime"] == "entropy collapse"
    with pytest.raises(ArgumentError, match="betas"):
        phase_diagram([-1.0], [1.0])

