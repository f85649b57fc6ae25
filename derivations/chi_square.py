"""The centered logit as a weighted sum of chi-squares (SymPy; docs/theory.md (3.16)-(3.20)).

With ``u_i = S(beta h_2 + gamma h_1)``, ``x_T = S h_2`` (``S = Sigma^{1/2}``,
``gamma^2 = alpha - beta^2``) the centered logit is ``h^T M h`` with
``M = (c/2) [[0, gamma B], [gamma B^T, beta (B + B^T)]]``, ``B = S W S``.  For symmetric
``B`` this is ``(c/2) K (x) B`` with ``K = [[0, gamma], [gamma, 2 beta]]``, whose
eigenvalues are ``beta +- sqrt(beta^2 + gamma^2) = beta +- sqrt(alpha)``: the weights are
``(c/2)(beta +- sqrt(alpha)) mu_j`` for the eigenvalues ``mu_j`` of ``B``.

Checks printed: the covariances of the construction, the eigenvalues of ``K``, and
that the weights reproduce the exact mean ``c beta tr B`` and variance
``c^2 (alpha + beta^2) tr B^2`` (a weighted chi-square has mean ``sum w`` and variance
``2 sum w^2``).  Run ``python derivations/chi_square.py``.
"""
from __future__ import annotations

from functools import cache

import sympy as sp

alpha, c = sp.symbols("alpha c", positive=True)
beta = sp.symbols("beta", real=True)
mu = sp.symbols("mu", real=True)


@cache
def weights():
    """``(w_plus, w_minus)`` per eigenvalue ``mu`` of ``B``, as SymPy expressions."""
    gamma = sp.sqrt(alpha - beta ** 2)
    K = sp.Matrix([[0, gamma], [gamma, 2 * beta]])
    ev = sorted(K.eigenvals(), key=lambda e: -sp.sign(sp.simplify(e - beta)))
    return tuple(sp.simplify(c / 2 * e * mu) for e in ev)


def checks():
    """``(cov_uu, cov_uw, mean_residual, variance_residual)``; residuals are zero."""
    gamma = sp.sqrt(alpha - beta ** 2)
    cov_uu = sp.simplify(beta ** 2 + gamma ** 2)                 # Cov(u) / Sigma
    cov_uw = beta                                                # Cov(u, x_T) / Sigma
    wp, wm = weights()
    mean_res = sp.simplify(wp + wm - c * beta * mu)
    var_res = sp.simplify(2 * (wp ** 2 + wm ** 2) - c ** 2 * (alpha + beta ** 2) * mu ** 2)
    return cov_uu, cov_uw, mean_res, var_res


def main() -> None:
    wp, wm = weights()
    print("chi-square weights per eigenvalue mu of B:", wp, ",", wm)
    cov_uu, cov_uw, mres, vres = checks()
    print("Cov(u)/Sigma =", cov_uu, "  Cov(u, x_T)/Sigma =", cov_uw)
    print("sum of weights - c beta mu =", mres, "   2 sum w^2 - c^2 (alpha + beta^2) mu^2 =", vres)


if __name__ == "__main__":
    main()
