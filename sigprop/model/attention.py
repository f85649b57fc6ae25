"""One-layer, single-head self-attention with hand-written gradients (docs/theory.md §5).

Parameters: ``W_Q, W_K`` (``d x d_k``), giving ``W = W_Q W_K^T``, or a full-rank
``W`` (``d x d``) when ``d_k`` is ``None``; and ``W_V`` (``d x d_v``).  Logits follow
docs/theory.md (2.2), ``z_i = c x_i^T W x_q`` for key ``x_i`` and query ``x_q``, default
``c = 1/sqrt(d)``:

* ``mode="last"``: the query is the last token; ``y = sum_i p_i W_V^T x_i``,
  shape ``(B, d_v)``;
* ``mode="all"``: every token queries, ``Z[q, i] = c x_i^T W x_q``,
  ``Y = A X W_V`` with ``A = rowsoftmax(Z)``, shape ``(B, T, d_v)``; ``causal=True``
  lets query ``q`` see keys ``i <= q`` only.

``attention`` is ``"softmax"`` or ``"pwl"`` (the piecewise-linear approximation).
``remove_gap=True`` mixes the values with ``gap_scale (A - U)`` instead of ``A``, where
``U`` is the uniform attention over the visible positions (``1 1^T / T`` without a
mask): the spectral-gap fix of [NNT24] (docs/theory.md (6.7)), optionally rescaled.
:func:`forward` returns the output and a cache; :func:`backward` maps the output
gradient to the gradient of every parameter and of the input ``X`` (key ``"X"``).
No autodiff: the derivation is in the docstring of :func:`backward`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.model.softmax import pwl_softmax, pwl_softmax_vjp, softmax, softmax_vjp

ATTENTIONS = ("softmax", "pwl")
MODES = ("last", "all")


@dataclass(frozen=True)
class Config:
    """Shape and kind of the attention layer."""
    d: int
    d_k: int | None = None          # None: full-rank W parametrization
    d_v: int | None = None          # None: d
    attention: str = "softmax"
    mode: str = "last"
    causal: bool = False
    scale: float | None = None      # None: 1/sqrt(d)
    remove_gap: bool = False        # mix with gap_scale (A - U), U the uniform attention
    gap_scale: float = 1.0

    def __post_init__(self):
        _checks.integer("d", self.d, 1)
        if self.d_k is not None:
            _checks.integer("d_k", self.d_k, 1)
        if self.d_v is not None:
            _checks.integer("d_v", self.d_v, 1)
        _checks.choice("attention", self.attention, ATTENTIONS)
        _checks.choice("mode", self.mode, MODES)
        if self.causal and self.mode != "all":
            raise ArgumentError.about("causal", "causal=True needs mode='all'")
        if self.scale is not None:
            _checks.real("scale", self.scale, positive=True)
        _checks.real("gap_scale", self.gap_scale, positive=True)

    @property
    def c(self) -> float:
        return 1.0 / np.sqrt(self.d) if self.scale is None else float(self.scale)

    @property
    def factored(self) -> bool:
        return self.d_k is not None

    def as_dict(self) -> dict:
        """The configuration as a plain dict.

        Returns
        -------
        dict
        """
        return asdict(self)


def init_params(cfg: Config, seed=None, *, qk_std: float = 1.0, v_std: float = 1.0) -> dict:
    """Gaussian initialization with entries ``N(0, std^2 / d)``.

    Factored ``W_Q, W_K`` give ``W`` entries of variance ``qk_std^4 d_k / d^2``; the
    full-rank ``W`` has variance ``qk_std^2 / d``.
    """
    rng = np.random.default_rng(seed)
    d, d_v = cfg.d, cfg.d_v or cfg.d
    sd = 1.0 / np.sqrt(d)
    params = {}
    if cfg.d_k is not None:
        params["W_Q"] = rng.standard_normal((d, cfg.d_k)) * qk_std * sd
        params["W_K"] = rng.standard_normal((d, cfg.d_k)) * qk_std * sd
    else:
        params["W"] = rng.standard_normal((d, d)) * qk_std * sd
    params["W_V"] = rng.standard_normal((d, d_v)) * v_std * sd
    return params


def qk_matrix(params: dict) -> np.ndarray:
    """The query-key matrix ``W`` (``W_Q W_K^T`` when factored)."""
    return params["W"] if "W" in params else params["W_Q"] @ params["W_K"].T


def causal_mask(T: int) -> np.ndarray:
    """``allowed[q, i] = i <= q``."""
    return np.tril(np.ones((T, T), dtype=bool))


def logits(X: np.ndarray, W: np.ndarray, cfg: Config):
    """Logits and allowed mask: ``(B, T)`` in last mode, ``(B, T, T)`` in all mode."""
    if cfg.mode == "last":
        return cfg.c * np.einsum("btd,bd->bt", X, X[:, -1] @ W.T), None
    allowed = causal_mask(X.shape[1]) if cfg.causal else None
    return cfg.c * (X @ W.T) @ X.transpose(0, 2, 1), allowed


def weights(Z: np.ndarray, allowed, cfg: Config) -> np.ndarray:
    """Attention weights from logits: softmax or piecewise-linear, row-wise."""
    return softmax(Z, allowed) if cfg.attention == "softmax" else pwl_softmax(Z, allowed)


def uniform(shape, allowed) -> np.ndarray:
    """Uniform attention over the allowed positions of each row."""
    if allowed is None:
        return np.full(shape, 1.0 / shape[-1])
    allowed = np.broadcast_to(allowed, shape)
    return allowed / allowed.sum(axis=-1, keepdims=True)


def remove_gap(A: np.ndarray, allowed=None, scale: float = 1.0) -> np.ndarray:
    """The spectral-gap fix of [NNT24]: ``scale (A - U)``, ``U`` the uniform attention.

    ``U = 1 1^T / T`` without a mask (:func:`uniform`); its rows, like those of ``A``,
    sum to 1, so the rows of the result sum to 0 and the outlier eigenvalue 1 is gone
    (``docs/theory.md`` §6).  The one implementation of gap removal in the package.
    """
    A = np.asarray(A, dtype=float)
    return scale * (A - uniform(A.shape, allowed))


def mixing(A: np.ndarray, allowed, cfg: Config) -> np.ndarray:
    """The matrix that mixes the values: ``A``, or ``gap_scale (A - U)`` with the gap removed."""
    return remove_gap(A, allowed, cfg.gap_scale) if cfg.remove_gap else A


def forward(params: dict, X: np.ndarray, cfg: Config):
    """Output ``y`` (``(B, d_v)`` or ``(B, T, d_v)``) and the cache for :func:`backward`."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 3 or X.shape[2] != cfg.d:
        raise ArgumentError("X", f"must have shape (batch, T, d={cfg.d}), got {X.shape}")
    W = qk_matrix(params)
    Z, allowed = logits(X, W, cfg)
    A = weights(Z, allowed, cfg)
    mix = mixing(A, allowed, cfg)
    B, T, d = X.shape
    if cfg.mode == "last":
        pooled = np.einsum("bt,btd->bd", mix, X)        # sum_i p_i x_i
        return pooled @ params["W_V"], dict(X=X, W=W, Z=Z, A=A, mix=mix, pooled=pooled, allowed=allowed)
    V = (X.reshape(-1, d) @ params["W_V"]).reshape(B, T, -1)
    return mix @ V, dict(X=X, W=W, Z=Z, A=A, mix=mix, V=V, allowed=allowed)


