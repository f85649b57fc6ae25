"""Cases of the second hostile-input campaign: each is refused in one line naming the argument and its
accepted range, or handled as docs/contract.md says."""
import json

import numpy as np
import pytest

from sigprop import cli
from tests.helpers import run_cli


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
    code, out, err = run_cli(["predict", "--dim", "60000", "--length", "8", "--mean", "0.1", "--var", "0.1",
                           "--format", "json"], capsys)
    assert code == 0 and not err, err
    res = json.loads(out)
    assert res["method"] == "gaussian" and "but the exact method needs about 57.6 GB" in res["method_reason"]


# --- sigprop.logit_distribution

@pytest.fixture
def dist():
    import sigprop as sp
    return sp.logit_distribution(sp.LogitModel.from_spectrum(0.5, 0.1, 8, 16), 16)


def test_logit_distribution_of_w_zero_is_a_point_mass_at_zero_without_density():
    import warnings

    import sigprop as sp
    from sigprop.core.checks import ArgumentError

    with warnings.catch_warnings():
        warnings.simplefilter("error")                                # no RuntimeWarning escapes
        z = sp.logit_distribution(np.zeros((4, 4)), 8, 8)
        assert z.cdf([-1.0, 0.0, 1.0]).tolist() == [0.0, 1.0, 1.0]
        assert z.ppf([0.0, 0.5, 1.0]).tolist() == [0.0, 0.0, 0.0] and not np.signbit(z.ppf(0.5))
        assert z.support() == (0.0, 0.0) and z.mean() == 0.0 and z.var() == 0.0
        assert z.rvs(3, random_state=0).tolist() == [0.0, 0.0, 0.0]
        with pytest.raises(ArgumentError, match=r"^W gives the logit the constant value 0 \(a point mass\)") as e:
            z.pdf(0.0)
    assert e.value.argument == "W" and "\n" not in str(e.value)


def test_logit_distribution_of_a_huge_w_is_refused_naming_w():
    import sigprop as sp
    from sigprop.core.checks import ArgumentError

    with pytest.raises(ArgumentError, match="^W is too large: the variance of the logit overflows float64"):
        sp.logit_distribution(np.eye(4) * 1e160, 8, 8)
    z = sp.logit_distribution(np.eye(4) * 1e150, 8, 8)                # the largest that fits: finite values
    assert np.isfinite(z.pdf(0.5)) and np.isfinite(z.ppf(0.3))


def test_logit_distribution_far_points_give_no_warning(dist):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dist.cdf(1e308) == 1.0 and dist.cdf(-1e308) == 0.0
        assert dist.pdf([-1e308, 1e308]).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("size, random_state, argument", [
    ("3", None, "size"), (3.5, None, "size"), (-1, None, "size"), ([2, "a"], None, "size"), (object(), None, "size"),
    (3, "a", "random_state"), (3, -1, "random_state"), (3, 1.5, "random_state"),
])
def test_logit_distribution_rvs_refuses_wrong_types(dist, size, random_state, argument):
    from sigprop.core.checks import ArgumentError

    with pytest.raises(ArgumentError) as e:
        dist.rvs(size, random_state=random_state)
    assert e.value.argument == argument and "\n" not in str(e.value)


def test_logit_distribution_rvs_memory_is_checked_before_the_work(dist):
    from sigprop.core.checks import ArgumentError

    with pytest.raises(ArgumentError, match=r"^size needs about 384 GB of memory") as e:
        dist.rvs(1e9)                                                  # 1e9 draws x 16 terms x 3 arrays
    assert e.value.argument == "size"
    assert dist.rvs(3.0, random_state=1).shape == (3,) and dist.rvs((2, 2), random_state=1).shape == (2, 2)


def test_logit_distribution_ppf_at_0_and_1_are_the_ends_of_the_support_as_in_scipy(dist):
    stats = pytest.importorskip("scipy.stats")
    assert dist.support() == (-np.inf, np.inf)
    assert dist.ppf([0.0, 1.0]).tolist() == [-np.inf, np.inf] == stats.norm.ppf([0.0, 1.0]).tolist()
    assert stats.chi2(3).ppf([0.0, 1.0]).tolist() == [0.0, np.inf]    # scipy: the ends of a bounded support too


# --- sigprop.load

def test_load_of_a_missing_file_is_one_line_naming_path(tmp_path):
    import sigprop as sp
    from sigprop.core.checks import ArgumentError

    with pytest.raises(ArgumentError, match=r"^path .*missing\.json: no such file$") as e:
        sp.load(tmp_path / "missing.json")
    assert e.value.argument == "path" and isinstance(e.value, FileNotFoundError)   # older callers catch that
    with pytest.raises(ArgumentError, match="^path must be a file name"):
        sp.load(3)


