"""Closed-form signal propagation probability of [BHK24] (docs/theory.md §3.1-§3.4).

The query is the last token and the logits are ``z_i = c x_i^T W x_T``.  The
centered logit ``zc_i = z_i - (1/T) sum_j z_j = c u_i^T W x_T`` with
``u_i = x_i - xbar`` is a bilinear form in jointly Gaussian vectors, whose exact
mean and variance follow from ``Cov(u_i, u_i) = alpha_i Sigma``,
``Cov(u_i, x_T) = beta_i Sigma``, ``Cov(x_T, x_T) = Sigma`` and Isserlis' theorem
(``derivations/walk_moments.py`` and ``derivations/bilinear_variance.py``)::

    beta_i  = (2 i - T - 1) / (2 T)
    alpha_i = (2 T^2 - 6 T i + 3 T + 6 i^2 - 6 i + 1) / (6 T^2)
    mu_i    = c beta_i tr(W Sigma)
    v_i     = c^2 [alpha_i tr(Sigma W Sigma W^T) + beta_i^2 tr(W Sigma W Sigma)]

As ``T -> infinity`` with ``s = i/T``: ``beta -> s - 1/2`` and
``alpha -> s^2 - s + 1/3``.  For symmetric ``W`` and ``Sigma = I`` the traces are
``tr(W) = d m`` and ``tr(W^2) = ||W||_F^2 = d (v + m^2)`` with eigenvalue mean
``m`` and variance ``v``, so that, with the default ``c = 1/sqrt(d)``::

    mu_i = sqrt(d) m beta_i,    v_i = (v + m^2) (alpha_i + beta_i^2)

and in the limit ``alpha + beta^2 -> 2 s^2 - 2 s + 7/12``.

The signal propagation probability ``rho_i = P(0 < zc_i < 1)`` is approximated by
treating ``zc_i`` as Gaussian with these exact moments (the paper's approach)::

    rho_i = Phi((1 - mu_i) / sqrt(v_i)) - Phi(-mu_i / sqrt(v_i))
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from sigprop.core import checks as _checks
from sigprop.core.aliases import ArrayLike
from sigprop.core.labelled import LabelledProfile
from sigprop.core.memory import matrices, require
from sigprop.rho.logits import LogitModel, as_model, resolve_scale
from sigprop.rho.walk import coefficients


@dataclass(frozen=True)
class Profile(LabelledProfile):
    """Per-position prediction (or estimate) of the centered logits.

    ``mean``, ``variance`` and ``rho`` have shape ``(..., T)``; ``positions`` is
    ``1..T``.  ``config`` records what produced it.  ``to_xarray()``, ``save(path)``
    and ``sigprop.load(path)``: see :class:`~sigprop.core.labelled.LabelledProfile`.
    """
    positions: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    rho: np.ndarray
    config: dict = field(default_factory=dict)


#: Float64 arrays of the profile's shape the Gaussian closed form holds at its peak, per model of
#: the batch, with :data:`COEFFICIENT_ARRAYS` more for the coefficients: ``(12 G + 4) T`` numbers for
#: ``G`` models (or a grid of ``G`` spectra) and ``T`` positions, ``(12 G + 4) T^2`` with
#: ``query="all"``.  Measured
#: peaks (tracemalloc): 7.8 G T numbers when the band is computed in threaded chunks (a 500 x 500
#: grid at T = 128: 2.0 GB against 3.1 GB estimated; G = 100 at T = 10^4; G = 1 at T = 10^6),
#: 11 G T below 2^18 numbers (G = 50, T = 2000), 12 T at G = 1, T = 4096; 14 T^2 and 9.8 T^2 with
#: ``query="all"`` at T = 500 and 1000.
PROFILE_ARRAYS = 12
COEFFICIENT_ARRAYS = 4


def require_profile(models: int, T: int, rows: int = 1, grid: str = "m") -> None:
    """Refuse (``ArgumentError``) a closed-form profile of ``models`` models (or grid points) at
    ``T`` positions, ``rows`` queries each, whose arrays (:data:`PROFILE_ARRAYS`) exceed the
    machine's memory (:func:`sigprop.core.memory.require`): named ``T`` when the positions
    drive the need, else ``grid`` (the argument that spans the models)."""
    models = max(1, int(models))
    arrays = PROFILE_ARRAYS * models + COEFFICIENT_ARRAYS
    shape = f"{T} x {T}" if rows > 1 else f"{T}"
    require(matrices(arrays, rows, T), "T" if rows * T >= models else grid,
            f"{arrays} float64 arrays of {shape} positions for {models} model(s)")


#: Float64 arrays of the result's size :func:`band_probability` holds at its peak (9.2 measured with
#: tracemalloc at 10^6 numbers).
BAND_ARRAYS = 10


def band_probability(mean, variance) -> np.ndarray:
    """``P(0 < Z < 1)`` for ``Z ~ N(mean, variance)``, safe in the tails.

    Differences of ``Phi`` are taken on the side where both terms are small, so
    that probabilities far below ``1e-16`` keep their relative precision.  For
    ``variance == 0`` the value is the exact ``1[0 < mean < 1]``.
    """
    try:
        sizes = np.size(mean), np.size(variance), np.broadcast(np.asarray(mean), np.asarray(variance)).size
    except (TypeError, ValueError):         # not arrays that broadcast: refused by the checks below
        sizes = None
    if sizes is not None:
        require(matrices(BAND_ARRAYS, 1, sizes[2]), "mean" if sizes[0] >= sizes[1] else "variance",
                f"{BAND_ARRAYS} float64 arrays of {sizes[2]} probabilities")
    mean = _checks.real("mean", mean)
    sd = np.sqrt(_checks.real("variance", variance, minimum=0.0))
    _checks.broadcast(mean=mean, variance=sd)
    mean, sd = np.broadcast_arrays(mean, sd)
    return _band(mean, sd, np.ones_like(sd), mean)


def _band(num, q, scale, mean=None) -> np.ndarray:
    """``P(0 < Z < 1)`` for ``Z ~ N(scale num, (scale q)^2)``.

    The logit's mean and standard deviation share the positive factor ``scale``
    (the size of ``W``), so ``mean/sd = num/q`` is formed without it and stays
    exact however small ``W`` is; only ``1/sd`` may overflow, to the right limit.
    ``q == 0`` means a deterministic logit, ``scale num``: ``rho = 1[0 < mean < 1]``.
    """
    num, q, scale = (np.asarray(a, dtype=float) for a in (num, q, scale))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = num / q
        lower = -z
        upper = 1.0 / (scale * q) - z
    # P(lower < N(0,1) < upper); when both bounds are positive, use the mirror image
    # P(-upper < N < -lower) so that both terms are small and keep their precision
    flip = lower > 0
    lo = np.where(flip, -upper, lower)
    hi = np.where(flip, -lower, upper)
    rho = ndtr(hi)
    rho -= ndtr(lo)
    if not np.all(q > 0):
        m = scale * num if mean is None else mean
        rho = np.where(q > 0, rho, ((m > 0) & (m < 1)).astype(float))
    return np.clip(rho, 0.0, 1.0, out=rho if isinstance(rho, np.ndarray) and rho.ndim else None)


def _from_traces(tr1, tr_frob, tr_sq, c, T: int, limit: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(num, q, c)`` with ``mean = c num`` and ``sd = c q``, from traces of matrices
    normalized to order one and the overall factor ``c`` (see :func:`_band`)."""
    alpha, beta = coefficients(T, limit=limit)
    tr1, tr_frob, tr_sq, c = (np.asarray(a, dtype=float)[..., None] for a in (tr1, tr_frob, tr_sq, c))
    num = tr1 * beta + 0.0               # + 0.0 turns -0.0 into 0.0
    q = np.sqrt(np.maximum(alpha * tr_frob + beta * beta * tr_sq, 0.0))
    return num, q, c


