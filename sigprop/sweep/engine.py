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
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from sigprop.core import checks
from sigprop.core.checks import ArgumentError
from sigprop.core.children import kill_children, worker
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
    where = scheduler_address(scheduler) if scheduler is not None else None
    spec.check_cells()                       # every cell's arguments and sizes, before the store and the workers
    _deps.require()
    if scheduler is not None and where is not None:
        reach_scheduler(scheduler, *where)
    st = prepare(store, spec, overwrite=overwrite)
    st.lock()
    try:
        return _run(spec, st, workers=workers, scheduler=scheduler, client=client, retry_failed=retry_failed,
                    progress=progress, callback=callback)
    finally:
        st.unlock()


#: The address schemes of a Dask scheduler a sweep connects to (all over TCP).
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss")
#: Seconds :func:`reach_scheduler` waits for a TCP connection to the scheduler.
REACH_SECONDS = 10.0


def scheduler_address(address: Any) -> tuple[str, int]:
    """``(host, port)`` of a Dask scheduler's address ``SCHEME://HOST:PORT`` (``SCHEME`` one of
    :data:`SCHEDULER_SCHEMES`, ``tcp`` if left out; an IPv6 host in brackets; ``PORT`` in 1..65535),
    else a one-line :class:`~sigprop.core.checks.ArgumentError` naming ``scheduler``.

    Examples
    --------
    >>> scheduler_address("tcp://127.0.0.1:8786")
    ('127.0.0.1', 8786)
    >>> scheduler_address("tcp://[::1]:8786")
    ('::1', 8786)
    """
    form = f"must be an address SCHEME://HOST:PORT (SCHEME one of {', '.join(SCHEDULER_SCHEMES)}, PORT in [1, 65535])"
    if not isinstance(address, str):
        raise ArgumentError("scheduler", f"{form}, got {checks.short_repr(address)}")
    scheme, sep, rest = address.strip().partition("://")
    if not sep:
        scheme, rest = "tcp", address.strip()
    if scheme not in SCHEDULER_SCHEMES:
        raise ArgumentError("scheduler", f"{form}, got the scheme {scheme!r} in {address!r}")
    rest = rest.rstrip("/")
    if rest.startswith("["):
        host, closed, tail = rest[1:].partition("]")
        port = tail[1:] if closed and tail.startswith(":") else ""
    else:
        host, colon, port = rest.rpartition(":")
        host, port = (host, port) if colon else (rest, "")
    if not host or any(c.isspace() or c in "/@" for c in host):
        raise ArgumentError("scheduler", f"{form}, got no valid host in {address!r}")
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ArgumentError("scheduler", f"{form}, got the port {port!r} in {address!r}")
    return host, int(port)


