"""sigprop: signal propagation and spectral-gap theory of self-attention, checked.

The closed forms of [BHK24] (signal propagation probability, localization) are in
:mod:`sigprop.propagation`; their Monte Carlo counterparts, with the same
signature, in :mod:`sigprop.montecarlo`.  See the README for a tour.
"""
from .localization import localization_metrics
from .montecarlo import Simulation, simulate
from .propagation import (Profile, band_probability, coefficients, logit_moments,
                          published_moments, spectrum_moments, theory, theory_spectrum)
from .spectrum import eig_mean, eig_var, make_weights
from .walk import sample

__version__ = "0.1.0"

__all__ = [
    "Profile", "Simulation", "band_probability", "coefficients", "eig_mean", "eig_var",
    "localization_metrics", "logit_moments", "make_weights", "published_moments", "sample",
    "simulate", "spectrum_moments", "theory", "theory_spectrum",
]
