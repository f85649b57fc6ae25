"""A sweep specification: a study, its fixed arguments, the axes of its grid, a base seed.

As TOML (read with ``tomllib``, or ``tomli`` on Python 3.10) or as the same ``dict``::

    study = "validation"          # a name in sigprop.sweep.STUDIES (or "pkg.mod:function")
    seed = 0                      # base seed of the cells' derived seeds
    description = "optional text"

    [args]                        # fixed arguments of the study function
    T = 32
    samples = 20000

    [axes]                        # one grid dimension each, in this order
    d = [4, 8, 16]                                   # a list
    v = {start = 0.01, stop = 1.0, num = 3, spacing = "log"}   # num points, both ends included
    seed = {start = 0, stop = 5}                     # a range: start, start + step, ... < stop

A range is ``{start, stop, step = 1}`` (``stop`` excluded, as Python's ``range``) or
``{start, stop, num, spacing = "linear" | "log"}`` (``num`` points, both ends included).
An axis named ``seed`` (allowed when the study takes a seed) is a replicate index.

The seed of a cell is derived from the base seed and the cell's coordinates alone
(:func:`cell_seed`): it does not depend on the order of the axes, the other values of the
grid, which worker ran the cell, or when.  The study function receives it as ``seed``.
"""
from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sigprop.core.checks import ArgumentError
from sigprop.core.results import CONFIG_BYTES, read_text
from sigprop.sweep import registry

__all__ = ["Spec", "cell_seed", "load"]

_TOP = ("study", "seed", "args", "axes", "description")
#: The most values of one axis, and the most cells of a grid: the grid is listed cell by cell
#: (sizes, seeds, the store's status array) before any cell runs.
MAX_AXIS_VALUES, MAX_CELLS = 1_000_000, 1_000_000
_SCALAR = (bool, int, float, str)


