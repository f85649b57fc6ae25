"""Measurements of the language model on held-out windows (the validation split in training).

* ``loss``, ``perplexity = exp(loss)``: mean next-token cross-entropy over all windows
  (:func:`sigprop.lm.corpus.eval_windows`), computed in chunks so memory stays bounded.
* On the first ``probe`` windows, per layer ``l`` and head ``h`` (lists ``[l][h]``):
  - ``entropy``: mean attention entropy of a row in nats, over every query with at least
    two visible keys; ``entropy_normalized``: divided by ``log n`` (``n`` the visible keys),
    so 1 is uniform and 0 one-hot (:func:`sigprop.model.measures.attention_entropy`);
    ``max_attention``: mean largest weight of a row;
  - ``eig_mean``, ``eig_var``: eigenvalue mean ``m = tr(W_h)/D`` and the theory's second
    moment ``tr(W_h^2)/D - m^2 = mean_k Re((lambda_k - m)^2)`` of ``W_h = W_Q[:, h] W_K[:, h]^T``
    (effective weights, i.e. after sigma-reparametrization): not a variance, negative when the
    eigenvalues are mostly complex; ``spread_abs``: the spread of the complex eigenvalues
    ``mean_k |lambda_k - m|^2`` (:func:`sigprop.rho.spectrum.eig_spread`); ``spread``:
    LocAteR's ``R(W_h) = ||W_h - m I||_F^2 / D``, which bounds ``spread_abs`` from above;
  - ``rho_theory``: the mean over positions of the closed-form ``rho_i`` of ``W_h`` under
    the random walk with unit step covariance, length ``T`` and the model's logit scale
    ``c`` (:func:`sigprop.rho.theory.theory`, Gaussian method): what [BHK24]'s theory
    predicts for this head if the tokens were the random walk;
  - ``linear_share_last``: the measured share of keys of the last query whose centered
    logit lies in ``(0, 1)`` (the linear regime, :func:`sigprop.model.softmax.linear_regime`),
    the quantity ``rho_theory`` predicts; ``linear_share``: the same over every query and
    its visible keys.
  With QK-LayerNorm the logits are no longer ``c x^T W_h x``: ``rho_theory`` then describes
  the weights only.
* Per layer: ``rank_residual`` of the layer's output (:func:`sigprop.model.measures.rank_residual`;
  0 is rank collapse) and the layer's means of the head measures.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sigprop.lm import regularizers as reg
from sigprop.lm import transformer as tf
from sigprop.model import locater
from sigprop.model.attention import causal_mask
from sigprop.model.measures import attention_entropy, max_attention, nanmean, rank_residual
from sigprop.model.softmax import linear_regime
from sigprop.rho.spectrum import eig_mean, eig_spread, eig_var
from sigprop.rho.theory import theory


def perplexity(params: dict, windows: np.ndarray, cfg: tf.Config, *, chunk: int = 16) -> tuple[float, float]:
    """``(loss, exp(loss))`` over all ``windows``, token-weighted."""
    total, count = 0.0, 0
    for start in range(0, windows.shape[0], chunk):
        batch = windows[start:start + chunk]
        loss, _ = tf.forward(params, batch, cfg)
        n = batch.shape[0] * (batch.shape[1] - 1)
        total += loss * n
        count += n
    loss = total / count
    return loss, float(np.exp(loss))


def heads(params: dict, windows: np.ndarray, cfg: tf.Config) -> dict:
    """The per-head and per-layer measures on ``windows`` (see the module doc)."""
    _, cache = tf.forward(params, windows, cfg, keep=True)
    P = cache["P"]
    T = windows.shape[1] - 1
    allowed = causal_mask(T)
    keys = ("entropy", "entropy_normalized", "max_attention", "eig_mean", "eig_var", "spread_abs", "spread",
            "rho_theory", "linear_share_last", "linear_share", "rank_residual")
    out: dict[str, Any] = {k: [] for k in keys}
    for i, c in enumerate(cache["layers"]):
        A, S = c["attn"]["A"], c["attn"]["S"]
        Sf = np.where(allowed, S, 0.0).astype(np.float64)
        inside = linear_regime(Sf, allowed)
        W = reg.head_qk(P[f"l{i}.W_Q"], P[f"l{i}.W_K"], cfg.heads).astype(np.float64)
        H_nats = attention_entropy(A, allowed, normalized=False)
        H_norm = attention_entropy(A, allowed, normalized=True)
        rows = allowed.sum(axis=-1) > 1
        out["entropy"].append([nanmean(H_nats[:, h][:, rows]) for h in range(cfg.heads)])
        out["entropy_normalized"].append([nanmean(H_norm[:, h]) for h in range(cfg.heads)])
        out["max_attention"].append([nanmean(max_attention(A[:, h][:, rows])) for h in range(cfg.heads)])
        out["eig_mean"].append([float(x) for x in eig_mean(W)])
        out["eig_var"].append([float(x) for x in eig_var(W)])
        out["spread_abs"].append([float(x) for x in eig_spread(W)])
        out["spread"].append([locater.penalty(w) for w in W])
        out["rho_theory"].append([float(theory(w, T, scale=cfg.scale, method="gaussian").rho.mean()) for w in W])
        out["linear_share_last"].append([float(inside[:, h, -1].mean()) for h in range(cfg.heads)])
        out["linear_share"].append([float(inside[:, h].sum() / (allowed.sum() * inside.shape[0]))
                                    for h in range(cfg.heads)])
        out["rank_residual"].append(nanmean(rank_residual(c["out"])))
    for key in ("entropy", "entropy_normalized", "max_attention", "rho_theory", "linear_share_last"):
        out[f"{key}_mean"] = float(np.mean(out[key]))
    out["entropy_by_layer"] = [float(np.mean(e)) for e in out["entropy"]]
    return out


def measure(params: dict, windows: np.ndarray, cfg: tf.Config, *, probe: int = 16) -> dict:
    """Perplexity over ``windows`` and the head measures on the first ``probe`` of them."""
    loss, ppl = perplexity(params, windows, cfg)
    return dict(loss=loss, perplexity=ppl, **heads(params, windows[:probe], cfg))
