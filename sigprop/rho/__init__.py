"""[BHK24]: the signal propagation probability ``rho_i`` and localization.

Each closed form sits beside its simulation: ``walk`` (the random-walk data model),
``spectrum`` (eigenvalue statistics, weights with a given spectrum), ``logits`` (the
validated model value ``LogitModel``: ``W, T, Sigma, scale`` and what every method derives
from them), ``propagation`` (the Gaussian closed form), ``chi2sum`` (the distribution
function of a weighted chi-square sum, with an error bound that holds), ``exact`` (the
chi-square decomposition), ``theory`` (either method behind one signature), ``montecarlo``
(the same signature, simulated), ``validation`` (``validate``: the closed forms beside a
simulation of the same model, and its study descriptor; ``prediction``: the descriptor of
``sigprop predict``), ``localization`` (metrics of a profile) and ``gaussian_error`` (the study
of the Gaussian approximation's error).
"""
