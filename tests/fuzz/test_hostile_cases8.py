"""Cases the eighth round of hostile input found or re-checked (docs/contract.md): each is refused in one
line naming its argument (or the spec key that holds it), exit code 2, before any work."""
import json
import os
from pathlib import Path

import pytest

from tests.fuzz.test_hostile_sizes3 import _refused
from tests.helpers import minilm_checkpoint, run_cli

# --- D8: every study of a sweep checks each cell in the driver, before the store or a worker --------------
# (these studies had no cell check: a bad or oversized value made the store, then failed in every cell;
# T = 1e8 in a spec ran 65 s and took 5.7 GB before the cell refused it)

CELL_SPECS = {
    "gaussian-error": ('[args]\nv = 0.1\nT = 100000000\n[axes]\nd = [4]\n', "args.T needs about"),
    "validate": ('[args]\nm = 0.5\nv = 0.1\nd = 4\nsamples = 300\n[axes]\nT = [8, -3]\n',
                 "axes.T = -3: must be an integer >= 2, got -3"),
    "validate-softmax": ('[args]\nm = 0.5\nv = 0.1\nd = 4\nT = 8\nquantity = "nope"\n[axes]\npoints = [64]\n',
                         "args.quantity must be one of"),
    "spectral-gap": ('[args]\nsigma = 0.5\n[axes]\nT = [10, 100000000]\n', "axes.T = 100000000: needs about"),
    "collapse-width": ('[args]\nT = 8\nsigma = -1.0\n[axes]\nd = [4]\n', "args.sigma must be > 0, got -1.0"),
    "collapse-depth": ('[args]\nL = 3\nsigma = 0.5\n[axes]\nT = [8, 10000000]\n',
                       "axes.T = 10000000: needs about"),
    "nnt-stable-rank": ('[args]\nconfig = "A(X)"\ngamma = 1.0\n[axes]\nT = [16, 10000000]\n',
                        "axes.T = 10000000: needs about"),
    "stack-predict": ('[args]\nalpha = 1.0\nT = 8\n[axes]\nbeta = [1.0, 1000000.0]\n', "axes.beta = 1000000.0"),
    "training": ('[args]\nT = -3\n[axes]\nlr = [0.1]\n', "args.T must be an integer >= 2, got -3"),
    "locater": ('[args]\nd = 0\n[axes]\nlr = [0.1]\n', "args.d must be an integer >= 1, got 0"),
    "lm": ('[args]\nvocab = 1000000000\nsteps = 5\n[axes]\nlr = [0.001]\n', "args.vocab needs about"),
}


@pytest.mark.parametrize("study", sorted(CELL_SPECS))
def test_every_study_refuses_a_bad_cell_before_the_store(study, tmp_path, capsys, never):
    from sigprop.sweep import engine

    body, needle = CELL_SPECS[study]
    spec = tmp_path / "s.toml"
    spec.write_text(f'study = "{study}"\nseed = 0\n{body}')
    calls = never(engine, "prepare") + never(engine, "_run")
    _refused(["sweep", spec, "--store", tmp_path / "s.zarr", "--workers", "1", "--no-progress"], capsys,
             "SPEC.toml", needle)
    assert calls == [] and not (tmp_path / "s.zarr").exists()


def test_every_study_of_sigprop_declares_its_cell_check():
    # a study without one makes its store and then fails in every cell: the checks above would not run
    from sigprop.sweep import registry

    unchecked = sorted(name for name, study in registry.studies().items()
                       if study.function.startswith("sigprop.") and study.check is None)
    assert unchecked == []


