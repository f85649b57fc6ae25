"""[NNT24]'s protocol: names, inputs, draws, forward against its definition, backward by finite differences."""
import math

import numpy as np
import pytest

from sigprop.gap import protocol
from sigprop.model.gradcheck import numerical_gradient, relative_error


def test_names_round_trip_and_grid():
    names = protocol.paper_configs()
    assert len(names) == 25 and names[-1] == "I"
    for n in names + ["A_resc+skip", "A(X)_resc+skip/sqrt(d)+LN", "A(X)+skip+LN+double"]:
        assert protocol.parse(n).name == n
    assert protocol.parse(" A(X)_perp + skip + LN ").name == "A(X)_perp+skip+LN"
    assert [c.name for c in protocol.parse_many("all")] == names
    assert all(protocol.parse(n).paper for n in names) and not protocol.parse("A_resc").paper


@pytest.mark.parametrize("bad", ["B", "A+MLP", "I+LN", "A(X)_perp+LN+skip", ""])
def test_bad_names_are_one_line_errors(bad):
    with pytest.raises(ValueError, match="config must be"):
        protocol.parse(bad)


def test_width_and_bad_gamma():
    assert protocol.width(150, 0.2) == 750 and protocol.width(20, 0.5) == 40 and protocol.width(30, 1) == 30
    with pytest.raises(ValueError, match="gamma"):
        protocol.width(20, 1.5)


def test_isometric_inputs_and_weight_laws():
    dr = protocol.Draws([3, 4], 30, 60)
    X = dr.X0
    np.testing.assert_allclose(X @ X.swapaxes(1, 2), np.broadcast_to(np.eye(30), (2, 30, 30)), atol=1e-12)
    big = protocol.Draws([0], 200, 200).layer()
    G = big["G"].ravel()
    # moments of 40000 draws: 5 standard errors
    assert abs(G.mean() - protocol.MARKOV_MEAN) < 5 * math.sqrt(protocol.MARKOV_VAR / G.size)
    assert abs(G.var() / protocol.MARKOV_VAR - 1) < 5 * math.sqrt(2 / G.size)
    e = np.exp(G)                                        # E e^G = 1, Var e^G = 1
    assert abs(e.mean() - 1) < 5 * e.std() / math.sqrt(e.size)
    assert abs(big["W_Q"].var() * 200 - 1) < 5 * math.sqrt(2 / big["W_Q"].size)
    assert abs(big["W_V"].var() - 1) < 5 * math.sqrt(2 / big["W_V"].size)


def test_a_seed_does_not_depend_on_the_others():
    a = protocol.Draws([7], 10, 20)
    b = protocol.Draws([1, 7, 9], 10, 20)
    np.testing.assert_array_equal(a.X0[0], b.X0[1])
    np.testing.assert_array_equal(a.layer()["W_V"][0], b.layer()["W_V"][1])


def test_forward_matches_the_definition_layer_by_layer():
    T, d = 5, 8
    for name in ("A_perp+skip/sqrt(d)+LN", "A(X)+skip", "A(X)_perp+LN", "I"):
        cfg = protocol.parse(name)
        X0, params = protocol.init_params(cfg, [2], T, d, 2)
        xs, _ = protocol.forward(cfg, params, X0)
        X = X0[0]
        for p, got in zip(params, xs[1:]):
            if cfg.attention == "markov":
                E = np.exp(p["G"][0])
                A = E / E.sum(1, keepdims=True)
            elif cfg.attention == "keyquery":
                E = np.exp(X @ p["W_Q"][0] @ (X @ p["W_K"][0]).T / math.sqrt(d))
                A = E / E.sum(1, keepdims=True)
            else:
                A = np.eye(T)
            M = A - 1 / T if cfg.fix == "perp" else A
            H = M @ X @ p["W_V"][0]
            Z = H + X if cfg.skip == "skip" else (H / math.sqrt(d) + X if cfg.skip == "scaled" else H)
            if cfg.layernorm:
                Z = (Z - Z.mean(1, keepdims=True)) / np.sqrt(Z.var(1, keepdims=True) + 1e-5)
            np.testing.assert_allclose(got[0, 0], Z, rtol=1e-10, atol=1e-12)
            X = Z


def test_rescaled_fix_needs_calibration():
    cfg = protocol.parse("A_resc")
    dr = protocol.Draws([0], 4, 4)
    p = protocol.init_layer(cfg, dr.layer(protocol.needed(cfg)))
    with pytest.raises(ValueError, match="calibrate"):
        protocol.layer_forward(cfg, p, dr.X0[:, None])


GRAD_NAMES = protocol.paper_configs() + ["A_resc+skip+LN", "A(X)_resc", "A(X)+skip+LN+double"]


@pytest.mark.parametrize("name", GRAD_NAMES)
def test_backward_matches_finite_differences(name):
    """Every parameter (with W_O and a batch of 2) and the input, at a generic point.

    The point is moved off initialisation (0.1 Gaussian noise on every parameter) so that no
    gradient vanishes by symmetry; W_V is scaled by 1/sqrt(d) to keep the stack well
    conditioned for central differences (h = 1e-6, error O(h^2) relative 1e-6 allowed).
    The error allowed is ``1e-6 ||analytic|| + 1e-9 scale`` (``scale`` the largest gradient
    norm): the second term is the noise floor of central differences, which matters for
    gradients that vanish (a LayerNorm bias followed by A - 11^T/T, which annihilates constant
    rows) or nearly vanish (behind a saturated softmax).  At least two parameters per layer must
    have a gradient above ``1e-4 scale``, so the check is not vacuous.
    """
    cfg = protocol.parse(name)
    T, d = 4, 6
    X0, params = protocol.init_params(cfg, [0, 1], T, d, 3, output_projection=True)
    rng = np.random.default_rng(5)
    X0 = np.concatenate([2 * X0[:, None], 2.6 * X0[:, None]], axis=1)   # logits of order 1
    for p in params:
        p["W_V"] = p["W_V"] / math.sqrt(d)
        for k in p:
            if k != "kappa":
                p[k] = p[k] + 0.1 * rng.standard_normal(p[k].shape)
    xs, caches = protocol.forward(cfg, params, X0, keep=True)
    G = rng.standard_normal(xs[-1].shape)
    grads, dX0 = protocol.backward(cfg, params, caches, G)

    def loss():
        return float(np.sum(G * protocol.forward(cfg, params, X0)[0][-1]))

    scale = max(np.linalg.norm(g[k]) for g in grads for k in g)
    checked = 0
    for layer, p in enumerate(params):
        for k in p:
            if k == "kappa":
                continue
            num = numerical_gradient(loss, p[k])
            norm = np.linalg.norm(grads[layer][k])
            assert np.linalg.norm(num - grads[layer][k]) <= 1e-6 * norm + 1e-9 * scale, (layer, k)
            checked += norm > 1e-4 * scale
    assert checked >= 2 * len(params)
    assert relative_error(dX0, numerical_gradient(loss, X0)) < 1e-6
