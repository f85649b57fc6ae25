"""LocAteR, localized attention regularization [BHK24] (docs/theory.md (4.3)-(4.4)).

The paper's regularizer shrinks the scale of the QK eigenspectrum while keeping
its mean.  sigprop uses

    R(W) = ||W - m(W) I||_F^2 / d,     m(W) = tr(W) / d,

the mean squared distance of ``W`` from the multiple of the identity with the
same eigenvalue mean.  Why this form:

* for symmetric ``W``, ``R(W) = tr(W^2)/d - m^2`` is exactly the eigenvalue
  variance ``v`` of docs/theory.md (3.9); for any ``W`` it is ``>= 0`` and 0 only at ``W = m I``
  (``eig_var`` itself can be negative for non-symmetric ``W``);
* its gradient ``dR/dW = (2/d)(W - m I)`` has zero trace, so a gradient step
  leaves ``tr(W)`` -- the eigenvalue mean -- unchanged, and multiplies the spread
  ``W - m I`` by ``1 - 2 lr lambda / d``: "shrink the scale, keep the mean";
* with ``W = W_Q W_K^T`` the chain rule gives ``dR/dW_Q = dR/dW W_K`` and
  ``dR/dW_K = (dR/dW)^T W_Q`` (the mean is then kept to first order in the step).

The training loss is ``L + lambda R(W)``.
"""
from __future__ import annotations

import numpy as np


def penalty(W: np.ndarray) -> float:
    """``R(W) = ||W - (tr W / d) I||_F^2 / d``."""
    d = W.shape[0]
    m = np.trace(W) / d
    return float((np.sum(W * W) - d * m * m) / d)


def penalty_grad_W(W: np.ndarray) -> np.ndarray:
    """``dR/dW = (2/d) (W - m I)``."""
    d = W.shape[0]
    return (2.0 / d) * (W - np.trace(W) / d * np.eye(d))


def gradients(params: dict, lam: float) -> dict:
    """``lambda dR/dtheta`` for the QK parameters (``W`` or ``W_Q, W_K``)."""
    if "W" in params:
        return {"W": lam * penalty_grad_W(params["W"])}
    W = params["W_Q"] @ params["W_K"].T
    G = lam * penalty_grad_W(W)
    return {"W_Q": G @ params["W_K"], "W_K": G.T @ params["W_Q"]}
