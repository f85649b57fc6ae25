"""The language-model rows of the ledger: they read stored summaries, and their rule flips with the numbers."""
import pytest

from sigprop.claims import ledger
from sigprop.claims import lm as claims_lm
from sigprop.core.results import write_json
from sigprop.lm import summary
from tests.lm.test_summary import record, write

IDS = ("locater-entropy-perplexity-lm", "localization-avoids-collapse-lm", "locater-depth-heads-lm")


def _runs(folder, effects, layers=1, heads=1, rank=0.8, steps=None):
    """Seeds of none and locater:0.1; ``effects``: (perplexity, entropy, rank residual) shifts, one per seed;
    ``rank``: the control's rank residual (below 0.25: rank collapse occurs); ``steps``: the runs' length."""
    recs = []
    for seed, (dp, de, dr) in enumerate(effects):
        recs.append(record("none", seed, 300.0 + 5 * seed, 1.5 + 0.1 * seed, layers=layers, heads=heads,
                           spread=1.0, rank=rank + 0.001 * seed))
        recs.append(record("locater:0.1", seed, 300.0 + 5 * seed + dp, 1.5 + 0.1 * seed + de, layers=layers,
                           heads=heads, spread=0.1 + 0.01 * seed, rank=rank + 0.001 * seed + dr))
    if steps is not None:
        for r in recs:
            r["config"]["steps"] = steps
    write(folder, recs)


# LocAteR's rank residual rises by about 0.3 in GOOD: from a collapsed control (0.1) out of the collapse (0.4 > 0.25)
GOOD = [(-10.0, 1.5, 0.3), (-11.0, 1.6, 0.31), (-9.5, 1.45, 0.29), (-10.5, 1.55, 0.305), (-9.8, 1.5, 0.298)]
WORSE = [(+10.0, 1.5, -0.02), (+11.0, 1.6, -0.021), (+9.5, 1.45, -0.019), (+10.5, 1.55, -0.0205),
         (+9.8, 1.5, -0.0198)]
NOISY = [(-10.0, 1.5, 0.02), (+8.0, -1.0, -0.03), (-1.0, 0.2, 0.01), (+3.0, -0.5, -0.01), (-2.0, 0.1, 0.005)]


def _ledger(tmp_path, monkeypatch, reg, depth=(), full=20, rank=0.8, extra=()):
    """The three rows on synthetic runs of 20 steps; ``full``: the length the LocAteR rows require (and the
    depth row's length); ``extra``: (folder name, effects, steps) of runs of other lengths."""
    _runs(tmp_path / "reg", reg, rank=rank)
    for layers, heads, effects in depth:
        _runs(tmp_path / "depth", effects, layers=layers, heads=heads, rank=rank)
    for name, effects, steps in extra:
        _runs(tmp_path / name, effects, rank=rank, steps=steps)
    folders = [tmp_path / "reg"] + ([tmp_path / "depth"] if depth else []) + [tmp_path / n for n, _, _ in extra]
    write_json(tmp_path / "summary.json", summary.collect(folders))
    monkeypatch.setattr(claims_lm, "RESULTS", tmp_path)
    monkeypatch.setattr(claims_lm, "FULL_STEPS", full)
    monkeypatch.setattr(claims_lm, "DEPTH_STEPS", full)
    out = ledger.run(only=set(IDS))
    return {e["id"]: e for e in out["claims"]}


def _verdicts(got):
    return {k: e["verdict"] for k, e in got.items()}


def test_rule_flips_with_the_paired_differences(tmp_path, monkeypatch):
    # rank 0.1 in the control arm: rank collapse occurs, so the collapse row is decided on it
    got = _ledger(tmp_path / "a", monkeypatch, GOOD, [(2, 1, GOOD), (4, 1, WORSE), (1, 4, GOOD)], rank=0.1)
    assert _verdicts(got) == {"locater-entropy-perplexity-lm": "supported",
                              "localization-avoids-collapse-lm": "partly", "locater-depth-heads-lm": "partly"}
    e = got["locater-entropy-perplexity-lm"]
    assert "paired t-test" in e["rule"] and "Holm" in e["rule"]
    assert list(e["numbers"]["seeds"].values()) == [[0, 1, 2, 3, 4]]
    assert len(e["numbers"]["tests"]) == 3 and "1 head, 20 steps (5 seeds)" in e["check"]
    assert "4 layers, 1 head, 20 steps: fails" in got["locater-depth-heads-lm"]["reason"]
    assert "4 layers, 1 head, 20 steps: fails" in got["localization-avoids-collapse-lm"]["reason"]
    got = _ledger(tmp_path / "b", monkeypatch, WORSE, [(2, 1, WORSE), (1, 4, WORSE)], rank=0.1)
    assert _verdicts(got) == dict.fromkeys(IDS, "refuted")
    got = _ledger(tmp_path / "c", monkeypatch, NOISY, [(2, 1, NOISY), (1, 4, NOISY)], rank=0.1)
    # no significant difference; for the collapse row LocAteR's own arm stays collapsed (about 0.1): not avoided
    assert _verdicts(got) == {**dict.fromkeys(IDS, "inconclusive"), "localization-avoids-collapse-lm": "refuted"}
    assert "the collapse remains" in got["localization-avoids-collapse-lm"]["reason"]


