"""Sampling statistics: binomial, Student-t, bootstrap and median (order-statistic) intervals, the cluster bootstrap
and the cluster-means t-interval, and streaming moments."""
from __future__ import annotations

import math

import numpy as np
from scipy.special import bdtr, ndtri, stdtrit
from scipy.stats import rankdata

from sigprop.core import checks as _checks
from sigprop.core.aliases import ArrayLike
from sigprop.core.checks import ArgumentError


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile for ``confidence`` in ``(0, 1)``."""
    confidence = _checks.scalar("confidence", confidence, positive=True, maximum=1.0, open_max=True)
    return float(ndtri(0.5 + confidence / 2))


def normal_interval(value: ArrayLike, se: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The normal interval ``value -+ z se`` at ``confidence`` (``z``: :func:`z_value`); vectorized."""
    z = z_value(confidence)
    value, se = np.asarray(value), np.asarray(se)
    return value - z * se, value + z * se


def bonferroni_z(confidence: float, tests: int) -> float:
    """The ``|z|`` bound that ``tests`` two-sided tests share at family-wise ``confidence``:
    ``z_value(1 - (1 - confidence) / tests)``."""
    tests = _checks.integer("tests", tests, 1)
    return float(z_value(1 - (1 - confidence) / tests))


def wilson_interval(successes: ArrayLike, n: ArrayLike,
                    confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion.

    With ``p = k/n`` and ``z`` the two-sided normal quantile::

        center = (p + z^2/(2n)) / (1 + z^2/n)
        half   = z sqrt(p(1-p)/n + z^2/(4 n^2)) / (1 + z^2/n)

    Returns ``(low, high)`` in ``[0, 1]``; vectorized.  The end points are exact: at
    ``k = 0`` the lower bound is exactly 0 and at ``k = n`` the upper bound exactly 1
    (the formula gives them only up to rounding, e.g. ``2e-19``).  The bound away from
    the end is computed as ``(k + z^2/2 -+ root) / (n + z^2)`` with
    ``root = z sqrt(k (n - k) / n + z^2 / 4)``, and the lower bound as
    ``k^2 / n / (k + z^2/2 + root)`` (no cancellation).
    """
    z = z_value(confidence)
    k = _checks.real("successes", successes, minimum=0.0)
    n = _checks.real("n", n, minimum=1.0)
    if np.any(k > n):
        raise _checks.ArgumentError("successes", "must lie in [0, n]")
    z2 = z * z
    root = z * np.sqrt(k * (n - k) / n + z2 / 4)
    upper_num = k + z2 / 2 + root
    low = k * k / n / upper_num                     # = (k + z^2/2 - root) / (n + z^2), rationalized
    # upper: by symmetry, 1 - low(n - k)
    m = n - k
    high = 1.0 - m * m / n / (m + z2 / 2 + root)
    low = np.where(k == 0, 0.0, np.clip(low, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(high, 0.0, 1.0))
    return low, high


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
        raise ArgumentError("values", f"must hold at least 2 samples along axis {axis}, got {n}")
    confidence = _checks.scalar("confidence", confidence, positive=True, maximum=1.0, open_max=True)
    mean = x.mean(axis=-1)
    half = stdtrit(n - 1, 0.5 + confidence / 2) * x.std(axis=-1, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def t_band(values: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the first axis of ``values`` and the half-width of its Student-t interval, NaN ignored.

    Column by column, with ``n`` its finite values and ``sd`` their sample standard deviation, the
    half-width is ``t sd / sqrt(n)`` (``t`` the two-sided quantile of Student's t with ``n - 1``
    degrees of freedom), NaN where ``n < 2`` (the band of a figure over seeds).

    Returns
    -------
    (mean, half) : tuple of ndarray
    """
    confidence = _checks.scalar("confidence", confidence, positive=True, maximum=1.0, open_max=True)
    v = np.asarray(values, dtype=float)
    n = np.isfinite(v).sum(axis=0)
    mean = np.nanmean(v, axis=0)
    sd = np.nanstd(v, axis=0, ddof=1) if v.shape[0] > 1 else np.zeros_like(mean)
    half = np.where(n > 1, stdtrit(np.maximum(n - 1, 1), 0.5 + confidence / 2) * sd / np.sqrt(np.maximum(n, 1)),
                    np.nan)
    return mean, half


def bootstrap_interval(x: ArrayLike, level: float = 0.95, *, resamples: int = 4000,
                       seed: int = 0) -> tuple[float, float, float]:
    """``(mean, low, high)``: percentile bootstrap interval of the mean of ``x`` (``resamples`` resamples
    drawn with ``seed``)."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        raise ArgumentError.about("x", f"bootstrap_interval needs at least 2 values, got {x.size}")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    low, high = np.quantile(means, [0.5 - level / 2, 0.5 + level / 2])
    return float(x.mean()), float(low), float(high)


def _balanced_clusters(groups) -> np.ndarray:
    """The member indices of each cluster, ``(G, m)``: ``groups`` labels every unit; every cluster
    must hold the same number ``m`` of units (balanced design)."""
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.size == 0:
        raise _checks.ArgumentError("groups", "must be a non-empty 1-d array of cluster labels, "
                                              f"got shape {groups.shape}")
    labels, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if counts.min() != counts.max():
        raise _checks.ArgumentError("groups", f"clusters must be of equal size (balanced), got sizes "
                                              f"{sorted(set(counts.tolist()))}")
    return np.argsort(inverse, kind="stable").reshape(labels.size, counts[0])


def spearman_rows(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Spearman's rank correlation along the last axis (vectorized over the leading axes): the
    Pearson correlation of the average ranks (ties share their mean rank), ``nan`` where a row is
    constant."""
    rx = rankdata(np.asarray(x, dtype=float), axis=-1)
    ry = rankdata(np.asarray(y, dtype=float), axis=-1)
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    den = np.sqrt(np.sum(rx * rx, axis=-1) * np.sum(ry * ry, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, np.sum(rx * ry, axis=-1) / np.where(den > 0, den, 1.0), np.nan)


def cluster_bootstrap(statistic, groups, *samples: ArrayLike, resamples: int = 2000, level: float = 0.95,
                      seed: int = 0) -> dict:
    """Percentile cluster bootstrap of ``statistic(*samples)`` over units grouped in clusters.

    Each resample draws ``G`` clusters with replacement from the ``G`` clusters of ``groups``
    (balanced: ``m`` units each) and keeps all ``m`` units of every drawn cluster, so units of one
    cluster are never split (their correlation is kept).  ``statistic`` maps arrays whose last axis
    holds the ``G m`` units to a value per leading index (it is called once on the
    ``(resamples, G m)`` stack).  The interval is the ``(1 -+ level)/2`` quantiles of the
    resampled statistic.  With few clusters the percentile interval is known to be too narrow (it
    has at most ``C(2G - 1, G)`` distinct resamples); :func:`cluster_t_interval` is the
    conservative companion for a mean.

    Returns ``dict(estimate, low, high, clusters, per_cluster, resamples, level, seed, method)``.
    """
    members = _balanced_clusters(groups)
    resamples = _checks.integer("resamples", resamples, 1)
    level = _checks.scalar("level", level, positive=True, maximum=1.0, open_max=True)
    arrays = [np.asarray(s, dtype=float) for s in samples]
    n = members.size
    for i, a in enumerate(arrays):
        if a.shape != (n,):
            raise _checks.ArgumentError("samples", f"sample {i} must hold one value per unit ({n}), "
                                                   f"got shape {a.shape}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, members.shape[0], size=(resamples, members.shape[0]))
    index = members[draws].reshape(resamples, n)
    boot = np.asarray(statistic(*(a[index] for a in arrays)), dtype=float)
    estimate = float(np.asarray(statistic(*(a[None, :] for a in arrays)), dtype=float).ravel()[0])
    low, high = np.nanquantile(boot, [0.5 - level / 2, 0.5 + level / 2])
    return dict(estimate=estimate, low=float(low), high=float(high), clusters=int(members.shape[0]),
                per_cluster=int(members.shape[1]), resamples=resamples, level=level, seed=seed,
                method="percentile cluster bootstrap (clusters resampled with replacement, all their units kept)")


def cluster_t_interval(values: ArrayLike, groups, confidence: float = 0.95) -> dict:
    """Mean of ``values`` with the Student-t interval over its cluster means (balanced clusters).

    With ``G`` clusters of ``m`` units and cluster means ``c_g``, the grand mean ``cbar`` and
    ``cbar +- t_{G-1} sd(c) / sqrt(G)``: for a balanced design this is the interval of the mean in
    the one-way random-intercept model ``y_gk = mu + a_g + e_gk`` (its standard error is
    ``sqrt(MS_between / (G m))`` with ``G - 1`` degrees of freedom).  Needs ``G >= 2``.

    Returns ``dict(mean, low, high, clusters, df, method)``.
    """
    members = _balanced_clusters(groups)
    x = np.asarray(values, dtype=float)
    if x.shape != (members.size,):
        raise _checks.ArgumentError("values", f"must hold one value per unit ({members.size}), got shape {x.shape}")
    if members.shape[0] < 2:
        raise _checks.ArgumentError("groups", f"needs at least 2 clusters, got {members.shape[0]}")
    mean, low, high = t_interval(x[members].mean(axis=1), confidence)
    return dict(mean=float(mean), low=float(low), high=float(high), clusters=int(members.shape[0]),
                df=int(members.shape[0] - 1),
                method="Student t over the cluster means (balanced random-intercept model)")


def median_rank(n: int, confidence: float = 0.95) -> int | None:
    """The rank ``k`` of the distribution-free interval ``[x_(k), x_(n+1-k)]`` for a median.

    For ``n`` independent values of any continuous distribution, the number below the median
    is Binomial(n, 1/2), so the interval between the ``k``-th smallest and the ``k``-th largest
    value covers the median with probability::

        coverage(k) = 1 - 2 P(Binomial(n, 1/2) <= k - 1)

    The largest ``k`` whose coverage is at least ``confidence`` (the shortest such interval);
    ``None`` when even ``[min, max]`` falls short (``coverage(1) = 1 - 2^(1-n)``: fewer than 6
    values at 95%).
    """
    n = int(_checks.integer("n", n, minimum=1))
    confidence = _checks.scalar("confidence", confidence, positive=True, maximum=1.0, open_max=True)
    j = np.arange((n + 1) // 2)                      # k - 1 for every candidate k
    ok = np.flatnonzero(1 - 2 * bdtr(j, n, 0.5) >= confidence * (1 - 1e-12))
    return int(ok[-1]) + 1 if ok.size else None     # coverage falls as k grows


def median_interval(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float] | None:
    """``(median, low, high)``: the median of ``values`` and its distribution-free interval.

    ``low, high = x_(k), x_(n+1-k)`` (order statistics, :func:`median_rank`): it covers the
    population median with probability at least ``confidence`` whatever the distribution, which
    suits timings (skewed, with the host's bursts).  ``None`` when there are too few values for
    that confidence (fewer than 6 at 95%).
    """
    x = np.sort(np.asarray(values, dtype=float).ravel())
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise _checks.ArgumentError("values", f"must be one or more finite numbers, got {_checks.short_repr(values)}")
    k = median_rank(x.size, confidence)
    if k is None:
        return None
    return float(np.median(x)), float(x[k - 1]), float(x[x.size - k])


class Moments:
    """Streaming mean and variance over axis 0, with their standard errors.

    Power sums are taken about a shift (the first batch's mean) so that the
    moments keep their precision however large the offset, and in units of the
    first batch's largest deviation, so that fourth powers do not overflow however
    large the values (up to the float64 range).
    """

    def __init__(self):
        self.n = 0
        self._shift: np.ndarray | None = None
        self._unit = 1.0
        self._sums: list[np.ndarray] = []

    def add(self, batch: np.ndarray) -> None:
        """Add a batch of samples (the first axis indexes samples).

        Parameters
        ----------
        batch : numpy.ndarray
            Finite values, shape ``(n, ...)``; the trailing shape is that of the first batch.

        Raises
        ------
        ValueError
            If a value is not finite.
        """
        batch = np.asarray(batch, dtype=np.float64)
        if not np.all(np.isfinite(batch)):
            raise ArgumentError("values", "must be finite (the computation overflowed)")
        if self._shift is None:
            self._shift = batch.mean(axis=0)
            self._sums = [np.zeros_like(self._shift) for _ in range(4)]
            spread = float(np.max(np.abs(batch - self._shift), initial=0.0))
            self._unit = spread if spread > 0 and np.isfinite(spread) else 1.0
        dev = batch - self._shift
        dev /= self._unit
        power = dev.copy()
        for k in range(4):
            self._sums[k] += power.sum(axis=0)
            if k < 3:
                power *= dev
        self.n += batch.shape[0]

    def merge(self, other: Moments) -> None:
        """Add the samples another accumulator has seen (its sums moved to this shift and unit).

        With ``S_j = sum ((x - b)/u_o)^j`` the other's sums about its shift ``b`` in its unit
        ``u_o``, the sums about this shift ``a`` in this unit ``u`` are
        ``sum ((x - a)/u)^k = sum_j C(k, j) S_j (u_o/u)^j ((b - a)/u)^(k - j)``; the shifts are
        batch means, so ``b - a`` is small and no precision is lost.
        """
        if other.n == 0:
            return
        if self._shift is None:
            assert other._shift is not None and other._sums is not None
            self.n, self._shift, self._unit = other.n, other._shift.copy(), other._unit
            self._sums = [s.copy() for s in other._sums]
            return
        assert other._shift is not None
        if not any(np.any(s) for s in other._sums):      # no spread: its unit is arbitrary, take ours
            ratio = 1.0
        elif not any(np.any(s) for s in self._sums):     # no spread here: our sums are 0 in any unit
            self._unit, ratio = other._unit, 1.0
        else:
            ratio = other._unit / self._unit
        delta = (other._shift - self._shift) / self._unit
        sums = [np.full_like(delta, float(other.n)), *(s * ratio ** (j + 1) for j, s in enumerate(other._sums))]
        for k in range(1, 5):
            self._sums[k - 1] += sum(math.comb(k, j) * sums[j] * delta ** (k - j) for j in range(k + 1))
        self.n += other.n

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(mean, variance, mean_se, variance_se)``; variance is unbiased.

        ``mean_se = sqrt(var/n)``; ``variance_se = sqrt((m4 - m2^2)/n)`` is the
        large-``n`` standard error of the sample variance.
        """
        if self.n < 2:
            raise ArgumentError.about("values", "at least 2 samples are needed for a variance")
        assert self._shift is not None
        n = self.n
        a1, a2, a3, a4 = (s / n for s in self._sums)
        m2 = a2 - a1 ** 2
        m4 = a4 - 4 * a1 * a3 + 6 * a1 ** 2 * a2 - 3 * a1 ** 4
        m2 = np.maximum(m2, 0.0)
        u = self._unit
        variance = m2 * n / (n - 1)
        with np.errstate(over="ignore"):
            out = (self._shift + u * a1, u * u * variance, u * np.sqrt(variance / n),
                   u * u * np.sqrt(np.maximum(m4 - m2 ** 2, 0.0) / n))
        if not all(np.all(np.isfinite(x)) for x in out):
            raise ArgumentError.about("values", "the sample moments overflow float64 (values too large)")
        return out
