"""Signal propagation through a deep transformer at initialisation (``docs/stack.md``).

* :class:`~sigprop.stack.config.StackConfig`: the blocks (Post-LN or Pre-LN, softmax attention,
  value and output maps, skip strengths, an optional ReLU or GELU MLP) and their Gaussian weights;
* :func:`~sigprop.stack.recursion.predict`: the layer-to-layer recursion (Giorlandino & Goldt's,
  ``recursion="gg"``, or with attention overlaps exact in ``T``, ``recursion="sigprop"``, or the
  tokens' whole ``T x T`` Gram matrix, ``recursion="positional"``: causal masks, [BHK24]'s query-key
  spectrum and ``rho`` per layer, :mod:`sigprop.stack.positional`);
* :func:`~sigprop.stack.simulation.simulate`: the same stacks drawn in NumPy and measured, with
  intervals over seeds; both return the same :class:`~sigprop.core.labelled.Result` type;
* :mod:`sigprop.stack.nnt`, :mod:`sigprop.stack.small_variance`, :mod:`sigprop.stack.text`: [NNT24]'s
  stacks, the small-variance question and real text as input (``docs/stack.md``).
"""
from __future__ import annotations

from sigprop.stack.config import GG_BETAS, GG_CONFIG, StackConfig, as_config
from sigprop.stack.phase import phase_diagram
from sigprop.stack.recursion import predict
from sigprop.stack.simulation import simulate
from sigprop.stack.softmax import beta_critical, overlaps, rem_overlaps

__all__ = ["GG_BETAS", "GG_CONFIG", "StackConfig", "as_config", "beta_critical", "overlaps",
           "phase_diagram", "predict", "rem_overlaps", "simulate"]