GOOD_CELLS = {
    "gaussian-error": dict(d=4, v=0.1, T=16, samples=300),
    "validate": dict(m=0.5, v=0.1, d=4, T=8, samples=300),
    "validate-softmax": dict(m=0.5, v=0.1, d=4, T=8, quantity="weight", points=64),
    "softmax": dict(m=0.5, v=0.1, d=4, T=8, samples=1024),
    "spectral-gap": dict(T=10, sigma=0.5, seed=3),
    "collapse-width": dict(T=8, sigma=0.5, d=4),
    "collapse-depth": dict(L=3, T=8, sigma=0.5),
    "nnt-stable-rank": dict(config="A(X)", T=16, gamma=1.0),
    "stack-predict": dict(beta=1.0, alpha=1.0, T=8),
    "training": dict(T=8, lr=0.1),
    "locater": dict(d=4, lr=0.1),
    "lm": dict(steps=5, lr=0.001),
}


@pytest.mark.parametrize("study", sorted(GOOD_CELLS))
def test_a_good_cell_passes_its_check(study):
    # the checks refuse what is wrong, not what is right: the spec above with its bad value made good
    from sigprop.sweep import registry

    entry = registry.get(study)[1]
    registry.resolve(entry.check)(**GOOD_CELLS[study])


# --- D9: validate checks the exact method's time before it draws the weights ------------------------------
# (the 2048 x 2048 QR of the random basis ran 14 s, and the imports and the rest 25-65 s in all, before
# the exact method's time limit refused --length 4096)

def test_validate_refuses_the_exact_method_before_drawing_the_weights(capsys, never):
    from sigprop.rho import logits

    calls = never(logits.LogitModel, "from_spectrum")
    _refused(["validate", "--mean", "0.5", "--var", "0.1", "--method", "exact", "--length", "4096", "--dim",
              "2048"], capsys, "--length", "the exact method", "more than the 120 s accepted")
    assert calls == []


# --- D3: a file retagged as a typed result is read only when its fields fit the type's dimensions ----------
# (the command's validation file retagged 'Validation' loaded, and to_xarray() then failed in xarray)

def _typed_validation(tmp_path):
    from sigprop.rho.logits import LogitModel
    from sigprop.rho.validation import validate

    res = validate(LogitModel.from_spectrum(0.5, 0.1, 4, 6, seed=1), ("gaussian", "exact"), samples=300, seed=2)
    res.save(tmp_path / "V.json")
    return json.loads((tmp_path / "V.json").read_text())


