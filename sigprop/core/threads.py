"""Threads: how many cores there are, and BLAS threads held deliberately in hot paths.

Small matrix products (``(128 x 64) @ (64 x 64)`` in the simulation, the products of
one training step) run fastest on one BLAS thread: with OpenBLAS's default of one
thread per core they can take 10 to 100 times longer on a loaded machine, and they
fight the simulation's own worker threads.  :func:`blas_threads` limits BLAS for the
duration of a block through ``threadpoolctl`` (the optional extra ``sigprop[threads]``);
without it the block runs unchanged (a no-op), and ``OPENBLAS_NUM_THREADS=1`` in the
environment does the same job.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

_controller = None


def cores() -> int:
    """Cores this process may run on (``sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _get_controller():
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller = False
        else:
            _controller = ThreadpoolController()     # inspects the loaded libraries once
    return _controller


def available() -> bool:
    """Whether ``threadpoolctl`` is installed (else :func:`blas_threads` does nothing)."""
    return bool(_get_controller())


@contextlib.contextmanager
def blas_threads(limit: int = 1) -> Iterator[None]:
    """Run the block with at most ``limit`` BLAS threads (a no-op without threadpoolctl).

    The limit is process-wide while the block runs, and restored after it.
    """
    controller = _get_controller()
    if not controller:
        yield
        return
    with controller.limit(limits=limit, user_api="blas"):
        yield
