"""``sigprop figures``: registered with the command line through the entry point
``sigprop.commands`` (so that :mod:`sigprop.cli` never imports this package)."""
from __future__ import annotations

import argparse

from sigprop.cli import arguments as a
from sigprop.cli.app import command
from sigprop.cli.render import View


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="smaller problems (under 2 minutes)")
    p.add_argument("--out", metavar="DIR", default="figures/out", help="output folder (default figures/out)")
    a.progress(p)


@command("figures", help="regenerate every figure (PNG and PDF)",
         description="Run every script in figures/ with fixed seeds.", arguments=_arguments, out=None,
         view=View(show=("files",)))
def figures(args: argparse.Namespace) -> dict:
    from pathlib import Path

    from sigprop._version import __version__
    from sigprop_figures import make_all

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = make_all(out, quick=args.quick, progress=not args.no_progress)
    return dict(version=__version__, config=dict(quick=args.quick, out=str(out)), files=files)
