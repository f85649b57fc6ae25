"""Sweep commands: ``sigprop sweep`` runs, resumes, reports and plots a grid of a study.

``sigprop sweep SPEC.toml --store RESULTS.zarr [--workers N | --scheduler tcp://HOST:PORT]
[--overwrite] [--no-progress]`` runs every cell not yet done (:mod:`sigprop.sweep`,
``docs/sweeps.md``); exit code 1 when some cells failed, 2 on bad input.
``sigprop sweep --status RESULTS.zarr`` counts done / failed / pending cells and lists the
failures; ``sigprop sweep --plot VAR RESULTS.zarr [--figure FIG.png]`` draws ``VAR`` against
the sweep's first axis.
"""
from __future__ import annotations

import argparse

from sigprop.cli import arguments
from sigprop.cli._stop import signal_inside
from sigprop.cli.app import UsageError, command
from sigprop.cli.render import View

#: The specification's own keys are refused naming the file (their messages name the key).
FLAGS = {"workers": "--workers", "scheduler": "--scheduler", "store": "--store", "var": "--plot",
         **dict.fromkeys(("spec", "path", "study", "seed", "args", "axes", "description"), "SPEC.toml")}


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", nargs="?", metavar="SPEC.toml",
                   help="the sweep specification (with --status or --plot: the store to read)")
    p.add_argument("--store", metavar="RESULTS.zarr", help="the Zarr store (created, or resumed)")
    engine = p.add_mutually_exclusive_group()
    engine.add_argument("--workers", type=arguments.number(int, 0), metavar="N",
                        help="local Dask worker processes (default: one per core; 0: in this process)")
    engine.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="address of an existing Dask scheduler")
    p.add_argument("--overwrite", action="store_true", help="replace a store that holds a different sweep")
    p.add_argument("--status", action="store_true", help="count done / failed / pending cells, list failures")
    p.add_argument("--plot", metavar="VAR", help="draw VAR against the first axis")
    p.add_argument("--figure", metavar="FIG.png", help="figure of --plot (default: RESULTS-VAR.png)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@command("sweep", help="a grid of any study: resumable, stored as labelled arrays, local or on Dask",
         description="Run (or resume) every cell of a sweep specification on a Dask cluster, writing an "
                     "xarray Dataset to a Zarr store cell by cell; or report (--status) or plot (--plot VAR) "
                     "a store.",
         arguments=_arguments, flags=FLAGS, out=None, figures=("--figure",), folders=("--store",),
         view=View(records="failures",
                   show=("done", "failed", "pending", "total", "ran", "seconds", "figure")),
         exit_code=lambda result: 1 if result.get("failed") and "ran" in result else 0)
def sweep(args: argparse.Namespace) -> dict:
    """Run ``sigprop sweep``: run, resume, show the status of or plot a sweep.
    """
    from sigprop._version import __version__

    try:
        if args.status or args.plot:
            return dict(version=__version__, **_read(args))
        if args.spec is None or args.store is None:
            raise UsageError("argument " + ("SPEC.toml" if args.spec is None else "--store")
                             + ": required to run a sweep")
        if args.figure:
            raise UsageError("argument --figure: only with --plot")
        from sigprop import sweep as sw

        try:
            res = sw.run(args.spec, args.store, workers=args.workers, scheduler=args.scheduler,
                         overwrite=args.overwrite, progress=not args.no_progress)
        except KeyboardInterrupt:           # Ctrl-C or SIGTERM: the command ends with its one line
            _quiet_pending_tasks()
            raise
        config = {k: v for k, v in sw.load(args.spec).to_dict().items() if v != ""}
        return dict(version=__version__, config=dict(config, store=args.store), store=args.store, **res)
    except ImportError as exc:              # the sweep extra is missing: one line, exit 2
        raise UsageError(str(exc)) from None
    except RuntimeError as exc:             # a damaged chunk of the store (e.g. blosc cannot decompress it);
        if signal_inside(exc) is not None:  # a signal inside is the stop it is (the command line's refusals)
            _quiet_pending_tasks()
        store = args.store or args.spec
        raise UsageError(f"argument --store: cannot read {store}: {' '.join(str(exc).split())[:100]}; "
                         "the store is damaged (--overwrite starts it again)") from None


def _quiet_pending_tasks() -> None:
    """Silence ``asyncio``'s logger for the rest of the process: a signal that interrupts a Zarr
    read or write leaves Zarr's task pending in its own event loop, and at exit asyncio printed
    ``Task was destroyed but it is pending!`` and ``Future exception was never retrieved`` with
    tracebacks after the command's one line (the store is coherent: a cell counts as done once its
    status is written, last)."""
    import logging

    logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)


def _read(args: argparse.Namespace) -> dict:
    from pathlib import Path

    from sigprop import sweep as sw

    path = args.store or args.spec
    if path is None:
        raise UsageError("argument --store: required (the store to read)")
    if args.status and args.plot:
        raise UsageError("argument --plot: not allowed with --status (one reads the counts, the other draws a "
                         "variable: run them one after the other)")
    if args.status and args.figure:
        raise UsageError("argument --figure: only with --plot")
    if args.status:
        st = sw.status(path)
        failures = [dict(coords, error=error) for coords, error in st.pop("failures")]
        return dict(config=dict(store=str(path), study=st.pop("study")), store=str(path), failures=failures,
                    **st)
    figure = args.figure or str(Path(path).with_name(f"{Path(path).stem}-{args.plot}.png"))
    if not Path(figure).parent.is_dir():
        raise UsageError(f"argument --figure: folder not found: {Path(figure).parent}")
    from sigprop.sweep.plot import sweep_figure

    sweep_figure(sw.open(path), args.plot, figure)
    return dict(config=dict(store=str(path), plot=args.plot), store=str(path), figure=figure)