def test_collapse_is_decided_only_where_the_control_collapses(tmp_path, monkeypatch):
    # the same favourable effect, but the control's rank residual is 0.8: there is no collapse to avoid
    got = _ledger(tmp_path / "a", monkeypatch, GOOD, [(2, 1, GOOD)], rank=0.8)
    row = got["localization-avoids-collapse-lm"]
    assert row["verdict"] == "inconclusive" and row["reason"].startswith("nothing to avoid")
    pre = row["numbers"]["preconditions"]
    assert set(pre) == {"1 layer, 1 head, 20 steps", "2 layers, 1 head, 20 steps"}
    assert not any(v["occurs"] for p in pre.values() for v in p.values())
    assert "precondition" in row["rule"]
    # rank collapse in the control: decided, and the entropy (no entropy collapse there) is not tested
    got = _ledger(tmp_path / "b", monkeypatch, GOOD, [(2, 1, GOOD)], rank=0.1)
    row = got["localization-avoids-collapse-lm"]
    assert row["verdict"] == "supported" and "entropy_normalized_mean" not in row["reason"].split("; preconditions")[0]


def test_other_regimes_are_reported_beside_the_verdict_not_pooled(tmp_path, monkeypatch):
    # the paper's length (20 here) shows nothing; a shorter run (10 steps) shows the effect: the verdict follows
    # the claim's regime and the short runs are reported in other_regimes
    got = _ledger(tmp_path / "a", monkeypatch, NOISY, [(2, 1, GOOD), (1, 4, GOOD)], extra=[("short", GOOD, 10)])
    row = got["locater-entropy-perplexity-lm"]
    assert row["verdict"] == "inconclusive" and row["regime"]["kind"] == "paper-setting"
    assert any(k.startswith("1 layer, 1 head, 10 steps") for k in row["numbers"]["other_regimes"])
    assert "10 steps" not in row["reason"]
    # and the reverse: the effect at the paper's length, nothing early
    got = _ledger(tmp_path / "b", monkeypatch, GOOD, [(2, 1, GOOD), (1, 4, GOOD)], extra=[("short", NOISY, 10)])
    assert got["locater-entropy-perplexity-lm"]["verdict"] == "supported"
    assert got["locater-depth-heads-lm"]["verdict"] == "supported"
    assert "10 steps" not in got["locater-depth-heads-lm"]["reason"]


def test_verdicts_need_the_groups_the_claim_is_about(tmp_path, monkeypatch):
    # one seed: nothing to test
    got = _ledger(tmp_path / "a", monkeypatch, GOOD[:1], [(2, 1, GOOD[:1]), (1, 4, GOOD[:1])])
    assert _verdicts(got) == dict.fromkeys(IDS, "inconclusive")
    assert "nothing to test" in got["locater-entropy-perplexity-lm"]["reason"]
    # the effect everywhere, but the runs are shorter than the paper's model's full length, and no 4-head model
    got = _ledger(tmp_path / "b", monkeypatch, GOOD, [(2, 1, GOOD)])
    monkeypatch.setattr(claims_lm, "FULL_STEPS", 2000)
    got = {e["id"]: e for e in ledger.run(only=set(IDS))["claims"]}
    assert got["locater-entropy-perplexity-lm"]["verdict"] == "inconclusive"
    assert "the paper's model (1 layer, 1 head) at 2000 steps" in got["locater-entropy-perplexity-lm"]["reason"]
    assert "not tested: a model with 2 or more heads" in got["locater-depth-heads-lm"]["reason"]


def test_rows_without_stored_results_are_not_run(tmp_path, monkeypatch):
    monkeypatch.setattr(claims_lm, "RESULTS", tmp_path)
    out = ledger.run(only=set(IDS))
    assert out["claims"] == [] and len(out["notes"]) == 3 and "sigprop lm summarize" in out["notes"][0]


def test_strength_parses_the_summary_labels():
    assert claims_lm.strength("locater:0.01 (mean held)") == pytest.approx(0.01)
    assert claims_lm.strength("qk-norm") is None


