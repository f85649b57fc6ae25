"""The Gaussian method at large ``d``: the ``O(d^2)`` traces for diagonal ``Sigma`` against the
two ``d x d`` products of the general path, side by side in one run.

``python -m benchmarks.gaussian [d] [repeats]`` prints the ratio (previous / now) of
:func:`sigprop.theory` at ``Sigma = I`` and at a diagonal ``Sigma`` with its distribution-free 95%
interval; BLAS is held to one thread, the two calls are timed back to back and alternated.
"""
from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np

from sigprop.core import threads
from sigprop.core.stats import median_interval
from sigprop.rho.logits import LogitModel
from sigprop.rho.theory import theory


def _previous(W, T, step_cov):
    """The general path (``Sigma`` taken as a dense matrix: two ``d x d`` products)."""
    model = LogitModel(W, T, step_cov=step_cov)
    model.__dict__["diagonal_step"] = None
    return theory(model, method="gaussian")


def _now(W, T, step_cov):
    return theory(LogitModel(W, T, step_cov=step_cov), method="gaussian")


def compare(d: int = 1024, T: int = 128, repeats: int = 11) -> dict:
    """Per step covariance (``identity``, ``diagonal``): the ``repeats`` ratios time(previous) /
    time(now), each pair timed back to back, the order alternated from pair to pair, one BLAS
    thread; their median and 95% interval, the median times, and the largest relative difference
    of the profiles' variances (the same numbers)."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((d, d)) / np.sqrt(d)
    out: dict = dict(d=d, T=T, repeats=repeats, blas_threads=1)
    with threads.blas_threads(1):
        for name, step in (("identity", None), ("diagonal", rng.uniform(0.5, 2.0, d))):
            fns = {"previous": lambda step=step: _previous(W, T, step), "now": lambda step=step: _now(W, T, step)}
            a, b = fns["previous"](), fns["now"]()                # warm-up, and the numbers compared
            times: dict[str, list[float]] = {"previous": [], "now": []}
            for r in range(repeats):
                for key in (("previous", "now") if r % 2 == 0 else ("now", "previous")):
                    t0 = time.perf_counter()
                    fns[key]()
                    times[key].append(time.perf_counter() - t0)
            ratios = [p / n for p, n in zip(times["previous"], times["now"])]
            found = median_interval(ratios)
            out[name] = dict(speedup=statistics.median(ratios),
                             interval=None if found is None else [found[1], found[2]],
                             previous_ms=1e3 * statistics.median(times["previous"]),
                             now_ms=1e3 * statistics.median(times["now"]),
                             max_relative_difference=float(np.max(np.abs(a.variance - b.variance)
                                                                  / np.abs(b.variance))))
    return out


if __name__ == "__main__":  # pragma: no cover - a measurement
    args = [int(a) for a in sys.argv[1:]]
    print(json.dumps(compare(*args[:1], repeats=args[1] if len(args) > 1 else 11), indent=1))
