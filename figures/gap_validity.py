"""[NNT24]: where the spectral-gap predictions hold, measured over a grid of sigma and T.

Writes ``gap_validity.json`` (every measured value per seed, the predictions, the summary
and the region, with the full configuration) and the figure ``gap_validity.png/.pdf``.
The full grid (``sigprop.gap.validity.SIGMAS`` x ``LENGTHS``, 10 seeds) takes about half an
hour on one core; ``--quick`` runs a 3 x 2 grid with 5 seeds.
"""
from __future__ import annotations

from pathlib import Path

from sigprop.core.labelled import Result
from sigprop.gap import validity
from sigprop.gap.validity import validity_figure
from sigprop.plotting import figure_paths


def make(out, quick: bool = False, progress: bool = False):
    if quick:
        raw = validity.measure(validity.QUICK_SIGMAS, validity.QUICK_LENGTHS, seeds=5, progress=progress)
    else:
        raw = validity.measure(validity.SIGMAS, validity.LENGTHS, seeds=10, progress=progress)
    reg = validity.region(raw)
    Result(dict(raw, region=reg), kind=raw.kind,                  # sigprop.load reads it back, labelled
           dims={**raw.dims_of, "region": ("sigma", "length")}).save(Path(out) / "gap_validity.json")
    validity_figure(reg, figure_paths(out, "gap_validity"))
    return [Path(out) / "gap_validity.json"] + figure_paths(out, "gap_validity")


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(lambda out, quick: make(out, quick, progress=True), __doc__)
