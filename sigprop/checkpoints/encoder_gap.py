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
from sigprop.checkpoints.realtext import Weights, embed, encoder_states, texts
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
    for _, doc in texts():
        stream.extend(tokenizer.encode(doc, add_special_tokens=False).ids)
    body = T - 2
    return [
        np.array([cls_id] + stream[i * body : (i + 1) * body] + [sep_id])
        for i in range(min(n, len(stream) // body))
    ]


def checkpoint_tokenizer(checkpoint):
    """The ``tokenizers`` tokenizer of the ``tokenizer.json`` beside ``checkpoint`` (a one-line error if it is
    missing or unreadable)."""
    path = Path(checkpoint).with_name("tokenizer.json")
    if not path.is_file():
        raise ArgumentError("tokenizer", f"file not found: {path}", separator=": ")
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ArgumentError.about("tokenizer",
            "the encoder study needs the 'tokenizers' package: pip install 'sigprop[heads]'"
        ) from None
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # noqa: BLE001 - any unreadable tokenizer is one clear error
        raise ArgumentError("tokenizer", f"cannot read {path} as a tokenizer.json "
                                         f"({' '.join(str(exc).split())[:80]})", separator=": ") from None
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
