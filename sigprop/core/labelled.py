"""Labelled results: xarray Datasets with named dimensions, and type-tagged result files.

Every result sigprop writes carries a *type tag* (``"sigprop_type"``) so that
:func:`sigprop.load` can read it back as the object that wrote it.  Two kinds of
result exist:

* dataclasses with arrays over positions (:class:`~sigprop.rho.propagation.Profile`,
  :class:`~sigprop.rho.montecarlo.Simulation`, :class:`~sigprop.rho.softmax_profile.SoftmaxProfile`):
  they share :class:`LabelledProfile` (``to_xarray``, ``save``), built on :func:`profile_dataset`;
* study results: a plain ``dict`` of a configuration and measured numbers, returned as a
  :class:`Result` (a ``dict`` that knows its kind and the key fields of its records).

:func:`dataset` turns such a dict into an :class:`xarray.Dataset`:

* ``positions`` becomes the coordinate ``position``; every array whose last axis has one
  entry per position is a variable over ``(..., position)``;
* a list of records (dicts) becomes variables over the record's *key fields* (declared, or
  inferred: the fields holding strings, booleans or integers, when they identify each
  record), e.g. ``config``, ``gamma``, ``length``, ``layer``, ``seed``; the variables are
  named ``<list>_<field>`` (``records_stable_rank``); declared keys ``()``: the records run
  over the dimension ``<list>``;
* a dict of dicts with the same fields (``methods``) becomes a dimension (``method``);
* a dict of numbers (``localization``) becomes variables ``localization_total``, ...;
* the other axes of an array are those the result declares for it (``Result(dims=...)``, a
  study's typed result, :mod:`sigprop.core.study`): a declaration is used as given, and only
  an array no declaration covers is labelled by the rule above (its last axis ``position``
  when it has ``T`` entries) or, failing that, ``<name>_axis_k``;
* the configuration goes to the attributes: ``config`` (the whole configuration as a JSON
  string) and each scalar entry on its own (``ds.attrs["T"]``); ``sigprop_type`` and
  ``version`` too.  Every attribute is JSON-able.

xarray is an optional dependency (``pip install 'sigprop[xarray]'``), imported only here
and only when a conversion is asked for.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import numpy as np

from sigprop.core.results import atomic_write, jsonable, write_json

TAG = "sigprop_type"
KEYS = "sigprop_keys"            # the key fields of each list of records, stored beside the tag
DIMS = "sigprop_dims"            # the axes of the arrays under a field, stored beside the tag


def xarray() -> Any:
    """The ``xarray`` module, or an ``ImportError`` of one line saying how to install it."""
    try:
        import xarray as xr
    except ImportError:
        raise ImportError("labelled results need xarray: pip install 'sigprop[xarray]'") from None
    return xr


#: The axes of the arrays of each kind of result, declared by its study's descriptor
#: (:func:`declare`, called by :func:`sigprop.core.study.register`); a result's own ``dims`` win.
DECLARED: dict[str, dict[str, tuple[str, ...]]] = {}


def declare(kind: str, dims: Mapping[str, Sequence[str]]) -> None:
    """Declare the axes of the arrays of every ``kind`` result (``{"records_losses": ("step",)}``)."""
    DECLARED[kind] = {str(k): tuple(v) for k, v in dims.items()}


class Result(dict):
    """A study result: a ``dict`` that knows its ``kind``, its records' key fields and its arrays' axes.

    ``keys`` maps the name of each list of records to the fields that identify a record
    (its dimensions in :meth:`to_xarray`); lists not named there have their keys inferred.
    ``dims`` names the axes of the arrays under a field (:func:`dataset`).
    """

    def __init__(self, data: Mapping[str, Any] = (), *, kind: str,  # type: ignore[assignment]
                 keys: Mapping[str, Sequence[str]] | None = None,
                 dims: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(data)
        self.pop(TAG, None)
        stored, stored_dims = self.pop(KEYS, None) or {}, self.pop(DIMS, None) or {}
        self.kind = kind
        self.keys_of = {str(k): tuple(v) for k, v in {**stored, **(keys or {})}.items()}
        self.dims_of = {str(k): tuple(v) for k, v in {**stored_dims, **(dims or {})}.items()}

    def to_xarray(self) -> Any:
        """The result as an :class:`xarray.Dataset` (see the module doc)."""
        return dataset(self, self.kind, self.keys_of, {**DECLARED.get(self.kind, {}), **self.dims_of})

    def to_netcdf(self, path: str | os.PathLike[str], engine: str | None = None) -> None:
        """Write :meth:`to_xarray` to ``path`` as netCDF, atomically (:func:`write_netcdf`)."""
        write_netcdf(self.to_xarray(), path, engine)

    def to_json(self) -> dict:
        """The result as JSON-able data, type tag first."""
        head: dict = {TAG: self.kind}
        if self.keys_of:
            head[KEYS] = {k: list(v) for k, v in self.keys_of.items()}
        if self.dims_of:
            head[DIMS] = {k: list(v) for k, v in self.dims_of.items()}
        return jsonable({**head, **self})

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the result to ``path`` as JSON, atomically (read it back with ``sigprop.load``)."""
        write_json(path, self.to_json())

    def __repr__(self) -> str:
        return f"Result(kind={self.kind!r}, {dict.__repr__(self)})"


