"""Real pretrained attention: per-head query-key matrices of checkpoints (``heads``) and
real text through a BERT-style encoder (``realtext``)."""
