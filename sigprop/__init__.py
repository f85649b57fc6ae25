"""sigprop: signal propagation and spectral-gap theory of self-attention, checked.

The package is grouped by idea (see ``docs/layout.md``):

* :mod:`sigprop.rho` -- [BHK24]: the signal propagation probability ``rho_i``, its
  closed forms (Gaussian and exact) beside its Monte Carlo estimate, localization, the exact
  distribution of a centered logit (:func:`sigprop.logit_distribution`);
* :mod:`sigprop.gap` -- [NNT24]: the spectral gap of softmax attention and rank collapse;
* :mod:`sigprop.model` -- one-layer attention with hand-written gradients, training, LocAteR;
* :mod:`sigprop.checkpoints` -- real pretrained heads and real text;
* :mod:`sigprop.claims` -- the ledger of the papers' claims with measured verdicts;
* :mod:`sigprop.core` -- argument checks, statistics, result files, labelled results;
* :func:`sigprop.load` -- any result file sigprop writes, read back as the object that wrote it;
* :mod:`sigprop.explore` -- the interactive page of ``sigprop explore`` (Bokeh server).

The formulas are stated and numbered in ``docs/theory.md``.  The most used names are
re-exported here: ``import sigprop as sp; sp.theory_spectrum(0.5, 0.1, 64, 128)``.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sigprop._version import __version__

# Public names and the module that defines each.  They are imported on first use
# (PEP 562), so that ``import sigprop.cli`` and ``sigprop --help`` stay light.
_PUBLIC = {
    "load": "sigprop.loading",
    "Result": "sigprop.core.labelled",
    "localization_metrics": "sigprop.rho.localization",
    "LogitModel": "sigprop.rho.logits",
    "LogitDistribution": "sigprop.rho.distribution",
    "logit_distribution": "sigprop.rho.distribution",
    "Simulation": "sigprop.rho.montecarlo",
    "simulate": "sigprop.rho.montecarlo",
    "Profile": "sigprop.rho.propagation",
    "band_probability": "sigprop.rho.propagation",
    "coefficients": "sigprop.rho.propagation",
    "logit_moments": "sigprop.rho.propagation",
    "antrp_moments": "sigprop.rho.propagation",
    "published_moments": "sigprop.rho.propagation",
    "spectrum_moments": "sigprop.rho.propagation",
    "eig_mean": "sigprop.rho.spectrum",
    "eig_var": "sigprop.rho.spectrum",
    "make_weights": "sigprop.rho.spectrum",
    "theory": "sigprop.rho.theory",
    "theory_spectrum": "sigprop.rho.theory",
    "sample": "sigprop.rho.walk",
}

__all__ = [
    "LogitDistribution", "LogitModel", "Profile", "Result", "Simulation", "__version__", "antrp_moments",
    "band_probability", "coefficients", "eig_mean", "eig_var", "load", "localization_metrics", "logit_distribution",
    "logit_moments", "make_weights", "published_moments", "sample", "simulate", "spectrum_moments", "theory",
    "theory_spectrum",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from sigprop.core.labelled import Result
    from sigprop.loading import load
    from sigprop.rho.distribution import LogitDistribution, logit_distribution
    from sigprop.rho.localization import localization_metrics
    from sigprop.rho.logits import LogitModel
    from sigprop.rho.montecarlo import Simulation, simulate
    from sigprop.rho.propagation import (
        Profile,
        antrp_moments,
        band_probability,
        coefficients,
        logit_moments,
        published_moments,
        spectrum_moments,
    )
    from sigprop.rho.spectrum import eig_mean, eig_var, make_weights
    from sigprop.rho.theory import theory, theory_spectrum
    from sigprop.rho.walk import sample


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'sigprop' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
