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
with no propagation, as ``null``, which is read back as NaN in an array, as stored).  A Zarr
store written by ``sigprop sweep`` (a folder) is opened as the :class:`xarray.Dataset` it holds.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sigprop.core.checks import ArgumentError, MissingFileError, short_repr
from sigprop.core.labelled import KEYS, TAG, Result
from sigprop.core.study import result_type
from sigprop.core.vocabulary import canonical_config

# Results whose configuration once used the flags' words (length, mean, var, dim): read with the
# names of docs/theory.md (T, m, v, d), the old keys still readable (sigprop.core.vocabulary)
RHO_KINDS = frozenset({"prediction", "validation", "gaussian-error"})
CLASSES = {"Profile": "sigprop.rho.propagation", "Simulation": "sigprop.rho.montecarlo",
           "SoftmaxProfile": "sigprop.rho.softmax_profile"}


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
        constants.append(word)
        return _CONSTANT
    data = read_json(path, "path", "a sigprop result file", per_byte=READ_BYTES_PER_BYTE, top=None,
                     parse_constant=constant)
    if constants:                                   # sigprop writes an undefined value as null, never NaN
        raise ArgumentError("path", f"{path}: not a sigprop result file: {_where(data)} holds {constants[0]} "
                                    "(not JSON; sigprop writes an undefined value as null)")
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
    _declare_command_dims(kind)
    return Result(data, kind=kind, **labels)


#: The type tag of the command whose files once carried only the API's ``"kind"`` field.
COMMAND_TAGS = {"lm-summary": "lm-summarize"}


def _declare_command_dims(kind: str) -> None:
    """Declare for ``kind`` the axes its command declares (:class:`sigprop.cli.app.Command` ``dims``), so
    that a file written before the command stored them (``sigprop_dims``) is labelled the same way."""
    from sigprop.core.labelled import DECLARED, declare

    if kind in DECLARED:
        return
    from sigprop.cli.app import commands  # here: only for a kind no study declares

    tag = COMMAND_TAGS.get(kind, kind)
    for plugins in (False, True):                     # the plugins' commands only when no family's fits
        for cmd in commands(plugins).values():
            if cmd.dims and (cmd.kind or cmd.name.replace(" ", "-")) == tag:
                declare(kind, cmd.dims)
                return


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
    length = len(records[0]["rho"])
    return Result(dict(config=dict(config, heads=len(records)), positions=list(range(1, length + 1)),
                       records=records), kind="heads", keys={"records": ("layer", "head")})
