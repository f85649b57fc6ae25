"""Closing the loop on real text: each head's ``rho`` predicted from a data model fitted to MiniLM.

For every layer of a BERT-style encoder (MiniLM) reading real English text (the docstrings of
:data:`sigprop.checkpoints.realtext.MODULES`, cut into windows ``[CLS] + T - 2 tokens + [SEP]``,
as :func:`sigprop.checkpoints.encoder_gap.token_windows`), the layer's input ``X`` (``T x d``)
is collected on every window.  Windows alternate between a **fit** split (even) and a
**held-out** split (odd).

1. **Data model** (fit split, :func:`sigprop.rho.data.empirical`): the token mean ``mu_x``,
   ``Sigma`` and ``K`` (``tr K = T``).  **Separability** ``Cov(x_i, x_j) = K_ij Sigma`` is checked
   by the relative Frobenius error of the best Kronecker fit ``K (x) Sigma`` of the
   ``(T d) x (T d)`` covariance (Van Loan-Pitsianis: the top singular pair of the rearranged
   covariance, by power iteration without forming it; :func:`kronecker_error`), reported beside
   the same statistic on a Gaussian surrogate drawn from the fitted separable model with the same
   number of windows (what sampling alone gives when separability holds exactly), and per lag
   by the distance of the position-averaged cross-covariance from its best multiple of ``Sigma``
   (:func:`lag_errors`), with the same surrogate.
2. **Prediction** (Gaussian closed form, ``query="all"``, full centering: MiniLM is a
   bidirectional encoder, every query is used): each head's ``W_h = W_K^T W_Q / sqrt(d_head)``
   (:func:`sigprop.checkpoints.heads.head_matrices`), scale 1 (the logits of the model are
   ``x_i^T W_h x_q`` plus biases).  The key bias cancels in the centered logit; the query bias
   ``b_Q`` adds ``u_i^T W_K^T b_Q / sqrt(d_head)``, which lies in the range of ``W_h`` and is
   carried as an effective token mean ``mu_x + W_h^+ W_K^T b_Q / sqrt(d_head)``.  Two data
   models: the **empirical** ``K`` and the **random walk** ``K_ij = s min(i, j)/T`` with ``s``
   so that ``tr K = T`` (the same scale), each with the fitted ``Sigma`` and token mean; and two
   **null models** that share everything with the empirical model but its temporal correlation:
   ``iid`` (``K = I``: no correlation between positions) and ``shuffled`` (the fitted ``K`` with
   its positions permuted, ``K_{p(i) p(j)}``, by one permutation ``p`` of ``0..T-1`` drawn from
   ``numpy.random.default_rng([seed, 1])``: the same diagonal (marginal variances) and the same
   set of correlations, without their temporal order).
3. **Measurement** (held-out split): the share of centered logits ``zc = z - mean_keys(z)`` in
   ``(0, 1)`` per ``(query, key)`` (:func:`sigprop.model.softmax.linear_regime`, the definition
   of ``rho``), averaged over windows.
4. **Comparison** per head: predicted and measured shares averaged over all ``(q, i)``; the
   profile error (mean over keys ``i`` of the difference of the query-averaged profiles).  Over
   heads, for every model: Spearman's rank correlation and the mean absolute calibration error,
   with 95% **cluster-bootstrap** intervals (the heads of one layer share its input and are not
   independent: the layers are resampled with replacement, all 12 heads of a drawn layer kept;
   :data:`RESAMPLES` resamples, ``seed``; :func:`sigprop.core.stats.cluster_bootstrap`), the
   error also with the Student-t interval over the layer means
   (:func:`sigprop.core.stats.cluster_t_interval`, the balanced random-intercept model), and
   Fisher's interval for Spearman as if heads were independent (reported only).  **Paired**
   comparisons (``summary["paired"]``), head by head on the same resamples: the difference of
   absolute calibration errors (other minus model: positive when the model is closer), of
   Spearman (model minus other) and of profile errors (other minus model), for the empirical
   model against each null, the random walk against ``iid``, and the empirical model against the
   random walk.

With all queries and centering over all keys, the head's share averaged over every ``(q, i)`` is
invariant under a permutation of positions of ``K`` (``zc_{q,i}`` of the permuted model is
``zc_{p(q),p(i)}`` of the original; the token mean is the same at every position), so the
``shuffled`` null predicts the same averaged share as the empirical model (to rounding): the
per-head share cannot credit the temporal order of ``K``; only the position profile can.
"""
from __future__ import annotations