def test_a_retagged_command_file_is_refused_as_a_typed_result(tmp_path, capsys):
    import sigprop

    code, _, _ = run_cli(["validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "6", "--samples",
                          "300", "--out", tmp_path / "v.json"], capsys)
    assert code == 0
    data = json.loads((tmp_path / "v.json").read_text())
    data["sigprop_type"] = "Validation"
    (tmp_path / "x.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="not a sigprop 'Validation' result") as info:
        sigprop.load(tmp_path / "x.json")
    assert "'methods' has shape ()" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(rho=d["rho"][0]), "'rho' has shape (6,) of float64, not numbers over (method, position)"),
    (lambda d: d.update(rho_mc=d["rho_mc"][:-1]), "'rho_mc' has 5 entries along 'position'"),
    (lambda d: d.update(coverage=["a", "b"]), "'coverage' has shape (2,) of <U1"),
    (lambda d: d.update(positions=[[1, 2]]), "'positions' has shape (1, 2)"),
])
def test_a_typed_file_whose_arrays_do_not_fit_is_refused(tmp_path, change, words):
    import sigprop

    data = _typed_validation(tmp_path)
    change(data)
    (tmp_path / "x.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="its fields do not fit the type") as info:
        sigprop.load(tmp_path / "x.json")
    assert words in str(info.value), str(info.value)


def test_a_typed_file_as_written_loads_and_converts(tmp_path):
    import sigprop

    _typed_validation(tmp_path)
    assert sigprop.load(tmp_path / "V.json").to_xarray().rho.dims == ("method", "position")


# --- bench --from: a stored result whose fields are missing or of the wrong type is refused in one line -----
# (KeyError, TypeError and AttributeError tracebacks in suite.targets, suite.markdown and the table)

STORED = Path(__file__).parents[2] / "results" / "bench" / "full.json"


@pytest.mark.parametrize("change, words", [
    (lambda d: d.pop("config"), "it needs the fields 'targets', 'machine' and 'config'"),
    (lambda d: d.update(repeats="x"), "its 'repeats' is str, not an object"),
    (lambda d: d.update(repeats={"mc_over_rng": "x"}), "its 'repeats.mc_over_rng' is 'x', not a list of numbers"),
    (lambda d: d.update(only=5), "its 'only' is 5, not a list of text"),
    (lambda d: d.update(notes=[7]), "its 'notes' is [7], not a list of text"),
    (lambda d: d.update(mc_over_rng="x"), "its 'mc_over_rng' is 'x', not a number"),
    (lambda d: d.update(peak_mb={"mc": "b"}), "its 'peak_mb.mc' is 'b', not a number"),
    (lambda d: d.update(machine={}), "KeyError: 'platform'"),
    (lambda d: d["config"].update(mc_threads_speedup_times=5), "AttributeError"),
])
@pytest.mark.parametrize("form", ["table", "markdown"])
def test_bench_from_refuses_a_result_of_the_wrong_shape(tmp_path, capsys, change, words, form):
    data = json.loads(STORED.read_text())
    change(data)
    (tmp_path / "b.json").write_text(json.dumps(data))
    code, out, err = run_cli(["bench", "--from", tmp_path / "b.json", "--format", form], capsys)
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1, err
    assert "argument --from:" in err and "is not a `sigprop bench --out` result" in err and words in err, err


def test_bench_from_shows_the_stored_result(capsys):
    code, out, _ = run_cli(["bench", "--from", STORED, "--format", "markdown"], capsys)
    assert code == 0 and out.startswith("| measure | value |")


# --- a spec naming an object that is not a function, or a module that exits on import ---------------------

@pytest.mark.parametrize("source, study, words", [
    ("x = 5\n", "x", "study function 'hostile_mod8:x' is int, not a function"),
    ("import sys\n", "sys", "study function 'hostile_mod8:sys' is module, not a function"),
    ("raise SystemExit(0)\n", "f", "importing it exits (SystemExit: 0)"),
    ("raise SystemExit('bye')\n", "f", "importing it exits (SystemExit: bye)"),
])
def test_a_spec_study_that_is_no_function_is_refused(tmp_path, capsys, monkeypatch, source, study, words):
    import sys

    (tmp_path / "hostile_mod8.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hostile_mod8", raising=False)
    spec = tmp_path / "s.toml"
    spec.write_text(f'study = "hostile_mod8:{study}"\n[axes]\nT = [1]\n')
    code, out, err = run_cli(["sweep", spec, "--store", tmp_path / "s.zarr"], capsys)
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1 and words in err, err
    assert not (tmp_path / "s.zarr").exists()


# --- a store whose stored specification or metadata is damaged: one line naming the store -------------------

@pytest.fixture(scope="module")
def profile_store(tmp_path_factory):
    from sigprop.sweep import run as run_sweep

    folder = tmp_path_factory.mktemp("store8")
    spec = folder / "s.toml"
    spec.write_text('study = "profile"\n[args]\nm = 0.5\nv = 0.1\nd = 4\n[axes]\nT = [4, 5]\n')
    run_sweep(spec, folder / "s.zarr", progress=False)
    return spec, folder / "s.zarr"


@pytest.mark.parametrize("stored", ["{}", '{"study": "nope", "axes": {}}', '{"study": "profile"}'])
@pytest.mark.parametrize("status", [True, False])
def test_a_store_with_a_damaged_specification_names_the_store(tmp_path, capsys, profile_store, stored, status):
    import shutil

    spec, store = profile_store
    shutil.copytree(store, tmp_path / "d.zarr")
    attrs = json.loads((tmp_path / "d.zarr" / ".zattrs").read_text())
    attrs["sweep_spec"] = stored
    (tmp_path / "d.zarr" / ".zattrs").write_text(json.dumps(attrs))
    argv = [tmp_path / "d.zarr", "--status"] if status else [spec, "--store", tmp_path / "d.zarr"]
    code, out, err = run_cli(["sweep", *argv], capsys)
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1, err
    assert "argument --store:" in err and "is damaged: its stored sweep specification is not valid" in err, err
    assert err.count("overwrite (--overwrite)") == 1, err


@pytest.mark.parametrize("zattrs, zgroup", [("garbage", None), ("{}", None), (None, "xx")])
def test_load_of_a_folder_with_damaged_zarr_metadata_is_one_line(tmp_path, profile_store, zattrs, zgroup):
    import shutil

    import sigprop

    shutil.copytree(profile_store[1], tmp_path / "g")
    for name, text in ((".zattrs", zattrs), (".zgroup", zgroup)):
        if text is not None:
            (tmp_path / "g" / name).write_text(text)
    if zattrs is not None:
        (tmp_path / "g" / ".zmetadata").unlink()
    with pytest.raises(ValueError, match="is damaged or not a sweep store: it cannot be opened") as info:
        sigprop.load(tmp_path / "g")
    assert "\n" not in str(info.value)


# --- a tokenizer that cannot encode the texts (an empty vocabulary): one line naming it ----------------------

def test_heads_text_refuses_a_tokenizer_that_cannot_encode(tmp_path, capsys):
    checkpoint = Path(minilm_checkpoint())
    tok = json.loads((checkpoint.parent / "tokenizer.json").read_text())
    tok["model"]["vocab"], tok["added_tokens"], tok["post_processor"] = {}, [], None
    (tmp_path / "tokenizer.json").write_text(json.dumps(tok))
    code, out, err = run_cli(["heads-text", checkpoint, "--tokenizer", tmp_path / "tokenizer.json"], capsys)
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1, err
    assert "argument --tokenizer: cannot encode the text of" in err and "Missing [UNK]" in err, err


# --- sigprop.load: fields that to_xarray() could not convert are refused when the file is read ----------------
# (a mutation campaign over every field of a prediction, a validation (command and typed), a gaussian-error
# map, a heads list and a language-model run found 62 files that loaded and then raised in to_xarray)

def _command_file(tmp_path, capsys, argv, name):
    code, _, _ = run_cli([*argv, "--out", tmp_path / name], capsys)
    assert code == 0
    return json.loads((tmp_path / name).read_text())


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(method=5), "'method' is 5, not text"),
    (lambda d: d.update(sigprop_dims={"rho": [[1]]}), "'sigprop_dims' is"),
    (lambda d: d.update(sigprop_keys=5), "'sigprop_keys' is 5"),
])
def test_load_refuses_command_fields_of_the_wrong_type(tmp_path, capsys, change, words):
    import sigprop

    data = _command_file(tmp_path, capsys, ["validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length",
                                            "6", "--samples", "300"], "v.json")
    change(data)
    (tmp_path / "x.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="its fields do not fit the type") as info:
        sigprop.load(tmp_path / "x.json")
    assert words in str(info.value), str(info.value)


@pytest.mark.parametrize("change, words", [
    (lambda rows: rows[0].update(d=[4]), "a record of 'rows' has 'd' = [4], not one value"),
    (lambda rows: rows[1].update(d=rows[0]["d"], v=rows[0]["v"]), "two records of 'rows' have the same d, v"),
])
def test_load_refuses_records_whose_keys_do_not_name_one_record(tmp_path, capsys, change, words):
    import sigprop

    data = _command_file(tmp_path, capsys, ["gaussian-error", "--dims", "2,4", "--vars", "0.1", "--length", "8",
                                            "--samples", "300"], "g.json")
    change(data["rows"])
    (tmp_path / "x.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="its fields do not fit the type") as info:
        sigprop.load(tmp_path / "x.json")
    assert words in str(info.value), str(info.value)


def test_load_refuses_a_typed_result_whose_config_is_no_object(tmp_path):
    import sigprop

    data = _typed_validation(tmp_path)
    data["config"] = [1, 2]
    (tmp_path / "x.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="'config' is list, not an object"):
        sigprop.load(tmp_path / "x.json")


@pytest.mark.parametrize("change, words", [
    (lambda rows: rows[0].update(head=[1]), "a record has 'head' = [1], not an integer"),
    (lambda rows: rows[1].update(layer=rows[0]["layer"], head=rows[0]["head"]),
     "two records of 'records' have the same layer, head"),
    (lambda rows: rows[1].update(rho=rows[1]["rho"][:-1]), "the records' 'rho' differ in length"),
])
def test_load_refuses_a_heads_list_whose_records_do_not_fit(tmp_path, capsys, change, words):
    import sigprop

    code, out, _ = run_cli(["heads", minilm_checkpoint(), "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)
    change(rows)
    (tmp_path / "h.json").write_text(json.dumps(rows))
    with pytest.raises(ValueError, match="its fields do not fit the type") as info:
        sigprop.load(tmp_path / "h.json")
    assert words in str(info.value), str(info.value)


# --- borderline cases of the seventh campaign, now refused --------------------------------------------------

def test_heads_text_refuses_max_tokens_below_two_before_reading_the_checkpoint(capsys, never):
    # refused after 7.7 s (the tokenizer and the checkpoint read first); the upper bound needs the checkpoint
    from sigprop.checkpoints import realtext

    calls = never(realtext, "_tokenizer") + never(realtext, "load")
    code, out, err = run_cli(["heads-text", minilm_checkpoint(), "--max-tokens", "0"], capsys)
    assert (code, out) == (2, "") and "argument --max-tokens: must be an integer >= 2, got 0" in err, err
    assert calls == []


@pytest.mark.parametrize("extra, flag", [(["--plot", "rho"], "--plot"), (["--figure", "x.png"], "--figure")])
def test_sweep_status_refuses_the_plot_options(tmp_path, capsys, profile_store, extra, flag):
    # --status --plot VAR printed the counts and drew nothing
    code, out, err = run_cli(["sweep", profile_store[1], "--status", *extra], capsys)
    assert (code, out) == (2, "") and f"argument {flag}:" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("eps", [-1, 0, "x", True, None])
def test_a_checkpoint_config_with_a_bad_layer_norm_eps_is_refused_with_the_config(tmp_path, capsys, eps, never):
    # a negative eps was read only when the first LayerNorm ran (after the tokenizer and the tensors)
    from sigprop.checkpoints import heads

    source = Path(minilm_checkpoint()).parent
    for name in ("model.safetensors", "tokenizer.json"):
        os.symlink(source / name, tmp_path / name)
    config = json.loads((source / "config.json").read_text())
    config["layer_norm_eps"] = eps
    (tmp_path / "config.json").write_text(json.dumps(config))
    calls = never(heads, "_safetensors")
    code, out, err = run_cli(["heads-text", tmp_path / "model.safetensors"], capsys)
    assert (code, out) == (2, "") and "argument --config: layer_norm_eps must be a finite number > 0" in err, err
    assert calls == []


def test_lm_collapse_refuses_more_windows_than_the_split_holds():
    # --windows 1000000 measured the split's 5 windows and said nothing (the config recorded 5)
    import numpy as np

    from sigprop.core.checks import ArgumentError
    from sigprop.lm import collapse, transformer

    ids = np.arange(5 * 16 + 3) % 50
    with pytest.raises(ArgumentError, match=r"windows must be in \[1, 5\] \(the validation split's windows of 16"):
        collapse.at_init(ids, layers=[1], norms=["post"], qk_inits=[1.0], seeds=[0], windows=1_000_000,
                         base=transformer.Config(vocab=50, length=16, width=8, ff=8))
    res = collapse.at_init(ids, layers=[1], norms=["post"], qk_inits=[1.0], seeds=[0], windows=5,
                           base=transformer.Config(vocab=50, length=16, width=8, ff=8))
    assert res["config"]["windows"] == 5


# --- a signal during a long LAPACK call is taken at once (gap --length 3000 took it when eig returned) -------

def test_interruptible_takes_a_signal_before_the_call_returns():
    import signal
    import threading

    import numpy as np

    from sigprop.core.workers import interruptible

    finished = threading.Event()
    A = np.random.default_rng(0).standard_normal((1500, 1500))

    def call():
        np.linalg.eigvals(A)                    # seconds in LAPACK, holding the main thread's handlers without it
        finished.set()
    # the suite may run with SIGINT ignored (nohup): the test installs Python's own handler for itself
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            interruptible(call)
        assert not finished.is_set()
    finally:
        signal.signal(signal.SIGINT, previous)


def test_interruptible_returns_the_value_and_raises_the_error():
    from sigprop.core.workers import interruptible

    assert interruptible(lambda: 41 + 1) == 42
    with pytest.raises(ZeroDivisionError):
        interruptible(lambda: 1 / 0)


# --- the semi-analytic method's time is checked before it runs (--points 2^30 ran for hours) ---------------

@pytest.mark.parametrize("command", ["predict", "validate"])
def test_softmax_points_beyond_the_time_limit_are_refused_naming_points(capsys, command, never):
    from sigprop.rho import softmax_profile

    calls = never(softmax_profile, "_rqmc")
    code, out, err = run_cli([command, "--attention", "softmax", "--points", str(1 << 30), "--mean", "0.5", "--var",
                              "0.1", "--dim", "16", "--length", "32"], capsys)
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1, err
    assert "argument --points: makes the semi-analytic method on 1073741824 points" in err, err
    assert "more than the 120 s accepted" in err and calls == []


def test_the_semi_analytic_time_model_grows_with_points_positions_and_their_pairs():
    from sigprop.rho.softmax_profile import SEMI_ANALYTIC_SECONDS, semi_analytic_seconds

    a, b = SEMI_ANALYTIC_SECONDS
    assert semi_analytic_seconds(1 << 20, 32, 16) == pytest.approx((1 << 20) * (a * 48 + b * 32 ** 2))
    assert semi_analytic_seconds(2, 32, 16) == 2 * semi_analytic_seconds(1, 32, 16)
    assert semi_analytic_seconds(1, 64, 16) > semi_analytic_seconds(1, 32, 16)


def test_renamed_names_the_callers_argument_and_keeps_others():
    from sigprop.core.checks import ArgumentError, integer, renamed

    with pytest.raises(ArgumentError) as info, renamed({"samples": "points"}):
        integer("samples", 1, 2)
    assert (info.value.argument, str(info.value)) == ("points", "points must be an integer >= 2, got 1")
    with pytest.raises(ArgumentError) as info, renamed({"samples": "points"}):
        integer("T", 1, 2)
    assert info.value.argument == "T"


def test_an_api_refusal_is_one_line_whatever_the_value_holds():
    # sigprop.load("a\nb.json") said 'path a' and 'b.json: no such file' on two lines
    import pickle

    import sigprop
    from sigprop.core.checks import ArgumentError

    with pytest.raises(ArgumentError) as info:
        sigprop.load("a\nb\rc.json")
    assert str(info.value) == "path a b c.json: no such file"
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value) and again.argument == "path"


# --- campaign 8, G1: the softmax study's points were checked only in the cell (exit 1, a store of failures) --

@pytest.mark.parametrize("study, key, value, words", [
    ("softmax", "samples", 100, "args.samples must be replicates (16) times a power of 2, got 100"),
    ("softmax", "samples", 10 ** 15, "args.samples must be replicates (16) times a power of 2"),
    ("softmax", "samples", 16 * 2 ** 40, "args.samples makes the semi-analytic method on 17592186044416 points"),
    ("validate-softmax", "points", 100, "args.points must be replicates (16) times a power of 2, got 100"),
    ("validate-softmax", "points", 16 * 2 ** 40, "args.points makes the semi-analytic method"),
])
def test_the_semi_analytic_points_of_a_spec_are_checked_before_the_store(tmp_path, capsys, never, study, key, value,
                                                                         words):
    from sigprop.sweep import engine

    spec = tmp_path / "s.toml"
    spec.write_text(f'study = "{study}"\nseed = 0\n[args]\n{key} = {value}\n[axes]\nm = [0.5]\nv = [0.1]\nd = [4]\n'
                    'T = [8]\n')
    calls = never(engine, "prepare") + never(engine, "_run")
    _refused(["sweep", spec, "--store", tmp_path / "s.zarr", "--workers", "0", "--no-progress"], capsys,
             "SPEC.toml", words)
    assert calls == [] and not (tmp_path / "s.zarr").exists()


# --- campaign 8, B3: arrays that do not broadcast are refused naming the argument ---------------------------

@pytest.mark.parametrize("call, argument, words", [
    (lambda sp, np: sp.theory_spectrum(np.zeros(3), np.zeros(4) + 0.1, 4, 8), "v",
     "v has shape (4,), which does not broadcast with m of shape (3,)"),
    (lambda sp, np: sp.band_probability([1, 2], [1, 2, 3]), "variance",
     "variance has shape (3,), which does not broadcast with mean of shape (2,)"),
])
def test_arrays_that_do_not_broadcast_are_refused_naming_the_argument(call, argument, words):
    import numpy as np

    import sigprop as sp
    from sigprop.core.checks import ArgumentError

    with pytest.raises(ArgumentError) as info:
        call(sp, np)
    assert info.value.argument == argument and str(info.value) == words


# --- campaign 8, B2: an input that is not a regular file is named for what it is ---------------------------

@pytest.mark.parametrize("kind, words", [("fifo", "is a FIFO (named pipe), not a regular file"),
                                         ("folder", "is a folder, not a regular file"),
                                         ("loop", "Too many levels of symbolic links"),
                                         ("missing", "file not found:")])
@pytest.mark.parametrize("argv, flag", [(["predict", "--length", "8", "--weights"], "--weights"),
                                        (["heads"], "CHECKPOINT.safetensors")])
def test_an_input_that_is_no_regular_file_is_named_for_what_it_is(tmp_path, capsys, kind, words, argv, flag):
    path = tmp_path / "w"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "loop":
        os.symlink(tmp_path / "v", path)
        os.symlink(path, tmp_path / "v")
    code, out, err = run_cli([*argv, path], capsys)
    assert (code, out) == (2, "") and f"argument {flag}:" in err and words in err, err


# --- campaign 8, B1: a folder where no file can be made is refused before the work, even as root ------------
# (as root, os.access says /proc is writable: the result was computed, printed, then not written)

@pytest.mark.skipif(not os.path.isdir("/proc"), reason="no /proc here")
@pytest.mark.parametrize("argv, flag", [
    (["predict", "--mean", "0.1", "--var", "0.1", "--dim", "4", "--length", "8", "--out", "/proc/x.json"], "--out"),
    (["gap", "--length", "8", "--plot", "/proc/p.png"], "--plot"),
    (["lm", "sweep", "--dir", "/proc/zz", "--steps", "2"], "--dir"),
])
def test_a_folder_where_no_file_can_be_made_is_refused_first(capsys, never, argv, flag):
    from sigprop.rho import theory

    calls = never(theory, "theory_spectrum")
    code, out, err = run_cli(argv, capsys)
    assert (code, out) == (2, "") and f"argument {flag}: cannot write in the folder /proc" in err, err
    assert calls == []


def test_the_writability_probe_leaves_nothing(tmp_path):
    from sigprop.core.results import cannot_create_in

    assert cannot_create_in(tmp_path) is None and list(tmp_path.iterdir()) == []
