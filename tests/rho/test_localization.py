"""Localization metrics of a rho profile."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sigprop import localization_metrics, theory_spectrum
from sigprop.core.checks import ArgumentError

profiles = arrays(np.float64, st.integers(2, 64), elements=st.floats(0, 1)).filter(lambda r: r.sum() > 0)


def test_single_position_and_flat_profiles():
    one = localization_metrics(np.array([0, 0, 0.7, 0]))
    assert one["total"] == 0.7 and one["entropy"] == 0 and one["peak"] == 3 and one["width"] == 0
    flat = localization_metrics(np.full(10, 0.3))
    assert np.isclose(flat["entropy_normalized"], 1) and np.isclose(flat["effective_tokens"], 10)
    assert np.isclose(flat["centroid"], 5.5) and np.isclose(flat["width"], np.sqrt((100 - 1) / 12))


@given(profiles)
def test_ranges(rho):
    out = localization_metrics(rho)
    T = rho.size
    assert -1e-12 <= out["entropy"] <= np.log(T) + 1e-12
    assert 1 <= out["peak"] <= T and 1 <= out["centroid"] <= T
    assert 0 <= out["width"] <= (T - 1) / 2 + 1e-9


@given(profiles, st.floats(0.01, 1))
def test_scaling_the_profile_changes_only_the_total(rho, k):
    a, b = localization_metrics(rho), localization_metrics(k * rho)
    assert np.isclose(b["total"], k * a["total"])
    for key in ("entropy", "centroid", "width"):
        assert np.isclose(a[key], b[key], atol=1e-9)


@given(profiles)
def test_reversal_mirrors_position_metrics(rho):
    a, b = localization_metrics(rho), localization_metrics(rho[::-1])
    assert np.isclose(a["entropy"], b["entropy"], atol=1e-12)
    assert np.isclose(a["centroid"], rho.size + 1 - b["centroid"])


def test_empty_profile_is_refused_or_undefined_not_zero():
    with pytest.raises(ArgumentError, match="^rho must have a propagating position"):
        localization_metrics(np.zeros(3))
    with pytest.raises(ArgumentError, match="^rho must have a propagating position"):
        localization_metrics(np.array([[0.1, 0.2], [0.0, 0.0]]))        # one empty row of a grid
    out = localization_metrics(np.zeros(5), empty="nan")                 # what the commands ask for
    assert out["total"] == 0 and np.isnan(out["entropy"]) and np.isnan(out["peak"])
    with pytest.raises(ArgumentError, match="^empty must be"):
        localization_metrics(np.ones(3), empty="zero")


def test_vectorized_over_a_grid():
    rho = theory_spectrum(np.array([0.5, 1.0])[:, None], np.array([0.01, 1.0]), 64, 32).rho
    out = localization_metrics(rho)
    assert out["entropy"].shape == (2, 2)


def test_bad_profiles_are_refused():
    with pytest.raises(ValueError, match="rho"):
        localization_metrics(np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="at least 2"):
        localization_metrics(np.array([0.5]))


@given(profiles)
def test_one_profile_gives_plain_floats_and_a_grid_gives_arrays(rho):
    one = localization_metrics(rho)
    assert all(type(one[key]) is float for key in one)          # not 0-d arrays, not NumPy scalars
    grid = localization_metrics(np.stack([rho, rho]))
    for key, value in grid.items():
        assert isinstance(value, np.ndarray) and value.shape == (2,)
        np.testing.assert_array_equal(value, [one[key], one[key]])
