"""Rank collapse in width and depth, and the spectral-gap fix [NNT24] (``docs/theory.md`` §6).

Inputs share a common row plus independent noise, as real token embeddings do:
``X = 1 b^T + Z`` with ``b ~ N(0, common^2 I_d)`` and ``Z_ij ~ N(0, noise^2)``.
Distance to rank one: :func:`sigprop.model.measures.rank_residual`,
``r(Y) = ||Y - 1 ybar^T||_F / ||Y||_F``.

Three variants of the attention matrix ``A`` mix the values:

* ``vanilla``: ``A``;
* ``removed``: ``A - U`` with ``U = 1 1^T / T`` (the outlier removed);
* ``rescaled``: ``kappa (A - U)`` with ``kappa = sqrt(T) / ||A - U||_F``, the inverse
  root-mean-square singular value of the remaining bulk.  Then
  ``E||kappa (A - U) Z||_F^2 = ||Z||_F^2`` for isotropic noise: the signal keeps its
  scale.  For the Markov model ``||A - U||_F^2 ~ s^2``, so ``kappa ~ sqrt(T) / s``
  (:func:`sigprop.gap.rescale_factor`); for key-query attention, whose bulk is wider
  (its logits have low rank), the measured factor is smaller.  In the depth study it
  is computed once per layer at initialisation and then held fixed.

Predictions (``derivations/spectral_gap.py``): ``r(A X)^2 ~ noise^2 d s^2 (1 - 1/T) /
(T ||b||^2 + noise^2 d (1 + s^2))``, falling like ``T^{-1/2}`` in ``r``; without the gap
``r^2 ~ 1 - 1/T``; per layer the non-common part (vanilla) or everything (removed)
shrinks by about ``s / sqrt(T)``, and the rescaled variant keeps the scale.

The depth study stacks ``L`` layers, forward and backward by hand: for ``markov``
each layer has its own random Markov matrix (independent of the input); for
``attention`` each layer is :mod:`sigprop.attention` in all-queries mode with its
own Gaussian ``W_Q, W_K`` (and ``W_V`` if ``values``).  The loss is ``sum(G * X_L)``
with a fixed Gaussian ``G``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.aliases import ArrayLike, Seed
from sigprop.core.labelled import Result
from sigprop.core.memory import driver, matrices, require
from sigprop.core.progress import progress_bar
from sigprop.core.study import Dim, Study, register
from sigprop.gap.spectra import (
    MODEL_LABEL,
    MODELS,
    key_query_matrix,
    key_width,
    markov_matrix,
    rescale_factor,
    spread,
    weight_std,
)
from sigprop.model import attention as att
from sigprop.model.measures import rank_residual

VARIANTS = ("vanilla", "removed", "rescaled")


def structured_inputs(T: int, d: int, common: float, noise: float,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(X, b)`` with ``X = 1 b^T + Z`` (``T x d``)."""
    b = common * rng.standard_normal(d)
    return b[None, :] + noise * rng.standard_normal((T, d)), b


def bulk_rescale(A: np.ndarray) -> float:
    """``kappa = sqrt(T) / ||A - U||_F`` (inverse RMS singular value of the bulk).

    NaN when ``A = U`` exactly (no bulk left: the input has collapsed to rank one).
    """
    norm = np.linalg.norm(att.remove_gap(A))
    return float(np.sqrt(A.shape[-1]) / norm) if norm > 0 else float("nan")


def mix(A: np.ndarray, variant: str) -> np.ndarray:
    """The matrix that mixes the values in ``variant``."""
    if variant == "vanilla":
        return A
    _checks.choice("variant", variant, VARIANTS)
    kappa = bulk_rescale(A) if variant == "rescaled" else 1.0
    return att.remove_gap(A, scale=np.nan_to_num(kappa))


