"""The layer-to-layer recursion of a deep transformer at initialisation: :func:`predict` (``docs/theory.md`` §8).

The state after each block is the residual stream's per-coordinate second moment
``q = |x_i|^2 / d`` and cross moment ``p = x_i . x_j / d`` (``i != j``), averaged over the
weights at ``d -> infinity``; the mean cosine similarity is ``p / q``.  Each sub-block maps
``(q, p)`` in closed form (``derivations/stack_block.py``):

* **LayerNorm** (no affine): ``(q, p) -> (1, p / q)``.
* **Attention** on tokens of cosine ``c`` (after LN): with ``Y_self``, ``Y_cross`` the row overlaps
  of :mod:`sigprop.stack.softmax` at ``s^2 = sigma^2 (1 - c)``, ``sigma^2 = beta^2 log T_init``::

      q_A = var_o^* (var_v (c + (1 - c) Y_self) + var_b),
      p_A = var_o^* (var_v (c + (1 - c) Y_cross) + var_b)      (var_o^* = var_o, or 1 without W_O)

  With ``attention="linear"`` ([BHK24]'s piecewise-linear softmax, rows that do not sum to one) the
  branch also carries the rows' masses ``S_self``, ``S_cross`` (:mod:`sigprop.stack.linear`)::

      q_A = var_o^* (var_v ((1 - c) Y_self + c S_self) + var_b S_self),   p_A likewise with the cross terms.

* **MLP** on tokens of cosine ``c``: ``q_1 = var_w + var_b``, ``p_1 = var_w c + var_b`` and
  ``q_M = var_w K(q_1, q_1) + var_b``, ``p_M = var_w K(q_1, p_1) + var_b`` with
  ``K(q, p) = E phi(u) phi(v)``, ``(u, v)`` Gaussian of variances ``q`` and covariance ``p``;
  for ReLU ``K = (q / 2) rho(p / q)``, ``rho(c) = (sqrt(1 - c^2) + c (pi - arccos c)) / pi``
  (the arc-cosine kernel), for GELU a Gauss-Hermite quadrature.
* **Skip**: ``(q, p) -> (alpha^2 q + q_branch, alpha^2 p + p_branch)`` (the branch's weights are
  independent of its input, so the cross terms vanish in expectation).

``recursion="gg"`` takes the attention overlaps in the REM limit, ``Y_self = max(0, 1 - beta_c /
beta)``, ``Y_cross = 0``, ``beta_c = sqrt(2 / (1 - c))``: Giorlandino & Goldt's recursion
(``theory_update_relu.py`` of ``aGiorlandino/ICLR-Signal-Propagation-Transformers``, Post-LN;
the Pre-LN update of their ``Gain-controlled-propagation.ipynb``, whose ``beta_c`` is
``sqrt(2 / (q (q - p)))`` on the residual stream's un-normalized ``(q, p)``, kept as published).
``recursion="sigprop"`` uses the overlaps exact in ``T`` (:func:`sigprop.stack.softmax.overlaps`)
and, in Pre-LN, ``beta_c`` of the normalized tokens.

Per layer the result also holds the attention entropy (exact in ``T`` at the layer's input
cosine, for both recursions) and [NNT24]'s stable rank of ``X X^T`` for the equicorrelated
Gram matrix of cosine ``c`` (``d -> infinity``)::

    srank = (lambda_1^2 + (T - 1) (1 - c)^2) / lambda_1^2,      lambda_1 = 1 + (T - 1) c.
"""
from __future__ import annotations

import math

import numpy as np

from sigprop._version import __version__
from sigprop.core.checks import ArgumentError
from sigprop.core.labelled import Result
from sigprop.core.study import Dim, Study, register
from sigprop.stack import softmax as _softmax
from sigprop.stack.config import StackConfig, as_config
from sigprop.stack.kernels import KERNELS, gelu, gelu_kernel, relu_kernel

__all__ = ["KERNELS", "STACK_OUTPUTS", "STUDY", "gelu", "gelu_kernel", "relu_kernel", "predict",
           "stable_rank_equicorrelated", "attention_step", "mlp_step"]

KIND = "stack"
#: The largest ``beta`` of :func:`predict`: the grids of :func:`sigprop.stack.softmax.overlaps` grow as
#: ``beta^2`` (50 layers at ``T = 64``: 6 s at beta 10, 15 s at 15, 63 s at 30 on a loaded two-core machine).
BETA_MAX = 30.0
RECORD_KEYS = {"layers": ("layer",)}


def stable_rank_equicorrelated(c: float, T: int) -> float:
    """[NNT24]'s stable rank of ``G = (1 - c) I + c 1 1^T`` (``T x T``): ``sum lambda^2 / max lambda^2``."""
    lam1 = 1 + (T - 1) * c
    rest = 1 - c
    top = max(lam1, rest)
    return float((lam1 ** 2 + (T - 1) * rest ** 2) / top ** 2)


