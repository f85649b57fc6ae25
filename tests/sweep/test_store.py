"""The store: regions per cell, failures recorded, resume, refusal of a changed spec (in-process engine)."""
import numpy as np
import pytest

import sigprop.sweep as sw
from sigprop._version import __version__
from sigprop.sweep.registry import Dim, register
from sigprop.sweep.store import Store


@register("test-ramp", axes=("x", "n"), outputs={"y": (), "ramp": ("k",)},
          dims={"k": Dim(size=lambda a: a["n"])})
def ramp(x: float, n: int, *, fail_above: float = np.inf, seed=0) -> dict:
    """A toy study: fails for x above ``fail_above``; ``ramp`` has ``n`` entries."""
    if x > fail_above:
        raise ArithmeticError(f"x = {x} is too large\nsecond line")
    noise = np.random.default_rng(seed).standard_normal()
    return dict(y=x + noise, ramp=x * np.arange(n))


SPEC = dict(study="test-ramp", seed=4, args=dict(fail_above=2.5), axes=dict(x=[1.0, 2.0, 3.0], n=[2, 3]))


def same(a, b):
    assert set(a.data_vars) == set(b.data_vars) and a.attrs == b.attrs
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values)


def test_a_registered_study_runs_and_failures_are_recorded(tmp_path):
    assert sw.STUDIES["test-ramp"].function == f"{__name__}:ramp"
    res = sw.run(SPEC, tmp_path / "s.zarr", workers=0, progress=False)
    assert (res["done"], res["failed"], res["pending"], res["ran"]) == (4, 2, 0, 6)
    ds = sw.open(tmp_path / "s.zarr").load()
    assert ds.ramp.dims == ("x", "n", "k") and list(ds.k.values) == [0, 1, 2]
    np.testing.assert_array_equal(ds.ramp.sel(x=2.0, n=2).values, [0.0, 2.0, np.nan])     # padded
    seed = sw.cell_seed(4, dict(x=1.0, n=3))
    assert ds.cell_seed.sel(x=1.0, n=3).item() == seed
    assert ds.y.sel(x=1.0, n=3).item() == ramp(1.0, 3, seed=seed)["y"]
    assert ds.error.sel(x=3.0, n=2).item() == "ArithmeticError: x = 3.0 is too large"
    assert ds.status.sel(x=3.0).values.tolist() == [2, 2] and np.isnan(ds.y.sel(x=3.0)).all()
    assert ds.attrs["sigprop_version"] == __version__ and ds.attrs["study"] == "test-ramp"
    assert sw.Spec.from_dict(__import__("json").loads(ds.attrs["sweep_spec"])) == sw.Spec.load(SPEC)
    st = sw.status(tmp_path / "s.zarr")
    assert (st["done"], st["failed"], st["pending"], st["total"]) == (4, 2, 0, 6)
    assert st["failures"][1] == (dict(x=3.0, n=3), "ArithmeticError: x = 3.0 is too large")
    # a rerun computes the failed cells again (and only them)
    assert sw.run(SPEC, tmp_path / "s.zarr", workers=0, progress=False)["ran"] == 2
    assert sw.run(SPEC, tmp_path / "s.zarr", workers=0, progress=False, retry_failed=False)["ran"] == 0


def test_interrupted_and_half_written_cells_are_recomputed(tmp_path):
    ref = tmp_path / "ref.zarr"
    sw.run(SPEC, ref, workers=0, progress=False)

    def stop(counts):
        if counts["done"] + counts["failed"] == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        sw.run(SPEC, tmp_path / "s.zarr", workers=0, progress=False, callback=stop)
    st = Store(tmp_path / "s.zarr")
    assert st.counts() == dict(pending=4, done=2, failed=0, total=6)
    todo = st.todo()
    st.group["y"][todo[0]] = 99.0               # a cell killed after its data, before its status
    st.group["ramp"][todo[0]] = np.full(3, 99.0)
    assert st.counts()["pending"] == 4
    res = sw.run(SPEC, tmp_path / "s.zarr", workers=0, progress=False)
    assert res["ran"] == 4
    same(sw.open(ref), sw.open(tmp_path / "s.zarr"))


def test_a_changed_spec_is_refused_unless_overwrite(tmp_path):
    path = tmp_path / "s.zarr"
    sw.run(SPEC, path, workers=0, progress=False)
    changed = dict(SPEC, axes=dict(x=[1.0, 2.0], n=[2, 3]))
    with pytest.raises(ValueError) as err:
        sw.run(changed, path, workers=0, progress=False)
    assert str(err.value) == (f"{path} holds a different sweep (differs in axes.x); "
                              "use overwrite (--overwrite) to replace it, or another store")
    res = sw.run(changed, path, workers=0, progress=False, overwrite=True)
    assert res["total"] == 4 and res["ran"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]          # no temporary left behind
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="is not a sweep store"):
        sw.run(SPEC, tmp_path / "plain", workers=0, progress=False)


def test_a_store_of_another_version_of_the_study_is_refused(tmp_path):
    path = tmp_path / "s.zarr"
    sw.run(SPEC, path, workers=0, progress=False)
    study = sw.STUDIES["test-ramp"]
    sw.STUDIES["test-ramp"] = sw.Study(study.function, study.axes, {**study.outputs, "z": ()}, study.dims)
    try:
        with pytest.raises(ValueError, match="written by another version of study 'test-ramp' "
                                             "\\(no variable 'z'\\); use overwrite"):
            sw.run(SPEC, path, workers=0, progress=False)
        assert sw.status(path)["done"] == 4                 # still readable
    finally:
        sw.STUDIES["test-ramp"] = study
    spec = dict(SPEC, args={})                              # fail_above left to its default
    sw.run(spec, tmp_path / "d.zarr", workers=0, progress=False)
    changed = sw.Study(f"{__name__}:ramp_with_another_default", study.axes, study.outputs, study.dims)
    sw.STUDIES["test-ramp"] = changed
    try:
        with pytest.raises(ValueError, match="had other defaults \\(for fail_above\\)"):
            sw.run(spec, tmp_path / "d.zarr", workers=0, progress=False)
    finally:
        sw.STUDIES["test-ramp"] = study


def ramp_with_another_default(x: float, n: int, *, fail_above: float = 1.5, seed=0) -> dict:
    return ramp(x, n, fail_above=fail_above, seed=seed)


def test_one_runner_per_store(tmp_path):
    path = tmp_path / "s.zarr"
    sw.run(SPEC, path, workers=0, progress=False, retry_failed=False)
    holder = Store(path)
    holder.lock()
    try:
        with pytest.raises(ValueError, match="is being written by another sigprop sweep"):
            sw.run(SPEC, path, workers=0, progress=False)
        assert sw.status(path)["done"] == 4                  # reading is allowed meanwhile
    finally:
        holder.unlock()
    assert sw.run(SPEC, path, workers=0, progress=False)["ran"] == 2
