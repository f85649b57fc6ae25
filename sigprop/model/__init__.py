"""One-layer attention with hand-written NumPy gradients, and its training.

``softmax`` (softmax and the piecewise-linear softmax, with Jacobians), ``attention``
(forward and backward), ``gradcheck`` (finite differences), ``optim`` (Adam, SGD),
``locater`` (the LocAteR penalty), ``measures`` (rank- and entropy-collapse measures),
``train`` (instrumented training) and ``locater_sweep`` (strengths x seeds).
"""
