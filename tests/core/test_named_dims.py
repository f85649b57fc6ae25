"""Every result type's ``to_xarray()`` names its dimensions: no ``*_axis_k`` (nor ``axis_k``) left.

A quick instance of each result type (the API's, and the ``--out`` files of the commands whose
results the API does not label itself) is converted, and every dimension must have a name
that says what it counts (``position``, ``layer``, ``head``, ``step``, ``seed``, ...).
"""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

import sigprop as sp

pytest.importorskip("xarray")


def unnamed(ds) -> list[str]:
    return [str(d) for d in ds.dims if "_axis_" in str(d) or str(d).startswith("axis_")]


def _validation():
    from sigprop.rho.logits import LogitModel
    from sigprop.rho.validation import validate

    return validate(LogitModel.from_spectrum(0.5, 0.1, 4, 6, basis="random", seed=1), ["gaussian", "exact"],
                    samples=300, seed=2)


def _softmax_validation():
    from sigprop.rho.logits import LogitModel
    from sigprop.rho.validation import validate_softmax

    return validate_softmax(LogitModel.from_spectrum(0.5, 0.1, 4, 6), points=256, samples=300, seed=0)


def _stack_simulation():
    from sigprop.stack import simulation

    return simulation.simulate(layers=2, T=6, d=8, seeds=(0, 1))


def _stack_prediction():
    from sigprop.stack import recursion

    return recursion.predict(layers=3, beta=1.0, T=8)


def _attention_training():
    from sigprop.model.train import TrainConfig, train

    return train(TrainConfig(d=4, d_k=4, T=6, batch=4, steps=4, log_every=2, probe=8))


def _trainability():
    from sigprop.gap.trainability import train

    return train(["A+skip+LN"], targets=["identity"], lrs=[0.01], length=6, layers=1, seeds=[0, 1], samples=3,
                 steps=2)


def _stable_ranks():
    from sigprop.gap import stable_rank

    return stable_rank.stable_ranks(["A"], lengths=(6,), gammas=(1.0,), layers=2, seeds=[0, 1])


def _gaussian_error():
    from sigprop.rho.gaussian_error import study

    return study([2, 4], [0.1], T=6, samples=300)


def _gap_validity():
    from sigprop.gap import validity

    return validity.measure([0.5, 1.0], [8, 16], seeds=2)


def _lm_training(tmp_path):
    from sigprop.lm import corpus, train
    from sigprop.lm import transformer as model
    from tests.lm.test_train import small_corpus

    folder = tmp_path / "corpus"
    folder.mkdir()
    small_corpus(folder)
    cfg = train.TrainConfig(model=model.Config(vocab=300, width=16, heads=2, layers=2, length=16, ff=16),
                            corpus=str(folder), steps=4, batch=4, lr=1e-2, warmup=2, eval_every=2,
                            eval_tokens=256, probe=4)
    data = train.prepare(corpus.load(str(folder)), "bpe", 300, cache=tmp_path / "tokenizers")
    return train.train(cfg, data)


API = {
    "Profile (a batch of W)": lambda tmp: sp.theory(np.stack([np.eye(3), 2 * np.eye(3)]), 6),
    "Profile (a grid of m, v)": lambda tmp: sp.theory_spectrum(np.array([[0.5], [1.0]]), [0.1, 1.0], 8, 6),
    "Simulation": lambda tmp: sp.simulate(np.eye(3), 6, samples=100, seed=0),
    "SoftmaxProfile": lambda tmp: __import__("sigprop.rho.softmax_profile", fromlist=["semi_analytic"]).semi_analytic(
        np.eye(3), 6, quantity=("weight", "sensitivity"), samples=256, seed=0),
    "Validation": lambda tmp: _validation(),
    "SoftmaxValidation": lambda tmp: _softmax_validation(),
    "stack prediction": lambda tmp: _stack_prediction(),
    "stack simulation": lambda tmp: _stack_simulation(),
    "attention training": lambda tmp: _attention_training(),
    "trainability": lambda tmp: _trainability(),
    "stable ranks": lambda tmp: _stable_ranks(),
    "gaussian error": lambda tmp: _gaussian_error(),
    "gap validity": lambda tmp: _gap_validity(),
    "language-model training": _lm_training,
}


@pytest.mark.parametrize("name", list(API))
def test_api_results_have_named_dimensions(name, tmp_path):
    result = API[name](tmp_path)
    ds = result.to_xarray()
    assert unnamed(ds) == [], f"{name}: {unnamed(ds)}"
    if hasattr(result, "save"):                  # and so does the file it writes, read back
        result.save(tmp_path / "r.json")
        assert unnamed(sp.load(tmp_path / "r.json").to_xarray()) == []


COMMANDS = {
    "predict --query all": ["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "5", "--query",
                            "all"],
    "validate --query all": ["validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "5",
                             "--query", "all", "--samples", "300"],
    "validate --method both": ["validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "5",
                               "--method", "both", "--samples", "300"],
    "validate --attention softmax": ["validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "5",
                                     "--attention", "softmax", "--points", "256", "--samples", "300"],
    "train": ["train", "--steps", "4", "--log-every", "2", "--dim", "4", "--length", "6", "--batch", "4"],
    "depth": ["depth", "--layers", "2", "--length", "8"],
    "width": ["width", "--lengths", "8,16", "--samples", "2"],
    "gap": ["gap", "--length", "16"],
    "nnt train": ["nnt", "train", "--steps", "2"],
    "stack simulate": ["stack", "simulate", "--layers", "2", "--length", "6", "--dim", "8", "--seeds", "0,1"],
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_results_have_named_dimensions(name, tmp_path):
    from sigprop import cli

    out = tmp_path / "r.json"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main([*COMMANDS[name], "--out", str(out), "--no-progress"]) == 0
    ds = sp.load(out).to_xarray()
    assert unnamed(ds) == [], f"{name}: {unnamed(ds)}"
