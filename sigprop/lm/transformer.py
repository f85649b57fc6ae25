"""The transformer language model: configuration, parameters, forward and backward.

``x_0 = sqrt(D) E[tokens] + P[positions]`` (unit-variance coordinates at initialization, the
scale of the random-walk tokens of ``docs/theory.md`` §1, while tied output logits
``x E^T`` start with unit variance), then ``L`` layers; with ``norm="post"`` (Post-LN, the
paper's placement, ``docs/theory.md`` §7)::

    x <- LN_1(x + drop(Attn(x)))          x <- LN_2(x + drop(FF(x)))

and with ``norm="pre"`` (Pre-LN, a final LayerNorm after the last layer)::

    x <- x + drop(Attn(LN_1(x)))          x <- x + drop(FF(LN_2(x)))

``FF(x) = act(x W_1 + b_1) W_2 + b_2`` (ReLU or GELU), output logits ``x E^T + b`` (tied) or
``x W_out + b`` (untied), loss the mean next-token cross-entropy.  The blocks and their
backward passes are in :mod:`sigprop.lm.layers`; the regularizers that change the model
(sigma-reparametrization, QK-LayerNorm, temperature) in :mod:`sigprop.lm.regularizers`.

Parameters live in a flat dict: ``tok_emb (V, D)``, ``pos_emb (T, D)``, per layer ``i``
``l{i}.W_Q, W_K, W_V, W_O (D, D)``, ``l{i}.W_1 (D, F)``, ``l{i}.b_1``, ``l{i}.W_2 (F, D)``,
``l{i}.b_2``, ``l{i}.ln1.g/b``, ``l{i}.ln2.g/b``; ``lnf.g/b`` (Pre-LN), ``W_out`` (untied),
``b_out``; ``l{i}.lnq.g/b``, ``l{i}.lnk.g`` (QK-LayerNorm, size ``dh``; a key bias would add a
constant to each row of logits and is left out); ``l{i}.gamma_*``
(sigma-reparametrization).  Initialization: matrices ``N(0, 1/fan_in)`` (token embeddings
``N(0, 1/D)``, position embeddings ``N(0, 1)``), except ``W_Q, W_K``: ``N(0, s^2/D)`` with
``s = qk_init`` (default 1), so that each head's ``W_h = W_Q W_K^T`` starts ``s^2`` times its
default scale; gains 1, biases 0, ``gamma`` 1.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.lm import layers as lm_layers
from sigprop.lm import regularizers as reg

NORMS = ("post", "pre")


#: The largest ``qk_init``: ``W_Q W_K^T`` then starts 1e12 times the default scale, every attention row
#: one-hot; far beyond, the float32 weights and logits overflow (at about 1e19).
QK_INIT_MAX = 1e6


@dataclass(frozen=True)
class Config:
    """Model shape and options; ``regularizer`` as in :func:`sigprop.lm.regularizers.parse`."""

    vocab: int = 4096
    width: int = 128
    heads: int = 1
    layers: int = 1
    length: int = 128
    ff: int = 128
    norm: str = "post"
    activation: str = "relu"
    tied: bool = True
    dropout: float = 0.0
    regularizer: str = "none"
    qk_init: float = 1.0

    def __post_init__(self):
        _checks.integer("vocab", self.vocab, 2)
        _checks.integer("width", self.width, 1)
        _checks.integer("heads", self.heads, 1)
        _checks.integer("layers", self.layers, 1)
        _checks.integer("length", self.length, 2)          # attention over one token has nothing to measure
        _checks.integer("ff", self.ff, 1)
        if self.width % self.heads:
            raise ArgumentError("width", f"must be a multiple of heads ({self.heads}), got {self.width}")
        _checks.choice("norm", self.norm, NORMS)
        _checks.choice("activation", self.activation, lm_layers.ACTIVATIONS)
        _checks.real("dropout", self.dropout, minimum=0.0, maximum=1.0, open_max=True)
        _checks.real("qk_init", self.qk_init, positive=True, maximum=QK_INIT_MAX)
        reg.parse(self.regularizer)

    @property
    def head_dim(self) -> int:
        return self.width // self.heads

    @property
    def reg(self) -> tuple[str, float]:
        return reg.parse(self.regularizer)

    @property
    def scale(self) -> float:
        """Logit scale ``c = 1 / (tau sqrt(dh))`` (``tau`` the temperature, else 1)."""
        name, value = self.reg
        tau = value if name == "temperature" else 1.0
        return 1.0 / (tau * np.sqrt(self.head_dim))

    def to_dict(self) -> dict:
        """The configuration as a plain dict.

        Returns
        -------
        dict
        """
        return asdict(self)


def init_params(cfg: Config, seed=None, dtype=np.float32) -> dict:
    """Parameters drawn from ``seed`` (see the module doc)."""
    rng = np.random.default_rng(seed)
    D, F, V = cfg.width, cfg.ff, cfg.vocab

    def normal(shape, fan_in):
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(dtype)

    p = {"tok_emb": normal((V, D), D), "pos_emb": normal((cfg.length, D), 1)}
    name, _ = cfg.reg
    for i in range(cfg.layers):
        for w in ("W_Q", "W_K", "W_V", "W_O"):
            p[f"l{i}.{w}"] = normal((D, D), D)
            if w in ("W_Q", "W_K") and cfg.qk_init != 1.0:
                p[f"l{i}.{w}"] *= p[f"l{i}.{w}"].dtype.type(cfg.qk_init)
        p[f"l{i}.W_1"], p[f"l{i}.b_1"] = normal((D, F), D), np.zeros(F, dtype)
        p[f"l{i}.W_2"], p[f"l{i}.b_2"] = normal((F, D), F), np.zeros(D, dtype)
        for ln in ("ln1", "ln2"):
            p[f"l{i}.{ln}.g"], p[f"l{i}.{ln}.b"] = np.ones(D, dtype), np.zeros(D, dtype)
        if name == "qk-norm":              # no key bias: it adds a constant to each logit row
            p[f"l{i}.lnq.g"], p[f"l{i}.lnq.b"] = np.ones(cfg.head_dim, dtype), np.zeros(cfg.head_dim, dtype)
            p[f"l{i}.lnk.g"] = np.ones(cfg.head_dim, dtype)
        if name == "sigma-reparam":
            for w in reg.REPARAM:
                p[reg.gamma_name(f"l{i}.{w}")] = np.ones((), dtype)
    if cfg.norm == "pre":
        p["lnf.g"], p["lnf.b"] = np.ones(D, dtype), np.zeros(D, dtype)
    if not cfg.tied:
        p["W_out"] = normal((D, V), D)
    p["b_out"] = np.zeros(V, dtype)
    return p


def reparametrized(cfg: Config) -> list[str]:
    """Names of the matrices that sigma-reparametrization rescales."""
    if cfg.reg[0] != "sigma-reparam":
        return []
    return [f"l{i}.{w}" for i in range(cfg.layers) for w in reg.REPARAM]


def forward(params: dict, tokens: np.ndarray, cfg: Config, *, rng=None, keep: bool = False,
            fused: bool = False, out: np.ndarray | None = None):
    """Mean cross-entropy of predicting ``tokens[:, 1:]`` from ``tokens[:, :-1]``, and the cache.

    ``rng`` (a Generator) switches dropout on; ``keep`` keeps per-layer attention and
    hidden states in the cache for the instruments.  ``fused`` computes the loss's gradient
    with respect to the logits at once, as the factors ``e = exp(z - max z)`` and
    ``r = 1 / (N s)`` of :func:`sigprop.lm.layers.softmax_cross_entropy_factored`, and caches
    them in place of the probabilities.  ``out``, a C-contiguous ``(N, V)`` array of the
    parameters' dtype (``N`` predicted tokens), receives the logits (then the probabilities or
    ``e``) instead of a new array: a buffer reused from step to step spares the allocation of
    ``N V`` fresh memory (its page faults cost as much as a pass over it).
    """
    tokens = np.asarray(tokens)
    inp, tgt = tokens[:, :-1], tokens[:, 1:]
    B, T = inp.shape
    if T > cfg.length:
        raise ArgumentError.about("tokens", f"sequence length must be <= {cfg.length}, got {T}")
    P, rcache = reg.reparam_forward(params, reparametrized(cfg))
    dtype = P["tok_emb"].dtype
    x = P["tok_emb"][inp] * dtype.type(np.sqrt(cfg.width)) + P["pos_emb"][:T]
    masks = {"emb": lm_layers.dropout_mask(x.shape, cfg.dropout, rng, dtype)}
    if masks["emb"] is not None:
        x = x * masks["emb"]
    layers = []
    for i in range(cfg.layers):
        c = {"in": x} if keep else {}                  # the block's input (the residual stream)
        qk_ln = (tuple(P[f"l{i}.{n}"] for n in ("lnq.g", "lnq.b", "lnk.g"))
                 if cfg.reg[0] == "qk-norm" else None)
        W = [P[f"l{i}.{w}"] for w in ("W_Q", "W_K", "W_V", "W_O")]
        if cfg.norm == "pre":
            h, c["ln1"] = lm_layers.layer_norm(x, P[f"l{i}.ln1.g"], P[f"l{i}.ln1.b"])
        else:
            h = x
        if keep:
            c["attn_in"] = h                           # the attention's input (the data model's tokens)
        a, c["attn"] = lm_layers.attention(h, *W, heads=cfg.heads, scale=cfg.scale, qk_ln=qk_ln)
        c["m1"] = lm_layers.dropout_mask(a.shape, cfg.dropout, rng, dtype)
        if c["m1"] is not None:
            a = a * c["m1"]
        if cfg.norm == "pre":
            x = x + a
            h, c["ln2"] = lm_layers.layer_norm(x, P[f"l{i}.ln2.g"], P[f"l{i}.ln2.b"])
        else:
            x, c["ln1"] = lm_layers.layer_norm(x + a, P[f"l{i}.ln1.g"], P[f"l{i}.ln1.b"])
            h = x
        c["u"] = h @ P[f"l{i}.W_1"] + P[f"l{i}.b_1"]
        c["act"] = lm_layers.activation(c["u"], cfg.activation)
        c["h"] = h
        f = c["act"] @ P[f"l{i}.W_2"] + P[f"l{i}.b_2"]
        c["m2"] = lm_layers.dropout_mask(f.shape, cfg.dropout, rng, dtype)
        if c["m2"] is not None:
            f = f * c["m2"]
        if cfg.norm == "pre":
            x = x + f
        else:
            x, c["ln2"] = lm_layers.layer_norm(x + f, P[f"l{i}.ln2.g"], P[f"l{i}.ln2.b"])
        if keep:
            c["out"] = x
        layers.append(c)
    lnf = None
    if cfg.norm == "pre":
        x, lnf = lm_layers.layer_norm(x, P["lnf.g"], P["lnf.b"])
    W_out = P["tok_emb"].T if cfg.tied else P["W_out"]
    V = W_out.shape[1]
    if out is not None and (out.shape != (B * T, V) or out.dtype != dtype or not out.flags.c_contiguous):
        raise ArgumentError("out", f"must be a C-contiguous {dtype} array of shape {(B * T, V)}, "
                                   f"got {out.dtype} {out.shape}")
    logits = np.matmul(x.reshape(-1, x.shape[-1]), W_out, out=out).reshape(B, T, V)  # one 2-D product
    logits += P["b_out"]
    if fused:
        loss, e, r = lm_layers.softmax_cross_entropy_factored(logits, tgt)
        found = dict(e=e, r=r)
    else:
        loss, probs = lm_layers.cross_entropy(logits, tgt)
        found = dict(probs=probs)
    cache = dict(P=P, rcache=rcache, inp=inp, tgt=tgt, masks=masks, layers=layers, lnf=lnf, x=x, **found)
    return loss, cache


def _output_backward(cache: dict, cfg: Config, g: dict, overwrite: bool):
    """The output layer's backward (see :func:`backward`): fills ``g["b_out"]`` and ``g["tok_emb"]``
    (tied) or ``g["W_out"]``; returns ``dx`` and the one-hot term ``(rows, values)`` that the tied
    embedding's scatter adds (or ``None``)."""
    P = cache["P"]
    D = cfg.width
    x = cache["x"]
    xf = x.reshape(-1, D)
    W_out = P["tok_emb"].T if cfg.tied else P["W_out"]
    V = W_out.shape[1]
    scatter = None                          # (rows, values) of the one-hot term, for tok_emb's scatter
    if "e" in cache:                        # fused forward: dz = r e - onehot(y) / N, never formed
        ef = cache["e"].reshape(-1, V)
        r = cache["r"].reshape(-1, 1)
        tgt = cache["tgt"].reshape(-1)
        inv_n = x.dtype.type(1.0 / tgt.size)
        g["b_out"] = r[:, 0] @ ef
        g["b_out"] -= np.bincount(tgt, minlength=V).astype(x.dtype) * inv_n
        xr = xf * r
        dx = ef @ W_out.T
        dx *= r
        dx -= W_out.T[tgt] * inv_n
        dx = dx.reshape(x.shape)
        if cfg.tied:
            g["tok_emb"] = np.ascontiguousarray((xr.T @ ef).T)   # D x V product: faster than e^T x_r
            scatter = (tgt, xf * -inv_n)
        else:
            g["W_out"] = xr.T @ ef
            g["W_out"] -= lm_layers.scatter_rows(tgt, xf * inv_n, V).T
    else:
        dz = lm_layers.cross_entropy_backward(cache["probs"], cache["tgt"], overwrite=overwrite)
        dzf = dz.reshape(-1, V)
        g["b_out"] = dzf.sum(axis=0)
        if cfg.tied:
            g["tok_emb"] = dzf.T @ xf
        else:
            g["W_out"] = xf.T @ dzf
        dx = dz @ W_out.T
    return dx, scatter


