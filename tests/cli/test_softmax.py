"""The command line's softmax attention: predict and validate with --attention softmax."""
import json

import numpy as np
import pytest

from sigprop import cli
from sigprop.cli import rho as rho_cli
from sigprop.rho import softmax_profile

MODEL = ["--mean", "0.5", "--var", "0.5", "--dim", "4", "--length", "8", "--attention", "softmax"]


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_choices_match_the_api():
    assert rho_cli.QUANTITIES == softmax_profile.QUANTITIES


def test_predict_softmax_json(capsys):
    code, out, _ = run(capsys, "predict", *MODEL, "--quantity", "weight", "--points", "1024",
                       "--format", "json")
    res = json.loads(out)
    assert code == 0 and res["method"] == "semi-analytic"
    assert res["config"]["quantity"] == "weight" and res["config"]["points"] == 1024
    assert len(res["value"]) == len(res["se"]) == 8
    assert abs(sum(res["value"]) - 1) < 1e-12
    again = json.loads(run(capsys, "predict", *MODEL, "--points", "1024", "--format", "json")[1])
    assert again["value"] == res["value"]                     # same seed, same numbers


def test_validate_softmax_agrees(capsys):
    """Semi-analytic (4096 points) against 20000 walks: the Bonferroni rule at 95% over T positions."""
    code, out, _ = run(capsys, "validate", *MODEL, "--quantity", "sensitivity", "--points", "4096",
                       "--samples", "20000", "--format", "json", "--no-progress")
    res = json.loads(out)
    assert code == 0
    assert res["max_z"] <= res["bonferroni_z"] and res["agree"] is True
    assert np.all(np.array(res["ci_low"]) <= np.array(res["value_mc"]))
    code, out, _ = run(capsys, "validate", *MODEL, "--points", "256", "--samples", "2000", "--no-progress")
    assert code == 0 and "Bonferroni bound" in out


def test_softmax_data_models(capsys):
    """predict and validate with a data model, a query q < T, causal masking: the attended positions
    sum to 1, the masked ones are 0, and the semi-analytic profile agrees with Monte Carlo."""
    argv = [*MODEL, "--data", "ar1:3", "--query", "6", "--causal", "--points", "1024"]
    code, out, _ = run(capsys, "predict", *argv, "--format", "json")
    res = json.loads(out)
    assert code == 0 and res["config"]["data"] == "ar1:3" and res["config"]["query"] == 6
    assert abs(sum(res["value"][:6]) - 1) < 1e-12 and res["value"][6:] == [0.0, 0.0]
    code, out, _ = run(capsys, "validate", *argv, "--samples", "8000", "--format", "json", "--no-progress")
    res = json.loads(out)
    assert code == 0 and res["agree"] is True and res["config"]["causal"] is True


@pytest.mark.parametrize("argv, flag", [
    (["--points", "100"], "--points"), (["--form", "limit"], "--form"), (["--method", "exact"], "--method"),
    (["--query", "all"], "--query"), (["--data", "fbm:2"], "data"), (["--query", "9"], "query"),
])
def test_bad_softmax_flags(capsys, argv, flag):
    try:
        code, _, err = run(capsys, "predict", *MODEL, *argv)
    except SystemExit as exc:                  # the parser's own refusal (--points)
        code, err = exc.code, capsys.readouterr().err
    assert code == 2 and flag in err and "Traceback" not in err


def test_unknown_quantity_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:      # argparse errors exit, API errors return 2
        run(capsys, "predict", *MODEL, "--quantity", "entropy")
    assert exc.value.code == 2 and "argument --quantity: invalid choice" in capsys.readouterr().err
