"""Size and integer-overflow cases of the second hostile-input campaign (docs/contract.md, "Sizes"): each is
refused in one line naming the argument and its accepted range, before the work.

"Before the work" is measured, never timed: the peak of the memory Python allocates during the call
(``tracemalloc``, which NumPy reports to; the work refused would allocate gigabytes), and where the work
is a loop of small calls, the number of those calls (a counter put in their place).  Time limits of the
cost models (:data:`sigprop.core.memory.MAX_SECONDS`) are exercised by lowering the limit, not by waiting.
"""
import argparse
import os
import tracemalloc

import numpy as np
import pytest

from sigprop import cli
from sigprop.core import memory
from sigprop.core.checks import ArgumentError

#: The most memory a refusal may allocate (imports of the command's modules included; the bound of
#: ``tests.helpers.traced_peak``'s users): the memory-driven cases prevent gigabytes, the time-driven ones
#: are checked by counting the calls of their work.
REFUSAL_BYTES = 64e6
#: More workers than any accepted count on this machine (4 per core, os.cpu_count()).
TOO_MANY = 4 * (os.cpu_count() or 1) + 1


def _peak(call):
    """``(value or exception, peak bytes allocated)`` of ``call()``."""
    tracemalloc.start()
    try:
        try:
            value = call()
        except BaseException as exc:            # noqa: BLE001 - the caller inspects it
            value = exc
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _cli(argv, capsys):
    def run():
        try:
            return cli.main([str(a) for a in argv])
        except SystemExit as exc:               # the parser's own refusals (argument types)
            return exc.code
    code, peak = _peak(run)
    out, err = capsys.readouterr()
    return code, out, err.strip(), peak


def _refused(argv, capsys, flag, *needles):
    code, out, err, peak = _cli(argv, capsys)
    assert code == 2 and not out and len(err.splitlines()) == 1 and f"argument {flag}:" in err, (code, err)
    for needle in needles:
        assert needle in err, err
    assert peak < REFUSAL_BYTES, f"{peak / 1e6:.0f} MB allocated before the refusal"
    return err


def _api_refused(call, argument, *needles, bound=REFUSAL_BYTES):
    exc, peak = _peak(call)
    assert isinstance(exc, ArgumentError), repr(exc)
    assert exc.argument == argument and "\n" not in str(exc), (exc.argument, str(exc))
    for needle in needles:
        assert needle in str(exc), str(exc)
    assert peak < bound, f"{peak / 1e6:.0f} MB allocated before the refusal"
    return str(exc)


# --- 1. integers beyond int64: the parser and checks.integer say the accepted range -----------------

@pytest.mark.parametrize("argv, flag, text", [
    (["predict", "--dim", "99999999999999999999", "--length", "8", "--mean", "0.1", "--var", "0.1"], "--dim",
     "'99999999999999999999'"),
    (["train", "--steps", "1e20", "--dim", "8", "--length", "8", "--batch", "4"], "--steps", "'1e20'"),
    (["lm", "train", "--threads", "1e20", "--steps", "1"], "--threads", "'1e20'"),
    (["train", "--dk", "1e20", "--steps", "1", "--dim", "8", "--length", "8", "--batch", "4"], "--dk", "'1e20'"),
])
def test_an_integer_beyond_int64_is_refused_with_the_accepted_range(argv, flag, text, capsys):
    _refused(argv, capsys, flag, f"must be an integer in [1, 2^63 - 1], got {text}")


def test_an_api_integer_beyond_int64_is_refused_with_its_range():
    import sigprop as sp
    from sigprop.core.checks import integer

    _api_refused(lambda: sp.theory_spectrum(0.1, 0.1, 10 ** 20, 8), "d",
                 "d must be an integer in [1, 2^63 - 1], got 1e+20")
    _api_refused(lambda: integer("T", 1e20, 2), "T", "T must be an integer in [2, 2^63 - 1], got 1e+20")
    assert integer("T", 2 ** 63 - 1, 2) == 2 ** 63 - 1


# --- 2. sizes that allocated first (MemoryError) or aborted -----------------------------------------

