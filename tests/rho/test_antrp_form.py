"""Verdict on the ANTRP code's closed form quoted in docs/theory.md (3.14), decided by Monte Carlo.

The public code of Tang et al., *Intervening Anchor Token* (ICLR 2025, Everlyn-Labs/ANTRP,
function ``calculate_signal_propagation``) uses ``mu_i = (i/T - 1/2) tr(W)/sqrt(d)`` and
``v_i = (2 i^2/T^2 + 7/12) tr(W^2)/d^2``.  Our derivation gives
``mu_i = (i/T - (T+1)/(2T)) tr(W)/sqrt(d)`` and
``v_i = (2 s^2 - 2 s + 7/12 + O(1/T)) tr(W^2)/d``.

Verdict (this test): that form's **mean** is right as ``T -> infinity`` but off
by ``sqrt(d) m / (2T)`` at finite ``T`` (detected here at ``T = 8``); the
its **variance** is wrong: too small by a factor of about ``d`` and with the
wrong shape in ``s``.  The derived forms agree with simulation.
"""
import numpy as np

from sigprop.rho import montecarlo as M
from sigprop.rho import propagation as P
from sigprop.rho import spectrum
from sigprop.rho.theory import theory_spectrum
from tests.helpers import bonferroni_z

M_, V_, D_, T_ = 0.5, 0.1, 16, 8


def _z_scores(mean, var, sim):
    return np.abs(sim.mean - mean) / sim.mean_se, np.abs(sim.variance - var) / sim.variance_se


def test_antrp_form_is_refuted_and_derived_form_supported():
    W = spectrum.make_weights(M_, V_, D_, seed=11)
    sim = M.simulate(W, T_, samples=200_000, seed=12)
    z = bonferroni_z(1e-3, 2 * T_)        # family-wise false alarm 1e-3 per form
    derived_mean_z, derived_var_z = _z_scores(*P.spectrum_moments(M_, V_, D_, T_), sim)
    pub_mean_z, pub_var_z = _z_scores(*P.antrp_moments(M_, V_, D_, T_), sim)
    assert derived_mean_z.max() <= z and derived_var_z.max() <= z
    # the ANTRP form's variance is rejected at every position, by a wide margin
    assert pub_var_z.min() > z and pub_var_z.max() > 10 * z
    # the ANTRP form's mean is rejected (offset sqrt(d) m / (2T) = 0.125 here) ...
    assert pub_mean_z.max() > z
    # ... and the offset is exactly the finite-T correction
    assert np.allclose(P.antrp_moments(M_, V_, D_, T_)[0] - P.spectrum_moments(M_, V_, D_, T_)[0],
                       np.sqrt(D_) * M_ / (2 * T_))


def test_antrp_rho_misses_the_simulation():
    W = spectrum.make_weights(M_, V_, D_, seed=11)
    sim = M.simulate(W, T_, samples=50_000, seed=13, confidence=1 - 1e-3 / T_)
    pub = theory_spectrum(M_, V_, D_, T_, form="antrp").rho
    outside = (pub < sim.ci_low) | (pub > sim.ci_high)
    assert outside.mean() > 0.5


def test_the_old_name_published_is_a_deprecated_alias():
    import pytest
    with pytest.warns(DeprecationWarning, match="ANTRP"):
        old = theory_spectrum(M_, V_, D_, T_, form="published").rho
    with pytest.warns(DeprecationWarning, match="antrp_moments"):
        old_moments = P.published_moments(M_, V_, D_, T_)
    assert np.array_equal(old, theory_spectrum(M_, V_, D_, T_, form="antrp").rho)
    assert all(np.array_equal(a, b) for a, b in zip(old_moments, P.antrp_moments(M_, V_, D_, T_)))
