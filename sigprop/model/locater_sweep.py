"""The LocAteR experiment: the same model trained for several ``lambda`` and seeds.

For every ``lambda`` the final measurements of :func:`sigprop.train.train` are
averaged over seeds (mean and standard deviation): eigenvalue mean and variance,
the LocAteR spreads (Frobenius, symmetric part, complex eigenvalues),
localization of the closed-form ``rho`` profile, attention entropy (last query and
all queries), rank residual of the all-queries output, training and held-out loss.
The penalty variant and how the mean is held come from ``base``
(``locater_variant``, ``locater_mean``; docs/locater.md).

:func:`locater_study` is the ledger's experiment: LocAteR against no penalty on two toy tasks over
seeds, summarized by bootstrap intervals (the rows ``locater-entropy-loss`` and
``localization-avoids-collapse`` of :mod:`sigprop.claims.bhk24`).
"""
from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import numpy as np

from sigprop._version import __version__
from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.core.labelled import Result
from sigprop.core.progress import iterate
from sigprop.core.stats import bootstrap_interval
from sigprop.core.study import Dim, Study, register
from sigprop.model.train import TrainConfig, train

#: Final measurements reported per run, with the key path into the history record.
COLUMNS = {
    "eig_mean": ("eig_mean",), "eig_var": ("eig_var",), "spread": ("spread",),
    "spread_symmetric": ("spread_symmetric",), "spread_abs": ("spread_abs",),
    "rho_total": ("theory_localization", "total"),
    "rho_entropy": ("theory_localization", "entropy_normalized"),
    "rho_width": ("theory_localization", "width"),
    "attention_entropy": ("attention_entropy",), "all_entropy": ("all_entropy",),
    "rank_residual": ("rank_residual",),
    "max_attention": ("max_attention",), "train_loss": ("train_loss",),
    "heldout_loss": ("heldout_loss",),
}


def final_row(record: dict) -> dict:
    """The summary columns of a training record's last history entry (``None`` becomes NaN).

    Parameters
    ----------
    record : dict
        What :func:`sigprop.model.train.train` returns.

    Returns
    -------
    dict
        Column name -> float.
    """
    last = record["history"][-1]
    row = {}
    for name, path in COLUMNS.items():
        value = last
        for key in path:
            value = value[key]
        row[name] = float("nan") if value is None else float(value)
    return row


def sweep(base: TrainConfig, lambdas, seeds, *, progress: bool = False) -> Result:
    """Train ``base`` for every ``lambda`` in ``lambdas`` and seed in ``seeds``."""
    if not len(lambdas) or not len(seeds):
        raise ArgumentError("lambdas", "and seeds must not be empty")
    lambdas = [float(x) for x in _checks.real("lambdas", lambdas, minimum=0.0)]   # before any training
    seeds = [_checks.integer("seeds", s, 0) for s in seeds]
    runs = []
    jobs = [(lam, s) for lam in lambdas for s in seeds]
    for lam, s in iterate(jobs, progress, desc="sweep", unit="run"):
        runs.append(dict(locater=lam, seed=s, **final_row(train(replace(base, locater=lam, seed=s)))))
    summary = []
    for lam in lambdas:
        rows = [r for r in runs if r["locater"] == lam]
        entry = dict(locater=lam, seeds=len(rows))
        for name in COLUMNS:
            vals = np.array([r[name] for r in rows])
            entry[name] = float(np.mean(vals))
            entry[name + "_sd"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
        summary.append(entry)
    return Result(dict(version=__version__, config=dict(asdict(base), lambdas=lambdas, seeds=seeds), runs=runs,
                       summary=summary), kind="locater-sweep", keys={"runs": ("locater", "seed"),
                                                                       "summary": ("locater",)})


#: The metrics :func:`locater_study` summarizes per task and strength.
LOCATER_METRICS = ("spread", "attention_entropy", "heldout_loss", "rank_residual", "all_entropy", "max_attention")


def locater_study(quick: bool, progress: bool = False, first_seed: int = 0) -> dict:
    """LocAteR (Frobenius spread, mean held by the task) against no penalty, two tasks, >= 5 seeds.

    Returns ``config``, ``runs`` (per task: the sweep's per-run rows) and ``summary``
    (per task and strength: mean and 95% bootstrap interval over seeds of every metric).
    """
    seeds = list(range(first_seed, first_seed + (5 if quick else 10)))
    lambdas = [0.0, 0.1] if quick else [0.0, 0.01, 0.1, 1.0]
    steps, probe = (200, 512) if quick else (300, 2048)
    config: dict[str, Any] = dict(tasks=["next-token", "teacher"], lambdas=lambdas, seeds=seeds, steps=steps,
                                  probe=probe,
                  locater_variant="frobenius", locater_mean="task", d=16, d_k=16, T=32, batch=64,
                  optimizer="adam", lr=0.01, attention="softmax")
    runs, summary = {}, []
    for task in config["tasks"]:
        base = TrainConfig(task=task, steps=steps, probe=probe, log_every=steps, locater_variant="frobenius",
                           locater_mean="task")
        res = sweep(base, lambdas, seeds, progress=progress)
        runs[task] = res["runs"]
        for lam in lambdas:
            rows = [r for r in res["runs"] if r["locater"] == lam]
            entry = dict(task=task, locater=lam, seeds=len(rows))
            for k in LOCATER_METRICS:
                mean, low, high = bootstrap_interval([r[k] for r in rows], seed=0)
                entry[k] = dict(mean=mean, low=low, high=high)
            summary.append(entry)
    return dict(config=config, runs=runs, summary=summary)


#: History entries a training cell keeps, over the dimension ``record``.
HISTORY = ("step", "train_loss", "heldout_loss", "attention_entropy", "eig_mean", "eig_var", "rank_residual")


def _records(args) -> int:
    steps, every = int(args["steps"]), int(args["log_every"])
    return 1 + steps // every + (1 if steps % every else 0)


#: The sweep study ``training``: :func:`sigprop.model.train.train` with the cell's seed, its final values
#: (:func:`final_row`) and history (one cell is :func:`sigprop.sweep.studies.training`).
TRAINING_STUDY = register(Study(
    name="training", function="sigprop.model.train:train", cell="sigprop.sweep.studies:training",
    check="sigprop.sweep.studies:check_training",
    kind="attention-training", dims={"record": Dim(size=_records, source="steps")},
    cell_outputs={**{f"final_{k}": () for k in COLUMNS}, **{f"history_{k}": ("record",) for k in HISTORY}},
    figure="sigprop.model.train:history_figure", quick=dict(d=4, d_k=4, T=6, batch=4, steps=4, log_every=2, probe=8),
    description="training of the one-layer model (sigprop.model.train): final values and history"))

#: :func:`sweep` (the sweep study ``locater``: the final measurements of one run per (locater, seed);
#: one cell is :func:`sigprop.sweep.studies.locater`).
STUDY = register(Study(
    name="locater", function="sigprop.model.locater_sweep:sweep", cell="sigprop.sweep.studies:locater",
    check="sigprop.sweep.studies:check_training",
    kind="locater-sweep", cell_outputs={k: () for k in COLUMNS},
    quick=dict(lambdas=[0.0, 0.1], seeds=[0, 1]),
    description="the LocAteR sweep: final measurements of a training run per (locater, seed)"))
