"""Exact signal propagation probability, beyond the Gaussian approximation (docs/theory.md §3.5).

The centered logit is a quadratic form in Gaussian variables: ``zc_i = sum_k lambda_ik chi2_1``
with the chi-square weights ``lambda_ik`` of :attr:`sigprop.rho.logits.LogitModel.chi2_weights`
(``derivations/chi_square.py``).  A token mean adds a linear term:
``zc_i = sum_k lambda_ik Z_k^2 + l_ik Z_k`` (:attr:`~sigprop.rho.logits.LogitModel.noncentral_weights`,
``derivations/noncentral.py``, docs/theory.md (3.30)), a non-central mixture handled by the same
integration (:func:`sigprop.rho.chi2sum.cdf` with ``linear``).  ``rho_i = P(0 < zc_i < 1) = F_i(1) - F_i(0)`` with the
distribution function ``F_i`` of :func:`sigprop.rho.chi2sum.cdf`, whose error bound holds for
any finite weights (``docs/exact.md``: where it is guaranteed and how it was checked).
"""
from __future__ import annotations

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.aliases import ArrayLike
from sigprop.rho.chi2sum import GAUSS_WEIGHTS, GK_NODES, GK_WEIGHTS, cdf
from sigprop.rho.logits import LogitModel, as_model, require_chi2
from sigprop.rho.propagation import Profile, moments

__all__ = ["GAUSS_WEIGHTS", "GK_NODES", "GK_WEIGHTS", "band", "cdf", "chi2_weights", "spectrum_weights",
           "theory"]


def chi2_weights(W, T: int | None = None, *, step_cov=None, scale=None) -> np.ndarray:
    """The ``2d`` chi-square weights of every position's centered logit, shape ``(T, 2d)``.

    ``W`` may be a :class:`~sigprop.rho.logits.LogitModel` (then ``T`` and the keywords
    are omitted); the weights are :attr:`LogitModel.chi2_weights`.
    """
    return as_model(W, T, step_cov, scale).chi2_weights


def spectrum_weights(m: ArrayLike, v: ArrayLike, d: int, T: int, *, shape: str = "gaussian",
                     scale: ArrayLike | None = None) -> np.ndarray:
    """Chi-square weights for a symmetric ``W`` with eigenvalues ``m + sqrt(v) z`` (``Sigma = I``).

    ``z = standard_spectrum(d, shape)``: unlike the Gaussian form, the exact
    distribution depends on the whole spectrum, not only on ``(m, v)``.  ``m`` and
    ``v`` broadcast; the result has shape ``broadcast + (T, 2d)``.
    """
    return LogitModel.from_spectrum(m, v, d, T, shape=shape, scale=scale).chi2_weights


def band(weights, *, tol: float = 1e-7, linear=None) -> tuple[np.ndarray, np.ndarray]:
    """``P(0 < Q < 1)`` and its error bound for chi-square weights ``(..., n)`` (with the
    linear coefficients ``linear`` of a non-central mixture, if given).

    The bound is the sum of the bounds of ``F(1)`` and ``F(0)``, each targeted at ``tol``.
    """
    w = _checks.floats("weights", weights, "a finite real array of shape (..., n)")
    pair = np.array([1.0, 0.0]).reshape((2,) + (1,) * (w.ndim - 1))
    lin = None if linear is None else np.stack([_checks.floats("linear", linear, "a finite real array of shape "
                                                               "(..., n)")] * 2)
    F, e = cdf(np.stack([w, w]), pair, tol=tol, linear=lin)         # both points in one call
    return np.clip(F[0] - F[1], 0.0, 1.0), e[0] + e[1]


def theory(W, T: int | None = None, *, step_cov=None, scale=None) -> Profile:
    """Exact ``rho_i`` for a weight matrix; ``config["rho_error"]`` bounds its error.

    Same signature as :func:`sigprop.rho.theory.theory` (``W`` may be a
    :class:`~sigprop.rho.logits.LogitModel`); ``mean`` and ``variance`` are the exact
    closed-form moments of :func:`sigprop.rho.propagation.moments`.
    """
    model = as_model(W, T, step_cov, scale).single("the exact method")
    require_chi2(model)
    mean, variance = moments(model)
    if model.token_mean is None:
        rho, error = band(model.chi2_weights)
    else:                                    # a token mean: the non-central mixture (3.30)
        rho, error = band(*model.noncentral_weights[:1], linear=model.noncentral_weights[1])
    return Profile(np.arange(1, model.T + 1), mean, variance, rho,
                   dict(T=model.T, form="finite", method="exact", rho_error=error))
