"""The centered logit with a token mean as a non-central chi-square mixture (SymPy).

Tokens ``x_i = mu_x + y_i`` (docs/data-models.md (D.1)); the query token is ``x_q = mu_x + y_q``
and ``u_i`` does not see ``mu_x`` ((D.2)), so

    zc_i = c u_i^T W y_q + c u_i^T W mu_x.

1. **Construction.**  With ``Cov(u_i) = alpha Sigma``, ``Cov(u_i, y_q) = beta Sigma``,
   ``Cov(y_q) = kappa Sigma`` ((D.3)), ``S = Sigma^{1/2}``, ``r = beta/sqrt(kappa)``,
   ``g = sqrt(alpha - r^2)`` and independent ``h_1, h_2 ~ N(0, I)``:
   ``y_q = sqrt(kappa) S h_2``, ``u_i = S (g h_1 + r h_2)`` has that joint covariance (checked).
   The quadratic part is ``h^T M h`` with ``M = (c/2) [[0, gamma B], [gamma B^T, beta (B + B^T)]]``
   (``B = S W S``, ``gamma = g sqrt(kappa)``, ``derivations/chi_square.py`` with
   ``alpha -> alpha kappa``), the linear part ``l^T h`` with ``l = c [g b; r b]``, ``b = S W mu_x``.
2. **Diagonalization.**  ``M = P diag(lambda) P^T`` gives, with ``Z = P^T h ~ N(0, I)``,

       zc_i = sum_k lambda_k Z_k^2 + l'_k Z_k,   l' = P^T l                     (3.30)

   For symmetric ``B = sum_j mu_j v_j v_j^T`` the blocks are ``2 x 2``: ``(c/2) mu_j [[0, gamma],
   [gamma, 2 beta]]`` with eigenvalues ``(c/2) mu_j (beta +- sqrt(alpha kappa))`` and unit
   eigenvectors ``(gamma, e_+-)/|.|``, ``e_+- = beta +- sqrt(alpha kappa)``, so
   ``l'_+- = c (v_j^T b) sqrt((alpha +- sqrt(alpha) r)/2)`` (checked: eigenvector equation and the
   square of the projection).
3. **Characteristic function.**  Completing the square,
   ``E exp(s (lambda Z^2 + l Z)) = (1 - 2 s lambda)^{-1/2} exp(s^2 l^2 / (2 (1 - 2 s lambda)))``
   (checked as an identity of the exponents); at ``s = i u/2`` the log-modulus of the extra factor
   is ``-u^2 l^2 / (8 (1 + lambda^2 u^2))`` and its phase ``-l^2 lambda u^3 / (8 (1 + lambda^2 u^2))``
   (checked): the terms :mod:`sigprop.rho.chi2sum` adds to Imhof's ``log rho`` and ``theta``.
4. **Moments.**  ``E zc = sum lambda`` and ``Var zc = 2 sum lambda^2 + sum l'^2``; with step 2,
   ``sum_+- l'^2 = c^2 (v_j^T b)^2 alpha``: the token-mean variance ``c^2 alpha (W mu)^T Sigma (W mu)``
   of (D.5) (checked).

Run ``python derivations/noncentral.py``.
"""
from __future__ import annotations

from functools import cache

import sympy as sp


@cache
def residuals() -> dict[str, sp.Expr]:
    """Each step's residual (0 when the step holds)."""
    sa, k, c, mu, bt = sp.symbols("sqrt_alpha sqrt_kappa c mu b", positive=True)
    r = sp.symbols("r", real=True)
    g = sp.sqrt(sa ** 2 - r ** 2)
    beta, gamma = r * k, g * k
    out: dict[str, sp.Expr] = {}
    # 1. joint covariance of (u, y_q) per unit Sigma from the construction
    out["cov_u"] = sp.simplify(g ** 2 + r ** 2 - sa ** 2)
    out["cov_uy"] = sp.simplify(r * k - beta)
    # 2. the 2 x 2 block, its eigenpairs and the projected linear coefficients
    block = sp.Rational(1, 2) * c * mu * sp.Matrix([[0, gamma], [gamma, 2 * beta]])
    lvec = c * bt * sp.Matrix([g, r])
    total = sp.Integer(0)
    for sign in (1, -1):
        e = beta + sign * sa * k
        lam = sp.Rational(1, 2) * c * mu * e
        v = sp.Matrix([gamma, e])
        out[f"eigen{sign:+d}"] = sp.simplify((block * v - lam * v).applyfunc(sp.expand)).norm()
        proj2 = (v.dot(lvec)) ** 2 / v.dot(v)
        claim = c ** 2 * bt ** 2 * (sa ** 2 + sign * sa * r) / 2
        out[f"linear{sign:+d}"] = sp.simplify(sp.factor(proj2 - claim))
        total += claim
    # 4. the linear coefficients carry the token-mean variance c^2 alpha b^2
    out["variance"] = sp.simplify(total - c ** 2 * bt ** 2 * sa ** 2)
    # 3. completing the square, and the phase and modulus at s = i u / 2
    s, z, lm, ll, u = sp.symbols("s z lambda l u", real=True)
    shift = s * ll / (1 - 2 * s * lm)
    lhs = s * (lm * z ** 2 + ll * z) - z ** 2 / 2
    rhs = -(1 - 2 * s * lm) / 2 * (z - shift) ** 2 + s ** 2 * ll ** 2 / (2 * (1 - 2 * s * lm))
    out["square"] = sp.simplify(lhs - rhs)
    t = sp.I * u / 2
    extra = sp.expand_complex(t ** 2 * ll ** 2 / (2 * (1 - 2 * t * lm)))
    out["modulus"] = sp.simplify(sp.re(extra) + u ** 2 * ll ** 2 / (8 * (1 + lm ** 2 * u ** 2)))
    out["phase"] = sp.simplify(sp.im(extra) + ll ** 2 * lm * u ** 3 / (8 * (1 + lm ** 2 * u ** 2)))
    return out


def residual() -> sp.Expr:
    """The sum of the absolute residuals of every step: 0."""
    return sp.simplify(sum(sp.Abs(v) for v in residuals().values()))


if __name__ == "__main__":
    for name, value in residuals().items():
        print(f"{name:>10}: {value}")
    print("total residual:", residual())