def reach_scheduler(address: str, host: str, port: int, timeout: float = REACH_SECONDS) -> None:
    """Refuse (one line naming ``scheduler``) a scheduler whose ``host:port`` accepts no TCP
    connection within ``timeout`` seconds, before the store is created or any cell runs."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except (OSError, UnicodeError, ValueError) as exc:       # refused, unknown host, timeout, a bad name
        reason = f"no answer within {timeout:g} s" if isinstance(exc, TimeoutError) else (
            getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
        raise ArgumentError("scheduler", f"cannot reach a Dask scheduler at {address!r}: {' '.join(reason.split())}; "
                                         "start it (dask scheduler) or give the address it prints") from None


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
    """Run the cells on Dask: a thread of its own drives Dask, this one writes the store.

    Every call into Dask (starting and closing a local cluster, submitting, waiting) runs in the
    driver thread (:func:`_drive`), where no signal handler raises: Ctrl-C or SIGTERM, at any moment
    (before the cluster exists, while it starts, during the run, while it closes), interrupts only
    this thread, which asks the driver to stop and waits for it to close the cluster the ordinary way
    (:func:`_finish`).  Cells reach this thread through a bounded queue and are written here, so a
    resume after an interrupt computes exactly the cells not yet written.
    """
    distributed = _deps.require("distributed")
    inbox: queue.Queue = queue.Queue(maxsize=_INBOX)
    stop = threading.Event()
    driver = threading.Thread(target=_drive, name="sigprop sweep: Dask", daemon=True,
                              args=(distributed, inbox, stop, tasks, function, outputs),
                              kwargs=dict(workers=workers, scheduler=scheduler, client=client, progress=progress))
    with _quiet_dask() as quiet:
        driver.start()
        try:
            while True:
                kind, value = inbox.get()
                if kind == "cell":
                    ix, outcome, state["running"] = value
                    record(ix, outcome)
                elif kind == "note":
                    bar.write(value, file=sys.stderr)
                elif kind == "error":
                    raise value
                else:
                    break
        finally:
            # a driver still closing (a second Ctrl-C) keeps Dask silent until the process ends
            quiet["keep"] = not _finish(driver, stop, inbox)


#: Cells computed but not yet written that the driver may hold (memory stays bounded).
_INBOX = 64
#: Seconds the clean-up gives the driver to close a local cluster the ordinary way before the worker
#: processes are killed (a close takes about a second; a start in progress is completed first).
CLOSE_SECONDS = 30.0


def _drive(distributed, inbox, stop, tasks, function, outputs, *, workers, scheduler, client, progress):
    """The driver thread: start (or connect to) Dask, keep a few cells per worker thread in flight,
    hand each result to ``inbox``, and close what it started; ``("done", None)`` is its last message,
    an exception it meets is sent as ``("error", exc)`` before it.

    SIGINT is blocked in this thread, so in the threads it starts and the worker processes they spawn
    (a signal mask survives ``fork`` and ``exec``): a Ctrl-C sent to the whole process group never
    reaches a Dask worker, and this process takes it in its main thread (its handler is not changed).
    """
    if client is None and scheduler is None:
        _quiet_resource_tracker()              # first: starting it unblocks SIGINT in the calling thread
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    def send(kind, value):
        while not stop.is_set():
            try:
                inbox.put((kind, value), timeout=0.1)
                return
            except queue.Full:
                continue

    cluster = None
    own = client is None
    try:
        if client is None:
            if scheduler is not None:
                try:
                    client = distributed.Client(scheduler, timeout="30s")
                except (OSError, TimeoutError, ValueError) as exc:
                    raise ArgumentError("scheduler", f"cannot reach a Dask scheduler at {scheduler!r}: "
                                                     f"{' '.join(str(exc).split())}") from None
            else:
                cluster = distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                                   processes=True, dashboard_address=":0",
                                                   silence_logs=_SILENT)
                if stop.is_set():
                    return
                client = distributed.Client(cluster)
        if progress and _has_dashboard():
            send("note", f"Dask dashboard: {client.dashboard_link}")
        _cells(distributed, client, send, stop, tasks, function, outputs)
    except Exception as exc:
        send("error", exc)
    finally:
        if own:
            _close(client, cluster, quick=stop.is_set())
        inbox.put(("done", None))        # the main thread reads until this message


def _cells(distributed, client, send, stop, tasks, function, outputs):
    """Submit the cells, at most about two per worker thread in flight, and send each outcome."""
    ahead = distributed.as_completed()
    keys: dict[str, tuple] = {}
    window = [0, 0.0]                  # size, time of the last refresh
    running = 0

    def capacity():
        now = time.monotonic()
        if now - window[1] > 2.0:
            threads = sum(client.nthreads().values())
            window[:] = [max(2, 2 * threads), now]
        return window[0]

    def submit():
        nonlocal running
        while running < capacity() and not stop.is_set():
            item = next(tasks, None)
            if item is None:
                return
            ix, kwargs = item
            fut = client.submit(execute, function, kwargs, outputs, pure=False,
                                key=f"sweep-cell-{'-'.join(map(str, ix))}-{os.urandom(4).hex()}")
            keys[fut.key] = ix
            ahead.add(fut)
            running += 1

    submit()
    while not stop.is_set() and not ahead.is_empty():
        batch = ahead.next_batch(block=False)
        if not batch:
            time.sleep(0.05)
            continue
        for fut in batch:
            ix = keys.pop(fut.key)
            try:
                outcome = fut.result()
            except Exception as exc:           # e.g. KilledWorker: its workers kept dying
                outcome = ("failed", describe(exc))
            fut.release()
            running -= 1
            send("cell", (ix, outcome, running))
        submit()


def _close(client, cluster, *, quick: bool) -> None:
    """Close a client and a local cluster of this sweep; what Dask raises while closing is dropped
    (every cell is written or pending either way).

    ``quick`` (the sweep was interrupted): the workers are closed first with a grace of
    :data:`QUICK_CLOSE_SECONDS`, after which their processes are killed (a worker otherwise waits for
    the cell it computes, up to Dask's 4 s, and that cell's result would not be written anyway).
    """
    if client is not None:
        with contextlib.suppress(Exception):
            client.close()
    if cluster is None:
        return
    if quick:
        with contextlib.suppress(Exception):
            cluster.sync(_close_workers, cluster, QUICK_CLOSE_SECONDS)
    with contextlib.suppress(Exception):
        cluster.close()


#: Seconds an interrupted sweep gives a local worker to close before its process is killed.
QUICK_CLOSE_SECONDS = 0.5


async def _close_workers(cluster, timeout: float) -> None:
    """Close every worker (a ``Nanny``) of ``cluster`` with ``timeout``; runs in the cluster's loop."""
    import asyncio

    await asyncio.gather(*(w.close(timeout=timeout) for w in list(cluster.workers.values())),
                         return_exceptions=True)


