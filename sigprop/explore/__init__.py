"""The interactive page of ``sigprop explore``: move ``(m, v, d, T)`` and watch the profile.

* :mod:`sigprop.explore.compute` -- what the page shows, as plain NumPy results (no Bokeh):
  the Gaussian closed form (docs/theory.md §3), the exact ``rho`` (chi-square, §3.5), the
  softmax weight (semi-analytic), a Monte Carlo band and the localization metrics (4.1);
* :mod:`sigprop.explore.page` -- the Bokeh document and server (the optional extra
  ``explore``: ``pip install 'sigprop[explore]'``).

A top layer beside the command line (``tests/test_layering.py``): it imports the API,
nothing imports it but :mod:`sigprop.cli`.
"""