def predicted_width(T: ArrayLike, sigma: ArrayLike, d: int, common: float, noise: float,
                    b2: ArrayLike | None = None) -> dict:
    """Predicted ``r`` for each variant, given ``||b||^2 = b2`` (default its mean ``d common^2``)."""
    T = np.asarray(T, dtype=float)
    s2 = spread(sigma) ** 2
    b2 = d * common ** 2 if b2 is None else np.asarray(b2, dtype=float)
    # numerator and denominator divided by s^2, which may be as large as 1e308
    with np.errstate(divide="ignore", over="ignore"):
        inv = np.where(s2 > 0, 1.0 / np.where(s2 > 0, s2, 1.0), np.inf)
        vanilla = np.where(s2 > 0, np.sqrt(noise ** 2 * d * (1 - 1 / T)
                                           / (T * b2 * inv + noise ** 2 * d * (inv + 1))), 0.0)
    fixed = np.sqrt(1 - 1 / T)
    return dict(vanilla=vanilla, removed=fixed, rescaled=fixed)


def _check(T, sigma, model, d, common, noise):
    T = _checks.integer("T", T, 2)
    sigma = _checks.scalar("sigma", sigma, positive=True)
    spread(sigma)
    d = _checks.integer("d", d, 1)
    _checks.scalar("common", common, minimum=0.0, maximum=1e100)
    _checks.scalar("noise", noise, positive=True, maximum=1e100)
    _checks.choice("model", model, MODELS)
    return T, sigma, d


def check_width(T: int, sigma: float, *, model: str = "markov", d: int = 64, samples: int = 8,
                common: float = 1.0, noise: float = 1.0, seed: Seed = 0,
                d_k: int | None = None) -> tuple[int, float, int, int, int]:
    """Refuse (``ArgumentError`` naming the argument, with its accepted range) the arguments of
    :func:`width` that it would refuse, before any work (types, ranges and the memory of one draw);
    returns ``(T, sigma, d, samples, d_k)`` as :func:`width` uses them.  The sweep driver calls it for
    every cell of ``collapse-width`` before the store is created."""
    T, sigma, d = _check(T, sigma, model, d, common, noise)
    samples = _checks.integer("samples", samples, 2)
    d_k = key_width(d_k, d, model)
    # A, its mixes and their products with X, and the logits of the attention model
    def need(T: float, d: float, d_k: float) -> float:
        return matrices(5, T, T) + matrices(6, T, d) + (matrices(2, d, d_k) if model == "attention" else 0.0)
    require(need(T, d, d_k), driver(need, dict(T=(T, 2), d=(d, 1), d_k=(d_k, 1))),
            f"{T} x {T} and {T} x {d} float64 matrices")
    _checks.seed("seed", seed)
    return T, sigma, d, samples, d_k


def width(T: int, sigma: float, *, model: str = "markov", d: int = 64, samples: int = 8,
          common: float = 1.0, noise: float = 1.0, seed: Seed = 0, progress: bool = False,
          d_k: int | None = None) -> dict:
    """Rank residual of one attention layer's output at length ``T``, per variant.

    Mean and standard error over ``samples`` independent draws of ``A`` and ``X``,
    beside the mean of :func:`predicted_width` given each draw's ``||b||^2``;
    ``scale`` is ``||Y||_F / ||X||_F``.  ``model="attention"`` draws ``d x d_k`` weights
    ``W_Q, W_K`` (``d_k`` default ``d``; the logit variance does not depend on it, the rank
    ``min(d, d_k)`` of the logits does), as :func:`depth` and :func:`sigprop.gap.spectra.report`.
    """
    T, sigma, d, samples, d_k = check_width(T, sigma, model=model, d=d, samples=samples, common=common,
                                            noise=noise, seed=seed, d_k=d_k)
    rng = np.random.default_rng(_checks.seed("seed", seed))
    sw = weight_std(sigma, d, np.sqrt(common ** 2 + noise ** 2))
    r: dict[str, list[Any]] = {v: [] for v in VARIANTS}
    scale: dict[str, list[float]] = {v: [] for v in VARIANTS}
    kappas, preds = [], []
    bar = progress_bar(samples, progress, desc=f"T = {T}", unit="draw", leave=False)
    for _ in range(samples):
        bar.update(1)
        X, b = structured_inputs(T, d, common, noise, rng)
        preds.append(predicted_width(T, sigma, d, common, noise, b2=b @ b)["vanilla"])
        if model == "markov":
            A = markov_matrix(T, sigma, rng)
        else:
            A = key_query_matrix(X, sw * rng.standard_normal((d, d_k)), sw * rng.standard_normal((d, d_k)))
        kappas.append(bulk_rescale(A))
        for v in VARIANTS:
            Y = mix(A, v) @ X
            r[v].append(rank_residual(Y))
            scale[v].append(np.linalg.norm(Y) / np.linalg.norm(X))
    bar.close()
    pred = dict(predicted_width(T, sigma, d, common, noise), vanilla=float(np.mean(preds)))
    out = dict(config=dict(length=T, sigma=sigma, model=model, d=d, d_k=d_k, samples=samples, common=common,
                           noise=noise, seed=seed),
               kappa_predicted=float(rescale_factor(T, sigma)), kappa_measured=float(np.mean(kappas)))
    for v in VARIANTS:
        vals = np.array(r[v])
        out[v] = dict(rank_residual=float(vals.mean()),
                      rank_residual_se=float(vals.std(ddof=1) / np.sqrt(samples)),
                      predicted=float(pred[v]), scale=float(np.mean(scale[v])))
    return Result(out, kind="collapse-width")


