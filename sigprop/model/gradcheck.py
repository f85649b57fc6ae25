"""Central finite differences against the hand-written gradients (docs/theory.md (5.4)).

For a random linear loss ``L = sum(G * Y)`` (so ``dL/dY = G``) the analytic
gradient of every parameter and of the input is compared with
``(L(theta + h e) - L(theta - h e)) / 2h`` entry by entry, in float64.  The error
of a parameter is ``||g_analytic - g_fd|| / max(||g_analytic||, ||g_fd||)``.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.memory import driver
from sigprop.model import attention as att
from sigprop.rho import walk

VARIANTS: list[dict[str, Any]] = [dict(attention=a, mode=m, causal=c, factored=f, remove_gap=g)
            for a, m, c, f, g in itertools.product(att.ATTENTIONS, att.MODES, (False, True), (True, False),
                                                   (False, True))
            if not (c and m == "last") and not (g and a == "pwl")]


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to the array ``x`` (in place)."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        keep = flat[k]
        flat[k] = keep + h
        up = f()
        flat[k] = keep - h
        down = f()
        flat[k] = keep
        gflat[k] = (up - down) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / max(||a||, ||b||)`` (Frobenius norms; 0 when both vanish).

    Parameters
    ----------
    a, b : numpy.ndarray
        Two gradients of the same shape.

    Returns
    -------
    float
    """
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def _kink_distance(Z, allowed):
    from sigprop.model.softmax import centered
    zc = centered(Z, allowed)
    dist = np.minimum(np.abs(zc), np.abs(zc - 1))
    return dist.min() if allowed is None else dist[np.broadcast_to(allowed, zc.shape)].min()


def check(cfg: att.Config, *, batch: int = 3, T: int = 6, seed: int = 0, h: float = 1e-6) -> dict:
    """Relative error per parameter (and ``X``) for one configuration.

    Returns ``{"errors": {name: error}, "norms": {name: ||analytic gradient||}}``;
    a zero norm would make the check vacuous, so callers should look at both.

    Inputs are random-walk sequences scaled so that many piecewise-linear positions
    are in the linear regime; draws with a logit within ``1e-4`` of a kink of the
    piecewise-linear softmax are redrawn (the derivative does not exist there).
    """
    rng = np.random.default_rng(seed)
    for _attempt in range(100):
        params = att.init_params(cfg, rng.integers(2**32), qk_std=1.5)
        X = np.concatenate(list(walk.sample(batch, T, cfg.d, seed=rng.integers(2**32)))) * 2.0
        Y, cache = att.forward(params, X, cfg)
        if cfg.attention == "softmax" or _kink_distance(cache["Z"], cache["allowed"]) > 1e-4:
            break
    G = rng.standard_normal(Y.shape)
    grads = att.backward(params, cache, G, cfg)

    def loss():
        return float(np.sum(G * att.forward(params, X, cfg)[0]))

    errors = {name: relative_error(grads[name], numerical_gradient(loss, value, h))
              for name, value in params.items()}
    errors["X"] = relative_error(grads["X"], numerical_gradient(loss, X, h))
    return dict(errors=errors, norms={k: float(np.linalg.norm(g)) for k, g in grads.items()})


#: The longest finite-difference check accepted, in seconds of the model of :func:`seconds`.
MAX_SECONDS = 600.0


def seconds(d: float, d_k: float, batch: float, T: float) -> float:
    """The time of :func:`check_all` at these sizes: ``1.5e-4 s`` per forward pass plus ``8e-10 s``
    per multiply-add, fitted to ``(d, d_k, T, batch) = (5, 3, 6, 3), (16, 8, 16, 3), (32, 8, 16, 3)``
    (the measured times: docs/performance.md, "Gradient checks and the explorer").  Two forward passes per entry of
    ``W_Q, W_K`` (or ``W``) and ``X``, for each of the :data:`VARIANTS`; a pass is
    ``batch T (T d + d max(d, d_k))`` multiply-adds."""
    entries = d * d + 2 * d * d_k + batch * T * d
    passes = 2.0 * len(VARIANTS) * entries
    return 1.5e-4 * passes + 8e-10 * passes * batch * T * (T * d + d * max(d, d_k))


def check_all(*, d: int = 5, d_k: int = 3, batch: int = 3, T: int = 6, seed: int = 0) -> list[dict]:
    """:func:`check` for every attention, mode, causal flag and parametrization.

    Refused before any work (``ArgumentError`` naming the size that drives it): sizes whose check
    would take more than :data:`MAX_SECONDS` by :func:`seconds` (finite differences are for small
    sizes; the defaults take about a second).
    """
    sizes: dict[str, tuple[float, float]] = dict(
        d=(_checks.integer("d", d, 1), 1), d_k=(_checks.integer("d_k", d_k, 1), 1),
        batch=(_checks.integer("batch", batch, 1), 1), T=(_checks.integer("T", T, 2), 2))
    need = seconds(*(float(v) for v, _ in sizes.values()))
    if not need <= MAX_SECONDS:
        raise _checks.ArgumentError(driver(seconds, sizes), f"makes the finite-difference check take about "
                                    f"{need:.2g} s (more than {MAX_SECONDS:g} s): it is for small sizes, e.g. "
                                    "d = 5, d_k = 3, T = 6, batch = 3")
    rows = []
    for v in VARIANTS:
        cfg = att.Config(d=d, d_k=d_k if v["factored"] else None, attention=v["attention"],
                         mode=v["mode"], causal=v["causal"], remove_gap=v["remove_gap"],
                         gap_scale=1.7 if v["remove_gap"] else 1.0)
        rows.append(dict(v, **check(cfg, batch=batch, T=T, seed=seed)))
    return rows