def backward(params: dict, cache: dict, cfg: Config, *, overwrite: bool = False) -> dict:
    """Gradients of the mean cross-entropy with respect to every parameter.

    ``overwrite`` lets the backward reuse the cached probabilities' memory (the cache is
    then spent).  After a fused forward the gradient with respect to the logits,
    ``dz = r e - onehot(y) / N``, is never formed: with ``x_r = r x`` (each token's row scaled)
    ``dW_out = x_r^T e - scatter_y(x) / N``, ``dx = r (e W_out^T) - W_out^T[y] / N`` and
    ``db_out = r^T e - counts(y) / N``, the three output products at their floor's shapes and no
    pass over ``N x V`` besides them but one matrix-vector product.
    """
    P, layers = cache["P"], cache["layers"]
    g: dict[str, Any] = {k: None for k in P}
    D = cfg.width
    dx, scatter = _output_backward(cache, cfg, g, overwrite)
    if cfg.norm == "pre":
        dx, g["lnf.g"], g["lnf.b"] = lm_layers.layer_norm_backward(dx, cache["lnf"])
    for i in reversed(range(cfg.layers)):
        c = layers[i]
        if cfg.norm == "post":
            dr, g[f"l{i}.ln2.g"], g[f"l{i}.ln2.b"] = lm_layers.layer_norm_backward(dx, c["ln2"])
            df, dx = dr, dr
        else:
            df = dx
        if c["m2"] is not None:
            df = df * c["m2"]
        g[f"l{i}.b_2"] = df.reshape(-1, D).sum(axis=0)
        g[f"l{i}.W_2"] = c["act"].reshape(-1, c["act"].shape[-1]).T @ df.reshape(-1, D)
        du = lm_layers.activation_backward(df @ P[f"l{i}.W_2"].T, c["u"], cfg.activation)
        g[f"l{i}.b_1"] = du.reshape(-1, du.shape[-1]).sum(axis=0)
        g[f"l{i}.W_1"] = c["h"].reshape(-1, D).T @ du.reshape(-1, du.shape[-1])
        dh = du @ P[f"l{i}.W_1"].T
        if cfg.norm == "post":
            dx = dx + dh
            dr, g[f"l{i}.ln1.g"], g[f"l{i}.ln1.b"] = lm_layers.layer_norm_backward(dx, c["ln1"])
            da, dx = dr, dr
        else:
            dxh, g[f"l{i}.ln2.g"], g[f"l{i}.ln2.b"] = lm_layers.layer_norm_backward(dh, c["ln2"])
            dx = dx + dxh
            da = dx
        if c["m1"] is not None:
            da = da * c["m1"]
        W = [P[f"l{i}.{w}"] for w in ("W_Q", "W_K", "W_V", "W_O")]
        dh, *dW, dln = lm_layers.attention_backward(da, c["attn"], *W)
        for w, d in zip(("W_Q", "W_K", "W_V", "W_O"), dW, strict=True):
            g[f"l{i}.{w}"] = d
        if dln is not None:
            for n, d in zip(("lnq.g", "lnq.b", "lnk.g"), dln, strict=True):
                g[f"l{i}.{n}"] = d
        if cfg.norm == "pre":
            dxh, g[f"l{i}.ln1.g"], g[f"l{i}.ln1.b"] = lm_layers.layer_norm_backward(dh, c["ln1"])
            dx = dx + dxh
        else:
            dx = dx + dh
    if cache["masks"]["emb"] is not None:
        dx = dx * cache["masks"]["emb"]
    T = dx.shape[1]
    g["pos_emb"] = np.zeros_like(P["pos_emb"])
    g["pos_emb"][:T] = dx.sum(axis=0)
    rows, values = cache["inp"].reshape(-1), dx.reshape(-1, D) * dx.dtype.type(np.sqrt(D))
    if scatter is not None:                 # the output layer's one-hot term joins the embedding's scatter
        rows, values = np.concatenate((rows, scatter[0])), np.concatenate((values, scatter[1]))
    dE = lm_layers.scatter_rows(rows, values, P["tok_emb"].shape[0])
    if g["tok_emb"] is None:
        g["tok_emb"] = dE
    else:
        g["tok_emb"] += dE
    g = reg.reparam_backward(params, g, cache["rcache"])
    for name in params:
        if g.get(name) is None:
            g[name] = np.zeros_like(params[name])
    return g


