"""Study descriptors: one object per study says what it computes and how every reader shows it.

A *study* is an API function whose result is a *typed result*: a dataclass deriving from
:class:`StudyResult` whose fields declare their dimensions (:func:`measure`) and which
fields hold the coordinates of a dimension (:func:`coordinate`).  Its descriptor, a
:class:`Study` declared in the study's own module and passed to :func:`register`, names

* ``function`` and ``result``: the API function and the result type (``"module:name"``);
* ``cli``: the command (:class:`Cli`): its words, the flags of the function's parameters, the
  table view; :mod:`sigprop.cli.app` builds the command from it;
* ``axes``, ``dims`` and ``cell``: what :mod:`sigprop.sweep` may sweep, the sizes of the
  result's own dimensions as functions of a cell's arguments (:class:`Dim`), and the function
  one cell calls (default ``function``); the sweep's outputs are the result type's measures, or
  ``cell_outputs`` (variable -> dimensions) for a cell that returns a mapping of arrays;
* ``figure``: ``"module:function"`` drawing a result to a file;
* ``quick``: the arguments of the quick preset.

A study whose result is still a plain :class:`~sigprop.core.labelled.Result` names its type
tag (``kind``) and the axes of its arrays (``arrays``) instead: ``to_xarray()`` reads them.

:func:`sigprop.load` reads a saved result back as its type (the type tag is the class's
``KIND``), and ``to_xarray()`` labels every array with its declared dimensions: nothing is
guessed from key names.  The module imports neither NumPy nor xarray until a result is
converted, so that the command line can read descriptors while it builds its parser.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Ramp(StudyResult):
...     KIND = "ramp"
...     positions: object = coordinate("position")
...     value: object = measure("position")
...     config: dict = settings()
>>> Ramp.outputs()
{'value': ('position',)}
"""
from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Cli", "Dim", "Study", "StudyResult", "coordinate", "get", "measure", "register",
           "resolve", "result_type", "settings", "studies"]

# --- the typed result -------------------------------------------------------------------

def measure(*dims: str, default: Any = dataclasses.MISSING) -> Any:
    """A field of a result type: an array over the named dimensions ``dims`` (none: a scalar)."""
    return field(default=default, metadata={"dims": tuple(dims)})


def coordinate(dim: str) -> Any:
    """A field of a result type holding the coordinates of the dimension ``dim``."""
    return field(metadata={"coordinate": dim})


def settings() -> Any:
    """The field of a result type holding its configuration (the attributes of ``to_xarray()``)."""
    return field(default_factory=dict, metadata={"settings": True})


class StudyResult:
    """What every typed result shares: ``to_xarray()``, ``to_json()``, ``save()``, ``from_json()``.

    A subclass is a dataclass; ``KIND`` is its type tag (default: the class name).  Fields made
    with :func:`measure` are the variables, with :func:`coordinate` the coordinates, with
    :func:`settings` the configuration; any other field (a string, a number) is an attribute.
    """

    KIND: ClassVar[str] = ""

    @classmethod
    def kind(cls) -> str:
        """The type tag of the result's files."""
        return cls.KIND or cls.__name__

    @classmethod
    def outputs(cls) -> dict[str, tuple[str, ...]]:
        """Every measure and its dimensions (the variables of ``to_xarray()`` and of a sweep)."""
        return {f.name: f.metadata["dims"] for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                if "dims" in f.metadata}

    @classmethod
    def coordinates(cls) -> dict[str, str]:
        """Dimension -> the field holding its coordinates."""
        return {f.metadata["coordinate"]: f.name for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                if "coordinate" in f.metadata}

    def _attributes(self) -> tuple[dict, dict]:
        config: dict = {}
        other: dict = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if "settings" in f.metadata:
                config.update(getattr(self, f.name) or {})
            elif "dims" not in f.metadata and "coordinate" not in f.metadata:
                other[f.name] = getattr(self, f.name)
        return config, other

    def values(self) -> dict[str, Any]:
        """Every measure's value, by name (one sweep cell's outputs)."""
        return {name: getattr(self, name) for name in self.outputs()}

    def to_xarray(self) -> Any:
        """The result as an :class:`xarray.Dataset`, every variable over its declared dimensions."""
        import numpy as np

        from sigprop.core.labelled import attributes, xarray

        xr = xarray()
        coords = {dim: (dim, np.asarray(getattr(self, name))) for dim, name in self.coordinates().items()}
        data = {name: (dims, np.asarray(getattr(self, name))) for name, dims in self.outputs().items()}
        config, other = self._attributes()
        attrs = attributes(self.kind(), config, other.pop("version", None))
        attrs.update({k: v for k, v in other.items() if isinstance(v, (str, int, float, bool))})
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def to_json(self) -> dict:
        """JSON-able data, type tag first (``sigprop.load`` reads it back)."""
        from sigprop.core.labelled import TAG, json_safe
        from sigprop.core.results import jsonable

        body = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return jsonable({TAG: self.kind(), **json_safe(body)})

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the result to ``path`` as JSON, atomically."""
        from sigprop.core.results import write_json

        write_json(path, self.to_json())

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Any:
        """The result saved as ``data`` by :meth:`to_json` (``null`` in an array reads as NaN)."""
        import numpy as np

        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name not in data:
                continue
            value = data[f.name]
            if "dims" in f.metadata and f.metadata["dims"]:
                arr = np.asarray(value)
                value = np.asarray(value, dtype=float) if arr.dtype == object else arr
            elif "coordinate" in f.metadata:
                value = np.asarray(value)
            values[f.name] = value
        cls._check_shapes(values)
        return cls(**values)

    @classmethod
    def _check_shapes(cls, values: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` when the read ``values`` do not fit the declared dimensions: a coordinate
        not one-dimensional, a measure with another number of axes than its dimensions or not numbers, or
        an axis whose length differs from its coordinate's (or, without one, from another measure's)."""
        import numpy as np

        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if "settings" in f.metadata and f.name in values and not isinstance(values[f.name], Mapping):
                raise ValueError(f"{f.name!r} is {type(values[f.name]).__name__}, not an object")
        sizes: dict[str, tuple[int, str]] = {}
        for dim, name in cls.coordinates().items():
            if name in values:
                if np.ndim(values[name]) != 1:
                    raise ValueError(f"{name!r} has shape {np.shape(values[name])}, not one coordinate per {dim}")
                sizes[dim] = (len(values[name]), name)
        for name, dims in cls.outputs().items():
            if name not in values or not dims:
                continue
            value = values[name]
            if value.ndim != len(dims) or value.dtype.kind not in "biuf":
                raise ValueError(f"{name!r} has shape {value.shape} of {value.dtype}, not numbers over "
                                 f"({', '.join(dims)})")
            for dim, n in zip(dims, value.shape, strict=True):
                if sizes.setdefault(dim, (n, name))[0] != n:
                    raise ValueError(f"{name!r} has {n} entries along {dim!r}, where {sizes[dim][1]!r} has "
                                     f"{sizes[dim][0]}")