def _finish(driver: threading.Thread, stop: threading.Event, inbox: queue.Queue) -> bool:
    """Stop the driver and wait until it has closed what it started (:data:`CLOSE_SECONDS` at most);
    the worker processes of this sweep still running then, or at a second Ctrl-C meanwhile, are killed.
    A SIGTERM more than a second after the first ends the process at once (``sigprop.cli._stop``); its
    workers follow it (a Dask worker process ends when the pipe from its parent closes).  Returns whether
    the driver ended."""
    stop.set()
    deadline = time.monotonic() + CLOSE_SECONDS
    while driver.is_alive() and time.monotonic() < deadline:
        try:
            with contextlib.suppress(queue.Empty):
                inbox.get(timeout=0.1)            # a driver handing over a cell is not kept waiting
            driver.join(0.05)
        except KeyboardInterrupt:                 # Ctrl-C again: do not wait any longer
            break
    if driver.is_alive():
        kill_children(worker)                    # Dask's workers, not the resource tracker (ends by itself)
        return False
    return True


#: The level of Dask's loggers while a sweep's own local cluster runs: above CRITICAL, so nothing
#: (a worker losing its connection as the cluster closed logged a 30-60 line traceback); a failed
#: cell is recorded in the store with its error and listed by ``sigprop sweep --status``.
_SILENT = logging.CRITICAL + 1


@contextlib.contextmanager
def _quiet_dask():
    """Dask's, Tornado's and Bokeh's loggers in this process silent while the block runs, restored after
    unless the block set ``keep`` in the dictionary it receives."""
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado", "bokeh")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(_SILENT)
    state = {"keep": False}
    try:
        yield state
    finally:
        if not state["keep"]:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)


def _quiet_resource_tracker() -> None:
    """Start ``multiprocessing``'s resource tracker (a process Dask's workers need) with its warnings
    ignored: when this process is killed (SIGKILL, a later SIGTERM) the tracker removes the semaphores
    left behind and printed a two-line ``UserWarning`` about them.  A tracker already running is kept."""
    from multiprocessing import resource_tracker

    option = "ignore::UserWarning"
    added = option not in sys.warnoptions
    if added:
        sys.warnoptions.append(option)           # passed on as -W to the interpreter spawned now
    try:
        resource_tracker.ensure_running()
    finally:
        if added:
            sys.warnoptions.remove(option)


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
