"""Progress on standard error: bars, and a timer for single long calls.

* ``progress_bar(total, enabled, **options)`` returns a ``tqdm`` bar when ``enabled``
  and otherwise a silent stand-in with the same ``update``/``close`` methods and
  context-manager protocol, so that a run without progress never imports tqdm.
* ``activity(description, enabled)`` is for one long call that cannot report steps
  (an eigendecomposition, the exact method): after ``delay`` seconds it shows
  ``description: 12 s`` on standard error, updated every second, and erases it
  when the call ends.
* ``wanted(flag)``: whether to show progress at all: ``flag`` and standard error
  is a terminal (the command line hides progress when its output is piped or
  captured, and with ``--no-progress``).
"""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _Silent:
    """A bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        """Ignore ``n`` steps."""

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def wanted(flag: bool, stream: Any = None) -> bool:
    """``flag`` and ``stream`` (default standard error) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(flag) and bool(stream.isatty())
    except (AttributeError, ValueError):        # closed or replaced streams
        return False


def progress_bar(total: int | None, enabled: bool, **options: Any) -> Any:
    """A tqdm bar over ``total`` steps if ``enabled``, else a silent one."""
    if not enabled:
        return _Silent()
    from tqdm.auto import tqdm
    return tqdm(total=total, **options)


@contextmanager
def activity(description: str, enabled: bool, *, delay: float = 2.0,
             every: float = 1.0) -> Iterator[None]:
    """Show ``description: N s`` on standard error while the block runs longer than ``delay``."""
    if not enabled:
        yield
        return
    done = threading.Event()
    start = time.monotonic()
    shown = [False]

    def tick() -> None:
        if done.wait(delay):
            return
        while True:
            sys.stderr.write(f"\r{description}: {time.monotonic() - start:.0f} s")
            sys.stderr.flush()
            shown[0] = True
            if done.wait(every):
                return

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if shown[0]:
            sys.stderr.write("\r" + " " * (len(description) + 12) + "\r")
            sys.stderr.flush()