# --- the descriptor ----------------------------------------------------------------------

@dataclass(frozen=True)
class Dim:
    """An own dimension of a study: ``size(args) -> int`` and optional fixed ``labels``.

    Coordinates are ``labels`` when given (the size is then ``len(labels)``), else
    ``start, start + 1, ...`` (``start = 1`` for positions ``1..T``); ``source`` names the argument
    the size is read from.
    """
    size: Callable[[Mapping[str, Any]], int] | None = None
    labels: tuple | None = None
    start: int = 0
    #: The argument the size is read from (``"T"``), named by a refusal of a grid too large.
    source: str | None = None

    def length(self, args: Mapping[str, Any]) -> int:
        """The dimension's length for the study's arguments.

        Parameters
        ----------
        args : mapping
            The cell's arguments.

        Returns
        -------
        int

        Raises
        ------
        ValueError
            If the dimension has neither labels nor a size.
        """
        if self.labels is not None:
            return len(self.labels)
        if self.size is None:
            from sigprop.core.checks import ArgumentError  # here: `sigprop --help` imports no NumPy
            raise ArgumentError.about("size", "a Dim needs size or labels")
        return int(self.size(args))

    def coords(self, n: int) -> list:
        """The coordinate labels of a dimension of length ``n``.

        Parameters
        ----------
        n : int

        Returns
        -------
        list
        """
        return list(self.labels) if self.labels is not None else list(range(self.start, self.start + n))


