"""[NNT24]'s own experimental protocol: its attention-only models, inputs and configurations.

This is the set-up the paper's figures were made with (its public code), not sigprop's own
(:mod:`sigprop.gap.collapse`: a common row plus noise, a ``sigma`` parametrization, a rank
residual, a rescaled fix).  Everything below is at initialisation unless trained.

* **Inputs**: isometric, ``X_0 X_0^T = I_T``: the first ``T`` rows of a Haar-random orthogonal
  ``d x d`` matrix (QR of a Gaussian matrix with the signs of ``diag(R)`` fixed), ``d = T / gamma``.
* **Attention** (single head, no MLP), per layer:

  - ``A``: random Markov attention ``A = rowsoftmax(G)``, ``G_ij ~ N(-log(2)/2, log 2)`` i.i.d.
    (so ``E e^G = 1``, ``Var e^G = 1`` and the bulk radius is ``T^{-1/2}``), independent of ``X``;
  - ``A(X)``: key-query attention ``rowsoftmax(X W_Q (X W_K)^T / sqrt(d_k))``, ``d_k = d``, with
    Xavier-normal ``W_Q, W_K`` (entries ``N(0, 2 / (d + d)) = N(0, 1/d)``);
  - ``I``: the identity-attention baseline.

* **The fix** ``_perp``: ``A_perp = A - 1 1^T / T`` in every layer, no rescaling (the paper's).
  ``_resc`` is sigprop's own extension, not the paper's: ``kappa (A - 1 1^T/T)`` with
  ``kappa = sqrt(T) / ||A - 1 1^T/T||_F`` (:func:`sigprop.gap.collapse.bulk_rescale`), computed
  per layer at initialisation and then held fixed.
* **Values** ``V = X W_V`` with i.i.d. ``N(0, 1)`` entries (no ``1/sqrt(d)``); an output projection
  ``W_O`` initialised to the identity (the paper's ``W_h``; trainable in :mod:`sigprop.gap.trainability`).
* **Block**: ``H = M V W_O`` with ``M`` the mixing matrix above, then ``+skip``: ``Z = H + X``;
  ``+skip/sqrt(d)``: ``Z = H / sqrt(d) + X`` (the paper's "upscaled skip"); otherwise ``Z = H``;
  ``+LN``: ``X' = LayerNorm(Z)`` over the features (``eps = 1e-5``, gain 1 and bias 0 at
  initialisation); else ``X' = Z``.

Configuration names: ``{A, A_perp, A(X), A(X)_perp}`` followed by nothing, ``+LN``, ``+skip``,
``+skip/sqrt(d)``, ``+skip+LN`` or ``+skip/sqrt(d)+LN``; ``I`` (identity baseline); and sigprop's
variants ``A_resc...``/``A(X)_resc...``.  ``double_skip=True`` reproduces a quirk of the paper's
code: with an unscaled skip and no MLP its block returns ``2 LayerNorm(Z)`` (the MLP's residual
adds the block's output to itself), which for ``A(X)`` changes the next layer's logit scale.

Seeds are vectorized: every array carries a leading seed axis ``S``; each array of seed ``s``
has its own stream (``default_rng([s, layer, kind])``, :class:`Draws`), so every configuration at
the same ``(gamma, T, seed)`` sees the same input and weights (paired comparisons) and a seed's
numbers do not depend on the other seeds run.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import numpy as np

from sigprop.core import checks as _checks
from sigprop.gap.collapse import bulk_rescale
from sigprop.model.softmax import softmax, softmax_vjp

ATTENTIONS = ("markov", "keyquery", "identity")
FIXES = ("none", "perp", "rescaled")
SKIPS = ("none", "skip", "scaled")
LN_EPS = 1e-5
MARKOV_MEAN, MARKOV_VAR = -math.log(2) / 2, math.log(2)

_BASES = {
    "A": ("markov", "none"),
    "A_perp": ("markov", "perp"),
    "A_resc": ("markov", "rescaled"),
    "A(X)": ("keyquery", "none"),
    "A(X)_perp": ("keyquery", "perp"),
    "A(X)_resc": ("keyquery", "rescaled"),
}
_SUFFIX = {
    "": ("none", False),
    "+LN": ("none", True),
    "+skip": ("skip", False),
    "+skip/sqrt(d)": ("scaled", False),
    "+skip+LN": ("skip", True),
    "+skip/sqrt(d)+LN": ("scaled", True),
}


@dataclass(frozen=True)
class Config:
    """One configuration of the attention-only stack."""

    attention: str = "markov"
    fix: str = "none"
    skip: str = "none"
    layernorm: bool = False
    double_skip: bool = False

    def __post_init__(self):
        for field, allowed in (("attention", ATTENTIONS), ("fix", FIXES), ("skip", SKIPS)):
            _checks.choice(field, getattr(self, field), allowed)
        if self.attention == "identity" and self.fix != "none":
            raise _checks.ArgumentError("fix", "must be 'none' for identity attention")

    @property
    def name(self) -> str:
        if self.attention == "identity":
            base = "I"
        else:
            base = {v: k for k, v in _BASES.items()}[(self.attention, self.fix)]
        suffix = {v: k for k, v in _SUFFIX.items()}[(self.skip, self.layernorm)]
        return base + suffix + ("+double" if self.double_skip else "")

    @property
    def paper(self) -> bool:
        """True for the paper's own configurations (no rescaled fix, no code quirk)."""
        return self.fix != "rescaled" and not self.double_skip

    def as_dict(self) -> dict:
        """The configuration as a dict, with its ``name`` and its ``paper`` label.

        Returns
        -------
        dict
        """
        return dict(asdict(self), name=self.name, paper=self.paper)


