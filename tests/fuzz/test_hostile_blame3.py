"""Wrong blame, vague messages and API types found by the second hostile-input campaign: each case is
refused in one line naming the argument the user got wrong and its accepted range (docs/contract.md),
or handled as its docstring says."""
import json
import warnings

import numpy as np
import pytest

from sigprop.core.checks import ArgumentError
from tests.helpers import run_cli


def _refused(argv, capsys, flag, *needles):
    code, out, err = run_cli(argv, capsys)
    assert code == 2 and not out and len(err.splitlines()) == 1, err
    assert f"error: argument {flag}: " in err, err
    assert "numerical trouble" not in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def _api_refused(call, argument, *needles):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ArgumentError) as info:
            call()
    message = str(info.value)
    assert info.value.argument == argument and len(message.splitlines()) == 1, message
    for needle in needles:
        assert needle in message, message
    return message


LM = ["lm", "train", "--corpus", "/no/such/corpus", "--tokenizer", "bytes", "--layers", "1", "--heads", "1",
      "--width", "16", "--length", "16", "--steps", "4", "--batch", "4", "--no-progress"]
TRAIN = ["train", "--steps", "5", "--dim", "8", "--length", "8", "--batch", "4", "--log-every", "1", "--probe", "8",
         "--no-progress"]
NNT = ["--lengths", "8", "--gammas", "1", "--seeds", "1", "--no-progress"]


# --- 1. refusals that named the wrong flag

def test_lm_train_probe_beyond_memory_names_probe_not_batch(capsys):
    # the probe's 10^9 windows set the attention arrays' rows (the batch is 4): checked before the corpus
    _refused(LM + ["--probe", "1e9"], capsys, "--probe", "needs about 3.07 TB", "1000000000 sequences")


def test_lm_train_batch_beyond_memory_still_names_batch(capsys):
    _refused(LM[:-3] + ["--batch", "10000000", "--probe", "1", "--no-progress"], capsys, "--batch", "needs about")


def test_lm_train_weight_decay_has_a_range_and_is_named(capsys):
    _refused(LM + ["--weight-decay", "1e9"], capsys, "--weight-decay", "must be in [0, 1/lr] = [0, 333.333]",
             "got 1e+09")
    from sigprop.lm.train import TrainConfig
    _api_refused(lambda: TrainConfig(lr=0.5, weight_decay=2.5), "weight_decay", "[0, 2]")
    TrainConfig(lr=0.5, weight_decay=2.0)                   # lr weight_decay = 1: the weights may reach 0


@pytest.mark.parametrize("value, needle", [("1e9", "needs about 7.68 TB"), ("-1", "must be an integer >= 1"),
                                           ("x", "must be an integer")])
def test_nnt_gradients_bad_layers_names_layers_not_lengths(capsys, value, needle):
    _refused(["nnt", "gradients", "--probes", "2", "--layers", value] + NNT, capsys, "--layers", needle)


def test_nnt_gradients_long_lengths_still_names_lengths(capsys):
    _refused(["nnt", "gradients", "--lengths", "1000000", "--gammas", "1", "--layers", "2", "--seeds", "1",
              "--probes", "2", "--no-progress"], capsys, "--lengths", "needs about")


def test_nnt_train_empty_targets_names_targets_not_seeds(capsys):
    _refused(["nnt", "train", "--lengths", "8", "--gammas", "1", "--layers", "2", "--samples", "8", "--steps", "2",
              "--seeds", "1", "--lrs", "0.01", "--targets", "", "--no-progress"], capsys, "--targets",
             "must be a comma-separated list of names")


@pytest.mark.parametrize("empty", ["lengths", "gammas", "seeds"])
def test_nnt_stable_ranks_names_the_empty_list(empty):
    from sigprop.gap.stable_rank import stable_ranks
    kwargs = dict(lengths=[8], gammas=[1.0], layers=1, seeds=[0], configs="A")
    kwargs[empty] = []
    _api_refused(lambda: stable_ranks(**kwargs), empty, "must hold at least one value")


# --- 2. vague messages

def test_nnt_stable_rank_with_1e9_layers_is_refused_naming_layers(capsys):
    _refused(["nnt", "stable-rank", "--layers", "1e9"] + NNT, capsys, "--layers", "needs about",
             "1000000001 layers")


def test_a_deep_stack_that_overflows_gives_undefined_rows_not_numerical_trouble(capsys):
    # stack A (no LayerNorm, no skip) overflows float64 before layer 1000: its stable rank is undefined
    # there (NaN in the API, "-" in the table, null in JSON), as for a signal that vanishes
    code, out, err = run_cli(["nnt", "stable-rank", "--config", "A", "--layers", "1000", "--format", "json"] + NNT,
                          capsys)
    assert code == 0 and not err, err
    summary = json.loads(out)["summary"]
    assert summary[0]["mean"] == pytest.approx(8.0) and summary[0]["nan"] == 0       # layer 0: isometric input
    assert summary[-1]["layer"] == 1000 and summary[-1]["mean"] is None and summary[-1]["nan"] == 1


