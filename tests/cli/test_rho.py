"""The command line: outputs, plots, result files and refusal of bad input."""
import json
import sys

import numpy as np
import pytest

from sigprop import cli
from tests.helpers import bonferroni_z

MODEL = ["--mean", "0.5", "--var", "0.1", "--dim", "64", "--length", "128"]


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_json(capsys):
    code, out, _ = run(capsys, "predict", *MODEL, "--format", "json")
    res = json.loads(out)
    assert code == 0
    assert res["positions"] == list(range(1, 129))
    assert len(res["rho"]) == len(res["mean"]) == len(res["variance"]) == 128
    assert res["config"] == {"T": 128, "form": "finite", "method": "auto", "m": 0.5, "v": 0.1, "d": 64,
                             "scale": 0.125, "shape": "gaussian"}
    assert res["method"] in ("gaussian", "exact") and res["method_reason"].startswith("auto: ")
    assert set(res["localization"]) >= {"total", "entropy", "peak", "width"}


def test_predict_table_csv_and_plot(capsys, tmp_path):
    code, out, _ = run(capsys, "predict", *MODEL, "--plot", str(tmp_path / "p.png"))
    assert code == 0 and "localization: total =" in out and len(out.splitlines()) == 128 + 4
    assert out.splitlines()[-1].startswith("method: ") and "(auto: " in out.splitlines()[-1]
    assert (tmp_path / "p.png").stat().st_size > 1000
    code, out, _ = run(capsys, "predict", *MODEL, "--format", "csv")
    lines = out.strip().splitlines()
    assert lines[0] == "position,rho,mean,variance,rho_error" and len(lines) == 129     # auto ran exact


def test_validate_json_and_result_file(capsys, tmp_path):
    out_file = tmp_path / "v.json"
    code, out, _ = run(capsys, "validate", *MODEL, "--samples", "2000", "--seed", "0", "--format", "json",
                       "--no-progress", "--out", str(out_file))
    res = json.loads(out)
    written = json.loads(out_file.read_text())
    assert code == 0 and written == res and res["sigprop_type"] == "validation"     # the file, type tag included
    for key in ("rho_mc", "ci_low", "ci_high", "mean_mc", "variance_mc", "max_abs_error"):
        assert key in res
    assert res["config"]["samples"] == 2000 and res["config"]["seed"] == 0
    assert np.isclose(res["max_abs_error"], np.max(np.abs(np.subtract(res["rho"], res["rho_mc"]))))
    code, again, _ = run(capsys, "validate", *MODEL, "--samples", "2000", "--seed", "0", "--format", "json",
                         "--no-progress")
    assert json.loads(again) == res                     # same seed, same numbers


def test_validate_non_symmetric_weights(capsys, tmp_path):
    # closed-form mean and variance of a non-symmetric W within sampling error
    W = np.random.default_rng(0).standard_normal((6, 6))
    np.save(tmp_path / "W.npy", W)
    code, out, err = run(capsys, "validate", "--weights", str(tmp_path / "W.npy"), "--length", "10",
                         "--samples", "100000", "--seed", "0", "--format", "json")
    res = json.loads(out)
    assert code == 0 and "simulating" not in err       # no progress bar: stderr is not a terminal here
    assert res["config"]["symmetric"] is False
    z = bonferroni_z(1e-3, 20)
    assert res["mean_max_z"] <= z and res["variance_max_z"] <= z


def test_validate_table_summary(capsys):
    code, out, _ = run(capsys, "validate", "--mean", "1", "--var", "0.5", "--dim", "4", "--length", "6",
                       "--samples", "500", "--no-progress")
    assert code == 0 and out.splitlines()[-1].startswith("summary: largest |rho - rho_mc|")


@pytest.fixture
def bad_files(tmp_path):
    np.save(tmp_path / "rect.npy", np.ones((2, 3)))
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan], [0.0, 1.0]]))
    (tmp_path / "text.npy").write_text("not an array")
    return tmp_path


