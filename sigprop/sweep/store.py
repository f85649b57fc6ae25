"""The Zarr store of a sweep: an xarray ``Dataset`` written cell by cell.

Layout (zarr format 2, consolidated metadata, readable with ``xarray.open_zarr``):

* one dimension per axis (coordinates: the axis values) plus the study's own dimensions
  (``position = 1..T``, ``variant``, ...); when an own dimension's size depends on an axis,
  it has the largest size and shorter cells are padded with NaN;
* one float64 variable per study output, chunked one cell per chunk, so that every cell
  writes its own files (its *region*) and nothing else;
* ``status`` (int8 per cell: 0 pending, 1 done, 2 failed), ``error`` (the failed cell's
  ``"Error: message"``), ``cell_seed`` (the seed each cell received);
* attributes: ``sweep_spec`` (the normalized specification as JSON), ``study``,
  ``study_function``, ``sigprop_version``.

Why it survives SIGKILL: the store is created in a temporary folder and renamed into
place; afterwards only chunk files are written, each atomically (zarr writes a temporary
file and renames it), and a cell's ``status`` is written after its data.  A cell is done
exactly when its status says so; a cell killed half-way is still pending and is computed
again on resume, overwriting whatever it had written.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from sigprop._version import __version__
from sigprop.core.checks import ArgumentError
from sigprop.core.memory import require
from sigprop.core.results import remove_stale_temporaries, temporary_name
from sigprop.core.workers import signals_deferred
from sigprop.sweep import _deps
from sigprop.sweep.cell import ERROR_CHARS
from sigprop.sweep.spec import Spec, cell_seed

PENDING, DONE, FAILED = 0, 1, 2
STATES = {PENDING: "pending", DONE: "done", FAILED: "failed"}


class Store:
    """An existing sweep store at ``path`` (see the module doc)."""

    def __init__(self, path):
        zarr = _deps.require("zarr")
        self.path = Path(path)
        if not (self.path / ".zattrs").is_file():
            raise ArgumentError.about("store", f"{self.path} is not a sweep store (no zarr attributes found)")
        try:
            self.group = zarr.open_group(str(self.path), mode="r+", zarr_format=2)
            attrs = dict(self.group.attrs)
            spec = json.loads(attrs["sweep_spec"]) if "sweep_spec" in attrs else None
        except (ValueError, TypeError, KeyError, OSError) as exc:   # undecodable or not JSON (.zattrs, .zgroup)
            raise ArgumentError.about("store", f"{self.path} is damaged: its metadata cannot be read "
                                               f"({type(exc).__name__}: {' '.join(str(exc).split())[:100]}); "
                                               "use overwrite (--overwrite) to start it again") from None
        if not isinstance(spec, dict):
            raise ArgumentError.about(
                "store", f"{self.path} is a zarr store but not a sweep store (no sweep_spec attribute)")
        self.spec_dict = spec
        try:
            self.spec = Spec.from_dict(self.spec_dict)
            self.outputs = dict(self.spec.registered.outputs)
        except ArgumentError as exc:                # edited by hand, or by another version of sigprop
            raise ArgumentError.about("store", f"{self.path} is damaged: its stored sweep specification is not "
                                               f"valid ({' '.join(str(exc).split())[:400]}); use overwrite "
                                               "(--overwrite) to start it again") from None
        self._arrays = {name: self.group[name] for name in ("status", "error")}

    def check_outputs(self) -> None:
        """Refuse (one line) a store whose variables are not the study's current outputs."""
        stored = set(self.group.array_keys())
        missing = [name for name in self.outputs if name not in stored]
        if missing:
            raise ArgumentError.about(
                "store", f"{self.path} was written by another version of study {self.spec.study!r} "
                         f"(no variable {missing[0]!r}); use overwrite (--overwrite) to start it again")
        self._arrays.update({name: self.group[name] for name in self.outputs})

    # --- reading ------------------------------------------------------------------
    def status(self) -> np.ndarray:
        """Every cell's state (``PENDING``, ``DONE`` or ``FAILED``), shape ``spec.shape``."""
        try:
            return np.asarray(self._arrays["status"][...])
        except Exception as exc:  # noqa: BLE001 - a damaged chunk (decompression, shape): one line
            raise ArgumentError("store", f"{self.path} is damaged: its status cannot be read "
                                         f"({type(exc).__name__}: {' '.join(str(exc).split())[:100]}); "
                                         "use overwrite (--overwrite) to start it again", separator=": ") from None

    def counts(self) -> dict[str, int]:
        """How many cells are done, failed and pending, and the total.

        Returns
        -------
        dict
        """
        s = self.status()
        counts = {name: int(np.count_nonzero(s == code)) for code, name in STATES.items()}
        return counts | {"total": int(s.size)}

    def failures(self, limit: int | None = None) -> list[tuple[dict, str]]:
        """``(coordinates, error)`` of failed cells (the first ``limit``)."""
        s = self.status()
        idx = [tuple(int(i) for i in ix) for ix in np.argwhere(s == FAILED)][:limit]
        errors = self._arrays["error"]
        return [(self.spec.coords(ix), str(errors[ix])) for ix in idx]

    def todo(self, *, retry_failed: bool = True) -> list[tuple[int, ...]]:
        """Cells still to compute: pending ones, and failed ones if ``retry_failed``."""
        s = self.status()
        mask = (s != DONE) if retry_failed else (s == PENDING)
        return [tuple(int(i) for i in ix) for ix in np.argwhere(mask)]

    # --- writing ------------------------------------------------------------------
    def lock(self) -> None:
        """Hold the store's lock until this process ends or :meth:`unlock`; refuse a second runner.

        An advisory ``flock`` on ``.sweep.lock`` in the store: the kernel releases it when the
        process dies, however it dies.
        """
        try:
            import fcntl
        except ImportError:                    # not POSIX: no lock
            return
        self._lock: IO[str] | None = open(self.path / ".sweep.lock", "a")   # held until unlock
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise ArgumentError.about("store", f"{self.path} is being written by another sigprop sweep (one runner per "
                                               "store; --status reads it meanwhile)") from None

    def unlock(self) -> None:
        """Release the store's lock (closing the lock file); nothing if it holds none."""
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()                       # closing the file releases the lock
            self._lock = None

    def write(self, index: tuple[int, ...], outcome: tuple[str, Any]) -> str:
        """Record one cell's outcome (data first, status last); returns ``"done"`` or ``"failed"``."""
        state, payload = outcome
        if state == "done":
            try:
                blocks = {name: self._pad(name, payload[name]) for name in self.outputs}
            except ValueError as exc:
                state, payload = "failed", f"ValueError: {exc}"
        if state != "done":
            blocks = {name: np.full(self._arrays[name].shape[len(index):], np.nan) for name in self.outputs}
        for name, block in blocks.items():
            self._arrays[name][index] = block
        self._arrays["error"][index] = "" if state == "done" else str(payload)[:ERROR_CHARS]
        self._arrays["status"][index] = DONE if state == "done" else FAILED
        return state

    def _pad(self, name: str, value) -> np.ndarray:
        full = self._arrays[name].shape[len(self.spec.shape):]
        value = np.asarray(value, dtype=float)
        if value.ndim != len(full) or any(n > m for n, m in zip(value.shape, full, strict=True)):
            raise ArgumentError.about(
                "store", f"output {name!r} has shape {value.shape}, the store holds at most {full}")
        if value.shape == full:
            return value
        out = np.full(full, np.nan)
        out[tuple(slice(0, n) for n in value.shape)] = value
        return out


