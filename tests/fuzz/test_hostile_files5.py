"""Damaged inputs the fifth hostile-input campaign found giving tracebacks (docs/contract.md, "Files read"):
each is now one line naming the argument (exit code 2, ``ArgumentError`` in the API), before any work."""
import json

import pytest

from sigprop.core.checks import ArgumentError
from sigprop.lm import train as lm_train
from tests.helpers import run_cli


@pytest.mark.parametrize("config", [{}, {"corpus": "shakespeare"}, {"model": "x"}, {"model": [1, 2]}, None],
                         ids=["empty", "no-model", "model-text", "model-list", "null"])
def test_lm_summarize_of_a_run_record_without_its_configuration_is_refused(config, tmp_path, capsys):
    # `final` present but no model configuration: KeyError 'config' / 'model' tracebacks
    run = tmp_path / "run"
    run.mkdir()
    record = {"final": {"perplexity": 70.0}, "history": [], "steps_done": 10}
    if config is not None:
        record["config"] = config
    (run / "run.json").write_text(json.dumps(record))
    code, out, err = run_cli(["lm", "summarize", run, "--no-progress"], capsys)
    assert (code, out) == (2, "")
    assert err == (f"sigprop lm summarize: error: argument DIR: {run / 'run.json'}: not a run record sigprop "
                   "wrote (no model configuration)")


@pytest.mark.parametrize("corpus", [7, ["shakespeare"], "", None], ids=["int", "list", "empty", "null"])
def test_a_training_configuration_with_a_corpus_that_is_not_text_is_refused(corpus):
    # a checkpoint whose configuration held `corpus: 7` or a list reached Path(7) (TypeError) or a dict
    # key (unhashable list) in `sigprop stack lm-layers`
    with pytest.raises(ArgumentError, match=r"^corpus must be a corpus name or folder \(text\), got "):
        lm_train.TrainConfig(corpus=corpus)


def test_a_training_configuration_whose_model_is_not_one_is_refused():
    with pytest.raises(ArgumentError, match=r"^model must be a model configuration, got dict"):
        lm_train.TrainConfig(model={"layers": 1})


def test_stack_minilm_length_below_three_is_refused_before_the_work(capsys):
    # --length 2 leaves no room between [CLS] and [SEP]: ZeroDivisionError after loading MiniLM
    code, out, err = run_cli(["stack", "minilm", "--length", "2", "--windows", "2", "--samples", "16",
                              "--no-progress"], capsys)
    assert (code, out, err) == (2, "", "sigprop stack minilm: error: argument --length: must be an integer in "
                                       "[3, 512], got 2")


@pytest.mark.parametrize("variable, value", [("SIGPROP_TIME_LIMIT", "NaN"), ("SIGPROP_MEMORY_LIMIT", "-1"),
                                             ("SIGPROP_PROGRESS", "on")])
def test_a_wrong_setting_is_refused_by_every_command_whether_or_not_it_reads_it(variable, value, monkeypatch,
                                                                                 capsys):
    # SIGPROP_TIME_LIMIT=NaN was accepted by `stack lm-layers` (which sizes nothing by time) with exit 0
    monkeypatch.setenv(variable, value)
    code, out, err = run_cli(["gap", "--length", "8", "--no-progress"], capsys)
    assert (code, out) == (2, "") and err.startswith(f"sigprop gap: error: {variable} must be ")


def test_lm_summarize_refuses_a_run_reached_twice(tmp_path, capsys):
    # `lm summarize RUN RUN` (or a folder and one of its runs) counted the run as two seeds, exit 0
    run = tmp_path / "runs" / "r0"
    run.mkdir(parents=True)
    (run / "run.json").write_text('{"steps_done": 1}')          # unfinished: read, then left out
    for argv in ([run, run], [tmp_path / "runs", run]):
        code, out, err = run_cli(["lm", "summarize", *argv, "--no-progress"], capsys)
        assert (code, out) == (2, "") and "must reach each run once" in err and err.count("\n") == 0, err
