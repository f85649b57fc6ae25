"""The summary of finished runs: intervals over seeds, paired differences, the command and its figure."""
import json

import numpy as np
import pytest
from scipy import stats

from sigprop import cli
from sigprop.lm import summary
from sigprop.lm.train import TrainConfig
from sigprop.lm.transformer import Config

DATA = dict(source="synthetic", unigram_perplexity=dict(valid=500.0))


def record(regularizer: str, seed: int, ppl: float, entropy: float, *, layers=1, heads=1, finished=True,
           spread: float = 1.0, rank: float = 0.9, locater_mean: str = "task") -> dict:
    """A run record as ``sigprop.lm.train`` writes it, with made-up measures."""
    cfg = TrainConfig(model=Config(layers=layers, heads=heads, regularizer=regularizer), steps=20, eval_every=10,
                      seed=seed, locater_mean=locater_mean)
    shape = np.full((layers, heads), 1.0)

    def row(step, scale):
        return dict(step=step, perplexity=ppl * scale, loss=float(np.log(ppl * scale)), entropy_mean=entropy,
                    entropy_normalized_mean=entropy / 4, eig_mean=(0.01 * shape).tolist(),
                    eig_var=(0.02 * shape).tolist(), spread=(spread * shape).tolist(), rho_theory_mean=0.5,
                    linear_share_last_mean=0.2, rank_residual=[rank] * layers, entropy=(entropy * shape).tolist())
    rec = dict(kind="lm-train", config=cfg.to_dict(), data=DATA, history=[row(0, 10.0), row(10, 2.0)],
               seconds=1.0, steps_done=10)
    if finished:
        rec["history"].append(row(20, 1.0))
        rec.update(steps_done=20, final=dict(perplexity=ppl))
    return rec


def write(folder, records):
    for rec in records:
        m = rec["config"]["model"]
        run = folder / f"L{m['layers']}-H{m['heads']}-{m['regularizer']}-s{rec['config']['seed']}"
        run.mkdir(parents=True)
        (run / "run.json").write_text(json.dumps(rec))


NONE = {0: (300.0, 1.5), 1: (290.0, 1.6), 2: (310.0, 1.4)}
LOC = {0: (290.0, 3.0), 1: (284.0, 3.2), 2: (296.0, 2.9)}


@pytest.fixture
def runs(tmp_path):
    write(tmp_path / "reg", [record("none", s, *v) for s, v in NONE.items()]
          + [record("locater:0.1", s, *v) for s, v in LOC.items()]
          + [record("qk-norm", 0, 280.0, 2.0), record("qk-norm", 1, 1.0, 1.0, finished=False)])
    return tmp_path / "reg"


def test_paired_differences_are_the_paired_t_test(runs):
    doc = summary.collect([runs])
    assert len(doc["runs"]) == 7 and doc["unfinished"] == ["reg/L1-H1-qk-norm-s1"] and len(doc["data"]) == 1
    assert all("history" in r and r["config"]["model"] for r in doc["runs"])
    loc = next(r for r in doc["paired"] if r["regularizer"].startswith("locater"))
    d = np.array([LOC[s][0] - NONE[s][0] for s in (0, 1, 2)])
    assert loc["differences"]["perplexity"] == pytest.approx(d)
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    p = loc["perplexity"]
    assert (p["mean"], p["high"] - p["mean"]) == pytest.approx((d.mean(), half))
    ref = stats.ttest_rel([LOC[s][0] for s in (0, 1, 2)], [NONE[s][0] for s in (0, 1, 2)])
    assert p["p"] == pytest.approx(ref.pvalue)
    qk = next(r for r in doc["paired"] if r["regularizer"] == "qk-norm")      # one seed: no interval
    assert qk["n"] == 1 and np.isnan(qk["perplexity"]["low"]) and np.isnan(qk["perplexity"]["p"])
    # the per-configuration summary over seeds
    row = next(r for r in doc["summary"] if r["regularizer"] == "none")
    assert row["perplexity"][0] == pytest.approx(300.0) and row["n"] == 3
    assert "| 1 x 1 | 20 | locater:0.1 (mean held) | 3 | -10.0 [" in doc["markdown"]


def test_pairs_only_within_a_shape(tmp_path):
    write(tmp_path, [record("none", 0, 300.0, 1.0), record("none", 1, 310.0, 1.0),
                     record("locater:0.1", 0, 200.0, 2.0, layers=2), record("locater:0.1", 1, 210.0, 2.0, layers=2),
                     record("none", 0, 250.0, 1.0, layers=2), record("none", 1, 240.0, 1.0, layers=2)])
    rows = summary.paired(summary.load([tmp_path]))
    assert len(rows) == 1 and rows[0]["layers"] == 2
    assert rows[0]["differences"]["perplexity"] == pytest.approx([-50.0, -30.0])
    # LocAteR's mean treatment is not part of a none run: LocAteR with the penalty only pairs with it too
    write(tmp_path / "free", [record("locater:0.1", s, 280.0, 2.0, locater_mean="free") for s in (0, 1)])
    rows = summary.paired(summary.load([tmp_path, tmp_path / "free"]))
    free = next(r for r in rows if r["layers"] == 1)
    assert free["regularizer"] == "locater:0.1 (penalty only)" and free["differences"]["perplexity"] == [-20, -30]


def test_summarize_command(runs, tmp_path, capsys):
    out, png = tmp_path / "s.json", tmp_path / "s.png"
    assert cli.main(["lm", "summarize", str(runs), "--out", str(out), "--plot", str(png), "--format",
                     "markdown"]) == 0
    assert "perplexity minus none" in capsys.readouterr().out
    doc = summary.read(out)
    assert doc["kind"] == "lm-summary" and doc["config"]["sources"] == ["reg"] and png.stat().st_size > 1000
    assert cli.main(["lm", "summarize", str(tmp_path / "missing")]) == 2
    assert "argument DIR: must be folders of runs, not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["lm", "summarize", str(tmp_path / "empty")]) == 2
    assert "argument DIR: hold no finished run" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not a language-model summary"):
        summary.read(runs / "L1-H1-none-s0" / "run.json")
