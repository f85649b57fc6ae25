"""The language-model rows of the ledger: they read stored summaries, and their rule flips with the numbers."""
import pytest

from sigprop.claims import ledger
from sigprop.claims import lm as claims_lm
from sigprop.core.results import write_json
from sigprop.lm import summary
from tests.lm.test_summary import record, write

IDS = ("locater-entropy-perplexity-lm", "localization-avoids-collapse-lm", "locater-depth-heads-lm")


def _runs(folder, effects, layers=1, heads=1):
    """Seeds of none and locater:0.1; ``effects``: (perplexity, entropy, rank residual) shifts, one per seed."""
    recs = []
    for seed, (dp, de, dr) in enumerate(effects):
        recs.append(record("none", seed, 300.0 + 5 * seed, 1.5 + 0.1 * seed, layers=layers, heads=heads,
                           spread=1.0, rank=0.8))
        recs.append(record("locater:0.1", seed, 300.0 + 5 * seed + dp, 1.5 + 0.1 * seed + de, layers=layers,
                           heads=heads, spread=0.1 + 0.01 * seed, rank=0.8 + dr))
    write(folder, recs)


GOOD = [(-10.0, 1.5, 0.02), (-11.0, 1.6, 0.021), (-9.5, 1.45, 0.019)]
WORSE = [(+10.0, 1.5, -0.02), (+11.0, 1.6, -0.021), (+9.5, 1.45, -0.019)]
NOISY = [(-10.0, 1.5, 0.02), (+8.0, -1.0, -0.03), (-1.0, 0.2, 0.01)]


def _ledger(tmp_path, monkeypatch, reg, depth=(), full=20):
    """The three rows on synthetic runs of 20 steps; ``full``: the length the LocAteR rows require."""
    _runs(tmp_path / "reg", reg)
    for layers, heads, effects in depth:
        _runs(tmp_path / "depth", effects, layers=layers, heads=heads)
    folders = [tmp_path / "reg"] + ([tmp_path / "depth"] if depth else [])
    write_json(tmp_path / "summary.json", summary.collect(folders))
    monkeypatch.setattr(claims_lm, "RESULTS", tmp_path)
    monkeypatch.setattr(claims_lm, "FULL_STEPS", full)
    out = ledger.run(only=set(IDS))
    return {e["id"]: e for e in out["claims"]}


def _verdicts(got):
    return {k: e["verdict"] for k, e in got.items()}


def test_rule_flips_with_the_paired_differences(tmp_path, monkeypatch):
    got = _ledger(tmp_path / "a", monkeypatch, GOOD, [(2, 1, GOOD), (4, 1, WORSE), (1, 4, GOOD)])
    assert _verdicts(got) == {"locater-entropy-perplexity-lm": "supported",
                              "localization-avoids-collapse-lm": "supported", "locater-depth-heads-lm": "partly"}
    e = got["locater-entropy-perplexity-lm"]
    assert "paired t-test" in e["rule"] and "Holm" in e["rule"] and list(e["numbers"]["seeds"].values()) == [[0, 1, 2]]
    assert len(e["numbers"]["tests"]) == 3 and "1 head, 20 steps (3 seeds)" in e["check"]
    assert "4 layers, 1 head, 20 steps: fails" in got["locater-depth-heads-lm"]["reason"]
    got = _ledger(tmp_path / "b", monkeypatch, WORSE, [(2, 1, WORSE), (1, 4, WORSE)])
    assert _verdicts(got) == dict.fromkeys(IDS, "refuted")
    got = _ledger(tmp_path / "c", monkeypatch, NOISY, [(2, 1, NOISY), (1, 4, NOISY)])
    assert _verdicts(got) == dict.fromkeys(IDS, "inconclusive")


def test_verdicts_need_the_groups_the_claim_is_about(tmp_path, monkeypatch):
    # one seed: nothing to test
    got = _ledger(tmp_path / "a", monkeypatch, GOOD[:1], [(2, 1, GOOD[:1]), (1, 4, GOOD[:1])])
    assert _verdicts(got) == dict.fromkeys(IDS, "inconclusive")
    assert "nothing to test" in got["locater-entropy-perplexity-lm"]["reason"]
    # the effect everywhere, but the runs are shorter than the paper's model's full length, and no 4-head model
    got = _ledger(tmp_path / "b", monkeypatch, GOOD, [(2, 1, GOOD)], full=2000)
    assert _verdicts(got) == dict.fromkeys(IDS, "inconclusive")
    assert "not tested: the paper's model (1 layer, 1 head) at 2000 steps" in got["locater-entropy-perplexity-lm"][
        "reason"]
    assert "not tested: a model with 2 or more heads" in got["locater-depth-heads-lm"]["reason"]


def test_rows_without_stored_results_are_not_run(tmp_path, monkeypatch):
    monkeypatch.setattr(claims_lm, "RESULTS", tmp_path)
    out = ledger.run(only=set(IDS))
    assert out["claims"] == [] and len(out["notes"]) == 3 and "sigprop lm summarize" in out["notes"][0]


def test_strength_parses_the_summary_labels():
    assert claims_lm.strength("locater:0.01 (mean held)") == pytest.approx(0.01)
    assert claims_lm.strength("qk-norm") is None
