"""Where the spectral-gap predictions hold: tests on a small grid, several sigma, fixed seeds.

Every verdict below is the module's rule: the 95% Student-t interval of the mean ratio
measured/predicted over 5 seeds inside [0.95, 1.05] (holds) or outside it (fails).  The
tolerances are those intervals; no number here was widened to pass.
"""
import numpy as np
import pytest
import sympy as sp

from derivations import spectral_gap as D
from sigprop.core.stats import t_interval
from sigprop.gap import validity as V

SIGMAS = (0.25, 0.5, 1.0, 1.5)
LENGTHS = (64, 128, 256)


@pytest.fixture(scope="module")
def raw():
    return V.measure(SIGMAS, LENGTHS, seeds=5, seed=0)


@pytest.fixture(scope="module")
def region(raw):
    return V.region(raw)


def _cell(region, key, sigma, T):
    i, j = SIGMAS.index(sigma), LENGTHS.index(T)
    return {f: region[key][f][i][j] for f in ("mean", "low", "high", "verdict") if f in region[key]}


@pytest.mark.parametrize("sigma", [0.25, 0.5])
def test_small_sigma_predictions_hold_at_T_256(region, sigma):
    for key in ("sigma_1", "sigma_2", "kappa"):
        assert _cell(region, key, sigma, 256)["verdict"] == "holds", key
    assert region["sigma_2"]["from_length"][SIGMAS.index(sigma)] in (128, 64)


def test_sigma_1_holds_on_the_whole_grid(region):
    assert all(v == "holds" for row in region["sigma_1"]["verdict"] for v in row)


def test_sigma_2_fails_at_large_sigma_and_the_largest_entry_explains_it(raw, region):
    # sigma = 1.5, T = 256: sigma_2 is far above the edge 2 s / sqrt(T) ...
    c = _cell(region, "sigma_2", 1.5, 256)
    assert c["verdict"] == "fails" and c["low"] > 1.05
    # ... and in every seed the one-spike estimate b (theta + 1/theta), from the largest entry
    # of A - 1 1^T / T, is closer to it than the edge (one-sided sign test, p = 2^-5 = 0.031)
    i, j = SIGMAS.index(1.5), LENGTHS.index(256)
    assert region["spike_closer_count"][i][j] == 5
    # where the largest entry is small against the edge (theta < 1 in every seed) the edge holds
    theta = 2 * np.asarray(raw["measured"]["largest_entry"][SIGMAS.index(0.5)][j]) / raw["predicted"]["sigma_2"][
        SIGMAS.index(0.5)][j]
    assert np.all(theta < 1) and _cell(region, "sigma_2", 0.5, 256)["verdict"] == "holds"


def test_kappa_follows_the_derived_first_correction(region):
    # kappa / prediction = 1 / sqrt(1 - c/T), c = e^{s2}(2 e^{s2} - 1): inside the measured interval
    # wherever c/T < 0.1 (the first order is then accurate); at sigma = 1.5 the leading order fails
    for i, sigma in enumerate(SIGMAS):
        for j, T in enumerate(LENGTHS):
            corr = region["bulk_correction"][i][j]
            if corr < 0.1:
                c = _cell(region, "kappa", sigma, T)
                assert c["low"] <= 1 / np.sqrt(1 - corr) <= c["high"], (sigma, T)
    assert all(v == "fails" for v in region["kappa"]["verdict"][SIGMAS.index(1.5)])


def test_gap_widens_like_inverse_square_root(raw):
    # at sigma = 0.5 the bulk edge and radius fall like T^{-1/2}: slope of the seed-mean in log-log
    i = SIGMAS.index(0.5)
    for key in ("sigma_2", "eig_2"):
        mean = np.asarray(raw["measured"][key])[i].mean(axis=-1)
        slope = np.polyfit(np.log(LENGTHS), np.log(mean), 1)[0]
        assert abs(slope + 0.5) < 0.05, key
    gap = np.asarray(raw["measured"]["sigma_1"])[i] - np.asarray(raw["measured"]["sigma_2"])[i]
    assert np.all(np.diff(gap.mean(axis=-1)) > 0)


def test_same_seed_same_numbers_and_common_random_numbers():
    a = V.measure((0.5, 1.0), (16,), seeds=2, seed=3)
    b = V.measure((0.5, 1.0), (16,), seeds=2, seed=3)
    c = V.measure((0.5, 1.0), (16,), seeds=2, seed=4)
    assert all(np.array_equal(a["measured"][k], b["measured"][k]) for k in V.QUANTITIES)
    assert not np.array_equal(a["measured"]["sigma_2"], c["measured"]["sigma_2"])


def test_region_rule_on_synthetic_ratios():
    # the rule flips with the numbers: inside, outside, straddling the band
    cfg = dict(model="markov", sigmas=[1.0], lengths=[8, 16, 32], seeds=5, seed=0)
    ratios = np.array([[[1.0, 1.01, 0.99, 1.0, 1.0], [1.2, 1.21, 1.19, 1.2, 1.2], [1.0, 1.1, 0.9, 1.05, 0.95]]])
    meas = {k: ratios.copy() for k in V.QUANTITIES}
    meas["largest_entry"] = np.full_like(ratios, 0.01)
    pred = {k: np.ones((1, 3)) for k in V.QUANTITIES}
    reg = V.region(dict(config=cfg, measured=meas, predicted=pred))
    assert reg["sigma_2"]["verdict"] == [["holds", "fails", "undecided"]]
    assert reg["sigma_2"]["from_length"] == [None]
    ratios[0, 1] = 1.0
    ratios[0, 2] = [1.0, 1.01, 0.99, 1.0, 1.0]
    reg = V.region(dict(config=cfg, measured={**meas, "sigma_2": ratios}, predicted=pred))
    assert reg["sigma_2"]["from_length"] == [8]


def test_bulk_correction_is_the_derived_one():
    a0, a1 = D.entry_variance_expansion()
    assert sp.simplify(a0 - (sp.exp(D.sigma ** 2) - 1)) == 0
    rel = sp.lambdify(D.sigma, -a1 / a0)
    for sigma in (0.1, 0.5, 1.0, 1.7):
        assert np.isclose(V.bulk_correction(1, sigma), rel(sigma), rtol=1e-12)


def test_t_interval_known_values():
    # t_{0.975, 4} = 2.776445 (tables); sd of 1..5 is sqrt(2.5)
    mean, low, high = t_interval([1, 2, 3, 4, 5])
    assert mean == 3 and np.isclose(high - mean, 2.776445 * np.sqrt(2.5 / 5), rtol=1e-6)
    assert np.isclose(low, 6 - high)
    with pytest.raises(ValueError, match="at least 2"):
        t_interval([1.0])


def test_bad_grids_are_refused():
    with pytest.raises(ValueError, match="sigmas"):
        V.measure((0.0,), (16,))
    with pytest.raises(ValueError, match="lengths"):
        V.measure((0.5,), (1,))
    with pytest.raises(ValueError, match="seeds"):
        V.measure((0.5,), (16,), seeds=1)
