"""The ``sigprop`` command line: a thin layer that parses, calls the API and renders.

Layout: :mod:`sigprop.cli.app` (registry, parser, dispatch, ``--out``, errors),
:mod:`sigprop.cli.render` (one renderer for table, JSON and CSV),
:mod:`sigprop.cli.arguments` (argument types: parsing only), and one module per
command family (``rho``, ``model``, ``gap``, ``checkpoints``, ``claims``, ``explore``, ...).  Plugins
outside the package (``sigprop figures``, ``sigprop bench``) register through the
entry-point group ``sigprop.commands``.  See ``docs/cli.md``.

Adding a command takes one edit: a function in a family module (or a new module in
this package, found automatically), decorated with :func:`~sigprop.cli.app.command`::

    @command("gap", help="...", arguments=add_my_arguments, flags={"T": "--length"},
             view=View(records="rows", fields=("T=config.length", "gap")))
    def gap(args):
        from sigprop.gap import spectra          # import the API when the command runs
        return spectra.report(args.length, ...)

``run(args)`` takes the parsed :class:`argparse.Namespace` and returns a result dict (``config`` and
the numbers, rendered by the command's view; no command name); every command function below follows
this, so their docstrings give only what the command does;
``flags`` maps the API's parameter names to the flags, so that an API
:class:`~sigprop.core.checks.ArgumentError` is reported as
``sigprop gap: error: argument --length: ...`` with exit code 2; ``view`` declares the
table's columns.  A name with spaces (``"lm train"``) makes a nested group.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Command", "build_parser", "command", "main"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from sigprop.cli.app import Command, build_parser, command, main


def __getattr__(name: str) -> Any:
    # Imported on first use (PEP 562): the program (``sigprop``, ``python -m sigprop.cli``) takes the
    # signals (sigprop.cli._console) before it imports the machinery.
    if name in __all__:
        from sigprop.cli import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