def paper_configs() -> list[str]:
    """The paper's 24 configurations and the identity baseline, in the paper's order."""
    bases = ("A", "A_perp", "A(X)", "A(X)_perp")
    return [b + s for b in bases for s in _SUFFIX] + ["I"]


def parse(name: str) -> Config:
    """The :class:`Config` of a name such as ``"A(X)_perp+skip+LN"`` (spaces ignored)."""
    raw = name
    name = re.sub(r"\s+", "", str(name))
    double = name.endswith("+double")
    if double:
        name = name[: -len("+double")]
    for base in sorted(_BASES, key=len, reverse=True) + ["I"]:
        if name.startswith(base) and name[len(base) :] in _SUFFIX:
            skip, ln = _SUFFIX[name[len(base) :]]
            if base == "I":
                if (skip, ln) != ("none", False) or double:
                    break
                return Config("identity")
            attention, fix = _BASES[base]
            return Config(attention, fix, skip, ln, double)
    raise _checks.ArgumentError(
        "config", f"must be a name like 'A(X)_perp+skip+LN' (one of {', '.join(paper_configs())}, "
        f"or A_resc/A(X)_resc variants, optionally '+double'), or 'all'; got {raw!r}"
    )


def parse_many(names) -> list[Config]:
    """Configurations from names; ``"all"`` means :func:`paper_configs`."""
    names = [names] if isinstance(names, str) else list(names)
    out: list = []
    for n in names:
        out.extend(parse(m) for m in (paper_configs() if str(n).strip() == "all" else [n]))
    if not out:
        raise _checks.ArgumentError("config", "needs at least one configuration")
    return out


def width(T: int, gamma: float, name: str = "gamma") -> int:
    """``d = T / gamma`` (rounded as the paper's code does, ``int(T / gamma)``).

    ``gamma`` (named ``name`` in a refusal) is in ``(0, 1]`` and small enough only that ``d`` is an
    integer of at most ``2^63 - 1``: ``gamma >= T / (2^63 - 1)`` (a smaller one made ``T / gamma``
    infinite or beyond ``int64``; the memory of such a width is checked by the caller).
    """
    T = _checks.integer("T", T, 2)
    gamma = float(_checks.real(name, gamma, positive=True, maximum=1.0))
    with np.errstate(over="ignore"):
        d = T / gamma
    if not d <= _checks.INT_MAX:                       # also inf
        raise _checks.ArgumentError(name, f"must be in [{T / _checks.INT_MAX:.3g}, 1] at T = {T}, so that the width "
                                          f"d = T / gamma is an integer of at most 2^63 - 1; got {gamma!r} "
                                          f"(d = {d:.3g})")
    return int(round(d, 9))


