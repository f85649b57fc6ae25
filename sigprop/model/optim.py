"""Optimizers in NumPy: SGD with momentum and Adam.

Both update a dict of parameter arrays in place from a dict of gradients.

* SGD with (heavy-ball) momentum ``mu``: ``b <- mu b + g``, ``theta <- theta - lr b``.
* Adam (Kingma & Ba): ``m <- b1 m + (1-b1) g``, ``v <- b2 v + (1-b2) g^2``,
  ``theta <- theta - lr m_hat / (sqrt(v_hat) + eps)`` with bias-corrected
  ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``.
"""
from __future__ import annotations

import numpy as np

from sigprop.core import checks as _checks

OPTIMIZERS = ("sgd", "adam")


class SGD:
    """Stochastic gradient descent with heavy-ball momentum: ``b <- momentum b + g``, ``p <- p - lr b``.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float
        Momentum in [0, 1).
    """
    def __init__(self, lr: float = 0.1, momentum: float = 0.9):
        self.lr = float(_checks.real("lr", lr, positive=True))
        self.momentum = float(_checks.real("momentum", momentum, minimum=0.0, maximum=1.0, open_max=True))
        self.buffers: dict[str, np.ndarray] = {}

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place from ``grads`` (names missing from ``params`` are skipped).

        Parameters
        ----------
        params : dict
            Name -> array, updated in place.
        grads : dict
            Name -> gradient of the same shape.
        """
        for name, g in grads.items():
            if name not in params:
                continue
            b = self.buffers.setdefault(name, np.zeros_like(g))
            b *= self.momentum
            b += g
            params[name] -= self.lr * b


class Adam:
    """Adam with bias correction: ``p <- p - lr m_hat / (sqrt(v_hat) + eps)``.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    beta1, beta2 : float
        Decay rates of the first and second moments, in [0, 1).
    eps : float
        Added to the denominator, > 0.
    """
    def __init__(self, lr: float = 1e-2, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr = float(_checks.real("lr", lr, positive=True))
        self.beta1 = float(_checks.real("beta1", beta1, minimum=0.0, maximum=1.0, open_max=True))
        self.beta2 = float(_checks.real("beta2", beta2, minimum=0.0, maximum=1.0, open_max=True))
        self.eps = float(_checks.real("eps", eps, positive=True))
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place from ``grads`` (names missing from ``params`` are skipped).

        Parameters
        ----------
        params : dict
            Name -> array, updated in place.
        grads : dict
            Name -> gradient of the same shape.
        """
        self.t += 1
        c1 = 1 - self.beta1 ** self.t
        c2 = 1 - self.beta2 ** self.t
        for name, g in grads.items():
            if name not in params:
                continue
            if name not in self.m:
                self.m[name], self.v[name] = np.zeros_like(g), np.zeros_like(g)
            m, v = self.m[name], self.v[name]
            step, den = np.empty_like(m), np.empty_like(v)      # the update, in place, no other temporaries
            m *= self.beta1
            np.multiply(g, 1 - self.beta1, out=step)
            m += step
            v *= self.beta2
            np.multiply(g, 1 - self.beta2, out=den)
            den *= g
            v += den
            np.divide(m, c1, out=step)
            step *= self.lr
            np.divide(v, c2, out=den)
            np.sqrt(den, out=den)
            den += self.eps
            step /= den
            params[name] -= step


def make(name: str, lr: float):
    """``"sgd"`` or ``"adam"`` with learning rate ``lr`` and default hyper-parameters."""
    _checks.choice("optimizer", name, OPTIMIZERS)
    return SGD(lr) if name == "sgd" else Adam(lr)
