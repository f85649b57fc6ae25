"""Token data models beyond the random walk: the temporal covariance ``K`` (docs/data-models.md).

Tokens are ``x_i = mu_x + y_i``, ``i = 1..T``, with a mean embedding ``mu_x`` (``d``) and a
zero-mean Gaussian sequence ``y`` of separable covariance ``Cov(y_i, y_j) = K_ij Sigma``:
``K`` (``T x T``) carries the order of the tokens, ``Sigma`` (``d x d``) the features.  A
:class:`DataModel` gives ``K`` for a length ``T``:

* ``random-walk`` (the default, [BHK24], docs/theory.md §1): ``y_i = sum_{t<=i} eps_t``
  with ``eps_t ~ N(0, Sigma/T)`` i.i.d., hence ``K_ij = min(i, j)/T``;
* ``iid``: independent tokens, ``K = I``;
* ``ar1:L``: the stationary AR(1) sequence ``y_i = phi y_{i-1} + sqrt(1 - phi^2) e_i``
  with ``phi = exp(-1/L)`` (an Ornstein-Uhlenbeck process sampled at unit steps with
  correlation length ``L``): ``K_ij = phi^|i-j| = exp(-|i-j|/L)``;
* ``fbm:H``: fractional Brownian motion ``B_H`` with Hurst index ``0 < H < 1`` sampled at
  ``s = i/T``: ``K_ij = (s_i^{2H} + s_j^{2H} - |s_i - s_j|^{2H}) / 2``; ``H = 1/2`` gives
  ``(s_i + s_j - |s_i - s_j|)/2 = min(i, j)/T``, the random walk;
* ``matrix``: a user-supplied ``T x T`` covariance (finite, symmetric, positive
  semi-definite within rounding);
* ``empirical``: ``K`` estimated from token sequences by :func:`empirical` (which also
  returns ``Sigma`` and ``mu_x``).

``K`` and ``Sigma`` are identified up to a factor only (``K Sigma`` is what the tokens
fix); the walk keeps ``K_TT = 1``, the stationary models ``K_ii = 1``, and
:func:`empirical` ``tr K = T``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from sigprop.core import checks as _checks

NAMES = ("random-walk", "iid", "ar1", "fbm", "matrix", "empirical")

#: Relative tolerance of the symmetry and positive semi-definiteness checks of ``K``.
PSD_TOLERANCE = 1e-10


@dataclass(frozen=True, eq=False)
class DataModel:
    """A temporal covariance model: ``name``, its ``parameter`` (length or Hurst index) and,
    for ``matrix``/``empirical``, the ``T x T`` matrix itself.  Build with the functions of
    this module (:func:`random_walk`, :func:`iid`, :func:`ar1`, :func:`fbm`, :func:`matrix`,
    :func:`empirical`) or :func:`data_model`."""

    name: str = "random-walk"
    parameter: float | None = None
    K: np.ndarray | None = field(default=None, repr=False)

    @property
    def is_random_walk(self) -> bool:
        """Whether this is [BHK24]'s random walk (``fbm:0.5`` counts: same ``K``)."""
        return self.name == "random-walk" or (self.name == "fbm" and self.parameter == 0.5)

    @property
    def length(self) -> int | None:
        """The ``T`` a stored matrix fixes, else None."""
        return None if self.K is None else self.K.shape[0]

    def covariance(self, T: int) -> np.ndarray:
        """``K`` (``T x T``): ``Cov(y_i, y_j) = K_ij Sigma``."""
        T = _checks.integer("T", T, 2)
        i = np.arange(1, T + 1, dtype=float)
        p = float(self.parameter) if self.parameter is not None else 0.0
        if self.name == "random-walk":
            return np.minimum.outer(i, i) / T
        if self.name == "iid":
            return np.eye(T)
        if self.name == "ar1":
            return np.exp(-np.abs(i[:, None] - i[None, :]) / p)
        if self.name == "fbm":
            h2 = 2.0 * p
            s = i / T
            return 0.5 * (s[:, None] ** h2 + s[None, :] ** h2 - np.abs(s[:, None] - s[None, :]) ** h2)
        K = self.K
        assert K is not None                                # matrix and empirical models hold K
        if K.shape[0] != T:
            raise _checks.ArgumentError("T", f"must be {K.shape[0]} for the {K.shape[0]} x "
                                        f"{K.shape[0]} data covariance, got {T}")
        return K

    def describe(self) -> dict:
        """A JSON-ready description (for ``config``)."""
        out: dict = dict(name=self.name)
        if self.parameter is not None:
            out["parameter"] = self.parameter
        if self.K is not None:
            out["T"] = self.K.shape[0]
        return out

    def __str__(self) -> str:
        if self.name in ("ar1", "fbm"):
            return f"{self.name}:{self.parameter:g}"
        if self.K is not None:
            return f"{self.name} ({self.K.shape[0]} x {self.K.shape[0]})"
        return self.name