@dataclass(frozen=True)
class Cli:
    """The command of a study.

    Attributes
    ----------
    command
        Its words (``"validate"``, ``"lm train"``).
    help
        One line for ``sigprop --help``.
    flags
        API parameter -> flag.  Without ``arguments``, the command offers exactly these
        parameters, typed by the function's defaults, and calls the function with them.
    view
        Keywords of :class:`sigprop.cli.render.View` (the table).
    run, arguments
        ``"module:function"`` of a command of its own: ``run(args) -> dict`` and
        ``arguments(parser)`` (a thin adapter of the API function).
    options
        Further fields of :class:`sigprop.cli.app.Command` (``formats``, ``output_size``, ...).
    """
    command: str
    help: str = ""
    flags: Mapping[str, str] = field(default_factory=dict)
    view: Mapping[str, Any] = field(default_factory=dict)
    run: str | None = None
    arguments: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Study:
    """A study's descriptor (see the module doc).

    A study whose result is still a :class:`~sigprop.core.labelled.Result` (a ``dict``) names its
    type tag ``kind`` instead of a ``result`` type, and ``arrays``: the axes of the arrays under
    each field (``{"records_losses": ("step",)}``), which ``to_xarray()`` uses as declared.
    A study whose sweep cell returns a mapping of arrays declares them as ``cell_outputs``
    (variable -> its dimensions, each one of ``dims``), and ``check``: the function that refuses a
    cell's arguments before any cell runs.
    """
    name: str
    function: str
    result: str | None = None
    cli: Cli | None = None
    axes: tuple[str, ...] | None = None
    dims: Mapping[str, Dim] = field(default_factory=dict)
    cell: str | None = None
    figure: str | None = None
    quick: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    kind: str | None = None
    arrays: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cell_outputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: ``"package.module:function"`` taking a sweep cell's keyword arguments and refusing
    #: (``ArgumentError``) those its cell would refuse, without the work; a sweep calls it for every
    #: cell in the driver, before the store or any worker (``None``: the cells check themselves).
    check: str | None = None

    def result_type(self) -> type[StudyResult]:
        """The result type (imported)."""
        if self.result is None:
            from sigprop.core.checks import ArgumentError  # here: `sigprop --help` imports no NumPy
            raise ArgumentError.about("study", f"study {self.name!r} has no typed result (its result is a "
                                               f"{self.kind!r} Result)")
        return resolve(self.result)

    def tag(self) -> str | None:
        """The type tag of the study's result files."""
        return self.kind if self.result is None else self.result_type().kind()

    def outputs(self) -> dict[str, tuple[str, ...]]:
        """The sweep's outputs and their dimensions: ``cell_outputs`` if declared, else the result type's measures."""
        if self.cell_outputs:
            return {name: tuple(dims) for name, dims in self.cell_outputs.items()}
        return self.result_type().outputs()

    def sweepable(self) -> bool:
        """Whether a sweep may run the study (it declares ``cell_outputs`` or a typed result)."""
        return bool(self.cell_outputs) or self.result is not None

    def api(self) -> Callable[..., Any]:
        """The API function (imported)."""
        return resolve(self.function)


_STUDIES: dict[str, Study] = {}

#: The modules of sigprop that declare descriptors (imported by the readers when first asked;
#: each keeps NumPy out of its module-level imports, so that ``sigprop --help`` stays light).
MODULES = ("sigprop.rho.prediction", "sigprop.rho.validation", "sigprop.rho.softmax_profile",
           "sigprop.rho.gaussian_error", "sigprop.model.train", "sigprop.model.locater_sweep",
           "sigprop.gap.spectra", "sigprop.gap.collapse", "sigprop.gap.stable_rank", "sigprop.gap.trainability",
           "sigprop.stack.recursion", "sigprop.lm.train")
_loaded: set[str] = set()


def _load() -> None:
    for module in MODULES:
        if module not in _loaded:
            _loaded.add(module)
            importlib.import_module(module)


def register(study: Study) -> Study:
    """Add ``study`` to the descriptors (a later one of the same name replaces it); returns it."""
    if not isinstance(study, Study):
        raise TypeError(f"register takes a Study, got {type(study).__name__}")
    _STUDIES[study.name] = study
    if study.result is None and study.kind is not None and study.arrays:
        from sigprop.core.labelled import declare  # NumPy: only for a study that declares arrays

        declare(study.kind, study.arrays)
    return study


def studies(load: bool = True) -> dict[str, Study]:
    """Every registered descriptor, by name (``load=False``: without importing :data:`MODULES` first)."""
    if load:
        _load()
    return dict(_STUDIES)


def get(name: str) -> Study | None:
    """The descriptor named ``name``, or None."""
    _load()
    return _STUDIES.get(name)


def result_type(kind: str) -> type[StudyResult] | None:
    """The registered result type whose type tag is ``kind``, or None."""
    _load()
    for study in _STUDIES.values():
        if study.result is not None and study.result_type().kind() == kind:
            return study.result_type()
    return None


def resolve(path: str, what: str = "") -> Any:
    """The object at ``"package.module:qualname"``; ``what`` names it in a refusal (e.g. ``"study function"``)."""
    def refusal(message: str) -> Exception:
        from sigprop.core.checks import ArgumentError  # here: `sigprop --help` imports no NumPy
        return ArgumentError.about("path", message)

    module, _, name = path.partition(":")
    named = f"{what} {path!r}" if what else repr(path)
    if not module or not name or module.startswith("."):
        raise refusal(f"{what + ' ' if what else ''}must be 'package.module:name' (a full module name), got {path!r}")
    try:
        obj: Any = importlib.import_module(module)
    except ImportError as exc:
        raise refusal(f"cannot import {module!r} for {named}: {exc}") from None
    except SystemExit as exc:               # the module ends the process when imported
        raise refusal(f"cannot import {module!r} for {named}: importing it exits (SystemExit: "
                      f"{' '.join(str(exc.code).split())[:100]})") from None
    except Exception as exc:                # noqa: BLE001 - the module itself fails to run (SyntaxError, ...)
        raise refusal(f"cannot import {module!r} for {named}: {type(exc).__name__}: "
                      f"{' '.join(str(exc).split())[:200]}") from None
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise refusal(f"{module!r} has no {name!r} ({named})") from None
    if what.endswith("function") and not callable(obj):
        raise refusal(f"{named} is {type(obj).__name__}, not a function")
    return obj