@pytest.mark.parametrize("argv, needle", [
    (["predict", "--mean", "0.5", "--var", "-1", "--dim", "4", "--length", "8"], "argument --var: must be >= 0"),
    (["predict", "--mean", "0.5", "--var", "1", "--dim", "4", "--length", "1"],
     "argument --length: must be an integer >= 2"),
    (["predict", "--mean", "0.5", "--var", "1", "--dim", "0", "--length", "8"], "argument --dim: must be >= 1"),
    (["predict", "--mean", "0.5", "--var", "1", "--dim", "x", "--length", "8"], "argument --dim: must be an integer"),
    (["predict", "--mean", "nan", "--var", "1", "--dim", "4", "--length", "8"], "argument --mean: must be finite"),
    (["predict", "--var", "1", "--dim", "4", "--length", "8"], "argument --mean: required"),
    (["predict", "--weights", "{d}/rect.npy", "--length", "8"], "argument --weights: must be a square"),
    (["predict", "--weights", "{d}/nan.npy", "--length", "8"], "argument --weights: must have finite entries"),
    (["predict", "--weights", "{d}/text.npy", "--length", "8"], "cannot read"),
    (["predict", "--weights", "{d}/missing.npy", "--length", "8"], "file not found"),
    (["predict", "--weights", "{d}/rect.npy", "--mean", "1", "--length", "8"], "argument --weights"),
    (["validate", "--mean", "0.5", "--var", "1", "--dim", "4", "--length", "8", "--samples", "0"],
     "argument --samples: must be an integer >= 3"),
    (["validate", "--mean", "0.5", "--var", "1", "--dim", "1", "--length", "8"], "argument --var: must be 0"),
    (["validate", "--mean", "0.5", "--var", "1", "--dim", "4", "--length", "8", "--seed", "-3"],
     "argument --seed: must be >= 0"),
])
def test_bad_input_one_line_exit_2(capsys, bad_files, argv, needle):
    argv = [a.replace("{d}", str(bad_files)) for a in argv]
    with pytest.raises(SystemExit) as exc:       # argparse-level errors exit directly
        sys.exit(cli.main(argv))
    _, err = capsys.readouterr()
    assert exc.value.code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_exact_method_on_the_command_line(capsys):
    code, out, _ = run(capsys, "predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8",
                       "--method", "exact", "--format", "json")
    res = json.loads(out)
    assert code == 0 and res["method"] == "exact" and max(res["rho_error"]) < 1e-6
    code, out, _ = run(capsys, "validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8",
                       "--samples", "20000", "--no-progress", "--format", "json", "--method", "both")
    res = json.loads(out)
    assert set(res["methods"]) == {"gaussian", "exact"}
    assert res["methods"]["exact"]["max_abs_error"] < res["methods"]["gaussian"]["max_abs_error"]


def test_gaussian_error_quick(capsys, tmp_path):
    code, out, _ = run(capsys, "gaussian-error", "--quick", "--no-progress", "--format", "json",
                       "--plot", str(tmp_path / "g.png"))
    res = json.loads(out)
    assert code == 0 and len(res["rows"]) == 6 and (tmp_path / "g.png").stat().st_size > 10_000
    small = [r for r in res["rows"] if r["d"] == 2]
    large = [r for r in res["rows"] if r["d"] == 32]
    assert min(r["gauss_vs_exact"] for r in small) > max(r["gauss_vs_exact"] for r in large)


def test_choices_agree_with_the_api():
    """The families repeat the API's choices so that building the parser stays light."""
    from sigprop.cli import gap as gap_cli
    from sigprop.cli import model as model_cli
    from sigprop.cli import rho as rho_cli
    from sigprop.gap import collapse, spectra
    from sigprop.model import attention, locater, optim, train
    from sigprop.rho import spectrum, theory

    assert rho_cli.SHAPES == spectrum.SHAPES and rho_cli.FORMS == theory.FORMS and rho_cli.METHODS == theory.METHODS
    assert model_cli.TASKS == train.TASKS and model_cli.ATTENTIONS == attention.ATTENTIONS
    assert set(model_cli.OPTIMIZERS) == set(optim.OPTIMIZERS)
    assert model_cli.LOCATER_VARIANTS == locater.VARIANTS
    assert gap_cli.MODELS == spectra.MODELS and gap_cli.VARIANTS == collapse.VARIANTS
    import inspect
    for function in (spectra.report, collapse.width, collapse.depth):
        assert inspect.signature(function).parameters["d"].default == gap_cli.DEFAULT_DIM


