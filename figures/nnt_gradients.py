"""[NNT24]'s protocol: Frobenius norm of d X_L / d W_V^(l) against the layer, per configuration."""

from __future__ import annotations

from sigprop.gap import stable_rank as SR
from sigprop.gap.stable_rank import nnt_gradients_figure
from sigprop.plotting import figure_paths


def make(out, quick: bool = False, result: dict | None = None):
    if result is None:
        result = SR.gradient_norms(
            "all",
            lengths=[8] if quick else [20, 50, 100],
            gammas=[1.0] if quick else SR.PAPER_GAMMAS,
            layers=2 if quick else 10,
            seeds=range(3 if quick else 5),
            probes=2 if quick else 8,
        )
    files = []
    for gamma in result["config"]["gammas"]:
        name = f"nnt_gradients_gamma{gamma:g}".replace(".", "")
        nnt_gradients_figure(result, figure_paths(out, name), gamma=gamma)
        files += figure_paths(out, name)
    return files


if __name__ == "__main__":
    from sigprop_figures.nnt_stable_rank import main

    main(make, __doc__)
