"""Cases of the second hostile-input campaign: each is refused in one line naming the argument and its
accepted range, or handled as docs/contract.md says."""
import json

import numpy as np
import pytest

from sigprop import cli


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err.strip()


def _one_line(code, out, err, flag):
    assert code == 2 and not out and len(err.splitlines()) == 1 and f"argument {flag}:" in err, err


# --- method="auto" falls back to the Gaussian method when the exact method's memory is over the limit

def test_auto_falls_back_to_gaussian_when_the_spectrum_matrices_do_not_fit(monkeypatch):
    from sigprop.rho.theory import theory_spectrum

    # the exact method from (m, v) builds two d x d matrices (5.8 MB at d = 600); its chi-square arrays fit
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "4e6")
    prof = theory_spectrum(0.1, 0.1, 600, 8)
    assert prof.config["method"] == "gaussian"
    assert "but the exact method needs about 5.76 MB of memory (600 x 600 float64 matrices)" \
        in prof.config["auto"]["reason"]
    np.testing.assert_array_equal(prof.rho, theory_spectrum(0.1, 0.1, 600, 8, method="gaussian").rho)


def test_predict_auto_at_a_large_dim_runs_the_gaussian_method_and_says_why(monkeypatch, capsys):
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "20e9")             # 60000 x 60000 matrices need 57.6 GB
    code, out, err = _run(["predict", "--dim", "60000", "--length", "8", "--mean", "0.1", "--var", "0.1",
                           "--format", "json"], capsys)
    assert code == 0 and not err, err
    res = json.loads(out)
    assert res["method"] == "gaussian" and "but the exact method needs about 57.6 GB" in res["method_reason"]
