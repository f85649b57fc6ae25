"""The generic renderer: tables, CSV and JSON from any result, columns declared as data."""
import json

import numpy as np

from sigprop.cli.render import View, cell, fill, lookup, render

RESULT = dict(version="1", config=dict(length=3, mean=0.5, dims=[2, 4]),
              positions=np.arange(1, 4), rho=np.array([0.1, 0.25, np.nan]), mean=np.zeros(3),
              rows=[dict(d=2, errors=dict(W=1e-9, X=2e-9)), dict(d=4, errors=dict(W=3e-9, X=4e-9))],
              localization=dict(total=1.5, peak=2), notes=["first", "second"], passed=True)


def test_default_view_shows_everything():
    text = render(RESULT, "table").splitlines()
    assert text[0] == "# length = 3, mean = 0.5, dims = [2, 4]"
    assert text[1].split() == ["positions", "rho", "mean"] and text[4].split() == ["3", "-", "0"]
    assert text[5].split() == ["d", "errors.W", "errors.X"] and text[6].split() == ["2", "1e-09", "2e-09"]
    assert "localization: total = 1.5, peak = 2" in text and "notes: second" in text and "passed = True" in text


def test_declared_columns_labels_and_templates():
    view = View(columns=("i=positions", "rho"), records="rows", fields=("dim=d", "errors"), show=(),
                lines=("worst {rows.-1.errors.X:.1e}; {missing} skipped", "at {positions.0}: {rho.2:.3f}"))
    text = render(RESULT, "table", view).splitlines()
    assert text[1].split() == ["i", "rho"] and text[5].split() == ["dim", "errors.W", "errors.X"]
    assert text[-1] == "at 1: -" and not any("skipped" in line for line in text)


def test_csv_and_json():
    assert render(RESULT, "csv", View(columns=("position=positions", "rho"))).splitlines() == [
        "position,rho", "1,0.1", "2,0.25", "3,"]
    assert json.loads(render(RESULT, "json"))["rho"] == [0.1, 0.25, None]
    records = json.loads(render(dict(config=dict(a=1, b=2), recs=[dict(x=1)]), "json",
                                View(json="recs", json_config=("a",))))
    assert records == [dict(x=1, a=1)]


def test_blocks_and_values():
    text = render(dict(claims=[dict(id="x", verdict="partly")]), "table",
                  View(records="claims", blocks=("[{verdict!u}] {id}", "  {absent}")))
    assert text == "[PARTLY] x"
    assert cell(None) == "-" and cell(3) == "3" and cell(1 / 3) == "0.33333" and cell(list(range(9))).endswith("...]")
    assert lookup(dict(a=[dict(b=1), dict(b=2)]), "a.-1.b") == 2 and fill("{a:.2f}", dict(a=None)) == "-"


def test_series_align_to_the_last_row():
    text = render(dict(vanilla=dict(x=[1.0, 2.0, 3.0], g=[5.0, 6.0])), "table").splitlines()
    assert text[0] == "vanilla:" and text[2].split() == ["0", "1", "-"] and text[4].split() == ["2", "3", "6"]
