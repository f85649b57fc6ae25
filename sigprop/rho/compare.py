"""Theory against simulation: the one comparison every check in sigprop uses (docs/theory.md §3.6).

A closed form (a :class:`~sigprop.rho.propagation.Profile`) and a Monte Carlo
estimate (a :class:`~sigprop.rho.montecarlo.Simulation`, or anything with the same
fields) share their positions, so the comparison is position by position:

* ``max_abs_error``: ``max_i |rho_i - rho_mc_i|`` and the position ``i`` where it is
  largest (1-based);
* ``coverage``: the share of positions whose closed-form ``rho_i`` lies in the
  simulation's interval ``[ci_low_i, ci_high_i]`` (closed, so that a theory equal to a
  degenerate simulation, e.g. both exactly 0, is held);
* ``mean_max_z``, ``variance_max_z``: the largest ``|theory - simulation| / se`` of the
  logit moments over positions (``0`` where both agree exactly with ``se = 0``,
  ``inf`` where they differ with ``se = 0``); ``None`` when the simulation carries no
  moments.

Examples
--------
>>> import sigprop as sp
>>> W = sp.make_weights(0.5, 0.1, 8, seed=0)
>>> c = compare(sp.theory(W, 16), sp.simulate(W, 16, samples=20_000, seed=1))
>>> 0.0 <= c.coverage <= 1.0 and 1 <= c.max_error_position <= 16
True
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["Comparison", "compare", "z_scores"]


@dataclass(frozen=True)
class Comparison:
    """Summary of a theory-against-simulation comparison (see the module doc)."""

    max_abs_error: float
    max_error_position: int
    coverage: float
    mean_max_z: float | None
    variance_max_z: float | None

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain ``dict`` (for result files)."""
        return asdict(self)


def z_scores(theory: Any, estimate: Any, se: Any) -> np.ndarray:
    """``|theory - estimate| / se`` elementwise, with ``0/0 = 0`` and ``x/0 = inf``.

    Parameters
    ----------
    theory, estimate, se : array_like
        Broadcastable arrays; ``se >= 0`` is the standard error of ``estimate``.
    """
    diff = np.abs(np.asarray(theory, dtype=float) - np.asarray(estimate, dtype=float))
    se = np.asarray(se, dtype=float)
    safe = np.where(se > 0, se, 1.0)
    return np.where(se > 0, diff / safe, np.where(diff == 0, 0.0, np.inf))


def compare(theory: Any, simulation: Any, *, rho: Any = None) -> Comparison:
    """Compare a closed-form profile with a simulation, position by position.

    Parameters
    ----------
    theory : Profile
        The closed form: ``rho`` and, optionally, ``mean`` and ``variance``.
    simulation : Simulation
        The estimate: ``rho``, ``ci_low``, ``ci_high`` and, optionally, ``mean``,
        ``mean_se``, ``variance``, ``variance_se``.
    rho : array_like, optional
        Compare this ``rho`` instead of ``theory.rho`` (e.g. another method's).

    Returns
    -------
    Comparison
        ``max_abs_error``, ``max_error_position``, ``coverage``, ``mean_max_z`` and
        ``variance_max_z``, taken over every position (and any leading axes).
    """
    r = np.asarray(theory.rho if rho is None else rho, dtype=float)
    r_mc = np.asarray(simulation.rho, dtype=float)
    err = np.abs(r - r_mc)
    worst = int(np.argmax(err.reshape(-1, err.shape[-1]).max(axis=0))) if err.ndim else 0
    inside = (r >= np.asarray(simulation.ci_low)) & (r <= np.asarray(simulation.ci_high))

    def max_z(name: str) -> float | None:
        th, est = getattr(theory, name, None), getattr(simulation, name, None)
        se = getattr(simulation, name + "_se", None)
        if th is None or est is None or se is None:
            return None
        return float(np.max(z_scores(th, est, se)))

    return Comparison(max_abs_error=float(err.max()), max_error_position=worst + 1,
                      coverage=float(inside.mean()), mean_max_z=max_z("mean"),
                      variance_max_z=max_z("variance"))
