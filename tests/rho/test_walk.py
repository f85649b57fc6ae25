"""The random-walk model: covariance, seeding, batching, input checks."""
import numpy as np
import pytest

from sigprop.rho import walk
from tests.helpers import bonferroni_z


def test_position_covariance_is_min_over_T():
    K = walk.position_covariance(4)
    assert np.allclose(K, np.array([[1, 1, 1, 1], [1, 2, 2, 2], [1, 2, 3, 3], [1, 2, 3, 4]]) / 4)


def test_sampled_covariance_matches_model():
    # Cov(x_i[a], x_j[b]) = min(i, j)/T * Sigma[a, b].  The standard error of a
    # sample covariance of Gaussians is sqrt((C_ii C_jj + C_ij^2) / n); all
    # (T d)^2 entries are tested together at family-wise false-alarm rate 1e-3.
    T, d, n = 5, 2, 40_000
    sigma = np.array([[1.0, 0.6], [0.6, 2.0]])
    x = np.concatenate(list(walk.sample(n, T, d, step_cov=sigma, seed=1))).reshape(n, T * d)
    emp = np.cov(x, rowvar=False)
    theo = np.kron(walk.position_covariance(T), sigma)
    se = np.sqrt((np.outer(np.diag(theo), np.diag(theo)) + theo ** 2) / n)
    z = bonferroni_z(1e-3, theo.size)
    assert np.all(np.abs(emp - theo) <= z * se)
    assert np.allclose(x.mean(axis=0), 0, atol=z * np.sqrt(np.diag(theo) / n).max())


def test_last_token_is_standard_normal_by_default():
    x = np.concatenate(list(walk.sample(20_000, 16, 3, seed=2)))[:, -1]
    # Var(x_T) = 1; sample variance se = sqrt(2/n); 3 entries at rate 1e-3
    assert np.all(np.abs(x.var(axis=0) - 1) <= bonferroni_z(1e-3, 3) * np.sqrt(2 / 20_000))


def test_same_seed_same_numbers_whatever_the_batch_size():
    a = np.concatenate(list(walk.sample(50, 6, 3, seed=7, batch_size=7)))
    b = np.concatenate(list(walk.sample(50, 6, 3, seed=7, batch_size=50)))
    c = np.concatenate(list(walk.sample(50, 6, 3, seed=8, batch_size=50)))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_batches_bound_memory():
    sizes = walk.batch_sizes(10**6, 128 * 64)
    assert not isinstance(sizes, list)               # a generator: no list of every batch
    sizes = list(sizes)
    assert sum(sizes) == 10**6
    assert max(sizes) * 128 * 64 <= walk.BATCH_ELEMENTS
    # float32 batches hold the same bytes: twice the numbers
    assert next(walk.batch_sizes(10**6, 128 * 64, itemsize=4)) == 2 * max(sizes)


def test_the_batch_schedule_of_a_huge_run_is_not_held_in_memory():
    import tracemalloc
    tracemalloc.start()
    sizes = walk.batch_sizes(10**15, 128 * 64)
    first = next(sizes)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert first * 128 * 64 <= walk.BATCH_ELEMENTS and peak < 100_000


@pytest.mark.parametrize("step_cov, message", [
    (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
    (np.array([[1.0, 0.0], [0.0, -1.0]]), "positive semi-definite"),
    (np.ones(3), "length d"),
    (-1.0, ">= 0"),
])
def test_bad_step_covariance_is_refused(step_cov, message):
    with pytest.raises(ValueError, match=message):
        walk.step_covariance(step_cov, 2)


@pytest.mark.parametrize("kwargs, name", [(dict(samples=0, T=4, d=2), "samples"),
                                          (dict(samples=5, T=1, d=2), "T"),
                                          (dict(samples=5, T=4, d=0), "d")])
def test_bad_sizes_are_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        next(walk.sample(**kwargs))


def test_a_float32_stream_starts_anywhere_a_float64_one_only_at_0():
    whole = np.concatenate(list(walk.standard_steps(10, 3, 5, seed=4, dtype=np.float32)))
    later = np.concatenate(list(walk.standard_steps(7, 3, 5, seed=4, dtype=np.float32, start=3)))
    assert np.array_equal(whole[3:], later)                  # 3 * 15 numbers skipped: inside a pair
    with pytest.raises(ValueError, match="^start needs dtype float32"):
        walk.standard_steps(7, 3, 5, seed=4, start=3)
