"""Sweeps of language-model runs (configurations x regularizers x seeds) and their summary.

:func:`sweep` is a simple resumable loop: every run writes its own folder
``out/<name>/`` (``run.json`` and ``checkpoint.npz``); a finished run (``run.json`` with a
``final`` entry) is skipped, an interrupted one resumes from its checkpoint.  The folders can
be run by independent processes (one run per process) since runs share nothing but the
tokenized corpus; ``workers=N`` does that itself: ``N`` forked processes
(:func:`sigprop.core.workers.run`) take the runs in turn, each with ``threads`` BLAS threads,
and every run's numbers are those of ``workers=1`` (each run depends on its seed alone).
``records=DIR`` keeps a copy of each finished run's ``run.json`` in ``DIR/<name>/`` and skips the
runs recorded there: the finished parts of a study, small enough for version control.

:func:`summarize` groups finished runs by configuration without the seed and reports, for
each group, the mean and the 95% Student-t interval over seeds
``mean +- t_{0.975, n-1} s / sqrt(n)`` of the final validation perplexity, attention
entropy, eigenvalue mean and variance, closed-form ``rho`` and measured linear share.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from sigprop.core import workers as _workers
from sigprop.core.checks import ArgumentError
from sigprop.core.results import RECORD_BYTES, atomic_write, jsonable, read_json
from sigprop.core.stats import t_interval
from sigprop.lm import train as lm_train

SUMMARY = ("perplexity", "loss", "entropy_mean", "entropy_normalized_mean", "eig_mean", "eig_var", "spread_abs",
           "spread", "rho_theory_mean", "linear_share_last_mean", "rank_residual_last", "seconds", "step")


def run_name(cfg: lm_train.TrainConfig) -> str:
    """A folder name from the settings that differ between runs of a sweep."""
    m = cfg.model
    reg = m.regularizer.replace(":", "-")
    qk = f"-qk{m.qk_init:g}" if m.qk_init != 1.0 else ""
    return f"L{m.layers}-H{m.heads}-D{m.width}-{m.norm}{qk}-{reg}-seed{cfg.seed}"


def plan(base: lm_train.TrainConfig, regularizers, seeds, shapes=((None, None),)) -> list[lm_train.TrainConfig]:
    """Every ``(layers, heads)`` of ``shapes`` (``None`` keeps the base) x regularizer x seed."""
    out = []
    for layers, heads in shapes:
        model = replace(base.model, layers=layers or base.model.layers, heads=heads or base.model.heads)
        for reg in regularizers:
            for seed in seeds:
                out.append(replace(base, model=replace(model, regularizer=reg), seed=int(seed)))
    return out


def finished(folder: Path, argument: str = "folders") -> dict | None:
    """The record of a finished run in ``folder``, or ``None``.

    Parameters
    ----------
    folder : pathlib.Path
        A run's folder; finished when its ``run.json`` holds a ``final`` record.
    argument : str
        The argument a ``run.json`` that cannot be read is refused on: not a regular file, larger
        than :data:`~sigprop.core.results.RECORD_BYTES`, not JSON, nested too deeply or not a JSON
        object (:func:`sigprop.core.results.read_json`).

    Returns
    -------
    dict or None
    """
    path = Path(folder) / "run.json"
    if not path.exists():
        return None
    record = read_json(path, argument, "a run record sigprop wrote", limit=RECORD_BYTES)
    if "final" not in record:
        return None
    config = record.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ArgumentError(argument, f"{path}: not a run record sigprop wrote (no model configuration)")
    try:              # every field, those added later with their defaults, so that configurations compare
        record["config"] = json.loads(json.dumps(lm_train.TrainConfig.from_dict(config).to_dict()))
    except (KeyError, TypeError, ValueError):
        pass
    return record


def sweep(configs, data: lm_train.Data, out, *, progress: bool = False, log=None, workers: int = 1,
          threads: int | None = 1, records=None) -> list[dict]:
    """Run (or resume, or skip when finished) every configuration; return the run records.

    Parameters
    ----------
    configs : sequence of TrainConfig
        The runs, each in ``out/<run_name(cfg)>``.
    data : Data
        The tokenized corpus.
    out : path-like
        The sweep's folder.
    progress : bool
        Show each run's progress bar (one worker only).
    log : callable, optional
        Called with a line naming each run as it starts.
    workers : int
        Runs trained at once, one per forked process (1: in this process).
    threads : int or None
        BLAS threads of each run (:func:`sigprop.lm.train.train`).
    records : path-like, optional
        A second home for the finished runs' records: each run that finishes has its ``run.json``
        copied to ``records/<name>/run.json``, and a run whose record is there (finished, same
        configuration) is skipped.  The records are small (no checkpoint), so a study split over
        machines or sessions keeps its finished parts under version control.

    Returns
    -------
    list of dict
        The run records in the order of ``configs``.
    """
    from sigprop.core import checks

    out = Path(out)
    workers = checks.workers("workers", workers)
    if threads is not None:
        threads = checks.workers("threads", threads)
    kept = None if records is None else Path(records)
    todo = []
    found: list = []
    for cfg in configs:
        record = finished(out / run_name(cfg), "dir")
        if (record is None or not cfg.same(record["config"])) and kept is not None:
            record = finished(kept / run_name(cfg), "records")
        found.append(record if record is not None and cfg.same(record["config"]) else None)
        if found[-1] is None:
            todo.append(cfg)

    def task(k, report):
        cfg = todo[k]
        if log:
            log(f"[{configs.index(cfg) + 1}/{len(configs)}] {run_name(cfg)}")
        record = lm_train.train(cfg, data, out=out / run_name(cfg), resume=True, progress=progress and workers == 1,
                          threads=threads)
        record.pop("params", None)
        if kept is not None and "final" in record:         # the folder made here: no empty one for a stopped run
            source = out / run_name(cfg) / "run.json"
            (kept / run_name(cfg)).mkdir(parents=True, exist_ok=True)
            atomic_write(kept / run_name(cfg) / "run.json", lambda tmp: shutil.copyfile(source, tmp))
        report(1)
        return json.loads(json.dumps(jsonable(record)))
    done = _workers.run(task, len(todo), min(workers, max(len(todo), 1)),
                        processes=workers > 1 and _workers.forking())
    fresh = iter(done)
    return [r if r is not None else next(fresh) for r in found]


def mean_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: Student-t interval over the values (NaN bounds for one value)."""
    x = np.asarray([v for v in values if v is not None], dtype=float)
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    if x.size < 2:
        return float(x.mean()), float("nan"), float("nan")
    m, low, high = t_interval(x, confidence)
    return float(m), float(low), float(high)


