"""[NNT24]: spectrum of random Markov attention, rank collapse in width, and the depth study."""
from __future__ import annotations

from sigprop.gap import collapse as rankcollapse
from sigprop.gap import spectra as gap
from sigprop.gap.collapse import depth_figure, width_figure
from sigprop.gap.spectra import spectrum_figure
from sigprop.plotting import figure_paths


def make(out, quick: bool = False):
    T = 512 if quick else 1024
    files = []
    spec = gap.report(T, 0.5, seed=0, keep_spectrum=True)
    spectrum_figure(spec, figure_paths(out, "spectral_gap"))
    files += figure_paths(out, "spectral_gap")
    lengths = [64, 256, 1024] if quick else [64, 256, 1024, 4096]
    rows = [rankcollapse.width(t, 0.5, samples=4 if quick else 8, seed=0) for t in lengths]
    width_figure(dict(config=dict(rows[0]["config"], lengths=lengths), rows=rows),
                 figure_paths(out, "rank_width"))
    files += figure_paths(out, "rank_width")
    for model in ("markov", "attention"):
        res = rankcollapse.depth(4 if quick else 6, 256, 0.5, model=model, values=model == "attention",
                                 seed=0)
        depth_figure(res, figure_paths(out, f"depth_{model}"))
        files += figure_paths(out, f"depth_{model}")
    return files


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