@dataclass(frozen=True)
class Spec:
    """A validated specification with every axis expanded to its list of values."""
    study: str
    axes: dict[str, list]
    args: dict[str, Any]
    seed: int = 0
    description: str = ""

    # --- construction -----------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Spec:
        """Validate ``data`` (the TOML layout above); one-line ``ValueError`` otherwise."""
        if not isinstance(data, Mapping):
            raise ArgumentError.about(
                "spec", f"a sweep specification must be a table (dict), got {type(data).__name__}")
        unknown = [k for k in data if k not in _TOP]
        if unknown:
            raise ArgumentError.about("spec", f"unknown key {unknown[0]!r} in the sweep specification "
                                              f"(expected {', '.join(_TOP)})")
        if "study" not in data or not isinstance(data["study"], str):
            raise ArgumentError.about("study", "the sweep specification needs study = \"NAME\" "
                                               f"(one of {', '.join(sorted(registry.studies()))})")
        name, study = registry.get(data["study"])
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ArgumentError.about("seed", f"seed must be an integer >= 0, got {seed!r}")
        args = data.get("args", {})
        if not isinstance(args, Mapping):
            raise ArgumentError.about("args", f"[args] must be a table of fixed arguments, got {args!r}")
        axes_in = data.get("axes")
        if not isinstance(axes_in, Mapping) or not axes_in:
            raise ArgumentError.about("axes", "the sweep specification needs an [axes] table with at least one axis")
        axes = {str(k): _expand(str(k), v) for k, v in axes_in.items()}
        description = data.get("description", "")
        if not isinstance(description, str):
            raise ArgumentError.about("description", f"description must be a string, got {description!r}")
        spec = cls(name, axes, dict(args), int(seed), description)
        if spec.size > MAX_CELLS:
            raise ArgumentError("axes", f"the grid has {spec.size} cells (at most {MAX_CELLS}; "
                                        f"{' x '.join(map(str, spec.shape))})", separator=": ")
        spec._check(study)
        return spec

    @classmethod
    def load(cls, source) -> Spec:
        """A :class:`Spec` from a TOML file path, a ``dict`` or a :class:`Spec`."""
        if isinstance(source, Spec):
            return source
        if isinstance(source, Mapping):
            return cls.from_dict(source)
        path = Path(source)
        if not path.exists():
            raise ArgumentError.about("path", f"sweep specification {str(path)!r} is not a file")
        text = read_text(path, "path", "a TOML sweep specification", limit=CONFIG_BYTES)
        toml = _toml()
        try:
            data = toml.loads(text)
        except toml.TOMLDecodeError as exc:
            raise ArgumentError.about("path", f"{path}: not valid TOML: {exc}") from None
        except RecursionError:                      # e.g. a 100 000-deep inline array
            raise ArgumentError.about("path", f"{path}: not a TOML sweep specification (nested too deeply "
                                              "to read)") from None
        return cls.from_dict(data)

    def _check(self, study: registry.Study) -> None:
        params = study.parameters()
        takes_seed = "seed" in params
        allowed = set(params if study.axes is None else study.axes) | ({"seed"} if takes_seed else set())
        for name in self.axes:
            if name not in allowed:
                raise ArgumentError.about("axes", f"axis {name!r} is not an axis of study {self.study!r} "
                                                  f"(axes: {', '.join(sorted(allowed))})")
        if "seed" in self.args:
            raise ArgumentError("args.seed", "a cell's seed is derived from the top-level seed and its "
                                             "coordinates; set seed = N at the top, or add a seed axis for replicates",
                                separator=": ")
        for name in self.args:
            if name not in params:
                raise ArgumentError.about("args", f"args.{name}: study {self.study!r} has no argument {name!r} "
                                                  f"(arguments: {', '.join(p for p in params if p != 'seed')})")
            if name in self.axes:
                raise ArgumentError.about("args", f"{name!r} is both a fixed argument and an axis")
        given = set(self.args) | set(self.axes) | {"seed"}
        missing = [k for k, p in params.items() if p.default is inspect.Parameter.empty and k not in given
                   and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        if missing:
            raise ArgumentError.about("args", f"study {self.study!r} needs {missing[0]!r}: give it in [args] or [axes]")

    # --- the grid ---------------------------------------------------------------
    @property
    def registered(self) -> registry.Study:
        return registry.get(self.study)[1]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.axes.values())

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def cells(self) -> Iterator[tuple[int, ...]]:
        """Every cell's index tuple, in C order."""
        return itertools.product(*(range(n) for n in self.shape))

    def coords(self, index: tuple[int, ...]) -> dict[str, Any]:
        """The axis values of the cell at ``index``.

        Parameters
        ----------
        index : tuple of int
            One index per axis.

        Returns
        -------
        dict
            Axis name -> value.
        """
        return {name: values[i] for (name, values), i in zip(self.axes.items(), index, strict=True)}

    def cell_seed(self, index: tuple[int, ...]) -> int:
        """The seed of the cell at ``index``, derived from the sweep's seed and the cell's coordinates.

        Parameters
        ----------
        index : tuple of int

        Returns
        -------
        int
        """
        return cell_seed(self.seed, self.coords(index))

    def arguments(self, index: tuple[int, ...], *,
                  defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The keyword arguments of the study function for cell ``index``.

        With ``defaults`` (the function's defaults) the result is the full set of values,
        as the dimension sizes need it.
        """
        coords = self.coords(index)
        out = dict(defaults or {})
        out.update(self.args)
        out.update({k: v for k, v in coords.items() if k != "seed"})
        if self.registered.takes_seed():
            out["seed"] = cell_seed(self.seed, coords)
        return out

    def check_cells(self) -> None:
        """Refuse, before any cell runs, a spec whose cells the study would refuse: every cell's
        arguments go through the study's ``check`` (:attr:`sigprop.sweep.registry.Study.check`; their
        types, ranges and memory), and a refusal names the spec key that holds the value (``args.T``, or
        ``axes.v`` with the cell's coordinates) with the accepted range, in one line."""
        study = self.registered
        if study.check is None:
            return
        check = registry.resolve(study.check)
        for index in self.cells():
            try:
                check(**self.arguments(index))
            except ArgumentError as exc:
                raise ArgumentError("spec", self._key(exc, index), separator=None) from None
            except TypeError as exc:           # a value of a type the check cannot even compare
                raise ArgumentError("spec", f"cell {self.coords(index)}: {exc}", separator=None) from None

    def _key(self, exc: ArgumentError, index: tuple[int, ...]) -> str:
        """The refusal ``exc`` of a cell's argument, naming the spec key that holds it."""
        name = exc.argument
        if name in self.axes:
            return f"axes.{name} = {self.coords(index)[name]!r}: {exc.detail}"
        if name in self.args:
            return f"args.{name} {exc.detail}" if exc.separator == " " else f"args.{name}: {exc.detail}"
        return f"{name} (default, in the cell {self.coords(index)}) {exc.detail}"

    def to_dict(self) -> dict[str, Any]:
        """The normalized specification (axes expanded), as stored with the results."""
        return json.loads(json.dumps(dict(study=self.study, seed=self.seed, description=self.description,
                                          args=self.args, axes=self.axes)))

    def differences(self, other: Mapping[str, Any]) -> list[str]:
        """Keys (``"axes.v"``, ``"args.T"``, ``"study"``) where ``other`` differs from this spec."""
        mine = self.to_dict()
        out = []
        for key in ("study", "seed", "description"):
            if mine.get(key) != other.get(key):
                out.append(key)
        for part in ("args", "axes"):
            a, b = mine.get(part, {}), other.get(part, {}) or {}
            for k in list(a) + [k for k in b if k not in a]:
                if a.get(k) != b.get(k):
                    out.append(f"{part}.{k}")
            if not out and list(a) != list(b):
                out.append(f"{part} (order)")
        return out


def load(source) -> Spec:
    """:meth:`Spec.load`."""
    return Spec.load(source)


def cell_seed(base: int, coords: Mapping[str, Any]) -> int:
    """The seed of the cell at ``coords`` (axis name -> value) in a sweep with base seed ``base``.

    ``numpy.random.SeedSequence([base, h(name_1, value_1), ...])`` over the axes sorted by
    name, where ``h`` is the first 8 bytes of the SHA-256 of ``"name=value"`` (``value`` as
    JSON), reduced to a non-negative 63-bit integer.
    """
    entropy = [int(base)]
    for name in sorted(coords):
        text = f"{name}={json.dumps(_plain(coords[name]))}".encode()
        entropy.append(int.from_bytes(hashlib.sha256(text).digest()[:8], "little"))
    hi, lo = np.random.SeedSequence(entropy).generate_state(2, np.uint32)
    return (int(hi) << 32 | int(lo)) & ((1 << 63) - 1)


def _plain(value):
    if isinstance(value, (np.generic,)):
        return value.item()
    return value


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
        return tomllib
    try:
        import tomli
    except ImportError:
        raise ImportError("reading TOML on Python 3.10 needs tomli: pip install 'sigprop[sweep]'") from None
    return tomli


def _expand(name: str, value) -> list:
    """An axis's values: a list, or a range table (see the module doc)."""
    where = f"axes.{name}"
    if isinstance(value, Mapping):
        values = _range(where, value)
    elif isinstance(value, (list, tuple)):
        values = list(value)
    else:
        raise ArgumentError(where, f"must be a list of values or a range table, got {value!r}")
    if not values:
        raise ArgumentError(where, "is empty")
    values = [_plain(v) for v in values]
    kinds = {str if isinstance(v, str) else bool if isinstance(v, bool)
             else float if isinstance(v, (int, float)) else None for v in values}
    if None in kinds or len(kinds) != 1:
        raise ArgumentError(where, f"must hold numbers, strings or booleans of one kind, got {values!r}")
    if kinds == {float} and any(isinstance(v, float) for v in values):
        values = [float(v) for v in values]          # 1 and 1.0 are one coordinate type
    if any(isinstance(v, float) and not np.isfinite(v) for v in values):
        raise ArgumentError(where, f"must hold finite numbers, got {values!r}")
    if len(set(values)) != len(values):
        raise ArgumentError(where, f"has repeated values: {values!r}")
    return values


def _range(where: str, table: Mapping) -> list:
    keys = set(table)
    allowed = {"start", "stop", "step", "num", "spacing"}
    if keys - allowed or not {"start", "stop"} <= keys or ("num" in keys and "step" in keys):
        raise ArgumentError(where, f"a range is {{start, stop, step}} or {{start, stop, num, spacing}}, "
                                   f"got keys {', '.join(sorted(keys))}", separator=": ")
    start, stop = table["start"], table["stop"]
    for key in ("start", "stop"):
        if isinstance(table[key], bool) or not isinstance(table[key], (int, float)):
            raise ArgumentError.about("axes", f"{where}.{key} must be a number, got {table[key]!r}")
    if "num" in table:
        num, spacing = table["num"], table.get("spacing", "linear")
        if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= MAX_AXIS_VALUES:
            raise ArgumentError.about("axes", f"{where}.num must be an integer in [1, {MAX_AXIS_VALUES}], got {num!r}")
        if spacing == "linear":
            vals = np.linspace(start, stop, num)
        elif spacing == "log":
            if start <= 0 or stop <= 0:
                raise ArgumentError(where, f"a log range needs start > 0 and stop > 0, "
                                           f"got {start!r}, {stop!r}", separator=": ")
            vals = np.geomspace(start, stop, num)
        else:
            raise ArgumentError.about("axes", f"{where}.spacing must be 'linear' or 'log', got {spacing!r}")
        return [float(np.round(x, 12)) for x in vals]
    if "spacing" in table:
        raise ArgumentError(where, "spacing goes with num, not step", separator=": ")
    step = table.get("step", 1)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step == 0:
        raise ArgumentError.about("axes", f"{where}.step must be a non-zero number, got {step!r}")
    count = int(np.ceil((stop - start) / step - 1e-9))
    if count > MAX_AXIS_VALUES:
        raise ArgumentError(where, f"the range has {count} values (at most {MAX_AXIS_VALUES})", separator=": ")
    if isinstance(start, int) and isinstance(stop, int) and isinstance(step, int):
        return list(range(start, stop, step))
    return [float(np.round(start + k * step, 12)) for k in range(max(count, 0))]
