"""The positional recursion: the tokens' whole ``T x T`` Gram matrix, layer by layer (``docs/stack.md``).

The scalar recursions (:mod:`sigprop.stack.recursion`) follow one cosine ``p`` shared by every pair
of tokens; that closes only while the tokens are exchangeable.  A causal mask, a query-key matrix
with a non-zero eigenvalue mean, or a sequence with positional structure break it.  This recursion
follows instead the per-coordinate Gram matrix ``G_l = E[X_l X_l^T] / d`` (``T x T``), the temporal
covariance ``K_l`` of [BHK24]'s data model of the layer's tokens (``Sigma = I`` at initialisation):
at ``d -> infinity`` every feature column of ``X_l`` is a Gaussian ``T``-vector of covariance
``G_l``, and the steps of a block are

* **logits** on the attention's input Gram ``C`` (``G`` in Post-LN, ``D^-1/2 G D^-1/2`` in Pre-LN):
  jointly Gaussian with

  - independent ``W_Q, W_K`` (``qk_mean`` None): mean 0, ``Cov(s_ij, s_kl) = sigma^2 C_ik C_jl``,
    ``sigma^2 = beta^2 log T_init`` (``derivations/stack_block.py`` step 1): ``s = sigma F Z F^T``;
  - a symmetric ``W`` of eigenvalue mean ``m`` and variance ``v`` ([BHK24]'s model, logit scale
    ``1 / sqrt(d)``): mean ``m sqrt(d) C_ij`` and ``Cov = (v + m^2)(C_ik C_jl + C_il C_jk)``
    (``v`` from ``W``'s spread, ``m^2`` from the ``O(1/sqrt d)`` fluctuation of ``x_i . x_j / d``
    around ``C_ij``, as in [BHK24]'s ``v_i``; ``derivations/stack_positional.py``):
    ``s = m sqrt(d) C + sqrt(v + m^2) F (Z + Z^T) F^T / sqrt 2``,

  with ``F F^T = C`` and ``Z`` a ``T x T`` standard Gaussian matrix (the ``m^2`` is left out at the
  first layer when the input's Gram is exact, :func:`exact_input_gram`); a causal mask keeps
  ``j <= i``;
* **attention branch**: ``G_A = var_o (var_v E[A C A^T] + var_b E[(A 1)(A 1)^T])`` (the value map
  and its bias are independent of ``A``; softmax rows sum to one, so the bias term is ``var_b 1 1^T``;
  ``attention="linear"``: [BHK24]'s piecewise-linear rows ``clip(s_ij - mean_k s_ik, 0, 1)``, the mean
  over the keys the mask keeps, :mod:`sigprop.stack.linear`);
* **skip** ``G <- alpha^2 G + G_branch``; **LayerNorm** ``G <- D^-1/2 G D^-1/2``, ``D = diag G``;
* **MLP** on unit-diagonal ``C``: entrywise ``var_w kappa(var_w + var_b, var_w C_ik + var_b) + var_b``
  with the activation's kernel ``kappa`` of :mod:`sigprop.stack.recursion`.

``E[A C A^T]`` and the attention's statistics are expectations over the ``T^2``-dimensional
Gaussian logits: they are taken over ``samples`` draws (fixed seeds, so a prediction is
deterministic), and each attention statistic carries its Monte Carlo standard error
(``<name>_mc_se``).  Everything but that integral is closed form.  Without a mask, with
``qk_mean`` None and an equicorrelated input, the recursion is the scalar ``"sigprop"`` one up to
that Monte Carlo error (a test checks it).

Per layer, from ``G_l``: the mean cosine, the norm, [NNT24]'s stable rank
``sum lambda^2 / max lambda^2`` of ``G_l`` (the eigenvalues of ``X X^T / d`` at ``d -> infinity``)
and ``stable_rank_d``, the mean stable rank of ``d`` Gaussian feature columns of covariance ``G_l``
(:func:`stable_rank_width`: the finite-width value, 32 draws);
from the logits: the attention's participation, cross overlap, entropy, and the last query's
linear-regime share ``mean_j 1[0 < zc_j < 1]`` (``zc`` its centered logits); and with ``qk_mean``
given, [BHK24]'s ``rho_i`` of the last query computed from the layer's own ``K_l = C`` by
:func:`sigprop.rho.theory.theory` (Gaussian method, data model ``matrix(K_l)``, ``Sigma = I``):
``rho`` per position and its mean ``rho_bhk``, the closed form's linear-regime share.
"""
from __future__ import annotations

