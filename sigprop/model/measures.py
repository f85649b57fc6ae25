"""Collapse measures of attention outputs and weights (docs/theory.md (4.2)).

* **Rank collapse** (token representations become alike): for token outputs
  ``Y`` (``T x d``), ``rank_residual(Y) = ||Y - 1 ybar^T||_F / ||Y||_F`` with
  ``ybar`` the mean row.  It is 0 when every token is the same (rank one along the
  mean) and near 1 when the tokens share no common part.
* **Entropy collapse** (attention too peaked for learning to move): the entropy
  of each attention row, normalized by ``log n`` (``n`` the positions it may see)
  so that 1 is uniform and 0 one-hot; and the largest weight of each row.

Rows of the piecewise-linear softmax need not sum to 1: they are normalized
first, and rows with no weight at all (every position saturated at 0) are left
out of the averages (NaN if every row is empty).
"""
from __future__ import annotations

import numpy as np


def rank_residual(Y: np.ndarray) -> np.ndarray:
    """``||Y - mean row||_F / ||Y||_F`` over the last two axes (tokens x features).

    NaN for ``Y = 0`` (no signal left, e.g. after underflow): undefined, not collapsed.
    """
    Y = np.asarray(Y, dtype=float)
    norm = np.linalg.norm(Y, axis=(-2, -1))
    resid = np.linalg.norm(Y - Y.mean(axis=-2, keepdims=True), axis=(-2, -1))
    return np.where(norm > 0, resid / np.where(norm > 0, norm, 1.0), np.nan)


def _normalized_rows(A: np.ndarray):
    A = np.asarray(A, dtype=float)
    total = A.sum(axis=-1, keepdims=True)
    live = total[..., 0] > 0
    return A / np.where(total > 0, total, 1.0), live


def attention_entropy(A: np.ndarray, allowed=None, normalized: bool = True) -> np.ndarray:
    """Entropy of each row of ``A`` (nats, or divided by ``log n`` when ``normalized``).

    Empty rows give NaN.  ``allowed`` (a mask like the causal one) sets ``n`` per row.
    """
    P, live = _normalized_rows(A)
    logp = np.log(np.where(P > 0, P, 1.0))
    H = -(P * logp).sum(axis=-1)
    if normalized:
        n = P.shape[-1] if allowed is None else np.broadcast_to(allowed, P.shape).sum(axis=-1)
        H = H / np.log(np.maximum(n, 2))
        if allowed is not None:
            H = np.where(n > 1, H, np.nan)
    return np.where(live, H, np.nan)


def max_attention(A: np.ndarray) -> np.ndarray:
    """Largest weight of each (normalized) row; NaN for empty rows."""
    P, live = _normalized_rows(A)
    return np.where(live, P.max(axis=-1), np.nan)


def nanmean(x) -> float:
    """Mean ignoring NaN; NaN when nothing is left (no warning)."""
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    return float(x[ok].mean()) if ok.any() else float("nan")
