"""The language-model rows of the ledger: they read stored summaries, and their rule flips with the numbers."""
import pytest

from sigprop.claims import ledger
from sigprop.claims import lm as claims_lm
from sigprop.core.results import write_json
from sigprop.lm import summary
from tests.lm.test_summary import record, write

IDS = ("locater-entropy-perplexity-lm", "localization-avoids-collapse-lm", "locater-depth-heads-lm")


def _runs(folder, effects, layers=1):
    """3 seeds of none and locater:0.1; ``effects``: (perplexity, entropy, rank residual) shifts per seed."""
    recs = []
    for seed, (dp, de, dr) in enumerate(effects):
        recs.append(record("none", seed, 300.0 + 5 * seed, 1.5 + 0.1 * seed, layers=layers, spread=1.0, rank=0.8))
        recs.append(record("locater:0.1", seed, 300.0 + 5 * seed + dp, 1.5 + 0.1 * seed + de, layers=layers,
                           spread=0.1 + 0.01 * seed, rank=0.8 + dr))
    write(folder, recs)


GOOD = [(-10.0, 1.5, 0.02), (-11.0, 1.6, 0.021), (-9.5, 1.45, 0.019)]
WORSE = [(+10.0, 1.5, -0.02), (+11.0, 1.6, -0.021), (+9.5, 1.45, -0.019)]
NOISY = [(-10.0, 1.5, 0.02), (+8.0, -1.0, -0.03), (-1.0, 0.2, 0.01)]


def _ledger(tmp_path, monkeypatch, reg, depth=()):
    _runs(tmp_path / "reg", reg)
    for layers, effects in depth:
        _runs(tmp_path / "depth", effects, layers=layers)
    write_json(tmp_path / "regularizers.json", summary.collect([tmp_path / "reg"]))
    write_json(tmp_path / "depth.json", summary.collect([tmp_path / "depth"]))
    monkeypatch.setattr(claims_lm, "RESULTS", tmp_path)
    out = ledger.run(only=set(IDS))
    return {e["id"]: e for e in out["claims"]}


def test_rule_flips_with_the_paired_differences(tmp_path, monkeypatch):
    got = _ledger(tmp_path / "a", monkeypatch, GOOD, [(2, GOOD), (4, WORSE)])
    assert {k: e["verdict"] for k, e in got.items()} == {
        "locater-entropy-perplexity-lm": "supported", "localization-avoids-collapse-lm": "supported",
        "locater-depth-heads-lm": "partly"}
    e = got["locater-entropy-perplexity-lm"]
    assert "paired t-test" in e["rule"] and "Holm" in e["rule"] and list(e["numbers"]["seeds"].values()) == [[0, 1, 2]]
    assert len(e["numbers"]["tests"]) == 3 and "1 head, 20 steps (3 seeds)" in e["check"]
    assert "4 layers, 1 head, 20 steps: fails" in got["locater-depth-heads-lm"]["reason"]
    got = _ledger(tmp_path / "b", monkeypatch, WORSE, [(2, WORSE)])
    assert {k: e["verdict"] for k, e in got.items()} == dict.fromkeys(IDS, "refuted")
    got = _ledger(tmp_path / "c", monkeypatch, NOISY, [(2, NOISY)])
    assert {k: e["verdict"] for k, e in got.items()} == dict.fromkeys(IDS, "inconclusive")
    got = _ledger(tmp_path / "d", monkeypatch, GOOD[:1], [(2, GOOD[:1])])      # one seed: nothing to test
    assert {k: e["verdict"] for k, e in got.items()} == dict.fromkeys(IDS, "inconclusive")
    assert "nothing to test" in got["locater-entropy-perplexity-lm"]["reason"]


def test_rows_without_stored_results_are_not_run(tmp_path, monkeypatch):
    monkeypatch.setattr(claims_lm, "RESULTS", tmp_path)
    out = ledger.run(only=set(IDS))
    assert out["claims"] == [] and len(out["notes"]) == 3 and "sigprop lm summarize" in out["notes"][0]


def test_strength_parses_the_summary_labels():
    assert claims_lm.strength("locater:0.01 (mean held)") == pytest.approx(0.01)
    assert claims_lm.strength("qk-norm") is None