def check_depth(L: int, T: int, sigma: float, *, model: str = "markov", d: int = 64, d_k: int | None = None,
                values: bool = False, common: float = 1.0, noise: float = 1.0,
                seed: Seed = 0) -> tuple[int, int, float, int, int]:
    """Refuse (``ArgumentError`` naming the argument, with its accepted range) the arguments of
    :func:`depth` that it would refuse, before any work (types, ranges and the memory of ``L`` layers);
    returns ``(L, T, sigma, d, d_k)`` as :func:`depth` uses them.  The sweep driver calls it for every
    cell of ``collapse-depth`` before the store is created."""
    L = _checks.integer("L", L, 1)
    T, sigma, d = _check(T, sigma, model, d, common, noise)
    d_k = key_width(d_k, d, model)
    # one T x T matrix per layer (markov), per-layer caches and activations
    def need(L: float, T: float, d: float, d_k: float) -> float:
        return L * (matrices(3, T, T) + matrices(4, T, d) + matrices(3, d, max(d, d_k))) + matrices(4, T, T)
    require(need(L, T, d, d_k), driver(need, dict(L=(L, 1), T=(T, 2), d=(d, 1), d_k=(d_k, 1))),
            f"{L} layers of {T} x {T} attention, {T} x {d} activations and {d} x {max(d, d_k)} weights")
    _checks.seed("seed", seed)
    return L, T, sigma, d, d_k


