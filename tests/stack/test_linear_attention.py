"""sigprop.stack with [BHK24]'s piecewise-linear attention: closed form, derivation, Monte Carlo, simulation.

Monte Carlo comparisons use fixed seeds.  A Monte Carlo mean is compared with the closed form through
its interval at the Bonferroni level ``FAMILY_ALPHA / m`` (``m`` = comparisons in the test): the
tolerance is ``z * se`` (normal, many draws) or ``t_{n-1}(1 - FAMILY_ALPHA / (2 m)) * se`` (over ``n``
seeds), plus the other side's Monte Carlo error where it has one; nothing else is added.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import stdtrit

from sigprop.core.checks import ArgumentError
from sigprop.stack import StackConfig, linear, predict, simulate
from tests.helpers import bonferroni_z

FAMILY_ALPHA = 1e-3


def test_derivation_residuals_vanish():
    from derivations import stack_linear_attention

    assert all(value == 0 for value in stack_linear_attention.checks().values())


# --- the clip moments ---------------------------------------------------------------------------

def test_clip_moments_special_cases():
    # r = 0: independent; r = 1: the square; tau = 0: nothing passes the clip
    for tau in (0.05, 0.7, 4.0):
        assert linear.clip_product(tau, 0.0) == pytest.approx(float(linear.clip_mean(0.0, tau)) ** 2, rel=1e-10)
        assert linear.clip_product(tau, 1.0) == linear.clip_square(tau)
    assert linear.clip_product(0.0, 0.5) == 0.0 and linear.clip_square(0.0) == 0.0
    assert float(linear.clip_mean(0.3, 0.0)) == 0.3 and float(linear.clip_mean(2.0, 0.0)) == 1.0
    # a huge spread: clip(U) is 0 or 1 with probability 1/2 each, in the limit
    assert linear.clip_square(1e6) == pytest.approx(0.5, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(tau=st.floats(0.01, 20.0), r1=st.floats(-1.0, 1.0), r2=st.floats(-1.0, 1.0))
def test_clip_product_invariants(tau, r1, r2):
    """``kappa(r) = E[f(U) f(V)]`` for a nondecreasing ``f``: nondecreasing in ``r``, within ``[0, kappa(1)]``."""
    lo, hi = sorted((r1, r2))
    k_lo, k_hi = linear.clip_product(tau, lo), linear.clip_product(tau, hi)
    assert -1e-12 <= k_lo <= k_hi + 1e-10
    assert k_hi <= linear.clip_square(tau) + 1e-10


@settings(max_examples=40, deadline=None)
@given(mu1=st.floats(-5, 5), mu2=st.floats(-5, 5), sigma=st.floats(0.0, 10.0))
def test_clip_mean_invariants(mu1, mu2, sigma):
    lo, hi = sorted((mu1, mu2))
    a, b = float(linear.clip_mean(lo, sigma)), float(linear.clip_mean(hi, sigma))
    assert 0.0 <= a <= b + 1e-12 <= 1.0 + 1e-12


CLIP_CASES = [(0.3, 0.5), (2.0, 0.9), (0.05, 0.2), (5.0, -0.1), (1.0, -1 / 63), (0.8, 0.999)]


def test_clip_product_equals_monte_carlo():
    rng = np.random.default_rng(11)
    n = 400_000
    z = bonferroni_z(FAMILY_ALPHA, len(CLIP_CASES))
    for tau, r in CLIP_CASES:
        u = tau * rng.standard_normal(n)
        v = r * u + math.sqrt(1 - r * r) * tau * rng.standard_normal(n)
        x = np.clip(u, 0, 1) * np.clip(v, 0, 1)
        se = x.std(ddof=1) / math.sqrt(n)
        assert abs(linear.clip_product(tau, r) - x.mean()) <= z * se, (tau, r)


def linear_rows(p, sigma, T, n, rng):
    """``n`` pairs of piecewise-linear rows whose ``T x T`` logits have covariance ``sigma^2 C_ik C_jl``
    (``C`` equicorrelated of cosine ``p``), drawn as ``sigma F Z F^T``; rows 0 and 1 of each draw."""
    C = (1 - p) * np.eye(T) + p
    F = np.linalg.cholesky(C + 1e-12 * np.eye(T))
    s = sigma * F @ rng.standard_normal((n, T, T)) @ F.T
    a = linear.weights(s)
    return a[:, 0], a[:, 1]


@settings(max_examples=8, deadline=None)
@given(p=st.floats(0.0, 0.9), sigma=st.floats(0.1, 6.0), T=st.integers(2, 48))
def test_overlaps_equal_monte_carlo(p, sigma, T):
    """The five exact-in-T statistics against 3000 drawn row pairs (m = 5 statistics x 8 examples)."""
    a, b = linear_rows(p, sigma, T, 3000, np.random.default_rng(5))
    samples = dict(y_self=(a * a).sum(1), y_cross=(a * b).sum(1), sum_self=a.sum(1) ** 2,
                   sum_cross=a.sum(1) * b.sum(1), mass=a.sum(1))
    exact = linear.overlaps(p, sigma * math.sqrt(1 - p), T)
    z = bonferroni_z(FAMILY_ALPHA, 5 * 8)
    for name, x in samples.items():
        se = x.std(ddof=1) / math.sqrt(x.size)
        assert abs(exact[name] - x.mean()) <= z * se + 1e-12, (name, exact[name], x.mean(), se)


def test_causal_first_row_is_empty():
    """With a causal mask the first query's only key has centered logit 0: weight 0, entropy 0."""
    s = np.random.default_rng(0).standard_normal((3, 5, 5))
    a = linear.weights(s, np.tril(np.ones((5, 5), dtype=bool)))
    assert np.all(a[:, 0] == 0) and np.all(np.triu(a[0], 1) == 0)
    assert np.all(linear.normalized_entropy(a)[:, 0] == 0)


