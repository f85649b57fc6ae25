"""The child processes of this process (Linux), and ending them at once.

A module importing only ``os`` and ``signal``, so that the program's signal handlers
(:mod:`sigprop.cli._stop`) use it without importing NumPy.
"""
from __future__ import annotations

import os
import signal
from collections.abc import Callable


def kill_children(which: Callable[[bytes], bool]) -> list[int]:
    """SIGKILL the children of every thread of this process whose command line (``/proc/PID/cmdline``,
    NUL-separated) ``which`` accepts; returns their process ids.  Does nothing where there is no ``/proc``."""
    try:
        threads = os.listdir("/proc/self/task")
    except OSError:                               # pragma: no cover - not Linux
        return []
    killed = []
    for tid in threads:
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            continue
        for pid in pids:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if which(f.read()):
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
            except OSError:
                continue
    return killed


def worker(cmdline: bytes) -> bool:
    """Whether a command line is a worker process ``multiprocessing`` spawned (Dask's workers), not its
    resource tracker (which ends by itself once no process holds its pipe, removing what they left)."""
    return b"multiprocessing.spawn" in cmdline