def random_walk() -> DataModel:
    """[BHK24]'s random walk, ``K_ij = min(i, j)/T``."""
    return DataModel("random-walk")


def iid() -> DataModel:
    """Independent tokens, ``K = I``."""
    return DataModel("iid")


def ar1(length: float) -> DataModel:
    """Stationary AR(1)/Ornstein-Uhlenbeck tokens, ``K_ij = exp(-|i-j|/length)``, ``length > 0``."""
    length = float(_checks.real("length", length, positive=True))
    return DataModel("ar1", length)


def fbm(hurst: float) -> DataModel:
    """Fractional Brownian motion at ``s = i/T`` with Hurst index ``0 < hurst < 1``."""
    h = float(_checks.real("hurst", hurst))
    if not 0.0 < h < 1.0:
        raise _checks.ArgumentError("hurst", f"must be in (0, 1), got {h!r}")
    return DataModel("fbm", h)


def check_covariance(name: str, K: ArrayLike, T: int | None = None) -> np.ndarray:
    """``K`` as a finite, symmetric, positive semi-definite ``T x T`` float matrix (``T >= 2``),
    else a one-line :class:`~sigprop.core.checks.ArgumentError` naming ``name``."""
    K = _checks.floats(name, K, "a real T x T matrix")
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise _checks.ArgumentError(name, f"must be one T x T matrix, got shape {K.shape}")
    K = _checks.square_matrix(name, K)
    if K.shape[0] < 2:
        raise _checks.ArgumentError(name, f"must be T x T with T >= 2, got shape {K.shape}")
    if T is not None and K.shape[0] != T:
        raise _checks.ArgumentError(name, f"must be {T} x {T} (T = {T}), got shape {K.shape}")
    size = max(np.abs(K).max(), np.finfo(float).tiny)
    if np.abs(K - K.T).max() > PSD_TOLERANCE * size:
        gap = np.abs(K - K.T).max()
        raise _checks.ArgumentError(name, f"must be symmetric (largest |K - K^T| = {gap:.3g})")
    low = float(np.linalg.eigvalsh(0.5 * (K + K.T)).min())
    if low < -PSD_TOLERANCE * size * K.shape[0]:
        raise _checks.ArgumentError(name, f"must be positive semi-definite (smallest eigenvalue {low:.3g})")
    return 0.5 * (K + K.T)


def matrix(K: ArrayLike) -> DataModel:
    """A user-supplied temporal covariance (checked by :func:`check_covariance`)."""
    K = check_covariance("data", K)
    K.flags.writeable = False
    return DataModel("matrix", None, K)


