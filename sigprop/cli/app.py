"""The command line's machinery: the registry of commands, the parser, dispatch, output, errors.

A command is a :class:`Command` registered with :func:`command` (a decorator on its
``run`` function) by a *family* module: every module of :mod:`sigprop.cli` other than
this one, ``render``, ``arguments`` and ``__main__``, found by listing the package,
and every module named by an entry point of the group ``sigprop.commands`` (plugins
such as ``sigprop_figures.command``).  Families import only ``argparse`` and this
package at module level; their ``run`` functions import the API when they run, so that
building the parser (``sigprop --help``) imports no scientific code.

:func:`main` parses, runs the command, writes ``--out`` atomically (JSON with its type tag,
read back by ``sigprop.load``), draws ``--plot``,
renders the result and maps errors to one line and exit code 2: an
:class:`~sigprop.core.checks.ArgumentError` raised by the API names the command-line
flag the command declares for that parameter (``Command.flags``).
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import pkgutil
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sigprop._version import __version__

# SIGTERM's exception (a KeyboardInterrupt) and the exit codes of the two signals (128 + the signal's
# number) belong to the program's entry point, whose handler raises it before this module is imported.
from sigprop.cli._stop import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    FIRED,
    PROGRAM,
    Terminated,
    after_first_sigterm,
    signal_inside,
)
from sigprop.cli.render import View

ENTRY_POINT_GROUP = "sigprop.commands"
INFRASTRUCTURE = frozenset({"app", "render", "arguments", "__main__"})
# The order of the families in ``sigprop --help``; families not listed come after, by name.
FAMILY_ORDER = ("rho", "model", "gap", "checkpoints", "claims")


class UsageError(Exception):
    """A command-line-only problem (e.g. two flags that exclude each other); exit code 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print ``message`` as one line and exit with code 2.

        Parameters
        ----------
        message : str
            What argparse found wrong.
        """
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")

    def _print_message(self, message: str, file=None) -> None:
        """Write ``--help`` or ``--version`` (to standard output) or a usage error; a standard output that
        cannot be written (``> /dev/full``) is one line and exit code 2, a reader that left (``| head``)
        exit code 141, where argparse ignored the failure and exited 0."""
        if not message:
            return
        if file not in (None, sys.stdout):      # standard error: a line that cannot be written is lost
            try:
                file.write(message)
                file.flush()
            except (OSError, ValueError):
                pass
            return
        failure = write_stdout(message)         # file None: argparse's sys.stdout where Python found none
        if failure == EXIT_BROKEN_PIPE:
            raise SystemExit(EXIT_BROKEN_PIPE)
        if failure is not None:
            print(f"{self.prog}: error: {failure}", file=sys.stderr)
            raise SystemExit(2)


@dataclass(frozen=True)
class Command:
    """One command: how to parse it, run it, and show its result.

    Attributes
    ----------
    name
        Its words, e.g. ``"predict"`` or ``"lm train"`` (a nested group).
    run
        ``run(args) -> dict``: calls the API and returns the result.
    arguments
        ``arguments(parser)``: adds the command's own arguments.
    help, description
        One line for ``sigprop --help``, and the command's own description.
    view
        How the result is shown as a table (:class:`~sigprop.cli.render.View`).
    flags
        API parameter name -> flag, so that an API ``ArgumentError`` names the flag.
    formats
        The ``--format`` choices (the first is the default); ``renderers`` maps extra
        formats to ``"module:function"`` (``function(result) -> str``).
    out
        What ``--out FILE`` writes: ``"json"`` (the result), ``"text"`` (what is
        printed; with ``--format json`` the result with its type tag, which ``sigprop.load``
        reads) or ``None`` (no ``--out``, or the command declares its own).
    plot
        Name of a function of :mod:`sigprop.plotting` (or ``"module:function"``) that draws the result to
        ``--plot FILE`` (``None``: no ``--plot``); ``transient`` keys are kept only for
        the plot and dropped before output.
    figures
        Other flags holding a figure path that the command draws itself (e.g. ``("--plot",)``
        when ``plot`` is ``None``): their folder and format are checked before the work, as
        ``--plot``'s are.
    exit_code
        ``exit_code(result) -> int`` for commands whose result decides the exit code.
    output_size
        ``output_size(args) -> (numbers, parameter)``: how many numbers the result holds and the
        API parameter that drives the count; a result whose text would exceed the machine's memory
        (:func:`sigprop.core.memory.require_output`) is refused before the work.
    folders
        Flags naming a folder the command writes into (created when missing, e.g. ``--run-dir``):
        refused before the work when the path exists and is not a folder, or is a folder that
        cannot be written, or when the first existing folder above it cannot be written.
    reads
        ``reads(args) -> [(argument, path), ...]``: files the command reads that no argument names
        itself (e.g. the ``run.json`` records inside the folders of ``lm summarize``); an output
        path that is one of them is refused before the work, as one naming an input file is.
    keys, kind
        For each list of records in the result, the fields that identify a record (its
        dimensions in ``sigprop.load(FILE).to_xarray()``; inferred when not given), and the
        type tag of the ``--out`` file (default: the name, ``"lm sweep"`` -> ``"lm-sweep"``)
        when the API does not return a :class:`~sigprop.core.labelled.Result` of its own.
    dims
        The axes of the result's arrays, by field (``"rows_rank_residual_by_seed": ("seed",)``;
        :func:`sigprop.core.labelled.dataset`), when the API does not declare them.
    """

    name: str
    run: Callable[[argparse.Namespace], dict]
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    help: str = ""
    description: str = ""
    view: View = View()
    flags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    formats: tuple[str, ...] = ("table", "json")
    renderers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    out: str | None = "json"
    plot: str | None = None
    transient: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    exit_code: Callable[[dict], int] | None = None
    reads: Callable[[argparse.Namespace], list[tuple[str, str]]] | None = None
    folders: tuple[str, ...] = ()
    output_size: Callable[[argparse.Namespace], tuple[float, str]] | None = None
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    kind: str | None = None
    dims: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


_COMMANDS: dict[str, Command] = {}
_GROUPS: dict[str, str] = {}
_loaded: set[str] = set()


def command(name: str, **options: Any) -> Callable[[Callable[[argparse.Namespace], dict]],
                                                    Callable[[argparse.Namespace], dict]]:
    """Register the decorated ``run(args) -> dict`` as the command ``name``.

    ``options`` are the other fields of :class:`Command`.
    """
    def decorate(run: Callable[[argparse.Namespace], dict]) -> Callable[[argparse.Namespace], dict]:
        register(Command(name, run, **options))
        return run
    return decorate


def register(cmd: Command) -> Command:
    """Add ``cmd`` to the registry (a later registration of the same name replaces it)."""
    _COMMANDS[cmd.name] = cmd
    return cmd


def study_command(study: Any, **overrides: Any) -> Command:
    """The :class:`Command` of a study's descriptor (:class:`sigprop.core.study.Study`).

    Its ``cli`` (:class:`sigprop.core.study.Cli`) names the words, the flags, the view and either
    a command of its own (``run`` and ``arguments``, ``"module:function"``, imported when they
    run) or nothing more: the command then offers the flags of ``cli.flags`` (typed by the
    function's defaults; a parameter without one is required) and prints the typed result.
    ``overrides`` replace fields of the :class:`Command`.
    """
    from sigprop.core.study import resolve

    cli = study.cli
    if cli is None:
        from sigprop.core.checks import ArgumentError  # here: `sigprop --help` imports no NumPy
        raise ArgumentError.about("study", f"study {study.name!r} declares no command (its descriptor's cli is None)")
    if cli.run is not None:
        def run(args: argparse.Namespace) -> dict:
            return resolve(cli.run)(args)
    else:
        def run(args: argparse.Namespace) -> dict:
            kwargs = {p: getattr(args, _dest(f)) for p, f in cli.flags.items() if getattr(args, _dest(f)) is not None}
            return resolve(study.function)(**kwargs).to_json()
    if cli.arguments is not None:
        def arguments(p: argparse.ArgumentParser) -> None:
            resolve(cli.arguments)(p)
    else:
        def arguments(p: argparse.ArgumentParser) -> None:
            _study_arguments(p, study)
    kind = study.kind if cli.run is not None else study.tag()      # the type tag of the --out file
    fields: dict[str, Any] = dict(arguments=arguments, help=cli.help or study.description,
                                  description=study.description, view=View(**cli.view), flags=dict(cli.flags),
                                  plot=study.figure, kind=kind)
    fields.update(cli.options)
    fields.update(overrides)
    return Command(cli.command, run, **fields)


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _study_arguments(p: argparse.ArgumentParser, study: Any) -> None:
    """The flags of ``study.cli.flags``, typed by the API function's defaults or annotations
    (``int``, ``float``, ``bool``: a switch; else text); a parameter without a default is required."""
    import inspect

    from sigprop.cli import arguments as a

    params = inspect.signature(study.api()).parameters
    for name, flag in study.cli.flags.items():
        param = params[name]
        default = None if param.default is inspect.Parameter.empty else param.default
        kind = _TYPES.get(getattr(param.annotation, "__name__", param.annotation), None)
        kind = type(default) if isinstance(default, (bool, int, float)) else kind
        if kind is bool:
            p.add_argument(flag, action="store_true", help=f"{name} (default off)")
        elif name == "seed":
            p.add_argument(flag, type=a.seed, default=default, help=f"{name} (>= 0, default {default})")
        else:
            p.add_argument(flag, type=a.number(kind) if kind in (int, float) else str, default=default,
                           required=param.default is inspect.Parameter.empty,
                           help=name + ("" if default is None else f" (default {default})"))


_TYPES = {"int": int, "float": float, "bool": bool}


def group(name: str, help: str) -> None:
    """Describe the command group ``name`` (e.g. ``"lm"`` for ``sigprop lm train``)."""
    _GROUPS[name] = help


def commands(plugins: bool = True) -> dict[str, Command]:
    """Every registered command by name: the families', and the plugins' unless ``plugins=False``."""
    _load_families()
    if plugins:
        _load_plugins()
    _load_studies()
    return dict(_COMMANDS)


def _load_families() -> None:
    if "families" in _loaded:
        return
    _loaded.add("families")
    package = __name__.rpartition(".")[0]            # this module's package, sigprop.cli
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))
    for name in sorted(names, key=lambda n: (FAMILY_ORDER.index(n) if n in FAMILY_ORDER else len(FAMILY_ORDER), n)):
        if name not in INFRASTRUCTURE and not name.startswith("_"):
            importlib.import_module(f"{package}.{name}")


def _load_studies() -> None:
    """A command for every registered study descriptor (:mod:`sigprop.core.study`) with a ``cli``
    whose command no family registered (a family may register it itself, where it belongs in
    ``--help``).  The descriptors of :data:`sigprop.core.study.MODULES` are not imported here
    (``sigprop --help`` stays light): a family shows a built-in study's command by importing it."""
    from sigprop.core.study import studies

    for study in studies(load=False).values():      # the families import the descriptors they show
        if study.cli is not None and study.cli.command not in _COMMANDS:
            register(study_command(study))


def _load_plugins() -> None:
    if "plugins" in _loaded:
        return
    _loaded.add("plugins")
    from importlib.metadata import entry_points  # costs ~0.1 s: only when a plugin may be asked for
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except ImportError:  # a plugin whose own dependencies are missing offers no commands
            continue


# --- the parser --------------------------------------------------------------------

def build_parser(plugins: bool = True) -> argparse.ArgumentParser:
    """The ``sigprop`` parser with a sub-parser (or nested group) per registered command."""
    parser = Parser(prog="sigprop", description="Signal propagation and spectral-gap theory of "
                                                "self-attention, checked against Monte Carlo.")
    parser.add_argument("--version", action="version", version=f"sigprop {__version__}")
    tree: dict[str, Any] = {}
    for name, cmd in commands(plugins).items():
        node = tree
        for word in name.split()[:-1]:
            node = node.setdefault(word, {})
        node[name.split()[-1]] = cmd
    _add_level(parser, tree, prefix=(), depth=0)
    return parser


def _add_level(parser: argparse.ArgumentParser, tree: dict, prefix: tuple[str, ...], depth: int) -> None:
    sub = parser.add_subparsers(dest=f"_command_{depth}", required=True, parser_class=Parser,
                                metavar="{" + ",".join(tree) + "}")
    for word, node in tree.items():
        if isinstance(node, Command):
            p = sub.add_parser(word, help=node.help, description=node.description or node.help)
            node.arguments(p)
            _add_output(p, node)
            p.set_defaults(_command=node, _parser=p)
        else:
            name = " ".join(prefix + (word,))
            p = sub.add_parser(word, help=_GROUPS.get(name, ""), description=_GROUPS.get(name))
            _add_level(p, node, prefix + (word,), depth + 1)


def _add_output(p: argparse.ArgumentParser, cmd: Command) -> None:
    o = p.add_argument_group("output")
    formats = tuple(cmd.formats) + tuple(f for f in cmd.renderers if f not in cmd.formats)
    o.add_argument("--format", choices=formats, default=formats[0])
    if cmd.plot:
        o.add_argument("--plot", metavar="FILE.png", help="draw the result to this file")
    if cmd.out == "json":
        o.add_argument("--out", metavar="FILE.json", help="also write the JSON result here (atomically)")
    elif cmd.out == "text":
        o.add_argument("--out", metavar="FILE", help="also write the output here (atomically)")
    if not any("--no-progress" in a.option_strings for a in p._actions):
        o.add_argument("--no-progress", action="store_true",
                       help="hide progress (off a terminal progress is a line per tenth of the work, after 30 s)")


# --- running -------------------------------------------------------------------------

#: The signals' exceptions Python dropped while a command ran: raised where an exception cannot
#: propagate (a weakref callback, a ``__del__``), they were reported to ``sys.unraisablehook``.  Each is
#: raised again in the main thread a moment later (:func:`_raise_again`), so that the command stops where
#: it is; should that land in such a place again, it is dropped and raised again; and if the command ends
#: first, :func:`main` ends it with the signal's line and exit code all the same.
DROPPED: list[type[BaseException]] = []
_RUNNING: list[object] = []        # while terminate_as_interrupt's block runs: one token for that block


def _raise_again(kind: type[BaseException], delay: float = 0.05) -> None:
    """Raise ``kind`` in the main thread after ``delay`` seconds, from a helper thread, if the block that
    dropped it still runs (``PyThreadState_SetAsyncExc``: delivered at the main thread's next bytecode)."""
    import ctypes

    main_id = threading.main_thread().ident
    token = _RUNNING[-1] if _RUNNING else None

    def fire():
        if token is not None and _RUNNING and _RUNNING[-1] is token and main_id is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(main_id), ctypes.py_object(kind))
    timer = threading.Timer(delay, fire)
    timer.daemon = True
    timer.start()


