"""[NNT24]'s trainability experiment: Adam on entrywise targets, with and without the fix."""

from __future__ import annotations

from sigprop.gap import trainability as TR
from sigprop.plotting import figure_paths, nnt_training_figure


def make(out, quick: bool = False, result: dict | list | None = None):
    if isinstance(result, list):
        result = TR.merge(result)
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
    return figure_paths(out, "nnt_training")


if __name__ == "__main__":
    from sigprop_figures.nnt_stable_rank import main

    main(make, __doc__)
