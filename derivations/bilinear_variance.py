"""Mean and variance of a bilinear form in jointly Gaussian vectors (SymPy; docs/theory.md (3.4)).

For zero-mean jointly Gaussian ``u, w`` in ``R^d`` with ``C_uu = E[u u^T]``,
``C_ww = E[w w^T]``, ``C_uw = E[u w^T]`` and ``C_wu = C_uw^T``, and any ``W``:

    E[u^T W w]   = tr(W^T C_uw)
    Var(u^T W w) = tr(C_uu W C_ww W^T) + tr(W C_wu W C_wu)

Isserlis' theorem, ``E[g_a g_b g_c g_e] = C_ab C_ce + C_ac C_be + C_ae C_bc``, turns
``E[(u^T W w)^2] = sum W_ab W_ce E[u_a w_b u_c w_e]`` into three index sums: the
first is the squared mean, the second ``tr(C_uu W C_ww W^T)``, the third
``tr(W C_wu W C_wu)``.  This script does not assume Isserlis: it differentiates
the moment generating function ``exp(t^T C t / 2)`` of the joint vector four
times, for ``d = 2`` with every entry of ``W`` and of the joint covariance a free
symbol, and checks that the result equals the trace formula identically.

Run ``python derivations/bilinear_variance.py`` to print the check.
"""
from __future__ import annotations

from functools import cache
from itertools import product

import sympy as sp


def _symmetric(name: str, n: int) -> sp.Matrix:
    return sp.Matrix(n, n, lambda a, b: sp.Symbol(f"{name}{min(a, b)}{max(a, b)}"))


def gaussian_moment(C: sp.Matrix, idx: tuple[int, ...]) -> sp.Expr:
    """``E[prod_k g_{idx_k}]`` for ``g ~ N(0, C)`` from the moment generating function."""
    n = C.shape[0]
    tt = sp.symbols(f"t0:{n}")
    tv = sp.Matrix(tt)
    mgf = sp.exp((tv.T * C * tv)[0, 0] / 2)
    expr = mgf
    for k in idx:
        expr = sp.diff(expr, tt[k])
    return sp.expand(expr.subs({x: 0 for x in tt}))


def trace_mean(C_uw, W):
    """``E[u^T W w] = tr(W^T C_uw)`` for SymPy or NumPy matrices."""
    return _tr(_T(W) @ C_uw)


def trace_variance(C_uu, C_ww, C_uw, W):
    """``Var(u^T W w) = tr(C_uu W C_ww W^T) + tr(W C_wu W C_wu)``, ``C_wu = C_uw^T``."""
    C_wu = _T(C_uw)
    return _tr(C_uu @ W @ C_ww @ _T(W)) + _tr(W @ C_wu @ W @ C_wu)


def _T(M):
    return M.T if isinstance(M, sp.MatrixBase) else M.swapaxes(-1, -2)


def _tr(M):
    return M.trace() if isinstance(M, sp.MatrixBase) else M.trace(axis1=-2, axis2=-1)


@cache
def derive(d: int = 2):
    """Moments of ``u^T W w`` from the MGF, and their difference from the trace formulas.

    Returns ``(mean, variance, mean_residual, variance_residual)``; both residuals
    are identically zero when the trace formulas hold.
    """
    C = _symmetric("c", 2 * d)
    W = sp.Matrix(d, d, lambda a, b: sp.Symbol(f"w{a}{b}"))
    C_uu, C_ww, C_uw = C[:d, :d], C[d:, d:], C[:d, d:]
    pairs = list(product(range(d), range(d)))       # (a, b): u_a w_b, w_b = g_{d+b}
    mean = sp.expand(sum(W[a, b] * gaussian_moment(C, (a, d + b)) for a, b in pairs))
    second = sp.expand(sum(W[a, b] * W[c, e] * gaussian_moment(C, (a, d + b, c, d + e))
                           for (a, b), (c, e) in product(pairs, pairs)))
    variance = sp.expand(second - mean ** 2)
    return (mean, variance,
            sp.expand(mean - trace_mean(C_uw, W)),
            sp.expand(variance - trace_variance(C_uu, C_ww, C_uw, W)))


def main() -> None:
    mean, variance, dm, dv = derive(2)
    print("d = 2, general W and joint covariance (", len(variance.free_symbols), "symbols )")
    print("E[u^T W w] from the MGF minus tr(W^T C_uw):", dm)
    print("Var(u^T W w) from the MGF minus tr(C_uu W C_ww W^T) + tr(W C_wu W C_wu):", dv)
    print("number of monomials in the variance:", len(sp.Add.make_args(variance)))


if __name__ == "__main__":
    main()
