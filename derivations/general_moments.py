"""Moments of the centered logit for any temporal covariance K (SymPy; docs/data-models.md (D.1)-(D.6)).

Model: tokens ``x_i = mu + y_i``, ``i = 1..T``, ``y`` zero-mean Gaussian with
``Cov(y_i, y_j) = K_ij Sigma``; the query is token ``q``; logits ``z_i = c x_i^T W x_q``;
centering weights ``m`` (``1/T`` on every token, or ``1/q`` on ``1..q`` for causal
attention), ``zc_i = z_i - sum_j m_j z_j = c u_i^T W x_q`` with

    u_i = x_i - sum_j m_j x_j = sum_j a_ij y_j,    a_i = e_i - m,

the mean ``mu`` dropping out because ``sum_j a_ij = 0``.  Three steps:

1. :func:`coefficients`: with a symmetric ``K`` of free symbols, expanding the covariances of
   the linear combinations gives ``Cov(u_i) = alpha_i Sigma``, ``Cov(u_i, y_q) = beta_i Sigma``,
   ``Cov(y_q) = kappa Sigma`` with ``alpha_i = a_i^T K a_i``, ``beta_i = (K a_i)_q``,
   ``kappa = K_qq``, checked identically against the implemented forms
   ``K_ii - 2 (K m)_i + m^T K m`` and ``K_qi - (K m)_q``.
2. :func:`mean_embedding`: for ``d = 2`` and every entry of ``W``, the joint covariance of
   ``(u, w)`` and a mean vector ``b = W mu`` free, the moment generating function gives
   ``E[u^T W w + u^T b] = tr(W^T C_uw)`` and
   ``Var = tr(C_uu W C_ww W^T) + tr(W C_wu W C_wu) + b^T C_uu b`` (the cross term is an odd
   moment, 0).  With the separable covariances of step 1:

       mu_i = c beta_i tr(W Sigma)
       v_i  = c^2 [alpha_i kappa tr(Sigma W Sigma W^T) + beta_i^2 tr(W Sigma W Sigma)
                   + alpha_i (W mu)^T Sigma (W mu)]

3. :func:`walk_forms`: for the random walk ``K_ij = min(i, j)/T`` summed symbolically in
   ``i, q, T``: full centering with ``q = T`` gives back ``walk_moments.coefficients`` and
   ``kappa = 1`` (today's formulas), and causal centering gives closed forms in ``(i, q, T)``.

Run ``python derivations/general_moments.py`` to print the results.
"""
from __future__ import annotations

from functools import cache
from itertools import product

import numpy as np
import sympy as sp

try:                                    # run as a script or imported as a package
    from . import bilinear_variance, walk_moments
except ImportError:                     # pragma: no cover
    import bilinear_variance
    import walk_moments


def _weights(T: int, q: int, causal: bool) -> list:
    n = q if causal else T
    return [sp.Rational(1, n) if j < n else sp.Integer(0) for j in range(T)]


@cache
def coefficients(T: int, q: int, causal: bool):
    """``(alpha, beta, kappa, residual)`` for a symmetric ``T x T`` matrix ``K`` of symbols.

    ``alpha``, ``beta``: lists over positions ``i = 1..T`` (masked positions ``i > q`` of
    causal attention are kept; the implementation sets them to 0), from the covariance
    of ``u_i = sum_j a_ij y_j`` expanded term by term; ``residual`` is the largest
    difference from the implemented forms (identically 0).
    """
    K = sp.Matrix(T, T, lambda a, b: sp.Symbol(f"k{min(a, b) + 1}_{max(a, b) + 1}"))
    m = _weights(T, q, causal)
    A = [[(1 if j == i else 0) - m[j] for j in range(T)] for i in range(T)]
    alpha = [sp.expand(sum(A[i][j] * A[i][k] * K[j, k] for j, k in product(range(T), range(T))))
             for i in range(T)]
    beta = [sp.expand(sum(A[i][j] * K[j, q - 1] for j in range(T))) for i in range(T)]
    kappa = K[q - 1, q - 1]
    mv = sp.Matrix(m)
    Km = K * mv
    mKm = (mv.T * K * mv)[0, 0]
    residual = [sp.expand(alpha[i] - (K[i, i] - 2 * Km[i] + mKm)) for i in range(T)]
    residual += [sp.expand(beta[i] - (K[q - 1, i] - Km[q - 1])) for i in range(T)]
    return alpha, beta, kappa, K, residual


