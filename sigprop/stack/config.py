"""The configuration of a deep transformer stack at initialisation: :class:`StackConfig`.

One block, Post-LN (``norm="post"``, [GG26]'s BERT-style encoder)::

    x <- LN(alpha_A x + Attn(x))           Attn(x)_i = W_O sum_j a_ij (W_V x_j + b_V)
    x <- LN(alpha_MLP x + MLP(x))          MLP(x) = W_2 phi(W_1 x + b_1) + b_2

or Pre-LN (``norm="pre"``)::

    x <- alpha_A x + Attn(LN(x))
    x <- alpha_MLP x + MLP(LN(x))

with ``a_i = softmax_j(s_ij)``, ``s_ij = (W_Q x_i) . (W_K x_j) / sqrt(d)`` and, at
initialisation, independent Gaussian weights of fan-in variances

* ``W_Q, W_K``: ``N(0, beta sqrt(log T_init) / d)`` entries ([GG26]'s REM scaling, so that a
  logit has variance ``beta^2 log T_init`` for unit-norm-per-coordinate tokens), no bias;
* ``W_V``: ``N(0, var_v / d)``, ``b_V``: ``N(0, var_b)``;
* ``W_O`` (only when ``var_o`` is given): ``N(0, var_o / d)``, no bias ([GG26] have no ``W_O``);
* ``W_1`` (``d_ff x d``, ``d_ff = d``), ``W_2``: ``N(0, var_w / fan_in)``, ``b_1, b_2``: ``N(0, var_b)``.

``alpha_A`` and ``alpha_MLP`` multiply the skip connection, as in [GG26]'s code
(``LayerNorm(hidden + alpha * input)``).  LayerNorm has no affine parameters.  The input
tokens have unit second moment per coordinate and pairwise cosine ``cosine0``.

[GG26] Giorlandino & Goldt, *Two failure modes of deep transformers and how to avoid them*
(ICLR 2026, arXiv:2505.24333); official code ``aGiorlandino/ICLR-Signal-Propagation-Transformers``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sigprop.core import checks as _checks

NORMS = ("post", "pre")
ACTIVATIONS = ("relu", "gelu", "none")
RECURSIONS = ("gg", "sigprop", "positional")
ATTENTIONS = ("softmax", "linear")
MOMENTS = ("monte-carlo", "closed")
# [GG26]'s published encoder configuration (deep_prop_encoder.ipynb of the official code)
GG_CONFIG: dict[str, Any] = dict(var_w=0.2, var_v=0.2, var_b=4e-4, alpha_attention=1.0, alpha_mlp=1.0, layers=50,
                 activation="relu", norm="post", d=720, T_init=512)
GG_BETAS = (0.5, 3.0)


@dataclass(frozen=True)
class StackConfig:
    """A validated stack configuration (see the module doc for the block and the weights).

    Parameters
    ----------
    layers : int
        Number of blocks ``L >= 1``.
    beta : float
        Query-key strength ``beta >= 0``: a logit's variance is ``beta^2 log T_init``.
    T : int
        Sequence length ``T >= 2`` (number of tokens).
    d : int
        Width ``d >= 2`` (the simulation's; the recursion is its ``d -> infinity`` limit).
    norm : {"post", "pre"}
        Where LayerNorm sits.
    activation : {"relu", "gelu", "none"}
        The MLP's activation; ``"none"`` drops the MLP sub-block.
    var_w, var_v, var_b : float
        Fan-in variances of the MLP weights, the value weights, and every bias (``>= 0``).
    var_o : float or None
        Fan-in variance of the output map ``W_O`` (``> 0``); None: no output map.
    alpha_attention, alpha_mlp : float
        Strengths ``>= 0`` of the two skip connections.
    cosine0 : float
        The input tokens' pairwise cosine, in ``[0, 1)``.
    T_init : int or None
        The ``T`` of the query-key initialisation ``sqrt(beta) log(T_init)^{1/4} / sqrt(d)``;
        None: ``T`` ([GG26] use their context length 512 whatever the sentence's length).
    recursion : {"gg", "sigprop", "positional"}
        ``"gg"``: [GG26]'s recursion as published (REM attention, ``T -> infinity``);
        ``"sigprop"``: the same blocks with the attention overlaps exact in ``T``;
        ``"positional"``: the whole ``T x T`` Gram matrix of the tokens per layer
        (:mod:`sigprop.stack.positional`), needed by ``causal``, ``qk_mean`` and ``input_scale != 1``.
    causal : bool
        Causal attention: token ``i`` attends to keys ``j <= i``.
    qk_mean, qk_variance : float or None, float
        ``qk_mean`` given: one symmetric query-key matrix ``W`` per layer whose eigenvalues have mean
        ``qk_mean`` and variance ``qk_variance >= 0`` (:func:`sigprop.rho.spectrum.make_weights`, Haar
        eigenvectors), logits ``x_i^T W x_j / sqrt(d)`` ([BHK24]'s model; ``beta`` is then unused).
        None: independent ``W_Q, W_K`` of strength ``beta``.
    input_scale : float
        The input tokens' second moment per coordinate ``> 0`` (1; [NNT24]'s isometric input: ``1 / d``).
    samples : int
        Draws of the limiting Gaussian logits per layer in the positional recursion (``>= 16``); with
        ``attention="linear"`` also the rows of the ``"sigprop"`` recursion's entropy estimate.
    attention : {"softmax", "linear"}
        ``"softmax"``, or [BHK24]'s piecewise-linear softmax ``clip(s_ij - mean_k s_ik, 0, 1)`` (rows do not
        sum to one; :mod:`sigprop.stack.linear`); ``"linear"`` needs ``recursion`` ``"sigprop"`` or
        ``"positional"`` (the REM limit is a softmax result).
    moments : {"monte-carlo", "closed"}
        How the positional recursion takes ``E[A C A^T]``: over ``samples`` draws of the logits, or
        ``"closed"``: exact (one-dimensional integrals, :func:`sigprop.stack.linear.gram_moments`), for
        piecewise-linear attention without mask and with independent ``W_Q, W_K`` (softmax rows have no
        closed form); the attention statistics reported per layer stay Monte Carlo estimates.
    """
    layers: int = 50
    beta: float = 0.5
    T: int = 64
    d: int = 128
    norm: str = "post"
    activation: str = "relu"
    var_w: float = 0.2
    var_v: float = 0.2
    var_b: float = 4e-4
    var_o: float | None = None
    alpha_attention: float = 1.0
    alpha_mlp: float = 1.0
    cosine0: float = 0.2
    T_init: int | None = None
    recursion: str = "sigprop"
    causal: bool = False
    qk_mean: float | None = None
    qk_variance: float = 0.0
    input_scale: float = 1.0
    samples: int = 2048
    attention: str = "softmax"
    moments: str = "monte-carlo"

    def __post_init__(self) -> None:
        def put(name, value):
            object.__setattr__(self, name, value)
        put("layers", _checks.integer("layers", self.layers, 1, 10_000))
        put("beta", _checks.scalar("beta", self.beta, minimum=0.0, maximum=100.0))
        put("T", _checks.integer("T", self.T, 2, 1 << 16))
        put("d", _checks.integer("d", self.d, 2, 1 << 16))
        for name, choices in (("norm", NORMS), ("activation", ACTIVATIONS), ("recursion", RECURSIONS),
                              ("attention", ATTENTIONS), ("moments", MOMENTS)):
            _checks.choice(name, getattr(self, name), choices)
        for name in ("var_w", "var_v", "var_b"):
            put(name, _checks.scalar(name, getattr(self, name), minimum=0.0, maximum=1e6))
        if self.var_o is not None:
            put("var_o", _checks.scalar("var_o", self.var_o, positive=True, maximum=1e6))
        for name in ("alpha_attention", "alpha_mlp"):
            put(name, _checks.scalar(name, getattr(self, name), minimum=0.0, maximum=1e3))
        put("cosine0", _checks.scalar("cosine0", self.cosine0, minimum=0.0, maximum=1.0, open_max=True))
        if self.T_init is not None:
            put("T_init", _checks.integer("T_init", self.T_init, 2, 1 << 30))
        if not isinstance(self.causal, (bool, np.bool_)):
            raise _checks.ArgumentError("causal", f"must be True or False, got {self.causal!r}")
        put("causal", bool(self.causal))
        if self.qk_mean is not None:
            put("qk_mean", _checks.scalar("qk_mean", self.qk_mean, minimum=-1e3, maximum=1e3))
        put("qk_variance", _checks.scalar("qk_variance", self.qk_variance, minimum=0.0, maximum=1e3))
        if self.qk_mean is None and self.qk_variance > 0:
            raise _checks.ArgumentError("qk_mean", "must be given with qk_variance > 0 (the eigenvalue mean of W)")
        put("input_scale", _checks.scalar("input_scale", self.input_scale, positive=True, maximum=1e6))
        put("samples", _checks.integer("samples", self.samples, 16, 1 << 20))
        if self.attention == "linear" and self.recursion == "gg":
            raise _checks.ArgumentError("recursion", "must be 'sigprop' or 'positional' with attention 'linear' "
                                        "(Giorlandino & Goldt's REM limit is a softmax result), got 'gg'")
        if self.moments == "closed":
            for name, ok, want in (("recursion", self.recursion == "positional", "'positional'"),
                                   ("attention", self.attention == "linear", "'linear'"),
                                   ("causal", not self.causal, "False"), ("qk_mean", self.qk_mean is None, "None")):
                if not ok:
                    raise _checks.ArgumentError(name, f"must be {want} with moments 'closed' (E[A C A^T] has a closed "
                                                f"form for unmasked piecewise-linear attention of independent W_Q, "
                                                f"W_K), got {getattr(self, name)!r}")
        needs = [name for name, on in (("causal", self.causal), ("qk_mean", self.qk_mean is not None),
                                       ("input_scale", self.input_scale != 1.0)) if on]
        if needs and self.recursion != "positional":
            raise _checks.ArgumentError("recursion", f"must be 'positional' with {needs[0]} set (the tokens are "
                                        f"no longer exchangeable, or their scale enters), got {self.recursion!r}")
        # a sub-block whose output is zero makes the tokens zero vectors (Post-LN: the LayerNorm after it;
        # Pre-LN: the residual stream itself), whose cosine is undefined
        zeros = "would output zeros" if self.norm == "post" else "would make the residual stream zero"
        if self.alpha_attention == 0 and self.var_v == 0 and self.var_b == 0:
            raise _checks.ArgumentError("var_v", "must be > 0 (or var_b > 0, or alpha_attention > 0): "
                                        f"the {self.norm.capitalize()}-LN attention sub-block {zeros} "
                                        "(zero tokens have no cosine)")
        if self.activation != "none" and self.alpha_mlp == 0 and self.var_w == 0 and self.var_b == 0:
            raise _checks.ArgumentError("var_w", "must be > 0 (or var_b > 0, or alpha_mlp > 0): "
                                        f"the {self.norm.capitalize()}-LN MLP sub-block {zeros} "
                                        "(zero tokens have no cosine)")

    @property
    def logit_variance(self) -> float:
        """``sigma^2 = beta^2 log T_init``: the variance of a logit between unit-norm-per-coordinate tokens."""
        import math
        return self.beta ** 2 * math.log(self.T_init or self.T)

    def to_dict(self) -> dict:
        """Every field, JSON-able."""
        return asdict(self)

    def replace(self, **changes) -> StackConfig:
        """A copy with ``changes`` (validated again)."""
        return StackConfig(**{**self.to_dict(), **changes})


def as_config(config=None, **fields) -> StackConfig:
    """``config`` (a :class:`StackConfig` or a dict of its fields) updated with ``fields``."""
    if config is None:
        return StackConfig(**fields)
    if isinstance(config, StackConfig):
        return config.replace(**fields) if fields else config
    if isinstance(config, dict):
        unknown = sorted(set(config) - set(StackConfig.__dataclass_fields__))
        if unknown:
            raise _checks.ArgumentError("config", f"has unknown fields: {', '.join(unknown)}")
        return StackConfig(**{**config, **fields})
    raise _checks.ArgumentError("config", f"must be a StackConfig or a dict, got {type(config).__name__}")
