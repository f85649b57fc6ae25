"""Random stacks drawn in NumPy, measured layer by layer: :func:`simulate`.

The blocks and weight variances are those of :class:`sigprop.stack.config.StackConfig`; every
seed draws its own stack and its own input, and all seeds run together as one batch (arrays
``(seeds, T, d)``; the only Python loop is over layers).  The input has unit second moment per
coordinate, zero mean over coordinates and pairwise cosine exactly ``cosine0`` when
``d >= T + 2`` (orthonormal directions; otherwise Gaussian, cosine ``cosine0`` on average).

Measured per layer and seed: the mean off-diagonal cosine similarity of the tokens, the
residual stream's root mean square per coordinate, [NNT24]'s stable rank of ``X X^T``
(:func:`sigprop.gap.stable_rank.stable_rank`), and the block's attention: mean row entropy
``-sum_j a_ij log a_ij``, mean participation ``sum_j a_ij^2``, mean overlap of two different
rows ``sum_j a_ij a_kj``, the root mean square of its output per coordinate, and the last query's
linear-regime share (its keys' share of centered logits ``zc_j = s_Tj - mean_k s_Tk`` in ``(0, 1)``,
[BHK24]'s ``rho`` measured).  ``causal`` masks keys ``j > i``; ``qk_mean`` draws one symmetric
query-key matrix per layer and seed (:func:`sigprop.rho.spectrum.make_weights`, Haar eigenvectors)
with logits ``x_i^T W x_j / sqrt(d)``; ``input_scale`` scales the input.  The result
reports the mean over seeds and its Student-t interval (:func:`sigprop.core.stats.t_interval`).
"""
from __future__ import annotations

import math

import numpy as np

from sigprop._version import __version__
from sigprop.core import checks as _checks
from sigprop.core.labelled import Result
from sigprop.core.memory import driver, require
from sigprop.core.stats import t_interval
from sigprop.gap.stable_rank import stable_rank
from sigprop.stack.config import StackConfig, as_config
from sigprop.stack.linear import normalized_entropy
from sigprop.stack.positional import attention_weights
from sigprop.stack.recursion import KIND, RECORD_KEYS, gelu

LN_EPS = 1e-12          # BERT's layer_norm_eps, as in [GG26]'s encoder
MEASURES = ("cosine", "norm", "stable_rank", "attention_overlap", "attention_cross", "attention_entropy",
            "attention_norm", "linear_share")


def layer_norm(x: np.ndarray) -> np.ndarray:
    """LayerNorm over the last axis, no affine parameters: ``(x - mean) / sqrt(var + eps)``."""
    centred = x - x.mean(axis=-1, keepdims=True)
    return centred / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + LN_EPS)


def _inputs(cfg: StackConfig, rngs: list[np.random.Generator]) -> np.ndarray:
    T, d, c = cfg.T, cfg.d, cfg.cosine0
    xs = []
    for rng in rngs:
        if d >= T + 2:
            basis = rng.standard_normal((d, T + 1))
            basis -= basis.mean(axis=0, keepdims=True)          # orthogonal to the all-ones feature
            directions = np.linalg.qr(basis)[0].T * math.sqrt(d)  # T + 1 orthogonal rows of norm sqrt(d)
            xs.append(math.sqrt(c) * directions[:1] + math.sqrt(1 - c) * directions[1:])
        else:
            shared = rng.standard_normal((1, d))
            xs.append(layer_norm(math.sqrt(c) * shared + math.sqrt(1 - c) * rng.standard_normal((T, d))))
    return np.stack(xs) * math.sqrt(cfg.input_scale)


def _gaussian(rngs, shape, var: float) -> np.ndarray:
    return np.stack([rng.standard_normal(shape) for rng in rngs]) * math.sqrt(var)


def _measure(x: np.ndarray) -> dict:
    """Cosine, norm and stable rank of each seed's tokens ``x`` ``(S, T, d)``."""
    S, T, d = x.shape
    norms = np.linalg.norm(x, axis=-1)
    unit = x / norms[..., None]
    gram = unit @ np.swapaxes(unit, -1, -2)
    cosine = (gram.sum(axis=(-1, -2)) - np.trace(gram, axis1=-2, axis2=-1)) / (T * (T - 1))
    return dict(cosine=cosine, norm=np.sqrt((norms ** 2).mean(axis=-1) / d), stable_rank=stable_rank(x))