def _wikipedia(tmp_path, monkeypatch, effects):
    """The Wikipedia row on synthetic runs of the paper's model (``effects`` as in :func:`_runs`)."""
    _runs(tmp_path / "wiki", effects)
    write_json(tmp_path / claims_lm.FILES["wikipedia"], summary.collect([tmp_path / "wiki"]))
    monkeypatch.setattr(claims_lm, "RESULTS", tmp_path)
    return ledger.run(only={"locater-entropy-perplexity-wikipedia"})["claims"][0]


def test_wikipedia_row_is_decided_in_its_regime_with_five_seeds(tmp_path, monkeypatch):
    e = _wikipedia(tmp_path / "a", monkeypatch, GOOD)
    assert e["verdict"] == "supported" and e["regime"]["kind"] == "paper-setting"
    assert "Wikipedia" in e["regime"]["description"]
    ended = e["numbers"]["stopping"]
    assert ended["runs"] == 10 and ended["stopped_by_rule"] == 0
    assert "the stopping rule ended 0 of 10 runs" in e["check"]
    assert _wikipedia(tmp_path / "b", monkeypatch, WORSE)["verdict"] == "refuted"
    assert _wikipedia(tmp_path / "c", monkeypatch, NOISY)["verdict"] == "inconclusive"
    # four seeds per arm: the same favourable differences, but fewer seeds than the ledger's five
    assert _wikipedia(tmp_path / "d", monkeypatch, GOOD[:4])["verdict"] == "inconclusive"


def test_stopping_words_separate_runs_the_rule_ended_from_runs_that_ran_their_most_steps():
    def run(steps, early, ppl):
        return dict(steps_done=steps, stopped_early=early, history=[dict(perplexity=p) for p in ppl])
    docs = [dict(runs=[run(9200, True, [70, 69.9]), run(14800, True, [65, 65.1]), run(32000, None, [64, 63.36])])]
    ended = claims_lm.stopping(docs)
    assert (ended["stopped_by_rule"], ended["steps_by_rule"], ended["steps_at_most"]) == (2, [9200, 14800], [32000])
    assert ended["last_interval_fall"] == pytest.approx([0.01, 0.01])      # only the run that was not stopped
    assert claims_lm.stopping_words(ended) == ("the stopping rule ended 2 of 3 runs (at steps 9200-14800), the others "
                                               "ran their most steps (32000) with validation perplexity still falling "
                                               "1.0-1.0% over the last evaluation interval")
    everyone = claims_lm.stopping([dict(runs=docs[0]["runs"][:2])])
    assert claims_lm.stopping_words(everyone) == "the stopping rule ended 2 of 2 runs (at steps 9200-14800)"


def _deep(tmp_path, monkeypatch, effects):
    """The collapse row on the Wikipedia files alone: an 8-layer shape whose control's rank residual is
    0.01 (rank collapse, below the level 0.25), LocAteR's shifted by ``effects`` (as in :func:`_runs`)."""
    _runs(tmp_path / "deep", effects, layers=8, rank=0.01)
    write_json(tmp_path / claims_lm.FILES["wikipedia_deep"], summary.collect([tmp_path / "deep"]))
    monkeypatch.setattr(claims_lm, "RESULTS", tmp_path)
    return ledger.run(only={"localization-avoids-collapse-lm"})["claims"][0]


def test_a_collapse_that_remains_under_locater_is_not_avoided(tmp_path, monkeypatch):
    # LocAteR raises the rank residual significantly (+0.002, every seed) but its own arm stays collapsed
    # (about 0.012, wholly below 0.25): not avoided, whatever the paired test says
    stays = [(-10.0, 1.5, 0.002 + 1e-4 * k) for k in range(5)]
    e = _deep(tmp_path / "a", monkeypatch, stays)
    assert e["verdict"] == "refuted" and "the collapse remains: rank_residual_last" in e["reason"]
    assert "8 layers, 1 head, 20 steps" in e["reason"] and "also < 0.25" in e["reason"]
    # the same shape where LocAteR's arm escapes the collapse (rank residual about 0.5): avoided
    escapes = [(-10.0, 1.5, 0.5 + 1e-3 * k) for k in range(5)]
    e = _deep(tmp_path / "b", monkeypatch, escapes)
    assert e["verdict"] == "supported" and "the collapse remains" not in e["reason"]
    # rules level: the remains map turns an otherwise favourable strength into a failing one
    assert claims_lm.collapse_remains([summary.read(tmp_path / "b" / claims_lm.FILES["wikipedia_deep"])],
                                      {("8 layers, 1 head, 20 steps", "rank_residual_last")}) == {}
