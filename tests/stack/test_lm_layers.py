"""The language models sigprop trains, layer by layer beside the engine (``sigprop.stack.lm_layers``)."""
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from sigprop.core.checks import ArgumentError
from sigprop.lm import corpus, transformer
from sigprop.lm import train as tr
from sigprop.stack import lm_layers
from sigprop.stack.measured import compare_layers
from tests.helpers import run_cli

WORDS = "the king is dead long live the king and the queen is here to see the king".split()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two seeds of a 2-layer model trained briefly on a small Markov text, and the folder of the text."""
    folder = tmp_path_factory.mktemp("text")
    rng = np.random.default_rng(0)
    idx = np.cumsum(rng.choice([1, 1, 1, 2], size=6000)) % len(WORDS)
    text = " ".join(WORDS[i] for i in idx)
    n = len(text)
    for split, part in zip(("train", "valid", "test"), (text[:8 * n // 10], text[8 * n // 10:9 * n // 10],
                                                        text[9 * n // 10:]), strict=True):
        (folder / f"wiki.{split}.raw").write_text(part)
    data = tr.prepare(corpus.load(str(folder)), "bpe", 300)
    dirs = []
    for seed in (0, 1):
        cfg = tr.TrainConfig(model=transformer.Config(vocab=300, width=16, heads=2, layers=2, length=16, ff=16),
                             corpus=str(folder), steps=30, batch=8, lr=1e-2, warmup=5, eval_every=15,
                             eval_tokens=512, probe=4, checkpoint_every=15, seed=seed)
        out = tmp_path_factory.mktemp(f"run{seed}")
        tr.train(cfg, data, out=out)
        dirs.append(out)
    return dirs, data


def test_surrogate_reads_the_second_moments_of_known_weights():
    cfg = transformer.Config(vocab=11, width=8, heads=1, layers=1, length=4, ff=8)
    p = transformer.init_params(cfg, seed=0)
    a, b = 0.5, 3.0
    p["l0.W_Q"], p["l0.W_K"] = a * np.eye(8), b * np.eye(8)       # logit x_i . x_j a b / sqrt(8)
    p["l0.W_V"], p["l0.W_O"] = 2.0 * np.eye(8), np.eye(8)
    p["l0.W_1"], p["l0.W_2"] = 3.0 * np.eye(8), np.eye(8)
    p["l0.b_1"], p["l0.b_2"] = np.full(8, 0.3), np.zeros(8)
    fit = lm_layers.surrogate(p, 0, cfg)
    # unit tokens: Var(a b x.y / sqrt 8) = a^2 b^2; value gain 4; W_1 rows of norm 9; biases (0, 0.09, 0)
    assert fit["logit_var"] == pytest.approx((a * b) ** 2)
    assert fit["var_v"] == pytest.approx(4.0) and fit["var_w"] == pytest.approx(9.0)
    assert fit["mlp_out_gain"] == pytest.approx(1.0) and fit["var_b"] == pytest.approx(0.09 / 3)
    # a temperature tau divides the logits by tau: the variance by tau^2
    hot = transformer.Config(vocab=11, width=8, heads=1, layers=1, length=4, ff=8, regularizer="temperature:2")
    assert lm_layers.surrogate(p, 0, hot)["logit_var"] == pytest.approx((a * b) ** 2 / 4)


def test_zero_queries_give_the_null_models_uniform_entropy(runs):
    dirs, data = runs
    cfg = transformer.Config(vocab=300, width=16, heads=2, layers=2, length=16, ff=16)
    p = transformer.init_params(cfg, seed=1)
    p["l0.W_Q"] = np.zeros_like(p["l0.W_Q"])                      # every logit 0: causal rows uniform
    ids = corpus.eval_windows(data.ids["valid"], 16)[:3]
    rows = lm_layers.compare(p, ids, cfg, samples=64)
    assert rows[0]["attention_entropy"][0] == pytest.approx(rows[0]["attention_entropy_null"], rel=1e-6)
    assert rows[0]["attention_entropy_null"] == pytest.approx(np.mean(np.log(np.arange(1, 17))))
    # the surrogate sees logit variance 0, and the engine's uniform rows have the same entropy
    assert rows[0]["surrogate"]["logit_var"] == 0.0
    assert rows[0]["attention_entropy_predicted"] == pytest.approx(rows[0]["attention_entropy_null"], rel=1e-9)


def test_states_take_post_ln_outputs_before_the_affine_map(runs):
    dirs, data = runs
    st = tr.Checkpoint(dirs[0] / "checkpoint.npz").load()
    cfg = tr.TrainConfig.from_dict(st["config"]).model
    ids = corpus.eval_windows(data.ids["valid"], 16)[:3]
    inputs, outputs, entropy = lm_layers.states(st["params"], ids, cfg)
    assert len(inputs) == len(outputs) == 2 and entropy.shape == (3, 2)
    for out in outputs:                           # a LayerNorm's output without its affine map
        assert np.allclose(out.mean(axis=-1), 0, atol=1e-4) and np.allclose(out.var(axis=-1), 1, atol=1e-2)
    # the second block's input is the first block's output, affine map included
    g, b = st["params"]["l0.ln2.g"], st["params"]["l0.ln2.b"]
    assert np.allclose(inputs[1], outputs[0] * g + b, atol=1e-4)
    assert np.all((entropy >= 0) & (entropy <= math.log(16)))


def test_the_study_compares_both_states_and_the_first_layer_is_the_engines(runs):
    dirs, _ = runs
    out = lm_layers.study(dirs, windows=4, samples=64)
    assert [r["run"] for r in out["runs"]] == [d.name for d in dirs] and out["runs"][0]["step"] == 30
    for r in out["runs"]:
        for state in ("init", "trained"):
            assert [row["layer"] for row in r[state]] == [1, 2]
            first = r[state][0]                  # free-running starts from the measured input
            assert first["cosine_free"] == first["cosine_predicted"]
    assert [(e["state"], e["layer"]) for e in out["summary"]] == [("init", 1), ("init", 2), ("trained", 1),
                                                                  ("trained", 2)]
    e = out["summary"][2]
    rows = [r["trained"][0] for r in out["runs"]]
    gains = [abs(r["stable_rank_predicted"] - r["stable_rank"][0]) - abs(r["stable_rank_null"] - r["stable_rank"][0])
             for r in rows]
    assert e["stable_rank_gain"][0] == pytest.approx(np.mean(gains)) and e["runs"] == 2
    # the gain's interval is Bonferroni over the 2 states x 2 layers x 3 measures, and decides the verdict
    assert out["config"]["gain_confidence"] == pytest.approx(1 - 0.05 / 12)
    from sigprop.core.stats import t_interval
    assert e["stable_rank_gain"][1:] == pytest.approx(list(t_interval(np.array(gains), 1 - 0.05 / 12)[1:]))
    low, high = e["stable_rank_gain"][1:]
    assert e["stable_rank_verdict"] == ("closer" if high < 0 else "farther" if low > 0 else "inconclusive")
    # the initial parameters are the ones training started from: a run of 0 steps would keep them
    st = tr.Checkpoint(dirs[0] / "checkpoint.npz").load()
    first = tr.initial_params(tr.TrainConfig.from_dict(st["config"]))
    assert not np.array_equal(first["l0.W_Q"], st["params"]["l0.W_Q"])


def test_initial_params_are_the_ones_a_run_starts_from(runs):
    from sigprop.lm.instruments import perplexity

    dirs, data = runs
    st = tr.Checkpoint(dirs[1] / "checkpoint.npz").load()
    cfg = tr.TrainConfig.from_dict(st["config"])
    assert st["history"][0]["step"] == 0                # the run's evaluation before its first step
    windows = corpus.eval_windows(data.ids["valid"], cfg.model.length, cfg.eval_tokens)
    _, ppl = perplexity(tr.initial_params(cfg), windows, cfg.model)
    assert ppl == pytest.approx(st["history"][0]["perplexity"], rel=1e-6)


def test_compare_layers_needs_matching_lists():
    x = np.random.default_rng(0).standard_normal((3, 4, 8))
    fit = dict(logit_var=1.0, var_v=1.0, var_w=1.0, var_b=0.0, mlp_out_gain=1.0)
    rows = compare_layers([x], [x], np.ones((3, 1)), [fit], norm="post", activation="relu", causal=False, samples=32)
    assert len(rows) == 1 and rows[0]["cosine_null"] == pytest.approx(rows[0]["cosine"][0])


def test_bad_run_directories_are_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(ArgumentError, match="run_dirs"):
        lm_layers.study([tmp_path])
    with pytest.raises(ArgumentError, match="windows"):
        lm_layers.study([tmp_path], windows=1)
    code, out, err = run_cli(["stack", "lm-layers", tmp_path], capsys)
    assert code == 2 and out == "" and err.splitlines() == [err] and "argument RUN_DIR" in err
    assert "checkpoint.npz" in err


def _damaged(tmp_path, dirs, name, change):
    """A copy of the first run whose checkpoint's parameters ``change`` alters (the metadata kept)."""
    import shutil

    folder = tmp_path / name
    shutil.copytree(dirs[0], folder)
    with np.load(folder / "checkpoint.npz") as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    np.savez(folder / "checkpoint.npz", **arrays)
    return folder


