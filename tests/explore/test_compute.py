"""What the explorer shows (sigprop.explore.compute), without Bokeh: the API's numbers, checked."""
import numpy as np
import pytest

import sigprop as sp
from sigprop.core.checks import ArgumentError
from sigprop.explore import compute
from sigprop.rho.logits import LogitModel


def test_gaussian_is_the_closed_form_of_the_spectrum():
    st = compute.State(m=0.5, v=0.1, d=16, T=24)
    g = compute.gaussian(st)
    np.testing.assert_allclose(g["rho"], sp.theory_spectrum(0.5, 0.1, 16, 24, method="gaussian").rho, rtol=1e-12)
    assert g["metrics"]["peak"] == float(np.argmax(g["rho"]) + 1)


@pytest.mark.parametrize("data, spec", [("ar1", "ar1:4"), ("fbm", "fbm:0.7"), ("iid", "iid")])
def test_data_models_reach_the_model(data, spec):
    st = compute.State(d=8, T=12, data=data)
    assert st.data_spec == spec
    want = sp.theory(LogitModel.from_spectrum(0.5, 0.1, 8, 12, data=spec), method="gaussian").rho
    np.testing.assert_allclose(compute.gaussian(st)["rho"], want, rtol=1e-12)
    assert compute.State(d=8, T=12, data="ar1", parameter=2.5).data_spec == "ar1:2.5"


def test_exact_difference_and_error_bound():
    st = compute.State(d=8, T=12, method="exact")
    e = compute.exact(st)
    np.testing.assert_allclose(e["difference"], e["rho"] - compute.gaussian(st)["rho"], atol=1e-15)
    assert np.all(e["rho_error"] < 1e-6)


def test_monte_carlo_band_holds_the_exact_rho():
    """12 positions, 4000 samples: each 95% Wilson interval is checked at a Bonferroni-adjusted
    level instead, so that the test fails with probability < 1% when the band is right."""
    from tests.helpers import bonferroni_z

    st = compute.State(d=8, T=12)
    z = bonferroni_z(0.01, 12)
    mc = compute.monte_carlo(st, samples=4000, seed=3)
    rho = compute.exact(st)["rho"]
    se = np.sqrt(np.maximum(mc["estimate"] * (1 - mc["estimate"]), 1e-4) / 4000)
    assert np.all(np.abs(mc["estimate"] - rho) <= z * se)
    assert np.all(mc["low"] <= mc["estimate"]) and np.all(mc["estimate"] <= mc["high"])
    again = compute.monte_carlo(st, samples=4000, seed=3)
    np.testing.assert_array_equal(again["estimate"], mc["estimate"])          # same seed, same numbers


def test_softmax_weight_sums_to_one_and_refuses_other_data():
    st = compute.State(d=8, T=12, method="softmax")
    s = compute.softmax(st, points=256)
    assert s["value"].sum() == pytest.approx(1.0, abs=1e-9)                  # E[sum_i p_i] = 1 exactly
    with pytest.raises(ArgumentError, match="random walk only"):
        compute.softmax(compute.State(d=8, T=12, method="softmax", data="iid"))


def test_bad_controls_are_refused_with_the_name():
    with pytest.raises(ArgumentError, match="method"):
        compute.State(method="bogus")
    with pytest.raises(ArgumentError, match="data"):
        compute.State(data="bogus")
    with pytest.raises(ArgumentError, match="^d "):
        compute.gaussian(compute.State(d=0))


def test_command_line_choices_are_the_explorers():
    from sigprop.cli import explore

    assert explore.DATA == compute.DATA and explore.METHODS == compute.METHODS


def test_the_profile_legend_shows_an_entry_only_once_its_curve_has_data():
    pytest.importorskip("bokeh")
    from bokeh.document import Document

    from sigprop.explore.page import make_document
    doc = Document()
    make_document(doc, compute.State(m=0.5, d=16, T=24))
    items = {i.label["value"]: i for i in doc.get_model_by_name("profile_legend").items}
    assert {k: i.visible for k, i in items.items()} == {
        "Gaussian": True, "exact / softmax": False, "Monte Carlo (95% band)": False}
    mc = doc.get_model_by_name("monte_carlo_source")
    mc.data = dict(x=[1, 2], y=[0.1, 0.2], low=[0.0, 0.1], high=[0.2, 0.3])
    assert items["Monte Carlo (95% band)"].visible
    mc.data = dict(x=[], y=[], low=[], high=[])
    assert not items["Monte Carlo (95% band)"].visible
    band = next(r for r in doc.get_model_by_name("profile").center if type(r).__name__ == "Band")
    assert band.level == "overlay"                     # drawn over the curves, not hidden under them