# --- the recursion: closed form, positional Monte Carlo, simulation ---------------------------------

@settings(max_examples=4, deadline=None)
@given(norm=st.sampled_from(["post", "pre"]), beta=st.floats(0.2, 1.5), cosine0=st.floats(0.0, 0.5),
       T=st.integers(8, 24))
def test_closed_form_equals_positional_recursion(norm, beta, cosine0, T):
    """The scalar closed form against the positional recursion's Monte Carlo over the T x T logits
    (Bonferroni over 3 layers x 3 measures x 4 examples; tolerance z * (positional error + entropy error))."""
    fields = dict(layers=3, T=T, beta=beta, norm=norm, cosine0=cosine0, attention="linear", activation="relu",
                  var_v=1.0, var_w=1.0, var_b=0.01)
    closed, mc = predict(**fields), predict(recursion="positional", **fields)
    z = bonferroni_z(FAMILY_ALPHA, 3 * 3 * 4)
    for th, pos in zip(closed["layers"][1:], mc["layers"][1:]):
        for name in ("attention_overlap", "attention_cross", "attention_entropy"):
            tol = z * (pos[f"{name}_mc_se"] + th.get(f"{name}_mc_se", 0.0))
            assert abs(th[name] - pos[name]) <= tol + 1e-9, (th["layer"], name, th[name], pos[name], tol)


N_SEEDS = 6
COMPARED = ("cosine", "norm", "attention_overlap", "attention_entropy")


@settings(max_examples=4, deadline=None)
@given(norm=st.sampled_from(["post", "pre"]), beta=st.floats(0.2, 1.2), cosine0=st.floats(0.0, 0.5),
       T=st.integers(8, 24), causal=st.booleans())
