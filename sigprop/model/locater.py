"""LocAteR, localized attention regularization [BHK24] (docs/theory.md §4, docs/locater.md).

[BHK24]'s regularizer "shrinks the scale of the QK eigenspectrum while keeping its
mean".  sigprop splits this into a *penalty* on the spread of ``W`` around
``m I`` (``m = tr(W)/d``, the eigenvalue mean) and a *constraint* that holds the
mean exactly: after every optimizer step :func:`project` restores ``tr(W)``.

Penalties (``D = W - m I`` is traceless; ``S = (W + W^T)/2``; ``lambda_k`` are the
complex eigenvalues of ``W``):

``frobenius`` (default, used by the ledger)
    ``R_F = ||D||_F^2 / d``, gradient ``(2/d) D``.  The excess (over the mean's)
    variance of every centered logit is ``c^2 d [alpha_i R_F + beta_i^2 R_C]``
    with ``|R_C| <= R_F`` (docs/theory.md §3), so ``R_F`` is the spread the
    signal propagation probability sees; by Schur's inequality it bounds the
    eigenvalue spread ``R_|C|`` from above and is 0 only at ``W = m I``.
``symmetric``
    ``R_S = ||S - m I||_F^2 / d``, the eigenvalue variance of the symmetric part
    (``tr S = tr W``); gradient ``(2/d) (S - m I)``.  Blind to the antisymmetric part.
``complex``
    ``R_C = tr(D^2) / d = (1/d) sum_k (lambda_k - m)^2`` (real for real ``W``; the
    ``eig_var`` of the theory), gradient ``(2/d) D^T``.  Not bounded below
    (``R_C = (||D_sym||^2 - ||D_anti||^2)/d``): alone it rewards rotations.
``complex-abs``
    ``R_|C| = (1/d) sum_k |lambda_k - m|^2 = (1/d) sum_k |lambda_k|^2 - m^2``,
    gradient ``(2/d) Re[(V conj(Lambda) V^{-1})^T] - (2m/d) I`` for diagonalizable
    ``W = V Lambda V^{-1}``; undefined where ``W`` is defective (e.g. ``m I + N``,
    ``N`` nilpotent), ill-conditioned near repeated eigenvalues.

Factored ``W = W_Q W_K^T``: ``dR/dW_Q = G W_K``, ``dR/dW_K = G^T W_Q`` with
``G = dR/dW``.  The mean constraint for factored weights corrects ``W_Q`` only,
with the smallest Frobenius change that restores ``tr(W_Q W_K^T) = <W_Q, W_K>_F``
(linear in ``W_Q``, so one step is exact)::

    W_Q <- W_Q + (t0 - <W_Q, W_K>) / ||W_K||_F^2 W_K,

and for full-rank ``W``: ``W <- W + (t0 - tr W)/d I``.
"""
from __future__ import annotations

import numpy as np

from sigprop.core import checks as _checks

VARIANTS = ("frobenius", "symmetric", "complex", "complex-abs")
DEFAULT = "frobenius"


def check_variant(variant: str) -> str:
    """``variant`` if it is one of :data:`VARIANTS`, else a one-line ``ValueError``."""
    _checks.choice("locater_variant", variant, VARIANTS)
    return variant


def _eig(W: np.ndarray):
    lam, V = np.linalg.eig(W)
    cond = np.linalg.cond(V)
    if not np.isfinite(cond) or cond > 1e8:
        raise FloatingPointError("complex-abs: W is (nearly) defective, its eigenvalues have no gradient "
                                 f"(eigenvector condition number {cond:.3g})")
    return lam, V


def penalty(W: np.ndarray, variant: str = DEFAULT) -> float:
    """The spread ``R(W)`` of ``W`` around ``m I`` for ``variant`` (see the module doc)."""
    check_variant(variant)
    W = np.asarray(W, dtype=float)
    d = W.shape[0]
    m = np.trace(W) / d
    if variant == "frobenius":
        return float((np.sum(W * W) - d * m * m) / d)
    if variant == "symmetric":
        S = 0.5 * (W + W.T)
        return float((np.sum(S * S) - d * m * m) / d)
    if variant == "complex":
        return float((np.sum(W * W.T) - d * m * m) / d)
    lam = np.linalg.eigvals(W)
    return float(np.sum(np.abs(lam) ** 2) / d - m * m)


