"""The [NNT24] paper-protocol rows (sigprop/claims/nnt.py): their rules, fed synthetic numbers."""
import json

import numpy as np
import pytest

from sigprop.claims import ledger, rules
from sigprop.claims import nnt as N
from sigprop.gap import stable_rank as SR


def _records(per_seed_final: dict) -> dict:
    """A stored-run stand-in: ``{config: [final per seed]}`` for one target and learning rate."""
    recs = [dict(config=c, target="identity", lr=0.01, seed=s, final=v)
            for c, finals in per_seed_final.items() for s, v in enumerate(finals)]
    return dict(config=dict(targets=["identity"]), records=recs)


@pytest.mark.parametrize("shift, verdict", [(-0.1, "supported"), (0.1, "refuted"), (0.0, "inconclusive")])
def test_training_rule_flips_with_the_paired_difference(shift, verdict):
    base = np.array([0.50, 0.52, 0.49, 0.51, 0.50])
    noise = np.array([0.004, -0.003, 0.002, -0.004, 0.001])   # paired noise, much smaller than |shift|
    run = _records({"A+skip+LN": base, "A_perp+skip+LN": base + shift + noise})
    parts, numbers = N.training_parts([run])
    assert len(parts) == 1 and rules.intervals(parts).verdict == verdict
    assert numbers["level"] == pytest.approx(1 - ledger.ALPHA)


def test_training_rule_leaves_diverged_runs_undecided_and_pairs_the_fix():
    finals = [0.5] * 5
    run = _records({"A(X)+skip+LN": finals, "A(X)_perp+skip+LN": [0.4, 0.4, None, 0.4, 0.4],
                    "A+LN": finals})            # A+LN has no fixed partner here: no cell
    parts, _ = N.training_parts([run])
    assert [p["name"].split(",")[0] for p in parts] == ["A(X)_perp+skip+LN minus A(X)+skip+LN"]
    assert rules.intervals(parts).verdict == "inconclusive" and "diverged" in parts[0]["name"]
    assert N.fixed_name("A+skip/sqrt(d)+LN") == "A_perp+skip/sqrt(d)+LN" and N.fixed_name("A(X)") == "A(X)_perp"


def test_stored_trainability_runs_hold_their_configuration():
    runs = N.load_training()
    for r in runs:
        c = r["config"]
        assert c["length"] == 500 and len(c["seeds"]) >= ledger.MIN_SEEDS and c["study"] == "trainability"
        assert {rec["seed"] for rec in r["records"]} == set(c["seeds"])
        assert "command" not in c
    # a stored file is what `sigprop nnt train --out` writes (JSON, records with loss curves)
    rec = runs[0]["records"][0]
    assert len(rec["losses"]) == runs[0]["config"]["steps"] + 1 and rec["final"] == rec["losses"][-1]


def test_width_exponent_part_follows_the_width_rule(tmp_path):
    # synthetic stable ranks: srank = T^k per seed -> exponent k; the part's status matches WIDTH_RULE
    def recs(k):
        return [dict(config="c", gamma=1.0, length=T, seed=s, layer=1, stable_rank=float(T) ** (k + 0.01 * s))
                for T in (20, 50, 150) for s in range(5)]
    for k, claimed, verdict in [(0.9, "high", "supported"), (0.05, "high", "refuted"),
                                (0.05, "collapsed", "supported"), (0.4, "collapsed", "inconclusive")]:
        part = N._exponent_part(recs(k), "c", 1, claimed)
        assert rules.intervals([part]).verdict == verdict
        assert SR.width_verdict(recs(k), "c", 1.0, 1)["slope"] == pytest.approx(part["estimate"])
    json.dumps(part)