import platform

import numpy as np

from sigprop.checkpoints.encoder_gap import checkpoint_tokenizer, token_windows
from sigprop.checkpoints.heads import config_int, describe, head_matrices, load
from sigprop.checkpoints.realtext import MODULES, Weights, embed, encoder_states, spearman_ci
from sigprop.core import checks as _checks
from sigprop.core import stats as _stats
from sigprop.core.progress import progress_bar
from sigprop.model.softmax import linear_regime
from sigprop.rho import data as _data
from sigprop.rho.logits import LogitModel
from sigprop.rho.theory import theory

MODELS = ("empirical", "random_walk")
#: The null models of the empirical one (everything shared but the temporal correlation ``K``).
NULLS = ("iid", "shuffled")
#: The paired comparisons ``(model, other)`` of ``summary["paired"]``.
PAIRS = (("empirical", "iid"), ("empirical", "shuffled"), ("random_walk", "iid"), ("empirical", "random_walk"))
LAGS = (1, 2, 4, 8)
#: Cluster-bootstrap resamples of every interval over heads.
RESAMPLES = 2000


def lag_errors(Y: np.ndarray, lags=LAGS) -> list[float]:
    """Per-lag proportionality: for each lag ``l`` the cross-covariance averaged over positions,
    ``C_l = sym(mean_{s,i} y_si y_s,i+l^T)`` (``d x d``), against its best multiple ``k_l Sigma``:
    ``min_k ||C_l - k Sigma||_F / ||C_l||_F`` (0 when ``Cov(y_i, y_j) = K_ij Sigma``, up to sampling)."""
    n, T, _ = Y.shape
    S = np.einsum("sia,sib->ab", Y, Y) / (n * T)
    out = []
    for lag in lags:
        if lag >= T:
            out.append(float("nan"))
            continue
        C = np.einsum("sia,sib->ab", Y[:, :-lag], Y[:, lag:]) / (n * (T - lag))
        C = 0.5 * (C + C.T)
        k = np.sum(C * S) / np.sum(S * S)
        out.append(float(np.linalg.norm(C - k * S) / np.linalg.norm(C)))
    return out


def kronecker_error(Y: np.ndarray, iterations: int = 50, rtol: float = 1e-7) -> float:
    """Relative Frobenius error ``||C - K (x) S||_F / ||C||_F`` of the best Kronecker fit of the
    sample covariance ``C = mean_s vec(Y_s) vec(Y_s)^T`` of centered sequences ``Y`` (``n x T x d``).

    The rearrangement ``R(C)_{(ij),(ab)} = mean_s Y_sia Y_sjb`` has ``R V = mean_s Y_s V Y_s^T`` and
    ``R^T U = mean_s Y_s^T U Y_s``; the best fit is its top singular pair (power iteration), and
    ``||C||_F^2 = ||G||_F^2 / n^2`` with the Gram matrix ``G_st = <Y_s, Y_t>``.  Stops when the
    singular value changes by less than ``rtol`` (relative).
    """
    n = Y.shape[0]
    G = np.einsum("sia,tia->st", Y, Y)
    total = float(np.sum(G * G)) / n ** 2
    S = np.einsum("sia,sib->ab", Y, Y) / n          # start: the marginal Sigma
    S /= np.linalg.norm(S)
    sigma = 0.0
    for _ in range(iterations):
        K = np.einsum("sia,ab,sjb->ij", Y, S, Y, optimize=True) / n
        K /= np.linalg.norm(K)
        S = np.einsum("sia,ij,sjb->ab", Y, K, Y, optimize=True) / n
        old, sigma = sigma, float(np.linalg.norm(S))
        S /= sigma
        if abs(sigma - old) <= rtol * sigma:
            break
    return float(np.sqrt(max(0.0, 1.0 - sigma ** 2 / total)))


