"""The closed-form profile study: its descriptor, :data:`STUDY` (``sigprop predict``).

The API is :func:`sigprop.rho.theory.theory_spectrum` (and :func:`~sigprop.rho.theory.theory` for
a weight matrix); its result, as the command writes it, is a ``prediction``
:class:`~sigprop.core.labelled.Result`: the profile over ``position`` (over ``query`` and
``position`` with ``--query all``).  :data:`MODEL_FLAGS` and :data:`SIMULATION_FLAGS` are the
flags of the model's and the simulation's parameters, shared with :mod:`sigprop.rho.validation`.
This module imports nothing but :mod:`sigprop.core.study`, so that the command line reads it
while it builds its parser.
"""
from __future__ import annotations

from sigprop.core.study import Cli, Study, register

__all__ = ["MODEL_FLAGS", "SIMULATION_FLAGS", "STUDY"]

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
    figure="profile_figure", quick=dict(m=0.5, v=0.1, d=64, T=128),
    description="closed-form profile rho_i of every position (sigprop.rho.theory)"))
