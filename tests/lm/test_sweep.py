"""Sweeps: resumable loop, summary intervals; the run figure."""
import json

import numpy as np
import pytest
from scipy import stats

from sigprop.lm import plots
from sigprop.lm import sweep as sw
from tests.lm.test_train import config, data  # noqa: F401  (fixture)


def test_sweep_resumes_and_summarizes(data, tmp_path):  # noqa: F811
    base = config(steps=6, eval_every=3)
    configs = sw.plan(base, ["none", "locater:0.1"], [0, 1])
    assert len(configs) == 4 and len({sw.run_name(c) for c in configs}) == 4
    logged = []
    records = sw.sweep(configs, data, tmp_path, log=logged.append)
    assert len(logged) == 4
    again = sw.sweep(configs, data, tmp_path, log=logged.append)       # all finished: nothing runs
    assert len(logged) == 4 and [r["history"] for r in again] == [r["history"] for r in records]
    rows = sw.summarize(records)
    assert [r["regularizer"] for r in rows] == ["none", "locater:0.1 (mean held)"] and rows[0]["n"] == 2
    ppl = [r["history"][-1]["perplexity"] for r in records[:2]]
    m, lo, hi = rows[0]["perplexity"]
    half = stats.t.ppf(0.975, 1) * np.std(ppl, ddof=1) / np.sqrt(2)
    assert m == pytest.approx(np.mean(ppl)) and hi - m == pytest.approx(half)
    table = sw.markdown(rows)
    assert table.count("\n") == 3 and f"{m:.1f} [{lo:.1f}, {hi:.1f}]" in table
    # the eigenvalue columns say what they are: tr(W^2)/D - m^2 is not called a variance
    header = table.splitlines()[0]
    assert "| tr(W^2)/D - m^2 | mean \\|lambda - m\\|^2 | R(W) |" in header and "var" not in header
    # a run recorded before the spread of the complex eigenvalues was measured: that column is left out
    for r in records:
        for e in r["history"]:
            e.pop("spread_abs")
    old = sw.markdown(sw.summarize(records)).splitlines()[0]
    assert "lambda" not in old and "| tr(W^2)/D - m^2 | R(W) |" in old


def test_plan_shapes():
    configs = sw.plan(config(), ["none"], [0], shapes=[(1, 1), (2, 4)])
    assert [(c.model.layers, c.model.heads) for c in configs] == [(1, 1), (2, 4)]


def test_mean_interval_edge_cases():
    assert np.isnan(sw.mean_interval([2.0])[1]) and sw.mean_interval([2.0])[0] == 2.0
    assert np.isnan(sw.mean_interval([])[0])


def test_run_figure(data, tmp_path):  # noqa: F811
    from sigprop.lm import train as tr
    rec = tr.train(config(steps=4, eval_every=2), data)
    rec.pop("params")
    plots.run_figure(json.loads(json.dumps(rec, default=float)), tmp_path / "run.png")
    assert (tmp_path / "run.png").stat().st_size > 1000


def _plain(o):
    return o.tolist() if hasattr(o, "tolist") else float(o)


def test_theory_loop_figure(data, tmp_path):  # noqa: F811
    from sigprop.core.checks import ArgumentError
    from sigprop.lm import train as tr
    from tests.figures.readable import problems
    from tests.lm.test_train import config

    rec = json.loads(json.dumps(tr.train(config(steps=4, eval_every=2, datamodel=6), data), default=_plain))
    drawn = {}
    import matplotlib.figure
    real_save = plots.save
    try:
        plots.save = lambda fig, path: (drawn.setdefault("fig", fig), real_save(fig, path))
        plots.theory_loop_figure(rec, tmp_path / "loop.png")
    finally:
        plots.save = real_save
    assert (tmp_path / "loop.png").stat().st_size > 0 and isinstance(drawn["fig"], matplotlib.figure.Figure)
    assert problems(drawn["fig"], "lm_theory_loop") == []
    with pytest.raises(ArgumentError, match="record"):
        plots.theory_loop_figure(json.loads(json.dumps(tr.train(config(steps=2), data), default=_plain)),
                                 tmp_path / "none.png")
