"""The softmax rows' decision rules: each flips with its numbers."""
from sigprop.claims import rules
from sigprop.claims import softmax_rules as R


def test_localizes_flips():
    ok = {"a": (0.80, 0.95), "b": (0.90, 0.93)}
    assert R.localizes(ok, margin=0.01, floor=0.95).verdict == "supported"
    bad = {"a": (0.95, 0.90), "b": (0.97, 0.99)}          # falls; flat at the small variance
    assert R.localizes(bad, margin=0.01, floor=0.95).verdict == "refuted"
    assert R.localizes({**ok, **{"c": (0.95, 0.90)}}, margin=0.01, floor=0.95).verdict == "partly"
    assert R.localizes({"a": (0.90, 0.905)}, margin=0.01, floor=0.95).verdict == "inconclusive"
    assert "0.8 -> 0.95" in R.localizes(ok, margin=0.01, floor=0.95).reason


def test_flat_flips():
    assert R.flat({"a": (0.97, 0.9)}, floor=0.95, margin=0.01, reference="w").verdict == "supported"
    assert R.flat({"a": (0.80, 0.9)}, floor=0.95, margin=0.01, reference="w").verdict == "refuted"
    assert R.flat({"a": (0.97, 0.99)}, floor=0.95, margin=0.01, reference="w").verdict == "refuted"
    assert R.flat({"a": (0.945, 0.9)}, floor=0.95, margin=0.01, reference="w").verdict == "inconclusive"
    assert R.flat({"a": (0.97, 0.9), "b": (0.5, 0.9)}, floor=0.95, margin=0.01,
                  reference="w").verdict == "partly"


def test_accurate_flips():
    assert R.accurate({"x": (0.01, 0.005, 0.015)}, tolerance=0.02).verdict == "supported"
    assert R.accurate({"x": (0.03, 0.025, 0.035)}, tolerance=0.02).verdict == "refuted"
    assert R.accurate({"x": (0.02, 0.015, 0.025)}, tolerance=0.02).verdict == "inconclusive"
    assert R.accurate({"x": (0.01, 0.005, 0.015), "y": (0.03, 0.025, 0.035)}, tolerance=0.02).verdict == "partly"


def test_inherited_keeps_the_verdict_and_says_why():
    for verdict in ("supported", "refuted"):
        d = R.inherited(rules.Decision(verdict, "because", "the rule"), "same logits")
        assert d.verdict == verdict and "same logits" in d.reason and "because" in d.reason and "the rule" in d.rule


def test_shape_independence_names_what_it_compares():
    d = rules.shape_independence(0.05, 10.0, 30, 0.001, delta=0.02, what="the softmax weights")
    assert d.verdict == "refuted" and "the softmax weights" in d.rule and "the softmax weights" in d.reason
