"""The statistics the ledger's decision rules use: intervals, Welch's test, Holm, Bonferroni.

* :func:`t_interval`: the Student-t interval of a mean over seeds,
  ``xbar +- t_{n-1, 1 - alpha/2} s / sqrt(n)``;
* :func:`bootstrap_interval`: the percentile bootstrap interval of a mean (seeded);
* :func:`welch`: Welch's unequal-variance t-test of ``mean(b) - mean(a)``, two-sided;
* :func:`holm`: Holm's step-down adjustment of a family of p-values
  (``p_(k) <- max_{j <= k} min(1, (m - j + 1) p_(j))``), which controls the
  family-wise error rate at the nominal level;
* :func:`bonferroni_z`: the two-sided normal quantile for ``k`` comparisons,
  ``Phi^{-1}(1 - alpha / 2k)``.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from scipy.special import ndtri

from sigprop.core import stats as _stats
from sigprop.core.checks import ArgumentError
from sigprop.core.stats import bootstrap_interval


def t_interval(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: Student-t interval of the mean of ``values`` (``n >= 2``), as floats
    (:func:`sigprop.core.stats.t_interval` on the flattened values)."""
    mean, low, high = _stats.t_interval(np.ravel(np.asarray(values, dtype=float)), confidence)
    return float(mean), float(low), float(high)


def welch(a: ArrayLike, b: ArrayLike) -> dict:
    """Welch's t-test of ``mean(b) - mean(a)``: ``diff``, ``t``, ``df``, two-sided ``p``.

    Two samples with zero variance give ``p = 0`` if their means differ, else ``1``.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2:
        raise ArgumentError.about("a", f"welch needs at least 2 values per group, got {a.size} and {b.size}")
    diff = float(b.mean() - a.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    if va + vb == 0:
        return dict(diff=diff, t=float("inf") if diff else 0.0, df=float(a.size + b.size - 2),
                    p=0.0 if diff else 1.0)
    t = diff / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    return dict(diff=diff, t=float(t), df=float(df), p=float(2 * stats.t.sf(abs(t), df)))


def holm(p: ArrayLike) -> np.ndarray:
    """Holm-adjusted p-values, in the input order."""
    p = np.asarray(p, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def bonferroni_z(alpha: float, comparisons: int) -> float:
    """Two-sided normal critical value for ``comparisons`` tests at family level ``alpha``."""
    return float(ndtri(1 - alpha / (2 * comparisons)))


__all__ = ["bonferroni_z", "bootstrap_interval", "holm", "t_interval", "welch"]
