"""The ledger's registry: what a claim is, how it is registered and how one is evaluated.

A claim is one registered function (:func:`register`) that measures numbers and hands
them to a decision rule of :mod:`sigprop.claims.rules`; the rule returns the verdict,
the reason (generated from the numbers) and the rule in words.  Every entry has
``id``, ``claim``, ``sources`` (where the claim comes from, as data:
:class:`sigprop.claims.provenance.Source`), ``source`` (the same in words), ``regime`` (the
setting the check runs in: :class:`sigprop.claims.provenance.Regime`), ``evidence`` (what
kind of data decided it: ``theory`` = closed forms only, no sampling; ``monte-carlo``;
``simulation`` of random matrices; ``training`` over seeds; ``real-model``),
``theory_only`` (the claim is about attention but was checked only inside the theory),
``check`` (what was run), ``rule``, ``numbers``, ``verdict`` (:data:`VERDICTS`), ``reason``
and ``stability`` (for a randomized check in full mode: its verdict on a second, disjoint
set of seeds; the row is ``inconclusive`` when the two disagree).

``quick=True`` runs the same checks on smaller problems (fewer samples, shorter
training, smaller matrices); multi-seed checks keep at least 5 seeds in both.
Adding a claim: in the row module of its paper (``sigprop/claims/<paper>.py``, listed in
:data:`sigprop.claims.ledger.CLAIM_MODULES`), write ``def my_claim(ctx) -> dict(check=...,
numbers=..., decision=...)`` (drawing every seed through ``ctx.seed(...)`` if it is randomized)
and decorate it with ``@register(id, claim=..., sources=[...], regime=Regime(...), evidence=...,
randomized=...)``.  The runner is :mod:`sigprop.claims.ledger`, the Markdown rendering
:mod:`sigprop.claims.render`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sigprop.claims import rules
from sigprop.claims.provenance import Regime, Source
from sigprop.claims.statistics import t_interval
from sigprop.core.checks import ArgumentError, choice

VERDICTS = rules.VERDICTS
EVIDENCE = ("theory", "monte-carlo", "simulation", "training", "real-model")
ALPHA = 0.05
MIN_SEEDS = 5


#: Offset between two seed sets: set ``k`` draws seed ``s`` as ``s + k * SEED_SET_STRIDE``.
SEED_SET_STRIDE = 1_000_003


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    sources: tuple[Source, ...]
    regime: Regime
    evidence: str
    measure: Callable
    randomized: bool = False

    @property
    def source(self) -> str:
        """The sources in words, one after the other."""
        return "; ".join(s.words() for s in self.sources)


CLAIMS: list[Claim] = []


def register(cid: str, *, claim: str, sources, regime: Regime, evidence: str, randomized: bool = False):
    """Decorator: add ``measure(ctx)`` to the ledger as claim ``cid``.

    Parameters
    ----------
    cid : str
        The claim's id (unique).
    claim : str
        The claim in words.
    sources : Source or sequence of Source
        Where the claim comes from (:mod:`sigprop.claims.provenance`).
    regime : Regime
        The setting the check runs in.
    evidence : str
        One of :data:`EVIDENCE`.
    randomized : bool
        The check draws random numbers through ``ctx.seed``: in full mode it is run again on a
        disjoint seed set and is ``inconclusive`` when the two verdicts disagree.
    """
    choice("evidence", evidence, EVIDENCE)
    sources = (sources,) if isinstance(sources, Source) else tuple(sources)
    if not sources or not all(isinstance(s, Source) for s in sources):
        raise ArgumentError("sources", f"must be one or more provenance.Source, got {sources!r}")
    if not isinstance(regime, Regime):
        raise ArgumentError("regime", f"must be a provenance.Regime, got {regime!r}")

    def deco(fn):
        if any(c.id == cid for c in CLAIMS):
            raise ArgumentError("cid", f"must be unique: claim {cid!r} is registered twice")
        CLAIMS.append(Claim(cid, claim, sources, regime, evidence, fn, randomized))
        return fn
    return deco


@dataclass
class Context:
    """What a check sees: ``quick``, the seed set and a cache for experiments shared by several claims."""
    quick: bool = False
    cache: dict = field(default_factory=dict)
    seed_set: int = 0

    def seed(self, base: int) -> int:
        """The seed ``base`` in this context's seed set.

        Set 0 returns ``base`` unchanged; set ``k`` shifts it by ``k * SEED_SET_STRIDE``, so that
        two sets never share a seed.
        """
        return int(base) + self.seed_set * SEED_SET_STRIDE

    def seeds(self, base) -> list[int]:
        """:meth:`seed` of every int of ``base`` (e.g. the entropy list of a ``SeedSequence``)."""
        return [self.seed(b) for b in base]

    def replica(self) -> Context:
        """The context of the second seed set (one per run, with its own cache)."""
        return self.shared("replica", lambda: Context(self.quick, seed_set=self.seed_set + 1))

    def shared(self, key: str, compute: Callable):
        """A value computed once per run and shared by the claims that need it.

        Parameters
        ----------
        key : str
            The name of the value in the cache.
        compute : callable
            ``compute()`` gives the value the first time ``key`` is asked for.

        Returns
        -------
        object
            The cached value.
        """
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


class NotRun(Exception):
    """Raised by a check that cannot run here (a missing optional package); becomes a note."""


def evaluate(c: Claim, ctx: Context) -> dict:
    """Run one claim's check and apply its decision rule.

    Parameters
    ----------
    c : Claim
        The registered claim.
    ctx : Context
        The run's context (quick or full mode, progress, shared values).

    Returns
    -------
    dict
        ``id``, ``claim``, ``sources``, ``source``, ``regime`` (and ``regime_text``), ``evidence``,
        ``theory_only``, ``check``,
        ``rule``, ``numbers``, ``verdict``, ``reason`` and ``stability``.

    Notes
    -----
    A randomized claim in full mode is measured a second time on a disjoint seed set
    (:meth:`Context.replica`); if the two verdicts differ the row is ``inconclusive``.
    ``stability`` records both verdicts, or why the check was not repeated.
    """
    out = measured(c.id, ctx)
    d = out["decision"]
    verdict, reason, rule = d.verdict, d.reason, d.rule
    if not c.randomized:
        stability = dict(checked=False, why="not randomized, or reads stored runs: nothing to re-draw")
    elif ctx.quick:
        stability = dict(checked=False, why="quick mode: the second seed set runs in full mode only")
    else:
        again = measured(c.id, ctx.replica())["decision"]
        stability = dict(checked=True, seed_sets=[ctx.seed_set, ctx.seed_set + 1], verdicts=[d.verdict, again.verdict],
                         reasons=[d.reason, again.reason])
        rule += "; repeated on a disjoint seed set, inconclusive unless both sets give the same verdict"
        if again.verdict != d.verdict:
            verdict = "inconclusive"
            reason = (f"the two seed sets disagree: {d.verdict} on the first ({d.reason}), {again.verdict} on the "
                      f"second ({again.reason})")
    return dict(id=c.id, claim=c.claim, sources=[s.as_dict() for s in c.sources], source=c.source,
                regime=c.regime.as_dict(), regime_text=c.regime.words(),
                evidence=c.evidence, theory_only=c.evidence == "theory",
                check=out["check"], rule=rule, numbers=out["numbers"], verdict=verdict, reason=reason,
                stability=stability)


def measured(cid: str, ctx: Context) -> dict:
    """Claim ``cid``'s measurement, computed once per :class:`Context` (rows may share one)."""
    c = next((c for c in CLAIMS if c.id == cid), None)
    if c is None:
        raise ArgumentError("cid", f"must be a registered claim id, got {cid!r}")
    return ctx.shared(f"claim:{cid}", lambda: c.measure(ctx))

