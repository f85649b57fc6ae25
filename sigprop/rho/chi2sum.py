"""Distribution function of a weighted sum of chi-squares, with an error bound that holds.

``Q = sum_k lambda_k Z_k^2`` with independent ``Z_k ~ N(0, 1)`` and real weights of either
sign (``docs/theory.md`` §3, exact ``rho``; ``docs/exact.md`` for where the bound holds and
how it was checked).  :func:`cdf` returns ``F = P(Q <= x)`` and a bound on ``|F - P(Q <= x)|``
for each row (one weight vector and one point ``x``), computed as follows:

1. **Scale.**  The problem is invariant under ``(lambda, x) -> (lambda, x) / s``; ``s`` is the
   power of two just below ``max |lambda|``, so the division is exact and every later step
   sees weights of order one, whatever the size of ``W``.
2. **Far tails** (Chernoff).  ``P(Q >= x) <= exp(K(t) - t x)`` for ``0 <= t < 1/(2 max lambda)``
   with ``K(t) = -(1/2) sum log(1 - 2 t lambda_k)`` (and the mirror image below the mean).  When
   the bound at the optimal ``t`` (Newton steps within a bisection bracket) is below the
   tolerance, ``F`` is 0 or 1 and the bound is the error: a tiny ``W`` puts ``x = 1`` there.
3. **Negligible weights.**  Dropping weights with ``sum |lambda_j| = delta`` moves ``F`` by at most
   ``f_max delta`` (``f_max`` a bound on the density of the kept part) and by at most
   ``sqrt(2 delta / (pi |lambda_1|))`` (the largest weight alone has that modulus of
   continuity); the fewest weights whose bound is below ``tol/4`` are kept, the bound is
   added to the error.  ``f_max <= Gamma(m/4 - 1/2) / (4 sqrt(pi) Gamma(m/4) a_m)`` for the
   ``m >= 3`` largest kept weights, all of modulus at least ``a_m``.
4. **One kept weight**: the closed form.  **Two**: ``P(a Z^2 + b Y <= x)`` as a 1-D quadrature
   over ``Z`` (substitution at the kink), error estimated by doubling the nodes.
5. **Three or more, on the line through the saddle point** (first choice).  With the moment
   generating function ``M(t) = prod (1 - 2 t lambda_k)^{-1/2}``, analytic on the strip
   ``t_- < Re t < t_+`` (``t_+- = 1/(2 lambda_max/min)``), the inversion formula on the line
   ``Re t = c`` gives ``P(Q > x) = (1/pi) int_0^inf Re f(y) dy`` for ``0 < c < t_+`` and
   ``P(Q <= x) = -(1/pi) int_0^inf Re f(y) dy`` for ``t_- < c < 0``, with
   ``f(y) = M(c + iy) exp(-(c + iy) x) / (c + iy)``.  ``c`` minimizes ``log M(t) - t x - log|t|``
   (same root finder) on the side of ``0`` where the saddle point of ``log M(t) - t x`` lies,
   so ``f`` neither oscillates nor peaks there.  ``f`` is analytic in ``y`` except on the
   imaginary axis at ``|Im y| >= a`` (``a``, the distance from ``c`` to ``0`` or ``t_+-``: the
   singularities of ``M`` and the pole ``1/t`` are real in ``t``).  The variable change
   ``y = alpha sinh(s)``, ``alpha = 3a/4``, maps the strip ``|Im s| < pi/2`` into that region, so
   ``g(s) = f(alpha sinh s) alpha cosh s`` is analytic on a strip of fixed width whatever ``a``,
   the trapezoidal rule in ``s`` converges geometrically, and the slow power-law tail of ``f``
   (few weights) becomes an exponential one in ``s``: tens of nodes where the uniform step
   in ``y`` needed hundreds.  ``Re f`` is even in ``y`` and the map odd, so
   ``int_0^inf Re f dy = h (g(0)/2 + sum_{k >= 1} Re g(k h)) + error``.  The step starts at
   ``min(1/2, 8 / (|x| Y))`` (the phase ``x y`` turns ``|x| Y`` over ``[0, Y]``); the products
   ``prod (1 + (g y)^2)`` are taken in blocks of 8 before one logarithm.

   * *Truncation* at ``Y`` (at ``S = asinh(Y / alpha)`` in ``s``), two **rigorous** bounds on
     ``(1/pi) int_Y^inf |f| dy``, with ``g_j = 2 |lambda_j| / (1 - 2 c lambda_j)`` and
     ``|f(y)| = M(c) e^{-cx} prod_j (1 + g_j^2 y^2)^{-1/4} / |c + iy|``, ``|c + iy| >= y``:
     the power bound ``(2 / (pi m)) M(c) e^{-cx} Y^{-m/2} prod_{j <= m} g_j^{-1/2}`` (the ``m``
     largest ``g``, best ``m``), and the convexity bound
     ``(2 / (pi S_Y)) M(c) e^{-cx} prod_{j <= J} (1 + g_j^2 Y^2)^{-1/4}`` with
     ``S_Y = sum_{j <= J} g_j^2 Y^2 / (1 + g_j^2 Y^2)`` over the ``J = _CUT_TOP`` largest ``g``
     (``log(1 + g^2 e^{2v})`` is convex in ``v = log y``, so each factor is at most its value at
     ``Y`` times ``(y/Y)^{-s_j/2}``, and ``int_Y^inf (y/Y)^{-S_Y/2} dy / y = 2 / S_Y``; the factors
     left out are at most 1).  ``Y`` is the smallest point where the power bound is below
     ``tol/16``, lowered by factors ``2^{-1/2}`` while the convexity bound stays below it.
     Both bounds come from majorants ``G(y)`` of ``|f|`` such that ``G(alpha sinh s) alpha cosh s``
     decreases in ``s`` beyond ``S`` (``coth s`` times a decreasing function), so they also bound
     the sums' terms beyond ``S``.
   * *Discretization*: the sums with steps ``h`` and ``h/2`` share their nodes; their
     difference estimates the error of the finer one (it is about the coarse one's error,
     whose square is the fine one's: conservative, like the Kronrod estimate of step 6).
     Rows over ``tol/2`` are summed again with half the step (up to 3 times); only the nodes
     that step adds are evaluated (the former nodes are the new even ones).
   * *Bent* (rows with ``x != 0`` and at most ``_BENT_WEIGHTS`` weights that need more than
     ``_BENT_FROM`` nodes on the line: the phase ``x y`` turns many times before ``f`` has
     decayed).  The line is bent into the parabola ``t(y) = c + iy + kappa y^2``,
     ``kappa = sign(x) / (2a)``: it meets the real axis only at ``c``, so no singularity lies
     between it and the line (Cauchy; the arcs at infinity vanish for three weights or more),
     ``P = (1/pi) int_0^inf Re[M(t) e^{-tx} (1 - 2i kappa y) / t] dy``, and
     ``|e^{-tx}| = e^{-cx - kappa x y^2}`` decays like a Gaussian.  The integrand is analytic in
     ``y`` on the strip ``|Im y| < `` the distance of the nearest root of ``t(y) = r`` (``r = 0`` or
     ``1/(2 lambda)``): ``|sqrt(D) - 1| / (2 |kappa|)`` for ``D = 1 + 4 kappa (c - r) >= 0``,
     ``1/(2 |kappa|)`` otherwise; uniform step ``h = `` half of it.  ``log(1 - 2 t lambda)`` is
     the principal one (its imaginary part ``-2 lambda y`` keeps one sign for ``y > 0``).
     *Truncation*, **rigorous** (:func:`_bent_cut`): ``|1 - 2 t lambda| >= 2 |lambda| y`` and
     ``|1 - 2 t lambda|^2 >= min_{z >= Y^2} ((beta - 2 lambda kappa z)^2 + 4 lambda^2 z)``,
     ``|t'| <= 1 + 2 |kappa| y``, ``|t| >= y``, and the Gaussian integrated exactly (``erfc``).
     The node cost is taken as ``_BENT_COST`` times the line's; the cheaper path is used.
   * The error is the estimate plus three tails (the integral's, and the sums' at both
     steps) plus rounding.  Rows that would need more than ``_BROMWICH_NODES`` nodes on both
     go to step 6.

6. **Otherwise** (Imhof): ``F = 1/2 - (1/pi) int_0^inf sin(theta(u)) / (u rho(u)) du`` with
   ``theta = (1/2) sum arctan(lambda_k u) - x u / 2``, ``rho = prod (1 + lambda_k^2 u^2)^{1/4}``.

   * *Truncation* at ``U``, with two rigorous bounds on ``(1/pi) int_U^inf``: the decay bound
     ``min_m 2 / (pi m U^{m/2} prod_{j <= m} |lambda_(j)|^{1/2})`` over the ``m`` largest
     weights (small weights do not spoil it), and for ``x != 0`` an integration by parts,
     ``g(U) (2 + A/b) / (pi b)`` with ``g = 1/(u rho)``, ``A = (1/2) sum |lambda|/(1 + lambda^2 U^2)``
     and ``b = |x|/2 - A > 0`` (``|theta'| >= b`` beyond ``U``); ``U`` is the smallest point
     where either is below ``tol/4``.
   * *Panels*: ``[0, U]`` is cut into octaves; on each, panels over which the phase can move
     by at most ``2 pi`` (one period of the sine, integrated by the 15-point Kronrod rule to
     about 1e-11 relative; from the bound ``|theta'(u)| <= (1/2) sum |lambda|/(1 + lambda^2 u^2) + |x|/2``,
     largest at the octave's left end), each integrated by Gauss-Kronrod 7/15; the sum over
     panels of ``|Kronrod - Gauss|`` is the quadrature error estimate (QUADPACK's, conservative
     for these analytic integrands; checked against mpmath, ``docs/exact.md``).  Rows whose
     estimate exceeds ``tol/2`` are integrated again on twice as many panels (up to 3 times).
   * *Cost*: the number of panels per row is capped (about ``work`` integrand evaluations in
     all); a row over the cap is truncated earlier and its larger, still rigorous, truncation
     bound is reported.  A ``RuntimeWarning`` says when any returned bound exceeds ``10 tol``.

**Non-central** (``linear``, a token mean; docs/theory.md (3.30)-(3.31)): ``Q = sum lambda_k Z_k^2 +
l_k Z_k``.  Scaling divides ``l`` by ``s`` too.  The Chernoff bound adds
``sum t^2 l^2 / (2 (1 - 2 t lambda))`` to ``K(t)``.  Dropping weights drops only ``lambda_k Z_k^2``
(``l_k Z_k`` stays): conditionally on the dropped ``Z_k`` the kept part is shifted by
``sum lambda_k Z_k^2``, so both bounds of step 3 hold as they are (the non-central factor only
lowers ``|phi|``; no shift raises the modulus of continuity of ``lambda_1 (Z + a)^2``).  Rows with
linear terms and one kept weight are two normal probabilities, or, with normal terms (zero weights
with ``l != 0``), a 1-D Gauss-Legendre integral of an entire integrand with a doubling error estimate;
rows with more weights go to the Imhof integral (a row whose weights are all zero is
``N(0, |l|^2)``), with ``theta -= sum l^2 lambda u^3 / (8 (1 + lambda^2 u^2))`` and
``log rho += sum l^2 u^2 / (8 (1 + lambda^2 u^2))``; the truncation bound is the decay bound times
``exp(-sum_{lambda != 0} l^2 U^2 / (8 (1 + lambda^2 U^2)))`` (the factor decreases in ``u``) and,
with normal terms of variance ``s2``, ``min(decay exp(-s2 U^2/8), 4 exp(-s2 U^2/8) / (pi s2 U^2))``;
the integration-by-parts bound is not used; panel speeds add
``(l^2 |lambda| / 8) min(3 u^2, 3 / (4 lambda^2))`` (the phase) and ``sum l^2 u / 4`` (the slope of
the log-modulus, so that panels also resolve its decay).

The returned error is the sum of the rigorous parts (Chernoff, dropped weights, truncation),
the quadrature estimate, and a bound on the floating-point rounding of the sums
(``N eps sum |terms|`` for ``N`` terms; at least ``4 eps``).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import erf, erfc, erfcx, gammaln, roots_legendre

from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError

#: Gauss-Kronrod 7/15 rule on [-1, 1] (QUADPACK's qk15): the 15-point Kronrod
#: estimate and the embedded 7-point Gauss estimate share their nodes, and their
#: difference is the quadrature error estimate.
_XK = np.array([0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                0.207784955007898467600689403773245, 0.0])
_WK = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                0.204432940075298892414161999234649, 0.209482141084727828012999174891714])
_WG = np.array([0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                0.381830050505118944950369775488975, 0.417959183673469387755102040816327])
GK_NODES = np.concatenate([-_XK[:-1], _XK[::-1]])                  # 15 nodes, increasing
GK_WEIGHTS = np.concatenate([_WK[:-1], _WK[::-1]])
GAUSS_WEIGHTS = np.zeros(15)                                         # 7-point Gauss on the same nodes
GAUSS_WEIGHTS[[1, 3, 5]] = _WG[:3]
GAUSS_WEIGHTS[[9, 11, 13]] = _WG[2::-1]
GAUSS_WEIGHTS[7] = _WG[3]

_MAX_FLOATS = 1 << 22          # working memory of one block of the Imhof integral
_TRAPEZOID_FLOATS = 1 << 15    # ... and of the trapezoidal sums (kept small: in cache, no page faults)
_EPS = np.finfo(float).eps
WORK = 2e8                     # default budget of integrand terms (node x weight) per call
_OCTAVES_FROM = 0.25           # octaves start here (weights are scaled to max |lambda| in [1, 2))
_REFINE = 3                    # times the panels may be doubled
PHASE_PER_PANEL = 2 * np.pi    # largest phase change of theta over one panel (one period)
_BLOCK = 8                     # factors (1 + (g y)^2) multiplied before one log
_BROMWICH_NODES = 512   # rows needing more nodes on the saddle-point line go to Imhof
_SINH_SCALE = 0.75      # y = alpha sinh(s) on the saddle-point line, alpha = this times the strip half-width
_SINH_STEP = 0.5        # first step in s (x = 0)
_SINH_OSCILLATION = 8.0  # ... and at most this over |x| Y (the phase x y turns |x| Y over [0, Y])
_CUT_TOP = 32           # largest g used by the convexity tail bound
_SQRT_HALF = 2 ** -0.5
_WIDE_BRACKET = 1e4      # saddle-point brackets wider than this times 1/max|lambda| are bisected on log t
_BENT_FROM = 128        # rows (x != 0) needing more nodes on the line are tried on the parabola
_BENT_WEIGHTS = 64      # ... if they have at most this many weights
_BENT_COST = 2.0        # cost of a node on the parabola, in nodes on the line


def _arguments(weights, x, tol, linear, work=1.0):
    """:func:`cdf`'s arguments checked and broadcast: ``(weights, linear or None, x)`` as ``(size, n)``,
    ``(size, n)`` and ``(size,)`` arrays, and the result's shape."""
    lam = _checks.floats("weights", weights, "a finite real array of shape (..., n)")
    if lam.ndim < 1 or not np.all(np.isfinite(lam)):
        raise ArgumentError("weights", "must be a finite array of shape (..., n)")
    xs = _checks.floats("x", x, "a real number or array")
    if not np.all(np.isfinite(xs)):
        raise ArgumentError("x", "must be finite")
    _checks.scalar("tol", tol, positive=True)
    _checks.scalar("work", work, positive=True)
    lin = None
    if linear is not None:
        lin = _checks.floats("linear", linear, "a finite real array of shape (..., n)")
        if lin.ndim < 1 or not np.all(np.isfinite(lin)):
            raise ArgumentError("linear", "must be a finite array of shape (..., n)")
        try:
            lam, lin = np.broadcast_arrays(lam, lin)
        except ValueError:
            raise ArgumentError("linear", f"must broadcast against weights (shape {lam.shape}), got shape "
                                          f"{lin.shape}") from None
        if not lin.any():
            lin = None
    try:
        shape = np.broadcast_shapes(lam.shape[:-1], xs.shape)
    except ValueError:
        raise ArgumentError("x", f"must broadcast against weights[..., 0] (shape {lam.shape[:-1]}), got shape "
                                 f"{xs.shape}") from None
    n, size = lam.shape[-1], math.prod(shape)       # n = 0: the empty sum, 0 (a step at x = 0)
    lam = np.broadcast_to(lam, shape + (n,)).reshape(size, n)
    if lin is not None:
        lin = np.broadcast_to(lin, shape + (n,)).reshape(size, n)
    xs = np.broadcast_to(xs, shape).ravel()
    return lam, lin, xs, shape