def test_validate_runs_only_the_method_asked_for(capsys, monkeypatch):
    """--method gaussian never calls the exact method; the summary is compare()'s."""
    import sigprop as sp
    from sigprop.rho import exact
    from sigprop.rho.compare import compare

    def forbidden(*args, **kwargs):
        raise AssertionError("the exact method ran")

    monkeypatch.setattr(exact, "band", forbidden)
    monkeypatch.setattr(exact, "theory", forbidden)
    code, out, _ = run(capsys, "validate", *MODEL, "--samples", "2000", "--seed", "3", "--no-progress",
                       "--method", "gaussian", "--format", "json")
    res = json.loads(out)
    assert code == 0 and set(res["methods"]) == {"gaussian"} and res["config"]["method"] == "gaussian"
    w_seed, mc_seed = np.random.SeedSequence(3).spawn(2)
    W = sp.make_weights(0.5, 0.1, 64, seed=w_seed)
    c = compare(sp.theory_spectrum(0.5, 0.1, 64, 128, method="gaussian"),
                sp.simulate(W, 128, samples=2000, seed=mc_seed))
    for key, value in c.as_dict().items():
        assert np.isclose(res[key], value) and np.isclose(res["methods"]["gaussian"][key], value)


def test_validate_exact_only(capsys):
    code, out, _ = run(capsys, "validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8",
                       "--samples", "2000", "--no-progress", "--format", "json", "--method", "exact")
    res = json.loads(out)
    assert code == 0 and set(res["methods"]) == {"exact"} and max(res["rho_error"]) < 1e-6
    assert res["config"]["shape"] == "gaussian"


@pytest.mark.parametrize("argv, needle", [
    (["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8", "--scale", "0"],
     "argument --scale: must be > 0"),
    (["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8", "--form", "limit",
      "--method", "exact"], "argument --method: 'exact' needs form 'finite'"),
    (["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8", "--form", "antrp",
      "--scale", "0.3"], "argument --scale: is fixed to 1/sqrt(d)"),
    (["validate", *MODEL, "--confidence", "1.5"], "argument --confidence: must be < 1"),
    (["validate", *MODEL, "--batch-size", "0"], "argument --batch-size: must be an integer >= 1"),
    # memory and range: refused before any allocation, naming the flag that drives the need
    (["predict", "--mean", "0.5", "--var", "0.1", "--dim", "64", "--length", "1000000000"],
     "argument --length: needs about 1.2 TB of memory (a result of 5e+09 numbers written as a table or JSON"),
    (["predict", "--mean", "0.5", "--var", "0.1", "--dim", "64", "--length", "100000", "--query", "all"],
     "argument --length: needs about 320 GB"),
    (["predict", "--mean", "0.5", "--var", "0.1", "--dim", "64", "--length", "100000", "--method", "exact"],
     "argument --length: needs about 2.46 GB"),
    (["validate", "--mean", "0.5", "--var", "0.1", "--dim", "8", "--length", "16", "--samples", "100",
      "--streams", "100000000"], "argument --streams: must be an integer in 1..min(samples, 65536) = 100"),
    (["validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8", "--samples", "100",
      "--dtype", "float32", "--scale", "1e30"], "argument --scale: is too large to simulate in float32"),
    (["predict", "--mean", "0.5", "--var", "0.1", "--dim", "64", "--length", "128", "--scale", "1e300"],
     "argument --scale: is too large"),
    # W drawn from --mean/--var: the one that makes it large is named, not --weights
    (["validate", "--mean", "0.5", "--var", "1e300", "--dim", "4", "--length", "8", "--samples", "100",
      "--dtype", "float32"], "argument --var: is too large to simulate in float32"),
    (["validate", "--mean", "1e150", "--var", "0.1", "--dim", "4", "--length", "8", "--samples", "100",
      "--dtype", "float32"], "argument --mean: is too large to simulate in float32"),
])
def test_api_errors_name_the_flag(capsys, monkeypatch, argv, needle):
    """Refused in one line naming the flag; memory needs against a 1 GB limit, before any allocation."""
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "1000000000")
    code, out, err = run(capsys, *argv, "--no-progress")
    assert code == 2 and not out and len(err.strip().splitlines()) == 1 and needle in err, err


