"""The median's distribution-free interval: its rank, its coverage (exact and simulated)."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from sigprop.core.stats import median_interval, median_rank


def coverage(n: int, k: int) -> float:
    """P(x_(k) <= median <= x_(n+1-k)) for n continuous values (scipy's binomial)."""
    return 1 - 2 * float(stats.binom.cdf(k - 1, n, 0.5))


@pytest.mark.parametrize("n, k", [(5, None), (6, 1), (7, 1), (9, 2), (10, 2), (15, 4), (45, 16)])
def test_median_rank_at_95_percent(n, k):
    assert median_rank(n) == k


@given(st.integers(1, 300), st.floats(0.5, 0.999))
def test_median_rank_is_the_shortest_interval_with_the_coverage(n, confidence):
    k = median_rank(n, confidence)
    if k is None:
        assert coverage(n, 1) < confidence
        assert 1 - 2 ** (1 - n) < confidence
    else:
        assert 1 <= k <= (n + 1) // 2
        assert coverage(n, k) >= confidence - 1e-12
        assert k == (n + 1) // 2 or coverage(n, k + 1) < confidence + 1e-12


@given(st.lists(st.floats(-1e6, 1e6), min_size=6, max_size=60), st.floats(0.01, 100), st.randoms())
def test_median_interval_orders_and_scales(values, scale, random):
    med, low, high = median_interval(values)
    assert low <= med <= high
    assert min(values) <= low and high <= max(values)
    shuffled = list(values)
    random.shuffle(shuffled)
    assert median_interval(shuffled) == (med, low, high)
    scaled = median_interval([scale * v for v in values])
    np.testing.assert_allclose(scaled, (scale * med, scale * low, scale * high), rtol=1e-12, atol=1e-300)


def test_median_interval_needs_enough_finite_values():
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None
    assert median_interval([1.0] * 5, confidence=0.9) == (1.0, 1.0, 1.0)
    for bad in ([], [1.0, float("nan")] * 4):
        with pytest.raises(ValueError, match="values"):
            median_interval(bad)
    with pytest.raises(ValueError, match="confidence"):
        median_interval([1.0] * 8, confidence=1.0)


def test_median_interval_covers_as_stated():
    # 20 000 samples of 15 exponential values (median log 2): the interval [x_(4), x_(12)]
    # covers log 2 with probability exactly 1 - 2 P(Bin(15, 1/2) <= 3) = 0.96484.  The observed
    # share must lie within 4.4 standard errors of it (two-sided 1e-5).
    n, reps = 15, 20_000
    x = np.random.default_rng(7).exponential(size=(reps, n))
    k = median_rank(n)
    lows, highs = zip(*(median_interval(row)[1:] for row in x[:2000]))
    xs = np.sort(x, axis=1)
    np.testing.assert_array_equal(lows, xs[:2000, k - 1])
    np.testing.assert_array_equal(highs, xs[:2000, n - k])
    covered = np.mean((xs[:, k - 1] <= math.log(2)) & (math.log(2) <= xs[:, n - k]))
    p = coverage(n, k)
    assert abs(p - 0.96484) < 1e-5
    assert abs(covered - p) < 4.4 * math.sqrt(p * (1 - p) / reps), covered


# --- the cluster bootstrap and the cluster-means t-interval ------------------------------------

def test_cluster_bootstrap_on_two_clusters_equals_the_hand_computation():
    """Two clusters A, B of 3 units: a resample is AA, AB, BA or BB (1/4 each), so the resampled
    mean is mean(A), the grand mean or mean(B) with probabilities 1/4, 1/2, 1/4; the 2.5% and 97.5%
    quantiles of 2000 resamples are mean(A) and mean(B) unless fewer than 50 of 2000 draws are AA
    (a Binomial(2000, 1/4) below 50: probability < 1e-100)."""
    from sigprop.core.stats import cluster_bootstrap
    values = np.array([1.0, 2.0, 3.0, 10.0, 11.0, 12.0])
    groups = np.array([0, 0, 0, 1, 1, 1])
    out = cluster_bootstrap(lambda x: x.mean(axis=-1), groups, values, resamples=2000, seed=3)
    assert out["estimate"] == pytest.approx(6.5) and out["clusters"] == 2 and out["per_cluster"] == 3
    assert out["low"] == pytest.approx(2.0) and out["high"] == pytest.approx(11.0)
    # units are never split: every resampled mean is one of the three values
    rng = np.random.default_rng(3)
    draws = rng.integers(0, 2, size=(2000, 2))
    counts = np.bincount(draws.sum(axis=1), minlength=3) / 2000
    assert abs(counts[1] - 0.5) < 4 * np.sqrt(0.25 / 2000)


def test_cluster_bootstrap_covers_clustered_data_where_the_unit_bootstrap_does_not():
    """y_gk = a_g + e_gk, 40 clusters of 5, sd(a) = sd(e) = 1 (intra-cluster correlation 1/2),
    true mean 0, 300 data sets (seeds 0..299), 400 resamples each.  The cluster bootstrap's 95%
    interval covers 0 in a share within 3 binomial standard deviations (0.038) of 0.95, less the
    percentile interval's known shortfall at 40 clusters (about 0.006): at least 0.90.  Resampling
    units as if independent understates the standard error by the design effect
    sqrt(1 + 4/2) = 1.73, covering about P(|Z| < 1.13) = 0.74: below 0.85."""
    from sigprop.core.stats import cluster_bootstrap
    groups = np.repeat(np.arange(40), 5)
    cluster_hits = unit_hits = 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        y = np.repeat(rng.standard_normal(40), 5) + rng.standard_normal(200)
        out = cluster_bootstrap(lambda x: x.mean(axis=-1), groups, y, resamples=400, seed=seed)
        cluster_hits += out["low"] <= 0.0 <= out["high"]
        unit = cluster_bootstrap(lambda x: x.mean(axis=-1), np.arange(200), y, resamples=400, seed=seed)
        unit_hits += unit["low"] <= 0.0 <= unit["high"]
    assert 0.90 <= cluster_hits / 300 <= 0.99
    assert unit_hits / 300 < 0.85


def test_cluster_t_interval_is_the_t_interval_of_the_cluster_means():
    from sigprop.core.stats import cluster_t_interval
    values = np.array([1.0, 3.0, 2.0, 6.0, 4.0, 5.0])
    groups = np.array(["b", "a", "a", "c", "b", "c"])          # means: a 2.5, b 2.5, c 5.5
    means = np.array([2.5, 2.5, 5.5])
    half = stats.t.ppf(0.975, 2) * means.std(ddof=1) / math.sqrt(3)
    out = cluster_t_interval(values, groups)
    assert out["mean"] == pytest.approx(3.5) and out["df"] == 2
    assert out["low"] == pytest.approx(3.5 - half) and out["high"] == pytest.approx(3.5 + half)


def test_spearman_rows_equals_scipy_with_ties():
    from sigprop.core.stats import spearman_rows
    rng = np.random.default_rng(1)
    x = rng.integers(0, 5, size=(4, 30)).astype(float)            # many ties
    y = x + rng.integers(0, 3, size=(4, 30))
    got = spearman_rows(x, y)
    for i in range(4):
        assert got[i] == pytest.approx(stats.spearmanr(x[i], y[i]).statistic, abs=1e-12)


def test_cluster_statistics_refuse_bad_input():
    from sigprop.core.checks import ArgumentError
    from sigprop.core.stats import cluster_bootstrap, cluster_t_interval
    mean = lambda x: x.mean(axis=-1)  # noqa: E731
    with pytest.raises(ArgumentError, match="groups clusters must be of equal size"):
        cluster_bootstrap(mean, [0, 0, 1], [1.0, 2.0, 3.0])
    with pytest.raises(ArgumentError, match="samples sample 0 must hold one value per unit"):
        cluster_bootstrap(mean, [0, 0, 1, 1], [1.0, 2.0, 3.0])
    with pytest.raises(ArgumentError, match="groups needs at least 2 clusters"):
        cluster_t_interval([1.0, 2.0], [0, 0])
