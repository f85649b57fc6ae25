"""Monte Carlo estimates of the centered logits and of ``rho_i`` (docs/theory.md §3.6).

:func:`simulate` takes the same model arguments as
:func:`sigprop.rho.theory.theory` and returns the same fields, plus their
sampling errors, so that theory and simulation compare directly.

Each sample draws a full random walk.  Since ``z_i = c x_i . (W x_T)`` and
``x_i = sum_{t <= i} eps_t``, the logits are a cumulative sum of
``eps_t . (W x_T)``: the walk is never formed explicitly, and the cost per
sample is one pass over the ``T d`` random numbers beyond drawing them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core import threads as _threads
from sigprop.core import workers as _workers
from sigprop.core.aliases import DTypeLike
from sigprop.core.progress import progress_bar
from sigprop.core.stats import Moments, wilson_interval
from sigprop.rho import walk
from sigprop.rho.logits import as_model
from sigprop.rho.propagation import Profile


@dataclass(frozen=True, kw_only=True)
class Simulation(Profile):
    """A simulated :class:`~sigprop.propagation.Profile` with its errors.

    ``rho`` is the share of samples with ``0 < zc_i < 1``; ``ci_low``/``ci_high``
    its Wilson interval at ``confidence``; ``mean_se`` and ``variance_se`` the
    standard errors of ``mean`` and ``variance``.
    """
    ci_low: np.ndarray
    ci_high: np.ndarray
    mean_se: np.ndarray
    variance_se: np.ndarray
    samples: int = 0


def centered_logits(steps: np.ndarray, W: np.ndarray, c: float,
                    factor: np.ndarray | None = None) -> np.ndarray:
    """Centered logits ``zc`` (shape ``(b, T)``) from standard normal steps.

    ``steps`` has shape ``(b, T, d)`` with i.i.d. ``N(0, 1)`` entries; the walk's
    steps are ``eps_t = L n_t / sqrt(T)`` with ``L = factor`` (identity if None).
    """
    T = steps.shape[1]
    x_last = steps.sum(axis=1)[:, :, None]
    # Products one sample at a time (a stack of matrix-vector products), never one matrix product
    # over the batch: BLAS rounds a row of a matrix product differently with the number of rows,
    # and a sample's logits must not depend on how many are computed together.
    if factor is not None:
        x_last = np.matmul(factor, x_last)
    y = np.matmul(W, x_last)              # W x_T, one column per sample
    if factor is not None:
        y = np.matmul(factor.T, y)
    y *= steps.dtype.type(c / T)          # both sqrt(T)'s and the logit scale
    z = np.matmul(steps, y)[:, :, 0]
    np.cumsum(z, axis=1, out=z)
    z -= z.mean(axis=1, keepdims=True)
    return z


def general_logits(standard: np.ndarray, model, dtype=np.float64) -> np.ndarray:
    """Centered logits for any data model of a :class:`~sigprop.rho.logits.LogitModel`.

    ``standard`` (``b x T x d``, i.i.d. ``N(0, 1)``) becomes the tokens
    ``X = mu_x + L_K Z L_Sigma^T`` (``L_K L_K^T = K``, ``L_Sigma L_Sigma^T = Sigma``), so that
    ``Cov(x_i, x_j) = K_ij Sigma``; then ``z_i = c x_i^T W x_q`` and
    ``zc_i = z_i - sum_j m_qj z_j`` with the centering weights of the model (all tokens,
    or ``1..q`` when causal; masked positions ``i > q`` are 0).  Returns ``(b, T)``, or
    ``(b, T, T)`` indexed ``[:, q - 1, i - 1]`` for ``query="all"``.
    """
    T = model.T
    X = np.matmul(model.data_factor.astype(dtype), standard)
    if model.step_factor is not None:
        X = X @ model.step_factor.T.astype(dtype)
    if model.token_mean is not None:
        X += model.token_mean.astype(dtype)
    c = np.dtype(dtype).type(float(model.c))
    Wx = X @ model.W.T.astype(dtype)                          # rows W x_j
    j = np.arange(1, T + 1)
    if model.query == "all":
        z = c * np.matmul(Wx, X.swapaxes(1, 2))               # z[:, q-1, i-1] = c x_i^T W x_q
        inside = (j[None, :] <= j[:, None]) if model.causal else np.ones((T, T), dtype=bool)
    else:
        q = model.query
        z = c * np.matmul(X, Wx[:, q - 1, :, None])[:, :, 0]  # z[:, i-1] = c x_i^T W x_q
        inside = (j <= q) if model.causal else np.ones(T, dtype=bool)
    weights = inside / inside.sum(axis=-1, keepdims=True)
    z -= np.sum(z * weights, axis=-1, keepdims=True)
    return np.where(inside, z, 0.0)


#: Default number of random streams: fixed, so that a seed gives the same numbers on every
#: machine whatever its number of cores (the threads only set the speed).
STREAMS = 8

#: Largest number of streams (and never more than ``samples``, so that no stream is empty): a
#: stream costs a ``SeedSequence`` and its unit of work (about 1 kB), so 65536 of them hold
#: well under 100 MB however many are asked for.
MAX_STREAMS = 1 << 16

#: Bytes of random numbers drawn and read at a time by a worker process or a single thread: a
#: piece this small stays in a core's cache (2 MiB of L2 here) between being drawn and being read
#: twice, so that two workers do not queue for memory (docs/performance.md).
CHUNK_BYTES = 1 << 19

#: Parts a float32 stream is cut into (runs of whole batches, each reached by a jump of the
#: generator): finer units of work share the workers better when one core runs slower than the
#: other.  float64 streams stay whole (NumPy's float64 normals cannot be jumped to).  The moments
#: of the parts are merged in order, so the numbers depend on this constant, never on the workers.
PARTS = 4

#: Random numbers a run must draw before its workers are processes rather than threads by
#: default (2^24, about 0.05 s of float32 work on one core here): forking costs about 3 ms a
#: worker (17 ms in a process holding PyTorch), threads about 0.1 ms.
PROCESS_MIN_NUMBERS = 1 << 24

#: Largest |centered logit| the simulation accepts, as a share of the dtype's range:
#: products and sums of the logits must stay finite.
_HEADROOM = 1e-6


def _check_range(model, dtype: np.dtype) -> None:
    """Refuse a model whose logits would overflow ``dtype`` before simulating.

    ``|zc_i| <= 2 c ||W||_F |x_i| |x_T|`` and ``|x_t|^2 <= ||Sigma||_F chi2_d``; with
    ``chi2_d <= d + 60 sqrt(d) + 200`` (beyond any sample ever drawn) this bounds every
    logit a run can produce.
    """
    d = model.d
    with np.errstate(over="ignore"):
        size = float(np.linalg.norm(model.W)) * float(np.linalg.norm(model.Sigma)) * float(model.c)
        bound = 2.0 * size * (d + 60.0 * np.sqrt(d) + 200.0)
    top = float(np.finfo(dtype).max) * _HEADROOM
    if not bound <= top:
        # the scale drives it when the default scale 1/sqrt(d) would have kept the logits in range
        name = "scale" if model.scale is not None and bound / float(model.c) / np.sqrt(d) <= top else "W"
        raise _checks.ArgumentError(name, f"is too large to simulate in {dtype.name}: logits up to about "
                                         f"{bound:.3g} would overflow (largest accepted {top:.3g}); "
                                         "scale W or the logit scale down")


def simulate(W, T: int | None = None, *, step_cov=None, scale=None, samples: int = 100_000, seed=None,
             batch_size: int | None = None, confidence: float = 0.95,
             progress: bool = False, dtype: DTypeLike = np.float64, streams: int | None = None,
             threads: int | None = None, processes: bool | None = None) -> Simulation:
    """Simulate the random walk and estimate every position's statistics.

    Parameters
    ----------
    W, T, step_cov, scale
        As in :func:`sigprop.rho.theory.theory`: an array with ``T`` and the keywords, or
        a :class:`~sigprop.rho.logits.LogitModel` alone.
    samples : int
        Number of independent sequences, ``>= 3`` (two samples give no standard error of
        the variance: their fourth and squared second moments coincide).
    seed : int or None
        Seed of ``numpy.random.default_rng``; the same seed gives the same numbers.
    batch_size : int, optional
        Sequences per batch (default: about 8 MiB of random numbers per batch, 2^20 in
        float64 and 2^21 in float32), which bounds memory whatever ``samples`` is.
    confidence : float
        Level of the Wilson intervals on ``rho``.
    progress : bool
        Show a progress bar on standard error.
    dtype : numpy.float64 (default) or numpy.float32
        Precision of the random numbers and the logits.  float32 draws its normals by a
        vectorized Box-Muller transform (:mod:`sigprop.core.normal`; float64 by NumPy's
        ziggurat) and is about three times faster; its rounding moves a logit by ~1e-7
        relative, which changes the band indicator only for samples that close to 0 or 1 (a
        set of tiny probability), but a float32 run draws different numbers from the same seed.
        Moments are always accumulated in float64.
    streams : int, optional
        Independent random streams (default :data:`STREAMS` = 8): **the numbers depend only on
        ``seed`` and ``streams``**, recorded in ``config["streams"]``.  With ``streams=1`` they
        are those of ``numpy.random.default_rng(seed)`` drawn in order; with ``k > 1`` the seed's
        ``SeedSequence`` is spawned into ``k`` children and stream ``j`` simulates ``samples // k``
        sequences (one more for ``j < samples % k``); the streams' counts and moments are merged in stream order.
        Accepted: ``1 <= streams <= min(samples, MAX_STREAMS)`` (:data:`MAX_STREAMS` = 65536), so
        that no stream is empty; the default is ``min(8, samples)`` (the same numbers as 8
        streams, whose streams beyond ``samples`` would be empty).  A
        float32 stream is simulated in :data:`PARTS` runs of whole batches, each reached by a
        jump of its generator (the same numbers), whose moments are merged in order.
    threads : int, optional
        Workers running the streams in parallel (default: every core,
        :func:`sigprop.core.threads.cores`; at most ``streams``), each taking the next stream
        in turn.  They set the speed only, never the numbers.  Memory: one batch of logits and
        one piece of random numbers per worker.  BLAS is held to one thread meanwhile
        (:func:`sigprop.core.threads.blas_threads`).  Ctrl-C stops every worker and raises
        ``KeyboardInterrupt`` in the caller.
    processes : bool, optional
        Whether the workers are forked processes (:mod:`sigprop.core.workers`) or threads.
        Default: processes on Linux when there is more than one worker and the run draws at
        least :data:`PROCESS_MIN_NUMBERS` random numbers (``samples T d``), threads otherwise.
        Processes share no GIL, so each draws and uses its numbers in pieces of
        :data:`CHUNK_BYTES` that stay in cache (about 2.0 times the one-worker speed on two
        cores against 1.6 for threads in float32, docs/performance.md); threads work on whole
        batches, as their short calls would otherwise queue for the GIL.
    """
    model = as_model(W, T, step_cov, scale).single("simulation")
    samples = _checks.integer("samples", samples, 3)
    _checks.real("confidence", confidence, positive=True, maximum=1.0, open_max=True)   # before the work
    plan = _plan(model, samples, seed, batch_size, dtype, streams, threads, processes)
    with progress_bar(samples, progress, unit="seq", desc="simulating") as bar, _threads.blas_threads(1):
        results = _workers.run(functools.partial(_run_unit, plan), len(plan.units), plan.workers,
                               processes=plan.processes, progress=bar.update)
    inside, moments = _merge(results)
    mean, variance, mean_se, variance_se = moments.result()
    low, high = wilson_interval(inside, samples, confidence)
    T = model.T
    config = dict(T=T, scale=model.scale, samples=samples, seed=seed, confidence=confidence, dtype=plan.dtype.name,
                  streams=plan.streams, **({} if model.is_walk else model.data_config))
    return Simulation(np.arange(1, T + 1), mean, variance, inside / samples, config,
                      ci_low=low, ci_high=high, mean_se=mean_se, variance_se=variance_se,
                      samples=samples)


@dataclass(frozen=True)
class _Plan:
    """How :func:`simulate` splits its work: the model in the run's dtype, the batches, the streams
    and their seeds, and the units of work (``(stream, first sequence, count)``) the workers take."""
    model: Any
    dtype: np.dtype
    W: np.ndarray
    factor: np.ndarray | None
    shape: tuple[int, ...]
    batch_size: int
    piece: int
    streams: int
    seeds: list
    units: list[tuple[int, int, int]]
    workers: int
    processes: bool


def _plan(model, samples: int, seed, batch_size: int | None, dtype: DTypeLike, streams: int | None,
          threads: int | None, processes: bool | None) -> _Plan:
    """Check the run's settings and cut it into units of work (see :func:`simulate`'s parameters)."""
    T, d = model.T, model.d
    if batch_size is not None:
        batch_size = _checks.integer("batch_size", batch_size, 1)
    dtype = _checks.dtype("dtype", dtype)
    _checks.seed("seed", seed)
    _check_range(model, dtype)
    factor = model.step_factor
    shape = (T,) if model.query != "all" else (T, T)
    if batch_size is None and model.is_walk:              # 8 MiB of random numbers per batch
        batch_size = walk.default_batch_size(T * d, dtype.itemsize)
    elif batch_size is None:                              # a sample holds T d numbers and the logits
        batch_size = max(1, walk.BATCH_ELEMENTS // (T * d + int(np.prod(shape))))
    if streams is None:                   # the first min(8, samples) children: the numbers of 8 streams
        streams = min(STREAMS, samples)
    else:
        streams = _checks.integer("streams", streams, 1)
        if streams > min(samples, MAX_STREAMS):
            raise _checks.ArgumentError("streams", f"must be an integer in 1..min(samples, {MAX_STREAMS}) = "
                                                   f"{min(samples, MAX_STREAMS)} (every stream simulates at "
                                                   f"least one sequence), got {streams}")
    threads = _threads.cores() if threads is None else _checks.workers("threads", threads)
    workers = min(threads, streams)
    if processes is not None and not isinstance(processes, (bool, np.bool_)):
        raise _checks.ArgumentError("processes", f"must be True, False or None, got {processes!r}")
    if processes is None:                        # forking costs ~3 ms a worker: worth it for long runs only
        processes = workers > 1 and _workers.forking() and samples * T * d >= PROCESS_MIN_NUMBERS
    elif processes and not _workers.forking():
        raise _checks.ArgumentError("processes", "worker processes need os.fork on Linux; "
                                                 "use processes=False (threads)")
    # A batch's moments are taken at once; its numbers are drawn and turned into logits in
    # pieces that stay in cache, except where threads would queue for the GIL on short calls.
    piece = batch_size if workers > 1 and not processes else max(1, CHUNK_BYTES // (T * d * dtype.itemsize))
    shares = [samples // streams + (k < samples % streams) for k in range(streams)]
    walk.batch_sizes(shares[0], T * d, batch_size, dtype.itemsize)   # refuse a batch too large, here
    if streams > 1:
        seeds = _spawn(seed, streams)
    else:                                   # one stream: the numbers of default_rng(seed)
        seeds = [np.random.SeedSequence() if seed is None else seed]   # a part re-creates its stream
    # float32 streams are cut into PARTS parts of whole batches, each jumped to, so that the
    # workers share finer units of work (a Generator or bit generator given as the one stream's
    # seed is one state: it cannot be cut)
    whole = streams == 1 and isinstance(seed, (np.random.Generator, np.random.BitGenerator))
    parts = PARTS if dtype == np.float32 and not whole else 1
    units = [(k, first, count) for k, share in enumerate(shares) for first, count in _cut(share, batch_size, parts)]
    return _Plan(model, dtype, model.W.astype(dtype), None if factor is None else factor.astype(dtype), shape,
                 batch_size, piece, streams, seeds, units, workers, bool(processes))


def _run_unit(plan: _Plan, u: int, report) -> tuple[np.ndarray, Moments]:
    """Unit ``u`` of ``plan``: the band counts and the moments of its sequences (``report(b)`` after each piece)."""
    model, dtype, batch_size = plan.model, plan.dtype, plan.batch_size
    k, first, left = plan.units[u]
    moments = Moments()
    inside = np.zeros(plan.shape, dtype=np.int64)
    if left == 0:
        return inside, moments
    zc = np.empty((min(batch_size, left), *plan.shape), dtype=dtype)
    rows = 0
    c = float(model.c)
    with np.errstate(over="raise"):
        for steps in walk.standard_steps(left, model.T, model.d, seed=plan.seeds[k], batch_size=batch_size,
                                         dtype=dtype, reuse=True, piece=plan.piece, start=first):
            b = steps.shape[0]
            zc[rows:rows + b] = (centered_logits(steps, plan.W, c, plan.factor) if model.is_walk
                                 else general_logits(steps, model, dtype))
            rows += b
            report(b)
            if rows == min(batch_size, left):           # a whole batch
                inside += np.count_nonzero((zc[:rows] > 0) & (zc[:rows] < 1), axis=0)
                moments.add(zc[:rows])
                left -= rows
                rows = 0
    return inside, moments


def _merge(results: list[tuple[np.ndarray, Moments]]) -> tuple[np.ndarray, Moments]:
    """The units' band counts summed and their moments merged, in unit order."""
    inside, moments = results[0]
    for more, other in results[1:]:
        inside = inside + more
        moments.merge(other)
    return inside, moments


def _cut(share: int, batch_size: int, parts: int) -> list[tuple[int, int]]:
    """``(first, count)`` of up to ``parts`` consecutive runs of whole batches covering ``share``
    sequences (one ``(0, 0)`` for an empty stream).

    >>> _cut(10, 3, 2)
    [(0, 6), (6, 4)]
    """
    batches = -(-share // batch_size)
    bounds = sorted({min(share, round(j * batches / parts) * batch_size) for j in range(parts + 1)})
    return [(a, b - a) for a, b in zip(bounds, bounds[1:])] or [(0, 0)]


def _spawn(seed, streams: int) -> list[np.random.SeedSequence]:
    """``streams`` independent child seeds of ``seed`` (``SeedSequence.spawn``), the same on every call."""
    if isinstance(seed, np.random.Generator):
        seed = seed.bit_generator
    if isinstance(seed, np.random.BitGenerator):
        return list(seed.seed_seq.spawn(streams))  # type: ignore[attr-defined]  # advances it
    if isinstance(seed, np.random.SeedSequence):                   # a copy: spawn() on the caller's object
        seed = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
    else:                                                          # would give new children every call
        seed = np.random.SeedSequence(seed)
    return seed.spawn(streams)