def test_theory_equals_simulation(norm, beta, cosine0, T, causal):
    """Two layers of the closed form (positional recursion when causal) within the simulation's Bonferroni
    t-interval (6 seeds, d = 256; m = 2 layers x 4 measures x 4 examples), plus the engine's Monte Carlo error."""
    cfg = StackConfig(layers=2, T=T, d=256, beta=beta, norm=norm, cosine0=cosine0, attention="linear",
                      causal=causal, recursion="positional" if causal else "sigprop", activation="relu",
                      var_v=1.0, var_w=1.0, var_b=0.01)
    theory, sim = predict(cfg), simulate(cfg, seeds=range(N_SEEDS))
    m = 2 * len(COMPARED) * 4
    z = bonferroni_z(FAMILY_ALPHA, m)
    for th, mc in zip(theory["layers"][1:], sim["layers"][1:]):
        for name in COMPARED:
            tol = float(stdtrit(N_SEEDS - 1, 1 - FAMILY_ALPHA / (2 * m))) * mc[f"{name}_se"]
            tol += z * th.get(f"{name}_mc_se", 0.0)
            assert abs(th[name] - mc[name]) <= tol + 1e-9, (th["layer"], name, th[name], mc[name], tol)


def test_linear_attention_collapses_faster_than_softmax():
    """Unnormalized rows of mass > 1 add the shared direction: at beta = 1 the piecewise-linear stack's cosine
    after one block is far above softmax's (0.80 against 0.23 at T = 32, cosine0 0.2, no MLP)."""
    fields = dict(layers=1, T=32, beta=1.0, activation="none")
    soft, lin = predict(**fields), predict(attention="linear", **fields)
    assert lin["layers"][1]["cosine"] > soft["layers"][1]["cosine"] + 0.3
    assert lin["layers"][1]["attention_mass"] > 1.0


def test_gg_recursion_refuses_linear_attention():
    with pytest.raises(ArgumentError) as exc:
        StackConfig(attention="linear", recursion="gg")
    assert exc.value.argument == "recursion"
    with pytest.raises(ArgumentError) as exc:
        StackConfig(attention="sparse")
    assert exc.value.argument == "attention"


# --- E[A C A^T] in closed form (unmasked piecewise-linear attention) ---------------------------------

def test_clip_products_equals_monte_carlo_on_unequal_variances():
    rng = np.random.default_rng(3)
    n = 400_000
    cases = [(0.3, 2.0, 0.7), (3.0, 0.4, 0.95), (1.0, 1.5, -0.5), (0.05, 4.0, 0.3)]
    z = bonferroni_z(FAMILY_ALPHA, len(cases))
    for t1, t2, r in cases:
        u = t1 * rng.standard_normal(n)
        v = t2 * (r * u / t1 + math.sqrt(1 - r * r) * rng.standard_normal(n))
        x = np.clip(u, 0, 1) * np.clip(v, 0, 1)
        se = x.std(ddof=1) / math.sqrt(n)
        assert abs(float(linear.clip_products(t1, t2, r)) - x.mean()) <= z * se, (t1, t2, r)


@pytest.mark.parametrize("structure", ["ar", "blocks"])
def test_gram_moments_equal_monte_carlo(structure):
    """``E[A C A^T]`` and ``E[(A1)(A1)^T]`` on a positional ``C`` (T = 8) against 120 000 drawn logit matrices,
    every entry within its Bonferroni interval (m = 2 x 64 entries x 2 structures)."""
    from sigprop.stack.positional import factor

    T, sigma = 8, 1.3
    idx = np.arange(T)
    C = 0.8 ** np.abs(idx[:, None] - idx[None, :]) if structure == "ar" else \
        np.where((idx[:, None] < 4) == (idx[None, :] < 4), 0.7, 0.1) + 0.3 * np.eye(T)
    aca, aja = linear.gram_moments(C, sigma)
    rng, F = np.random.default_rng(17), factor(C)
    parts_c, parts_j = [], []
    for _ in range(4):
        a = linear.weights(sigma * F @ rng.standard_normal((30_000, T, T)) @ F.T)
        parts_c.append(np.einsum("nij,jk,nlk->nil", a, C, a))
        mass = a.sum(-1)
        parts_j.append(mass[:, :, None] * mass[:, None, :])
    z = bonferroni_z(FAMILY_ALPHA, 2 * 64 * 2)
    for exact, draws in ((aca, np.concatenate(parts_c)), (aja, np.concatenate(parts_j))):
        se = draws.std(axis=0, ddof=1) / math.sqrt(draws.shape[0])
        assert np.all(np.abs(exact - draws.mean(axis=0)) <= z * se), np.max(np.abs(exact - draws.mean(axis=0)) / se)


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_closed_positional_recursion_is_the_scalar_one(norm):
    """On exchangeable tokens the closed-form positional recursion and the scalar recursion are two closed forms
    of one quantity: they agree to 1e-5 (quadrature and interpolation errors, measured below 1e-6)."""
    fields = dict(layers=5, T=16, attention="linear", beta=0.8, norm=norm)
    closed, scalar = predict(recursion="positional", moments="closed", **fields), predict(**fields)
    for a, b in zip(closed["layers"], scalar["layers"]):
        assert a["cosine"] == pytest.approx(b["cosine"], abs=1e-5) and a["norm"] == pytest.approx(b["norm"], abs=1e-5)


