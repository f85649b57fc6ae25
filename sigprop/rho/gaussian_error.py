"""How far the paper's Gaussian approximation of ``rho`` is from the truth (docs/theory.md §3.5).

For a symmetric ``W`` with eigenvalue mean ``m``, variance ``v`` and a chosen
spectrum shape, the study compares, over all positions, the Gaussian ``rho`` with
the exact one (:mod:`sigprop.exact`) and both with Monte Carlo, for a range of
dimensions ``d`` and variances ``v``.  :func:`case` is one ``(d, v)``; :func:`study`
runs the grid (a sweep specification runs the same cases: ``examples/sweeps/``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sigprop._version import __version__
from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.core.labelled import Result
from sigprop.core.progress import iterate
from sigprop.core.study import Study, register
from sigprop.core.vocabulary import canonical_config, keyword
from sigprop.rho.compare import compare
from sigprop.rho.logits import require_chi2_size
from sigprop.rho.montecarlo import simulate
from sigprop.rho.spectrum import make_weights
from sigprop.rho.theory import theory_spectrum


def case(d: int, v: float, *, m: float = 0.5, T: int = 64, shape: str = "gaussian",
         samples: int = 20_000, seed=0, mean: float | None = None) -> dict:
    """Largest errors over positions at one ``(d, v)``.

    ``W = make_weights(m, v, d, shape=shape, seed=[*seed, 0])`` and the simulation
    uses ``seed=[*seed, 1]`` (``seed`` an int or a list of ints).  ``mean`` is the deprecated
    name of ``m`` (:mod:`sigprop.core.vocabulary`).
    """
    mean = keyword("m", m, "mean", mean, 0.5)
    d, v = int(d), float(v)
    seed = [int(s) for s in np.atleast_1d(seed)]
    gauss = theory_spectrum(mean, v, d, T, method="gaussian").rho
    ex = theory_spectrum(mean, v, d, T, method="exact", shape=shape)
    W = make_weights(mean, v, d, shape=shape, seed=[*seed, 0])
    sim = simulate(W, T, samples=samples, seed=[*seed, 1])
    exact_vs_mc = compare(ex, sim)
    gap = np.abs(gauss - ex.rho)
    return dict(d=d, v=v, gauss_vs_exact=float(gap.max()), position=int(gap.argmax()) + 1,
                gauss_vs_mc=compare(ex, sim, rho=gauss).max_abs_error,
                exact_vs_mc=exact_vs_mc.max_abs_error,
                exact_error_bound=float(ex.config["rho_error"].max()),
                ci_halfwidth=float(np.max(sim.ci_high - sim.ci_low) / 2),
                exact_coverage=exact_vs_mc.coverage)


def study(dims: Sequence[int] = (2, 4, 8, 16, 32, 64, 128, 256),
          variances: Sequence[float] = (0.01, 0.1, 1.0), *, m: float = 0.5,
          T: int = 64, shape: str = "gaussian", samples: int = 20_000, seed: int = 0,
          progress: bool = False, mean: float | None = None) -> Result:
    """Largest errors over positions for every ``(d, v)``; see the module doc.

    Every argument is checked before the first case runs, and the memory and time of the largest
    case's exact method (``CHI2_ARRAYS`` float64 arrays of ``T x 2d`` and ``CHI2_SECONDS`` per chi-square
    weight, :func:`sigprop.rho.logits.require_chi2_size`). ``mean`` is the deprecated name of ``m``
    (:mod:`sigprop.core.vocabulary`).
    """
    m = keyword("m", m, "mean", mean, 0.5)
    T = _checks.integer("T", T, 2)
    samples = _checks.integer("samples", samples, 3)
    _checks.scalar("m", m)
    dims = [_checks.integer("d", d, 1) for d in np.atleast_1d(np.asarray(dims, dtype=object)).tolist()]
    variances = _checks.real("v", variances, minimum=0.0).ravel().tolist()
    if dims:
        largest = max(dims)
        require_chi2_size(T, largest, "exact")        # its memory and its time, before the Gaussian form runs
    jobs = [(int(d), float(v)) for d in dims for v in variances if not (d == 1 and v > 0)]
    if not jobs:
        raise ArgumentError("dims", "and variances give no valid (d, v) pair (v must be 0 when d = 1)")
    rows = [case(d, v, m=m, T=T, shape=shape, samples=samples, seed=[seed, k])
            for k, (d, v) in enumerate(iterate(jobs, progress, desc="study", unit="case"))]
    return Result(dict(version=__version__,
                       config=dict(dims=list(dims), variances=list(variances), m=m, T=T, shape=shape,
                                   samples=samples, seed=seed), rows=rows),
                  kind="gaussian-error", keys={"rows": ("d", "v")})


#: The sweep study ``gaussian-error``: one ``(d, v)`` a cell (:func:`case`); :func:`study` runs the grid.
STUDY = register(Study(
    name="gaussian-error", function="sigprop.rho.gaussian_error:study", cell="sigprop.rho.gaussian_error:case",
    check="sigprop.sweep.studies:check_gaussian_error",
    kind="gaussian-error", axes=("d", "v", "m", "T", "shape", "samples"),
    cell_outputs={k: () for k in ("gauss_vs_exact", "position", "gauss_vs_mc", "exact_vs_mc", "exact_error_bound",
                                  "ci_halfwidth", "exact_coverage")},
    figure="sigprop.rho.gaussian_error:gaussian_error_figure",
    quick=dict(dims=[2, 8, 32], variances=[0.1, 1.0], samples=4000),
    description="error of the Gaussian approximation against exact rho and Monte Carlo (one (d, v) a cell)"))


#: The map's families of ``W``: ``symmetric`` (eigenvalues ``m + sqrt(v) z`` on ``rank`` of the ``d``
#: coordinates, ``z = standard_spectrum(rank)``, 0 elsewhere) and ``general`` (the low-rank product
#: ``sqrt(v / (d rank)) Q K^T + m Q Q^T / rank`` of ``d x rank`` standard normal ``Q, K``: eigenvalue
#: mean ``m`` on average, the first term of squared Frobenius norm ``~ d v`` as in the symmetric
#: family, not symmetric).
FAMILIES = ("symmetric", "general")


def map_weights(family: str, d: int, rank: int, mean: float, v: float, seed=0) -> np.ndarray:
    """The ``d x d`` matrix ``W`` of one map row (see :data:`FAMILIES`)."""
    if family == "symmetric":
        from sigprop.rho.spectrum import standard_spectrum

        lam = np.zeros(d)
        lam[:rank] = mean + np.sqrt(v) * standard_spectrum(rank)
        return np.diag(lam)
    rng = np.random.default_rng([int(s) for s in np.atleast_1d(seed)] + [d, rank])
    Q, K = rng.standard_normal((2, d, rank))
    return np.sqrt(v / (d * rank)) * Q @ K.T + mean * Q @ Q.T / rank


def map_case(family: str, d: int, rank: int, mean: float, v: float, T: int, seed=0) -> dict:
    """One row of the map: ``max_i |rho_gauss - rho_exact|`` with the rule's features of ``W``
    (:func:`sigprop.rho.auto.features`)."""
    from sigprop.rho.auto import features
    from sigprop.rho.logits import LogitModel
    from sigprop.rho.theory import theory

    W = map_weights(family, d, rank, mean, v, seed)
    model = LogitModel(W, T)
    if family == "symmetric":                       # the eigenvalues are known: no eigenproblem
        model.__dict__["_symmetric_spectrum"] = np.diag(W).copy()
    f = features(model)
    gauss = theory(model, method="gaussian").rho
    ex = theory(model, method="exact")
    gap = np.abs(gauss - ex.rho)
    return dict(family=family, d=int(d), rank=int(rank), m=float(mean), v=float(v), T=int(T),
                effective_rank=float(f["effective_rank"]), size=float(f["size"]),
                symmetric=bool(f["symmetric"]), gauss_vs_exact=float(gap.max()), position=int(gap.argmax()) + 1,
                exact_error_bound=float(ex.config["rho_error"].max()))


def error_map(dims: Sequence[int] = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
              means: Sequence[float] = (0.0, 0.5, 2.0), variances: Sequence[float] = (0.01, 0.1, 1.0),
              lengths: Sequence[int] = (8, 64, 512), *,
              general_dims: int = 256, general_lengths: Sequence[int] = (8, 64), seed: int = 0,
              progress: bool = False) -> Result:
    """The measured map of the Gaussian error that :mod:`sigprop.rho.auto` reads.

    Rows: every family, ``d`` in ``dims``, rank in the powers of 2 up to ``d`` (and ``d``; the
    ``general`` family: powers of 4 and ``d``, ``d <= general_dims``, ``T`` in ``general_lengths``),
    every ``(m, v)`` and ``T``.
    """
    jobs = []
    for d in dims:
        for family in FAMILIES:
            if family == "general" and d > general_dims:
                continue
            base = 2 if family == "symmetric" else 4
            ranks = sorted({base ** k for k in range(0, 11) if base ** k <= d} | {int(d)})
            for rank in ranks:
                for mean in means:
                    for v in variances:
                        for T in (lengths if family == "symmetric" else general_lengths):
                            jobs.append((family, int(d), rank, float(mean), float(v), int(T)))
    rows = [map_case(family, d, rank, mean, v, T, seed=seed)
            for family, d, rank, mean, v, T in iterate(jobs, progress, desc="map", unit="case")]
    return Result(dict(version=__version__,
                       config=dict(command=f"sigprop gaussian-error --map --seed {seed}",
                                   dims=[int(d) for d in dims], means=list(means), variances=list(variances),
                                   lengths=list(lengths), general_dims=general_dims,
                                   general_lengths=list(general_lengths), seed=seed, families=list(FAMILIES)),
                       rows=rows),
                  kind="gaussian-error-map", keys={"rows": ("family", "d", "rank", "m", "v", "T")})


# --- figure ---------------------------------------------------------------------------------

def gaussian_error_figure(result: dict, path) -> None:
    """Largest error of the Gaussian rho against d, per eigenvalue variance."""
    from sigprop.plotting import pyplot, save

    plt = pyplot()
    cfg, rows = canonical_config(result["config"]), result["rows"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    greys = ("k", "0.35", "0.6", "0.8")
    markers = ("o", "s", "^", "D")
    for j, v in enumerate(sorted({r["v"] for r in rows})):
        sub = [r for r in rows if r["v"] == v]
        d = np.array([r["d"] for r in sub])
        color, marker = greys[j % 4], markers[j % 4]
        ax.plot(d, [r["gauss_vs_exact"] for r in sub], "-", color=color, marker=marker, mfc=color,
                label=f"v = {v:g}: Gaussian vs exact")
        ax.plot(d, [r["gauss_vs_mc"] for r in sub], "none", marker=marker, mec=color, mfc="white", ms=8,
                label=f"v = {v:g}: Gaussian vs Monte Carlo")
    half = max(r["ci_halfwidth"] for r in rows)
    ax.axhline(half, color="0.5", ls=":", lw=1,
               label=f"Monte Carlo 95% half-width ({cfg['samples']} samples)")
    ax.set(xscale="log", yscale="log", xlabel="dimension d",
           ylabel=r"$\max_i |\rho_i^{\mathrm{Gauss}} - \rho_i|$",
           title=f"error of the Gaussian approximation, m = {cfg['m']}, T = {cfg['T']}")
    ax.legend(fontsize=7)
    save(fig, path)