_WORKSPACE = threading.local()


def _workspace(shape, dtype):
    """This thread's ``shape`` buffer of ``dtype`` for the logits (one kept, replaced when the
    shape or dtype changes): the memory of ``N x V`` logits is reused from step to step."""
    if shape is None:
        return None
    buf = getattr(_WORKSPACE, "logits", None)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = _WORKSPACE.logits = np.empty(shape, dtype)
    return buf


def loss_and_grads(params: dict, tokens: np.ndarray, cfg: Config, *, rng=None, task: dict | None = None):
    """``(cross-entropy, penalty, gradients)`` of ``cross-entropy + penalty``.

    The penalty is LocAteR's ``lambda sum_heads R(W_h)`` (0 for the other regularizers).
    ``task``, a dict, receives the cross-entropy's own gradients of ``W_Q, W_K`` (what
    the mean-holding step of :mod:`sigprop.lm.train` follows).
    """
    tokens = np.asarray(tokens)
    shape = ((tokens.shape[0] * (tokens.shape[1] - 1), cfg.vocab) if tokens.ndim == 2 else None)
    dtype = params["tok_emb"].dtype
    loss, cache = forward(params, tokens, cfg, rng=rng, fused=True, out=_workspace(shape, dtype))
    grads = backward(params, cache, cfg, overwrite=True)
    del cache                               # the logits' buffer is free again
    name, lam = cfg.reg
    penalty = 0.0
    if task is not None:
        task.update({k: grads[k] for k in reg.qk_names(cfg.layers)})
    if name == "locater" and lam > 0:
        penalty = lam * float(reg.locater_penalty(params, cfg.layers, cfg.heads).sum())
        for k, v in reg.locater_gradients(params, cfg.layers, cfg.heads, lam).items():
            grads[k] = grads[k] + v.astype(grads[k].dtype)
    return loss, penalty, grads
