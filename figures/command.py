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
    p.add_argument("--only", type=lambda v: [x.strip() for x in v.split(",") if x.strip()], metavar="NAME[,NAME...]",
                   help="run only these scripts of figures/ (e.g. spectral_gap,gap_validity)")
    p.add_argument("--workers", type=a.number(int, 1), default=None, metavar="N",
                   help="worker processes, one BLAS thread each (default: every core)")
    p.add_argument("--fresh", action="store_true",
                   help="run every script, even those whose code, data and files in --out are unchanged")
    a.progress(p)


@command("figures", help="regenerate every figure (PNG and PDF)",
         description="Run every script in figures/ with fixed seeds; a figure that cannot be drawn here (an "
                     "optional package missing) is listed under skipped, with the reason.",
         arguments=_arguments, out=None, view=View(show=("files", "skipped")))
def figures(args: argparse.Namespace) -> dict:
    from pathlib import Path

    from sigprop._version import __version__
    from sigprop.core import checks
    from sigprop.core.checks import ArgumentError
    if args.workers is not None:
        checks.workers("workers", args.workers)
    from sigprop_figures import make_all
    if not args.out.strip():
        raise ArgumentError("out", "must name a folder, got an empty name")
    out = Path(args.out)
    drawn = make_all(out, quick=args.quick, progress=not args.no_progress, only=args.only, workers=args.workers,
                     cache=True, fresh=args.fresh)
    return dict(version=__version__, config=dict(quick=args.quick, only=args.only, out=str(out)), **drawn)