def logit_moments(W, T: int | None = None, *, step_cov=None, scale=None, limit: bool = False):
    """Exact mean and variance of every centered logit for a general ``W``.

    Parameters
    ----------
    W : (..., d, d) array or LogitModel
        Query-key matrix (need not be symmetric); leading axes broadcast.  A
        :class:`~sigprop.rho.logits.LogitModel` stands for ``(W, T, step_cov, scale)``.
    T : int
        Sequence length, ``T >= 2`` (omitted with a model).
    step_cov : None, float, (d,) or (d, d) array
        Step covariance ``Sigma`` (see :func:`sigprop.rho.walk.step_covariance`).
    scale : float, optional
        Logit scale ``c > 0``; default ``1/sqrt(d)``.
    limit : bool
        Use the ``T -> infinity`` coefficients at ``s = i/T``.

    Returns
    -------
    mean, variance : (..., T) arrays
        ``mu_i = c beta_i tr(W S)`` and
        ``v_i = c^2 [alpha_i tr(S W S W^T) + beta_i^2 tr(W S W S)]``.  A ``W`` whose moments
        overflow float64 is refused, naming ``W``.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        out = moments(as_model(W, T, step_cov, scale), limit=limit)
    return _finite_moments(*out, "W")


def _finite_moments(mean, variance, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, variance)`` when both are finite, else a refusal naming ``name``: the logits' moments
    overflow float64 (the public moment functions return no inf)."""
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(variance))):
        raise _checks.ArgumentError(name, "is too large: the variance of the logits overflows float64 (beyond "
                                          "1.8e308); scale it down")
    return mean, variance