def test_claims_json_carries_a_type_tag_and_loads_back(tmp_path, capsys, monkeypatch):
    import sigprop as sp
    from sigprop.claims import ledger

    row = dict(id="a", claim="c", verdict="supported", numbers={"x": 1.0})
    monkeypatch.setattr(ledger, "run", lambda **kw: dict(config=dict(quick=True), claims=[row], notes=[]))
    out = tmp_path / "claims.json"
    assert cli.main(["claims", "--quick", "--format", "json", "--no-progress", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["sigprop_type"] == "claims" and json.loads(out.read_text()) == printed
    res = sp.load(out)
    assert res.kind == "claims" and res["claims"][0]["id"] == "a"
    pytest.importorskip("xarray")
    assert res.to_xarray()["claims_verdict"].dims == ("id",)


# --- refusals that said "numerical trouble" now name the flag and its range

def test_stack_predict_beta_beyond_the_recursions_range_is_refused_naming_beta(capsys):
    code, out, err = run_cli(["stack", "predict", "--recursion", "gg", "--beta", "30.5"], capsys)
    _one_line(code, out, err, "--beta")
    assert "must be in [0, 30] for recursion 'gg'" in err


def test_softmax_overlaps_at_a_large_spread_are_finite_without_overflow():
    import warnings

    from sigprop.stack import softmax

    with warnings.catch_warnings():
        warnings.simplefilter("error")                         # overflowed in t e^g at beta 15 before
        out = softmax.overlaps(0.5, 40.0, 64)
    assert all(np.isfinite(v) for v in out.values())
    assert 1 / 64 <= out["y_self"] <= 1 and 0 <= out["entropy"] <= np.log(64)


def test_exact_method_with_an_overflowing_scale_names_scale(capsys):
    for method in ("exact", "saddlepoint"):
        code, out, err = run_cli(["predict", "--scale", "1e300", "--method", method, "--mean", "0.5", "--var", "0.1",
                               "--dim", "4", "--length", "8"], capsys)
        _one_line(code, out, err, "--scale")
        assert "the variance of the logits overflows float64" in err


@pytest.mark.parametrize("flag, value, message", [("--qk-init", "1e300", "must be <= 1e+06"),
                                                  ("--lr", "1e300", "must be <= 1,")])
def test_lm_train_out_of_range_is_refused_before_the_work(flag, value, message, capsys):
    argv = ["lm", "train", "--steps", "3", "--tokenizer", "bytes", flag, value, "--no-progress"]
    code, out, err = run_cli(argv, capsys)
    _one_line(code, out, err, flag)
    assert message in err


def test_lm_train_overflow_in_training_names_lr(monkeypatch, capsys):
    from sigprop.lm import train as lmtrain

    def overflow(*args, **kwargs):
        raise RuntimeWarning("overflow encountered in exp")        # what the CLI's warning filter raises
    monkeypatch.setattr(lmtrain, "train", overflow)
    monkeypatch.setattr("sigprop.cli.lm._data", lambda cfg: None)
    code, out, err = run_cli(["lm", "train", "--steps", "3", "--tokenizer", "bytes", "--lr", "1", "--no-progress"],
                          capsys)
    _one_line(code, out, err, "--lr")
    assert "must be lower: the training overflowed float32" in err and "(0, 1]" in err


def _checkpoint(tmp_path, n_head):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    d = 8
    safetensors_numpy.save_file({"h.0.attn.c_attn.weight": np.ones((d, 3 * d), np.float32),
                                 "h.0.attn.c_attn.bias": np.zeros(3 * d, np.float32)},
                                str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({"n_head": n_head, "n_embd": d, "n_layer": 1}))
    return str(tmp_path / "model.safetensors")


def test_heads_with_a_head_count_that_does_not_divide_the_width_names_config(tmp_path, capsys):
    code, out, err = run_cli(["heads", _checkpoint(tmp_path, 3), "--length", "8"], capsys)
    _one_line(code, out, err, "--config")
    assert "3 heads do not divide the 8 query rows of layer 0" in err and "divisor of 8 (1, 2, 4, 8)" in err


# --- misleading refusals

def test_lm_sweep_shapes_beyond_memory_blames_shapes(tmp_path, capsys):
    code, out, err = run_cli(["lm", "sweep", "--shapes", "1000000x1", "--dir", str(tmp_path / "sw"), "--tokenizer",
                           "bytes", "--no-progress"], capsys)
    _one_line(code, out, err, "--shapes")
    assert "needs about" in err and "1000000 layer(s)" in err


def test_form_antrp_with_a_data_model_says_data_model(capsys):
    code, out, err = run_cli(["predict", "--form", "antrp", "--data", "iid", "--mean", "0.5", "--var", "0.1", "--dim",
                           "4", "--length", "8"], capsys)
    _one_line(code, out, err, "--form")
    assert "with a data model other than the random walk" in err and "weight matrix" not in err


def test_heads_out_on_the_config_beside_the_checkpoint_names_it(tmp_path, capsys):
    ck = _checkpoint(tmp_path, 2)
    code, out, err = run_cli(["heads", ck, "--out", str(tmp_path / "config.json"), "--length", "8"], capsys)
    _one_line(code, out, err, "--out")
    assert "is the input config.json beside CHECKPOINT.safetensors" in err


@pytest.mark.parametrize("argv, flag, message", [
    (["stack", "predict", "--layers", "1e9"], "--layers", "must be an integer in [1, 10000], got 1000000000"),
    (["stack", "predict", "--length", "1e9"], "--length", "must be an integer in [2, 65536], got 1000000000"),
    (["stack", "predict", "--layers", "2.5"], "--layers", "must be an integer, got '2.5'"),
    (["stack", "predict", "--layers", "1e400"], "--layers", "must be an integer, got '1e400'"),
])
def test_an_integer_flag_in_float_notation_is_checked_against_its_range(argv, flag, message, capsys):
    code, out, err = run_cli(argv, capsys)
    _one_line(code, out, err, flag)
    assert message in err


def test_a_deprecated_form_refused_later_is_one_line_and_accepted_the_notice_follows_the_result(capsys):
    code, out, err = run_cli(["predict", "--form", "published", "--mean", "0.5", "--var", "0.1", "--dim", "4",
                           "--length", "8", "--scale", "2"], capsys)
    _one_line(code, out, err, "--scale")
    code, out, err = run_cli(["predict", "--form", "published", "--mean", "0.5", "--var", "0.1", "--dim", "4",
                           "--length", "8"], capsys)
    assert code == 0 and out and err == ("sigprop predict: warning: --form published is a deprecated alias of "
                                         "--form antrp: the closed form of the ANTRP code (Everlyn-Labs/ANTRP), "
                                         "not of [BHK24] (docs/theory.md §3.4)")


# --- no fake number, no silent acceptance, quiet when asked, one line for a malformed record

@pytest.mark.parametrize("command", ["predict", "simulate"])
def test_stack_pre_ln_with_a_zero_residual_stream_is_refused(command, capsys):
    argv = ["stack", command, "--norm", "pre", "--var-w", "0", "--var-v", "0", "--var-b", "0",
            "--alpha-attention", "0", "--alpha-mlp", "0", "--layers", "2", "--length", "8"]
    code, out, err = run_cli(argv + (["--dim", "8"] if command == "simulate" else []), capsys)
    _one_line(code, out, err, "--var-v")
    assert "would make the residual stream zero (zero tokens have no cosine)" in err
    code, out, err = run_cli(["stack", "predict", "--norm", "pre", "--var-w", "0", "--var-b", "0", "--alpha-mlp", "0",
                           "--layers", "2", "--length", "8"], capsys)
    _one_line(code, out, err, "--var-w")


@pytest.mark.parametrize("seeds", ["0,,1", "0,1,", ",0"])
def test_stack_simulate_seeds_with_an_empty_item_are_refused(seeds, capsys):
    code, out, err = run_cli(["stack", "simulate", "--seeds", seeds, "--layers", "1", "--dim", "8", "--length", "8"],
                          capsys)
    _one_line(code, out, err, "--seeds")
    assert "no empty item" in err


def test_lm_sweep_no_progress_prints_no_line_per_run(tmp_path, monkeypatch, capsys):
    from sigprop.lm import sweep as sw

    seen = {}

    def fake(configs, data, out, *, progress, log, workers, threads, records=None):
        seen.update(progress=progress, log=log)
        return []
    monkeypatch.setattr(sw, "sweep", fake)
    monkeypatch.setattr(sw, "summarize", lambda records: [])
    monkeypatch.setattr(sw, "markdown", lambda rows: "")
    monkeypatch.setattr("sigprop.cli.lm._data", lambda cfg: None)
    code, _, err = run_cli(["lm", "sweep", "--dir", str(tmp_path / "sw"), "--tokenizer", "bytes", "--seeds", "0",
                         "--regularizers", "none", "--no-progress", "--format", "json"], capsys)
    assert code == 0 and not err and seen == dict(progress=False, log=None)


@pytest.mark.parametrize("text", ['{"kind": "lm-train", "config": {"model": {}}, "data": 3, "history": [], '
                                  '"final": {}, "steps_done": 1}', "3", '{"final": 1'])
def test_lm_summarize_of_a_malformed_record_is_one_line_naming_the_file(text, tmp_path, capsys):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "run.json").write_text(text)
    code, out, err = run_cli(["lm", "summarize", str(tmp_path / "runs")], capsys)
    _one_line(code, out, err, "DIR")
    assert f"{run / 'run.json'}: not a run record sigprop wrote" in err
