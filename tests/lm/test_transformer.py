"""The language model: finite-difference gradients in float64, shapes, float32, regularizers."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigprop.core.checks import ArgumentError
from sigprop.lm import gradcheck, layers, regularizers, transformer
from sigprop.model import locater

SMALL = dict(vocab=11, width=8, length=5, ff=12)


@pytest.mark.parametrize("cfg", gradcheck.configurations(), ids=lambda c: f"{c.norm}-h{c.heads}-l{c.layers}-"
                         f"{'tied' if c.tied else 'untied'}-{c.activation}-{c.regularizer}-p{c.dropout}")
def test_gradcheck(cfg):
    errors = gradcheck.check(cfg)
    params = transformer.init_params(cfg, 0)
    assert set(errors) == set(params)                 # every parameter is checked
    worst = max(errors, key=errors.get)
    assert errors[worst] < gradcheck.TOLERANCE, (worst, errors[worst])


def test_gradcheck_catches_a_wrong_backward(monkeypatch):
    """The check can fail: a LayerNorm backward that forgets one term is caught."""
    def wrong(dy, cache):
        xhat, rstd, g = cache
        dxhat = dy * g
        dx = rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True))
        return dx, (dy * xhat).sum(axis=(0, 1)), dy.sum(axis=(0, 1))
    monkeypatch.setattr(layers, "layer_norm_backward", wrong)
    errors = gradcheck.check(transformer.Config(**SMALL))
    assert max(errors.values()) > 1e-3


def test_causal_and_float32():
    """Changing a later token leaves the loss terms of earlier positions unchanged;
    float32 agrees with float64 to float32 precision."""
    cfg = transformer.Config(**SMALL, heads=2, layers=2, norm="pre")
    p64 = transformer.init_params(cfg, 3, dtype=np.float64)
    tok = np.random.default_rng(0).integers(0, 11, size=(3, 6))
    _, c = transformer.forward(p64, tok, cfg)
    tok2 = tok.copy()
    tok2[:, 4] = (tok2[:, 4] + 1) % 11
    _, c2 = transformer.forward(p64, tok2, cfg)
    np.testing.assert_allclose(c["probs"][:, :4], c2["probs"][:, :4], rtol=1e-12)
    assert not np.allclose(c["probs"][:, 4], c2["probs"][:, 4])
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    l32, c32 = transformer.forward(p32, tok, cfg)
    l64, _ = transformer.forward(p64, tok, cfg)
    assert c32["probs"].dtype == np.float32
    assert l32 == pytest.approx(l64, rel=1e-5)
    g32 = transformer.loss_and_grads(p32, tok, cfg)[2]
    assert all(g.dtype == np.float32 for g in g32.values())


@given(st.integers(1, 4), st.integers(1, 6), st.integers(2, 50), st.floats(1e-3, 30.0), st.integers(0, 2**31))
def test_fused_softmax_cross_entropy_equals_the_loss_and_its_backward(batch, T, vocab, spread, seed):
    """``softmax_cross_entropy`` gives the loss and ``dz`` of ``cross_entropy`` followed by
    ``cross_entropy_backward`` to 1e-12 (float64; ``dz`` relative to its scale ``1/N``), logits
    of any spread."""
    rng = np.random.default_rng(seed)
    z = spread * rng.standard_normal((batch, T, vocab)) + rng.normal(0, 100)
    y = rng.integers(0, vocab, size=(batch, T))
    loss, P = layers.cross_entropy(z.copy(), y)
    dz = layers.cross_entropy_backward(P, y)
    fused_loss, fused_dz = layers.softmax_cross_entropy(z.copy(), y)
    assert fused_loss == pytest.approx(loss, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(fused_dz, dz, rtol=0, atol=1e-12 / y.size)
    assert np.abs(fused_dz.sum(axis=-1)).max() < 1e-14        # each row of dz sums to 0


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_fused_training_gradients_equal_the_unfused_ones(norm):
    """Every parameter's gradient of the model, fused loss against the unfused path, to 1e-12 relative."""
    cfg = transformer.Config(**SMALL, heads=2, layers=2, norm=norm)
    params = transformer.init_params(cfg, 5, dtype=np.float64)
    tok = np.random.default_rng(1).integers(0, 11, size=(3, 6))
    loss, _, grads = transformer.loss_and_grads(params, tok, cfg)                  # fused
    loss0, cache = transformer.forward(params, tok, cfg)
    grads0 = transformer.backward(params, cache, cfg)
    assert "probs" in cache and loss == pytest.approx(loss0, rel=1e-12)
    for k in grads0:
        scale = np.abs(grads0[k]).max()
        np.testing.assert_allclose(grads[k], grads0[k], rtol=0, atol=1e-12 * max(scale, 1e-300), err_msg=k)


