"""What real text does in a real BERT-style model, head by head.

The encoder of a BERT-style checkpoint (embeddings, LayerNorm, self-attention,
feed-forward with exact GELU) runs in NumPy on real English text tokenized with
the checkpoint's own ``tokenizer.json``.  For every head of every layer it
measures, averaged over the texts and the query positions:

* ``attention_entropy``: entropy of the attention row divided by ``log T``;
* ``linear_share``: share of keys whose centered logit ``zc = z - mean(z)`` lies in
  ``(0, 1)``, i.e. in the linear regime of the piecewise-linear softmax (the
  empirical counterpart of ``rho``);
* ``max_attention``: the largest weight of the row,

beside the eigenvalue statistics of the head's query-key matrix
(:mod:`sigprop.heads`).  Across heads it reports Spearman's rank correlation of
``eig_var`` with each measure (and, as a control, of the Frobenius norm of ``W``), with a 95%
interval from Fisher's transform with
the Fieller-Hartley-Pearson standard error ``1.06 / sqrt(n - 3)``.

The text is Python's own documentation: the docstrings of a fixed list of
standard-library modules (:data:`MODULES`), real English prose available offline
on every machine that runs sigprop; the Python version is recorded.
"""
from __future__ import annotations

import importlib
import inspect
import platform
import re
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import erf
from scipy.stats import spearmanr

from sigprop.checkpoints.heads import config_entry, config_int, describe, head_matrices, layer_norm_eps, load
from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.core.progress import progress_bar
from sigprop.core.results import RECORD_BYTES, not_a_file, read_text
from sigprop.model.measures import attention_entropy, max_attention
from sigprop.model.softmax import linear_regime, softmax
from sigprop.rho.spectrum import eig_mean, eig_spread, eig_var

MODULES = ("argparse", "bisect", "calendar", "collections", "contextlib", "csv", "dataclasses",
           "datetime", "decimal", "difflib", "doctest", "email", "fractions", "functools", "heapq",
           "inspect", "json", "logging", "operator", "pathlib", "pickle", "pprint", "random", "shutil",
           "statistics", "string", "subprocess", "tarfile", "textwrap", "threading", "typing",
           "unittest", "zipfile")


def texts(min_words: int = 40) -> list[tuple[str, str]]:
    """``(module, docstring)`` for the modules of :data:`MODULES` with enough prose."""
    out = []
    for name in MODULES:
        try:
            doc = inspect.getdoc(importlib.import_module(name)) or ""
        except ImportError:
            continue
        if len(doc.split()) >= min_words:
            out.append((name, doc))
    return out


def _layer_norm(x, weight, bias, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * weight + bias


def _gelu(x):
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


class Weights(dict):
    """Encoder tensors by their name without a model prefix (``bert.`` ...), converted to
    float64 once; the word embeddings stay as stored and only the rows in use are converted."""

    def __init__(self, tensors: dict):
        super().__init__()
        for key, value in tensors.items():
            match = re.search(r"(?:^|\.)((?:embeddings|encoder)\..*)$", key)
            if match:
                name = match.group(1)
                self[name] = value if name == _WORDS else value.astype(np.float64)

    def __missing__(self, name):
        raise ArgumentError("checkpoint", f"no tensor named ...{name} (needed to run the BERT encoder)", separator=": ")


_WORDS = "embeddings.word_embeddings.weight"


def encoder_attention(tensors: dict, cfg: dict, ids: np.ndarray):
    """Run the encoder on one sequence; yield ``(layer, logits, attention)`` per layer.

    ``tensors`` may be the checkpoint's tensors or a prepared :class:`Weights`.
    ``logits`` and ``attention`` have shape ``(heads, T, T)`` (query rows).
    """
    for layer, logits, A, _ in encoder_states(tensors, cfg, ids):
        yield layer, logits, A


def embed(tensors: dict, cfg: dict, ids: np.ndarray) -> np.ndarray:
    """The encoder's input ``T x d``: word + position + token-type embeddings, then LayerNorm."""
    w = tensors if isinstance(tensors, Weights) else Weights(tensors)
    check_token_ids(int(np.max(ids, initial=0)), w[_WORDS].shape[0])
    x = (w[_WORDS][ids].astype(np.float64) + w["embeddings.position_embeddings.weight"][:ids.size]
         + w["embeddings.token_type_embeddings.weight"][0])
    return _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"],
                       layer_norm_eps(cfg))


def check_token_ids(largest: int, rows: int, tok_path=None) -> None:
    """Refuse (one line naming ``tokenizer``) a tokenizer whose ids reach ``largest`` where the checkpoint
    embeds ``rows`` tokens (a tokenizer.json of another model)."""
    if largest >= rows:
        where = f"{tok_path}: " if tok_path is not None else ""
        raise ArgumentError("tokenizer", f"{where}gives token id {largest}, beyond the checkpoint's {rows} word "
                                         "embeddings (the tokenizer of another model?)", separator=": ")


