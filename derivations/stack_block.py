"""One transformer block at initialisation, step by step (SymPy; ``sigprop.stack``, ``docs/stack.md``).

The state of the tokens is their per-coordinate second moment ``q`` and cross moment ``p``
(``d -> infinity``); each step below is checked symbolically.

1. **Logit covariance.**  With ``Q, K`` of i.i.d. entries ``N(0, tau^2)`` (``d_h`` rows) and
   ``s_ij = (Q x_i) . (K x_j)``: ``E[s_ij s_kl] = d_h tau^4 (x_i . x_k)(x_j . x_l)``
   (:func:`logit_covariance_residual`: Isserlis on the independent entries, ``d = d_h = 2``).
   Per coordinate, ``sigma^2 G_ik G_jl`` with ``sigma^2 = beta^2 log T_init`` at [GG26]'s scaling.
   For ``G = (1 - c) I + c 1 1^T`` the part ``c`` of ``G_jl`` is common to a row (a row constant,
   which softmax ignores); the rest is ``T`` i.i.d. logits of variance ``s^2 = sigma^2 (1 - c)``
   per row, correlated ``G_ik = c`` between rows ``i != k`` for the same key.
2. **Attention branch.**  ``y_i = sum_j a_ij (V x_j + b)`` with ``V`` of variance ``var_v / d`` and
   ``b`` of ``var_b``, independent of the tokens and of ``a``:
   ``E_V[y_i . y_k] / d = var_v sum_jl a_ij a_kl G_jl + var_b = var_v (c + (1 - c) sum_j a_ij a_kj) + var_b``
   (:func:`attention_branch_residual`, ``T = 3``, generic rows summing to one).
3. **Skip connection.**  ``E[(alpha x_i + y_i) . (alpha x_k + y_k)] = alpha^2 x_i . x_k + E[y_i . y_k]``:
   the cross term ``alpha x_i . E_V[y_k]`` vanishes since ``E V = 0`` and ``E b = 0``.
4. **LayerNorm** (no affine; centering over coordinates removes ``O(1/d)``): ``(q, p) -> (1, p / q)``.
5. **ReLU MLP.**  The arc-cosine kernel ``E relu(u) relu(v) = (q / 2) rho(c)``,
   ``rho(c) = (sqrt(1 - c^2) + c (pi - arccos c)) / pi`` for variances ``q`` and correlation ``c``
   (:func:`relu_kernel`: the Gaussian integral in polar coordinates).
6. **Laplace forms of the softmax statistics** (exact for every ``T``):
   ``1/Z = int_0^inf e^{-tZ} dt``, ``1/Z^2 = int_0^inf t e^{-tZ} dt``,
   ``log Z = int_0^inf (e^{-t} - e^{-tZ}) / t dt`` (:func:`laplace_residuals`).  With i.i.d. logits
   the expectation of ``e^{-tZ}`` is ``L(t)^T``, which gives :func:`sigprop.stack.softmax.overlaps`.
7. **REM step** ([GG26]; Derrida's Random Energy Model).  Assumptions: the ``T`` logits of a row are
   i.i.d. Gaussian of variance ``s^2 = beta^2 (1 - c) log T`` and ``T -> infinity`` at fixed
   ``beta``.  The number of logits near ``x sqrt(log T)`` is ``T^{1 - x^2 / (2 beta^2 (1 - c))}``;
   ``Z`` is dominated by the level maximizing ``beta x + 1 - x^2 / (2 beta^2 (1 - c))`` as long as that level is
   populated, which fails beyond ``beta_c = sqrt(2 / (1 - c))`` (:func:`rem_critical_beta`).  Above it the
   weights condense on ``O(1)`` keys with Poisson-Dirichlet statistics of parameter
   ``m = beta_c / beta``, whose participation is ``E sum_j a_j^2 = 1 - m`` (Derrida 1981; taken
   from the literature, not derived here); below it ``sum_j a_j^2 -> 0``.  Two rows of correlation
   ``c < 1`` condense on different keys, so ``sum_j a_ij a_kj -> 0`` in both phases.

Run ``python derivations/stack_block.py`` to print the checks.
"""
from __future__ import annotations

from itertools import product

import sympy as sp


