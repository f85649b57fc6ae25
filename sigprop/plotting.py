"""Figures of signal propagation profiles, in one consistent, greyscale-safe style."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sigprop.core.results import atomic_write
from sigprop.core.stats import t_band
from sigprop.core.vocabulary import canonical_config


def pyplot():
    """matplotlib's ``pyplot`` on the Agg backend with the package's figure style (one place for it)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 120, "axes.grid": True, "grid.alpha": 0.3,
                         "font.size": 10, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def save(fig, path) -> None:
    """Save ``fig`` atomically to ``path`` (or to each path of a list) and close it."""
    for one in ([path] if isinstance(path, (str, Path)) else path):
        fmt = Path(one).suffix.lstrip(".").lower() or "png"
        atomic_write(one, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, bbox_inches="tight"))
    pyplot().close(fig)


def figure_paths(out, name: str) -> list[Path]:
    """``out/name.png`` and ``out/name.pdf``."""
    return [Path(out) / f"{name}.png", Path(out) / f"{name}.pdf"]


def profile_figure(result: dict, path) -> None:
    """``rho_i`` against position ``i`` (theory line; simulation with intervals if present)."""
    plt = pyplot()
    cfg = result["config"]
    pos = np.asarray(result["positions"])
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(pos, result["rho"], "k-", lw=1.6, label=f"closed form ({cfg['form']})")
    if "rho_mc" in result:
        rho_mc = np.asarray(result["rho_mc"])
        err = np.vstack([rho_mc - np.asarray(result["ci_low"]), np.asarray(result["ci_high"]) - rho_mc])
        ax.errorbar(pos, rho_mc, yerr=err, fmt="o", ms=2.5, color="0.45", mfc="white", elinewidth=0.8,
                    label=f"Monte Carlo, {cfg['samples']} samples, {cfg['confidence']:.0%} Wilson CI")
    ax.set_xlabel("position i (query = token T)")
    ax.set_ylabel(r"$\rho_i = P(0 < zc_i < 1)$")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(_title(cfg), fontsize=9)
    ax.legend(fontsize=8, loc="best")
    save(fig, path)


def _title(cfg: dict) -> str:
    cfg = canonical_config(cfg)
    if cfg.get("weights"):
        head = f"W from {cfg['weights']}"
    else:
        head = f"eigenvalue mean m = {cfg['m']:g}, variance v = {cfg['v']:g}"
    return f"{head}; d = {cfg['d']}, T = {cfg['T']}, c = {cfg['scale']:.4g}"


def history_figure(record: dict, path) -> None:
    """Training history: losses, eigenspectrum, entropies, collapse, and profiles."""
    plt = pyplot()
    cfg, hist = record["config"], record["history"]
    step = np.array([h["step"] for h in hist])

    def series(key):
        return np.array([np.nan if h.get(key) is None else h[key] for h in hist], dtype=float)

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    ax = axes[0, 0]
    ax.semilogy(step[1:], series("train_loss")[1:], "k-", label="train L")
    ax.semilogy(step, series("heldout_loss"), "k--", label="held-out L")
    ax.set(xlabel="step", ylabel="loss L", title="loss")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    ax.plot(step, series("eig_mean"), "k-", label="eigenvalue mean m")
    ax.plot(step, series("eig_var"), "k--", label="eigenvalue variance v")
    ax.set(xlabel="step", ylabel="value", title="QK eigenspectrum of W")
    ax.legend(fontsize=8)
    ax = axes[0, 2]
    ax.plot(step, series("attention_entropy"), "k-", label="last query")
    ax.plot(step, series("all_entropy"), "k--", label="all queries")
    ax.plot(step, series("max_attention"), "k:", label="largest weight (all queries)")
    ax.set(xlabel="step", ylabel="entropy / log T; largest weight", title="entropy collapse",
           ylim=(0, 1.02))
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    ax.plot(step, series("rank_residual"), "k-")
    ax.set(xlabel="step", ylabel=r"$\|Y - \bar y\|_F / \|Y\|_F$", title="rank collapse (0 = collapsed)")
    ax = axes[1, 1]
    ax.plot(step, series("profile_distance"), "k-")
    ax.set(xlabel="step", ylabel="total variation", title="empirical vs closed-form profile")
    ax = axes[1, 2]
    pos = np.arange(1, cfg["T"] + 1)
    pwl = cfg["attention"] == "pwl"
    emp_label = "empirical $\\rho_i$" if pwl else "$E[p_i(1-p_i)]$"

    def shown(x):          # softmax: both profiles as shares, as profile_distance compares them
        x = np.asarray(x, dtype=float)
        return x if pwl or x.sum() == 0 else x / x.sum()

    for h, style, when in ((hist[0], "0.6", "start"), (hist[-1], "k", "end")):
        ax.plot(pos, shown(h["rho_theory"]), "-", color=style, label=f"closed-form $\\rho_i$, {when}")
        ax.plot(pos, shown(h["profile_empirical"]), "o", ms=3, mfc="white", color=style,
                label=f"{emp_label}, {when}")
    ax.set(xlabel="position i", ylabel="$\\rho_i$" if pwl else "share of the profile",
           title="signal propagation profile")
    ax.legend(fontsize=7)
    fig.suptitle(f"task {cfg['task']}, {cfg['attention']} attention, d = {cfg['d']}, T = {cfg['T']}, "
                 f"LocAteR $\\lambda$ = {cfg['locater']}, seed {cfg['seed']}", fontsize=10)
    fig.tight_layout()
    save(fig, path)


