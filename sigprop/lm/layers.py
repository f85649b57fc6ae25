"""Building blocks of the language model, each a forward and a hand-written backward.

Shapes: ``B`` sequences, ``T`` positions, ``D`` width, ``H`` heads of ``dh = D / H``.
Everything keeps the dtype of its inputs (float32 training, float64 gradient checks).

* LayerNorm over the last axis: ``y = g * (x - mu) / sqrt(var + eps) + b``; backward
  ``dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))`` with ``dxhat = g dy``.
* ReLU ``max(x, 0)`` and GELU ``x Phi(x)`` (exact, ``Phi`` the normal CDF), derivative
  ``Phi(x) + x phi(x)``.
* Causal multi-head attention: ``Q = X W_Q``, ``K = X W_K``, ``V = X W_V`` split into heads,
  optionally LayerNorm-ed over the head dimension (QK-LayerNorm), logits
  ``S = c Q_h K_h^T`` with ``c = 1 / (tau sqrt(dh))``, ``A = softmax(S)`` over the allowed
  (causal) keys, output ``concat_h(A_h V_h) W_O``.  Backward:
  ``dS = c A * (dA - rowsum(A * dA))``, ``dQ_h = dS K_h``, ``dK_h = dS^T Q_h``.
* Softmax cross-entropy averaged over tokens: ``L = -mean log softmax(z)[y]``,
  ``dz = (softmax(z) - onehot(y)) / N``; fused (:func:`softmax_cross_entropy`):
  ``dz = exp(z - max z) / (N s) - onehot(y) / N`` with ``s = sum exp(z - max z)``, in the
  logits' memory, one pass over them fewer than the loss followed by its backward; in training
  (:func:`softmax_cross_entropy_factored`) ``dz = r e - onehot(y) / N`` is kept as
  ``e = exp(z - max z)`` and ``r = 1 / (N s)``, the factor ``r`` and the one-hot term folded into
  the backward's products (no ``dz`` formed).
* Inverted dropout: keep with probability ``1 - p`` and divide by it.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.special import erf

from sigprop.model.attention import causal_mask

EPS = 1e-5
ACTIVATIONS = ("relu", "gelu")


def layer_norm(x, g, b, eps: float = EPS):
    """LayerNorm over the last axis: ``(x - mean) / sqrt(var + eps) * g + b``.

    Parameters
    ----------
    x : numpy.ndarray
        Inputs, features on the last axis.
    g, b : numpy.ndarray
        Gain and bias, one per feature.
    eps : float
        Added to the variance.

    Returns
    -------
    tuple
        The output, and the cache ``(xhat, rstd, g)`` for :func:`layer_norm_backward`.
    """
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    rstd = 1.0 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps)
    xhat = xc * rstd
    return xhat * g + b, (xhat, rstd, g)


def layer_norm_backward(dy, cache):
    """Gradients of :func:`layer_norm`.

    Parameters
    ----------
    dy : numpy.ndarray
        Gradient with respect to the output.
    cache : tuple
        What :func:`layer_norm` returned beside its output.

    Returns
    -------
    tuple
        ``(dx, dg, db)``.
    """
    xhat, rstd, g = cache
    axes = tuple(range(dy.ndim - 1))
    dg = (dy * xhat).sum(axis=axes)
    db = dy.sum(axis=axes)
    dxhat = dy * g
    dx = rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                 - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))
    return dx, dg, db


def activation(x, kind: str):
    """The feed-forward activation: ReLU, or the exact GELU ``x Phi(x)``.

    Parameters
    ----------
    x : numpy.ndarray
    kind : str
        ``"relu"`` or ``"gelu"``.

    Returns
    -------
    numpy.ndarray
    """
    if kind == "relu":
        return np.maximum(x, 0)
    return x * (0.5 * (1.0 + erf(x * np.sqrt(0.5).astype(x.dtype))))


def activation_backward(dy, x, kind: str):
    """Gradient of :func:`activation` with respect to its input.

    Parameters
    ----------
    dy : numpy.ndarray
        Gradient with respect to the output.
    x : numpy.ndarray
        The input of the forward pass.
    kind : str
        ``"relu"`` or ``"gelu"``.

    Returns
    -------
    numpy.ndarray
    """
    if kind == "relu":
        return dy * (x > 0)
    cdf = 0.5 * (1.0 + erf(x * np.sqrt(0.5).astype(x.dtype)))
    pdf = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi).astype(x.dtype)
    return dy * (cdf + x * pdf)


def dropout_mask(shape, p: float, rng, dtype):
    """``None`` when no dropout, else the scaled keep mask."""
    if p <= 0 or rng is None:
        return None
    return ((rng.random(shape) >= p) / (1.0 - p)).astype(dtype)


def split_heads(x, H: int):
    """``(B, T, D)`` to ``(B, H, T, D/H)``: one slice of the features per head.

    Parameters
    ----------
    x : numpy.ndarray
        Shape ``(B, T, D)``.
    H : int
        Number of heads (divides ``D``).

    Returns
    -------
    numpy.ndarray
    """
    B, T, D = x.shape
    return x.reshape(B, T, H, D // H).transpose(0, 2, 1, 3)


def merge_heads(x):
    """``(B, H, T, dh)`` to ``(B, T, H dh)``: the inverse of :func:`split_heads`.

    Parameters
    ----------
    x : numpy.ndarray

    Returns
    -------
    numpy.ndarray
    """
    B, H, T, dh = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, H * dh)


def attention(x, W_Q, W_K, W_V, W_O, *, heads: int, scale: float, qk_ln=None):
    """Causal multi-head attention; ``qk_ln = (g_q, b_q, g_k)`` for QK-LayerNorm (no key bias)."""
    T = x.shape[1]
    q = split_heads(x @ W_Q, heads)
    k = split_heads(x @ W_K, heads)
    v = split_heads(x @ W_V, heads)
    lnq = lnk = None
    if qk_ln is not None:
        q, lnq = layer_norm(q, qk_ln[0], qk_ln[1])
        k, lnk = layer_norm(k, qk_ln[2], 0)
    allowed = causal_mask(T)
    S = (q @ k.transpose(0, 1, 3, 2)) * x.dtype.type(scale)
    S = np.where(allowed, S, -np.inf)
    e = np.exp(S - S.max(axis=-1, keepdims=True))
    A = e / e.sum(axis=-1, keepdims=True)
    o = merge_heads(A @ v)
    cache = dict(x=x, q=q, k=k, v=v, A=A, o=o, S=S, lnq=lnq, lnk=lnk, scale=scale, heads=heads)
    return o @ W_O, cache


def attention_backward(dy, cache, W_Q, W_K, W_V, W_O):
    """Gradients ``(dx, dW_Q, dW_K, dW_V, dW_O, (dg_q, db_q, dg_k) or None)``."""
    x, q, k, v, A, o = (cache[n] for n in ("x", "q", "k", "v", "A", "o"))
    H = cache["heads"]
    D = x.shape[-1]
    dW_O = o.reshape(-1, D).T @ dy.reshape(-1, D)
    do = split_heads(dy @ W_O.T, H)
    dA = do @ v.transpose(0, 1, 3, 2)
    dv = A.transpose(0, 1, 3, 2) @ do
    dS = A * (dA - (A * dA).sum(axis=-1, keepdims=True)) * x.dtype.type(cache["scale"])
    dq = dS @ k
    dk = dS.transpose(0, 1, 3, 2) @ q
    dln = None
    if cache["lnq"] is not None:
        dq, dgq, dbq = layer_norm_backward(dq, cache["lnq"])
        dk, dgk, _ = layer_norm_backward(dk, cache["lnk"])
        dln = (dgq, dbq, dgk)
    dq, dk, dv = merge_heads(dq), merge_heads(dk), merge_heads(dv)
    xf = x.reshape(-1, D)
    dW_Q = xf.T @ dq.reshape(-1, D)
    dW_K = xf.T @ dk.reshape(-1, D)
    dW_V = xf.T @ dv.reshape(-1, D)
    dx = dq @ W_Q.T + dk @ W_K.T + dv @ W_V.T
    return dx, dW_Q, dW_K, dW_V, dW_O, dln


def cross_entropy(logits, targets):
    """Mean token cross-entropy and the softmax probabilities (for the backward).

    ``logits`` is overwritten by the probabilities (it is not needed afterwards).
    """
    logits -= logits.max(axis=-1, keepdims=True)
    picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    np.exp(logits, out=logits)
    s = logits.sum(axis=-1, keepdims=True)
    loss = float(np.mean(np.log(s[..., 0], dtype=np.float64) - picked))
    logits /= s
    return loss, logits


def softmax_cross_entropy_factored(logits, targets):
    """Mean token cross-entropy and its gradient as a factor of the logits' memory: ``(L, e, r)``.

    ``e = exp(z - max z)`` (written over ``logits``, returned) and ``r = 1 / (N s)`` with
    ``s = sum_v e`` (shape ``logits.shape[:-1] + (1,)``), so that the gradient with respect to
    the logits is ``dz = r e - onehot(y) / N``; ``L`` as in :func:`softmax_cross_entropy`.  The
    backward folds ``r`` and the one-hot term into its products with ``e``
    (:func:`sigprop.lm.transformer.backward`): four passes over the logits (max, subtract, exp,
    sum) and no ``dz`` in memory.
    """
    logits -= logits.max(axis=-1, keepdims=True)
    idx = targets[..., None]
    picked = np.take_along_axis(logits, idx, axis=-1)[..., 0]
    np.exp(logits, out=logits)
    s = logits.sum(axis=-1, keepdims=True)
    loss = float(np.mean(np.log(s[..., 0], dtype=np.float64) - picked))
    np.reciprocal(s, out=s)
    s *= s.dtype.type(1.0 / targets.size)
    return loss, logits, s


def softmax_cross_entropy(logits, targets):
    """Mean token cross-entropy and its gradient in one: ``(L, dz)``.

    ``L = mean_n [log s_n - (z_n[y_n] - max z_n)]`` with ``s_n = sum_v exp(z_nv - max z_n)``, and
    ``dz = exp(z - max z) / (N s) - onehot(y) / N`` (``N`` tokens): the probabilities' division
    by ``s`` and the mean's ``1/N`` are one multiplication.  ``logits`` is overwritten by ``dz``
    (returned).  Equal to :func:`cross_entropy` followed by :func:`cross_entropy_backward` up to
    rounding (``tests/lm/test_transformer.py``).
    """
    loss, e, r = softmax_cross_entropy_factored(logits, targets)
    e *= r
    idx = targets[..., None]
    np.put_along_axis(e, idx, np.take_along_axis(e, idx, axis=-1) - e.dtype.type(1.0 / targets.size), axis=-1)
    return loss, e


def scatter_rows(index, values, rows: int):
    """``out[index[i]] += values[i]`` into zeros of ``rows`` rows: :func:`numpy.add.at`'s result.

    The product ``S @ values`` with ``S`` the sparse ``rows x n`` matrix of ones at
    ``(index[i], i)`` (CSR, each row's entries in their order of appearance, a stable sort of
    ``index``): every output row is summed from 0 in the order :func:`numpy.add.at` sums it, so
    the result is the same to the last bit, in a small fraction of its time.

    Parameters
    ----------
    index : numpy.ndarray
        Integer row of each value, shape ``(n,)``, in ``[0, rows)``.
    values : numpy.ndarray
        Shape ``(n, m)``.
    rows : int
        Rows of the output.

    Returns
    -------
    numpy.ndarray
        Shape ``(rows, m)``, ``values``' dtype.
    """
    index = np.asarray(index).reshape(-1)
    order = np.argsort(index, kind="stable")
    indptr = np.zeros(rows + 1, np.int64)
    np.cumsum(np.bincount(index, minlength=rows), out=indptr[1:])
    S = sparse.csr_matrix((np.ones(index.size, values.dtype), order, indptr), shape=(rows, index.size))
    return np.asarray(S @ values, dtype=values.dtype)


def cross_entropy_backward(P, targets, *, overwrite: bool = False):
    """``(P - onehot(targets)) / N``; ``overwrite`` reuses ``P``'s memory."""
    dz = P if overwrite else P.copy()
    idx = targets[..., None]
    np.put_along_axis(dz, idx, np.take_along_axis(dz, idx, axis=-1) - 1, axis=-1)
    dz *= dz.dtype.type(1.0 / targets.size)
    return dz
