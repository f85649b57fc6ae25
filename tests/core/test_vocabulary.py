"""One vocabulary: the names of docs/theory.md (T, m, v, d) in the API, the CLI's result files and
labelled results; the old keys and keywords still work, with a DeprecationWarning."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import sigprop as sp
from sigprop import cli
from sigprop.core.vocabulary import RENAMED, Config, canonical_config


def test_predict_file_names_the_quantities_as_the_api_does(tmp_path):
    pytest.importorskip("xarray")
    out = tmp_path / "p.json"
    assert cli.main(["predict", "--mean", "0.5", "--var", "0.1", "--dim", "8", "--length", "12",
                     "--out", str(out)]) == 0
    cfg = json.loads(out.read_text())["config"]
    assert {"T", "m", "v", "d"} <= set(cfg) and not set(cfg) & set(RENAMED)
    from_cli = sp.load(out).to_xarray()
    from_api = sp.theory_spectrum(0.5, 0.1, 8, 12).to_xarray()
    for name in ("T", "m", "v", "d"):
        api = from_api.attrs[name] if name in from_api.attrs else from_api[name].item()
        assert from_cli.attrs[name] == api, name
    np.testing.assert_array_equal(from_cli.rho, from_api.rho)


def test_an_old_file_reads_with_the_new_keys_and_the_old_ones_warn(tmp_path):
    p = sp.theory_spectrum(0.5, 0.1, 8, 6)
    old = dict(sigprop_type="prediction", config=dict(length=6, mean=0.5, var=0.1, dim=8, form="finite"),
               positions=p.positions.tolist(), rho=p.rho.tolist())
    (tmp_path / "old.json").write_text(json.dumps(old))
    res = sp.load(tmp_path / "old.json")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (res["config"]["T"], res["config"]["m"], res["config"]["v"], res["config"]["d"]) == (6, 0.5, 0.1, 8)
    with pytest.warns(DeprecationWarning, match=r"config\['length'\] is deprecated: use config\['T'\]"):
        assert res["config"]["length"] == 6
    with pytest.warns(DeprecationWarning, match="config\\['dim'\\]"):
        assert res["config"].get("dim") == 8
    assert res["config"].get("absent", 3) == 3
    with pytest.raises(KeyError):
        res["config"]["absent"]


def test_canonical_config_keeps_a_new_key_over_its_old_name():
    cfg = canonical_config({"T": 5, "length": 9, "eig_mean": 0.2, "form": "finite"})
    assert dict(cfg) == {"T": 5, "m": 0.2, "form": "finite"} and isinstance(cfg, Config)


def test_gaussian_error_old_keyword_mean_warns_and_gives_the_same_numbers():
    from sigprop.rho.gaussian_error import case

    new = case(2, 0.1, m=0.3, T=4, samples=200, seed=1)
    with pytest.warns(DeprecationWarning, match="the keyword mean is deprecated: use m"):
        old = case(2, 0.1, mean=0.3, T=4, samples=200, seed=1)
    assert old == new
    with pytest.raises(TypeError, match="not both"):
        case(2, 0.1, m=0.3, mean=0.3, T=4, samples=200)
