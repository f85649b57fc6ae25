"""[NNT24]'s trainability experiment: Adam on entrywise targets, with and without the fix.

``nnt_training``: ``sigprop nnt train``'s defaults (T = 32), drawn from the stored full run
(``results/nnt/T32_trainability.json``; computed when it is absent, about 8 CPU-minutes; ``--quick`` a
small case) or from ``--results``.  ``nnt_training_T500``: the stored runs at the paper's T = 500
(``results/nnt/train_T500_*.json``, docs/nnt.md), redrawn whenever no ``--results`` is given.
"""

from __future__ import annotations

import json

from sigprop.gap import trainability as TR
from sigprop.gap.trainability import nnt_training_figure
from sigprop.plotting import figure_paths

#: The stored T = 500 runs, one file per target, merged in this order (docs/nnt.md).
T500_TARGETS = ("identity", "square", "shifted_sigmoid", "heaviside")
#: The stored full run at T = 32 (not named ``train*.json``: the ledger's T = 500 row reads those).
T32 = "T32_trainability.json"


def stored_T500() -> dict:
    """The stored trainability runs at T = 500, merged into one result."""
    from sigprop_results import folder

    return TR.merge([json.loads((folder("nnt") / f"train_T500_{t}.json").read_text()) for t in T500_TARGETS])


def stored_T32() -> dict | None:
    """The stored full run at T = 32 (``sigprop nnt train``'s defaults), or None when absent."""
    from sigprop_results import folder

    path = folder("nnt") / T32
    return json.loads(path.read_text()) if path.is_file() else None


def make(out, quick: bool = False, result: dict | list | None = None):
    files = []
    if result is None:
        nnt_training_figure(stored_T500(), figure_paths(out, "nnt_training_T500"))
        files += figure_paths(out, "nnt_training_T500")
    if isinstance(result, list):
        result = TR.merge(result)
    if result is None and not quick:
        result = stored_T32()
    if result is None:
        result = (
            TR.train(
                ["A(X)+skip+LN", "A(X)_perp+skip+LN"],
                targets=["identity", "heaviside"],
                lrs=[1e-2],
                length=6,
                layers=2,
                seeds=range(3),
                samples=4,
                steps=10,
            )
            if quick
            else TR.train()
        )
    nnt_training_figure(result, figure_paths(out, "nnt_training"))
    return files + figure_paths(out, "nnt_training")


if __name__ == "__main__":
    from sigprop_figures.nnt_stable_rank import main

    main(make, __doc__)