def _attention(cfg: StackConfig, x: np.ndarray, rngs) -> tuple[np.ndarray, dict]:
    S, T, d = x.shape
    if cfg.qk_mean is None:
        var_qk = cfg.beta * math.sqrt(math.log(cfg.T_init or cfg.T)) / d
        wq = _gaussian(rngs, (d, d), var_qk)
        wk = _gaussian(rngs, (d, d), var_qk)
    else:
        from sigprop.rho.spectrum import make_weights
        w = np.stack([make_weights(cfg.qk_mean, cfg.qk_variance, d, seed=int(rng.integers(1 << 62))) for rng in rngs])
    wv = _gaussian(rngs, (d, d), cfg.var_v / d)
    bv = _gaussian(rngs, (1, d), cfg.var_b)
    if cfg.qk_mean is None:
        logits = (x @ np.swapaxes(wq, -1, -2)) @ np.swapaxes(x @ np.swapaxes(wk, -1, -2), -1, -2) / math.sqrt(d)
    else:
        logits = (x @ w) @ np.swapaxes(x, -1, -2) / math.sqrt(d)
    last = logits[:, -1, :]
    zc = last - last.mean(axis=-1, keepdims=True)
    linear_share = ((zc > 0) & (zc < 1)).mean(axis=-1)
    a = attention_weights(cfg, logits, np.tril(np.ones((T, T), dtype=bool)) if cfg.causal else None)
    y = a @ (x @ np.swapaxes(wv, -1, -2) + bv)
    if cfg.var_o is not None:
        y = y @ np.swapaxes(_gaussian(rngs, (d, d), cfg.var_o / d), -1, -2)
    entropy = normalized_entropy(a).mean(axis=-1)
    overlap = a @ np.swapaxes(a, -1, -2)                 # (S, T, T): sum_j a_ij a_kj
    diag = np.trace(overlap, axis1=-2, axis2=-1)
    stats = dict(attention_overlap=diag / T,
                 attention_cross=(overlap.sum(axis=(-1, -2)) - diag) / (T * (T - 1)),
                 attention_entropy=entropy,
                 attention_norm=np.sqrt((y * y).mean(axis=(-1, -2))), linear_share=linear_share)
    return y, stats


def _mlp(cfg: StackConfig, x: np.ndarray, rngs) -> np.ndarray:
    S, T, d = x.shape
    w1 = _gaussian(rngs, (d, d), cfg.var_w / d)
    b1 = _gaussian(rngs, (1, d), cfg.var_b)
    w2 = _gaussian(rngs, (d, d), cfg.var_w / d)
    b2 = _gaussian(rngs, (1, d), cfg.var_b)
    h = x @ np.swapaxes(w1, -1, -2) + b1
    h = np.maximum(h, 0.0) if cfg.activation == "relu" else gelu(h)
    return h @ np.swapaxes(w2, -1, -2) + b2


def _batch_bytes(seeds: float, T: float, d: float) -> float:
    """The simulation's memory: per seed the layer's weights and the tokens' arrays, float64."""
    return 8.0 * seeds * (6 * d * d + 6 * T * d + 3 * T * T)