def _mean_rows(x):
    return x.mean(axis=-1)


def _t_or_none(values, layers):
    """The cluster-means t-interval, or ``None`` with fewer than 2 layers."""
    if np.unique(layers).size < 2:
        return None
    t = _stats.cluster_t_interval(values, layers)
    return dict(low=t["low"], high=t["high"], df=t["df"])


def _mean_interval(values: np.ndarray, layers: np.ndarray, seed: int) -> dict:
    """Mean over heads with its 95% cluster-bootstrap interval (layers resampled) and the
    Student-t interval over the layer means (``t``; ``None`` with one layer)."""
    b = _stats.cluster_bootstrap(_mean_rows, layers, values, resamples=RESAMPLES, seed=seed)
    return dict(mean=b["estimate"], low=b["low"], high=b["high"], t=_t_or_none(values, layers),
                layers=b["clusters"], resamples=RESAMPLES, seed=seed)


def _spearman_interval(pred: np.ndarray, measured: np.ndarray, layers: np.ndarray, seed: int) -> dict:
    """Spearman's rho over heads with its 95% cluster-bootstrap interval, and Fisher's interval
    (heads as if independent) beside it."""
    b = _stats.cluster_bootstrap(_stats.spearman_rows, layers, pred, measured, resamples=RESAMPLES, seed=seed)
    fisher = spearman_ci(pred, measured)
    return dict(rho=b["estimate"], low=b["low"], high=b["high"], n=int(pred.size), layers=b["clusters"],
                resamples=RESAMPLES, seed=seed, fisher=dict(low=fisher["low"], high=fisher["high"]))


def _paired(rows: list[dict], model: str, other: str, seed: int) -> dict:
    """Head-by-head comparison of ``model`` with ``other`` (module docstring, step 4)."""
    layers = np.array([r["layer"] for r in rows])
    measured = np.array([r["measured"] for r in rows])
    pm = np.array([r[f"predicted_{model}"] for r in rows])
    po = np.array([r[f"predicted_{other}"] for r in rows])
    calib = np.abs(po - measured) - np.abs(pm - measured)
    profile = (np.array([r[f"profile_error_{other}"] for r in rows])
               - np.array([r[f"profile_error_{model}"] for r in rows]))

    def spearman_gain(a, b, m):
        return _stats.spearman_rows(a, m) - _stats.spearman_rows(b, m)

    sp = _stats.cluster_bootstrap(spearman_gain, layers, pm, po, measured, resamples=RESAMPLES, seed=seed)
    return dict(model=model, other=other,
                calibration_gain=_mean_interval(calib, layers, seed),
                spearman_gain=dict(mean=sp["estimate"], low=sp["low"], high=sp["high"], layers=sp["clusters"],
                                   resamples=RESAMPLES, seed=seed),
                profile_gain=_mean_interval(profile, layers, seed),
                largest_prediction_difference=float(np.max(np.abs(pm - po))))


def summarize(rows: list[dict], seed: int = 0) -> dict:
    """The summary over heads of the per-head ``rows`` of :func:`study` (module docstring, step 4):
    per model its Spearman, calibration error (cluster-bootstrap intervals with ``seed``, layer-means
    t) and mean profile error; ``paired``: the comparisons of :data:`PAIRS`; ``walk_minus_empirical``:
    the random walk's calibration gain's complement (``paired["empirical-vs-random_walk"]``'s gain).
    A function of the rows alone: another bootstrap seed re-summarizes a stored result."""
    measured = np.array([r["measured"] for r in rows])
    layer_of = np.array([r["layer"] for r in rows])
    summary: dict = {}
    for name in MODELS + NULLS:
        pred = np.array([r[f"predicted_{name}"] for r in rows])
        summary[name] = dict(spearman=_spearman_interval(pred, measured, layer_of, seed),
                             calibration=_mean_interval(np.abs(pred - measured), layer_of, seed),
                             mean_profile_error=float(np.mean([r[f"profile_error_{name}"] for r in rows])))
    summary["paired"] = {f"{m}-vs-{o}": _paired(rows, m, o, seed) for m, o in PAIRS}
    # what the better data model buys: the paired difference of absolute errors, head by head
    summary["walk_minus_empirical"] = summary["paired"]["empirical-vs-random_walk"]["calibration_gain"]
    return summary


