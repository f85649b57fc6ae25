"""The command-line machinery: registry, parsers, rendering of every command, errors, imports."""
import argparse
import json
import subprocess
import sys

import pytest

from sigprop import cli
from sigprop.cli import app
from sigprop.cli.render import View
from sigprop.core.checks import ArgumentError
from tests.helpers import execed

DOCUMENTED = {"predict", "validate", "gaussian-error", "train", "locater-sweep", "gradcheck", "gap", "width",
              "depth", "heads", "heads-text", "claims", "figures", "bench", "sweep", "explore"}


def test_every_documented_command_is_registered_with_a_parser():
    commands = app.commands()
    assert DOCUMENTED <= set(commands)
    parser = cli.build_parser()
    for name, cmd in commands.items():
        sub = parser
        for word in name.split():      # nested groups resolve word by word
            sub = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction)).choices[word]
        assert sub.description and cmd.help
        assert "--format" in sub.format_help()


FAKE = dict(version="x", config=dict(length=3, form="finite", samples=7, seed=0, quick=True, threshold=1e-6),
            positions=[1, 2, 3], rho=[0.1, 0.2, 0.3], mean=[0.0, 0.1, 0.2], variance=[1.0, 1.0, 1.0],
            rows=[dict(d=2, v=0.1, layer=0, head=0, errors=dict(W_Q=1e-9))], records=[dict(layer=0, head=1)],
            history=[dict(step=0, train_loss=None)], summary=[dict(locater=0.0)], claims=[
                dict(id="a", claim="c", check="k", reason="r", verdict="partly", evidence="theory", theory_only=True,
                     rule="x")], files=["f.png"], notes=["n"],
            localization=dict(total=1.0), vanilla=dict(rank_residual=[1.0, 0.5]), sigma_1=1.0, passed=True,
            targets=[dict(measure="m", value=1.0, target="<= 2", met=True)])


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_command_renders_table_and_json_and_maps_api_errors(name, monkeypatch, capsys):
    """Any result renders as a table and as JSON; an API ArgumentError becomes one line, exit 2."""
    cmd = app.commands()[name]
    assert "table" in cmd.formats and "json" in cmd.formats
    table = app._render(dict(FAKE), "table", cmd)
    assert table.startswith("# ") and "\n" in table
    json.loads(app._render(dict(FAKE), "json", cmd))
    parameter, flag = next(iter(cmd.flags.items()), ("T", None))

    def refuse(args):
        raise ArgumentError(parameter, "must be a good value,\n got a bad one")

    monkeypatch.setitem(app._COMMANDS, name, app.Command(**{**cmd.__dict__, "run": refuse}))
    argv = name.split() + {"heads": ["x"], "heads-text": ["x"], "gap": ["--length", "4"],
                           "depth": ["--layers", "1"], "predict": ["--length", "4"],
                           "validate": ["--length", "4"]}.get(name, [])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    expected = f"argument {flag}: must be" if flag else f"{parameter} must be"
    assert len(err) == 1 and err[0].startswith(f"sigprop {name}: error: {expected} a good value, got a bad one")


