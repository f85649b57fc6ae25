"""Argument types shared by the command families: parsing only.

These turn text into Python values (a number, a list, an array read from a file) and
refuse text that is not one.  Ranges are the API's business: a value the API refuses
comes back as an :class:`~sigprop.core.checks.ArgumentError` and is reported with the
flag the command declares for it.  The one range checked here is that of a seed,
which the command line turns into ``numpy.random.SeedSequence`` itself.
"""
from __future__ import annotations

import argparse
import decimal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The largest integer a flag accepts: NumPy's ``int64`` (``sigprop.core.checks.INT_MAX``).
INT_MAX = 2 ** 63 - 1
_FLOAT_MAX = decimal.Decimal(sys.float_info.max)


def number(kind: type, minimum: int | None = None) -> Callable[[str], Any]:
    """Parse an ``int`` or a ``float``.

    An integer may be written in floating-point notation when its value is a whole number
    (``1e9``).  An integer beyond ``int64`` (``2^63 - 1``) is refused here with the accepted range, from
    ``minimum`` when given (``must be an integer in [1, 2^63 - 1], got '1e20'``): no value NumPy cannot
    hold reaches the command.  Other ranges (``minimum`` included) are the command's own checks.
    """
    def parse(text: str) -> Any:
        if kind is not int:
            try:
                return kind(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        rng = f"[{'-2^63' if minimum is None else minimum}, 2^63 - 1]"
        try:
            value = int(text)
        except ValueError:
            try:
                exact = decimal.Decimal(text.strip())
            except decimal.InvalidOperation:
                exact = decimal.Decimal("NaN")
            if exact.is_finite() and exact.copy_abs() > _FLOAT_MAX:      # not even a float64 (and no 10^9-digit int)
                raise argparse.ArgumentTypeError(f"must be an integer, got {text!r} (the accepted range is {rng})") \
                    from None
            if not (exact.is_finite() and exact == exact.to_integral_value()):
                raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
            value = int(exact)
        if not -INT_MAX - 1 <= value <= INT_MAX:
            raise argparse.ArgumentTypeError(f"must be an integer in {rng}, got {text!r}")
        return value
    parse.__name__ = kind.__name__        # argparse names the type in its messages
    return parse


def seed(text: str) -> int:
    """Parse a seed: an integer >= 0."""
    value = number(int)(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def numbers(kind: type) -> Callable[[str], list]:
    """Parse a comma-separated list of ``int`` or ``float`` (an empty item, as in ``1,,2`` or ``1,``,
    is refused: it is a typo more often than not, as for :func:`seeds`)."""
    item = number(kind)

    def parse(text: str) -> list:
        items = [x.strip() for x in text.split(",")]
        if not any(items):
            raise argparse.ArgumentTypeError(f"must be a comma-separated list, got {text!r}")
        if not all(items):
            raise argparse.ArgumentTypeError(f"must be a comma-separated list with no empty item, got {text!r}")
        return [item(x) for x in items]
    return parse


def words(text: str) -> list[str]:
    """Parse a comma-separated list of names (``post,pre``; an empty item, as in ``post,,pre`` or ``A,``,
    is refused, as for :func:`numbers`)."""
    items = [x.strip() for x in text.split(",")]
    if not any(items):
        raise argparse.ArgumentTypeError(f"must be a comma-separated list of names, got {text!r}")
    if not all(items):
        raise argparse.ArgumentTypeError(f"must be a comma-separated list with no empty item, got {text!r}")
    return items


def seeds(text: str) -> list[int]:
    """Parse a comma-separated list of seeds (integers >= 0; an empty item is refused)."""
    items = [x.strip() for x in text.split(",")]
    if len(items) > 1 and not all(items):
        raise argparse.ArgumentTypeError(f"must be comma-separated integers >= 0 with no empty item, got {text!r}")
    return [seed(x) for x in items]


def npy(text: str) -> tuple[Path, Any]:
    """Read a real numeric ``.npy`` array: ``(path, array)``.

    The header is read first (``numpy.lib.format``): an array that is not real and numeric, whose
    file is shorter than its header says (a truncated file), or whose reading (the array and its
    float64 copy) would exceed the machine's memory (:func:`sigprop.core.memory.require`), is refused
    before its data are read.
    """
    return _npy(text, 0)


def npy_matrix(text: str) -> tuple[Path, Any]:
    """:func:`npy` for a model's ``d x d`` matrix (``--weights``, ``--step-cov``): also refused before
    its data are read when the model it makes, :data:`sigprop.rho.logits.MODEL_ARRAYS` float64 ``d x d``
    matrices (``W``, ``Sigma`` and their products), would exceed the machine's memory."""
    from sigprop.rho.logits import MODEL_ARRAYS

    return _npy(text, MODEL_ARRAYS)


def _npy(text: str, model_arrays: int) -> tuple[Path, Any]:
    import numpy as np

    from sigprop.core.memory import human, machine_bytes

    path = Path(text)
    try:
        regular = path.is_file()
    except (OSError, ValueError) as exc:       # a name too long, a NUL byte: pathlib raises, not False
        raise argparse.ArgumentTypeError(f"cannot read {text}: {getattr(exc, 'strerror', None) or exc}") from None
    if not regular:
        from sigprop.core.results import not_a_file

        raise argparse.ArgumentTypeError(not_a_file(text))
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            shape, _, dtype = (np.lib.format.read_array_header_1_0(fh) if version == (1, 0)
                               else np.lib.format.read_array_header_2_0(fh))
            offset = fh.tell()
    except Exception as exc:  # noqa: BLE001 - any unreadable header is one usage error
        raise argparse.ArgumentTypeError(f"cannot read {text} as a .npy array ({type(exc).__name__})") from None
    if not np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.complexfloating):
        raise argparse.ArgumentTypeError(f"{text} must hold a real numeric array, its header says {dtype}")
    count = float(np.prod([float(n) for n in shape]))
    if path.stat().st_size < offset + count * dtype.itemsize:
        raise argparse.ArgumentTypeError(f"{text} is truncated: its header says shape {tuple(shape)} of {dtype} "
                                         f"({human(count * dtype.itemsize)}), the file holds "
                                         f"{human(max(0, path.stat().st_size - offset))} after it")
    need = count * (dtype.itemsize + 8)
    if not need <= machine_bytes():
        raise argparse.ArgumentTypeError(f"{text} holds an array of shape {tuple(shape)}: reading it needs about "
                                         f"{human(need)} of memory, more than this machine's {human(machine_bytes())}")
    if model_arrays and len(shape) >= 2:
        d = float(shape[-1])
        model = model_arrays * max(1.0, count / max(1.0, float(shape[-2]) * d)) * d * d * 8   # an empty array: 0
        if not model <= machine_bytes():
            raise argparse.ArgumentTypeError(
                f"{text} holds an array of shape {tuple(shape)}: the model needs about {human(model)} of memory "
                f"({model_arrays} float64 matrices of {shape[-1]} x {shape[-1]}: W, Sigma and their products), "
                f"more than this machine's {human(machine_bytes())}")
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one usage error
        raise argparse.ArgumentTypeError(f"cannot read {text} as a .npy array ({type(exc).__name__})") from None
    if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.number) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise argparse.ArgumentTypeError(f"{text} must hold a real numeric array")
    return path, arr.astype(float)


def progress(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--no-progress``."""
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
