"""The deep-stack ledger rows (``sigprop/claims/stack.py``): registered with their provenance, and run."""
import sigprop.claims.stack  # noqa: F401  (registers the rows)
from sigprop.claims import ledger

IDS = ("gg-recursion-cosine", "gg-rem-participation-finite-length", "stack-recursion-exact-in-length")


def test_rows_are_registered_with_their_sources():
    rows = {c.id: c for c in ledger.CLAIMS if c.id in IDS}
    assert set(rows) == set(IDS)
    assert {s.kind for s in rows["gg-recursion-cosine"].sources} == {"paper-code"}
    assert {s.kind for s in rows["stack-recursion-exact-in-length"].sources} == {"sigprop-extension"}
    assert all(c.regime.kind == "paper-setting" and c.randomized for c in rows.values())


def test_quick_run_decides_by_the_stated_rule():
    result = ledger.run(quick=True, only=list(IDS))
    assert [c["id"] for c in result["claims"]] == [c.id for c in ledger.CLAIMS if c.id in IDS]
    for row in result["claims"]:
        assert row["verdict"] in ledger.VERDICTS and "Bonferroni" in row["check"]
        assert all(set(v) == {"estimate", "low", "high"} for v in row["numbers"].values())
    # the REM's participation at T = 64 is far below the measured one at layer 1 (0.18 in the quick run)
    rem = next(r for r in result["claims"] if r["id"] == "gg-rem-participation-finite-length")
    first = next(v for k, v in rem["numbers"].items() if k.endswith("layer 1"))
    assert first["low"] > 0.1


NEW_IDS = ("localization-avoids-collapse-depth", "stack-positional-causal", "stack-nnt-stable-rank")


def test_new_rows_state_their_sources_and_regime():
    rows = {c.id: c for c in ledger.CLAIMS if c.id in NEW_IDS}
    assert set(rows) == set(NEW_IDS) and all(c.randomized and c.evidence == "simulation" for c in rows.values())
    depth = rows["localization-avoids-collapse-depth"]
    assert {s.kind for s in depth.sources} == {"third-party-summary"} and depth.regime.kind == "sigprop-setup"
    assert "preventing both rank and entropy collapse" in depth.sources[0].quote
    assert rows["stack-positional-causal"].regime.kind == "sigprop-setup"
    assert {s.kind for s in rows["stack-nnt-stable-rank"].sources} == {"sigprop-extension", "paper-code"}


def test_new_rows_quick_run():
    result = ledger.run(quick=True, only=list(NEW_IDS))
    got = {r["id"]: r for r in result["claims"]}
    # small variance: both collapses occur with v = 1 (the precondition) and with v = 0.01 as well
    depth = got["localization-avoids-collapse-depth"]
    pre = depth["numbers"]["preconditions"]
    assert pre["attention only, m = 0.2"]["1 - cosine"]["occurs"]
    assert pre["attention only, m = 1.5"]["attention entropy"]["occurs"]
    assert depth["verdict"] == "refuted" and "Bonferroni" in depth["check"]
    # the positional recursion: every interval inside its band at the quick size
    assert got["stack-positional-causal"]["verdict"] == "supported"
    # [NNT24]: the d -> infinity stable rank holds at T/d = 0.2 and overpredicts layer 1 at T/d = 1, T = 100
    nnt = got["stack-nnt-stable-rank"]["numbers"]
    assert all(0.75 <= v["low"] and v["high"] <= 1.25 for k, v in nnt.items() if k.startswith("gamma = 0.2"))
    assert nnt["gamma = 1, T = 100, layer 1: measured / predicted stable rank"]["high"] < 0.7


def test_no_collapse_in_the_comparison_arm_is_inconclusive(monkeypatch):
    """Nothing to avoid: the rule says inconclusive, whatever the small variance does."""
    from sigprop.claims import registry
    from sigprop.claims import stack as rows

    ctx = registry.Context(quick=True)
    healthy = {"cosine": {12: [0.5, 0.52, 0.48, 0.51, 0.49]}, "attention_entropy": {12: [2.0, 2.1, 1.9, 2.0, 2.05]}}
    theory = dict(cosine=0.5, attention_entropy=2.0)
    monkeypatch.setattr(rows, "_depth_runs", lambda ctx: {("attention only", m, v): dict(theory=theory,
                                                                                         per_seed=healthy)
                                                          for m in (0.2, 1.5) for v in (rows.SMALL_V, rows.LARGE_V)})
    out = rows.localization_avoids_collapse_depth(ctx)
    assert out["decision"].verdict == "inconclusive" and "nothing to avoid" in out["decision"].reason
