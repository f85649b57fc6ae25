"""Shared test settings.

Hypothesis runs derandomized (the same examples every run) and without a
per-example deadline: the suite checks correctness, never speed.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from scipy.special import ndtri

settings.register_profile("sigprop", derandomize=True, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("sigprop")


def bonferroni_z(family_alpha: float, comparisons: int) -> float:
    """Two-sided normal quantile so that ``comparisons`` tests together have
    probability at most ``family_alpha`` of any false alarm (union bound)."""
    return float(ndtri(1 - family_alpha / (2 * comparisons)))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
