"""Sampling statistics: binomial confidence intervals and streaming moments."""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri, stdtrit

from sigprop.core import checks as _checks
from sigprop.core.aliases import ArrayLike


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile for ``confidence`` in ``(0, 1)``."""
    confidence = float(_checks.real("confidence", confidence, positive=True, maximum=1.0, open_max=True))
    return float(ndtri(0.5 + confidence / 2))


def wilson_interval(successes: ArrayLike, n: ArrayLike,
                    confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion.

    With ``p = k/n`` and ``z`` the two-sided normal quantile::

        center = (p + z^2/(2n)) / (1 + z^2/n)
        half   = z sqrt(p(1-p)/n + z^2/(4 n^2)) / (1 + z^2/n)

    Returns ``(low, high)``, clipped to ``[0, 1]``; vectorized.
    """
    z = z_value(confidence)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError("successes must lie in [0, n] with n >= 1")
    p = k / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return np.clip(center - half, 0.0, 1.0), np.clip(center + half, 0.0, 1.0)


def t_interval(values, confidence: float = 0.95, axis: int = -1):
    """Mean of ``values`` along ``axis`` and its Student-t interval.

    With ``n`` values, sample standard deviation ``sd`` and ``t`` the two-sided
    quantile of Student's t with ``n - 1`` degrees of freedom::

        mean +- t sd / sqrt(n)

    Returns ``(mean, low, high)``; vectorized over the other axes.  Needs ``n >= 2``.
    """
    x = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    n = x.shape[-1]
    if n < 2:
        raise ValueError(f"values must hold at least 2 samples along axis {axis}, got {n}")
    confidence = float(_checks.real("confidence", confidence, positive=True, maximum=1.0, open_max=True))
    mean = x.mean(axis=-1)
    half = stdtrit(n - 1, 0.5 + confidence / 2) * x.std(axis=-1, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


class Moments:
    """Streaming mean and variance over axis 0, with their standard errors.

    Power sums are taken about a shift (the first batch's mean) so that the
    moments keep their precision however large the offset.
    """

    def __init__(self):
        self.n = 0
        self._shift: np.ndarray | None = None
        self._sums: list[np.ndarray] = []

    def add(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch, dtype=np.float64)
        if self._shift is None:
            self._shift = batch.mean(axis=0)
            self._sums = [np.zeros_like(self._shift) for _ in range(4)]
        dev = batch - self._shift
        power = dev.copy()
        for k in range(4):
            self._sums[k] += power.sum(axis=0)
            if k < 3:
                power *= dev
        self.n += batch.shape[0]

    def merge(self, other: Moments) -> None:
        """Add the samples another accumulator has seen (its sums moved to this shift).

        ``sum (x - a)^k = sum_j C(k, j) S_j (b - a)^(k - j)`` for sums ``S_j`` about ``b``;
        the shifts are batch means, so ``b - a`` is small and no precision is lost.
        """
        if other.n == 0:
            return
        if self._shift is None:
            self.n, self._shift, self._sums = other.n, other._shift.copy(), [s.copy() for s in other._sums]
            return
        delta = other._shift - self._shift
        sums = [np.full_like(delta, float(other.n)), *other._sums]          # S_0 .. S_4 about b
        for k in range(1, 5):
            self._sums[k - 1] += sum(math.comb(k, j) * sums[j] * delta ** (k - j) for j in range(k + 1))
        self.n += other.n

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(mean, variance, mean_se, variance_se)``; variance is unbiased.

        ``mean_se = sqrt(var/n)``; ``variance_se = sqrt((m4 - m2^2)/n)`` is the
        large-``n`` standard error of the sample variance.
        """
        if self.n < 2:
            raise ValueError("at least 2 samples are needed for a variance")
        assert self._shift is not None
        n = self.n
        a1, a2, a3, a4 = (s / n for s in self._sums)
        m2 = a2 - a1 ** 2
        m4 = a4 - 4 * a1 * a3 + 6 * a1 ** 2 * a2 - 3 * a1 ** 4
        m2 = np.maximum(m2, 0.0)
        variance = m2 * n / (n - 1)
        return (self._shift + a1, variance, np.sqrt(variance / n),
                np.sqrt(np.maximum(m4 - m2 ** 2, 0.0) / n))