def depth(L: int, T: int, sigma: float, *, model: str = "markov", d: int = 64, d_k: int | None = None,
          values: bool = False, common: float = 1.0, noise: float = 1.0, seed: Seed = 0,
          progress: bool = False) -> dict:
    """By-layer rank residual, signal scale and gradient norms for the three variants.

    Returns, per variant, lists over layers ``l = 0..L`` of ``rank_residual`` of
    ``X_l``, ``scale = ||X_l||_F / sqrt(T d)`` and ``grad_x = ||dL/dX_l||_F / sqrt(T d)``;
    ``kappa`` per layer (:func:`bulk_rescale` of the layer's attention matrix); for
    ``attention`` also ``grad_w[l] = ||dL/dW_Q||_F`` of layer ``l + 1``.  Every
    variant sees the same inputs, matrices (``markov``) or weights (``attention``).
    """
    L, T, sigma, d, d_k = check_depth(L, T, sigma, model=model, d=d, d_k=d_k, common=common, noise=noise,
                                      seed=seed)
    rng = np.random.default_rng(_checks.seed("seed", seed))
    X0, _ = structured_inputs(T, d, common, noise, rng)
    G = rng.standard_normal((T, d))
    W_V = [rng.standard_normal((d, d)) / np.sqrt(d) if values else np.eye(d) for _ in range(L)]
    layers: list[Any]
    if model == "markov":
        layers = [markov_matrix(T, sigma, rng) for _ in range(L)]
    else:
        sw = weight_std(sigma, d, np.sqrt(common ** 2 + noise ** 2))
        layers = [dict(W_Q=sw * rng.standard_normal((d, d_k)), W_K=sw * rng.standard_normal((d, d_k)))
                  for _ in range(L)]
    norm = np.sqrt(T * d)
    out: dict[str, Any] = dict(config=dict(layers=L, length=T, sigma=sigma, model=model, d=d, d_k=d_k,
                                           values=values,
                           common=common, noise=noise, seed=seed),
               kappa_predicted=float(rescale_factor(T, sigma)),
               predicted_layer_factor=float(spread(sigma) / np.sqrt(T)))
    bar = progress_bar(len(VARIANTS) * L, progress, desc="layers", unit="layer")
    for v in VARIANTS:
        xs, grad_w, kappas = [X0], [], []
        backs: list[Callable[..., tuple[Any, Any]]] = []
        for layer, wv in zip(layers, W_V, strict=True):
            bar.update(1)
            if model == "markov":
                M = mix(layer, v)
                backs.append(lambda g, M=M, wv=wv: (M.T @ g @ wv.T, None))
                xs.append(M @ xs[-1] @ wv)
                kappas.append(bulk_rescale(layer))
                continue
            cfg = att.Config(d=d, d_k=d_k, mode="all", remove_gap=v != "vanilla", scale=1 / np.sqrt(d_k))
            params = dict(layer, W_V=wv)
            Z, allowed = att.logits(xs[-1][None], att.qk_matrix(params), cfg)
            kappas.append(bulk_rescale(att.weights(Z, allowed, cfg)[0]))
            if v == "rescaled" and np.isfinite(kappas[-1]):   # calibrated at initialisation, then fixed
                cfg = att.Config(d=d, d_k=d_k, mode="all", remove_gap=True, gap_scale=kappas[-1],
                                 scale=1 / np.sqrt(d_k))
            Y, cache = att.forward(params, xs[-1][None], cfg)
            backs.append(lambda g, p=params, c=cache, f=cfg: _attention_back(p, c, f, g))
            xs.append(Y[0])
        grads = [G]
        for back in reversed(backs):
            g, gw = back(grads[-1])
            grads.append(g)
            grad_w.append(gw)
        grads.reverse()
        grad_w.reverse()
        out[v] = dict(rank_residual=[float(rank_residual(x)) for x in xs],
                      scale=[float(np.linalg.norm(x) / norm) for x in xs],
                      grad_x=[float(np.linalg.norm(g) / norm) for g in grads], kappa=kappas)
        if model == "attention":
            out[v]["grad_w"] = grad_w
    bar.close()
    return Result(out, kind="collapse-depth")


def _attention_back(params, cache, cfg, g):
    grads = att.backward(params, cache, g[None], cfg)
    return grads["X"][0], float(np.linalg.norm(grads["W_Q"]))


def _layers(args: Mapping[str, Any]) -> int:
    return int(args["L"]) + 1              # X_0 .. X_L


def _attention_layers(args: Mapping[str, Any]) -> int:
    return int(args["L"])                  # layers 1 .. L


VARIANT = Dim(labels=VARIANTS)

#: :func:`width` (the sweep study ``collapse-width``; one cell is :func:`sigprop.sweep.studies.collapse_width`).
WIDTH_STUDY = register(Study(
    name="collapse-width", function="sigprop.gap.collapse:width", cell="sigprop.sweep.studies:collapse_width",
    check="sigprop.gap.collapse:check_width",
    kind="collapse-width", axes=("T", "sigma", "model", "d", "samples", "common", "noise"),
    dims={"variant": VARIANT},
    cell_outputs={"rank_residual": ("variant",), "rank_residual_se": ("variant",), "predicted": ("variant",),
                  "scale": ("variant",), "kappa_predicted": (), "kappa_measured": ()},
    quick=dict(T=16, sigma=1.0, d=8, samples=2),
    description="rank collapse in width, three variants (sigprop.gap.collapse.width)"))

#: :func:`depth` (the sweep study ``collapse-depth``; one cell is :func:`sigprop.sweep.studies.collapse_depth`).
DEPTH_STUDY = register(Study(
    name="collapse-depth", function="sigprop.gap.collapse:depth", cell="sigprop.sweep.studies:collapse_depth",
    check="sigprop.gap.collapse:check_depth",
    kind="collapse-depth", axes=("L", "T", "sigma", "model", "d", "d_k", "values", "common", "noise"),
    dims={"variant": VARIANT, "layer": Dim(size=_layers, source="L"),
          "attention_layer": Dim(size=_attention_layers, start=1, source="L")},
    cell_outputs={"rank_residual": ("variant", "layer"), "scale": ("variant", "layer"),
                  "grad_x": ("variant", "layer"), "kappa": ("variant", "attention_layer"),
                  "grad_w": ("variant", "attention_layer"), "kappa_predicted": (), "predicted_layer_factor": ()},
    arrays={**{f"{v}_{k}": ("layer",) for v in VARIANTS for k in ("rank_residual", "scale", "grad_x")},
            **{f"{v}_{k}": ("attention_layer",) for v in VARIANTS for k in ("kappa", "grad_w")}},
    figure="sigprop.gap.collapse:depth_figure", quick=dict(L=2, T=8, sigma=1.0, d=4),
    description="rank collapse and gradients through depth (sigprop.gap.collapse.depth)"))


