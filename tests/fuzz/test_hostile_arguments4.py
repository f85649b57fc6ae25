"""Arguments of the third hostile-input campaign (docs/contract.md): each is refused in one line naming the
argument (or the environment variable, or the file) and what is accepted, before the work: never a
traceback, a warning or an argument-less ``ValueError``.

"Before the work" is checked by replacing the work by a function that records its calls, or by the memory
allocated before the refusal (``tracemalloc``), never by timing.
"""
import json
import socket
import warnings

import numpy as np
import pytest

import sigprop as sp
from sigprop.core.checks import ArgumentError
from tests.helpers import BEFORE_THE_WORK_BYTES, run_cli, traced_peak


def _refused(argv, capsys, flag, *needles):
    code, out, err = run_cli(argv, capsys)
    assert code == 2 and not out and len(err.splitlines()) == 1, (code, err)
    assert f"error: argument {flag}: " in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def _api_refused(call, argument, *needles):
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a ComplexWarning (or any other) fails the test
        with pytest.raises(ArgumentError) as info:
            call()
    message = str(info.value)
    assert info.value.argument == argument and len(message.splitlines()) == 1, (info.value.argument, message)
    for needle in needles:
        assert needle in message, message
    return message


# --- 1. a gamma whose width T / gamma is no finite size -------------------------------------------------

GRID = ["--lengths", "8", "--layers", "2", "--seeds", "1", "--no-progress"]


@pytest.mark.parametrize("command", [["nnt", "stable-rank"], ["nnt", "gradients", "--probes", "2"],
                                     ["nnt", "train", "--samples", "8", "--steps", "1", "--lrs", "0.01"]])
@pytest.mark.parametrize("gamma, width", [("5e-324", "d = inf"), ("1e-300", "d = 8e+300"), ("1e-20", "d = 8e+20")])
def test_a_gamma_whose_width_is_not_an_integer_size_names_gammas(command, gamma, width, capsys):
    _refused(command + GRID + ["--gammas", gamma], capsys, "--gammas", "[8.67e-19, 1] at T = 8",
             "integer of at most 2^63 - 1", width)


@pytest.mark.parametrize("command", [["nnt", "stable-rank"], ["nnt", "gradients", "--probes", "2"]])
def test_a_gamma_whose_width_exceeds_the_memory_names_gammas(command, capsys):
    code, peak = traced_peak(run_cli, command + GRID + ["--gammas", "1e-6"], capsys)
    _, out, err = code
    assert code[0] == 2 and not out and "error: argument --gammas: needs about" in err and "d = 8000000" in err, err
    assert peak < BEFORE_THE_WORK_BYTES


def test_the_api_names_gammas_and_gamma():
    from sigprop.gap import protocol, stable_rank, trainability
    from sigprop.stack import nnt

    _api_refused(lambda: stable_rank.stable_ranks("A", lengths=[8], gammas=[5e-324], layers=2, seeds=[0]),
                 "gammas", "2^63 - 1")
    _api_refused(lambda: stable_rank.gradient_norms("A", lengths=[8], gammas=[1e-300], layers=2, seeds=[0]),
                 "gammas", "2^63 - 1")
    _api_refused(lambda: protocol.width(8, 5e-324), "gamma", "d = inf")
    _api_refused(lambda: nnt.config("A(X)+LN", 8, 5e-324), "gamma", "d = inf")
    _api_refused(lambda: trainability.train("A", targets="identity", lrs=[0.01], length=8, gamma=5e-324, layers=2,
                                            seeds=[0], samples=8, steps=1), "gamma", "d = inf")
    assert protocol.width(8, 2.0 ** -59) == 2 ** 62                # within int64: accepted (memory aside)
    _api_refused(lambda: protocol.width(8, 2.0 ** -60), "gamma", "d = 9.22e+18")     # 2^63: one beyond it


# --- 2. sweep --scheduler: the address is checked, and reached, before the store --------------------------

SPEC = 'study = "profile"\n[args]\nm = 0.5\nT = 8\n[axes]\nd = [4]\nv = [0.1]\n'


