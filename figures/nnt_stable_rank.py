"""[NNT24]'s protocol: stable rank of X_l X_l^T against T and against depth, per configuration."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sigprop.gap import stable_rank as SR
from sigprop.gap.stable_rank import nnt_stable_rank_figure
from sigprop.plotting import figure_paths


def make(out, quick: bool = False, result: dict | None = None):
    if result is None:
        lengths = (8, 16) if quick else (20, 30, 50, 70, 100, 150)
        result = SR.stable_ranks(
            "all",
            lengths=lengths,
            gammas=[1.0] if quick else SR.PAPER_GAMMAS,
            layers=2 if quick else 10,
            seeds=range(3 if quick else 5),
        )
    files = []
    for gamma in result["config"]["gammas"]:
        tag = f"{gamma:g}".replace(".", "")
        for against, layer in (("length", 1), ("length", None), ("layer", None)):
            name = (
                f"nnt_stable_rank_{'T' if against == 'length' else 'depth'}"
                + (f"_layer{layer}" if layer else "")
                + f"_gamma{tag}"
            )
            nnt_stable_rank_figure(result, figure_paths(out, name), against=against, gamma=gamma, layer=layer)
            files += figure_paths(out, name)
    return files


def main(make_fn, doc):
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default="figures/out")
    p.add_argument("--results", help="a JSON result file of the matching sigprop nnt command (skips the run); "
                                     "several, comma-separated, where the figure merges them (nnt_training)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = args.results.split(",") if args.results else []
    loaded = [json.loads(Path(f).read_text()) for f in files]
    result = (loaded[0] if len(loaded) == 1 else loaded) if loaded else None
    from sigprop_figures import NotDrawn

    try:
        written = make_fn(out, args.quick, result)
    except NotDrawn as exc:
        raise SystemExit(f"not drawn: {exc}") from None
    for f in written:
        print("wrote", f)


if __name__ == "__main__":
    main(make, __doc__)
