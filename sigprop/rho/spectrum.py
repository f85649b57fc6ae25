"""Eigenspectrum statistics of a query-key matrix ``W = W_Q W_K^T`` (docs/theory.md §3.3).

* ``eig_mean(W) = tr(W) / d`` and ``eig_var(W) = tr(W^2) / d - eig_mean(W)^2`` are
  the mean and variance of the (possibly complex) eigenvalues: ``tr(W^k)`` is the
  sum of the ``k``-th powers of the eigenvalues for any square ``W``.  For a
  non-symmetric ``W`` the "variance" is ``mean(lambda^2) - mean(lambda)^2`` over
  complex eigenvalues and can be negative; note ``||W||_F^2 != tr(W^2)`` then.  It is the
  theory's ``v`` (the logit variances depend on ``W`` through ``tr(W^2)``), not a spread: tables
  label it ``tr(W^2)/d - m^2``.
* ``eig_spread(W) = mean_k |lambda_k - m|^2`` is the spread of the complex eigenvalues
  around their mean: ``>= eig_var(W)`` (``|z|^2 >= Re(z^2)``), equal for real eigenvalues (a
  symmetric ``W``), and ``<= ||W - m I||_F^2 / d`` (Schur), LocAteR's ``R(W)``.
* ``make_weights(m, v, d)`` builds a symmetric ``W`` whose eigenvalues have mean
  ``m`` and variance ``v`` exactly, with a chosen spectrum shape.
"""
from __future__ import annotations

import numpy as np
from scipy import special

from sigprop.core import checks as _checks
from sigprop.core.aliases import ArrayLike, Seed
from sigprop.core.memory import cubic_seconds, matrices, require, require_time

SHAPES = ("gaussian", "uniform", "two-point")


def eig_mean(W: ArrayLike) -> np.ndarray:
    """Mean eigenvalue ``tr(W) / d`` of ``W`` (shape ``(..., d, d)``)."""
    W = _checks.square_matrix("W", W)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.trace(W, axis1=-2, axis2=-1) / W.shape[-1]
    if not np.all(np.isfinite(out)):
        raise _checks.ArgumentError("W", "is too large: tr(W) overflows float64; scale it down")
    return out


def eig_var(W: ArrayLike) -> np.ndarray:
    """Eigenvalue variance ``tr(W^2)/d - (tr(W)/d)^2`` of ``W``."""
    W = _checks.square_matrix("W", W)
    with np.errstate(over="ignore", invalid="ignore"):
        second = np.einsum("...ij,...ji->...", W, W) / W.shape[-1]
        out = second - eig_mean(W) ** 2
    if not np.all(np.isfinite(out)):
        raise _checks.ArgumentError("W", "is too large: tr(W^2) overflows float64; scale it down")
    return out


def eig_spread(W: ArrayLike) -> np.ndarray:
    """Spread of the complex eigenvalues ``mean_k |lambda_k - m|^2`` of ``W`` (shape ``(..., d, d)``),
    ``m = tr(W)/d``; by :func:`numpy.linalg.eigvals`.

    Always ``>= 0``; ``>= eig_var(W) = mean_k Re((lambda_k - m)^2)``, with equality when every
    eigenvalue is real; ``<= ||W - m I||_F^2 / d`` (Schur's inequality), with equality when ``W``
    is normal.
    """
    W = _checks.square_matrix("W", W)
    with np.errstate(over="ignore", invalid="ignore"):
        lam = np.linalg.eigvals(W)
        centered = lam - lam.mean(axis=-1, keepdims=True)
        out = np.mean(centered.real ** 2 + centered.imag ** 2, axis=-1)
    if not np.all(np.isfinite(out)):
        raise _checks.ArgumentError("W", "is too large: |lambda - m|^2 overflows float64; scale it down")
    return out


def standard_spectrum(d: int, shape: str = "gaussian") -> np.ndarray:
    """``d`` deterministic values with mean exactly 0 and variance exactly 1.

    ``gaussian``: normal quantiles at ``(k - 1/2)/d``; ``uniform``: evenly spaced
    points; ``two-point``: ``floor(d/2)`` values at ``-a`` and the rest at ``+b``
    (``a = b = 1`` for even ``d``).  ``d = 1`` gives ``[0]`` (variance 0).
    """
    d = _checks.integer("d", d, 1)
    _checks.choice("shape", shape, SHAPES)
    if d == 1:
        return np.zeros(1)
    k = np.arange(1, d + 1)
    if shape == "gaussian":
        z = special.ndtri((k - 0.5) / d)
    elif shape == "uniform":
        z = k.astype(float)
    else:
        low = d // 2
        p = low / d
        z = np.where(k <= low, -np.sqrt((1 - p) / p), np.sqrt(p / (1 - p)))
    z = z - z.mean()
    return z / np.sqrt(np.mean(z ** 2))


#: Largest eigenvalue modulus of :func:`make_weights`: a quarter of float64's range, so that the
#: rotation ``Q diag(lambda) Q^T`` (entries and partial sums at most ``max |lambda|``) and its
#: symmetrization stay finite.
WEIGHT_MAX = float(np.finfo(float).max) / 4


def make_weights(m: float, v: float, d: int, *, shape: str = "gaussian",
                 basis: str = "random", seed: Seed = None) -> np.ndarray:
    """A symmetric ``d x d`` matrix with eigenvalue mean ``m`` and variance ``v``.

    Eigenvalues are ``m + sqrt(v) z`` with ``z = standard_spectrum(d, shape)``, so
    both moments hold to rounding.  ``basis="random"`` rotates them by a Haar
    orthogonal matrix drawn with ``seed``; ``basis="identity"`` returns the
    diagonal matrix.  Eigenvalues beyond :data:`WEIGHT_MAX` in modulus (``|m| + sqrt(v) max|z|``)
    are refused, naming ``m`` or ``v``, whichever contributes more.
    """
    m_, v_, d = _checks.spectrum(_checks.scalar("m", m), _checks.scalar("v", v, minimum=0.0), d)
    m, v = float(m_), float(v_)
    require(matrices(3, d, d), "d", f"{d} x {d} float64 matrices")
    if basis == "random":
        require_time(cubic_seconds(d, "qr", "matmul"), "d", f"a Haar rotation of {d} x {d} (a QR factorization and "
                                                          "a matrix product)")
    z = standard_spectrum(d, shape)
    spread = float(np.sqrt(v) * np.max(np.abs(z), initial=0.0))
    if abs(m) + spread > WEIGHT_MAX:       # |W_ij| <= max |lambda|: the entries stay below it too
        name, value = ("m", m) if abs(m) >= spread else ("v", v)
        raise _checks.ArgumentError(name, f"is too large ({value:g}): the eigenvalues m + sqrt(v) z reach "
                                          f"{abs(m) + spread:.3g}; |m| + sqrt(v) max|z| must be at most "
                                          f"{WEIGHT_MAX:g} for the weights to stay finite in float64")
    lam = m + np.sqrt(v) * z
    if basis == "identity":
        return np.diag(lam)
    if basis != "random":
        _checks.choice("basis", basis, ("random", "identity"))
    rng = np.random.default_rng(_checks.seed("seed", seed))
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))
    W = (q * lam) @ q.T
    return 0.5 * W + 0.5 * W.T
