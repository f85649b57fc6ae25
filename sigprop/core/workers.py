"""Independent tasks run in parallel: worker threads, or forked worker processes.

:func:`run` computes ``[task(0, report), ..., task(count - 1, report)]`` with ``workers``
workers that take the next task in turn, so that a fast worker takes more tasks than a slow
one.  The results come back in task order, whoever computed them, so a caller that merges them
in order gets the same numbers with any number of workers.

Two kinds of worker:

* **threads** share the process.  NumPy releases Python's GIL inside its loops, but every
  call takes it back, so that many short NumPy calls make the threads queue for it.
* **processes** (``os.fork``, Linux only) share nothing but the task list: each is a copy of
  the caller, runs its tasks and sends their results back through a pipe (pickled).  No GIL
  is shared, so a task can work in small, cache-sized pieces (many short calls) without
  waiting: float32 Monte Carlo gains more from two processes than from two threads
  (docs/performance.md, "Two workers").  Forking costs about 3 ms a
  worker.  The children ignore Ctrl-C; the caller takes it, ends them and raises
  ``KeyboardInterrupt`` (SIGTERM, which the command line turns into a ``KeyboardInterrupt``,
  likewise).  The caller ends a child with SIGTERM, on which the child removes the temporary
  files of :func:`sigprop.core.results.atomic_write` it is writing and exits, then with SIGKILL
  after :data:`GRACE_S` seconds.  A child ends with its caller however the caller ends, SIGKILL included: Linux
  sends it SIGKILL when the thread that forked it ends (``prctl(PR_SET_PDEATHSIG)``), and a
  child whose caller ended before that request ends at once.  An exception in a task ends the
  run and is raised again in the caller at once, the other workers killed (its traceback stays
  in the child); a child that dies without a result (killed, out of memory) raises
  :class:`WorkerDied`.  Runs in several threads of one process may fork at the same time (:data:`_FORK_LOCK`).

``report(n)`` counts ``n`` units of progress: it calls ``progress(n)`` in the caller (from the
worker's thread, or from the caller's thread for processes, polled every 0.05 s).  In a worker
thread it also raises ``KeyboardInterrupt`` once the run is being stopped, so a task that
reports between its pieces of work ends at the next piece.
"""
from __future__ import annotations

import contextlib
import itertools
import mmap
import os
import pickle
import select
import selectors
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

#: Seconds between the caller's checks for progress, results and Ctrl-C.
POLL_S = 0.05

#: Held while a run creates its pipes and forks, so that a run in another thread never forks
#: with half-made pipes; the write ends of the task pipes still being fed are listed in
#: ``_FEEDS``, and every child closes them all (a child keeping another run's write end open
#: would make that run's workers wait for the end of their tasks forever).
_FORK_LOCK = threading.Lock()
_FEEDS: set[int] = set()

#: True in a worker process: a run started there (a Monte Carlo inside a ledger row that runs in a
#: worker) takes its tasks in turn in that process.  The child was forked while its parent held
#: :data:`_FORK_LOCK` (it would wait for it forever), and its parent's workers already use the cores.
_IN_WORKER = False

Task = Callable[[int, Callable[[int], None]], Any]


class WorkerDied(RuntimeError):
    """A worker process ended without sending its results."""


