"""Argument checks shared by the API and the command line.

Every check raises :class:`ArgumentError` (a ``ValueError``) with one line that
names the argument and the accepted range.  The error also carries the Python
parameter name (``.argument``) and the message without it (``.detail``), so that the
command line can name its own flag instead (``argument --length: must be ...``) and
exit with code 2.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np


class ArgumentError(ValueError):
    """A bad value for the parameter ``argument``: ``str(error) == f"{argument} {detail}"`` (or with
    ``separator=": "``, ``f"{argument}: {detail}"``, for a detail that is not a sentence about it).

    Examples
    --------
    >>> e = ArgumentError("T", "must be an integer >= 2, got 1")
    >>> str(e), e.argument, e.detail
    ('T must be an integer >= 2, got 1', 'T', 'must be an integer >= 2, got 1')
    >>> isinstance(e, ValueError)
    True
    """

    def __init__(self, argument: str, detail: str, separator: str | None = " "):
        detail = str(detail)
        if "\n" in detail or "\r" in detail:    # one line, whatever the refused value holds (a file name)
            detail = " ".join(part.strip() for part in detail.splitlines())
        super().__init__(detail if separator is None else f"{argument}{separator}{detail}")
        self.argument = argument
        self.detail = detail
        self.separator = separator

    @classmethod
    def about(cls, argument: str, message: str) -> ArgumentError:
        """A refusal of ``argument`` whose ``message`` says what it refuses in its own words
        (``str(error) == message == error.detail``; the command line names the flag before it).

        >>> str(ArgumentError.about("axes", "the specification needs an [axes] table"))
        'the specification needs an [axes] table'
        """
        return cls(argument, message, separator=None)

    def __reduce__(self):
        """Pickle as ``(argument, detail, separator)``: a worker process sends its errors to the caller."""
        return type(self), (self.argument, self.detail, self.separator)


class MissingFileError(ArgumentError, FileNotFoundError):
    """A file argument that names no file: an :class:`ArgumentError` (one line naming the argument)
    that is also the ``FileNotFoundError`` older callers catch.

    Examples
    --------
    >>> e = MissingFileError("path", "x.json: no such file")
    >>> str(e), isinstance(e, ValueError), isinstance(e, FileNotFoundError)
    ('path x.json: no such file', True, True)
    """


#: The largest integer any argument accepts: NumPy's ``int64`` (a larger one overflows when NumPy converts it).
INT_MAX = 2 ** 63 - 1


@contextlib.contextmanager
def renamed(names: dict[str, str]) -> Iterator[None]:
    """Within the block, an :class:`ArgumentError` about an argument of ``names`` names the caller's own
    argument instead (``renamed({"samples": "points"})`` around a call that passes ``samples=points``).

    >>> with contextlib.suppress(ArgumentError), renamed({"samples": "points"}):
    ...     integer("samples", 0, 2)
    >>> try:
    ...     with renamed({"samples": "points"}):
    ...         integer("samples", 0, 2)
    ... except ArgumentError as e:
    ...     print(e)
    points must be an integer >= 2, got 0
    """
    try:
        yield
    except ArgumentError as exc:
        if exc.argument not in names:
            raise
        raise type(exc)(names[exc.argument], exc.detail, exc.separator) from None


def broadcast(**arrays: Any) -> np.broadcast:
    """``numpy.broadcast`` of the named ``arrays``, or an :class:`ArgumentError` naming the first one that
    does not broadcast with those before it (a ``ValueError`` from NumPy names no argument).

    >>> broadcast(m=[0.1, 0.2], v=[[1.0], [2.0]]).shape
    (2, 2)
    >>> broadcast(m=[0.1, 0.2, 0.3], v=[1.0, 2.0])
    Traceback (most recent call last):
    ...
    sigprop.core.checks.ArgumentError: v has shape (2,), which does not broadcast with m of shape (3,)
    """
    shapes = {name: np.shape(value) for name, value in arrays.items()}
    try:
        return np.broadcast(*(np.asarray(v) for v in arrays.values()))
    except ValueError:
        names = list(shapes)
        for k in range(1, len(names)):
            try:
                np.broadcast_shapes(*(shapes[n] for n in names[:k + 1]))
            except ValueError:
                before = ", ".join(f"{n} of shape {shapes[n]}" for n in names[:k])
                raise ArgumentError(names[k], f"has shape {shapes[names[k]]}, which does not broadcast with "
                                              f"{before}") from None
        raise


def integer_range(minimum: int, maximum: int | None = None) -> str:
    """The accepted range of an integer as a message says it: ``>= 1``, ``in [1, 8]``, or, when
    the bound is only ``int64``'s, ``in [1, 2^63 - 1]``."""
    if maximum is None:
        return f">= {minimum}"
    return f"in [{minimum}, {'2^63 - 1' if maximum >= INT_MAX else maximum}]"