def penalty_grad_W(W: np.ndarray, variant: str = DEFAULT) -> np.ndarray:
    """``dR/dW`` for ``variant`` (see the module doc)."""
    check_variant(variant)
    W = np.asarray(W, dtype=float)
    d = W.shape[0]
    m = np.trace(W) / d
    eye = np.eye(d)
    if variant == "frobenius":
        return (2.0 / d) * (W - m * eye)
    if variant == "symmetric":
        return (2.0 / d) * (0.5 * (W + W.T) - m * eye)
    if variant == "complex":
        return (2.0 / d) * (W.T - m * eye)
    lam, V = _eig(W)
    B = V @ np.diag(np.conj(lam)) @ np.linalg.inv(V)
    return (2.0 / d) * (np.real(B).T - m * eye)


def gradients(params: dict, lam: float, variant: str = DEFAULT) -> dict:
    """``lambda dR/dtheta`` for the QK parameters (``W`` or ``W_Q, W_K``)."""
    if "W" in params:
        return {"W": lam * penalty_grad_W(params["W"], variant)}
    W = params["W_Q"] @ params["W_K"].T
    G = lam * penalty_grad_W(W, variant)
    return {"W_Q": G @ params["W_K"], "W_K": G.T @ params["W_Q"]}


def trace(params: dict) -> float:
    """``tr(W)``, with ``tr(W_Q W_K^T) = <W_Q, W_K>_F`` for factored weights."""
    if "W" in params:
        return float(np.trace(params["W"]))
    return float(np.sum(params["W_Q"] * params["W_K"]))


def project(params: dict, target_trace: float) -> None:
    """Restore ``tr(W) = target_trace`` in place.

    Full-rank: ``W <- W + (t0 - tr W)/d I``, the smallest Frobenius change.
    Factored (``t = <W_Q, W_K>``, ``s = ||W_Q||^2 + ||W_K||^2``): both factors move
    along each other, ``W_Q <- W_Q + a W_K``, ``W_K <- W_K + a W_Q``, so that
    ``<W_Q', W_K'> = t (1 + a^2) + a s``; ``a`` is the root nearest 0 of
    ``t a^2 + s a + (t - t0) = 0``, ``a = 2 (t0 - t) / (s + sqrt(s^2 - 4 t (t - t0)))``
    (to first order the smallest joint change, ``a = (t0 - t)/s``; moving both
    factors keeps them balanced, where moving ``W_Q`` alone lets ``||W_K||`` shrink
    and the corrections grow until training diverges).  When ``s^2 < 4 t (t - t0)``
    (a far target, never met after a small step) and for the rounding left over,
    the exact linear correction of one factor along the other (the larger) is
    applied, ``W_Q <- W_Q + (t0 - <W_Q, W_K>)/||W_K||^2 W_K`` when
    ``||W_K|| >= ||W_Q||``, else the same with the roles swapped.
    """
    t0 = float(target_trace)
    if "W" in params:
        W = params["W"]
        W[np.diag_indices(W.shape[0])] += (t0 - trace(params)) / W.shape[0]
        return
    Q, K = params["W_Q"], params["W_K"]
    t = trace(params)
    s = float(np.sum(Q * Q) + np.sum(K * K))
    disc = s * s - 4.0 * t * (t - t0)
    if s == 0.0:
        if t0 == 0.0:
            return
        raise FloatingPointError(f"cannot restore the eigenvalue mean: W_Q and W_K are zero, target {t0:.6g}")
    if disc >= 0.0:
        a = 2.0 * (t0 - t) / (s + np.sqrt(disc))
        Q_old = Q.copy()
        Q += a * K
        K += a * Q_old
    nq, nk = float(np.sum(Q * Q)), float(np.sum(K * K))
    if nk >= nq:
        Q += ((t0 - trace(params)) / nk) * K
    else:
        K += ((t0 - trace(params)) / nq) * Q
