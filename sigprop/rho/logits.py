"""The centered logit of the random-walk model as one validated value: :class:`LogitModel`.

A model is the query-key matrix ``W``, the sequence length ``T``, the step covariance
``Sigma`` and the logit scale ``c`` (``docs/theory.md`` §1-2).  It is validated once,
frozen, and caches what every method derives from it:

* ``Sigma^{1/2}`` (and the factor ``L L^T = Sigma`` the simulation draws with), from the
  package's one square root, :func:`sigprop.rho.walk.square_roots`;
* the covariance coefficients ``alpha_i, beta_i`` of ``(u_i, x_T)``, ``u_i = x_i - xbar``
  (:func:`sigprop.rho.walk.coefficients`);
* the three traces the exact moments need (``docs/theory.md`` §3), normalized to order one;
* the chi-square weights of every position's centered logit (§3, exact ``rho``): with
  ``B = Sigma^{1/2} W Sigma^{1/2}`` and ``gamma_i = sqrt(alpha_i - beta_i^2)``,
  ``zc_i = h^T M_i h`` for ``h ~ N(0, I_2d)`` and
  ``M_i = (c/2) [[0, gamma_i B], [gamma_i B^T, beta_i (B + B^T)]]``; the weights are the
  ``2d`` eigenvalues of ``M_i``, and for symmetric ``B`` they are
  ``(c/2)(beta_i +- sqrt(alpha_i)) mu_j`` for the eigenvalues ``mu_j`` of ``B``
  (``derivations/chi_square.py``).

:func:`sigprop.rho.theory.theory`, :func:`sigprop.rho.exact.theory` and
:func:`sigprop.rho.montecarlo.simulate` accept a model in place of ``(W, T, step_cov,
scale)``; their keyword forms build one with :func:`as_model`.  The temporal structure
(the random walk, query at ``T``) enters only through :attr:`LogitModel.coefficients`.

Examples
--------
>>> import numpy as np
>>> model = LogitModel(np.eye(4), 16, scale=0.5)
>>> model.d, model.T, float(model.c), model.chi2_weights.shape
(4, 16, 0.5, (16, 8))
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from sigprop.core import checks as _checks
from sigprop.core.memory import cubic_seconds, matrices, require, require_time
from sigprop.rho import data as _data
from sigprop.rho import walk
from sigprop.rho.spectrum import standard_spectrum

_MAX_FLOATS = 1 << 22          # working memory of one block of eigenproblems


def resolve_scale(scale, d) -> np.ndarray | float:
    """The logit scale ``c``: ``1/sqrt(d)`` when ``scale`` is None, else ``scale > 0``."""
    if scale is None:
        return 1.0 / np.sqrt(d)
    return _checks.real("scale", scale, positive=True)


#: Float64 ``d x d`` matrices a :class:`LogitModel` holds once built and simulated: its copy of ``W``,
#: ``Sigma`` and the products its closed forms and simulation cache (8.4 measured with tracemalloc at
#: ``d = 1000``, for the model and for ``simulate`` on it).
MODEL_ARRAYS = 9


@dataclass(frozen=True, eq=False, init=False)
class LogitModel:
    """A validated, frozen random-walk logit model ``(W, T, Sigma, scale)``.

    Parameters
    ----------
    W : (..., d, d) array_like
        Query-key matrix (need not be symmetric); leading axes are a batch of models
        (the Gaussian closed form broadcasts over them; the exact method and the
        simulation need a single matrix).
    T : int
        Sequence length, ``T >= 2``.
    step_cov : None, float, (d,) or (d, d) array_like
        Step covariance ``Sigma`` (:func:`sigprop.rho.walk.step_covariance`); stored,
        resolved to a ``d x d`` matrix, as :attr:`Sigma`.
    scale : float or array_like, optional
        Logit scale ``c > 0``; default ``1/sqrt(d)`` (kept as given in :attr:`scale`,
        resolved in :attr:`c`).
    """
    W: np.ndarray
    T: int
    Sigma: np.ndarray
    scale: object
    data: _data.DataModel
    query: object
    causal: bool
    token_mean: np.ndarray | None

    def __init__(self, W: ArrayLike, T: int, *, step_cov=None, scale=None, data=None, query=None,
                 causal: bool = False, token_mean: ArrayLike | None = None) -> None:
        W = _checks.square_matrix("W", W)
        d = W.shape[-1]
        require(matrices(MODEL_ARRAYS * max(1, W[..., 0, 0].size), d, d), "W",
                f"{MODEL_ARRAYS} float64 matrices of {d} x {d} a model (W, Sigma and their products)")
        W = np.array(W)
        T = _checks.integer("T", T, 2)
        Sigma = np.array(walk.step_covariance(step_cov, W.shape[-1]))
        if scale is not None:
            _checks.real("scale", scale, positive=True)
        data = _data.data_model(data)
        if not (data.is_random_walk and (query is None or query == T) and not causal):
            # the data covariance K, its factor and the coefficients of every position (T x T)
            require(matrices(4, T, T), "T", f"four {T} x {T} float64 matrices (the data covariance and "
                                            "its coefficients)")
        if data.K is not None:
            data.covariance(T)                              # checks T against a stored K
        if query is None:
            query = T
        elif not (isinstance(query, str) and query == "all"):
            query = _checks.integer("query", query, 1)
            if query > T:
                raise _checks.ArgumentError("query", f"must be 'all' or an integer in 1..T = {T}, "
                                            f"got {query}")
        if not isinstance(causal, (bool, np.bool_)):
            raise _checks.ArgumentError("causal", f"must be True or False, got {causal!r}")
        if token_mean is not None:
            token_mean = np.array(_checks.real("token_mean", token_mean))
            if token_mean.shape != (W.shape[-1],):
                raise _checks.ArgumentError("token_mean", f"must be a vector of length d = {W.shape[-1]}, "
                                            f"got shape {token_mean.shape}")
            token_mean.flags.writeable = False
        W.flags.writeable = False
        Sigma.flags.writeable = False
        for name, value in (("W", W), ("T", T), ("Sigma", Sigma), ("scale", scale), ("data", data),
                            ("query", query), ("causal", bool(causal)), ("token_mean", token_mean)):
            object.__setattr__(self, name, value)

    @property
    def is_walk(self) -> bool:
        """[BHK24]'s case: the random walk, the query at ``T``, full centering, no token mean."""
        return (self.data.is_random_walk and self.query == self.T and not self.causal
                and self.token_mean is None)

    @property
    def data_config(self) -> dict:
        """The data model, query and centering, for ``config``."""
        out = dict(data=self.data.describe(), query=self.query, causal=self.causal)
        if self.token_mean is not None:
            out["token_mean_norm"] = float(np.linalg.norm(self.token_mean))
        return out

    @classmethod
    def from_spectrum(cls, m: ArrayLike, v: ArrayLike, d: int, T: int, *, shape: str = "gaussian",
                      scale=None, basis: str = "identity", seed=None, **data) -> LogitModel:
        """A model whose ``W`` has the eigenvalues ``m + sqrt(v) z``, ``z = standard_spectrum(d, shape)``.

        ``basis="identity"`` (default): ``W`` is the diagonal matrix of these eigenvalues, and
        ``m`` and ``v`` broadcast to a batch of models.  ``basis="random"``: ``W`` is that
        diagonal rotated by a Haar orthogonal matrix drawn with ``seed``
        (:func:`sigprop.rho.spectrum.make_weights`; scalar ``m`` and ``v``), so that a drawn ``W``
        belongs to the model: a simulation uses it, while the closed forms, which depend on a
        symmetric ``W`` only through its eigenvalues, read :attr:`spectrum`.

        ``data`` are the data-model keywords of the constructor (``data``, ``query``, ...).
        ``Sigma = I``.  The eigenvalues are kept, so the chi-square weights need no eigenproblem.
        """
        _checks.choice("basis", basis, ("identity", "random"))
        m, v, d = _checks.spectrum(m, v, d)
        require(matrices(2 * max(1, np.broadcast(m, v).size), d, d), "d", f"{d} x {d} float64 matrices")
        mu = m[..., None] + np.sqrt(v)[..., None] * standard_spectrum(d, shape)
        if basis == "random":
            from sigprop.rho.spectrum import make_weights

            if np.ndim(m) or np.ndim(v):
                raise _checks.ArgumentError("m" if np.ndim(m) else "v",
                                            "must be a single number with basis='random'")
            model = cls(make_weights(float(m), float(v), d, shape=shape, basis="random", seed=seed), T,
                        scale=scale, **data)
        else:
            model = cls(mu[..., :, None] * np.eye(d), T, scale=scale, **data)
        model.__dict__["_symmetric_spectrum"] = mu       # cached: eigenvalues of B = W
        model.__dict__["spectrum"] = dict(m=m, v=v, d=d, shape=shape, basis=basis)
        return model

    @property
    def spectrum(self) -> dict | None:
        """``dict(m, v, d, shape, basis)`` of a model built by :meth:`from_spectrum`, else None."""
        return self.__dict__.get("spectrum")

    def diagonal(self) -> LogitModel:
        """The model with ``W`` replaced by the diagonal of its eigenvalues (a model of
        :meth:`from_spectrum`), the same model otherwise: the closed forms of both are equal."""
        spec = self.spectrum
        if spec is None or spec["basis"] == "identity":
            return self
        return type(self).from_spectrum(spec["m"], spec["v"], spec["d"], self.T, shape=spec["shape"],
                                        scale=self.scale, **self.data_keywords)

    @property
    def data_keywords(self) -> dict:
        """The constructor's data-model keywords of this model (``data``, ``query``, ...)."""
        return dict(data=self.data, query=self.query, causal=self.causal, token_mean=self.token_mean)

    @property
    def d(self) -> int:
        """Embedding dimension."""
        return self.W.shape[-1]

    @cached_property
    def c(self) -> np.ndarray | float:
        """The logit scale: ``scale``, or ``1/sqrt(d)`` by default."""
        return resolve_scale(self.scale, self.d)

    @cached_property
    def identity_step(self) -> bool:
        """Whether ``Sigma`` is exactly the identity."""
        return bool(np.array_equal(self.Sigma, np.eye(self.d)))

    @cached_property
    def _roots(self) -> tuple[np.ndarray, np.ndarray]:
        if self.identity_step:
            eye = np.eye(self.d)
            return eye, eye
        return walk.square_roots(self.Sigma)

    @property
    def sigma_sqrt(self) -> np.ndarray:
        """The symmetric square root ``Sigma^{1/2}``."""
        return self._roots[1]

    @property
    def step_factor(self) -> np.ndarray | None:
        """``L`` with ``L L^T = Sigma`` (what the simulation draws with), None for ``Sigma = I``."""
        return None if self.identity_step else self._roots[0]

    @cached_property
    def _general(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        query: int | str = self.query  # type: ignore[assignment]  # validated: 1..T or "all"
        return _data.coefficients(self.data.covariance(self.T), query, self.causal)

    @cached_property
    def coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """``(alpha_i kappa, beta_i)``: ``Cov(u_i) = alpha_i Sigma``, ``Cov(u_i, y_q) = beta_i Sigma``,
        ``Cov(y_q) = kappa Sigma`` (:func:`sigprop.rho.data.coefficients`); shape ``(T,)``, or
        ``(T, T)`` indexed ``[q - 1, i - 1]`` for ``query="all"``.  For the random walk with
        the query at ``T`` (``kappa = 1``), [BHK24]'s :func:`sigprop.rho.walk.coefficients`.
        The zero-mean centered logit depends on the data model only through these two."""
        if self.data.is_random_walk and self.query == self.T and not self.causal:
            return walk.coefficients(self.T)
        alpha, beta, kappa = self._general
        return alpha * kappa, beta

    @cached_property
    def data_factor(self) -> np.ndarray:
        """``L_K`` with ``L_K L_K^T = K`` (what the simulation of a data model draws with)."""
        return _data.factor(self.data.covariance(self.T))

    @cached_property
    def mean_coefficient(self) -> np.ndarray:
        """``alpha_i`` alone (``Cov(u_i) = alpha_i Sigma``), the factor of the token-mean term."""
        if self.data.is_random_walk and self.query == self.T and not self.causal:
            return walk.coefficients(self.T)[0]
        return self._general[0]

    @cached_property
    def mean_trace(self) -> np.ndarray:
        """``(Wn mu)^T Sn (Wn mu) / max|Sigma|`` (normalized as :attr:`traces`; 0 without a token
        mean): ``v_i`` gains ``size^2 alpha_i mean_trace = c^2 alpha_i (W mu)^T Sigma (W mu)``."""
        if self.token_mean is None:
            return np.zeros(self.W.shape[:-2])
        w_size = np.abs(self.W).max(axis=(-2, -1))
        w_size = np.where(w_size > 0, w_size, 1.0)
        s_size = np.abs(self.Sigma).max()
        s_size = s_size if s_size > 0 else 1.0
        b = (self.W / w_size[..., None, None]) @ self.token_mean
        return np.einsum("...i,ij,...j->...", b, self.Sigma / s_size, b) / s_size

    @cached_property
    def traces(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(tr1, tr_frob, tr_sq, size)`` for the exact moments.

        With ``Wn = W / max|W|`` and ``Sn = Sigma / max|Sigma|`` (order one, so that no
        trace underflows however small ``W`` is): ``tr1 = tr(Wn Sn)``,
        ``tr_frob = tr(Sn Wn Sn Wn^T)``, ``tr_sq = tr(Wn Sn Wn Sn)`` and
        ``size = c max|W| max|Sigma|``, so ``mu_i = size beta_i tr1`` and
        ``v_i = size^2 (alpha_i tr_frob + beta_i^2 tr_sq)``.
        """
        W, S = self.W, self.Sigma
        w_size = np.abs(W).max(axis=(-2, -1))
        s_size = np.abs(S).max()
        w_size = np.where(w_size > 0, w_size, 1.0)
        s_size = s_size if s_size > 0 else 1.0
        Wn, Sn = W / w_size[..., None, None], S / s_size
        step = self.diagonal_step
        if step is None:
            WS = Wn @ Sn
            SWS = Sn @ WS
        elif self.identity_step:                         # Sn = I: no product, O(d^2)
            WS = SWS = Wn
        else:                                            # Sn = diag(s): (Wn Sn)_ij = Wn_ij s_j, O(d^2)
            s = step / s_size
            WS = Wn * s
            SWS = s[:, None] * WS
        tr1 = np.trace(WS, axis1=-2, axis2=-1)
        tr_sq = np.einsum("...ij,...ji->...", WS, WS)
        tr_frob = np.einsum("...ij,...ij->...", SWS, Wn)  # tr(S W S W^T)
        return tr1, tr_frob, tr_sq, self.c * w_size * s_size

    @cached_property
    def diagonal_step(self) -> np.ndarray | None:
        """The diagonal of ``Sigma`` when ``Sigma`` is diagonal (every off-diagonal entry exactly 0),
        else None: the traces of :attr:`traces` then take ``O(d^2)`` operations instead of two
        ``d x d`` products."""
        diagonal = np.diagonal(self.Sigma)
        if np.count_nonzero(self.Sigma) != np.count_nonzero(diagonal):
            return None
        return diagonal.copy()

    def single(self, what: str) -> LogitModel:
        """This model if it holds one ``W``, else a one-line ``ValueError`` naming ``what``."""
        if self.W.ndim != 2 and "_symmetric_spectrum" not in self.__dict__:
            raise _checks.ArgumentError("W", f"must be a single d x d matrix for {what}, got shape {self.W.shape}")
        if np.ndim(self.c) != 0:
            raise _checks.ArgumentError("scale", f"must be a single number for {what}, got shape {np.shape(self.c)}")
        return self

    @cached_property
    def _symmetric_spectrum(self) -> np.ndarray | None:
        """Eigenvalues of ``B = Sigma^{1/2} W Sigma^{1/2}`` when ``B`` is symmetric, else None."""
        B = self.B
        if np.allclose(B, B.T, rtol=1e-12, atol=1e-14 * np.abs(B).max()):
            return _rounding_to_zero(np.linalg.eigvalsh(0.5 * (B + B.T)))
        return None

    @cached_property
    def B(self) -> np.ndarray:
        """``Sigma^{1/2} W_n Sigma^{1/2}`` with ``W_n = W / max|W|`` (single ``W`` only).

        The size of ``W`` is kept apart (:attr:`w_size`) so that no weight under- or
        overflows however small or large ``W`` is.
        """
        self.single("the chi-square weights")
        S = self.sigma_sqrt
        return S @ (self.W / self.w_size) @ S

    @property
    def w_size(self) -> float:
        """``max |W|`` (1 for ``W = 0``)."""
        size = float(np.abs(self.W).max())
        return size if size > 0 else 1.0

    @cached_property
    def chi2_weights(self) -> np.ndarray:
        """The ``2d`` chi-square weights of every position's centered logit, shape ``(..., T, 2d)``."""
        self.single("the chi-square weights")
        if self.query == "all":
            raise _checks.ArgumentError("query", "must be a single position for the chi-square weights, "
                                        "got 'all'")
        alpha, beta = self.coefficients
        c = float(self.c)
        if "_symmetric_spectrum" in self.__dict__ and self.__dict__["_symmetric_spectrum"] is not None:
            return symmetric_weights(self._symmetric_spectrum, alpha, beta, c)   # given eigenvalues
        mu = self._symmetric_spectrum
        c = c * self.w_size
        if mu is not None:
            require(matrices(3 * max(1, mu[..., 0].size), self.T, 2 * mu.shape[-1]), "T",
                    f"the chi-square weights of {self.T} positions")
            return symmetric_weights(mu, alpha, beta, c)
        B, d, T = self.B, self.d, self.T
        require(matrices(3, T, 2 * d) + matrices(1, 2 * d, 2 * d), "T", f"the chi-square weights of {T} positions")
        gamma = np.sqrt(np.clip(alpha - beta * beta, 0.0, None))
        out = np.empty((T, 2 * d))
        step = max(1, _MAX_FLOATS // (4 * d * d))
        for lo in range(0, T, step):               # blocks of positions bound the memory
            M = _block_forms(B, gamma[lo:lo + step], beta[lo:lo + step])
            out[lo:lo + step] = 0.5 * c * _rounding_to_zero(np.linalg.eigvalsh(M))
        return out


    @cached_property
    def noncentral_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lambda, l)``, each ``(T, 2d)``: ``zc_i = sum_k lambda_ik Z_k^2 + l_ik Z_k``, ``Z ~ N(0, I)``.

        With ``x_q = mu_x + y_q``, ``zc_i = c u_i^T W y_q + c u_i^T W mu_x``; writing
        ``y_q = sqrt(kappa) S h_2``, ``u_i = S (g_i h_1 + r_i h_2)`` (``S = Sigma^{1/2}``,
        ``r_i = beta_i/sqrt(kappa)``, ``g_i^2 = alpha_i - r_i^2``) the second term is ``l_i^T h`` with
        ``l_i = c [g_i b; r_i b]``, ``b = S W mu_x``; in the eigenbasis ``P_i`` of ``M_i``
        (``zc_i = h^T M_i h + l_i^T h``) the weights are the eigenvalues and the linear
        coefficients ``P_i^T l_i`` (docs/theory.md (3.30), ``derivations/noncentral.py``).  For
        symmetric ``B = sum_j mu_j v_j v_j^T`` the pairs are, per ``j`` and sign,
        ``((c/2) mu_j (beta_i +- sqrt(alpha_i kappa)), c (v_j^T b) sqrt((alpha_i +- sqrt(alpha_i) r_i)/2))``.
        Without a token mean ``l = 0`` and ``lambda`` is :attr:`chi2_weights`.
        """
        weights = self.chi2_weights
        if self.token_mean is None:
            return weights, np.zeros_like(weights)
        alpha = self.mean_coefficient
        if self.data.is_random_walk and self.query == self.T and not self.causal:
            kappa, beta = 1.0, walk.coefficients(self.T)[1]
        else:
            _, beta, k_q = self._general
            kappa = float(k_q)
        r = beta / np.sqrt(kappa) if kappa > 0 else np.zeros_like(beta)      # |r_i| <= sqrt(alpha_i)
        c, cw = float(self.c), float(self.c) * self.w_size
        b = self.sigma_sqrt @ self.W @ self.token_mean
        A, beta_c = self.coefficients                                       # alpha_i kappa, beta_i
        B, d, T = self.B, self.d, self.T
        if self._symmetric_spectrum is not None:
            mu, V = np.linalg.eigh(0.5 * (B + B.T))
            bt = V.T @ b
            root = np.sqrt(alpha)[:, None]
            plus = np.sqrt(np.clip(alpha[:, None] + root * r[:, None], 0.0, None) / 2)
            minus = np.sqrt(np.clip(alpha[:, None] - root * r[:, None], 0.0, None) / 2)
            return (symmetric_weights(_rounding_to_zero(mu), A, beta_c, cw),
                    c * np.concatenate([plus * bt, minus * bt], axis=-1))
        g = np.sqrt(np.clip(alpha - r * r, 0.0, None))
        gamma = np.sqrt(np.clip(A - beta_c * beta_c, 0.0, None))
        lam, out = np.empty((T, 2 * d)), np.empty((T, 2 * d))
        step = max(1, _MAX_FLOATS // (4 * d * d))
        for lo in range(0, T, step):               # blocks of positions bound the memory
            e, P = np.linalg.eigh(_block_forms(B, gamma[lo:lo + step], beta_c[lo:lo + step]))
            lam[lo:lo + step] = 0.5 * cw * _rounding_to_zero(e)
            lvec = c * np.concatenate([g[lo:lo + step, None] * b, r[lo:lo + step, None] * b], axis=-1)
            out[lo:lo + step] = np.einsum("tkj,tk->tj", P, lvec)
        return lam, out


#: Float64 arrays of the chi-square weights' shape ``(T, 2d)`` the exact and saddlepoint methods hold
#: at their peak (measured with tracemalloc on ``theory_spectrum(0.5, 0.1, d, T, method=...)``:
#: 19-20 for d = 16 at T = 2000 and 4000; 13 (exact) and 19.5 (saddlepoint) for d = 64, T = 2000).
CHI2_ARRAYS = 24


#: Seconds per chi-square weight (one of ``T x 2d``) of each method, measured on ``theory(W, T,
#: method=...)`` (2026-12-06, one core): exact 5.8e-6 (d = 4, T = 10^5) and 1.1e-5 (d = 32, T = 4000);
#: saddle point 1.2e-5 (d = 4, T = 8000), 1.3e-5 (d = 32, T = 4000) and 1.8e-5 (d = 4, T = 10^5).  The
#: larger of each is kept.
CHI2_SECONDS = {"exact": 1.1e-5, "saddlepoint": 1.8e-5}


def require_chi2(model: LogitModel, method: str = "exact", models: int = 1) -> None:
    """Refuse (``ArgumentError`` naming ``T``, or ``d`` when ``2d > T``) a chi-square method whose
    ``CHI2_ARRAYS T 2d`` float64 numbers exceed the machine's memory, or whose ``models x T x 2d``
    weights take longer than :data:`sigprop.core.memory.MAX_SECONDS` (:data:`CHI2_SECONDS`), before any work."""
    require_chi2_size(model.T, model.d, method, models)
    if "_symmetric_spectrum" not in model.__dict__:      # no eigenvalues given: W's eigenproblems
        d, T = model.d, model.T
        symmetric = model.identity_step and np.array_equal(model.W, np.swapaxes(model.W, -1, -2))
        seconds = models * (cubic_seconds(d, "eigh") + (0.0 if symmetric else T * cubic_seconds(2 * d, "eigh")))
        require_time(seconds, "W" if symmetric else ("T" if T >= 2 * d else "W"),
                     f"the eigendecomposition of W ({d} x {d})" if symmetric else
                     f"{T} eigendecompositions of {2 * d} x {2 * d} quadratic forms (W is not symmetric)")


def require_chi2_size(T: int, d: int, method: str = "exact", models: int = 1) -> None:
    """:func:`require_chi2` from the sizes: ``T`` positions, dimension ``d``, ``models`` models one at a time."""
    name = "T" if T >= 2 * d else "d"
    require(matrices(CHI2_ARRAYS, T, 2 * d), name,
            f"{CHI2_ARRAYS} float64 arrays of {T} positions x {2 * d} chi-square weights")
    weights = float(models) * float(T) * 2.0 * float(d)
    require_time(weights * CHI2_SECONDS[method], name,
                 f"the {method} method on {weights:.3g} chi-square weights ({models} model(s) x {T} positions x "
                 f"{2 * d}; {CHI2_SECONDS[method]:.2g} s each, measured)")


def _block_forms(B: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """The symmetric ``2d x 2d`` matrices ``[[0, g B], [g B^T, b (B + B^T)]]``, one per pair
    ``(g, b)`` of ``gamma, beta``: the quadratic forms whose eigenvalues are the chi-square weights."""
    d = B.shape[0]
    g, b = gamma[:, None, None], beta[:, None, None]
    M = np.zeros((g.shape[0], 2 * d, 2 * d))
    M[:, :d, d:] = g * B
    M[:, d:, :d] = g * B.T
    M[:, d:, d:] = b * (B + B.T)
    return M


def _rounding_to_zero(eig: np.ndarray) -> np.ndarray:
    """Computed eigenvalues within the solver's rounding of zero (``4 n eps max|eig|``, per
    row) set to 0: they are indistinguishable from 0, and a rank-deficient ``W`` would
    otherwise carry ``2d - 2 rank`` spurious weights of order ``1e-17`` into the
    distribution function (``docs/exact.md``)."""
    n = eig.shape[-1]
    big = np.abs(eig).max(axis=-1, keepdims=True)
    return np.where(np.abs(eig) > 4 * n * np.finfo(float).eps * big, eig, 0.0)


def symmetric_weights(mu, alpha, beta, c) -> np.ndarray:
    """Chi-square weights ``(c/2)(beta_i +- sqrt(alpha_i)) mu_j`` for eigenvalues ``mu`` (..., d).

    Returns shape ``(..., T, 2d)``: the ``+`` weights, then the ``-`` weights.
    """
    mu = np.asarray(mu)[..., None, :]                      # (..., 1, d)
    root = np.sqrt(alpha)[:, None]
    return 0.5 * c * np.concatenate([(beta[:, None] + root) * mu, (beta[:, None] - root) * mu], axis=-1)


def as_model(W, T: int | None = None, step_cov=None, scale=None) -> LogitModel:
    """``W`` itself if it is a :class:`LogitModel` (then ``T``, ``step_cov``, ``scale`` must be
    None or agree), else ``LogitModel(W, T, step_cov=step_cov, scale=scale)``."""
    if isinstance(W, LogitModel):
        if step_cov is not None or scale is not None:
            raise _checks.ArgumentError("step_cov",
                                        "and scale must be None when W is a LogitModel (they are part of it)")
        if T is not None and _checks.integer("T", T, 2) != W.T:
            raise _checks.ArgumentError("T", f"must be None or the model's T = {W.T} when W is a LogitModel, got {T!r}")
        return W
    if T is None:
        raise _checks.ArgumentError("T", "must be given (an integer >= 2) unless W is a LogitModel")
    return LogitModel(W, T, step_cov=step_cov, scale=scale)
