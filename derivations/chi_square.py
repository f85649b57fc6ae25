"""The centered logit as a weighted sum of chi-squares (SymPy), from the step structure.

1. **Joint covariance of ``(u_i, x_T)``**, ``u_i = x_i - xbar``, derived from the steps: with
   ``eps_t ~ N(0, Sigma/T)`` i.i.d., ``u_i = sum_t a_it eps_t`` (``a_it`` from
   ``walk_moments.step_weights``) and ``x_T = sum_t eps_t``, independence of the steps gives,
   per unit ``Sigma``, the symbolic sums

       Cov(u_i)      = (1/T) sum_t a_it^2  = alpha_i
       Cov(u_i, x_T) = (1/T) sum_t a_it    = beta_i
       Cov(x_T)      = (1/T) sum_t 1       = 1

   and ``alpha_i - beta_i^2 = (T^2 - 1)/(12 T^2)`` is derived: the same for every position and
   positive for ``T >= 2``, so ``gamma = sqrt(alpha_i - beta_i^2)`` is real.
2. **A construction with that covariance**: with independent ``h_1, h_2 ~ N(0, I)`` and
   ``S = Sigma^{1/2}``, the pair ``(S (beta h_2 + gamma h_1), S h_2)`` has the joint covariance
   of 1., computed here as expectations (moments of independent normals) and compared symbolically.
3. **The quadratic form**: ``c u^T W x_T = c (beta h_2 + gamma h_1)^T B h_2 = h^T M h`` with
   ``B = S W S`` and the symmetric ``M = (c/2) [[0, gamma B], [gamma B^T, beta (B + B^T)]]``,
   checked identically for a ``2 x 2`` ``B`` of free symbols; the chi-square weights are the
   eigenvalues of ``M``.  For symmetric ``B``, ``M = (c/2) K (x) B`` with
   ``K = [[0, gamma], [gamma, 2 beta]]``, whose eigenvalues are ``beta +- sqrt(alpha)``: the
   weights are ``(c/2)(beta +- sqrt(alpha)) mu_j`` for the eigenvalues ``mu_j`` of ``B``.
4. The weights reproduce the exact mean ``c beta tr B`` and variance ``c^2 (alpha + beta^2) tr B^2``
   (a weighted chi-square has mean ``sum w`` and variance ``2 sum w^2``).

Run ``python derivations/chi_square.py``.
"""
from __future__ import annotations

from functools import cache

import sympy as sp

try:                                    # run as a script or imported as a package
    from . import walk_moments
except ImportError:                     # pragma: no cover
    import walk_moments

alpha, c = sp.symbols("alpha c", positive=True)
beta = sp.symbols("beta", real=True)
mu = sp.symbols("mu", real=True)
i, t, T = walk_moments.i, walk_moments.t, walk_moments.T


@cache
def joint_covariance():
    """``(C_uu, C_ux, C_xx)`` of ``(u_i, x_T)`` per unit ``Sigma``, summed over the steps."""
    before, after = walk_moments.step_weights()            # a_it for t <= i and t > i
    one = sp.Integer(1)                                    # x_T = sum_t 1 * eps_t
    C_uu = (sp.summation(before ** 2, (t, 1, i)) + sp.summation(after ** 2, (t, i + 1, T))) / T
    C_ux = (sp.summation(before * one, (t, 1, i)) + sp.summation(after * one, (t, i + 1, T))) / T
    C_xx = sp.summation(one * one, (t, 1, T)) / T
    return sp.factor(sp.simplify(C_uu)), sp.factor(sp.simplify(C_ux)), sp.simplify(C_xx)


@cache
def gamma_squared():
    """``alpha_i - beta_i^2`` from :func:`joint_covariance`, written as a sum of non-negative terms."""
    C_uu, C_ux, _ = joint_covariance()
    return sp.factor(sp.simplify(C_uu - C_ux ** 2))