def spectrum_figure(result: dict, path) -> None:
    """Eigenvalues in the complex plane with the predicted circle; singular values with the gap."""
    plt = pyplot()
    cfg = result["config"]
    ev, sv = np.asarray(result["eigenvalues"]), np.asarray(result["singular_values"])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.6))
    a1.plot(ev.real, ev.imag, ".", ms=2, color="0.35", label="eigenvalues of A")
    t = np.linspace(0, 2 * np.pi, 400)
    r = result["predicted_eig_radius"]
    a1.plot(r * np.cos(t), r * np.sin(t), "k--", lw=1.2, label=f"predicted bulk radius {r:.3g}")
    lim = 1.6 * max(r, float(np.abs(ev[1:]).max()))
    a1.set(xlabel="Re $\\lambda$", ylabel="Im $\\lambda$", xlim=(-lim, lim), ylim=(-lim, lim),
           title=f"bulk eigenvalues (the outlier |$\\lambda_1$| = {abs(ev[0]):.4f} is off scale)")
    a1.set_aspect("equal")
    a1.legend(fontsize=8, loc="upper left")
    a2.hist(sv[1:], bins=60, color="0.6", edgecolor="0.3", label="singular values 2..T")
    edge = result["predicted_bulk_edge"]
    a2.axvline(edge, color="k", ls="--", lw=1.2, label=f"predicted bulk edge {edge:.3g}")
    a2.set(xlabel="singular value of A", ylabel="count",
           title=f"singular values: $\\sigma_1$ = {sv[0]:.4f} (outside), gap {sv[0] - sv[1]:.3f}")
    a2.legend(fontsize=8)
    fig.suptitle(f"{_MODEL_LABEL[cfg['model']]} at initialisation, T = {cfg['length']}, $\\sigma$ = "
                 f"{cfg['sigma']}",
                 fontsize=10)
    fig.tight_layout()
    save(fig, path)


_MODEL_LABEL = {"markov": "random Markov attention", "attention": "key-query attention"}
_VARIANT_STYLE = {"vanilla": ("k", "o", "-"), "removed": ("0.45", "s", "--"), "rescaled": ("0.2", "^", ":")}
_VARIANT_LABEL = {"vanilla": "vanilla A", "removed": "gap removed, A - U",
                  "rescaled": "gap removed, rescaled"}