def _inputs(weights, cfg, ids, layers):
    """The input ``T x d`` of every layer in ``layers`` and the logits ``(heads, T, T)``."""
    top = max(layers)
    prev = embed(weights, cfg, ids)
    out = {}
    for layer, logits, _, hidden in encoder_states(weights, cfg, ids):
        if layer in layers:
            out[layer] = (prev, logits)
        if layer == top:
            break
        prev = hidden
    return out


def _read_windows(weights, cfg: dict, wins: list, layers: list[int], n_heads: int, T: int,
                  progress: bool) -> tuple[dict[int, list[np.ndarray]], dict[int, np.ndarray], int]:
    """Every window through the encoder, alternately fit and held out: the fit windows' inputs per
    layer, the held-out windows' summed linear-regime shares per layer and head, and how many were held out."""
    X: dict[int, list[np.ndarray]] = {la: [] for la in layers}
    share = {la: np.zeros((n_heads, T, T)) for la in layers}
    held = 0
    bar = progress_bar(len(wins), progress, desc="windows", unit="window")
    for w, ids in enumerate(wins):
        bar.update(1)
        states = _inputs(weights, cfg, ids, set(layers))
        fit = w % 2 == 0
        held += not fit
        for la in layers:
            x, logits = states[la]
            if fit:
                X[la].append(x)
            else:
                share[la] += linear_regime(logits)
    bar.close()
    return X, share, held


def _layer(la: int, Xf: np.ndarray, measured_all: np.ndarray, weights, heads: dict, n_heads: int, T: int,
           rng: np.random.Generator, order: np.ndarray) -> tuple[dict, list[dict]]:
    """Layer ``la``: the fitted data model's checks (one row) and, per head, the measured share against
    the shares predicted with the fitted model, the random walk and the two nulls."""
    model_K, Sigma, mu = _data.empirical(Xf)
    Y = Xf - mu
    K = model_K.covariance(T)
    surrogate = (_data.factor(K) @ rng.standard_normal((Xf.shape[0], T, Sigma.shape[0]))
                 @ _data.factor(Sigma).T)
    rw = _data.random_walk().covariance(T)
    rw = rw * (T / np.trace(rw))
    layer_row = dict(layer=la, kronecker_error=kronecker_error(Y),
                     kronecker_error_surrogate=kronecker_error(surrogate),
                     lag_error=lag_errors(Y), lag_error_surrogate=lag_errors(surrogate),
                     token_mean_norm=float(np.linalg.norm(mu)), sigma_trace=float(np.trace(Sigma)),
                     K_first_last=float(K[0, -1]), K_lag1=float(np.mean(np.diag(K, 1))))
    pre = f"encoder.layer.{la}.attention.self."
    bq = weights[pre + "query.bias"]
    Wk = weights[pre + "key.weight"]
    rows = []
    for h in range(n_heads):
        rec = heads[(la, h)]
        W, dh = rec["W"], rec["d_head"]
        sl = slice(h * dh, (h + 1) * dh)
        w0 = Wk[sl].T @ bq[sl] / np.sqrt(dh)
        mu_eff = mu + np.linalg.lstsq(W, w0, rcond=None)[0]
        measured = measured_all[h]
        row = dict(layer=la, head=h, measured=float(measured.mean()),
                   bias_residual=float(np.linalg.norm(W @ (mu_eff - mu) - w0) / max(np.linalg.norm(w0), 1e-300)))
        for name, Kd in (("empirical", K), ("random_walk", rw), ("iid", np.eye(T)),
                         ("shuffled", K[np.ix_(order, order)])):
            pred = theory(LogitModel(W, T, step_cov=Sigma, scale=1.0, data=Kd, query="all",
                                     token_mean=mu_eff), method="gaussian").rho
            row[f"predicted_{name}"] = float(pred.mean())
            row[f"profile_error_{name}"] = float(np.abs(pred.mean(axis=0) - measured.mean(axis=0)).mean())
        rows.append(row)
    return layer_row, rows


