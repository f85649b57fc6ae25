"""``derivations/chi_square.py`` tied to the code and to Monte Carlo.

Derivation -> code: the joint covariance of ``(u_i, x_T)`` summed over the steps equals the
walk's coefficients; the symbolic ``M`` has the package's chi-square weights as eigenvalues
(general, non-symmetric path).  Derivation -> Monte Carlo: simulated walks have that joint
covariance.
"""
import numpy as np
import pytest
import sympy as sp

from derivations import chi_square
from sigprop.rho import walk
from sigprop.rho.logits import LogitModel
from tests.helpers import bonferroni_z


def test_every_residual_of_the_derivation_is_zero():
    cov_res, form_res, mean_res, var_res = chi_square.checks()
    assert cov_res == (0, 0, 0) and form_res == 0 and mean_res == 0 and var_res == 0
    assert chi_square.quadratic_form_residual()[1] == sp.zeros(4)


@pytest.mark.parametrize("T", [2, 3, 17, 256])
def test_derived_joint_covariance_is_the_package_s(T):
    C_uu, C_ux, C_xx = (sp.lambdify((chi_square.i, chi_square.T), e) for e in chi_square.joint_covariance())
    i = np.arange(1, T + 1)
    alpha, beta = walk.coefficients(T)
    assert np.allclose(C_uu(i, T), alpha, rtol=1e-13) and np.allclose(C_ux(i, T), beta, rtol=1e-13, atol=1e-15)
    assert C_xx(i, T) == 1
    gamma2 = sp.lambdify((chi_square.i, chi_square.T), chi_square.gamma_squared())(i, T)
    assert np.allclose(gamma2, alpha - beta ** 2, rtol=1e-12) and np.all(gamma2 > 0)


def test_symbolic_M_has_the_package_weights_as_eigenvalues():
    rng = np.random.default_rng(4)
    W = rng.standard_normal((2, 2))                       # non-symmetric: the general path
    A = rng.standard_normal((2, 2))
    model = LogitModel(W, 7, step_cov=A @ A.T + 0.2 * np.eye(2), scale=0.8)
    B = model.sigma_sqrt @ W @ model.sigma_sqrt
    b = sp.Matrix(2, 2, lambda r, s: sp.Symbol(f"b{r}{s}", real=True))
    g = sp.Symbol("gamma", positive=True)
    M = chi_square.c / 2 * sp.BlockMatrix([[sp.zeros(2), g * b], [g * b.T, chi_square.beta * (b + b.T)]]).as_explicit()
    M_of = sp.lambdify((list(b), g, chi_square.beta, chi_square.c), M)
    alpha, beta = model.coefficients
    for k in range(7):
        num = np.array(M_of(list(B.ravel()), np.sqrt(alpha[k] - beta[k] ** 2), beta[k], 0.8), dtype=float)
        assert np.allclose(np.linalg.eigvalsh(num), np.sort(model.chi2_weights[k]), atol=1e-12)


def test_simulated_walks_have_the_derived_joint_covariance():
    """200 000 walks, d = 2, T = 6, a non-identity Sigma: every entry of Cov(u_i), Cov(u_i, x_T)
    and Cov(x_T) against the derivation.  For zero-mean Gaussians the product X Y has variance
    ``Var X Var Y + Cov(X, Y)^2``, which gives each estimate's standard error; Bonferroni over
    the 6 * 2 * 4 + 4 comparisons at family level 1e-3."""
    T, d, n = 6, 2, 200_000
    sigma = np.array([[1.5, 0.4], [0.4, 0.7]])
    x = np.concatenate(list(walk.sample(n, T, d, step_cov=sigma, seed=11)))
    u = x - x.mean(axis=1, keepdims=True)
    xT = x[:, -1]
    C_uu, C_ux, _ = (sp.lambdify((chi_square.i, chi_square.T), e) for e in chi_square.joint_covariance())
    z = bonferroni_z(1e-3, T * 2 * 4 + 4)
    worst = 0.0
    for k in range(T):
        for a_vec, b_vec, want_cov, var_a, var_b in (
                (u[:, k], u[:, k], C_uu(k + 1, T) * sigma, C_uu(k + 1, T) * sigma, C_uu(k + 1, T) * sigma),
                (u[:, k], xT, C_ux(k + 1, T) * sigma, C_uu(k + 1, T) * sigma, sigma)):
            emp = a_vec.T @ b_vec / n
            se = np.sqrt((np.outer(np.diag(var_a), np.diag(var_b)) + want_cov ** 2) / n)
            worst = max(worst, np.max(np.abs(emp - want_cov) / se))
    emp = xT.T @ xT / n
    se = np.sqrt((np.outer(np.diag(sigma), np.diag(sigma)) + sigma ** 2) / n)
    worst = max(worst, np.max(np.abs(emp - sigma) / se))
    assert worst <= z