def test_initial_loss_near_log_vocab():
    cfg = transformer.Config(vocab=64, width=16, length=8, ff=16)
    tokens = np.random.default_rng(0).integers(0, 64, (8, 9))
    loss, _ = transformer.forward(transformer.init_params(cfg, 0), tokens, cfg)
    assert abs(loss - np.log(64)) < 1.0


def test_sigma_reparam_bounds_spectral_norm():
    cfg = transformer.Config(**SMALL, regularizer="sigma-reparam")
    p = transformer.init_params(cfg, 0, dtype=np.float64)
    p["l0.gamma_Q"] = np.asarray(0.7)
    eff, _ = regularizers.reparam_forward(p, transformer.reparametrized(cfg))
    assert np.linalg.norm(eff["l0.W_Q"], 2) == pytest.approx(0.7, rel=1e-12)
    assert np.linalg.norm(eff["l0.W_1"], 2) == pytest.approx(1.0, rel=1e-12)


def test_temperature_divides_the_logits():
    base, hot = transformer.Config(**SMALL), transformer.Config(**SMALL, regularizer="temperature:4")
    assert hot.scale == pytest.approx(base.scale / 4)


def test_qk_norm_bounds_logits():
    """With unit gains and zero bias, |c LN(q)^T LN(k)| <= c dh whatever the weights."""
    cfg = transformer.Config(**SMALL, heads=2, regularizer="qk-norm")
    p = transformer.init_params(cfg, 0, dtype=np.float64)
    p["l0.W_Q"] *= 1e3
    _, c = transformer.forward(p, np.random.default_rng(0).integers(0, 11, (2, 6)), cfg, keep=True)
    S = c["layers"][0]["attn"]["S"]
    assert np.max(np.abs(S[np.isfinite(S)])) <= cfg.scale * cfg.head_dim + 1e-9


def test_locater_per_head_matches_model_locater():
    cfg = transformer.Config(**SMALL, heads=2, regularizer="locater:1")
    p = transformer.init_params(cfg, 0, dtype=np.float64)
    R = regularizers.locater_penalty(p, 1, 2)
    W1 = p["l0.W_Q"][:, 4:] @ p["l0.W_K"][:, 4:].T
    assert R.shape == (1, 2) and R[0, 1] == pytest.approx(locater.penalty(W1), rel=1e-12)


@pytest.mark.parametrize("spec, expected", [("none", ("none", 0.0)), ("locater:0.5", ("locater", 0.5)),
                                            ("sigma-reparam", ("sigma-reparam", 0.0)),
                                            ("temperature:2", ("temperature", 2.0))])
def test_parse(spec, expected):
    assert regularizers.parse(spec) == expected


@pytest.mark.parametrize("spec", ["locater", "locater:-1", "temperature:0", "qk-norm:3", "dropout",
                                  "locater:x"])
def test_parse_rejects(spec):
    with pytest.raises(ValueError, match="regularizer|strength|takes no"):
        regularizers.parse(spec)


@pytest.mark.parametrize("kwargs, word", [(dict(width=10, heads=3), "multiple of heads"),
                                          (dict(norm="mid"), "norm"), (dict(activation="tanh"), "activation"),
                                          (dict(layers=0), "layers"), (dict(dropout=1.0), "dropout")])
def test_config_rejects(kwargs, word):
    with pytest.raises(ValueError, match=word):
        transformer.Config(**kwargs)


def test_qk_init_scales_only_queries_and_keys():
    from sigprop.lm import transformer as tfm
    base = tfm.init_params(tfm.Config(vocab=50, width=8, layers=2, length=4, ff=8), 3)
    big = tfm.init_params(tfm.Config(vocab=50, width=8, layers=2, length=4, ff=8, qk_init=2.0), 3)
    for name, value in base.items():
        factor = 2.0 if name.endswith(("W_Q", "W_K")) else 1.0     # a power of two: exact in float32
        assert np.array_equal(big[name], value * np.float32(factor)), name
    with pytest.raises(ValueError, match="qk_init"):
        tfm.Config(qk_init=0.0)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("norm", ["pre", "post"])
