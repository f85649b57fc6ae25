"""The positional recursion's steps (SymPy; ``sigprop.stack.positional``, ``docs/stack.md``).

The state is the tokens' per-coordinate Gram matrix ``G`` (``T x T``); each feature column of ``X`` is
taken Gaussian of covariance ``G`` (``d -> infinity``).

1. **Independent ``W_Q, W_K``**: ``Cov(s_ij, s_kl) = sigma^2 G_ik G_jl`` (``derivations/stack_block.py``
   step 1, unchanged by positions).  With ``F F^T = G`` and ``Z`` a standard Gaussian ``T x T`` matrix,
   ``F Z F^T`` has exactly that covariance (:func:`factor_covariance_residual`).
2. **Symmetric ``W = m I + S``** ([BHK24]'s spectrum; ``S`` symmetric with independent entries of
   variance ``v/d`` off the diagonal and ``2 v/d`` on it, the second moments of any rotation-invariant
   ``S`` with ``tr(S^2)/d = v`` up to ``O(1/d)``), logits ``s_ij = x_i^T W x_j / sqrt(d)``:

   - given the tokens, ``Cov_S(x_i^T S x_j, x_k^T S x_l) = (v/d) ((x_i.x_k)(x_j.x_l) + (x_i.x_l)(x_j.x_k))``
     (:func:`symmetric_logit_residual`, ``d = 2``);
   - over Gaussian tokens of covariance ``G ⊗ I``, ``Cov(x_i.x_j, x_k.x_l) = d (G_ik G_jl + G_il G_jk)``
     (:func:`gram_fluctuation_residual`: Isserlis on one feature; features are independent);

   so that ``E s_ij = m sqrt(d) G_ij`` and, to leading order in ``d``,
   ``Cov(s_ij, s_kl) = (v + m^2)(G_ik G_jl + G_il G_jk)``: ``m^2`` from the fluctuation of ``x_i.x_j``
   around ``d G_ij``, ``v`` from ``S``.  ``F (Z + Z^T) F^T / sqrt 2`` has covariance
   ``G_ik G_jl + G_il G_jk`` (:func:`factor_covariance_residual` with ``symmetric=True``).
3. **Causal uniform attention** (``beta = 0``): rows ``a_ij = 1/i`` for ``j <= i``, so that on an
   equicorrelated ``C = (1 - c) I + c 1 1^T``, ``(A C A^T)_ik = c + (1 - c) / max(i, k)``
   (:func:`causal_uniform_residual`, ``T = 5``); ``tests/stack/test_positional.py`` checks the code gives
   it to rounding.

Run ``python derivations/stack_positional.py`` to print the residuals (all zero).
"""
from __future__ import annotations

from itertools import product

import sympy as sp


def _isserlis(expr: sp.Expr, variables: list[sp.Symbol], cov) -> sp.Expr:
    """``E[expr]`` for a zero-mean Gaussian vector ``variables`` of covariance ``cov(a, b)`` (``expr`` a polynomial)."""
    poly = sp.Poly(sp.expand(expr), *variables)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        factors = [v for v, k in zip(variables, powers) for _ in range(k)]
        total += coeff * _pairings(factors, cov)
    return sp.expand(total)


def _pairings(factors: list[sp.Symbol], cov) -> sp.Expr:
    if not factors:
        return sp.Integer(1)
    if len(factors) % 2:
        return sp.Integer(0)
    first, rest = factors[0], factors[1:]
    return sum(cov(first, other) * _pairings(rest[:n] + rest[n + 1:], cov) for n, other in enumerate(rest))


