"""A closed form beside Monte Carlo: :func:`validate` and :func:`validate_softmax`, and their study.

:func:`validate` computes the closed-form profile of a :class:`~sigprop.rho.logits.LogitModel`
by one or more methods (:func:`sigprop.rho.theory.theory`), simulates the same model
(:func:`sigprop.rho.montecarlo.simulate`) and compares them position by position
(:func:`sigprop.rho.compare.compare`).  A model built by
``LogitModel.from_spectrum(m, v, d, T, basis="random", seed=...)`` carries the drawn ``W`` the
simulation uses and the spectrum the closed forms use (they depend on a symmetric ``W`` only
through its eigenvalues).  :func:`validate_softmax` does the same for a softmax quantity: the
semi-analytic method beside plain Monte Carlo, with normal intervals and a Bonferroni verdict
over positions (:mod:`sigprop.core.stats`).

The study's descriptor :data:`STUDY` (``sigprop validate``, the sweep study ``validate``) and
:data:`SOFTMAX_STUDY` are declared here.  NumPy is imported when a function runs, so that the
command line reads the descriptors without it.

Examples
--------
>>> import numpy as np
>>> from sigprop.rho.logits import LogitModel
>>> w_seed, mc_seed = np.random.SeedSequence(0).spawn(2)
>>> model = LogitModel.from_spectrum(0.5, 0.1, 16, 8, basis="random", seed=w_seed)
>>> res = validate(model, ["gaussian"], samples=2000, seed=mc_seed)
>>> res.rho.shape, res.to_xarray().rho.dims
((1, 8), ('method', 'position'))
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sigprop.core.study import Cli, Dim, Study, StudyResult, coordinate, measure, register, settings
from sigprop.rho.prediction import MODEL_AXES, MODEL_FLAGS, POSITION, SIMULATION_FLAGS

__all__ = ["SOFTMAX_STUDY", "STUDY", "SWEEP_STUDY", "SoftmaxValidation", "Validation", "cell", "softmax_cell",
           "validate", "validate_softmax"]


@dataclass(frozen=True)
class Validation(StudyResult):
    """Closed forms beside a simulation of the same model (:func:`validate`).

    Over ``method`` (the methods that ran; ``auto`` is replaced by the one it chose) and
    ``position`` (``1..T``): the closed forms' ``rho``, ``mean``, ``variance`` and the exact
    methods' error bound ``rho_error`` (NaN for the Gaussian method); the simulation's
    estimates with their intervals and standard errors; and each method's comparison with it
    (:class:`sigprop.rho.compare.Comparison`).
    """
    KIND = "Validation"
    positions: Any = coordinate("position")
    methods: Any = coordinate("method")
    rho: Any = measure("method", "position")
    mean: Any = measure("method", "position")
    variance: Any = measure("method", "position")
    rho_error: Any = measure("method", "position")
    rho_mc: Any = measure("position")
    ci_low: Any = measure("position")
    ci_high: Any = measure("position")
    mean_mc: Any = measure("position")
    mean_se: Any = measure("position")
    variance_mc: Any = measure("position")
    variance_se: Any = measure("position")
    max_abs_error: Any = measure("method")
    max_error_position: Any = measure("method")
    coverage: Any = measure("method")
    mean_max_z: Any = measure("method")
    variance_max_z: Any = measure("method")
    method_reason: str | None = None
    config: dict = settings()

    def comparison(self, k: int = 0) -> dict:
        """The ``k``-th method's comparison, as :meth:`sigprop.rho.compare.Comparison.as_dict` gives it."""
        return dict(max_abs_error=float(self.max_abs_error[k]), max_error_position=int(self.max_error_position[k]),
                    coverage=float(self.coverage[k]), mean_max_z=float(self.mean_max_z[k]),
                    variance_max_z=float(self.variance_max_z[k]))


def _closed_form(model, method: str, form: str, progress: bool):
    """The closed form of ``model``: from its spectrum when it has one, as
    :func:`~sigprop.rho.theory.theory_spectrum` computes it, else from ``W``."""
    from sigprop.core.progress import activity
    from sigprop.rho.theory import theory, theory_spectrum

    spec = model.spectrum
    with activity(f"{method} rho", progress and method in ("exact", "auto")):
        if spec is not None and model.is_walk:
            return theory_spectrum(spec["m"], spec["v"], spec["d"], model.T, scale=model.scale, form=form,
                                   method=method, shape=spec["shape"])
        return theory(model.diagonal(), form=form, method=method)


