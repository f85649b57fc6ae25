"""Finite-difference check of the language model's hand-written gradients, in float64.

For every parameter array ``theta`` the analytic gradient of the training objective
(cross-entropy plus the LocAteR penalty when selected; dropout with a fixed mask) is compared
with central differences ``(L(theta + h e) - L(theta - h e)) / 2h`` entry by entry
(:func:`sigprop.model.gradcheck.numerical_gradient`); the error of a parameter is
``||g - g_fd|| / max(||g||, ||g_fd||)`` (:func:`sigprop.model.gradcheck.relative_error`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sigprop.lm import transformer
from sigprop.lm.regularizers import locater_penalty
from sigprop.model.gradcheck import numerical_gradient, relative_error

TOLERANCE = 1e-6


def check(cfg: transformer.Config, *, batch: int = 2, seed: int = 0, h: float = 1e-6) -> dict:
    """Relative error of every parameter's gradient, ``{name: error}``."""
    params = transformer.init_params(cfg, seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for name in params:                          # move gains, biases and gammas off their init
        if params[name].ndim < 2:
            params[name] = np.asarray(params[name] + 0.3 * rng.standard_normal(params[name].shape))
    tokens = rng.integers(0, cfg.vocab, size=(batch, cfg.length + 1))
    drop = cfg.dropout > 0

    def objective():
        loss, penalty, _ = _evaluate(params, tokens, cfg, seed, drop, grads=False)
        return loss + penalty

    _, _, grads = _evaluate(params, tokens, cfg, seed, drop, grads=True)
    return {name: relative_error(grads[name], numerical_gradient(objective, params[name], h))
            for name in params}


def _evaluate(params, tokens, cfg, seed, drop, grads):
    rng = np.random.default_rng(seed + 2) if drop else None
    if grads:
        return transformer.loss_and_grads(params, tokens, cfg, rng=rng)
    loss, _ = transformer.forward(params, tokens, cfg, rng=rng)
    name, lam = cfg.reg
    penalty = 0.0
    if name == "locater":
        penalty = lam * float(locater_penalty(params, cfg.layers, cfg.heads).sum())
    return loss, penalty, None


def configurations(*, vocab: int = 11, width: int = 8, length: int = 5, ff: int = 12) -> list[transformer.Config]:
    """Post-LN and Pre-LN, one to three heads and layers, tied and untied, ReLU and GELU,
    dropout, and every regularizer."""
    base: dict[str, Any] = dict(vocab=vocab, width=width, length=length, ff=ff)
    cases: list[dict[str, Any]] = [dict(norm="post", heads=1, layers=1, tied=True, activation="relu"),
             dict(norm="post", heads=2, layers=2, tied=False, activation="gelu"),
             dict(norm="pre", heads=2, layers=2, tied=True, activation="gelu"),
             dict(norm="pre", heads=4, layers=3, tied=False, activation="relu"),
             dict(norm="post", heads=2, layers=1, tied=True, dropout=0.2),
             dict(norm="pre", heads=2, layers=2, tied=True, regularizer="locater:0.7"),
             dict(norm="post", heads=2, layers=2, tied=False, regularizer="sigma-reparam"),
             dict(norm="pre", heads=2, layers=1, tied=True, regularizer="sigma-reparam"),
             dict(norm="post", heads=2, layers=2, tied=True, regularizer="qk-norm", activation="gelu"),
             dict(norm="pre", heads=1, layers=1, tied=False, regularizer="temperature:2.5")]
    return [transformer.Config(**base, **c) for c in cases]


configurations_default = configurations


def check_all() -> list[dict]:
    """One row per configuration of :func:`configurations`: the configuration, the largest
    error and its parameter, every parameter's error."""
    rows = []
    for cfg in configurations():
        errors = check(cfg)
        worst = max(errors, key=lambda k: errors[k])
        rows.append(dict(config=cfg.to_dict(), max_error=errors[worst], worst=worst,
                         passed=errors[worst] < TOLERANCE, errors=errors))
    return rows
