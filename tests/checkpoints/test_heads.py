"""Real and synthetic checkpoints: query-key matrices, predictions, real text."""
import json
import os

import numpy as np
import pytest

from sigprop import cli
from sigprop.checkpoints import heads
from tests.helpers import minilm_checkpoint

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _write(tmp_path, tensors, config):
    path = tmp_path / "model.safetensors"
    safetensors_numpy.save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()},
                                str(path))
    (tmp_path / "config.json").write_text(json.dumps(config))
    return path


def test_gpt2_layout_recovers_the_written_matrices(tmp_path):
    rng = np.random.default_rng(0)
    d, n_head, layers = 8, 2, 2
    dh = d // n_head
    tensors, want = {}, {}
    for layer in range(layers):
        fused = rng.standard_normal((d, 3 * d)).astype(np.float32)     # Conv1D: [q, k, v] = x W
        tensors[f"h.{layer}.attn.c_attn.weight"] = fused
        tensors[f"h.{layer}.attn.c_attn.bias"] = np.zeros(3 * d, np.float32)
        Q, K = fused[:, :d].T.astype(float), fused[:, d:2 * d].T.astype(float)
        for h in range(n_head):
            want[layer, h] = K[h * dh:(h + 1) * dh].T @ Q[h * dh:(h + 1) * dh] / np.sqrt(dh)
    path = _write(tmp_path, tensors, {"n_head": n_head, "n_embd": d, "n_layer": layers})
    layout, recs = heads.head_matrices(*heads.load(path))
    assert layout == "gpt2" and len(recs) == layers * n_head
    for r in recs:
        assert np.array_equal(r["W"], want[r["layer"], r["head"]])


def test_a_length_beyond_memory_is_refused_before_the_work(tmp_path, monkeypatch):
    # every head's rho profile is kept: 2 heads x 10^8 positions need several GB (once OOM-killed)
    d, n_head = 8, 2
    tensors = {"h.0.attn.c_attn.weight": np.zeros((d, 3 * d), np.float32),
               "h.0.attn.c_attn.bias": np.zeros(3 * d, np.float32)}
    path = _write(tmp_path, tensors, {"n_head": n_head, "n_embd": d, "n_layer": 1})
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "1000000000")
    with pytest.raises(ValueError, match=r"^T needs about .*\(2 heads' rho profiles of 100000000 positions\)"):
        heads.analyse(path, T=10**8)
    assert heads.analyse(path, T=16)["config"]["heads"] == 2


def test_llama_layout_with_grouped_query_heads(tmp_path):
    rng = np.random.default_rng(1)
    d, n_heads, n_kv = 12, 6, 2
    dh = d // n_heads
    q = rng.standard_normal((n_heads * dh, d)).astype(np.float32)
    k = rng.standard_normal((n_kv * dh, d)).astype(np.float32)
    tensors = {"model.layers.0.self_attn.q_proj.weight": q, "model.layers.0.self_attn.k_proj.weight": k,
               "model.layers.0.self_attn.v_proj.weight": k, "model.embed_tokens.weight": q}
    path = _write(tmp_path, tensors, {"hidden_size": d, "num_attention_heads": n_heads,
                                      "num_key_value_heads": n_kv})
    layout, recs = heads.head_matrices(*heads.load(path))
    assert layout == "llama" and len(recs) == n_heads
    for r in recs:
        h, g = r["head"], r["head"] // (n_heads // n_kv)
        Qh, Kh = q[h * dh:(h + 1) * dh].astype(float), k[g * dh:(g + 1) * dh].astype(float)
        assert np.array_equal(r["W"], Kh.T @ Qh / np.sqrt(dh))


def test_real_minilm_checkpoint(capsys):
    path = minilm_checkpoint()
    assert cli.main(["heads", path, "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 72
    assert {(r["layer"], r["head"]) for r in recs} == {(layer, h) for layer in range(6) for h in range(12)}
    assert all(np.isfinite(r["eig_mean"]) and np.isfinite(r["eig_var"]) and len(r["rho"]) == 128
               for r in recs)


def test_minilm_bert_matrix_is_the_model_logit_form():
    # z(q, k) = (W_q x_q + b_q)^T (W_k x_k + b_k) / sqrt(d_h); without biases it is x_k^T W_h x_q
    path = minilm_checkpoint()
    tensors, cfg = heads.load(path)
    _, recs = heads.head_matrices(tensors, cfg)
    Wq = tensors["encoder.layer.0.attention.self.query.weight"].astype(float)
    Wk = tensors["encoder.layer.0.attention.self.key.weight"].astype(float)
    x = np.random.default_rng(0).standard_normal((2, 384))
    q, k = (Wq @ x[0])[32:64], (Wk @ x[1])[32:64]
    assert np.isclose(x[1] @ recs[1]["W"] @ x[0], q @ k / np.sqrt(32))


def test_real_text_study(capsys):
    path = minilm_checkpoint()
    assert cli.main(["heads-text", path, "--layers", "0"]) == 0
    out = capsys.readouterr().out
    assert "Spearman(eig_var, attention_entropy)" in out and len(out.splitlines()) == 2 + 12 + 6
    from sigprop.checkpoints import realtext
    res = realtext.study(path, layers=[0])
    c = res["correlation_with_eig_var"]["linear_share"]
    assert c["n"] == 12 and c["low"] <= c["rho"] <= c["high"]
    assert all(0 <= r["linear_share"] <= 1 and 0 <= r["attention_entropy"] <= 1 for r in res["records"])


def test_spearman_interval_covers_known_cases():
    from sigprop.checkpoints.realtext import spearman_ci
    x = np.arange(20.0)
    assert spearman_ci(x, x)["rho"] == pytest.approx(1.0)
    c = spearman_ci(x, -x ** 3)
    assert c["rho"] == pytest.approx(-1.0) and c["high"] < 0


def test_errors_name_the_problem(tmp_path, capsys):
    path = _write(tmp_path, {"some.weight": np.ones((2, 2))}, {})
    with pytest.raises(ValueError, match="unknown layout.*keys found: some.weight"):
        heads.analyse(path)
    with pytest.raises(ValueError, match="file not found"):
        heads.analyse(tmp_path / "missing.safetensors")
    q = np.ones((12, 12), np.float32)
    path = _write(tmp_path, {"model.layers.0.self_attn.q_proj.weight": q,
                             "model.layers.0.self_attn.k_proj.weight": q}, {"num_attention_heads": 5})
    with pytest.raises(ValueError, match="inconsistent head counts"):
        heads.analyse(path)
    path = _write(tmp_path, {"model.layers.0.self_attn.q_proj.weight": q,
                             "model.layers.0.self_attn.k_proj.weight": q[:4]},
                  {"num_attention_heads": 6, "num_key_value_heads": 4})
    with pytest.raises(ValueError, match="inconsistent head counts"):
        heads.analyse(path)
    os.remove(tmp_path / "config.json")
    with pytest.raises(ValueError, match="number of heads unknown"):
        heads.analyse(path)
    code = cli.main(["heads", str(tmp_path / "missing.safetensors")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "file not found" in err