def forking() -> bool:
    """Whether worker processes are available: ``os.fork`` on Linux (elsewhere fork is absent
    or unsafe with the system's libraries)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def run_shown(task: Task, count: int, workers: int | None, *, total: int, show: bool, desc: str,
              unit: str) -> list:
    """:func:`run` on ``workers`` processes (default: every core; one runs in the caller) with a
    progress bar of ``total`` units (``desc``, ``unit``) when ``show``, through
    :func:`sigprop.core.progress.progress_bar`."""
    from sigprop.core import threads
    from sigprop.core.progress import progress_bar

    n = threads.cores() if workers is None else workers
    bar = progress_bar(total, show and total > 0, desc=desc, unit=unit)
    try:
        return run(task, count, n, processes=n > 1 and count > 1 and forking(),
                   progress=bar.update if show and total > 0 else None)
    finally:
        bar.close()


def run(task: Task, count: int, workers: int, *, processes: bool = False,
        progress: Callable[[int], None] | None = None) -> list:
    """``[task(k, report) for k in range(count)]`` computed by ``workers`` workers.

    Parameters
    ----------
    task : callable
        ``task(k, report)`` returns the result of task ``k``; it calls ``report(n)`` as it
        progresses (``n`` units).  For processes the result must pickle.
    count : int
        Number of tasks.
    workers : int
        Workers (at most ``count`` are started); with one, the tasks run in the caller.
    processes : bool
        Forked processes instead of threads (only where :func:`forking` is true).
    progress : callable, optional
        Receives the units reported, in the caller's process.

    Returns
    -------
    list
        The results in task order.
    """
    progress = progress or (lambda n: None)
    workers = 1 if _IN_WORKER else max(1, min(workers, count))
    if workers == 1:
        return [task(k, progress) for k in range(count)]
    if processes:
        if not forking():
            from sigprop.core.checks import ArgumentError
            raise ArgumentError.about("processes", "argument processes: worker processes need os.fork on Linux; "
                                                   "use threads")
        return _processes(task, count, workers, progress)
    return _threads(task, count, workers, progress)


def interruptible(call: Callable[[], Any]) -> Any:
    """``call()`` run in a daemon thread while the calling thread waits in steps of :data:`POLL_S`, so that
    a signal (Ctrl-C, SIGTERM) is taken at once, not when a long LAPACK routine returns (an
    eigendecomposition of a ``3000 x 3000`` matrix holds the interpreter's signal handlers for tens of
    seconds).  The call's exception is raised in the caller; after a signal the abandoned call ends with
    the process (the command line's case) or finishes unseen in its thread (in-process use)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:          # noqa: BLE001 - handed to the caller
            box["error"] = exc
    thread = threading.Thread(target=run, name="sigprop-interruptible", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(timeout=POLL_S)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _threads(task: Task, count: int, workers: int, progress: Callable[[int], None]) -> list:
    """Worker threads.  The caller waits in steps of :data:`POLL_S`, so that Ctrl-C is taken at
    once; then (or when a task raises) every started thread is stopped at its next ``report``,
    joined, and the exception raised again."""
    results: list = [None] * count
    errors: list[BaseException] = []
    counter = itertools.count()
    stop = threading.Event()

    def report(n: int) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        progress(n)

    def work() -> None:
        for k in iter(lambda: next(counter), None):
            if k >= count or stop.is_set():
                return
            try:
                results[k] = task(k, report)
            except BaseException as exc:      # noqa: BLE001 - handed to the caller
                errors.append(exc)
                stop.set()
                return
    pool = [threading.Thread(target=work, name=f"sigprop-worker-{j}", daemon=True) for j in range(workers)]
    try:
        for t in pool:
            t.start()
        while any(t.is_alive() for t in pool):
            for t in pool:
                t.join(timeout=POLL_S)
    except BaseException:
        stop.set()
        raise
    finally:
        for t in pool:
            if t.ident is not None:           # started, even if Ctrl-C came during its start
                t.join()
    if errors:
        raise errors[0]
    return results


def _processes(task: Task, count: int, workers: int, progress: Callable[[int], None]) -> list:
    """Forked worker processes.

    The task numbers go through a pipe, 4 bytes each, written without blocking in whole blocks
    of at most ``PIPE_BUF`` bytes (atomic), as many as the pipe takes before the fork and the rest
    as the children read (a pipe may hold as little as 4 KiB); the write end is closed once all
    are written.  A child reads 4 bytes at a time (whole records: everything in the pipe is
    whole records) until the pipe ends, reports progress in its own slot of a shared counter
    array, and at the end writes ``(ok, payload)`` pickled to its own result pipe:
    ``(True, [(k, result), ...])`` or ``(False, exception)``.
    """
    with _FORK_LOCK:
        jobs_r, jobs_w = os.pipe()
        os.set_blocking(jobs_w, False)
        _FEEDS.add(jobs_w)
    feed = _Feed(jobs_w, b"".join(k.to_bytes(4, "little") for k in range(count)))
    feed.write()
    shared = mmap.mmap(-1, 8 * workers)       # anonymous, shared with the children
    done = memoryview(shared).cast("q")
    children: dict[int, int] = {}             # pid -> read end of its result pipe
    reaped: dict[int, int] = {}               # pid -> wait status
    parent = os.getpid()
    die_with_parent = _parent_death_signal()  # looked up before the fork, not in every child
    try:
        for slot in range(workers):
            with _FORK_LOCK, signals_deferred(), warnings.catch_warnings():   # Python >= 3.12 warns on fork
                warnings.simplefilter("ignore", DeprecationWarning)   # with threads alive: the child runs only the task
                read, write = os.pipe()
                pid = os.fork()
                if pid == 0:                  # pragma: no cover - the child (coverage does not follow it)
                    os.close(read)
                    for fd in _FEEDS:         # this run's and any other thread's run's
                        os.close(fd)
                    _child(task, jobs_r, write, done, slot, parent, die_with_parent)
                children[pid] = read
                os.close(write)
        os.close(jobs_r)
        jobs_r = -1
        payloads = _collect(children, done, progress, feed, reaped)
    except BaseException:
        _end(children, reaped)
        raise
    finally:
        feed.close()
        if jobs_r >= 0:
            os.close(jobs_r)
        for pid in children:
            if pid not in reaped:
                reaped[pid] = os.waitpid(pid, 0)[1]
        for fd in children.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        done.release()
        shared.close()
    results: list = [None] * count
    for payload in payloads:
        for k, result in payload:
            results[k] = result
    return results


#: Seconds a worker process is given to remove its temporary files after SIGTERM before SIGKILL.
GRACE_S = 2.0


def _end(children: dict[int, int], reaped: dict[int, int]) -> None:
    """End the worker processes not yet reaped: SIGTERM (a worker then removes the temporary files
    it is writing and exits, :func:`_child`), and SIGKILL for those still running after
    :data:`GRACE_S` seconds (a worker inside a long call of compiled code takes no signal)."""
    live = [pid for pid in children if pid not in reaped]
    for pid in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while live and time.monotonic() < deadline:
        for pid in list(live):
            with contextlib.suppress(ChildProcessError):
                done, status = os.waitpid(pid, os.WNOHANG)
                if not done:
                    continue
                reaped[pid] = status
            live.remove(pid)
        if live:
            time.sleep(0.01)
    for pid in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _terminated(signum, frame) -> None:  # pragma: no cover - runs in a worker process
    """A worker's SIGTERM handler: remove the temporary files it is writing, then exit (143)."""
    from sigprop.core.results import remove_own_temporaries

    remove_own_temporaries()
    os._exit(128 + signal.SIGTERM)


@contextlib.contextmanager
def signals_deferred():
    """In the main thread: SIGINT and SIGTERM received inside the block are handled when it ends.

    For a short step that must not be cut in two: a fork (below), a sweep's store being created
    (``sigprop.sweep.store.create``: Zarr's writes go on in Zarr's own thread after an interrupt and
    recreated the temporary folder the clean-up had removed).

    ``os.fork`` runs the at-fork callbacks of other modules (``logging`` releases its lock); a
    ``KeyboardInterrupt`` raised by a signal handler inside one of them is printed and dropped by
    Python, so that a Ctrl-C at the moment of a fork would be lost and the child never registered.
    Deferred, the signal is taken once the child is in ``children`` and can be ended.  In another
    thread no handler runs (Python runs them in the main thread), so nothing is deferred.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, Any]] = []
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if callable(handler):
            previous[sig] = handler
            signal.signal(sig, lambda signum, frame: caught.append((signum, frame)))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for signum, frame in caught:
            previous[signum](signum, frame)   # raises KeyboardInterrupt (or the command's Terminated)


def _parent_death_signal() -> Callable[[], None] | None:
    """``request()``: ask Linux to send this process SIGKILL when its parent thread ends
    (``prctl(PR_SET_PDEATHSIG, SIGKILL)`` through ``ctypes``); ``None`` where there is no ``prctl``."""
    global _PDEATHSIG
    if _PDEATHSIG is False:
        _PDEATHSIG = None
        try:
            import ctypes

            prctl = ctypes.CDLL(None, use_errno=True).prctl
            prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
            prctl.restype = ctypes.c_int
            _PDEATHSIG = lambda: prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)  # noqa: E731
        except (OSError, AttributeError, ImportError):
            pass
    return _PDEATHSIG


#: ``prctl``'s option that sets the signal a process receives when its parent ends (linux/prctl.h).
PR_SET_PDEATHSIG = 1
_PDEATHSIG: Any = False                       # not looked up yet


def _child(task: Task, jobs: int, out: int, done: memoryview, slot: int, parent: int,
           die_with_parent: Callable[[], None] | None) -> None:  # pragma: no cover
    """The body of a worker process: never returns."""
    global _IN_WORKER
    _IN_WORKER = True
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C is the caller's to take
        signal.signal(signal.SIGTERM, _terminated)        # not the caller's handler: a SIGTERM ends it,
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})   # its temporary files removed
        if die_with_parent is not None:
            die_with_parent()
        if os.getppid() != parent:                        # the caller ended before the request
            os._exit(1)

        def report(n: int) -> None:
            done[slot] += n
        results = []
        while len(record := os.read(jobs, 4)) == 4:
            k = int.from_bytes(record, "little")
            results.append((k, task(k, report)))
        message = pickle.dumps((True, results), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:              # noqa: BLE001 - sent to the caller
        code = 1
        try:
            message = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            pickle.loads(message)             # some exceptions pickle but cannot be rebuilt
        except Exception:                     # noqa: BLE001 - an exception that does not pickle
            message = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    try:
        view = memoryview(message)
        while view:
            view = view[os.write(out, view):]
    finally:
        os._exit(code)                        # no atexit handlers, no flushing of the caller's buffers


class _Feed:
    """The write end of the task pipe and the bytes still to be written to it."""

    def __init__(self, fd: int, data: bytes) -> None:
        self.fd, self.data = fd, memoryview(data)

    def write(self) -> None:
        """Write whole blocks of at most ``PIPE_BUF`` bytes while the pipe takes them; close the
        pipe once everything is written (or once no child reads it any more)."""
        block = select.PIPE_BUF - select.PIPE_BUF % 4
        try:
            while self.data:
                self.data = self.data[os.write(self.fd, self.data[:block]):]
        except BlockingIOError:
            return
        except BrokenPipeError:               # every child has ended: what they left is reported
            pass
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            with _FORK_LOCK:
                _FEEDS.discard(self.fd)
                os.close(self.fd)
            self.fd = -1


def _collect(children: dict[int, int], done: memoryview, progress: Callable[[int], None],
             feed: _Feed, reaped: dict[int, int]) -> list:
    """Read every child's result pipe to its end, feeding the task pipe and passing on progress
    every :data:`POLL_S`; return the children's lists of ``(k, result)``.  As soon as a child
    ends with an error, or without results (it is then reaped into ``reaped``), raise: the
    caller ends the others."""
    chunks: dict[int, list[bytes]] = {pid: [] for pid in children}
    results: list = []
    shown = 0
    with selectors.DefaultSelector() as selector:
        for pid, fd in children.items():
            selector.register(fd, selectors.EVENT_READ, pid)
        if feed.fd >= 0:
            selector.register(feed.fd, selectors.EVENT_WRITE, None)
        open_ = len(children)
        while open_:
            for key, _ in selector.select(timeout=POLL_S):
                if key.data is None:          # the task pipe has room
                    selector.unregister(key.fd)
                    feed.write()
                    if feed.fd >= 0:
                        selector.register(feed.fd, selectors.EVENT_WRITE, None)
                    continue
                data = os.read(key.fd, 1 << 20)
                if data:
                    chunks[key.data].append(data)
                    continue
                selector.unregister(key.fd)
                open_ -= 1
                results.append(_outcome(key.data, b"".join(chunks.pop(key.data)), reaped))
            total = sum(done)
            if total > shown:
                progress(total - shown)
                shown = total
    return results


def _outcome(pid: int, data: bytes, reaped: dict[int, int]) -> list:
    """The ``(k, result)`` list a child sent, or its exception raised, or :class:`WorkerDied`
    when it sent nothing whole (it is reaped to tell how it ended)."""
    try:
        ok, payload = pickle.loads(data)
    except Exception:                         # noqa: BLE001 - nothing, or cut short: the child died
        reaped[pid] = os.waitpid(pid, 0)[1]
        raise WorkerDied(f"a worker process (pid {pid}) ended without its results: "
                         f"{_status(reaped[pid])}") from None
    if not ok:
        raise payload
    return payload


def _status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(sig).name}"
        return f"killed by signal {sig}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