def validate(model, methods: Sequence[str] = ("auto",), *, form: str = "finite", samples: int = 100_000,
             seed=None, confidence: float = 0.95, batch_size: int | None = None, dtype: Any = "float64",
             streams: int | None = None, threads: int | None = None, progress: bool = False) -> Validation:
    """The closed form of ``model`` by each of ``methods`` beside a simulation of it.

    Parameters
    ----------
    model : LogitModel
        The model; one built by :meth:`~sigprop.rho.logits.LogitModel.from_spectrum` gives its
        closed forms from its spectrum (``form="antrp"`` then allowed) and simulates its ``W``.
    methods : sequence of str
        Methods of :func:`sigprop.rho.theory.theory` (``auto``, ``gaussian``, ``exact``,
        ``saddlepoint``), each compared with the one simulation.
    form : str
        The closed form (``finite``, ``limit``; ``antrp`` for a spectrum).
    samples, seed, confidence, batch_size, dtype, streams, threads, progress
        As in :func:`sigprop.rho.montecarlo.simulate` (``seed`` is the simulation's).

    Returns
    -------
    Validation
    """
    import numpy as np

    from sigprop.core.checks import ArgumentError
    from sigprop.rho.compare import compare
    from sigprop.rho.montecarlo import simulate
    from sigprop.rho.theory import METHODS

    methods = list(methods)
    if not methods or any(not isinstance(m, str) or m not in METHODS for m in methods):
        bad = next((m for m in methods if not isinstance(m, str) or m not in METHODS), methods)
        raise ArgumentError("methods", f"must be one or more of {', '.join(METHODS)}, got {bad!r}")
    profiles = {m: _closed_form(model, m, form, progress) for m in methods}
    profiles = {p.config["method"]: p for p in profiles.values()}      # auto: keyed by the method that ran
    try:
        sim = simulate(model, model.T, samples=samples, seed=seed, batch_size=batch_size, confidence=confidence,
                       progress=progress, dtype=np.dtype(dtype), streams=streams, threads=threads)
    except ArgumentError as exc:
        spec = model.spectrum
        if spec is None or exc.argument != "W":
            raise
        # W was drawn from (m, v): name the one that makes it large (||W||_F^2 ~ d (m^2 + v))
        raise ArgumentError("v" if spec["v"] >= spec["m"] ** 2 else "m", exc.detail) from None
    comparisons = [compare(p, sim) for p in profiles.values()]
    T = model.T
    first = next(iter(profiles.values()))
    reason = first.config["auto"]["reason"] if "auto" in first.config else None

    def stack(get) -> Any:
        return np.stack([np.asarray(get(p), dtype=float) for p in profiles.values()])

    config = dict(T=T, form=form, samples=samples, confidence=confidence, batch_size=batch_size,
                  dtype=np.dtype(dtype).name, streams=sim.config["streams"],
                  **({k: v for k, v in model.spectrum.items()} if model.spectrum is not None else {}))
    return Validation(
        positions=sim.positions, methods=tuple(profiles), rho=stack(lambda p: p.rho), mean=stack(lambda p: p.mean),
        variance=stack(lambda p: p.variance),
        rho_error=stack(lambda p: p.config.get("rho_error", np.full(T, np.nan))),
        rho_mc=sim.rho, ci_low=sim.ci_low, ci_high=sim.ci_high, mean_mc=sim.mean, mean_se=sim.mean_se,
        variance_mc=sim.variance, variance_se=sim.variance_se,
        max_abs_error=np.array([c.max_abs_error for c in comparisons]),
        max_error_position=np.array([c.max_error_position for c in comparisons]),
        coverage=np.array([c.coverage for c in comparisons]),
        mean_max_z=np.array([np.nan if c.mean_max_z is None else c.mean_max_z for c in comparisons]),
        variance_max_z=np.array([np.nan if c.variance_max_z is None else c.variance_max_z for c in comparisons]),
        method_reason=reason, config=config)


@dataclass(frozen=True)
class SoftmaxValidation(StudyResult):
    """A softmax quantity by the semi-analytic method beside Monte Carlo (:func:`validate_softmax`).

    Over ``position``: the semi-analytic ``value`` and ``se``, the Monte Carlo ``value_mc`` and
    ``se_mc`` with its normal interval ``ci_low, ci_high``; the comparison (largest error, the
    share of positions whose semi-analytic value lies in the interval), the largest ``|z|`` of
    the difference over the two standard errors combined, and the Bonferroni bound over the
    ``T`` positions it is judged against (``agree``).
    """
    KIND = "SoftmaxValidation"
    positions: Any = coordinate("position")
    value: Any = measure("position")
    se: Any = measure("position")
    value_mc: Any = measure("position")
    se_mc: Any = measure("position")
    ci_low: Any = measure("position")
    ci_high: Any = measure("position")
    max_abs_error: Any = measure()
    max_error_position: Any = measure()
    coverage: Any = measure()
    max_z: Any = measure()
    bonferroni_z: Any = measure()
    agree: Any = measure()
    config: dict = settings()


