"""Theory equals simulation within sampling error.

Tolerances: each comparison uses the estimate's own standard error (mean, variance)
or Wilson interval (rho), widened by a Bonferroni factor so that the whole family
of comparisons in a test has probability at most 1e-3 of a false alarm.  Seeds are
fixed, so the outcome is the same on every run.
"""
import numpy as np
import pytest
from scipy import integrate
from scipy.special import ndtr

from sigprop.core import stats
from sigprop.rho import montecarlo as M
from sigprop.rho import propagation as P
from sigprop.rho import spectrum
from sigprop.rho.theory import theory, theory_spectrum
from tests.helpers import bonferroni_z


def assert_moments_agree(theory, sim, family_alpha=1e-3):
    z = bonferroni_z(family_alpha, 2 * theory.mean.size)
    assert np.all(np.abs(sim.mean - theory.mean) <= z * sim.mean_se)
    assert np.all(np.abs(sim.variance - theory.variance) <= z * sim.variance_se)


def test_general_W_sigma_and_scale():
    rng = np.random.default_rng(0)
    d, T = 5, 7
    W = rng.standard_normal((d, d))                     # non-symmetric
    B = rng.standard_normal((d, d))
    sigma = B @ B.T / d + 0.2 * np.eye(d)
    kwargs = dict(step_cov=sigma, scale=0.4)
    assert_moments_agree(theory(W, T, **kwargs), M.simulate(W, T, samples=200_000, seed=1, **kwargs))


def test_eigenspectrum_form_at_d64_T128():
    W = spectrum.make_weights(0.5, 0.1, 64, seed=2)
    assert_moments_agree(theory_spectrum(0.5, 0.1, 64, 128),
                         M.simulate(W, 128, samples=20_000, seed=3))


def test_float32_simulation_agrees_with_theory():
    # float32 draws its normals by Box-Muller (sigprop.core.normal): same law, so the same
    # Bonferroni bounds as float64 hold for the moments and Wilson intervals for rho (exact rho)
    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    T = 16
    sim = M.simulate(W, T, samples=100_000, seed=13, dtype=np.float32, confidence=1 - 1e-3 / T)
    assert sim.config["dtype"] == "float32"
    assert_moments_agree(theory(W, T), sim)
    exact = theory(W, T, method="exact").rho
    assert np.all((sim.ci_low <= exact) & (exact <= sim.ci_high))


def test_a_wrong_theory_is_rejected():
    # the same check must fail for a slightly wrong variance (power of the test)
    W = spectrum.make_weights(0.5, 0.1, 8, seed=2)
    expected = theory(W, 16)
    wrong = P.Profile(expected.positions, expected.mean, 1.05 * expected.variance, expected.rho)
    with pytest.raises(AssertionError):
        assert_moments_agree(wrong, M.simulate(W, 16, samples=200_000, seed=4))


def exact_rho_d1(w, T, c, sigma2):
    """Exact rho_i for d = 1 by conditioning on x_T (independent of sigprop's formulas
    but for alpha, beta): given x_T = x, u_i = x_i - xbar is Gaussian with mean
    beta x and variance (alpha - beta^2) sigma2, so zc_i = c w u_i x is Gaussian."""
    alpha, beta = P.coefficients(T)
    out = []
    for a, b in zip(alpha, beta, strict=True):
        def f(t, a=a, b=b):
            x = np.sqrt(sigma2) * t
            mu, sd = c * w * b * x * x, abs(c * w * x) * np.sqrt((a - b * b) * sigma2)
            return np.exp(-t * t / 2) / np.sqrt(2 * np.pi) * (ndtr((1 - mu) / sd) - ndtr(-mu / sd))
        out.append(2 * integrate.quad(f, 0, np.inf, epsabs=1e-12, epsrel=1e-10)[0])
    return np.array(out)


