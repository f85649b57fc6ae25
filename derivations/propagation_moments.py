"""Exact moments of the centered logits and their limits (SymPy; docs/theory.md (3.5)-(3.15)).

Combines the two other derivations.  The centered logit is the bilinear form
``zc_i = c u_i^T W x_T`` with ``u_i = x_i - xbar``; with ``C_uu = alpha_i Sigma``,
``C_ww = Sigma`` and ``C_uw = beta_i Sigma`` (``walk_moments``) the trace formulas
(``bilinear_variance``) give

    mu_i = c beta_i tr(W Sigma)
    v_i  = c^2 [alpha_i tr(Sigma W Sigma W^T) + beta_i^2 tr(W Sigma W Sigma)]

This script writes them in terms of the three traces, specializes them to the
eigenspectrum form (symmetric ``W``, ``Sigma = I``: ``tr(W) = d m``,
``tr(W^2) = ||W||_F^2 = d (v + m^2)``, ``c = 1/sqrt(d)``), takes ``T -> infinity``
at ``s = i/T``, and sets them beside the closed form of the ANTRP code (Everlyn-Labs/ANTRP) quoted
in docs/theory.md (3.14).

Run ``python derivations/propagation_moments.py`` to print the results.
"""
from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp

try:                                    # run as a script or imported as a package
    from . import bilinear_variance, walk_moments
except ImportError:                     # pragma: no cover
    import bilinear_variance
    import walk_moments

i, T, s = walk_moments.i, walk_moments.T, walk_moments.s
c = sp.symbols("c", positive=True)
tr1, tr_frob, tr_sq = sp.symbols("tr_WS tr_SWSWt tr_WSWS", real=True)
m = sp.symbols("m", real=True)
v, d = sp.symbols("v d", positive=True)


@cache
def trace_form():
    """``(mu_i, v_i)`` in terms of ``i, T, c`` and the three traces."""
    alpha, beta = walk_moments.coefficients()
    return c * beta * tr1, c ** 2 * (alpha * tr_frob + beta ** 2 * tr_sq)


@cache
def spectrum_form():
    """``(mu_i, v_i)`` for symmetric ``W``, ``Sigma = I``, ``c = 1/sqrt(d)``."""
    mean, var = trace_form()
    sub = {tr1: d * m, tr_frob: d * (v + m ** 2), tr_sq: d * (v + m ** 2), c: 1 / sp.sqrt(d)}
    return sp.simplify(mean.subs(sub)), sp.factor(sp.simplify(var.subs(sub)))


@cache
def limit_form():
    """``T -> infinity`` limit of :func:`spectrum_form` at ``i = s T``."""
    return tuple(sp.factor(sp.limit(e.subs(i, s * T), T, sp.oo)) for e in spectrum_form())


def antrp_form():
    """The form quoted in docs/theory.md (3.14), in the same symbols (a claim, not a result)."""
    return ((s - sp.Rational(1, 2)) * d * m / sp.sqrt(d),
            (2 * s ** 2 + sp.Rational(7, 12)) * d * (v + m ** 2) / d ** 2)


def moments(W: np.ndarray, T_value: int, Sigma: np.ndarray, c_value: float):
    """Numeric ``(mu, v)`` for every position, straight from the bilinear formulas.

    Builds ``C_uu = alpha_i Sigma``, ``C_ww = Sigma``, ``C_uw = beta_i Sigma`` and
    evaluates :func:`bilinear_variance.trace_mean` and ``trace_variance`` with
    matrix products: an implementation independent of ``sigprop``'s.
    """
    alpha_f, beta_f = walk_moments.numeric()
    idx = np.arange(1, T_value + 1)
    alpha = np.broadcast_to(alpha_f(idx, T_value), idx.shape)[:, None, None]
    beta = np.broadcast_to(beta_f(idx, T_value), idx.shape)[:, None, None]
    mean = c_value * bilinear_variance.trace_mean(beta * Sigma, W)
    var = c_value ** 2 * bilinear_variance.trace_variance(alpha * Sigma, Sigma, beta * Sigma, W)
    return mean, var


def main() -> None:
    mean, var = trace_form()
    print("mu_i =", mean)
    print("v_i  =", var)
    sm, sv = spectrum_form()
    print("eigenspectrum form (c = 1/sqrt(d)):  mu_i =", sm, "   v_i =", sv)
    lm, lv = limit_form()
    print("T -> oo at i = sT:                   mu(s) =", lm, "   v(s) =", lv)
    pm, pv = antrp_form()
    print("ANTRP code form:                     mu(s) =", sp.factor(pm), "   v(s) =", sp.factor(pv))
    print("ANTRP minus limit:       mean:", sp.simplify(pm - lm),
          "   variance ratio ANTRP/derived:", sp.factor(sp.simplify(pv / lv)))
    print("finite-T mean offset (derived - limit at s = i/T):",
          sp.simplify(sm - lm.subs(s, i / T)))


if __name__ == "__main__":
    main()
