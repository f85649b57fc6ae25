"""Localization metrics of a signal propagation profile ``rho`` (docs/theory.md (4.1)).

A profile is *localized* when few positions carry most of it.  With
``q_i = rho_i / sum_j rho_j`` (the normalized profile) over positions ``i = 1..T``:

* ``total = sum_i rho_i``: expected number of propagating tokens;
* ``entropy = -sum_i q_i log q_i`` (nats) and ``entropy_normalized = entropy / log T``
  (1 for a flat profile, 0 for a single position);
* ``effective_tokens = exp(entropy)``;
* ``peak``: position of the largest ``rho_i`` (first if tied), ``peak_s = peak / T``;
* ``centroid = sum_i q_i i`` and ``width = sqrt(sum_i q_i (i - centroid)^2)``, in
  positions.

When no position propagates (``total == 0``) the normalized profile is undefined: such a
profile is refused (``ArgumentError`` on ``rho``), or, with ``empty="nan"`` (what the commands
use, a simulation may see no propagation), every metric except ``total`` is NaN (``null`` in JSON
output, ``-`` in tables).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.aliases import ArrayLike

METRICS = ("total", "entropy", "entropy_normalized", "effective_tokens", "peak", "peak_s",
           "centroid", "width")


def localization_metrics(rho: ArrayLike, axis: int = -1, *, empty: str = "refuse") -> dict[str, Any]:
    """Localization metrics of ``rho`` along ``axis`` (other axes broadcast).

    Parameters
    ----------
    rho : array_like, values in [0, 1]
        One profile (1-D, ``T >= 2`` positions) or several (the positions along ``axis``).
    axis : int
        The axis of the positions, in ``[-rho.ndim, rho.ndim - 1]``.
    empty : {"refuse", "nan"}
        What a profile with no propagating position (all zero) gives: an ``ArgumentError`` (its
        normalized profile is undefined) or NaN metrics but ``total``.

    Returns
    -------
    dict
        :data:`METRICS` -> a ``float`` for one profile, else an array of the other axes' shape
        (see the module doc for the formulas; ``peak`` is a position, as a float).
    """
    if empty not in ("refuse", "nan"):
        raise _checks.ArgumentError("empty", f"must be 'refuse' or 'nan', got {empty!r}")
    rho = _checks.real("rho", rho, minimum=0.0, maximum=1.0)    # refuses complex, text, NaN, out of [0, 1]
    if rho.ndim == 0:
        raise _checks.ArgumentError("rho", "must have at least 2 positions, got a scalar")
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)) \
            or not -rho.ndim <= axis < rho.ndim:
        raise _checks.ArgumentError("axis", f"must be an integer in [{-rho.ndim}, {rho.ndim - 1}] (an axis of "
                                            f"rho, of shape {rho.shape}), got {_checks.short_repr(axis)}")
    rho = np.moveaxis(rho, axis, -1)
    if rho.shape[-1] < 2:
        raise _checks.ArgumentError("rho", f"must have at least 2 positions, got {rho.shape[-1]}")
    T = rho.shape[-1]
    pos = np.arange(1, T + 1, dtype=float)
    total = rho.sum(axis=-1)
    if empty == "refuse" and np.any(total == 0):
        raise _checks.ArgumentError("rho", "must have a propagating position (a positive entry): the "
                                           "localization of an all-zero profile is undefined")
    empty_rows = total == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        q = rho / np.where(empty_rows, 1.0, total)[..., None]
        logq = np.where(q > 0, np.log(np.where(q > 0, q, 1.0)), 0.0)
        entropy = -(q * logq).sum(axis=-1)
        centroid = (q * pos).sum(axis=-1)
        width = np.sqrt(np.maximum((q * (pos - centroid[..., None]) ** 2).sum(axis=-1), 0.0))
    peak = rho.argmax(axis=-1) + 1.0
    out = dict(total=total, entropy=entropy, entropy_normalized=entropy / np.log(T),
               effective_tokens=np.exp(entropy), peak=peak, peak_s=peak / T,
               centroid=centroid, width=width)
    for key in METRICS[1:]:
        out[key] = np.where(empty_rows, np.nan, out[key])
    if rho.ndim == 1:                                   # one profile: plain floats
        return {key: float(value) for key, value in out.items()}
    return out
