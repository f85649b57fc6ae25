"""The summary of finished language-model runs: what ``results/lm/`` holds and the ledger reads.

:func:`load` reads the finished run records (``run.json`` with a ``final`` entry) of run
folders (:mod:`sigprop.lm.sweep` writes one folder per run); :func:`collect` turns them into
one document with

* ``runs``: every run's full configuration, its final validation measures
  (:func:`sigprop.lm.sweep.final`) and its whole history;
* ``summary``: per configuration without the seed, the mean and 95% Student-t interval over
  seeds of every final measure (:func:`sigprop.lm.sweep.summarize`);
* ``paired``: per configuration and seed, the difference ``regularizer - none`` of every
  final measure, the two runs sharing everything but the regularizer (the same seed gives
  the same initialization and the same batches), and over seeds its mean, 95% Student-t
  interval ``dbar +- t_{0.975, n-1} s_d / sqrt(n)`` and the two-sided p-value of the paired
  t-test ``t = dbar / (s_d / sqrt(n))`` with ``n - 1`` degrees of freedom (:func:`paired`).

The data description (corpus, split, tokenizer, unigram perplexity), identical for all runs of
one corpus and tokenizer, is kept once per distinct value.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from sigprop.core.checks import ArgumentError
from sigprop.core.results import RECORD_BYTES, read_json
from sigprop.lm import sweep as lm_sweep
from sigprop.lm.corpus import compact_works

#: Final measures compared between a regularizer and ``none`` (see :func:`sigprop.lm.sweep.final`).
PAIRED = ("perplexity", "loss", "entropy_mean", "entropy_normalized_mean", "spread", "eig_mean", "eig_var",
          "rho_theory_mean", "linear_share_last_mean", "rank_residual_last")


def load(folders) -> list[dict]:
    """The finished run records under each of ``folders`` (a run folder, or a folder of run
    folders), sorted by folder name; unfinished runs are left out.  Each record gets its
    ``name``: ``folder/run`` (or ``run`` for a run folder given itself).  A run reached twice (a folder
    given twice, or a folder and one of its runs) is refused: counted twice, it would be a second seed."""
    records = []
    seen: dict[Path, Path] = {}
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise ArgumentError("folders", f"must be folders of runs, not found: {folder}")
        runs = [folder] if (folder / "run.json").exists() else sorted(p for p in folder.iterdir() if p.is_dir())
        for run in runs:
            first = seen.setdefault(run.resolve(), run)
            if first is not run:
                raise ArgumentError("folders", f"must reach each run once: {run} is {first} again (a run counted "
                                               "twice is no second seed)")
            try:
                record = lm_sweep.finished(run)
            except ArgumentError:                   # read_json's one line: size, form, JSON
                raise
            except (ValueError, TypeError, AttributeError, RecursionError, OSError) as exc:
                raise ArgumentError("folders", f"{run / 'run.json'}: not a run record sigprop wrote "
                                               f"({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from None
            if record is not None:
                _check_record(record, run / "run.json")
                record["name"] = run.name if run == folder else f"{folder.name}/{run.name}"
                records.append(record)
    return records


#: The fields of a finished run record that the summary reads, and their JSON types.
RECORD_FIELDS = {"config": dict, "data": dict, "history": list, "final": dict, "steps_done": int}


def _check_record(record: Any, path: Path) -> None:
    """Refuse (``ArgumentError`` on ``folders``, naming the file) a run record whose fields are not
    those ``sigprop lm train`` writes (a record edited or damaged by hand)."""
    if not isinstance(record, dict):
        raise ArgumentError("folders", f"{path}: not a run record sigprop wrote (JSON {type(record).__name__})")
    for name, kind in RECORD_FIELDS.items():
        if not isinstance(record.get(name), kind) or isinstance(record.get(name), bool):
            raise ArgumentError("folders", f"{path}: not a run record sigprop wrote (its {name!r} is "
                                           f"{type(record.get(name)).__name__}, not {kind.__name__})")
    if not isinstance(record["config"].get("model"), dict) or not all(isinstance(h, dict)
                                                                      for h in record["history"]):
        raise ArgumentError("folders", f"{path}: not a run record sigprop wrote (its config has no model, "
                                       "or its history holds a row that is not an object)")


def unfinished(folders) -> list[str]:
    """Names (as in :func:`load`) of the run folders under ``folders`` without a finished record."""
    out = []
    for folder in map(Path, folders):
        runs = [folder] if (folder / "run.json").exists() else sorted(p for p in folder.iterdir() if p.is_dir())
        out += [r.name if r == folder else f"{folder.name}/{r.name}" for r in runs if lm_sweep.finished(r) is None]
    return out


def _key(config: dict, *drop: str) -> str:
    cfg = json.loads(json.dumps(config))
    for k in drop:
        if k == "regularizer":
            cfg["model"].pop("regularizer")
        else:
            cfg.pop(k, None)
    return json.dumps(cfg, sort_keys=True)


def _t(diffs: np.ndarray, confidence: float) -> dict:
    m, lo, hi = lm_sweep.mean_interval(diffs, confidence)
    if diffs.size < 2:
        return dict(mean=m, low=lo, high=hi, p=float("nan"))
    sd = float(diffs.std(ddof=1))
    if sd == 0:
        p = 0.0 if m != 0 else 1.0
    else:
        p = float(2 * stats.t.sf(abs(m) / (sd / np.sqrt(diffs.size)), diffs.size - 1))
    return dict(mean=m, low=lo, high=hi, p=p)


def paired(records, confidence: float = 0.95, measures=PAIRED) -> list[dict]:
    """Per configuration, the paired-by-seed differences ``regularizer - none`` (module doc).

    Returns one row per (configuration, regularizer other than ``none``) with a ``none`` run
    of the same seed: ``layers``, ``heads``, ``regularizer`` (as in the summary), ``seeds``,
    ``n``, ``differences`` (measure -> per-seed list) and, per measure, ``{mean, low, high, p}``.
    """
    finals = [(r, lm_sweep.final(r)) for r in records]
    # LocAteR's mean treatment does nothing without LocAteR: a none run pairs with either
    base = {(_key(r["config"], "seed", "regularizer", "locater_mean"), r["config"]["seed"]): f
            for r, f in finals if r["config"]["model"]["regularizer"] == "none"}
    groups: dict = {}
    for r, f in finals:
        if r["config"]["model"]["regularizer"] == "none":
            continue
        ref = base.get((_key(r["config"], "seed", "regularizer", "locater_mean"), r["config"]["seed"]))
        if ref is not None:
            groups.setdefault(_key(r["config"], "seed"), []).append((r, f, ref))
    rows = []
    for key, members in groups.items():
        members.sort(key=lambda m: m[0]["config"]["seed"])
        cfg = json.loads(key)
        row = dict(corpus=cfg["corpus"], layers=cfg["model"]["layers"], heads=cfg["model"]["heads"],
                   norm=cfg["model"]["norm"], steps=cfg["steps"], patience=cfg.get("patience", 0),
                   regularizer=lm_sweep.label(cfg), seeds=[m[0]["config"]["seed"] for m in members], n=len(members),
                   differences={})
        for k in measures:
            d = np.array([m[1][k] - m[2][k] for m in members], dtype=float)
            row["differences"][k] = d.tolist()
            row[k] = _t(d, confidence)
        rows.append(row)
    return rows


def collect(folders, confidence: float = 0.95, *, history: bool = True) -> dict:
    """The document of ``results/lm/`` for the finished runs under ``folders`` (module doc)."""
    records = load(folders)
    if not records:
        raise ArgumentError("folders", f"hold no finished run: {', '.join(map(str, folders))}")
    try:
        return _collect(folders, records, confidence, history)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:   # a field deeper in a record
        raise ArgumentError("folders", f"a run record under {', '.join(map(str, folders))} is not one sigprop "
                                       f"wrote ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from None


def _collect(folders, records: list[dict], confidence: float, history: bool) -> dict:
    data: list = []
    runs = []
    for r in records:
        if isinstance(r["data"].get("works"), dict):        # long title lists as count and hash
            r["data"] = dict(r["data"], works=compact_works(r["data"]["works"]))
        if r["data"] not in data:
            data.append(r["data"])
        run = dict(name=r["name"], config=r["config"], data=data.index(r["data"]), final=lm_sweep.final(r),
                   steps_done=r["steps_done"], seconds=r.get("seconds"),
                   locater_mean_drift=r.get("locater_mean_drift"), best=r.get("best"),
                   stopped_early=r.get("stopped_early"))
        if history:
            run["history"] = r["history"]
        runs.append(run)
    summary = lm_sweep.summarize(records, confidence)
    return dict(kind="lm-summary", config=dict(sources=[Path(f).name for f in folders], confidence=confidence,
                                               interval="Student-t over seeds", history=history),
                data=data, runs=runs, unfinished=unfinished(folders), summary=summary,
                paired=paired(records, confidence), markdown=lm_sweep.markdown(summary) + "\n\n" + markdown(
                    paired(records, confidence)))


def markdown(rows) -> str:
    """The paired differences as a Markdown table: mean [95% interval] over seeds."""
    cols = [("perplexity", "perplexity minus none", 1, "{:+.1f}"),
            ("entropy_mean", "entropy minus none (nats)", 3, "{:+.3f}"),
            ("rank_residual_last", "rank residual minus none", 3, "{:+.3f}")]
    lines = ["| layers x heads | steps | regularizer | seeds | " + " | ".join(c[1] for c in cols) + " |",
             "|" + "---|" * (4 + len(cols))]
    for r in rows:
        cells = []
        for k, _, _, fmt in cols:
            v = r[k]
            cells.append(fmt.format(v["mean"]) + ("" if np.isnan(v["low"]) else
                                                  f" [{fmt.format(v['low'])}, {fmt.format(v['high'])}]"))
        lines.append(f"| {r['layers']} x {r['heads']} | {r['steps']} | {r['regularizer']} | {r['n']} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def tables(result: dict) -> str:
    """The Markdown tables of a summary document (``--format markdown``), rendered from its
    ``summary`` and ``paired`` rows with the current column labels (a stored document's own
    ``markdown`` keeps the labels of when it was written)."""
    return lm_sweep.markdown(result["summary"]) + "\n\n" + markdown(result["paired"])


def read(path) -> dict:
    """A summary document written by :func:`collect` (via ``sigprop lm summarize --out``)."""
    doc = read_json(path, "path", "a language-model summary", limit=RECORD_BYTES)
    if doc.get("kind") != "lm-summary":
        raise ArgumentError("path", f"{path} is not a language-model summary (kind {doc.get('kind')!r})",
                            separator=": ")
    return doc
