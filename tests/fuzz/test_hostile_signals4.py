"""Signals and standard streams the fourth hostile-input campaign found breaking the contract
(docs/contract.md, "Signals" and "Standard streams").

* Ctrl-C in the program's first ~0.6 s (Python importing the command line, argparse building the
  parser, the command's module importing) printed a ``KeyboardInterrupt`` traceback; SIGTERM there
  killed the program without its line.  The program (the console script, ``python -m sigprop.cli``)
  now takes both signals before it imports the command line: one line, 130 or 143, at any moment
  from there on.
* After the command's return, a signal ends the program at once, with one line unless the command
  printed one.
* The program's entry module imports nothing of the command line before it takes the signals.

Every child is started with :func:`tests.helpers.start` (SIGINT and SIGTERM at their default actions,
a session of its own) and ended with :func:`tests.helpers.stop` whatever happens.  The moment a signal
is sent at is measured from an event seen from outside: the program has taken SIGTERM (its handler
shows in ``/proc/PID/status``), which it does before importing the command line; the only time
limits guard against a hang.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import start, stop

ROOT = Path(__file__).resolve().parents[2]
#: Seconds after which a wait is a hang (never a measure of speed).
HANG = 240
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
           SIGPROP_PROGRESS="off")
CODES = {signal.SIGINT: (130, "interrupted"), signal.SIGTERM: (143, "terminated")}
# two commands the campaign stopped early; both run far longer than the latest moment a signal is sent at
COMMANDS = {
    "validate": ["--mean", "0.1", "--var", "0.1", "--dim", "32", "--length", "256", "--samples", "100000000"],
    "stack predict": ["--layers", "50", "--length", "8", "--dim", "8", "--samples", "100000",
                      "--recursion", "positional"],
}

def entry_point() -> str:
    """The console script's ``module:function`` as ``pyproject.toml`` declares it (``[project.scripts]``)."""
    text = (ROOT / "pyproject.toml").read_text()
    scripts = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    found = re.search(r'^sigprop\s*=\s*"([^"]+)"', scripts, re.MULTILINE)
    assert found, "pyproject.toml declares no console script sigprop"
    return found.group(1)


def console_script(argv: list[str]) -> list[str]:
    """The console script as pip writes it, for the entry point ``pyproject.toml`` declares."""
    module, function = entry_point().split(":")
    code = f"import re, sys; from {module} import {function}; sys.argv[0] = 'sigprop'; sys.exit({function}())"
    return [sys.executable, "-c", code, *argv]


def module_run(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "sigprop.cli", *argv]


