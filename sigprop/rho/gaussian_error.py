"""How far the paper's Gaussian approximation of ``rho`` is from the truth (docs/theory.md §3.5).

For a symmetric ``W`` with eigenvalue mean ``m``, variance ``v`` and a chosen
spectrum shape, the study compares, over all positions, the Gaussian ``rho`` with
the exact one (:mod:`sigprop.exact`) and both with Monte Carlo, for a range of
dimensions ``d`` and variances ``v``.  :func:`case` is one ``(d, v)``; :func:`study`
runs the grid (a sweep specification runs the same cases: ``examples/sweeps/``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from sigprop._version import __version__
from sigprop.core.labelled import Result
from sigprop.rho.compare import compare
from sigprop.rho.montecarlo import simulate
from sigprop.rho.spectrum import make_weights
from sigprop.rho.theory import theory_spectrum


def case(d: int, v: float, *, mean: float = 0.5, T: int = 64, shape: str = "gaussian",
         samples: int = 20_000, seed=0) -> dict:
    """Largest errors over positions at one ``(d, v)``.

    ``W = make_weights(mean, v, d, shape=shape, seed=[*seed, 0])`` and the simulation
    uses ``seed=[*seed, 1]`` (``seed`` an int or a list of ints).
    """
    d, v = int(d), float(v)
    seed = [int(s) for s in np.atleast_1d(seed)]
    gauss = theory_spectrum(mean, v, d, T).rho
    ex = theory_spectrum(mean, v, d, T, method="exact", shape=shape)
    W = make_weights(mean, v, d, shape=shape, seed=[*seed, 0])
    sim = simulate(W, T, samples=samples, seed=[*seed, 1])
    exact_vs_mc = compare(ex, sim)
    gap = np.abs(gauss - ex.rho)
    return dict(d=d, v=v, gauss_vs_exact=float(gap.max()), position=int(gap.argmax()) + 1,
                gauss_vs_mc=compare(ex, sim, rho=gauss).max_abs_error,
                exact_vs_mc=exact_vs_mc.max_abs_error,
                exact_error_bound=float(ex.config["rho_error"].max()),
                ci_halfwidth=float(np.max(sim.ci_high - sim.ci_low) / 2),
                exact_coverage=exact_vs_mc.coverage)


def study(dims: Sequence[int] = (2, 4, 8, 16, 32, 64, 128, 256),
          variances: Sequence[float] = (0.01, 0.1, 1.0), *, mean: float = 0.5,
          T: int = 64, shape: str = "gaussian", samples: int = 20_000, seed: int = 0,
          progress: bool = False) -> Result:
    """Largest errors over positions for every ``(d, v)``; see the module doc."""
    jobs = [(int(d), float(v)) for d in dims for v in variances if not (d == 1 and v > 0)]
    if not jobs:
        raise ValueError("dims and variances give no valid (d, v) pair (v must be 0 when d = 1)")
    rows = [case(d, v, mean=mean, T=T, shape=shape, samples=samples, seed=[seed, k])
            for k, (d, v) in enumerate(tqdm(jobs, disable=not progress, desc="study", unit="case"))]
    return Result(dict(version=__version__,
                       config=dict(dims=list(dims), variances=list(variances), mean=mean, length=T, shape=shape,
                                   samples=samples, seed=seed), rows=rows),
                  kind="gaussian-error", keys={"rows": ("d", "v")})
