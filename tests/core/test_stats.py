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
