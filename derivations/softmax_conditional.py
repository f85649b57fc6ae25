"""Logits given the query token: a drifting Brownian bridge set by two scalars (SymPy; docs/softmax.md §2).

Whiten the walk: ``x_i = Sigma^{1/2} g_i`` with ``g`` a standard walk (steps ``N(0, I/T)``), so
``z_i = c g_i^T B g_T`` with ``B = Sigma^{1/2} W Sigma^{1/2}``; write ``y = g_T ~ N(0, I_d)``.

1. Per coordinate, ``(g_i, g_j, g_T)`` is Gaussian with covariance ``min(.,.)/T``; the Schur
   complement gives ``E[g_i | y] = (i/T) y`` and ``Cov(g_i, g_j | y) = (min(i,j)/T - ij/T^2) I``:
   ``g_i = s_i y + b_i`` with ``b`` a (vector) discrete Brownian bridge independent of ``y``.
2. Hence ``z_i | y = c s_i y^T B y + c b_i^T (B y)``; for a fixed vector ``u`` the scalar
   ``b_i^T u`` is ``||u||`` times a scalar bridge (isotropy), so given ``y`` the logits are
   ``A s_i + R beta_i`` with ``A = c y^T B y``, ``R = c ||B y||`` and ``beta`` a scalar bridge:
   the softmax quantities depend on ``y`` only through ``(A, R)``.
3. Moments of the two scalars for ``y ~ N(0, I)`` (Isserlis; checked on a generic 2 x 2 ``B``):
   ``E A = c tr B``, ``Var A = c^2 (tr B^2 + tr B^T B)``, ``E R^2 = c^2 tr B^T B``.
   For diagonal ``B = diag(mu)``: ``Var R^2 = 2 c^4 sum mu^4``.
4. ``d -> infinity`` with ``c = 1/sqrt(d)``, ``sum mu = d m``, ``sum mu^2 = d (m^2 + v)``,
   ``sum mu^4 = d k4`` (bounded ``k4``): ``E A = sqrt(d) m``, ``Var A = 2 (m^2 + v)``,
   ``E R^2 = m^2 + v`` and ``Var R^2 = 2 k4 / d -> 0``: ``R`` concentrates, ``A`` keeps an
   ``O(1)`` Gaussian spread around ``sqrt(d) m``.

5. Any data model (docs/theory.md (3.30)-(3.31)): ``Cov(g_i, g_j) = K_ij I`` and ``x_q = mu_x +
   Sigma^{1/2} g_q``.  The Schur complement on ``(g_i, g_j, g_q)`` gives
   ``E[g_i | g_q] = (K_iq / K_qq) g_q`` and ``Cov(g_i, g_j | g_q) = (K_ij - K_iq K_jq / K_qq) I``;
   with ``y = g_q / sqrt(K_qq)`` and ``v = c Sigma^{1/2} W x_q = c (sqrt(K_qq) B y + a0)``,
   ``a0 = Sigma^{1/2} W mu_x``, the logits are ``z_i = c mu_x^T W x_q + s_i A + e_i^T v`` with
   ``s_i = K_iq / sqrt(K_qq)``, ``A = y^T v`` and ``e_i^T v`` a scalar Gaussian process of
   covariance ``C_ij ||v||^2`` (isotropy): up to the constant (which softmax ignores) the
   quantities depend on ``W x_q`` only through ``A`` and ``R = ||v||``.  Moments:
   ``E A = c sqrt(K_qq) tr B``, ``Var A = c^2 (K_qq (tr B^2 + tr B^T B) + ||a0||^2)``,
   ``E R^2 = c^2 (K_qq tr B^T B + ||a0||^2)`` (generic 2 x 2 ``B``, generic ``a0``).

Run ``python derivations/softmax_conditional.py`` to print the results.
"""
from __future__ import annotations

from functools import cache

import sympy as sp

i, j, T = sp.symbols("i j T", positive=True)
c, m, v, d, k4 = sp.symbols("c m v d k4", positive=True)


@cache
def bridge():
    """``(conditional mean coefficient of g_i on g_T, Cov(g_i, g_j | g_T))`` for ``i <= j <= T``."""
    S = sp.Matrix([[i / T, i / T, i / T], [i / T, j / T, j / T], [i / T, j / T, 1]])   # (g_i, g_j, g_T)
    S11, S12, S22 = S[:2, :2], S[:2, 2:], S[2:, 2:]
    coef = sp.simplify(S12 * S22.inv())
    cov = sp.simplify(S11 - S12 * S22.inv() * S12.T)
    return coef, cov


def gaussian_expectation(expr, ys):
    """``E[expr]`` for a polynomial in independent standard normals ``ys`` (Isserlis)."""
    poly = sp.Poly(sp.expand(expr), *ys)
    total = 0
    for powers, coeff in poly.terms():
        term = coeff
        for p in powers:
            term *= 0 if p % 2 else sp.factorial2(p - 1)
        total += term
    return sp.simplify(total)


