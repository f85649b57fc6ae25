"""The ``sigprop`` program: the console script's entry point, and ``python -m sigprop.cli``.

This module imports only ``os``, ``signal``, ``sys`` and :mod:`sigprop.cli._stop`, so that it runs a
few milliseconds after Python starts, and before those it imports :mod:`sigprop.cli._early`, whose handlers
record a signal for :func:`main`: :func:`main` takes SIGINT and SIGTERM first, and only then imports
the command line (:mod:`sigprop.cli.app`, argparse, the command's modules) and runs it.  A signal at any moment from
there on ends the program with one line and the signal's exit code (docs/contract.md, "Signals"):
``sigprop: interrupted`` (130) or ``sigprop: terminated`` (143) while the command is not yet known,
the command's own line (``sigprop predict: interrupted``) once it is, and nothing more after a
command's line.  Before this module runs (Python's own start), SIGTERM has its default action and
Ctrl-C Python's.

In-process callers use :func:`sigprop.cli.main` (:func:`sigprop.cli.app.main`), which changes no
signal handler or hook for longer than the command runs.
"""
from __future__ import annotations

# isort: off
from sigprop.cli import _early  # first: SIGINT and SIGTERM recorded from here on, until main() takes them
import os
import signal
import sys
# isort: on

from sigprop.cli._stop import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    FIRED,
    Terminated,
    after_first_sigterm,
)


def _terminate(signum, frame):
    signal.signal(signal.SIGTERM, after_first_sigterm())  # a later SIGTERM ends the process at once
    FIRED.append(signum)
    raise Terminated


def _interrupt(signum, frame):
    FIRED.append(signum)                                 # Python's own handler, recorded
    raise KeyboardInterrupt


def _standard_streams() -> None:
    """A closed standard error (``2>&-``) is opened on the null device, so that the program's lines do not
    fall back to standard output; a closed standard output keeps ``sys.stdout`` at ``None`` (the command
    reports it) with the null device on its descriptor, so that no file the command opens takes it."""
    for fd in (1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_WRONLY)
            if null != fd:                               # the lowest free descriptor is the closed one
                os.dup2(null, fd)
                os.close(null)
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)         # noqa: SIM115 - the process's standard error
    sys.stderr = _Tolerant(sys.stderr)


class _Tolerant:
    """Standard error whose writes never raise: a line that cannot be written (``2>/dev/full``) is lost,
    and the command's exit code stays the one it chose (a refusal's 2, not 1 from the failed write)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            self._drop()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            self._drop()

    def _drop(self) -> None:
        """Point the descriptor at the null device, so that the text left in the buffer goes nowhere."""
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        except (OSError, ValueError):
            pass

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _line(text: str) -> None:
    """Write one line to standard error, whatever standard error has become."""
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def main() -> int:
    """Run ``sigprop`` on ``sys.argv[1:]`` as a program; returns the exit code.

    SIGTERM raises :class:`Terminated` from the first line on (SIGINT raises ``KeyboardInterrupt``, as
    Python's own handler does; an ignored SIGINT, ``nohup``, stays ignored); both are recorded in
    :data:`sigprop.cli._stop.FIRED`.  The command line is imported and run inside the ``try`` that turns
    either, or any exception raised after one was received, into one line and exit code 130 or 143.  From the command's
    return (or the stop line) to the process's end (Python's exit: threads joined, ``atexit`` callbacks),
    a signal ends the process at once, with its line unless one was printed.
    """
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, _early.record):
        signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGINT) in (signal.default_int_handler, _early.record):
        signal.signal(signal.SIGINT, _interrupt)
    state = _State()
    try:
        if _early.EARLY:                                 # received while this module imported
            FIRED.extend(_early.EARLY)
            raise Terminated if _early.EARLY[-1] == signal.SIGTERM else KeyboardInterrupt
        _standard_streams()
        from sigprop.cli import app

        code = app.main()
        state.code, state.line = code, code in (EXIT_INTERRUPTED, EXIT_TERMINATED)
        _end_at_once(state)
    except Exception:
        if not FIRED:
            raise
        # a signal's exception that the interrupted code turned into another (numpy's import raises
        # ImportError when a signal stops it): the program was stopped all the same
        code = EXIT_TERMINATED if FIRED[-1] == signal.SIGTERM else EXIT_INTERRUPTED
        state.code = code
        _end_at_once(state)
        _line(f"sigprop: {'terminated' if code == EXIT_TERMINATED else 'interrupted'}")
        state.line = True
    except KeyboardInterrupt as exc:
        code = EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
        state.code = code
        _end_at_once(state)                              # first: a further signal ends the process at once
        _line(f"sigprop: {'terminated' if code == EXIT_TERMINATED else 'interrupted'}")
        state.line = True
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (OSError, ValueError):                        # the command reported its output's failure
        null = os.open(os.devnull, os.O_WRONLY)          # what is left in the buffer goes nowhere at exit
        os.dup2(null, 1)
        os.close(null)
    return code


class _State:
    """The program's exit code once known, and whether a stop line was printed."""

    def __init__(self) -> None:
        self.code: int | None = None
        self.line = False


def _end_at_once(state: _State) -> None:
    """Signal handlers that end the process at once: with the signal's line unless ``state.line`` (one
    was printed), with ``state.code`` when it is already a signal's code, else the signal's."""
    def end(signum, frame):
        stop = EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED
        if not state.line:
            state.line = True
            _line(f"sigprop: {'terminated' if stop == EXIT_TERMINATED else 'interrupted'}")
        code = state.code
        os._exit(code if code is not None and code in (EXIT_INTERRUPTED, EXIT_TERMINATED) else stop)

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) not in (signal.SIG_IGN, None):
            signal.signal(signum, end)