def width_figure(result: dict, path) -> None:
    """Rank residual of one layer's output against T, simulated and predicted, per variant."""
    plt = pyplot()
    cfg = result["config"]
    T = np.array([row["config"]["length"] for row in result["rows"]])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for v, (color, marker, ls) in _VARIANT_STYLE.items():
        r = np.array([row[v]["rank_residual"] for row in result["rows"]])
        se = np.array([row[v]["rank_residual_se"] for row in result["rows"]])
        pred = np.array([row[v]["predicted"] for row in result["rows"]])
        ax.errorbar(T, r, yerr=se, fmt=marker, color=color, mfc="white",
                    label=f"{_VARIANT_LABEL[v]} (simulated)")
        ax.plot(T, pred, ls, color=color, lw=1, label=f"{_VARIANT_LABEL[v]} (predicted)")
    ax.set(xscale="log", yscale="log", xlabel="context length T",
           ylabel=r"rank residual $\|Y - 1\bar y^T\|_F / \|Y\|_F$",
           title=f"rank collapse in width, {_MODEL_LABEL[cfg['model']]}, $\\sigma$ = {cfg['sigma']}")
    ax.legend(fontsize=7)
    save(fig, path)


def depth_figure(result: dict, path) -> None:
    """By-layer rank residual, signal scale and gradient norm for the three variants."""
    plt = pyplot()
    cfg = result["config"]
    layers = np.arange(cfg["layers"] + 1)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    titles = {"rank_residual": "rank residual of $X_l$", "scale": r"scale $\|X_l\|_F/\sqrt{Td}$",
              "grad_x": r"gradient $\|\partial L/\partial X_l\|_F/\sqrt{Td}$"}
    ylabels = {"rank_residual": r"$\|X_l - 1\bar x_l^T\|_F / \|X_l\|_F$", "scale": r"$\|X_l\|_F/\sqrt{Td}$",
               "grad_x": r"$\|\partial L/\partial X_l\|_F/\sqrt{Td}$"}
    for ax, key in zip(axes, titles, strict=True):
        for v, (color, marker, ls) in _VARIANT_STYLE.items():
            y = np.array(result[v][key], dtype=float)
            y = np.where(y > 0, y, np.nan)
            ax.plot(layers, y, ls, marker=marker, color=color, mfc="white", label=_VARIANT_LABEL[v])
        ax.set(yscale="log", xlabel="layer l", ylabel=ylabels[key], title=titles[key])
    fig.suptitle(f"{cfg['layers']}-layer attention-only stack, {_MODEL_LABEL[cfg['model']]}, T = "
                 f"{cfg['length']}, "
                 f"$\\sigma$ = {cfg['sigma']}" + (", random $W_V$" if cfg["values"] else ""), fontsize=10)
    fig.tight_layout()
    legend = figure_legend_below(fig, axes, ncol=3)
    if np.allclose(result["removed"]["rank_residual"], result["rescaled"]["rank_residual"], rtol=1e-6):
        legend.set_title("rank residual: the two gap-removed variants coincide (rescaling leaves it unchanged)",
                         prop=dict(size=8))
    save(fig, path)


def gaussian_error_figure(result: dict, path) -> None:
    """Largest error of the Gaussian rho against d, per eigenvalue variance."""
    plt = pyplot()
    cfg, rows = canonical_config(result["config"]), result["rows"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    greys = ("k", "0.35", "0.6", "0.8")
    markers = ("o", "s", "^", "D")
    for j, v in enumerate(sorted({r["v"] for r in rows})):
        sub = [r for r in rows if r["v"] == v]
        d = np.array([r["d"] for r in sub])
        color, marker = greys[j % 4], markers[j % 4]
        ax.plot(d, [r["gauss_vs_exact"] for r in sub], "-", color=color, marker=marker, mfc=color,
                label=f"v = {v:g}: Gaussian vs exact")
        ax.plot(d, [r["gauss_vs_mc"] for r in sub], "none", marker=marker, mec=color, mfc="white", ms=8,
                label=f"v = {v:g}: Gaussian vs Monte Carlo")
    half = max(r["ci_halfwidth"] for r in rows)
    ax.axhline(half, color="0.5", ls=":", lw=1,
               label=f"Monte Carlo 95% half-width ({cfg['samples']} samples)")
    ax.set(xscale="log", yscale="log", xlabel="dimension d",
           ylabel=r"$\max_i |\rho_i^{\mathrm{Gauss}} - \rho_i|$",
           title=f"error of the Gaussian approximation, m = {cfg['m']}, T = {cfg['T']}")
    ax.legend(fontsize=7)
    save(fig, path)


def heads_figure(result: dict, path) -> None:
    """Layers x heads heat maps: eigenvalue variance and predicted localization."""
    plt = pyplot()
    recs = result["records"]
    L = max(r["layer"] for r in recs) + 1
    H = max(r["head"] for r in recs) + 1
    panels = (("eig_var", "eigenvalue variance of $W_h$ (log10 |v|)"),
              ("rho_entropy", r"normalized entropy of the predicted $\rho$ profile"))
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.5 * L + 2.2))
    for ax, (key, title) in zip(axes, panels, strict=True):
        grid = np.full((L, H), np.nan)
        for r in recs:
            value = r[key]
            grid[r["layer"], r["head"]] = np.log10(abs(value) + 1e-12) if key == "eig_var" else value
        im = ax.imshow(grid, cmap="Greys", aspect="auto", origin="lower")
        ax.set(xlabel="head", ylabel="layer", title=title, xticks=range(H), yticks=range(L))
        ax.grid(False)
        fig.colorbar(im, ax=ax, shrink=0.85)
    cfg = result["config"]
    fig.suptitle(f"{Path(cfg['checkpoint']).name}: {cfg['layout']} layout, d = {cfg['d_model']}, "
                 f"T = {cfg['length']}", fontsize=10)
    fig.tight_layout()
    save(fig, path)


