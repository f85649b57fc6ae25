"""``sigprop stack predict`` and ``sigprop stack simulate``."""
import json
import sys

import pytest

from sigprop import cli, load
from sigprop.cli import stack as stack_cli
from sigprop.stack import config as stack_config
from sigprop.stack import predict


def test_choices_agree_with_the_api():
    assert stack_cli.NORMS == stack_config.NORMS
    assert stack_cli.ACTIVATIONS == stack_config.ACTIVATIONS
    assert stack_cli.RECURSIONS == stack_config.RECURSIONS
    assert stack_cli.ATTENTIONS == stack_config.ATTENTIONS
    assert stack_cli.MOMENTS == stack_config.MOMENTS


def test_predict_gg_json_holds_the_published_recursion(capsys, tmp_path):
    out = tmp_path / "gg.json"
    argv = ["stack", "predict", "--recursion", "gg", "--beta", "3", "--layers", "6", "--var-w", "0.2",
            "--var-v", "0.2", "--var-b", "4e-4", "--alpha-attention", "1", "--alpha-mlp", "1",
            "--cosine0", "0.3", "--activation", "relu", "--format", "json", "--out", str(out)]
    assert cli.main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    api = predict(layers=6, beta=3.0, cosine0=0.3, recursion="gg")
    assert [row["cosine"] for row in res["layers"]] == [row["cosine"] for row in api["layers"]]
    saved = load(out)
    assert saved.kind == "stack" and saved["config"] == api["config"]


def test_simulate_table_and_seeds(capsys):
    argv = ["stack", "simulate", "--layers", "2", "--length", "8", "--dim", "16", "--seeds", "0,1,2"]
    assert cli.main(argv) == 0
    first = capsys.readouterr().out
    assert "cosine_low" in first and len(first.strip().splitlines()) == 5      # header line, columns, 3 layers
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == first                                  # same seeds, same numbers


@pytest.mark.parametrize("argv, needle", [
    (["stack", "predict", "--beta", "-1"], "argument --beta: must be >= 0"),
    (["stack", "predict", "--layers", "0"], "argument --layers: must be an integer in [1, 10000]"),
    (["stack", "predict", "--cosine0", "1"], "argument --cosine0: must be < 1"),
    (["stack", "predict", "--var-w", "-0.2"], "argument --var-w: must be >= 0"),
    (["stack", "predict", "--var-o", "0"], "argument --var-o: must be > 0"),
    (["stack", "predict", "--length", "1"], "argument --length: must be an integer in [2, 65536]"),
    (["stack", "predict", "--recursion", "rem"], "argument --recursion: invalid choice"),
    (["stack", "simulate", "--dim", "1"], "argument --dim: must be an integer in [2, 65536]"),
    (["stack", "simulate", "--seeds", "4"], "argument --seeds: must be at least 2 distinct"),
    (["stack", "simulate", "--seeds", "4,4"], "argument --seeds: must be at least 2 distinct"),
])
def test_bad_input_exits_2_in_one_line(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        sys.exit(cli.main(argv))
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and not out and needle in err and len(err.strip().splitlines()) == 1, err


def test_memory_refusal_before_the_work(capsys, monkeypatch):
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "1000000")
    code = cli.main(["stack", "simulate", "--dim", "4096", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2 and not out and "argument --dim: needs about" in err
