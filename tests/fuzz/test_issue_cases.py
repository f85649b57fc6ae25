"""Every case of the "nothing silently wrong" report gets a one-line refusal or a correct answer."""
import json

import numpy as np
import pytest

from sigprop import cli


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err.strip()


@pytest.mark.parametrize("argv, flag", [
    (["predict", "--mean", "1e200", "--var", "1e300", "--dim", "4", "--length", "8"], "--mean"),
    (["gap", "--length", "64", "--sigma", "1e3"], "--sigma"),
    (["width", "--lengths", "16", "--sigma", "1e3"], "--sigma"),
    (["depth", "--layers", "2", "--length", "16", "--sigma", "1e3"], "--sigma"),
    (["train", "--lr", "1e6", "--steps", "20", "--dim", "4", "--dk", "4", "--length", "8", "--probe", "16"], "--lr"),
    (["train", "--locater", "1e300", "--steps", "5", "--dim", "4", "--dk", "4", "--length", "8", "--probe", "16"],
     "--locater"),
    (["validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8", "--samples", "2"], "--samples"),
    (["gap", "--length", "100000"], "--length"),
    (["width", "--lengths", "100000"], "--lengths"),
])
def test_refused_in_one_line_naming_the_flag(argv, flag, capsys):
    code, out, err = _run(argv, capsys)
    assert code == 2 and not out and len(err.splitlines()) == 1 and f"argument {flag}:" in err


def test_weights_near_the_float_limit_are_refused(tmp_path, capsys):
    np.save(tmp_path / "w.npy", np.full((4, 4), 1e300))
    code, _, err = _run(["predict", "--weights", str(tmp_path / "w.npy"), "--length", "8"], capsys)
    assert code == 2 and err.startswith("sigprop predict: error: argument --weights:")


def test_large_variance_is_simulated_stably(capsys):
    code, out, err = _run(["validate", "--mean", "0.5", "--var", "1e300", "--dim", "4", "--length", "8",
                           "--samples", "1000", "--format", "json"], capsys)
    assert code == 0 and not err
    res = json.loads(out)
    assert all(v is not None and np.isfinite(v) for v in res["variance_mc"] + res["variance_se"])


def test_a_theory_equal_to_a_degenerate_simulation_is_held(capsys):
    code, out, _ = _run(["validate", "--mean", "0", "--var", "0", "--dim", "4", "--length", "8",
                         "--samples", "100", "--format", "json"], capsys)
    res = json.loads(out)
    assert code == 0 and res["rho_mc"] == [0.0] * 8 and res["ci_low"] == [0.0] * 8 and res["coverage"] == 1.0


def test_validate_runs_the_exact_method_only_when_asked(capsys, monkeypatch):
    from sigprop.rho import exact

    def boom(*a, **k):
        raise AssertionError("exact method ran")
    monkeypatch.setattr(exact, "theory", boom)
    # with --method gaussian the exact method never runs (the default, auto, runs it where the Gaussian
    # approximation is off by more than its tolerance: tests/rho/test_auto.py)
    code, _, err = _run(["validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8",
                         "--samples", "100", "--method", "gaussian"], capsys)
    assert code == 0, err


def test_a_checkpoint_without_key_weights_is_one_line(tmp_path, capsys):
    from safetensors.numpy import save_file
    save_file({"encoder.layer.0.attention.self.query.weight": np.eye(4, dtype=np.float32)},
              str(tmp_path / "m.safetensors"))
    (tmp_path / "config.json").write_text('{"num_attention_heads": 2}')
    code, _, err = _run(["heads", str(tmp_path / "m.safetensors")], capsys)
    assert code == 2 and "has no key weight" in err and len(err.splitlines()) == 1


def test_a_failed_write_names_the_users_path_and_prints_the_result(tmp_path, capsys, monkeypatch):
    import os
    target = tmp_path / "r.json"

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(os, "replace", refuse)
    code, out, err = _run(["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "8",
                           "--out", str(target)], capsys)
    assert code == 2 and out.startswith("# ") and err == (f"sigprop predict: error: argument --out: cannot "
                                                          f"write {target}: Permission denied")
    assert not list(tmp_path.iterdir())          # the temporary file is gone too
