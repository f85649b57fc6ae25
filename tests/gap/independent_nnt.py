"""A deliberately simple, separate implementation of [NNT24]'s stable-rank protocol.

Written apart from sigprop.gap.protocol and sharing no code with it: plain loops over layers,
rows and tokens, its own random numbers (NumPy's legacy RandomState and SciPy's ortho_group for
the Haar matrix), its own softmax and LayerNorm.  Used only by the tests.
"""

import math

import numpy as np
from scipy.stats import ortho_group


def parse(name):
    """(attention, perp, skip, layernorm) from a configuration name, by string tests only."""
    if name == "I":
        return "identity", False, "none", False
    base, *extras = name.split("+")
    extras = "+".join(extras)
    attention = "keyquery" if base.startswith("A(X)") else "markov"
    perp = base.endswith("_perp")
    layernorm = extras.endswith("LN")
    if extras.startswith("skip/sqrt(d)"):
        skip = "scaled"
    elif extras.startswith("skip"):
        skip = "plain"
    else:
        skip = "none"
    return attention, perp, skip, layernorm


def draw(T, d, layers, seed):
    """Input and weights, drawn with RandomState(seed) and ortho_group."""
    rs = np.random.RandomState(seed)
    X0 = ortho_group.rvs(d, random_state=rs)[:T]
    weights = []
    for _ in range(layers):
        weights.append(
            dict(
                G=rs.normal(-math.log(2) / 2, math.sqrt(math.log(2)), size=(T, T)),
                W_Q=rs.normal(0, math.sqrt(2 / (d + d)), size=(d, d)),
                W_K=rs.normal(0, math.sqrt(2 / (d + d)), size=(d, d)),
                W_V=rs.normal(0, 1, size=(d, d)),
            )
        )
    return X0, weights


def softmax_rows(S):
    out = np.empty_like(S)
    for i in range(S.shape[0]):
        row = S[i] - max(S[i])
        e = np.array([math.exp(v) for v in row])
        out[i] = e / sum(e)
    return out


def layer_norm_rows(Z):
    out = np.empty_like(Z)
    for i in range(Z.shape[0]):
        mu = sum(Z[i]) / len(Z[i])
        var = sum((z - mu) ** 2 for z in Z[i]) / len(Z[i])
        out[i] = (Z[i] - mu) / math.sqrt(var + 1e-5)
    return out


def stable_rank_plain(X):
    """sum s^2 / max s^2 over the singular values s of X X^T, as written."""
    s = np.linalg.svd(X @ X.T, compute_uv=False)
    return float(sum(v * v for v in s) / max(v * v for v in s))


def stable_ranks(name, X0, weights):
    """Stable rank after every layer (index 0 = the input)."""
    attention, perp, skip, layernorm = parse(name)
    T, d = X0.shape
    X = X0.copy()
    out = [stable_rank_plain(X)]
    for w in weights:
        if attention == "identity":
            A = np.eye(T)
        elif attention == "markov":
            A = softmax_rows(w["G"])
        else:
            Q = X @ w["W_Q"]
            K = X @ w["W_K"]
            S = np.empty((T, T))
            for i in range(T):
                for j in range(T):
                    S[i, j] = float(Q[i] @ K[j]) / math.sqrt(d)
            A = softmax_rows(S)
        if perp:
            A = A - np.ones((T, T)) / T
        H = A @ (X @ w["W_V"])
        if skip == "plain":
            Z = H + X
        elif skip == "scaled":
            Z = H / math.sqrt(d) + X
        else:
            Z = H
        X = layer_norm_rows(Z) if layernorm else Z
        out.append(stable_rank_plain(X))
    return out
