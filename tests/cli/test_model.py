"""The one-layer attention commands: train, locater-sweep, gradcheck."""
import json
import os
import sys

import pytest

from sigprop import cli


def test_diverging_run_stops_with_a_clear_error(capsys):
    code = cli.main(["train", "--steps", "50", "--lr", "1e6", "--optimizer", "sgd", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "argument --lr: is too large" in err and "diverged" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_train_writes_record_and_plot(capsys, tmp_path):
    out, png = tmp_path / "run.json", tmp_path / "run.png"
    code = cli.main(["train", "--task", "teacher", "--steps", "30", "--seed", "0", "--out", str(out),
                     "--plot", str(png), "--format", "json"])
    printed = json.loads(capsys.readouterr().out)
    record = json.loads(out.read_text())
    assert code == 0 and record == printed            # the printed JSON is the file, type tag included
    assert record.pop("sigprop_type") == "attention-training" and record.pop("sigprop_keys") == {"history": ["step"]}
    assert record["config"]["steps"] == 30 and record["history"][-1]["step"] == 30
    assert png.stat().st_size > 10_000
    assert set(os.listdir(tmp_path)) == {"run.json", "run.png"}      # no temporary files left


def test_train_table_names_the_eigenvalue_columns(capsys):
    """tr(W^2)/d - m^2 goes negative for a non-symmetric W: the table calls it that, beside the
    spread of the complex eigenvalues and LocAteR's R(W), never "var"."""
    assert cli.main(["train", "--steps", "4", "--log-every", "2", "--dim", "4", "--length", "8",
                     "--probe", "64"]) == 0
    header = capsys.readouterr().out.splitlines()[1].split()
    assert header[3:7] == ["eig_mean", "tr(W^2)/d-m^2", "mean|lambda-m|^2", "R(W)"]
    assert not any("var" in h for h in header)


def test_gradcheck_command(capsys):
    assert cli.main(["gradcheck"]) == 0
    assert "passed" in capsys.readouterr().out
    assert cli.main(["gradcheck", "--threshold", "1e-15"]) == 1
    assert "FAILED" in capsys.readouterr().out


@pytest.mark.parametrize("argv, needle", [
    (["train", "--steps", "-1"], "argument --steps: must be an integer >= 1, got -1"),
    (["train", "--steps", "0"], "argument --steps: must be an integer >= 1, got 0"),          # as `lm train`
    (["locater-sweep", "--steps", "0"], "argument --steps: must be an integer >= 1, got 0"),
    (["train", "--lr", "0"], "argument --lr: must be > 0"),
    (["train", "--locater", "-0.1"], "argument --locater: must be >= 0"),
    (["train", "--task", "copy"], "argument --task: invalid choice"),
    (["locater-sweep", "--lambdas", "0,-1"], "argument --lambdas: must be >= 0"),
    (["locater-sweep", "--seeds", ""], "argument --seeds"),
])
def test_bad_training_input_exits_2(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:      # argparse errors exit, API errors return 2
        sys.exit(cli.main(argv))
    err = capsys.readouterr().err
    assert exc.value.code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_sweep_table(capsys):
    code = cli.main(["locater-sweep", "--steps", "10", "--lambdas", "0,0.5", "--seeds", "0",
                     "--probe", "64", "--no-progress"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(out) == 4                     # title, header, one row per lambda
    assert out[0].startswith("# task = next-token") and out[1].split()[:2] == ["lambda", "eig_mean"]
    assert [float(line.split()[0]) for line in out[2:]] == [0.0, 0.5]


def test_locater_variant_and_mean_reach_the_run(tmp_path):
    out = tmp_path / "run.json"
    assert cli.main(["train", "--steps", "4", "--log-every", "2", "--probe", "16", "--locater", "0.5",
                     "--locater-variant", "symmetric", "--locater-mean", "initial", "--format", "json",
                     "--no-progress", "--out", str(out)]) == 0
    cfg = json.loads(out.read_text())["config"]
    assert cfg["locater_variant"] == "symmetric" and cfg["locater_mean"] == "initial"


@pytest.mark.parametrize("flag, value", [("--locater-mean", "banana"), ("--locater-variant", "nope")])
def test_bad_locater_choices_are_refused(flag, value, capsys):
    try:                              # argparse exits; an API refusal returns
        code = cli.main(["train", "--steps", "1", flag, value, "--no-progress"])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err


@pytest.mark.parametrize("argv, needle", [
    (["train", "--steps", "5", "--batch", "100000000"], "argument --batch: needs about"),
    (["train", "--steps", "5", "--length", "100000"], "argument --length: needs about"),
])
def test_train_memory_refusal_names_the_flag_that_drives_it(capsys, monkeypatch, argv, needle):
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "1000000000")
    code = cli.main([*argv, "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2 and not out and len(err.strip().splitlines()) == 1 and needle in err, err
