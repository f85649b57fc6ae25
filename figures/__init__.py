"""Figure scripts (installed as ``sigprop_figures``); ``sigprop figures`` runs them all.

Each module has ``make(out, quick) -> list of written files`` and runs on its own:
``python figures/NAME.py [--quick] [--out DIR]``.  Seeds are fixed, so the same
command writes the same images.
"""
from __future__ import annotations

import argparse
import importlib
from pathlib import Path

SCRIPTS = ("rho_profiles", "theory_vs_mc", "training", "spectral_gap", "gaussian_error", "gap_validity",
           "nnt_stable_rank", "nnt_gradients", "nnt_training", "nnt_encoder",
           "data_models", "datamodel_text", "softmax_map", "lm_summary", "stack_gg", "stack_phase")


def make_all(out, quick: bool = False, progress: bool = False) -> list[str]:
    from tqdm.auto import tqdm

    files = []
    for name in tqdm(SCRIPTS, disable=not progress, desc="figures", unit="script"):
        module = importlib.import_module(f"{__name__}.{name}")
        files.extend(str(f) for f in module.make(Path(out), quick))
    return files


def script_main(make, description: str) -> None:
    """Command line of one figure script."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default="figures/out")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for f in make(out, args.quick):
        print("wrote", f)