def _free_port():
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address, needle", [
    ("tcp://127.0.0.1:99999999999999999999", "got the port '99999999999999999999'"),
    ("tcp://127.0.0.1:0", "got the port '0'"),
    ("tcp://127.0.0.1:65536", "got the port '65536'"),
    ("tcp://127.0.0.1", "got the port ''"),
    ("http://127.0.0.1:8786", "got the scheme 'http'"),
    ("tcp://:8786", "got no valid host"),
    ("", "got no valid host"),
])
def test_a_malformed_scheduler_is_refused_before_the_store(address, needle, tmp_path, capsys, never):
    from sigprop.sweep import engine

    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    calls = never(engine, "_dask")
    _refused(["sweep", spec, "--store", tmp_path / "s.zarr", "--scheduler", address, "--no-progress"], capsys,
             "--scheduler", "SCHEME://HOST:PORT", "PORT in [1, 65535]", needle)
    assert calls == [] and not (tmp_path / "s.zarr").exists()


def test_an_unreachable_scheduler_is_refused_before_the_store(tmp_path, capsys, never):
    from sigprop.sweep import engine

    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    calls = never(engine, "_dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    _refused(["sweep", spec, "--store", tmp_path / "s.zarr", "--scheduler", address, "--no-progress"], capsys,
             "--scheduler", f"cannot reach a Dask scheduler at '{address}'", "Connection refused")
    assert calls == [] and not (tmp_path / "s.zarr").exists()


def test_scheduler_addresses_that_hold():
    from sigprop.sweep.engine import scheduler_address

    assert scheduler_address("tcp://127.0.0.1:8786") == ("127.0.0.1", 8786)
    assert scheduler_address("127.0.0.1:8786") == ("127.0.0.1", 8786)
    assert scheduler_address("tls://[::1]:65535/") == ("::1", 65535)
    with pytest.raises(ArgumentError) as info:
        scheduler_address(8786)
    assert info.value.argument == "scheduler"


# --- 3. and 4. text, complex numbers and ragged lists, by the one conversion (checks.floats) -------------

W = np.eye(4) * 0.1
BAD = {"text": "a", "ragged": [[1.0], [1.0, 2.0]], "text array": np.array(["a"] * 4)}


def _chi2sum_cases():
    from sigprop.rho import chi2sum, exact, saddlepoint

    return {
        "cdf weights": (lambda b: chi2sum.cdf(b, [1.0]), "weights", np.ones(3, complex)),
        "cdf x": (lambda b: chi2sum.cdf([1.0, 2.0], b), "x", 1j),
        "cdf tol": (lambda b: chi2sum.cdf([1.0], 1.0, tol=b), "tol", 1j),
        "cdf work": (lambda b: chi2sum.cdf([1.0, 2.0, 3.0], 1.0, work=b), "work", 1j),
        "cdf linear": (lambda b: chi2sum.cdf([1.0, 2.0], 1.0, linear=b), "linear", np.ones(2, complex)),
        "chernoff": (lambda b: chi2sum.chernoff(b, [1.0]), "lam", np.ones((1, 2), complex)),
        "drop_negligible": (lambda b: chi2sum.drop_negligible(b, 1e-3), "lam", np.ones((1, 2), complex)),
        "truncation_bound": (lambda b: chi2sum.truncation_bound(b, [1.0], 1.0), "lam", np.ones((1, 2), complex)),
        "exact band": (lambda b: exact.band(b), "weights", np.ones(3, complex)),
        "saddlepoint cdf": (lambda b: saddlepoint.cdf(b, [1.0]), "weights", np.ones(3, complex)),
    }