def takes(pid: int, sig: int) -> bool:
    """Whether process ``pid`` has a handler of its own for ``sig`` (its ``SigCgt`` mask, Linux)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except FileNotFoundError:
        pass
    return False


def wait_until(proc, condition, what: str) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert proc.poll() is None, f"the command ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {what} after {HANG} s"
        time.sleep(0.001)


CASES = [(console_script, "validate", delay) for delay in (0.0, 0.2, 0.45)] + \
        [(console_script, "stack predict", delay) for delay in (0.0, 0.3, 0.6)] + \
        [(module_run, "validate", 0.0), (module_run, "stack predict", 0.0)]


@pytest.mark.parametrize("launcher, name, delay", CASES,
                         ids=[f"{launch.__name__}-{name.replace(' ', '-')}-{delay}s" for launch, name, delay in CASES])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_from_the_programs_first_moment_is_one_line(sig, launcher, name, delay, tmp_path):
    # delay seconds after the program took SIGTERM: at 0 it is importing the command line or building the
    # parser (a traceback before), later in the command's imports or its run
    code, word = CODES[sig]
    (tmp_path / "out").mkdir()
    argv = name.split() + COMMANDS[name] + ["--out", "out/x.json"]
    proc = start(launcher(argv), cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(proc, lambda: takes(proc.pid, signal.SIGTERM), "handler of SIGTERM")
        time.sleep(delay)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=HANG)
    finally:
        stop(proc)
    assert proc.returncode == code, (proc.returncode, err)
    assert re.fullmatch(rf"sigprop( {name})?: {word}\n", err), err
    assert out == ""
    assert os.listdir(tmp_path / "out") == []                  # no partial or temporary file


def run_script(script: str) -> tuple[int, str, str]:
    """``(exit code, stderr, stdout)`` of ``python -c script``, killed on timeout."""
    proc = start([sys.executable, "-c", script], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=HANG)
    finally:
        stop(proc)
    return proc.returncode, err, out


@pytest.mark.parametrize("code, line, sig, expected", [
    (0, False, signal.SIGINT, (130, "sigprop: interrupted\n")),        # the command's work was done
    (2, False, signal.SIGTERM, (143, "sigprop: terminated\n")),
    (130, True, signal.SIGTERM, (130, "")),                            # its stop line is printed: nothing more
])
def test_a_signal_after_the_commands_return_ends_the_program_at_once(code, line, sig, expected):
    # from the command's return to the process's end (threads joined, atexit callbacks) a signal ends the
    # program at once: before, a KeyboardInterrupt there printed a traceback or "Exception ignored"
    script = ("import os, signal, sys, time; from sigprop.cli import _console as c; s = c._State(); "
              f"s.code, s.line = {code}, {line}; c._end_at_once(s); os.kill(os.getpid(), {int(sig)}); "
              "time.sleep(60); sys.exit(5)")
    assert run_script(script) == (*expected, "")


@pytest.mark.parametrize("sig, expected", [(signal.SIGTERM, (143, "sigprop: terminated\n")),
                                           (signal.SIGINT, (130, "sigprop: interrupted\n"))])
def test_a_signal_turned_into_another_exception_still_stops_the_program(sig, expected):
    # a signal during numpy's import makes numpy raise ImportError ("PyCapsule_Import could not import
    # module datetime"): seen once in three runs of the early-signal cases above, SIGTERM at 0.2 s, as a
    # traceback and exit 1. The command line below receives the signal and raises ImportError in its place.
    script = ("import os, signal, sys; from sigprop.cli import _console as c; import sigprop.cli.app as app\n"
              "def main():\n"
              "    try:\n"
              f"        os.kill(os.getpid(), {int(sig)})\n"
              "        for _ in range(10 ** 8): pass\n"
              "    except KeyboardInterrupt:\n"
              "        raise ImportError('numpy: PyCapsule_Import could not import module datetime') from None\n"
              "app.main = main\n"
              "sys.exit(c.main())")
    assert run_script(script) == (*expected, "")


def test_the_program_takes_the_signals_before_importing_the_command_line():
    # the entry point the console script names imports os, signal and sys only: its handler of SIGTERM is
    # in place before argparse, sigprop.cli.app or any command module is imported
    module = entry_point().split(":")[0]
    probe = (f"import sys; before = set(sys.modules); import {module}; "
             "print(*sorted(set(sys.modules) - before), sep='\\n')")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, timeout=HANG)
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stdout.split())
    assert module in loaded and module != "sigprop.cli"
    assert not loaded & {"argparse", "sigprop.cli.app", "sigprop.cli.render", "numpy", "dataclasses"}, loaded


@pytest.mark.parametrize("sig, expected", [(signal.SIGTERM, (143, "sigprop: terminated\n")),
                                           (signal.SIGINT, (130, "sigprop: interrupted\n"))],
                         ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_the_entry_point_imports_is_one_line(sig, expected):
    # a SIGINT while sigprop.cli._console imported `signal` printed a KeyboardInterrupt traceback (fifth
    # campaign, at 0.11 s); sigprop.cli._early records it from the entry point's first line and main()
    # then ends the program with one line.  Here the signal arrives right after _early was imported.
    script = ("import os, signal, sys\n"
              "import sigprop.cli._early\n"
              f"os.kill(os.getpid(), {int(sig)})\n"
              "from sigprop.cli._console import main\n"
              "sys.argv = ['sigprop', '--version']\n"
              "sys.exit(main())\n")
    proc = start([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        stop(proc)
    assert (proc.returncode, err) == expected and out == ""
