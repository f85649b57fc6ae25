"""Covariances of the centered random walk, by symbolic summation (SymPy; docs/theory.md (3.2)-(3.3)).

Model (docs/theory.md (1.1)): ``x_i = sum_{t <= i} eps_t`` with ``eps_t ~ N(0, Sigma/T)`` i.i.d.
The centered token ``u_i = x_i - xbar``, ``xbar = (1/T) sum_j x_j``, is a linear
combination of the steps, ``u_i = sum_t a_it eps_t`` with

    a_it = 1[t <= i] - (T - t + 1)/T

because ``sum_j x_j = sum_t (T - t + 1) eps_t``; and ``x_T = sum_t eps_t``.
Independence of the steps then gives ``Cov(u_i) = alpha_i Sigma`` and
``Cov(u_i, x_T) = beta_i Sigma`` with

    alpha_i = (1/T) sum_t a_it^2,      beta_i = (1/T) sum_t a_it,

which this script sums in closed form (splitting at ``t = i``) and takes to the
limit ``T -> infinity`` at fixed ``s = i/T``.

Run ``python derivations/walk_moments.py`` to print the results.
"""
from __future__ import annotations

from functools import cache

import sympy as sp

i, t, T = sp.symbols("i t T", integer=True, positive=True)
s = sp.symbols("s", positive=True)


def step_weights():
    """``(a_it for t <= i, a_it for t > i)``: ``u_i = x_i - xbar = sum_t a_it eps_t``."""
    return 1 - (T - t + 1) / T, -(T - t + 1) / T


@cache
def coefficients():
    """``(alpha_i, beta_i)`` as rational functions of ``i`` and ``T``."""
    before, after = step_weights()
    alpha = (sp.summation(before ** 2, (t, 1, i)) + sp.summation(after ** 2, (t, i + 1, T))) / T
    beta = (sp.summation(before, (t, 1, i)) + sp.summation(after, (t, i + 1, T))) / T
    return sp.factor(sp.simplify(alpha)), sp.factor(sp.simplify(beta))


@cache
def limits():
    """``T -> infinity`` limits of ``alpha``, ``beta`` and ``alpha + beta^2`` at ``i = sT``."""
    alpha, beta = coefficients()
    return tuple(sp.simplify(sp.limit(e.subs(i, s * T), T, sp.oo))
                 for e in (alpha, beta, alpha + beta ** 2))


def numeric():
    """``(alpha(i, T), beta(i, T))`` as NumPy functions of arrays."""
    alpha, beta = coefficients()
    return sp.lambdify((i, T), alpha, "numpy"), sp.lambdify((i, T), beta, "numpy")


def main() -> None:
    alpha, beta = coefficients()
    a_lim, b_lim, total_lim = limits()
    print("Cov(x_i - xbar)        = alpha_i Sigma,  alpha_i =", alpha)
    print("Cov(x_i - xbar, x_T)   = beta_i  Sigma,  beta_i  =", beta)
    print("alpha_i + beta_i^2     =", sp.factor(sp.simplify(alpha + beta ** 2)))
    print("T -> oo at i = sT:  alpha ->", a_lim, "   beta ->", b_lim,
          "   alpha + beta^2 ->", total_lim)
    print("symmetry i -> T+1-i:  alpha unchanged:",
          sp.simplify(alpha.subs(i, T + 1 - i) - alpha) == 0,
          "  beta negated:", sp.simplify(beta.subs(i, T + 1 - i) + beta) == 0)


if __name__ == "__main__":
    main()