def seed_list(ctx: Context) -> list[int]:
    """The :data:`MIN_SEEDS` seeds of ``ctx``'s seed set."""
    return ctx.seeds(range(MIN_SEEDS))


def interval_part(name, values, band, log10=False):
    """One part of an interval rule: the 95% t-interval of ``values`` (log10 if asked) and its band."""
    values = np.log10(values) if log10 else np.asarray(values, dtype=float)
    est, low, high = t_interval(values)
    return dict(name=name, estimate=est, low=low, high=high, band=band)


# --- regimes shared by the rows of several modules -------------------------------------------

#: The toy tasks LocAteR's toy rows run on.
TOY = Regime("toy-task", "one softmax attention layer (d = 16, T = 32) trained on next-token and teacher toy tasks; "
                         "the paper's claim is about a language model (see the -lm rows)")

#: The regime of the rows measured on MiniLM's heads.
REAL_HEADS = Regime("real-model", "all-MiniLM-L6-v2's 72 heads on real text (beyond the paper's experiments)")


__all__ = ["ALPHA", "CLAIMS", "EVIDENCE", "MIN_SEEDS", "REAL_HEADS", "SEED_SET_STRIDE", "TOY", "VERDICTS", "Claim",
           "Context", "NotRun", "evaluate", "interval_part", "measured", "register", "seed_list"]
