"""The spectral gap of softmax attention at initialisation [NNT24] (SymPy; docs/theory.md §6).

1. **Logit variance of key-query attention.**  ``G = X W_Q W_K^T X^T / sqrt(d_k)``
   with ``X`` (``T x d``) entries ``N(0, sx^2)`` and ``W_Q, W_K`` (``d x d_k``) entries
   ``N(0, sw^2)``, all independent.  Wick's theorem over the index sums gives
   ``E[G_ij^2] = d^2 sx^4 sw^4`` for ``i != j`` and ``d (d + 2) sx^4 sw^4`` on the
   diagonal (the extra ``2d`` are the two pairings that tie ``a = b``); all means are
   0.  So the idealized model with ``sigma = d sx^2 sw^2`` has the same off-diagonal
   logit variance.  :func:`logit_second_moments` checks the formulas by exact
   expectation of the expanded polynomial for several small ``(d, d_k)``.
2. **Entries of the random Markov matrix.**  ``A = rowsoftmax(G)`` with i.i.d.
   ``G_ij ~ N(0, sigma^2)``.  The row sums concentrate, ``sum_k e^{G_ik} ~ T E[e^G]``,
   so ``A_ij ~ e^{G_ij} / (T E[e^G])``: mean ``1/T`` and variance ``s^2 / T^2`` with
   ``s^2 = Var(e^G)/E[e^G]^2 = e^{sigma^2} - 1`` (integrated below).  Write
   ``A = P + E``, ``P = 1 1^T / T``; ``E 1 = 0`` exactly, and the entries of ``E`` are
   nearly independent with variance ``s^2/T^2``.
3. **Predictions** (leading order in ``1/T``).  Circular law: the non-trivial
   eigenvalues fill a disc of radius ``s / sqrt(T)``.  Quarter-circle law: the
   singular values of ``E`` fill ``[0, 2 s / sqrt(T)]``, so ``sigma_2 ~ 2 s / sqrt(T)``.
   Outlier: ``A 1 = 1`` gives the eigenvalue 1; ``A A^T = P + E E^T`` (because
   ``E 1 = 0``) gives ``sigma_1^2 ~ 1 + ||E^T 1||^2 / T = 1 + s^2 / T``, since the column
   sums of ``E`` have variance ``T s^2 / T^2``.  The gap ``sigma_1 - sigma_2`` widens to 1
   like ``T^{-1/2}``.  These need the row sums to concentrate, ``s^2 / T << 1``, i.e.
   ``e^{sigma^2} << T``: for ``sigma^2`` of order ``log T`` a few entries dominate each
   row and the predictions fail.
4. **Rank collapse in width.**  Inputs ``X = 1 b^T + Z`` (common row ``b``, noise
   ``Z`` with i.i.d. ``N(0, tau^2)`` entries).  ``A X = 1 b^T + P Z + E Z`` and
   ``(I - P) A X = (I - P) E Z``, so with ``r(Y) = ||Y - 1 ybar^T||_F / ||Y||_F``::

       r(A X)^2 ~ tau^2 d s^2 (1 - 1/T) / (T ||b||^2 + tau^2 d (1 + s^2))   -> 0 like 1/T

   With the gap removed, ``(A - P) X = E Z``: the common row is gone and
   ``r^2 ~ 1 - 1/T``, but each entry has variance ``tau^2 s^2 / T``.  Rescaling by
   ``kappa = sqrt(T) / s`` (the inverse bulk radius) restores the variance ``tau^2``.
   In depth, each vanilla layer multiplies the non-common part by about ``s/sqrt(T)``
   and the gap-removed layer multiplies everything by it; the rescaled one keeps the
   scale.  The backward pass uses ``A^T = P + E^T``: the same factors act on the
   gradients.

Run ``python derivations/spectral_gap.py`` to print the results.
"""
from __future__ import annotations

from functools import cache
from itertools import product

import sympy as sp

sigma, T, tau, b2, d, sx, sw = sp.symbols("sigma T tau b2 d s_x s_w", positive=True)
g = sp.symbols("g", real=True)


