"""LocAteR and its peers for the language model, each with its exact gradient.

A head ``h`` of a layer has the query-key matrix ``W_h = W_Q[:, h] W_K[:, h]^T`` (``D x D``,
rank ``dh``; ``[:, h]`` the head's ``dh`` columns) and logits ``c x_i^T W_h x_j``.  How each
regularizer acts on the QK eigenspectrum (eigenvalue mean ``m = tr(W_h)/D``, variance
``v = tr(W_h^2)/D - m^2``; ``docs/theory.md`` §3-§4):

* ``locater:LAMBDA`` -- LocAteR, the penalty ``LAMBDA * sum_heads R(W_h)`` of
  :mod:`sigprop.model.locater` added to the loss, per head (its gradient through
  ``W_Q, W_K`` by :func:`sigprop.model.locater.gradients`).  It pulls each ``W_h`` towards
  ``m I``: it shrinks the spread of the eigenspectrum around its mean.  The penalty alone
  moves the mean too (through the factors ``W_Q, W_K``); with ``locater_mean="task"``
  (default) the training holds each head's mean exactly where the task loss alone would put
  it (:func:`hold_means` after every step, :mod:`sigprop.lm.train`), as
  :mod:`sigprop.model.train` does for the one-layer model.
* ``sigma-reparam`` -- sigma-reparametrization (Zhai et al. 2023): every weight matrix ``W``
  of a layer (``W_Q, W_K, W_V, W_O, W_1, W_2``) is used as ``W_hat = gamma / sigma_max(W) W``
  with a learnt scalar ``gamma`` (starting at 1).  Then ``||W_hat||_2 = |gamma|``, so every
  eigenvalue of ``W_h`` is at most ``|gamma_Q gamma_K|`` in modulus: it bounds the scale of
  the whole spectrum (mean and spread alike) through the spectral norms; it does not
  distinguish the mean from the spread.  Gradient, with ``G = dL/dW_hat``,
  ``W = sigma u v^T + ...``: ``dL/dgamma = <G, W> / sigma``,
  ``dL/dW = gamma / sigma G - gamma <G, W> / sigma^2 u v^T`` (``d sigma / dW = u v^T``,
  exact when the top singular value is simple).
* ``qk-norm`` -- QK-LayerNorm: queries and keys are LayerNorm-ed over the head dimension
  (gain and bias per layer, shared by the heads) before the dot product.  The logits become
  ``c LN(q_i)^T LN(k_j)``, bounded by ``c dh max|g|^2`` up to the biases whatever ``W_h``:
  the bilinear form seen by the tokens is no longer ``W_h`` (the reported eigenvalues of
  ``W_Q W_K^T`` then describe the weights, not the logits), and the learnt gains set the
  logit scale.
* ``temperature:T`` -- a fixed logit temperature: ``c = 1 / (T sqrt(dh))``, the same as
  using ``W_h / T``: every eigenvalue (mean and spread) divided by ``T``, fixed in training.
* ``none``.
"""
from __future__ import annotations

import numpy as np

from sigprop.core.checks import ArgumentError
from sigprop.model import locater

REGULARIZERS = ("none", "locater", "sigma-reparam", "qk-norm", "temperature")
REPARAM = ("W_Q", "W_K", "W_V", "W_O", "W_1", "W_2")
_USAGE = "must be locater:LAMBDA, sigma-reparam, qk-norm, temperature:T or none"


def parse(spec: str) -> tuple[str, float]:
    """``"locater:0.1" -> ("locater", 0.1)``; strength 0 for the regularizers without one."""
    name, _, value = str(spec).partition(":")
    if name not in REGULARIZERS:
        raise ArgumentError("regularizer", f"{_USAGE}, got {spec!r}")
    if name in ("locater", "temperature"):
        try:
            strength = float(value)
        except ValueError:
            raise ArgumentError("regularizer", f"{_USAGE} (a number after the colon), got {spec!r}") from None
        if not np.isfinite(strength) or strength < 0 or (name == "temperature" and strength <= 0):
            bound = "> 0" if name == "temperature" else ">= 0"
            raise ArgumentError("regularizer", f"strength of {name} must be {bound}, got {spec!r}")
        return name, strength
    if value:
        raise ArgumentError("regularizer", f"{name} takes no strength, got {spec!r}")
    return name, 0.0


def sigma_max(W: np.ndarray):
    """Top singular value and its singular vectors ``(sigma, u, v)``."""
    U, s, Vt = np.linalg.svd(W)
    return s[0], U[:, 0], Vt[0]


