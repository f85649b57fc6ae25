"""``derivations/stack_block.py`` tied to ``sigprop.stack``: every residual zero, and the derived
closed forms are the ones the recursion evaluates."""
import math

import numpy as np
import pytest
import sympy as sp

from derivations import stack_block
from sigprop.stack import StackConfig, beta_critical
from sigprop.stack.recursion import attention_step, relu_kernel


def test_every_residual_of_the_derivation_is_zero():
    out = stack_block.checks()
    assert out["logit_covariance"] == 0 and out["attention_branch"] == 0 and out["relu_kernel"] == 0
    assert out["laplace"] == (0, 0, 0)


def test_derived_rem_threshold_is_the_package_s():
    beta_c = sp.lambdify(sp.Symbol("c"), stack_block.rem_critical_beta())
    for c in (0.0, 0.3, 0.9):
        assert beta_c(c) == pytest.approx(float(beta_critical(c)), rel=1e-14)


def test_derived_relu_kernel_is_the_package_s():
    derived, _ = stack_block.relu_kernel()
    f = sp.lambdify(sp.Symbol("phi", positive=True), derived)
    for q, c in ((1.0, 0.0), (0.4, 0.5), (2.0, -0.6), (1.0, 1.0)):
        assert q * f(math.acos(c)) == pytest.approx(relu_kernel(q, q * c), rel=1e-13, abs=1e-15)


def test_attention_branch_moments_are_the_package_s():
    cfg = StackConfig(T=8, beta=1.2, var_v=0.7, var_b=0.05, var_o=1.3)
    c = 0.35
    step = attention_step(cfg, c, 1.0, c)
    T = 3                                    # the derivation's closed form with the package's overlaps
    assert step["q"] == pytest.approx(1.3 * (0.7 * (c + (1 - c) * step["y_self"]) + 0.05), rel=1e-14)
    assert step["p"] == pytest.approx(1.3 * (0.7 * (c + (1 - c) * step["y_cross"]) + 0.05), rel=1e-14)
    rng = np.random.default_rng(0)           # and the derivation's full double sum at random rows
    a, b = rng.dirichlet(np.ones(T)), rng.dirichlet(np.ones(T))
    G = (1 - c) * np.eye(T) + c
    assert 0.7 * a @ G @ b + 0.05 == pytest.approx(0.7 * (c + (1 - c) * a @ b) + 0.05, rel=1e-14)