class LabelledProfile:
    """What every per-position result dataclass shares (:class:`~sigprop.rho.propagation.Profile`,
    :class:`~sigprop.rho.montecarlo.Simulation`, :class:`~sigprop.rho.softmax_profile.SoftmaxProfile`):
    ``to_xarray()``, ``to_json()``, ``save(path)`` and ``from_json(data)``.

    The dataclass has ``positions`` (``1..T``), arrays of shape ``(..., T)``, maybe scalars,
    and ``config``; ``AXES`` names the parameters of ``config`` that may label its leading axes.

    Examples
    --------
    >>> import numpy as np, sigprop as sp
    >>> ds = sp.theory_spectrum(np.array([[0.5], [1.0]]), [0.01, 0.1, 1.0], 64, 128).to_xarray()
    >>> ds.rho.dims, ds.sizes["v"]
    (('m', 'v', 'position'), 3)
    """

    AXES: tuple[str, ...] = ("m", "v", "d")

    def _split(self) -> tuple[dict, dict]:
        """The per-position arrays and the other fields (``positions`` and ``config`` aside)."""
        arrays: dict[str, Any] = {}
        scalars: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            if f.name not in ("positions", "config"):
                value = getattr(self, f.name)
                (arrays if isinstance(value, np.ndarray) else scalars)[f.name] = value
        return arrays, scalars

    def to_xarray(self) -> Any:
        """The result as an :class:`xarray.Dataset` over ``(..., position)`` (:func:`profile_dataset`)."""
        arrays, scalars = self._split()
        return profile_dataset(type(self).__name__, self.positions, arrays,  # type: ignore[attr-defined]
                               self.config, scalars, axes=self.AXES)  # type: ignore[attr-defined]

    def to_netcdf(self, path: str | os.PathLike[str], engine: str | None = None) -> None:
        """Write :meth:`to_xarray` to ``path`` as netCDF, atomically (:func:`write_netcdf`)."""
        write_netcdf(self.to_xarray(), path, engine)

    def to_json(self) -> dict:
        """JSON-able data, with the type tag (``sigprop.load`` reads it back)."""
        arrays, scalars = self._split()
        return jsonable({TAG: type(self).__name__, "positions": self.positions,  # type: ignore[attr-defined]
                         **arrays, **scalars, "config": json_safe(self.config)})  # type: ignore[attr-defined]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the result to ``path`` as JSON, atomically."""
        write_json(path, self.to_json())

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Any:
        """The result saved as ``data`` by :meth:`to_json` (lists become arrays, ``null`` NaN)."""
        values: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name == "positions":
                value = np.asarray(value, dtype=np.int64)
            elif f.name == "config":
                value = {k: np.asarray(v, dtype=float) if isinstance(v, list) and _numeric(v) else v
                         for k, v in value.items()}
            elif isinstance(value, list):
                value = np.asarray(value, dtype=float)
            values[f.name] = value
        return cls(**values)


