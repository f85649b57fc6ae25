"""Running one cell where it is scheduled (a Dask worker, or this process).

:func:`execute` imports the study function by its path, calls it with the cell's
arguments (a typed result gives its measures) and returns ``("done", {var: float array})`` or
``("failed", "Error: message")``: a cell that raises never stops the sweep.  Only plain values cross the wire.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sigprop.core.checks import ArgumentError
from sigprop.core.study import StudyResult
from sigprop.sweep.registry import resolve

ERROR_CHARS = 2000


def execute(function: str, kwargs: Mapping[str, Any], outputs: Mapping[str, int]) -> tuple[str, Any]:
    """Run one cell; ``outputs`` maps each declared variable to its number of own dimensions."""
    try:
        result = resolve(function)(**kwargs)
        if isinstance(result, StudyResult):       # a typed result: its measures
            result = result.values()
        out = {}
        for name, ndim in outputs.items():
            if name not in result:
                raise ArgumentError.about("study", f"the study returned no output {name!r}")
            value = np.asarray(result[name], dtype=float)
            if value.ndim != ndim:
                raise ArgumentError.about("study", f"output {name!r} has {value.ndim} dimensions, declared {ndim}")
            out[name] = value
        return "done", out
    except Exception as exc:            # recorded with the cell; the sweep goes on
        return "failed", describe(exc)


def describe(exc: BaseException) -> str:
    """``"ValueError: first line of the message"``, at most :data:`ERROR_CHARS` characters."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:ERROR_CHARS]