# --- [NNT24]'s own protocol (sigprop.gap.protocol): stable rank, gradients, training, MiniLM ---

_NNT_BASES = ("A", "A_perp", "A(X)", "A(X)_perp")
_NNT_SUFFIXES = ("", "+LN", "+skip", "+skip/sqrt(d)", "+skip+LN", "+skip/sqrt(d)+LN")
_NNT_STYLE = {"": ("k", "o", "-"), "+LN": ("0.45", "s", "-"), "+skip": ("k", "^", "--"),
              "+skip/sqrt(d)": ("0.45", "v", "--"), "+skip+LN": ("k", "D", ":"),
              "+skip/sqrt(d)+LN": ("0.45", "x", ":")}


def _series(records, value, x_key, **match):
    """``(x, values[seed, x])`` of ``value`` for the records matching ``match``."""
    rows = [r for r in records if all(r.get(k) == v for k, v in match.items())]
    xs = sorted({r[x_key] for r in rows})
    seeds = sorted({r["seed"] for r in rows})
    grid = np.full((len(seeds), len(xs)), np.nan)
    for r in rows:
        grid[seeds.index(r["seed"]), xs.index(r[x_key])] = r[value]
    return np.array(xs, dtype=float), grid


def _band_plot(ax, x, grid, style, label):
    color, marker, ls = style
    mean, half = t_band(grid)                # 95% Student-t band over seeds (sigprop.core.stats)
    ax.plot(x, mean, ls, color=color, marker=marker, ms=3.5, mfc="white", lw=1.2, label=label)
    ax.fill_between(x, mean - half, mean + half, color=color, alpha=0.15, lw=0)


def legend_below(ax, ncol: int = 2, fontsize: float = 7, offset: float = 0.2):
    """The legend of ``ax`` under its x label, outside the panel: it covers no data."""
    return ax.legend(fontsize=fontsize, loc="upper center", bbox_to_anchor=(0.5, -offset), ncol=ncol,
                     frameon=False)


def figure_legend_below(fig, axes, ncol: int, fontsize: float = 8):
    """One legend under all panels with every entry of ``axes`` once (panels sharing line styles)."""
    entries: dict = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    return fig.legend(list(entries.values()), list(entries), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                      ncol=ncol, fontsize=fontsize, frameon=False)


#: Legend text of the skip/LayerNorm variants; each panel's title names the attention.
_NNT_SUFFIX_LABEL = {"": "attention alone", "+LN": "+LN", "+skip": "+skip", "+skip/sqrt(d)": "+skip/sqrt(d)",
                     "+skip+LN": "+skip+LN", "+skip/sqrt(d)+LN": "+skip/sqrt(d)+LN"}