def test_hostile_runs_are_refused_before_the_work(runs, tmp_path, capsys, monkeypatch):
    """Each refusal is one line naming RUN_DIR, before any comparison runs (the hostile-user check:
    damaged checkpoints gave tracebacks, a run given twice counted as two seeds)."""
    dirs, _ = runs
    calls = []
    monkeypatch.setattr(lm_layers, "compare", lambda *a, **k: calls.append(1))
    missing = _damaged(tmp_path, dirs, "missing", lambda a: a.pop("p/l1.W_2"))
    shaped = _damaged(tmp_path, dirs, "shaped", lambda a: a.__setitem__("p/l0.W_Q", np.zeros((5, 7), np.float32)))
    nan = _damaged(tmp_path, dirs, "nan", lambda a: a["p/l0.W_Q"].__setitem__((0, 0), np.nan))
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "checkpoint.npz").write_bytes(b"not a zip")
    for argv, text in [([dirs[0], missing], "parameters are not those of its configuration (l1.W_2)"),
                       ([dirs[0], shaped], "parameters are not those of its configuration (l0.W_Q)"),
                       ([dirs[0], nan], "non-finite parameters (l0.W_Q)"),
                       ([dirs[0], garbage], "damaged or incomplete"),
                       ([dirs[0], dirs[0]], "must name each run directory once"),
                       ([dirs[0], missing.parent / "missing" / ".." / dirs[0].name], "holds no checkpoint.npz")]:
        code, out, err = run_cli(["stack", "lm-layers", *argv], capsys)
        assert code == 2 and err.splitlines() == [err] and "argument RUN_DIR" in err and text in err, err
    # the same seed in two folders is one seed, not two
    import shutil
    shutil.copytree(dirs[0], tmp_path / "again")
    code, out, err = run_cli(["stack", "lm-layers", dirs[0], tmp_path / "again"], capsys)
    assert code == 2 and "distinct seeds" in err
    code, out, err = run_cli(["stack", "lm-layers", *dirs, "--windows", "100000"], capsys)
    assert code == 2 and "--windows" in err
    # runs whose corpus folder is gone: one line naming the run and its corpus (it named no argument)
    def elsewhere(a):
        meta = json.loads(bytes(a["meta"]).decode())
        meta["config"]["corpus"] = str(tmp_path / "gone")
        a["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    moved = [_damaged(tmp_path, [d], f"moved{k}", elsewhere) for k, d in enumerate(dirs)]
    code, out, err = run_cli(["stack", "lm-layers", *moved], capsys)
    assert code == 2 and err.splitlines() == [err] and "argument RUN_DIR" in err, err
    assert "the corpus it was trained on" in err and "gone" in err, err
    # a model beyond the memory limit is that, not a damaged checkpoint (fifth campaign)
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "1e5")
    code, out, err = run_cli(["stack", "lm-layers", *dirs], capsys)
    assert code == 2 and "its configuration: " in err and "of memory" in err and "damaged" not in err, err
    assert calls == []


