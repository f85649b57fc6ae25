"""Helpers shared by the tests (imported, unlike fixtures in ``conftest``)."""
from scipy.special import ndtri


def bonferroni_z(family_alpha: float, comparisons: int) -> float:
    """Two-sided normal quantile so that ``comparisons`` tests together have
    probability at most ``family_alpha`` of any false alarm (union bound)."""
    return float(ndtri(1 - family_alpha / (2 * comparisons)))
