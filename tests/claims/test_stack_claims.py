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