def backward(params: dict, cache: dict, dY: np.ndarray, cfg: Config, *, inputs: bool = True) -> dict:
    """Gradients of ``L`` given ``dY = dL/dY``, for every parameter and ``X``.

    All mode, ``V = X W_V``: ``dV = A^T dY``, ``dA = dY V^T``, ``dW_V = X^T dV``, ``dX = dV W_V^T``.
    Last mode, ``y = W_V^T sum_i p_i x_i``: with ``u = W_V dy``, ``dp_i = x_i . u``,
    ``dW_V = (sum_i p_i x_i) dy^T`` and ``dx_i = p_i u``.  Then ``dZ = J^T dA`` row-wise
    (softmax or piecewise-linear).  Last mode, ``z_i = c x_i^T W x_T``: ``dW = c g x_T^T`` with
    ``g = sum_i dz_i x_i``, ``dx_i += c dz_i W x_T`` and ``dx_T += c W^T g``.  All mode,
    ``Z = c X W^T X^T``: ``dW = c X^T dZ^T X`` and ``dX += c (dZ X W + dZ^T X W^T)``.
    Factored: ``dW_Q = dW W_K`` and ``dW_K = dW^T W_Q``.  Sums run over the batch.
    With the gap removed, ``A`` is replaced by ``gap_scale (A - U)`` in the mixing and
    ``dA`` is multiplied by ``gap_scale``.  ``inputs=False`` skips the gradient of ``X``.
    """
    X, W, Z, A, mix, allowed = (cache[k] for k in ("X", "W", "Z", "A", "mix", "allowed"))
    c = cfg.c
    d = X.shape[2]
    W_V = params["W_V"]
    if cfg.mode == "last":
        u = dY @ W_V.T                                   # W_V dy, one row per sample
        dA = np.einsum("btd,bd->bt", X, u)
        grads = {"W_V": cache["pooled"].T @ dY}
    else:
        dA = dY @ cache["V"].transpose(0, 2, 1)
        dV = mix.transpose(0, 2, 1) @ dY
        grads = {"W_V": X.reshape(-1, d).T @ dV.reshape(-1, dV.shape[2])}
    if cfg.remove_gap:
        dA = cfg.gap_scale * dA                          # U does not depend on the logits
    dZ = softmax_vjp(A, dA) if cfg.attention == "softmax" else pwl_softmax_vjp(Z, dA, allowed)
    if cfg.mode == "last":
        x_last = X[:, -1]
        g = np.einsum("bt,btd->bd", dZ, X)
        dW = c * g.T @ x_last
        if inputs:
            dX = mix[:, :, None] * u[:, None, :] + c * dZ[:, :, None] * (x_last @ W.T)[:, None, :]
            dX[:, -1] += c * g @ W
    else:
        back = dZ.transpose(0, 2, 1) @ X            # (dZ^T X)[i] = sum_q dZ_qi x_q
        dW = c * X.reshape(-1, d).T @ back.reshape(-1, d)
        if inputs:
            dX = dV @ W_V.T + c * ((dZ @ X) @ W + back @ W.T)
    if cfg.factored:
        grads["W_Q"] = dW @ params["W_K"]
        grads["W_K"] = dW.T @ params["W_Q"]
    else:
        grads["W"] = dW
    if inputs:
        grads["X"] = dX
    return grads