def own_sizes(spec: Spec) -> dict[str, int]:
    """The size of each own dimension: its largest value over the grid."""
    study = spec.registered
    if not study.dims:
        return {}
    defaults = study.defaults()
    sizes = {name: 0 for name in study.dims}
    for index in spec.cells():
        args = {**defaults, **spec.args, **spec.coords(index)}
        for name, dim in study.dims.items():
            try:
                n = dim.length(args)
            except Exception as exc:
                raise ArgumentError.about("store", f"cannot size dimension {name!r} of study {spec.study!r} from the "
                                                   f"arguments: {exc!r}") from None
            sizes[name] = max(sizes[name], n)
    _require_cell_outputs(spec, sizes)
    return sizes


#: Copies of one cell's outputs held at once: the study's result, its float64 arrays, the pickled
#: message from the worker and the arrays written to the store.
CELL_OUTPUT_COPIES = 4


def _require_cell_outputs(spec: Spec, sizes: dict[str, int]) -> None:
    """Refuse, before the store is created or any cell runs, a grid whose one cell's outputs (float64,
    sized by the study's own dimensions, e.g. ``T`` positions) exceed the machine's memory; the
    argument named is the one the largest dimension is sized from (``args.T``), as the spec holds it."""
    study = spec.registered
    numbers = sum(float(np.prod([sizes[d] for d in dims])) for dims in study.outputs.values())
    if not sizes:
        return
    largest = max(sizes, key=lambda name: sizes[name])
    source = study.dims[largest].source
    where = ("axes." if source in spec.axes else "args.") + source if source else f"dimension {largest}"
    require(CELL_OUTPUT_COPIES * 8.0 * numbers, "spec",
            f"{CELL_OUTPUT_COPIES} copies of one cell's {numbers:.0f} float64 outputs; {largest} has "
            f"{sizes[largest]} values, from {where}")