@pytest.mark.parametrize("argv, flag, needle", [
    (["train", "--dk", "1e9", "--steps", "5", "--dim", "8", "--length", "8", "--batch", "4", "--probe", "8"],
     "--dk", "8 x 1000000000"),
    (["locater-sweep", "--dk", "1e9", "--steps", "5", "--dim", "8", "--length", "8", "--batch", "4",
      "--lambdas", "0,0.1", "--seeds", "1"], "--dk", "8 x 1000000000"),
    (["nnt", "train", "--lengths", "1e9", "--gammas", "1", "--layers", "2", "--samples", "8", "--steps", "2",
      "--seeds", "1", "--lrs", "0.01"], "--lengths", "TB of memory"),
    (["nnt", "train", "--lengths", "64", "--gammas", "0.000001", "--layers", "2", "--samples", "8", "--steps", "1",
      "--seeds", "1", "--lrs", "0.01"], "--gammas", "64 x 64000000"),
    (["lm", "collapse", "--vocab", "1e9", "--windows", "2", "--layers", "1", "--seeds", "1"], "--vocab",
     "1000000000 x 128 embedding"),
])
def test_sizes_that_allocated_first_are_refused_before_the_work(argv, flag, needle, capsys):
    _refused(argv, capsys, flag, "of memory", needle)


def test_lm_collapse_vocab_is_refused_before_the_tokenizer_is_trained(capsys, never, monkeypatch):
    from sigprop.lm import train

    calls = never(train, "prepare")
    _refused(["lm", "collapse", "--vocab", "1e9", "--windows", "2", "--layers", "1", "--seeds", "1"], capsys,
             "--vocab")
    assert calls == []


# --- 3. sizes refused only after the work, or not at all ------------------------------------------------

def test_predict_dim_1e9_chooses_the_gaussian_method_without_drawing_the_spectrum(capsys, never):
    import json

    from sigprop.rho import auto

    calls = never(auto, "spectrum_features")
    code, out, err, peak = _cli(["predict", "--length", "8", "--mean", "0.1", "--var", "0.1", "--dim", "1e9",
                                 "--format", "json"], capsys)
    assert code == 0 and not err, err
    res = json.loads(out)
    assert res["method"] == "gaussian" and "but the exact method needs about" in res["method_reason"]
    assert calls == [] and peak < REFUSAL_BYTES        # 10^9 eigenvalues would be 8 GB


def test_theory_spectrum_at_a_huge_d_runs_the_gaussian_method_without_the_spectrum(never):
    import sigprop as sp
    from sigprop.rho import auto

    calls = never(auto, "spectrum_features")
    prof, peak = _peak(lambda: sp.theory_spectrum(0.1, 0.1, 10 ** 9, 8))
    assert prof.config["method"] == "gaussian" and calls == [] and peak < REFUSAL_BYTES


def test_the_exact_method_is_refused_before_the_moments(never):
    import sigprop as sp
    from sigprop.rho import walk

    calls = never(walk, "coefficients")                  # the moments' first step, O(T)
    W = np.random.default_rng(0).standard_normal((4, 4)) * 0.3
    _api_refused(lambda: sp.theory(W, 10 ** 8, method="exact"), "T", "of memory", "chi-square weights")
    assert calls == []


@pytest.mark.parametrize("W, T, method", [
    (np.eye(4), 10 ** 7, "exact"),
    (np.eye(4) * 0.1, 10 ** 6, "saddlepoint"),
])
def test_the_chi_square_methods_are_refused_beyond_the_time_budget(W, T, method, never, monkeypatch):
    import sigprop as sp
    from sigprop.rho import walk

    monkeypatch.setattr(memory, "MAX_SECONDS", 60.0)     # 8e7 weights x 1.1e-5 s and 8e6 x 1.8e-5 s both exceed it
    calls = never(walk, "coefficients")
    _api_refused(lambda: sp.theory(W, T, method=method), "T", f"the {method} method on", "s accepted for one call")
    assert calls == []


def test_nnt_train_steps_is_refused_by_the_size_of_its_loss_curves(capsys, never):
    from sigprop.gap import trainability

    calls = never(trainability, "run")
    _refused(["nnt", "train", "--lengths", "8", "--gammas", "1", "--layers", "2", "--samples", "8", "--seeds", "1",
              "--lrs", "0.01", "--steps", "1e9"], capsys, "--steps", "numbers written as a table or JSON")
    assert calls == []


def test_lm_collapse_layers_is_refused_before_any_model_is_drawn(capsys, never):
    from sigprop.lm import train

    calls = never(train, "prepare")
    _refused(["lm", "collapse", "--tokenizer", "bytes", "--windows", "2", "--layers", "1e9", "--seeds", "1"],
             capsys, "--layers", "1000000000 layer(s)")
    assert calls == []


def test_stack_simulate_counts_the_seeds_before_reading_them():
    import sigprop.stack as st

    _api_refused(lambda: st.simulate(layers=3, T=8, d=8, samples=16, seeds=range(10 ** 8)), "seeds",
                 "a batch of 100000000 stacks")