def attention_step(cfg: StackConfig, c: float, q: float, p: float) -> dict:
    """The attention branch on tokens of cosine ``c`` after LayerNorm: ``q_A, p_A`` and the row statistics.

    ``q, p`` are the residual stream's (before LN), used only by [GG26]'s Pre-LN ``beta_c``.
    """
    sigma2 = cfg.logit_variance
    s = math.sqrt(max(0.0, sigma2 * (1.0 - c)))
    scale = cfg.var_o if cfg.var_o is not None else 1.0
    if cfg.attention == "linear":
        return _linear_step(cfg, c, s, scale)
    exact = _softmax.overlaps(c, s, cfg.T, cross=cfg.recursion == "sigprop")
    if cfg.recursion == "gg":
        if cfg.norm == "pre":
            gap = q * (q - p)
            beta_c = math.sqrt(2.0 / gap) if gap > 0 else math.inf
        else:
            beta_c = math.sqrt(2.0 / (1.0 - c)) if c < 1 else math.inf
        y_self = max(0.0, 1.0 - beta_c / cfg.beta) if cfg.beta > 0 else 0.0
        y_cross = 0.0
    else:
        y_self, y_cross = exact["y_self"], exact["y_cross"]
    q_a = scale * (cfg.var_v * (c + (1 - c) * y_self) + cfg.var_b)
    p_a = scale * (cfg.var_v * (c + (1 - c) * y_cross) + cfg.var_b)
    return dict(q=q_a, p=p_a, y_self=y_self, y_cross=y_cross, entropy=exact["entropy"])


def _linear_step(cfg: StackConfig, c: float, s: float, scale: float) -> dict:
    """The attention branch with piecewise-linear rows (:mod:`sigprop.stack.linear`): rows do not sum to one."""
    from sigprop.stack import linear

    o = linear.overlaps(c, s, cfg.T)
    entropy, entropy_se = linear.row_entropy(s, cfg.T, cfg.samples, np.random.default_rng([cfg.T, 0x11EA]))
    q_a = scale * (cfg.var_v * ((1 - c) * o["y_self"] + c * o["sum_self"]) + cfg.var_b * o["sum_self"])
    p_a = scale * (cfg.var_v * ((1 - c) * o["y_cross"] + c * o["sum_cross"]) + cfg.var_b * o["sum_cross"])
    return dict(q=q_a, p=p_a, y_self=o["y_self"], y_cross=o["y_cross"], entropy=entropy, entropy_mc_se=entropy_se,
                mass=o["mass"])


def mlp_step(cfg: StackConfig, c: float) -> tuple[float, float]:
    """The MLP branch on tokens of cosine ``c`` after LayerNorm: ``(q_M, p_M)``."""
    kernel = KERNELS[cfg.activation]
    q1 = cfg.var_w + cfg.var_b
    p1 = cfg.var_w * c + cfg.var_b
    return cfg.var_w * kernel(q1, q1) + cfg.var_b, cfg.var_w * kernel(q1, p1) + cfg.var_b


def _cosine(q: float, p: float) -> float:
    return min(1.0, p / q) if q > 0 else 1.0


def check_predict(config=None, input_gram=None, **fields) -> StackConfig:
    """Refuse (``ArgumentError`` naming the field, with its accepted range) a stack :func:`predict` would
    refuse, before any work: the configuration's fields, ``beta`` within the exact recursions' grids, and
    the positional recursion's memory and time; returns the configuration.  The sweep driver calls it for
    every cell of ``stack-predict`` before the store is created."""
    cfg = as_config(config, **fields)
    if input_gram is not None and cfg.recursion != "positional":
        raise ArgumentError("input_gram", f"needs recursion='positional', got {cfg.recursion!r}")
    if cfg.recursion == "positional":
        from sigprop.stack import positional

        positional.require_run(cfg)
    elif cfg.beta > BETA_MAX:
        raise ArgumentError("beta", f"must be in [0, {BETA_MAX:g}] for recursion {cfg.recursion!r}, got "
                                    f"{cfg.beta:g}: its attention statistics are integrated exactly in T on grids "
                                    "that grow as beta^2 (about a minute a stack at 30); the simulation takes "
                                    "beta up to 100")
    return cfg


