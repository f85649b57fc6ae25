"""Every registered study, one tiny result each: ``to_xarray()`` names every dimension, and the file it
saves reads back (``sigprop.load``) as the same type with the same dimensions.

A study is built from its descriptor's quick preset (``study.api()(**study.quick)``) unless
:data:`BUILD` says how (an API function taking a configuration or data, or a quick preset too
large for a test).  A study registered later must appear here: the test fails for one that
neither has a quick preset nor an entry in :data:`BUILD`.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

import sigprop as sp
from sigprop.core.study import studies

pytest.importorskip("xarray")

TRAIN = dict(d=4, d_k=4, T=6, batch=4, steps=4, log_every=2, probe=8)


def unnamed(ds) -> list[str]:
    return [str(d) for d in ds.dims if "_axis_" in str(d) or str(d).startswith("axis_")]


def _training(tmp_path):
    from sigprop.model.train import TrainConfig, train

    return train(TrainConfig(**TRAIN))


def _locater(tmp_path):
    from sigprop.model.locater_sweep import sweep
    from sigprop.model.train import TrainConfig

    return sweep(TrainConfig(**TRAIN), [0.0, 0.1], [0, 1])


def _lm(tmp_path):
    from tests.core.test_named_dims import _lm_training

    return _lm_training(tmp_path)


def _cell(name: str, **args):
    def build(tmp_path):
        from sigprop.core.study import resolve

        return resolve(studies()[name].cell)(**args)
    return build


BUILD = {
    "attention-training": _training,
    "training": _training,
    "locater": _locater,
    "lm": _lm,
    "validate": _cell("validate", m=0.5, v=0.1, d=4, T=6, samples=300),
    "validate-softmax": _cell("validate-softmax", m=0.5, v=0.1, d=4, T=6, points=256, samples=300),
    "validation": _cell("validate", m=0.5, v=0.1, d=4, T=6, samples=300),
    "softmax": lambda tmp: __import__("sigprop.rho.softmax_profile", fromlist=["semi_analytic"]).semi_analytic(
        np.eye(3), 6, quantity=("weight", "sensitivity", "gradient"), samples=256, seed=0),
    "gaussian-error": lambda tmp: studies()["gaussian-error"].api()([2, 4], [0.1], T=6, samples=300),
}


def build(name: str, tmp_path):
    if name in BUILD:
        return BUILD[name](tmp_path)
    study = studies()[name]
    assert study.quick, f"study {name!r} has no quick preset: add one to its descriptor, or a builder to BUILD"
    return study.api()(**study.quick)


@pytest.mark.parametrize("name", sorted(studies()))
def test_every_study_result_names_its_dimensions_and_reads_back(name, tmp_path):
    result = build(name, tmp_path)
    ds = result.to_xarray()
    assert unnamed(ds) == [], f"{name}: {unnamed(ds)}"
    result.save(tmp_path / "r.json")
    back = sp.load(tmp_path / "r.json")
    assert type(back) is type(result)
    assert getattr(back, "kind", None) == getattr(result, "kind", None)
    again = back.to_xarray()
    assert unnamed(again) == [] and dict(again.sizes) == dict(ds.sizes), f"{name}: {dict(again.sizes)}"


def test_every_sweep_study_is_a_descriptor():
    """The sweep's entries of sigprop's studies are derived from their descriptors (none is declared twice)."""
    from sigprop.sweep import registry

    described = {name for name, st in studies().items() if st.sweepable()}
    builtin = {name for name, st in registry.STUDIES.items() if st.function.startswith("sigprop.")}
    assert builtin <= described
    for name in described:
        study = studies()[name]
        assert registry.get(name)[1] == registry.from_descriptor(study)
        assert registry.get(name)[1].function == (study.cell or study.function)


def test_lm_gradcheck_file_reads_back_as_a_dataset(tmp_path, monkeypatch):
    """``sigprop lm gradcheck --out F.json``: its rows run over ``rows`` (no field of a row is a key: ``passed``
    and ``worst`` are results, and ``passed`` is also the verdict's variable)."""
    from sigprop import cli
    from sigprop.lm import gradcheck

    rows = [dict(config=dict(norm=norm, heads=1), max_error=1e-9 * k, worst="l0.W_Q", passed=True,
                 errors={"l0.W_Q": 1e-9 * k, "b_out": 2e-10})
            for k, norm in enumerate(("post", "pre"), 1)]
    monkeypatch.setattr(gradcheck, "check_all", lambda: rows)       # the check's own numbers: tests/lm
    out = tmp_path / "g.json"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["lm", "gradcheck", "--out", str(out), "--no-progress"]) == 0
    ds = sp.load(out).to_xarray()
    assert dict(ds.sizes) == {"rows": 2} and bool(ds.passed) is True
    np.testing.assert_array_equal(ds.rows_max_error.values, [1e-9, 2e-9])
    assert list(ds.rows_worst.values) == ["l0.W_Q", "l0.W_Q"]


def test_every_figure_a_study_names_is_a_function_beside_a_study():
    from sigprop.core.study import resolve

    for name, study in studies().items():
        if study.figure is not None:
            assert ":" in study.figure and callable(resolve(study.figure)), name


def test_the_figures_that_left_plotting_keep_their_old_names_deprecated():
    import warnings

    from sigprop import plotting
    from sigprop.core.study import resolve

    for old, new in plotting.MOVED.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert getattr(plotting, old) is resolve(new)
        assert [w.category for w in caught] == [DeprecationWarning], old
    with pytest.raises(AttributeError, match="no attribute 'colour_figure'"):
        plotting.colour_figure  # noqa: B018
