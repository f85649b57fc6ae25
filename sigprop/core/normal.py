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

import sys

import numpy as np

from sigprop.core.checks import ArgumentError

#: Pairs per block of the Box-Muller transform: a block's temporaries (at most 3.5 MB) are
#: allocated once per :class:`Normals` and reused, so that no batch touches fresh memory pages;
#: blocks this long keep the many threads' hand-overs of Python's GIL rare.
BLOCK = 1 << 17

_RADIUS_BITS = 40
_ANGLE_BITS = 64 - _RADIUS_BITS
_ANGLE_MASK = np.uint32((1 << _ANGLE_BITS) - 1)
_LOW = 0 if sys.byteorder == "little" else 1      # the 32-bit half of a word holding its low bits
_RADIUS_SCALE = 2.0 ** -_RADIUS_BITS
_ANGLE_SCALE = np.float32(2.0 * np.pi / 2 ** _ANGLE_BITS)


class Normals:
    """One sequence of i.i.d. ``N(0, 1)`` numbers, handed out in pieces of any length.

    The sequence depends only on the generator's state and ``dtype``, never on how it is cut:
    the concatenated pieces are the same for any lengths with the same total.  float64 numbers
    are NumPy's ziggurat (``rng.standard_normal``); float32 numbers the Box-Muller transform of
    the module docstring, the spare member of a pair cut by a piece of odd length opening the
    next piece.  Workspace is allocated once and reused.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness (its bit generator supplies one 64-bit word per float32 pair).
    dtype : numpy.float64 or numpy.float32
        Precision of the numbers.

    Examples
    --------
    >>> stream = Normals(np.random.default_rng(0), np.float32)
    >>> stream.fill(np.empty(5, dtype=np.float32)).shape
    (5,)
    """

    def __init__(self, rng: np.random.Generator, dtype: np.dtype | type = np.float64) -> None:
        self.rng = rng
        self.dtype = np.dtype(dtype)
        self._spare: list[float] = []
        self._work: tuple[np.ndarray, ...] | None = None

    def fill(self, out: np.ndarray) -> np.ndarray:
        """Fill the flat, contiguous array ``out`` (of this stream's dtype) with the next numbers.

        Parameters
        ----------
        out : numpy.ndarray
            One-dimensional and C-contiguous, of dtype ``self.dtype``.

        Returns
        -------
        numpy.ndarray
            ``out``.
        """
        if self.dtype != np.float32:
            self.rng.standard_normal(out=out)
            return out
        start = 0
        if self._spare and out.size:
            out[0] = self._spare.pop()
            start = 1
        pairs, odd = divmod(out.size - start, 2)
        self._pairs(out[start:start + 2 * pairs].reshape(pairs, 2))
        if odd:
            last = np.empty((1, 2), dtype=np.float32)
            self._pairs(last)
            out[-1] = last[0, 0]
            self._spare.append(float(last[0, 1]))
        return out

    def skip(self, count: int) -> None:
        """Pass over the next ``count`` numbers without computing them (float32 only).

        A float32 pair is one word of the bit generator, so the stream jumps ahead by the bit
        generator's ``advance`` (PCG64, NumPy's default); a float64 number takes a varying number
        of words (the ziggurat's rejections), so float64 streams cannot skip.
        """
        if count < 0:
            raise ArgumentError("count", f"must be >= 0, got {count}")
        if self.dtype != np.float32 or not hasattr(self.rng.bit_generator, "advance"):
            raise ArgumentError.about("count", "skip needs float32 numbers from a bit generator with advance (PCG64)")
        if self._spare and count:
            self._spare.pop()
            count -= 1
        words, odd = divmod(count, 2)
        self.rng.bit_generator.advance(words)
        if odd:                                  # the first member of the next pair is skipped
            last = np.empty((1, 2), dtype=np.float32)
            self._pairs(last)
            self._spare.append(float(last[0, 1]))

    def _pairs(self, out: np.ndarray) -> None:
        """Fill ``out`` (``k x 2`` float32) with ``k`` Box-Muller pairs, block by block.

        Workspace: 20 bytes a pair (the words, then the radius in float64, in one 8-byte array;
        the angle bits, the radius in float32, the angle and its cosine in four 4-byte arrays).
        """
        if self._work is None:
            self._work = (np.empty(BLOCK, dtype=np.uint32), *(np.empty(BLOCK, dtype=np.float32) for _ in range(3)))
        low, radius, angle, cos = self._work
        raw = self.rng.bit_generator.random_raw
        pairs = out.shape[0]
        for start in range(0, pairs, BLOCK):     # blocks of memory, not samples: a few per batch
            k = min(BLOCK, pairs - start)
            words = raw(k)
            u, r, a, c = low[:k], radius[:k], angle[:k], cos[:k]
            np.bitwise_and(words.view(np.uint32)[_LOW::2], _ANGLE_MASK, out=u)   # the low 24 bits
            np.multiply(u, _ANGLE_SCALE, out=a, casting="same_kind")
            np.right_shift(words, np.uint64(_ANGLE_BITS), out=words)          # the high 40 bits
            u64 = words.view(np.float64)                                       # in place, element by element
            np.multiply(words, _RADIUS_SCALE, out=u64, casting="unsafe")
            np.add(u64, _RADIUS_SCALE / 2, out=u64)          # u in (0, 1), never 0
            np.log(u64, out=u64)
            np.multiply(u64, -2.0, out=r, casting="same_kind")
            np.sqrt(r, out=r)
            np.cos(a, out=c)
            np.sin(a, out=a)
            np.multiply(c, r, out=out[start:start + k, 0])
            np.multiply(a, r, out=out[start:start + k, 1])


def box_muller(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` i.i.d. ``N(0, 1)`` float32 numbers by the Box-Muller transform (module docstring).

    Word ``j`` of the bit generator gives the numbers at places ``2j`` and ``2j + 1``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Its bit generator supplies one 64-bit word (``random_raw``) per pair.
    n : int
        How many numbers.

    Returns
    -------
    numpy.ndarray
        A float32 vector of length ``n``.
    """
    return Normals(rng, np.float32).fill(np.empty(n, dtype=np.float32))
