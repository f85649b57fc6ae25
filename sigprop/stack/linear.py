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

__all__ = ["clip_mean", "clip_product", "clip_products", "clip_square", "gram_moments", "normalized_entropy",
           "overlaps", "row_entropy", "weights"]

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


def clip_product(tau: float, r: float) -> float:
    """``E[clip(U, 0, 1) clip(V, 0, 1)]`` for ``U, V ~ N(0, tau^2)`` of correlation ``r`` in ``[-1, 1]``.

    The equal-variance case of :func:`clip_products`; ``r = 1`` is :func:`clip_square`.
    """
    if tau <= 0:
        return 0.0
    if r >= 1.0:
        return clip_square(tau)
    return float(clip_products(tau, tau, r))


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


def clip_products(tau1, tau2, r, nodes: int = 48) -> np.ndarray:
    """``E[clip(U, 0, 1) clip(V, 0, 1)]``, ``U ~ N(0, tau1^2)``, ``V ~ N(0, tau2^2)`` of correlation ``r``, elementwise.

    Vectorized over broadcast arrays: ``V | U = u ~ N(r tau2 u / tau1, tau2^2 (1 - r^2))``, whose mean over
    ``V`` is :func:`clip_mean`, and the integral over ``u`` runs on four
    Gauss-Legendre pieces of ``nodes`` nodes each, split at ``u = 1`` (where ``clip(u)`` bends) and at
    ``u = tau1 / (r tau2)`` (where the inner mean reaches 1).
    """
    tau1, tau2, r = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (tau1, tau2, r)))
    r = np.clip(r, -1.0, 1.0)
    top = _TAIL * tau1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):     # an infinite kink lies past the top
        kink = np.where(r * tau2 > 0, tau1 / np.where(r * tau2 > 0, r * tau2, 1.0), 0.0)
    cuts = np.sort(np.stack([np.zeros_like(top), np.minimum(1.0, top), np.minimum(kink, top), top,
                             np.minimum(1.0, top)], axis=-1), axis=-1)
    x, w = np.polynomial.legendre.leggauss(nodes)
    lo, hi = cuts[..., :-1, None], cuts[..., 1:, None]                       # (..., 4, 1)
    u = lo + 0.5 * (hi - lo) * (x + 1.0)                                     # (..., 4, nodes)
    weight = 0.5 * (hi - lo) * w
    safe1 = np.where(tau1 > 0, tau1, 1.0)[..., None, None]
    inner = clip_mean(r[..., None, None] * tau2[..., None, None] * u / safe1,
                      (np.sqrt(1.0 - r * r) * tau2)[..., None, None])
    density = _pdf(u / safe1) / safe1
    total = np.sum(weight * np.minimum(u, 1.0) * inner * density, axis=(-1, -2))
    return np.where((tau1 > 0) & (tau2 > 0), total, 0.0)


#: Values of one temporary array of :func:`gram_moments`' quadrature (4 Mi floats, 32 MB): the pairs of keys
#: are taken in steps of this many values, so that its memory does not grow with ``T``.
PAIR_VALUES = 1 << 22


def gram_moments(C: np.ndarray, sigma: float, nodes: int = 33) -> tuple[np.ndarray, np.ndarray]:
    """``E[A C A^T]`` and ``E[(A 1)(A 1)^T]``: piecewise-linear rows, logits ``Cov(s_ij, s_lk) = sigma^2 C_il C_jk``.

    ``C`` is a ``T x T`` Gram matrix with a constant diagonal ``q > 0`` (written here for ``q = 1``; otherwise
    ``tau_j = sigma sqrt(q B_jj)`` and ``Phi`` is taken at ``C_il / q``), no mask.  Centering each row over its
    keys gives ``Cov(zc_ij, zc_lk) = sigma^2 C_il B_jk``, ``B = P C P``, so that
    ``E[a_ij a_lk] = kappa(tau_j, tau_k, C_il rho_jk)`` (:func:`clip_products`, ``tau_j = sigma sqrt(B_jj)``,
    ``rho_jk = B_jk / sqrt(B_jj B_kk)``) and

        E[A C A^T]_il = Phi(C_il),   Phi(c) = sum_jk C_jk kappa(tau_j, tau_k, c rho_jk)

    (``Psi`` likewise without ``C_jk``): two functions of one variable, evaluated at ``nodes``
    Chebyshev points of ``[-1, 1]`` (the end points included, so that ``c = 1`` on the diagonal is
    exact) and interpolated there.
    """
    T = C.shape[0]
    q = float(np.mean(np.diag(C)))
    P = np.eye(T) - 1.0 / T
    B = P @ C @ P
    diag = np.maximum(np.diag(B), 0.0)
    tau = sigma * np.sqrt(diag)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(np.outer(diag, diag) > 0, B / np.sqrt(np.outer(diag, diag)), 0.0)
    tau = tau * np.sqrt(q)                 # Cov(zc_ij, zc_lk) = sigma^2 q (C_il / q) B_jk
    j, k = np.triu_indices(T)
    twice = np.where(j == k, 1.0, 2.0)                                       # (j, k) and (k, j)
    grid = np.cos(np.pi * np.arange(nodes) / (nodes - 1))                    # Chebyshev extrema, 1 ... -1
    phi, psi = np.zeros(nodes), np.zeros(nodes)
    chunk = max(1, PAIR_VALUES // (nodes * 4 * 48))      # pairs per step: clip_products' (nodes, pairs, 4, 48)
    for start in range(0, j.size, chunk):
        jc, kc = j[start:start + chunk], k[start:start + chunk]
        kappa = clip_products(tau[jc][None, :], tau[kc][None, :], grid[:, None] * rho[jc, kc][None, :])
        phi += kappa @ (twice[start:start + chunk] * C[jc, kc])
        psi += kappa @ twice[start:start + chunk]
    c = np.clip(C / q, -1.0, 1.0)
    fit = np.polynomial.chebyshev.Chebyshev.fit
    return fit(grid, phi, nodes - 1, domain=[-1, 1])(c), fit(grid, psi, nodes - 1, domain=[-1, 1])(c)