def test_rho_estimate_covers_the_exact_value_at_d1():
    # every position at once: Wilson intervals at level 1 - 1e-3/T (union bound)
    T = 8
    W = np.array([[2.0]])
    exact = exact_rho_d1(2.0, T, c=0.7, sigma2=1.5)
    sim = M.simulate(W, T, step_cov=1.5, scale=0.7, samples=200_000, seed=5, confidence=1 - 1e-3 / T)
    assert np.all((sim.ci_low <= exact) & (exact <= sim.ci_high))
    # ...while the Gaussian approximation, exact in mean and variance, is not a
    # distribution this skewed product follows: it falls outside every interval.
    gauss = theory(W, T, step_cov=1.5, scale=0.7, method="gaussian").rho
    assert np.all((gauss < sim.ci_low) | (gauss > sim.ci_high))


def test_gaussian_approximation_improves_with_dimension():
    # largest |rho_gauss - rho_mc| over positions, at d = 2 and d = 128 (m = 0.5, v = 0.1)
    errors = []
    for d in (2, 128):
        W = spectrum.make_weights(0.5, 0.1, d, seed=6)
        sim = M.simulate(W, 32, samples=20_000, seed=7)
        errors.append(np.abs(theory(W, 32, method="gaussian").rho - sim.rho).max())
    # Wilson half-widths at n = 20000 are below 0.007: the drop is far beyond noise
    assert errors[1] < errors[0] - 0.05


def test_same_seed_same_numbers():
    W = spectrum.make_weights(0.3, 0.2, 6, seed=1)
    a = M.simulate(W, 10, samples=3000, seed=9, batch_size=100)
    b = M.simulate(W, 10, samples=3000, seed=9, batch_size=1000)
    c = M.simulate(W, 10, samples=3000, seed=10, batch_size=100)
    assert np.array_equal(a.rho, b.rho)
    assert np.allclose(a.mean, b.mean, rtol=1e-12) and np.allclose(a.variance, b.variance, rtol=1e-10)
    assert not np.array_equal(a.rho, c.rho)


def test_shapes_match_the_closed_form():
    W = spectrum.make_weights(0.3, 0.2, 6, seed=1)
    sim, th = M.simulate(W, 10, samples=100, seed=0), theory(W, 10)
    for name in ("positions", "mean", "variance", "rho"):
        assert getattr(sim, name).shape == getattr(th, name).shape
    assert sim.ci_low.shape == sim.ci_high.shape == (10,)


@pytest.mark.parametrize("kwargs, message", [(dict(samples=1), "samples"), (dict(samples=0), "samples"),
                                             (dict(confidence=1.0), "confidence")])
def test_bad_simulation_requests_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        M.simulate(np.eye(2), 4, **kwargs)


def test_wilson_interval_known_values():
    low, high = stats.wilson_interval(0, 10, 0.95)
    assert low == 0 and np.isclose(high, 0.27753, atol=1e-5)
    low, high = stats.wilson_interval(5, 10, 0.95)
    assert np.isclose(low, 0.23659, atol=1e-5) and np.isclose(high, 0.76341, atol=1e-5)


def test_streaming_moments_equal_numpy():
    x = np.random.default_rng(0).standard_normal((1000, 4)) * 3 + 1e6
    acc = stats.Moments()
    for part in np.array_split(x, 7):
        acc.add(part)
    mean, var, mean_se, var_se = acc.result()
    assert np.allclose(mean, x.mean(0), rtol=1e-14) and np.allclose(var, x.var(0, ddof=1), rtol=1e-9)
    assert np.allclose(mean_se, np.sqrt(var / 1000))
    assert np.allclose(var_se, np.sqrt(2 / 1000) * 9, rtol=0.2)   # Gaussian: sqrt(2/n) sigma^2


