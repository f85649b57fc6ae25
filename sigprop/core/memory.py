"""Memory needs checked before the work: refuse what the machine cannot hold.

A computation whose working memory grows with its arguments (a ``T x T`` attention
matrix, a ``d x d`` weight matrix, one batch of a simulation) calls :func:`require`
with its estimated need first.  When the need exceeds the machine's physical memory
the call raises an :class:`~sigprop.core.checks.ArgumentError` naming the argument
that drives it and both sizes, e.g. ``T needs about 240 GB of memory (three 100000 x
100000 float64 matrices), more than this machine's 23 GB``, before any work is done.
The limit is the physical memory (not the memory free at the moment), so that the
same arguments give the same answer on the same machine.
"""
from __future__ import annotations

import math
import os

from sigprop.core.checks import ArgumentError

#: Environment variable that lowers the limit (bytes), e.g. for tests.
LIMIT_VARIABLE = "SIGPROP_MEMORY_LIMIT"


def machine_bytes() -> int:
    """The limit: physical memory, or ``$SIGPROP_MEMORY_LIMIT`` bytes if smaller (a number ``> 0``; ``inf``
    leaves physical memory; anything else is refused, naming the variable)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):    # pragma: no cover - non-POSIX
        total = 1 << 34
    value = os.environ.get(LIMIT_VARIABLE)
    if value:
        try:
            limit = float(value)
        except ValueError:
            limit = math.nan
        if not limit > 0:                            # NaN, zero, negative, text
            raise ArgumentError(LIMIT_VARIABLE, f"must be a number of bytes > 0 (inf for physical memory), "
                                                f"got {value!r}")
        if limit < total:
            total = int(limit)
    return int(total)


def human(n: float) -> str:
    """``n`` bytes as text: ``512 MB``, ``3.2 GB``, ``8e+06 TB``."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.3g} {unit}" if value < 1e4 else f"{value:.2g} {unit}"
    return f"{int(n)} B"


def require(nbytes: float, argument: str, what: str) -> None:
    """Refuse (``ArgumentError`` on ``argument``) when ``nbytes`` exceed the machine.

    ``what`` says what the memory holds, e.g. ``"two 100000 x 100000 float64 matrices"``.
    """
    limit = machine_bytes()
    if not nbytes <= limit:              # also refuses NaN and inf
        raise ArgumentError(argument, f"needs about {human(float(nbytes))} of memory ({what}), more than "
                                      f"this machine's {human(limit)}")


#: The longest single computation accepted by default, in seconds of a measured cost model (e.g. the
#: chi-square methods' :data:`sigprop.rho.logits.CHI2_SECONDS`): the API shows no progress, and a call
#: estimated to run longer is refused before it starts, with the estimate (:func:`require_time`), unless
#: ``$SIGPROP_TIME_LIMIT`` allows more.
MAX_SECONDS = 120.0
#: Environment variable that sets the limit of :func:`require_time` (seconds; ``inf``: none).
TIME_VARIABLE = "SIGPROP_TIME_LIMIT"


def time_limit() -> float:
    """The longest computation accepted: ``$SIGPROP_TIME_LIMIT`` seconds if set (a number ``> 0``, ``inf``
    for none; anything else is refused, naming the variable), else :data:`MAX_SECONDS`."""
    value = os.environ.get(TIME_VARIABLE)
    if value is None or value == "":
        return MAX_SECONDS
    try:
        limit = float(value)
    except ValueError:
        limit = math.nan
    if not limit > 0:                       # NaN, zero, negative, text
        raise ArgumentError(TIME_VARIABLE, f"must be a number of seconds > 0 (inf for no limit), got {value!r}")
    return limit


def require_time(seconds: float, argument: str, what: str) -> None:
    """Refuse (``ArgumentError`` on ``argument``) work estimated to take more than :func:`time_limit`.

    ``what`` says what the time is spent on, e.g. ``"the exact method on 8e+07 chi-square weights
    (1.1e-05 s each, measured)"``.
    """
    limit = time_limit()
    if not seconds <= limit:                # also refuses NaN and inf
        raise ArgumentError(argument, f"makes {what} take about {float(seconds):.2g} s, more than the "
                                      f"{limit:g} s accepted for one call (set {TIME_VARIABLE} to allow longer)")


#: Seconds per ``n^3`` of the dense ``n x n`` operations sized before they run (NumPy with one BLAS
#: thread, measured 2026-12-06 at n = 1000 and 2000): an eigendecomposition (``eigh``), a QR
#: factorization, a matrix product.
CUBIC_SECONDS = {"eigh": 5.6e-10, "qr": 3.0e-10, "matmul": 1.0e-10}


def cubic_seconds(n: float, *operations: str) -> float:
    """Seconds of ``operations`` (keys of :data:`CUBIC_SECONDS`) on ``n x n`` matrices, one each."""
    return sum(CUBIC_SECONDS[op] for op in operations) * float(n) ** 3


def matrices(count: float, rows: float, cols: float, itemsize: int = 8) -> float:
    """Bytes of ``count`` dense ``rows x cols`` arrays (as a float: no integer overflow)."""
    return float(count) * float(rows) * float(cols) * itemsize


def driver(need, arguments: dict[str, tuple[float, float]]) -> str:
    """The argument that drives ``need(**values)``, to be named by :func:`require`.

    ``arguments`` maps each name to ``(value, smallest)``: the driver is the argument whose
    reset to its smallest accepted value lowers the need most (ties: the first listed), e.g.
    the batch, not the sequence length, for a batch of ``10^8`` short sequences.
    """
    values = {k: float(v) for k, (v, _) in arguments.items()}
    return min(arguments, key=lambda k: need(**{**values, k: float(arguments[k][1])}))


#: Bytes per number of a result shown as a table or JSON text (``--format table|json|csv`` and
#: ``--out``): its float64 array, the Python float and list entry of the JSON-ready copy, the text
#: chunks of the encoder and the joined text.  Measured (peak RSS, two sizes, slope) for
#: ``predict`` at T = 2 x 10^5 and 4 x 10^5: 192 (table), 163 (json) and 70 (csv) bytes per
#: number; ``tests/fuzz/test_sizes.py`` checks the constant against a new measurement.
OUTPUT_BYTES_PER_NUMBER = 240


def require_output(numbers: float, argument: str) -> None:
    """Refuse (``ArgumentError`` on ``argument``) a result of ``numbers`` numbers whose text (table or
    JSON, :data:`OUTPUT_BYTES_PER_NUMBER` bytes each) exceeds the machine's memory, before the work."""
    require(OUTPUT_BYTES_PER_NUMBER * float(numbers), argument,
            f"a result of {float(numbers):.3g} numbers written as a table or JSON, about "
            f"{OUTPUT_BYTES_PER_NUMBER} bytes each")