def nnt_stable_rank_figure(result: dict, path, *, against: str = "length", gamma: float = 1.0,
                           layer: int | None = None, length: int | None = None) -> None:
    """Stable rank of ``X_l X_l^T`` against ``T`` (at ``layer``) or depth (at ``length``), per configuration.

    One panel per attention ``{A, A_perp, A(X), A(X)_perp}``, one line per skip/LayerNorm variant,
    the identity-attention baseline dashed in every panel; bands are 95% t-intervals over seeds.
    """
    plt = pyplot()
    cfg, recs = result["config"], result["records"]
    layer = cfg["layers"] if layer is None else layer
    length = max(cfg["lengths"]) if length is None else length
    gamma = gamma if gamma in cfg["gammas"] else cfg["gammas"][0]     # the first one run, when 1 was not
    lengths = np.array(sorted(cfg["lengths"]), dtype=float)
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.9), sharey=True)
    for ax, base in zip(axes, _NNT_BASES, strict=True):
        for suffix, style in _NNT_STYLE.items():
            name = base + suffix
            if name not in cfg["configs"]:
                continue
            if against == "length":
                x, grid = _series(recs, "stable_rank", "length", config=name, gamma=gamma, layer=layer)
            else:
                x, grid = _series(recs, "stable_rank", "layer", config=name, gamma=gamma, length=length)
            _band_plot(ax, x, grid, style, _NNT_SUFFIX_LABEL[suffix])
        if "I" in cfg["configs"]:
            if against == "length":
                x, grid = _series(recs, "stable_rank", "length", config="I", gamma=gamma, layer=layer)
            else:
                x, grid = _series(recs, "stable_rank", "layer", config="I", gamma=gamma, length=length)
            _band_plot(ax, x, grid, ("0.7", "", "-."), "I (identity attention)")
        if against == "length":               # the stable rank of the isometric input itself
            ax.plot(lengths, lengths, color="0.8", lw=0.8, label="T (isometric input)")
        ax.set(yscale="log", xlabel="context length T" if against == "length" else "layer l",
               title=f"{base} (+ variant)")
        if not any(base + suffix in cfg["configs"] for suffix in _NNT_STYLE):   # a panel none of the runs is in
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
    plt = pyplot()
    cfg, recs = result["config"], result["records"]
    length = max(cfg["lengths"]) if length is None else length
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.9), sharey=True)
    for ax, base in zip(axes, _NNT_BASES, strict=True):
        for suffix, style in _NNT_STYLE.items():
            name = base + suffix
            if name in cfg["configs"]:
                x, grid = _series(recs, f"grad_{weight}", "layer", config=name, gamma=gamma, length=length)
                _band_plot(ax, x, grid, style, _NNT_SUFFIX_LABEL[suffix])
        ax.set(yscale="log", xlabel="layer l", title=f"{base} (+ variant)")
    axes[0].set_ylabel(f"$\\|\\partial X_L / \\partial {weight}^{{(l)}}\\|_F$")
    fig.suptitle(f"[NNT24] protocol: gradient of the last layer's output, T = {length}, "
                 f"$\\gamma$ = {gamma:g}, L = {cfg['layers']}, {cfg['probes']} Gaussian probes; "
                 f"{len(cfg['seeds'])} seeds, 95% t-bands",
                 fontsize=10)
    fig.tight_layout()
    figure_legend_below(fig, axes, ncol=6)
    save(fig, path)


def nnt_training_figure(result: dict, path) -> None:
    """Training loss against step, one panel per (target, learning rate), with and without the fix."""
    plt = pyplot()
    cfg, recs = result["config"], result["records"]
    targets, lrs = cfg["targets"], cfg["lrs"]
    fig, axes = plt.subplots(len(lrs), len(targets), figsize=(3.6 * len(targets), 2.8 * len(lrs)),
                             squeeze=False, sharex=True)
    styles = [("k", "", "-"), ("k", "", "--"), ("0.5", "", "-"), ("0.5", "", "--"), ("0.25", "", ":"),
              ("0.65", "", ":")]
    for i, lr in enumerate(lrs):
        for j, target in enumerate(targets):
            ax = axes[i, j]
            for name, style in zip(cfg["configs"], styles[:len(cfg["configs"])], strict=False):
                rows = [r for r in recs if r["config"] == name and r["target"] == target and r["lr"] == lr]
                grid = np.array([r["losses"] for r in rows], dtype=float)
                if grid.size:
                    _band_plot(ax, np.arange(grid.shape[1]), grid, style, name)
            ax.set(yscale="log", title=f"{target}, lr = {lr:g}")
            from matplotlib.ticker import NullFormatter
            ax.yaxis.set_minor_formatter(NullFormatter())
            if i == len(lrs) - 1:
                ax.set_xlabel("Adam step")
            ax.set_ylabel("training MSE")
    fig.suptitle(f"[NNT24] trainability: T = {cfg['length']}, d = {cfg['d']}, {cfg['layers']} layers, "
                 f"{cfg['samples']} isometric inputs, full batch; {len(cfg['seeds'])} seeds, 95% t-bands",
                 fontsize=10)
    fig.tight_layout()
    figure_legend_below(fig, axes.ravel(), ncol=min(len(cfg["configs"]), 4))
    save(fig, path)