def predict(config=None, input_gram=None, **fields) -> Result:
    """Per-layer predictions of the recursion (module doc) for a :class:`StackConfig`.

    Parameters
    ----------
    config : StackConfig or dict, optional
        The stack; ``fields`` update it (e.g. ``predict(beta=3.0, recursion="gg")``).
    input_gram : array_like, optional
        ``recursion="positional"`` only: the input tokens' ``T x T`` per-coordinate Gram matrix in place
        of the equicorrelated one (:func:`sigprop.stack.positional.run`).

    Returns
    -------
    Result
        ``method="theory"``, ``config`` (every field) and ``layers``: one record per layer
        ``l = 0..L`` (0 is the input) with ``cosine`` (``p / q``), ``norm`` (``sqrt(q)``,
        the residual stream's root mean square per coordinate), ``stable_rank``, and for
        ``l >= 1`` the block's ``attention_overlap`` (``Y_self``), ``attention_cross``
        (``Y_cross``), ``attention_entropy`` and ``attention_norm`` (``sqrt(q_A)``); layer 0, the
        input, has no attention block: its attention fields are NaN (``null`` in JSON, ``-`` in
        tables), whatever the configuration.
        ``attention="linear"`` adds ``attention_mass`` (``E sum_j a_ij``) and the Monte Carlo error
        ``attention_entropy_mc_se`` of the entropy (of the rows normalized to sum one).
        ``recursion="positional"`` (:mod:`sigprop.stack.positional`) adds per layer
        ``linear_share``, ``rho_bhk`` and the Monte Carlo errors ``<name>_mc_se``, and ``rho``:
        per layer [BHK24]'s ``rho_i`` of the last query (``T`` values; NaN without ``qk_mean``).
    """
    cfg = check_predict(config, input_gram, **fields)
    if cfg.recursion == "positional":
        from sigprop.stack import positional

        out = positional.run(cfg, input_gram)
        return Result(dict(version=__version__, method="theory", config=cfg.to_dict(), layers=out["rows"],
                           rho=out["rho"].tolist()), kind=KIND, keys=RECORD_KEYS)
    q, p = 1.0, cfg.cosine0
    nan = float("nan")
    rows = [dict(layer=0, cosine=p, norm=1.0, stable_rank=stable_rank_equicorrelated(p, cfg.T),
                 attention_overlap=nan, attention_cross=nan, attention_entropy=nan, attention_norm=nan)]
    for layer in range(1, cfg.layers + 1):
        c = _cosine(q, p)
        att = attention_step(cfg, c, q, p)
        q, p = cfg.alpha_attention ** 2 * q + att["q"], cfg.alpha_attention ** 2 * p + att["p"]
        if cfg.norm == "post":
            q, p = 1.0, _cosine(q, p)
        if cfg.activation != "none":
            q_m, p_m = mlp_step(cfg, _cosine(q, p))
            q, p = cfg.alpha_mlp ** 2 * q + q_m, cfg.alpha_mlp ** 2 * p + p_m
            if cfg.norm == "post":
                q, p = 1.0, _cosine(q, p)
        if not (math.isfinite(q) and math.isfinite(p)):
            raise ArgumentError("layers", f"the residual stream's norm overflows at layer {layer}: fewer layers "
                                          "or smaller variances are needed")
        c = _cosine(q, p)
        rows.append(dict(layer=layer, cosine=c, norm=math.sqrt(q), stable_rank=stable_rank_equicorrelated(c, cfg.T),
                         attention_overlap=att["y_self"], attention_cross=att["y_cross"],
                         attention_entropy=att["entropy"], attention_norm=math.sqrt(att["q"]),
                         **({"attention_entropy_mc_se": att["entropy_mc_se"], "attention_mass": att["mass"]}
                            if cfg.attention == "linear" else {})))
    return Result(dict(version=__version__, method="theory", config=cfg.to_dict(), layers=rows),
                  kind=KIND, keys=RECORD_KEYS)


#: The per-layer outputs of a cell of the sweep study ``stack-predict``.
STACK_OUTPUTS = ("cosine", "norm", "stable_rank", "attention_overlap", "attention_entropy")


def _layers(args) -> int:
    return int(args["L"]) + 1              # l = 0..L


#: :func:`predict` (the sweep study ``stack-predict``, ``alpha`` setting both skips; one cell is
#: :func:`sigprop.sweep.studies.stack_predict`).
STUDY = register(Study(
    name="stack-predict", function="sigprop.stack.recursion:predict", cell="sigprop.sweep.studies:stack_predict",
    check="sigprop.sweep.studies:check_stack_predict",
    kind=KIND, dims={"layer": Dim(size=_layers, source="L")}, cell_outputs={k: ("layer",) for k in STACK_OUTPUTS},
    quick=dict(layers=3, beta=1.0, T=8),
    description="the deep-stack recursion: cosine, norm, stable rank, attention participation and entropy per layer "
                "l = 0..L (sigprop.stack.predict; alpha sets both skips)"))