def empirical(tokens: ArrayLike) -> tuple[DataModel, np.ndarray, np.ndarray]:
    """``(model, Sigma, mu_x)`` estimated from token sequences ``tokens`` (``n x T x d``, ``n >= 2``).

    Under ``x_i = mu_x + y_i`` with ``Cov(y_i, y_j) = K_ij Sigma``: ``mu_x`` is the mean over
    sequences and positions; with ``Y = X - mu_x``, ``E[Y Y^T] = tr(Sigma) K`` and
    ``E[Y^T Y] = tr(K) Sigma``, so, normalizing ``tr K = T``,
    ``Sigma = mean(Y^T Y)/T`` and ``K = mean(Y Y^T)/tr(Sigma)``.  (Separability itself is
    not checked here.)
    """
    X = _checks.floats("tokens", tokens, "a real n x T x d array")
    if X.ndim != 3 or X.shape[0] < 2 or X.shape[1] < 2:
        raise _checks.ArgumentError("tokens", f"must be an n x T x d array with n, T >= 2, "
                                    f"got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise _checks.ArgumentError("tokens", "must be finite (found NaN or inf)")
    n, T, _ = X.shape
    mu = X.mean(axis=(0, 1))
    Y = X - mu
    sigma = np.einsum("nti,ntj->ij", Y, Y) / (n * T)
    total = np.trace(sigma)
    if total <= 0:
        raise _checks.ArgumentError("tokens", "must vary (all sequences are equal)")
    K = np.einsum("nid,njd->ij", Y, Y) / (n * total)
    K = 0.5 * (K + K.T)
    K.flags.writeable = False
    return DataModel("empirical", None, K), sigma, mu


def data_model(spec=None) -> DataModel:
    """A :class:`DataModel` from ``spec``: None (the random walk), a model, a ``T x T`` matrix,
    or text ``random-walk``, ``iid``, ``ar1:LENGTH``, ``fbm:H``."""
    if spec is None:
        return random_walk()
    if isinstance(spec, DataModel):
        return spec
    if not isinstance(spec, str):
        return matrix(spec)
    name, _, arg = spec.partition(":")
    name = name.strip().lower()
    if name in ("random-walk", "iid"):
        if arg:
            raise _checks.ArgumentError("data", f"{name!r} takes no parameter, got {spec!r}")
        return random_walk() if name == "random-walk" else iid()
    if name in ("ar1", "fbm"):
        try:
            value = float(arg)
        except ValueError:
            what = "LENGTH > 0" if name == "ar1" else "H in (0, 1)"
            raise _checks.ArgumentError("data", f"must be {name}:{what}, got {spec!r}") from None
        try:
            return ar1(value) if name == "ar1" else fbm(value)
        except _checks.ArgumentError as exc:
            raise _checks.ArgumentError("data", f"{name}: {exc}") from None
    raise _checks.ArgumentError("data", f"must be random-walk, iid, ar1:LENGTH, fbm:H or a T x T "
                                f"covariance, got {spec!r}")


def factor(K: np.ndarray) -> np.ndarray:
    """``L`` with ``L L^T = K`` (from one eigendecomposition; works for singular ``K``)."""
    w, v = np.linalg.eigh(K)
    return v * np.sqrt(np.clip(w, 0.0, None))


def coefficients(K: np.ndarray, query: int | str = "all",
                 causal: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(alpha, beta, kappa)`` of the centered tokens for any temporal covariance ``K``.

    The query is token ``q``; the centering weights are ``m_q = 1/T`` on every token or, with
    ``causal``, ``1/q`` on tokens ``1..q``; ``u_i = x_i - sum_j m_qj x_j = sum_j a_ij y_j``
    with ``a_i = e_i - m_q`` (the mean embedding cancels, ``sum_j a_ij = 0``).  Then
    (``derivations/general_moments.py``, docs/data-models.md (D.3))::

        Cov(u_i)      = alpha_i Sigma,  alpha_i = a_i^T K a_i = K_ii - 2 (K m_q)_i + m_q^T K m_q
        Cov(u_i, y_q) = beta_i  Sigma,  beta_i  = (K a_i)_q  = K_qi - (K m_q)_q
        Cov(y_q)      = kappa   Sigma,  kappa   = K_qq

    For the random walk and ``q = T`` these are :func:`sigprop.rho.walk.coefficients` and
    ``kappa = 1``.  Positions masked by causal attention (``i > q``) get ``alpha = beta = 0``
    (their logit is not formed: ``rho = 0``).

    Parameters
    ----------
    K : (T, T) array
        Temporal covariance.
    query : int in 1..T or "all"
        The query position; ``"all"`` gives every query at once.
    causal : bool
        Center over tokens ``1..q`` (causal attention) instead of all ``T``.

    Returns
    -------
    alpha, beta : (T,) arrays, or (T, T) arrays indexed ``[q - 1, i - 1]`` for ``"all"``
    kappa : float, or (T, 1) array for ``"all"``
    """
    T = K.shape[0]
    single = not (isinstance(query, str) and query == "all")
    qs = np.array([query]) if single else np.arange(1, T + 1)
    j = np.arange(1, T + 1)
    inside = (j[None, :] <= qs[:, None]) if causal else np.ones((qs.size, T), dtype=bool)
    M = inside / inside.sum(axis=1, keepdims=True)                 # centering weights m_q, rows
    KM = M @ K                                                     # rows (K m_q)^T
    mKm = np.einsum("qj,qj->q", KM, M)
    rows = np.arange(qs.size)
    alpha = np.diag(K)[None, :] - 2.0 * KM + mKm[:, None]
    beta = K[qs - 1, :] - KM[rows, qs - 1][:, None]
    kappa = K[qs - 1, qs - 1][:, None]
    alpha = np.where(inside, np.clip(alpha, 0.0, None), 0.0)       # rounding never makes it < 0
    beta = np.where(inside, beta, 0.0)
    if single:
        return alpha[0], beta[0], kappa[0, 0]
    return alpha, beta, kappa