def test_the_phase_diagram_grid_is_bounded_by_its_cost_model(never):
    import sigprop.stack as st
    from sigprop.stack import phase

    calls = never(phase, "predict")
    grid = np.linspace(0.1, 1, 2000)
    _api_refused(lambda: st.phase_diagram(grid, grid, T=8, layers=3), "betas", "2000 x 2000 cells",
                 "s accepted for one call")
    assert calls == []


def test_band_probability_and_coefficients_check_their_arrays(monkeypatch):
    import sigprop as sp

    _api_refused(lambda: sp.coefficients(1e10), "T", "5 float64 arrays of 10000000000 positions")
    mean = np.zeros(10 ** 6)
    monkeypatch.setenv(memory.LIMIT_VARIABLE, "5e7")     # 10 arrays of 10^6 float64 numbers: 80 MB
    _api_refused(lambda: sp.band_probability(mean, 1), "mean", "10 float64 arrays of 1000000 probabilities")


def test_logit_distribution_draws_and_eigenproblems_are_checked_first(monkeypatch):
    import sigprop as sp

    dist = sp.logit_distribution(np.eye(4), [1], 8)
    monkeypatch.setenv(memory.LIMIT_VARIABLE, "4e9")     # 10^8 draws x 8 terms x 3 arrays: 19 GB
    _api_refused(lambda: dist.rvs(10 ** 8), "size", "three float64 arrays")
    monkeypatch.delenv(memory.LIMIT_VARIABLE)
    # by the models, 1000 x 1000: the chi-square weights 0.18 s, the eigendecomposition of W 0.56 s
    monkeypatch.setattr(memory, "MAX_SECONDS", 0.3)
    _api_refused(lambda: sp.logit_distribution(np.eye(1000) * 0.01, [1], 8), "W", "the eigendecomposition of W")


def test_the_model_matrices_of_a_simulation_are_checked_first(monkeypatch):
    import sigprop as sp

    W = np.eye(1000) * 0.01                               # 8 MB; the model's 9 copies need 72 MB
    monkeypatch.setenv(memory.LIMIT_VARIABLE, "5e7")
    _api_refused(lambda: sp.simulate(W, 8, samples=300), "W", "9 float64 matrices of 1000 x 1000", bound=40e6)


def test_make_weights_sample_and_the_step_covariance_are_sized_first():
    import sigprop as sp

    # 3 x 20000^2 float64 fit in 25 GB; the Haar rotation's QR and product (3200 s by the model) do not fit
    # the time budget; on a smaller machine the memory refusal comes first: either names d, before any draw
    _api_refused(lambda: sp.make_weights(0.1, 0.1, 20000), "d")
    _api_refused(lambda: next(sp.sample(10, 8, 10 ** 6)), "d", "1000000 x 1000000 float64 step covariance")


# --- 4. a sweep spec's values are checked for every cell in the driver -------------------------------------

