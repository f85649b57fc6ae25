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
* Theory in the loop (``fit`` windows given, :func:`datamodel`): per layer, the empirical data
  model (:func:`sigprop.rho.data.empirical`: token mean ``mu``, ``Sigma``, ``K`` with
  ``tr K = T``) fitted to the attention's input ``X`` (the residual stream with Post-LN, its
  LayerNorm with Pre-LN) on the ``fit`` windows, which are not the probe windows; per head,
  ``rho_datamodel``: the Gaussian closed form of the last query's linear-regime share
  (:func:`sigprop.rho.theory.theory` with ``LogitModel(W_h^T, T, step_cov=Sigma, data=K,
  token_mean=mu, scale=c)``; the logit of key ``i`` for the last query is
  ``c x_T^T W_Q W_K^T x_i = c x_i^T W_h^T x_T``, the convention ``z_i = c x_i^T W x_T`` of
  ``docs/theory.md`` (2.2)), averaged over keys, to set beside the measured
  ``linear_share_last``; ``rho_datamodel_exact`` the same by the exact method (if asked).  Not
  defined with QK-LayerNorm (its logits are not ``c x^T W x``): ``None``.
* Per layer: ``rank_residual`` of the layer's output (:func:`sigprop.model.measures.rank_residual`;
  0 is rank collapse) and the layer's means of the head measures.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sigprop.core.checks import ArgumentError
from sigprop.lm import regularizers as reg
from sigprop.lm import transformer
from sigprop.model import locater
from sigprop.model.attention import causal_mask
from sigprop.model.measures import attention_entropy, max_attention, nanmean, rank_residual
from sigprop.model.softmax import linear_regime
from sigprop.rho import data as _data
from sigprop.rho.logits import LogitModel
from sigprop.rho.spectrum import eig_mean, eig_spread, eig_var
from sigprop.rho.theory import theory


def perplexity(params: dict, windows: np.ndarray, cfg: transformer.Config, *, chunk: int = 16) -> tuple[float, float]:
    """``(loss, exp(loss))`` over all ``windows``, token-weighted."""
    total, count = 0.0, 0
    for start in range(0, windows.shape[0], chunk):
        batch = windows[start:start + chunk]
        loss, _ = transformer.forward(params, batch, cfg)
        n = batch.shape[0] * (batch.shape[1] - 1)
        total += loss * n
        count += n
    loss = total / count
    return loss, float(np.exp(loss))


def heads(params: dict, windows: np.ndarray, cfg: transformer.Config) -> dict:
    """The per-head and per-layer measures on ``windows`` (see the module doc)."""
    _, cache = transformer.forward(params, windows, cfg, keep=True)
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


def attention_inputs(params: dict, windows: np.ndarray, cfg: transformer.Config, *,
                     chunk: int = 16) -> list[np.ndarray]:
    """Each layer's attention input on ``windows``: a list of ``(n, T, D)`` float64 arrays."""
    parts: list[list[np.ndarray]] = [[] for _ in range(cfg.layers)]
    for start in range(0, windows.shape[0], chunk):
        _, cache = transformer.forward(params, windows[start:start + chunk], cfg, keep=True)
        for i, c in enumerate(cache["layers"]):
            parts[i].append(np.asarray(c["attn_in"], dtype=np.float64))
    return [np.concatenate(p) for p in parts]