def _keep_dropped_signals(previous):
    def hook(unraisable):
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            DROPPED.append(type(unraisable.exc_value))
            _raise_again(type(unraisable.exc_value))
            return
        previous(unraisable)
    return hook


@contextlib.contextmanager
def terminate_as_interrupt(program: bool = False):
    """While the block runs (in the main thread), SIGTERM raises :class:`Terminated`; a repeat within
    :data:`sigprop.cli._stop.SAME_STOP_S` is the same stop, a later SIGTERM during the clean-up ends the
    process at once (:func:`sigprop.cli._stop.after_first_sigterm`).  A signal's
    exception that Python drops (:data:`DROPPED`) is recorded instead of printed.  After the block the
    SIGTERM handler that was there is back, unless ``program`` (the process ends next) and a SIGTERM came:
    then the repeat handler stays."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    fired = []

    def terminate(signum, frame):
        signal.signal(signal.SIGTERM, after_first_sigterm())
        fired.append(signum)
        FIRED.append(signum)
        raise Terminated
    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except (ValueError, OSError):             # pragma: no cover - no signals here
        yield
        return
    DROPPED.clear()
    previous_hook, sys.unraisablehook = sys.unraisablehook, _keep_dropped_signals(sys.unraisablehook)
    _RUNNING.append(object())
    try:
        yield
    finally:
        _RUNNING.clear()
        if not (fired and program):           # the program: after a SIGTERM, a later one ends it at once
            signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Ctrl-C (SIGINT) ends a command with ``sigprop CMD: interrupted`` and exit code 130, SIGTERM
    with ``sigprop CMD: terminated`` and exit code 143, both after the clean-up (no partial or
    temporary file, no worker process left); a signal while the command line is parsed, before the
    command is known, gives ``sigprop: interrupted`` (``terminated``).

    With ``argv=None`` main runs as the program (the console script and ``python -m sigprop.cli`` run
    :func:`sigprop.cli._console.main`, which calls it so): after a stop line or a refusal, the reports that
    libraries give at the process's exit are silenced for the rest of the process (:func:`_quiet_after_stop`).
    An in-process call with a list of arguments changes no process-wide hook beyond its return.
    """
    prog = "sigprop"
    PROGRAM[:] = [prog]
    try:
        with terminate_as_interrupt(program=argv is None):
            from sigprop.core.progress import for_command_line
            with for_command_line():
                code = _main(argv)
    except Terminated:                        # before the command is known, or after its end
        code = _stopped(prog, terminated=True)
    except KeyboardInterrupt:
        code = _stopped(prog, terminated=False)
    if code != 0 and argv is None:
        _quiet_after_stop()
    return code