import math

import numpy as np

from sigprop.core.memory import cubic_seconds, driver, require, require_time
from sigprop.stack import linear
from sigprop.stack.config import StackConfig
from sigprop.stack.linear import gram_moments, normalized_entropy, weights

_CHUNK_FLOATS = 1 << 22        # one chunk of logit draws: at most 4 Mi floats (32 MB) per array
#: CPU seconds of the recursion, measured 2026-12-07 (one BLAS thread, ``process_time`` of :func:`run` at
#: ``T`` = 64, 128, 256 with 16 to 512 draws, linear and softmax attention): per draw of the logits and
#: ``T^3`` (``F Z F^T``, ``A C A^T``, ``A A^T``), and per pair of keys ``j <= k`` of the closed moments
#: (:func:`sigprop.stack.linear.gram_moments`: 33 nodes x 192 quadrature points); three eigendecompositions
#: a layer and two at its input (:data:`sigprop.core.memory.CUBIC_SECONDS`).
DRAW_SECONDS = 3.7e-10
PAIR_SECONDS = 5.1e-4
_KERNEL_GRID = np.linspace(-1.0, 1.0, 4001)


def normalize(G: np.ndarray) -> np.ndarray:
    """``D^-1/2 G D^-1/2`` (LayerNorm on the Gram matrix; rows of zero norm stay zero)."""
    s = np.sqrt(np.maximum(np.diag(G), 0.0))
    inv = np.where(s > 0, 1.0 / np.where(s > 0, s, 1.0), 0.0)
    return G * inv[:, None] * inv[None, :]


def factor(C: np.ndarray) -> np.ndarray:
    """``F`` with ``F F^T = C`` for a positive semi-definite ``C`` (eigen-decomposition; negative rounding clipped)."""
    lam, U = np.linalg.eigh(0.5 * (C + C.T))
    return U * np.sqrt(np.maximum(lam, 0.0))


def stable_rank_gram(G: np.ndarray) -> float:
    """[NNT24]'s stable rank of ``X X^T`` whose expectation is ``G``: ``sum lambda^2 / max lambda^2``."""
    lam = np.linalg.eigvalsh(0.5 * (G + G.T))
    top = np.max(np.abs(lam))
    return float(np.sum(lam * lam) / (top * top)) if top > 0 else float("nan")


