"""Softmax counterparts of ``rho`` for every data model: Monte Carlo and semi-analytic (docs/softmax.md).

With logits ``z_i = c x_i^T W x_T`` (query = last token) and ``p = softmax(z)`` over
``i = 1..T``, three per-position quantities play the role ``rho_i`` plays for the
piecewise-linear softmax (definitions and reasons in docs/softmax.md §1):

* ``weight``: ``E[p_i]``, the expected attention weight;
* ``sensitivity``: ``E[p_i (1 - p_i)]``, the diagonal of the softmax Jacobian
  ``J = diag(p) - p p^T``;
* ``gradient``: ``E[g_i]`` with ``g_i = ||J e_i||^2 / ||J||_F^2``, the share of an isotropic
  upstream gradient's squared norm that reaches logit ``i`` through the attention weights
  (``||J e_i||^2 = p_i^2 (1 - 2 p_i + ||p||^2)``; ``g`` sums to 1).

Two estimators with one signature ``(W, T, *, quantity, step_cov, scale, samples, seed)``:

* :func:`simulate` - plain Monte Carlo over whole random walks (the walks and logits of
  :mod:`sigprop.rho.montecarlo`, batched with bounded memory);
* :func:`semi_analytic` - conditional on ``y = Sigma^{-1/2} x_T``, the logits are
  ``z_i = A s_i + R b_i`` with ``s_i = i/T``, a scalar discrete Brownian bridge ``b``
  (``Cov(b_i, b_j) = min(i,j)/T - ij/T^2``) and two scalars ``A = c y^T B y``,
  ``R = c ||B y||``, ``B = Sigma^{1/2} W Sigma^{1/2}`` (``derivations/softmax_conditional.py``).
  The integral over ``(y, b)`` is done by randomized quasi-Monte Carlo (scrambled Sobol,
  independent replicates for the standard error), with ``b`` built from its Karhunen-Loeve
  (sine) expansion so that the first Sobol coordinates carry most of the path's variance.

Every data model of :mod:`sigprop.rho.data` (temporal covariance ``K``, query ``q``, causal
masking, token mean ``mu_x``) has the same structure (docs/theory.md (3.30)): with
``kappa = K_qq``, ``y = Sigma^{-1/2} (x_q - mu_x) / sqrt(kappa)`` and
``v = c Sigma^{1/2} W x_q``, the logits over the attended positions are, up to a constant,
``z_i = A s_i + R b_i`` with ``A = y^T v``, ``R = ||v||``, ``s_i = K_iq / sqrt(kappa)`` and ``b``
a scalar Gaussian process of covariance ``C = K - K_q K_q^T / kappa`` (the walk: a bridge),
built from the eigenvectors of ``C`` (:func:`conditional_process`).

:func:`limit` is the ``d -> infinity`` form: ``R^2`` concentrates at ``c^2 tr(B^T B)``
and ``A`` becomes Gaussian with mean ``c tr B`` and variance ``c^2 (tr B^2 + tr B^T B)``;
a Gauss-Hermite rule over ``A`` replaces the integral over ``y``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import fft, special
from scipy.stats import qmc

from sigprop.core import checks as _checks
from sigprop.core.labelled import LabelledProfile
from sigprop.core.memory import require_time
from sigprop.core.progress import progress_bar
from sigprop.core.stats import Moments
from sigprop.core.study import Study, register
from sigprop.rho import walk
from sigprop.rho.logits import as_model
from sigprop.rho.montecarlo import centered_logits, general_logits
from sigprop.rho.prediction import LOCALIZATION, MODEL_AXES, POSITION

QUANTITIES = ("weight", "sensitivity", "gradient")

#: Floats one batch of logits may hold (8 MiB in float64), for every estimator here.
_BATCH_FLOATS = 1 << 20


@dataclass(frozen=True, kw_only=True)
class SoftmaxProfile(LabelledProfile):
    """A per-position softmax quantity and its standard error.

    ``value`` and ``se`` have shape ``(T,)`` for one quantity, ``(k, T)`` for ``k``
    quantities (in the order of ``config["quantity"]``); ``positions`` is ``1..T``.
    """
    positions: np.ndarray
    value: np.ndarray
    se: np.ndarray
    config: dict = field(default_factory=dict)
    AXES = ("quantity",)                # the leading axis of several quantities, in to_xarray()

    def select(self, quantity: str) -> SoftmaxProfile:
        """The profile of one ``quantity`` out of a multi-quantity result."""
        names = self.config["quantity"]
        if isinstance(names, str):
            if quantity != names:
                raise _checks.ArgumentError("quantity",
                                            f"must be {names!r} for this profile, got {quantity!r}")
            return self
        _checks.choice("quantity", quantity, names)
        k = list(names).index(quantity)
        return SoftmaxProfile(positions=self.positions, value=self.value[k], se=self.se[k],
                              config={**self.config, "quantity": quantity})


def _quantities(quantity) -> tuple[list[str], bool]:
    single = isinstance(quantity, str)
    names = [quantity] if single else list(quantity)
    if not names:
        raise _checks.ArgumentError("quantity", f"must name at least one of {', '.join(QUANTITIES)}")
    for q in names:
        _checks.choice("quantity", q, QUANTITIES)
    return names, single


def softmax_quantities(z: np.ndarray, names=QUANTITIES) -> np.ndarray:
    """Per-sample quantities from logits ``z`` of shape ``(..., T)``: shape ``(..., k, T)``.

    ``weight = p``, ``sensitivity = p (1 - p)``, ``gradient = p^2 (1 - 2p + ||p||^2) / ||J||_F^2``
    with ``||J||_F^2 = sum_i p_i^2 (1 - 2 p_i + ||p||^2)``.  Where ``||J||_F^2`` underflows
    to 0 (``p`` one-hot in floating point) the share is split 1/2, 1/2 between the two
    largest logits, its limit when the other weights vanish faster.
    """
    p = special.softmax(z, axis=-1)
    out = []
    for q in names:
        if q == "weight":
            out.append(p)
        elif q == "sensitivity":
            out.append(p * (1.0 - p))
        else:
            norm2 = np.sum(p * p, axis=-1, keepdims=True)
            col = p * p * (1.0 - 2.0 * p + norm2)
            total = col.sum(axis=-1, keepdims=True)
            share = col / np.where(total > 0, total, 1.0)
            if np.any(total == 0):
                top2 = np.argsort(z, axis=-1)[..., -2:]
                fallback = np.zeros_like(p)
                np.put_along_axis(fallback, top2, 0.5, axis=-1)
                share = np.where(total > 0, share, fallback)
            out.append(share)
    return np.stack(out, axis=-2)


def _config(model, names, single, **extra) -> dict:
    data = {} if model.is_walk else model.data_config
    return dict(T=model.T, d=model.d, scale=model.scale, quantity=names[0] if single else names,
                **data, **extra)


def _single_query(model):
    """``model`` if its query is one position (softmax profiles are per query)."""
    if isinstance(model.query, str):
        raise _checks.ArgumentError("query", "must be one position 1..T for softmax quantities, got 'all'")
    return model


def _attended(model) -> np.ndarray:
    """Indices (0-based) of the positions the query attends to: ``1..q`` if causal, else all."""
    return np.arange(model.query if model.causal else model.T)


def _profile(model, inside, mean, se, config, single) -> SoftmaxProfile:
    """A :class:`SoftmaxProfile` over ``1..T``; positions a causal query does not attend to hold 0
    (no weight, no sensitivity, no gradient; standard error 0)."""
    T = model.T
    value = np.zeros(mean.shape[:-1] + (T,))
    error = np.zeros_like(value)
    value[..., inside] = mean
    error[..., inside] = se
    if single:
        value, error = value[0], error[0]
    return SoftmaxProfile(positions=np.arange(1, T + 1), value=value, se=error, config=config)


def simulate(W, T: int | None = None, *, quantity="weight", step_cov=None, scale=None,
             samples: int = 100_000, seed=None, batch_size: int | None = None,
             progress: bool = False) -> SoftmaxProfile:
    """Plain Monte Carlo estimate of a softmax quantity over whole random walks.

    Parameters
    ----------
    W, T, step_cov, scale
        As in :func:`sigprop.rho.montecarlo.simulate` (an array with ``T``, or a
        :class:`~sigprop.rho.logits.LogitModel` alone).
    quantity : str or sequence of str
        ``weight``, ``sensitivity``, ``gradient`` (or several).
    samples, seed, batch_size, progress
        As in :func:`sigprop.rho.montecarlo.simulate`; ``se`` is the sample standard
        deviation over ``sqrt(samples)``.
    """
    model = _single_query(as_model(W, T, step_cov, scale).single("simulation"))
    names, single = _quantities(quantity)
    samples = _checks.integer("samples", samples, 2)
    T, d, c = model.T, model.d, float(model.c)
    inside = _attended(model)
    if not model.is_walk and batch_size is None:          # a sample holds T d numbers
        batch_size = max(1, walk.BATCH_ELEMENTS // (T * (d + 1)))
    moments = Moments()
    with progress_bar(samples, progress, unit="seq", desc="simulating softmax") as bar:
        for steps in walk.standard_steps(samples, T, d, seed=seed, batch_size=batch_size):
            z = (centered_logits(steps, model.W, c, model.step_factor) if model.is_walk
                 else general_logits(steps, model)[:, inside])
            moments.add(softmax_quantities(z, names))
            bar.update(steps.shape[0])
    mean, _, se, _ = moments.result()
    config = _config(model, names, single, method="monte-carlo", samples=samples, seed=seed)
    return _profile(model, inside, mean, se, config, single)


def bridge_basis(T: int) -> np.ndarray:
    """Standard deviations ``sqrt(lambda_k)``, ``k = 1..T-1``, of the bridge's sine modes.

    The discrete Brownian bridge ``b_i = w_i - (i/T) w_T`` (``w`` a walk of ``T`` steps of
    variance ``1/T``) has ``Cov(b_i, b_j) = min(i,j)/T - ij/T^2 = (1/T) (L^{-1})_ij`` for
    the ``(T-1) x (T-1)`` second-difference matrix ``L = tridiag(-1, 2, -1)``, whose
    eigenvectors are ``sqrt(2/T) sin(pi k i / T)`` with eigenvalues ``4 sin^2(pi k / (2T))``;
    so ``lambda_k = 1 / (4 T sin^2(pi k / (2T)))``, decreasing in ``k``.
    """
    T = _checks.integer("T", T, 2)
    k = np.arange(1, T)
    return 1.0 / (2.0 * np.sqrt(T) * np.sin(np.pi * k / (2 * T)))


def bridges(xi: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Bridges ``b`` of shape ``(n, T)`` (``b_T = 0``) from mode coefficients ``xi`` ``(n, T-1)``.

    ``b_i = sum_k sd_k xi_k sqrt(2/T) sin(pi k i / T)`` by a type-I discrete sine transform
    (``O(T log T)`` per path).
    """
    T = xi.shape[-1] + 1
    out = np.zeros(xi.shape[:-1] + (T,))
    out[..., :-1] = fft.dst(xi * sd, type=1, axis=-1) / np.sqrt(2.0 * T)
    return out