def _expect_independent(expr: sp.Expr, gaussians: list[sp.Symbol], var: sp.Expr) -> sp.Expr:
    """``E[expr]`` for independent ``N(0, var)`` symbols ``gaussians`` (``expr`` polynomial in them)."""
    poly = sp.Poly(sp.expand(expr), *gaussians)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        term = coeff
        for k in powers:
            if k % 2:
                term = 0
                break
            term *= sp.factorial2(k - 1) * var ** (k // 2) if k else 1
        total += term
    return sp.expand(total)


def logit_covariance_residual(d: int = 2, d_h: int = 2) -> sp.Expr:
    """``E[s_ij s_kl] - d_h tau^4 (x_i . x_k)(x_j . x_l)`` for symbolic tokens; 0 when step 1 holds."""
    tau = sp.Symbol("tau", positive=True)
    Q = sp.Matrix(d_h, d, lambda a, b: sp.Symbol(f"Q{a}{b}"))
    K = sp.Matrix(d_h, d, lambda a, b: sp.Symbol(f"K{a}{b}"))
    xs = [sp.Matrix(d, 1, lambda a, _, n=n: sp.Symbol(f"x{n}{a}")) for n in "ijkl"]
    xi, xj, xk, xl = xs
    s_ij = ((Q * xi).T * (K * xj))[0, 0]
    s_kl = ((Q * xk).T * (K * xl))[0, 0]
    moment = _expect_independent(s_ij * s_kl, list(Q) + list(K), tau ** 2)
    return sp.simplify(moment - d_h * tau ** 4 * (xi.T * xk)[0, 0] * (xj.T * xl)[0, 0])


def attention_branch_residual(T: int = 3) -> sp.Expr:
    """``var_v sum_jl a_j b_l G_jl + var_b - (var_v (c + (1 - c) sum_j a_j b_j) + var_b)`` for rows summing to 1."""
    c, var_v, var_b = sp.symbols("c var_v var_b")
    a = sp.symbols(f"a0:{T}")
    b = sp.symbols(f"b0:{T}")
    G = sp.Matrix(T, T, lambda j, k: 1 if j == k else c)
    full = var_v * sum(a[j] * b[k] * G[j, k] for j, k in product(range(T), repeat=2)) + var_b
    closed = var_v * (c + (1 - c) * sum(a[j] * b[j] for j in range(T))) + var_b
    rows_sum_to_one = {a[-1]: 1 - sum(a[:-1]), b[-1]: 1 - sum(b[:-1])}
    return sp.simplify(sp.expand((full - closed).subs(rows_sum_to_one)))


def relu_kernel() -> tuple[sp.Expr, sp.Expr]:
    """``(derived, closed)``: ``E relu(u) relu(v)`` for unit variances and correlation ``cos(phi)``.

    ``u = r cos(theta)``, ``v = r cos(theta - phi)``; both positive for ``theta`` in ``(phi - pi/2, pi/2)``;
    ``int_0^inf r^3 e^{-r^2/2} dr / (2 pi) = 2 / (2 pi)``.
    """
    r, theta = sp.symbols("r theta", real=True)
    phi = sp.Symbol("phi", positive=True)
    radial = sp.integrate(r ** 3 * sp.exp(-r ** 2 / 2), (r, 0, sp.oo)) / (2 * sp.pi)
    angular = sp.integrate(sp.cos(theta) * sp.cos(theta - phi), (theta, phi - sp.pi / 2, sp.pi / 2))
    derived = sp.simplify(radial * angular)
    c = sp.cos(phi)
    closed = (sp.sqrt(1 - c ** 2) + c * (sp.pi - phi)) / (2 * sp.pi)     # (1/2) rho(c), arccos(c) = phi
    # phi = arccos(c) lies in [0, pi], where sqrt(1 - cos^2) = |sin| = sin
    derived = derived.subs(sp.Abs(sp.sin(phi)), sp.sin(phi))
    closed = closed.subs(sp.sqrt(1 - sp.cos(phi) ** 2), sp.sin(phi))
    return derived, closed


def laplace_residuals() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """The three Laplace forms of step 6 minus ``1/Z``, ``1/Z^2``, ``log Z``: zeros."""
    t, Z = sp.symbols("t Z", positive=True)
    inv = sp.integrate(sp.exp(-t * Z), (t, 0, sp.oo)) - 1 / Z
    inv2 = sp.integrate(t * sp.exp(-t * Z), (t, 0, sp.oo)) - 1 / Z ** 2
    # Frullani: the Z-derivative of the integrand integrates to 1/Z = d log Z / dZ, and at Z = 1 the
    # integrand vanishes, so the integral is log Z (differentiation under the integral sign)
    frullani = (sp.exp(-t) - sp.exp(-t * Z)) / t
    log = sp.integrate(sp.diff(frullani, Z), (t, 0, sp.oo)) - sp.diff(sp.log(Z), Z) + frullani.subs(Z, 1)
    return sp.simplify(inv), sp.simplify(inv2), sp.simplify(log)


def rem_critical_beta() -> sp.Expr:
    """``beta_c``: where the dominant level ``x* = beta^2 (1 - c)`` reaches the top populated one.

    A logit ``g = x log T`` has density ``T^{-x^2 / (2 beta^2 (1 - c))}`` (variance
    ``s^2 = beta^2 (1 - c) log T``), so the keys at level ``x`` number ``T^{e(x)}``,
    ``e(x) = 1 - x^2 / (2 beta^2 (1 - c))``, and contribute ``T^{x + e(x)}`` to ``Z``.  The maximizer
    ``x*`` of ``x + e(x)`` dominates while its level is populated, ``e(x*) >= 0``.
    """
    beta, x, gap = sp.symbols("beta x gap", positive=True)          # gap = 1 - c > 0
    entropy = 1 - x ** 2 / (2 * beta ** 2 * gap)
    x_star = sp.solve(sp.diff(x + entropy, x), x)[0]
    root = [b for b in sp.solve(sp.Eq(entropy.subs(x, x_star), 0), beta) if b.is_positive][0]
    return sp.simplify(root.subs(gap, 1 - sp.Symbol("c")))


def checks() -> dict:
    """Every residual (zero when the derivation holds) and ``beta_c``."""
    derived, closed = relu_kernel()
    return dict(logit_covariance=logit_covariance_residual(), attention_branch=attention_branch_residual(),
                relu_kernel=sp.simplify(derived - closed), laplace=laplace_residuals(),
                beta_c=rem_critical_beta())


if __name__ == "__main__":
    for name, value in checks().items():
        print(f"{name}: {value}")