def _quiet_after_stop() -> None:
    """After a command's stop line or refusal, nothing more: libraries whose work was cut short report it
    at exit (Zarr's event-loop thread: a logged warning, asyncio's "Task was destroyed but it is pending"
    for the reads a damaged chunk stopped, and a traceback from its atexit callback, reported to
    ``sys.unraisablehook``); all are silenced for the rest of the process."""
    import logging

    for name in ("zarr", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    sys.unraisablehook = lambda unraisable: None


def _stopped(prog: str, terminated: bool) -> int:
    """The end of a command stopped by SIGTERM or SIGINT: its one line and exit code.

    Work the signal cut short may leave coroutines that were never awaited (Zarr's asynchronous
    writes); the warnings they give when collected, up to the process's exit, are silenced.
    """
    warnings.filterwarnings("ignore", message=r"coroutine .* was never awaited", category=RuntimeWarning)
    print(f"{prog}: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def _before_the_work(args: argparse.Namespace, cmd: Command) -> None:
    """What every command checks before its work: the environment's settings (``$SIGPROP_PROGRESS``
    refused unless ``off`` or ``lines``; ``$SIGPROP_TIME_LIMIT`` and ``$SIGPROP_MEMORY_LIMIT`` unless a number
    ``> 0`` or ``inf``, whether or not the command is sized by them), the progress it asks for, the output
    paths, and the size of the output."""
    from sigprop.core.memory import machine_bytes, time_limit
    from sigprop.core.progress import setting, wanted

    setting()
    time_limit()
    machine_bytes()
    if hasattr(args, "no_progress"):            # a bar on a terminal, delayed lines off it, or none
        args.no_progress = not wanted(not args.no_progress)
    _check_outputs(args, cmd)
    if cmd.output_size is not None:
        from sigprop.core.memory import require_output
        require_output(*cmd.output_size(args))


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    first = argv[0].split()[0] if argv and argv[0].strip() else ""
    builtin = any(name.split()[0] == first for name in commands(plugins=False))
    args = build_parser(plugins=not builtin).parse_args(argv)
    cmd: Command = args._command
    prog = f"sigprop {cmd.name}"
    PROGRAM[:] = ["sigprop", prog]
    failed: list[str] = []
    FIGURE_FAILURES.clear()
    fired = len(FIRED)                          # signals recorded before this command
    try:
        _before_the_work(args, cmd)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # NumPy's floating-point warnings ("overflow encountered in ...") are refused
            warnings.filterwarnings("error", message=".*encountered", category=RuntimeWarning)
            result = cmd.run(args)
        failed += FIGURE_FAILURES
        notes = list(dict.fromkeys(_one_line(str(w.message)) for w in caught
                                   if issubclass(w.category, (RuntimeWarning, UserWarning))))
        result.setdefault("version", __version__)
        if cmd.out == "json" and getattr(args, "out", None):
            tagged = tagged_result(result, cmd)
            _write(failed, "--out", args.out, lambda: tagged.save(args.out))
        if cmd.plot and getattr(args, "plot", None):
            drawing = (_resolve(cmd.plot) if ":" in cmd.plot else
                       getattr(importlib.import_module("sigprop.plotting"), cmd.plot))
            draw(failed, "--plot", args.plot, lambda: drawing(result, args.plot))
        for key in cmd.transient:
            result.pop(key, None)
        if args.format == "json" and cmd.out in ("json", "text") and cmd.view.json is None \
                and "json" not in cmd.renderers:
            from sigprop.core.results import dumps
            text = dumps(tagged_result(result, cmd).to_json())   # what --out writes, type tag included
        else:
            text = _render(result, args.format, cmd)
        if cmd.out == "text" and getattr(args, "out", None):
            from sigprop.core.results import atomic_write
            _write(failed, "--out", args.out,
                   lambda: atomic_write(args.out, lambda tmp: Path(tmp).write_text(text + "\n")))
    except (UsageError, ValueError, FloatingPointError, OSError, RuntimeWarning, RuntimeError, ImportError) as exc:
        stop = signal_inside(exc)               # a signal some code turned into another exception
        if stop is not None or len(FIRED) > fired:
            return _stopped(prog, terminated=isinstance(stop, Terminated) if stop is not None
                            else FIRED[-1] == signal.SIGTERM)
        if isinstance(exc, (RuntimeError, ImportError)):
            raise
        if isinstance(exc, (UsageError, ValueError, FloatingPointError)):     # a refusal (MissingFileError too)
            message = error_message(exc, cmd, getattr(args, "_parser", None))
        elif isinstance(exc, OSError):           # a file or folder the system refused: one line naming it
            message = os_error_message(exc, args, cmd)
        else:
            message = (f"numerical trouble ({_one_line(str(exc))}): the arguments are beyond what the "
                       "computation supports")
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
    except Terminated:
        return _stopped(prog, terminated=True)
    except KeyboardInterrupt:
        return _stopped(prog, terminated=False)
    if DROPPED:                                 # a signal whose exception Python dropped: the command ran on
        return _stopped(prog, terminated=Terminated in DROPPED)
    failure = write_stdout(text, "\n")
    if failure == EXIT_BROKEN_PIPE:             # `sigprop ... | head`: the reader left; no traceback
        return EXIT_BROKEN_PIPE
    if failure is not None:                     # `> /dev/full`, a closed descriptor: one line, exit code 2
        failed.insert(0, str(failure))
    for note in notes:                          # a deliberate warning of the API: one line, no source
        print(f"{prog}: warning: {note}", file=sys.stderr)
    for message in failed:                      # the result is printed even when a file is not written
        print(f"{prog}: error: {message}", file=sys.stderr)
    if failed:
        return 2
    return cmd.exit_code(result) if cmd.exit_code else 0


#: The exit code of a command whose standard output's reader left (``sigprop ... | head``): 128 + SIGPIPE.
EXIT_BROKEN_PIPE = 141


def write_stdout(text: str, end: str = "") -> int | str | None:
    """Write ``text``, then ``end``, to standard output (as ``print`` does: with an unbuffered standard output,
    ``PYTHONUNBUFFERED``, a reader that leaves during a long write cuts it short without an error, and the
    write of ``end`` reports it) and flush: ``None`` once written, :data:`EXIT_BROKEN_PIPE` when
    the reader left (``| head``), else the one-line reason, ``cannot write standard output: ...``
    (``> /dev/full``; ``>&-``, where Python found no standard output).  After a failure the descriptor
    points at the null device (:func:`_abandon_stdout`)."""
    try:
        if sys.stdout is None:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        sys.stdout.write(text)
        sys.stdout.write(end)
        sys.stdout.flush()
    except BrokenPipeError:
        _abandon_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        _abandon_stdout()
        return f"cannot write standard output: {exc.strerror or type(exc).__name__}"
    return None


def _abandon_stdout() -> None:
    """After a failed write to standard output, point its descriptor at the null device, so that the
    text still buffered is dropped at exit without a report (Python's ``Exception ignored ...``)."""
    if sys.stdout is None:
        return
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):               # pragma: no cover - replaced by a stream without one
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    except OSError:                             # pragma: no cover - the descriptor is gone
        pass
    finally:
        os.close(null)


def _resolve(path: str) -> Any:
    from sigprop.core.study import resolve

    return resolve(path)


def tagged_result(result: dict, cmd: Command):
    """``result`` as a :class:`~sigprop.core.labelled.Result`: the study's own when the API returned
    one, else tagged with the command's ``kind``, for ``sigprop.load``."""
    from sigprop.core.labelled import Result

    if isinstance(result, Result):
        return Result(result, kind=result.kind, keys={**cmd.keys, **result.keys_of},
                      dims={**cmd.dims, **result.dims_of})
    return Result(result, kind=cmd.kind or cmd.name.replace(" ", "-"), keys=cmd.keys, dims=cmd.dims)


def _write(failed: list[str], flag: str, path: str, write: Callable[[], None]) -> None:
    """Run ``write()``; on an ``OSError`` record one line naming the user's ``path``."""
    try:
        write()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        failed.append(f"argument {flag}: cannot write {path}: {reason}")


def draw(failed: list[str], flag: str, path: str, drawing: Callable[[], None]) -> None:
    """Run ``drawing()``, which writes a figure to ``path``; on any error record one line naming
    the user's ``path`` in ``failed``, so that the result it draws is still printed and written.

    A command that draws a figure inside its ``run`` passes :data:`FIGURE_FAILURES` (emptied by
    :func:`main` before every command; its lines are reported after the result).
    """
    try:
        drawing()
    except OSError as exc:
        failed.append(f"argument {flag}: cannot write {path}: {exc.strerror or type(exc).__name__}")
    except Exception as exc:                  # noqa: BLE001 - a figure never loses the result it draws
        failed.append(f"argument {flag}: cannot draw {path}: {type(exc).__name__}: {_one_line(str(exc))}")


#: The failures of figures a command drew inside its ``run`` (see :func:`draw`).
FIGURE_FAILURES: list[str] = []


def os_error_message(exc: OSError, args: argparse.Namespace, cmd: Command) -> str:
    """One line for an ``OSError`` of the work (a folder that is a file or read-only, a full disk):
    the argument whose path holds the file the system refused, as the user wrote it, and why."""
    reason = exc.strerror or type(exc).__name__
    filename = exc.filename if isinstance(exc.filename, str) else None
    if filename is not None:
        target = os.path.abspath(filename)
        parser = getattr(args, "_parser", None)
        for dest, value in vars(args).items():
            values = value if isinstance(value, list) else [value]
            for item in values:
                item = item[0] if isinstance(item, tuple) and item else item
                if dest.startswith("_") or not isinstance(item, (str, Path)) or not str(item):
                    continue
                mine = os.path.abspath(item)
                if target == mine or target.startswith(mine.rstrip(os.sep) + os.sep) \
                        or Path(target).parent == Path(mine).parent and Path(target).name.startswith(
                            f".{Path(mine).name}."):         # the temporary file of an atomic write
                    flag = _flag_of(dest, cmd, parser) or dest
                    return f"argument {flag}: cannot use {item}: {reason}"
        return f"cannot use {filename}: {reason}"
    return _one_line(f"{reason}: {exc}")


def error_message(exc: BaseException, cmd: Command, parser: argparse.ArgumentParser | None = None) -> str:
    """One line for ``exc``: an API error names the command's flag.

    An :class:`~sigprop.core.checks.ArgumentError` names the flag the command declares for
    its parameter (``Command.flags``) or, when it declares none, the argument of ``parser``
    whose destination is the parameter (``step_cov`` -> ``--step-cov``, ``checkpoint`` ->
    ``CHECKPOINT.safetensors``) or whose flag is ``--name-with-dashes``.  The API raises an
    ``ArgumentError`` for every argument it refuses, so that no message is parsed to guess the
    argument; any other error is printed as it is, on one line.
    """
    argument = getattr(exc, "argument", None)
    detail = getattr(exc, "detail", None)
    flag = _flag_of(argument, cmd, parser) if argument is not None and detail is not None else None
    if flag is not None:
        return _one_line(f"argument {flag}: {detail}")
    return _one_line(str(exc))


def _flag_of(argument: str, cmd: Command, parser: argparse.ArgumentParser | None) -> str | None:
    """The flag (or positional metavar) of the API parameter ``argument`` in this command."""
    if argument in cmd.flags:
        return cmd.flags[argument]
    if parser is None:
        return None
    dashed = "--" + argument.replace("_", "-")
    for action in parser._actions:
        if action.dest == argument or dashed in action.option_strings:
            if not action.option_strings:                 # a positional: as its usage shows it
                return str(action.metavar or action.dest)
            return dashed if dashed in action.option_strings else max(action.option_strings, key=len)
    return None


#: A word of an error line longer than this (a pasted value, a path) is shown by its ends and its length.
LONGEST_WORD = 200


def _one_line(text: str) -> str:
    """``text`` on one line, each word longer than :data:`LONGEST_WORD` characters shortened to its
    first 80 and last 40 characters around ``...(N characters)...``, so that a refused 10,000-character
    value is named without being printed whole."""
    return " ".join(w if len(w) <= LONGEST_WORD else f"{w[:80]}...({len(w)} characters)...{w[-40:]}"
                    for w in text.split())


def _check_outputs(args: argparse.Namespace, cmd: Command) -> None:
    """Refuse, before any work, an output path that cannot be written or would destroy something.

    Refused: an empty name; a folder that does not exist or is not writable; a path that exists
    and is not a regular file (a folder, a FIFO, a device: an atomic write would replace it); a
    path that is, or resolves to (symbolic or hard link), a file the command reads (an argument
    naming a file, the ``config.json`` and ``tokenizer.json`` beside a ``.safetensors`` argument,
    and what ``Command.reads`` lists); two outputs naming the same file; a figure path whose
    format matplotlib cannot write.
    """
    from sigprop.core.results import cannot_create_in, check_target

    for flag in cmd.folders:
        _check_folder(flag, getattr(args, flag[2:].replace("-", "_"), None))
    flags = (["--out"] if cmd.out is not None else []) + (["--plot"] if cmd.plot else []) + list(cmd.figures)
    outputs: dict[str, str] = {}
    for flag in dict.fromkeys(flags):
        path = getattr(args, flag[2:].replace("-", "_"), None)
        if path is None:
            continue
        if not str(path).strip():
            raise UsageError(f"argument {flag}: must be a file name, got ''")
        if str(path).endswith(("/", os.sep)):
            raise UsageError(f"argument {flag}: {path} names a folder (it ends with '/'); give a file name")
        _check_name(flag, str(path))
        parent = Path(path).parent
        if not parent.is_dir():
            raise UsageError(f"argument {flag}: folder not found: {parent}")
        if Path(path).is_dir():
            raise UsageError(f"argument {flag}: {path} is a folder, not a file")
        try:
            check_target(path, flag)
        except ValueError as exc:
            raise UsageError(f"argument {flag}: {getattr(exc, 'detail', exc)}") from None
        reason = cannot_create_in(parent)
        if reason is not None:
            raise UsageError(f"argument {flag}: cannot write in the folder {parent}: {reason}")
        if flag != "--out":
            check_figure_format(flag, path)
        for other, other_path in outputs.items():
            if _same_file(path, other_path):
                raise UsageError(f"argument {flag}: {path} is also the file of {other}; give each output its own file")
        outputs[flag] = str(path)
    if not outputs:
        return
    for name, source in _inputs(args, cmd, set(outputs)):
        for flag, path in outputs.items():
            if _same_file(path, source):
                raise UsageError(f"argument {flag}: {path} is the input {name} ({source}); writing it would "
                                 "destroy it, choose another file")


def _check_folder(flag: str, path: str | None) -> None:
    """Refuse an output folder that is a file, or that cannot be written or created."""
    from sigprop.core.results import cannot_create_in

    if path is None:
        return
    if not str(path).strip():
        raise UsageError(f"argument {flag}: must be a folder name, got ''")
    folder = Path(path)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is not a folder" if existing == folder else f"cannot be created: {existing} is not a folder"
        raise UsageError(f"argument {flag}: {path} {what}")
    reason = cannot_create_in(existing)
    if reason is not None:
        raise UsageError(f"argument {flag}: cannot write in the folder {existing}: {reason}")


def _check_name(flag: str, path: str) -> None:
    """Refuse a path the system cannot name: a file name longer than the folder allows, or a path
    longer than the system's limit (``File name too long``)."""
    folder = str(Path(path).parent)
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX") if os.path.isdir(folder) else 255
        path_max = os.pathconf(folder, "PC_PATH_MAX") if os.path.isdir(folder) else 4096
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    # the temporary file of the atomic write adds about 40 characters to the name
    longest = max((len(part.encode()) for part in Path(path).parts), default=0)
    if longest + 40 > name_max or len(os.fsencode(os.path.abspath(path))) + 40 >= path_max:
        raise UsageError(f"argument {flag}: the file name is too long ({len(path)} characters; at most about "
                         f"{name_max - 40} per name and {path_max - 41} in all)")


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` are one file: the same resolved path, or (both existing) the same inode."""
    try:
        if os.path.realpath(a) == os.path.realpath(b):
            return True
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _path_arguments(args: argparse.Namespace, cmd: Command, outputs: set[str]):
    """``(argument, path)`` for every argument value (other than the outputs) that is text or a path:
    a value, each item of a list, the path of an ``.npy`` argument's ``(path, array)``."""
    parser = getattr(args, "_parser", None)
    for dest, value in vars(args).items():
        if dest.startswith("_"):
            continue
        name = _flag_of(dest, cmd, parser) or dest
        if name in outputs:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple) and item and isinstance(item[0], (str, Path)):
                item = item[0]
            if isinstance(item, (str, Path)) and str(item) and "\0" not in str(item):
                yield name, Path(item)


def _inputs(args: argparse.Namespace, cmd: Command, outputs: set[str]) -> list[tuple[str, Path]]:
    """``(argument, path)`` of the existing files the command reads: every argument (other than the
    outputs) naming an existing file, as text, a path, a list of them or the ``(path, array)`` of
    an ``.npy`` argument; the ``config.json`` and ``tokenizer.json`` beside a ``.safetensors``;
    and what ``cmd.reads(args)`` lists."""
    found: list[tuple[str, Path]] = []
    for name, path in _path_arguments(args, cmd, outputs):
        try:
            if not path.is_file():
                continue
        except (OSError, ValueError):
            continue
        found.append((name, path))
        if path.suffix == ".safetensors":
            found += [(f"{n} beside {name}", path.with_name(n)) for n in ("config.json", "tokenizer.json")
                      if path.with_name(n).is_file()]
    if cmd.reads is not None:
        found += [(name, Path(path)) for name, path in cmd.reads(args)]
    return found


def figure_formats() -> tuple[str, ...]:
    """The file formats matplotlib writes (``png``, ``pdf``, ``svg``, ...), asked of matplotlib
    without importing ``pyplot``."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(sorted(FigureCanvasBase.get_supported_filetypes()))


def check_figure_format(flag: str, path: str) -> None:
    """Refuse a figure ``path`` whose extension matplotlib cannot write (no extension: PNG, as
    :func:`sigprop.plotting.save` writes it)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if not suffix:
        return
    formats = figure_formats()
    if suffix not in formats:
        raise UsageError(f"argument {flag}: cannot draw a figure as .{suffix} ({path}); use one of "
                         f"{', '.join('.' + f for f in formats)}")


def _render(result: dict, fmt: str, cmd: Command) -> str:
    if fmt in cmd.renderers:
        module, _, function = cmd.renderers[fmt].partition(":")
        return getattr(importlib.import_module(module), function)(result)
    from sigprop.cli.render import render
    return render(result, fmt, cmd.view)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
