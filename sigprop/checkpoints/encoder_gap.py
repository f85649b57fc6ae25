"""[NNT24]'s spectral measurements on a real encoder, beyond the paper's random matrices.

The BERT-style encoder of :mod:`sigprop.checkpoints.realtext` (all-MiniLM-L6-v2: 6 layers,
12 heads, ``d = 384``) runs on real English text (the docstrings of
:data:`sigprop.checkpoints.realtext.MODULES`, tokenized by the checkpoint's own tokenizer, cut
into windows of ``T`` tokens: ``[CLS]``, ``T - 2`` tokens of the text stream, ``[SEP]``) in three
variants:

* ``pretrained``: the checkpoint's weights;
* ``random``: the same architecture at BERT's random initialization (every matrix and embedding
  ``N(0, 0.02^2)`` (the config's ``initializer_range``), biases 0, LayerNorm gains 1);
* ``random-causal``: the random encoder with a causal mask (query ``q`` sees keys ``i <= q``),
  a decoder's triangular attention matrices.

Per head and layer, the attention matrix ``A`` (``T x T``): its outlier ``sigma_1`` and bulk edge
``sigma_2`` (the two largest singular values), the largest eigenvalue modulus ``|lambda_1|`` and
the second ``|lambda_2|`` (for a triangular ``A`` the eigenvalues are its diagonal), as ``T``
grows; random Markov attention predicts ``sigma_1 ~ 1`` and ``sigma_2 ~ 2 s / sqrt(T)``.  And the
stable rank of the hidden states (``sum sigma^4 / max sigma^4`` over the singular values of
``X_l``, as in :func:`sigprop.gap.stable_rank.stable_rank`) through the embeddings and the 6
layers, with the attention as is and with the outlier removed in every attention layer
(``A - U``, ``U`` the uniform attention over the visible keys).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sigprop.checkpoints.heads import describe, load
from sigprop.checkpoints.realtext import Weights, embed, encode, encoder_states, read_tokenizer, texts
from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.core.labelled import Result
from sigprop.core.progress import iterate
from sigprop.core.stats import t_interval
from sigprop.gap.stable_rank import stable_rank

MODELS = ("pretrained", "random", "random-causal")


def random_weights(tensors: dict, cfg: dict, seed: int = 0) -> dict:
    """Tensors of the same names and shapes at BERT's initialization (``N(0, r^2)``, biases 0, LN 1)."""
    rng = np.random.default_rng(seed)
    r = float(cfg.get("initializer_range", 0.02))
    out = {}
    for name in sorted(tensors):
        shape = tensors[name].shape
        if "LayerNorm.weight" in name or name.endswith(".gamma"):
            out[name] = np.ones(shape)
        elif name.endswith("bias") or name.endswith(".beta"):
            out[name] = np.zeros(shape)
        else:
            out[name] = rng.standard_normal(shape, dtype=np.float32) * np.float32(r)
    return out


