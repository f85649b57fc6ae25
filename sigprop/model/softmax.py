"""The exact softmax and the piecewise-linear approximation of [BHK24] (docs/theory.md §2).

All functions act on the last axis and broadcast over the leading ones.  An
optional boolean ``allowed`` mask (broadcastable to ``z``) restricts a row to some
positions, as a causal mask does; masked positions get weight 0 and no gradient.

* ``softmax(z)_i = exp(z_i) / sum_j exp(z_j)``, computed after subtracting the
  maximum so that large logits neither overflow nor lose precision.
* ``pwl_softmax(z)_i = clip(zc_i, 0, 1)`` with centered logits
  ``zc_i = z_i - (1/n) sum_j z_j`` over the ``n`` allowed positions.  A position is
  in the *linear regime* when ``0 < zc_i < 1``; outside it the output is
  saturated and passes no gradient.

Jacobians are returned as ``J[..., i, j] = d p_i / d z_j``; the ``*_vjp``
functions give ``dz = J^T dp`` without forming ``J`` (what backpropagation needs).
"""
from __future__ import annotations

import numpy as np


def softmax(z, allowed=None) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    z = np.asarray(z, dtype=float)
    if allowed is not None:
        z = np.where(allowed, z, -np.inf)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(z, allowed=None) -> np.ndarray:
    """``J_ij = p_i (delta_ij - p_j)`` with ``p = softmax(z)``."""
    p = softmax(z, allowed)
    return _diag(p) - p[..., :, None] * p[..., None, :]


def softmax_vjp(p: np.ndarray, dp: np.ndarray) -> np.ndarray:
    """``J^T dp = p * (dp - sum_j p_j dp_j)`` for ``p = softmax(z)``."""
    return p * (dp - (p * dp).sum(axis=-1, keepdims=True))


def centered(z, allowed=None) -> np.ndarray:
    """Centered logits ``zc_i = z_i - mean_j z_j`` (mean over allowed positions)."""
    z = np.asarray(z, dtype=float)
    if allowed is None:
        return z - z.mean(axis=-1, keepdims=True)
    allowed = np.broadcast_to(allowed, z.shape)
    n = allowed.sum(axis=-1, keepdims=True)
    return np.where(allowed, z - np.where(allowed, z, 0.0).sum(axis=-1, keepdims=True) / n, 0.0)


def linear_regime(z, allowed=None) -> np.ndarray:
    """Boolean mask of the (allowed) positions with ``0 < zc_i < 1``."""
    zc = centered(z, allowed)
    inside = (zc > 0) & (zc < 1)
    return inside if allowed is None else inside & allowed


def pwl_softmax(z, allowed=None) -> np.ndarray:
    """Piecewise-linear softmax ``p_i = clip(zc_i, 0, 1)`` (0 where not allowed)."""
    p = np.clip(centered(z, allowed), 0.0, 1.0)
    return p if allowed is None else np.where(allowed, p, 0.0)


def pwl_softmax_jacobian(z, allowed=None) -> np.ndarray:
    """``J_ij = 1[0 < zc_i < 1] (delta_ij - a_j / n)``, ``a`` the allowed mask."""
    z = np.asarray(z, dtype=float)
    mask = linear_regime(z, allowed).astype(float)
    a = np.ones(z.shape) if allowed is None else np.broadcast_to(allowed, z.shape).astype(float)
    n = a.sum(axis=-1, keepdims=True)
    T = z.shape[-1]
    return mask[..., :, None] * (np.eye(T) - (a / n)[..., None, :])


def pwl_softmax_vjp(z, dp, allowed=None) -> np.ndarray:
    """``J^T dp``: ``dz_j = a_j (m_j dp_j - (1/n) sum_i m_i dp_i)``, ``m`` the linear regime."""
    return centered(linear_regime(z, allowed) * dp, allowed)


def _diag(p: np.ndarray) -> np.ndarray:
    out = np.zeros(p.shape + p.shape[-1:])
    idx = np.arange(p.shape[-1])
    out[..., idx, idx] = p
    return out
