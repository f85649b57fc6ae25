"""The exact softmax and the piecewise-linear approximation of [BHK24] (SPEC §2).

All functions act on the last axis and broadcast over the leading ones.

* ``softmax(z)_i = exp(z_i) / sum_j exp(z_j)``, computed after subtracting the
  maximum so that large logits neither overflow nor lose precision.
* ``pwl_softmax(z)_i = clip(zc_i, 0, 1)`` with centered logits
  ``zc_i = z_i - (1/T) sum_j z_j``.  A position is in the *linear regime* when
  ``0 < zc_i < 1``; outside it the output is saturated and passes no gradient.

Jacobians are returned as ``J[..., i, j] = d p_i / d z_j``.
"""
from __future__ import annotations

import numpy as np


def softmax(z) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(z) -> np.ndarray:
    """``J_ij = p_i (delta_ij - p_j)`` with ``p = softmax(z)``."""
    p = softmax(z)
    return _diag(p) - p[..., :, None] * p[..., None, :]


def centered(z) -> np.ndarray:
    """Centered logits ``zc_i = z_i - mean_j z_j``."""
    z = np.asarray(z, dtype=float)
    return z - z.mean(axis=-1, keepdims=True)


def linear_regime(z) -> np.ndarray:
    """Boolean mask of the positions with ``0 < zc_i < 1``."""
    zc = centered(z)
    return (zc > 0) & (zc < 1)


def pwl_softmax(z) -> np.ndarray:
    """Piecewise-linear softmax ``p_i = clip(zc_i, 0, 1)``."""
    return np.clip(centered(z), 0.0, 1.0)


def pwl_softmax_jacobian(z) -> np.ndarray:
    """``J_ij = 1[0 < zc_i < 1] (delta_ij - 1/T)``."""
    mask = linear_regime(z).astype(float)
    T = mask.shape[-1]
    return mask[..., :, None] * (np.eye(T) - 1.0 / T)


def _diag(p: np.ndarray) -> np.ndarray:
    out = np.zeros(p.shape + p.shape[-1:])
    idx = np.arange(p.shape[-1])
    out[..., idx, idx] = p
    return out
