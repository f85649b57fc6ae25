"""Davies' algorithm (AS 155, ``qfc``) as the exact method's peer in the benchmarks.

``pip install chi2comb`` does not build (its source archive lacks ``chi2comb.h``); FaST-LMM's
C library ``fastlmmclib`` (a binary wheel on PyPI, in ``sigprop[bench]``) wraps the same
``qfc`` code: ``fastlmmclib.quadform.qf(x, weights, acc=...)`` returns ``P(Q > x)`` and a
fault code.  :func:`band` uses whichever of the two is installed.
"""
from __future__ import annotations

import numpy as np


def available() -> str | None:
    """The name of the installed package providing Davies' algorithm, or ``None``."""
    for name in ("fastlmmclib.quadform", "chi2comb"):
        try:
            __import__(name)
        except ImportError:
            continue
        return name.split(".")[0]
    return None


def cdf(weights: np.ndarray, x: float, acc: float = 1e-7) -> np.ndarray:
    """``P(sum_k w_k chi2_1 <= x)`` for each row of ``weights`` (one ``qfc`` call per row).

    ``acc`` is Davies' error bound per value.  Raises ``ImportError`` when neither package is
    installed and ``RuntimeError`` when ``qfc`` reports a fault (accuracy not reached).
    """
    try:
        from fastlmmclib.quadform import qf
    except ImportError:
        from chi2comb import ChiSquared, chi2comb_cdf

        def upper(lam):
            F, fault, _ = chi2comb_cdf(x, [ChiSquared(float(c), 0.0, 1) for c in lam], 0.0, atol=acc)
            return 1.0 - F, fault
    else:
        def upper(lam):
            p, fault, _ = qf(float(x), lam, acc=acc)
            return p, fault
    out = np.empty(weights.shape[0])
    for i, row in enumerate(np.asarray(weights, dtype=float)):    # qfc takes one form at a time
        p, fault = upper(np.ascontiguousarray(row[row != 0]))
        if fault:
            raise RuntimeError(f"Davies' qfc reported fault {fault} at row {i}")
        out[i] = 1.0 - p
    return out


def band(weights: np.ndarray, acc: float = 1e-7) -> np.ndarray | None:
    """``P(0 < Q < 1)`` per row by Davies' algorithm, or ``None`` if no package provides it."""
    if available() is None:
        return None
    return cdf(weights, 1.0, acc) - cdf(weights, 0.0, acc)
