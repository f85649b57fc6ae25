"""[NNT24]: the spectral gap of softmax attention, rank collapse and the fix.

``spectra`` (random Markov and key-query attention matrices, their outlier and bulk, and
the predictions), ``validity`` (where the predictions hold: measured/predicted over a grid of
``sigma`` and ``T`` with seeds and intervals) and ``collapse`` (rank collapse in width and
depth, with the gap kept, removed, or removed and rescaled): sigprop's own set-up.  The
paper's own protocol: ``protocol`` (isometric inputs, its configurations, forward and
hand-written backward), ``stable_rank`` (stable rank and gradient norms through depth, the
width rule) and ``trainability`` (Adam on entrywise targets, with and without the fix).
"""