@pytest.mark.parametrize("fields, argument", [
    (dict(recursion="positional"), "attention"),
    (dict(attention="linear"), "recursion"),
    (dict(attention="linear", recursion="positional", causal=True), "causal"),
    (dict(attention="linear", recursion="positional", qk_mean=0.1), "qk_mean"),
])
def test_closed_moments_refused_where_there_is_no_closed_form(fields, argument):
    with pytest.raises(ArgumentError) as exc:
        StackConfig(moments="closed", **fields)
    assert exc.value.argument == argument


def test_closed_moments_need_a_constant_diagonal_in_post_ln():
    G = np.diag(np.linspace(0.5, 1.5, 6)) + 0.1
    with pytest.raises(ArgumentError) as exc:
        predict(layers=1, T=6, attention="linear", recursion="positional", moments="closed", input_gram=G)
    assert exc.value.argument == "input_gram"


def test_gram_moments_memory_does_not_grow_with_T(monkeypatch):
    # the quadrature held (33, T(T+1)/2, 4, 48) arrays at once: 3.5 GB each at T = 384, and the process
    # was killed by the system (out of memory); it now takes the pairs of keys in steps of 4 Mi values
    import tracemalloc

    rng = np.random.default_rng(3)
    X = rng.standard_normal((96, 400))
    C = X @ X.T / 400
    C = C / np.sqrt(np.outer(np.diag(C), np.diag(C)))               # constant diagonal 1
    whole = linear.gram_moments(C, 0.7)
    monkeypatch.setattr(linear, "PAIR_VALUES", 33 * 4 * 48 * 7)      # seven pairs a step
    stepped = linear.gram_moments(C, 0.7)
    for a, b in zip(whole, stepped):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    monkeypatch.undo()
    tracemalloc.start()
    linear.gram_moments(np.eye(384) * 0.5 + 0.5, 0.7)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # a temporary of 4 Mi float64 values is 32 MB; clip_products keeps about ten of them alive at once
    assert peak < 16 * 8 * linear.PAIR_VALUES, peak


def test_a_positional_recursion_beyond_the_time_limit_is_refused_before_the_work(monkeypatch):
    # `stack predict --moments closed --length 4096` worked for minutes (about 1.7e5 s of CPU) before the
    # harness killed it; it is refused before any T x T work (no eigendecomposition, no logit draw)
    from sigprop.stack import positional

    def no_work(*args, **kwargs):
        raise AssertionError("the work started")

    cfg = StackConfig(T=4096, d=4, layers=3, attention="linear", moments="closed", recursion="positional")
    assert positional.seconds(cfg) > 1e5
    monkeypatch.setattr(positional, "factor", no_work)
    monkeypatch.setattr(positional, "stable_rank_gram", no_work)
    with pytest.raises(ArgumentError, match=r"^T makes the positional recursion's 3 layer\(s\) of 4096 x 4096"):
        positional.run(cfg)
    monkeypatch.undo()
    small = StackConfig(T=32, d=4, layers=2, recursion="positional", samples=64)
    assert positional.seconds(small) < 1 and len(positional.run(small)["rows"]) == 3