def gaussian_expectation(expr, normals):
    """``E[expr]`` for a polynomial in independent standard normals ``normals``.

    By independence and linearity, each monomial's expectation is the product of the
    moments ``E[h^k] = (k - 1)!!`` for even ``k`` and 0 for odd ``k``.
    """
    poly = sp.Poly(sp.expand(expr), *normals)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        moment = sp.Integer(1)
        for k in powers:
            moment *= 0 if k % 2 else sp.factorial2(k - 1)
        total += coeff * moment
    return sp.simplify(total)


def construction_covariance(a=alpha, b=beta):
    """Joint covariance of ``(b h_2 + g h_1, h_2)``, ``g = sqrt(a - b^2)``, as expectations."""
    h1, h2 = sp.symbols("h1 h2", real=True)
    g = sp.sqrt(a - b ** 2)
    u, x = b * h2 + g * h1, h2
    return tuple(gaussian_expectation(e, (h1, h2)) for e in (u * u, u * x, x * x))


@cache
def quadratic_form_residual():
    """``h^T M h - (beta h_2^T B h_2 + gamma h_1^T B h_2) c`` for a ``2 x 2`` ``B`` of free symbols (0)."""
    d = 2
    B = sp.Matrix(d, d, lambda r, s: sp.Symbol(f"b{r}{s}", real=True))
    g = sp.Symbol("gamma", positive=True)
    h1 = sp.Matrix(sp.symbols(f"p0:{d}", real=True))
    h2 = sp.Matrix(sp.symbols(f"q0:{d}", real=True))
    M = c / 2 * sp.BlockMatrix([[sp.zeros(d), g * B], [g * B.T, beta * (B + B.T)]]).as_explicit()
    h = h1.col_join(h2)
    lhs = (h.T * M * h)[0, 0]
    rhs = c * ((beta * h2 + g * h1).T * B * h2)[0, 0]
    return sp.expand(lhs - rhs), sp.simplify(M - M.T)


@cache
def weights():
    """``(w_plus, w_minus)`` per eigenvalue ``mu`` of ``B``, as SymPy expressions."""
    gamma = sp.sqrt(alpha - beta ** 2)
    K = sp.Matrix([[0, gamma], [gamma, 2 * beta]])
    ev = sorted(K.eigenvals(), key=lambda e: -sp.sign(sp.simplify(e - beta)))
    return tuple(sp.simplify(c / 2 * e * mu) for e in ev)


@cache
def checks():
    """``(cov_residuals, form_residual, mean_residual, variance_residual)``; all are zero.

    ``cov_residuals``: the construction's joint covariance minus the walk's (derived, with
    ``alpha``, ``beta`` substituted by the walk's ``C_uu``, ``C_ux``).
    """
    C_uu, C_ux, C_xx = joint_covariance()
    built = construction_covariance(C_uu, C_ux)
    cov_res = tuple(sp.simplify(x - y) for x, y in zip(built, (C_uu, C_ux, C_xx)))
    form_res = quadratic_form_residual()[0]
    wp, wm = weights()
    mean_res = sp.simplify(wp + wm - c * beta * mu)
    var_res = sp.simplify(2 * (wp ** 2 + wm ** 2) - c ** 2 * (alpha + beta ** 2) * mu ** 2)
    return cov_res, form_res, mean_res, var_res


def main() -> None:
    C_uu, C_ux, C_xx = joint_covariance()
    print("from the steps, per unit Sigma:  Cov(u_i) =", C_uu, "  Cov(u_i, x_T) =", C_ux, "  Cov(x_T) =", C_xx)
    print("alpha_i - beta_i^2 =", gamma_squared())
    cov_res, form_res, mres, vres = checks()
    print("construction minus walk covariances:", cov_res)
    print("h^T M h - c u^T B x_T:", form_res, "   M - M^T = 0:", quadratic_form_residual()[1] == sp.zeros(4))
    wp, wm = weights()
    print("chi-square weights per eigenvalue mu of B:", wp, ",", wm)
    print("sum of weights - c beta mu =", mres, "   2 sum w^2 - c^2 (alpha + beta^2) mu^2 =", vres)


if __name__ == "__main__":
    main()
