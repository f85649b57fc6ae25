"""Cases the sixth hostile-input campaign found (docs/contract.md): each is refused in one line naming
its argument, exit code 2, before any work."""
import numpy as np
import pytest

from tests.helpers import run_cli


@pytest.mark.parametrize("shape", [(0, 0), (3, 0), (0, 3)])
def test_an_empty_weight_matrix_is_refused_not_divided_by(shape, tmp_path, capsys):
    # (0, 0) reached the memory check of the model's d x d matrices and divided by zero (a traceback)
    np.save(tmp_path / "W.npy", np.zeros(shape))
    code, out, err = run_cli(["predict", "--weights", tmp_path / "W.npy", "--length", "8"], capsys)
    assert (code, out) == (2, "") and err.count("\n") == 0
    assert err.startswith("sigprop predict: error: argument --weights: must be a square d x d matrix"), err


@pytest.mark.parametrize("argv, flag", [
    (["predict", "--weights", "{long}/W.npy", "--length", "8"], "--weights"),
    (["predict", "--mean", "0", "--var", "1", "--length", "8", "--step-cov", "{long}.npy"], "--step-cov"),
    (["heads-text", "{long}/m.safetensors"], "CHECKPOINT.safetensors"),
    (["heads", "{long}/m.safetensors"], "CHECKPOINT.safetensors"),
])
def test_an_input_whose_name_is_too_long_is_one_line(argv, flag, capsys):
    # pathlib's is_file() raises OSError (ENAMETOOLONG) where it returns False for a missing file: a traceback
    long = "a" * 300
    code, out, err = run_cli([a.replace("{long}", long) for a in argv], capsys)
    assert (code, out) == (2, "") and err.count("\n") == 0, err
    assert f"error: argument {flag}: " in err and ("too long" in err or "File name too long" in err), err
    assert len(err) < 600, err                       # the 300-character name is shown by its ends


@pytest.mark.parametrize("value", ["-1", "0", "48", "17"])
def test_points_is_checked_whatever_the_attention(value, capsys):
    # --points is the semi-analytic method's (--attention softmax); with the default attention it was not
    # checked at all, so --points=-1 ran and exited 0
    code, out, err = run_cli(["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8",
                              f"--points={value}", "--no-progress"], capsys)
    assert (code, out) == (2, "")
    assert err == f"sigprop predict: error: argument --points: must be 16 times a power of 2, got '{value}'"