def test_saddlepoint_method_and_threads(capsys):
    small = ["--mean", "0.5", "--var", "0.1", "--dim", "8", "--length", "16"]
    code, out, _ = run(capsys, "predict", *small, "--method", "saddlepoint", "--format", "json")
    res = json.loads(out)
    assert code == 0 and res["method"] == "saddlepoint" and len(res["rho_error"]) == 16
    code, out, _ = run(capsys, "validate", *small, "--samples", "2000", "--threads", "2", "--streams", "3",
                       "--no-progress", "--method", "saddlepoint", "--format", "json")
    res = json.loads(out)
    assert code == 0 and res["config"]["streams"] == 3
    code, _, err = run(capsys, "validate", *small, "--samples", "2000", "--threads", "0", "--no-progress")
    assert code == 2 and "argument --threads" in err
    code, _, err = run(capsys, "validate", *small, "--samples", "2000", "--streams", "0", "--no-progress")
    assert code == 2 and "argument --streams" in err


@pytest.mark.parametrize("extra, flag", [(["--seed", "5"], "--seed"),
                                         (["--shape", "uniform", "--method", "gaussian"], "--shape"),
                                         (["--shape", "uniform", "--method", "saddlepoint"], None),
                                         (["--shape", "uniform"], None)])
def test_predict_warns_of_flags_that_cannot_change_the_numbers(capsys, extra, flag):
    """The closed form draws no random numbers and its Gaussian form sees only m and v: such a flag was
    silently ignored; now one warning line after the result, and it is not recorded in ``config``."""
    small = ["--mean", "0.5", "--var", "0.1", "--dim", "8", "--length", "16", "--format", "json"]
    code, out, err = run(capsys, "predict", *small, *extra)
    config = json.loads(out)["config"]
    assert code == 0 and "seed" not in config
    if flag is None:                              # the saddle-point and auto (exact) methods use the shape
        assert not err and config["shape"] == "uniform"
    else:
        assert err.splitlines() == [err.strip()] and (flag != "--shape" or "shape" not in config)
        assert err.startswith(f"sigprop predict: warning: argument {flag}: has no effect here (")


def test_readme_main_job_prints_the_documented_summary(capsys):
    """The README's main job (same command, same seed: same numbers on every machine) ends with the
    summary line the README quotes, after the line saying which method `auto` ran and why."""
    from pathlib import Path

    code, out, _ = run(capsys, "validate", "--mean", "0.5", "--var", "0.1", "--dim", "64", "--length", "128",
                       "--samples", "100000", "--seed", "0", "--no-progress")
    lines = out.strip().splitlines()
    assert code == 0 and lines[-2].startswith("method: exact (auto: estimated Gaussian error ")
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert f"The main job ends with `{lines[-2]}`" in readme and f"and `{lines[-1]}`" in readme


@pytest.mark.parametrize("argv, expected", [
    (["--quick", "--vars", "1,nan"], "argument --quick: sets --dims, --vars and --samples itself"),
    (["--quick", "--samples", "-1"], "got --samples too"),
    (["--map", "--length", "8"], "argument --map: sets its own grid; only --seed goes with it, got --length"),
    (["--map", "--quick"], "got --quick"),
])
def test_gaussian_error_refuses_flags_its_grid_options_would_ignore(argv, expected, capsys):
    """--quick and --map replaced the grid the user gave without a word (--vars nan, --samples -1 ran
    and exited 0: the sixth hostile-input campaign)."""
    code, out, err = run(capsys, "gaussian-error", *argv, "--no-progress")
    assert code == 2 and not out and err.count("\n") == 1 and expected in err, err


@pytest.mark.parametrize("value", ["1,,2", "1,", ",1", ","])
def test_lists_with_an_empty_item_are_refused(value, capsys):
    """``1,,2`` ran as ``1,2`` (the sixth hostile-input campaign); seeds already refused it."""
    with pytest.raises(SystemExit) as stop:          # argparse's refusal
        cli.main(["gaussian-error", "--vars", value, "--no-progress"])
    code = stop.value.code
    out, err = capsys.readouterr()
    assert code == 2 and not out and "argument --vars: must be a comma-separated list" in err, err
