"""The spectral gap of softmax attention at initialisation [NNT24] (SymPy; docs/theory.md §6).

1. **Logit variance of key-query attention.**  ``G = X W_Q W_K^T X^T / sqrt(d_k)``
   with ``X`` (``T x d``) entries ``N(0, sx^2)`` and ``W_Q, W_K`` (``d x d_k``) entries
   ``N(0, sw^2)``, all independent.  Wick's theorem over the index sums gives
   ``E[G_ij^2] = d^2 sx^4 sw^4`` for ``i != j`` and ``d (d + 2) sx^4 sw^4`` on the
   diagonal (the extra ``2d`` are the two pairings that tie ``a = b``); all means are
   0.  So the idealized model with ``sigma = d sx^2 sw^2`` has the same off-diagonal
   logit variance.  :func:`logit_second_moments` checks the formulas by exact
   expectation of the expanded polynomial for several small ``(d, d_k)``.
2. **Lognormal moments.**  For ``g ~ N(0, sigma^2)`` integration gives
   ``E[e^g] = e^{sigma^2/2}``, ``E[e^{2g}] = e^{2 sigma^2}``, so the relative variance is
   ``s^2 = Var(e^g) / E[e^g]^2 = e^{sigma^2} - 1`` (:func:`exp_moments`).
3. **Entries of the random Markov matrix.**  ``A = rowsoftmax(G)``, ``G_ij ~ N(0, sigma^2)``
   i.i.d.: ``A_ij = Y_j / (Y_j + S)`` with ``Y_k = e^{G_ik} / E[e^g]`` (mean 1, variance
   ``s^2``) and ``S = sum_{k != j} Y_k`` (mean ``T - 1``, variance ``(T - 1) s^2``),
   independent.  Exchangeability and ``sum_j A_ij = 1`` give ``E[A_ij] = 1/T`` exactly and
   ``Cov(A_ij, A_ik) = -Var(A_ij) / (T - 1)``; the delta method (first order in the
   fluctuations of ``Y`` and ``S``) gives ``v = Var(A_ij) = s^2 (T - 1) / T^3``
   (:func:`entry_moments`).  ``E = A - P``, ``P = 1 1^T / T``, has independent rows,
   ``E 1 = 0`` and entries of variance ``v``.
4. **Outlier.**  ``A 1 = 1``: the eigenvalue 1.  By Brauer's theorem the other
   eigenvalues of ``A`` are those of ``A - P`` (whose characteristic polynomial is
   ``lambda / (lambda - 1)`` times that of ``A``; :func:`brauer_residual` checks it for a
   generic row-stochastic ``3 x 3`` matrix).  Because ``E 1 = 0``, ``A A^T = P + E E^T``
   exactly (:func:`gram_residual`); first-order perturbation of the isolated eigenvalue 1
   of ``P`` (eigenvector ``u = 1/sqrt(T)``) gives ``sigma_1^2 = 1 + u^T E E^T u + O(||E||^4)``
   with ``E[u^T E E^T u] = E||E^T 1||^2 / T = T v`` (the ``T`` entries of a column lie in
   independent rows).  So ``sigma_1^2 ~ 1 + T v -> 1 + s^2 / T``.
5. **Bulk eigenvalues (cited).**  Bordenave, Caputo & Chafai, "Circular law theorem for
   random Markov matrices", Probab. Theory Relat. Fields 152 (2012) 751-779, main result
   (stated in the abstract): for ``X_ij`` i.i.d., non-negative, with bounded density, mean
   ``m`` and variance ``sigma_X^2``, the eigenvalues of ``sqrt(T) M``, ``M`` the
   row-normalized ``X``, have the uniform law on the disc of radius ``sigma_X / m`` as their
   limit.  Here ``X = e^G`` (lognormal: bounded density, all moments), and the step checked
   here is ``sigma_X / m = sqrt(Var(e^g)) / E[e^g] = s`` (:func:`exp_moments`); so the bulk
   radius of ``A`` is ``s / sqrt(T)``.  It agrees with the i.i.d. circular law
   ``sqrt(T v)`` for entries of variance ``v`` (step 3), to leading order.
6. **Bulk singular values (cited).**  For ``T x T`` i.i.d. entries of variance ``v`` the
   singular values fill a quarter circle on ``[0, 2 sqrt(T v)]`` (Marchenko & Pastur,
   Math. USSR Sb. 1 (1967) 457-483, ratio 1) and the largest converges to the edge
   ``2 sqrt(T v)`` when the fourth moment is finite (Yin, Bai & Krishnaiah, Probab. Theory
   Relat. Fields 78 (1988) 509-521); for the Dirichlet Markov ensemble Chafai, "The
   Dirichlet Markov ensemble", J. Multivariate Anal. 101 (2010), proves the
   quarter circle for ``sqrt(T) M``.  The step taken here, not a theorem: ``E`` is close to
   the i.i.d. matrix ``(e^G / E[e^g] - 1) / T`` with its rows centred, so
   ``sigma_2(A) ~ 2 sqrt(T v) -> 2 s / sqrt(T)``.  No theorem we know places ``sigma_2``
   at the edge at finite ``T``; how fast it gets there is measured
   (:mod:`sigprop.gap.validity`, ``docs/gap.md``): slowly when a single lognormal entry
   is comparable with the edge.  A spike ``x e_i e_j^T`` of size ``theta = x / b``,
   ``b = sqrt(T v)``, lifts the top singular value to ``b (theta + 1/theta)`` when
   ``theta > 1`` (the square case ``c = 1`` of ``sqrt((1 + theta^2)(c + theta^2)) / theta``,
   Benaych-Georges & Nadakuditi, J. Multivariate Anal. 111 (2012) 120-135).
7. **Rescale factor.**  ``E||A - P||_F^2 = T^2 v -> s^2``, so
   ``kappa = sqrt(T) / ||A - P||_F -> sqrt(T) / s``, the inverse bulk radius.

   :func:`predictions_finite` keeps the finite-``T`` factors of ``v``; :func:`predictions`
   takes the leading order in ``1/T`` of ``T v`` (and ``T^2 v``), which is what
   :func:`sigprop.gap.spectra.predictions` implements.  The condition under which the
   leading order is accurate to 5% is measured, not derived (``docs/gap.md``).
8. **Rank collapse in width.**  Inputs ``X = 1 b^T + Z`` (common row ``b``, noise
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


def raw_exp_moment(k: int) -> sp.Expr:
    """``E[e^{k G}]`` for ``G ~ N(0, sigma^2)``, by integration."""
    density = sp.exp(-g ** 2 / (2 * sigma ** 2)) / sp.sqrt(2 * sp.pi * sigma ** 2)
    return sp.simplify(sp.integrate(sp.exp(k * g) * density, (g, -sp.oo, sp.oo)).rewrite(sp.erf))


@cache
def exp_moments():
    """``(E[e^G], E[e^{2G}], s^2)`` for ``G ~ N(0, sigma^2)``, by integration."""
    m1, m2 = raw_exp_moment(1), raw_exp_moment(2)
    return m1, m2, sp.simplify((m2 - m1 ** 2) / m1 ** 2)


@cache
def relative_central_moment(k: int) -> sp.Expr:
    """``E[(Y - 1)^k]`` for ``Y = e^G / E[e^G]`` (``k = 2``: ``s^2``)."""
    m1 = raw_exp_moment(1)
    return sp.simplify(sp.expand(sum(sp.binomial(k, j) * raw_exp_moment(j) / m1 ** j * (-1) ** (k - j)
                                     for j in range(k + 1))))


@cache
def entry_moments():
    """``(mean, variance, covariance)`` of the entries of one row of ``A = rowsoftmax(G)``.

    ``A_ij = f(Y, S) = Y / (Y + S)``; the delta method expands ``f`` to first order about
    ``(E Y, E S) = (1, T - 1)``: ``Var f ~ f_Y^2 Var Y + f_S^2 Var S`` with ``Var Y = s^2``
    and ``Var S = (T - 1) s^2``.  The mean is ``1/T`` exactly and the covariance of two
    entries of a row ``-Var / (T - 1)`` exactly (exchangeable entries summing to 1); the
    function checks that the first-order mean is ``1/T`` too.
    """
    s2 = exp_moments()[2]
    y, S = sp.symbols("y S", positive=True)
    f = y / (y + S)
    at = {y: 1, S: T - 1}
    mean = sp.simplify(f.subs(at))
    assert sp.simplify(mean - 1 / T) == 0
    variance = sp.factor(sp.simplify(sp.diff(f, y).subs(at) ** 2 * s2 + sp.diff(f, S).subs(at) ** 2 * (T - 1) * s2))
    # exchangeable entries summing to 1: T Var + T (T - 1) Cov = Var(1) = 0
    c = sp.Symbol("c")
    covariance = sp.solve(sp.Eq(T * variance + T * (T - 1) * c, 0), c)[0]
    return mean, variance, sp.simplify(covariance)


@cache
def entry_variance_expansion():
    """``T^2 Var(A_ij) = s^2 + a_1 / T + O(T^-2)``: returns ``(s^2, a_1)``.

    With ``y = Y_j - 1`` and ``w`` the mean of the other ``T - 1`` centred ``Y``'s,
    ``T A_ij = (1 + y) / (1 + u)``, ``u = y/T + (1 - 1/T) w``; ``E[T A_ij] = 1`` exactly, so
    ``T^2 Var(A_ij) = E[(T A_ij - 1)^2]``.  Expanding in ``u`` (``u ~ T^{-1/2}``) and taking
    expectations with the moments of ``y`` (``E y^k = mu_k``) and of ``w`` (``E w^2 = mu_2/(T-1)``,
    ``E w^3 = mu_3/(T-1)^2``, ``E w^4 = 3 mu_2^2/(T-1)^2 + (mu_4 - 3 mu_2^2)/(T-1)^3``), the
    series in ``epsilon = 1/T`` gives ``a_1 = 3 mu_2^2 - mu_2 - 2 mu_3``.  For the lognormal,
    ``mu_3 = e^{3 sigma^2} - 3 e^{sigma^2} + 2``: the correction grows like ``e^{3 sigma^2}``, so
    the leading order needs ``T >> 2 e^{2 sigma^2}``, not ``T >> e^{sigma^2}``.
    """
    eps = sp.Symbol("epsilon", positive=True)
    y, w = sp.symbols("y w")
    mu = {k: sp.Symbol(f"mu{k}") for k in (2, 3, 4)}
    inv = sp.series(eps / (1 - eps), eps, 0, 4).removeO()          # 1 / (T - 1), through eps^3
    Ey = {0: 1, 1: 0, 2: mu[2], 3: mu[3], 4: mu[4]}
    Ew = {0: 1, 1: 0, 2: mu[2] * inv, 3: mu[3] * inv ** 2,
          4: 3 * mu[2] ** 2 * inv ** 2 + (mu[4] - 3 * mu[2] ** 2) * inv ** 3}
    u = eps * y + (1 - eps) * w
    scaled = (1 + y) * sum((-u) ** k for k in range(5))          # T A_ij, through u^4
    total = sp.Integer(0)
    for (a, b), coeff in sp.Poly(sp.expand((scaled - 1) ** 2), y, w).terms():
        # y^a w^b with a > 4 or b > 4 carries at least epsilon^2: beyond the order kept
        if a <= 4 and b <= 4:
            total += coeff * Ey[a] * Ew[b]
    series = sp.expand(total)
    a0, a1 = series.coeff(eps, 0), series.coeff(eps, 1)
    lognormal = {mu[2]: relative_central_moment(2), mu[3]: relative_central_moment(3)}
    return sp.simplify(a0.subs(lognormal)), sp.simplify(a1.subs(lognormal))


def leading(expr: sp.Expr) -> sp.Expr:
    """The leading term of ``expr`` as ``T -> infinity``."""
    e = sp.Symbol("e", positive=True)
    return sp.simplify(expr.subs(T, 1 / e).as_leading_term(e).subs(e, 1 / T))


@cache
def predictions_finite():
    """Steps 4-7 with the finite-``T`` entry variance ``v`` of :func:`entry_moments`."""
    v = entry_moments()[1]
    return dict(eig_radius=sp.sqrt(T * v), bulk_edge=2 * sp.sqrt(T * v), sigma_1=sp.sqrt(1 + T * v),
                rescale=sp.sqrt(T) / sp.sqrt(T ** 2 * v), frobenius_squared=T ** 2 * v)


@cache
def predictions():
    """Closed forms in ``sigma`` and ``T`` to leading order in ``1/T``: dict of sympy expressions."""
    s2 = exp_moments()[2]
    v = entry_moments()[1]
    tv = leading(T * v)                       # s^2 / T
    frob = leading(T ** 2 * v)                # s^2
    return dict(
        entry_variance=leading(v),
        eig_radius=sp.sqrt(tv),
        bulk_edge=2 * sp.sqrt(tv),
        sigma_1=sp.sqrt(1 + tv),
        column_sum_variance=leading(T * v),
        rescale=sp.sqrt(T) / sp.sqrt(frob),
        width_residual=sp.sqrt(tau ** 2 * d * s2 * (1 - 1 / T) / (T * b2 + tau ** 2 * d * (1 + s2))),
        width_residual_removed=sp.sqrt(1 - 1 / T),
        layer_factor=sp.sqrt(tv),
    )


def _row_stochastic(n: int) -> sp.Matrix:
    """A generic ``n x n`` row-stochastic matrix: free entries, last column fills the row to 1."""
    M = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"a{i}{j}"))
    for i in range(n):
        M[i, n - 1] = 1 - sum(M[i, j] for j in range(n - 1))
    return M


def brauer_residual(n: int = 3) -> sp.Expr:
    """``(lambda - 1) det(lambda I - (A - P)) - lambda det(lambda I - A)`` for generic ``A``: 0."""
    lam = sp.Symbol("lambda")
    A = _row_stochastic(n)
    P = sp.ones(n, n) / n
    return sp.expand((lam - 1) * (lam * sp.eye(n) - (A - P)).det() - lam * (lam * sp.eye(n) - A).det())


def gram_residual(n: int = 3) -> sp.Matrix:
    """``A A^T - (P + E E^T)`` with ``E = A - P`` for generic row-stochastic ``A``: the zero matrix."""
    A = _row_stochastic(n)
    P = sp.ones(n, n) / n
    E = A - P
    return sp.simplify(sp.expand(A * A.T - (P + E * E.T)))


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
    mean, var, cov = entry_moments()
    print("entries of A (delta method): mean", mean, " variance", var, " covariance within a row", cov)
    a0, a1 = entry_variance_expansion()
    print("T^2 Var(A_ij) = s^2 + a1/T + O(T^-2): s^2 =", a0, "  a1 =", a1)
    print("Brauer, generic 3 x 3 row-stochastic A: residual", brauer_residual(3))
    print("A A^T - (P + E E^T), generic 3 x 3: zero matrix:", gram_residual(3).is_zero_matrix)
    for name, expr in predictions_finite().items():
        print(f"{'finite T: ' + name:>30}: {expr}")
    for name, expr in predictions().items():
        print(f"{name:>30}: {expr}")
    off, diag = logit_variance_formulas()
    print("key-query logits: E[G_ij^2] =", off, " (i != j),  E[G_ii^2] =", diag)
    for dim, dim_k in product((1, 2, 3), (1, 2)):
        got = logit_second_moments(dim, dim_k)
        want = tuple(e.subs(d, dim) for e in logit_variance_formulas())
        print(f"  d = {dim}, d_k = {dim_k}: exact expectation {got}, formula holds:",
              all(sp.simplify(a - b) == 0 for a, b in zip(got, want, strict=True)))


if __name__ == "__main__":
    main()