@cache
def exp_moments():
    """``(E[e^G], E[e^{2G}], s^2)`` for ``G ~ N(0, sigma^2)``, by integration."""
    density = sp.exp(-g ** 2 / (2 * sigma ** 2)) / sp.sqrt(2 * sp.pi * sigma ** 2)
    m1, m2 = (sp.simplify(sp.integrate(sp.exp(k * g) * density, (g, -sp.oo, sp.oo)).rewrite(sp.erf))
              for k in (1, 2))
    return m1, m2, sp.simplify((m2 - m1 ** 2) / m1 ** 2)


@cache
def predictions():
    """Closed forms in ``sigma`` and ``T``: dict of sympy expressions."""
    s2 = exp_moments()[2]
    s = sp.sqrt(s2)
    return dict(
        entry_variance=s2 / T ** 2,
        eig_radius=s / sp.sqrt(T),
        bulk_edge=2 * s / sp.sqrt(T),
        sigma_1=sp.sqrt(1 + s2 / T),
        column_sum_variance=T * s2 / T ** 2,
        rescale=sp.sqrt(T) / s,
        width_residual=sp.sqrt(tau ** 2 * d * s2 * (1 - 1 / T) / (T * b2 + tau ** 2 * d * (1 + s2))),
        width_residual_removed=sp.sqrt(1 - 1 / T),
        layer_factor=s / sp.sqrt(T),
    )


def _gaussian_expectation(poly: sp.Poly, variances: dict) -> sp.Expr:
    """Exact ``E[poly]`` for independent zero-mean Gaussians with the given variances."""
    total = sp.Integer(0)
    gens = poly.gens
    for powers, coeff in poly.terms():
        term = coeff
        for var, p in zip(gens, powers, strict=True):
            if p % 2:
                term = 0
                break
            term *= variances[var] ** sp.Rational(p, 2) * sp.factorial2(p - 1)
        total += term
    return sp.expand(total)


@cache
def logit_second_moments(dim: int, dim_k: int):
    """``(E[G_12^2], E[G_11^2])`` by exact expectation for explicit ``d, d_k``."""
    X = sp.Matrix(2, dim, lambda i, a: sp.Symbol(f"x{i}{a}"))
    Q = sp.Matrix(dim, dim_k, lambda a, k: sp.Symbol(f"q{a}{k}"))
    K = sp.Matrix(dim, dim_k, lambda a, k: sp.Symbol(f"k{a}{k}"))
    G = X * Q * K.T * X.T / sp.sqrt(dim_k)
    variances = {v: sx ** 2 for v in X}
    variances.update({v: sw ** 2 for v in list(Q) + list(K)})
    gens = list(variances)
    off = _gaussian_expectation(sp.Poly(sp.expand(G[0, 1] ** 2), *gens), variances)
    diag = _gaussian_expectation(sp.Poly(sp.expand(G[0, 0] ** 2), *gens), variances)
    return sp.simplify(off), sp.simplify(diag)


def logit_variance_formulas():
    """General-``d`` formulas: ``(off-diagonal, diagonal)`` second moments of ``G``."""
    return d ** 2 * sx ** 4 * sw ** 4, d * (d + 2) * sx ** 4 * sw ** 4


def main() -> None:
    m1, m2, s2 = exp_moments()
    print("E[e^G] =", m1, "  E[e^2G] =", m2, "  s^2 = Var(e^G)/E[e^G]^2 =", s2)
    for name, expr in predictions().items():
        print(f"{name:>24}: {expr}")
    off, diag = logit_variance_formulas()
    print("key-query logits: E[G_ij^2] =", off, " (i != j),  E[G_ii^2] =", diag)
    for dim, dim_k in product((1, 2, 3), (1, 2)):
        got = logit_second_moments(dim, dim_k)
        want = tuple(e.subs(d, dim) for e in logit_variance_formulas())
        print(f"  d = {dim}, d_k = {dim_k}: exact expectation {got}, formula holds:",
              all(sp.simplify(a - b) == 0 for a, b in zip(got, want, strict=True)))


if __name__ == "__main__":
    main()
