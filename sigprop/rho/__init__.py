"""[BHK24]: the signal propagation probability ``rho_i`` and localization.

Each closed form sits beside its simulation: ``walk`` (the random-walk data model),
``spectrum`` (eigenvalue statistics, weights with a given spectrum), ``propagation``
(the Gaussian closed form), ``exact`` (the chi-square decomposition), ``theory`` (either
method behind one signature), ``montecarlo`` (the same signature, simulated),
``localization`` (metrics of a profile) and ``gaussian_error`` (the study of the Gaussian
approximation's error).
"""