def _api_cases():
    from sigprop import stack
    from sigprop.rho import data

    return {
        "theory step_cov matrix": (lambda b: sp.theory(W, 8, step_cov=b), "step_cov", np.eye(4, dtype=complex)),
        "theory step_cov vector": (lambda b: sp.theory(W, 8, step_cov=b), "step_cov", np.ones(4, complex)),
        "theory step_cov scalar": (lambda b: sp.theory(W, 8, step_cov=b), "step_cov", 1 + 1j),
        "theory W": (lambda b: sp.theory(b, 8), "W", np.eye(4, dtype=complex)),
        "theory_spectrum m": (lambda b: sp.theory_spectrum(b, 0.1, 4, 8), "m", 1j),
        "simulate step_cov": (lambda b: sp.simulate(W, 8, samples=10, step_cov=b), "step_cov",
                              np.eye(4, dtype=complex)),
        "simulate W": (lambda b: sp.simulate(b, 8, samples=10), "W", np.eye(4, dtype=complex)),
        "logit_distribution i": (lambda b: sp.logit_distribution(W, b, 8), "i", 1j),
        "logit_distribution step_cov": (lambda b: sp.logit_distribution(W, 1, 8, step_cov=b), "step_cov",
                                        np.eye(4, dtype=complex)),
        "logit_moments step_cov": (lambda b: sp.logit_moments(W, 8, step_cov=b), "step_cov",
                                   np.eye(4, dtype=complex)),
        "sample step_cov": (lambda b: next(sp.sample(10, 8, 4, step_cov=b)), "step_cov", np.eye(4, dtype=complex)),
        "data matrix K": (lambda b: data.matrix(b), "data", np.eye(8, dtype=complex)),
        "data empirical tokens": (lambda b: data.empirical(b), "tokens", np.ones((3, 4, 2), complex)),
        "stack.predict beta": (lambda b: stack.predict(layers=2, T=8, d=4, beta=b), "beta", 1j),
        "stack.predict input_gram": (lambda b: stack.predict(layers=2, T=8, d=4, recursion="positional",
                                                             input_gram=b), "input_gram", np.eye(8, dtype=complex)),
    }


@pytest.mark.parametrize("kind", ["text", "ragged", "text array", "complex"])
@pytest.mark.parametrize("case", list(_chi2sum_cases()))
def test_the_chi2sum_functions_name_the_argument(case, kind):
    call, argument, complex_value = _chi2sum_cases()[case]
    value = complex_value if kind == "complex" else BAD[kind]
    _api_refused(lambda: call(value), argument, "must be real, got a complex array" if kind == "complex" else "must be")


@pytest.mark.parametrize("kind", ["text", "ragged", "text array", "complex"])
@pytest.mark.parametrize("case", list(_api_cases()))
def test_the_api_names_the_argument_of_text_complex_and_ragged_input(case, kind):
    call, argument, complex_value = _api_cases()[case]
    value = complex_value if kind == "complex" else BAD[kind]
    _api_refused(lambda: call(value), argument)


def test_the_reported_cases():
    from sigprop.rho import chi2sum

    _api_refused(lambda: chi2sum.cdf("a", [1.0]), "weights", "weights must be a finite real array of shape (..., n), "
                                                             "got 'a'")
    _api_refused(lambda: sp.theory(np.eye(4) * 0.1, 8, step_cov=np.eye(4, dtype=complex)), "step_cov",
                 "step_cov must be real, got a complex array (its imaginary part would be dropped)")


def test_real_step_covariances_and_weights_still_hold():
    from sigprop.rho import chi2sum

    base = sp.theory(W, 8).rho
    assert np.array_equal(sp.theory(W, 8, step_cov=np.eye(4)).rho, base)
    assert np.array_equal(sp.theory(W, 8, step_cov=[1, 1, 1, 1]).rho, base)
    assert np.array_equal(sp.theory(W, 8, step_cov=1).rho, base)
    F, err = chi2sum.cdf([1, 2], [1])                 # integers are real numbers
    assert F.shape == (1,) and 0 < F[0] < 1 and err[0] < 1e-6


# --- 5. --dk applies to the attention model only --------------------------------------------------------

@pytest.mark.parametrize("argv", [["gap", "--length", "8"], ["width", "--lengths", "8", "--samples", "2"],
                                  ["depth", "--layers", "1", "--length", "8"]])
def test_dk_with_the_markov_model_is_refused(argv, capsys, never):
    from sigprop.gap import collapse, spectra

    calls = never(spectra, "markov_matrix") + never(collapse, "markov_matrix")
    _refused(argv + ["--dk", "4", "--no-progress"], capsys, "--dk", "applies only to model 'attention'",
             "model 'markov'", "got d_k = 4")
    assert calls == []


def test_the_api_refuses_d_k_with_the_markov_model():
    from sigprop.gap import collapse, spectra

    _api_refused(lambda: collapse.width(8, 0.5, model="markov", d=4, samples=2, d_k=4), "d_k", "model 'attention'")
    _api_refused(lambda: collapse.depth(1, 8, 0.5, model="markov", d=4, d_k=4), "d_k", "model 'attention'")
    _api_refused(lambda: spectra.report(8, 0.5, model="markov", d_k=4), "d_k", "model 'attention'")
    assert spectra.report(8, 0.5, model="attention", d=4, d_k=2)["config"]["d_k"] == 2