def _larger(m, v) -> str:
    """``"m"`` or ``"v"``, whichever drives ``v + m^2`` (the name a spectrum's overflow is refused on)."""
    return "v" if np.max(np.sqrt(np.asarray(v, dtype=float)), initial=0.0) >= np.max(np.abs(m), initial=0.0) else "m"


def moments(model: LogitModel, *, limit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, variance)`` of every centered logit of a :class:`~sigprop.rho.logits.LogitModel`."""
    num, q, c = model_parts(model, limit)
    return c * num + 0.0, (c * q) ** 2


def model_parts(model: LogitModel, limit: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(num, q, size)`` of a model, with ``mean = size num`` and ``sd = size q`` (see :func:`_band`)."""
    require_profile(np.broadcast(np.empty(model.W.shape[:-2]), model.c).size, model.T,
                    model.T if model.query == "all" else 1, "W")
    tr1, tr_frob, tr_sq, size = model.traces
    if model.is_walk or limit:
        if limit and not model.is_walk:
            raise _checks.ArgumentError("form", "'limit' is for the random walk with the query at T, "
                                        f"got data {model.data}, query {model.query}")
        return _from_traces(tr1, tr_frob, tr_sq, size, model.T, limit)
    return general_parts(model.coefficients, model.mean_coefficient,
                         (tr1, tr_frob, tr_sq, model.mean_trace), size)


def general_parts(coefficients, mean_coefficient, traces, size) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(num, q, size)`` for any data model (docs/data-models.md (D.4)-(D.5)).

    With ``(alpha_i kappa, beta_i) = coefficients``, ``alpha_i = mean_coefficient`` and the
    normalized traces ``(tr1, tr_frob, tr_sq, tr_mean)`` of :attr:`LogitModel.traces` and
    :attr:`LogitModel.mean_trace`::

        mu_i = size beta_i tr1
        v_i  = size^2 [alpha_i kappa tr_frob + beta_i^2 tr_sq + alpha_i tr_mean]

    The coefficients may be ``(T,)`` or ``(T, T)`` (every query); the traces carry the batch.
    """
    akappa, beta = coefficients
    extra = (None,) * beta.ndim
    tr1, tr_frob, tr_sq, tr_mean, size = (np.asarray(a, dtype=float)[(Ellipsis,) + extra]
                                          for a in (*traces, size))
    num = tr1 * beta + 0.0
    q = np.sqrt(np.maximum(akappa * tr_frob + beta * beta * tr_sq + mean_coefficient * tr_mean, 0.0))
    return num, q, size


def spectrum_moments(m: ArrayLike, v: ArrayLike, d: ArrayLike, T: int, *, scale: ArrayLike | None = None,
                     limit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the centered logits in the eigenspectrum form.

    For symmetric ``W`` with eigenvalue mean ``m`` and variance ``v`` and
    ``Sigma = I``: ``mu_i = c d m beta_i`` and
    ``v_i = c^2 d (v + m^2)(alpha_i + beta_i^2)``.  ``m``, ``v``, ``d`` and
    ``scale`` broadcast; the result has shape ``broadcast + (T,)``.
    """
    m, v, d, c = spectrum_args(m, v, d, scale)
    num, q, c = spectrum_parts(m, v, d, c, T, limit)
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite_moments(c * num + 0.0, (c * q) ** 2, _larger(m, v))


def spectrum_args(m, v, d, scale) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | float]:
    """``(m, v, d, scale)`` of the eigenspectrum form, checked (``v >= 0``, ``d`` an integer >= 1, ``v = 0``
    when ``d = 1``), with the scale resolved (:func:`resolve_scale`)."""
    m, v, d = _checks.spectrum(m, v, d, single_d=False)
    return m, v, d, resolve_scale(scale, d)


