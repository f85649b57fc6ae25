"""The contract every command and public function keeps, as assertions (docs/contract.md).

* A refusal is one line: a ``ValueError`` (in Python; :class:`~sigprop.core.checks.ArgumentError`
  names the parameter) or exit code 2 with one line on standard error (on the command
  line), never a traceback, another exception type or a warning.
* A result holds only finite numbers (``None`` in JSON stands for a documented
  "undefined", never for an overflow) and probabilities in ``[0, 1]``.
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
from hypothesis import strategies as st

#: Values that are wrong for any numeric parameter or extreme for it.
NASTY = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 1e300, 1e-300, -1.0, 0.0, -0.0,
         2 ** 63, -(2 ** 63), True, "3", "x", None, [], [1.0, 2.0], complex(1, 1), object()]
#: Sizes (``T``, ``d``, ``samples``): tiny, wrong, or far beyond any machine.
SIZES = [-1, 0, 1, 2, 3, 5, 2.5, 3.0, 10 ** 15, 10 ** 30, float("nan"), float("inf"), "4", None, True]


def reals(low: float = -1e3, high: float = 1e3):
    """Ordinary values mixed with nasty ones."""
    return st.one_of(st.floats(low, high), st.sampled_from(NASTY),
                     st.floats(allow_nan=True, allow_infinity=True))


#: Sample counts: any accepted count runs (a huge one would run for ever, by design).
COUNTS = [-1, 0, 1, 2, 2.5, 3.0, float("nan"), float("inf"), "4", None, True]


def sizes(ordinary=(2, 3, 4, 7, 16)):
    return st.one_of(st.sampled_from(list(ordinary)), st.sampled_from(SIZES))


def counts(ordinary=(3, 10)):
    return st.one_of(st.sampled_from(list(ordinary)), st.sampled_from(COUNTS))


def numbers(obj) -> list[float]:
    """Every number inside ``obj`` (arrays, dataclasses, dicts, lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return numbers(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in numbers(v)]
    if isinstance(obj, (list, tuple)):
        return [x for v in obj for x in numbers(v)]
    if isinstance(obj, np.ndarray):
        if np.issubdtype(obj.dtype, np.number):
            return obj.astype(complex).ravel().tolist() if np.iscomplexobj(obj) else obj.ravel().tolist()
        return [x for v in obj.ravel() for x in numbers(v)]
    if isinstance(obj, (bool, np.bool_)):
        return []
    if isinstance(obj, (int, float, np.integer, np.floating)):
        return [float(obj)]
    return []


def holds(call, *, probabilities=()):
    """Run ``call()``: a one-line ``ValueError``, or a finite result; returns the result or None.

    ``probabilities`` are attribute or key names whose values must lie in ``[0, 1]``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no warning may reach the user
        try:
            result = call()
        except ValueError as exc:
            message = str(exc)
            assert message and "\n" not in message.strip(), f"refusal is not one line: {message!r}"
            return None
    bad = [x for x in numbers(result) if not math.isfinite(x)]
    assert not bad, f"non-finite numbers in the result: {bad[:5]}"
    for name in probabilities:
        value = result[name] if isinstance(result, dict) else getattr(result, name)
        arr = np.asarray(value, dtype=float)
        assert np.all((arr >= 0) & (arr <= 1)), f"{name} outside [0, 1]"
    return result