def stable_rank_width(G: np.ndarray, d: int, rng: np.random.Generator, draws: int = 32) -> tuple[float, float]:
    """The mean stable rank of ``X X^T`` for ``d`` i.i.d. Gaussian feature columns of covariance ``G``.

    The finite-width counterpart of :func:`stable_rank_gram`: the fluctuation of ``X X^T / d`` around
    ``G`` (Wishart, ``O(1/sqrt d)`` per entry) adds ``O(T / d)`` to the bulk of the spectrum, which the
    mean Gram ignores; averaged over ``draws`` draws (fixed seed).  Returns the mean and its standard error.
    """
    from sigprop.gap.stable_rank import stable_rank

    T = G.shape[0]
    F = factor(G)
    chunk = max(1, _CHUNK_FLOATS // (T * d))
    values = []
    for start in range(0, draws, chunk):
        k = min(chunk, draws - start)
        values.append(stable_rank(F @ rng.standard_normal((k, T, d))))
    x = np.concatenate(values)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def _width(G: np.ndarray, d: int, rng: np.random.Generator) -> dict:
    mean, se = stable_rank_width(G, d, rng)
    return dict(stable_rank_d=mean, stable_rank_d_mc_se=se)


def mean_cosine(G: np.ndarray) -> float:
    """Mean off-diagonal entry of ``normalize(G)``."""
    C = normalize(G)
    T = C.shape[0]
    return float((C.sum() - np.trace(C)) / (T * (T - 1)))


def mlp_gram(cfg: StackConfig, C: np.ndarray) -> np.ndarray:
    """The MLP branch's Gram on unit-diagonal ``C``: ``var_w kappa(q_1, var_w C + var_b) + var_b`` entrywise."""
    from sigprop.stack.kernels import KERNELS

    kernel = KERNELS[cfg.activation]
    q1 = cfg.var_w + cfg.var_b
    c = np.clip(C, -1.0, 1.0)
    if cfg.activation == "relu":
        r = (cfg.var_w * c + cfg.var_b) / q1 if q1 > 0 else np.ones_like(c)
        r = np.clip(r, -1.0, 1.0)
        k = q1 / 2 * (np.sqrt(1 - r * r) + r * (np.pi - np.arccos(r))) / np.pi
    else:
        table = np.array([kernel(q1, cfg.var_w * g + cfg.var_b) for g in _KERNEL_GRID])
        k = np.interp(c, _KERNEL_GRID, table)
        np.fill_diagonal(k, kernel(q1, q1))
    return cfg.var_w * k + cfg.var_b


def _logit_law(cfg: StackConfig, C: np.ndarray, gram_fluctuates: bool) -> tuple[np.ndarray | None, float, bool]:
    """``(mean, scale, symmetric)``: the logits are ``mean + scale F Z F^T`` (or ``F (Z + Z^T) F^T / sqrt 2``)."""
    if cfg.qk_mean is None:
        return None, math.sqrt(cfg.logit_variance), False
    m = cfg.qk_mean
    return m * math.sqrt(cfg.d) * C, math.sqrt(cfg.qk_variance + (m * m if gram_fluctuates else 0.0)), True


def exact_input_gram(cfg: StackConfig) -> bool:
    """Whether the input tokens' Gram matrix is exact rather than Gaussian-distributed around ``G_0``.

    ``sigprop.stack.simulate`` builds the input from ``T + 1`` orthogonal directions when ``d >= T + 2``
    (as [NNT24]'s isometric input), so that ``x_i . x_j / d = G_0`` exactly: the first layer's logits
    then have no ``m^2`` term.  Every later layer's Gram fluctuates.
    """
    return cfg.d >= cfg.T + 2


def attention_weights(cfg: StackConfig, s: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Each row's attention over the last axis: softmax, or the piecewise-linear ``clip(s - mean s, 0, 1)``."""
    if cfg.attention == "linear":
        return weights(s, mask)
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    s = s - s.max(axis=-1, keepdims=True)
    a = np.exp(s)
    return a / a.sum(axis=-1, keepdims=True)


def attention_moments(cfg: StackConfig, C: np.ndarray, rng: np.random.Generator, gram_fluctuates: bool = True) -> dict:
    """``E[A C A^T]`` and the attention's statistics over ``cfg.samples`` draws of the limiting logits.

    ``gram_fluctuates``: whether the tokens' ``x_i . x_j / d`` fluctuates around ``C`` (adds ``m^2`` to the
    logits' covariance with ``qk_mean``; False for an exact input Gram, :func:`exact_input_gram`).

    Returns
    -------
    dict
        ``ACA`` (``T x T``), ``AJA = E[(A 1)(A 1)^T]`` (``1 1^T`` for softmax) and, each with its
        Monte Carlo standard error ``<name>_mc_se``:
        ``attention_overlap`` (mean over rows of ``sum_j a_ij^2``), ``attention_cross`` (mean over
        ``i != k`` of ``sum_j a_ij a_kj``), ``attention_entropy`` (mean row entropy) and
        ``linear_share`` (the last query's share of keys with centered logit in ``(0, 1)``).
    """
    T = C.shape[0]
    n = cfg.samples
    F = factor(C)
    mean, scale, symmetric = _logit_law(cfg, C, gram_fluctuates)
    mask = np.tril(np.ones((T, T), dtype=bool)) if cfg.causal else None
    chunk = max(1, _CHUNK_FLOATS // (T * T))
    aca, aja = np.zeros((T, T)), np.zeros((T, T))
    stats: dict[str, list[np.ndarray]] = {k: [] for k in ("attention_overlap", "attention_cross",
                                                          "attention_entropy", "linear_share")}
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        Z = rng.standard_normal((k, T, T))
        if symmetric:
            Z = (Z + np.swapaxes(Z, -1, -2)) / math.sqrt(2.0)
        s = scale * (F @ Z @ F.T)
        if mean is not None:
            s = s + mean
        last = s[:, -1, :]
        zc = last - last.mean(axis=-1, keepdims=True)
        stats["linear_share"].append(((zc > 0) & (zc < 1)).mean(axis=-1))
        a = attention_weights(cfg, s, mask)
        aca += np.einsum("nij,jk,nlk->il", a, C, a, optimize=True)
        mass = a.sum(axis=-1)
        aja += np.einsum("ni,nl->il", mass, mass)
        stats["attention_entropy"].append(normalized_entropy(a).mean(axis=-1))
        overlap = a @ np.swapaxes(a, -1, -2)
        diag = np.trace(overlap, axis1=-2, axis2=-1)
        stats["attention_overlap"].append(diag / T)
        stats["attention_cross"].append((overlap.sum(axis=(-1, -2)) - diag) / (T * (T - 1)))
    out: dict = dict(ACA=aca / n, AJA=aja / n)
    if cfg.moments == "closed":
        out["ACA"], out["AJA"] = gram_moments(C, math.sqrt(cfg.logit_variance))
    for name, parts in stats.items():
        x = np.concatenate(parts)
        out[name] = float(x.mean())
        out[f"{name}_mc_se"] = float(x.std(ddof=1) / math.sqrt(x.size))
    return out


def bhk_rho(cfg: StackConfig, K: np.ndarray) -> np.ndarray:
    """[BHK24]'s ``rho_i`` of the last query for the stack's query-key spectrum on tokens of covariance ``K ⊗ I``.

    The Gaussian closed form of :func:`sigprop.rho.theory.theory` with data model ``matrix(K)``,
    ``W`` the diagonal matrix of eigenvalues ``m + sqrt(v) z`` (``Sigma = I``: ``W``'s eigenvectors do
    not enter) and logit scale ``1 / sqrt(d)``.
    """
    from sigprop.rho.data import matrix
    from sigprop.rho.logits import LogitModel
    from sigprop.rho.spectrum import make_weights
    from sigprop.rho.theory import theory

    assert cfg.qk_mean is not None
    W = make_weights(cfg.qk_mean, cfg.qk_variance, cfg.d, basis="identity")
    model = LogitModel(W, cfg.T, data=matrix(0.5 * (K + K.T)), scale=1.0 / math.sqrt(cfg.d))
    return np.asarray(theory(model, method="gaussian").rho, dtype=float).reshape(-1)


def seconds(cfg: StackConfig, T: float | None = None, samples: float | None = None) -> float:
    """The CPU seconds :func:`run` takes for ``cfg`` (``T``, ``samples``: in place of the config's), by the
    measured rates :data:`DRAW_SECONDS` and :data:`PAIR_SECONDS` and the eigendecompositions."""
    T = float(cfg.T if T is None else T)
    samples = float(cfg.samples if samples is None else samples)
    layer = samples * DRAW_SECONDS * T ** 3 + cubic_seconds(T, "eigh", "eigh", "eigh")
    if cfg.moments == "closed":
        layer += PAIR_SECONDS * T * (T + 1) / 2
    return cfg.layers * layer + cubic_seconds(T, "eigh", "eigh")


def require_run(cfg: StackConfig) -> None:
    """Refuse (``ArgumentError`` naming ``T`` or ``samples``) a positional recursion of ``cfg`` whose memory
    or time exceeds the machine's, before any work (:func:`run` and the sweep's cell check call it)."""
    T = cfg.T
    quadrature = 16 * linear.PAIR_VALUES if cfg.moments == "closed" else 0     # gram_moments' temporaries
    require(8.0 * (6 * min(cfg.samples, max(1, _CHUNK_FLOATS // (T * T))) * T * T + (cfg.layers + 1) * T * T
                   + quadrature), "T", f"the positional recursion's {T} x {T} logit draws")
    require_time(seconds(cfg), driver(lambda T, samples: seconds(cfg, T, samples),
                                      {"T": (T, 2), "samples": (cfg.samples, 16)}),
                 f"the positional recursion's {cfg.layers} layer(s) of {T} x {T} matrices with {cfg.samples} logit "
                 f"draws ({DRAW_SECONDS:g} s x T^3 a draw"
                 + (f", {PAIR_SECONDS:g} s a pair of keys for the closed moments" if cfg.moments == "closed" else "")
                 + ", measured)")


def run(cfg: StackConfig, input_gram=None) -> dict:
    """The positional recursion (module doc): per-layer rows, the Gram matrices and [BHK24]'s profiles.

    ``input_gram`` (``T x T``, symmetric positive semi-definite): the input tokens' per-coordinate Gram
    ``E[X_0 X_0^T] / d`` (e.g. measured on real text, :mod:`sigprop.stack.text`) in place of the
    equicorrelated ``input_scale ((1 - cosine0) I + cosine0 1 1^T)``; taken as exact at the first layer.

    Returns
    -------
    dict
        ``rows`` (one record per layer ``0..L``: the fields of :func:`sigprop.stack.recursion.predict`
        plus ``linear_share``, ``rho_bhk`` and the Monte Carlo errors), ``gram`` (``(L + 1, T, T)``: the
        residual stream's ``G_l``) and ``rho`` (per layer the ``T`` values of [BHK24]'s ``rho_i`` at the
        layer's attention input, NaN at layer 0 and without ``qk_mean``).
    """
    require_run(cfg)
    T = cfg.T
    if input_gram is None:
        G = cfg.input_scale * ((1 - cfg.cosine0) * np.eye(T) + cfg.cosine0)
    else:
        from sigprop.rho.data import check_covariance
        G = np.array(check_covariance("input_gram", input_gram, T), dtype=float)
        if cfg.moments == "closed" and cfg.norm == "post" and np.ptp(np.diag(G)) > 1e-12 * np.max(np.diag(G)):
            from sigprop.core.checks import ArgumentError
            raise ArgumentError("input_gram", "must have a constant diagonal with moments 'closed' in Post-LN (the "
                                "first block's attention sees it unnormalized), or use moments 'monte-carlo'")
    nan = float("nan")
    empty = dict(attention_overlap=nan, attention_cross=nan, attention_entropy=nan, attention_norm=nan,
                 linear_share=nan, rho_bhk=nan, attention_overlap_mc_se=nan, attention_cross_mc_se=nan,
                 attention_entropy_mc_se=nan, linear_share_mc_se=nan)
    width_rng = np.random.default_rng([0, 0x9052])
    rows = [dict(layer=0, cosine=mean_cosine(G), norm=math.sqrt(float(np.mean(np.diag(G)))),
                 stable_rank=stable_rank_gram(G), **_width(G, cfg.d, width_rng), **empty)]
    grams, rhos = [G], [np.full(T, nan)]
    scale_o = cfg.var_o if cfg.var_o is not None else 1.0
    for layer in range(1, cfg.layers + 1):
        rng = np.random.default_rng([layer, 0x9051])
        C = G if cfg.norm == "post" else normalize(G)
        exact = exact_input_gram(cfg) or input_gram is not None
        att = attention_moments(cfg, C, rng, gram_fluctuates=layer > 1 or not exact)
        rho = bhk_rho(cfg, C) if cfg.qk_mean is not None else np.full(T, nan)
        G_a = scale_o * (cfg.var_v * att.pop("ACA") + cfg.var_b * att.pop("AJA"))
        G = cfg.alpha_attention ** 2 * G + G_a
        if cfg.norm == "post":
            G = normalize(G)
        if cfg.activation != "none":
            inner = G if cfg.norm == "post" else normalize(G)
            G = cfg.alpha_mlp ** 2 * G + mlp_gram(cfg, normalize(inner))
            if cfg.norm == "post":
                G = normalize(G)
        if not np.all(np.isfinite(G)):
            from sigprop.core.checks import ArgumentError
            raise ArgumentError("layers", f"the residual stream's norm overflows at layer {layer}: fewer layers "
                                "or smaller variances are needed")
        rows.append(dict(layer=layer, cosine=mean_cosine(G), norm=math.sqrt(float(np.mean(np.diag(G)))),
                         stable_rank=stable_rank_gram(G), **_width(G, cfg.d, width_rng),
                         attention_norm=math.sqrt(float(np.mean(np.diag(G_a)))),
                         rho_bhk=float(np.mean(rho)), **att))
        grams.append(G)
        rhos.append(rho)
    return dict(rows=rows, gram=np.stack(grams), rho=np.stack(rhos))