def reparam_forward(params: dict, names) -> tuple[dict, dict]:
    """Effective parameters ``W_hat = gamma / sigma_max(W) W`` for ``names``, and a cache."""
    eff, cache = dict(params), {}
    for name in names:
        W, gamma = params[name], params[gamma_name(name)]
        s, u, v = sigma_max(W)
        eff[name] = W * (gamma / s)
        cache[name] = (s, u, v)
    return eff, cache


def reparam_backward(params: dict, grads: dict, cache: dict) -> dict:
    """Map gradients on ``W_hat`` to gradients on ``W`` and ``gamma`` (module doc)."""
    out = dict(grads)
    for name, (s, u, v) in cache.items():
        G, W, gamma = grads[name], params[name], params[gamma_name(name)]
        inner = np.sum(G * W)
        out[gamma_name(name)] = np.asarray(inner / s, dtype=W.dtype)
        out[name] = (gamma / s) * G - (gamma * inner / (s * s)) * np.outer(u, v).astype(W.dtype)
    return out


def gamma_name(name: str) -> str:
    """``"l0.W_Q" -> "l0.gamma_Q"``."""
    prefix, _, base = name.rpartition(".")
    return f"{prefix}.gamma_{base[2:]}"


def head_qk(W_Q: np.ndarray, W_K: np.ndarray, heads: int) -> np.ndarray:
    """Per-head query-key matrices ``W_h = W_Q[:, h] W_K[:, h]^T``, shape ``(H, D, D)``."""
    D = W_Q.shape[0]
    q = W_Q.reshape(D, heads, -1).transpose(1, 0, 2)
    k = W_K.reshape(D, heads, -1).transpose(1, 0, 2)
    return q @ k.transpose(0, 2, 1)


def locater_penalty(params: dict, layers: int, heads: int) -> np.ndarray:
    """``R(W_h)`` of every head, shape ``(layers, heads)``."""
    return np.array([[locater.penalty(W) for W in head_qk(params[f"l{i}.W_Q"], params[f"l{i}.W_K"], heads)]
                     for i in range(layers)])


def qk_names(layers: int) -> list[str]:
    """``l{i}.W_Q``, ``l{i}.W_K`` of every layer."""
    return [f"l{i}.{w}" for i in range(layers) for w in ("W_Q", "W_K")]


def head_traces(params: dict, layers: int, heads: int) -> np.ndarray:
    """``tr(W_h) = <W_Q[:, h], W_K[:, h]>_F`` of every head, shape ``(layers, heads)``."""
    out = np.empty((layers, heads))
    for i in range(layers):
        Q, K = params[f"l{i}.W_Q"], params[f"l{i}.W_K"]
        D = Q.shape[0]
        out[i] = (Q.astype(np.float64) * K).reshape(D, heads, -1).sum(axis=(0, 2))
    return out


def hold_means(params: dict, targets: np.ndarray, heads: int) -> None:
    """Set every head's ``tr(W_h)`` to ``targets[layer, head]`` in place, by
    :func:`sigprop.model.locater.project` on the head's columns of ``W_Q, W_K``."""
    for i in range(targets.shape[0]):
        Q, K = params[f"l{i}.W_Q"], params[f"l{i}.W_K"]
        dh = Q.shape[1] // heads
        for h in range(heads):
            cols = slice(h * dh, (h + 1) * dh)
            locater.project({"W_Q": Q[:, cols], "W_K": K[:, cols]}, float(targets[i, h]))


def locater_gradients(params: dict, layers: int, heads: int, lam: float) -> dict:
    """``lambda d(sum_h R(W_h)) / d(W_Q, W_K)`` of every layer, head by head."""
    out = {}
    for i in range(layers):
        W_Q, W_K = params[f"l{i}.W_Q"], params[f"l{i}.W_K"]
        D = W_Q.shape[0]
        dh = D // heads
        gq, gk = np.zeros_like(W_Q), np.zeros_like(W_K)
        for h in range(heads):
            cols = slice(h * dh, (h + 1) * dh)
            g = locater.gradients({"W_Q": W_Q[:, cols], "W_K": W_K[:, cols]}, lam)
            gq[:, cols] = g["W_Q"]
            gk[:, cols] = g["W_K"]
        out[f"l{i}.W_Q"], out[f"l{i}.W_K"] = gq, gk
    return out
