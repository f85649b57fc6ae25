"""The generic labelling of study results (sigprop.core.labelled), and xarray as an optional extra."""
import sys

import numpy as np
import pytest

from sigprop.core import labelled
from sigprop.core.labelled import Result, infer_keys

xr = pytest.importorskip("xarray")


def test_keys_are_inferred_only_when_they_identify_each_record():
    rows = [dict(name="a", seed=0, x=1.5), dict(name="a", seed=1, x=2.5), dict(name="b", seed=0, x=3.5)]
    assert infer_keys(rows) == ("name", "seed")
    ds = Result(dict(config=dict(T=4), rows=rows), kind="demo").to_xarray()
    assert ds.rows_x.dims == ("name", "seed")
    assert float(ds.rows_x.sel(name="b", seed=0)) == 3.5 and np.isnan(ds.rows_x.sel(name="b", seed=1))
    assert ds.attrs["T"] == 4 and ds.attrs["sigprop_type"] == "demo"
    same = [dict(name="a", x=1.0), dict(name="a", x=2.0)]                 # not identifying: one axis
    assert infer_keys(same) == ()
    assert Result(dict(rows=same), kind="demo").to_xarray().rows_x.dims == ("rows",)


def test_a_field_null_in_a_record_is_no_inferred_key():
    # a null would be a missing label of the key's coordinate (the records could not be unstacked)
    rows = [dict(name="a", low=None, x=1.0), dict(name="b", low=3, x=2.0)]
    assert infer_keys(rows) == ("name",)
    ds = Result(dict(rows=rows), kind="demo").to_xarray()
    assert ds.rows_x.dims == ("name",) and np.isnan(ds.rows_low.sel(name="a")) and ds.rows_low.sel(name="b") == 3


def test_a_declared_axis_may_take_the_rest_of_the_array_name():
    # "{}" in a declared axis: the rest of the name after the declared key; lengths may then differ
    assert labelled.declared({"repeats": ("{}_repeat",)}, "repeats_mc", 1) == ("mc_repeat",)
    res = Result(dict(repeats=dict(mc=[1.0, 2.0], startup=[1.0, 2.0, 3.0])), kind="demo",
                 dims={"repeats": ("{}_repeat",)})
    ds = res.to_xarray()
    assert ds.repeats_mc.dims == ("mc_repeat",) and ds.sizes["startup_repeat"] == 3


def test_records_take_the_coordinates_of_a_declared_axis_from_the_configuration():
    rows = [dict(layer=0, error=[0.1, 0.2, 0.3]), dict(layer=1, error=[0.4, 0.5, 0.6])]
    ds = Result(dict(config=dict(lags=[1, 2, 4]), rows=rows), kind="demo", dims={"rows_error": ("lag",)}).to_xarray()
    assert ds.rows_error.dims == ("layer", "lag") and ds.lag.values.tolist() == [1, 2, 4]


def test_nested_dicts_and_text_go_where_they_belong():
    res = Result(dict(config=dict(note="x", grid=[1, 2]), positions=[1, 2, 3], rho=[0.1, 0.2, 0.3],
                      localization=dict(total=0.6), verdict="ok", ragged=[[1], [1, 2]]), kind="demo")
    ds = res.to_xarray()
    assert ds.rho.dims == ("position",) and float(ds.localization_total) == 0.6
    assert ds.attrs["verdict"] == "ok" and ds.attrs["ragged"] == "[[1], [1, 2]]"
    assert ds.attrs["note"] == "x" and "grid" not in ds.attrs and '"grid": [1, 2]' in ds.attrs["config"]


def test_without_xarray_the_error_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)
    with pytest.raises(ImportError, match=r"^labelled results need xarray: pip install 'sigprop\[xarray\]'$"):
        labelled.xarray()
