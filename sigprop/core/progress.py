"""Progress on standard error, the package's one way to show it: bars, lines and a timer.

The rule (one for every study, the command line and the API alike):

* **on a terminal**, a ``tqdm`` bar redrawn in place;
* **off a terminal** (standard error is a file, a pipe or a batch job's log), no bar and no
  redraw: one plain line each time another tenth of the steps is done, and one each minute
  without a line (a slow step, or a run of unknown length), e.g.
  ``sweep rho: 30% (30/100 cell), 12 s``;
* **not asked** (``progress=False``, ``--no-progress``), nothing.

The command line shows progress unless told not to (``--no-progress``, or
``SIGPROP_PROGRESS=off`` in its environment): a bar on a terminal; off a terminal the lines
above, the first of them only once the command has run :data:`COMMAND_LINE_DELAY` seconds, so
that a batch job's log shows that a long run is alive while a short command prints nothing
(``SIGPROP_PROGRESS=lines``: the lines from the start).  A Python caller that passes
``progress=True`` gets the bar or the lines by the rule, from the start.

* ``progress_bar(total, enabled, **options)``: the bar, the lines or a silent stand-in, all with
  ``update``/``close``/``set_postfix``/``set_postfix_str``/``write`` and the context-manager
  protocol; a run without progress, or off a terminal, never imports tqdm.
* ``iterate(iterable, enabled, **options)``: the items of ``iterable``, counted by
  :func:`progress_bar`.
* ``activity(description, enabled)`` is for one long call that cannot report steps (an
  eigendecomposition, the exact method): after ``delay`` seconds it shows ``description: 12 s``,
  updated every second on a terminal and erased when the call ends; off a terminal, a line
  each minute.
* ``wanted(flag)``: whether the command line shows progress (above).
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

#: Off a terminal: a line each time another ``LINE_FRACTION`` of the steps is done ...
LINE_FRACTION = 0.1
#: ... and one after ``LINE_SECONDS`` without a line.
LINE_SECONDS = 60.0
#: The environment variable of the command line's progress: ``off`` (none), ``lines`` (off a terminal,
#: lines from the start); unset or empty, the default rule; any other value is refused (:func:`setting`).
ENVIRONMENT = "SIGPROP_PROGRESS"
#: The values :data:`ENVIRONMENT` takes besides unset or empty.
SETTINGS = ("off", "lines")
#: Off a terminal, the command line's first line comes only after this many seconds of the command.
COMMAND_LINE_DELAY = 30.0
#: Seconds a run of lines stays silent from its start (0 for the API; set by :func:`for_command_line`).
_quiet_start = 0.0


def _stderr() -> Any:
    return sys.stderr


def _now() -> float:
    """The clock of the lines (monotonic seconds)."""
    return time.monotonic()


def is_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (default standard error) is a terminal (``False`` for closed or replaced streams)."""
    stream = _stderr() if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):        # closed or replaced streams
        return False


class _Silent:
    """A bar that shows nothing (``write`` still prints, as tqdm's does)."""

    def update(self, n: int = 1) -> None:
        """Ignore ``n`` steps."""

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        """Ignore the values."""

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        """Ignore the text."""

    def write(self, text: str, file: Any = None) -> None:
        """Print ``text`` on its own line to ``file`` (default standard error)."""
        stream = _stderr() if file is None else file
        stream.write(text + "\n")
        stream.flush()

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Lines(_Silent):
    """Progress as plain lines (never a redraw): see the module's rule.

    Parameters
    ----------
    total : int or None
        The number of steps (``None``: unknown; then only the minute lines).
    desc, unit : str
        The name of the run and of a step, as in tqdm.
    initial : int
        Steps already done.
    file : stream, optional
        Where the lines go (default standard error).
    fraction, seconds : float
        A line each ``fraction`` of ``total`` and after ``seconds`` without one.
    """

    def __init__(self, total: int | None, *, desc: str = "", unit: str = "it", initial: int = 0, file: Any = None,
                 fraction: float = LINE_FRACTION, seconds: float = LINE_SECONDS, **_tqdm_only: Any) -> None:
        self.quiet_until = _now() + _quiet_start
        self.total = int(total) if total else None
        self.desc, self.unit, self.file = desc, unit, file
        self.n = int(initial)
        self.fraction, self.seconds = fraction, seconds
        self.start = self.last = _now()
        self.tenths = self._tenths()
        self.postfix = ""
        self.closed = False

    def _tenths(self) -> int:
        return int(self.n / self.total / self.fraction + 1e-9) if self.total else 0

    def _line(self) -> None:
        done = f"{100 * self.n / self.total:.0f}% ({self.n}/{self.total} {self.unit})" if self.total else \
            f"{self.n} {self.unit}"
        head = f"{self.desc}: " if self.desc else ""
        tail = f", {self.postfix}" if self.postfix else ""
        self.write(f"{head}{done}, {_now() - self.start:.0f} s{tail}", self.file)
        self.last = _now()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps; a line when another fraction is done or a minute passed without one."""
        self.n += n
        tenths = self._tenths()
        if _now() < self.quiet_until:
            return
        if tenths > self.tenths or _now() - self.last >= self.seconds:
            self.tenths = max(tenths, self.tenths)
            self._line()

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        """Values shown at the end of the next line (``key=value``)."""
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        """Text shown at the end of the next line."""
        self.postfix = text

    def close(self) -> None:
        """End the run (no line: the last fraction printed one when the run completed)."""
        self.closed = True


def progress_bar(total: int | None, enabled: bool, **options: Any) -> Any:
    """A bar over ``total`` steps: tqdm on a terminal, lines off it (:class:`_Lines`), silent unless ``enabled``.

    ``options`` are tqdm's (``desc``, ``unit``, ``initial``, ``file``, ...); off a terminal the
    lines use ``desc``, ``unit``, ``initial`` and ``file`` and ignore the others.
    """
    if not enabled:
        return _Silent()
    if not is_terminal(options.get("file")):
        return _Lines(total, **options)
    from tqdm.auto import tqdm
    return tqdm(total=total, **options)


def iterate(iterable: Iterable[T], enabled: bool, *, total: int | None = None, **options: Any) -> Iterator[T]:
    """The items of ``iterable``, each counted as one step of :func:`progress_bar` (``total``: its length)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)                               # type: ignore[arg-type]
    bar = progress_bar(total, enabled, **options)
    try:
        for item in iterable:
            yield item
            bar.update(1)
    finally:
        bar.close()


