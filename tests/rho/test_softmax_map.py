"""The localization map of rho against the softmax quantities, and its verdict rules."""
import numpy as np

from sigprop.rho import softmax_map as M


def _rows(h_small, h_large, h_zero):
    rows = []
    for m, v, h in ((1.0, 0.01, h_small), (1.0, 4.0, h_large), (0.0, 0.01, h_zero)):
        row = dict(m=m, v=v, d=4, T=8)
        row.update({f"{k}.entropy_normalized": h for k in M.KINDS})
        row.update({f"{k}.peak_s": 0.5 if k == "rho" else 1.0 for k in M.KINDS})
        rows.append(row)
    return dict(rows=rows)


def test_verdict_rules():
    v = M.verdicts(_rows(0.5, 0.7, 0.95))["weight"]
    assert v["small-variance-localizes"]["holds"] == 1 and v["zero-mean-does-not-localize"]["holds"] == 1
    v = M.verdicts(_rows(0.7, 0.5, 0.5))["rho"]
    assert v["small-variance-localizes"]["fails"] == 1 and v["zero-mean-does-not-localize"]["fails"] == 1
    counts = M.verdicts(_rows(0.5, 0.7, 0.95))
    assert counts["rho"]["peaks-inside"]["holds"] == 2 and counts["weight"]["peaks-inside"]["fails"] == 2
    cells = M.cell_verdicts(_rows(0.5, 0.7, 0.95))
    assert {c["conclusion"] for c in cells} == set(M.CONCLUSIONS) and len(cells) == len(M.KINDS) * 4
    v = M.verdicts(_rows(0.7, 0.705, 0.895))["gradient"]
    assert v["small-variance-localizes"]["inconclusive"] == 1
    assert v["zero-mean-does-not-localize"]["inconclusive"] == 1


def test_small_map():
    """At m = 1, d = 64, T = 16 the weights' entropy grows with v (as for rho), and every softmax
    profile puts its peak on the query token while rho peaks before it."""
    res = M.localization_map([1.0], [0.01, 4.0], [64], [16], samples=1 << 9, seed=1)
    lo, hi = res["rows"]
    for kind in M.KINDS:
        assert lo[f"{kind}.entropy_normalized"] < hi[f"{kind}.entropy_normalized"] - M.MARGIN
    for kind in M.KINDS[1:]:
        assert lo[f"{kind}.peak_s"] == 1.0
    assert lo["rho.peak_s"] < 1.0
    assert np.isfinite(lo["max_se"]) and res["config"]["samples"] == 1 << 9