def test_one_stream_gives_the_single_stream_numbers():
    # streams=1 is the simulation before streams: default_rng(seed) drawn in order, batch by batch
    from sigprop.core.stats import Moments
    from sigprop.rho import walk

    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    sim = M.simulate(W, 8, samples=3000, seed=7, batch_size=700, streams=1, threads=2)
    inside, moments = np.zeros(8, dtype=np.int64), Moments()
    for steps in walk.standard_steps(3000, 8, 4, seed=7, batch_size=700):
        zc = M.centered_logits(steps, W, 0.5)
        inside += np.count_nonzero((zc > 0) & (zc < 1), axis=0)
        moments.add(zc)
    assert np.array_equal(sim.rho, inside / 3000)
    assert np.array_equal(sim.mean, moments.result()[0]) and sim.config["streams"] == 1


def test_threaded_simulation_depends_only_on_seed_and_streams():
    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    runs = [M.simulate(W, 8, samples=3001, seed=7, streams=3, threads=t, batch_size=b, processes=p)
            for t, b, p in ((1, 250, None), (2, 250, None), (3, 250, None), (2, 1000, None),
                            (2, 250, False), (3, 250, False), (2, 250, True))]
    for run in runs[1:3] + runs[4:]:         # workers, threads or processes, do not matter
        assert np.array_equal(runs[0].rho, run.rho) and np.array_equal(runs[0].mean, run.mean)
        assert np.array_equal(runs[0].variance, run.variance)
        assert np.array_equal(runs[0].variance_se, run.variance_se)
    assert np.array_equal(runs[0].rho, runs[3].rho)                 # batches do not matter
    assert np.allclose(runs[0].mean, runs[3].mean, rtol=1e-12, atol=1e-14)
    seq = np.random.SeedSequence(7)
    assert np.array_equal(M.simulate(W, 8, samples=3001, seed=seq, streams=3).rho,
                          M.simulate(W, 8, samples=3001, seed=seq, streams=3).rho)   # seed not consumed
    other = M.simulate(W, 8, samples=3001, seed=7, streams=2)
    assert not np.array_equal(other.rho, runs[0].rho) and other.config["streams"] == 2
    assert "threads" not in other.config                            # not part of what fixes the numbers


def test_default_streams_are_fixed_whatever_the_cores():
    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    default = M.simulate(W, 8, samples=2000, seed=3)
    assert default.config["streams"] == M.STREAMS == 8
    for t in (1, 3):
        same = M.simulate(W, 8, samples=2000, seed=3, threads=t, streams=8)
        assert np.array_equal(default.rho, same.rho) and np.array_equal(default.mean, same.mean)


def test_a_sample_does_not_depend_on_its_neighbours():
    # logits computed one piece of samples at a time (worker processes) or a whole batch at a
    # time (threads) are the same bits: products are taken sample by sample (BLAS would round
    # a row of a matrix product by the number of rows)
    from sigprop.rho import walk
    for dtype in (np.float64, np.float32):
        W = spectrum.make_weights(0.5, 0.1, 64, seed=0).astype(dtype)
        L = np.linalg.cholesky(np.eye(64) + 0.1).astype(dtype)
        for factor in (None, L):
            whole = next(walk.standard_steps(300, 32, 64, seed=1, dtype=dtype))
            pieces = np.concatenate([M.centered_logits(whole[a:a + b], W, 0.7, factor)
                                     for a, b in ((0, 8), (8, 1), (9, 100), (109, 191))])
            assert np.array_equal(M.centered_logits(whole, W, 0.7, factor), pieces)


def test_processes_are_refused_where_fork_is_missing(monkeypatch):
    from sigprop.core import workers
    monkeypatch.setattr(workers, "forking", lambda: False)
    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    with pytest.raises(ValueError, match="^processes worker processes need os.fork"):
        M.simulate(W, 8, samples=100, seed=1, threads=2, processes=True)
    default = M.simulate(W, 8, samples=100, seed=1, threads=2)       # threads instead
    assert np.array_equal(default.rho, M.simulate(W, 8, samples=100, seed=1, threads=1).rho)


def test_an_error_in_a_worker_process_reaches_the_caller(monkeypatch):
    def overflow(*args):
        raise FloatingPointError("overflow encountered in matmul")
    monkeypatch.setattr(M, "centered_logits", overflow)        # the forked workers inherit it
    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    with pytest.raises(FloatingPointError, match="overflow encountered in matmul"):
        M.simulate(W, 8, samples=100, seed=1, threads=2, processes=True)


