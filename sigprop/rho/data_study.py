"""Does localization need the random walk?  The profile's localization over data models
(docs/data-models.md, "Localization beyond the random walk").

For a fixed eigenspectrum ``(m, v)`` at dimension ``d`` and length ``T`` (``Sigma = I``,
``c = 1/sqrt(d)``, query at ``T``, full centering), :func:`localization_over_data` computes
the closed-form profile ``rho_i`` (docs/theory.md §3, with the general moments of
:mod:`sigprop.rho.data`) for each data model and its localization metrics
(:func:`sigprop.rho.localization.localization_metrics`).
"""
from __future__ import annotations

import numpy as np

from sigprop.rho.localization import localization_metrics
from sigprop.rho.logits import LogitModel
from sigprop.rho.theory import theory

#: The data models of the study: the walk, i.i.d. tokens, AR(1) lengths, Hurst indices.
DEFAULT_SPECS = (("random-walk", "iid") + tuple(f"ar1:{L:g}" for L in (1, 2, 4, 8, 16, 32, 64, 128, 256))
                 + tuple(f"fbm:{h:g}" for h in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)))


def profiles(m: float, v: float, d: int, T: int, specs=DEFAULT_SPECS, *, method: str = "gaussian",
             causal: bool = False) -> dict[str, np.ndarray]:
    """``{spec: rho}`` (each of length ``T``) for the diagonal ``W`` of spectrum ``(m, v)``."""
    return {spec: theory(LogitModel.from_spectrum(m, v, d, T, data=spec, causal=causal), method=method).rho
            for spec in specs}


def localization_over_data(m: float = 0.5, variances=(0.01, 0.1, 1.0), d: int = 64, T: int = 128,
                           specs=DEFAULT_SPECS, *, method: str = "gaussian") -> list[dict]:
    """One record per ``(data model, v)``: the data model, its parameter, ``v`` and the metrics
    ``total``, ``entropy_normalized``, ``peak_s``, ``width`` (in positions) and ``rho_T``."""
    rows = []
    for v in variances:
        for spec, rho in profiles(m, v, d, T, specs, method=method).items():
            loc = localization_metrics(rho, empty="nan")
            name, _, param = spec.partition(":")
            rows.append(dict(data=name, parameter=float(param) if param else None, v=float(v),
                             **{k: float(loc[k]) for k in ("total", "entropy_normalized", "peak_s", "width")},
                             rho_T=float(rho[-1])))
    return rows