def integer(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]``; never beyond ``int64`` (:data:`INT_MAX`).

    Examples
    --------
    >>> integer("T", 8.0, 2)
    8
    >>> integer("T", 10 ** 20, 2)
    Traceback (most recent call last):
    ...
    sigprop.core.checks.ArgumentError: T must be an integer in [2, 2^63 - 1], got 100000000000000000000
    """
    top = INT_MAX if maximum is None else min(int(maximum), INT_MAX)
    rng = integer_range(minimum, maximum)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if not (isinstance(value, (float, np.floating)) and float(value).is_integer()):
            raise ArgumentError(name, f"must be an integer {rng}, got {short_repr(value)}")
    if value > top:
        raise ArgumentError(name, f"must be an integer {integer_range(minimum, top)}, got {short_repr(value)}")
    if value < minimum:
        raise ArgumentError(name, f"must be an integer {rng}, got {short_repr(value)}")
    return int(value)


def workers(name: str, value: Any, minimum: int = 1, *, per_core: int = 4) -> int:
    """``value`` as a count of worker processes or threads: an integer in ``[minimum, per_core x
    os.cpu_count()]`` (more than a few per core only share the cores, and each costs a process or a stack).

    Examples
    --------
    >>> workers("workers", 1)
    1
    """
    import os

    cores = os.cpu_count() or 1
    top = per_core * cores
    count = integer(name, value, minimum)
    if count > top:
        raise ArgumentError(name, f"must be an integer in [{minimum}, {top}] ({per_core} per core, "
                                  f"{cores} core{'s' if cores > 1 else ''}), got {short_repr(value)}")
    return count


def choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``, else ``ArgumentError`` listing them.

    Examples
    --------
    >>> choice("form", "finite", ("finite", "limit"))
    'finite'
    >>> choice("form", "x", ("finite", "limit"))
    Traceback (most recent call last):
    ...
    sigprop.core.checks.ArgumentError: form must be one of finite, limit, got 'x'
    """
    choices = tuple(choices)
    try:
        ok = value in choices
    except TypeError:                         # an unhashable or incomparable value
        ok = False
    if not ok:
        raise ArgumentError(name, f"must be one of {', '.join(map(str, choices))}, got {short_repr(value)}")
    return value


def spectrum(m: Any, v: Any, d: Any, *, single_d: bool = True) -> tuple[np.ndarray, np.ndarray, Any]:
    """``(m, v, d)`` of an eigenspectrum: ``m`` finite, ``v`` finite and ``>= 0``, ``d`` an integer
    ``>= 1`` (an ``int``, or with ``single_d=False`` a float array of whole numbers that broadcasts
    with ``m`` and ``v``), and ``v = 0`` where ``d = 1`` (a ``1 x 1`` matrix has one eigenvalue).

    Examples
    --------
    >>> spectrum(0.5, 0.1, 4)
    (array(0.5), array(0.1), 4)
    >>> spectrum(0.5, 0.1, 1)
    Traceback (most recent call last):
    ...
    sigprop.core.checks.ArgumentError: v must be 0 when d = 1 (a 1 x 1 matrix has one eigenvalue)
    """
    m = real("m", m)
    v = real("v", v, minimum=0.0)
    if single_d:
        d = integer("d", d, 1)
    else:
        d = real("d", d, minimum=1.0)
        if np.any(d != np.round(d)):
            raise ArgumentError("d", f"must be an integer >= 1, got {short_repr(d)}")
        if np.any(d > INT_MAX):
            raise ArgumentError("d", f"must be an integer {integer_range(1, INT_MAX)}, got {_show(d)}")
    if np.any((np.asarray(d) == 1) & (v > 0)):
        raise ArgumentError("v", "must be 0 when d = 1 (a 1 x 1 matrix has one eigenvalue)")
    return m, v, d