def study(checkpoint, config=None, *, length: int = 64, windows: int = 160, layers=None, seed: int = 0,
          progress: bool = False) -> dict:
    """Predicted against measured linear-regime shares per head (module docstring).

    Parameters
    ----------
    checkpoint : path
        A BERT-style ``.safetensors`` checkpoint with ``config.json`` and ``tokenizer.json`` beside it.
    config : path, optional
        The checkpoint's ``config.json`` (default: the one beside it).
    length : int
        Window length ``T`` (``4 <= T <=`` the checkpoint's ``max_position_embeddings``).
    windows : int
        Number of windows (``>= 8``; at most what the text gives: 110 at ``T = 64``), alternately fit
        and held out.
    layers : list of int, optional
        Layers to study (default: all).
    seed : int
        Seed of the surrogate data and the bootstrap.
    """
    _checks.integer("length", length, 4)                 # what needs no checkpoint, before it is read
    windows = _checks.integer("windows", windows, 8)
    seed = _checks.integer("seed", seed, 0)
    tensors, cfg = load(checkpoint, config)
    layout, recs = head_matrices(tensors, cfg)
    if layout != "bert":
        raise _checks.ArgumentError.about(
            "checkpoint", f"the data-model study runs BERT-style encoders only, this checkpoint is {layout}")
    limit = int(cfg.get("max_position_embeddings", 512))
    T = _checks.integer("length", length, 4, limit)
    n_layers = config_int(cfg, "num_hidden_layers", "number of layers")
    if layers is None:
        layers = list(range(n_layers))
    layers = sorted({_checks.integer("layers", la, 0, n_layers - 1) for la in np.ravel(layers).tolist()})
    if not layers:
        raise _checks.ArgumentError("layers", f"must name at least one layer in [0, {n_layers - 1}]")
    tok = checkpoint_tokenizer(checkpoint)
    wins = token_windows(tok, T, windows, tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]"))
    if len(wins) < 8:
        raise _checks.ArgumentError("windows", f"needs at least 8 windows of {T} tokens, the text gives {len(wins)}")
    weights = Weights(tensors)
    n_heads = config_int(cfg, "num_attention_heads", "number of heads")
    X, share, held = _read_windows(weights, cfg, wins, layers, n_heads, T, progress)
    rng = np.random.default_rng(seed)
    order = np.random.default_rng([seed, 1]).permutation(T)     # the shuffled null's positions
    heads = {(r["layer"], r["head"]): r for r in recs}
    rows, layer_rows = [], []
    for la in layers:
        layer_row, head_rows = _layer(la, np.array(X[la]), share[la] / held, weights, heads, n_heads, T, rng, order)
        layer_rows.append(layer_row)
        rows += head_rows
    summary = summarize(rows, seed)
    return dict(config=dict(checkpoint=describe(checkpoint), length=T, windows=len(wins), fit_windows=len(wins) - held,
                            held_out_windows=held, layers=layers, seed=seed, queries="all", centering="all keys",
                            nulls=dict(iid="K = I", shuffled="K[p][:, p], p = default_rng([seed, 1]).permutation(T)",
                                       permutation=order.tolist()),
                            intervals=dict(method="percentile cluster bootstrap over layers (all heads of a drawn "
                                                  "layer kept) and Student t over the layer means",
                                           resamples=RESAMPLES, level=0.95, seed=seed),
                            method="gaussian", scale=1.0, lags=list(LAGS),
                            text="docstrings of Python standard-library modules", modules=list(MODULES),
                            python=platform.python_version()),
                layers=layer_rows, records=rows, summary=summary)
