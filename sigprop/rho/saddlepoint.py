"""Saddle-point approximation of the signal propagation probability (docs/saddlepoint.md).

The centered logit is a chi-square mixture ``Q = sum_k lambda_k chi2_1`` (the weights
of :attr:`sigprop.rho.logits.LogitModel.chi2_weights`, docs/theory.md §3).  Its
cumulant generating function and derivatives are

    K(s)    = -(1/2) sum_k log(1 - 2 lambda_k s),
    K'(s)   = sum_k lambda_k / (1 - 2 lambda_k s),
    K^(j)(s) = 2^(j-1) (j-1)! sum_k lambda_k^j / (1 - 2 lambda_k s)^j,

finite for ``1/(2 lambda_min) < s < 1/(2 lambda_max)``.  For a threshold ``x`` the
saddle point ``s`` solves ``K'(s) = x`` (``K'`` increases, so a bracketed Newton
iteration finds it), and the Lugannani-Rice formula is

    P(Q <= x) ~ Phi(w) + phi(w) (1/w - 1/u),
    w = sign(s) sqrt(2 (s x - K(s))),  u = s sqrt(K''(s)),

with the second-order correction (Daniels 1987)

    - phi(w) [ (1/u) (k4/8 - 5 k3^2/24) - 1/u^3 - k3/(2 u^2) + 1/w^3 ],
    k_j = K^(j)(s) / K''(s)^(j/2),

used by default (``order=2``; ``order=1`` drops it).  ``w`` is computed from
``s x - K(s) = sum_k g(lambda_k s)``, ``g(t) = t/(1-2t) + log(1-2t)/2``, with the
series of ``g`` for small ``t``, so that it keeps full relative precision near the
mean; where ``|w| < 0.02`` the formula (0/0 at the mean, and a cancellation of
terms of order ``1/w^3`` near it) is replaced by the cubic interpolation in ``x``
through its values at ``w ~ -0.02, -0.01, 0.01, 0.02``.

Everything is vectorized over positions; no Python loop runs over positions or
weights.  The error against :mod:`sigprop.rho.exact` is measured in
``docs/saddlepoint.md`` and bounded by :func:`error_bound`.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.rho.logits import as_model, require_chi2
from sigprop.rho.propagation import Profile, moments

_SMALL_W = 1e-2          # below 2 _SMALL_W in |w| the formula is interpolated
_ITERATIONS = 200        # bracketed Newton: stops far earlier (quadratic convergence)
_SERIES = np.array([2.0 ** (n - 1) * (n - 1) / n for n in range(2, 10)])   # g(t) = sum c_n t^n, n >= 2


def _g(t: np.ndarray) -> np.ndarray:
    """``g(t) = t/(1-2t) + log(1-2t)/2 >= 0``, accurate to full relative precision near 0."""
    small = np.abs(t) < 1e-2
    ts = np.where(small, t, 0.0)
    series = ts * ts * np.polynomial.polynomial.polyval(ts, _SERIES)
    tl = np.where(small, 0.0, t)
    closed = tl / (1 - 2 * tl) + 0.5 * np.log1p(-2 * tl)
    return np.where(small, series, closed)


def _derivatives(lam: np.ndarray, s: np.ndarray):
    """``K'(s), K''(s), K'''(s), K''''(s)`` row by row (``lam`` (m, n), ``s`` (m,))."""
    r = lam / (1 - 2 * lam * s[:, None])
    r2 = r * r
    return r.sum(axis=1), 2 * r2.sum(axis=1), 8 * (r2 * r).sum(axis=1), 48 * (r2 * r2).sum(axis=1)


def _saddle(lam: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The root of ``K'(s) = x`` per row, by Newton's method kept inside a shrinking bracket."""
    big = np.abs(lam).max(axis=1)
    top = np.where(lam > 0, lam, 0.0).max(axis=1)          # largest positive weight (0 if none)
    bottom = np.where(lam < 0, lam, 0.0).min(axis=1)       # most negative weight (0 if none)
    # K' -> +inf at 1/(2 top) and -inf at 1/(2 bottom); without weights of a sign the
    # bracket end is found where K' has passed x: |K'(s)| >= n/(2|s|) - ... so |s| = n/|x| + 1/big suffices
    n = lam.shape[1]
    span = (n / np.maximum(np.abs(x), 1e-300)) + 1.0 / big
    hi = np.where(top > 0, 0.5 / np.where(top > 0, top, 1.0), span)
    lo = np.where(bottom < 0, 0.5 / np.where(bottom < 0, bottom, -1.0), -span)
    s = np.zeros_like(x)
    for _ in range(_ITERATIONS):
        k1, k2, _, _ = _derivatives(lam, s)
        f = k1 - x
        lo = np.where(f < 0, s, lo)
        hi = np.where(f > 0, s, hi)
        step = s - f / k2
        bad = ~((step > lo) & (step < hi))
        new = np.where(bad, 0.5 * (lo + hi), step)
        if np.all(np.abs(new - s) <= 1e-15 * np.maximum(np.abs(s), 1.0 / big)):
            s = new
            break
        s = new
    return s


def _lugannani_rice(lam: np.ndarray, s: np.ndarray, order: int):
    """``(x(s), F(x(s)))``: the threshold ``x = K'(s)`` and the approximation at it."""
    from scipy.special import ndtr

    k1, k2, k3, k4 = _derivatives(lam, s)
    w = np.sign(s) * np.sqrt(2 * _g(lam * s[:, None]).sum(axis=1))
    u = s * np.sqrt(k2)
    safe_w = np.where(w == 0, 1.0, w)
    safe_u = np.where(u == 0, 1.0, u)
    phi = np.exp(-0.5 * w * w) / np.sqrt(2 * np.pi)
    F = ndtr(w) + phi * (1 / safe_w - 1 / safe_u)
    if order == 2:
        c3, c4 = k3 / k2 ** 1.5, k4 / k2 ** 2
        F -= phi * ((c4 / 8 - 5 * c3 * c3 / 24) / safe_u - 1 / safe_u ** 3 - c3 / (2 * safe_u ** 2)
                    + 1 / safe_w ** 3)
    return k1, F


def cdf(weights: ArrayLike, x: ArrayLike, *, order: int = 2) -> np.ndarray:
    """``P(sum_k w_k chi2_1 <= x)`` by the Lugannani-Rice saddle-point formula.

    ``weights`` has shape ``(..., n)`` (zero weights are ignored); ``x`` broadcasts
    against ``weights[..., 0]``.  ``order`` is 1 (Lugannani-Rice) or 2 (with the
    second-order correction).  Exact where the answer is 0 or 1 (all weights of one
    sign and ``x`` beyond the support, or all weights zero).
    """
    if order not in (1, 2):
        raise ArgumentError("order", f"must be 1 or 2, got {order!r}")
    lam = _checks.floats("weights", weights, "a finite real array of shape (..., n)")
    if lam.ndim < 1 or not np.all(np.isfinite(lam)):
        raise ArgumentError("weights", "must be a finite array of shape (..., n)")
    xs = _checks.floats("x", x, "a real number or array")
    if not np.all(np.isfinite(xs)):
        raise ArgumentError("x", "must be finite")
    try:
        shape = np.broadcast_shapes(lam.shape[:-1], xs.shape)
    except ValueError:
        raise ArgumentError("x", f"must broadcast against weights[..., 0] (shape {lam.shape[:-1]}), got shape "
                                 f"{xs.shape}") from None
    lam = np.broadcast_to(lam, shape + lam.shape[-1:]).reshape(-1, lam.shape[-1])
    xs = np.broadcast_to(xs, shape).ravel().copy()
    big = np.abs(lam).max(axis=1, keepdims=True) if lam.shape[1] else np.zeros((lam.shape[0], 1))
    lam = np.where(np.abs(lam) > 1e-13 * big, lam, 0.0)
    has_pos, has_neg = (lam > 0).any(axis=1), (lam < 0).any(axis=1)
    F = np.where(xs >= 0, 1.0, 0.0)                      # all weights zero: Q = 0
    F = np.where(~has_neg & has_pos & (xs <= 0), 0.0, F)
    F = np.where(has_neg & ~has_pos & (xs >= 0), 1.0, F)
    todo = np.flatnonzero((has_pos & has_neg) | (has_pos & (xs > 0)) | (has_neg & (xs < 0)))
    if todo.size:
        F[todo] = _approximate(lam[todo], xs[todo], order)
    return np.clip(F, 0.0, 1.0).reshape(shape)


def _approximate(lam: np.ndarray, x: np.ndarray, order: int) -> np.ndarray:
    s = _saddle(lam, x)
    _, F = _lugannani_rice(lam, s, order)
    w = np.sign(s) * np.sqrt(2 * _g(lam * s[:, None]).sum(axis=1))
    near = np.flatnonzero(np.abs(w) < 2 * _SMALL_W)
    if near.size:                                     # 0/0 at the mean: interpolate across it
        ln, xn = lam[near], x[near]
        k2 = _derivatives(ln, np.zeros(near.size))[1]
        nodes = [_lugannani_rice(ln, f * _SMALL_W / np.sqrt(k2), order) for f in (-2.0, -1.0, 1.0, 2.0)]
        xs = np.stack([n[0] for n in nodes])          # s with w ~ -2, -1, 1, 2 times _SMALL_W
        Fs = np.stack([n[1] for n in nodes])
        out = np.zeros(near.size)
        for j in range(4):                            # cubic Lagrange interpolation in x
            basis = np.ones(near.size)
            for k in range(4):
                if k != j:
                    basis *= (xn - xs[k]) / (xs[j] - xs[k])
            out += basis * Fs[j]
        F[near] = out
    return F


def band(weights: ArrayLike, *, order: int = 2) -> np.ndarray:
    """``P(0 < Q < 1)`` for chi-square weights ``(..., n)``, by the saddle-point method."""
    w = np.asarray(weights, dtype=float)
    F = cdf(w[..., None, :], np.array([1.0, 0.0]), order=order)
    return np.clip(F[..., 0] - F[..., 1], 0.0, 1.0)


def error_bound(d: ArrayLike) -> np.ndarray:
    """The documented bound on ``|rho_saddlepoint - rho_exact|`` at dimension ``d``.

    Measured over the grid of ``docs/saddlepoint.md`` (``order=2``).
    """
    d = np.asarray(d, dtype=float)
    return BOUND_COEFFICIENT / d


#: ``|rho_saddlepoint - rho_exact| <= BOUND_COEFFICIENT / d`` over the measured grid.
BOUND_COEFFICIENT = 0.15


def theory(W, T: int | None = None, *, step_cov=None, scale=None, order: int = 2) -> Profile:
    """Saddle-point ``rho_i`` for a weight matrix; same signature as :func:`sigprop.rho.exact.theory`.

    ``mean`` and ``variance`` are the exact closed-form moments; ``config["rho_error"]``
    is the documented bound :func:`error_bound` (measured, not proven).
    """
    model = as_model(W, T, step_cov, scale).single("the saddle-point method")
    require_chi2(model, "saddlepoint")
    if model.token_mean is not None:
        raise ArgumentError("token_mean", "must be None for the saddle-point method (the non-central "
                                          "mixture of a token mean needs method 'exact')")
    mean, variance = moments(model)
    rho = band(model.chi2_weights, order=order)
    return Profile(np.arange(1, model.T + 1), mean, variance, rho,
                   dict(T=model.T, form="finite", method="saddlepoint",
                        rho_error=np.full(model.T, float(error_bound(model.d)))))
