"""Signals the third hostile-input campaign found breaking the contract (docs/contract.md, "Signals").

* ``sigprop sweep --workers 2`` (a local Dask cluster) stopped by SIGINT or SIGTERM while its store
  is created, before its cluster exists, while the cluster starts, or during the run: one line (``interrupted``, 130;
  ``terminated``, 143), no traceback, no process left in the command's session; SIGINT was lost
  while the cluster started (the sweep ran on for a minute) and Dask printed 29-68 lines of
  tracebacks (and asyncio printed Zarr's interrupted tasks at exit).  A resume after the signal
  gives the store of an uninterrupted run.
* A sweep ended by SIGKILL prints nothing (the resource tracker printed two lines about leaked
  semaphores) and leaves no process.  SIGTERM to the sweep and then to its process group (``timeout``'s
  delivery) is one stop: one line, 143 (on a loaded machine the second one killed it with no line).
* ``sigprop explore`` ended by Ctrl-C exits 130 (it exited 0), by SIGTERM 143; a port in use is one
  line naming ``--port``, exit code 2, before serving.

Every child is started with :func:`tests.helpers.start` (SIGINT and SIGTERM at their default
actions, a session of its own) and ended with :func:`tests.helpers.stop` whatever happens, so
these tests pass when pytest runs with SIGINT ignored and leave nothing behind.  The moments the
signals are sent at are events seen from outside (the store created, a worker process spawned, a
cell recorded), not delays; the only time limits guard against a hang.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import running, start, stop

pytest.importorskip("distributed")

#: Seconds after which a wait is a hang (never a measure of speed).
HANG = 240
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
           SIGPROP_PROGRESS="off")
# 12 cells of about a second each on two workers: the run lasts long enough to be interrupted
SPEC = ('study = "validation"\nseed = 5\n[args]\nm = 0.5\nT = 16\nsamples = 150000\n'
        '[axes]\nd = [4, 8]\nv = [0.1, 1.0]\nseed = {start = 0, stop = 3}\n')
CODES = {signal.SIGINT: (130, "interrupted"), signal.SIGTERM: (143, "terminated")}


def session(sid: int) -> list[int]:
    """The live processes of session ``sid`` (Linux), zombies left out."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and running(int(entry)):
            found.append(int(entry))
    return found


