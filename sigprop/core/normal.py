"""Standard normal random numbers for the Monte Carlo, in float64 and float32.

float64 numbers come from NumPy's ziggurat (``Generator.standard_normal``).  float32
numbers come from a vectorized Box-Muller transform (:func:`box_muller`), about three
times faster here than NumPy's float32 ziggurat, which spends most of its time in a
branchy loop per number (docs/performance.md): each 64-bit word of the generator gives
one *pair* of independent ``N(0, 1)`` numbers (placed side by side),

.. math::

    u = (\\lfloor w / 2^{24} \\rfloor + 1/2)\\, 2^{-40} \\in (0, 1), \\qquad
    \\theta = 2\\pi\\, (w \\bmod 2^{24})\\, 2^{-24}, \\qquad
    (n_1, n_2) = \\sqrt{-2 \\ln u}\\, (\\cos\\theta, \\sin\\theta),

with the radius computed in float64 (40 bits: the largest radius is
``sqrt(2 ln 2^41) = 7.5``, so a pair is cut off only beyond 7.5 standard deviations, a
probability ``exp(-28) = 7e-13``) and the angle in float32 (24 bits, the float32
resolution of ``[0, 1)``).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

#: Pairs per block of :func:`box_muller`: the temporaries of a block (about 3.5 MB) stay
#: in a core's cache.
BLOCK = 1 << 17

_RADIUS_BITS = 40
_ANGLE_BITS = 64 - _RADIUS_BITS
_ANGLE_MASK = np.uint64((1 << _ANGLE_BITS) - 1)
_RADIUS_SCALE = 2.0 ** -_RADIUS_BITS
_ANGLE_SCALE = np.float32(2.0 * np.pi / 2 ** _ANGLE_BITS)


def numbers(rng: np.random.Generator, sizes: Iterable[int],
            dtype: np.dtype | type = np.float64) -> Iterator[np.ndarray]:
    """Consecutive pieces of one sequence of i.i.d. ``N(0, 1)`` numbers, of the given sizes.

    The sequence depends only on the generator's state and ``dtype``, never on how it is
    cut: the concatenated pieces are the same for any ``sizes`` with the same total.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness.
    sizes : iterable of int
        Length of each piece (a generator is consumed lazily).
    dtype : numpy.float64 or numpy.float32
        float64: ``rng.standard_normal`` (NumPy's ziggurat); float32: :func:`box_muller`, the
        odd number left over by a piece of odd length opening the next piece.

    Yields
    ------
    numpy.ndarray
        A new flat array per piece.
    """
    if np.dtype(dtype) != np.float32:
        for n in sizes:
            yield rng.standard_normal(n)
        return
    spare = np.empty(0, dtype=np.float32)
    for n in sizes:
        fresh = box_muller(rng, n - spare.size) if n > spare.size else spare[:0]
        pool = np.concatenate([spare, fresh]) if spare.size else fresh
        piece, spare = pool[:n], pool[n:].copy()       # 0 or 1 number left for the next piece
        yield piece


def box_muller(rng: np.random.Generator, n: int) -> np.ndarray:
    """``2 ceil(n / 2)`` i.i.d. ``N(0, 1)`` float32 numbers by the Box-Muller transform.

    Word ``j`` of the bit generator gives the pair at places ``2j`` and ``2j + 1`` (module
    docstring), so that the numbers do not depend on how a sequence is cut into calls.

    Parameters
    ----------
    rng : numpy.random.Generator
        Its bit generator supplies one 64-bit word (``random_raw``) per pair.
    n : int
        How many numbers are needed (one more is made when ``n`` is odd).

    Returns
    -------
    numpy.ndarray
        A float32 vector of even length.
    """
    pairs = (n + 1) // 2
    out = np.empty((pairs, 2), dtype=np.float32)
    block = min(BLOCK, max(pairs, 1))
    bits = np.empty(block, dtype=np.uint64)
    radius64 = np.empty(block)
    radius, angle = np.empty(block, dtype=np.float32), np.empty(block, dtype=np.float32)
    cos, sin = np.empty(block, dtype=np.float32), np.empty(block, dtype=np.float32)
    raw = rng.bit_generator.random_raw
    for start in range(0, pairs, block):       # blocks of memory, not samples: a few per batch
        k = min(block, pairs - start)
        words = raw(k)
        b, r64, r, a = bits[:k], radius64[:k], radius[:k], angle[:k]
        np.right_shift(words, np.uint64(_ANGLE_BITS), out=b)
        r64[...] = b
        np.add(r64, 0.5, out=r64)
        np.multiply(r64, _RADIUS_SCALE, out=r64)       # u in (0, 1), never 0
        np.log(r64, out=r64)
        np.multiply(r64, -2.0, out=r64)
        r[...] = r64
        np.sqrt(r, out=r)
        np.bitwise_and(words, _ANGLE_MASK, out=b)
        a[...] = b
        np.multiply(a, _ANGLE_SCALE, out=a)
        np.cos(a, out=cos[:k])
        np.sin(a, out=sin[:k])
        np.multiply(cos[:k], r, out=out[start:start + k, 0])
        np.multiply(sin[:k], r, out=out[start:start + k, 1])
    return out.reshape(-1)
