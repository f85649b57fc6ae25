"""A model's layers measured on real text beside the engine's one-layer predictions (``docs/stack.md``).

One comparison serves every model whose blocks the engine describes (MiniLM,
:mod:`sigprop.stack.minilm`; the language models sigprop trains, :mod:`sigprop.stack.lm_layers`).
Per layer ``l = 1..L``, from ``n`` windows of ``T`` tokens:

* measured: ``cosine`` (the mean cosine between the layer's output tokens), ``stable_rank`` ([NNT24]'s
  stable rank of those tokens, :func:`sigprop.gap.stable_rank.stable_rank`) and ``attention_entropy``
  (nats, averaged over heads and query rows), each as the mean over windows and its 95% Student-t
  interval (windows as seeds);
* ``<measure>_predicted``, *teacher-forced*: the positional recursion (:mod:`sigprop.stack.positional`)
  runs one block (``layers=1``) from the layer's measured input Gram ``G_{l-1}`` (the mean over windows of
  ``X X^T / d``) with a Gaussian surrogate of the layer's weights (:func:`second_moments`), so that errors
  do not accumulate over depth;
* ``<measure>_free``, *free-running*: layer 1 starts from the measured input, every later layer from the
  Gram matrix the recursion predicted for the layer before, with each layer's own surrogate, as the
  engine would predict the whole stack;
* ``<measure>_null``, the null model a prediction must beat: the block changes nothing (the output's cosine
  and stable rank are the input's) and attends uniformly to the keys its mask allows (entropy
  ``mean_i log(number of keys of row i)``).

A trained model's weights are not Gaussian: the comparison measures how far the initialisation theory
carries, not a fit.
"""
from __future__ import annotations

import math

import numpy as np

from sigprop.stack.text import input_gram


def second_moments(Wq, Wk, Wv, Wo, W1, W2, biases, n_heads: int) -> dict:
    """The :class:`~sigprop.stack.config.StackConfig` fields that match one block's second moments.

    Matrices in the ``out x in`` convention (``y = W x``).  For tokens of unit second moment per
    coordinate (``E x x^T = I``):

    * ``logit_var``: a head's logit ``(W_Q x_i) . (W_K x_j) / sqrt(d_h)`` has variance
      ``||W_Q,h^T W_K,h||_F^2 / d_h``; its mean over heads is the engine's ``beta^2 log T_init``
      (query and key biases left out);
    * ``var_v``: the value-and-output gain ``||W_O W_V||_F^2 / d`` per coordinate (``var_o`` None);
    * ``var_w``: the MLP's pre-activation variance ``||W_1||_F^2 / d_ff``; the engine's single ``var_w``
      also scales the output map, whose gain ``||W_2||_F^2 / d`` is reported beside it (``mlp_out_gain``)
      and not used;
    * ``var_b``: the mean over ``biases`` (the attention's output bias, ``b_1``, ``b_2``) of their mean square.

    Dropped: the LayerNorms' affine maps, the heads' differing strengths, ``d_ff != d`` (the engine's MLP
    is ``d x d``) and every structure beyond second moments.
    """
    d = Wq.shape[1]
    dh = d // n_heads
    logit_var = float(np.mean([np.sum((Wq[h * dh:(h + 1) * dh].T @ Wk[h * dh:(h + 1) * dh]) ** 2) / dh
                               for h in range(n_heads)]))
    return dict(logit_var=logit_var, var_v=float(np.sum((Wo @ Wv) ** 2) / d),
                var_w=float(np.sum(W1 ** 2) / W1.shape[0]), mlp_out_gain=float(np.sum(W2 ** 2) / d),
                var_b=float(np.mean([np.mean(np.asarray(b, dtype=float) ** 2) for b in biases])))


def interval(values) -> list[float]:
    """``[mean, low, high]``: the mean of ``values`` and its 95% Student-t interval."""
    from sigprop.core.stats import t_interval
    mean, low, high = t_interval(np.asarray(values, dtype=float), 0.95)
    return [float(mean), float(low), float(high)]


def mean_cosines(x: np.ndarray) -> np.ndarray:
    """Per window, the mean cosine between distinct tokens of ``(n, T, d)`` tokens."""
    T = x.shape[-2]
    unit = x / np.linalg.norm(x, axis=-1, keepdims=True)
    gram = unit @ np.swapaxes(unit, -1, -2)
    return (gram.sum(axis=(-1, -2)) - np.trace(gram, axis1=-2, axis2=-1)) / (T * (T - 1))


def row_entropy(A: np.ndarray) -> np.ndarray:
    """Per window, the entropy in nats of attention rows ``A`` (``(n, ..., T, T)``), averaged over the rest."""
    ent = -np.sum(A * np.log(np.where(A > 0, A, 1.0)), axis=-1)
    return ent.reshape(ent.shape[0], -1).mean(axis=-1)


def compare_layers(inputs, outputs, entropy, fits, *, norm: str, activation: str, causal: bool,
                   samples: int) -> list[dict]:
    """One row per layer: measured, teacher-forced, free-running and null (module doc).

    Parameters
    ----------
    inputs, outputs : list of numpy.ndarray
        Per layer, the ``(n, T, d)`` tokens the block takes (its input Gram feeds the prediction) and the
        tokens it gives (where they are measured).
    entropy : numpy.ndarray
        ``(n, L)``: per window and layer, the attention's mean row entropy (nats).
    fits : list of dict
        Per layer, :func:`second_moments` of the block's weights.
    norm, activation, causal, samples
        The blocks' :class:`~sigprop.stack.config.StackConfig` fields.
    """
    from sigprop.gap.stable_rank import stable_rank
    from sigprop.stack import positional
    from sigprop.stack.config import StackConfig
    from sigprop.stack.positional import mean_cosine
    from sigprop.stack.recursion import predict

    n, T, d = outputs[0].shape
    keys = np.arange(1, T + 1) if causal else np.full(T, T)
    uniform_entropy = float(np.mean(np.log(keys)))
    rows = []
    free_gram = None
    for layer, (x_in, out, fit) in enumerate(zip(inputs, outputs, fits), start=1):
        G = input_gram(x_in)
        config = StackConfig(layers=1, T=T, d=d, norm=norm, activation=activation, T_init=T, causal=causal,
                             beta=math.sqrt(fit["logit_var"] / math.log(T)), var_v=fit["var_v"],
                             var_w=fit["var_w"], var_b=fit["var_b"], alpha_attention=1.0, alpha_mlp=1.0,
                             recursion="positional", samples=samples)
        th = predict(config, input_gram=G)["layers"][1]
        free = positional.run(config, input_gram=G if free_gram is None else free_gram)
        free_gram = free["gram"][1]
        rows.append(dict(layer=layer, input_cosine=mean_cosine(G), surrogate=fit, beta=config.beta,
                         cosine=interval(mean_cosines(out)), cosine_predicted=th["cosine"],
                         stable_rank=interval(stable_rank(out)), stable_rank_predicted=th["stable_rank_d"],
                         attention_entropy=interval(entropy[:, layer - 1]),
                         attention_entropy_predicted=th["attention_entropy"],
                         cosine_free=free["rows"][1]["cosine"], stable_rank_free=free["rows"][1]["stable_rank_d"],
                         attention_entropy_free=free["rows"][1]["attention_entropy"],
                         cosine_null=float(np.mean(mean_cosines(x_in))),
                         stable_rank_null=float(np.mean(stable_rank(x_in))),
                         attention_entropy_null=uniform_entropy))
    return rows