def simulate(config=None, seeds=(0, 1, 2, 3, 4), confidence: float = 0.95, inputs=None, **fields) -> Result:
    """Per-layer measurements of random stacks, one per seed, with intervals over seeds.

    Parameters
    ----------
    config : StackConfig or dict, optional
        The stack (``fields`` update it); ``recursion`` is ignored (recorded only).
    seeds : sequence of int
        At least 2 distinct seeds ``>= 0`` (the package's tests and studies use >= 5).
    confidence : float
        Level of the Student-t intervals over seeds, in ``(0, 1)``.
    inputs : array_like, optional
        ``(n, T, d)`` input sequences (e.g. real text, :mod:`sigprop.stack.text`), ``n >= len(seeds)``:
        the ``k``-th seed's stack runs on ``inputs[k]`` (used as given) instead of the synthetic input.

    Returns
    -------
    Result
        The type :func:`sigprop.stack.recursion.predict` returns, ``method="simulation"``, with
        ``seeds``, ``confidence`` and, per layer, each measure's mean over seeds, its interval
        ``<measure>_low``, ``<measure>_high`` and its standard error ``<measure>_se``;
        ``per_seed`` holds every seed's values (``measure -> layers x seeds``).  Layer 0 (the
        input) has no attention block: its attention measures and their intervals are NaN, as in
        :func:`~sigprop.stack.recursion.predict`.
    """
    cfg = as_config(config, **fields)

    def require_batch(S: int) -> None:
        T, d = cfg.T, cfg.d
        require(_batch_bytes(S, T, d), driver(_batch_bytes, dict(seeds=(S, 2), T=(T, 2), d=(d, 1))),
                f"a batch of {S} stacks of width {d} and {T} tokens")

    sized = hasattr(seeds, "__len__") and not isinstance(seeds, (str, bytes))
    if sized:                                                   # checked before the seeds are read
        require_batch(len(seeds))
    seeds = [_checks.integer("seeds", s, 0) for s in np.atleast_1d(np.asarray(seeds, dtype=object)).tolist()]
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise _checks.ArgumentError("seeds", f"must be at least 2 distinct integers >= 0, got {seeds}")
    confidence = _checks.scalar("confidence", confidence, positive=True, maximum=1.0, open_max=True)
    S, T, d = len(seeds), cfg.T, cfg.d
    if not sized:
        require_batch(S)
    if inputs is not None:
        inputs = np.asarray(_checks.real("inputs", inputs), dtype=float)
        if inputs.ndim != 3 or inputs.shape[1:] != (T, d) or inputs.shape[0] < S:
            raise _checks.ArgumentError("inputs", f"must have shape (n >= {S} seeds, T = {T}, d = {d}), "
                                        f"got {inputs.shape}")
    rngs = [np.random.default_rng([seed, 0x5A7C]) for seed in seeds]
    x = _inputs(cfg, rngs)
    if inputs is not None:
        x = inputs[:S].copy()
    nan = np.full(S, np.nan)
    per_layer = [dict(_measure(x), attention_overlap=nan, attention_cross=nan, attention_entropy=nan,
                      attention_norm=nan, linear_share=nan)]
    for _ in range(cfg.layers):
        inner = x if cfg.norm == "post" else layer_norm(x)
        y, att = _attention(cfg, inner, rngs)
        x = cfg.alpha_attention * x + y
        if cfg.norm == "post":
            x = layer_norm(x)
        if cfg.activation != "none":
            inner = x if cfg.norm == "post" else layer_norm(x)
            x = cfg.alpha_mlp * x + _mlp(cfg, inner, rngs)
            if cfg.norm == "post":
                x = layer_norm(x)
        if not np.all(np.isfinite(x)):
            raise _checks.ArgumentError("layers", "the residual stream overflowed: fewer layers or smaller "
                                        "variances are needed")
        per_layer.append(dict(_measure(x), **att))
    per_seed = {name: [np.asarray(values[name], dtype=float).tolist() for values in per_layer] for name in MEASURES}
    return Result(dict(version=__version__, method="simulation", config=cfg.to_dict(), seeds=seeds,
                       confidence=confidence, layers=_rows(per_layer, confidence), per_seed=per_seed), kind=KIND,
                  keys=RECORD_KEYS, dims={"seeds": ("seed",), "per_seed": ("layer", "seed")})


def _rows(per_layer: list[dict], confidence: float) -> list[dict]:
    """One record per layer: each measure's mean over seeds, its Student-t interval and standard error."""
    rows = []
    for layer, values in enumerate(per_layer):
        row: dict = dict(layer=layer)
        for name in MEASURES:
            v = np.asarray(values[name], dtype=float)
            if np.all(np.isnan(v)):
                row.update({name: float("nan"), f"{name}_low": float("nan"), f"{name}_high": float("nan"),
                            f"{name}_se": float("nan")})
                continue
            mean, low, high = t_interval(v, confidence)
            row.update({name: float(mean), f"{name}_low": float(low), f"{name}_high": float(high),
                        f"{name}_se": float(v.std(ddof=1) / math.sqrt(v.size))})
        rows.append(row)
    return rows