def setting(strict: bool = True) -> str:
    """``$SIGPROP_PROGRESS``: ``"off"``, ``"lines"`` or ``""`` (unset or empty; case and surrounding
    spaces ignored).  Any other value raises :class:`~sigprop.core.checks.ArgumentError` naming the
    variable, or with ``strict=False`` reads as ``""``."""
    value = os.environ.get(ENVIRONMENT, "").strip().lower()
    if value in SETTINGS or value == "":
        return value
    if not strict:
        return ""
    from sigprop.core.checks import ArgumentError
    raise ArgumentError(ENVIRONMENT, f"must be one of {', '.join(SETTINGS)} (or unset), got "
                                     f"{os.environ.get(ENVIRONMENT)!r}")


def wanted(flag: bool, stream: Any = None) -> bool:
    """Whether the command line shows progress: ``flag`` and ``SIGPROP_PROGRESS`` is not ``off``
    (a bar on a terminal, lines off it: the module's rule); a value of ``SIGPROP_PROGRESS`` other than
    ``off`` or ``lines`` is refused (:func:`setting`)."""
    off = setting() == "off"
    return bool(flag) and not off


@contextmanager
def for_command_line(stream: Any = None) -> Iterator[None]:
    """The command line's rule while the block runs: off a terminal (``stream``, default standard
    error), lines start after :data:`COMMAND_LINE_DELAY` seconds unless ``SIGPROP_PROGRESS=lines``;
    the API's rule (lines from the start) again after the block."""
    global _quiet_start
    lines_now = setting(strict=False) == "lines"      # a wrong value is refused by the command (wanted)
    before, _quiet_start = _quiet_start, (0.0 if is_terminal(stream) or lines_now else COMMAND_LINE_DELAY)
    try:
        yield
    finally:
        _quiet_start = before


@contextmanager
def activity(description: str, enabled: bool, *, delay: float = 2.0,
             every: float = 1.0) -> Iterator[None]:
    """Show ``description: N s`` on standard error while the block runs longer than ``delay``.

    On a terminal the text is redrawn every ``every`` seconds and erased at the end; off a
    terminal it is a line each :data:`LINE_SECONDS` seconds.
    """
    if not enabled:
        yield
        return
    terminal = is_terminal()
    step = every if terminal else LINE_SECONDS
    delay = delay if terminal else max(delay, _quiet_start)
    done = threading.Event()
    start = time.monotonic()
    shown = [False]

    def tick() -> None:
        if done.wait(delay if terminal else max(delay, step)):
            return
        while True:
            text = f"{description}: {time.monotonic() - start:.0f} s"
            sys.stderr.write("\r" + text if terminal else text + "\n")
            sys.stderr.flush()
            shown[0] = True
            if done.wait(step):
                return

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if shown[0] and terminal:
            sys.stderr.write("\r" + " " * (len(description) + 12) + "\r")
            sys.stderr.flush()


__all__ = ["COMMAND_LINE_DELAY", "ENVIRONMENT", "LINE_FRACTION", "LINE_SECONDS", "SETTINGS", "activity",
           "for_command_line", "is_terminal", "setting", "iterate", "progress_bar", "wanted"]