BASE = 'study = "validation"\nseed = 0\n[args]\n'
SPECS = {
    "hugeD2": (BASE + 'd = 1000000000\nT = 8\nv = 0.1\nsamples = 300\n[axes]\nm = [0.1]\n', "args.d needs about"),
    "hugeD3": (BASE + 'd = 100000\nT = 8\nv = 0.1\nsamples = 300\n[axes]\nm = [0.1]\n', "args.d needs about"),
    "Tfloat2": (BASE + 'd = 4\nT = 8.5\nv = 0.1\nsamples = 300\n[axes]\nm = [0.1]\n',
                "args.T must be an integer >= 2, got 8.5"),
    "Tneg": (BASE + 'd = 4\nT = -8\nv = 0.1\nsamples = 300\n[axes]\nm = [0.1]\n',
             "args.T must be an integer >= 2, got -8"),
    "Tbool": (BASE + 'd = 4\nT = true\nv = 0.1\nsamples = 300\n[axes]\nm = [0.1]\n',
              "args.T must be an integer >= 2, got True"),
    "vneg": (BASE + 'd = 4\nT = 8\nsamples = 300\n[axes]\nm = [0.1]\nv = [-1.0]\n',
             "axes.v = -1.0: must be >= 0, got -1.0"),
    "vbig": (BASE + 'd = 4\nT = 8\nsamples = 300\n[axes]\nm = [1e200]\nv = [1e300]\n',
             "axes.m = 1e+200: is too large: the variance of the logits overflows float64"),
    "samples2": (BASE + 'd = 4\nT = 8\nv = 0.1\nsamples = 2\n[axes]\nm = [0.1]\n',
                 "args.samples must be an integer >= 3, got 2"),
    "confid": (BASE + 'd = 4\nT = 8\nv = 0.1\nsamples = 300\nconfidence = 1.5\n[axes]\nm = [0.1]\n',
               "args.confidence must be in (0, 1), got 1.5"),
    "argtable": (BASE + 'd = {a = 1}\nT = 8\nv = 0.1\nsamples = 300\n[axes]\nm = [0.1]\n',
                 "args.d must be an integer >= 1, got {'a': 1}"),
    "axis_d_huge": (BASE + 'T = 8\nv = 0.1\nm = 0.1\nsamples = 300\n[axes]\nd = [4, 100000000]\n',
                    "axes.d = 100000000: needs about"),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_sweep_spec_is_checked_cell_by_cell_before_any_worker(name, tmp_path, capsys, never):
    from sigprop.sweep import engine

    text, needle = SPECS[name]
    spec = tmp_path / f"{name}.toml"
    spec.write_text(text)
    calls = never(engine, "prepare") + never(engine, "_run")
    _refused(["sweep", spec, "--store", tmp_path / "s.zarr", "--workers", "1", "--no-progress"], capsys,
             "SPEC.toml", needle)
    assert calls == [] and not (tmp_path / "s.zarr").exists()


# --- 5. worker and thread counts are bounded by the cores ----------------------------------------------

@pytest.mark.parametrize("argv, flag", [
    (["claims", "--workers", TOO_MANY, "--quick"], "--workers"),
    (["lm", "sweep", "--dir", "DIR", "--workers", TOO_MANY], "--workers"),
    (["lm", "sweep", "--dir", "DIR", "--threads", TOO_MANY], "--threads"),
    (["validate", "--threads", TOO_MANY, "--dim", "4", "--length", "8", "--mean", "0.1", "--var", "0.1",
      "--samples", "10"], "--threads"),
    (["lm", "train", "--threads", TOO_MANY, "--steps", "1"], "--threads"),
])
def test_workers_and_threads_are_bounded_by_the_cores(argv, flag, capsys, tmp_path):
    argv = [str(tmp_path / "lm") if a == "DIR" else a for a in argv]
    top = TOO_MANY - 1
    _refused(argv, capsys, flag, f"must be an integer in [1, {top}] (4 per core", f"got {TOO_MANY}")
    assert not (tmp_path / "lm").exists()


def test_figures_workers_are_bounded_by_the_cores_before_the_scripts_load():
    from sigprop_figures import command  # the installed name: importing `figures` would register it again

    args = argparse.Namespace(workers=TOO_MANY, out="x", quick=True, only=None, no_progress=True, fresh=False)
    _api_refused(lambda: command.figures(args), "workers", "(4 per core", f"got {TOO_MANY}")


def test_the_api_worker_counts_are_bounded_too():
    from sigprop.core.checks import workers

    assert workers("threads", TOO_MANY - 1) == TOO_MANY - 1
    _api_refused(lambda: workers("threads", TOO_MANY), "threads", f"in [1, {TOO_MANY - 1}]")
    _api_refused(lambda: workers("threads", 0), "threads", "must be an integer >= 1, got 0")


def test_the_time_limit_can_be_raised_by_the_environment(monkeypatch):
    """A computation refused by the default limit runs when SIGPROP_TIME_LIMIT allows it (a researcher's
    long exact run); an unreadable or non-positive value is refused, naming the variable (the fourth
    campaign: it was silently replaced by the default)."""
    monkeypatch.delenv(memory.TIME_VARIABLE, raising=False)
    with pytest.raises(ArgumentError, match=r"120 s accepted for one call \(set SIGPROP_TIME_LIMIT"):
        memory.require_time(200.0, "T", "a test computation")
    for value in ("300", "inf"):
        monkeypatch.setenv(memory.TIME_VARIABLE, value)
        memory.require_time(200.0, "T", "a test computation")
    for value in ("abc", "-5", "nan", "0", "-inf"):
        monkeypatch.setenv(memory.TIME_VARIABLE, value)
        exc = _api_refused(lambda: memory.require_time(1.0, "T", "a test computation"), "SIGPROP_TIME_LIMIT",
                           "must be a number of seconds > 0 (inf for no limit)")
        assert repr(value) in exc
    monkeypatch.setenv(memory.TIME_VARIABLE, "")              # set but empty: the default
    assert memory.time_limit() == memory.MAX_SECONDS
