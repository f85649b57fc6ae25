"""The claims ledger: one measured check per claim of [BHK24], [NNT24] and [GG26], verdicts computed: :func:`run`.

The ledger is three parts: the registry (:mod:`sigprop.claims.registry`: what a claim is,
:func:`~sigprop.claims.registry.register`, the context a check sees, how one row is evaluated),
the row modules, one per paper or setting (:data:`CLAIM_MODULES`, imported here in that order,
which is the order of the rows), and the runner below (rows in worker processes, cached:
:mod:`sigprop.claims.runner`).  The Markdown rendering is :mod:`sigprop.claims.render`.
The names of the registry, :func:`~sigprop.claims.render.markdown` and
:func:`~sigprop.model.locater_sweep.locater_study` are re-exported here.
"""
from __future__ import annotations

import importlib
from datetime import datetime, timezone

from sigprop._version import __version__
from sigprop.claims import bhk24, data, lm, nnt, nnt_variants, registry, runner, softmax, stack, stack_attention
from sigprop.claims.registry import (
    ALPHA,
    CLAIMS,
    EVIDENCE,
    MIN_SEEDS,
    REAL_HEADS,
    SEED_SET_STRIDE,
    TOY,
    VERDICTS,
    Claim,
    Context,
    NotRun,
    evaluate,
    interval_part,
    measured,
    register,
    seed_list,
)
from sigprop.claims.render import markdown
from sigprop.core import checks
from sigprop.core.checks import ArgumentError
from sigprop.model.locater_sweep import LOCATER_METRICS, locater_study

#: The row modules, in the order of the ledger's rows (each registers its rows when imported).
CLAIM_MODULES = tuple(m.__name__ for m in (bhk24, nnt_variants, data, softmax, lm, nnt, stack, stack_attention))

# the rows in the order of their modules in CLAIM_MODULES (in each, the order of registration),
# whichever module was imported first; rows registered elsewhere come last
CLAIMS.sort(key=lambda c: CLAIM_MODULES.index(c.measure.__module__) if c.measure.__module__ in CLAIM_MODULES
            else len(CLAIM_MODULES))


def load_claim_modules() -> None:
    """Import the row modules of :data:`CLAIM_MODULES` (this module imports them already; kept for callers)."""
    for name in CLAIM_MODULES:
        importlib.import_module(name)


def run(quick: bool = False, progress: bool = False, only=None, *, workers: int | None = None,
        cache: bool = False, fresh: bool = False) -> dict:
    """Run every registered claim (or those whose id is in ``only``).

    The rows run in ``workers`` worker processes (default: every core; rows that share an
    experiment in one worker) and, with ``cache``, are read back from the user's cache when
    nothing they depend on changed (``fresh`` recomputes them): :func:`sigprop.claims.runner.run_rows`.
    The numbers depend on neither.

    Returns ``dict(version, config=dict(quick, only, date), claims, notes)``: ``only`` is the
    list of ids asked for (``None``: all), ``date`` the UTC date of the run (ISO 8601).
    """
    if only is not None:
        only = sorted(only) if isinstance(only, (set, frozenset)) else list(only)
        if not only:
            raise ArgumentError("only", "must name at least one registered claim (ids as in CLAIMS.md), got none")
        unknown = sorted(set(only) - {c.id for c in registry.CLAIMS})
        if unknown:
            raise ArgumentError("only", f"must name registered claims (ids as in CLAIMS.md), got {', '.join(unknown)}")
    if workers is not None:
        workers = checks.workers("workers", workers)
    todo = [c for c in registry.CLAIMS if only is None or c.id in only]
    entries, notes, _ = runner.run_rows(todo, quick, evaluate=evaluate, context=Context, not_run=NotRun,
                                        workers=workers, cache=cache, fresh=fresh, progress=progress,
                                        claims=list(registry.CLAIMS))
    date = datetime.now(timezone.utc).date().isoformat()
    return dict(version=__version__, config=dict(quick=quick, only=only, date=date), claims=entries, notes=notes)


__all__ = ["ALPHA", "CLAIMS", "CLAIM_MODULES", "EVIDENCE", "LOCATER_METRICS", "MIN_SEEDS", "REAL_HEADS",
           "SEED_SET_STRIDE", "TOY", "VERDICTS", "ArgumentError", "Claim", "Context", "NotRun", "evaluate",
           "interval_part", "load_claim_modules", "locater_study", "markdown", "measured", "register", "run",
           "seed_list"]
