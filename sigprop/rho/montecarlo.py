"""Monte Carlo estimates of the centered logits and of ``rho_i`` (docs/theory.md §3.6).

:func:`simulate` takes the same model arguments as
:func:`sigprop.rho.theory.theory` and returns the same fields, plus their
sampling errors, so that theory and simulation compare directly.

Each sample draws a full random walk.  Since ``z_i = c x_i . (W x_T)`` and
``x_i = sum_{t <= i} eps_t``, the logits are a cumulative sum of
``eps_t . (W x_T)``: the walk is never formed explicitly, and the cost per
sample is one pass over the ``T d`` random numbers beyond drawing them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.aliases import DTypeLike
from sigprop.core.progress import progress_bar
from sigprop.core.stats import Moments, wilson_interval
from sigprop.rho import walk
from sigprop.rho.logits import as_model
from sigprop.rho.propagation import Profile


@dataclass(frozen=True, kw_only=True)
class Simulation(Profile):
    """A simulated :class:`~sigprop.propagation.Profile` with its errors.

    ``rho`` is the share of samples with ``0 < zc_i < 1``; ``ci_low``/``ci_high``
    its Wilson interval at ``confidence``; ``mean_se`` and ``variance_se`` the
    standard errors of ``mean`` and ``variance``.
    """
    ci_low: np.ndarray
    ci_high: np.ndarray
    mean_se: np.ndarray
    variance_se: np.ndarray
    samples: int = 0


def centered_logits(steps: np.ndarray, W: np.ndarray, c: float,
                    factor: np.ndarray | None = None) -> np.ndarray:
    """Centered logits ``zc`` (shape ``(b, T)``) from standard normal steps.

    ``steps`` has shape ``(b, T, d)`` with i.i.d. ``N(0, 1)`` entries; the walk's
    steps are ``eps_t = L n_t / sqrt(T)`` with ``L = factor`` (identity if None).
    """
    T = steps.shape[1]
    x_last = steps.sum(axis=1)
    if factor is not None:
        x_last = x_last @ factor.T
    y = x_last @ W.T                      # W x_T, one row per sample
    if factor is not None:
        y = y @ factor
    y *= steps.dtype.type(c / T)          # both sqrt(T)'s and the logit scale
    z = np.matmul(steps, y[:, :, None])[:, :, 0]
    np.cumsum(z, axis=1, out=z)
    z -= z.mean(axis=1, keepdims=True)
    return z


def simulate(W, T: int | None = None, *, step_cov=None, scale=None, samples: int = 100_000, seed=None,
             batch_size: int | None = None, confidence: float = 0.95,
             progress: bool = False, dtype: DTypeLike = np.float64) -> Simulation:
    """Simulate the random walk and estimate every position's statistics.

    Parameters
    ----------
    W, T, step_cov, scale
        As in :func:`sigprop.rho.theory.theory`: an array with ``T`` and the keywords, or
        a :class:`~sigprop.rho.logits.LogitModel` alone.
    samples : int
        Number of independent sequences, ``>= 2``.
    seed : int or None
        Seed of ``numpy.random.default_rng``; the same seed gives the same numbers.
    batch_size : int, optional
        Sequences per batch (default: about 2^20 random numbers per batch), which
        bounds memory whatever ``samples`` is.
    confidence : float
        Level of the Wilson intervals on ``rho``.
    progress : bool
        Show a progress bar on standard error.
    dtype : numpy.float64 (default) or numpy.float32
        Precision of the random numbers and the logits.  float32 is about 1.3 times
        faster; its rounding moves a logit by ~1e-7 relative, which changes the
        band indicator only for samples that close to 0 or 1 (a set of tiny
        probability), but a float32 run draws different numbers from the same seed.
        Moments are always accumulated in float64.
    """
    model = as_model(W, T, step_cov, scale).single("simulation")
    T, d = model.T, model.d
    samples = _checks.integer("samples", samples, 2)
    _checks.real("confidence", confidence, positive=True, maximum=1.0, open_max=True)   # before the work
    if batch_size is not None:
        batch_size = _checks.integer("batch_size", batch_size, 1)
    c = float(model.c)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise _checks.ArgumentError("dtype", f"must be float32 or float64, got {dtype}")
    W = model.W.astype(dtype)
    factor = model.step_factor
    factor = None if factor is None else factor.astype(dtype)
    moments = Moments()
    inside = np.zeros(T, dtype=np.int64)
    with progress_bar(samples, progress, unit="seq", desc="simulating") as bar:
        for steps in walk.standard_steps(samples, T, d, seed=seed, batch_size=batch_size, dtype=dtype):
            zc = centered_logits(steps, W, c, factor)
            inside += np.count_nonzero((zc > 0) & (zc < 1), axis=0)
            moments.add(zc)
            bar.update(steps.shape[0])
    mean, variance, mean_se, variance_se = moments.result()
    low, high = wilson_interval(inside, samples, confidence)
    config = dict(T=T, scale=model.scale, samples=samples, seed=seed, confidence=confidence, dtype=dtype.name)
    return Simulation(np.arange(1, T + 1), mean, variance, inside / samples, config,
                      ci_low=low, ci_high=high, mean_se=mean_se, variance_se=variance_se,
                      samples=samples)
