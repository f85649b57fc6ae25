"""Largest error of the Gaussian approximation of rho against d and v (exact and Monte Carlo)."""
from __future__ import annotations

from sigprop.plotting import figure_paths
from sigprop.rho import gaussian_error as accuracy
from sigprop.rho.gaussian_error import gaussian_error_figure


def make(out, quick: bool = False):
    if quick:
        res = accuracy.study((2, 8, 32), (0.1, 1.0), samples=4000)
    else:
        res = accuracy.study()
    files = figure_paths(out, "gaussian_error")
    gaussian_error_figure(res, files)
    return files


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
