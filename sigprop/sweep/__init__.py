"""Sweeps: a grid of any registered study, resumable, stored as labelled arrays, run on Dask.

* :mod:`~sigprop.sweep.spec` -- the specification (TOML or dict): study, fixed arguments,
  axes, base seed; each cell's seed is derived from its coordinates;
* :mod:`~sigprop.sweep.registry` -- the table of studies (function, axes, outputs and
  their dimensions), :func:`register`;
* :mod:`~sigprop.sweep.studies` -- one cell of each existing study;
* :mod:`~sigprop.sweep.store` -- the Zarr store written cell by cell, and its status;
* :mod:`~sigprop.sweep.engine` -- running the cells on a local or remote Dask cluster;
* :mod:`~sigprop.sweep.plot` -- a stored variable against the first axis.

The command line is ``sigprop sweep`` (:mod:`sigprop.cli.sweep`); ``docs/sweeps.md`` shows
a sweep end to end.

The store needs the ``sweep`` extra (xarray, zarr, dask[distributed]); the specification
and the registry do not, and ``import sigprop.sweep`` works without it.  Usage::

    import sigprop.sweep as sw
    sw.run("examples/sweeps/gaussian_error.toml", "gaussian_error.zarr", workers=2)
    ds = sw.open("gaussian_error.zarr")        # an xarray.Dataset
"""
from __future__ import annotations

from sigprop.sweep import engine as _engine
from sigprop.sweep import store as _store
from sigprop.sweep.registry import STUDIES, Dim, Study, register
from sigprop.sweep.spec import Spec, cell_seed, load

__all__ = ["STUDIES", "Dim", "Spec", "Study", "cell_seed", "load", "open", "register", "run", "status"]


def run(spec, store, **options) -> dict:
    """Run a sweep; see :func:`sigprop.sweep.engine.run`."""
    return _engine.run(spec, store, **options)


def status(store) -> dict:
    """Done, failed and pending counts of a store, with the first failures."""
    return _engine.status(store)


def open(store):
    """The store as an ``xarray.Dataset`` (lazily loaded)."""
    return _store.open_dataset(store)

