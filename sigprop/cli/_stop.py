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


#: Exit codes of the two signals that stop a command: 128 + the signal's number.
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143

#: The signals received while the program runs (their numbers, in order), recorded by the handlers of
#: :mod:`sigprop.cli._console` and :func:`sigprop.cli.app.terminate_as_interrupt`: code that turns a
#: signal's exception into another (a library's import catching it and raising ``ImportError``) does not
#: hide that the program was stopped.
FIRED: list[int] = []
