"""The float32 Box-Muller numbers of sigprop.core.normal.

Distribution tests use fixed seeds and tolerances from the sampling distribution of each
statistic, Bonferroni-corrected so that each test has probability at most 1e-3 of a false
alarm; the mapping from a 64-bit word to a pair is checked exactly on chosen words.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sigprop.core import normal
from tests.helpers import bonferroni_z


class _Words:
    """A stand-in bit generator returning chosen 64-bit words."""

    def __init__(self, words):
        self.words = np.asarray(words, dtype=np.uint64)

    def random_raw(self, k):
        out, self.words = self.words[:k], self.words[k:]
        return out


class _Rng:
    def __init__(self, words):
        self.bit_generator = _Words(words)


def test_each_word_gives_the_documented_pair():
    words = [0, 2 ** 64 - 1, 2 ** 63, 12345678901234567890, (1 << 24) - 1, 1 << 24]
    got = normal.box_muller(_Rng(words), 2 * len(words)).reshape(-1, 2)
    for (c, s), w in zip(got, words, strict=True):
        u = ((w >> 24) + 0.5) * 2.0 ** -40
        theta = 2 * np.pi * (w & 0xFFFFFF) / 2 ** 24
        r = np.sqrt(-2 * np.log(u))
        assert c == pytest.approx(r * np.cos(theta), rel=2e-6, abs=1e-6)
        assert s == pytest.approx(r * np.sin(theta), rel=2e-6, abs=1e-6)
    # the largest radius, from the word 0: sqrt(2 ln 2^41) = 7.54 (documented cut-off)
    assert np.hypot(*got[0].astype(float)) == pytest.approx(np.sqrt(2 * 41 * np.log(2)), rel=1e-6)
    assert np.all(np.isfinite(got))


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(0, 40), min_size=1, max_size=8), dtype=st.sampled_from([np.float32, np.float64]))
def test_the_sequence_does_not_depend_on_how_it_is_cut(cuts, dtype):
    stream = normal.Normals(np.random.default_rng(5), dtype)
    pieces = [stream.fill(np.empty(n, dtype=dtype)) for n in cuts]
    whole = normal.Normals(np.random.default_rng(5), dtype).fill(np.empty(sum(cuts), dtype=dtype))
    assert [p.size for p in pieces] == cuts
    assert all(p.dtype == np.dtype(dtype) for p in pieces)
    assert np.array_equal(np.concatenate(pieces), whole)


def test_the_numbers_are_standard_normal():
    n = 4_000_000
    z = normal.box_muller(np.random.default_rng(11), n).astype(np.float64)
    assert z.dtype == np.float64 and z.size == n
    # CDF at 13 points (out to 4 standard deviations), mean, variance: 15 comparisons
    zq = bonferroni_z(1e-3, 15)
    points = np.array([-4, -3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3.0])
    p = stats.norm.cdf(points)
    emp = (z[:, None] <= points).mean(axis=0)
    assert np.all(np.abs(emp - p) <= zq * np.sqrt(p * (1 - p) / n))
    assert abs(z.mean()) <= zq / np.sqrt(n)
    assert abs(z.var() - 1) <= zq * np.sqrt(2 / n)


def test_the_two_members_of_a_pair_are_independent():
    # cos and sin of the same angle times the same radius: uncorrelated, and so are their
    # squares (which a shared radius would correlate if it were not chi-square with 2 df)
    n = 2_000_000
    pairs = normal.box_muller(np.random.default_rng(12), 2 * n).reshape(-1, 2).astype(np.float64)
    a, b = pairs[:, 0], pairs[:, 1]
    zq = bonferroni_z(1e-3, 2)
    assert abs(np.corrcoef(a, b)[0, 1]) <= zq / np.sqrt(n)
    assert abs(np.corrcoef(a * a, b * b)[0, 1]) <= zq / np.sqrt(n)


def test_the_check_has_power():
    # the same CDF check rejects numbers with a 1% wrong scale
    n = 4_000_000
    z = 1.01 * normal.box_muller(np.random.default_rng(11), n).astype(np.float64)
    zq = bonferroni_z(1e-3, 15)
    p = stats.norm.cdf(-1.0)
    assert abs((z <= -1.0).mean() - p) > zq * np.sqrt(p * (1 - p) / n)


@settings(max_examples=40, deadline=None)
@given(before=st.integers(0, 9), skip=st.integers(0, 41), after=st.integers(1, 30))
def test_skipping_jumps_to_the_same_numbers(before, skip, after):
    # skip(n) passes over n numbers by advancing the bit generator: what follows is what drawing
    # them would have given, whatever the spare member carried from an odd piece before
    whole = normal.Normals(np.random.default_rng(5), np.float32).fill(
        np.empty(before + skip + after, dtype=np.float32))
    stream = normal.Normals(np.random.default_rng(5), np.float32)
    head = stream.fill(np.empty(before, dtype=np.float32))
    stream.skip(skip)
    tail = stream.fill(np.empty(after, dtype=np.float32))
    assert np.array_equal(head, whole[:before]) and np.array_equal(tail, whole[before + skip:])


def test_float64_numbers_cannot_be_skipped():
    with pytest.raises(ValueError, match="float32"):
        normal.Normals(np.random.default_rng(5), np.float64).skip(2)
    with pytest.raises(ValueError, match="count"):
        normal.Normals(np.random.default_rng(5), np.float32).skip(-1)
