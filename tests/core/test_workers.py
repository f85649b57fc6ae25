"""Tests of sigprop.core.workers: tasks in worker threads or forked worker processes."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from sigprop.core import workers
from sigprop.core.checks import ArgumentError
from tests.helpers import start, stop

MODES = [False, pytest.param(True, marks=pytest.mark.skipif(not workers.forking(), reason="no fork"))]


def _children() -> set[int]:
    """This process's live children (Linux).  A thread may end between the listing and the read
    (its children then move to another thread): the scan starts again."""
    while True:
        pids: set[int] = set()
        try:
            for tid in os.listdir("/proc/self/task"):
                with open(f"/proc/self/task/{tid}/children") as f:
                    pids.update(int(p) for p in f.read().split())
        except FileNotFoundError:
            continue
        return pids


@pytest.mark.parametrize("processes", MODES)
@pytest.mark.parametrize("n_workers", [1, 2, 3])
def test_results_come_back_in_task_order_with_all_progress(processes, n_workers):
    def task(k, report):
        for _ in range(k + 1):
            report(2)
        return k, np.full(3, k ** 2), os.getpid()
    reported = []
    before = _children()
    out = workers.run(task, 7, n_workers, processes=processes, progress=reported.append)
    assert [k for k, _, _ in out] == list(range(7))
    assert all(np.array_equal(a, np.full(3, k ** 2)) for k, a, _ in out)
    assert sum(reported) == 2 * sum(range(1, 8))
    in_caller = {pid for _, _, pid in out} == {os.getpid()}
    assert in_caller == (n_workers == 1 or not processes)           # processes ran elsewhere
    assert _children() == before                                    # every worker process reaped


@pytest.mark.parametrize("processes", MODES)
def test_an_error_in_a_task_is_raised_in_the_caller(processes):
    def task(k, report):
        if k == 3:
            raise ArgumentError("T", "must be an integer >= 2, got 1")
        return k
    with pytest.raises(ArgumentError) as info:
        workers.run(task, 6, 2, processes=processes)
    assert info.value.argument == "T" and str(info.value) == "T must be an integer >= 2, got 1"


@pytest.mark.skipif(not workers.forking(), reason="no fork")
def test_an_exception_that_does_not_pickle_becomes_a_runtime_error():
    class Local(Exception):                 # a local class cannot be pickled
        pass

    def task(k, report):
        raise Local("no pickle")
    with pytest.raises(RuntimeError, match="^Local: no pickle$"):
        workers.run(task, 2, 2, processes=True)


@pytest.mark.skipif(not workers.forking(), reason="no fork")
def test_a_killed_worker_is_reported_and_the_others_ended():
    def task(k, report):
        if k == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.01)
        return k
    before = _children()
    with pytest.raises(workers.WorkerDied, match="killed by SIGKILL"):
        workers.run(task, 4, 2, processes=True)
    assert _children() == before


def test_processes_need_fork(monkeypatch):
    monkeypatch.setattr(workers, "forking", lambda: False)
    with pytest.raises(ValueError, match="^argument processes: worker processes need os.fork"):
        workers.run(lambda k, report: k, 2, 2, processes=True)
    assert workers.run(lambda k, report: k, 2, 2, processes=False) == [0, 1]


@pytest.mark.skipif(not workers.forking(), reason="no fork")
def test_ctrl_c_ends_the_worker_processes(tmp_path):
    """SIGINT to the caller (as Ctrl-C sends it): KeyboardInterrupt there, at once, and no
    worker process left running."""
    pids = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import os, time
        from sigprop.core import workers
        def task(k, report):
            with open({str(pids)!r}, "a") as f:
                f.write(f"{{os.getpid()}}\\n")
            time.sleep(60)
        try:
            workers.run(task, 4, 2, processes=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    proc = start([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)      # the tasks sleep 60 s: they were not waited for
        assert out.strip() == "interrupted"
        for pid in map(int, pids.read_text().split()):
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        stop(proc)


@pytest.mark.skipif(not workers.forking(), reason="no fork")
def test_more_tasks_than_the_task_pipe_holds():
    # 20 000 task numbers are 80 000 bytes: more than a pipe holds (64 KiB, or 4 KiB under memory
    # pressure), so the caller feeds the pipe as the workers read it
    out = workers.run(lambda k, report: k * k, 20_000, 2, processes=True)
    assert out == [k * k for k in range(20_000)]


@pytest.mark.skipif(not workers.forking(), reason="no fork")
def test_pipes_of_one_page(monkeypatch):
    # every pipe cut to 4 KiB (what Linux gives a user past its pipe quota): the task numbers and
    # the results (about 80 KB pickled per worker) still get through
    import fcntl
    real = os.pipe

    def small():
        r, w = real()
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
        return r, w
    monkeypatch.setattr(os, "pipe", small)
    out = workers.run(lambda k, report: np.full(10, k), 2_000, 2, processes=True)
    assert all(np.array_equal(a, np.full(10, k)) for k, a in enumerate(out))


@pytest.mark.skipif(not workers.forking(), reason="no fork")
def test_two_runs_at_once_in_two_threads():
    # each run feeds a task pipe longer than a pipe holds while the other forks: a child must not
    # keep the other run's pipe open (it did, and both runs waited for ever)
    import threading
    outs, errors = {}, []

    def one(j):
        try:
            outs[j] = workers.run(lambda k, report: k + j, 30_000, 2, processes=True)
        except BaseException as exc:         # noqa: BLE001
            errors.append(exc)
    before = _children()
    threads = [threading.Thread(target=one, args=(j,), daemon=True) for j in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "the two runs hang"
    assert not errors and all(outs[j] == [k + j for k in range(30_000)] for j in range(2))
    assert _children() == before


@pytest.mark.skipif(not workers.forking(), reason="no fork")
def test_an_error_ends_the_run_at_once(tmp_path):
    # the failing task is the first; of the other 39 tasks (1 s each) at most the few that started before
    # the failure was seen may finish: the rest are not run (counted by the files they write, not by time)
    def task(k, report):
        if k == 0:
            raise ValueError("task 0 failed")
        time.sleep(1.0)
        (tmp_path / f"done-{k}").touch()
        return k
    before = _children()
    with pytest.raises(ValueError, match="task 0 failed"):
        workers.run(task, 40, 2, processes=True)
    assert len(list(tmp_path.glob("done-*"))) <= 5 and _children() == before


@pytest.mark.skipif(not workers.forking(), reason="worker processes need os.fork")
def test_a_run_inside_a_worker_process_runs_in_that_process():
    """A worker's own run (a Monte Carlo inside a ledger row) takes its tasks in that process: it
    was forked while the caller held the fork lock, so forking again from it would wait forever."""
    def inner(k, report):
        return os.getpid(), k

    def outer(k, report):
        return os.getpid(), workers.run(inner, 3, 2, processes=True)
    alarm = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("a nested run hangs"))
    signal.alarm(120)
    try:
        results = workers.run(outer, 2, 2, processes=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, alarm)
    for pid, inner_results in results:
        assert pid != os.getpid() and inner_results == [(pid, 0), (pid, 1), (pid, 2)]
