"""Validation instruments: perplexity, attention entropy, eigenvalues, rho, linear regime."""
import numpy as np
import pytest

from sigprop.lm import instruments, regularizers, transformer
from sigprop.rho.theory import theory

CFG = transformer.Config(vocab=13, width=8, heads=2, layers=2, length=6, ff=8)


def windows(n=5):
    return np.random.default_rng(4).integers(0, 13, size=(n, 7))


def test_uniform_attention():
    """W_Q = 0: every row uniform, entropy log n, normalized 1, W_h = 0, no key in (0, 1)."""
    p = transformer.init_params(CFG, 0, dtype=np.float64)
    for i in range(2):
        p[f"l{i}.W_Q"][:] = 0
    m = instruments.heads(p, windows(), CFG)
    n = np.arange(2, 7)                                    # queries that see >= 2 keys
    assert m["entropy"][0][1] == pytest.approx(np.mean(np.log(n)), rel=1e-12)
    assert m["entropy_normalized"][1][0] == pytest.approx(1.0, rel=1e-12)
    assert m["max_attention"][0][0] == pytest.approx(np.mean(1 / n), rel=1e-12)
    assert m["eig_mean"] == [[0.0, 0.0], [0.0, 0.0]] and m["eig_var"] == [[0.0, 0.0], [0.0, 0.0]]
    assert m["linear_share_last"][0] == [0.0, 0.0]


def test_linear_share_and_rho_by_hand():
    """The shares against a direct count on the logits, rho against the closed form of W_h."""
    p = transformer.init_params(CFG, 1, dtype=np.float64)
    X = windows()
    m = instruments.heads(p, X, CFG)
    _, cache = transformer.forward(p, X, CFG, keep=True)
    for i in range(2):
        S = cache["layers"][i]["attn"]["S"]
        for h in range(2):
            last = S[:, h, -1, :]                          # last query sees all 6 keys
            zc = last - last.mean(axis=-1, keepdims=True)
            assert m["linear_share_last"][i][h] == pytest.approx(np.mean((zc > 0) & (zc < 1)))
            count = total = 0
            for t in range(6):
                row = S[:, h, t, : t + 1]
                zc = row - row.mean(axis=-1, keepdims=True)
                count += np.sum((zc > 0) & (zc < 1))
                total += row.size
            assert m["linear_share"][i][h] == pytest.approx(count / total)
        W = regularizers.head_qk(p[f"l{i}.W_Q"], p[f"l{i}.W_K"], 2)
        assert m["rho_theory"][i][1] == pytest.approx(theory(W[1], 6, scale=CFG.scale, method="gaussian").rho.mean())
        assert m["eig_mean"][i][0] == pytest.approx(np.trace(W[0]) / 8)
        for h in range(2):
            # the spread of the complex eigenvalues, between tr(W^2)/D - m^2 and R(W) (Schur)
            lam = np.linalg.eigvals(W[h].astype(np.float64))
            assert m["spread_abs"][i][h] == pytest.approx(np.mean(np.abs(lam - lam.mean()) ** 2), rel=1e-6)
            assert m["eig_var"][i][h] <= m["spread_abs"][i][h] * (1 + 1e-9) + 1e-12
            assert m["spread_abs"][i][h] <= m["spread"][i][h] * (1 + 1e-9) + 1e-12


def test_perplexity_is_exp_of_token_mean():
    p = transformer.init_params(CFG, 2)
    X = windows(40)
    loss, ppl = instruments.perplexity(p, X, CFG, chunk=7)
    whole, _ = transformer.forward(p, X, CFG)
    assert loss == pytest.approx(whole, rel=1e-5) and ppl == pytest.approx(np.exp(loss))