def validate_softmax(model, quantity: str = "weight", *, points: int = 1 << 16, samples: int = 100_000, seed=None,
                     confidence: float = 0.95, batch_size: int | None = None,
                     progress: bool = False) -> SoftmaxValidation:
    """A softmax quantity of ``model`` by the semi-analytic method beside plain Monte Carlo.

    Parameters
    ----------
    model : LogitModel
        One query position.
    quantity : str
        ``weight``, ``sensitivity`` or ``gradient`` (:data:`sigprop.rho.softmax_profile.QUANTITIES`).
    points : int
        Semi-analytic points (16 replicates times a power of 2).
    samples, batch_size, progress
        As in :func:`sigprop.rho.softmax_profile.simulate`.
    seed
        ``numpy.random.SeedSequence(seed).spawn(2)`` seeds the semi-analytic method and the simulation.
    confidence : float
        Level of the normal intervals, and the family-wise level of the Bonferroni bound.

    Returns
    -------
    SoftmaxValidation
    """
    import types

    import numpy as np

    from sigprop.core.checks import renamed
    from sigprop.core.stats import bonferroni_z, normal_interval, z_value
    from sigprop.rho.compare import compare, z_scores
    from sigprop.rho.softmax_profile import semi_analytic, simulate

    z_value(confidence)                                   # refused before any work
    sa_seed, mc_seed = np.random.SeedSequence(seed).spawn(2)
    with renamed({"samples": "points"}):               # this function's points are semi_analytic's samples
        sa = semi_analytic(model, quantity=quantity, samples=points, seed=sa_seed, progress=progress)
    mc = simulate(model, quantity=quantity, samples=samples, seed=mc_seed, batch_size=batch_size, progress=progress)
    low, high = normal_interval(mc.value, mc.se, confidence)
    comparison = compare(types.SimpleNamespace(rho=sa.value),
                         types.SimpleNamespace(rho=mc.value, ci_low=low, ci_high=high))
    combined = z_scores(sa.value, mc.value, np.sqrt(sa.se ** 2 + mc.se ** 2))
    bound = bonferroni_z(confidence, model.T)
    return SoftmaxValidation(
        positions=sa.positions, value=sa.value, se=sa.se, value_mc=mc.value, se_mc=mc.se, ci_low=low, ci_high=high,
        max_abs_error=comparison.max_abs_error, max_error_position=comparison.max_error_position,
        coverage=comparison.coverage, max_z=float(combined.max()), bonferroni_z=bound,
        agree=bool(combined.max() <= bound),
        config=dict(T=model.T, quantity=quantity, points=points, samples=samples, confidence=confidence,
                    batch_size=batch_size))


def cell(m: float, v: float, d: int, T: int, *, samples: int = 20_000, scale=None, shape: str = "gaussian",
         basis: str = "random", confidence: float = 0.95, seed=0) -> Validation:
    """One sweep cell: the Gaussian and exact closed forms beside Monte Carlo.

    ``w_seed, mc_seed = numpy.random.SeedSequence(seed).spawn(2)``; the model
    ``LogitModel.from_spectrum(m, v, d, T, shape=shape, scale=scale, basis=basis, seed=w_seed)``
    is validated with ``seed=mc_seed``, one stream and one thread (one process per core
    already), as ``sigprop validate --method both --seed SEED --streams 1`` does it.
    """
    import numpy as np

    from sigprop.rho.logits import LogitModel

    w_seed, mc_seed = np.random.SeedSequence(seed).spawn(2)
    model = LogitModel.from_spectrum(m, v, d, T, shape=shape, scale=scale, basis=basis, seed=w_seed)
    return validate(model, ("gaussian", "exact"), samples=samples, seed=mc_seed, confidence=confidence,
                    streams=1, threads=1)


def softmax_cell(m: float, v: float, d: int, T: int, *, quantity: str = "weight", points: int = 1 << 13,
                 samples: int = 20_000, scale=None, shape: str = "gaussian", confidence: float = 0.95,
                 seed=0) -> SoftmaxValidation:
    """One sweep cell of the softmax validation: ``validate_softmax`` of
    ``LogitModel.from_spectrum(m, v, d, T, shape=shape, scale=scale)`` with the cell's seed."""
    from sigprop.rho.logits import LogitModel

    model = LogitModel.from_spectrum(m, v, d, T, shape=shape, scale=scale)
    return validate_softmax(model, quantity, points=points, samples=samples, seed=seed, confidence=confidence)


