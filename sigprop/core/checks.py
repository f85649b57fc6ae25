"""Argument checks shared by the API and the command line.

Every check raises :class:`ArgumentError` (a ``ValueError``) with one line that
names the argument and the accepted range.  The error also carries the Python
parameter name (``.argument``) and the message without it (``.detail``), so that the
command line can name its own flag instead (``argument --length: must be ...``) and
exit with code 2.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class ArgumentError(ValueError):
    """A bad value for the parameter ``argument``: ``str(error) == f"{argument} {detail}"``.

    Examples
    --------
    >>> e = ArgumentError("T", "must be an integer >= 2, got 1")
    >>> str(e), e.argument, e.detail
    ('T must be an integer >= 2, got 1', 'T', 'must be an integer >= 2, got 1')
    >>> isinstance(e, ValueError)
    True
    """

    def __init__(self, argument: str, detail: str):
        super().__init__(f"{argument} {detail}")
        self.argument = argument
        self.detail = detail


def integer(name: str, value: Any, minimum: int) -> int:
    """``value`` as an ``int`` that is at least ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if not (isinstance(value, (float, np.floating)) and float(value).is_integer()):
            raise ArgumentError(name, f"must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ArgumentError(name, f"must be an integer >= {minimum}, got {value!r}")
    return int(value)


def real(name: str, value: Any, *, minimum: float | None = None, positive: bool = False,
         maximum: float | None = None, open_max: bool = False) -> np.ndarray:
    """``value`` as a finite float array, optionally bounded below/above."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError(name, f"must be a real number, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(name, f"must be finite, got {_show(value)}")
    if positive and np.any(arr <= 0):
        raise ArgumentError(name, f"must be > 0, got {_show(value)}")
    if minimum is not None and np.any(arr < minimum):
        raise ArgumentError(name, f"must be >= {minimum:g}, got {_show(value)}")
    if maximum is not None and (np.any(arr >= maximum) if open_max else np.any(arr > maximum)):
        op = "<" if open_max else "<="
        raise ArgumentError(name, f"must be {op} {maximum:g}, got {_show(value)}")
    return arr


def square_matrix(name: str, value: Any) -> np.ndarray:
    """``value`` as a finite float array of shape ``(..., d, d)`` with ``d >= 1``."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError(name, "must be a real square matrix") from None
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2] or arr.shape[-1] < 1:
        raise ArgumentError(name, f"must be a square d x d matrix with d >= 1, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(name, "must have finite entries (found NaN or inf)")
    return arr


def _show(value) -> str:
    arr = np.asarray(value)
    if arr.size == 1:
        return repr(arr.item())
    bad = arr.ravel()
    return f"array with min {np.nanmin(bad)!r} and max {np.nanmax(bad)!r}"
