"""``sigprop.load``: read back any result file sigprop writes, as the object that wrote it.

A result file is JSON with a type tag ``"sigprop_type"`` (:mod:`sigprop.core.labelled`):

* ``"Profile"``, ``"Simulation"``, ``"SoftmaxProfile"``: a
  :class:`~sigprop.rho.propagation.Profile`, :class:`~sigprop.rho.montecarlo.Simulation` or
  :class:`~sigprop.rho.softmax_profile.SoftmaxProfile` (written by their ``save``);
* the type tag of a study descriptor's result type (:mod:`sigprop.core.study`, e.g.
  ``"Validation"``): that type;
* any other tag (a study, or a command's ``--out`` file, e.g. ``"validation"``,
  ``"gaussian-error"``, ``"lm-train"``): a :class:`~sigprop.core.labelled.Result`, the
  ``dict`` the study returned, whose ``to_xarray()`` labels it with the axes declared for its
  kind (by its study's descriptor, or by the ``dims`` of the command that writes it: a file
  written before the command stored them is labelled the same way).

The JSON list that ``sigprop heads --format json`` prints (one record per head, with the
configuration's ``layout``, ``length`` and ``checkpoint`` in every record) is read as the
``"heads"`` result its ``--out`` file holds.  Files written before the tag existed are
recognised where their fields say what they are (a run record's ``"kind"``, a profile's
``positions`` and ``rho``, the two study files kept in ``docs/figures``, a trainability run's
``config["study"]``); anything else is
refused with one line, as is a file whose fields do not fit its type or that holds ``NaN`` or
``Infinity`` (not JSON: sigprop writes an undefined value, e.g. the localization of a profile
with no propagation, as ``null``, which is read back as NaN in an array, as stored), a number
beyond float64 (``1e999``) or an integer of 2**128 or more.  A Zarr
store written by ``sigprop sweep`` (a folder) is opened as the :class:`xarray.Dataset` it holds.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sigprop.core.checks import ArgumentError, MissingFileError, short_repr
from sigprop.core.labelled import DIMS, KEYS, TAG, Result
from sigprop.core.study import result_type
from sigprop.core.vocabulary import canonical_config

# Results whose configuration once used the flags' words (length, mean, var, dim): read with the
# names of docs/theory.md (T, m, v, d), the old keys still readable (sigprop.core.vocabulary)
RHO_KINDS = frozenset({"prediction", "validation", "gaussian-error"})
CLASSES = {"Profile": "sigprop.rho.propagation", "Simulation": "sigprop.rho.montecarlo",
           "SoftmaxProfile": "sigprop.rho.softmax_profile"}


#: The integers a result file may hold are below this in magnitude (a seed's entropy has 128 bits).
LARGEST_INTEGER = 2 ** 128

#: Memory per byte of a result file while it is read: the text, and the Python objects of its
#: numbers (a 20-character number becomes a float and a list entry, 32 bytes).
READ_BYTES_PER_BYTE = 4


def load(path: str | os.PathLike[str]) -> Any:
    """Read the result file ``path`` back as the object that wrote it (see the module doc).

    Raises :class:`~sigprop.core.checks.ArgumentError` (a ``ValueError``; one line naming ``path``
    and the file) for a file sigprop did not write or cannot tell the type of, and for a missing
    file (then a :class:`~sigprop.core.checks.MissingFileError`, also a ``FileNotFoundError``).

    Examples
    --------
    >>> import tempfile, sigprop as sp
    >>> p = sp.theory_spectrum(0.5, 0.1, 16, 8)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p.save(f"{tmp}/p.json")
    ...     q = sp.load(f"{tmp}/p.json")
    >>> type(q).__name__, bool(q.to_xarray().identical(p.to_xarray()))
    ('Profile', True)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError("path", f"must be a file name (str or path), got {type(path).__name__}")
    path = Path(path)
    try:
        path.stat()
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:            # a name too long, a loop of links, a NUL byte
        raise ArgumentError("path", f"{short_repr(str(path))}: cannot read it "
                                    f"({' '.join(str(getattr(exc, 'strerror', None) or exc).split())})") from None
    if path.is_dir():
        if (path / ".zattrs").is_file():
            from sigprop.sweep.store import open_dataset

            return open_dataset(path)
        raise ArgumentError("path", f"{path}: a folder, not a result file (nor a sweep store)")
    if not path.exists():
        raise MissingFileError("path", f"{path}: no such file")
    from sigprop.core.results import file_size, read_json

    file_size(path, "path", "a result file", per_byte=READ_BYTES_PER_BYTE)     # a FIFO would be read for ever
    constants: list[str] = []

    def constant(word: str) -> object:              # NaN, Infinity, -Infinity: marked, to be refused
        constants.append(f"{word} (not JSON; sigprop writes an undefined value as null)")
        return _CONSTANT

    def real(word: str) -> object:                  # 1e999 is JSON, but no float64
        value = float(word)
        return value if math.isfinite(value) else constant_beyond(word, "float64")

    def integer(word: str) -> object:               # seeds and counts; a seed's entropy has 128 bits
        value = int(word)
        return value if abs(value) < LARGEST_INTEGER else constant_beyond(word, "2**128")

    def constant_beyond(word: str, limit: str) -> object:
        constants.append(f"{short_repr(word)}, beyond {limit}")
        return _CONSTANT
    data = read_json(path, "path", "a sigprop result file", per_byte=READ_BYTES_PER_BYTE, top=None,
                     parse_constant=constant, parse_float=real, parse_int=integer)
    if constants:
        raise ArgumentError("path", f"{path}: not a sigprop result file: {_where(data)} holds "
                                    f"{constants[0]}")
    if _heads_list(data):
        return _build(path, "heads", lambda: _heads_result(data))
    if not isinstance(data, dict):
        raise ArgumentError("path", f"{path}: not a sigprop result file (JSON {type(data).__name__}, not an object)")
    kind = data.get(TAG) or _infer(data)
    if kind is None:
        raise ArgumentError("path", f"{path}: no {TAG!r} tag and no known fields: not a result file sigprop wrote, "
                                    "or one written before its type was recorded")
    if not isinstance(kind, str):
        raise ArgumentError("path", f"{path}: not a sigprop result file: its {TAG!r} tag is "
                                    f"{short_repr(kind)}, not a type name")
    return _build(path, kind, lambda: _typed(data, kind))