def haar_rows(T: int, d: int, rng) -> np.ndarray:
    """The first ``T`` rows of a Haar-random ``d x d`` orthogonal matrix (``X X^T = I_T``)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return (q * np.sign(np.diag(r)))[:T]


_STREAMS = {"X0": 0, "G": 1, "W_Q": 2, "W_K": 3, "W_V": 4}


class Draws:
    """Inputs and weights for every seed, stacked on a leading seed axis, drawn layer by layer.

    ``X0`` ``(S, T, d)``; :meth:`layer` gives the next layer's ``G`` ``(S, T, T)``,
    ``W_Q, W_K`` ``(S, d, d)`` (``N(0, 1/d)``) and ``W_V`` ``(S, d, d)`` (``N(0, 1)``).  Each array
    of each layer has its own stream, ``default_rng([seed, layer, kind])``, so a configuration
    draws only what it uses and every configuration still sees the same arrays.
    """

    def __init__(self, seeds, T: int, d: int):
        self.seeds = [int(s) for s in seeds]
        self.T, self.d = T, d
        self.index = 0
        self.X0 = np.stack([haar_rows(T, d, self._rng(s, 0, "X0")) for s in self.seeds])

    @staticmethod
    def _rng(seed, layer, kind):
        return np.random.default_rng([seed, layer, _STREAMS[kind]])

    def layer(self, keep=("G", "W_Q", "W_K", "W_V")) -> dict:
        """The random parameters of the next layer, one draw per seed.

        Parameters
        ----------
        keep : tuple of str
            Which of ``G`` (Markov logits), ``W_Q``, ``W_K``, ``W_V`` to return.

        Returns
        -------
        dict
            Name -> array of shape ``(seeds, ...)``.
        """
        self.index += 1
        T, d, i = self.T, self.d, self.index
        shapes = {"G": (T, T), "W_Q": (d, d), "W_K": (d, d), "W_V": (d, d)}
        loc = {"G": MARKOV_MEAN}
        scale = {"G": math.sqrt(MARKOV_VAR), "W_Q": 1 / math.sqrt(d), "W_K": 1 / math.sqrt(d), "W_V": 1.0}
        return {
            k: np.stack(
                [
                    loc.get(k, 0.0) + scale[k] * self._rng(s, i, k).standard_normal(shapes[k])
                    for s in self.seeds
                ]
            )
            for k in keep
        }


def needed(cfg: Config) -> tuple[str, ...]:
    """The drawn arrays a configuration uses."""
    return {"markov": ("G", "W_V"), "keyquery": ("W_Q", "W_K", "W_V"), "identity": ("W_V",)}[cfg.attention]


def init_layer(cfg: Config, drawn: dict, *, output_projection: bool = False) -> dict:
    """One layer's parameters of ``cfg`` from :meth:`Draws.layer` (only what it uses).

    ``output_projection=True`` adds ``W_O = I`` (the paper's trainable ``W_h``); LayerNorm
    configurations get ``gain = 1`` and ``bias = 0``.
    """
    S, d = drawn["W_V"].shape[:2]
    p = {k: drawn[k].copy() for k in needed(cfg)}
    if output_projection:
        p["W_O"] = np.broadcast_to(np.eye(d), (S, d, d)).copy()
    if cfg.layernorm:
        p["gain"], p["bias"] = np.ones((S, d)), np.zeros((S, d))
    return p


def init_params(cfg: Config, seeds, T: int, d: int, layers: int, *, output_projection: bool = False):
    """``(X0, params)``: the isometric inputs and every layer's parameters (rescaled fix calibrated)."""
    dr = Draws(seeds, T, d)
    params = [
        init_layer(cfg, dr.layer(needed(cfg)), output_projection=output_projection) for _ in range(layers)
    ]
    return dr.X0, calibrate(cfg, params, dr.X0)


def _seed_axis(a, nd):
    """Insert batch axes after the seed axis so ``a`` broadcasts against ``(S, N, ...)``."""
    return a.reshape(a.shape[:1] + (1,) * nd + a.shape[1:])


def _attention(cfg: Config, p: dict, X: np.ndarray):
    """Attention matrix ``A`` (``(S, N, T, T)`` or ``(S, 1, T, T)``) and the key-query cache."""
    S, N, T, d = X.shape
    if cfg.attention == "identity":
        return np.broadcast_to(np.eye(T), (S, 1, T, T)), None
    if cfg.attention == "markov":
        return softmax(p["G"])[:, None], None
    Q = X @ _seed_axis(p["W_Q"], 1)
    K = X @ _seed_axis(p["W_K"], 1)
    return softmax(Q @ K.swapaxes(-1, -2) / math.sqrt(d)), (Q, K)


def calibrate_layer(cfg: Config, p: dict, X: np.ndarray) -> dict:
    """For the rescaled fix: store the layer's ``kappa`` (shape ``(S,)``) on its input ``X``.

    ``kappa = sqrt(T) / ||A - 1 1^T/T||_F`` of the layer's attention matrix at initialisation
    (the mean over the inputs of a batch), held fixed afterwards.  Other fixes: unchanged.
    """
    if cfg.fix == "rescaled":
        A, _ = _attention(cfg, p, _as_batch(X))
        p["kappa"] = np.array([np.nanmean([bulk_rescale(a) for a in As]) for As in A])
    return p


def calibrate(cfg: Config, params: list[dict], X0: np.ndarray) -> list[dict]:
    """:func:`calibrate_layer` for every layer, each on its input at initialisation."""
    if cfg.fix != "rescaled":
        return params
    X = _as_batch(X0)
    for p in params:
        calibrate_layer(cfg, p, X)
        X = layer_forward(cfg, p, X)[0]
    return params


def _as_batch(X):
    X = np.asarray(X, dtype=float)
    return X[:, None] if X.ndim == 3 else X


def layer_forward(cfg: Config, p: dict, X: np.ndarray):
    """One attention layer of the paper's protocol: attention, the fix, values, skip and LayerNorm.

    Parameters
    ----------
    cfg : Config
        The configuration (attention, fix, skip, LayerNorm).
    p : dict
        The layer's parameters (per seed on the first axis).
    X : numpy.ndarray
        Inputs of shape ``(seeds, N, T, d)``.

    Returns
    -------
    tuple
        The layer's output and what its backward pass needs.
    """
    S, N, T, d = X.shape
    A, qk = _attention(cfg, p, X)
    if cfg.fix == "none":
        M = A
    else:
        if cfg.fix == "rescaled" and "kappa" not in p:
            raise _checks.ArgumentError.about("fix", "the rescaled fix needs calibrate() first (kappa per layer)")
        kappa = _seed_axis(p["kappa"], 3) if cfg.fix == "rescaled" else 1.0
        M = kappa * (A - 1.0 / T)
    V = X @ _seed_axis(p["W_V"], 1)
    P = M @ V
    H = P @ _seed_axis(p["W_O"], 1) if "W_O" in p else P
    c = 1 / math.sqrt(d) if cfg.skip == "scaled" else 1.0
    Z = c * H + X if cfg.skip != "none" else H
    cache = dict(X=X, A=A, M=M, V=V, P=P, qk=qk, c=c)
    if cfg.layernorm:
        mu = Z.mean(-1, keepdims=True)
        rstd = 1 / np.sqrt(Z.var(-1, keepdims=True) + LN_EPS)
        xhat = (Z - mu) * rstd
        Y = xhat * p["gain"][:, None, None] + p["bias"][:, None, None]
        cache.update(xhat=xhat, rstd=rstd)
    else:
        Y = Z
    if cfg.double_skip and cfg.skip == "skip":
        Y = 2 * Y
    return Y, cache


def forward(cfg: Config, params: list[dict], X0: np.ndarray, *, keep: bool = False):
    """Outputs of every layer ``[X_0, X_1, ..., X_L]`` (each ``(S, N, T, d)``) and the caches.

    ``X0`` is ``(S, T, d)`` (one input per seed) or ``(S, N, T, d)`` (a batch per seed).
    ``keep=False`` keeps no caches (what the stable-rank study needs).
    """
    xs, caches = [_as_batch(X0)], []
    for p in params:
        Y, cache = layer_forward(cfg, p, xs[-1])
        xs.append(Y)
        caches.append(cache if keep else None)
    return xs, caches


def _layer_backward(cfg: Config, p: dict, cache: dict, dY: np.ndarray):
    X, A, M, V, P, qk, c = (cache[k] for k in ("X", "A", "M", "V", "P", "qk", "c"))
    S, N, T, d = X.shape
    g = {}
    if cfg.double_skip and cfg.skip == "skip":
        dY = 2 * dY
    if cfg.layernorm:
        xhat, rstd = cache["xhat"], cache["rstd"]
        g["gain"] = (dY * xhat).sum(axis=(1, 2))
        g["bias"] = dY.sum(axis=(1, 2))
        dxh = dY * p["gain"][:, None, None]
        dZ = rstd * (dxh - dxh.mean(-1, keepdims=True) - xhat * (dxh * xhat).mean(-1, keepdims=True))
    else:
        dZ = dY
    dX = dZ.copy() if cfg.skip != "none" else np.zeros_like(X)
    dH = c * dZ if cfg.skip != "none" else dZ
    if "W_O" in p:
        g["W_O"] = (P.swapaxes(-1, -2) @ dH).sum(1)
        dP = dH @ _seed_axis(p["W_O"], 1).swapaxes(-1, -2)
    else:
        dP = dH
    dV = M.swapaxes(-1, -2) @ dP
    g["W_V"] = (X.swapaxes(-1, -2) @ dV).sum(1)
    dX += dV @ _seed_axis(p["W_V"], 1).swapaxes(-1, -2)
    if cfg.attention == "identity":
        return dX, g
    dA = dP @ V.swapaxes(-1, -2)
    if cfg.fix == "rescaled":
        dA = _seed_axis(p["kappa"], 3) * dA
    dS = softmax_vjp(A, dA)
    if cfg.attention == "markov":
        g["G"] = dS.sum(1)
        return dX, g
    Q, K = qk
    dS = dS / math.sqrt(d)
    dQ = dS @ K
    dK = dS.swapaxes(-1, -2) @ Q
    g["W_Q"] = (X.swapaxes(-1, -2) @ dQ).sum(1)
    g["W_K"] = (X.swapaxes(-1, -2) @ dK).sum(1)
    dX += dQ @ _seed_axis(p["W_Q"], 1).swapaxes(-1, -2) + dK @ _seed_axis(p["W_K"], 1).swapaxes(-1, -2)
    return dX, g


def backward(cfg: Config, params: list[dict], caches: list[dict], dXL: np.ndarray):
    """Gradients of ``L`` given ``dXL = dL/dX_L``: a list of per-layer dicts and ``dL/dX_0``.

    Per layer (``Z`` the pre-LayerNorm sum, ``H = M V W_O``, ``V = X W_V``):
    LayerNorm ``dZ = rstd (dxh - mean(dxh) - xhat mean(dxh xhat))`` with ``dxh = gain dY``;
    skip ``dX = dZ``, ``dH = c dZ``; ``dW_O = P^T dH``; ``dV = M^T dP``, ``dW_V = X^T dV``,
    ``dX += dV W_V^T``; ``dA = kappa dP V^T`` (``1 1^T/T`` does not depend on anything);
    ``dS = A * (dA - rowsum(A * dA))``; Markov ``dG = dS``; key-query, with ``S = Q K^T / sqrt(d)``,
    ``dQ = dS K / sqrt(d)``, ``dK = dS^T Q / sqrt(d)``, ``dW_Q = X^T dQ``, ``dW_K = X^T dK``,
    ``dX += dQ W_Q^T + dK W_K^T``.  Weight gradients sum over the batch axis, not the seeds.
    """
    grads = [None] * len(params)
    g = np.asarray(dXL, dtype=float)
    for i in reversed(range(len(params))):
        g, grads[i] = _layer_backward(cfg, params[i], caches[i], g)
    return grads, g