@cache
def scalar_moments():
    """``(E A, Var A, E R^2)`` minus their claimed forms, on a generic 2 x 2 ``B`` (all zero)."""
    ys = sp.symbols("y1 y2")
    B = sp.Matrix(2, 2, sp.symbols("b11 b12 b21 b22"))
    y = sp.Matrix(ys)
    A = c * (y.T * B * y)[0]
    R2 = c ** 2 * ((B * y).T * (B * y))[0]
    EA = gaussian_expectation(A, ys)
    VA = gaussian_expectation(A ** 2, ys) - EA ** 2
    ER2 = gaussian_expectation(R2, ys)
    return (sp.simplify(EA - c * B.trace()),
            sp.simplify(VA - c ** 2 * ((B * B).trace() + (B.T * B).trace())),
            sp.simplify(ER2 - c ** 2 * (B.T * B).trace()))


@cache
def general_conditional():
    """``(coefficients of E[g_i, g_j | g_q], Cov(g_i, g_j | g_q))`` for a symbolic covariance ``K``
    of ``(g_i, g_j, g_q)`` (one coordinate; the others are independent copies)."""
    kii, kij, kiq, kjj, kjq, kqq = sp.symbols("K_ii K_ij K_iq K_jj K_jq K_qq", positive=True)
    S = sp.Matrix([[kii, kij, kiq], [kij, kjj, kjq], [kiq, kjq, kqq]])
    S11, S12, S22 = S[:2, :2], S[:2, 2:], S[2:, 2:]
    coef = sp.simplify(S12 * S22.inv())
    cov = sp.simplify(S11 - S12 * S22.inv() * S12.T)
    claimed_coef = sp.Matrix([kiq / kqq, kjq / kqq])
    claimed_cov = sp.Matrix([[kii - kiq ** 2 / kqq, kij - kiq * kjq / kqq],
                             [kij - kiq * kjq / kqq, kjj - kjq ** 2 / kqq]])
    return sp.simplify(coef - claimed_coef), sp.simplify(cov - claimed_cov)


@cache
def general_scalar_moments():
    """``(E A, Var A, E R^2)`` minus their claimed forms with a query variance ``kappa`` and a
    token-mean shift ``a0`` (generic 2 x 2 ``B``; all zero)."""
    ys = sp.symbols("y1 y2")
    kappa = sp.symbols("kappa", positive=True)
    B = sp.Matrix(2, 2, sp.symbols("b11 b12 b21 b22"))
    a0 = sp.Matrix(sp.symbols("a1 a2"))
    y = sp.Matrix(ys)
    vv = c * (sp.sqrt(kappa) * B * y + a0)
    A = (y.T * vv)[0]
    R2 = (vv.T * vv)[0]
    EA = gaussian_expectation(A, ys)
    VA = gaussian_expectation(A ** 2, ys) - EA ** 2
    ER2 = gaussian_expectation(R2, ys)
    a2 = (a0.T * a0)[0]
    return (sp.simplify(EA - c * sp.sqrt(kappa) * B.trace()),
            sp.simplify(VA - c ** 2 * (kappa * ((B * B).trace() + (B.T * B).trace()) + a2)),
            sp.simplify(ER2 - c ** 2 * (kappa * (B.T * B).trace() + a2)))


@cache
def diagonal_r2_variance():
    """``Var R^2 - 2 c^4 sum mu^4`` for ``B = diag(mu1, mu2, mu3)`` (zero)."""
    ys = sp.symbols("y1 y2 y3")
    mu = sp.symbols("mu1 mu2 mu3")
    R2 = c ** 2 * sum(u ** 2 * yy ** 2 for u, yy in zip(mu, ys, strict=True))
    var = gaussian_expectation(R2 ** 2, ys) - gaussian_expectation(R2, ys) ** 2
    return sp.simplify(var - 2 * c ** 4 * sum(u ** 4 for u in mu))


@cache
def large_d():
    """``(E A, Var A, E R^2, Var R^2)`` at ``c = 1/sqrt(d)`` and their ``d -> infinity`` limits."""
    cc = 1 / sp.sqrt(d)
    moments = (cc * d * m, 2 * cc ** 2 * d * (m ** 2 + v), cc ** 2 * d * (m ** 2 + v), 2 * cc ** 4 * d * k4)
    moments = tuple(sp.simplify(e) for e in moments)
    return moments, tuple(sp.limit(e, d, sp.oo) for e in moments[1:])


if __name__ == "__main__":
    coef, cov = bridge()
    print("E[g_i, g_j | g_T] coefficients:", list(coef))
    print("Cov(g_i, g_j | g_T):", cov)
    print("scalar moments (residuals, all 0):", scalar_moments(), diagonal_r2_variance())
    print("any K: conditional mean and covariance residuals (0):", general_conditional())
    print("any K, token mean: scalar moment residuals (0):", general_scalar_moments())
    print("large d (E A, Var A, E R^2, Var R^2), limits of the last three:", large_d())
