"""Localization over data models (sigprop.rho.data_study): the closed-form facts the study reports."""
import numpy as np

from sigprop.rho import data_study


def test_iid_tokens_give_a_flat_profile():
    rho = data_study.profiles(0.5, 0.01, 16, 32, ("iid",))["iid"]
    assert np.allclose(rho[:-1], rho[0], rtol=1e-12)             # exchangeable tokens 1..T-1
    row = data_study.localization_over_data(0.5, (0.01,), 16, 32, ("iid",))[0]
    assert row["entropy_normalized"] > 0.99


def test_fbm_one_half_is_the_random_walk():
    a, b = data_study.localization_over_data(0.5, (0.1,), 16, 32, ("random-walk", "fbm:0.5"))
    assert all(np.isclose(a[k], b[k], rtol=1e-12) for k in ("total", "entropy_normalized", "width", "rho_T"))


def test_ar1_localizes_as_the_correlation_length_grows_to_T():
    rows = data_study.localization_over_data(0.5, (0.01,), 64, 128, [f"ar1:{L}" for L in (1, 4, 16, 64)])
    entropy = [r["entropy_normalized"] for r in rows]
    walk = data_study.localization_over_data(0.5, (0.01,), 64, 128, ("random-walk",))[0]
    assert np.all(np.diff(entropy) < 0) and entropy[0] > 0.99
    assert walk["entropy_normalized"] < entropy[-1]            # the walk is more localized still