def spectrum_parts(m, v, d, c, T, limit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(num, q, scale)`` of the eigenspectrum form (see :func:`_band`).

    ``tr(W) = d m`` and ``tr(W^2) = ||W||_F^2 = d (v + m^2)``; with the spread
    ``r = hypot(sqrt(v), m)`` (which does not underflow), ``mean = c sqrt(d) r num`` with
    ``num = sqrt(d) (m / r) beta`` and ``sd = c sqrt(d) r sqrt(alpha + beta^2)``.
    """
    T = _checks.integer("T", T, 2)
    require_profile(_checks.broadcast(m=m, v=v, d=d, c=c).size, T, grid=_grid_name(m, v, d, c))
    alpha, beta = coefficients(T, limit=limit)
    r = np.hypot(np.sqrt(v), m)
    zero = r == 0
    ratio = np.where(zero, 0.0, m / np.where(zero, 1.0, r))
    num = (np.sqrt(d) * ratio)[..., None] * beta + 0.0
    q = np.where(zero, 0.0, 1.0)[..., None] * np.sqrt(alpha + beta * beta)
    return num, q, (c * np.sqrt(d) * np.where(zero, 1.0, r))[..., None]


def _grid_name(m, v, d, c) -> str:
    """The spectrum argument with the most values (the one spanning a grid)."""
    sizes = {"m": np.size(m), "v": np.size(v), "d": np.size(d), "scale": np.size(c)}
    return max(sizes, key=lambda k: sizes[k])


def antrp_moments(m: ArrayLike, v: ArrayLike, d: ArrayLike, T: int) -> tuple[np.ndarray, np.ndarray]:
    """The closed form of the ANTRP code, docs/theory.md (3.14): a claim to check, not a result.

    ``mu_i = (i/T - 1/2) tr(W)/sqrt(d)`` and
    ``v_i = (2 i^2/T^2 + 7/12) tr(W^2)/d^2`` with ``tr(W) = d m`` and
    ``tr(W^2) = d (v + m^2)``: the function ``calculate_signal_propagation`` of the public code
    of Tang et al., *Intervening Anchor Token* (ICLR 2025, repository Everlyn-Labs/ANTRP),
    which applies it to post-softmax attention maps.  [BHK24] has no public code; what its
    own lemma states is not known to this project.  Monte Carlo on the random-walk model finds
    the mean right up to an ``O(1/T)`` offset and the variance too small by a factor of about
    ``d`` (ledger row ``antrp-form``); kept so that the verdict can be reproduced.
    """
    m = _checks.real("m", m)
    v = _checks.real("v", v, minimum=0.0)
    d = _checks.real("d", d, minimum=1.0)
    T = _checks.integer("T", T, 2)
    require_profile(np.broadcast(m, v, d).size, T, grid=_grid_name(m, v, d, 1.0))
    s = np.arange(1, T + 1) / T
    name = _larger(m, v)
    m, v, d = (a[..., None] for a in np.broadcast_arrays(m, v, d))
    with np.errstate(over="ignore", invalid="ignore"):
        mean = (s - 0.5) * d * m / np.sqrt(d)
        variance = (2 * s * s + 7.0 / 12.0) * d * (v + m * m) / (d * d)
        return _finite_moments(mean, variance, name)


def published_moments(m: ArrayLike, v: ArrayLike, d: ArrayLike, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Deprecated alias of :func:`antrp_moments` (the form comes from the ANTRP code, not from [BHK24])."""
    warnings.warn("published_moments is deprecated: the form is the ANTRP code's (Everlyn-Labs/ANTRP), not "
                  "[BHK24]'s; use antrp_moments", DeprecationWarning, stacklevel=2)
    return antrp_moments(m, v, d, T)


def profile_from_parts(num, q, scale, config) -> Profile:
    """The :class:`Profile` of the parts ``(num, q, scale)`` of :func:`spectrum_parts` (positions ``1..T``)."""
    num, q, scale = np.broadcast_arrays(num, q, scale)
    T = num.shape[-1]
    mean = scale * num + 0.0
    return Profile(np.arange(1, T + 1), mean, (scale * q) ** 2, _threaded_band(num, q, scale), config)


def _threaded_band(num, q, scale, min_chunk: int = 1 << 18):
    """:func:`_band` split over the machine's cores for large grids.

    NumPy and SciPy ufuncs release the GIL, so threads run the chunks in parallel;
    the values are those of a single call.
    """
    workers = min(os.cpu_count() or 1, num.size // min_chunk)
    if workers < 2:
        return _band(num, q, scale)
    flat = [a.reshape(-1) for a in (num, q, scale)]
    bounds = np.linspace(0, flat[0].size, 4 * workers + 1).astype(int)
    out = np.empty(flat[0].size)

    def run(k):
        sl = slice(bounds[k], bounds[k + 1])
        out[sl] = _band(*(a[sl] for a in flat))

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, range(bounds.size - 1)))
    return out.reshape(num.shape)