def spawned(sid: int) -> bool:
    """Whether a process of session ``sid`` is a Dask worker (started by multiprocessing's spawn)."""
    for pid in session(sid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"multiprocessing.spawn" in f.read():
                    return True
        except OSError:
            continue
    return False


def recorded(store: Path) -> bool:
    """Whether the sweep has written a cell (a chunk file of its status array appears)."""
    folder = store / "status"
    return folder.is_dir() and any(name[0].isdigit() for name in os.listdir(folder))


def wait_until(proc, condition, what: str) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert proc.poll() is None, f"the command ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {what} after {HANG} s"
        time.sleep(0.005)


def assert_session_empty(sid: int) -> None:
    """No process of the command's session is left (its workers and resource tracker end with it;
    the tracker reads the end of its pipe a moment after the command exits)."""
    deadline = time.monotonic() + HANG
    while session(sid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not session(sid), f"processes left in the session: {session(sid)}"


def sweep(tmp_path: Path):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    store = tmp_path / "s.zarr"
    proc = start([sys.executable, "-m", "sigprop.cli", "sweep", str(spec), "--store", str(store), "--workers", "2"],
                 env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return spec, store, proc


@contextlib.contextmanager
def running_sweep(tmp_path: Path, moment: str = "run"):
    """``(spec, store, proc)`` of a sweep started in ``tmp_path`` once it reaches ``moment`` (a key of
    :data:`MOMENTS`; by default a recorded cell); its process group is ended when the block leaves,
    whatever happens."""
    spec, store, proc = sweep(tmp_path)
    try:
        wait_until(proc, lambda: MOMENTS[moment](proc, store), moment)
        yield spec, store, proc
    finally:
        stop(proc)


def send(proc, sig: int, group: bool) -> None:
    if group:
        os.killpg(proc.pid, sig)          # as a terminal's Ctrl-C: the command and its workers
    else:
        proc.send_signal(sig)


MOMENTS = {
    # the store is being created (its temporary folder, or the store, appears)
    "store-creation": lambda proc, store: any(p.suffix != ".toml" for p in store.parent.iterdir()),
    # the store exists: the cluster is not started yet, or just starting
    "before-cluster": lambda proc, store: (store / "status").is_dir(),
    # a worker process exists and no cell is written: the cluster is starting
    "cluster-start": lambda proc, store: spawned(proc.pid) and not recorded(store),
    # a cell is written: the run is under way
    "run": lambda proc, store: recorded(store),
}


@pytest.mark.parametrize("group", [False, True], ids=["process", "group"])
@pytest.mark.parametrize("moment", list(MOMENTS))
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sweep_stopped_at_any_moment_is_one_line_and_leaves_no_process(sig, moment, group, tmp_path):
    code, word = CODES[sig]
    with running_sweep(tmp_path, moment) as (spec, store, proc):
        send(proc, sig, group)
        out, err = proc.communicate(timeout=HANG)
        assert proc.returncode == code, (proc.returncode, err)
        assert err == f"sigprop sweep: {word}\n" and out == "", err
        assert_session_empty(proc.pid)
        assert not list(tmp_path.glob(".*sigprop-tmp*")), sorted(os.listdir(tmp_path))


def test_ctrl_c_twice_ends_the_sweep_with_one_line(tmp_path):
    # the second Ctrl-C arrives while the first one's clean-up closes the cluster: it stops waiting
    with running_sweep(tmp_path) as (spec, store, proc):
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=HANG)
        assert proc.returncode == 130 and err == "sigprop sweep: interrupted\n" and out == "", err
        assert_session_empty(proc.pid)


def test_a_sweep_killed_prints_nothing_and_leaves_no_process(tmp_path):
    # SIGKILL: its workers follow it, and the resource tracker does not warn about leaked semaphores
    with running_sweep(tmp_path) as (spec, store, proc):
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=HANG)
        assert proc.returncode == -signal.SIGKILL and err == "" and out == "", (proc.returncode, err)
        assert_session_empty(proc.pid)


@pytest.mark.parametrize("gap", [0.0, 0.2, 1.5], ids=["together", "after-the-handler", "later"])
def test_sigterm_to_the_sweep_then_its_group_is_one_stop(gap, tmp_path):
    # what `timeout` and process managers do: SIGTERM to the command, then to its process group.  The
    # second arrives before the first one's handler ran (together) or after it (a loaded machine; the
    # sweep then died of the default action with no line): one stop, one line, 143, nothing left.
    # Later than SAME_STOP_S (1 s) it ends the process at once, during the clean-up or after it: one
    # line, 143, and Dask's worker processes killed first (they outlived it by a moment).  Should it land
    # in Python's own teardown after the stop line (modules finalized, handlers back at their defaults:
    # docs/contract.md), the process ends by the signal's default action: the shell's 143, a wait status
    # of -15 here, and no second line.
    with running_sweep(tmp_path) as (spec, store, proc):
        proc.send_signal(signal.SIGTERM)
        time.sleep(gap)
        os.killpg(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=HANG)
        codes = (143, -signal.SIGTERM) if gap > 1 else (143,)
        assert proc.returncode in codes and err == "sigprop sweep: terminated\n" and out == "", (proc.returncode, err)
        assert_session_empty(proc.pid)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_sweep_resumes_to_the_store_of_an_uninterrupted_run(sig, tmp_path):
    import sigprop.sweep as sw
    from sigprop.sweep.store import Store

    with running_sweep(tmp_path) as (spec, store, proc):
        send(proc, sig, group=True)
        proc.communicate(timeout=HANG)
        assert proc.returncode == CODES[sig][0]
    counts = Store(store).counts()
    assert 1 <= counts["done"] < counts["total"] == 12 and counts["failed"] == 0, counts
    resumed = sw.run(spec, store, workers=0, progress=False)
    assert resumed["ran"] == 12 - counts["done"] and resumed["done"] == 12
    sw.run(spec, tmp_path / "ref.zarr", workers=0, progress=False)
    got, ref = sw.open(store).load(), sw.open(tmp_path / "ref.zarr").load()
    assert got.attrs == ref.attrs and set(got.data_vars) == set(ref.data_vars)
    for name in ref.data_vars:
        np.testing.assert_array_equal(got[name].values, ref[name].values, err_msg=name)


def test_ctrl_c_while_the_store_is_created_is_taken_once_it_is_in_place(tmp_path, monkeypatch):
    # Zarr's writes go on in Zarr's thread after an interrupt: cut in the middle, they recreated the
    # temporary folder the clean-up had removed.  Python's Ctrl-C handler is installed for the test's
    # duration (a suite run with SIGINT ignored has none).
    import sigprop.sweep.store as store_module
    from sigprop.sweep.spec import Spec
    from sigprop.sweep.store import Store

    (tmp_path / "s.toml").write_text(SPEC)
    spec = Spec.load(tmp_path / "s.toml")
    real = store_module._write_new

    def interrupted(*args):
        os.kill(os.getpid(), signal.SIGINT)             # Ctrl-C as the writes begin
        real(*args)

    monkeypatch.setattr(store_module, "_write_new", interrupted)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            store_module.create(tmp_path / "s.zarr", spec)
    finally:
        signal.signal(signal.SIGINT, previous)
    counts = Store(tmp_path / "s.zarr").counts()
    assert counts == dict(pending=12, done=0, failed=0, total=12), counts
    assert sorted(os.listdir(tmp_path)) == ["s.toml", "s.zarr"]


# --- the explorer ----------------------------------------------------------------------

def explore(port: int):
    return start([sys.executable, "-m", "sigprop.cli", "explore", "--no-browser", "--port", str(port)],
                 env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("group", [False, True], ids=["process", "group"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_explore_stopped_by_a_signal_ends_as_any_command(sig, group):
    pytest.importorskip("bokeh")
    from sigprop.explore.page import free_port

    code, word = CODES[sig]
    port = free_port()
    proc = explore(port)
    try:
        serving = proc.stderr.readline()
        assert serving == f"sigprop explore: serving http://localhost:{port}/ (Ctrl-C to stop)\n", serving
        send(proc, sig, group)
        out, err = proc.communicate(timeout=HANG)
        assert proc.returncode == code, (proc.returncode, err)
        assert err == f"sigprop explore: {word}\n" and out == "", err
        assert_session_empty(proc.pid)
    finally:
        stop(proc)


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_explore_on_a_port_in_use_is_refused_before_serving(host):
    pytest.importorskip("bokeh")
    with socket.socket() as taken:
        taken.bind((host, 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = explore(port)
        try:
            out, err = proc.communicate(timeout=HANG)
        finally:
            stop(proc)
    assert proc.returncode == 2 and out == "", (proc.returncode, err)
    assert err.startswith(f"sigprop explore: error: argument --port: cannot listen on localhost:{port}: ") \
        and len(err.splitlines()) == 1 and "serving" not in err, err
