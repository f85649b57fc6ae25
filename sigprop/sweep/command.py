"""The command line of sweeps: ``sigprop sweep SPEC.toml --store RESULTS.zarr [options]``.

* run (or resume) a sweep: ``sigprop sweep SPEC.toml --store RESULTS.zarr [--workers N |
  --scheduler tcp://HOST:PORT] [--overwrite] [--no-progress]``; exit code 0 when every cell is
  done, 1 when some failed (they are listed by ``--status``), 2 on bad input;
* ``sigprop sweep --status RESULTS.zarr``: done / failed / pending, and the failures;
* ``sigprop sweep --plot VAR RESULTS.zarr [--out FIG.png]``: ``VAR`` against the first axis.

:func:`add_arguments` and :func:`execute` let the ``sigprop`` command line mount this as its
``sweep`` command; :func:`main` runs it alone.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sigprop.sweep import engine
from sigprop.sweep import store as _store


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", nargs="?", metavar="SPEC.toml",
                   help="the sweep specification (with --status or --plot: the store)")
    p.add_argument("--store", metavar="RESULTS.zarr", help="the Zarr store (created, or resumed)")
    eng = p.add_mutually_exclusive_group()
    eng.add_argument("--workers", type=_workers, metavar="N",
                     help="local Dask worker processes (default: one per core; 0: this process, no Dask)")
    eng.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="address of an existing Dask scheduler")
    p.add_argument("--overwrite", action="store_true", help="replace a store that holds a different sweep")
    p.add_argument("--status", action="store_true", help="print done / failed / pending cells and exit")
    p.add_argument("--plot", metavar="VAR", help="draw VAR against the first axis and exit")
    p.add_argument("--out", metavar="FIG.png", help="figure path for --plot (default: next to the store)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def execute(args: argparse.Namespace) -> int:
    """Run the parsed command; raises ``ValueError`` / ``ImportError`` with one line on bad input."""
    if args.status or args.plot:
        path = args.store or args.spec
        if path is None:
            raise ValueError("argument --store: required (the store to read)")
        if args.status:
            print(status_text(path))
            return 0
        out = Path(args.out) if args.out else Path(path).with_name(f"{Path(path).stem}-{args.plot}.png")
        from sigprop.sweep.plot import sweep_figure
        sweep_figure(_store.open_dataset(path), args.plot, out)
        print(f"wrote {out}")
        return 0
    if args.spec is None:
        raise ValueError("argument SPEC.toml: required to run a sweep")
    if args.store is None:
        raise ValueError("argument --store: required to run a sweep")
    if args.out:
        raise ValueError("argument --out: only with --plot")
    res = engine.run(args.spec, args.store, workers=args.workers, scheduler=args.scheduler,
                     overwrite=args.overwrite, progress=not args.no_progress)
    print(f"{args.store}: {res['done']} done, {res['failed']} failed, {res['pending']} pending of "
          f"{res['total']} cells (computed {res['ran']} in {res['seconds']:.1f} s)")
    return 1 if res["failed"] else 0


def status_text(path) -> str:
    st = engine.status(path)
    lines = [f"{path} (study {st['study']}): {st['done']} done, {st['failed']} failed, {st['pending']} pending "
             f"of {st['total']} cells"]
    for coords, error in st["failures"]:
        where = ", ".join(f"{k}={v}" for k, v in coords.items())
        lines.append(f"  failed at {where}: {error}")
    if st["failed"] > len(st["failures"]):
        lines.append(f"  ... and {st['failed'] - len(st['failures'])} more failed cells")
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv=None) -> int:
    """``sigprop sweep`` on its own (``python -m sigprop.sweep``)."""
    parser = _Parser(prog="sigprop sweep", description="Run a grid of a registered study as a resumable "
                     "sweep, stored as an xarray Dataset in a Zarr store.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return execute(args)
    except (ValueError, ImportError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
