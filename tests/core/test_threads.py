"""Moments merged across streams, and the BLAS thread limit."""
import numpy as np

from sigprop.core import threads
from sigprop.core.stats import Moments


def test_merged_moments_equal_one_pass():
    x = np.random.default_rng(0).standard_normal((1000, 5)) * 3 + 100
    whole = Moments()
    whole.add(x)
    parts = [Moments() for _ in range(4)]
    for p, chunk in zip(parts, (x[:10], x[10:400], x[400:401], x[401:]), strict=True):
        p.add(chunk)
    empty = Moments()
    parts[0].merge(empty)
    for p in parts[1:]:
        parts[0].merge(p)
    for a, b in zip(whole.result(), parts[0].result(), strict=True):
        assert np.allclose(a, b, rtol=1e-10, atol=1e-12)
    empty.merge(whole)
    assert np.allclose(empty.result()[1], whole.result()[1])


def test_blas_threads_limits_and_restores():
    assert threads.cores() >= 1
    with threads.blas_threads(1):
        a = np.ones((50, 50)) @ np.ones((50, 50))
    assert a[0, 0] == 50
    if threads.available():
        from threadpoolctl import threadpool_info
        before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        with threads.blas_threads(1):
            assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
        assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before