def test_an_output_the_command_reads_is_refused_before_the_work(runs, tmp_path, capsys):
    dirs, _ = runs
    st = tr.Checkpoint(dirs[0] / "checkpoint.npz").load()
    corpus_folder = tr.TrainConfig.from_dict(st["config"]).corpus
    before = {p: p.read_bytes() for p in [dirs[0] / "checkpoint.npz", *sorted(Path(corpus_folder).iterdir())]}
    for target in (dirs[0] / "checkpoint.npz", Path(corpus_folder) / "wiki.valid.raw"):
        code, out, err = run_cli(["stack", "lm-layers", *dirs, "--out", target], capsys)
        assert code == 2 and err.splitlines() == [err] and "--out" in err, err
    assert {p: p.read_bytes() for p in before} == before
    # a folder or a FIFO as --out: refused by the command line before the work
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in (tmp_path, fifo):
        code, out, err = run_cli(["stack", "lm-layers", *dirs, "--out", target], capsys)
        assert code == 2 and err.splitlines() == [err] and "--out" in err, err


def test_the_command_writes_the_study(runs, tmp_path, capsys):
    dirs, _ = runs
    code, out, err = run_cli(["stack", "lm-layers", *dirs, "--windows", "4", "--samples", "64", "--out",
                              tmp_path / "x.json"], capsys)
    assert code == 0, err
    stored = json.loads((tmp_path / "x.json").read_text())
    assert stored["config"]["runs"] == [d.name for d in dirs] and len(stored["summary"]) == 4
    assert "closer" in out or "farther" in out or "inconclusive" in out