def test_ctrl_c_stops_every_worker_thread(monkeypatch):
    """Ctrl-C (``interrupt_main``) while two threads simulate: KeyboardInterrupt in the caller,
    and the workers stop at their next batch: far fewer batches than the run holds are drawn."""
    import _thread
    import signal
    import threading

    from sigprop.rho import walk
    # interrupt_main acts as SIGINT does: a suite started with SIGINT ignored (nohup, a background
    # job) would not see it, so the test restores Python's handler for its own duration
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    drawn, real, lock = [], walk.standard_steps, threading.Lock()

    def counting(*args, **kwargs):
        for steps in real(*args, **kwargs):
            with lock:
                drawn.append(1)
                if len(drawn) == 40:             # once both workers run
                    _thread.interrupt_main()
            yield steps
    monkeypatch.setattr(walk, "standard_steps", counting)
    before = set(threading.enumerate())
    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    try:
        with pytest.raises(KeyboardInterrupt):
            M.simulate(W, 8, samples=10**6, seed=1, batch_size=100, threads=2,   # 10^4 batches: fails, not hangs
                       processes=False)
    finally:
        signal.signal(signal.SIGINT, previous)
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()
            and t.name.startswith("sigprop-worker")]
    assert len(drawn) < 5000 and not left, left                # stopped well before the end, workers ended


def test_threaded_simulation_is_unbiased():
    # independent streams: same law as one stream (moments within Bonferroni bounds)
    W = spectrum.make_weights(0.5, 0.1, 8, seed=2)
    assert_moments_agree(theory(W, 16), M.simulate(W, 16, samples=40_000, seed=8, streams=3, threads=2))


def test_threaded_memory_is_bounded():
    import tracemalloc

    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    peaks = []
    for n in (4000, 64000):
        tracemalloc.start()
        M.simulate(W, 16, samples=n, seed=1, batch_size=500, threads=2, processes=False)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # 16 times the samples: the peak stays a few batches per thread (it varies with how the two
    # threads interleave, by up to 2x), never 16 times larger
    assert peaks[1] < 3 * peaks[0]
    with pytest.raises(ValueError, match="threads"):
        M.simulate(W, 16, samples=10, threads=0)
    with pytest.raises(ValueError, match="streams"):
        M.simulate(W, 16, samples=10, streams=0)


@pytest.mark.parametrize("processes", [False, True])
def test_progress_counts_every_sequence(monkeypatch, processes):
    from sigprop.core import workers
    if processes and not workers.forking():
        pytest.skip("no fork")
    counted = []

    class Bar:
        def update(self, n):
            counted.append(n)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None
    monkeypatch.setattr(M, "progress_bar", lambda total, enabled, **kw: Bar())
    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    M.simulate(W, 8, samples=5001, seed=1, batch_size=300, threads=2, processes=processes)
    assert sum(counted) == 5001


def test_short_runs_use_threads_long_runs_processes(monkeypatch):
    from sigprop.core import workers
    modes = []
    real = workers.run
    monkeypatch.setattr(workers, "run", lambda *a, **kw: modes.append(kw["processes"]) or real(*a, **kw))
    monkeypatch.setattr(workers, "forking", lambda: True)
    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    n = M.PROCESS_MIN_NUMBERS // (8 * 4)
    for samples in (n - 1, n):
        M.simulate(W, 8, samples=samples, seed=1, threads=2, batch_size=n)
    M.simulate(W, 8, samples=n, seed=1, threads=1)
    assert modes == [False, True, False]


