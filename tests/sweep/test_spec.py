"""Sweep specifications: TOML and dict alike, ranges, one-line refusals, derived seeds."""
import subprocess
import sys

import pytest

from sigprop.sweep import STUDIES, Spec, cell_seed
from sigprop.sweep.spec import _expand

BASE = dict(study="profile", args=dict(d=16, T=8), axes=dict(m=[0.5], v=[0.1, 1.0]))


def test_toml_equals_dict(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('study = "profile"\nseed = 3\n[args]\nd = 16\nT = 8\n'
                    '[axes]\nm = [0.5]\nv = {start = 0.01, stop = 1.0, num = 3, spacing = "log"}\n')
    from_toml = Spec.load(path)
    from_dict = Spec.load(dict(study="profile", seed=3, args=dict(d=16, T=8),
                               axes=dict(m=[0.5], v=[0.01, 0.1, 1.0])))
    assert from_toml == from_dict
    assert from_toml.shape == (1, 3) and from_toml.size == 3
    assert list(from_toml.axes) == ["m", "v"]          # the TOML order is the axis order


@pytest.mark.parametrize("table, values", [
    ({"start": 0, "stop": 5}, [0, 1, 2, 3, 4]),
    ({"start": 2, "stop": 9, "step": 3}, [2, 5, 8]),
    ({"start": 0.1, "stop": 0.4, "step": 0.1}, [0.1, 0.2, 0.3]),
    ({"start": 0.0, "stop": 1.0, "num": 5}, [0.0, 0.25, 0.5, 0.75, 1.0]),
    ({"start": 1, "stop": 100, "num": 3, "spacing": "log"}, [1.0, 10.0, 100.0]),
])
def test_ranges(table, values):
    assert _expand("x", table) == values


def test_mixed_ints_and_floats_become_floats():
    assert _expand("m", [0, 0.5, 1]) == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("change, words", [
    (dict(study="nope"), "study must be one of"),
    (dict(axes=dict(q=[1])), "axis 'q' is not an axis of study 'profile'"),
    (dict(args=dict(d=16, T=8, bogus=1)), "args.bogus: study 'profile' has no argument"),
    (dict(args=dict(d=16, T=8, m=0.5)), "'m' is both a fixed argument and an axis"),
    (dict(args=dict(T=8)), "needs 'd'"),
    (dict(axes=dict(m=[0.5], v=[0.1, 0.1])), "axes.v has repeated values"),
    (dict(axes=dict(m=[], v=[0.1])), "axes.m is empty"),
    (dict(axes=dict(m={"start": 0, "stop": 1, "step": 0.5, "num": 3})), "a range is"),
    (dict(axes=dict(m={"start": 0, "stop": 1, "num": 3, "spacing": "log"})), "log range needs start > 0"),
    (dict(axes=dict(m=[0.5, "a"])), "of one kind"),
    (dict(axes={}), "at least one axis"),
    (dict(seed=-1), "seed must be an integer >= 0"),
    (dict(colour="red"), "unknown key 'colour'"),
    (dict(study="validation", args=dict(d=4, T=8, seed=1)), "args.seed: a cell's seed is derived"),
    (dict(axes=dict(m=[0.5], seed=[0, 1])), "axis 'seed' is not an axis"),     # profile takes no seed
])
def test_bad_specs_are_refused_in_one_line(change, words):
    with pytest.raises(ValueError) as err:
        Spec.from_dict({**BASE, **change})
    assert words in str(err.value) and "\n" not in str(err.value)


def test_bad_toml_is_refused_in_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("study = \n")
    with pytest.raises(ValueError, match="not valid TOML"):
        Spec.load(path)
    with pytest.raises(ValueError, match="is not a file"):
        Spec.load(tmp_path / "missing.toml")


def test_cell_seed_depends_only_on_the_cell():
    small = Spec.from_dict(dict(study="validation", seed=7, args=dict(T=8, m=0.5),
                                axes=dict(d=[2, 4], v=[0.1])))
    other = Spec.from_dict(dict(study="validation", seed=7, args=dict(T=8, m=0.5),
                                axes=dict(v=[1.0, 0.1], d=[4])))     # other order, other extent
    assert small.cell_seed((1, 0)) == other.cell_seed((1, 0)) == cell_seed(7, dict(d=4, v=0.1))
    seeds = {small.cell_seed(ix) for ix in small.cells()} | {other.cell_seed((0, 0))}
    assert len(seeds) == 3                                   # (4, 0.1), (2, 0.1), (4, 1.0)
    assert cell_seed(8, dict(d=4, v=0.1)) != cell_seed(7, dict(d=4, v=0.1))
    assert 0 <= cell_seed(7, dict(d=4, v=0.1)) < 2 ** 63
    assert small.arguments((1, 0)) == dict(T=8, m=0.5, d=4, v=0.1, seed=cell_seed(7, dict(d=4, v=0.1)))


def test_a_seed_axis_is_a_replicate_index():
    spec = Spec.from_dict(dict(study="validation", args=dict(T=8, m=0.5, d=2, v=0.1),
                               axes=dict(seed={"start": 0, "stop": 3})))
    args = [spec.arguments(ix) for ix in spec.cells()]
    assert len({a["seed"] for a in args}) == 3 and all("seed" in a for a in args)


def test_examples_are_valid_specs():
    from pathlib import Path
    folder = Path(__file__).resolve().parents[2] / "examples" / "sweeps"
    studies = {Spec.load(p).study for p in folder.glob("*.toml")}
    assert {"gaussian-error", "locater"} <= studies <= set(STUDIES)


def test_the_core_package_imports_without_the_sweep_extra():
    code = ("import sys, sigprop, sigprop.sweep, sigprop.sweep.spec\n"
            "assert not {'xarray', 'zarr', 'distributed', 'dask'} & set(sys.modules), sys.modules.keys()")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_missing_extra_is_named_in_one_line():
    from sigprop.sweep._deps import require
    with pytest.raises(ImportError) as err:
        require("surely_not_installed_module")
    assert "pip install 'sigprop[sweep]'" in str(err.value) and "\n" not in str(err.value)
