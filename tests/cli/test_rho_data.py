"""The command line's data-model flags: --data, --query, --causal, --token-mean (docs/data-models.md)."""
import json

import numpy as np
import pytest

from sigprop import cli
from sigprop.rho.logits import LogitModel
from sigprop.rho.theory import theory

T = 8


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 4))
    B = rng.standard_normal((T, T))
    out = dict(W=W, K=B @ B.T / T, mu=np.linspace(-1, 1, 4))
    bad = dict(notpsd=np.array([[1.0, 2.0], [2.0, 1.0]]), nan=np.array([[1.0, np.nan], [np.nan, 1.0]]),
               rect=np.ones((T, 3)), small=np.eye(5), asym=np.triu(np.ones((T, T))))
    paths = {}
    for name, arr in {**out, **bad}.items():
        paths[name] = str(tmp_path / f"{name}.npy")
        np.save(paths[name], arr)
    return paths, out


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_with_a_covariance_file_matches_the_api(capsys, files):
    paths, arrays = files
    code, out, _ = run(capsys, "predict", "--data", paths["K"], "--weights", paths["W"], "--length", str(T),
                       "--format", "json")
    res = json.loads(out)
    assert code == 0 and res["config"]["data"] == paths["K"] and res["config"]["query"] == T
    ref = theory(LogitModel(arrays["W"], T, data=arrays["K"]))
    assert np.allclose(res["rho"], ref.rho, rtol=1e-12) and len(res["positions"]) == T
    default = json.loads(run(capsys, "predict", "--weights", paths["W"], "--length", str(T),
                             "--format", "json")[1])
    assert set(res) == set(default) and "data" not in default["config"]      # same shape, plus config


@pytest.mark.parametrize("data", ["random-walk", "iid", "ar1:2.5", "fbm:0.3", "K"])
def test_validate_every_data_choice(capsys, files, data):
    paths, _ = files
    spec = paths.get(data, data)
    code, out, _ = run(capsys, "validate", "--data", spec, "--weights", paths["W"], "--length", str(T),
                       "--query", "5", "--causal", "--token-mean", paths["mu"], "--samples", "4000",
                       "--no-progress", "--format", "json")
    res = json.loads(out)
    assert code == 0 and res["config"]["data"] == spec and res["config"]["causal"] is True
    assert len(res["rho"]) == len(res["rho_mc"]) == T
    assert res["rho"][5:] == [0.0] * 3 and res["rho_mc"][5:] == [0.0] * 3     # masked by causal attention


def test_query_all_gives_a_T_by_T_map(capsys, files):
    paths, _ = files
    code, out, _ = run(capsys, "predict", "--data", "ar1:3", "--mean", "0.5", "--var", "0.1", "--dim", "8",
                       "--length", str(T), "--query", "all", "--causal", "--format", "json")
    res = json.loads(out)
    assert res["method"] == "gaussian" and "one query position" in res["method_reason"]     # auto
    rho = np.array(res["rho"])
    assert code == 0 and rho.shape == (T, T) and np.all(np.triu(rho, 1) == 0)
    last = json.loads(run(capsys, "predict", "--data", "ar1:3", "--mean", "0.5", "--var", "0.1", "--dim", "8",
                          "--length", str(T), "--causal", "--method", "gaussian", "--format", "json")[1])
    assert np.allclose(rho[-1], last["rho"], rtol=1e-12)
    assert len(res["localization"]["total"]) == T


@pytest.mark.parametrize("flags, message", [
    (["--data", "notpsd"], "argument --data: must be positive semi-definite"),
    (["--data", "nan"], "argument --data: must have finite entries"),
    (["--data", "rect"], "argument --data: must be one T x T matrix"),
    (["--data", "asym"], "argument --data: must be symmetric"),
    (["--data", "small"], "argument --length: must be 5 for the 5 x 5 data covariance"),
    (["--data", "nowhere.npy"], "argument --data: file not found"),
    (["--data", "brownian"], "argument --data: must be random-walk, iid, ar1:LENGTH, fbm:H"),
    (["--data", "fbm:1"], "argument --data: fbm: hurst must be in (0, 1)"),
    (["--data", "fbm:-0.2"], "argument --data: fbm: hurst must be in (0, 1)"),
    (["--data", "ar1:0"], "argument --data: ar1: length must be > 0"),
    (["--query", "9"], "argument --query: must be 'all' or an integer in 1..T = 8"),
    (["--query", "first"], "argument --query: must be an integer in 1..T or 'all'"),
    (["--token-mean", "K"], "argument --token-mean: must be a vector of length d = 4"),
    (["--token-mean", "mu", "--method", "saddlepoint"], "argument --token-mean: must be None for the saddle-point"),
])
def test_bad_data_flags_are_refused_with_one_line(capsys, files, flags, message):
    paths, _ = files
    flags = [paths.get(f, f) for f in flags]
    for command in ("predict", "validate"):
        code, out, err = run(capsys, command, "--weights", paths["W"], "--length", str(T), "--samples", "100",
                             *flags) if command == "validate" else \
            run(capsys, command, "--weights", paths["W"], "--length", str(T), *flags)
        assert code == 2 and out == ""
        assert err.startswith(f"sigprop {command}: error: {message}") and err.count("\n") == 1


def test_exact_method_takes_a_token_mean(capsys, files):
    """The non-central exact method on the command line equals the API, with its bound."""
    paths, arrays = files
    code, out, _ = run(capsys, "predict", "--data", "ar1:3", "--weights", paths["W"], "--length", str(T),
                       "--token-mean", paths["mu"], "--method", "exact", "--format", "json")
    res = json.loads(out)
    api = theory(LogitModel(arrays["W"], T, data="ar1:3", token_mean=arrays["mu"]), method="exact")
    assert code == 0 and np.allclose(res["rho"], api.rho, rtol=0, atol=1e-12)
    assert res["config"]["token_mean"] == paths["mu"]
