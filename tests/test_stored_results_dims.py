"""Every result file stored under ``results/`` converts to an xarray Dataset with named dimensions.

Each JSON file there that ``sigprop.load`` reads (a ``sigprop_type`` tag, or the fields of a file
written before the tag existed) must give a Dataset with no ``*_axis_k`` (nor ``axis_k``)
dimension: the dimensions are those the result's study or command declares for its kind, also
for files written before the declaration was stored beside them.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import sigprop as sp

pytest.importorskip("xarray")

RESULTS = Path(__file__).resolve().parents[1] / "results"

#: Files under results/ that are not sigprop results, with the reason.
NOT_RESULTS = {
    # written by `python -m sigprop.stack.minilm --out ...` (a script, not a study): no type tag,
    # and its fields (study "stack-minilm", rows) are no sigprop result type
    "stack/minilm.json": "written by the script sigprop.stack.minilm, not a typed result",
    # written by `python -m sigprop.stack.lm_layers RUN_DIR ... --out ...` (a script, as the MiniLM one)
    "stack/lm_layers_post.json": "written by sigprop stack lm-layers (a script's record), not a typed result",
    "stack/lm_layers_pre.json": "written by sigprop stack lm-layers (a script's record), not a typed result",
}


def stored() -> list[Path]:
    return sorted(RESULTS.rglob("*.json"))


def unnamed(ds) -> list[str]:
    return [str(d) for d in ds.dims if "_axis_" in str(d) or str(d).startswith("axis_")]


def test_the_stored_files_are_there():
    names = {p.relative_to(RESULTS).as_posix() for p in stored()}
    assert set(NOT_RESULTS) <= names                # an exclusion names a file that exists
    assert {"lm/summary.json", "lm/wikipedia_collapse_search.json", "bench/full.json",
            "heads_datamodel.json"} <= names


@pytest.mark.parametrize("path", [p for p in stored() if p.relative_to(RESULTS).as_posix() not in NOT_RESULTS],
                         ids=lambda p: p.relative_to(RESULTS).as_posix())
def test_stored_result_has_named_dimensions(path):
    if path.relative_to(RESULTS).as_posix() == "bench/full.json":
        pytest.importorskip("sigprop_benchmarks")   # the `sigprop bench` plugin declares its dimensions
    ds = sp.load(path).to_xarray()
    assert ds.sizes, f"{path.name}: an empty Dataset"
    assert unnamed(ds) == [], f"{path.name}: unnamed dimensions {unnamed(ds)}"


@pytest.mark.parametrize("name", sorted(NOT_RESULTS))
def test_the_files_that_are_no_results_are_refused(name):
    data = json.loads((RESULTS / name).read_text())
    assert "sigprop_type" not in data
    with pytest.raises(ValueError, match="no 'sigprop_type' tag"):
        sp.load(RESULTS / name)


def test_declared_axes_of_the_stored_files():
    """What the declarations give: a summary's [mean, low, high] over ``statistic``, per seed,
    the language model's history per layer and head, the lags of heads-datamodel."""
    summary = sp.load(RESULTS / "lm" / "summary.json").to_xarray()
    assert summary["summary_perplexity"].dims[-1] == "statistic" and summary.sizes["statistic"] == 3
    assert summary["summary_seeds"].dims[-1] == "seed"
    assert summary["paired_differences_loss"].dims[-1] == "paired_seed"
    assert summary["data_works_train"].dims[-1] == "train_work"
    history = sp.load(RESULTS / "lm" / "wikipedia_datamodel.json").to_xarray()
    assert history["history_entropy"].dims[-2:] == ("layer", "head")
    assert history["history_rank_residual"].dims[-1] == "layer"
    heads = sp.load(RESULTS / "heads_datamodel.json").to_xarray()
    assert heads["layers_lag_error"].dims[-1] == "lag"
    assert heads["lag"].values.tolist() == json.loads((RESULTS / "heads_datamodel.json").read_text())["config"]["lags"]
    collapse = sp.load(RESULTS / "lm" / "wikipedia_collapse_init.json").to_xarray()
    assert collapse["rows_rank_residual_by_seed"].dims[-1] == "seed"