# --- figure ---------------------------------------------------------------------------------

VARIANT_STYLE = {"vanilla": ("k", "o", "-"), "removed": ("0.45", "s", "--"), "rescaled": ("0.2", "^", ":")}


VARIANT_LABEL = {"vanilla": "vanilla A", "removed": "gap removed, A - U",
                  "rescaled": "gap removed, rescaled"}


def width_figure(result: dict, path) -> None:
    """Rank residual of one layer's output against T, simulated and predicted, per variant."""
    from sigprop.plotting import pyplot, save

    plt = pyplot()
    cfg = result["config"]
    T = np.array([row["config"]["length"] for row in result["rows"]])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for v, (color, marker, ls) in VARIANT_STYLE.items():
        r = np.array([row[v]["rank_residual"] for row in result["rows"]])
        se = np.array([row[v]["rank_residual_se"] for row in result["rows"]])
        pred = np.array([row[v]["predicted"] for row in result["rows"]])
        ax.errorbar(T, r, yerr=se, fmt=marker, color=color, mfc="white",
                    label=f"{VARIANT_LABEL[v]} (simulated)")
        ax.plot(T, pred, ls, color=color, lw=1, label=f"{VARIANT_LABEL[v]} (predicted)")
    ax.set(xscale="log", yscale="log", xlabel="context length T",
           ylabel=r"rank residual $\|Y - 1\bar y^T\|_F / \|Y\|_F$",
           title=f"rank collapse in width, {MODEL_LABEL[cfg['model']]}, $\\sigma$ = {cfg['sigma']}")
    ax.legend(fontsize=7)
    save(fig, path)


def depth_figure(result: dict, path) -> None:
    """By-layer rank residual, signal scale and gradient norm for the three variants."""
    from sigprop.plotting import figure_legend_below, pyplot, save

    plt = pyplot()
    cfg = result["config"]
    layers = np.arange(cfg["layers"] + 1)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    titles = {"rank_residual": "rank residual of $X_l$", "scale": r"scale $\|X_l\|_F/\sqrt{Td}$",
              "grad_x": r"gradient $\|\partial L/\partial X_l\|_F/\sqrt{Td}$"}
    ylabels = {"rank_residual": r"$\|X_l - 1\bar x_l^T\|_F / \|X_l\|_F$", "scale": r"$\|X_l\|_F/\sqrt{Td}$",
               "grad_x": r"$\|\partial L/\partial X_l\|_F/\sqrt{Td}$"}
    for ax, key in zip(axes, titles, strict=True):
        for v, (color, marker, ls) in VARIANT_STYLE.items():
            y = np.array(result[v][key], dtype=float)
            y = np.where(y > 0, y, np.nan)
            ax.plot(layers, y, ls, marker=marker, color=color, mfc="white", label=VARIANT_LABEL[v])
        ax.set(yscale="log", xlabel="layer l", ylabel=ylabels[key], title=titles[key])
    fig.suptitle(f"{cfg['layers']}-layer attention-only stack, {MODEL_LABEL[cfg['model']]}, T = "
                 f"{cfg['length']}, "
                 f"$\\sigma$ = {cfg['sigma']}" + (", random $W_V$" if cfg["values"] else ""), fontsize=10)
    fig.tight_layout()
    legend = figure_legend_below(fig, axes, ncol=3)
    if np.allclose(result["removed"]["rank_residual"], result["rescaled"]["rank_residual"], rtol=1e-6):
        legend.set_title("rank residual: the two gap-removed variants coincide (rescaling leaves it unchanged)",
                         prop=dict(size=8))
    save(fig, path)