def _positions(args) -> int:
    return int(args["T"])


_SUMMARY = ("summary: largest |rho - rho_mc| = {max_abs_error:.4g} at i = {max_error_position}; the "
            "{config.confidence:.0%} interval holds the closed form at {coverage:.1%} of positions; mean "
            "and variance deviate by at most {mean_max_z:.2f} and {variance_max_z:.2f} standard errors")
_SOFTMAX_SUMMARY = ("summary: largest |semi-analytic - MC| = {max_abs_error:.4g} at i = {max_error_position}; "
                    "the MC {config.confidence:.0%} interval holds it at {coverage:.1%} of positions; largest "
                    "|z| = {max_z:.2f} (Bonferroni bound {bonferroni_z:.2f}: agree = {agree})")

#: ``sigprop validate`` and the sweep study ``validate``.
STUDY = register(Study(
    name="validate", function="sigprop.rho.validation:validate", result="sigprop.rho.validation:Validation",
    cli=Cli("validate", help="closed form beside Monte Carlo, with intervals",
            flags={**MODEL_FLAGS, **SIMULATION_FLAGS, "methods": "--method", "points": "--points"},
            run="sigprop.cli.rho:validate", arguments="sigprop.cli.rho:validate_arguments",
            view=dict(columns=("position=positions", "rho", "rho_mc", "ci_low", "ci_high", "mean", "mean_mc",
                               "mean_se", "variance", "variance_mc", "variance_se", "value", "se", "value_mc",
                               "se_mc"),
                      show=("localization", "localization_mc", "methods"),
                      lines=("method: {method} ({method_reason})", _SUMMARY, _SOFTMAX_SUMMARY)),
            options=dict(description="Closed form beside a Monte Carlo simulation of the random walk, compared "
                                     "position by position (sigprop.rho.compare).",
                         kind="validation", formats=("table", "json", "csv"),
                         # 11 arrays of T positions, rho_error
                         output_size=lambda args: (12 * (args.length or 0), "T"))),
    axes=("m", "v", "d", "T", "scale", "shape", "samples", "basis", "confidence"),
    dims={"position": Dim(size=_positions, start=1, source="T"), "method": Dim(labels=("gaussian", "exact"))},
    cell="sigprop.rho.validation:cell",
    check="sigprop.sweep.studies:check_validation", figure="sigprop.rho.prediction:profile_figure",
    quick=dict(m=0.5, v=0.1, d=16, T=32, samples=4000),
    description="Monte Carlo validation: Gaussian and exact closed forms beside simulate (sigprop.rho.compare)"))

#: ``validate_softmax`` (``sigprop validate --attention softmax`` is its command; the sweep study
#: ``validate-softmax``).
SOFTMAX_STUDY = register(Study(
    name="validate-softmax", function="sigprop.rho.validation:validate_softmax",
    result="sigprop.rho.validation:SoftmaxValidation", dims={"position": Dim(size=_positions, start=1, source="T")},
    axes=("m", "v", "d", "T", "quantity", "points", "samples", "scale", "shape", "confidence"),
    cell="sigprop.rho.validation:softmax_cell",
    check="sigprop.sweep.studies:check_validate_softmax",
    quick=dict(m=0.5, v=0.1, d=8, T=16, points=1024, samples=4000),
    description="a softmax quantity by the semi-analytic method beside Monte Carlo, Bonferroni over positions"))

_PER_POSITION = ("rho", "rho_mc", "ci_low", "ci_high", "mean", "mean_mc", "mean_se", "variance", "variance_mc",
                 "variance_se", "rho_exact")
_SUMMARIES = ("max_abs_error", "max_error_position", "coverage", "mean_max_z", "variance_max_z",
              "exact_max_abs_error", "exact_coverage")

#: The sweep study ``validation``: :func:`cell` under flat names (the Gaussian form's ``rho``, ...,
#: the exact method's ``rho_exact``, ...; one cell is :func:`sigprop.sweep.studies.validation`).
SWEEP_STUDY = register(Study(
    name="validation", function="sigprop.rho.validation:validate", cell="sigprop.sweep.studies:validation",
    kind="Validation", axes=MODEL_AXES + ("samples", "basis", "confidence"), dims={"position": POSITION},
    cell_outputs={**{k: ("position",) for k in _PER_POSITION}, **{k: () for k in _SUMMARIES}},
    figure="sigprop.rho.prediction:profile_figure", check="sigprop.sweep.studies:check_validation",
    description="Monte Carlo validation: Gaussian and exact closed forms beside simulate (sigprop.rho.compare)"))
