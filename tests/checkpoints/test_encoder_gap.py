"""[NNT24]'s measurements on MiniLM (pretrained, random, random causal) on real text."""

import numpy as np
import pytest

from sigprop.checkpoints import encoder_gap as E
from sigprop.checkpoints import realtext
from sigprop.checkpoints.heads import load
from tests.helpers import minilm_checkpoint

pytest.importorskip("safetensors.numpy")
pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def quick():
    return E.study(minilm_checkpoint(), lengths=[8, 24], windows=2)


def test_windows_are_real_text_with_special_tokens():
    tok = E.checkpoint_tokenizer(minilm_checkpoint())
    wins = E.token_windows(tok, 10, 3, 101, 102)
    assert len(wins) == 3 and all(w.size == 10 and w[0] == 101 and w[-1] == 102 for w in wins)
    assert len({tuple(w) for w in wins}) == 3 and 0 not in np.concatenate(wins)     # no [PAD]


def test_random_init_has_the_checkpoints_shapes_and_berts_law():
    tensors, cfg = load(minilm_checkpoint())
    rnd = E.random_weights(tensors, cfg, seed=1)
    assert set(rnd) == set(tensors) and all(rnd[k].shape == tensors[k].shape for k in tensors)
    W = rnd["encoder.layer.0.attention.self.query.weight"]
    assert abs(W.std() / 0.02 - 1) < 0.01                      # 147456 draws: 5 standard errors is 0.009
    assert np.all(rnd["encoder.layer.0.attention.output.LayerNorm.weight"] == 1)


def test_states_without_the_fix_are_the_encoder_and_with_it_rows_sum_to_zero():
    tensors, cfg = load(minilm_checkpoint())
    w = realtext.Weights(tensors)
    ids = np.array([101, 2023, 2003, 1037, 3231, 102])
    plain = list(realtext.encoder_attention(w, cfg, ids))
    states = list(realtext.encoder_states(w, cfg, ids))
    for (l1, _z1, a1), (l2, _z2, a2, _) in zip(plain, states):
        assert l1 == l2 and np.array_equal(a1, a2)
    causal = list(realtext.encoder_states(w, cfg, ids, causal=True))
    A = causal[0][2]
    assert np.allclose(np.triu(A, 1), 0) and np.allclose(A.sum(-1), 1)
    fixed = list(realtext.encoder_states(w, cfg, ids, remove_outlier=True))
    assert not np.allclose(fixed[-1][3], states[-1][3])


def test_spectra_records(quick):
    sp = quick["spectra"]
    assert {r["model"] for r in sp} == set(E.MODELS)
    assert len(sp) == 3 * 2 * 2 * 6 * 12                       # models x T x windows x layers x heads
    assert all(r["sigma_1"] >= r["sigma_2"] - 1e-12 and r["eig_1"] <= r["sigma_1"] + 1e-9 for r in sp)
    # row-stochastic: eigenvalue 1 exactly; causal: the eigenvalues are the diagonal, the first row's is 1
    assert all(abs(r["eig_1"] - 1) < 1e-8 for r in sp)
    assert all(r["sigma_1"] >= 1 - 1e-12 for r in sp)         # A 1 = 1, so ||A||_2 >= 1
    ex = E.bulk_exponents(sp, "random", "sigma_2")
    assert ex["heads"] == 72 and ex["low"] <= ex["mean"] <= ex["high"]


def test_stable_rank_records(quick):
    sr = quick["stable_rank"]
    assert len(sr) == 3 * 2 * 2 * 2 * 7                        # models x removed x T x windows x layers 0..6
    assert all(1 - 1e-9 <= r["stable_rank"] <= r["length"] + 1e-9 for r in sr)


def test_bad_arguments():
    with pytest.raises(ValueError, match="lengths"):
        E.study(minilm_checkpoint(), lengths=[1024])
    with pytest.raises(ValueError, match="models"):
        E.study(minilm_checkpoint(), lengths=[8], models=["gpt"])


def test_study_reads_back_labelled(quick, tmp_path):
    pytest.importorskip("xarray")
    import sigprop

    quick.save(tmp_path / "e.json")
    back = sigprop.load(tmp_path / "e.json")
    assert back.kind == "encoder-gap" and back.to_xarray().identical(quick.to_xarray())
    ds = back.to_xarray()
    row = quick["spectra"][-1]
    assert ds.spectra_sigma_2.dims == ("model", "length", "window", "layer", "head")
    sel = {k: row[k] for k in ("model", "length", "window", "layer", "head")}
    assert float(ds.spectra_sigma_2.sel(sel)) == pytest.approx(row["sigma_2"])