@pytest.mark.parametrize("T, d", [(8, 4), (7, 3)])      # T d odd: parts start inside a Box-Muller pair
def test_float32_parts_give_the_counts_of_whole_streams(monkeypatch, T, d):
    # a float32 stream cut into PARTS runs of batches, each reached by a jump of the generator,
    # draws the same numbers as the whole stream: the same counts, moments equal to rounding
    W = spectrum.make_weights(0.5, 0.1, d, seed=2)
    kw = dict(samples=3001, seed=7, dtype=np.float32, batch_size=97)
    parts = [M.simulate(W, T, streams=s, threads=t, processes=p, **kw)
             for s, t, p in ((3, 1, None), (3, 2, False), (3, 3, False), (3, 2, True), (1, 1, None))]
    for run in parts[1:4]:                                    # and the workers do not matter
        assert np.array_equal(parts[0].rho, run.rho) and np.array_equal(parts[0].mean, run.mean)
        assert np.array_equal(parts[0].variance_se, run.variance_se)
    monkeypatch.setattr(M, "PARTS", 1)
    for cut, whole in zip(parts[::4], (M.simulate(W, T, streams=s, **kw) for s in (3, 1))):
        assert np.array_equal(cut.rho, whole.rho)
        np.testing.assert_allclose(cut.mean, whole.mean, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(cut.variance, whole.variance, rtol=1e-12)


def test_a_generator_seed_is_not_cut():
    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    a = M.simulate(W, 8, samples=1000, seed=np.random.default_rng(3), streams=1, dtype=np.float32,
                   batch_size=50)
    b = M.simulate(W, 8, samples=1000, seed=3, streams=1, dtype=np.float32, batch_size=50)
    assert np.array_equal(a.rho, b.rho)        # the generator drawn in order: the seed's numbers


def test_a_bit_generator_seed_is_its_generator_drawn_in_order():
    W = spectrum.make_weights(0.5, 0.1, 4, seed=2)
    kw = dict(samples=1000, streams=1, dtype=np.float32, batch_size=50)
    by_int = M.simulate(W, 8, seed=11, **kw)
    for seed in (np.random.PCG64(11), np.random.default_rng(11)):
        same = M.simulate(W, 8, seed=seed, **kw)
        assert np.array_equal(same.rho, by_int.rho)
    M.simulate(W, 8, seed=np.random.MT19937(11), **kw)           # no jump needed, none tried
    spawned = M.simulate(W, 8, samples=1000, seed=np.random.PCG64(11), streams=3)
    assert spawned.config["streams"] == 3
    with pytest.raises(ValueError, match="^processes must be True, False or None, got 'no'$"):
        M.simulate(W, 8, samples=100, processes="no")


def test_streams_of_one_sample_merge_at_any_scale():
    # a one-sample stream has no spread; merging it with the others' sums must not overflow
    # (it did: its unit 1 against theirs of 1e-90) and the moments scale exactly with W
    W = np.eye(2)
    for n in (9, 9000):
        tiny = M.simulate(W * 1e-90, 4, samples=n, streams=8, seed=1)
        unit = M.simulate(W, 4, samples=n, streams=8, seed=1)
        np.testing.assert_allclose(tiny.variance, 1e-180 * unit.variance, rtol=1e-12)
        np.testing.assert_allclose(tiny.variance_se, 1e-180 * unit.variance_se, rtol=1e-12)


def test_streams_bounded_by_samples_and_maximum():
    """1 <= streams <= min(samples, MAX_STREAMS): refused before spawning, naming streams; the
    default min(8, samples) keeps every stream non-empty and gives the numbers of 8 streams."""
    W = np.eye(2)
    for streams in (10**8, M.MAX_STREAMS + 1, 101, 0):
        with pytest.raises(ValueError, match="streams") as exc:
            M.simulate(W, 4, samples=100 if streams != M.MAX_STREAMS + 1 else 10**6, streams=streams, seed=0)
        assert exc.value.argument == "streams"
    default = M.simulate(W, 4, samples=5, seed=3)
    assert default.config["streams"] == 5
    np.testing.assert_array_equal(default.mean, M.simulate(W, 4, samples=5, streams=5, seed=3).mean)
    assert M.simulate(W, 4, samples=100, streams=100, seed=0).config["streams"] == 100