def _numeric(value: list) -> bool:
    flat = np.asarray(value, dtype=object).ravel()
    return all(x is None or (isinstance(x, (int, float)) and not isinstance(x, bool)) for x in flat)


# --- netCDF ----------------------------------------------------------------------------

NETCDF_ENGINES = (("netCDF4", "netcdf4"), ("h5netcdf", "h5netcdf"), ("scipy", "scipy"))
INT32 = (-2**31, 2**31 - 1)


def netcdf_engine() -> str:
    """The netCDF writer xarray would pick: ``netcdf4``, ``h5netcdf``, else ``scipy`` (netCDF3,
    always there with SciPy)."""
    import importlib.util

    for module, engine in NETCDF_ENGINES:
        if importlib.util.find_spec(module) is not None:
            return engine
    return "scipy"


def write_netcdf(ds: Any, path: str | os.PathLike[str], engine: str | None = None) -> None:
    """Write the Dataset ``ds`` to ``path`` as netCDF, atomically; ``xarray.open_dataset(path)`` reads it back.

    ``engine`` is xarray's (default :func:`netcdf_engine`).  With ``scipy`` the file is netCDF3,
    which holds no 64-bit integers: an integer attribute outside the 32-bit range (a large seed)
    is written as text; the attribute ``config`` keeps the whole configuration as JSON either way.
    """
    engine = engine or netcdf_engine()
    if engine == "scipy":
        ds = ds.copy()
        ds.attrs = {k: str(v) if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                    and not INT32[0] <= int(v) <= INT32[1] else v for k, v in ds.attrs.items()}
    atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine=engine))


# --- attributes ----------------------------------------------------------------------

def attributes(kind: str, config: Mapping[str, Any], version: Any = None) -> dict:
    """JSON-able attributes: the tag, the version, the whole ``config`` as JSON and its scalars."""
    values = jsonable(json_safe(dict(config)))
    out: dict = {TAG: kind}
    if version is not None:
        out["version"] = str(version)
    out["config"] = json.dumps(values, sort_keys=True)
    out.update({k: v for k, v in values.items() if isinstance(v, (str, int, float, bool)) and k not in out})
    return out


