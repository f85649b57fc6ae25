"""The Gaussian random-walk data model of [BHK24] (docs/theory.md §1).

Tokens are ``x_0 = 0``, ``x_t = x_{t-1} + eps_t`` with ``eps_t ~ N(0, Sigma / T)``
i.i.d., ``t = 1..T``.  With the default ``Sigma = I_d`` the last token is
``x_T ~ N(0, I_d)``.  Positions are ``i = 1..T`` and ``s = i / T``.

This module holds the step covariance handling, the exact covariance of the
positions, and seeded, batched sampling whose memory does not grow with the
number of samples asked for.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core import normal
from sigprop.core.aliases import ArrayLike, DTypeLike, Seed
from sigprop.core.memory import matrices, require

#: Number of float64 numbers one batch of random steps may hold (8 MiB); a float32 batch holds
#: twice as many, the same bytes (:func:`batch_sizes`).
BATCH_ELEMENTS = 1 << 20


def step_covariance(step_cov: ArrayLike | None, d: int) -> np.ndarray:
    """The ``d x d`` step covariance ``Sigma`` from a flexible description.

    Parameters
    ----------
    step_cov : None, float, (d,) array or (d, d) array
        ``None`` means ``I_d``; a scalar ``a`` means ``a I_d``; a vector its
        diagonal; a matrix must be symmetric positive semi-definite.
    d : int
        Embedding dimension.
    """
    d = _checks.integer("d", d, 1)
    require(matrices(2, d, d), "d", f"the {d} x {d} float64 step covariance")
    if step_cov is None:
        return np.eye(d)
    arr = _checks.floats("step_cov", step_cov, "a number, a length-d vector or a d x d matrix")
    if arr.ndim == 0:
        _checks.real("step_cov", arr, minimum=0.0)
        return float(arr) * np.eye(d)
    if arr.ndim == 1:
        if arr.shape != (d,):
            raise _checks.ArgumentError("step_cov", f"as a vector must have length d={d}, got {arr.shape[0]}")
        _checks.real("step_cov", arr, minimum=0.0)
        return np.diag(arr)
    arr = _checks.square_matrix("step_cov", arr)
    if arr.shape != (d, d):
        raise _checks.ArgumentError("step_cov", f"must be {d} x {d}, got shape {arr.shape}")
    if not np.allclose(arr, arr.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(arr).max())):
        raise _checks.ArgumentError("step_cov", "must be symmetric")
    if np.linalg.eigvalsh(arr).min() < -1e-10 * max(1.0, np.abs(arr).max()):
        raise _checks.ArgumentError("step_cov", "must be positive semi-definite")
    return arr


def square_roots(sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(L, S)``: a factor ``L L^T = Sigma`` and the symmetric square root ``S = Sigma^{1/2}``.

    From one eigendecomposition ``Sigma = V diag(w) V^T``: ``L = V diag(sqrt(w))`` and
    ``S = L V^T`` (eigenvalues below zero by rounding are clipped to 0).  The package's
    only square root of ``Sigma``: :class:`sigprop.rho.logits.LogitModel` caches it.
    """
    w, v = np.linalg.eigh(sigma)
    factor = v * np.sqrt(np.clip(w, 0.0, None))
    return factor, factor @ v.T


def step_factor(sigma: np.ndarray) -> np.ndarray | None:
    """A matrix ``L`` with ``L L^T = Sigma``, or ``None`` when ``Sigma = I``."""
    if np.array_equal(sigma, np.eye(sigma.shape[0])):
        return None
    return square_roots(sigma)[0]


#: Float64 arrays of ``T`` numbers :func:`coefficients` holds at its peak (4.0 measured with tracemalloc at
#: ``T = 10^6``).
COEFFICIENT_ARRAYS = 5


