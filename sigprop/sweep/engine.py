"""Running a sweep: every pending cell as a Dask task, each result written as it arrives.

* Engines: a local Dask cluster of ``workers`` processes (one thread each; default: one
  per core), an existing cluster (``scheduler="tcp://HOST:PORT"``), a ``Client`` the caller
  already holds, or ``workers=0``: this process, no Dask (for debugging).
* Cells are tasks (``sigprop.sweep.cell.execute``); at most a few per worker thread are in
  flight, so memory stays bounded however large the grid.  When a worker dies the scheduler
  runs its tasks again on another worker (Dask's ``allowed-failures``); a cell whose
  workers keep dying is recorded as failed.
* Results travel back to this process, which alone writes the store (no shared file
  system needed between workers).
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from sigprop.core import checks
from sigprop.core.checks import ArgumentError
from sigprop.core.progress import progress_bar
from sigprop.sweep import _deps
from sigprop.sweep.cell import describe, execute
from sigprop.sweep.spec import Spec
from sigprop.sweep.store import Store, prepare

__all__ = ["run"]

#: Local worker processes a sweep may start, per core (:func:`max_workers`).
WORKERS_PER_CORE = 4


def run(spec, store, *, workers: int | None = None, scheduler: str | None = None, client=None,
        overwrite: bool = False, retry_failed: bool = True, progress: bool = True,
        callback: Callable[[dict], Any] | None = None) -> dict:
    """Run every cell of ``spec`` not yet done in ``store``; return the counts.

    Parameters
    ----------
    spec : path of a TOML file, dict or :class:`~sigprop.sweep.spec.Spec`
    store : path of the Zarr store (created if missing; resumed if it holds the same spec)
    workers : number of local worker processes (default: the number of cores); ``0`` runs
        the cells in this process without Dask
    scheduler : address of an existing Dask scheduler (``tcp://HOST:PORT``)
    client : a ``distributed.Client`` to use (it is left open)
    overwrite : replace a store that holds a different specification
    retry_failed : compute failed cells again (pending cells always are)
    progress : a progress bar over cells on standard error, and the dashboard address
    callback : called with the counts after every cell is written

    Returns
    -------
    dict
        ``done``, ``failed``, ``pending``, ``total`` (the whole store), ``ran`` (cells computed
        by this call) and ``seconds``.
    """
    spec = Spec.load(spec)
    if workers is not None:
        try:
            workers = checks.workers("workers", workers, 0, per_core=WORKERS_PER_CORE)
        except ArgumentError:
            raise ArgumentError("workers", f"must be an integer in [0, {max_workers()}] ({WORKERS_PER_CORE} per "
                                           f"core), got {workers!r}") from None
    if sum(x is not None for x in (workers, scheduler, client)) > 1:
        raise ArgumentError.about("workers", "give at most one of workers, scheduler and client")
    spec.check_cells()                       # every cell's arguments and sizes, before the store and the workers
    _deps.require()
    st = prepare(store, spec, overwrite=overwrite)
    st.lock()
    try:
        return _run(spec, st, workers=workers, scheduler=scheduler, client=client, retry_failed=retry_failed,
                    progress=progress, callback=callback)
    finally:
        st.unlock()


def max_workers() -> int:
    """The most local worker processes a sweep starts: 4 per core (each is a Python process of its
    own, ~100 MB, and the cells are computations: more workers than cores only share them)."""
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def _run(spec, st, *, workers, scheduler, client, retry_failed, progress, callback) -> dict:
    todo = st.todo(retry_failed=retry_failed)
    start = time.perf_counter()
    counts = st.counts()
    if not todo:
        return dict(counts, ran=0, seconds=0.0)
    study = spec.registered
    outputs = {name: len(dims) for name, dims in study.outputs.items()}
    tasks = ((ix, spec.arguments(ix)) for ix in todo)
    kept = 0 if retry_failed else counts["failed"]
    state = dict(total=counts["total"], done=counts["done"], failed=kept, pending=len(todo), running=0, ran=0)
    bar = progress_bar(counts["total"], progress, initial=counts["done"] + kept, unit="cell",
                       desc=f"sweep {spec.study}", file=sys.stderr, dynamic_ncols=True)

    def record(ix, outcome):
        result = st.write(ix, outcome)
        state[result] += 1
        state["pending"] -= 1
        state["ran"] += 1
        bar.update(1)
        bar.set_postfix_str(f"done {state['done']}, failed {state['failed']}, running {state['running']}",
                            refresh=False)
        if result == "failed" and progress:
            bar.write(f"cell {spec.coords(ix)} failed: {st._arrays['error'][ix]}", file=sys.stderr)
        if callback is not None:
            callback(dict(done=state["done"], failed=state["failed"], pending=state["pending"],
                          running=state["running"], total=state["total"]))

    try:
        if workers == 0:
            for ix, kwargs in tasks:
                state["running"] = 1
                record(ix, execute(study.function, kwargs, outputs))
            state["running"] = 0
        else:
            _dask(tasks, study.function, outputs, record, state, bar, workers=workers, scheduler=scheduler,
                  client=client, progress=progress)
    finally:
        bar.close()
    final = st.counts()
    return dict(final, ran=state["ran"], seconds=time.perf_counter() - start)


def _dask(tasks, function, outputs, record, state, bar, *, workers, scheduler, client, progress):
    distributed = _deps.require("distributed")
    cluster = None
    own = client is None
    if client is None:
        if scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout="30s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ArgumentError("scheduler", f"cannot reach a Dask scheduler at {scheduler!r}: "
                                                 f"{' '.join(str(exc).split())}") from None
        else:
            with _workers_ignore_sigint():
                cluster = distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                                   processes=True, dashboard_address=":0",
                                                   silence_logs=logging.ERROR)
                client = distributed.Client(cluster)
    try:
        if progress and _has_dashboard():
            bar.write(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr)
        ahead = distributed.as_completed()
        keys: dict[str, tuple] = {}
        window = [0, 0.0]                  # size, time of the last refresh

        def capacity():
            now = time.monotonic()
            if now - window[1] > 2.0:
                threads = sum(client.nthreads().values())
                window[:] = [max(2, 2 * threads), now]
            return window[0]

        def submit():
            while state["running"] < capacity():
                item = next(tasks, None)
                if item is None:
                    return
                ix, kwargs = item
                fut = client.submit(execute, function, kwargs, outputs, pure=False,
                                    key=f"sweep-cell-{'-'.join(map(str, ix))}-{os.urandom(4).hex()}")
                keys[fut.key] = ix
                ahead.add(fut)
                state["running"] += 1

        submit()
        for fut in ahead:
            ix = keys.pop(fut.key)
            try:
                outcome = fut.result()
            except Exception as exc:           # e.g. KilledWorker: its workers kept dying
                outcome = ("failed", describe(exc))
            fut.release()
            state["running"] -= 1
            record(ix, outcome)
            submit()
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()


@contextlib.contextmanager
def _workers_ignore_sigint():
    """While a local cluster starts, its worker processes are made to ignore SIGINT.

    Ctrl-C is sent by the terminal to the whole process group; workers that took it printed the
    tracebacks of their interrupted imports or tasks (up to 79 lines).  A process started while
    SIGINT is ignored ignores it too (``SIG_IGN`` survives ``exec``, and Python then installs no
    handler of its own), so SIGINT is ignored while the cluster starts; it is also blocked in this
    thread meanwhile, so that a Ctrl-C pressed then stays pending (Linux never drops a signal
    that is blocked) and is taken here once the handler is back.  The caller closes the workers.
    Only in the main thread (signal handlers live there).
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _has_dashboard() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


def status(store) -> dict:
    """Counts of done, failed and pending cells, and the first failures."""
    st = Store(store)
    return dict(st.counts(), study=st.spec.study, failures=st.failures(limit=10))