def nnt_encoder_figure(result: dict, path) -> None:
    """MiniLM on real text: outlier and bulk against T; stable rank with and without the fix."""
    plt = pyplot()
    cfg = result["config"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    styles = {"pretrained": ("k", "o", "-"), "random": ("0.45", "s", "--"),
              "random-causal": ("0.2", "^", ":")}
    panels = ((("sigma_1", "sigma_2"), axes[0],
               r"outlier $\sigma_1(A)$ (filled) and bulk edge $\sigma_2(A)$ (open)",
               "singular value of A (mean over heads)"),
              (("eig_2",), axes[1], r"second eigenvalue modulus $|\lambda_2(A)|$",
               r"$|\lambda_2(A)|$ (mean over heads)"))
    for keys, ax, title, ylabel in panels:
        for key in keys:
            for model in cfg["models"]:
                rows = [r for r in result["spectra"] if r["model"] == model]
                heads = sorted({(r["layer"], r["head"]) for r in rows})
                Ts = sorted({r["length"] for r in rows})
                grid = np.full((len(heads), len(Ts)), np.nan)
                sums: dict = {}
                for r in rows:
                    cell = (heads.index((r["layer"], r["head"])), Ts.index(r["length"]))
                    sums.setdefault(cell, []).append(r[key])
                for (h, t), v in sums.items():
                    grid[h, t] = np.mean(v)
                color, marker, ls = styles[model]
                _band_plot(ax, np.array(Ts, float), grid, (color, marker, ls), f"{model} {key}")
                if key == "sigma_1":
                    ax.lines[-1].set_markerfacecolor(color)
        T = np.array(cfg["lengths"], float)
        ref = 2 / np.sqrt(T) if keys[-1] == "sigma_2" else 1 / np.sqrt(T)
        ax.plot(T, ref, color="0.75", lw=1,
                label=("$2/\\sqrt{T}$" if keys[-1] == "sigma_2" else "$1/\\sqrt{T}$")
                + " (random Markov, s = 1)")
        ax.set(xscale="log", yscale="log", xlabel="tokens T", ylabel=ylabel, title=title)
        ax.set_xticks(T)
        ax.set_xticklabels([f"{t:g}" for t in T])
        ax.minorticks_off()
        legend_below(ax, ncol=2, offset=0.16)
    ax = axes[2]
    T = max(cfg["lengths"])
    ends = {}
    for model in cfg["models"]:
        for removed in (False, True):
            rows = [r for r in result["stable_rank"] if r["model"] == model and r["removed"] == removed
                    and r["length"] == T]
            layers = sorted({r["layer"] for r in rows})
            wins = sorted({r["window"] for r in rows})
            grid = np.full((len(wins), len(layers)), np.nan)
            for r in rows:
                grid[wins.index(r["window"]), layers.index(r["layer"])] = r["stable_rank"]
            color, marker, _ = styles[model]
            _band_plot(ax, np.array(layers, float), grid, (color, marker, "--" if removed else "-"),
                       f"{model}, {'A - U' if removed else 'A'}")
            ends[f"{model}, {'A - U' if removed else 'A'}"] = np.nanmean(grid, axis=0)
    # curves within 2% of each other at every layer are drawn on top of one another: say which
    names = list(ends)
    together = [[b for b in names if np.allclose(ends[a], ends[b], rtol=0.02)] for a in names]
    groups = sorted({tuple(g) for g in together if len(g) > 1})
    ax.set(yscale="log", xlabel="layer (0 = embeddings)", ylabel="stable rank of $X_l X_l^T$",
           title=f"stable rank through the encoder, T = {T}\n(dashed: A - U in every layer)")
    legend = legend_below(ax, ncol=2, offset=0.16)
    if groups:
        legend.set_title("\n".join(f"drawn on one another (within 2%): {'; '.join(g)}" for g in groups),
                         prop=dict(size=6.5))
    fig.suptitle("all-MiniLM-L6-v2 on real text (Python docstrings): pretrained, random initialization, "
                 "random causal", fontsize=10)
    fig.tight_layout()
    save(fig, path)


_VALIDITY_MARK = {"holds": "", "fails": "x", "undecided": "?"}


def validity_figure(result: dict, path) -> None:
    """The gap's validity map: mean ratio measured/predicted per ``(sigma, T)`` for each
    quantity (grey scale centred on 1; ``x`` fails, ``?`` undecided, blank holds), and the
    ``sigma_2`` diagnostic: ratio to the edge against the largest entry over the edge.

    ``result`` is :func:`sigprop.gap.validity.region` output."""
    plt = pyplot()
    cfg = result["config"]
    sig, Ts = cfg["sigmas"], cfg["lengths"]
    names = dict(sigma_1="$\\sigma_1$", sigma_2="$\\sigma_2$", eig_2="$|\\lambda_2|$", kappa="$\\kappa$")
    fig = plt.figure(figsize=(15, 8.4), layout="constrained")
    grid = fig.add_gridspec(2, 3, width_ratios=(1, 1, 1.05))
    axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 0]),
            fig.add_subplot(grid[1, 1]), fig.add_subplot(grid[:, 2])]
    tol = cfg["tol"]
    for ax, (k, label) in zip(axes, names.items()):
        m = np.asarray(result[k]["mean"])
        im = ax.imshow(np.log2(m), cmap="RdGy_r", vmin=-1, vmax=1, origin="lower", aspect="auto")
        for i in range(len(sig)):
            for j in range(len(Ts)):
                v = result[k]["verdict"][i][j]
                ax.text(j, i, f"{m[i, j]:.2f}{_VALIDITY_MARK[v]}", ha="center", va="center", fontsize=9,
                        color="w" if abs(np.log2(m[i, j])) > 0.6 else "k")
        ax.set_xticks(range(len(Ts)), [str(t) for t in Ts], fontsize=9)
        ax.set_yticks(range(len(sig)), [f"{s:g}" for s in sig], fontsize=9)
        ax.set(xlabel="T", ylabel="$\\sigma$", title=f"{label}: measured / predicted")
        ax.grid(False)
    fig.colorbar(im, ax=axes[:4], label="log$_2$ ratio (x: fails, ?: undecided)", shrink=0.6)
    ax = axes[4]
    x = np.asarray(result["largest_entry_ratio"]["mean"])
    y = np.asarray(result["sigma_2"]["mean"])
    for i, s in enumerate(sig):
        ax.plot(2 * x[i], y[i], "o-", ms=3, lw=0.8, color=str(0.75 * i / max(len(sig) - 1, 1)),
                label=f"$\\sigma$ = {s:g}")
    th = np.linspace(0.0, max(2.0, 2.1 * x.max()), 400)[1:]
    ax.plot(th, np.where(th > 1, (th + 1 / th) / 2, 1.0), "k--", lw=1.2,
            label="one spike: ($\\theta$+1/$\\theta$)/2 for $\\theta$ > 1")
    ax.axhspan(1 - tol, 1 + tol, color="0.85", zorder=0)
    ax.set(xlabel="$\\theta$ = largest entry / (s/$\\sqrt{T}$)",
           ylabel="$\\sigma_2$ / (2s/$\\sqrt{T}$)", title="$\\sigma_2$ and the largest entry")
    legend_below(ax, ncol=2, fontsize=8, offset=0.08)
    fig.suptitle(f"random Markov attention: where the spectral-gap predictions hold to {100 * tol:g}% "
                 f"({cfg['seeds']} seeds per cell, {100 * cfg['confidence']:g}% t-intervals)", fontsize=11)
    save(fig, path)