def coefficients(T: int, *, limit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(alpha_i, beta_i)`` for ``i = 1..T``, exact or in the ``T -> inf`` limit.

    ``Cov(x_i - xbar) = alpha_i Sigma`` and ``Cov(x_i - xbar, x_T) = beta_i Sigma``
    (``derivations/walk_moments.py``)::

        beta_i  = (2 i - T - 1) / (2 T)
        alpha_i = (2 T^2 - 6 T i + 3 T + 6 i^2 - 6 i + 1) / (6 T^2)

    With ``limit=True`` the limiting functions of ``s = i/T`` are returned,
    ``alpha -> s^2 - s + 1/3`` and ``beta -> s - 1/2``.
    """
    T = _checks.integer("T", T, 2)
    require(matrices(COEFFICIENT_ARRAYS, 1, T), "T", f"{COEFFICIENT_ARRAYS} float64 arrays of {T} positions")
    i = np.arange(1, T + 1, dtype=float)
    if limit:
        s = i / T
        return s * s - s + 1.0 / 3.0, s - 0.5
    beta = (2 * i - T - 1) / (2 * T)
    alpha = (2 * T * T - 6 * T * i + 3 * T + 6 * i * i - 6 * i + 1) / (6 * T * T)
    return alpha, beta


def position_covariance(T: int) -> np.ndarray:
    """``K[i-1, j-1] = min(i, j) / T``, so that ``Cov(x_i, x_j) = K_ij Sigma``."""
    T = _checks.integer("T", T, 2)
    i = np.arange(1, T + 1)
    return np.minimum.outer(i, i) / T


def batch_sizes(samples: int, per_sample: int, batch_size: int | None = None,
                itemsize: int = 8) -> Iterator[int]:
    """Split ``samples`` into batches of at most ``batch_size`` samples (a generator).

    By default a batch holds about 8 MiB of numbers (:data:`BATCH_ELEMENTS` float64 numbers,
    twice as many of ``itemsize`` 4), so memory
    stays bounded however many samples are asked for: the schedule is generated
    batch by batch, never held as a list.  The arguments are checked, and a batch
    that would not fit in the machine's memory refused, when this is called (not at
    the first batch).
    """
    samples = _checks.integer("samples", samples, 1)
    if batch_size is None:
        batch_size = default_batch_size(per_sample, itemsize)
    batch_size = min(_checks.integer("batch_size", batch_size, 1), samples)
    # one batch of steps, plus its logits and their products (about twice the steps)
    require(3.0 * batch_size * per_sample * itemsize, "batch_size" if batch_size > 1 else "T",
            f"{batch_size} sequence(s) of {per_sample} numbers per batch")
    return _schedule(samples, batch_size)


def default_batch_size(per_sample: int, itemsize: int = 8) -> int:
    """Samples of ``per_sample`` numbers of ``itemsize`` bytes in one 8 MiB batch (at least 1)."""
    return max(1, BATCH_ELEMENTS * 8 // (max(1, per_sample) * itemsize))


def _schedule(samples: int, batch_size: int) -> Iterator[int]:
    full, rest = divmod(samples, batch_size)
    for _ in range(full):
        yield batch_size
    if rest:
        yield rest


def standard_steps(samples: int, T: int, d: int, *, seed: Seed = None, batch_size: int | None = None,
                   dtype: DTypeLike = np.float64, reuse: bool = False,
                   piece: int | None = None, start: int = 0) -> Iterator[np.ndarray]:
    """Yield batches of i.i.d. ``N(0, 1)`` arrays of shape ``(b, T, d)``.

    The raw material of every simulation: ``eps_t = L n_t / sqrt(T)`` turns them
    into steps.  The batches hold ``samples`` sequences in all, drawn from
    ``numpy.random.default_rng(seed)`` in order (float32 by Box-Muller,
    :class:`sigprop.core.normal.Normals`), so the numbers do not depend on ``batch_size``.
    With ``reuse`` every batch is written into the same array (a view of it for a shorter
    last batch): a batch is overwritten by the next, so use it before asking for the next.
    This spares the memory pages a fresh batch would touch (the simulation's hot loop).
    With ``piece``, each batch is handed out in consecutive pieces of at most ``piece``
    sequences (the same numbers): small enough to stay in cache while they are used.
    With ``start``, the sequences are those from number ``start`` on of the seed's stream, reached
    by a jump (float32 only, :meth:`sigprop.core.normal.Normals.skip`).
    """
    T = _checks.integer("T", T, 2)
    d = _checks.integer("d", d, 1)
    dtype = _checks.dtype("dtype", dtype)
    rng = np.random.default_rng(_checks.seed("seed", seed))
    sizes = batch_sizes(samples, T * d, batch_size, dtype.itemsize)
    if piece is not None:
        sizes = _pieces(sizes, _checks.integer("piece", piece, 1))
    start = _checks.integer("start", start, 0)
    if start and dtype != np.float32:
        raise _checks.ArgumentError("start", "needs dtype float32 (float64 streams cannot jump ahead)")
    return _draw(rng, sizes, T, d, dtype, reuse, start * T * d)


def _pieces(sizes: Iterator[int], piece: int) -> Iterator[int]:
    for size in sizes:
        yield from _schedule(size, min(piece, size))


def _draw(rng: np.random.Generator, sizes: Iterator[int], T: int, d: int, dtype,
          reuse: bool = False, skip: int = 0) -> Iterator[np.ndarray]:
    stream = normal.Normals(rng, dtype)
    if skip:
        stream.skip(skip)
    buffer = None
    for b in sizes:
        if not reuse or buffer is None or buffer.shape[0] < b:
            buffer = np.empty((b, T, d), dtype=dtype)
        batch = buffer[:b]
        stream.fill(batch.reshape(-1))
        yield batch


def sample(samples: int, T: int, d: int, *, step_cov: ArrayLike | None = None, seed: Seed = None,
           batch_size: int | None = None, dtype: DTypeLike = np.float64,
           extra: int = 0) -> Iterator[np.ndarray]:
    """Yield batches of random-walk sequences ``x`` of shape ``(b, T + extra, d)``.

    ``x[:, t-1]`` is the token ``x_t``; the step variance is ``Sigma / T`` for all
    ``T + extra`` steps (``extra = 1`` adds the next token ``x_{T+1}``).  The batches
    together hold ``samples`` sequences; the same ``seed`` gives the same numbers.

    Examples
    --------
    >>> xs = np.concatenate(list(sample(10, 8, 3, seed=0)))
    >>> xs.shape
    (10, 8, 3)
    """
    factor = step_factor(step_covariance(step_cov, _checks.integer("d", d, 1)))
    scale = 1.0 / np.sqrt(_checks.integer("T", T, 2))
    extra = _checks.integer("extra", extra, 0)
    batches = standard_steps(samples, T + extra, d, seed=seed, batch_size=batch_size, dtype=dtype)
    return _walks(batches, factor, scale, dtype)        # arguments checked now, not at the first batch


def _walks(batches: Iterator[np.ndarray], factor, scale: float, dtype) -> Iterator[np.ndarray]:
    for steps in batches:
        if factor is not None:
            steps = steps @ factor.T.astype(dtype)
        steps *= scale
        yield np.cumsum(steps, axis=1, out=steps)