def datamodel(params: dict, fit: np.ndarray, cfg: transformer.Config, *, exact: bool = False) -> dict:
    """The data model's prediction of each head's last-query linear-regime share (module doc).

    Parameters
    ----------
    params : dict
        The model's parameters.
    fit : numpy.ndarray
        Windows ``(n, T + 1)`` of token ids (``n >= 2``) the data model is fitted on.
    cfg : Config
        The model's configuration.
    exact : bool
        Also the exact method (slower: seconds a head at ``D = 128``).

    Returns
    -------
    dict
        ``rho_datamodel`` (and ``rho_datamodel_exact``), lists ``[layer][head]`` (``None`` with
        QK-LayerNorm), and per layer ``datamodel_token_mean_norm`` and ``datamodel_sigma_trace``.
    """
    keys = ["rho_datamodel"] + (["rho_datamodel_exact"] if exact else [])
    out: dict[str, Any] = {k: [] for k in keys + ["datamodel_token_mean_norm", "datamodel_sigma_trace"]}
    if cfg.reg[0] == "qk-norm":
        for k in keys:
            out[k] = [[None] * cfg.heads for _ in range(cfg.layers)]
        return {k: v for k, v in out.items() if k in keys}
    P, _ = reg.reparam_forward(params, transformer.reparametrized(cfg))
    T = fit.shape[1] - 1
    for i, X in enumerate(attention_inputs(params, fit, cfg)):
        model, Sigma, mu = _data.empirical(X)
        K = model.covariance(T)
        W = reg.head_qk(P[f"l{i}.W_Q"], P[f"l{i}.W_K"], cfg.heads).astype(np.float64)
        for k in keys:
            method = "exact" if k.endswith("exact") else "gaussian"
            out[k].append([float(theory(LogitModel(w.T, T, step_cov=Sigma, scale=cfg.scale, data=K,
                                                   token_mean=mu), method=method).rho.mean()) for w in W])
        out["datamodel_token_mean_norm"].append(float(np.linalg.norm(mu)))
        out["datamodel_sigma_trace"].append(float(np.trace(Sigma)))
    return out


def calibration(history: list) -> dict:
    """Predicted against measured last-query linear-regime share over every head and evaluation
    of a run: for each prediction (``rho_theory``: the random walk; ``rho_datamodel``,
    ``rho_datamodel_exact``: the fitted data model) present, the mean absolute error
    ``mean |predicted - measured|``, the mean signed error and Spearman's rank correlation
    (``None`` when fewer than 3 pairs or no variation).

    Parameters
    ----------
    history : list of dict
        A run's evaluations.

    Returns
    -------
    dict
        ``{prediction: {n, mean_abs_error, mean_error, spearman}}``.
    """
    from scipy import stats

    out = {}
    for key in ("rho_theory", "rho_datamodel", "rho_datamodel_exact"):
        pairs = [(p, m) for row in history if key in row
                 for p, m in zip(np.ravel(np.array(row[key], dtype=object)),
                                 np.ravel(np.array(row["linear_share_last"], dtype=object)), strict=True)
                 if p is not None and m is not None]
        if not pairs:
            continue
        pred, meas = np.array(pairs, dtype=float).T
        rho = None
        if pred.size >= 3 and np.ptp(pred) > 0 and np.ptp(meas) > 0:
            rho = float(stats.spearmanr(pred, meas).statistic)
        out[key] = dict(n=int(pred.size), mean_abs_error=float(np.mean(np.abs(pred - meas))),
                        mean_error=float(np.mean(pred - meas)), spearman=rho)
    return out


def measure(params: dict, windows: np.ndarray, cfg: transformer.Config, *, probe: int = 16, fit: int = 0,
            exact: bool = False) -> dict:
    """Perplexity over ``windows``, the head measures on the first ``probe`` of them and, with
    ``fit > 0``, the data model fitted on the next ``fit`` windows (:func:`datamodel`)."""
    loss, ppl = perplexity(params, windows, cfg)
    out = dict(loss=loss, perplexity=ppl, **heads(params, windows[:probe], cfg))
    if fit > 0:
        if windows.shape[0] < probe + 2:
            raise ArgumentError("datamodel", f"needs at least 2 validation windows after the {probe} probe "
                                             f"windows, there are {windows.shape[0] - probe}")
        out.update(datamodel(params, windows[probe:probe + fit], cfg, exact=exact))
        pred = [p for row in out["rho_datamodel"] for p in row if p is not None]
        out["rho_datamodel_mean"] = float(np.mean(pred)) if pred else None
    return out
