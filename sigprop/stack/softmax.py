"""Overlaps and entropy of softmax attention rows with Gaussian logits, exact in ``T`` and in the REM limit
(``docs/theory.md`` (8.1), (8.3), (8.4)).

In a block whose input tokens have unit second moment and mean cosine ``p`` (a Gram matrix
``G = (1 - p) I + p 1 1^T`` per coordinate), the logits ``s_ij = c x_i^T W_Q^T W_K x_j`` with
independent Gaussian ``W_Q, W_K`` have covariance ``Cov(s_ij, s_kl) = sigma^2 G_ik G_jl``
(``derivations/stack_attention.py``).  The part shared by a whole row drops out of the
softmax; what is left is, for each row, ``T`` i.i.d. ``N(0, s^2)`` logits with
``s^2 = sigma^2 (1 - p)``, and two different rows' logits of the same key are correlated
with coefficient ``p``.  The attention statistics the recursion needs are

* ``Y_self = E sum_j a_j^2`` (a row's participation, the REM's ``Y_2``),
* ``Y_cross = E sum_j a_j b_j`` (two rows ``a, b`` whose logits of key ``j`` have correlation ``p``),
* ``H = E[-sum_j a_j log a_j]`` (the attention entropy of a row).

**Exact in T** (:func:`overlaps`), through Laplace transforms of the denominators
(``1/Z = int_0^inf e^{-tZ} dt``, ``1/Z^2 = int_0^inf t e^{-tZ} dt``,
``log Z = int_0^inf (e^{-t} - e^{-tZ}) dt / t``)::

    Y_self  = T int_0^inf t E[e^{2g} e^{-t e^g}] L(t)^{T-1} dt,       L(t) = E e^{-t e^g}
    Y_cross = T int int E[e^{g+h} e^{-t e^g - u e^h}] M(t, u)^{T-1} dt du,
    H       = int_0^inf (e^{-t} - L(t)^T) dt / t  -  T int_0^inf E[g e^g e^{-t e^g}] L(t)^{T-1} dt,

with ``g, h ~ N(0, s^2)`` of correlation ``p``.  The one-dimensional integrals run on a
uniform grid in ``log t`` (trapezoid); the two-dimensional one factorizes through the shared
part ``u`` of ``(g, h) = s (sqrt(p) u + sqrt(1 - p) (v, w))``, so that it is a matrix product.

**REM limit** ``T -> infinity`` at ``sigma^2 = beta^2 log T`` ([GG26], the Random Energy
Model): ``beta_c = sqrt(2 / (1 - p))``, ``Y_self = max(0, 1 - beta_c / beta)``, ``Y_cross = 0``
(:func:`rem_overlaps`).
"""
from __future__ import annotations

import math

import numpy as np

_Z_HALF_RANGE = 8.5        # standard-normal integrals run over [-8.5, 8.5] (tail mass < 1e-16)
_BELOW_ONE = 1.0 - 2.0 ** -53   # the largest float below 1: log1p(-x) stays finite
_LOG_X_CAP = 700.0         # log(t e^g) beyond which e^{-t e^g} is 0 in float64 (and e^700 is finite)


def beta_critical(p) -> np.ndarray:
    """The REM's critical query-key strength ``beta_c = sqrt(2 / (1 - p))`` ([GG26]).

    Parameters
    ----------
    p : float or array_like
        Mean cosine similarity of the tokens, ``p < 1``.
    """
    return np.sqrt(2.0 / (1.0 - np.asarray(p, dtype=float)))


def rem_overlaps(p: float, beta: float) -> tuple[float, float]:
    """``(Y_self, Y_cross)`` in the REM limit: ``(max(0, 1 - beta_c / beta), 0)``, ``beta_c = sqrt(2/(1-p))``."""
    if beta <= 0 or p >= 1:
        return 0.0, 0.0
    return max(0.0, 1.0 - float(beta_critical(p)) / beta), 0.0


