"""The program's first handlers of SIGINT and SIGTERM, set when :mod:`sigprop.cli._console` starts to import.

Through ``_signal``, the interpreter's own module (loaded with it: importing it costs nothing), a handler
that records the signal in :data:`EARLY`, where the signal has its default action (SIGTERM) or Python's
(SIGINT; an ignored signal, ``nohup``, stays ignored).  :func:`sigprop.cli._console.main` then takes both
signals and ends the program as a recorded one asks.  Before this (the interpreter, ``site``,
``sigprop/__init__.py`` and ``sigprop/cli/__init__.py``), a signal has Python's behaviour.
"""
import _signal

#: The signals received from this module's import until :func:`sigprop.cli._console.main` takes them.
EARLY: list[int] = []


def record(signum, frame) -> None:
    """The handler: record ``signum`` in :data:`EARLY`."""
    EARLY.append(signum)


if _signal.getsignal(_signal.SIGTERM) == _signal.SIG_DFL:
    _signal.signal(_signal.SIGTERM, record)
if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, record)
