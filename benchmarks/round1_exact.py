"""The exact method as it stood after the first performance round (Imhof, Gauss-Kronrod panels),
frozen here as the baseline of ``exact_speedup_vs_round1``: a copy of ``sigprop/rho/exact.py``
at commit 5f31b5a, reduced to :func:`band` and what it calls.  Not used by sigprop.

The centered logit is a quadratic form in Gaussian variables.  With
``S = Sigma^{1/2}``, ``B = S W S``, ``gamma_i = sqrt(alpha_i - beta_i^2)`` and
independent ``h_1, h_2 ~ N(0, I_d)``, the pair ``u_i = S (beta_i h_2 + gamma_i h_1)``,
``x_T = S h_2`` has the covariances of ``(x_i - xbar, x_T)``, so

    zc_i = c beta_i h_2^T B h_2 + c gamma_i h_1^T B h_2 = h^T M_i h,
    M_i  = (c/2) [[0, gamma_i B], [gamma_i B^T, beta_i (B + B^T)]]

and ``zc_i = sum_k lambda_ik chi2_1`` with ``lambda_ik`` the ``2d`` eigenvalues of
``M_i`` (the *chi-square weights*).  When ``B`` is symmetric (any symmetric ``W``,
any ``Sigma``) ``M_i = (c/2) [[0, gamma_i], [gamma_i, 2 beta_i]] (x) B`` and the
weights are ``(c/2)(beta_i +- sqrt(alpha_i)) mu_j`` for the eigenvalues ``mu_j`` of ``B``
(``derivations/chi_square.py``): one ``d x d`` eigenproblem for all positions.

The distribution function of ``Q = sum_k lambda_k chi2_1`` is computed by Imhof's
formula, ``P(Q <= x) = 1/2 - (1/pi) int_0^inf sin(theta(u)) / (u rho(u)) du`` with
``theta(u) = (1/2) sum_k arctan(lambda_k u) - x u / 2`` and
``rho(u) = prod_k (1 + lambda_k^2 u^2)^{1/4}``, vectorized over positions:

* the integral is cut at ``U`` where Imhof's tail bound
  ``1 / (pi k U^k prod_{lambda != 0} |lambda|^{1/2})`` (``k`` = half the number of
  non-zero weights) is below ``tail``;
* ``[0, U]`` is split into panels over which the phase moves by at most ``pi``,
  each integrated by the Gauss-Kronrod 7/15 rule; the difference between the
  Kronrod and the embedded Gauss estimate is the quadrature error estimate (as in
  QUADPACK, and conservative for smooth integrands); positions whose estimate
  exceeds ``2 tail / pi`` are integrated again on panels half as wide (up to 3 times);
* the reported error is the sum of both, per position.

Forms with one or two non-zero weights decay too slowly for Imhof's integral; they
are integrated directly: one weight has a closed form, two weights are an
expectation over one standard normal of a closed form (with a substitution that
removes the square-root kink).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import erf, erfc, roots_legendre

# The Gauss-Kronrod 7/15 rule (QUADPACK's qk15) is the same in the frozen copy and in sigprop.
from sigprop.rho.chi2sum import GAUSS_WEIGHTS, GK_NODES, GK_WEIGHTS

_MAX_FLOATS = 1 << 22          # working memory of one block of the Imhof integral


def cdf(weights: ArrayLike, x: ArrayLike, *, tail: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
    """``P(sum_k w_k chi2_1 <= x)`` and a bound on its absolute error.

    ``weights`` has shape ``(..., n)``; ``x`` broadcasts against ``weights[..., 0]``.
    Returns ``(F, error)`` of the broadcast shape.
    """
    lam = np.asarray(weights, dtype=float)
    if not np.all(np.isfinite(lam)):
        raise ValueError("weights must be finite")
    x = np.asarray(x, dtype=float)
    shape = np.broadcast_shapes(lam.shape[:-1], x.shape)
    lam = np.broadcast_to(lam, shape + lam.shape[-1:]).reshape(-1, lam.shape[-1])
    x = np.broadcast_to(x, shape).ravel()
    big = np.abs(lam).max(axis=1, keepdims=True)
    lam = np.where(np.abs(lam) > 1e-13 * big, lam, 0.0)
    count = np.count_nonzero(lam, axis=1)
    F, err = np.empty(x.size), np.zeros(x.size)
    zero = count == 0
    F[zero] = (x[zero] >= 0).astype(float)
    one = count == 1
    if one.any():
        a = lam[one].sum(axis=1)
        y = x[one] / a
        inside = erf(np.sqrt(np.clip(y, 0, None) / 2))          # P(chi2_1 <= y)
        F[one] = np.where(a > 0, inside, 1 - inside)
    two = count == 2
    if two.any():
        F[two], err[two] = _two_weights(lam[two], x[two])
    many = count >= 3
    if many.any():
        F[many], err[many] = _imhof(lam[many], x[many], tail)
    return np.clip(F, 0.0, 1.0).reshape(shape), err.reshape(shape)


def _two_weights(lam, x, nodes: int = 96):
    """``P(a Z^2 + b Y <= x)``, ``Z ~ N(0,1)``, ``Y ~ chi2_1``: 1-D quadrature in ``Z``."""
    srt = np.sort(np.where(lam != 0, lam, np.nan), axis=1)[:, :2]
    a, b = srt[:, 0], srt[:, 1]                         # the two non-zero weights

    def G(vv):                                          # P(b Y <= vv)
        y = vv / b[:, None]
        pos = erf(np.sqrt(np.clip(y, 0, None) / 2))    # P(Y <= y) for y >= 0
        return np.where(b[:, None] > 0, pos, np.where(y <= 0, 1.0, 1 - pos))

    def integral(n):
        t, w = roots_legendre(n)
        z_star = np.sqrt(np.clip(x / a, 0, None))
        total = np.zeros_like(x)
        # [0, z*]: z = z* - s^2, s in [0, sqrt(z*)]; [z*, z* + 10]: z = z* + s^2, s in [0, sqrt(10)]
        for sign, top in ((-1.0, np.sqrt(z_star)), (1.0, np.full_like(x, np.sqrt(10.0)))):
            s = 0.5 * top[:, None] * (t + 1)
            z = z_star[:, None] + sign * s * s
            dens = np.exp(-0.5 * z * z) * np.sqrt(2 / np.pi)     # 2 phi(z): both signs of Z
            total += 0.5 * top * np.sum(w * dens * G(x[:, None] - a[:, None] * z * z) * 2 * s, axis=1)
        return total

    coarse, fine = integral(nodes), integral(2 * nodes)
    far = erfc((np.sqrt(np.clip(x / a, 0, None)) + 10) / np.sqrt(2))   # mass beyond z* + 10
    return fine, np.abs(fine - coarse) + far


def _imhof(lam, x, tail):
    nonzero = lam != 0
    k = nonzero.sum(axis=1) / 2.0
    log_prod = 0.5 * np.sum(np.log(np.where(nonzero, np.abs(lam), 1.0)), axis=1)
    # tail bound 1/(pi k U^k P) <= tail  =>  U = (pi k P tail)^(-1/k)
    U = np.exp(-(np.log(np.pi * k * tail) + log_prod) / k)
    omega = 0.5 * np.abs(lam).sum(axis=1) + 0.5 * np.abs(x)      # largest |theta'(u)|
    panels = int(np.clip(np.ceil(np.max(U * omega) / np.pi), 16, 1 << 20))   # phase <= pi per panel
    F, err = np.empty(x.size), np.empty(x.size)
    todo = np.arange(x.size)
    for _ in range(4):                        # halve the panels where the estimate is too large
        kronrod, gauss = _panel_integral(lam[todo], x[todo], U[todo], panels)
        F[todo] = 0.5 - kronrod / np.pi
        err[todo] = (np.abs(kronrod - gauss) + tail) / np.pi
        todo = todo[err[todo] > 2 * tail]
        if todo.size == 0:
            break
        panels *= 2
    return F, err


def _panel_integral(lam, x, U, panels):
    """``int_0^U sin(theta)/(u rho) du`` on equal panels: (Kronrod, Gauss) estimates per row."""
    m, n = lam.shape
    q = GK_NODES.size
    v = ((np.arange(panels)[:, None] + 0.5 * (GK_NODES + 1)) / panels).ravel()   # nodes on [0, 1]
    wk = np.tile(GK_WEIGHTS / (2 * panels), panels)
    wg = np.tile(GAUSS_WEIGHTS / (2 * panels), panels)
    kronrod, gauss = np.zeros(m), np.zeros(m)
    chunk = max(q, (_MAX_FLOATS // max(1, m * n)) // q * q)
    for lo in range(0, v.size, chunk):                  # blocks of nodes bound the memory
        u = U[:, None] * v[None, lo:lo + chunk]         # (m, c)
        lu = lam[:, None, :] * u[:, :, None]            # (m, c, n)
        theta = 0.5 * np.arctan(lu).sum(axis=2) - 0.5 * x[:, None] * u
        log_rho = 0.25 * np.log1p(lu * lu).sum(axis=2)
        f = np.sin(theta) / u * np.exp(-log_rho)
        kronrod += f @ wk[lo:lo + chunk]
        gauss += f @ wg[lo:lo + chunk]
    return kronrod * U, gauss * U


def band(weights: ArrayLike, *, tail: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
    """``P(0 < Q < 1)`` and its error bound for chi-square weights ``(..., n)``."""
    F1, e1 = cdf(weights, 1.0, tail=tail)
    F0, e0 = cdf(weights, 0.0, tail=tail)
    return np.clip(F1 - F0, 0.0, 1.0), e1 + e0