def _z_grid(s: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and trapezoid weights of ``E f(z)``, ``z ~ N(0, 1)``, fine enough for ``f(e^{s z})`` steps."""
    h = min(0.1, 0.5 / max(s, 1e-12))
    n = int(math.ceil(2 * _Z_HALF_RANGE / h)) + 1
    z = np.linspace(-_Z_HALF_RANGE, _Z_HALF_RANGE, n)
    w = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    w[[0, -1]] *= 0.5
    return z, w


def _tau_grid(s: float, T: int, step: float = 0.2) -> np.ndarray:
    """Grid of ``tau = log t`` covering ``1 / Z`` for every likely ``Z = sum_j e^{g_j}``.

    ``log Z`` lies between the largest logit and ``log T`` plus it; the largest of ``T``
    logits lies within ``s (sqrt(2 log T) + 6.5)`` and ``-6.5 s`` but with negligible probability.
    """
    top = s * (math.sqrt(2 * math.log(T)) + 6.5) + math.log(T) + 10.0
    return np.arange(-top, s * 6.5 + 10.0 + step, step)


def overlaps(p: float, s: float, T: int, cross: bool = True) -> dict:
    """Exact-in-``T`` softmax statistics of rows with i.i.d. ``N(0, s^2)`` logits.

    Parameters
    ----------
    p : float
        Correlation in ``[-1, 1]`` of two rows' logits of the same key (the tokens' cosine).
    s : float
        Standard deviation ``s >= 0`` of a row's logits after the row's shared part is removed.
    T : int
        Number of keys, ``T >= 1``.
    cross : bool
        Also compute ``Y_cross`` (a matrix product over the ``log t`` grid).

    Returns
    -------
    dict
        ``y_self = E sum_j a_j^2``, ``y_cross = E sum_j a_j b_j`` (NaN when ``cross`` is False),
        ``entropy = E[-sum_j a_j log a_j]``.
    """
    if s < 1e-9 or T == 1:
        return dict(y_self=1.0 / T, y_cross=1.0 / T, entropy=math.log(T))
    z, wz = _z_grid(s)
    tau = _tau_grid(s, T)
    dtau = tau[1] - tau[0]
    g = s * z[None, :]
    # log(t e^g), capped where e^{-t e^g} is 0 in float64 (e^{-e^700}): x e^{-x}, x^2 e^{-x} stay finite
    log_x = np.minimum(tau[:, None] + g, _LOG_X_CAP)
    x = np.exp(log_x)                                     # t e^g, (n_tau, n_z)
    one_minus_L = (-np.expm1(-x)) @ wz                    # 1 - L(t), precise at small t
    log_L = np.log1p(-np.minimum(one_minus_L, _BELOW_ONE))
    powT1 = np.exp((T - 1) * log_L)
    # dt = t dtau: the integrands carry one extra t
    m2 = np.exp(2 * log_x - x) @ wz                       # t^2 E[e^{2g} e^{-t e^g}]
    y_self = T * float(np.sum(m2 * powT1) * dtau)
    m1g = (g * np.exp(log_x - x)) @ wz                    # t E[g e^g e^{-t e^g}]
    mean_ag = T * float(np.sum(m1g * powT1) * dtau)
    frullani = np.exp(-np.exp(tau)) - np.exp(T * log_L)   # (e^{-t} - L^T) / t * (t dtau)
    log_z = float(np.sum(frullani) * dtau)
    out = dict(y_self=y_self, y_cross=float("nan"), entropy=log_z - mean_ag)
    if cross:
        out["y_cross"] = _cross(p, s, T, tau)
    return out


def _cross(p: float, s: float, T: int, tau: np.ndarray) -> float:
    """``Y_cross`` through the factorization over the shared part ``u`` of the two rows' logits."""
    p = float(np.clip(p, -1.0, 1.0))
    if p >= 1.0 - 1e-12:
        return overlaps(p, s, T, cross=False)["y_self"]
    dtau = tau[1] - tau[0]
    a = s * math.sqrt(abs(p))                            # weight of the shared part
    b = s * math.sqrt(1.0 - abs(p))                      # weight of each row's own part
    v, wv = _z_grid(max(a, b))
    u, wu = _z_grid(max(a, b)) if a > 0 else (np.zeros(1), np.ones(1))
    # row functions of x = tau + a u: f1 = E_v[e^{x + b v} exp(-e^{x + b v})], f0 = E_v[-expm1(-e^{x + b v})]
    xs = np.arange(tau[0] - a * _Z_HALF_RANGE - 1.0, tau[-1] + a * _Z_HALF_RANGE + 1.0, 0.04)
    log_y = np.minimum(xs[:, None] + b * v[None, :], _LOG_X_CAP)
    y = np.exp(log_y)
    f1 = np.exp(log_y - y) @ wv
    f0 = (-np.expm1(-y)) @ wv
    arg_a = tau[:, None] + a * u[None, :]
    arg_b = tau[:, None] + (a if p >= 0 else -a) * u[None, :]
    F_a, D_a = np.interp(arg_a, xs, f1), np.interp(arg_a, xs, f0)
    F_b, D_b = np.interp(arg_b, xs, f1), np.interp(arg_b, xs, f0)
    numer = (F_a * wu) @ F_b.T                            # t u E[e^{g+h} e^{-t e^g - u e^h}]
    one_minus_M = (D_a @ wu)[:, None] + (D_b @ wu)[None, :] - (D_a * wu) @ D_b.T
    log_M = np.log1p(-np.clip(one_minus_M, 0.0, _BELOW_ONE))
    return T * float(np.sum(numer * np.exp((T - 1) * log_M)) * dtau * dtau)
