"""Outputs never destroy what they name: inputs, FIFOs, devices; temporary files never outlive a write;
a figure that fails never loses the result it draws (docs/contract.md, "Output paths")."""
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sigprop import cli
from sigprop.core.checks import ArgumentError
from sigprop.core.results import TEMPORARY_MARK, atomic_write, remove_stale_temporaries, write_json

PREDICT = ["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8"]


def _run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err.strip()


def _one_line_refusal(code, out, err, flag):
    assert code == 2 and not out and len(err.splitlines()) == 1 and f"argument {flag}:" in err, (code, out, err)


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "W.npy"
    np.save(path, 0.1 * np.eye(4))
    return path


@pytest.mark.parametrize("command", ["predict", "validate"])
@pytest.mark.parametrize("link", ["same", "symlink", "hardlink", "relative"])
def test_an_output_that_is_an_input_is_refused_before_the_work(command, link, weights, tmp_path, capsys,
                                                               monkeypatch):
    before = weights.read_bytes()
    out = {"same": weights, "symlink": tmp_path / "link.npy", "hardlink": tmp_path / "hard.npy",
           "relative": "./W.npy"}[link]
    if link == "symlink":
        os.symlink(weights, out)
    elif link == "hardlink":
        os.link(weights, out)
    monkeypatch.chdir(tmp_path)
    code, o, err = _run([command, "--weights", weights, "--length", "8", "--out", out], capsys)
    _one_line_refusal(code, o, err, "--out")
    assert "is the input --weights" in err
    assert weights.read_bytes() == before and not [p for p in os.listdir(tmp_path) if TEMPORARY_MARK in p]


def test_lm_summarize_does_not_replace_the_run_record_it_reads(tmp_path, capsys):
    run = tmp_path / "runs" / "r0"
    run.mkdir(parents=True)
    (run / "run.json").write_text('{"a record": 1}')
    code, out, err = _run(["lm", "summarize", tmp_path / "runs", "--out", run / "run.json"], capsys)
    _one_line_refusal(code, out, err, "--out")
    assert "is the input DIR" in err and (run / "run.json").read_text() == '{"a record": 1}'


def test_the_config_beside_a_checkpoint_is_an_input(tmp_path, capsys):
    from safetensors.numpy import save_file
    save_file({"x": np.zeros(2, dtype=np.float32)}, str(tmp_path / "m.safetensors"))
    (tmp_path / "config.json").write_text('{"num_attention_heads": 2}')
    os.symlink(tmp_path / "config.json", tmp_path / "config.png")
    code, out, err = _run(["heads", tmp_path / "m.safetensors", "--plot", tmp_path / "config.png"], capsys)
    _one_line_refusal(code, out, err, "--plot")
    assert (tmp_path / "config.json").read_text() == '{"num_attention_heads": 2}'


