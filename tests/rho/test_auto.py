"""``method="auto"``: the rule, its stored map, and its accuracy against Monte Carlo."""
import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigprop as sp
from sigprop import cli
from sigprop.core.stats import z_value
from sigprop.rho import auto, gaussian_error
from sigprop.rho.logits import LogitModel
from sigprop.rho.theory import theory, theory_spectrum

MAP = Path(__file__).resolve().parents[2] / "results" / "gaussian_error" / "map.json"   # sigprop_results


def stored_map() -> dict:
    return json.loads(MAP.read_text())


def test_the_rule_constants_are_the_stored_map_envelope():
    """ENVELOPE is what envelope_table derives from results/gaussian_error/map.json (no hand-set number)."""
    res = stored_map()
    assert res["config"]["command"] == "sigprop gaussian-error --map --seed 0" and len(res["rows"]) == 2259
    defaults = {k: p.default for k, p in inspect.signature(gaussian_error.error_map).parameters.items()
                if k not in ("progress",)}                  # the stored map is the command's default grid
    assert {k: res["config"][k] for k in defaults} == {k: list(v) if isinstance(v, tuple) else v
                                                       for k, v in defaults.items()}
    table = auto.envelope_table(res["rows"])
    assert table == auto.ENVELOPE
    assert sorted({r["T"] for r in res["rows"]})[::2] == list(auto.T_RANGE)
    assert {r["d"] for r in res["rows"]} == {2 ** k for k in range(1, 11)}


@pytest.mark.parametrize("index", [0, 7, 100, -1])
def test_stored_map_rows_are_regenerated_by_the_study(index):
    """A few rows of the stored map, recomputed now, are the stored numbers (d <= 16: seconds)."""
    rows = [r for r in stored_map()["rows"] if r["d"] <= 16]
    row = rows[index]
    new = gaussian_error.map_case(row["family"], row["d"], row["rank"], row["m"], row["v"], row["T"], seed=0)
    for key in ("effective_rank", "size", "gauss_vs_exact"):
        assert new[key] == pytest.approx(row[key], rel=1e-9, abs=1e-12), key
    assert new["position"] == row["position"]


def test_envelope_is_non_increasing_in_the_effective_rank():
    for entries in auto.ENVELOPE.values():
        errors = [e[1] for e in entries]
        assert all(a >= b for a, b in zip(errors, errors[1:]))


matrices = st.integers(2, 6).flatmap(
    lambda d: st.tuples(st.just(d), st.integers(1, d), st.floats(-2, 2), st.floats(0.01, 2), st.booleans(),
                        st.integers(0, 2 ** 16)))


@settings(max_examples=20, deadline=None)
@given(case=matrices, T=st.sampled_from([4, 8, 24, 64]))
def test_auto_is_exactly_the_method_it_names(case, T):
    """auto's output is the exact or the Gaussian output, bit for bit, and config says which."""
    d, rank, m, v, symmetric, seed = case
    rng = np.random.default_rng(seed)
    Q = rng.standard_normal((d, rank))
    W = m * Q @ Q.T / rank + np.sqrt(v / (d * rank)) * Q @ rng.standard_normal((rank, d))
    if symmetric:
        W = 0.5 * (W + W.T)
    prof = theory(W, T)
    ran = prof.config["method"]
    assert ran in ("exact", "gaussian") and prof.config["auto"]["reason"].startswith("auto: ")
    ref = theory(W, T, method=ran)
    np.testing.assert_array_equal(prof.rho, ref.rho)
    np.testing.assert_array_equal(prof.mean, ref.mean)
    np.testing.assert_array_equal(prof.variance, ref.variance)


@settings(max_examples=30, deadline=None)
@given(m=st.floats(-3, 3), v=st.floats(0, 3), d=st.sampled_from([2, 3, 8, 30, 64, 200, 1024, 3000]),
       T=st.sampled_from([2, 8, 100, 512, 600]), scale=st.one_of(st.none(), st.floats(1e-3, 10)))
def test_auto_picks_exact_whenever_the_map_says_the_error_exceeds_the_tolerance(m, v, d, T, scale):
    """Exact whenever the map's estimate exceeds 0.01 or the map does not cover the model;
    Gaussian only where the estimate is at most 0.01."""
    if d == 1 and v > 0:
        return
    f = auto.spectrum_features(m, v, d, scale)
    est, _ = auto.estimate(float(f["effective_rank"]), float(f["size"]), True, T)
    chosen, reason, details = auto.decide(f, T, lambda: None)
    if est is None or est > auto.TOLERANCE:
        assert chosen == "exact"
    else:
        assert chosen == "gaussian" and details["estimated_error"] <= auto.TOLERANCE
    assert reason.startswith("auto: ")