def encoder_states(tensors: dict, cfg: dict, ids: np.ndarray, *, remove_outlier: bool = False,
                   causal: bool = False):
    """Run the encoder; yield ``(layer, logits, attention, hidden)`` per layer.

    ``hidden`` (``T x d``) is the layer's output.  ``remove_outlier=True`` mixes the values with
    ``A - U`` instead of ``A`` in every attention layer (``U`` the uniform attention over the
    visible keys, ``1 1^T / T`` without a mask): the fix of [NNT24].  ``causal=True`` lets
    query ``q`` see keys ``i <= q`` only (a decoder's triangular attention).
    """
    w = tensors if isinstance(tensors, Weights) else Weights(tensors)
    eps = layer_norm_eps(cfg)
    n_heads = config_int(cfg, "num_attention_heads", "number of heads")
    T = ids.size
    allowed = np.tril(np.ones((T, T), dtype=bool)) if causal else None
    uniform = (allowed / allowed.sum(axis=1, keepdims=True)) if allowed is not None else np.full((T, T), 1.0 / T)
    x = embed(w, cfg, ids)
    for layer in range(config_int(cfg, "num_hidden_layers", "number of layers")):
        p = f"encoder.layer.{layer}."

        def lin(name, inp, p=p):
            return inp @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q, k, v = (lin(f"attention.self.{n}", x) for n in ("query", "key", "value"))
        dh = q.shape[1] // n_heads
        split = [a.reshape(T, n_heads, dh).transpose(1, 0, 2) for a in (q, k, v)]
        logits = split[0] @ split[1].transpose(0, 2, 1) / np.sqrt(dh)
        A = softmax(logits, allowed)
        mix = A - uniform if remove_outlier else A
        ctx = (mix @ split[2]).transpose(1, 0, 2).reshape(T, -1)
        x = _layer_norm(x + lin("attention.output.dense", ctx), w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"], eps)
        h = _gelu(lin("intermediate.dense", x))
        x = _layer_norm(x + lin("output.dense", h), w[p + "output.LayerNorm.weight"],
                        w[p + "output.LayerNorm.bias"], eps)
        yield layer, logits, A, x


def spearman_ci(x, y, level: float = 0.95) -> dict:
    """Spearman's rho with a Fisher-z interval (standard error ``1.06 / sqrt(n - 3)``)."""
    n = len(x)
    r = float(spearmanr(x, y).statistic)
    if n < 4:
        return dict(rho=r, low=float("nan"), high=float("nan"), n=n)
    from scipy.special import ndtri
    z, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1.06 / np.sqrt(n - 3)
    q = ndtri(0.5 + level / 2)
    return dict(rho=r, low=float(np.tanh(z - q * se)), high=float(np.tanh(z + q * se)), n=n)


def tokenizer_text(path: Path) -> str:
    """The text of the ``tokenizer.json`` at ``path``, read by :func:`sigprop.core.results.read_text` (a
    regular file of at most :data:`~sigprop.core.results.RECORD_BYTES`, UTF-8), or a one-line refusal
    naming ``tokenizer``."""
    if not path.exists():
        raise ArgumentError("tokenizer", f"file not found: {path}", separator=": ")
    return read_text(path, "tokenizer", "a tokenizer.json", limit=RECORD_BYTES,
                     message=lambda reason: f"cannot read {path} as a tokenizer.json ({reason})")


def read_tokenizer(path: Path):
    """The ``tokenizers`` tokenizer of the ``tokenizer.json`` at ``path``; one-line refusals naming
    ``tokenizer`` (missing, unreadable, the ``tokenizers`` package not installed)."""
    text = tokenizer_text(path)
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise _checks.ArgumentError.about("tokenizer", "reading a tokenizer.json needs the 'tokenizers' package: "
                                                       "pip install 'sigprop[heads]'") from None
    try:
        return Tokenizer.from_str(text)
    except Exception as exc:  # noqa: BLE001 - any unreadable tokenizer is one clear error
        raise _checks.ArgumentError("tokenizer", f"cannot read {path} as a tokenizer.json "
                                                 f"({' '.join(str(exc).split())[:80]})", separator=": ") from None


def encode(tok, module: str, text: str, **options) -> Any:
    """``tok.encode(text, **options)``, refused in one line naming ``tokenizer`` when the tokenizer fails on
    the text (e.g. a WordPiece vocabulary without its ``[UNK]`` token) or encodes it to no token."""
    try:
        enc = tok.encode(text, **options)
    except Exception as exc:  # noqa: BLE001 - the tokenizers library raises a bare Exception
        raise _checks.ArgumentError("tokenizer", f"cannot encode the text of {module} "
                                                 f"({' '.join(str(exc).split())[:100]})", separator=": ") from None
    if not enc.ids:
        raise _checks.ArgumentError("tokenizer", f"encodes the text of {module} to no token (an empty "
                                                 "vocabulary?)", separator=": ")
    return enc


def _tokenizer(checkpoint, tok_path: Path):
    """The study's tokenizer at ``tok_path``, read first (a small file, checked before the checkpoint's
    tensors are read), once the checkpoint it defaults beside is known to exist."""
    if not Path(checkpoint).is_file():
        raise ArgumentError("checkpoint", not_a_file(checkpoint))
    return read_tokenizer(tok_path)


def study(checkpoint, config=None, *, tokenizer=None, max_tokens: int = 128, layers=None,
          progress: bool = False) -> dict:
    """Per-head measurements on real text and their rank correlation with ``eig_var``.

    Every text is cut to its first ``max_tokens`` tokens (``2 <= max_tokens <=`` the
    model's ``max_position_embeddings``) and only its real tokens are run: no padding
    (the tokenizer's own padding is switched off and the attention mask applied), so
    that shorter texts are measured on their own tokens.  ``layers`` must exist in the
    model (default: all).
    """
    _checks.integer("max_tokens", max_tokens, 2)      # its upper bound, the model's positions, once it is read
    tok_path = Path(tokenizer) if tokenizer else Path(checkpoint).with_name("tokenizer.json")
    tok = _tokenizer(checkpoint, tok_path)
    tensors, cfg = load(checkpoint, config)
    layout, recs = head_matrices(tensors, cfg)
    if layout != "bert":
        raise ArgumentError.about(
            "checkpoint", f"the real-text study runs BERT-style encoders only, this checkpoint is {layout}")
    n_layers = config_entry(cfg, ("num_hidden_layers",), "number of layers", default=len({r["layer"] for r in recs}))
    positions = Weights(tensors)["embeddings.position_embeddings.weight"].shape[0]
    limit = min(positions, int(cfg.get("max_position_embeddings", positions)))
    max_tokens = _checks.integer("max_tokens", max_tokens, 2, limit)
    if layers is not None:
        layers = [_checks.integer("layers", layer, 0, n_layers - 1) for layer in np.ravel(layers).tolist()]
        if not layers:
            raise _checks.ArgumentError("layers", f"must name at least one layer in [0, {n_layers - 1}]")
    tok.no_padding()
    tok.enable_truncation(max_length=max_tokens)
    check_token_ids(max(tok.get_vocab(with_added_tokens=True).values(), default=0),
                    Weights(tensors)[_WORDS].shape[0], tok_path)      # before the first text
    docs = texts()
    keep = set(range(n_layers) if layers is None else layers)
    n_heads = config_int(cfg, "num_attention_heads", "number of heads")
    sums = {key: np.zeros((n_layers, n_heads)) for key in ("attention_entropy", "linear_share",
                                                           "max_attention")}
    tokens = 0
    weights = Weights(tensors)                  # converted once for all texts
    bar = progress_bar(len(docs), progress, desc="texts", unit="text")
    for module, doc in docs:
        bar.update(1)
        enc = encode(tok, module, doc)
        ids = np.array(enc.ids)[np.array(enc.attention_mask, dtype=bool)]   # real tokens only
        tokens += ids.size
        for layer, logits, A in encoder_attention(weights, cfg, ids):
            if layer not in keep:
                continue
            sums["attention_entropy"][layer] += attention_entropy(A).mean(axis=1)
            sums["linear_share"][layer] += linear_regime(logits).mean(axis=(1, 2))
            sums["max_attention"][layer] += max_attention(A).mean(axis=1)
            if layer == max(keep):
                break
    bar.close()
    rows = []
    for r in recs:
        if r["layer"] not in keep:
            continue
        W = r["W"]
        rows.append(dict(layer=r["layer"], head=r["head"], eig_mean=float(eig_mean(W)),
                         eig_var=float(eig_var(W)), eig_spread=float(eig_spread(W)),
                         frobenius=float(np.linalg.norm(W)),
                         **{k: float(v[r["layer"], r["head"]] / len(docs)) for k, v in sums.items()}))
    ev = [r["eig_var"] for r in rows]
    corr = {k: spearman_ci(ev, [r[k] for r in rows]) for k in sums}
    # control: the overall scale of W, which also sharpens attention
    control = {k: spearman_ci([r["frobenius"] for r in rows], [r[k] for r in rows]) for k in sums}
    return dict(config=dict(checkpoint=describe(checkpoint), tokenizer=describe(tok_path),
                                                  layers=sorted(keep), max_tokens=max_tokens,
                                                  text="docstrings of Python standard-library modules",
                                                  modules=[m for m, _ in docs], tokens=tokens,
                                                  python=platform.python_version()),
                records=rows, correlation_with_eig_var=corr, correlation_with_frobenius=control)