#: What ``json`` gives for ``NaN``, ``Infinity`` and ``-Infinity`` while a file is read (:func:`_where`).
_CONSTANT = object()


def _where(data: Any) -> str:
    """The key path (``positions[0]``, ``config.T``) of the first :data:`_CONSTANT` in ``data``."""
    todo: list[tuple[str, Any]] = [("", data)]
    while todo:                                     # iterative: a file may nest deeply
        where, value = todo.pop()
        if value is _CONSTANT:
            return repr(where) if where else "the file"
        if isinstance(value, dict):
            todo.extend((f"{where}.{k}" if where else str(k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            todo.extend((f"{where}[{i}]", v) for i, v in reversed(list(enumerate(value))))
    return "the file"


def _build(path: Path, kind: str, make) -> Any:
    """``make()``, the result of type ``kind``; a file whose fields do not fit the type (wrong types,
    missing fields) is refused in one line naming ``path``."""
    try:
        return make()
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        detail = " ".join(str(exc).split())
        raise ArgumentError("path", f"{path}: not a sigprop {kind!r} result: its fields do not fit the type "
                                    f"({type(exc).__name__}: {detail[:200]})") from None


def _typed(data: dict, kind: str) -> Any:
    """The object of type tag ``kind`` from ``data`` (the module doc)."""
    if kind in CLASSES:
        import importlib

        return getattr(importlib.import_module(CLASSES[kind]), kind).from_json(data)
    typed = result_type(kind)                       # the result type of a study's descriptor
    if typed is not None:
        return typed.from_json(data)
    if kind in RHO_KINDS and isinstance(data.get("config"), dict):
        data["config"] = canonical_config(data["config"])
    labels = dict(UNTAGGED.get(kind, {}) if TAG not in data else {})
    if KEYS not in data and kind in RECORD_KEYS:
        labels["keys"] = RECORD_KEYS[kind]
    cmd = _declare_command_dims(kind)
    _check_fields(data, kind, cmd)
    return Result(data, kind=kind, **labels)


#: The fields a command's file cannot lack, by type tag: each entry is a group of which at least one
#: is present (a validation holds the simulation's ``rho_mc``, or ``value_mc`` for a softmax quantity).
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "prediction": (("config",), ("positions",), ("rho", "value")),
    "validation": (("config",), ("positions",), ("rho_mc", "value_mc"), ("rho", "value")),
    "gaussian-error": (("config",), ("rows",)),
    "lm-train": (("config",), ("history",)),
}


def _check_fields(data: dict, kind: str, cmd: Any) -> None:
    """Raise ``ValueError`` (or ``TypeError``) when the fields of ``data`` do not fit the type tag ``kind``.

    What every file of a command holds: the fields :data:`REQUIRED` names; a ``config`` object;
    ``positions`` a list of increasing positive integers; every per-position column of the command's
    view (``rho``, ``rho_mc``, ...) a list of numbers (``null`` for undefined) with one entry per
    position on its last axis; every list of
    records named by the key fields (``sigprop_keys``, the command's ``keys``) a list of objects.
    """
    for tag in (KEYS, DIMS):                    # the record keys and array axes the file declares
        declared = data.get(tag, {})
        if not (isinstance(declared, dict) and all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                                                   for v in declared.values())):
            raise TypeError(f"{tag!r} is {short_repr(declared)}, not an object of lists of names")
    for group in REQUIRED.get(kind, ()):
        if not any(name in data for name in group):
            raise ValueError(f"no {' or '.join(map(repr, group))} field")
    if "config" in data and not isinstance(data["config"], dict):
        raise TypeError(f"'config' is {type(data['config']).__name__}, not an object")
    n = None
    if "positions" in data:
        positions = data["positions"]
        if (not isinstance(positions, list) or not positions
                or not all(type(i) is int and i >= 1 for i in positions)
                or any(b <= a for a, b in zip(positions, positions[1:]))):
            raise ValueError(f"'positions' is {short_repr(positions)}, not a list of increasing positive integers")
        n = len(positions)
    columns = [c.split("=")[-1] for c in (getattr(cmd.view, "columns", None) or ())] if cmd is not None else []
    for name in columns:
        if name != "positions" and name in data:
            shape = _numbers_shape(data[name], name)
            if n is not None and shape[-1:] != (n,):
                raise ValueError(f"{name!r} has {shape[-1] if shape else 'no'} entries per row, "
                                 f"not one per position ({n})")
    stored = data.get(KEYS)
    keys: dict = stored if isinstance(stored, dict) else dict(getattr(cmd, "keys", None) or {})
    for name, fields in keys.items():
        rows = data.get(name)
        if rows is not None and not (isinstance(rows, list) and all(isinstance(r, dict) for r in rows)):
            raise TypeError(f"{name!r} is {short_repr(rows)}, not a list of records")
        missing = [f for f in fields if rows and any(f not in r for r in rows)]
        if missing:
            raise KeyError(f"a record of {name!r} has no {missing[0]!r} field")
        for f in fields:                        # a key field labels the records: one value each
            bad = next((r[f] for r in rows or () if isinstance(r[f], (list, dict))), None)
            if bad is not None:
                raise TypeError(f"a record of {name!r} has {f!r} = {short_repr(bad)}, not one value")
        _unique(rows or [], fields, name)
    for name in ("method", "method_reason"):    # the closed form's name and why it was chosen
        if name in data and not isinstance(data[name], str):
            raise TypeError(f"{name!r} is {short_repr(data[name])}, not text")


def _unique(rows: list, fields: Sequence[str], name: str) -> None:
    """Raise ``ValueError`` when two records of ``rows`` (the list ``name``) share their key ``fields``."""
    if not fields:
        return
    seen: set = set()
    for r in rows:
        key = tuple(r[f] for f in fields)
        if key in seen:
            raise ValueError(f"two records of {name!r} have the same {', '.join(fields)} {short_repr(key)}")
        seen.add(key)


def _numbers_shape(value: Any, name: str) -> tuple[int, ...]:
    """The shape of the (nested, rectangular) list of numbers or ``null`` ``value``; ``ValueError`` otherwise."""
    import numpy as np

    try:
        array = np.asarray([np.nan if v is None else v for v in value] if isinstance(value, list) else value,
                           dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name!r} is {short_repr(value)}, not a list of numbers") from None
    if not isinstance(value, list):
        raise ValueError(f"{name!r} is {short_repr(value)}, not a list of numbers")
    return array.shape


#: The type tag of the command whose files once carried only the API's ``"kind"`` field.
COMMAND_TAGS = {"lm-summary": "lm-summarize"}


def _declare_command_dims(kind: str) -> Any:
    """The command whose ``--out`` files carry the tag ``kind`` (:class:`sigprop.cli.app.Command`), or
    ``None``; the axes it declares (``dims``) are declared for ``kind``, so that a file written before
    the command stored them (``sigprop_dims``) is labelled the same way."""
    from sigprop.cli.app import commands
    from sigprop.core.labelled import DECLARED, declare

    tag = COMMAND_TAGS.get(kind, kind)
    for plugins in (False, True):                     # the plugins' commands only when no family's fits
        for cmd in commands(plugins).values():
            if (cmd.kind or cmd.name.replace(" ", "-")) == tag:
                if cmd.dims and kind not in DECLARED:
                    declare(kind, cmd.dims)
                return cmd
    return None


# The record keys of the files a command wrote before it stored them (``sigprop lm gradcheck``: no
# field of a row is a key, ``passed`` and ``worst`` are results)
RECORD_KEYS: dict[str, dict] = {"lm-gradcheck": {"rows": ()}}

# Labels of the untagged result files kept in the repository (docs/figures/*.json)
UNTAGGED: dict[str, dict] = {
    "gap-validity": dict(dims={"measured": ("sigma", "length", "seed"), "predicted": ("sigma", "length"),
                               "region": ("sigma", "length")}),
    "softmax-map": dict(keys={"rows": ("m", "v", "d", "T")}),
    # results/nnt/train_T500_*.json (`sigprop nnt train`): sigprop.gap.trainability.RECORD_KEYS and the summary's
    "trainability": dict(keys={"records": ("config", "target", "lr", "seed"), "summary": ("config", "target", "lr")}),
}


def _infer(data: dict) -> str | None:
    """The tag of an untagged file from its fields, or ``None``."""
    if isinstance(data.get("kind"), str):                   # run records: kind="lm-train"
        return data["kind"]
    config = data.get("config")
    if isinstance(config, dict) and config.get("study") == "trainability" and "records" in data:
        return "trainability"                               # sigprop nnt train, before the tag
    if "measured" in data and "predicted" in data:          # figures/gap_validity.py
        return "gap-validity"
    rows = data.get("rows")
    if isinstance(rows, list) and rows and isinstance(rows[0], dict) and {"m", "v", "d", "T", "max_se"} <= set(rows[0]):
        return "softmax-map"                                # figures/softmax_map.py
    if "positions" in data and "config" in data:
        return "validation" if "rho_mc" in data or "value_mc" in data else "prediction"
    return None


HEAD_FIELDS = frozenset({"layer", "head", "eig_mean", "eig_var", "rho"})
HEAD_CONFIG = ("checkpoint", "layout", "length")


def _heads_list(data: Any) -> bool:
    """Whether ``data`` is the list of head records printed by ``sigprop heads --format json``."""
    return (isinstance(data, list) and bool(data) and all(isinstance(r, dict) for r in data)
            and all(HEAD_FIELDS <= set(r) for r in data))


def _heads_result(data: list) -> Result:
    """The ``"heads"`` result of the records ``data`` (:func:`_heads_list`), as its ``--out`` file reads."""
    config = {k: data[0][k] for k in HEAD_CONFIG if k in data[0]}
    records = [{k: v for k, v in r.items() if k not in HEAD_CONFIG} for r in data]
    for r in records:                           # each head is named by two integers, its profile by numbers
        bad = next((k for k in ("layer", "head") if type(r[k]) is not int), None)
        if bad is not None:
            raise TypeError(f"a record has {bad!r} = {short_repr(r[bad])}, not an integer")
    _unique(records, ("layer", "head"), "records")
    lengths = {(_numbers_shape(r["rho"], "rho")[-1:] or (0,))[0] for r in records}
    if len(lengths) > 1:
        raise ValueError("the records' 'rho' differ in length")
    return Result(dict(config=dict(config, heads=len(records)), positions=list(range(1, lengths.pop() + 1)),
                       records=records), kind="heads", keys={"records": ("layer", "head")})
