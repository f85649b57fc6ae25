"""Theory in the loop on Wikipedia text: the stored run ``results/lm/wikipedia_datamodel.json``
(the paper's model, ``sigprop lm train --corpus wikipedia --datamodel 32 --datamodel-exact``,
docs/lm.md) drawn as measured linear-regime share against the fitted data model's predictions
and the random walk's through training.  A redraw of a stored run (it takes about an hour):
``--quick`` draws the same."""
from __future__ import annotations

import json

from sigprop.lm.plots import theory_loop_figure
from sigprop.plotting import figure_paths


def make(out, quick: bool = False):
    from sigprop_results import folder

    files = figure_paths(out, "lm_theory_loop")
    theory_loop_figure(json.loads((folder("lm") / "wikipedia_datamodel.json").read_text()), files)
    return files


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
