"""[BHK24]'s language-model experiment: the stored summary of its runs (``results/lm/summary.json``,
written by ``sigprop lm summarize``, docs/lm.md) drawn as ``sigprop lm summarize --plot`` draws it:
final validation perplexity and attention entropy per shape and regularizer, and the paired
differences from ``none``.  A redraw of stored results (the runs take hours): ``--quick`` draws
the same."""
from __future__ import annotations

from sigprop.lm.plots import summary_figure
from sigprop.lm.summary import read
from sigprop.plotting import figure_paths


def make(out, quick: bool = False):
    from sigprop_results import folder

    files = figure_paths(out, "lm_summary")
    summary_figure(read(folder("lm") / "summary.json"), files)
    return files


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
