"""Stable rank and gradient norms through [NNT24]'s attention-only stacks (its own protocol).

* **Stable rank** of ``X X^T`` (``T x T``): ``srank = sum_k s_k^2 / max_k s_k^2`` over the singular
  values ``s_k`` of ``X X^T``, i.e. ``sum_k sigma_k^4 / max_k sigma_k^4`` over those ``sigma_k`` of
  ``X``.  It is ``T`` for isometric inputs and 1 for a rank-one ``X``.
* **Gradient norms**: the Frobenius norm of the Jacobian ``d X_L / d W_l`` of the last layer's
  output with respect to each layer's weights (``W_V`` as in the paper; ``W_Q, W_K`` for ``A(X)``).
  It is estimated with Gaussian probes (Hutchinson): for ``g`` with i.i.d. ``N(0, 1)`` entries,
  ``E ||J^T g||_F^2 = ||J||_F^2``, and ``J^T g`` is one hand-written backward pass with ``dX_L = g``
  (:func:`sigprop.gap.protocol.backward`).  With ``k`` probes the estimate of ``||J||_F^2`` has
  relative standard error ``rel_se``, reported (about ``sqrt(2 / (k n_eff))``).

Both studies return one record per (configuration, gamma, T, seed, layer) with the configuration
inside; a stack whose signal vanishes to 0 or overflows float64 (deep stacks without LayerNorm) gives
NaN there (``null`` in JSON, ``-`` in tables, counted in ``nan`` by :func:`seed_summary`);
:func:`seed_summary` gives means over seeds with Student-t intervals and :func:`width_verdict`
applies the stated rule on rank collapse in width.
"""
from __future__ import annotations

import math

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.core.labelled import Result
from sigprop.core.memory import driver, require
from sigprop.core.progress import iterate
from sigprop.core.stats import t_interval
from sigprop.core.study import Dim, Study, register
from sigprop.gap import protocol

PAPER_LENGTHS = tuple(range(20, 151, 10))
PAPER_GAMMAS = (1.0, 0.5, 0.2)