def test_train_lr_1e308_is_refused_naming_lr(capsys):
    _refused(TRAIN + ["--lr", "1e308"], capsys, "--lr", "training diverged", "weights of size 1e+308")


@pytest.mark.parametrize("args, flag", [(["--teacher-mean", "1e308"], "--teacher-mean"),
                                        (["--teacher-mean=-1e200"], "--teacher-mean"),
                                        (["--teacher-var", "1.7e308", "--teacher-mean", "4e153"], "--teacher-var")])
def test_train_teacher_whose_logits_overflow_is_refused_up_front(capsys, args, flag):
    # teacher_var + teacher_mean^2 beyond float64: the larger term is named
    _refused(TRAIN + args, capsys, flag, "variance of the teacher's logits", "overflows float64")


def _gpt2(folder, weight, config=True):
    from safetensors.numpy import save_file
    folder.mkdir()
    save_file({"h.0.attn.c_attn.weight": weight.astype(np.float32)}, str(folder / "model.safetensors"))
    if config:
        (folder / "config.json").write_text(json.dumps({"n_head": 1}))
    return str(folder / "model.safetensors")


def test_heads_on_a_nan_checkpoint_names_the_file_and_the_tensor(tmp_path, capsys):
    weight = np.ones((4, 12))
    weight[0, 0] = np.nan
    path = _gpt2(tmp_path / "nan", weight)
    for command in (["heads", path, "--length", "8"], ["heads-datamodel", path, "--length", "8"]):
        _refused(command + ["--no-progress"], capsys, "CHECKPOINT.safetensors", path,
                 "tensor h.0.attn.c_attn.weight has 1 NaN or infinite entries of 48")


def test_heads_datamodel_offers_the_config_flag_its_refusals_name(tmp_path, capsys):
    from safetensors.numpy import save_file
    folder = tmp_path / "bert"
    folder.mkdir()
    eye = np.eye(4, dtype=np.float32)
    save_file({"encoder.layer.0.attention.self.query.weight": eye,
               "encoder.layer.0.attention.self.key.weight": eye}, str(folder / "model.safetensors"))
    path = str(folder / "model.safetensors")
    # no config.json beside it: the number of heads is unknown, and --config is how to give it
    _refused(["heads-datamodel", path, "--no-progress"], capsys, "--config", "number of heads unknown",
             "give --config")
    (tmp_path / "c.json").write_text(json.dumps({"num_attention_heads": 0}))
    _refused(["heads-datamodel", path, "--config", str(tmp_path / "c.json"), "--no-progress"], capsys,
             "--config", "num_attention_heads (number of heads) must be an integer >= 1, got 0")


def test_sweep_of_a_binary_file_says_it_is_not_a_toml_spec(tmp_path, capsys):
    spec = tmp_path / "W.npy"
    np.save(spec, np.eye(4))
    code, out, err = run_cli(["sweep", str(spec), "--store", str(tmp_path / "s.zarr"), "--no-progress"], capsys)
    assert code == 2 and not out and len(err.splitlines()) == 1, err
    assert f"{spec}: not a TOML sweep specification (not UTF-8 text" in err and "codec" not in err, err


# --- 3. width --dk is honoured (as by gap and depth): d x d_k key and query weights

def test_width_honours_dk(capsys):
    base = ["width", "--model", "attention", "--dim", "8", "--lengths", "8", "--samples", "3", "--format", "json",
            "--no-progress"]
    runs = {}
    for dk in ("8", "2", None):
        code, out, err = run_cli(base + (["--dk", dk] if dk else []), capsys)
        assert code == 0 and not err, err
        runs[dk] = json.loads(out)
    assert runs["2"]["config"]["d_k"] == 2 and runs[None]["config"]["d_k"] == 8
    assert runs["8"]["rows"] == runs[None]["rows"]                     # the default d_k is d
    assert runs["2"]["rows"] != runs["8"]["rows"]                       # rank-2 logits: another draw
    _refused(base + ["--dk", "0"], capsys, "--dk", "must be an integer >= 1")


def test_width_api_d_k_is_checked():
    from sigprop.gap.collapse import width
    _api_refused(lambda: width(8, 0.5, model="attention", d=4, samples=2, d_k=0), "d_k", ">= 1")


# --- 4. API types

@pytest.mark.parametrize("data, needle", [
    ({"sigprop_type": "Validation", "x": 1}, "not a sigprop 'Validation' result: its fields do not fit the type"),
    ({"sigprop_type": "prediction", "sigprop_dims": [1]}, "not a sigprop 'prediction' result"),
    ([{"layer": "a", "head": None, "eig_mean": "x", "eig_var": 1, "rho": 2}], "not a sigprop 'heads' result"),
    ({"sigprop_type": 5}, "its 'sigprop_type' tag is 5, not a type name"),
])
def test_load_of_malformed_fields_is_one_line_naming_the_file(tmp_path, data, needle):
    import sigprop as sp
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    message = _api_refused(lambda: sp.load(path), "path", str(path), needle)
    assert "Traceback" not in message