def factor_covariance_residual(T: int = 3, symmetric: bool = False) -> sp.Expr:
    """``E[(F Z F^T)_ij (F Z F^T)_kl] - G_ik G_jl``, squared over three index sets.

    ``symmetric``: ``Z -> (Z + Z^T) / sqrt 2``, and ``G_il G_jk`` is subtracted too.
    """
    F = sp.Matrix(T, T, lambda a, b: sp.Symbol(f"F{a}{b}"))
    Zs = sp.Matrix(T, T, lambda a, b: sp.Symbol(f"Z{a}{b}"))
    Z = (Zs + Zs.T) / sp.sqrt(2) if symmetric else Zs
    S = F * Z * F.T
    G = F * F.T
    flat = list(Zs)

    def cov(a, b):
        return sp.Integer(1 if a == b else 0)
    total = sp.Integer(0)
    for i, j, k, m in [(0, 1, 2, 0), (1, 1, 0, 2), (2, 0, 2, 1)]:
        moment = _isserlis(S[i, j] * S[k, m], flat, cov)
        expected = G[i, k] * G[j, m] + (G[i, m] * G[j, k] if symmetric else 0)
        total += sp.expand(moment - expected) ** 2
    return sp.simplify(total)


def symmetric_logit_residual(d: int = 2) -> sp.Expr:
    """``E_S[(x_i^T S x_j)(x_k^T S x_l)] - (v/d)((x_i.x_k)(x_j.x_l) + (x_i.x_l)(x_j.x_k))`` for symbolic tokens."""
    v = sp.Symbol("v", positive=True)
    upper = {(a, b): sp.Symbol(f"S{a}{b}") for a in range(d) for b in range(a, d)}
    S = sp.Matrix(d, d, lambda a, b: upper[(min(a, b), max(a, b))])
    xs = [sp.Matrix(d, 1, lambda a, _, n=n: sp.Symbol(f"{n}{a}")) for n in "ijkl"]
    xi, xj, xk, xl = xs
    variables = list(upper.values())

    def cov(a, b):
        if a != b:
            return sp.Integer(0)
        (r, c), = [key for key, sym in upper.items() if sym == a]
        return 2 * v / d if r == c else v / d
    moment = _isserlis((xi.T * S * xj)[0, 0] * (xk.T * S * xl)[0, 0], variables, cov)
    dot = lambda a, b: (a.T * b)[0, 0]                                        # noqa: E731
    return sp.simplify(moment - v / d * (dot(xi, xk) * dot(xj, xl) + dot(xi, xl) * dot(xj, xk)))


def gram_fluctuation_residual() -> sp.Expr:
    """``Cov(x_i x_j, x_k x_l) - (G_ik G_jl + G_il G_jk)`` for one feature, Gaussian of covariance ``G``."""
    names = "ijkl"
    xs = sp.symbols("xi xj xk xl")
    G = {(a, b): sp.Symbol("G" + "".join(sorted(a + b))) for a in names for b in names}

    def cov(a, b):
        return G[(names[xs.index(a)], names[xs.index(b)])]
    xi, xj, xk, xl = xs
    second = _isserlis(xi * xj * xk * xl, list(xs), cov) - cov(xi, xj) * cov(xk, xl)
    return sp.simplify(second - (G[("i", "k")] * G[("j", "l")] + G[("i", "l")] * G[("j", "k")]))


def causal_uniform_residual(T: int = 5) -> sp.Expr:
    """``A C A^T - (c + (1 - c) / max(i, k))`` for causal uniform rows, summed in squares."""
    c = sp.Symbol("c")
    A = sp.Matrix(T, T, lambda i, j: sp.Rational(1, i + 1) if j <= i else 0)
    C = sp.Matrix(T, T, lambda i, j: 1 if i == j else c)
    M = A * C * A.T
    return sp.simplify(sum((M[i, k] - (c + (1 - c) / (max(i, k) + 1))) ** 2 for i, k in product(range(T), repeat=2)))


def checks() -> dict:
    """Every residual (zero when the derivation holds)."""
    return dict(factor=factor_covariance_residual(), factor_symmetric=factor_covariance_residual(symmetric=True),
                symmetric_logits=symmetric_logit_residual(), gram_fluctuation=gram_fluctuation_residual(),
                causal_uniform=causal_uniform_residual())


if __name__ == "__main__":
    for name, value in checks().items():
        print(f"{name}: {value}")
