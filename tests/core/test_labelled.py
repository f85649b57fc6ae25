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
