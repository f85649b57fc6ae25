"""Piecewise-linear attention rows with Gaussian logits, exact in ``T`` (``docs/theory.md`` (8.6)).

[BHK24]'s piecewise-linear softmax gives key ``j`` of a row the weight ``a_j = clip(zc_j, 0, 1)``,
``zc_j = s_j - mean_k s_k`` the row's centered logits (:mod:`sigprop.model`).  The weights do not
sum to one, so a block's value path needs, beside the overlaps, the rows' masses ``sum_j a_j``.

For a block whose input tokens have cosine ``p`` (per-coordinate Gram ``C = (1 - p) I + p 1 1^T``)
and logits ``s_ij`` of covariance ``sigma^2 C_ik C_jl`` (:mod:`sigprop.stack.softmax`), centering each
row over its keys gives ``Cov(zc_ij, zc_kl) = sigma^2 C_ik (P C P)_jl = s^2 C_ik P_jl`` with
``P = I - 1 1^T / T`` and ``s^2 = sigma^2 (1 - p)`` (``derivations/stack_linear_attention.py``): every
centered logit is ``N(0, tau^2)``, ``tau^2 = s^2 (1 - 1/T)``, and two of them have correlation

* ``-1 / (T - 1)`` (one row, two keys), ``p`` (two rows, one key), ``-p / (T - 1)`` (two rows, two keys).

So every statistic is ``T`` or ``T (T - 1)`` times a bivariate-normal expectation
``kappa(r) = E[clip(U, 0, 1) clip(V, 0, 1)]`` (:func:`clip_product`)::

    Y_self  = E sum_j a_j^2            = T kappa(1)
    Y_cross = E sum_j a_j b_j          = T kappa(p)
    S_self  = E (sum_j a_j)^2          = T kappa(1) + T (T - 1) kappa(-1 / (T - 1))
    S_cross = E (sum_j a_j)(sum_k b_k) = T kappa(p) + T (T - 1) kappa(-p / (T - 1))

and the attention branch of tokens of cosine ``p`` (value weights of variance ``var_v``, bias ``var_b``,
output map ``var_o^*``) has ``q_A = var_o^* (var_v ((1 - p) Y_self + p S_self) + var_b S_self)`` and
``p_A`` the same with the cross terms (softmax: ``S = 1``).  ``kappa`` is one Gauss-Legendre integral
over ``U`` of the closed form of ``E[clip(V, 0, 1) | U]`` (:func:`clip_mean`), split where the
integrand has a kink.  The row entropy (of the weights normalized to sum one) has no closed form: it
is a Monte Carlo estimate over ``samples`` rows (:func:`row_entropy`).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import gammainc, ndtr

__all__ = ["clip_mean", "clip_product", "clip_square", "overlaps", "row_entropy", "weights"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(96)
_TAIL = 10.0               # standard deviations covered by the integral over U (mass beyond < 1e-22)


def _pdf(x):
    return np.exp(-0.5 * np.square(x)) / math.sqrt(2.0 * math.pi)


def clip_mean(mu, sigma):
    """``E[clip(mu + sigma Z, 0, 1)]``, ``Z ~ N(0, 1)``, elementwise.

    With ``a = -mu / sigma`` and ``b = (1 - mu) / sigma``::

        mu (Phi(b) - Phi(a)) + sigma (phi(a) - phi(b)) + Phi(-b)

    and ``clip(mu, 0, 1)`` where ``sigma = 0``.
    """
    mu, sigma = np.broadcast_arrays(np.asarray(mu, dtype=float), np.asarray(sigma, dtype=float))
    safe = np.where(sigma > 0, sigma, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):      # a subnormal sigma: a, b infinite, the limits hold
        a, b = -mu / safe, (1.0 - mu) / safe
        out = mu * (ndtr(b) - ndtr(a)) + sigma * (_pdf(a) - _pdf(b)) + ndtr(-b)
    return np.where(sigma > 0, out, np.clip(mu, 0.0, 1.0))


def clip_square(tau: float) -> float:
    """``E[clip(U, 0, 1)^2]``, ``U ~ N(0, tau^2)``: ``tau^2 (Phi(b) - 1/2 - b phi(b)) + Phi(-b)``, ``b = 1 / tau``.

    ``Phi(b) - 1/2 - b phi(b) = int_0^b z^2 phi(z) dz = P(3/2, b^2/2) / 2`` (the regularized lower
    incomplete gamma function) is evaluated in that form, without the cancellation at small ``b``.
    """
    if tau <= 0:
        return 0.0
    b = 1.0 / tau
    return float(tau * tau * 0.5 * gammainc(1.5, 0.5 * b * b) + ndtr(-b))


def _legendre(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    half = 0.5 * (hi - lo)
    return lo + half * (_NODES + 1.0), half * _WEIGHTS


def clip_product(tau: float, r: float) -> float:
    """``E[clip(U, 0, 1) clip(V, 0, 1)]`` for ``U, V ~ N(0, tau^2)`` of correlation ``r`` in ``[-1, 1]``.

    ``V = r U + sqrt(1 - r^2) tau W``: the inner expectation is :func:`clip_mean`, the outer one runs
    over ``U`` in ``(0, 1)`` (weight ``U``) and ``(1, inf)`` (weight 1), where ``clip(U) > 0``, with
    Gauss-Legendre rules on pieces split at the kink ``U = 1 / r`` of the inner function.
    """
    r = float(np.clip(r, -1.0, 1.0))
    if tau <= 0:
        return 0.0
    if r >= 1.0:
        return clip_square(tau)
    top = _TAIL * tau
    cuts = sorted({0.0, min(1.0, top), *([1.0, top] if top > 1.0 else []),
                   *([1.0 / r] if r > 0 and 1.0 < 1.0 / r < top else [])})
    inner_sigma = math.sqrt(max(0.0, 1.0 - r * r)) * tau
    total = 0.0
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        u, w = _legendre(lo, hi)
        density = _pdf(u / tau) / tau
        total += float(np.sum(w * np.minimum(u, 1.0) * clip_mean(r * u, inner_sigma) * density))
    return total


def overlaps(p: float, s: float, T: int) -> dict:
    """Exact-in-``T`` statistics of piecewise-linear rows whose logits have, per row, ``T`` i.i.d. ``N(0, s^2)`` parts.

    Parameters
    ----------
    p : float
        The tokens' cosine in ``[0, 1]``: the correlation of two rows' logits of one key.
    s : float
        Standard deviation ``s >= 0`` of a row's logits after its shared part is removed.
    T : int
        Number of keys, ``T >= 2``.

    Returns
    -------
    dict
        ``y_self``, ``y_cross``, ``sum_self``, ``sum_cross`` (module doc) and ``mass = E sum_j a_j``
        ``= T E[clip(U, 0, 1)]``.
    """
    tau = s * math.sqrt(1.0 - 1.0 / T)
    kappa_1 = clip_square(tau)
    kappa_p = clip_product(tau, p)
    return dict(y_self=T * kappa_1, y_cross=T * kappa_p,
                sum_self=T * kappa_1 + T * (T - 1) * clip_product(tau, -1.0 / (T - 1)),
                sum_cross=T * kappa_p + T * (T - 1) * clip_product(tau, -p / (T - 1)),
                mass=T * float(clip_mean(0.0, tau)))


def weights(logits: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Piecewise-linear attention ``clip(s - mean_k s, 0, 1)`` over the last axis.

    Masked keys (``mask`` False) get weight 0 and stay out of the mean.
    """
    if mask is None:
        centered = logits - logits.mean(axis=-1, keepdims=True)
        return np.clip(centered, 0.0, 1.0)
    kept = np.where(mask, logits, 0.0)
    mean = kept.sum(axis=-1, keepdims=True) / mask.sum(axis=-1, keepdims=True)
    return np.where(mask, np.clip(logits - mean, 0.0, 1.0), 0.0)


def normalized_entropy(a: np.ndarray) -> np.ndarray:
    """Entropy of each row of non-negative weights ``a`` normalized to sum one (a row of zeros: 0)."""
    total = a.sum(axis=-1, keepdims=True)
    p = a / np.where(total > 0, total, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)


def row_entropy(s: float, T: int, samples: int, rng: np.random.Generator) -> tuple[float, float]:
    """Mean entropy (normalized weights) of piecewise-linear rows of ``T`` i.i.d. ``N(0, s^2)`` logits, and its error.

    A Monte Carlo estimate over ``samples`` rows drawn from ``rng``: ``(mean, standard error)``.
    """
    chunk = max(1, (1 << 22) // T)
    values = []
    for start in range(0, samples, chunk):
        values.append(normalized_entropy(weights(s * rng.standard_normal((min(chunk, samples - start), T)))))
    x = np.concatenate(values)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))