def test_float32_step_matches_a_float64_reference(tied, norm):
    """The training step's loss and gradients in float32 (fused cross-entropy folded into the output
    products, reused logits buffer, sparse scatter) against the unfused float64 forward and backward
    on the same weights: every parameter within 1e-5 of its largest gradient entry (float32 rounding
    through two layers gives about 5e-7), the loss within 1e-5 relative."""
    cfg = transformer.Config(vocab=512, width=32, heads=2, layers=2, length=16, ff=48, norm=norm, tied=tied)
    p32 = transformer.init_params(cfg, 7)
    p64 = {k: v.astype(np.float64) for k, v in p32.items()}
    tok = np.random.default_rng(2).integers(0, 512, size=(4, 17))
    loss32, _, g32 = transformer.loss_and_grads(p32, tok, cfg)
    loss64, cache = transformer.forward(p64, tok, cfg)
    g64 = transformer.backward(p64, cache, cfg)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    for k in g64:
        assert g32[k].dtype == np.float32, k
        np.testing.assert_allclose(g32[k], g64[k], rtol=0, atol=1e-5 * np.abs(g64[k]).max(), err_msg=k)
    again = transformer.loss_and_grads(p32, tok, cfg)                # the reused buffer changes nothing
    assert again[0] == loss32 and all(np.array_equal(again[2][k], g32[k]) for k in g32)


@pytest.mark.parametrize("kwargs", [dict(tied=False), dict(dropout=0.3), dict(regularizer="sigma-reparam"),
                                    dict(regularizer="qk-norm", heads=2)])
def test_fused_gradients_equal_the_unfused_ones_in_every_variant(kwargs):
    """Untied output, dropout, reparametrized and QK-normed models: the fused step's gradients equal
    the unfused forward and backward's to 1e-12 of each parameter's largest entry (float64)."""
    cfg = transformer.Config(**SMALL, layers=2, **kwargs)
    params = transformer.init_params(cfg, 5, dtype=np.float64)
    tok = np.random.default_rng(1).integers(0, 11, size=(3, 6))
    loss, _, grads = transformer.loss_and_grads(params, tok, cfg, rng=np.random.default_rng(9))
    loss0, cache = transformer.forward(params, tok, cfg, rng=np.random.default_rng(9))
    grads0 = transformer.backward(params, cache, cfg)
    assert loss == pytest.approx(loss0, rel=1e-12)
    for k in grads0:
        scale = np.abs(grads0[k]).max()
        np.testing.assert_allclose(grads[k], grads0[k], rtol=0, atol=1e-12 * max(scale, 1e-300), err_msg=k)


@given(st.integers(1, 40), st.integers(0, 60), st.integers(1, 4), st.sampled_from([np.float32, np.float64]),
       st.integers(0, 2**31))
def test_scatter_rows_is_add_at_bit_for_bit(rows, n, width, dtype, seed):
    """The sparse scatter sums each row in np.add.at's order: equal to the last bit, any repeats."""
    rng = np.random.default_rng(seed)
    index = rng.integers(0, rows, n)
    values = rng.standard_normal((n, width)).astype(dtype)
    expected = np.zeros((rows, width), dtype)
    np.add.at(expected, index, values)
    found = layers.scatter_rows(index, values, rows)
    assert found.dtype == dtype and np.array_equal(found, expected)


def test_forward_refuses_a_wrong_logits_buffer():
    cfg = transformer.Config(**SMALL)
    params = transformer.init_params(cfg, 0)
    tok = np.random.default_rng(0).integers(0, 11, size=(2, 6))
    with pytest.raises(ArgumentError, match="out"):
        transformer.forward(params, tok, cfg, out=np.empty((10, 12), np.float32))
    with pytest.raises(ArgumentError, match="out"):
        transformer.forward(params, tok, cfg, out=np.empty((10, 11), np.float64))
    buf = np.empty((10, 11), np.float32)
    loss, cache = transformer.forward(params, tok, cfg, out=buf)
    assert loss == transformer.forward(params, tok, cfg)[0] and np.shares_memory(cache["probs"], buf)
