"""The [NNT24] commands: gap, width, depth."""
import json

import pytest

from sigprop import cli


def test_gap_command_json_and_errors(capsys, tmp_path):
    code = cli.main(["gap", "--length", "128", "--sigma", "0.5", "--seed", "1", "--format", "json",
                     "--plot", str(tmp_path / "g.png")])
    res = json.loads(capsys.readouterr().out)
    assert code == 0 and (tmp_path / "g.png").stat().st_size > 10_000
    for key in ("sigma_1", "sigma_2", "eig_2", "predicted_eig_radius", "predicted_bulk_edge"):
        assert isinstance(res[key], float)
    assert res["config"]["length"] == 128 and res["config"]["sigma"] == 0.5
    assert "eigenvalues" not in res


def test_width_and_depth_commands(capsys, tmp_path):
    assert cli.main(["width", "--lengths", "32,64", "--samples", "2", "--plot", str(tmp_path / "w.png")]) == 0
    out = capsys.readouterr().out
    assert "rescaled" in out and "lengths = [32, 64]" in out.splitlines()[0]
    assert "length =" not in out.splitlines()[0]          # was "length = -": each row holds its own T
    assert cli.main(["depth", "--layers", "2", "--length", "32", "--format", "json",
                     "--plot", str(tmp_path / "d.png")]) == 0
    res = json.loads(capsys.readouterr().out)
    assert len(res["vanilla"]["rank_residual"]) == 3


@pytest.mark.parametrize("argv, needle", [
    (["gap", "--length", "1", "--sigma", "0.5"], "argument --length: must be an integer >= 2"),
    (["gap", "--length", "8", "--sigma", "-1"], "argument --sigma: must be >= 0"),
    (["depth", "--layers", "0"], "argument --layers: must be an integer >= 1"),
    (["depth", "--layers", "2", "--sigma", "0"], "argument --sigma: must be > 0"),
    (["width", "--lengths", "1,8"], "argument --lengths: must be an integer >= 2"),
    (["gap", "--length", "8", "--model", "rnn"], "argument --model: invalid choice"),
    # the Markov matrix has no tokens: a width given with it was recorded in the result and ignored
    (["gap", "--length", "8", "--dim", "8"], "argument --dim: applies only to model 'attention'"),
])
def test_bad_gap_input_exits_2(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        import sys
        sys.exit(cli.main(argv))
    err = capsys.readouterr().err
    assert exc.value.code == 2 and needle in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, needle", [
    (["gap", "--length", "64", "--model", "attention", "--dim", "100000000"], "argument --dim: needs about"),
    (["gap", "--length", "100000"], "argument --length: needs about"),
    (["depth", "--layers", "100000000", "--length", "8"], "argument --layers: needs about"),
    (["width", "--lengths", "100000"], "argument --lengths: needs about"),
])
def test_memory_refusal_names_the_flag_that_drives_it(capsys, monkeypatch, argv, needle):
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "1000000000")
    code = cli.main([*argv, "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2 and not out and len(err.strip().splitlines()) == 1 and needle in err, err
