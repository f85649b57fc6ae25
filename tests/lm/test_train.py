"""Training: learning on a small corpus written here, resuming, schedule, clipping, records."""
import json

import numpy as np
import pytest

from sigprop.lm import corpus, transformer
from sigprop.lm import train as tr

WORDS = "the king is dead long live the king and the queen is here to see the king".split()


def small_corpus(tmp_path):
    rng = np.random.default_rng(0)
    # a Markov text: each word followed by the next one of the list, with noise
    idx = np.cumsum(rng.choice([1, 1, 1, 2], size=6000)) % len(WORDS)
    text = " ".join(WORDS[i] for i in idx)
    n = len(text)
    parts = (text[:8 * n // 10], text[8 * n // 10:9 * n // 10], text[9 * n // 10:])
    for split, part in zip(("train", "valid", "test"), parts, strict=True):
        (tmp_path / f"wiki.{split}.raw").write_text(part)
    return corpus.load(str(tmp_path))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tr.prepare(small_corpus(tmp_path_factory.mktemp("c")), "bpe", 300)


def config(**kw):
    model = dict(vocab=300, width=16, heads=2, layers=1, length=16, ff=16)
    model.update(kw.pop("model", {}))
    base = dict(model=transformer.Config(**model), corpus="test", steps=60, batch=8, lr=1e-2, warmup=5,
                eval_every=20, eval_tokens=512, probe=4, checkpoint_every=25)
    base.update(kw)
    return tr.TrainConfig(**base)


def test_learns_below_unigram(data, tmp_path):
    rec = tr.train(config(), data, out=tmp_path)
    h = rec["history"]
    unigram = data.description["unigram_perplexity"]["valid"]
    assert h[-1]["perplexity"] < 0.5 * unigram < h[0]["perplexity"]
    on_disk = json.loads((tmp_path / "run.json").read_text())
    assert on_disk["config"]["model"]["width"] == 16 and len(on_disk["history"]) == 4
    for key in ("entropy", "eig_mean", "eig_var", "rho_theory", "linear_share_last", "rank_residual"):
        assert key in h[-1]
    assert np.array(h[-1]["entropy"]).shape == (1, 2)
    assert all(0 <= r <= 1 for r in np.ravel(h[-1]["rho_theory"]))
    # run.json reads back as the run record, labelled by step (tests/test_loading.py covers the rest)
    pytest.importorskip("xarray")
    import sigprop

    back = sigprop.load(tmp_path / "run.json")
    assert back.kind == "lm-train" and back["history"] == on_disk["history"]
    ds = back.to_xarray()
    assert ds.history_perplexity.dims == ("step",) and ds.step.values.tolist() == [r["step"] for r in h]
    assert float(ds.history_perplexity.sel(step=h[-1]["step"])) == pytest.approx(h[-1]["perplexity"])


def strip(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


@pytest.mark.parametrize("kw", [dict(), dict(model=dict(dropout=0.1, regularizer="locater:0.01"))])
def test_resume_gives_the_same_numbers(data, tmp_path, kw):
    cfg = config(**kw)
    full = tr.train(cfg, data, out=tmp_path / "a")
    tr.train(cfg, data, out=tmp_path / "b", stop_after=33)
    assert json.loads((tmp_path / "b" / "run.json").read_text())["steps_done"] == 20
    resumed = tr.train(cfg, data, out=tmp_path / "b", resume=True)
    assert strip(resumed["history"]) == strip(full["history"])
    for name, value in full["params"].items():
        assert np.array_equal(value, resumed["params"][name]), name


def test_same_seed_same_numbers_other_seed_differs(data):
    a, b = tr.train(config(steps=10), data), tr.train(config(steps=10), data)
    c = tr.train(config(steps=10, seed=1), data)
    assert strip(a["history"]) == strip(b["history"])
    assert a["history"][-1]["loss"] != c["history"][-1]["loss"]


def test_resume_refuses_another_configuration(data, tmp_path):
    tr.train(config(steps=10), data, out=tmp_path)
    with pytest.raises(ValueError, match="another configuration"):
        tr.train(config(steps=10, lr=1e-3), data, out=tmp_path, resume=True)


def test_learning_rate_schedule():
    cfg = config(steps=100, warmup=10, lr=1.0, min_lr=0.1)
    assert tr.learning_rate(5, cfg) == pytest.approx(0.5)
    assert tr.learning_rate(10, cfg) == pytest.approx(1.0)
    assert tr.learning_rate(100, cfg) == pytest.approx(0.1)
    assert tr.learning_rate(55, cfg) == pytest.approx(0.55)


def test_clip_gradients():
    g = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert tr.clip_gradients(g, 1.0) == pytest.approx(5.0)
    assert np.sqrt(np.sum(g["a"] ** 2) + np.sum(g["b"] ** 2)) == pytest.approx(1.0)


def test_vocab_too_small(data):
    with pytest.raises(ValueError, match="vocab must be"):
        tr.train(config(model=dict(vocab=100)), data)


@pytest.mark.parametrize("kw, word", [(dict(steps=0), "steps"), (dict(lr=-1), "lr"),
                                      (dict(tokenizer="x"), "tokenizer")])
def test_config_rejects(kw, word):
    with pytest.raises(ValueError, match=word):
        config(**kw)


def test_locater_holds_each_head_mean(data):
    """With locater_mean="task" every head's tr(W_h) sits on its target after every step
    (float32: relative 1e-5); the penalty alone ("free") moves it."""
    from sigprop.lm import regularizers as reg
    held = tr.train(config(model=dict(regularizer="locater:1", heads=2)), data)
    assert held["locater_mean_drift"] < 1e-5
    free = tr.train(config(model=dict(regularizer="locater:1", heads=2), locater_mean="free"), data)
    assert free["locater_mean_drift"] is None
    plain = tr.train(config(model=dict(regularizer="none", heads=2)), data)
    # the held run's means stay with the unregularized run's more closely than the free run's
    t_held, t_free, t_plain = (reg.head_traces(r["params"], 1, 2) for r in (held, free, plain))
    assert np.abs(t_held - t_plain).sum() < np.abs(t_free - t_plain).sum()
    assert not np.allclose(t_held, t_free)


def test_stopping_rule_by_hand():
    rows = [dict(perplexity=x) for x in (100.0, 90.0, 89.9, 89.95, 80.0, 81.0, 82.0)]
    # min_improvement 0.01: 89.9 (not below 90 * 0.99) and 89.95 do not improve, 80 does, then two more fail
    assert tr.stopping(rows[:4], 2, 0.01) == (2, True)        # best is the lowest (89.9) even if not "improving"
    assert tr.stopping(rows[:5], 2, 0.01) == (4, False)
    assert tr.stopping(rows, 2, 0.01) == (4, True)
    assert tr.stopping(rows, 3, 0.01) == (4, False)
    assert tr.stopping(rows, 0, 0.01) == (4, False)           # patience 0: never stops
    assert tr.stopping(rows[:4], 2, 0.0) == (2, False)        # 89.9 < 90 improves without a threshold


def test_training_stops_by_the_rule_and_resumes_there(data, tmp_path):
    """A relative improvement of 50% per evaluation cannot last: the run stops after `patience`
    evaluations without one; the final measures are the best evaluation's, best.npz holds its
    parameters, and an interrupted run resumed stops at the same step with the same numbers."""
    cfg = config(steps=400, eval_every=10, patience=2, min_improvement=0.5, checkpoint_every=1000)
    full = tr.train(cfg, data, out=tmp_path / "a")
    h = full["history"]
    assert full["stopped_early"] and h[-1]["step"] < 400
    best, stop = tr.stopping(h, 2, 0.5)
    assert stop and not tr.stopping(h[:-1], 2, 0.5)[1]        # it stopped at the first evaluation the rule allows
    assert full["best"]["index"] == best and full["final"]["step"] == h[best]["step"]
    assert full["final"]["perplexity"] == min(r["perplexity"] for r in h)
    with np.load(tmp_path / "a" / "best.npz") as z:
        assert int(z["step"]) == h[best]["step"]
        if best == len(h) - 1:
            assert np.array_equal(z["l0.W_Q"], full["params"]["l0.W_Q"])
    tr.train(cfg, data, out=tmp_path / "b", stop_after=15)
    assert "final" not in json.loads((tmp_path / "b" / "run.json").read_text())     # interrupted: not finished
    resumed = tr.train(cfg, data, out=tmp_path / "b", resume=True)
    assert strip(resumed["history"]) == strip(h) and resumed["final"] == full["final"]
    again = tr.train(cfg, data, out=tmp_path / "b", resume=True)                   # stopped: nothing more runs
    assert strip(again["history"]) == strip(h)


def test_blas_threads_held_during_training(data):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    if not before:
        pytest.skip("no BLAS library seen by threadpoolctl")
    assert tr.train(config(steps=2), data)["blas_threads"] == 1
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"] == before
    with pytest.raises(ValueError, match="threads must be"):
        tr.train(config(steps=2), data, threads=0)


@pytest.mark.parametrize("kw, word", [(dict(patience=-1), "patience"), (dict(min_improvement=1.0), "min_improvement")])
def test_stopping_config_rejects(kw, word):
    with pytest.raises(ValueError, match=word):
        config(**kw)


def test_theory_in_the_loop_recorded(data):
    rec = tr.train(config(steps=4, eval_every=2, datamodel=6), data)
    for row in rec["history"]:
        assert np.array(row["rho_datamodel"]).shape == (1, 2) and 0 <= row["rho_datamodel_mean"] <= 1
    cal = rec["calibration"]
    assert cal["rho_datamodel"]["n"] == 6 and cal["rho_theory"]["n"] == 6
    assert "rho_datamodel" not in tr.train(config(steps=2), data)["calibration"]
