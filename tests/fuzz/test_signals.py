"""Signals: SIGTERM ends a command as Ctrl-C does (one line, exit code 143, no file), and worker
processes end with their caller however it ends, SIGKILL included (docs/contract.md, "Signals").

Every child is started by :func:`tests.helpers.start` (default SIGINT and SIGTERM actions, its own
process group) and ended by :func:`tests.helpers.stop`, so these tests pass when the suite runs with
SIGINT ignored and leave no process behind when they fail.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sigprop.core import workers
from tests.helpers import children, running, start, stop

pytestmark = pytest.mark.skipif(not workers.forking(), reason="worker processes need fork (Linux)")

VALIDATE = [sys.executable, "-m", "sigprop.cli", "validate", "--mean", "0.5", "--var", "0.1", "--dim", "16",
            "--length", "64", "--samples", "1000000000000", "--threads", "2", "--no-progress"]


def _wait_for_workers(proc, count: int = 2, timeout: float = 60) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        found = children(proc.pid)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the command did not start {count} worker processes (exit {proc.poll()})")


def _all_end(pids, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(running(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated"),
                                             (signal.SIGINT, 130, "interrupted")])
def test_sigterm_and_sigint_end_validate_and_its_workers(sig, code, word, tmp_path):
    out = tmp_path / "v.json"
    proc = start(VALIDATE + ["--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pids = _wait_for_workers(proc)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
        assert proc.returncode == code and stderr.strip() == f"sigprop validate: {word}" and not stdout, stderr
        assert _all_end(pids), "worker processes outlived the command"
        assert not list(tmp_path.iterdir())                      # no partial or temporary file
    finally:
        stop(proc)


def test_workers_end_when_their_caller_is_killed():
    # SIGKILL cannot be handled: the workers end by the parent-death signal the kernel sends them
    proc = start(VALIDATE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pids = _wait_for_workers(proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert _all_end(pids), "worker processes outlived a caller killed by SIGKILL"
    finally:
        stop(proc)


def test_a_child_started_for_a_test_takes_sigint_even_when_the_suite_ignores_it():
    # what `nohup python -m pytest &` does to every test of Ctrl-C: SIGINT ignored, inherited
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc = start([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGINT      # the default action of an uncaught KeyboardInterrupt
    finally:
        stop(proc)


def test_sigterm_in_process_is_one_line_and_exit_143(monkeypatch, capsys):
    from sigprop import cli
    from sigprop.cli import app

    def terminated(args):
        os.kill(os.getpid(), signal.SIGTERM)            # the handler raises at the next bytecode
        time.sleep(5)
        raise AssertionError("SIGTERM was not taken")

    cmd = app.commands()["predict"]
    monkeypatch.setitem(app._COMMANDS, "predict", app.Command(**{**cmd.__dict__, "run": terminated}))
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main(["predict", "--length", "4"]) == 143
    assert capsys.readouterr().err == "sigprop predict: terminated\n"
    assert signal.getsignal(signal.SIGTERM) is before   # the handler is removed after the command


def test_ctrl_c_at_the_moment_of_a_fork_is_not_lost(tmp_path):
    # fork runs other modules' at-fork callbacks (logging's); a KeyboardInterrupt raised inside one is
    # printed and dropped by Python: here the callback itself sends the SIGINT, in every fork
    pids = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import os, signal, time
        from sigprop.core import workers
        def task(k, report):
            with open({str(pids)!r}, "a") as f:
                f.write(f"{{os.getpid()}}\\n")
            time.sleep(60)
        os.register_at_fork(after_in_parent=lambda: os.kill(os.getpid(), signal.SIGINT))
        try:
            workers.run(task, 4, 2, processes=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    proc = start([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=30)
        assert out.strip() == "interrupted" and "Exception ignored" not in err, err
        assert _all_end(map(int, pids.read_text().split())) if pids.exists() else True
    finally:
        stop(proc)


def test_a_worker_ended_by_its_caller_removes_the_temporary_file_it_writes(tmp_path):
    # both workers are inside atomic_write (their temporary files exist) when the caller is interrupted
    script = textwrap.dedent(f"""
        import os, pathlib, time
        from sigprop.core import results, workers
        def task(k, report):
            def write(tmp):
                pathlib.Path(tmp).write_text("partial")
                os.write(1, b"writing\\n")            # one write: the two workers share the pipe
                time.sleep(60)
            results.atomic_write(os.path.join({str(tmp_path)!r}, f"{{k}}.pdf"), write)
        try:
            workers.run(task, 2, 2, processes=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    proc = start([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert [proc.stdout.readline().strip() for _ in range(2)] == ["writing", "writing"]
        pids = children(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert out.strip() == "interrupted", err
        assert _all_end(pids), "worker processes outlived the run"
        assert not list(tmp_path.iterdir())                      # no temporary file left by a worker
    finally:
        stop(proc)


@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated"),
                                             (signal.SIGINT, 130, "interrupted")])
def test_figures_with_two_workers_interrupted_while_writing_leaves_no_temporary_file(sig, code, word, tmp_path):
    # the signal is sent as soon as a worker's temporary file appears in --out
    pytest.importorskip("matplotlib")
    argv = [sys.executable, "-m", "sigprop.cli", "figures", "--workers", "2", "--quick", "--fresh", "--no-progress",
            "--out", str(tmp_path), "--only", "spectral_gap,rho_profiles,theory_vs_mc"]
    proc = start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            pids |= children(proc.pid)
            if len(pids) >= 2 and any(".sigprop-tmp-" in n for n in os.listdir(tmp_path)):
                break
            time.sleep(0.001)
        assert proc.poll() is None, "the figures ended before a temporary file was seen"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == code and err.strip() == f"sigprop figures: {word}", err
        assert _all_end(pids), "worker processes outlived the command"
        assert not [n for n in os.listdir(tmp_path) if ".sigprop-tmp-" in n]
    finally:
        stop(proc)