def cdf(weights: ArrayLike, x: ArrayLike, *, tol: float = 1e-7, work: float = WORK,
        linear: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``P(sum_k (w_k Z_k^2 + l_k Z_k) <= x)`` and a bound on its absolute error (module docstring).

    Without ``linear`` (or with ``linear = 0``) this is the central mixture ``sum_k w_k chi2_1``;
    with it, the non-central mixture of :mod:`sigprop.rho.exact` (a token mean), computed by the
    same integration with the non-central phase and modulus (module docstring, "Non-central").

    Parameters
    ----------
    weights : (..., n) array_like
        Finite chi-square weights, any sign; zeros allowed (``n = 0``: the empty sum, 0).
    x : array_like
        Points; broadcasts against ``weights[..., 0]`` (empty: empty results, as in ``scipy.stats``).
    tol : float
        Target absolute error per value (the bound returned may exceed it only when the
        cost cap bites, with a ``RuntimeWarning``).
    work : float
        Budget of integrand terms (nodes times weights) for the whole call.
    linear : (..., n) array_like, optional
        Finite coefficients ``l_k`` of the linear terms, paired with ``weights`` (broadcast
        against them); a zero weight with a non-zero ``l_k`` is a normal term.

    Returns
    -------
    F, error : arrays of the broadcast shape
    """
    lam, lin, xs, shape = _arguments(weights, x, tol, linear, work)
    n = lam.shape[-1]
    F, err = np.empty(xs.size), np.zeros(xs.size)
    big = np.abs(lam).max(axis=1) if n else np.zeros(xs.size)
    zero = big == 0
    if lin is not None:                                 # zero weights: a normal term N(0, |l|^2), or 0
        sd = np.sqrt(np.sum(lin[zero] ** 2, axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            F[zero] = np.where(sd > 0, 0.5 * erfc(-xs[zero] / np.where(sd > 0, sd, 1.0) / np.sqrt(2)),
                               (xs[zero] >= 0).astype(float))
        err[zero] = 4 * _EPS
    else:
        F[zero] = (xs[zero] >= 0).astype(float)
    rows = np.flatnonzero(~zero)
    if rows.size:
        s = np.ldexp(1.0, np.frexp(big[rows])[1] - 1)          # exact: max |lambda| / s in [1, 2)
        ln = None if lin is None else lin[rows] / s[:, None]
        with np.errstate(over="ignore"):               # |x| / s beyond the float range: F is 0 or 1 there
            xr = xs[rows] / s
        Fr, er = _normalized(lam[rows] / s[:, None], xr, tol, work, ln)
        F[rows], err[rows] = Fr, er
    bad = err > 10 * tol
    if bad.any():
        warnings.warn(f"chi-square distribution: the error bound reaches {err.max():.1e} (asked {tol:.0e}) "
                      f"for {int(bad.sum())} of {err.size} values; the bound is returned with them",
                      RuntimeWarning, stacklevel=2)
    return np.clip(F, 0.0, 1.0).reshape(shape), err.reshape(shape)


def _normalized(lam, x, tol, work, lin=None):
    """:func:`cdf` for weights with ``max |lambda|`` in ``[1, 2)``."""
    F, err = np.empty(x.size), np.zeros(x.size)
    todo = np.arange(x.size)
    bound, upper = _chernoff(lam, x, linear=lin)
    far = bound <= tol
    F[far], err[far] = upper[far], bound[far]
    todo = todo[~far]
    lam, x = lam[todo], x[todo]
    lam, dropped = _drop_negligible(lam, tol / 4)
    err[todo] = dropped
    if lin is not None:                    # non-central: the rows with linear terms go apart
        lin = lin[todo]
        nc = np.any(lin != 0, axis=1)
        if nc.any():
            fn, en = _noncentral(lam[nc], lin[nc], x[nc], tol, work)
            F[todo[nc]], err[todo[nc]] = fn, err[todo[nc]] + en
        keep = ~nc
        todo, lam, x = todo[keep], lam[keep], x[keep]
    count = np.count_nonzero(lam, axis=1)
    one = count == 1
    if one.any():
        a = lam[one].sum(axis=1)
        inside = erf(np.sqrt(np.clip(x[one] / a, 0, None) / 2))          # P(chi2_1 <= x/a)
        F[todo[one]] = np.where(a > 0, inside, 1 - inside)
        err[todo[one]] += 4 * _EPS                                        # rounding of erf
    two = count == 2
    if two.any():
        f2, e2 = _two_weights(lam[two], x[two])
        F[todo[two]], err[todo[two]] = f2, err[todo[two]] + e2
    many = np.flatnonzero(count >= 3)
    if many.size:
        fb, eb, done = _bromwich(lam[many], x[many], tol)
        F[todo[many[done]]], err[todo[many[done]]] = fb[done], err[todo[many[done]]] + eb[done]
        many = many[~done]
    if many.size:
        fm, em = _imhof(lam[many], x[many], tol, work)
        F[todo[many]], err[todo[many]] = fm, err[todo[many]] + em
    return F, err


def chernoff(lam, x, iterations: int = 16, linear=None):
    """:func:`cdf`'s step 2 on ``(rows, n)`` weights ``lam`` and ``rows`` points ``x`` (``linear`` paired
    with ``lam``), its arguments checked: see :func:`_chernoff`."""
    lam = _rows("lam", lam)
    x = _points("x", x, lam.shape[0])
    iterations = _checks.integer("iterations", iterations, 1)
    return _chernoff(lam, x, iterations, None if linear is None else _rows("linear", linear, lam.shape))


def _rows(name, value, shape=None):
    """``value`` as a finite ``(rows, n)`` float array (of ``shape`` if given), the arguments of the
    steps of :func:`cdf` called on their own."""
    arr = _checks.floats(name, value, "a finite real array of shape (rows, n)")
    if arr.ndim != 2 or not np.all(np.isfinite(arr)) or (shape is not None and arr.shape != tuple(shape)):
        want = "(rows, n)" if shape is None else f"{tuple(shape)}"
        raise ArgumentError(name, f"must be a finite real array of shape {want}, got shape {arr.shape}")
    return arr


def _points(name, value, rows):
    """``value`` as ``rows`` finite floats (a scalar is repeated)."""
    arr = _checks.floats(name, value, "a real number or array")
    if not np.all(np.isfinite(arr)) or arr.ndim > 1 or arr.size not in (1, rows):
        raise ArgumentError(name, f"must be {rows} finite real numbers (one per row), got shape {arr.shape}")
    return np.broadcast_to(arr, (rows,)).astype(float)


def _chernoff(lam, x, iterations: int = 16, linear=None):
    """``(bound, side)``: ``P(Q >= x) <= bound`` with ``side = 1`` (``F`` is then near 1) above
    the mean ``sum lambda``, ``P(Q <= x) <= bound`` with ``side = 0`` below it; ``bound = 1`` at
    the mean.  ``t`` solves ``K'(t) = x`` (:func:`_root`); any ``t`` gives a valid bound.
    With ``linear`` (``Q = sum lambda_k Z_k^2 + l_k Z_k``, same mean) the cumulant generating
    function gains ``sum t^2 l_k^2 / (2 (1 - 2 t lambda_k))``, whose ``t``-derivative is
    ``sum l_k^2 t q_k^2 (1 - t lambda_k)`` and second derivative ``sum l_k^2 q_k^3``
    (``q_k = 1 / (1 - 2 t lambda_k)``)."""
    mean = lam.sum(axis=1)
    sign = np.where(x > mean, 1.0, -1.0)
    sl, sx = sign[:, None] * lam, sign * x                  # bound P(sl . Z^2 >= sx)
    l2 = None if linear is None else linear * linear
    top = sl.max(axis=1)
    hi = np.where(top > 0, 0.5 / np.where(top > 0, top, 1.0) * (1 - 2.0 ** -40), 2.0 ** 40)

    buf = np.empty_like(sl)        # one buffer for every step: no fresh pages per iteration

    def slope(t):
        tt = t[:, None]
        if l2 is None:             # r = sl / (1 - 2 t sl): g = sum r - sx, g' = 2 sum r^2
            np.multiply(sl, -2 * tt, out=buf)
            np.add(buf, 1, out=buf)
            np.divide(sl, buf, out=buf)
            g = buf.sum(axis=1) - sx
            np.multiply(buf, buf, out=buf)
            return g, 2 * buf.sum(axis=1)
        q = 1 / (1 - 2 * tt * sl)
        r = sl * q
        g, dg = r.sum(axis=1) - sx, 2 * (r * r).sum(axis=1)
        g = g + np.sum(l2 * tt * q * q * (1 - tt * sl), axis=1)
        dg = dg + np.sum(l2 * q ** 3, axis=1)
        return g, dg
    with np.errstate(over="ignore", invalid="ignore"):
        t = _root(slope, np.zeros_like(hi), hi, iterations)
        h = -0.5 * np.sum(np.log1p(-2 * t[:, None] * sl), axis=1) - t * sx
        if l2 is not None:
            h = h + 0.5 * np.sum(l2 * t[:, None] ** 2 / (1 - 2 * t[:, None] * sl), axis=1)
    bound = np.where(x == mean, 1.0, np.exp(np.minimum(h, 0.0)))
    return bound, (sign > 0).astype(float)


def _root(fun, lo, hi, iterations):
    """The root in ``(lo, hi)`` of the increasing ``g`` with ``(g, g') = fun(t)``, by Newton steps
    kept inside the bracket (bisection otherwise), row by row; strictly inside ``(lo, hi)``.
    Always ``iterations`` steps (no early exit), so that the result is a continuous function of
    the weights wherever the steps converged (any ``t`` gives a valid Chernoff bound and a
    valid line of integration: the root only makes them good).  A converged row, whose Newton
    step does not move it (it then sits on an end of its bracket), stays where it is: the
    bisection fallback would throw it off by half its bracket."""
    t = 0.5 * (lo + hi)
    for _ in range(iterations):
        g, dg = fun(t)
        lo, hi = np.where(g < 0, t, lo), np.where(g < 0, hi, t)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = t - g / dg
        # a converged row has step == t == lo or hi: it stays (bisecting would throw it off)
        t = np.where(((step > lo) & (step < hi)) | (step == t), step, 0.5 * (lo + hi))
    return t


def _density_constant(m):
    """``Gamma(m/4 - 1/2) / (4 sqrt(pi) Gamma(m/4))`` for ``m >= 3``."""
    return np.exp(gammaln(m / 4 - 0.5) - gammaln(m / 4)) / (4 * np.sqrt(np.pi))


def drop_negligible(lam, budget):
    """:func:`cdf`'s step 3 on ``(rows, n)`` weights ``lam``, its arguments checked: see
    :func:`_drop_negligible`."""
    return _drop_negligible(_rows("lam", lam), _checks.scalar("budget", budget, minimum=0.0))


def _drop_negligible(lam, budget):
    """Zero the most weights whose effect on ``F`` is provably at most ``budget``.

    Returns ``(kept, bound)``: the weights with the dropped ones set to 0, and the bound on
    ``|P(Q <= x) - P(Q_kept <= x)|`` (module docstring, step 3).
    """
    m, n = lam.shape
    order = np.argsort(-np.abs(lam), axis=1)
    a = np.take_along_axis(np.abs(lam), order, axis=1)               # descending
    delta = np.cumsum(a[:, ::-1], axis=1)[:, ::-1]                   # delta[:, j] = sum_{i >= j} a_i
    delta = np.concatenate([delta[:, 1:], np.zeros((m, 1))], axis=1)  # dropped mass keeping j + 1
    bound = np.sqrt(2 * delta / (np.pi * a[:, :1]))
    if n >= 3:
        k = np.arange(1, n + 1)
        with np.errstate(divide="ignore"):
            dens = np.where(k >= 3, _density_constant(np.maximum(k, 3)) / a, np.inf)
        dens = np.minimum.accumulate(dens, axis=1)
        with np.errstate(invalid="ignore"):                           # inf * 0 where nothing is dropped
            bound = np.minimum(bound, np.where(delta > 0, dens * delta, 0.0))
    keep = np.argmax(bound <= budget, axis=1) + 1                     # bound[:, -1] == 0
    mask = np.arange(n)[None, :] < keep[:, None]
    kept = np.zeros_like(lam)
    np.put_along_axis(kept, order, np.where(mask, np.take_along_axis(lam, order, axis=1), 0.0), axis=1)
    return kept, bound[np.arange(m), keep - 1]


def _two_weights(lam, x, nodes: int = 96):
    """``P(a Z^2 + b Y <= x)``, ``Z ~ N(0,1)``, ``Y ~ chi2_1``: 1-D quadrature in ``|Z| <= 10``.

    ``a`` is the weight of smaller modulus, so that ``G(v) = P(b Y <= v)`` varies on a scale
    at least as wide as ``a Z^2`` does and the integrand is smooth in ``Z`` (beside the kink).
    """
    order = np.argsort(-np.abs(lam), axis=1)[:, :2]
    top = np.take_along_axis(lam, order, axis=1)
    b, a = top[:, 0], top[:, 1]                         # |b| >= |a| > 0: the two non-zero weights

    def G(vv):                                          # P(b Y <= vv)
        y = vv / b[:, None]
        pos = erf(np.sqrt(np.clip(y, 0, None) / 2))    # P(Y <= y) for y >= 0
        return np.where(b[:, None] > 0, pos, np.where(y <= 0, 1.0, 1 - pos))

    z_star = np.minimum(np.sqrt(np.clip(x / a, 0, None)), 10.0)     # the kink of G(x - a z^2)

    def integral(n):
        t, w = roots_legendre(n)
        total = np.zeros_like(x)
        # [0, z*]: z = z* - s^2, s in [0, sqrt(z*)]; [z*, 10]: z = z* + s^2, s in [0, sqrt(10 - z*)]
        for sign, top in ((-1.0, np.sqrt(z_star)), (1.0, np.sqrt(10.0 - z_star))):
            s = 0.5 * top[:, None] * (t + 1)
            z = z_star[:, None] + sign * s * s
            dens = np.exp(-0.5 * z * z) * np.sqrt(2 / np.pi)     # 2 phi(z): both signs of Z
            total += 0.5 * top * np.sum(w * dens * G(x[:, None] - a[:, None] * z * z) * 2 * s, axis=1)
        return total

    coarse, fine = integral(nodes), integral(2 * nodes)
    # + the mass beyond |Z| = 10, + rounding of a sum of 4n terms of modulus <= 1
    return fine, np.abs(fine - coarse) + erfc(10 / np.sqrt(2)) + 8 * nodes * _EPS


def truncation_bound(lam, x, U, lin=None):
    """:func:`cdf`'s step 6 on ``(rows, n)`` weights ``lam``, ``rows`` points ``x`` and cut points ``U > 0``,
    its arguments checked: see :func:`_truncation_bound`."""
    lam = _rows("lam", lam)
    x, U = _points("x", x, lam.shape[0]), _points("U", U, lam.shape[0])
    if np.any(U <= 0):
        raise ArgumentError("U", "must be > 0")
    return _truncation_bound(lam, x, U, None if lin is None else _rows("lin", lin, lam.shape))


def _truncation_bound(lam, x, U, lin=None):
    """Rigorous bound on ``(1/pi) |int_U^inf sin(theta)/(u rho) du|`` (module docstring, step 6;
    with ``lin``, the non-central bound of "Non-central")."""
    a = -np.sort(-np.abs(lam), axis=1)
    m = np.arange(1, a.shape[1] + 1)
    with np.errstate(divide="ignore"):
        log_prod = np.cumsum(np.log(a), axis=1)                      # -inf once a_m = 0
        log_b = np.log(2 / (np.pi * m)) - 0.5 * m * np.log(U)[:, None] - 0.5 * log_prod
    decay = np.exp(np.min(np.where(a > 0, log_b, np.inf), axis=1))
    if lin is None:
        return np.minimum(decay, _ibp_bound(lam, x, U))
    # the extra factor exp(-sum u^2 l^2 / (8 (1 + lambda^2 u^2))) decreases in u: its value at U
    # bounds it beyond U; the normal part (lambda = 0) also integrates in closed form
    l2 = lin * lin
    lu = lam * U[:, None]
    damp = np.exp(-0.125 * np.sum(np.where(lam != 0, l2 * U[:, None] ** 2 / (1 + lu * lu), 0.0), axis=1))
    s2 = np.sum(np.where(lam == 0, l2, 0.0), axis=1)
    gauss = np.exp(-0.125 * s2 * U * U)
    with np.errstate(divide="ignore"):
        tail = np.where(s2 > 0, 4 * gauss / (np.pi * s2 * U * U), np.inf)
    return damp * np.minimum(decay * gauss, tail)


def _ibp_bound(lam, x, U):
    lu = lam * U[:, None]
    A = 0.5 * np.sum(np.abs(lam) / (1 + lu * lu), axis=1)
    b = 0.5 * np.abs(x) - A
    g = np.exp(-0.25 * np.sum(np.log1p(lu * lu), axis=1)) / U
    with np.errstate(divide="ignore", invalid="ignore"):
        out = g * (2 + A / b) / (np.pi * b)
    return np.where(b > 0, out, np.inf)


def _cut_point(lam, x, target, lin=None):
    """The smallest ``U`` (on a grid of powers of two) whose truncation bound is below ``target``."""
    a = -np.sort(-np.abs(lam), axis=1)
    m = np.arange(1, a.shape[1] + 1)
    with np.errstate(divide="ignore"):
        log_prod = np.cumsum(np.log(a), axis=1)
        log_U = (2 / m) * (np.log(2 / (np.pi * m)) - np.log(target) - 0.5 * log_prod)
    U = np.exp(np.min(np.where(a > 0, log_U, np.inf), axis=1))       # from the decay bound
    cand = np.ldexp(1.0, np.ceil(np.log2(U)).astype(int))
    for _ in range(80):                                 # integration by parts, or the non-central bound
        cand = cand / 2
        ok = (_ibp_bound(lam, x, cand) if lin is None else _truncation_bound(lam, x, cand, lin)) <= target
        U = np.where(ok, np.minimum(U, cand), U)
        if not (ok.any() or np.any(cand > 1e-3)):
            break
    return U


def _octaves(lam, x, U, lin=None):
    """Knots (rows, J + 1) from 0 to ``U`` (octaves above ``_OCTAVES_FROM``) and the cumulative
    number of panels each needs for a phase change of at most ``PHASE_PER_PANEL`` per panel."""
    low = np.minimum(U, _OCTAVES_FROM)
    count = np.ceil(np.log2(U / low)).astype(int)                   # octaves per row
    J = int(count.max()) + 1
    j = np.arange(J)[None, :] - (J - 1 - count[:, None])             # <= 0: collapsed at 0
    ratio = (U / low) ** (1.0 / np.maximum(count, 1))
    knots = np.where(j >= 0, low[:, None] * ratio[:, None] ** np.maximum(j, 0), 0.0)
    knots = np.concatenate([np.zeros((U.size, 1)), knots], axis=1)
    knots[:, -1] = U
    left = knots[:, :-1]
    lu = lam[:, None, :] * left[:, :, None]
    speed = 0.5 * np.sum(np.abs(lam)[:, None, :] / (1 + lu * lu), axis=2) + 0.5 * np.abs(x)[:, None]
    if lin is not None:     # |d/du| of the non-central phase <= (l^2 |lambda| / 8) min(3 u^2, 3 / (4 lambda^2))
        right = knots[:, 1:, None]
        a = np.abs(lam)[:, None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            extra = np.where(a > 0, np.minimum(3 * right * right, 0.75 / (a * a)), 0.0)
        speed = speed + 0.125 * np.sum((lin * lin)[:, None, :] * a * extra, axis=2)
        # and the log-modulus, whose slope is at most sum l^2 u / 4: panels also follow its decay
        speed = speed + 0.25 * right[..., 0] * np.sum(lin * lin, axis=1)[:, None]
    width = np.diff(knots, axis=1)
    need = np.where(width > 0, np.maximum(1, np.ceil(width * speed / PHASE_PER_PANEL)), 0)
    return knots, np.concatenate([np.zeros((U.size, 1)), np.cumsum(need, axis=1)], axis=1)


def _noncentral(lam, lin, x, tol, work):
    """Non-central rows (any non-zero ``l``): one kept weight by :func:`_one_noncentral`, more by
    the Imhof integral with the non-central phase and modulus (module docstring, "Non-central")."""
    F, err = np.empty(x.size), np.zeros(x.size)
    one = np.count_nonzero(lam, axis=1) == 1
    if one.any():
        F[one], err[one] = _one_noncentral(lam[one], lin[one], x[one], tol)
    if (~one).any():
        F[~one], err[~one] = _imhof(lam[~one], x[~one], tol, work, lin[~one])
    return F, err


def _one_noncentral(lam, lin, x, tol: float = 1e-7, nodes: int = 128):
    """``P(a Z^2 + l Z + s Y <= x)`` for the one kept weight ``a`` (its linear coefficient ``l``)
    and the normal part ``s^2 = sum l_k^2`` of the zero weights.

    ``s = 0``: ``a (Z + l/(2a))^2 <= x + l^2/(4a)``, two normal probabilities (erf).  ``s > 0``:
    ``E_Z Phi((x - a Z^2 - l Z)/s)``, an entire integrand, by Gauss-Legendre on ``|Z| <= 12`` with
    ``n`` and ``2n`` nodes (their difference is the error estimate; ``n`` doubles, up to 8 times,
    until it is below ``tol/2``) plus the mass beyond 12.
    """
    k = np.argmax(lam != 0, axis=1)
    rows = np.arange(x.size)
    a, l1 = lam[rows, k], lin[rows, k]
    s = np.sqrt(np.sum(np.where(lam == 0, lin * lin, 0.0), axis=1))
    F, err = np.empty(x.size), np.full(x.size, 8 * _EPS)
    c = s == 0
    if c.any():
        shift = l1[c] / (2 * a[c])
        y = (x[c] + a[c] * shift * shift) / a[c]
        r = np.sqrt(np.clip(y, 0.0, None))
        inside = 0.5 * (erf((r - shift) / np.sqrt(2)) - erf((-r - shift) / np.sqrt(2)))   # P(|Z + shift| <= r)
        F[c] = np.where(a[c] > 0, inside, 1.0 - inside)
    g = ~c
    if g.any():
        def integral(n):
            t, w = roots_legendre(n)
            z = 12.0 * t
            arg = (x[g, None] - a[g, None] * z * z - l1[g, None] * z) / (s[g, None] * np.sqrt(2))
            return 12.0 * np.sum(w * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi) * 0.5 * erfc(-arg), axis=1)
        coarse = integral(nodes)
        for _ in range(8):
            fine = integral(2 * nodes)
            if np.abs(fine - coarse).max() <= tol / 2:
                break
            nodes, coarse = 2 * nodes, fine
        F[g] = fine
        err[g] = np.abs(fine - coarse) + erfc(12 / np.sqrt(2)) + 16 * nodes * _EPS
    return F, err


def _imhof(lam, x, tol, work, lin=None):
    rows, n = lam.shape
    U = _cut_point(lam, x, tol / 4, lin)
    knots, cum = _octaves(lam, x, U, lin)
    cap = _water_level(cum[:, -1], work / (2 * GK_NODES.size * n))   # panels per row
    for _ in range(200):                   # over the cap: cut earlier, report the larger bound
        over = cum[:, -1] > cap
        if not over.any():
            break
        U = np.where(over, U / 2, U)
        knots, cum = _octaves(lam, x, U, lin)
    trunc = _truncation_bound(lam, x, U, lin)
    panels = np.ldexp(1.0, np.ceil(np.log2(np.maximum(cum[:, -1], 16))).astype(int))
    F, quad = np.empty(rows), np.empty(rows)
    todo = np.arange(rows)
    for _ in range(_REFINE + 1):
        for p in np.unique(panels[todo]):
            sel = todo[panels[todo] == p]
            kron, est = _panel_integral(lam[sel], x[sel], knots[sel], cum[sel], int(p),
                                        None if lin is None else lin[sel])
            F[sel], quad[sel] = 0.5 - kron / np.pi, est / np.pi
        todo = todo[quad[todo] > tol / 2]
        if todo.size == 0:
            break
        panels[todo] *= 2
    return F, trunc + quad


def _water_level(need, budget):
    """The largest cap ``c >= 64`` with ``sum(min(need, c)) <= budget`` (``inf`` if all fit)."""
    if need.sum() <= budget:
        return np.inf
    lo, hi = 0.0, float(need.max())
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.minimum(need, mid).sum() <= budget else (lo, mid)
    return max(64.0, lo)


def _panel_integral(lam, x, knots, cum, P, lin=None):
    """``int_0^U sin(theta)/(u rho) du`` on ``P`` panels per row placed by the panel needs
    ``cum`` over ``knots``: (Kronrod estimate, sum over panels of |Kronrod - Gauss| plus the
    rounding bound ``N eps sum |terms|`` of a sum of ``N = 15 P`` terms)."""
    m, n = lam.shape
    total = cum[:, -1]
    t = np.arange(P + 1)[None, :] * (total / P)[:, None]              # (m, P + 1)
    off = (np.arange(m) * (total.max() + 1.0))[:, None]               # rows apart: one interp
    edges = np.interp((t + off).ravel(), (cum + off).ravel(), knots.ravel()).reshape(m, P + 1)
    edges[:, 0], edges[:, -1] = 0.0, knots[:, -1]
    q = GK_NODES.size
    kron, est = np.zeros(m), np.zeros(m)
    chunk = max(1, _MAX_FLOATS // max(1, m * n * q))
    for lo in range(0, P, chunk):                       # blocks of panels bound the memory
        hi = min(lo + chunk, P)
        a, b = edges[:, lo:hi], edges[:, lo + 1:hi + 1]
        half = 0.5 * (b - a)
        u = (a + half)[:, :, None] + half[:, :, None] * GK_NODES           # (m, c, q)
        lu = lam[:, None, None, :] * u[..., None]                          # (m, c, q, n)
        theta = 0.5 * np.arctan(lu).sum(axis=3) - 0.5 * x[:, None, None] * u
        log_rho = 0.25 * np.log1p(lu * lu).sum(axis=3)
        if lin is not None:                         # non-central: u^2 l^2 / (8 (1 + lambda^2 u^2)) (1 + i lambda u)
            w = (lin * lin)[:, None, None, :] * (u * u)[..., None] / (8 * (1 + lu * lu))
            theta -= (w * lu).sum(axis=3)
            log_rho += w.sum(axis=3)
        f = np.sin(theta) / u * np.exp(-log_rho)
        k = half * (f @ GK_WEIGHTS)
        g = half * (f @ GAUSS_WEIGHTS)
        kron += k.sum(axis=1)
        est += np.abs(k - g).sum(axis=1) + (q * P * _EPS) * np.abs(half[:, :, None] * f).sum(axis=(1, 2))
    return kron, est


def _saddle(lam, x, iterations: int = 20):
    """``(c, side)``: the minimum ``c`` of ``K(t) - t x - log|t|`` on the side of ``0`` where the
    saddle point of ``K(t) - t x`` lies (``side = 1``: ``0 < c < t_+``, ``-1``: ``t_- < c < 0``).

    ``iterations`` Newton-or-bisection steps (:func:`_root`: converged to rounding on the
    benchmark's weights after 16, so that ``c``, hence ``F``, follows the weights
    continuously), except on rows whose bracket
    ``(0, 1/(2 lambda_max))`` spans more than ``_WIDE_BRACKET`` (the side's weights all tiny):
    16 steps from the middle of such a bracket stay far from the root, so those rows are
    bisected on ``log t`` instead.  Any ``c`` in the strip gives a valid formula; a good one
    makes the integrand smooth."""
    mean = lam.sum(axis=1)
    top, bottom = lam.max(axis=1), lam.min(axis=1)
    side = np.where(x >= mean, 1.0, -1.0)
    side = np.where((side > 0) & (top <= 0), -1.0, side)      # that side has no finite bound
    side = np.where((side < 0) & (bottom >= 0), 1.0, side)
    sl = side[:, None] * lam                                   # side -1: t -> -t, lam -> -lam
    edge = 0.5 / sl.max(axis=1)                                # > 0: the singularity of M
    sx = side * x

    def slope_of(sl, sx):
        def slope(t):                                          # K'(t) - x - 1/t and its derivative
            buf = np.multiply(sl, -2 * t[:, None])
            buf += 1
            np.divide(sl, buf, out=buf)                        # r = sl / (1 - 2 t sl)
            g = buf.sum(axis=1) - sx - 1 / t
            np.multiply(buf, buf, out=buf)
            return g, 2 * buf.sum(axis=1) + 1 / (t * t)
        return slope
    wide = edge > _WIDE_BRACKET * np.abs(lam).max(axis=1) ** -1
    t = np.empty_like(edge)
    fine = np.flatnonzero(~wide)
    if fine.size:
        t[fine] = _root(slope_of(sl[fine], sx[fine]), np.zeros(fine.size), edge[fine], iterations)
    late = np.flatnonzero(wide)
    if late.size:                                               # bisect on log t (g increases in t)
        slope = slope_of(sl[late], sx[late])
        hi = np.log(edge[late])
        lo = hi - 700.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            with np.errstate(over="ignore", invalid="ignore"):
                below = slope(np.exp(mid))[0] < 0
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        t[late] = np.exp(0.5 * (lo + hi))
    return side * t, side, edge


def _bromwich_plan(lam, x, tol):
    """Saddle ``c``, side, map scale ``alpha``, coarse step ``h`` (in ``s``, ``y = alpha sinh s``)
    and truncation point ``S`` (in ``s``) of :func:`_bromwich` for every row."""
    c, side, edge = _saddle(lam, x)
    beta = 1 - 2 * c[:, None] * lam                            # > 0 on the open strip
    log_scale = -0.5 * np.sum(np.log(beta), axis=1) - c * x    # log (M(c) exp(-c x))
    a = np.minimum(np.abs(c), edge - np.abs(c))                # half-width of the analytic strip
    alpha = _SINH_SCALE * a
    Y = _bromwich_cut(lam, beta, log_scale, tol / 16)
    with np.errstate(divide="ignore", over="ignore"):          # x = 0: no oscillation to follow
        h = np.minimum(_SINH_STEP, _SINH_OSCILLATION / (np.abs(x) * Y))
    S = np.where(np.isfinite(log_scale) & (log_scale < 600), np.arcsinh(Y / alpha), np.inf)   # else Imhof
    return c, side, alpha, h, S, a


def _bromwich_cut(lam, beta, log_scale, target, *, tries: int = 10):
    """The smallest ``Y`` where a tail bound ``(1/pi) int_Y^inf |f(y)| dy`` is below ``target``
    (module docstring, step 5): the power bound minimized over ``m``, then tightened (``Y`` times
    ``2^{-1/2}``, up to ``tries`` times) by the convexity bound over the ``_CUT_TOP`` largest ``g``; both
    bounds decrease in ``Y``."""
    gam = -np.sort(-2 * np.abs(lam) / beta, axis=1)
    m = np.arange(1, gam.shape[1] + 1)
    with np.errstate(divide="ignore"):
        log_c = np.log(2 / (np.pi * m)) + log_scale[:, None] - 0.5 * np.cumsum(np.log(gam), axis=1)
        log_Y = (2 / m) * (log_c - np.log(target))               # C_m Y^{-m/2} = target
    Y = np.exp(np.min(np.where(gam > 0, log_Y, np.inf), axis=1))
    top = gam[:, :_CUT_TOP]
    cand = Y.copy()
    for _ in range(tries):
        cand = cand * _SQRT_HALF
        gy = top * cand[:, None]
        gy *= gy
        S = np.sum(gy / (1 + gy), axis=1)
        with np.errstate(divide="ignore"):
            bound = 2 / (np.pi * S) * np.exp(log_scale - 0.25 * np.sum(np.log1p(gy), axis=1))
        ok = bound <= target
        if not ok.any():
            break
        Y = np.where(ok, cand, Y)
    return Y


def _trapezoid(lam, x, c, alpha, h, N, added=False):
    """With ``y = alpha sinh(s)`` and ``g(s) = Re f(y) alpha cosh(s)``: ``g(0)/2 + sum g(k h)`` over
    even ``k`` in ``2..N``, the same over odd ``k`` (without ``g(0)``), and ``h sum |g(k h)|``;
    ``f(y) = M(c+iy) exp(-(c+iy) x) / (c+iy)``.

    With ``beta = 1 - 2 c lambda`` and ``g = 2 lambda / beta``,
    ``log M(c+iy) = -(1/2) sum log beta - (1/4) sum log(1 + (g y)^2) + (i/2) sum arctan(g y)``.
    """
    m, n = lam.shape
    beta = 1 - 2 * c[:, None] * lam
    base = -0.5 * np.log(beta).sum(axis=1) - c * x
    g = np.zeros((m, -(-n // _BLOCK) * _BLOCK))                       # padded: weight 0 is factor 1
    g[:, :n] = 2 * lam / beta
    ones = np.ones(g.shape[1])
    even, odd, mod = np.zeros(m), np.zeros(m), np.zeros(m)
    chunk = max(1, _TRAPEZOID_FLOATS // max(1, m * g.shape[1]))
    nodes = np.arange(1, N, 2) if added else np.arange(N + 1)    # added: the nodes a halved step adds
    for lo in range(0, nodes.size, chunk):
        k = nodes[lo:lo + chunk]
        s = h[:, None] * k                                                  # (m, c)
        y = alpha[:, None] * np.sinh(s)
        jac = alpha[:, None] * np.cosh(s) * np.where(k == 0, 0.5, 1.0)
        gy = g[:, None, :] * y[..., None]                                   # (m, c, n)
        phase = 0.5 * (np.arctan(gy) @ ones) - x[:, None] * y          # sums as products: fast for small n
        gy *= gy
        gy += 1
        blocks = gy[..., ::_BLOCK].copy()
        with np.errstate(over="ignore"):      # a product over 1e308 is a modulus of 0, as it should
            for j in range(1, _BLOCK):        # one log per block of factors
                blocks *= gy[..., j::_BLOCK]
        modulus = base[:, None] - 0.25 * (np.log(blocks) @ ones[:blocks.shape[-1]])
        f = (np.exp(modulus + 1j * phase) / (c[:, None] + 1j * y)).real * jac
        even += f[:, k % 2 == 0].sum(axis=1)
        odd += f[:, k % 2 == 1].sum(axis=1)
        mod += h * np.abs(f).sum(axis=1)
    return even, odd, mod


def _node_counts(need):
    """Node counts at least ``need``, from the few values ``16 * 2^(k/2)`` rounded up to 16, so that
    rows fall into few groups (one vectorized sum each) and at most ~40% of the nodes are spare."""
    k = np.ceil(2 * np.log2(np.maximum(need, 16) / 16))
    return 16 * np.ceil(2 ** (k / 2))


def _bent_plan(lam, x, c, a, tol):
    """The parabola ``t(y) = c + iy + kappa y^2`` (module docstring, step 5, "bent"): ``kappa``,
    the half-width of its analytic strip in ``y``, and the truncation point ``Y``."""
    kappa = np.sign(x) / (2 * a)
    r = np.zeros((lam.shape[0], lam.shape[1] + 1))               # the singular points of M(t)/t: 0, 1/(2 lambda)
    with np.errstate(divide="ignore"):
        r[:, 1:] = np.where(lam != 0, 0.5 / lam, np.inf)
    D = 1 + 4 * kappa[:, None] * (c[:, None] - r)
    with np.errstate(invalid="ignore"):
        dist = np.where(D >= 0, np.abs(np.sqrt(np.abs(D)) - 1), 1.0) / (2 * np.abs(kappa[:, None]))
    strip = np.min(np.where(np.isfinite(r), dist, np.inf), axis=1)
    return kappa, strip, _bent_cut(lam, x, c, kappa, tol / 16)


def _bent_cut(lam, x, c, kappa, target, *, top: int = 32, iterations: int = 16):
    """The smallest ``Y`` (bisection in ``log Y``) where the bent path's tail bound is below ``target``.

    For ``y >= Y``: ``|1 - 2 t lambda| >= 2 |lambda| y`` (its imaginary part), and
    ``|1 - 2 t lambda|^2 = (beta - p z)^2 + q z`` (``z = y^2``, ``p = 2 lambda kappa``,
    ``q = 4 lambda^2``) is at least its minimum ``L(Y)`` over ``z >= Y^2``; with the first for the
    ``m`` largest ``|lambda|`` and the second for the others, ``|t'(y)| <= 1 + 2 |kappa| y``,
    ``|t| >= y`` and ``|e^{-tx}| = e^{-cx - kappa x y^2}``: ``(1/pi) int_Y^inf |integrand| <=
    (1/pi) e^{-cx} prod_{j <= m} (2 |lambda_j|)^{-1/2} prod_{k > m} L_k(Y)^{-1/4} Y^{-m/2} (1/Y + 2 |kappa|)
    int_Y^inf e^{-kappa x y^2} dy``, minimized over ``m <= top``; the majorant decreases in ``y``."""
    order = np.argsort(-np.abs(lam), axis=1)
    lam = np.take_along_axis(lam, order, axis=1)
    beta = 1 - 2 * c[:, None] * lam
    p, q = 2 * lam * kappa[:, None], 4 * lam * lam
    kx = kappa * x                                             # > 0
    rows, n = lam.shape
    m = np.arange(min(n, top) + 1)
    with np.errstate(divide="ignore"):
        log_two_lam = np.concatenate([np.zeros((rows, 1)), np.cumsum(np.log(2 * np.abs(lam[:, :top])), axis=1)], axis=1)

    def log_bound(Y):
        zs = np.where(p > 0, np.maximum((Y * Y)[:, None], (2 * beta * p - q) / np.where(p > 0, 2 * p * p, 1.0)),
                      (Y * Y)[:, None])
        low = np.log((beta - p * zs) ** 2 + q * zs)           # log L_k(Y)
        rest = np.concatenate([np.cumsum(low[:, ::-1], axis=1)[:, ::-1], np.zeros((rows, 1))], axis=1)[:, m]
        sk = np.sqrt(kx) * Y
        log_gauss = np.log(0.5 * np.sqrt(np.pi / kx) * erfcx(sk)) - sk * sk
        return (np.min(-0.5 * log_two_lam[:, m] - 0.25 * rest - 0.5 * m * np.log(Y)[:, None], axis=1)
                - c * x + np.log(1 / Y + 2 * np.abs(kappa)) + log_gauss - np.log(np.pi))
    lo, hi = np.full(rows, -20.0), np.full(rows, 12.0)          # log Y to within 32 / 2^16
    log_target = np.log(target)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        ok = log_bound(np.exp(mid)) <= log_target
        lo, hi = np.where(ok, lo, mid), np.where(ok, mid, hi)
    return np.exp(hi)


def _trapezoid_bent(lam, x, c, kappa, h, N, added=False):
    """:func:`_trapezoid` on the parabola ``t(y) = c + iy + kappa y^2``, nodes ``y = k h``:
    ``Re[M(t) e^{-tx} t'(y) / (i t)]``, ``t'(y) / i = 1 - 2 i kappa y``, with the principal
    ``log(1 - 2 t lambda)`` (its imaginary part ``-2 lambda y`` keeps one sign for ``y > 0``, so
    the principal branch is the continuation from ``t = c``)."""
    m, n = lam.shape
    width = -(-n // _BLOCK) * _BLOCK
    two = np.zeros((m, width))
    two[:, :n] = 2 * lam
    ones = np.ones(width)
    even, odd, mod = np.zeros(m), np.zeros(m), np.zeros(m)
    chunk = max(1, _TRAPEZOID_FLOATS // max(1, m * width))
    nodes = np.arange(1, N, 2) if added else np.arange(N + 1)    # added: the nodes a halved step adds
    for lo in range(0, nodes.size, chunk):
        k = nodes[lo:lo + chunk]
        y = h[:, None] * k
        re_t = c[:, None] + kappa[:, None] * y * y
        u = 1 - two[:, None, :] * re_t[..., None]                          # (m, c, n); padding: 1
        v = -two[:, None, :] * y[..., None]
        phase = -0.5 * (np.arctan2(v, u) @ ones) - x[:, None] * y
        u *= u
        v *= v
        u += v
        blocks = u[..., ::_BLOCK].copy()
        with np.errstate(over="ignore"):
            for j in range(1, _BLOCK):
                blocks *= u[..., j::_BLOCK]
        modulus = -0.25 * (np.log(blocks) @ ones[:blocks.shape[-1]]) - x[:, None] * re_t
        t = re_t + 1j * y
        f = (np.exp(modulus + 1j * phase) * (1 - 2j * kappa[:, None] * y) / t).real * np.where(k == 0, 0.5, 1.0)
        even += f[:, k % 2 == 0].sum(axis=1)
        odd += f[:, k % 2 == 1].sum(axis=1)
        mod += h * np.abs(f).sum(axis=1)
    return even, odd, mod


def _bromwich(lam, x, tol):
    """Step 5 on the rows where it needs at most ``_BROMWICH_NODES`` nodes: ``(F, error, done)``."""
    rows = x.size
    F, err, done = np.empty(rows), np.zeros(rows), np.zeros(rows, bool)
    c, side, alpha, h, S, a = _bromwich_plan(lam, x, tol)
    with np.errstate(invalid="ignore"):
        nodes = 2 * S / h
    nodes = np.where(np.isfinite(nodes), nodes, np.inf)
    kappa, size = np.zeros(rows), S.copy()                    # size: S (line) or Y (bent)
    try_bent = np.flatnonzero((nodes > _BENT_FROM) & np.isfinite(S) & (x != 0)
                              & (np.count_nonzero(lam, axis=1) <= _BENT_WEIGHTS))
    if try_bent.size:
        kb, strip, Yb = _bent_plan(lam[try_bent], x[try_bent], c[try_bent], a[try_bent], tol)
        hb = strip / 2
        nb = 2 * Yb / hb
        better = np.isfinite(nb) & (hb > 0) & (_BENT_COST * nb < nodes[try_bent])
        sel = try_bent[better]
        kappa[sel], h[sel], size[sel], nodes[sel] = kb[better], hb[better], Yb[better], nb[better]
    ok = np.flatnonzero(nodes <= _BROMWICH_NODES)
    if ok.size == 0:
        return F, err, done
    lam, x, c, side, alpha, h, size, kappa = (v[ok] for v in (lam, x, c, side, alpha, h, size, kappa))
    bent = kappa != 0
    todo = np.arange(ok.size)
    N = _node_counts(2 * size / h).astype(int)          # fine nodes 0..N at step h/2 (N h/2 >= size)
    even, odd, mod = np.zeros(ok.size), np.zeros(ok.size), np.zeros(ok.size)
    piece = max(1, _TRAPEZOID_FLOATS // (8 * lam.shape[1]))      # rows: blocks of >= 8 nodes
    for refine in range(_REFINE + 1):
        if refine:                # halve the step: the old nodes are the new even ones, add the odd
            h[todo] /= 2
            N[todo] *= 2
            even[todo] += odd[todo]
            mod[todo] /= 2
        for p in np.unique(N[todo]):
            for on_bent in (False, True):
                group = todo[(N[todo] == p) & (bent[todo] == on_bent)]
                for r0 in range(0, group.size, piece):
                    sel = group[r0:r0 + piece]
                    args = (lam[sel], x[sel], c[sel], (kappa if on_bent else alpha)[sel], h[sel] / 2, int(p),
                            refine > 0)
                    e, o, m = _trapezoid_bent(*args) if on_bent else _trapezoid(*args)
                    if refine:
                        odd[sel], mod[sel] = o, mod[sel] + m
                    else:
                        even[sel], odd[sel], mod[sel] = e, o, m
        total = 0.5 * h * (even + odd)
        est = (0.5 * h * np.abs(even - odd) + 2 * N * _EPS * mod) / np.pi
        todo = todo[est[todo] > tol / 2]
        if todo.size == 0:
            break
    F[ok] = np.where(side > 0, 1.0, 0.0) - total / np.pi
    err[ok] = est + 3 * (tol / 16) + 4 * _EPS             # + the tails beyond the truncation point
    done[ok] = True
    return F, err, done
