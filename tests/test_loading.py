"""sigprop.load and to_xarray: every result type saved, read back as its own type, and equal.

Each study runs with the smallest arguments that still give every field (a few records,
two seeds); the labelled Dataset is checked against the numbers it labels, so that a
wrong coordinate (a value under the wrong seed or layer) fails.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sigprop as sp
from sigprop.core.labelled import KEYS, TAG, Result

xr = pytest.importorskip("xarray")


def roundtrip(obj, tmp_path, name="r.json"):
    path = tmp_path / name
    obj.save(path)
    back = sp.load(path)
    assert type(back) is type(obj)
    assert back.to_xarray().identical(obj.to_xarray())
    netcdf_roundtrip(back, tmp_path)
    return back


def netcdf_roundtrip(obj, tmp_path):
    """``obj.to_netcdf`` (SciPy's netCDF3 writer, always installed) reads back as ``obj.to_xarray()``."""
    ds = obj.to_xarray()
    obj.to_netcdf(tmp_path / "r.nc", engine="scipy")
    with xr.open_dataset(tmp_path / "r.nc", engine="scipy") as back:
        back = back.load()
    assert set(back.data_vars) == set(ds.data_vars) and set(back.coords) == set(ds.coords)
    for name in [*ds.data_vars, *ds.coords]:
        assert back[name].dims == ds[name].dims
        np.testing.assert_array_equal(back[name].values, ds[name].values)
    assert back.attrs.keys() == ds.attrs.keys()
    assert json.loads(back.attrs["config"]) == json.loads(ds.attrs["config"])


def test_theory_spectrum_grid_is_labelled_by_m_v_and_position(tmp_path):
    m, v = np.array([[0.5], [1.0]]), np.array([0.01, 0.1, 1.0])
    p = sp.theory_spectrum(m, v, 64, 128)
    ds = p.to_xarray()
    assert ds.rho.dims == ("m", "v", "position")
    assert ds.m.values.tolist() == [0.5, 1.0] and ds.v.values.tolist() == [0.01, 0.1, 1.0]
    assert int(ds.d) == 64 and ds.attrs["T"] == 128 and ds.attrs[TAG] == "Profile"
    np.testing.assert_array_equal(ds.position, np.arange(1, 129))
    # each cell is the profile of its own (m, v)
    one = sp.theory_spectrum(1.0, 0.1, 64, 128)
    np.testing.assert_array_equal(ds.rho.sel(m=1.0, v=0.1).values, one.rho)
    assert json.loads(ds.attrs["config"])["form"] == "finite"
    back = roundtrip(p, tmp_path)
    np.testing.assert_array_equal(back.rho, p.rho)
    np.testing.assert_array_equal(back.config["v"], v)


def test_exact_profile_keeps_its_error_bound_per_position(tmp_path):
    p = sp.theory_spectrum(0.5, 0.1, 8, 12, method="exact")
    ds = p.to_xarray()
    assert ds.rho_error.dims == ("position",)
    np.testing.assert_array_equal(ds.rho_error, p.config["rho_error"])
    roundtrip(p, tmp_path)


def test_simulation_with_a_seed_sequence_round_trips(tmp_path):
    W = sp.make_weights(0.5, 0.1, 4, seed=0)
    sim = sp.simulate(W, 8, samples=500, seed=np.random.SeedSequence(3))
    ds = sim.to_xarray()
    assert set(ds.data_vars) >= {"rho", "ci_low", "ci_high", "mean_se", "variance_se"}
    assert ds.attrs["samples"] == 500
    assert json.loads(ds.attrs["config"])["seed"] == {"entropy": 3, "spawn_key": []}
    back = roundtrip(sim, tmp_path)
    np.testing.assert_array_equal(back.ci_high, sim.ci_high)


def test_softmax_profile_with_several_quantities(tmp_path):
    from sigprop.rho.softmax_profile import semi_analytic

    W = sp.make_weights(0.5, 0.1, 4, seed=0)
    prof = semi_analytic(W, 6, quantity=["weight", "gradient"], samples=256, seed=0)
    ds = prof.to_xarray()
    assert ds.value.dims == ("quantity", "position") and ds.quantity.values.tolist() == ["weight", "gradient"]
    np.testing.assert_array_equal(ds.se.sel(quantity="gradient"), prof.select("gradient").se)
    back = roundtrip(prof, tmp_path)
    np.testing.assert_array_equal(back.value, prof.value)


def check_records(result, tmp_path, name, dims, value, where):
    """``result`` round-trips and ``records_<value>`` sits at the coordinates of its record."""
    back = roundtrip(result, tmp_path)
    plain = {k: v for k, v in json.loads(json.dumps(result.to_json())).items() if k not in (TAG, KEYS)}
    assert back.kind == result.kind and back == plain
    ds = back.to_xarray()
    assert ds[f"{name}_{value}"].dims == dims
    rows = result[name]
    for row in (rows[0], rows[-1]):
        expected = np.nan if row[value] is None else row[value]          # None in JSON: NaN in the Dataset
        assert float(ds[f"{name}_{value}"].sel({k: row[k] for k in where})) == pytest.approx(expected, nan_ok=True)


def test_gaussian_error_study(tmp_path):
    from sigprop.rho.gaussian_error import study

    res = study([2, 4], [0.1, 1.0], T=6, samples=300)
    check_records(res, tmp_path, "rows", ("d", "v"), "gauss_vs_exact", ("d", "v"))


def test_stable_ranks_and_gradient_norms(tmp_path):
    from sigprop.gap import stable_rank as SR

    dims = ("config", "gamma", "length", "seed", "layer")
    res = SR.stable_ranks(["A", "A_perp"], lengths=(6,), gammas=(1.0,), layers=2, seeds=[0, 1])
    check_records(res, tmp_path, "records", dims, "stable_rank", dims)
    res = SR.gradient_norms(["A"], lengths=(6,), gammas=(1.0,), layers=2, seeds=[0, 1], probes=2)
    check_records(res, tmp_path, "records", dims, "grad_W_V", dims)


def test_trainability(tmp_path):
    from sigprop.gap.trainability import train

    res = train(["A+skip+LN"], targets=["identity"], lrs=[0.01], length=6, layers=1, seeds=[0, 1],
                samples=3, steps=2)
    keys = ("config", "target", "lr", "seed")
    check_records(res, tmp_path, "records", keys, "final", keys)
    assert res.to_xarray().records_losses.shape[-1] == len(res["records"][0]["losses"])   # the loss curve


def test_attention_training_and_locater_sweep(tmp_path):
    from sigprop.model.locater_sweep import sweep
    from sigprop.model.train import TrainConfig, train

    cfg = TrainConfig(d=4, d_k=4, T=6, batch=4, steps=4, log_every=2, probe=8)
    run = train(cfg)
    check_records(run, tmp_path, "history", ("step",), "train_loss", ("step",))
    res = sweep(cfg, [0.0, 0.5], [0, 1])
    check_records(res, tmp_path, "runs", ("locater", "seed"), "rho_total", ("locater", "seed"))


def test_command_line_results(tmp_path):
    from sigprop import cli

    out = tmp_path / "v.json"
    assert cli.main(["validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "6", "--method",
                     "both", "--samples", "400", "--out", str(out), "--no-progress", "--format", "json"]) == 0
    res = sp.load(out)
    assert isinstance(res, Result) and res.kind == "validation"
    ds = res.to_xarray()
    assert ds.rho.dims == ("position",) and ds.methods_rho.dims == ("method", "position")
    np.testing.assert_allclose(ds.methods_rho.sel({"method": "exact"}), res["methods"]["exact"]["rho"])
    np.testing.assert_allclose(ds.rho_mc, res["rho_mc"])
    assert ds.attrs["T"] == 6 and ds.attrs["samples"] == 400
    assert sp.load(out).to_xarray().identical(ds)
    out = tmp_path / "q.json"
    assert cli.main(["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "5", "--query", "all",
                     "--out", str(out), "--format", "json"]) == 0
    ds = sp.load(out).to_xarray()
    assert ds.rho.dims == ("query", "position") and ds.localization_total.dims == ("query",)


def _checkpoint(tmp_path):
    """A two-layer GPT-2 style checkpoint of two heads (d = 4), written with safetensors."""
    st = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(0)
    path = tmp_path / "model.safetensors"
    st.save_file({f"h.{layer}.attn.c_attn.weight": rng.standard_normal((4, 12)).astype(np.float32)
                  for layer in range(2)}, str(path))
    (tmp_path / "config.json").write_text(json.dumps({"n_head": 2}))
    return path


def test_heads_out_file_and_printed_list_load_as_the_same_labelled_result(tmp_path, capsys):
    from sigprop import cli

    path = _checkpoint(tmp_path)
    assert cli.main(["heads", str(path), "--length", "6", "--out", str(tmp_path / "h.json"), "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)            # the list of records --format json prints
    res = sp.load(tmp_path / "h.json")
    assert res.kind == "heads"
    ds = res.to_xarray()
    assert ds.records_rho.dims == ("layer", "head", "position") and ds.records_eig_var.dims == ("layer", "head")
    assert ds.position.values.tolist() == [1, 2, 3, 4, 5, 6] and ds.attrs["layout"] == "gpt2"
    for r in printed:
        np.testing.assert_array_equal(ds.records_rho.sel(layer=r["layer"], head=r["head"]), r["rho"])
        assert float(ds.records_eig_var.sel(layer=r["layer"], head=r["head"])) == r["eig_var"]
    (tmp_path / "list.json").write_text(json.dumps(printed))
    assert sp.load(tmp_path / "list.json").to_xarray().records_rho.identical(ds.records_rho)
    netcdf_roundtrip(res, tmp_path)


def test_minilm_heads_out_loads(tmp_path):
    from sigprop import cli
    from tests.helpers import minilm_checkpoint

    out = tmp_path / "h.json"
    assert cli.main(["heads", minilm_checkpoint(), "--length", "8", "--out", str(out), "--no-progress"]) == 0
    ds = sp.load(out).to_xarray()
    assert dict(ds.records_rho.sizes) == dict(layer=6, head=12, position=8)


def test_every_computing_command_has_out():
    """``--out`` on every command of sigprop's own families but ``explore`` (a server) and ``sweep``
    (its ``--store`` is the result); plugins (``sigprop figures``, which writes figures) aside."""
    from sigprop.cli.app import commands

    missing = [name for name, cmd in commands(plugins=False).items()
               if cmd.run.__module__.startswith("sigprop.cli.") and cmd.out is None
               and name not in ("explore", "sweep")]
    assert missing == []


@pytest.mark.parametrize("argv, kind", [
    (["gap", "--length", "16"], "gap"),
    (["width", "--lengths", "8,16", "--samples", "2"], "width"),
    (["depth", "--layers", "2", "--length", "8"], "depth"),
])
def test_gap_commands_out_files_load(tmp_path, argv, kind):
    from sigprop import cli

    out = tmp_path / "r.json"
    assert cli.main([*argv, "--out", str(out), "--no-progress"]) == 0
    res = sp.load(out)
    assert res.kind == kind
    ds = res.to_xarray()
    if kind == "width":
        assert ds.length.values.tolist() == [8, 16] and ds.rows_vanilla_rank_residual.dims == ("length",)
        np.testing.assert_array_equal(ds.rows_vanilla_rank_residual, [r["vanilla"]["rank_residual"]
                                                                       for r in res["rows"]])
    netcdf_roundtrip(res, tmp_path)


def test_untagged_files_are_inferred_or_refused_in_one_line(tmp_path):
    p = sp.theory_spectrum(0.5, 0.1, 4, 6)
    old = dict(config={"length": 6}, positions=p.positions.tolist(), rho=p.rho.tolist())
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert sp.load(tmp_path / "old.json").kind == "prediction"
    (tmp_path / "run.json").write_text(json.dumps(dict(kind="lm-train", config={}, history=[])))
    assert sp.load(tmp_path / "run.json").kind == "lm-train"
    (tmp_path / "x.json").write_text(json.dumps({"a": 1}))
    with pytest.raises(ValueError, match="no 'sigprop_type' tag") as info:
        sp.load(tmp_path / "x.json")
    assert "\n" not in str(info.value)
    (tmp_path / "y.json").write_text("not json")
    with pytest.raises(ValueError, match="not a sigprop result file"):
        sp.load(tmp_path / "y.json")
    with pytest.raises(FileNotFoundError):
        sp.load(tmp_path / "missing.json")


@pytest.mark.parametrize("change, message", [
    (dict(sigprop_type="validation"), "no 'rho_mc' or 'value_mc' field"),   # a prediction re-tagged
    (dict(rho="abc"), "'rho' is 'abc', not a list of numbers"),
    (dict(rho=[0.5, 0.5]), "'rho' has 2 entries per row, not one per position"),
    (dict(positions=[1, 1, 2, 3, 4, 5]), "not a list of increasing positive integers"),
    (dict(config=[1]), "'config' is list, not an object"),
    (dict(sigprop_type="gaussian-error", rows=3), "'rows' is 3, not a list of records"),
])
def test_a_file_whose_fields_do_not_fit_its_tag_is_refused_in_one_line(tmp_path, change, message):
    from sigprop import cli

    out = tmp_path / "p.json"
    assert cli.main(["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "6",
                     "--out", str(out), "--format", "json"]) == 0
    data = json.loads(out.read_text())
    if change.get("sigprop_type") == "gaussian-error":
        data[KEYS] = {"rows": ["d", "v"]}
    out.write_text(json.dumps({**data, **change}))
    with pytest.raises(ValueError, match="its fields do not fit the type") as info:
        sp.load(out)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_sweep_store_opens_as_its_dataset(tmp_path):
    pytest.importorskip("zarr")
    ds = xr.Dataset({"rho": (("v", "position"), np.arange(6.0).reshape(2, 3))}, coords={"v": [0.1, 1.0]},
                    attrs={"study": "validation"})
    ds.to_zarr(tmp_path / "s.zarr", zarr_format=2, consolidated=True)      # as sigprop sweep writes it
    assert sp.load(tmp_path / "s.zarr").load().identical(ds)
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match="a folder, not a result file"):
        sp.load(tmp_path / "folder")


def test_gap_validity_arrays_are_labelled_by_sigma_length_seed(tmp_path):
    from sigprop.gap import validity

    raw = validity.measure([0.5, 1.0], [8, 16, 32], seeds=3)
    ds = roundtrip(raw, tmp_path).to_xarray()
    assert ds.measured_sigma_2.dims == ("sigma", "length", "seed") and ds.predicted_kappa.dims == ("sigma", "length")
    assert ds.length.values.tolist() == [8, 16, 32] and ds.sigma.values.tolist() == [0.5, 1.0]
    assert float(ds.measured_eig_2.sel(sigma=1.0, length=16, seed=2)) == raw["measured"]["eig_2"][1, 1, 2]


ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, kind", [("gap_validity.json", "gap-validity"), ("softmax_map.json", "softmax-map")])
def test_the_study_files_kept_in_the_docs_are_recognised(name, kind):
    raw = json.loads((ROOT / "docs" / "figures" / name).read_text())
    res = sp.load(ROOT / "docs" / "figures" / name)
    assert res.kind == kind
    ds = res.to_xarray()
    if kind == "gap-validity":
        cfg = raw["config"]
        assert dict(ds.measured_sigma_1.sizes) == dict(sigma=len(cfg["sigmas"]), length=len(cfg["lengths"]),
                                                       seed=cfg["seeds"])
        assert float(ds.measured_sigma_1.isel(sigma=-1, length=0, seed=1)) == raw["measured"]["sigma_1"][-1][0][1]
        assert ds.region_sigma_1_verdict.dims == ("sigma", "length")
    else:
        row = raw["rows"][-1]
        at = {k: row[k] for k in ("m", "v", "d", "T")}
        assert float(ds["rows_weight.entropy_normalized"].sel(at)) == pytest.approx(row["weight.entropy_normalized"])