def test_a_fifo_given_as_output_stays_a_fifo(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, out, err = _run([*PREDICT, "--out", fifo], capsys)
    _one_line_refusal(code, out, err, "--out")
    assert "FIFO" in err and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_device_given_as_output_is_refused(capsys):
    code, out, err = _run([*PREDICT, "--out", os.devnull], capsys)
    _one_line_refusal(code, out, err, "--out")
    assert "character device" in err and stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_two_outputs_naming_one_file_are_refused(tmp_path, capsys):
    code, out, err = _run([*PREDICT, "--out", tmp_path / "x.png", "--plot", tmp_path / "x.png"],
                          capsys)
    _one_line_refusal(code, out, err, "--plot")


def test_a_file_name_too_long_is_one_line(tmp_path, capsys):
    code, out, err = _run([*PREDICT, "--out", tmp_path / ("r" * 5000 + ".json")], capsys)
    _one_line_refusal(code, out, err, "--out")
    assert "too long" in err and len(err) < 300


def test_the_api_refuses_to_replace_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ArgumentError, match="FIFO"):
        write_json(fifo, {"a": 1})
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_temporary_files_carry_the_mark_and_are_removed_on_error(tmp_path):
    seen = []

    def fail(tmp):
        seen.append(os.path.basename(tmp))
        open(tmp, "w").write("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "r.json", fail)
    assert seen[0].startswith(f".r.json{TEMPORARY_MARK}{os.getpid()}-") and seen[0].endswith(".json")
    assert not list(tmp_path.iterdir())


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_the_target_are_removed_by_the_next_write(tmp_path):
    dead = tmp_path / f".r.json{TEMPORARY_MARK}{_dead_pid()}-abc.json"
    alive = tmp_path / f".r.json{TEMPORARY_MARK}{os.getppid()}-def.json"    # a concurrent writer, alive
    other = tmp_path / f".s.json{TEMPORARY_MARK}{_dead_pid()}-abc.json"     # another target's
    for p in (dead, alive, other):
        p.write_text("partial")
    write_json(tmp_path / "r.json", {"a": 1})
    assert not dead.exists() and alive.exists() and other.exists()
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": 1}
    assert remove_stale_temporaries(tmp_path / "s.json") == [other]


def test_a_write_killed_by_sigkill_leaves_a_temporary_the_next_write_removes(tmp_path):
    target = tmp_path / "r.json"
    script = textwrap.dedent(f"""
        import time
        from sigprop.core.results import atomic_write
        def slow(tmp):
            open(tmp, "w").write("partial")
            print("writing", flush=True)
            time.sleep(60)
        atomic_write({str(target)!r}, slow)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and TEMPORARY_MARK in left[0] and not target.exists()
    write_json(target, {"a": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_figure_that_fails_keeps_the_result(tmp_path, capsys, monkeypatch):
    from sigprop.rho import prediction  # the study's figure lives beside it

    def broken(result, path):
        raise UnboundLocalError("cannot access local variable 'x'")
    monkeypatch.setattr(prediction, "profile_figure", broken)
    code, out, err = _run(["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8", "--out",
                           tmp_path / "r.json", "--plot", tmp_path / "r.png",
                           "--format", "json"], capsys)
    assert code == 2 and json.loads(out)["rho"] and json.loads((tmp_path / "r.json").read_text())["rho"]
    assert err == (f"sigprop predict: error: argument --plot: cannot draw {tmp_path / 'r.png'}: "
                   "UnboundLocalError: cannot access local variable 'x'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_nnt_stable_rank_draws_one_configuration(tmp_path, capsys):
    # one configuration leaves three of the four panels empty (the figure failed there), and a gamma
    # other than 1 left every panel empty
    for gammas in ("1", "0.5"):
        code, out, err = _run(["nnt", "stable-rank", "--config", "A(X)_perp+skip+LN", "--lengths", "8,12",
                               "--gammas", gammas, "--layers", "2", "--seeds", "0,1", "--plot",
                               tmp_path / f"F{gammas}.png", "--out", tmp_path / f"F{gammas}.json"], capsys)
        assert code == 0 and not err and "A(X)_perp+skip+LN" in out, err
        assert (tmp_path / f"F{gammas}.png").stat().st_size > 10_000


@pytest.mark.parametrize("command", [["lm", "train", "--steps", "2", "--eval-every", "1"],
                                     ["lm", "collapse", "--windows", "2", "--layers", "1", "--seeds", "1"]])
def test_an_output_in_the_corpus_folder_is_refused(tmp_path, capsys, command):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for split in ("train", "valid", "test"):
        (corpus / f"wiki.{split}.raw").write_text("hello world this is text\n" * 400)
    before = (corpus / "wiki.valid.raw").read_bytes()
    code, out, err = _run([*command, "--corpus", corpus, "--tokenizer", "bytes", "--out", corpus / "wiki.valid.raw"],
                          capsys)
    assert code == 2 and not out and len(err.splitlines()) == 1
    assert "argument --out" in err and "is the input --corpus" in err
    assert (corpus / "wiki.valid.raw").read_bytes() == before
