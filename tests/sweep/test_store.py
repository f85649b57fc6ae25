"""The store: regions per cell, failures recorded, resume, refusal of a changed spec (in-process engine)."""
import numpy as np
import pytest

import sigprop.sweep as sw
from sigprop._version import __version__
from sigprop.sweep import command
from sigprop.sweep.registry import Dim, register
from sigprop.sweep.store import Store


@register("test-ramp", axes=("x", "n"), outputs={"y": (), "ramp": ("k",)}, dims={"k": Dim(size=lambda a: a["n"])})
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
    text = command.status_text(tmp_path / "s.zarr")
    assert "4 done, 2 failed, 0 pending of 6 cells" in text and "failed at x=3.0, n=2: ArithmeticError" in text
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
    st._arrays["y"][todo[0]] = 99.0               # a cell killed after its data, before its status
    st._arrays["ramp"][todo[0]] = np.full(3, 99.0)
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
    assert str(err.value) == (f"{path} holds a different sweep (differs in axes.x); use overwrite (--overwrite) "
                              "to replace it, or another store")
    res = sw.run(changed, path, workers=0, progress=False, overwrite=True)
    assert res["total"] == 4 and res["ran"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]          # no temporary left behind
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="is not a sweep store"):
        sw.run(SPEC, tmp_path / "plain", workers=0, progress=False)


def test_command_line(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('study = "profile"\n[args]\nd = 8\nT = 6\n[axes]\nm = [0.25, 0.5, 1.0]\nv = [0.1, 1.0]\n')
    store = tmp_path / "p.zarr"
    assert command.main([str(spec), "--store", str(store), "--workers", "0", "--no-progress"]) == 0
    assert "6 done, 0 failed, 0 pending of 6 cells" in capsys.readouterr().out
    assert command.main(["--status", str(store)]) == 0
    assert "(study profile): 6 done" in capsys.readouterr().out
    assert command.main(["--plot", "localization_peak", str(store), "--out", str(tmp_path / "f.png")]) == 0
    assert (tmp_path / "f.png").stat().st_size > 1000
    for argv, words in ((["--plot", "nope", str(store)], "no variable 'nope'"),
                        ([str(spec)], "argument --store: required"),
                        (["--status"], "argument --store: required"),
                        ([str(tmp_path / "no.toml"), "--store", str(store)], "is not a file"),
                        ([str(spec), "--store", str(store), "--workers", "-1"], "must be an integer >= 0"),
                        ([str(spec), "--store", str(store), "--workers", "1", "--scheduler", "tcp://x:1"],
                         "not allowed with")):
        assert exit_code(argv) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err


def exit_code(argv):
    try:
        return command.main(argv)
    except SystemExit as exc:            # argparse's own refusals
        return exc.code