def final(record: dict) -> dict:
    """The final validation measures of a run: the last evaluation's (with a stopping rule: the
    best evaluation's, ``record["best"]["index"]``), with ``eig_mean``, ``eig_var``,
    ``spread_abs`` (absent from runs recorded before it was measured) and ``spread`` averaged
    over layers and heads and ``rank_residual_last`` the last layer's rank residual; ``step``
    the evaluation's step."""
    patience = record["config"].get("patience", 0)
    last = record["history"][record["best"]["index"] if patience and "best" in record else -1]
    out = {k: last.get(k) for k in SUMMARY if k in last}
    for k in ("eig_mean", "eig_var", "spread_abs", "spread"):
        if k in last:
            out[k] = float(np.mean(last[k]))
    out["rank_residual_last"] = float(last["rank_residual"][-1])
    out["seconds"] = record.get("seconds")
    out["step"] = last["step"]
    return out


def label(config: dict) -> str:
    """The regularizer of a run configuration, with LocAteR's mean treatment."""
    reg = config["model"]["regularizer"]
    if reg.startswith("locater"):      # records written before locater_mean existed held nothing
        reg += " (mean held)" if config.get("locater_mean", "free") == "task" else " (penalty only)"
    return reg


def summarize(records, confidence: float = 0.95) -> list[dict]:
    """One row per configuration without the seed: ``n`` seeds and ``{measure: (mean, low, high)}``."""
    groups: dict = {}
    for rec in records:
        cfg = json.loads(json.dumps(rec["config"]))
        cfg.pop("seed")
        key = json.dumps(cfg, sort_keys=True)
        groups.setdefault(key, []).append(rec)
    rows = []
    for key, recs in groups.items():
        cfg = json.loads(key)
        finals = [final(r) for r in recs]
        row = dict(corpus=cfg["corpus"], layers=cfg["model"]["layers"], heads=cfg["model"]["heads"],
                   width=cfg["model"]["width"], norm=cfg["model"]["norm"], regularizer=label(cfg), steps=cfg["steps"],
                   patience=cfg.get("patience", 0),
                   seeds=sorted(r["config"]["seed"] for r in recs), n=len(recs),
                   unigram_perplexity=recs[0]["data"]["unigram_perplexity"]["valid"])
        for k in SUMMARY:
            row[k] = mean_interval([f.get(k) for f in finals], confidence)
        rows.append(row)
    return rows


def markdown(rows) -> str:
    """The summary as a Markdown table: mean [95% interval] per measure (time: the mean only,
    it measures the machine's load more than the run).  The eigenvalue columns: ``m = tr(W)/D``,
    ``tr(W^2)/D - m^2`` (the theory's second moment, not a variance: negative for mostly complex
    eigenvalues), the spread of the complex eigenvalues ``mean |lambda - m|^2`` and LocAteR's
    ``R(W) = ||W - m I||_F^2 / D``; a column no row has (runs recorded before it was measured) is
    left out."""
    cols = [("perplexity", "val. perplexity", 1), ("entropy_mean", "attn. entropy (nats)", 3),
            ("eig_mean", "eig. mean m", 4), ("eig_var", "tr(W^2)/D - m^2", 4),
            ("spread_abs", "mean \\|lambda - m\\|^2", 4), ("spread", "R(W)", 4),
            ("rho_theory_mean", "rho (theory)", 3), ("linear_share_last_mean", "linear share", 3),
            ("seconds", "s / run", 0)]
    cols = [c for c in cols if any(r.get(c[0]) is not None and not np.isnan(r[c[0]][0]) for r in rows)]

    def cell(v, digits):
        m, lo, hi = v
        if np.isnan(m):
            return "-"
        if np.isnan(lo):
            return f"{m:.{digits}f}"
        return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
    head = "| layers x heads | steps | regularizer | seeds | " + " | ".join(c[1] for c in cols) + " |"
    lines = [head, "|" + "---|" * (4 + len(cols))]
    for r in rows:
        lines.append(f"| {r['layers']} x {r['heads']} | {r['steps']} | {r['regularizer']} | {r['n']} | "
                     + " | ".join(cell(r[k], dg) if k != "seconds" else f"{r[k][0]:.0f}" for k, _, dg in cols)
                     + " |")
    return "\n".join(lines)
