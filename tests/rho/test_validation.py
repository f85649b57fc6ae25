"""sigprop.rho.validation: the closed forms beside a simulation of the same model, as one API call,
and ``LogitModel.from_spectrum(..., basis="random", seed=...)``, whose drawn W belongs to the model."""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from sigprop.core.checks import ArgumentError
from sigprop.core.stats import bonferroni_z, normal_interval, z_value
from sigprop.rho.logits import LogitModel
from sigprop.rho.spectrum import make_weights
from sigprop.rho.theory import theory_spectrum
from sigprop.rho.validation import validate, validate_softmax


def test_a_random_basis_keeps_the_spectrum_and_draws_w_with_its_seed():
    m, v, d = 0.5, 0.3, 6
    model = LogitModel.from_spectrum(m, v, d, 8, basis="random", seed=3)
    np.testing.assert_array_equal(model.W, make_weights(m, v, d, basis="random", seed=3))
    np.testing.assert_allclose(np.linalg.eigvalsh(model.W), np.sort(model._symmetric_spectrum), atol=1e-12)
    assert model.spectrum["basis"] == "random" and model.diagonal().spectrum["basis"] == "identity"
    other = LogitModel.from_spectrum(m, v, d, 8, basis="random", seed=4)
    assert not np.allclose(model.W, other.W)
    with pytest.raises(ArgumentError, match="^basis must be one of identity, random"):
        LogitModel.from_spectrum(m, v, d, 8, basis="haar")


def test_the_closed_forms_come_from_the_spectrum_and_the_simulation_from_the_drawn_w():
    model = LogitModel.from_spectrum(0.5, 0.1, 8, 6, basis="random", seed=1)
    res = validate(model, ["gaussian", "exact"], samples=500, seed=2)
    assert res.methods == ("gaussian", "exact")
    np.testing.assert_array_equal(res.rho[0], theory_spectrum(0.5, 0.1, 8, 6, method="gaussian").rho)
    np.testing.assert_array_equal(res.rho[1], theory_spectrum(0.5, 0.1, 8, 6, method="exact").rho)
    assert np.isnan(res.rho_error[0]).all() and np.isfinite(res.rho_error[1]).all()
    from sigprop.rho.montecarlo import simulate

    sim = simulate(model.W, 6, samples=500, seed=2)
    np.testing.assert_array_equal(res.rho_mc, sim.rho)
    np.testing.assert_array_equal(res.ci_low, sim.ci_low)
    assert res.config["streams"] == sim.config["streams"]


def test_auto_is_keyed_by_the_method_it_chose_and_says_why():
    res = validate(LogitModel.from_spectrum(2.0, 0.01, 64, 8, basis="random", seed=0), samples=300, seed=0)
    assert res.methods[0] in ("gaussian", "exact") and res.method_reason.startswith("auto")


def test_bad_methods_are_refused_before_the_work():
    model = LogitModel.from_spectrum(0.5, 0.1, 4, 6)
    for bad in ([], ["gauss"], ["exact", 3]):
        with pytest.raises(ArgumentError, match="^methods must be one or more of"):
            validate(model, bad, samples=10**9)


def test_a_large_drawn_w_names_the_spectrum_parameter_that_makes_it_large():
    model = LogitModel.from_spectrum(1e200, 0.0, 4, 6, basis="random", seed=0)
    with pytest.raises(ArgumentError) as info:
        validate(model, ["gaussian"], samples=10)
    assert info.value.argument in ("m", "v")


def test_the_cli_is_an_adapter_of_the_api(tmp_path):
    """``sigprop validate`` prints the numbers of ``validate`` on the model it describes: W drawn with
    the first seed spawned from ``--seed``, the simulation seeded with the second."""
    from sigprop import cli

    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cli.main(["validate", "--mean", "0.5", "--var", "0.2", "--dim", "6", "--length", "7", "--method",
                         "both", "--samples", "400", "--seed", "5", "--format", "json", "--no-progress"]) == 0
    printed = json.loads(out.getvalue())
    w_seed, mc_seed = np.random.SeedSequence(5).spawn(2)
    res = validate(LogitModel.from_spectrum(0.5, 0.2, 6, 7, basis="random", seed=w_seed), ["gaussian", "exact"],
                   samples=400, seed=mc_seed)
    np.testing.assert_array_equal(printed["rho"], res.rho[0])
    np.testing.assert_array_equal(printed["methods"]["exact"]["rho"], res.rho[1])
    np.testing.assert_array_equal(printed["rho_mc"], res.rho_mc)
    assert printed["coverage"] == res.comparison(0)["coverage"]


def test_softmax_validation_intervals_and_bonferroni_bound():
    model = LogitModel.from_spectrum(0.5, 0.1, 4, 8)
    res = validate_softmax(model, "weight", points=256, samples=2000, seed=0, confidence=0.9)
    low, high = normal_interval(res.value_mc, res.se_mc, 0.9)
    np.testing.assert_array_equal(res.ci_low, low)
    np.testing.assert_array_equal(res.ci_high, high)
    assert res.bonferroni_z == bonferroni_z(0.9, 8) == z_value(1 - 0.1 / 8)
    assert res.agree == (res.max_z <= res.bonferroni_z)
    with pytest.raises(ArgumentError, match="^confidence"):
        validate_softmax(model, points=256, samples=10**9, confidence=1.5)


def test_normal_interval_and_bonferroni_bound():
    low, high = normal_interval([0.5, 1.0], [0.1, 0.0], 0.95)
    z = z_value(0.95)
    np.testing.assert_array_equal(low, [0.5 - z * 0.1, 1.0])
    np.testing.assert_array_equal(high, [0.5 + z * 0.1, 1.0])
    assert bonferroni_z(0.95, 1) == z
    assert bonferroni_z(0.95, 100) > bonferroni_z(0.95, 10) > z
    with pytest.raises(ArgumentError, match="^tests"):
        bonferroni_z(0.95, 0)