def json_safe(obj: Any) -> Any:
    """``obj`` with objects JSON cannot hold (e.g. a ``SeedSequence``) replaced by their ``repr``
    (a path by its text, a ``SeedSequence`` by its entropy and spawn key)."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if obj is None or isinstance(obj, (str, bool, int, float, np.ndarray, np.generic)):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, np.random.SeedSequence):
        return dict(entropy=obj.entropy, spawn_key=list(obj.spawn_key))
    return repr(obj)


# --- profiles --------------------------------------------------------------------------

def profile_dataset(kind: str, positions: Any, arrays: Mapping[str, Any], config: Mapping[str, Any],
                    scalars: Mapping[str, Any] | None = None, axes: Sequence[str] = ("m", "v", "d")) -> Any:
    """A Dataset of per-position ``arrays`` of shape ``(..., T)``.

    The leading (batch) axes are named after the parameter of ``config`` listed in ``axes``
    (``m``, ``v``, ``d``; ``quantity`` for softmax profiles) that varies along that axis alone,
    which becomes its coordinate (a parameter that varies along no axis is a scalar coordinate;
    an axis no parameter names is ``batch``, or ``batch_0``, ``batch_1``, ... when several are).
    Arrays of ``config`` with the profile's shape
    (e.g. ``rho_error``) become variables; the rest of ``config`` goes to the attributes.
    """
    xr = xarray()
    positions = np.asarray(positions)
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays.values()))
    batch = shape[:-1]
    dims = [f"axis_{k}" for k in range(len(batch))]
    coords: dict[str, Any] = {"position": ("position", positions)}
    rest = dict(config)
    later = []
    for name in axes:
        if rest.get(name) is None:
            continue
        value = np.asarray(rest[name])
        if value.ndim > len(batch) or value.dtype.kind not in "biufU":
            continue
        try:
            full = np.broadcast_to(value, batch)
        except ValueError:
            continue
        rest.pop(name)
        padded = (1,) * (len(batch) - value.ndim) + value.shape
        varying = [k for k in range(len(batch)) if padded[k] > 1]
        if len(varying) == 1 and dims[varying[0]].startswith("axis_"):
            dims[varying[0]] = name
            coords[name] = (name, value.reshape(-1))
        elif not varying:
            coords[name] = ((), value.reshape(-1)[0])
        else:
            later.append((name, full))
    unnamed = [k for k, d in enumerate(dims) if d.startswith("axis_")]
    for k in unnamed:                        # a batch of models no parameter labels
        dims[k] = "batch" if len(unnamed) == 1 else f"batch_{unnamed.index(k)}"
    for name, full in later:                 # a parameter varying along several axes
        coords[name] = (tuple(dims), full)
    data: dict[str, Any] = {}
    full_dims = (*dims, "position")
    for name, value in {**arrays, **{k: v for k, v in rest.items() if _per_position(v, shape)}}.items():
        data[name] = (full_dims, np.broadcast_to(np.asarray(value, dtype=float), shape))
        rest.pop(name, None)
    attrs = attributes(kind, rest, (scalars or {}).get("version"))
    for key, value in (scalars or {}).items():
        if key != "version":
            attrs[key] = jsonable(value)
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _per_position(value: Any, shape: tuple[int, ...]) -> bool:
    if not isinstance(value, (np.ndarray, list)):
        return False
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    if arr.ndim == 0 or arr.shape[-1] != shape[-1]:
        return False
    try:
        return np.broadcast_shapes(arr.shape, shape) == shape
    except ValueError:
        return False


# --- study results -----------------------------------------------------------------------

def dataset(result: Mapping[str, Any], kind: str, keys: Mapping[str, Sequence[str]] | None = None,
            dims: Mapping[str, Sequence[str]] | None = None) -> Any:
    """An :class:`xarray.Dataset` of a study result ``dict`` (see the module doc).

    ``keys`` names the key fields of each list of records; ``dims`` names the axes of the arrays
    under a field (``{"measured": ("sigma", "length", "seed")}`` labels ``measured_sigma_1`` and
    every other array under ``measured``; an array with fewer axes takes the first ones).  The
    coordinate of an axis ``x`` is ``config["xs"]`` (or ``config["x"]``) when it is a list of the
    right length, ``0..n-1`` when it is the count ``n``; an array whose shape does not fit is
    left with unnamed axes.
    """
    xr = xarray()
    config = result.get("config", {})
    config = config if isinstance(config, Mapping) else {"config": config}
    ctx = _Context(T=len(result["positions"]) if "positions" in result else None,
                   lead="query" if config.get("query") == "all" else None, keys=dict(keys or {}),
                   dims={k: tuple(v) for k, v in (dims or {}).items()}, config=config, top=result)
    if ctx.T is not None:
        ctx.coords["position"] = ("position", np.asarray(result["positions"]))
    for name, value in result.items():
        if name not in (TAG, KEYS, DIMS, "version", "config", "positions"):
            ctx.add(name, value)
    ds = xr.Dataset(ctx.data, coords=ctx.coords)
    if ctx.parts:
        ds = xr.merge([ds, *ctx.parts], join="outer", compat="no_conflicts", combine_attrs="drop")
    ds.attrs = attributes(kind, config, result.get("version"))
    for key, value in ctx.extra.items():
        ds.attrs.setdefault(key, value)
    return ds


class _Context:
    """What :func:`dataset` gathers while it walks a result."""

    def __init__(self, T: int | None, lead: str | None, keys: dict, dims: dict, config: Mapping[str, Any],
                 top: Mapping[str, Any] | None = None):
        self.T, self.lead, self.keys, self.dims, self.config = T, lead, keys, dims, config
        self.top: Mapping[str, Any] = top or {}
        self.data: dict[str, Any] = {}
        self.coords: dict[str, Any] = {}
        self.parts: list[Any] = []
        self.extra: dict[str, Any] = {}

    def add(self, name: str, value: Any) -> None:
        if value is None or isinstance(value, str):
            if value is not None:
                self.extra[name] = value
            return
        if isinstance(value, (bool, int, float, np.generic)):
            self.data[name] = ((), value)
            return
        if isinstance(value, Mapping):
            if value and all(isinstance(v, Mapping) for v in value.values()):
                dim = name[:-1] if name.endswith("s") and len(name) > 1 else f"{name}_key"
                self.parts.append(records([dict(v, **{dim: k}) for k, v in value.items()], name, (dim,), self.T,
                                          self.dims, self.lead))
                return
            for k, v in value.items():
                self.add(f"{name}_{k}", v)
            return
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Mapping) for v in value):
            self.parts.append(self.labelled(records(value, name, self.keys.get(name), self.T, self.dims, self.lead)))
            return
        arr = _array(value)
        if arr is None:
            self.extra[name] = json.dumps(jsonable(value))
            return
        self.data[name] = (self.named(name, arr.shape) or _dims(name, arr.shape, self.T, self.lead), arr)

    def labelled(self, part: Any) -> Any:
        """``part`` (the Dataset of a list of records) with the coordinates ``config["<axis>s"]`` of
        its axes that have none (``lag`` from ``config["lags"]``) when the list has their length."""
        coords = {}
        for axis, n in part.sizes.items():
            value = self.config.get(f"{axis}s")
            if axis not in part.coords and isinstance(value, (list, tuple)) and len(value) == n:
                coords[axis] = np.asarray(value)
        return part.assign_coords(coords) if coords else part

    def named(self, name: str, shape: tuple[int, ...]) -> tuple[str, ...] | None:
        """The declared axes of the array ``name`` (with their coordinates when known), or None.

        A declaration is used as given (an array with fewer axes takes the first ones) unless it
        contradicts the result: an axis whose coordinates are known has another length."""
        axes = declared(self.dims, name, len(shape))
        if axes is None:
            return None
        values = [self.coordinate(axis, n) for axis, n in zip(axes, shape)]
        if any(v is CONTRADICTS for v in values):
            return None
        for axis, v in zip(axes, values):
            if v is not None:
                self.coords.setdefault(axis, (axis, v))
        return axes

    def coordinate(self, axis: str, n: int) -> Any:
        """The coordinates of ``axis`` of length ``n``: known ones, ``config["<axis>s"]`` (or the
        result's own list of that name), ``0..n-1`` (positions ``1..n``); None when ``config``
        counts the axis otherwise (``layers = L`` beside ``L + 1`` values); :data:`CONTRADICTS` when
        known coordinates have another length."""
        known = self.coords.get(axis)
        if known is not None:
            return known[1] if len(known[1]) == n else CONTRADICTS
        for key in (axis + "s", axis):
            value = self.config.get(key, self.top.get(key) if key == axis + "s" else None)
            if isinstance(value, (list, tuple)):
                return np.asarray(value) if len(value) == n else CONTRADICTS
            if isinstance(value, int) and not isinstance(value, bool) and value == n:
                return np.arange(n)
        if any(k in self.config for k in (axis + "s", axis)):
            return None
        return np.arange(1, n + 1) if axis == "position" else np.arange(n)


#: What :meth:`_Context.coordinate` returns when the known coordinates of an axis have another length.
CONTRADICTS = object()


def declared(dims: Mapping[str, tuple[str, ...]], name: str, ndim: int) -> tuple[str, ...] | None:
    """The axes declared for the array ``name`` of ``ndim`` axes: those of the longest key of ``dims``
    that is ``name`` or a prefix ``key_`` of it, cut to ``ndim``; None when none is declared or
    the declaration has fewer axes (or ``ndim`` is 0).  ``{}`` in a declared axis stands for the
    rest of ``name`` after ``key_`` (``{"repeats": ("{}_repeat",)}`` names the axis of
    ``repeats_mc`` ``mc_repeat``): arrays of different lengths under one field get an axis each."""
    owners = [k for k in dims if name == k or name.startswith(k + "_")]
    if not owners or ndim == 0:
        return None
    owner = max(owners, key=len)
    rest = name[len(owner) + 1:]
    axes = tuple(axis.replace("{}", rest or owner) for axis in dims[owner])
    return axes[:ndim] if len(axes) >= ndim else None


def _array(value: Any) -> np.ndarray | None:
    """``value`` as a numeric (or boolean, or string) array, or ``None`` when it is ragged or mixed."""
    try:
        arr = np.asarray(value)
    except ValueError:
        return None
    if arr.dtype == object:
        try:
            arr = np.asarray(value, dtype=float)        # None -> NaN
        except (TypeError, ValueError):
            return None
    return arr if arr.dtype.kind in "biufU" else None


def _dims(name: str, shape: tuple[int, ...], T: int | None, lead: str | None) -> tuple[str, ...]:
    if lead and shape == (T,):               # with every query (a T x T profile): one value per query
        return (lead,)
    if T is not None and shape and shape[-1] == T:
        first = [lead] if lead and len(shape) == 2 and shape[0] == T else []
        rest = [f"{name}_axis_{k}" for k in range(len(shape) - 1 - len(first))]
        return (*first, *rest, "position")
    return tuple(f"{name}_axis_{k}" for k in range(len(shape)))


def _key_value(v: Any) -> bool:
    return isinstance(v, (str, bool, int, np.integer, np.bool_))


def infer_keys(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The fields of ``rows`` holding only strings, booleans or integers, if they identify each row
    (a field that is ``null`` in a row is no key: a coordinate has no missing label)."""
    fields = [f for f in rows[0] if all(f in r and _key_value(r[f]) for r in rows)]
    seen = {tuple(r[f] for f in fields) for r in rows}
    return tuple(fields) if fields and len(seen) == len(rows) else ()


def records(rows: Sequence[Mapping[str, Any]], name: str, keys: Sequence[str] | None, T: int | None,
            dims: Mapping[str, tuple[str, ...]] | None = None, lead: str | None = None) -> Any:
    """A Dataset of a list of records: one dimension per key field (or ``name`` when none identify them).

    ``keys`` None: the key fields are inferred (:func:`infer_keys`); ``()`` declares that no field
    identifies a record (the records run over the dimension ``name``).

    The axes of a field's arrays are those declared for ``<name>_<field>`` in ``dims``
    (:func:`declared`), else the position axis (the last, of length ``T``) and ``lead``."""
    xr = xarray()
    import pandas as pd

    rows = [dict(_flatten(r)) for r in rows]
    keys = tuple(keys) if keys is not None else infer_keys(rows)
    fields = list(dict.fromkeys(f for r in rows for f in r if f not in keys))
    dim = f"{name}_record" if keys else name
    data: dict[str, Any] = {}
    for f in fields:
        column = [r.get(f) for r in rows]
        if all(v is None or isinstance(v, str) for v in column):
            if any(v is not None for v in column):
                data[f"{name}_{f}"] = ((dim,), np.asarray(["" if v is None else v for v in column]))
            continue
        arr = _array(column)
        if arr is None:
            arr = np.asarray([json.dumps(jsonable(v)) for v in column])
        axes = declared(dims or {}, f"{name}_{f}", arr.ndim - 1)
        data[f"{name}_{f}"] = ((dim, *(axes or _dims(f"{name}_{f}", arr.shape[1:], T, lead))), arr)
    if not keys:
        return xr.Dataset(data)
    index = pd.MultiIndex.from_arrays([[r[k] for r in rows] for k in keys], names=list(keys))
    ds = xr.Dataset(data, coords=xr.Coordinates.from_pandas_multiindex(index, dim))
    return ds.unstack(dim).transpose(*keys, ...)


def _flatten(row: Mapping[str, Any], prefix: str = ""):
    for k, v in row.items():
        if isinstance(v, Mapping) and v and not all(isinstance(x, Mapping) for x in v.values()):
            yield from _flatten(v, f"{prefix}{k}_")
        else:
            yield f"{prefix}{k}", v
