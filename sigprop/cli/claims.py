"""The ``claims`` command: one measured check per claim of the three papers, with verdicts.

The checks live in the row modules of :mod:`sigprop.claims.ledger`; ``--format markdown``
is the ledger's own rendering (:mod:`sigprop.claims.render`, ``CLAIMS.md``); ``--format json``
(printed, or written by ``--out``) carries the type tag ``"claims"``, so that ``sigprop.load``
reads it back as a :class:`~sigprop.core.labelled.Result` whose ``to_xarray()`` has one entry
per claim ``id``.
"""
from __future__ import annotations

import argparse

from sigprop.cli import arguments
from sigprop.cli.app import command
from sigprop.cli.render import View


def _claims_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="smaller problems (under 2 minutes)")
    p.add_argument("--only", type=arguments.words, metavar="ID[,ID...]",
                   help="run only these claims (ids as in CLAIMS.md)")
    p.add_argument("--workers", type=arguments.number(int, 1), default=None, metavar="N",
                   help="worker processes, one BLAS thread each (default: every core); the numbers do not "
                        "depend on it")
    p.add_argument("--fresh", action="store_true",
                   help="recompute every row instead of reading unchanged ones back from the cache "
                        "($XDG_CACHE_HOME/sigprop, default ~/.cache/sigprop)")
    arguments.progress(p)


@command("claims", help="one measured check per claim of the three papers, with verdicts",
         description="Run one check per claim of [BHK24], [NNT24] and [GG26] and print the claim, the check, the "
                     "numbers and a verdict (supported, refuted, partly or inconclusive).",
         arguments=_claims_arguments, out="text", renderers={"markdown": "sigprop.claims.render:markdown"},

         keys={"claims": ("id",)},
         view=View(records="claims", show=("notes",),
                   blocks=("[{verdict!u}] {id} ({evidence}): {claim}", "    source: {source}",
                           "    regime: {regime_text}", "    check: {check}", "    rule: {rule}",
                           "    why: {reason}")))
def claims(args: argparse.Namespace) -> dict:
    """Run ``sigprop claims``: one measured check per claim of the three papers, with verdicts.
    """
    from sigprop.claims import ledger

    return ledger.run(quick=args.quick, progress=not args.no_progress, only=args.only, workers=args.workers,
                      cache=True, fresh=args.fresh)