# --- 6. resuming another configuration; a cache folder that cannot be written ---------------------------

LM = ["lm", "train", "--tokenizer", "bytes", "--width", "16", "--length", "16", "--steps", "4", "--batch", "2",
      "--eval-every", "2", "--eval-tokens", "256", "--no-progress"]


def test_resuming_another_configuration_names_the_run_folder_before_the_corpus(tmp_path, capsys, never,
                                                                                monkeypatch):
    import argparse

    from sigprop.cli import lm as cli_lm
    from sigprop.cli.app import commands
    from sigprop.lm import train as lmtrain

    run = tmp_path / "run"
    run.mkdir()
    parser = argparse.ArgumentParser()
    commands(plugins=False)["lm train"].arguments(parser)
    stored = cli_lm.train_config(parser.parse_args(LM[2:] + ["--width", "8"]), regularizer="none", seed=0)
    meta = dict(config=stored.to_dict(), step=2)
    np.savez(run / "checkpoint.npz", meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    calls = never(cli_lm, "_data")
    err = _refused(LM + ["--run-dir", run, "--resume"], capsys, "--run-dir",
                   f"cannot resume from {run / 'checkpoint.npz'}: it holds a run of another configuration",
                   "model.width: 8 -> 16", "resume with the options the run was started with")
    assert calls == [] and "checkpoint" in err
    same = cli_lm.train_config(parser.parse_args(LM[2:] + ["--width", "8"]), regularizer="none", seed=0)
    lmtrain.check_resume(same, run)                     # its own configuration: accepted


def test_a_cache_folder_that_cannot_be_written_names_sigprop_cache(tmp_path, monkeypatch, never):
    from sigprop.lm import corpus

    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SIGPROP_CACHE", str(blocker))
    calls = never(corpus.BPETokenizer, "train")
    with pytest.raises(ArgumentError) as info:
        corpus.tokenizer("bpe", "some text " * 100, 300, cache=corpus.cache_dir() / "tokenizers")
    message = str(info.value)
    assert info.value.argument == "SIGPROP_CACHE" and len(message.splitlines()) == 1
    assert message.startswith("SIGPROP_CACHE: cannot write the cache folder") and "Not a directory" in message
    assert message.endswith("set SIGPROP_CACHE to a writable folder") and calls == []


def test_a_read_only_cache_folder_names_sigprop_cache_on_the_command_line(tmp_path, monkeypatch, capsys):
    import os

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("SIGPROP_CACHE", str(cache))
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if str(p).startswith(str(cache)) else real(p, mode))
    code, out, err = run_cli(["lm", "train", "--steps", "1", "--no-progress"], capsys)
    assert code == 2 and not out and len(err.splitlines()) == 1, err
    assert err.startswith("sigprop lm train: error: SIGPROP_CACHE: cannot write the cache folder"), err
    assert "not writable" in err and "set SIGPROP_CACHE to a writable folder" in err


def test_an_unwritable_claims_cache_names_xdg_cache_home_before_any_row(tmp_path, monkeypatch, never):
    from sigprop.claims import runner
    from sigprop.core import workers

    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    calls = never(workers, "run_shown")
    with pytest.raises(ArgumentError) as info:
        runner.run_rows([], True, evaluate=None, context=object, not_run=Exception, cache=True)
    assert info.value.argument == "XDG_CACHE_HOME" and calls == []
    assert str(info.value).startswith("XDG_CACHE_HOME: cannot write the claims cache")


# --- 7. gaussian-error: the exact method's time is sized before the first case -------------------------

def test_gaussian_error_long_length_is_refused_before_the_gaussian_form(capsys, never):
    from sigprop.rho import gaussian_error

    calls = never(gaussian_error, "case")
    code, peak = traced_peak(run_cli, ["gaussian-error", "--length", "10000000", "--dims", "2", "--vars", "0.1",
                                       "--no-progress"], capsys)
    status, out, err = code
    assert status == 2 and not out and len(err.splitlines()) == 1, err
    assert "error: argument --length: makes the exact method on 4e+07 chi-square weights" in err, err
    assert calls == [] and peak < BEFORE_THE_WORK_BYTES