@cache
def mean_embedding(d: int = 2):
    """``(mean_residual, variance_residual)`` of ``u^T W w + u^T b`` against the trace formulas
    plus ``b^T C_uu b``, from the moment generating function (both identically 0)."""
    C = bilinear_variance._symmetric("c", 2 * d)
    W = sp.Matrix(d, d, lambda a, b: sp.Symbol(f"w{a}{b}"))
    b = sp.Matrix(d, 1, lambda a, _: sp.Symbol(f"b{a}"))
    C_uu, C_ww, C_uw = C[:d, :d], C[d:, d:], C[:d, d:]
    g = bilinear_variance.gaussian_moment
    pairs = list(product(range(d), range(d)))
    mean = sp.expand(sum(W[a, e] * g(C, (a, d + e)) for a, e in pairs))      # E[u^T b] = 0
    second = sp.expand(sum(W[a, e] * W[f, h] * g(C, (a, d + e, f, d + h))
                           for (a, e), (f, h) in product(pairs, pairs))
                       + 2 * sum(W[a, e] * b[f] * g(C, (a, d + e, f))
                                 for (a, e), f in product(pairs, range(d)))
                       + sum(b[a] * b[f] * g(C, (a, f)) for a, f in product(range(d), range(d))))
    variance = sp.expand(second - mean ** 2)
    expected = bilinear_variance.trace_variance(C_uu, C_ww, C_uw, W) + (b.T * C_uu * b)[0, 0]
    return sp.expand(mean - bilinear_variance.trace_mean(C_uw, W)), sp.expand(variance - expected)


i, q, j, k, T = sp.symbols("i q j k T", integer=True, positive=True)


@cache
def walk_forms():
    """Random walk ``K_ij = min(i, j)/T``: ``(alpha, beta)`` in closed form.

    Returns ``(full, causal)``: ``full`` with all ``T`` tokens centered and the query at ``q``,
    ``causal`` with tokens ``1..q`` centered (positions ``i <= q``); each
    ``(alpha, beta for i <= q, beta for i > q)`` as rational functions of ``i, q, T``,
    summed over ``j`` split at ``i`` (and ``q``).
    """
    def sum_min(n, upper):                              # sum_{j=1..upper} min(n, j) for n <= upper
        return sp.summation(j, (j, 1, n)) + n * (upper - n)

    def forms(n):                                       # centering over 1..n, i <= n, q <= n
        Km_i = sum_min(i, n) / (n * T)
        Km_q = sum_min(q, n) / (n * T)
        mKm = sp.summation(sum_min(k, n), (k, 1, n)) / (n * n * T)
        alpha = sp.factor(sp.simplify(i / T - 2 * Km_i + mKm))
        return alpha, sp.factor(sp.simplify(i / T - Km_q)), sp.factor(sp.simplify(q / T - Km_q))
    return forms(T), forms(q)


def numeric(K: np.ndarray, W: np.ndarray, Sigma: np.ndarray, c: float, query: int, causal: bool,
            mu: np.ndarray | None = None):
    """``(mean, variance)`` of every position from the step-2 formulas with explicit matrices.

    Builds ``C_uu = alpha_i Sigma``, ``C_ww = kappa Sigma``, ``C_uw = beta_i Sigma`` from the
    weight vectors ``a_i`` (an implementation independent of ``sigprop``'s); masked
    positions are 0.
    """
    T = K.shape[0]
    n = query if causal else T
    m = np.r_[np.full(n, 1.0 / n), np.zeros(T - n)]
    mean, var = np.zeros(T), np.zeros(T)
    b = np.zeros(W.shape[0]) if mu is None else W @ mu
    for pos in range(n):
        a = -m.copy()
        a[pos] += 1.0
        alpha, beta, kappa = a @ K @ a, (K @ a)[query - 1], K[query - 1, query - 1]
        mean[pos] = c * bilinear_variance.trace_mean(beta * Sigma, W)
        var[pos] = c ** 2 * (bilinear_variance.trace_variance(alpha * Sigma, kappa * Sigma, beta * Sigma, W)
                             + alpha * b @ Sigma @ b)
    return mean, var


def main() -> None:
    for T_, q_, causal in ((3, 3, False), (4, 2, True), (4, 3, False)):
        *_, residual = coefficients(T_, q_, causal)
        print(f"T = {T_}, q = {q_}, causal = {causal}: alpha/beta minus the implemented forms:",
              set(residual))
    dm, dv = mean_embedding(2)
    print("token mean: E minus tr(W^T C_uw):", dm, "  Var minus (traces + b^T C_uu b):", dv)
    (fa, fb, fb_after), (ca, cb, _) = walk_forms()
    wa, wb = walk_moments.coefficients()
    print("random walk, full centering, q = T: alpha - walk alpha =",
          sp.simplify(fa - wa), "  beta - walk beta =", sp.simplify(fb.subs(q, T) - wb))
    print("random walk, full centering, query q:  beta =", fb, "(i <= q),", fb_after, "(i > q)")
    print("random walk, causal centering over 1..q, i <= q:  alpha =", ca, "  beta =", cb)
    print("  = (q/T) x the walk of length q:  alpha:", sp.simplify(ca - q / T * wa.subs(T, q)),
          "  beta:", sp.simplify(cb - q / T * wb.subs(T, q)))


if __name__ == "__main__":
    main()