def seed(name: str, value: Any) -> Any:
    """``value`` if ``numpy.random.default_rng`` accepts it as a seed: None, an integer
    ``>= 0``, a sequence of them, a ``SeedSequence`` or a ``Generator``."""
    if value is None or isinstance(value, (np.random.SeedSequence, np.random.Generator,
                                           np.random.BitGenerator)):
        return value
    items = value if isinstance(value, (list, tuple, np.ndarray)) else [value]
    for item in np.ravel(np.asarray(items, dtype=object)) if len(items) else [None]:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)) or item < 0:
            raise ArgumentError(name, f"must be None, an integer >= 0 or a sequence of them, got {short_repr(value)}")
    return value


def dtype(name: str, value: Any, allowed: tuple[str, ...] = ("float32", "float64")) -> np.dtype:
    """``value`` as a NumPy dtype among ``allowed``."""
    try:
        dt = np.dtype(value)
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.name not in allowed:
        raise ArgumentError(name, f"must be one of {', '.join(allowed)}, got {short_repr(value)}")
    return dt


def floats(name: str, value: Any, what: str = "a real number") -> np.ndarray:
    """``value`` as a float array (any shape; NaN and inf kept): complex numbers, text, objects and
    ragged lists are refused with one line naming ``name`` (``must be {what}, got ...``).  The one
    conversion of the package's array arguments (:func:`real`, :func:`square_matrix` build on it).

    Examples
    --------
    >>> floats("x", [1, 2])
    array([1., 2.])
    >>> floats("x", "a", "a real array")
    Traceback (most recent call last):
    ...
    sigprop.core.checks.ArgumentError: x must be a real array, got 'a'
    """
    if isinstance(value, (str, bytes)):
        raise ArgumentError(name, f"must be {what}, got {short_repr(value)}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise ArgumentError(name, f"must be {what}, got {short_repr(value)}") from None
    if np.issubdtype(raw.dtype, np.complexfloating):
        raise ArgumentError(name, "must be real, got a complex array (its imaginary part would be dropped)")
    if raw.dtype != object and not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_):
        raise ArgumentError(name, f"must be {what}, got {short_repr(value)}")
    try:
        return np.asarray(raw, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ArgumentError(name, f"must be {what}, got {short_repr(value)}") from None


def short_repr(value: Any) -> str:
    """``value`` as a refusal shows it: its repr on one line (at most 60 characters), an array by shape and dtype."""
    if isinstance(value, np.ndarray) and value.size > 1:
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def real(name: str, value: Any, *, minimum: float | None = None, positive: bool = False,
         maximum: float | None = None, open_max: bool = False) -> np.ndarray:
    """``value`` as a finite float array, optionally bounded below/above."""
    arr = floats(name, value, "a real number")
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


def scalar(name: str, value: Any, **bounds: Any) -> float:
    """``value`` as one finite float within ``bounds`` (those of :func:`real`)."""
    arr = real(name, value, **bounds)
    if arr.ndim != 0:
        raise ArgumentError(name, f"must be a single number, got {short_repr(value)}")
    return float(arr)


def square_matrix(name: str, value: Any) -> np.ndarray:
    """``value`` as a finite float array of shape ``(..., d, d)`` with ``d >= 1``."""
    arr = floats(name, value, "a real square matrix")
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2] or arr.shape[-1] < 1:
        raise ArgumentError(name, f"must be a square d x d matrix with d >= 1, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(name, "must have finite entries (found NaN or inf)")
    return arr


def _show(value) -> str:
    """A numeric value in a message: a scalar as it is; an array by its finite range and the count of
    its NaN and infinite entries (``array of 2 entries with 1 NaN (finite entries: min 0.1 and max 0.1)``)."""
    arr = np.asarray(value)
    if arr.size == 1:
        return repr(arr.item())
    flat = arr.ravel()
    finite = flat[np.isfinite(flat)]
    span = f"min {finite.min().item()!r} and max {finite.max().item()!r}" if finite.size else "no finite entry"
    bad = [f"{n} {what}" for n, what in ((np.isnan(flat).sum(), "NaN"), (np.isposinf(flat).sum(), "inf"),
                                         (np.isneginf(flat).sum(), "-inf")) if n]
    if not bad:
        return f"array with {span}"
    return f"array of {flat.size} entries with {', '.join(bad)} (" + (
        f"finite entries: {span})" if finite.size else "no finite entry)")