def stable_rank(X) -> np.ndarray:
    """``sum sigma^4 / max sigma^4`` over the singular values of ``X`` (last two axes); NaN if ``X = 0``."""
    X = np.asarray(X, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        if not np.all(np.isfinite(X)):
            raise ArgumentError("X", "must be finite to take its stable rank (got NaN or inf)")
        s = np.linalg.svd(X, compute_uv=False)
        top = s.max(axis=-1, keepdims=True)
        r = np.where(top > 0, s / np.where(top > 0, top, 1.0), np.nan)
        return (r ** 4).sum(axis=-1)


# the fields that identify a record: its dimensions in ``Result.to_xarray()``
RECORD_KEYS = ("config", "gamma", "length", "seed", "layer")


def _grid(configs, lengths, gammas, layers, seeds):
    cfgs = protocol.parse_many(configs)
    lengths = [_checks.integer("lengths", t, 2) for t in np.atleast_1d(lengths).tolist()]
    gammas = [float(_checks.real("gammas", g, positive=True, maximum=1.0)) for g in np.atleast_1d(gammas)]
    layers = _checks.integer("layers", layers, 1)
    seeds = [_checks.integer("seeds", s, 0) for s in np.atleast_1d(seeds).tolist()]
    for name, values in (("lengths", lengths), ("gammas", gammas), ("seeds", seeds)):
        if not values:
            raise ArgumentError(name, "must hold at least one value")
    return cfgs, lengths, gammas, layers, seeds


#: Memory of one record of the studies (a dict of about ten entries; measured with ``tracemalloc``,
#: 2026-12-06: 390 bytes a record of :func:`stable_ranks`, 830 of :func:`gradient_norms` for ``A(X)``).
RECORD_BYTES = 1000


def _require(todo, per_seed, what: str, layers: int) -> None:
    """Refuse, before any work, a run of ``todo`` (configuration, gamma, T) whose one seed needs
    ``per_seed(T, d, layers)`` bytes beyond the machine: the run that needs most is checked, naming
    ``lengths``, ``gammas`` (``d = T / gamma``) or ``layers``, whichever drives its need
    (:func:`sigprop.core.memory.driver`; ``gammas`` at its largest, 1, gives the smallest width)."""
    widths = {(gamma, T): protocol.width(T, gamma, "gammas") for _, gamma, T in todo}

    def need(lengths: float, gammas: float, layers: float) -> float:
        return per_seed(lengths, lengths / gammas, layers)
    gamma, T = max(widths, key=lambda k: need(k[1], k[0], layers))
    require(need(T, gamma, layers), driver(need, dict(lengths=(T, 2), gammas=(gamma, 1.0), layers=(layers, 1))),
            f"{what} at T = {T}, d = {widths[gamma, T]}")


def _require_records(todo, layers: int, seeds: list) -> None:
    """Refuse, before any work, a run whose records (one per configuration, gamma, T, seed and layer)
    exceed the machine's memory, naming ``layers`` or ``seeds``, whichever drives it."""
    def need(layers: float, seeds: float) -> float:
        return RECORD_BYTES * len(todo) * (layers + 1) * seeds
    require(need(layers, len(seeds)), driver(need, dict(layers=(layers, 1), seeds=(len(seeds), 1))),
            f"{len(todo)} runs x {layers + 1} layers x {len(seeds)} seeds of records")


def seed_chunks(seeds, bytes_per_seed: float, budget: float = 2 ** 28):
    """Split ``seeds`` into groups whose working memory stays under ``budget`` bytes."""
    n = max(1, int(budget // max(bytes_per_seed, 1)))
    return [seeds[i:i + n] for i in range(0, len(seeds), n)]


def _config(kind, cfgs, lengths, gammas, layers, seeds, **extra):
    return dict(study=kind, protocol="[NNT24] (isometric inputs, d = T/gamma, single head, no MLP)",
                configs=[c.name for c in cfgs], lengths=lengths, gammas=gammas, layers=layers, seeds=seeds,
                markov_logits=dict(mean=protocol.MARKOV_MEAN, var=protocol.MARKOV_VAR), layernorm_eps=protocol.LN_EPS,
                **extra)


def _stable_rank_bytes(T: float, d: float, layers: float = 1) -> float:
    """Working memory of one seed of :func:`stable_ranks`: ``X X^T``, a layer's ``d x d`` weights and
    ``T x d`` activations (float64)."""
    return 8.0 * (T * T + 5 * d * d + 4 * T * d)


def check_stable_ranks(configs="all", lengths=PAPER_LENGTHS, gammas=PAPER_GAMMAS, layers: int = 10,
                       seeds=range(5)) -> tuple:
    """Refuse (``ArgumentError`` naming the argument, with its accepted range) the arguments of
    :func:`stable_ranks` that it would refuse, before any work (types, ranges, the memory of one seed and
    of the records); returns ``(configs, lengths, gammas, layers, seeds)`` as it uses them.  The sweep
    driver calls it for every cell of ``nnt-stable-rank`` before the store is created."""
    cfgs, lengths, gammas, layers, seeds = _grid(configs, lengths, gammas, layers, seeds)
    todo = [(c, g, t) for c in cfgs for g in gammas for t in lengths]
    _require(todo, _stable_rank_bytes, "one seed's T x T, d x d and T x d float64 matrices", layers)
    _require_records(todo, layers, seeds)
    return cfgs, lengths, gammas, layers, seeds


def stable_ranks(configs="all", lengths=PAPER_LENGTHS, gammas=PAPER_GAMMAS, layers: int = 10, seeds=range(5), *,
                 progress: bool = False) -> Result:
    """Stable rank of ``X_l X_l^T`` for ``l = 0..layers``, per configuration, gamma, T and seed.

    Seeds run together (vectorized); layers are drawn one at a time, so memory is one layer's
    weights for every seed.
    """
    cfgs, lengths, gammas, layers, seeds = check_stable_ranks(configs, lengths, gammas, layers, seeds)
    records: list[dict] = []
    todo = [(c, g, t) for c in cfgs for g in gammas for t in lengths]
    for cfg, gamma, T in iterate(todo, progress, desc="stable rank", unit="run"):
        d = protocol.width(T, gamma)
        for chunk in seed_chunks(seeds, _stable_rank_bytes(T, d)):
            dr = protocol.Draws(chunk, T, d)
            X = dr.X0[:, None]
            rows = [stable_rank(X[:, 0])]
            for _ in range(layers):
                # a deep stack's signal may overflow float64: its stable rank is then NaN (module doc)
                with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                    p = protocol.calibrate_layer(cfg, protocol.init_layer(cfg, dr.layer(protocol.needed(cfg))), X)
                    X = protocol.layer_forward(cfg, p, X)[0]
                rows.append(stable_rank(X[:, 0]) if np.all(np.isfinite(X)) else np.full(len(chunk), np.nan))
            for i, s in enumerate(chunk):
                records.extend(dict(config=cfg.name, paper=cfg.paper, gamma=gamma, length=T, d=d, seed=s, layer=k,
                                    stable_rank=float(rows[k][i])) for k in range(layers + 1))
    return Result(dict(config=_config("stable_rank", cfgs, lengths, gammas, layers, seeds), records=records),
                  kind="stable-ranks", keys={"records": RECORD_KEYS})


def _probe_rng(seed: int):
    return np.random.default_rng([int(seed), 1])           # a stream of its own, apart from the weights'


def gradient_norms(configs="all", lengths=(20, 50, 100), gammas=PAPER_GAMMAS, layers: int = 10, seeds=range(5), *,
                   probes: int = 8, progress: bool = False) -> Result:
    """``||d X_L / d W_l||_F`` for every layer ``l = 1..L`` and weight, by Gaussian probes.

    Records: ``grad_W_V`` (and ``grad_W_Q``, ``grad_W_K`` for key-query attention, ``grad_G`` for
    Markov attention, the logits being the trainable weights of the paper's ``A``), each the square
    root of the mean over probes of ``||J^T g||_F^2``, and ``rel_se_W_V``, the relative standard
    error of that mean of squares.
    """
    cfgs, lengths, gammas, layers, seeds = _grid(configs, lengths, gammas, layers, seeds)
    probes = _checks.integer("probes", probes, 2)
    records = []
    todo = [(c, g, t) for c in cfgs for g in gammas for t in lengths]
    def need(T: float, d: float, layers: float = layers) -> float:   # every layer's weights, activations, caches
        return 8.0 * layers * (4 * d * d + 8 * T * d + 3 * T * T)
    _require(todo, need, f"one seed's {layers} layers of float64 weights and caches", layers)
    _require_records(todo, layers, seeds)
    require(8.0 * 4 * probes * layers * len(seeds), "probes",    # the seeds of one chunk: at most all
            f"{probes} probes x {layers} layers x {len(seeds)} seeds of squared gradient norms of up to 4 "
            "weights (float64)")
    for cfg, gamma, T in iterate(todo, progress, desc="gradient norms", unit="run"):
        d = protocol.width(T, gamma)
        for chunk in seed_chunks(seeds, need(T, d)):
            X0, params = protocol.init_params(cfg, chunk, T, d, layers)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                xs, caches = protocol.forward(cfg, params, X0, keep=True)   # an overflowed stack: NaN records
            names = [k for k in ("W_V", "W_Q", "W_K", "G") if k in params[0]]
            sq = {k: np.zeros((probes, layers, len(chunk))) for k in names}
            rngs = [_probe_rng(s) for s in chunk]
            finite = np.all(np.isfinite(xs[-1]), axis=(1, 2, 3))
            for j in range(probes):
                g = np.stack([r.standard_normal((1, T, d)) for r in rngs])
                with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                    grads, _ = protocol.backward(cfg, params, caches, g)
                for layer, gl in enumerate(grads):
                    for k in names:
                        with np.errstate(over="ignore", invalid="ignore"):
                            sq[k][j, layer] = (gl[k] ** 2).sum(axis=(1, 2))
            for i, s in enumerate(chunk):
                for layer in range(layers):
                    rec = dict(config=cfg.name, paper=cfg.paper, gamma=gamma, length=T, d=d, seed=s, layer=layer + 1,
                               probes=probes)
                    for k in names:
                        v = sq[k][:, layer, i]
                        ok = bool(finite[i] and np.all(np.isfinite(v)))
                        rec[f"grad_{k}"] = float(np.sqrt(v.mean())) if ok else float("nan")
                        if k == "W_V":
                            rec["rel_se_W_V"] = (float(v.std(ddof=1) / math.sqrt(probes) / v.mean())
                                                 if ok and v.mean() > 0 else float("nan"))
                    records.append(rec)
    return Result(dict(config=_config("gradient_norms", cfgs, lengths, gammas, layers, seeds, probes=probes),
                       records=records), kind="gradient-norms", keys={"records": RECORD_KEYS})


def seed_summary(records, value: str = "stable_rank", by=("config", "gamma", "length", "layer"),
                 level: float = 0.95) -> list[dict]:
    """Mean over seeds of ``value`` per group, its standard deviation and a Student-t interval.

    NaN values (a stack whose signal overflowed) are counted in ``nan`` and left out.
    """
    groups: dict = {}
    for r in records:
        groups.setdefault(tuple(r[k] for k in by), []).append(r[value])
    out = []
    for key, vals in groups.items():
        v = np.asarray(vals, dtype=float)
        ok = v[np.isfinite(v)]
        n = ok.size
        mean = float(ok.mean()) if n else float("nan")
        sd = float(ok.std(ddof=1)) if n > 1 else float("nan")
        low, high = (float(x) for x in t_interval(ok, level)[1:]) if n > 1 else (float("nan"), float("nan"))
        out.append(dict(zip(by, key), value=value, n=n, nan=int(v.size - n), mean=mean, sd=sd,
                        low=low, high=high))
    return out


def width_slopes(records, config: str, gamma: float, layer: int) -> np.ndarray:
    """Per seed, the least-squares slope of ``log srank`` against ``log T`` (the growth exponent).

    NaN stable ranks (a signal that vanished to exactly 0, or ``None`` read back from JSON) are
    left out; a seed with fewer than two lengths left gives no slope.
    """
    by_seed: dict = {}
    for r in records:
        v = r["stable_rank"]
        if r["config"] == config and r["gamma"] == gamma and r["layer"] == layer and v is not None and np.isfinite(v):
            by_seed.setdefault(r["seed"], []).append((r["length"], r["stable_rank"]))
    slopes = []
    for pts in by_seed.values():
        if len(pts) >= 2:
            t, s = np.log(np.array(pts, dtype=float)).T
            slopes.append(np.polyfit(t, s, 1)[0])
    return np.array(slopes)


WIDTH_RULE = ("rank collapse in width is avoided when the growth exponent of the stable rank with T "
              "(per-seed least-squares slope of log srank on log T, mean over >= 5 seeds, 95% t-interval) has "
              "its interval above 0.5; it collapses when the interval lies below 0.25; otherwise inconclusive")


def width_verdict(records, config: str, gamma: float, layer: int, level: float = 0.95) -> dict:
    """:data:`WIDTH_RULE` applied to one configuration, gamma and layer."""
    s = width_slopes(records, config, gamma, layer)
    n = s.size
    out = dict(config=config, gamma=gamma, layer=layer, seeds=n, rule=WIDTH_RULE)
    if n < 5:
        return dict(out, slope=float("nan"), low=float("nan"), high=float("nan"), verdict="inconclusive")
    m, low, high = (float(x) for x in t_interval(s, level))
    verdict = "high" if low > 0.5 else ("collapsed" if high < 0.25 else "inconclusive")
    return dict(out, slope=m, low=low, high=high, verdict=verdict)


def _layers(args) -> int:
    return int(args["L"]) + 1              # X_0 .. X_L


#: :func:`stable_ranks` (the sweep study ``nnt-stable-rank``, one ``(config, T, gamma, L)`` and seed a cell:
#: :func:`sigprop.sweep.studies.nnt_stable_rank`).
STUDY = register(Study(
    name="nnt-stable-rank", function="sigprop.gap.stable_rank:stable_ranks",
    cell="sigprop.sweep.studies:nnt_stable_rank",
    check="sigprop.sweep.studies:check_nnt_stable_rank", kind="stable-ranks", axes=("config", "T", "gamma", "L"),
    dims={"layer": Dim(size=_layers, source="L")}, cell_outputs={"stable_rank": ("layer",)},
    figure="sigprop.gap.stable_rank:nnt_stable_rank_figure",
    quick=dict(configs=["A"], lengths=[6], gammas=[1.0], layers=2, seeds=[0, 1]),
    description="[NNT24]'s protocol: stable rank of X_l X_l^T, l = 0..L (sigprop.gap.stable_rank)"))


# --- figure ---------------------------------------------------------------------------------

NNT_BASES = ("A", "A_perp", "A(X)", "A(X)_perp")


NNT_STYLE = {"": ("k", "o", "-"), "+LN": ("0.45", "s", "-"), "+skip": ("k", "^", "--"),
              "+skip/sqrt(d)": ("0.45", "v", "--"), "+skip+LN": ("k", "D", ":"),
              "+skip/sqrt(d)+LN": ("0.45", "x", ":")}


#: Legend text of the skip/LayerNorm variants; each panel's title names the attention.
NNT_SUFFIX_LABEL = {"": "attention alone", "+LN": "+LN", "+skip": "+skip", "+skip/sqrt(d)": "+skip/sqrt(d)",
                     "+skip+LN": "+skip+LN", "+skip/sqrt(d)+LN": "+skip/sqrt(d)+LN"}


def nnt_stable_rank_figure(result: dict, path, *, against: str = "length", gamma: float = 1.0,
                           layer: int | None = None, length: int | None = None) -> None:
    """Stable rank of ``X_l X_l^T`` against ``T`` (at ``layer``) or depth (at ``length``), per configuration.

    One panel per attention ``{A, A_perp, A(X), A(X)_perp}``, one line per skip/LayerNorm variant,
    the identity-attention baseline dashed in every panel; bands are 95% t-intervals over seeds.
    """
    from sigprop.plotting import band_plot, figure_legend_below, pyplot, save, series

    plt = pyplot()
    cfg, recs = result["config"], result["records"]
    layer = cfg["layers"] if layer is None else layer
    length = max(cfg["lengths"]) if length is None else length
    gamma = gamma if gamma in cfg["gammas"] else cfg["gammas"][0]     # the first one run, when 1 was not
    lengths = np.array(sorted(cfg["lengths"]), dtype=float)
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.9), sharey=True)
    for ax, base in zip(axes, NNT_BASES, strict=True):
        for suffix, style in NNT_STYLE.items():
            name = base + suffix
            if name not in cfg["configs"]:
                continue
            if against == "length":
                x, grid = series(recs, "stable_rank", "length", config=name, gamma=gamma, layer=layer)
            else:
                x, grid = series(recs, "stable_rank", "layer", config=name, gamma=gamma, length=length)
            band_plot(ax, x, grid, style, NNT_SUFFIX_LABEL[suffix])
        if "I" in cfg["configs"]:
            if against == "length":
                x, grid = series(recs, "stable_rank", "length", config="I", gamma=gamma, layer=layer)
            else:
                x, grid = series(recs, "stable_rank", "layer", config="I", gamma=gamma, length=length)
            band_plot(ax, x, grid, ("0.7", "", "-."), "I (identity attention)")
        if against == "length":               # the stable rank of the isometric input itself
            ax.plot(lengths, lengths, color="0.8", lw=0.8, label="T (isometric input)")
        ax.set(yscale="log", xlabel="context length T" if against == "length" else "layer l",
               title=f"{base} (+ variant)")
        if not any(base + suffix in cfg["configs"] for suffix in NNT_STYLE):   # a panel none of the runs is in
            ax.text(0.5, 0.5, "not run", transform=ax.transAxes, ha="center", va="center", color="0.5")
    axes[0].set_ylabel(r"stable rank of $X_l X_l^T$")
    where = f"after layer {layer}" if against == "length" else f"T = {length}"
    fig.suptitle(f"[NNT24] protocol: isometric inputs, d = T/$\\gamma$, $\\gamma$ = {gamma:g}, {where}; "
                 f"{len(cfg['seeds'])} seeds, 95% t-bands", fontsize=10)
    fig.tight_layout()
    figure_legend_below(fig, axes, ncol=8)
    save(fig, path)


def nnt_gradients_figure(result: dict, path, *, gamma: float = 1.0, length: int | None = None,
                         weight: str = "W_V") -> None:
    """``||d X_L / d W_l||_F`` against the layer ``l``, per configuration (bands over seeds)."""
    from sigprop.plotting import band_plot, figure_legend_below, pyplot, save, series

    plt = pyplot()
    cfg, recs = result["config"], result["records"]
    length = max(cfg["lengths"]) if length is None else length
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.9), sharey=True)
    for ax, base in zip(axes, NNT_BASES, strict=True):
        for suffix, style in NNT_STYLE.items():
            name = base + suffix
            if name in cfg["configs"]:
                x, grid = series(recs, f"grad_{weight}", "layer", config=name, gamma=gamma, length=length)
                band_plot(ax, x, grid, style, NNT_SUFFIX_LABEL[suffix])
        ax.set(yscale="log", xlabel="layer l", title=f"{base} (+ variant)")
    axes[0].set_ylabel(f"$\\|\\partial X_L / \\partial {weight}^{{(l)}}\\|_F$")
    fig.suptitle(f"[NNT24] protocol: gradient of the last layer's output, T = {length}, "
                 f"$\\gamma$ = {gamma:g}, L = {cfg['layers']}, {cfg['probes']} Gaussian probes; "
                 f"{len(cfg['seeds'])} seeds, 95% t-bands",
                 fontsize=10)
    fig.tight_layout()
    figure_legend_below(fig, axes, ncol=6)
    save(fig, path)
