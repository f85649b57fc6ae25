"""Straightforward PyTorch CPU versions of sigprop's hot paths, as peers to time against.

PyTorch is optional: :func:`available` says whether it can be imported.  Nothing in
``sigprop/`` imports it.
"""
from __future__ import annotations

import numpy as np


def available(load: bool = True) -> bool:
    """Whether PyTorch can be imported (with ``load=False``: is installed, without importing it)."""
    if not load:
        import importlib.util
        return importlib.util.find_spec("torch") is not None
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def monte_carlo(W: np.ndarray, T: int, samples: int, batch: int, seed: int, dtype: str = "float64"):
    """The Monte Carlo of ``rho`` as one would write it in PyTorch: form the walk, then the logits."""
    import torch
    tdtype = getattr(torch, dtype)
    Wt = torch.as_tensor(W, dtype=tdtype)
    d = W.shape[0]
    c = 1.0 / np.sqrt(d)
    g = torch.Generator().manual_seed(seed)
    inside = torch.zeros(T, dtype=torch.int64)
    done = 0
    while done < samples:
        b = min(batch, samples - done)
        x = torch.randn(b, T, d, generator=g, dtype=tdtype).div_(T ** 0.5).cumsum(1)
        z = torch.einsum("btd,bd->bt", x, x[:, -1] @ Wt.T) * c
        zc = z - z.mean(1, keepdim=True)
        inside += ((zc > 0) & (zc < 1)).sum(0)
        done += b
    return inside.numpy() / samples


def train_step(params: dict, X: np.ndarray, target: np.ndarray, lr: float = 0.01):
    """A closure running one autograd training step (softmax, last query, Adam) on fixed data."""
    import torch
    Xt, Tt = torch.as_tensor(X), torch.as_tensor(target)
    WQ, WK, WV = (torch.tensor(params[k], requires_grad=True) for k in ("W_Q", "W_K", "W_V"))
    opt = torch.optim.Adam([WQ, WK, WV], lr=lr)
    c = 1.0 / np.sqrt(X.shape[2])

    def step():
        opt.zero_grad()
        z = torch.einsum("btd,bd->bt", Xt, Xt[:, -1] @ (WQ @ WK.T).T) * c
        p = torch.softmax(z, dim=-1)
        y = torch.einsum("bt,btd->bd", p, Xt) @ WV
        loss = 0.5 * ((y - Tt) ** 2).sum() / X.shape[0]
        loss.backward()
        opt.step()
    return step