def test_the_estimate_bounds_every_stored_row_it_covers():
    """Every map row's own error is at most the estimate the rule makes at its features (rows with
    W = 0, rank 1 at m = 0, are not covered: auto runs the exact method there)."""
    for row in stored_map()["rows"]:
        if row["effective_rank"] == 0:
            assert row["size"] == 0 and auto.estimate(0.0, 0.0, True, row["T"])[0] is None
            continue
        est, _ = auto.estimate(row["effective_rank"], row["size"], row["symmetric"], row["T"])
        assert est is not None and row["gauss_vs_exact"] <= est, row


def test_batches_run_exact_item_by_item_when_any_item_needs_it():
    """A grid with one low-rank point runs exact for every point, each equal to its own exact profile."""
    v = np.array([0.01, 1.0])
    prof = theory_spectrum(0.5, v, 8, 16)
    assert prof.config["method"] == "exact" and prof.rho.shape == (2, 16)
    for k in range(2):
        np.testing.assert_array_equal(prof.rho[k], theory_spectrum(0.5, v[k], 8, 16, method="exact").rho)
    big = theory_spectrum(np.array([0.5, 2.0]), 0.01, 1024, 64)       # effective rank ~1000: Gaussian
    assert big.config["method"] == "gaussian"
    np.testing.assert_array_equal(big.rho, theory_spectrum(np.array([0.5, 2.0]), 0.01, 1024, 64,
                                                           method="gaussian").rho)


def test_memory_bound_on_the_exact_method_falls_back_to_gaussian_and_says_so(monkeypatch):
    """Where the exact method's arrays exceed the machine, auto runs the Gaussian method (it is refused
    only when that too does not fit)."""
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "2e6")              # 24 x 64 x 2d floats of exact do not fit
    prof = theory_spectrum(0.5, 0.1, 64, 200)
    assert prof.config["method"] == "gaussian"
    assert "but the exact method needs about" in prof.config["auto"]["reason"]


def test_outside_the_map_is_exact_and_form_limit_is_gaussian():
    assert theory_spectrum(0.5, 0.1, 64, 4).config["method"] == "exact"            # T below the map's
    p = theory_spectrum(0.5, 0.1, 64, 64, form="limit")
    assert p.config["method"] == "gaussian" and "form 'finite'" in p.config["auto"]["reason"]
    W = sp.make_weights(0.5, 0.1, 8, seed=1)
    q = theory(LogitModel(W, 16, data="iid"))
    assert q.config["method"] == "exact" and "data model" in q.config["auto"]["reason"]


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_default_is_within_monte_carlo_error_at_d_4(capsys):
    """`sigprop predict --mean 0.5 --var 0.1 --dim 4 --length 64` (no --method) against Monte Carlo.

    Tolerance from the confidence interval: with n = 200000 sequences the standard error of each
    rho_mc is sqrt(rho (1 - rho) / n) <= 0.0011; the 64 positions are tested jointly at level 0.01
    (Bonferroni: z = 3.8 for each), so |rho - rho_mc| <= z se_i at every position unless the
    prediction is wrong (3.8 * 0.0011 = 0.0042 < 0.01: passing also shows it is within 0.01).
    The Gaussian method, the former default, fails the same test (|error| up to 0.08 here).
    """
    code, out, _ = run(capsys, "predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "64",
                       "--format", "json")
    res = json.loads(out)
    assert code == 0 and res["method"] == "exact" and res["config"]["method"] == "auto"
    assert res["method_reason"].startswith("auto: estimated Gaussian error ")
    n = 200_000
    sim = sp.simulate(sp.make_weights(0.5, 0.1, 4, seed=5), 64, samples=n, seed=6)
    se = np.sqrt(np.clip(sim.rho * (1 - sim.rho), 1.0 / n, None) / n)
    z = z_value(1 - 0.01 / 64)
    gap = np.abs(np.array(res["rho"]) - sim.rho)
    assert np.all(gap <= z * se) and z * se.max() < 0.01
    gauss = theory_spectrum(0.5, 0.1, 4, 64, method="gaussian").rho
    assert np.any(np.abs(gauss - sim.rho) > z * se) and np.abs(gauss - sim.rho).max() > 0.01


def test_cli_says_which_method_ran_and_why(capsys):
    code, out, _ = run(capsys, "predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "16")
    assert code == 0
    assert "method: exact (auto: estimated Gaussian error " in out and "> 0.01 at effective rank " in out
    code, out, _ = run(capsys, "predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "16",
                       "--method", "gaussian", "--format", "json")
    res = json.loads(out)
    assert res["method"] == "gaussian" and "method_reason" not in res
    np.testing.assert_array_equal(res["rho"], theory_spectrum(0.5, 0.1, 4, 16, method="gaussian").rho)
