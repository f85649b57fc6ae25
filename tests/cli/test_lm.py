"""The language-model commands: lm train, lm gradcheck, lm sweep (small corpora written here)."""
import json
import sys

import pytest

from sigprop import cli
from sigprop.cli import lm as lmcli
from sigprop.lm import corpus, gradcheck, layers, train, transformer
from tests.lm.test_train import small_corpus

SMALL = ["--vocab", "300", "--width", "16", "--heads", "2", "--length", "16", "--batch", "8", "--lr", "0.01",
         "--warmup", "5", "--eval-every", "5", "--eval-tokens", "256", "--probe", "4", "--no-progress"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus")
    small_corpus(path)
    return str(path)


def test_choices_agree_with_the_api():
    assert lmcli.NORMS == transformer.NORMS and lmcli.ACTIVATIONS == layers.ACTIVATIONS
    assert lmcli.TOKENIZERS == corpus.TOKENIZERS and lmcli.LOCATER_MEANS == train.LOCATER_MEANS


def test_lm_train_record_plot_and_resume(capsys, tmp_path, folder):
    out, png, run = tmp_path / "r.json", tmp_path / "r.png", tmp_path / "run"
    argv = ["lm", "train", "--corpus", folder, *SMALL, "--steps", "10", "--regularizer", "qk-norm",
            "--run-dir", str(run)]
    assert cli.main(argv + ["--out", str(out), "--plot", str(png), "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    record = json.loads(out.read_text())
    assert record == printed                             # the printed JSON is the file, type tag included
    assert record.pop("sigprop_type") == "lm-train" and record.pop("sigprop_keys") == {"history": ["step"]}
    assert record["config"]["model"]["regularizer"] == "qk-norm"
    assert record["history"][-1]["step"] == 10 and png.stat().st_size > 1000
    assert (run / "checkpoint.npz").exists()
    assert cli.main(argv + ["--resume"]) == 0                # finished: resuming changes nothing
    table = capsys.readouterr().out
    assert "final validation perplexity" in table


@pytest.mark.parametrize("argv, needle", [
    (["lm", "train", "--regularizer", "locater"], "argument --regularizer: must be locater:LAMBDA"),
    (["lm", "train", "--width", "10", "--heads", "3"], "argument --width: must be a multiple of heads"),
    (["lm", "train", "--steps", "0"], "argument --steps: must be an integer >= 1"),
    (["lm", "train", "--dropout", "1"], "argument --dropout"),
    (["lm", "train", "--norm", "mid"], "argument --norm: invalid choice"),
    (["lm", "train", "--resume"], "argument --resume: needs --run-dir"),
    (["lm", "train", "--corpus", "/no/such/folder"],
     "argument --corpus: must be 'shakespeare', 'wikipedia' or a directory"),
    (["lm", "train", "--threads", "0"], "argument --threads: must be an integer >= 1"),
    (["lm", "train", "--patience", "-1"], "argument --patience: must be an integer >= 0"),
    (["lm", "train", "--min-improvement", "1"], "argument --min-improvement"),
    (["lm", "sweep", "--dir", "x", "--workers", "0"], "argument --workers: must be an integer >= 1"),
    (["lm", "sweep", "--dir", "x", "--shapes", "2by1"], "argument --shapes: must be LAYERSxHEADS"),
    (["lm", "sweep", "--dir", "x", "--regularizers", "none,bogus"], "argument --regularizers"),
    # once silently replaced by the default shape, counted twice, or a traceback
    (["lm", "sweep", "--dir", "x", "--shapes", "0x1"], "argument --shapes: layers and heads must be >= 1"),
    (["lm", "sweep", "--dir", "x", "--shapes", "1x1,1x1"], "argument --shapes: must not repeat a shape"),
    (["lm", "sweep", "--dir", "x", "--seeds", "0,0"], "argument --seeds: must be distinct"),
    (["lm", "sweep", "--dir", "x", "--regularizers", ","], "argument --regularizers: must be a comma-separated list"),
    # refused before any allocation (a 100000 x 100000 causal mask alone is 10 GB)
    (["lm", "train", "--length", "100000", "--batch", "2"], "argument --length: needs about 1.93 TB"),
    (["lm", "train", "--batch", "10000000", "--probe", "1"], "argument --batch: needs about"),
])
def test_bad_input_exits_2(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        sys.exit(cli.main(argv))
    err = capsys.readouterr().err
    assert exc.value.code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_lm_gradcheck_command(capsys, monkeypatch):
    monkeypatch.setattr(gradcheck, "configurations", lambda: gradcheck.configurations_default()[:1])
    assert cli.main(["lm", "gradcheck"]) == 0
    assert "passed" in capsys.readouterr().out
    assert cli.main(["lm", "gradcheck", "--threshold", "1e-15"]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_lm_sweep_command(capsys, tmp_path, folder):
    argv = ["lm", "sweep", "--corpus", folder, *SMALL, "--steps", "5", "--dir", str(tmp_path),
            "--regularizers", "none,temperature:2", "--seeds", "0,1", "--format", "json"]
    assert cli.main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["regularizer"] for r in res["summary"]] == ["none", "temperature:2"]
    assert all(r["n"] == 2 for r in res["summary"]) and len(list(tmp_path.iterdir())) == 4


def test_lm_sweep_records_keep_the_finished_runs_and_skip_them(capsys, tmp_path, folder):
    """--records DIR: each finished run's run.json (no checkpoint) copied there; a new --dir with the same
    records trains nothing and gives the same summary (a study resumed in another session)."""
    base = ["lm", "sweep", "--corpus", folder, *SMALL, "--steps", "5", "--regularizers", "none",
            "--seeds", "0,1", "--records", str(tmp_path / "records"), "--format", "json", "--no-progress"]
    assert cli.main([*base, "--dir", str(tmp_path / "a")]) == 0
    first = json.loads(capsys.readouterr().out)
    kept = sorted(p.relative_to(tmp_path / "records").as_posix() for p in (tmp_path / "records").rglob("*")
                  if p.is_file())
    assert kept == [f"{run.name}/run.json" for run in sorted((tmp_path / "a").iterdir())] and len(kept) == 2
    for run in (tmp_path / "a").iterdir():
        assert (tmp_path / "records" / run.name / "run.json").read_bytes() == (run / "run.json").read_bytes()
    assert cli.main([*base, "--dir", str(tmp_path / "b")]) == 0
    second = json.loads(capsys.readouterr().out)
    b = tmp_path / "b"
    assert not b.exists() or not any(b.iterdir())         # nothing trained: both runs were recorded
    assert second["summary"] == first["summary"] and second["config"]["records"] == str(tmp_path / "records")


def test_lm_sweep_workers_same_numbers(capsys, tmp_path, folder):
    """Two worker processes store the same numbers as one (each run depends on its seed alone)."""
    stored = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        argv = ["lm", "sweep", "--corpus", folder, *SMALL, "--steps", "5", "--dir", str(out),
                "--regularizers", "none,locater:0.1", "--seeds", "0,1", "--workers", workers, "--format", "json"]
        assert cli.main(argv) == 0
        res = json.loads(capsys.readouterr().out)
        assert res["config"]["workers"] == int(workers) and res["config"]["threads"] == 1
        runs = {}
        for run in sorted(out.iterdir()):
            record = json.loads((run / "run.json").read_text())
            runs[run.name] = ([{k: v for k, v in row.items() if k != "seconds"} for row in record["history"]],
                              record["final"])
        stored.append((runs, [{k: v for k, v in r.items() if k != "seconds"} for r in res["summary"]]))
    assert len(stored[0][0]) == 4 and stored[0] == stored[1]


def test_lm_collapse_command(capsys, folder):
    import numpy as np

    from sigprop.core.threads import blas_threads
    from sigprop.lm import instruments

    argv = ["lm", "collapse", "--corpus", folder, "--vocab", "300", "--layers", "1,3", "--norms", "post",
            "--qk-inits", "1,3", "--seeds", "0,1", "--windows", "2", "--threshold", "0.9", "--format", "json"]
    assert cli.main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    rows = res["rows"]
    assert [(r["layers"], r["qk_init"]) for r in rows] == [(1, 1.0), (1, 3.0), (3, 1.0), (3, 3.0)]
    assert res["config"]["threshold"] == 0.9 and res["config"]["windows"] == 2
    # the measure is the instruments' own, on the model the training would draw for that seed
    cfg = transformer.Config(vocab=300, layers=3, qk_init=3.0)
    data = train.prepare(corpus.load(folder), "bpe", 300, cache=corpus.cache_dir() / "tokenizers")
    probe = corpus.eval_windows(data.ids["valid"], 128)[:2]
    with blas_threads(1):                   # as the command measures: one BLAS thread, the same float32 sums
        m = instruments.heads(transformer.init_params(cfg, np.random.SeedSequence(1).spawn(3)[0]), probe, cfg)
    assert rows[3]["rank_residual_by_seed"][1] == m["rank_residual"][-1]
    for r in rows:
        assert r["collapsed"] == (r["rank_residual_last"] < 0.9)
        assert r["rank_residual_last"] == np.mean(r["rank_residual_by_seed"])


@pytest.mark.parametrize("argv, needle", [
    (["lm", "collapse", "--norms", "mid"], "argument --norms: must be post and/or pre"),
    (["lm", "collapse", "--qk-inits", "0"], "argument --qk-inits"),
    (["lm", "collapse", "--layers", "0"], "argument --layers: must be an integer >= 1"),
])
def test_lm_collapse_bad_input(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        sys.exit(cli.main(argv))
    err = capsys.readouterr().err
    assert exc.value.code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_lm_train_stopping_rule(capsys, tmp_path, folder):
    out = tmp_path / "r.json"
    argv = ["lm", "train", "--corpus", folder, *SMALL, "--steps", "30", "--patience", "1", "--min-improvement", "0.9",
            "--out", str(out)]
    assert cli.main(argv) == 0
    record = json.loads(out.read_text())
    assert record["stopped_early"] and record["steps_done"] < 30 and record["config"]["patience"] == 1
    assert f"(evaluation at step {record['final']['step']})" in capsys.readouterr().out
