"""The closed-form profile studies: their descriptors, :data:`STUDY` (``sigprop predict``) and the
sweep studies ``profile``, ``exact`` and ``saddlepoint`` (:data:`PROFILE`, :data:`EXACT`,
:data:`SADDLEPOINT`: one cell of each is a function of :mod:`sigprop.sweep.studies`).

The API is :func:`sigprop.rho.theory.theory_spectrum` (and :func:`~sigprop.rho.theory.theory` for
a weight matrix); its result, as the command writes it, is a ``prediction``
:class:`~sigprop.core.labelled.Result`: the profile over ``position`` (over ``query`` and
``position`` with ``--query all``).  :data:`MODEL_FLAGS` and :data:`SIMULATION_FLAGS` are the
flags of the model's and the simulation's parameters, shared with :mod:`sigprop.rho.validation`.
This module imports nothing but :mod:`sigprop.core.study`, so that the command line reads it
while it builds its parser.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigprop.core.study import Cli, Dim, Study, register

__all__ = ["EXACT", "LOCALIZATION", "MODEL_AXES", "MODEL_FLAGS", "POSITION", "PROFILE", "SADDLEPOINT",
           "SIMULATION_FLAGS", "STUDY"]

#: API parameter -> flag, for the model (``LogitModel``, ``theory``).
MODEL_FLAGS = {"m": "--mean", "v": "--var", "d": "--dim", "T": "--length", "W": "--weights",
               "step_cov": "--step-cov", "scale": "--scale", "form": "--form", "method": "--method",
               "shape": "--shape", "data": "--data", "query": "--query", "causal": "--causal",
               "token_mean": "--token-mean", "quantity": "--quantity"}
#: API parameter -> flag, for the simulation (``simulate``).
SIMULATION_FLAGS = {"samples": "--samples", "seed": "--seed", "confidence": "--confidence",
                    "batch_size": "--batch-size", "dtype": "--dtype", "threads": "--threads",
                    "streams": "--streams"}

STUDY = register(Study(
    name="predict", function="sigprop.rho.theory:theory_spectrum", kind="prediction",
    cli=Cli("predict", help="closed-form signal propagation profile rho_i", flags=MODEL_FLAGS,
            run="sigprop.cli.rho:predict", arguments="sigprop.cli.rho:predict_arguments",
            view=dict(columns=("position=positions", "rho", "mean", "variance", "rho_error", "value", "se"),
                      show=("localization",), lines=("method: {method} ({method_reason})",)),
            options=dict(description="Closed-form signal propagation probability of every position.",
                         formats=("table", "json", "csv"),
                         # positions, rho, mean, variance, rho_error
                         output_size=lambda args: (5 * (args.length or 0), "T"))),
    figure="sigprop.rho.prediction:profile_figure", quick=dict(m=0.5, v=0.1, d=64, T=128),
    description="closed-form profile rho_i of every position (sigprop.rho.theory)"))


def positions(args: Mapping[str, Any]) -> int:
    """The number of positions ``T`` of a cell's arguments."""
    return int(args["T"])


#: The dimension ``position`` (``1..T``) of a sweep cell's profiles.
POSITION = Dim(size=positions, start=1, source="T")
#: The localization metrics a sweep cell keeps (:func:`sigprop.rho.localization.localization_metrics`).
LOCALIZATION = ("total", "entropy_normalized", "peak", "width")
#: The model's parameters a closed-form sweep may sweep.
MODEL_AXES = ("m", "v", "d", "T", "scale", "shape")
_QUICK = dict(m=0.5, v=0.1, d=8, T=6)

#: The sweep study ``profile``: ``theory_spectrum`` with its localization metrics, one cell per model.
PROFILE = register(Study(
    name="profile", function="sigprop.rho.theory:theory_spectrum", cell="sigprop.sweep.studies:profile",
    kind="Profile", axes=MODEL_AXES + ("form", "method"), dims={"position": POSITION},
    cell_outputs={"rho": ("position",), "mean": ("position",), "variance": ("position",),
                  **{f"localization_{k}": () for k in LOCALIZATION}},
    figure="sigprop.rho.prediction:profile_figure", quick=_QUICK,
    check="sigprop.sweep.studies:check_spectrum",
    description="closed-form profile rho_i (sigprop.theory_spectrum) with its localization metrics"))

#: The sweep study ``exact``: the chi-square decomposition beside the Gaussian form.
EXACT = register(Study(
    name="exact", function="sigprop.rho.theory:theory_spectrum", cell="sigprop.sweep.studies:exact",
    kind="Profile", axes=MODEL_AXES, dims={"position": POSITION},
    cell_outputs={"rho": ("position",), "rho_error": ("position",), "rho_gaussian": ("position",)},
    figure="sigprop.rho.prediction:profile_figure", quick=dict(_QUICK, method="exact"),
    check="sigprop.sweep.studies:check_exact",
    description="exact rho (chi-square decomposition) beside the Gaussian form"))

#: The sweep study ``saddlepoint``: the saddle-point method beside the exact one.
SADDLEPOINT = register(Study(
    name="saddlepoint", function="sigprop.rho.theory:theory_spectrum", cell="sigprop.sweep.studies:saddlepoint",
    kind="Profile", axes=MODEL_AXES, dims={"position": POSITION},
    cell_outputs={"rho": ("position",), "rho_exact": ("position",), "max_abs_error": (), "exact_error_bound": ()},
    figure="sigprop.rho.prediction:profile_figure", quick=dict(_QUICK, method="saddlepoint"),
    check="sigprop.sweep.studies:check_exact",
    description="saddle-point rho beside the exact method: where it is good to 1e-3"))


# --- figure ---------------------------------------------------------------------------------

def profile_figure(result: dict, path) -> None:
    """``rho_i`` against position ``i`` (theory line; simulation with intervals if present)."""
    import numpy as np

    from sigprop.plotting import pyplot, save

    plt = pyplot()
    cfg = result["config"]
    pos = np.asarray(result["positions"])
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(pos, result["rho"], "k-", lw=1.6, label=f"closed form ({cfg['form']})")
    if "rho_mc" in result:
        rho_mc = np.asarray(result["rho_mc"])
        err = np.vstack([rho_mc - np.asarray(result["ci_low"]), np.asarray(result["ci_high"]) - rho_mc])
        ax.errorbar(pos, rho_mc, yerr=err, fmt="o", ms=2.5, color="0.45", mfc="white", elinewidth=0.8,
                    label=f"Monte Carlo, {cfg['samples']} samples, {cfg['confidence']:.0%} Wilson CI")
    ax.set_xlabel("position i (query = token T)")
    ax.set_ylabel(r"$\rho_i = P(0 < zc_i < 1)$")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(_title(cfg), fontsize=9)
    ax.legend(fontsize=8, loc="best")
    save(fig, path)


def _title(cfg: dict) -> str:
    from sigprop.core.vocabulary import canonical_config

    cfg = canonical_config(cfg)
    if cfg.get("weights"):
        head = f"W from {cfg['weights']}"
    else:
        head = f"eigenvalue mean m = {cfg['m']:g}, variance v = {cfg['v']:g}"
    return f"{head}; d = {cfg['d']}, T = {cfg['T']}, c = {cfg['scale']:.4g}"
