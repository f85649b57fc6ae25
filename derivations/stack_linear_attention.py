"""Piecewise-linear attention in the stack recursion (SymPy; ``sigprop.stack.linear``, ``docs/stack.md``).

1. **Centering**: with logits ``Cov(s_ij, s_kl) = sigma^2 C_ik C_jl`` and ``zc_ij = s_ij - mean_k s_ik``,
   ``Cov(zc_ij, zc_kl) = sigma^2 C_ik (P C P)_jl`` with ``P = I - 1 1^T / T``; for an equicorrelated
   ``C = (1 - p) I + p 1 1^T``, ``P C P = (1 - p) P`` (:func:`centering_residual`, ``T = 4``), so the
   centered logits have variance ``tau^2 = sigma^2 (1 - p)(1 - 1/T)`` and correlations ``-1/(T - 1)``,
   ``p``, ``-p/(T - 1)`` (one row two keys, two rows one key, two rows two keys).
2. **Clip moments**: ``E[clip(mu + sigma Z, 0, 1)] = mu (Phi(b) - Phi(a)) + sigma (phi(a) - phi(b)) + Phi(-b)``
   with ``a = -mu/sigma``, ``b = (1 - mu)/sigma`` (:func:`clip_mean_residual`), and
   ``E[clip(U, 0, 1)^2] = tau^2 (Phi(b) - 1/2 - b phi(b)) + Phi(-b)``, ``b = 1/tau``
   (:func:`clip_square_residual`; evaluated as ``tau^2 P(3/2, b^2/2) / 2 + Phi(-b)``,
   :func:`incomplete_gamma_residual`): integrals of the Gaussian density over ``(0, 1)`` and ``(1, inf)``.
3. **The value path**: a row ``a_i`` of weights and tokens of Gram ``C`` give
   ``a_i^T C a_k = (1 - p) sum_j a_ij a_kj + p (sum_j a_ij)(sum_j a_kj)`` (:func:`value_path_residual`,
   ``T = 3``), the identity behind ``q_A = var_o (var_v ((1 - p) Y + p S) + var_b S)``.

Run ``python derivations/stack_linear_attention.py`` to print the residuals (all zero).
"""
from __future__ import annotations

import sympy as sp


def centering_residual(T: int = 4) -> sp.Expr:
    """``P C P - (1 - p) P`` for an equicorrelated ``C``, summed in squares."""
    p = sp.Symbol("p")
    C = sp.Matrix(T, T, lambda i, j: 1 if i == j else p)
    P = sp.eye(T) - sp.ones(T, T) / T
    return sp.simplify(sum(x ** 2 for x in (P * C * P - (1 - p) * P)))


def _phi(x: sp.Expr) -> sp.Expr:
    return sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)


def _Phi(x: sp.Expr) -> sp.Expr:
    return (1 + sp.erf(x / sp.sqrt(2))) / 2


def clip_mean_residual() -> sp.Expr:
    """``int_a^b (mu + sigma z) phi(z) dz + int_b^inf phi(z) dz`` (``x = mu + sigma z``) minus the closed form."""
    z, mu, a, b = sp.symbols("z mu a b", real=True)
    sigma = sp.Symbol("sigma", positive=True)
    integral = sp.integrate((mu + sigma * z) * _phi(z), (z, a, b)) + sp.integrate(_phi(z), (z, b, sp.oo))
    closed = mu * (_Phi(b) - _Phi(a)) + sigma * (_phi(a) - _phi(b)) + _Phi(-b)
    return sp.simplify(sp.expand(integral - closed).rewrite(sp.erf))


def clip_square_residual() -> sp.Expr:
    """``int_0^1 u^2 N(u; 0, tau) du + int_1^inf N(u; 0, tau) du`` minus the closed form."""
    u = sp.Symbol("u", real=True)
    tau = sp.Symbol("tau", positive=True)
    density = _phi(u / tau) / tau
    integral = sp.integrate(u ** 2 * density, (u, 0, 1)) + sp.integrate(density, (u, 1, sp.oo))
    b = 1 / tau
    closed = tau ** 2 * (_Phi(b) - sp.Rational(1, 2) - b * _phi(b)) + _Phi(-b)
    return sp.simplify(sp.expand(integral - closed))


def incomplete_gamma_residual() -> sp.Expr:
    """``Phi(b) - 1/2 - b phi(b) - P(3/2, b^2/2) / 2``: the form the code evaluates (no cancellation at small ``b``)."""
    b = sp.Symbol("b", positive=True)
    regularized = sp.lowergamma(sp.Rational(3, 2), b ** 2 / 2) / sp.gamma(sp.Rational(3, 2))
    return sp.simplify((_Phi(b) - sp.Rational(1, 2) - b * _phi(b) - regularized / 2).rewrite(sp.erf))


def value_path_residual(T: int = 3) -> sp.Expr:
    """``a^T C b - ((1 - p) sum a_j b_j + p (sum a_j)(sum b_j))`` for symbolic rows ``a, b``."""
    p = sp.Symbol("p")
    a = sp.Matrix(sp.symbols(f"a0:{T}"))
    b = sp.Matrix(sp.symbols(f"b0:{T}"))
    C = sp.Matrix(T, T, lambda i, j: 1 if i == j else p)
    lhs = (a.T * C * b)[0, 0]
    rhs = (1 - p) * (a.T * b)[0, 0] + p * sum(a) * sum(b)
    return sp.expand(lhs - rhs)


def checks() -> dict:
    """Every residual (zero when the derivation holds)."""
    return dict(centering=centering_residual(), clip_mean=clip_mean_residual(),
                clip_square=clip_square_residual(), incomplete_gamma=incomplete_gamma_residual(),
                value_path=value_path_residual())


if __name__ == "__main__":
    for name, value in checks().items():
        print(f"{name}: {value}")