def test_nested_groups_and_one_registration(monkeypatch, capsys):
    """A command named "lm train" is `sigprop lm train`: one registration, nothing else."""
    monkeypatch.setattr(app, "_COMMANDS", dict(app.commands()))
    app.group("lm", "language model commands")

    def add(p):
        p.add_argument("--steps", type=int, default=3)

    @app.command("lm train", help="train a tiny LM", arguments=add, flags={"steps": "--steps"},
                 view=View(records="history", fields=("step",)))
    def lm_train(args):
        if args.steps < 1:
            raise ArgumentError("steps", f"must be >= 1, got {args.steps}")
        return dict(config=dict(steps=args.steps), history=[dict(step=k) for k in range(args.steps)])

    assert cli.main(["lm", "train", "--steps", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["# steps = 2", "step", "   0", "   1"]
    assert cli.main(["lm", "train", "--steps", "0"]) == 2
    assert capsys.readouterr().err == "sigprop lm train: error: argument --steps: must be >= 1, got 0\n"
    with pytest.raises(SystemExit) as exc:
        cli.main(["lm"])
    assert exc.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_plugins_come_from_entry_points_not_imports():
    """figures and bench are registered by their packages; sigprop.cli never imports them."""
    from importlib.metadata import entry_points
    names = {ep.name: ep.value for ep in entry_points(group=app.ENTRY_POINT_GROUP)}
    assert names == {"figures": "sigprop_figures.command", "bench": "sigprop_benchmarks.command"}
    assert app.commands()["figures"].run.__module__ == "sigprop_figures.command"
    import pathlib
    source = "\n".join(p.read_text() for p in pathlib.Path(app.__file__).parent.glob("*.py"))
    assert "import sigprop_figures" not in source and "from sigprop_figures" not in source
    assert "import sigprop_benchmarks" not in source and "from sigprop_benchmarks" not in source


def test_no_command_names_in_results(capsys):
    assert cli.main(["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "4",
                     "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert "command" not in res and res["version"] and res["config"]["T"] == 4


def test_output_folder_is_checked_before_the_work(capsys, tmp_path):
    code = cli.main(["validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "4",
                     "--samples", "10000000000", "--out", str(tmp_path / "missing" / "v.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("sigprop validate: error: argument --out: folder not found")


def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "sigprop.cli", "predict", "--mean", "0.5", "--var", "0.1",
                           "--dim", "4", "--length", "4", "--format", "csv"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("position,rho")
    proc = subprocess.run([sys.executable, "-m", "sigprop.cli", "predict", "--length", "1"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


HEAVY = ("sympy", "matplotlib", "tqdm", "sigprop.model.train", "sigprop.model.locater_sweep",
         "sigprop.model.attention", "sigprop.claims.ledger", "sigprop.checkpoints.heads",
         "sigprop.checkpoints.realtext", "sigprop.gap.collapse", "sigprop.plotting",
         "sigprop_figures.rho_profiles", "sigprop_figures.training", "sigprop_benchmarks.suite")


def _imported(*argv: str, run: bool = True) -> set[str]:
    """Modules imported by ``sigprop ARGV``: ``-X importtime`` lines, and ``sys.modules`` at exit
    (modules loaded by ``importlib.import_module``, as the registry does, are not timed)."""
    code = ("import atexit, sys; atexit.register(lambda: print(*('loaded: ' + m for m in sys.modules), "
            "sep='\\n', file=sys.stderr)); from sigprop.cli import main")
    code += "; sys.exit(main(sys.argv[1:]))" if run else ""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *argv], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return {line.split("|")[-1].split("loaded: ")[-1].strip() for line in proc.stderr.splitlines()
            if line.startswith(("import time:", "loaded: "))}


def test_imports_stay_light():
    """`import sigprop.cli`, `sigprop predict` (Gaussian, asked for or chosen by auto) and `sigprop --help`
    import no heavy module."""
    light = _imported(run=False)
    predict = _imported("predict", "--mean", "0.5", "--var", "0.1", "--dim", "64", "--length", "128",
                        "--method", "gaussian")
    chosen = _imported("predict", "--mean", "2", "--var", "0.01", "--dim", "1024", "--length", "128")  # auto: Gaussian
    helped = _imported("--help")
    assert "sigprop.rho.theory" in predict and "sigprop.cli.rho" in helped     # the probe sees imports
    assert "sigprop.rho.auto" in chosen
    for modules in (light, predict, chosen, helped):
        assert not {m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY}
    assert not {m for m in helped if m.split(".")[0] in ("scipy", "numpy")}
    # the Gaussian closed form needs NumPy and scipy.special (ndtr) only: the chi-square methods,
    # the simulation and the other SciPy sub-packages load when asked for
    assert not (predict | chosen) & {"sigprop.rho.exact", "sigprop.rho.chi2sum", "sigprop.rho.saddlepoint",
                          "sigprop.rho.montecarlo", "threadpoolctl", "torch", "scipy.stats", "scipy.optimize",
                          "scipy.fft", "scipy.linalg"}


def test_public_names_load_on_first_use():
    import sigprop
    assert set(sigprop.__all__) == set(sigprop._PUBLIC) | {"__version__"}
    assert all(callable(getattr(sigprop, name)) for name in sigprop._PUBLIC)


def test_a_reader_that_leaves_early_gets_no_traceback():
    # `sigprop predict ... | head -1`: the pipe closes before the output is written
    proc = subprocess.Popen([sys.executable, "-m", "sigprop.cli", "predict", "--mean", "0.5", "--var", "0.1",
                             "--dim", "8", "--length", "4000", "--format", "csv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and proc.returncode == 141, err


@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["unbuffered", "buffered"])
def test_a_reader_that_leaves_during_the_write_gets_exit_141(unbuffered):
    # `sigprop predict ... | head -c 10`: the reader leaves while the 1.1 MB result (far above a pipe's 64 kB)
    # is being written; with an unbuffered standard output the cut-short write raises nothing, and the
    # command exited 0 as if the whole result had been read
    import os

    env = dict(os.environ, PYTHONUNBUFFERED=unbuffered)
    proc = subprocess.Popen([sys.executable, "-m", "sigprop.cli", "predict", "--mean", "0.1", "--var", "0.1",
                             "--dim", "4", "--length", "20000", "--format", "csv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert len(proc.stdout.read(10)) == 10
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert err == "" and proc.returncode == 141, (proc.returncode, err)


def test_interrupt_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    cmd = app.commands()["predict"]
    monkeypatch.setitem(app._COMMANDS, "predict", app.Command(**{**cmd.__dict__, "run": interrupted}))
    assert cli.main(["predict", "--length", "4"]) == 130
    assert capsys.readouterr().err == "sigprop predict: interrupted\n"


@pytest.mark.parametrize("signal_exc, code, word", [(KeyboardInterrupt, 130, "interrupted"),
                                                    (app.Terminated, 143, "terminated")])
@pytest.mark.parametrize("wrapper", [ValueError, RuntimeError, OSError, ImportError])
def test_a_signal_turned_into_another_exception_is_the_stop(monkeypatch, capsys, signal_exc, code, word, wrapper):
    # a library that catches the signal's exception and raises its own (Python 3.11 wraps one raised in
    # __set_name__ in a RuntimeError; an import that fails reports ImportError): the command was stopped,
    # whichever command it is -- not a refusal (exit 2) nor a traceback
    def run(args):
        try:
            raise signal_exc
        except KeyboardInterrupt:
            raise wrapper("cut short") from None

    cmd = app.commands()["predict"]
    monkeypatch.setitem(app._COMMANDS, "predict", app.Command(**{**cmd.__dict__, "run": run}))
    assert cli.main(["predict", "--length", "4"]) == code
    assert capsys.readouterr().err == f"sigprop predict: {word}\n"


def test_a_runtime_error_without_a_signal_is_not_taken_for_a_stop(monkeypatch):
    def run(args):
        raise RuntimeError("a defect")

    cmd = app.commands()["predict"]
    monkeypatch.setitem(app._COMMANDS, "predict", app.Command(**{**cmd.__dict__, "run": run}))
    with pytest.raises(RuntimeError, match="a defect"):
        cli.main(["predict", "--length", "4"])


@pytest.fixture
def audit_files(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    np.save(tmp_path / "W.npy", np.arange(16.0).reshape(4, 4))          # not symmetric, and not text
    save_file({"x": np.zeros(2, dtype=np.float32)}, str(tmp_path / "tiny.safetensors"))
    return tmp_path


@pytest.mark.parametrize("argv, expected", [
    ("predict --weights {d}/W.npy --step-cov {d}/W.npy --length 8", "argument --step-cov: must be symmetric"),
    ("lm train --length 1", "argument --length: must be an integer >= 2, got 1"),
    ("claims --only NOPE", "argument --only: must name registered claims (ids as in CLAIMS.md), got NOPE"),
    ("claims --only=", "argument --only: must be a comma-separated list of names"),
    ("claims --only=,", "argument --only: must be a comma-separated list of names"),
    ("nnt stable-rank --config bogus", "argument --config: must be a name like"),
    ("heads {d}/tiny.safetensors --config {d}/W.npy", "argument --config: cannot read {d}/W.npy as JSON text"),
    ("heads {d}/missing.safetensors", "argument CHECKPOINT.safetensors: file not found: {d}/missing.safetensors"),
])
def test_refusals_name_the_flag(argv, expected, audit_files, capsys):
    """Each was a bare API message (``step_cov must be symmetric``, ``T must be ...``, a UnicodeDecodeError) or
    accepted (``--only ''`` ran no claim and exited 0)."""
    d = str(audit_files)
    try:
        code = cli.main(argv.replace("{d}", d).split())
    except SystemExit as stop:                         # argparse's own refusals
        code = stop.code
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    name = " ".join(w for w in argv.split()[:2] if not w.startswith("-") and "{" not in w)
    assert code == 2 and not out and len(lines) == 1, err
    assert lines[0].startswith(f"sigprop {name}: error: {expected.replace('{d}', d)}"), err


@pytest.mark.parametrize("argv", [["predict", "--mean", "1" * 10_000 + "x", "--var", "1", "--length", "8"],
                                  ["gap", "--model", "m" * 10_000, "--length", "8"],
                                  ["predict", "--mean", "0", "--var", "1", "--length", "8", "--method", "e" * 5000]])
def test_a_long_refused_value_is_named_by_its_ends_and_length(argv, capsys):
    """A 10,000-character value was echoed whole in the refusal (one line of 10 kB)."""
    with pytest.raises(SystemExit) as stop:            # argparse's refusal
        cli.main(argv)
    code = stop.value.code
    out, err = capsys.readouterr()
    long = max(argv, key=len)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
    assert len(err) < 1000 and f"({len(long) + 2} characters)" in err and long[:60] in err, err


def test_error_message_finds_the_flag_of_an_unmapped_parameter():
    parser = argparse.ArgumentParser()
    parser.add_argument("path", metavar="FILE.npz")
    parser.add_argument("--step-cov")
    parser.add_argument("--config", dest="configs")
    cmd = app.Command("x", run=lambda args: {}, flags={"T": "--length"})
    cases = [(ArgumentError("T", "must be >= 2"), "argument --length: must be >= 2"),
             (ArgumentError("step_cov", "must be symmetric"), "argument --step-cov: must be symmetric"),
             (ArgumentError("config", "must be a name"), "argument --config: must be a name"),
             (ArgumentError("path", "file not found: a"), "argument FILE.npz: file not found: a"),
             (ArgumentError("path", "file not found: a", separator=": "), "argument FILE.npz: file not found: a"),
             (ArgumentError.about("step_cov", "W's step_cov must be\n symmetric"),
              "argument --step-cov: W's step_cov must be symmetric"),
             # no message is parsed to guess the argument: a plain ValueError is printed as it is
             (ValueError("step_cov must be\n symmetric"), "step_cov must be symmetric"),
             (ValueError("path: file not found: a"), "path: file not found: a"),
             (ArgumentError("d", "must be >= 1"), "d must be >= 1"),            # no such flag: as it is
             (ValueError("the run diverged"), "the run diverged"),
             (UnicodeDecodeError("utf-8", b"\x93", 0, 1, "invalid start byte"),
              "'utf-8' codec can't decode byte 0x93 in position 0: invalid start byte")]
    for exc, expected in cases:
        assert app.error_message(exc, cmd, parser) == expected
    assert app.error_message(ArgumentError("step_cov", "must be symmetric"), cmd) == "step_cov must be symmetric"


def test_a_signal_exception_python_drops_stops_the_command_where_it_is(capsys):
    """SIGTERM's exception raised inside a weakref callback cannot propagate (Python reports it to
    sys.unraisablehook and goes on): it is recorded, nothing is printed, and it is raised again in the
    main thread a moment later, so that the command's work does not run on to its end
    (tests/fuzz/test_hostile_signals3.py, the sweep's 'before-cluster'; a SIGTERM at a sweep's start was
    acted on only after the sweep)."""
    import gc
    import time
    import weakref

    from sigprop.cli import app

    class Thing:
        pass

    def callback(ref):
        raise app.Terminated

    steps = []
    with pytest.raises(app.Terminated):
        with app.terminate_as_interrupt():
            thing = Thing()
            ref = weakref.ref(thing, callback)
            del thing
            gc.collect()
            for _ in range(6000):              # the command's work: up to 60 s, stopped long before
                steps.append(1)
                time.sleep(0.01)
    # raised again, it may land where it is dropped again (and is raised again): recorded each time
    assert ref() is None and set(app.DROPPED) == {app.Terminated} and len(steps) < 6000
    assert capsys.readouterr().err == ""


def test_a_stopped_command_silences_coroutines_left_unawaited(capsys):
    """Work a signal cut short may leave a coroutine never awaited (Zarr's asynchronous writes): the
    warning it gives when collected does not add a line to the command's one (test_hostile_signals3,
    Ctrl-C twice on a sweep)."""
    import gc
    import warnings

    from sigprop.cli import app

    async def write():
        pass

    with warnings.catch_warnings():
        assert app._stopped("sigprop sweep", terminated=False) == app.EXIT_INTERRUPTED
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            app._stopped("sigprop sweep", terminated=False)
            coroutine = write()
            del coroutine
            gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]
    assert capsys.readouterr().err == "sigprop sweep: interrupted\nsigprop sweep: interrupted\n"


def test_after_a_stop_exit_time_reports_are_silenced(monkeypatch):
    """Zarr's event-loop thread, cut short by a signal, logs a warning and raises in its atexit callback
    (reported to sys.unraisablehook): after a command's stop line both are silenced."""
    import logging

    from sigprop.cli import app

    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    for name in ("zarr", "asyncio"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "level", logger.level)
    app._quiet_after_stop()
    assert not logging.getLogger("zarr.core.sync").isEnabledFor(logging.WARNING)
    # the reads of a damaged chunk, stopped by the refusal: "Task was destroyed but it is pending!" at exit
    assert not logging.getLogger("asyncio").isEnabledFor(logging.ERROR)
    assert sys.unraisablehook(None) is None


def test_after_a_refusal_exit_time_reports_are_silenced_too(monkeypatch, capsys):
    """As the program (argv None), a refusal (exit 2) silences them as a stop does; an in-process call with
    arguments changes no process-wide hook."""
    from sigprop.cli import app

    calls = []
    monkeypatch.setattr(app, "_quiet_after_stop", lambda: calls.append(1))
    monkeypatch.setattr(sys, "argv", ["sigprop", "gap", "--length", "1"])
    assert app.main() == 2 and calls == [1]
    assert app.main(["gap", "--length", "1"]) == 2 and calls == [1]
    capsys.readouterr()


PREDICT = ["predict", "--mean", "0.1", "--var", "0.1", "--dim", "32", "--length", "64"]


def _run_unwritable(argv: list[str], stdout: str) -> tuple[subprocess.CompletedProcess, str]:
    """``sigprop ARGV`` with standard output ``full`` (``> /dev/full``) or ``closed`` (``>&-``), and the
    reason the failed write gives."""
    import os

    argv = [sys.executable, "-m", "sigprop.cli", *argv]
    if stdout == "full":
        if not os.path.exists("/dev/full"):
            pytest.skip("no /dev/full here")
        with open("/dev/full", "w") as full:
            return (subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True, timeout=240),
                    "No space left on device")
    return (subprocess.run(execed(argv, close=[1]), stderr=subprocess.PIPE, text=True, timeout=240),
            "Bad file descriptor")


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_an_unwritable_standard_output_is_one_line_and_exit_2(stdout, fmt, tmp_path):
    # `> /dev/full` and `>&-` gave a traceback at print(text) / sys.stdout.flush() (and Python's own
    # "Exception ignored" report at exit); --out is written all the same
    out = tmp_path / "p.json"
    proc, reason = _run_unwritable([*PREDICT, "--format", fmt, "--out", str(out)], stdout)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"sigprop predict: error: cannot write standard output: {reason}\n"
    assert json.loads(out.read_text())["config"]["T"] == 64
    assert not list(tmp_path.glob(".*sigprop-tmp*"))


@pytest.mark.parametrize("argv", [["--version"], ["predict", "--help"]], ids=["version", "help"])
@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_help_and_version_to_an_unwritable_standard_output_are_one_line_and_exit_2(argv, stdout):
    # argparse ignored the failed write of --help and --version and exited 0 (`> /dev/full`); with
    # standard output closed it wrote them to standard error
    proc, reason = _run_unwritable(argv, stdout)
    prog = "sigprop predict" if "predict" in argv else "sigprop"
    assert (proc.returncode, proc.stderr) == (2, f"{prog}: error: cannot write standard output: {reason}\n")


def test_help_and_version_to_a_writable_standard_output_are_unchanged():
    done = subprocess.run([sys.executable, "-m", "sigprop.cli", "--version"], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0 and done.stdout.startswith("sigprop ") and done.stderr == ""
    done = subprocess.run([sys.executable, "-m", "sigprop.cli", "predict", "--help"], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0 and done.stdout.startswith("usage: sigprop predict") and done.stderr == ""


def test_an_unknown_progress_setting_is_refused_naming_the_variable(monkeypatch, capsys):
    # SIGPROP_PROGRESS=banana was ignored (the default rule ran); --no-progress does not skip the check
    monkeypatch.setenv("SIGPROP_PROGRESS", "banana")
    assert cli.main(["predict", "--length", "8", "--no-progress"]) == 2
    assert capsys.readouterr().err == ("sigprop predict: error: SIGPROP_PROGRESS must be one of off, lines "
                                       "(or unset), got 'banana'\n")
    monkeypatch.setenv("SIGPROP_PROGRESS", " Lines ")
    assert cli.main(["predict", "--length", "8", "--mean", "0.1", "--var", "0.1", "--dim", "4"]) == 0


def test_a_closed_standard_error_changes_nothing_else():
    # `2>&-`: the result is printed, and a refusal's line does not fall back to standard output
    done = subprocess.run(execed([sys.executable, "-m", "sigprop.cli", *PREDICT, "--format", "csv"], close=[2]),
                          stdout=subprocess.PIPE, text=True, timeout=240)
    assert done.returncode == 0 and done.stdout.startswith("position,rho")
    refused = subprocess.run(execed([sys.executable, "-m", "sigprop.cli", "predict", "--length", "1"], close=[2]),
                             stdout=subprocess.PIPE, text=True, timeout=240)
    assert refused.returncode == 2 and refused.stdout == ""


@pytest.mark.parametrize("stdout", ["pipe", "full"])
def test_a_full_standard_error_keeps_the_exit_code(stdout):
    # `2>/dev/full`: the refusal's line cannot be written; the exit code is still the refusal's 2 (the failed
    # write made it 1, with a traceback nobody could see), also with standard output full
    import os

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    argv = [sys.executable, "-m", "sigprop.cli"]
    with open("/dev/full", "w") as full:
        out = full if stdout == "full" else subprocess.PIPE
        refused = subprocess.run([*argv, "predict", "--length", "1"], stdout=out, stderr=full, timeout=240)
        done = subprocess.run([*argv, *PREDICT, "--format", "csv"], stdout=out, stderr=full, timeout=240)
    assert refused.returncode == 2
    assert done.returncode == (2 if stdout == "full" else 0)


def test_an_in_process_stop_leaves_the_process_hooks_alone(monkeypatch, capsys):
    # cli.main called in-process: a stopped command does not replace sys.unraisablehook nor silence Zarr's
    # logger beyond its return (the program, main() on sys.argv, does: test_after_a_stop_...)
    import logging

    def interrupted(args):
        raise KeyboardInterrupt

    cmd = app.commands()["predict"]
    monkeypatch.setitem(app._COMMANDS, "predict", app.Command(**{**cmd.__dict__, "run": interrupted}))
    hook, level = sys.unraisablehook, logging.getLogger("zarr").level
    assert cli.main(["predict", "--length", "4"]) == 130
    assert sys.unraisablehook is hook and logging.getLogger("zarr").level == level
    assert capsys.readouterr().err == "sigprop predict: interrupted\n"
    monkeypatch.setattr(sys, "unraisablehook", hook)              # restored by monkeypatch after the test
    monkeypatch.setattr(logging.getLogger("zarr"), "level", level)
    monkeypatch.setattr(sys, "argv", ["sigprop", "predict", "--length", "4"])
    assert cli.main() == 130
    assert sys.unraisablehook is not hook


def test_an_interrupt_while_parsing_is_one_line(monkeypatch, capsys):
    # parse_args ran outside the try of the command: Ctrl-C while argparse built the parser printed a traceback
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(app, "build_parser", interrupted)
    assert cli.main(["predict", "--length", "4"]) == 130
    assert capsys.readouterr().err == "sigprop: interrupted\n"
