"""What the explorer shows, computed without Bokeh (so that it is tested on its own).

A :class:`State` is the page's controls: the eigenspectrum ``(m, v)`` of a diagonal ``W``
(``d`` eigenvalues ``m + sqrt(v) z``), the length ``T``, the data model (docs/data-models.md)
and the method.  The Gaussian closed form (docs/theory.md §3) is cheap and follows every slider
move; the exact ``rho`` (chi-square decomposition), the softmax weight ``E[p_i]`` (semi-analytic,
docs/softmax.md) and the Monte Carlo band are computed on request.

Every function returns a ``dict`` of plain arrays and numbers: positions, the curve(s) and the
localization metrics of the curve (docs/theory.md (4.1)).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.core.stats import z_value
from sigprop.rho.localization import METRICS, localization_metrics
from sigprop.rho.logits import LogitModel

METHODS = ("gaussian", "exact", "softmax")
DATA = ("random-walk", "iid", "ar1", "fbm")
#: The default parameter of each data model with one (ar1: correlation length; fbm: Hurst index).
PARAMETER = {"ar1": 4.0, "fbm": 0.7}
#: The range of each data model's parameter the page offers and the server accepts.
PARAMETER_LIMITS = {"ar1": (0.5, 64.0), "fbm": (0.05, 0.95)}
#: The largest ``d`` and ``T`` the explorer computes.  The Gaussian closed form follows every
#: slider move in the server's event loop; its cost grows as ``d^3`` and as ``T`` (timings:
#: docs/performance.md, "Gradient checks and the explorer"), and these limits keep one move
#: under about a second.  The command line's ``--dim`` and ``--length`` are held to them.
MAX_D, MAX_T = 1024, 4096
#: The Monte Carlo sample counts the page offers and the server accepts.
SAMPLES = (1000, 4000, 16000, 64000)
#: The largest ``|m|`` and ``v``: beyond, every profile is flat or saturated (the page's sliders span
#: ``[-2, 2]`` and ``[0, 2]``).
MAX_M, MAX_V = 100.0, 100.0


@dataclass(frozen=True)
class State:
    """The explorer's controls; ``parameter`` is the correlation length of ``ar1`` or the Hurst
    index of ``fbm`` (ignored by the other data models)."""

    m: float = 0.5
    v: float = 0.1
    d: int = 64
    T: int = 64
    data: str = "random-walk"
    parameter: float | None = None
    method: str = "gaussian"

    def __post_init__(self) -> None:
        """Check every control as the API checks its arguments, with the explorer's bounds: a value
        from the browser is never trusted (a websocket client may send any)."""
        _checks.choice("method", self.method, METHODS)
        _checks.choice("data", self.data, DATA)
        checked = dict(m=_checks.scalar("m", self.m, minimum=-MAX_M, maximum=MAX_M),
                       v=_checks.scalar("v", self.v, minimum=0.0, maximum=MAX_V),
                       d=_checks.integer("d", self.d, 1, MAX_D), T=_checks.integer("T", self.T, 2, MAX_T))
        if self.data in PARAMETER_LIMITS and self.parameter is not None:
            low, high = PARAMETER_LIMITS[self.data]
            checked["parameter"] = _checks.scalar("parameter", self.parameter, minimum=low, maximum=high)
        for name, value in checked.items():          # as plain float and int, whatever was given
            object.__setattr__(self, name, value)

    @property
    def data_spec(self) -> str:
        """The data model as ``LogitModel`` takes it: ``random-walk``, ``iid``, ``ar1:L``, ``fbm:H``."""
        if self.data in PARAMETER:
            value = PARAMETER[self.data] if self.parameter is None else self.parameter
            return f"{self.data}:{value:g}"
        return self.data

    def model(self) -> LogitModel:
        """The validated model (a diagonal ``W`` with the Gaussian-shaped spectrum)."""
        return LogitModel.from_spectrum(self.m, self.v, self.d, self.T, data=self.data_spec)

    def config(self) -> dict:
        """The controls as a JSON-ready ``dict`` (the data model as its spec, e.g. ``ar1:4``)."""
        return dict(asdict(self), data=self.data_spec)


def metrics(rho) -> dict[str, float]:
    """The localization metrics of one profile, as floats (NaN where undefined)."""
    return {k: float(x) for k, x in localization_metrics(np.clip(rho, 0.0, 1.0), empty="nan").items()}


def gaussian(state: State) -> dict:
    """The Gaussian closed form ``rho_i`` (fast: every slider move)."""
    from sigprop.rho.theory import theory

    prof = theory(state.model(), method="gaussian")
    return dict(positions=prof.positions, rho=prof.rho, metrics=metrics(prof.rho), config=state.config())


def exact(state: State, closed: dict | None = None) -> dict:
    """The exact ``rho_i`` (chi-square), its error bound, and ``exact - gaussian`` per position."""
    from sigprop.rho.theory import theory

    model = state.model()
    prof = theory(model, method="exact")
    base = (closed or gaussian(state))["rho"]
    return dict(positions=prof.positions, rho=prof.rho, rho_error=prof.config["rho_error"],
                difference=prof.rho - base, metrics=metrics(prof.rho), config=state.config())


def softmax(state: State, points: int = 1 << 12, seed: int = 0) -> dict:
    """The softmax weight ``E[p_i]`` by the semi-analytic method, with its standard error."""
    from sigprop.rho.softmax_profile import semi_analytic

    if state.data != "random-walk":
        raise ArgumentError("data", f"softmax covers the random walk only, got {state.data_spec!r}")
    prof = semi_analytic(state.model(), quantity="weight", samples=points, seed=seed)
    return dict(positions=prof.positions, value=prof.value, se=prof.se, metrics=metrics(prof.value),
                config=dict(state.config(), points=points, seed=seed))


def monte_carlo(state: State, samples: int = 4000, seed: int = 0, confidence: float = 0.95) -> dict:
    """A Monte Carlo band: ``rho_i`` simulated (piecewise-linear attention) with its Wilson interval;
    for the softmax method, ``E[p_i]`` simulated with ``+-z se``.  ``samples``: at most the page's
    largest count (:data:`SAMPLES`)."""
    samples = _checks.integer("samples", samples, 3, max(SAMPLES))
    if state.method == "softmax":
        from sigprop.rho.softmax_profile import simulate as simulate_softmax

        if state.data != "random-walk":
            raise ArgumentError("data", f"softmax covers the random walk only, got {state.data_spec!r}")
        prof = simulate_softmax(state.model(), quantity="weight", samples=samples, seed=seed)
        z = z_value(confidence)
        centre, low, high = prof.value, prof.value - z * prof.se, prof.value + z * prof.se
    else:
        from sigprop.rho.montecarlo import simulate

        sim = simulate(state.model(), samples=samples, seed=seed, confidence=confidence)
        centre, low, high = sim.rho, sim.ci_low, sim.ci_high
    return dict(positions=np.arange(1, state.T + 1), estimate=centre, low=low, high=high,
                metrics=metrics(centre), config=dict(state.config(), samples=samples, seed=seed,
                                                     confidence=confidence))


__all__ = ["DATA", "MAX_D", "MAX_T", "METHODS", "METRICS", "PARAMETER_LIMITS", "SAMPLES", "State",
           "exact", "gaussian", "metrics", "monte_carlo", "softmax"]
