"""What a signal that stops a command is: :class:`Terminated` and the two exit codes.

A module of its own, importing nothing, so that both the program's entry point
(:mod:`sigprop.cli._console`, which imports the command line only after taking the signals) and the
command line (:mod:`sigprop.cli.app`) use it without importing each other.
"""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a scheduler or a CI cancelling the job), raised in the main
    thread as Ctrl-C raises ``KeyboardInterrupt``: every clean-up of an interrupt runs (worker
    processes ended, temporary files removed); the command ends with ``terminated``, exit code 143.
    (:mod:`sigprop.cli.app` exports it.)"""


def signal_inside(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM (a ``KeyboardInterrupt``) that ``exc`` wraps, by its cause or context chain,
    or ``None``: code that catches a signal's exception and raises another (Python 3.11 wraps an
    exception raised in ``__set_name__`` in a ``RuntimeError``, so a signal that arrives while Dask
    defines its classes surfaces as one; a command that reports a failed read as a damaged file) does
    not hide that the command was stopped."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, KeyboardInterrupt):
            return exc
        exc = exc.__cause__ or exc.__context__          # type: ignore[assignment]
    return None


#: Exit codes of the two signals that stop a command: 128 + the signal's number.
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143

#: The signals received while the program runs (their numbers, in order), recorded by the handlers of
#: :mod:`sigprop.cli._console` and :func:`sigprop.cli.app.terminate_as_interrupt`: code that turns a
#: signal's exception into another (a library's import catching it and raising ``ImportError``) does not
#: hide that the program was stopped.
FIRED: list[int] = []

#: The program being stopped, as its stop line names it: ``sigprop`` until the command is known, then
#: ``sigprop CMD`` (set by :mod:`sigprop.cli.app` once the arguments are parsed).
PROGRAM: list[str] = ["sigprop"]

#: A SIGTERM this many seconds or less after the first one is the same request to stop: ``timeout``
#: and process managers signal the command and then its process group, so the command receives
#: SIGTERM twice within microseconds, or a few milliseconds apart on a loaded machine.
SAME_STOP_S = 1.0


def after_first_sigterm():
    """The SIGTERM handler once a first SIGTERM is being handled: a repeat within :data:`SAME_STOP_S`
    seconds is ignored (the clean-up goes on); a later one ends the process at once, with the stop line
    and exit code 143 (the clean-up is cut short: files it would have removed are removed by the next
    write to the same target; Dask's worker processes are killed first, other workers end with it)."""
    import os
    import sys
    import time

    first = time.monotonic()

    def again(signum, frame):
        if time.monotonic() - first <= SAME_STOP_S:
            return
        from sigprop.core.children import kill_children, worker

        kill_children(worker)         # Dask's workers (Monte Carlo workers end with this process by themselves)
        try:
            sys.stderr.write(f"{PROGRAM[-1]}: terminated\n")
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        os._exit(EXIT_TERMINATED)
    return again
