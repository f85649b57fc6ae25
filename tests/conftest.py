"""Shared test settings.

Hypothesis runs derandomized (the same examples every run) and without a
per-example deadline: the suite checks correctness, never speed.  The command line's progress
lines (off a terminal, after 30 s) are off (``SIGPROP_PROGRESS=off``), so that a command slowed by
a loaded machine writes to standard error only what it writes on a quiet one; the tests of
progress set the variable themselves.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("sigprop", derandomize=True, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("sigprop")


@pytest.fixture(scope="session", autouse=True)
def _cache_home(tmp_path_factory):
    """The user cache (``sigprop claims`` stores its rows there) in a temporary folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    mp.setenv("SIGPROP_PROGRESS", "off")
    yield
    mp.undo()


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