def test_rank_residual_per_layer():
    m = instruments.measure(transformer.init_params(CFG, 0), windows(), CFG, probe=3)
    assert len(m["rank_residual"]) == 2 and all(0 < r <= 1 for r in m["rank_residual"])


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_attention_input_and_logit_convention(norm):
    """The last query's logits are c x_i^T W_h^T x_T with x the stored attention input: the
    convention z_i = c x_i^T W x_T of docs/theory.md (2.2) with W = W_h^T, as the data model uses."""
    cfg = transformer.Config(vocab=13, width=8, heads=2, layers=2, length=6, ff=8, norm=norm)
    p = transformer.init_params(cfg, 2, dtype=np.float64)
    X = windows()
    _, cache = transformer.forward(p, X, cfg, keep=True)
    inputs = instruments.attention_inputs(p, X, cfg, chunk=2)
    for i in range(2):
        x = inputs[i]
        assert np.array_equal(x, cache["layers"][i]["attn_in"])
        W = regularizers.head_qk(p[f"l{i}.W_Q"], p[f"l{i}.W_K"], 2)
        for h in range(2):
            z = cfg.scale * np.einsum("bid,de,be->bi", x, W[h].T, x[:, -1])
            np.testing.assert_allclose(cache["layers"][i]["attn"]["S"][:, h, -1, :], z, rtol=1e-12, atol=1e-12)
    if norm == "pre":                        # the LayerNorm's output: zero mean over features
        np.testing.assert_allclose(inputs[1].mean(axis=-1), 0, atol=1e-12)


def test_datamodel_prediction_is_the_closed_form_of_the_fitted_model():
    from sigprop.rho import data
    from sigprop.rho.logits import LogitModel
    p = transformer.init_params(CFG, 3, dtype=np.float64)
    fit = np.random.default_rng(5).integers(0, 13, size=(9, 7))
    out = instruments.datamodel(p, fit, CFG, exact=True)
    x = instruments.attention_inputs(p, fit, CFG)[1]
    model, Sigma, mu = data.empirical(x)
    W = regularizers.head_qk(p["l1.W_Q"], p["l1.W_K"], 2)
    lm = LogitModel(W[0].T, 6, step_cov=Sigma, scale=CFG.scale, data=model.covariance(6), token_mean=mu)
    assert out["rho_datamodel"][1][0] == pytest.approx(float(theory(lm, method="gaussian").rho.mean()), rel=1e-12)
    assert out["datamodel_token_mean_norm"][1] == pytest.approx(np.linalg.norm(mu), rel=1e-12)
    for key in ("rho_datamodel", "rho_datamodel_exact"):
        assert np.array(out[key]).shape == (2, 2) and np.all((np.array(out[key]) >= 0) & (np.array(out[key]) <= 1))
    qk = transformer.Config(vocab=13, width=8, heads=2, layers=2, length=6, ff=8, regularizer="qk-norm")
    fitted = instruments.datamodel(transformer.init_params(qk, 0), fit, qk)
    assert fitted["rho_datamodel"] == [[None, None], [None, None]]


def test_calibration_by_hand():
    history = [dict(rho_theory=[[0.5, 0.5]], rho_datamodel=[[0.1, 0.3]], linear_share_last=[[0.2, 0.2]]),
               dict(rho_theory=[[0.5, 0.4]], rho_datamodel=[[0.35, None]], linear_share_last=[[0.3, 0.1]])]
    cal = instruments.calibration(history)
    assert cal["rho_datamodel"]["n"] == 3
    assert cal["rho_datamodel"]["mean_abs_error"] == pytest.approx((0.1 + 0.1 + 0.05) / 3)
    assert cal["rho_datamodel"]["mean_error"] == pytest.approx((-0.1 + 0.1 + 0.05) / 3)
    # ranks (1, 2, 3) against (1.5, 1.5, 3): deviations (-1, 0, 1) and (-0.5, -0.5, 1), r = 1.5 / sqrt(2 * 1.5)
    assert cal["rho_datamodel"]["spearman"] == pytest.approx(1.5 / np.sqrt(3.0))
    assert cal["rho_theory"]["n"] == 4 and "rho_datamodel_exact" not in cal