def token_windows(tokenizer, T: int, n: int, cls_id: int, sep_id: int) -> list[np.ndarray]:
    """Up to ``n`` windows ``[CLS] + T - 2 tokens + [SEP]`` of the concatenated text stream."""
    stream = []
    for module, doc in texts():
        stream.extend(encode(tokenizer, module, doc, add_special_tokens=False).ids)
    body = T - 2
    return [
        np.array([cls_id] + stream[i * body : (i + 1) * body] + [sep_id])
        for i in range(min(n, len(stream) // body))
    ]


def checkpoint_tokenizer(checkpoint):
    """The ``tokenizers`` tokenizer of the ``tokenizer.json`` beside ``checkpoint``, without padding or
    truncation (:func:`sigprop.checkpoints.realtext.read_tokenizer`: a one-line error if it is missing or
    unreadable)."""
    tok = read_tokenizer(Path(checkpoint).with_name("tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


def head_spectra(A: np.ndarray) -> dict:
    """``sigma_1, sigma_2, eig_1, eig_2`` for every head (``A`` is ``(heads, T, T)``)."""
    sv = np.linalg.svd(A, compute_uv=False)
    ev = np.sort(np.abs(np.linalg.eigvals(A)), axis=-1)[:, ::-1]
    return dict(sigma_1=sv[:, 0], sigma_2=sv[:, 1], eig_1=ev[:, 0], eig_2=ev[:, 1])


def study(
    checkpoint,
    *,
    lengths=(16, 32, 64, 128, 256),
    windows: int = 4,
    seed: int = 0,
    models=MODELS,
    ranks: bool = True,
    progress: bool = False,
) -> Result:
    """Per-head outlier and bulk as ``T`` grows; stable rank through the layers with and without the fix.

    ``ranks=False`` skips the stable ranks (and the second pass with the outlier removed).
    """
    lengths = [_checks.integer("lengths", t, 3) for t in np.atleast_1d(lengths).tolist()]
    windows = _checks.integer("windows", windows, 1)
    for m in models:
        if m not in MODELS:
            raise ArgumentError("models", f"must be among {', '.join(MODELS)}, got {m!r}")
    tensors, cfg = load(checkpoint)
    limit = int(cfg.get("max_position_embeddings", 512))
    if max(lengths) > limit:
        raise ArgumentError.about("lengths",
            f"lengths must be <= {limit} (the checkpoint's max_position_embeddings), got {max(lengths)}"
        )
    tok = checkpoint_tokenizer(checkpoint)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    weights = {"pretrained": Weights(tensors)}
    if any(m != "pretrained" for m in models):
        weights["random"] = Weights(random_weights(tensors, cfg, seed))
    spectra: list = []
    rank_records: list = []
    used = {}
    todo = [(m, T) for m in models for T in lengths]
    for model, T in iterate(todo, progress, desc="encoder", unit="run"):
        w = weights["pretrained" if model == "pretrained" else "random"]
        causal = model == "random-causal"
        wins = token_windows(tok, T, windows, cls_id, sep_id)
        used[T] = len(wins)
        for i, ids in enumerate(wins):
            for removed in (False, True) if ranks else (False,):
                states = encoder_states(w, cfg, ids, remove_outlier=removed, causal=causal)
                if ranks:
                    rank_records.append(dict(model=model, removed=removed, length=T, window=i, layer=0,
                                             stable_rank=float(stable_rank(embed(w, cfg, ids)))))
                for layer, _, A, x in states:
                    if ranks:
                        rank_records.append(dict(model=model, removed=removed, length=T, window=i, layer=layer + 1,
                                                 stable_rank=float(stable_rank(x))))
                    if not removed:
                        hs = head_spectra(A)
                        spectra.extend(
                            dict(model=model, length=T, window=i, layer=layer, head=h,
                                 **{k: float(v[h]) for k, v in hs.items()})
                            for h in range(A.shape[0])
                        )
    config = dict(
        study="encoder_gap",
        checkpoint=describe(checkpoint),
        models=list(models),
        lengths=lengths,
        windows=windows,
        windows_used=used,
        seed=seed,
        ranks=ranks,
        initializer_range=cfg.get("initializer_range", 0.02),
        text="docstrings of Python standard-library modules, concatenated",
    )
    return Result(dict(config=config, spectra=spectra, stable_rank=rank_records), kind="encoder-gap",
                  keys={"spectra": ("model", "length", "window", "layer", "head"),
                        "stable_rank": ("model", "removed", "length", "window", "layer")})


def bulk_exponents(spectra, model: str, key: str = "sigma_2", level: float = 0.95) -> dict:
    """Per head, the slope of ``log key`` (mean over windows) on ``log T``; mean over heads with a t-interval.

    Random Markov attention predicts ``-1/2`` for ``sigma_2`` and ``eig_2``, and 0 for ``sigma_1``.
    """
    groups: dict = {}
    for r in spectra:
        if r["model"] == model:
            groups.setdefault((r["layer"], r["head"]), {}).setdefault(r["length"], []).append(r[key])
    slopes = []
    for by_T in groups.values():
        T = np.array(sorted(by_T), dtype=float)
        if T.size >= 2:
            y = np.array([np.mean(by_T[t]) for t in sorted(by_T)])
            if np.all(y > 0):
                slopes.append(np.polyfit(np.log(T), np.log(y), 1)[0])
    s = np.array(slopes)
    n = s.size
    low, high = (float(x) for x in t_interval(s, level)[1:]) if n > 1 else (float("nan"), float("nan"))
    return dict(
        model=model,
        key=key,
        heads=n,
        mean=float(s.mean()) if n else float("nan"),
        low=low,
        high=high,
        median=float(np.median(s)) if n else float("nan"),
    )


# --- figure ---------------------------------------------------------------------------------

def nnt_encoder_figure(result: dict, path) -> None:
    """MiniLM on real text: outlier and bulk against T; stable rank with and without the fix."""
    from sigprop.plotting import band_plot, legend_below, pyplot, save

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
                band_plot(ax, np.array(Ts, float), grid, (color, marker, ls), f"{model} {key}")
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
            band_plot(ax, np.array(layers, float), grid, (color, marker, "--" if removed else "-"),
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
