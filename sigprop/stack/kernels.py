"""The activations' Gaussian kernels ``E phi(u) phi(v)`` of the MLP step (:mod:`sigprop.stack.recursion`,
:mod:`sigprop.stack.positional`)."""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_GH_WEIGHTS = _GH_WEIGHTS / math.sqrt(2 * math.pi)


def relu_kernel(q: float, p: float) -> float:
    """``E relu(u) relu(v)`` for Gaussian ``(u, v)`` of variances ``q`` and covariance ``p``.

    ``(q / 2) rho(p / q)`` with ``rho(c) = (sqrt(1 - c^2) + c (pi - arccos c)) / pi``; ``rho(1) = 1``.
    """
    if q <= 0:
        return 0.0
    c = min(1.0, max(-1.0, p / q))
    return q / 2 * (math.sqrt(1 - c * c) + c * (math.pi - math.acos(c))) / math.pi


def gelu(x):
    """``GELU(x) = x Phi(x)`` (the exact, erf form)."""
    return 0.5 * x * (1.0 + erf(np.asarray(x) / math.sqrt(2.0)))


def gelu_kernel(q: float, p: float) -> float:
    """``E gelu(u) gelu(v)`` for Gaussian ``(u, v)`` of variances ``q``, covariance ``p`` (64^2-node Gauss-Hermite)."""
    if q <= 0:
        return float(gelu(0.0) ** 2)
    c = min(1.0, max(-1.0, p / q))
    z1, z2 = _GH_NODES[:, None], _GH_NODES[None, :]
    u = math.sqrt(q) * z1
    v = math.sqrt(q) * (c * z1 + math.sqrt(max(0.0, 1 - c * c)) * z2)
    return float(_GH_WEIGHTS @ (gelu(u) * gelu(v)) @ _GH_WEIGHTS)


KERNELS = {"relu": relu_kernel, "gelu": gelu_kernel}