def create(path, spec: Spec) -> Store:
    """Create the (empty) store for ``spec`` at ``path``, which must not exist."""
    xr, zarr = _deps.require("xarray", "zarr")
    path = Path(path)
    study = spec.registered
    sizes = own_sizes(spec)
    axes = list(spec.axes)
    coords = {name: np.asarray(values) for name, values in spec.axes.items()}
    coords.update({name: np.asarray(study.dims[name].coords(n)) for name, n in sizes.items()})
    data = {}
    if study.takes_seed():
        seeds = np.array([cell_seed(spec.seed, spec.coords(ix)) for ix in spec.cells()], dtype=np.int64)
        data["cell_seed"] = (axes, seeds.reshape(spec.shape),
                             {"description": "the seed each cell's study function received"})
    attrs = dict(sweep_spec=json.dumps(spec.to_dict()), study=spec.study, study_function=study.function,
                 study_defaults=_defaults(spec), sigprop_version=__version__,
                 description=spec.description or study.description)
    tmp = path.parent / f"{temporary_name(path)}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with signals_deferred():           # a Ctrl-C meanwhile is taken once the store is in place
            _write_new(zarr, xr.Dataset(data, coords=coords, attrs=attrs), tmp, path, spec, study, sizes, axes)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    remove_stale_temporaries(path)
    store = Store(path)
    store.check_outputs()
    return store


def _write_new(zarr, dataset, tmp: Path, path: Path, spec: Spec, study, sizes: dict, axes: list) -> None:
    """Write the empty store (``dataset`` and the study's output, status and error arrays) in ``tmp``,
    then rename it to ``path``."""
    dataset.to_zarr(str(tmp), mode="w-", zarr_format=2, consolidated=False)
    group = zarr.open_group(str(tmp), mode="r+", zarr_format=2)
    cell_chunks = (1,) * len(axes)
    for name, dims in study.outputs.items():
        shape = spec.shape + tuple(sizes[d] for d in dims)
        group.create_array(name, shape=shape, chunks=cell_chunks + shape[len(axes):], dtype="f8",
                           fill_value=np.nan, attributes={"_ARRAY_DIMENSIONS": axes + list(dims)})
    group.create_array("status", shape=spec.shape, chunks=cell_chunks, dtype="i1", fill_value=None,
                       attributes={"_ARRAY_DIMENSIONS": axes, "flag_values": [PENDING, DONE, FAILED],
                                   "flag_meanings": "pending done failed"})
    group.create_array("error", shape=spec.shape, chunks=cell_chunks, dtype=str, fill_value=None,
                       attributes={"_ARRAY_DIMENSIONS": axes,
                                   "description": "the exception of a failed cell, '' otherwise"})
    zarr.consolidate_metadata(str(tmp), zarr_format=2)
    os.rename(tmp, path)


def prepare(path, spec: Spec, *, overwrite: bool = False) -> Store:
    """The store for ``spec`` at ``path``: created, reopened (same spec), or refused in one line."""
    path = Path(path)
    if not path.exists():
        return create(path, spec)
    if not overwrite:
        try:
            existing = Store(path)
        except ValueError as exc:
            said = str(exc)                     # a damaged store's refusal already says what to do
            raise ArgumentError.about("store", said if "--overwrite" in said else
                                      f"{said}; choose another path or overwrite it (--overwrite)") from None
        diff = spec.differences(existing.spec_dict)
        if diff:
            raise ArgumentError.about("store", f"{path} holds a different sweep (differs in {', '.join(diff)}); "
                                               "use overwrite (--overwrite) to replace it, or another store")
        existing.check_outputs()
        before = existing.group.attrs.get("study_defaults")
        if before is not None and before != _defaults(spec):
            old, new = json.loads(before), json.loads(_defaults(spec))
            changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise ArgumentError.about("store", f"{path} was written when study {spec.study!r} had other defaults (for "
                                               f"{', '.join(changed)}); use overwrite (--overwrite) to start it again")
        return existing
    trash = path.parent / f".{path.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.rename(path, trash)
    try:
        return create(path, spec)
    finally:
        shutil.rmtree(trash, ignore_errors=True) if trash.is_dir() else trash.unlink(missing_ok=True)


def _defaults(spec: Spec) -> str:
    """The study's defaults of the arguments the spec leaves to it, as JSON."""
    given = set(spec.args) | set(spec.axes) | {"seed"}
    defaults = {k: v for k, v in spec.registered.defaults().items() if k not in given}
    return json.dumps(json.loads(json.dumps(defaults, default=repr)), sort_keys=True)


def open_dataset(path):
    """The store as a (lazily loaded) ``xarray.Dataset``."""
    xr = _deps.require("xarray")
    path = Path(path)
    if not (path / ".zattrs").is_file():
        raise ArgumentError.about("store", f"{path} is not a sweep store")
    try:
        return xr.open_zarr(str(path), consolidated=True)
    except Exception as exc:  # noqa: BLE001 - undecodable or missing metadata (zarr's and JSON's own errors)
        raise ArgumentError.about("store", f"{path} is damaged or not a sweep store: it cannot be opened "
                                           f"({type(exc).__name__}: {' '.join(str(exc).split())[:150]})") from None


def read_spec(path) -> Mapping[str, Any]:
    """The normalized specification stored at ``path``."""
    return Store(path).spec_dict
