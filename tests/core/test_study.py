"""Adding a study is one descriptor: the command line, the sweep engine, ``sigprop.load`` and
``.to_xarray()`` find a toy study defined here, with named dimensions (CONTRIBUTING.md, "Adding a study")."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import sigprop
from sigprop.core import checks
from sigprop.core import study as descriptors
from sigprop.core.study import Cli, Dim, Study, StudyResult, coordinate, measure, settings

xr = pytest.importorskip("xarray")


@dataclass(frozen=True)
class Ramp(StudyResult):
    """The toy study's typed result: a ramp over positions ``1..T`` and its sum."""
    KIND = "toy-ramp"
    positions: Any = coordinate("position")
    value: Any = measure("position")
    total: Any = measure()
    config: dict = settings()


def ramp(T: int, slope: float = 1.0, seed: int = 0) -> Ramp:
    """The toy study's API function: ``value_i = slope * i / T``, plus a noise of scale 0 from ``seed``."""
    T = checks.integer("T", T, 2)
    positions = np.arange(1, T + 1)
    value = slope * positions / T + 0.0 * np.random.default_rng(seed).standard_normal(T)
    return Ramp(positions=positions, value=value, total=float(value.sum()), config=dict(T=T, slope=slope, seed=seed))


TOY = Study(
    name="toy-ramp", function=f"{__name__}:ramp", result=f"{__name__}:Ramp",
    cli=Cli("toy-ramp", help="a ramp over positions", flags={"T": "--length", "slope": "--slope", "seed": "--seed"},
            view=dict(columns=("position=positions", "value"))),
    axes=("T", "slope"), dims={"position": Dim(size=lambda args: int(args["T"]), start=1)},
    quick=dict(T=4), description="a toy study: a ramp over positions")


@pytest.fixture
def toy():
    """The toy study registered; every registry forgets it afterwards."""
    from sigprop.cli import app
    from sigprop.sweep import registry

    descriptors.register(TOY)
    yield TOY
    descriptors._STUDIES.pop(TOY.name, None)
    app._COMMANDS.pop(TOY.cli.command, None)
    registry.STUDIES.pop(TOY.name, None)


def _no_unnamed(ds) -> None:
    assert not [d for d in ds.dims if "_axis_" in str(d) or str(d).startswith("axis_")], ds.dims


def test_the_cli_finds_the_study_and_load_reads_its_result(toy, tmp_path, capsys):
    from sigprop.cli import app

    assert "toy-ramp" in app.commands()
    out = tmp_path / "ramp.json"
    assert app.main(["toy-ramp", "--length", "5", "--slope", "2", "--format", "json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(printed["value"], 2 * np.arange(1, 6) / 5)
    res = sigprop.load(out)
    assert isinstance(res, Ramp) and res.total == pytest.approx(6.0)
    ds = res.to_xarray()
    assert ds.value.dims == ("position",) and list(ds.position.values) == [1, 2, 3, 4, 5]
    assert ds.attrs["sigprop_type"] == "toy-ramp" and ds.attrs["slope"] == 2.0
    _no_unnamed(ds)


def test_the_cli_refuses_a_bad_argument_in_one_line_naming_its_flag(toy, capsys):
    from sigprop.cli import app

    assert app.main(["toy-ramp", "--length", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--length" in err[0]


def test_the_sweep_engine_runs_the_study_with_its_declared_dimensions(toy, tmp_path):
    pytest.importorskip("zarr")
    import sigprop.sweep as sw

    assert sw.registry.get("toy-ramp")[1].outputs == {"value": ("position",), "total": ()}
    spec = {"study": "toy-ramp", "args": {"slope": 3.0}, "axes": {"T": [2, 4]}}
    counts = sw.run(spec, tmp_path / "ramp.zarr", workers=0, progress=False)
    assert counts["done"] == 2 and counts["failed"] == 0
    ds = sw.open(tmp_path / "ramp.zarr")
    assert ds.value.dims == ("T", "position") and ds.total.dims == ("T",)
    np.testing.assert_allclose(ds.value.sel(T=4).values, 3 * np.arange(1, 5) / 4)
    assert np.isnan(ds.value.sel(T=2).values[2:]).all()           # shorter cells padded with NaN
    np.testing.assert_allclose(ds.total.values, [4.5, 7.5])
    _no_unnamed(ds)


def test_a_saved_result_reads_back_identical(toy, tmp_path):
    res = ramp(6, slope=0.5)
    res.save(tmp_path / "r.json")
    back = sigprop.load(tmp_path / "r.json")
    assert back.to_xarray().identical(res.to_xarray())


def test_the_validation_study_is_a_descriptor_read_by_every_reader(tmp_path):
    """The migrated study: ``sigprop validate`` is its command, ``validate`` its sweep study, and its
    typed result reads back through ``sigprop.load`` with dimensions ``method`` and ``position``."""
    from sigprop.cli import app
    from sigprop.rho.logits import LogitModel
    from sigprop.rho.validation import STUDY, Validation, validate
    from sigprop.sweep import registry

    assert descriptors.get("validate") is STUDY and app.commands()["validate"].kind == "validation"
    assert registry.get("validate")[1].outputs == Validation.outputs()
    w_seed, mc_seed = np.random.SeedSequence(1).spawn(2)
    model = LogitModel.from_spectrum(0.5, 0.1, 8, 6, basis="random", seed=w_seed)
    res = validate(model, ["gaussian", "exact"], samples=2000, seed=mc_seed)
    res.save(tmp_path / "v.json")
    ds = sigprop.load(tmp_path / "v.json").to_xarray()
    assert ds.rho.dims == ("method", "position") and list(ds.method.values) == ["gaussian", "exact"]
    assert ds.rho_mc.dims == ("position",) and ds.coverage.dims == ("method",)
    _no_unnamed(ds)


@pytest.mark.parametrize("name", ["validate", "validate-softmax"])
def test_the_validation_sweep_studies_run_from_their_descriptors(name, tmp_path):
    """One small cell of each: the sweep's variables are the typed result's measures, over the
    declared dimensions (``method`` holds the Gaussian and exact forms, ``position`` 1..T)."""
    pytest.importorskip("zarr")
    import sigprop.sweep as sw

    args = dict(m=0.5, v=0.1, T=6, samples=400, **({"points": 256} if name == "validate-softmax" else {}))
    counts = sw.run({"study": name, "args": args, "axes": {"d": [4]}}, tmp_path / "s.zarr", workers=0,
                    progress=False)
    assert counts["done"] == 1 and counts["failed"] == 0
    ds = sw.open(tmp_path / "s.zarr")
    assert list(ds.position.values) == [1, 2, 3, 4, 5, 6]
    if name == "validate":
        assert ds.rho.dims == ("d", "method", "position") and list(ds.method.values) == ["gaussian", "exact"]
    else:
        assert ds.value.dims == ("d", "position") and ds.agree.dims == ("d",)
    _no_unnamed(ds)