def _mean_shift(model) -> np.ndarray:
    """``a0 = Sigma^{1/2} (W / max|W|) mu_x`` (zeros without a token mean)."""
    if model.token_mean is None:
        return np.zeros(model.d)
    return model.sigma_sqrt @ ((model.W / model.w_size) @ model.token_mean)


def conditional_scalars(model, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(A, R)`` for whitened query tokens ``y`` (shape ``(n, d)``): ``A = y^T v``, ``R = ||v||``.

    ``v = c Sigma^{1/2} W x_q = c (sqrt(kappa) B y + Sigma^{1/2} W mu_x)`` with
    ``B = Sigma^{1/2} W Sigma^{1/2}`` and ``kappa = K_qq`` (the walk, query at ``T``:
    ``A = c y^T B y``, ``R = c ||B y||``).
    """
    c = float(model.c) * model.w_size         # LogitModel.B is Sigma^{1/2} (W / max|W|) Sigma^{1/2}
    kappa = _kappa(model)
    v = c * (np.sqrt(kappa) * (y @ model.B.T) + _mean_shift(model))
    return np.einsum("nd,nd->n", y, v), np.sqrt(np.einsum("nd,nd->n", v, v))


def _kappa(model) -> float:
    if model.is_walk:
        return 1.0
    K = model.data.covariance(model.T)
    return float(K[model.query - 1, model.query - 1])


def conditional_process(model) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(s, sd, U)``: the drift ``s_i`` and the modes of ``b`` over the attended positions.

    ``s_i = K_iq / sqrt(K_qq)`` and ``C = K - K_q K_q^T / K_qq`` restricted to the attended
    positions (docs/theory.md (3.30)); ``C = U diag(sd^2) U^T`` with the modes in decreasing
    variance and those below ``1e-12`` of the largest dropped.  For the random walk with the
    query at ``T``, ``U`` is None: the modes are the bridge's sines (:func:`bridge_basis`,
    applied by :func:`bridges`).  A query with ``K_qq = 0`` (a deterministic query token) has
    ``s = 0`` and ``C = K``.
    """
    T = model.T
    if model.is_walk:
        return np.arange(1, T + 1) / T, bridge_basis(T), None
    K = model.data.covariance(T)
    inside = _attended(model)
    q = model.query - 1
    kappa = float(K[q, q])
    col = K[inside, q]
    KI = K[np.ix_(inside, inside)]
    if kappa > 1e-300:
        s = col / np.sqrt(kappa)
        C = KI - np.outer(col, col) / kappa
    else:
        s, C = np.zeros(inside.size), KI
    lam, U = np.linalg.eigh(0.5 * (C + C.T))
    order = np.argsort(lam)[::-1]
    lam, U = lam[order], U[:, order]
    keep = lam > 1e-12 * max(float(lam[0]), np.finfo(float).tiny)
    return s, np.sqrt(lam[keep]), U[:, keep]


def _paths(xi: np.ndarray, sd: np.ndarray, U: np.ndarray | None) -> np.ndarray:
    """Paths of ``b`` from standard normal mode coefficients ``xi`` (``n x modes``)."""
    if U is None:
        return bridges(xi, sd)
    return (xi * sd) @ U.T


def _rqmc(dim: int, points: int, replicates: int, seed, evaluate, progress: bool, desc: str):
    """Mean over ``replicates`` scrambled-Sobol replicates of ``evaluate(u)``, and its se.

    ``evaluate`` maps uniform points ``(n, dim)`` to per-point values ``(n, ...)``; the
    points of one replicate are drawn in chunks so memory stays bounded.
    """
    if points & (points - 1):
        raise _checks.ArgumentError("points", f"must be a power of 2, got {points}")
    chunk = min(points, max(64, 1 << int(np.log2(max(1, _BATCH_FLOATS // max(dim, 1))))))
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    seeds = root.spawn(replicates)
    estimates = []
    with progress_bar(replicates * points, progress, unit="pt", desc=desc) as bar:
        for ss in seeds:
            engine = qmc.Sobol(dim, scramble=True, seed=np.random.default_rng(ss))
            total: np.ndarray | float = 0.0
            for _ in range(points // chunk):
                total = total + evaluate(engine.random(chunk)).sum(axis=0)
                bar.update(chunk)
            estimates.append(total / points)
    est = np.array(estimates)
    return est.mean(axis=0), est.std(axis=0, ddof=1) / np.sqrt(replicates)


def _points(samples: int, replicates: int) -> int:
    """Points per replicate; ``samples`` must be ``replicates`` times a power of 2."""
    points = samples // replicates
    if points < 1 or points & (points - 1) or points * replicates != samples:
        raise _checks.ArgumentError("samples",
                                    f"must be replicates ({replicates}) times a power of 2, got {samples}")
    return points


def _normal(u: np.ndarray) -> np.ndarray:
    return special.ndtri(np.clip(u, 1e-16, 1 - 1e-16))


#: Seconds of the semi-analytic method per point: per position or dimension (the normal quantiles, the
#: softmax) and per pair of positions (the bridge's modes, ``points x T x T``); one BLAS thread, both
#: cores busy, at (T, d) = (32, 16), (128, 16), (32, 128) and (256, 64), and 2^20 and 2^24 points at (32, 16)
#: (7.2 s and 135 s; measured 2026-12-08).
SEMI_ANALYTIC_SECONDS = (1.6e-7, 4.0e-10)


def semi_analytic_seconds(points: float, T: float, d: float) -> float:
    """Estimated seconds of :func:`semi_analytic` on ``points`` points (:data:`SEMI_ANALYTIC_SECONDS`)."""
    return float(points) * (SEMI_ANALYTIC_SECONDS[0] * (float(T) + float(d)) + SEMI_ANALYTIC_SECONDS[1] * float(T) ** 2)


def check_semi_analytic(samples, T: int, d: int, replicates=16, *, modes: int | None = None) -> int:
    """Refuse (``ArgumentError`` naming ``samples``, ``replicates`` or ``T``) the semi-analytic method on
    ``samples`` points for ``T`` positions and ``d`` dimensions, before any work: ``samples`` an integer,
    ``replicates`` times a power of 2; ``d + modes`` Sobol dimensions at most ``qmc.Sobol.MAXDIM``
    (``modes``: the process's modes, at most ``T - 1``, the random walk's bridge); its time
    (:func:`semi_analytic_seconds`) within the limit.  Returns the points per replicate.
    :func:`semi_analytic` calls it, and the sweep's checks of the studies that run it."""
    samples = _checks.integer("samples", samples, 2)
    replicates = _checks.integer("replicates", replicates, 2)
    points = _points(samples, replicates)
    if d + (T - 1 if modes is None else modes) > qmc.Sobol.MAXDIM:
        raise _checks.ArgumentError("T", f"plus d - 1 must be at most {qmc.Sobol.MAXDIM} (Sobol dimensions) "
                                         f"for the semi-analytic method, got T = {T}, d = {d}")
    require_time(semi_analytic_seconds(samples, T, d), "samples",
                 f"the semi-analytic method on {samples} points of {T} positions and {d} dimensions "
                 f"({SEMI_ANALYTIC_SECONDS[0]:g} s a point per position or dimension, {SEMI_ANALYTIC_SECONDS[1]:g} s "
                 "a point per pair of positions, measured)")
    return points


def semi_analytic(W, T: int | None = None, *, quantity="weight", step_cov=None, scale=None,
                  samples: int = 1 << 16, seed=None, replicates: int = 16,
                  progress: bool = False) -> SoftmaxProfile:
    """Softmax quantity from the conditional Gaussian process, by randomized quasi-Monte Carlo.

    ``z_i = A s_i + R b_i`` given ``y`` (module doc); the ``d + T - 1`` coordinates
    ``(y, xi)`` of each point are normal quantiles of a scrambled Sobol point, ``y`` first
    and the bridge's sine modes in decreasing variance.  ``samples`` points in all, split
    into ``replicates`` independent scramblings (``samples / replicates`` a power of 2);
    ``se`` is the standard deviation of the replicate means over ``sqrt(replicates)``.
    The estimate is unbiased for every ``samples``.
    """
    model = _single_query(as_model(W, T, step_cov, scale).single("the semi-analytic method"))
    names, single = _quantities(quantity)
    T, d = model.T, model.d
    s, sd, U = conditional_process(model)
    points = check_semi_analytic(samples, T, d, replicates, modes=sd.size)

    def evaluate(u):
        y = _normal(u[:, :d])
        A, R = conditional_scalars(model, y)
        z = A[:, None] * s + R[:, None] * _paths(_normal(u[:, d:]), sd, U)
        return softmax_quantities(z, names)

    mean, se = _rqmc(d + sd.size, points, replicates, seed, evaluate, progress, "semi-analytic softmax")
    config = _config(model, names, single, method="semi-analytic", samples=samples, replicates=replicates,
                     seed=seed)
    return _profile(model, _attended(model), mean, se, config, single)


def limit_scalars(model) -> tuple[float, float, float]:
    """``(E A, sd A, sqrt(E R^2))``: with ``kappa = K_qq`` and ``a0 = Sigma^{1/2} W mu_x``,
    ``E A = c sqrt(kappa) tr B``, ``Var A = c^2 (kappa (tr B^2 + tr B^T B) + ||a0||^2)``,
    ``E R^2 = c^2 (kappa ||B||_F^2 + ||a0||^2)`` (docs/theory.md (3.31)).

    Exact moments for every ``d`` (``derivations/softmax_conditional.py``); for the walk, as
    ``d -> infinity`` with ``c = 1/sqrt(d)`` and the spectrum's ``(m, v)`` fixed, ``R``
    concentrates at ``sqrt(m^2 + v)`` and ``A - sqrt(d) m`` tends to ``N(0, 2(m^2 + v))``.
    """
    B, c = model.B, float(model.c) * model.w_size    # LogitModel.B holds W / max|W|
    kappa = _kappa(model)
    a2 = float(np.sum(_mean_shift(model) ** 2))
    frob = float(np.sum(B * B))
    var_a = kappa * (float(np.sum(B * B.T)) + frob) + a2
    return (c * np.sqrt(kappa) * float(np.trace(B)), c * np.sqrt(max(var_a, 0.0)),
            c * np.sqrt(kappa * frob + a2))


def limit(W, T: int | None = None, *, quantity="weight", step_cov=None, scale=None,
          samples: int = 1 << 14, seed=None, replicates: int = 16, nodes: int = 40,
          progress: bool = False) -> SoftmaxProfile:
    """The ``d -> infinity`` form: ``A ~ N(E A, sd A^2)`` by Gauss-Hermite, ``R = sqrt(E R^2)``.

    The bridge integral uses the same randomized quasi-Monte Carlo as
    :func:`semi_analytic` (common points across the ``nodes`` values of ``A``).
    """
    model = _single_query(as_model(W, T, step_cov, scale).single("the d -> infinity limit"))
    names, single = _quantities(quantity)
    samples = _checks.integer("samples", samples, 2)
    replicates = _checks.integer("replicates", replicates, 2)
    nodes = _checks.integer("nodes", nodes, 1)
    points = _points(samples, replicates)
    T = model.T
    s, sd, U = conditional_process(model)
    if sd.size > qmc.Sobol.MAXDIM:
        raise _checks.ArgumentError("T", f"must be at most {qmc.Sobol.MAXDIM + 1} for the limit, got {T}")
    mean_a, sd_a, r = limit_scalars(model)
    x, w = special.roots_hermitenorm(nodes)
    w = w / w.sum()
    A = mean_a + sd_a * x

    def evaluate(u):
        b = r * _paths(_normal(u[:, :sd.size]), sd, U)         # (n, attended)
        return sum(wk * softmax_quantities(ak * s + b, names) for ak, wk in zip(A, w, strict=True))

    mean, se = _rqmc(max(sd.size, 1), points, replicates, seed, evaluate, progress, "softmax limit")
    config = _config(model, names, single, method="limit", samples=samples, replicates=replicates,
                     nodes=nodes, seed=seed)
    return _profile(model, _attended(model), mean, se, config, single)


_PROFILES = ("rho",) + QUANTITIES          # sigprop.rho.softmax_map.KINDS

#: The sweep study ``softmax``: every quantity by :func:`semi_analytic` beside ``rho``, with
#: localization (one cell is :func:`sigprop.sweep.studies.softmax`).
STUDY = register(Study(
    name="softmax", function="sigprop.rho.softmax_profile:semi_analytic", cell="sigprop.sweep.studies:softmax",
    kind="SoftmaxProfile", axes=MODEL_AXES + ("samples",), dims={"position": POSITION},
    cell_outputs={**{k: ("position",) for k in _PROFILES + tuple(f"{q}_se" for q in QUANTITIES)},
                  **{f"{k}_{m}": () for k in _PROFILES for m in LOCALIZATION}},
    check="sigprop.sweep.studies:check_softmax",
    description="semi-analytic softmax weight, sensitivity and gradient share beside rho, with localization"))