@pytest.mark.parametrize("text, where, word", [
    ('{"sigprop_type": "prediction", "positions": [NaN], "config": {}}', "'positions[0]'", "NaN"),
    ('{"sigprop_type": "prediction", "positions": [1, 2], "config": {"T": -Infinity}}', "'config.T'", "-Infinity"),
])
def test_load_refuses_nan_tokens_naming_file_and_key(tmp_path, text, where, word):
    import sigprop as sp
    path = tmp_path / "nanjson.json"
    path.write_text(text)
    _api_refused(lambda: sp.load(path), "path", str(path), f"{where} holds {word}", "writes an undefined value as null")


def test_load_reads_null_back_as_nan_as_stored(tmp_path):
    import sigprop as sp
    path = tmp_path / "p.json"
    path.write_text('{"sigprop_type": "prediction", "positions": [1, 2], "rho": [0.5, null], "config": {}}')
    res = sp.load(path)
    assert np.isnan(np.asarray(res["rho"], dtype=float)[1])


@pytest.mark.parametrize("axis", [5, -3, 1.0, True, None, "a", (0,)])
def test_localization_metrics_bad_axis_is_named(axis):
    import sigprop as sp
    _api_refused(lambda: sp.localization_metrics([[0.1, 0.2]], axis=axis), "axis",
                 "must be an integer in [-2, 1]")


def test_localization_metrics_all_zero_profile_refused_unless_asked_nan():
    import sigprop as sp
    _api_refused(lambda: sp.localization_metrics([0, 0, 0]), "rho", "all-zero profile is undefined")
    _api_refused(lambda: sp.localization_metrics([[0, 0], [1, 1]]), "rho", "all-zero profile is undefined")
    # empty="nan" is the documented opt-in (docs/contract.md, the docstring): NaN metrics but total
    out = sp.localization_metrics([[0, 0], [1, 1]], empty="nan")
    assert out["total"].tolist() == [0.0, 2.0] and np.isnan(out["entropy"][0])
    assert out["entropy_normalized"][1] == pytest.approx(1.0)


def test_chi2sum_cdf_of_empty_arrays_is_empty_as_in_scipy():
    from scipy import stats

    from sigprop.rho import chi2sum
    F, err = chi2sum.cdf([1.0], [])
    assert F.shape == err.shape == stats.chi2.cdf([], 1).shape == (0,)
    F, err = chi2sum.cdf(np.ones((0, 3)), 1.0)
    assert F.shape == (0,)
    # no weight: the empty sum, 0, whose cdf is a step at 0 (as all-zero weights)
    F, err = chi2sum.cdf([], [-1.0, 0.0, 2.0])
    assert F.tolist() == [0.0, 1.0, 1.0] == chi2sum.cdf([0.0, 0.0], [-1.0, 0.0, 2.0])[0].tolist()
    _api_refused(lambda: chi2sum.cdf([[1.0, 2.0], [1.0, 3.0]], [1.0, 2.0, 3.0]), "x", "must broadcast")
    _api_refused(lambda: chi2sum.cdf([1.0, 2.0], [1.0], linear=[]), "linear", "must broadcast")


@pytest.mark.parametrize("m, v, name", [(1e308, 1e308, "m"), (-1e308, 0.0, "m"), (5e307, 1e308, "m")])
def test_make_weights_whose_entries_overflow_is_refused(m, v, name):
    import sigprop as sp
    _api_refused(lambda: sp.make_weights(m, v, 4), name, "must be at most 4.49423e+307")


def test_make_weights_near_the_bound_is_finite():
    import sigprop as sp
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        W = sp.make_weights(4e307, 0.0, 4, seed=0)
    assert np.all(np.isfinite(W)) and np.allclose(np.diag(W), 4e307, rtol=1e-12)


def test_logit_distribution_ppf_at_0_and_1_is_the_documented_support():
    import sigprop as sp
    W = np.random.default_rng(0).standard_normal((4, 4)) * 0.3
    dist = sp.logit_distribution(W, [1], 8)
    low, high = dist.support()
    np.testing.assert_array_equal(np.ravel(dist.ppf([0, 1])), np.ravel([low, high]))


# --- 5. stack predictions: layer 0 (the input) has no attention block

@pytest.mark.parametrize("fields", [{}, dict(beta=0.0), dict(cosine0=0.0), dict(var_w=0.0), dict(T=2),
                                    dict(recursion="gg", beta=0.0), dict(attention="linear")])
def test_stack_predict_nan_only_in_layer_zero_attention_fields(fields):
    import sigprop.stack as st
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = st.predict(**{**dict(layers=2, T=8, samples=16), **fields})
    for row in res["layers"]:
        for key, value in row.items():
            attention = key.startswith("attention")
            if row["layer"] == 0 and attention:
                assert np.isnan(value), (key, value)            # documented: no attention block
            else:
                assert np.isfinite(value), (row["layer"], key, value)
