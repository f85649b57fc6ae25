"""The sweep's view of the studies: study name -> what a sweep needs to run it.

A *study* is a function computing one cell of a grid: it takes keyword arguments (the
spec's fixed ``args`` and the cell's coordinates on every axis, plus ``seed`` when the
function has a ``seed`` parameter) and returns a mapping from output variable to an array
whose dimensions are the study's own (``()`` for a scalar, ``("position",)`` for a
profile), or a typed result (its measures).  Its entry (:class:`Study`) names:

* ``function``: the import path ``"package.module:function"`` (imported where the cell
  runs, so that a study may live in any layer of sigprop or in the user's own package);
* ``axes``: the parameters that may be swept (any other parameter may be a fixed argument;
  ``None``: every parameter);
* ``outputs``: every output variable and its dimensions;
* ``dims``: for each own dimension, its size and coordinates as functions of the cell's
  full arguments (defaults included); when the size depends on an axis (``T``), the
  store holds the largest and shorter cells are padded with NaN.

Every study of sigprop is declared once, by its descriptor (:class:`sigprop.core.study.Study`)
in its own module (``profile`` in :mod:`sigprop.rho.prediction`, ``spectral-gap`` in
:mod:`sigprop.gap.spectra`, ...): the entry is derived from it (:func:`from_descriptor`): its
cell function, axes and the sizes of its own dimensions, and as outputs its ``cell_outputs`` or
the measures of its result type.  A user's study is a descriptor, or one decorator on the
function::

    @register("my-study", axes=("T", "sigma"), outputs={"gap": ()})
    def my_study(T, sigma, seed=0): ...

A spec may also name a study by its import path (``study = "mypkg.mod:my_study"``):
importing the module runs the decorator.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sigprop.core import study as descriptors
from sigprop.core.checks import ArgumentError
from sigprop.core.study import Dim

__all__ = ["STUDIES", "Dim", "Study", "from_descriptor", "get", "register", "resolve", "studies"]


@dataclass(frozen=True)
class Study:
    """A registered study (see the module doc)."""
    function: str
    axes: tuple[str, ...] | None       # None: every parameter of the function
    outputs: Mapping[str, tuple[str, ...]]
    dims: Mapping[str, Dim] = field(default_factory=dict)
    description: str = ""
    #: ``"package.module:function"`` taking a cell's keyword arguments and refusing
    #: (``ArgumentError``) those the study would refuse, without doing its work; the sweep driver
    #: calls it for every cell before the store is created or any worker starts (``None``: no check).
    check: str | None = None

    def __post_init__(self):
        for var, dims in self.outputs.items():
            missing = [d for d in dims if d not in self.dims]
            if missing:
                raise ArgumentError.about("dims", f"output {var!r} has dimension {missing[0]!r} with no entry in dims")

    def load(self) -> Callable[..., Mapping[str, Any]]:
        """The study function (imported)."""
        return resolve(self.function)

    def parameters(self) -> dict[str, inspect.Parameter]:
        """The study function's parameters, by name.

        Returns
        -------
        dict
        """
        return dict(inspect.signature(self.load()).parameters)

    def defaults(self) -> dict[str, Any]:
        """The study function's default arguments, by name.

        Returns
        -------
        dict
        """
        return {k: p.default for k, p in self.parameters().items()
                if p.default is not inspect.Parameter.empty}

    def takes_seed(self) -> bool:
        """Whether the study function takes a ``seed``.

        Returns
        -------
        bool
        """
        return "seed" in self.parameters()


def resolve(path: str) -> Callable:
    """The study function at ``"package.module:qualname"`` (:func:`sigprop.core.study.resolve`)."""
    from sigprop.core import study

    return study.resolve(path, "study function")


#: The sweep entries by name: one for every study descriptor that declares ``cell_outputs`` (the
#: studies of sigprop whose cells return mappings: ``profile``, ``validation``, ``training``, ...,
#: each declared in its own module) and one for every function decorated with :func:`register`.
#: Read by older code; :func:`get` and :func:`studies` also derive the entries of descriptors with
#: a typed result.
STUDIES: dict[str, Study] = {}


def register(name: str, *, axes, outputs: Mapping[str, tuple[str, ...]],
             dims: Mapping[str, Dim] | None = None, description: str = ""):
    """Decorator: register the decorated function as study ``name`` (one table entry)."""
    def wrap(fn):
        STUDIES[name] = Study(f"{fn.__module__}:{fn.__qualname__}", None if axes is None else tuple(axes),
                              dict(outputs),
                              dict(dims or {}), description or (fn.__doc__ or "").strip().split("\n")[0])
        return fn
    return wrap


def from_descriptor(study: descriptors.Study) -> Study:
    """The sweep's entry of a study descriptor: its cell function (``study.cell``, else the API
    function), axes, dimensions, the measures of its result type as outputs, and its cell check."""
    return Study(study.cell or study.function, None if study.axes is None else tuple(study.axes),
                 study.outputs(), dict(study.dims), study.description, study.check)


def studies() -> dict[str, Study]:
    """Every study a sweep may run: an entry derived from every study descriptor with a typed result or
    ``cell_outputs`` (:func:`from_descriptor`), and :data:`STUDIES` (an entry of the same name wins)."""
    derived = {name: from_descriptor(study) for name, study in descriptors.studies().items() if study.sweepable()}
    return {**derived, **STUDIES}


def get(name: str) -> tuple[str, Study]:
    """``(name, study)`` for a registered name (or descriptor) or an import path ``"pkg.mod:function"``."""
    if name not in STUDIES:
        described = descriptors.get(name)
        if described is not None and described.sweepable():
            return name, from_descriptor(described)
    if name in STUDIES:
        return name, STUDIES[name]
    if ":" in name:
        fn = resolve(name)                      # importing runs the module's @register
        for key, study in STUDIES.items():
            if study.function == f"{getattr(fn, '__module__', None)}:{getattr(fn, '__qualname__', None)}":
                return key, study
        raise ArgumentError.about("study", f"study {name!r} is not registered (decorate it with "
                                           "sigprop.sweep.register)")
    raise ArgumentError.about("study", f"study must be one of {', '.join(sorted(studies()))} or "
                                       f"'package.module:function', got {name!r}")


STUDIES.update({name: from_descriptor(study) for name, study in descriptors.studies().items() if study.cell_outputs})
