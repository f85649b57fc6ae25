"""The study registry: one table, study name -> what a sweep needs to run it.

A *study* is a function computing one cell of a grid: it takes keyword arguments (the
spec's fixed ``args`` and the cell's coordinates on every axis, plus ``seed`` when the
function has a ``seed`` parameter) and returns a mapping from output variable to an array
whose dimensions are the study's own (``()`` for a scalar, ``("position",)`` for a
profile).  Its entry in :data:`STUDIES` names:

* ``function``: the import path ``"package.module:function"`` (imported where the cell
  runs, so that a study may live in any layer of sigprop or in the user's own package);
* ``axes``: the parameters that may be swept (any other parameter may be a fixed argument;
  ``None``: every parameter);
* ``outputs``: every output variable and its dimensions;
* ``dims``: for each own dimension, its size and coordinates as functions of the cell's
  full arguments (defaults included); when the size depends on an axis (``T``), the
  store holds the largest and shorter cells are padded with NaN.

A study with a descriptor (:class:`sigprop.core.study.Study`, declared in its own module) needs
no entry: :func:`get` and :func:`studies` derive one from it (:func:`from_descriptor`): its cell
function, axes and the sizes of its own dimensions, and as outputs the measures of its result type.

Registering a study is one table entry, a descriptor, or one decorator on the function::

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
from sigprop.model.locater_sweep import COLUMNS
from sigprop.sweep.studies import HISTORY, LM_FINAL, LM_HISTORY, STACK_OUTPUTS

__all__ = ["STUDIES", "Dim", "Study", "from_descriptor", "get", "register", "resolve", "studies"]


@dataclass(frozen=True)
class Study:
    """A registered study (see the module doc)."""
    function: str
    axes: tuple[str, ...] | None       # None: every parameter of the function
    outputs: Mapping[str, tuple[str, ...]]
    dims: Mapping[str, Dim] = field(default_factory=dict)
    description: str = ""

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


def _arg(name: str, extra: int = 0) -> Callable[[Mapping[str, Any]], int]:
    def size(args: Mapping[str, Any]) -> int:
        return int(args[name]) + extra
    size.__qualname__ = f"size_from_{name}"
    return size


def _records(args: Mapping[str, Any]) -> int:
    steps, every = int(args["steps"]), int(args["log_every"])
    return 1 + steps // every + (1 if steps % every else 0)


POSITION = Dim(size=_arg("T"), start=1)
VARIANT = Dim(labels=("vanilla", "removed", "rescaled"))
LAYER = Dim(size=_arg("L", 1))                 # X_0 .. X_L
ATTENTION_LAYER = Dim(size=_arg("L"), start=1)  # layers 1 .. L
RECORD = Dim(size=_records)


def _lm_records(args: Mapping[str, Any]) -> int:
    steps, every = int(args["steps"]), int(args["eval_every"])
    return 1 + steps // every + (1 if steps % every else 0)


LM_RECORD = Dim(size=_lm_records)

_LOCALIZATION = ("total", "entropy_normalized", "peak", "width")
_PROFILE = {"rho": ("position",), "mean": ("position",), "variance": ("position",),
            **{f"localization_{k}": () for k in _LOCALIZATION}}
_MODEL = ("m", "v", "d", "T", "scale", "shape")
_SOFTMAX = ("rho", "weight", "sensitivity", "gradient")   # sigprop.rho.softmax_map.KINDS
_GAP = ("sigma_1", "sigma_2", "eig_1", "eig_2", "gap", "predicted_sigma_1", "predicted_eig_1",
        "predicted_eig_radius", "predicted_bulk_edge", "predicted_low_rank_sigma_2")
_FINAL = tuple(COLUMNS)                  # the LocAteR sweep's final measurements

#: The registry: study name -> :class:`Study`.  Later studies add one entry here (or use
#: :func:`register`).
STUDIES: dict[str, Study] = {
    "profile": Study(
        "sigprop.sweep.studies:profile", _MODEL + ("form", "method"), _PROFILE, {"position": POSITION},
        "closed-form profile rho_i (sigprop.theory_spectrum) with its localization metrics"),
    "validation": Study(
        "sigprop.sweep.studies:validation", _MODEL + ("samples", "basis", "confidence"),
        {"rho": ("position",), "rho_mc": ("position",), "ci_low": ("position",), "ci_high": ("position",),
         "mean": ("position",), "mean_mc": ("position",), "mean_se": ("position",),
         "variance": ("position",), "variance_mc": ("position",), "variance_se": ("position",),
         "max_abs_error": (), "max_error_position": (), "coverage": (), "mean_max_z": (),
         "variance_max_z": (), "rho_exact": ("position",), "exact_max_abs_error": (), "exact_coverage": ()},
        {"position": POSITION},
        "Monte Carlo validation: Gaussian and exact closed forms beside simulate (sigprop.rho.compare)"),
    "exact": Study(
        "sigprop.sweep.studies:exact", _MODEL,
        {"rho": ("position",), "rho_error": ("position",), "rho_gaussian": ("position",)},
        {"position": POSITION}, "exact rho (chi-square decomposition) beside the Gaussian form"),
    "saddlepoint": Study(
        "sigprop.sweep.studies:saddlepoint", _MODEL,
        {"rho": ("position",), "rho_exact": ("position",), "max_abs_error": (), "exact_error_bound": ()},
        {"position": POSITION}, "saddle-point rho beside the exact method: where it is good to 1e-3"),
    "softmax": Study(
        "sigprop.sweep.studies:softmax", _MODEL + ("samples",),
        {**{k: ("position",) for k in _SOFTMAX + tuple(f"{q}_se" for q in _SOFTMAX[1:])},
         **{f"{k}_{m}": () for k in _SOFTMAX for m in _LOCALIZATION}},
        {"position": POSITION},
        "semi-analytic softmax weight, sensitivity and gradient share beside rho, with localization"),
    "gaussian-error": Study(
        "sigprop.rho.gaussian_error:case", ("d", "v", "m", "T", "shape", "samples"),
        {k: () for k in ("gauss_vs_exact", "position", "gauss_vs_mc", "exact_vs_mc", "exact_error_bound",
                         "ci_halfwidth", "exact_coverage")},
        {}, "error of the Gaussian approximation against exact rho and Monte Carlo (one (d, v) a cell)"),
    "spectral-gap": Study(
        "sigprop.sweep.studies:spectral_gap", ("T", "sigma", "model", "d", "d_k"),
        {k: () for k in _GAP}, {},
        "spectral gap of attention at initialisation (sigprop.gap.spectra.report)"),
    "collapse-width": Study(
        "sigprop.sweep.studies:collapse_width", ("T", "sigma", "model", "d", "samples", "common", "noise"),
        {"rank_residual": ("variant",), "rank_residual_se": ("variant",), "predicted": ("variant",),
         "scale": ("variant",), "kappa_predicted": (), "kappa_measured": ()},
        {"variant": VARIANT}, "rank collapse in width, three variants (sigprop.gap.collapse.width)"),
    "collapse-depth": Study(
        "sigprop.sweep.studies:collapse_depth", ("L", "T", "sigma", "model", "d", "d_k", "values", "common",
                                                  "noise"),
        {"rank_residual": ("variant", "layer"), "scale": ("variant", "layer"), "grad_x": ("variant", "layer"),
         "kappa": ("variant", "attention_layer"), "grad_w": ("variant", "attention_layer"),
         "kappa_predicted": (), "predicted_layer_factor": ()},
        {"variant": VARIANT, "layer": LAYER, "attention_layer": ATTENTION_LAYER},
        "rank collapse and gradients through depth (sigprop.gap.collapse.depth)"),
    "nnt-stable-rank": Study(
        "sigprop.sweep.studies:nnt_stable_rank", ("config", "T", "gamma", "L"), {"stable_rank": ("layer",)},
        {"layer": LAYER}, "[NNT24]'s protocol: stable rank of X_l X_l^T, l = 0..L (sigprop.gap.stable_rank)"),
    "stack-predict": Study(
        "sigprop.sweep.studies:stack_predict", None, {k: ("layer",) for k in STACK_OUTPUTS}, {"layer": LAYER},
        "the deep-stack recursion: cosine, norm, stable rank, attention participation and entropy per layer "
        "l = 0..L (sigprop.stack.predict; alpha sets both skips)"),
    "training": Study(
        "sigprop.sweep.studies:training", None,
        {**{f"final_{k}": () for k in _FINAL}, **{f"history_{k}": ("record",) for k in HISTORY}},
        {"record": RECORD},
        "training of the one-layer model (sigprop.model.train): final values and history"),
    "locater": Study(
        "sigprop.sweep.studies:locater", None, {k: () for k in _FINAL}, {},
        "the LocAteR sweep: final measurements of a training run per (locater, seed)"),
    "lm": Study(
        "sigprop.sweep.studies:lm", None,
        {**{k: () for k in LM_FINAL}, **{f"history_{k}": ("lm_record",) for k in LM_HISTORY}},
        {"lm_record": LM_RECORD},
        "the transformer language model on real text (sigprop.lm.train): final validation measures "
        "and history"),
}


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
    function), axes, dimensions, and the measures of its result type as outputs."""
    return Study(study.cell or study.function, None if study.axes is None else tuple(study.axes),
                 study.outputs(), dict(study.dims), study.description)


def studies() -> dict[str, Study]:
    """Every study a sweep may run: :data:`STUDIES` and an entry derived from every study descriptor
    with a typed result (:func:`from_descriptor`; a table entry of the same name wins)."""
    derived = {name: from_descriptor(study) for name, study in descriptors.studies().items()
               if study.result is not None}
    return {**derived, **STUDIES}


def get(name: str) -> tuple[str, Study]:
    """``(name, study)`` for a registered name (or descriptor) or an import path ``"pkg.mod:function"``."""
    if name not in STUDIES:
        described = descriptors.get(name)
        if described is not None and described.result is not None:
            return name, from_descriptor(described)
    if name in STUDIES:
        return name, STUDIES[name]
    if ":" in name:
        fn = resolve(name)                      # importing runs the module's @register
        for key, study in STUDIES.items():
            if study.function == f"{fn.__module__}:{fn.__qualname__}":
                return key, study
        raise ArgumentError("study", f"{name!r} is not registered (decorate it with sigprop.sweep.register)")
    raise ArgumentError("study", f"must be one of {', '.join(sorted(studies()))} or 'package.module:function', "
                                 f"got {name!r}")
