"""``method="auto"``: the exact method where the Gaussian approximation is off, the Gaussian elsewhere.

The Gaussian approximation of ``rho_i = P(0 < zc_i < 1)`` replaces the weighted chi-square sum
``zc_i = sum_k lambda_ik Z_k^2`` (docs/theory.md §3.5) by a normal variable with its mean and
variance; its error shrinks as the weights spread over more terms.  The rule measures that
spread by the **effective rank** of ``B = c Sigma^{1/2} W Sigma^{1/2}`` (the matrix whose
eigen- or singular values, times position factors, are the weights),

    r_eff = ||B||_F^4 / ||B^T B||_F^2 = (sum_j s_j^2)^2 / sum_j s_j^4    (s_j: singular values of B),

which is ``r`` for ``r`` equal non-zero singular values and does not depend on the scale ``c``.
The **size** ``||B||_F^2`` (``m^2 + v`` for a full spectrum at the default scale) places the
band ``[0, 1]`` on the distribution.

The rule (:func:`choose`) reads :data:`ENVELOPE`, a table derived from the measured map
``results/gaussian_error/map.json`` (``sigprop gaussian-error --map``; docs/exact.md, section
"Where the Gaussian approximation is good enough"): for each family (symmetric ``B`` or not) and
effective rank ``r_k = 2^(k/2)``, the largest ``max_i |rho_gauss - rho_exact|`` over every map
row of that family with ``r_eff >= r_k / MARGIN`` (whatever ``d``, rank, ``T``, ``m``, ``v``),
and the range of sizes of those rows.  A model's estimated Gaussian error is the entry at the
largest ``r_k <= r_eff`` (a superset of rows: the estimate can only be larger).  The Gaussian
method runs only when that estimate is at most ``tol`` and the model lies inside the measured
map (the random walk with the query at ``T``, ``T`` and the size within the measured ranges);
everywhere else the exact method runs, unless its memory need exceeds the machine (then the
Gaussian method runs, and the reason says so), or it is undefined (``form="limit"``, a
``query="all"`` profile).
"""
from __future__ import annotations

import numpy as np

from sigprop.core import memory
from sigprop.core.checks import ArgumentError
from sigprop.rho.logits import LogitModel

#: Default tolerance on ``max_i |rho_gauss - rho_exact|``.
TOLERANCE = 0.01
#: A map row counts for an effective rank ``r`` when its own is at least ``r / MARGIN``.
MARGIN = 1.5
#: Lengths ``T`` the map measured (outside: not covered, the exact method runs).
T_RANGE = (8, 512)

#: Derived from ``results/gaussian_error/map.json`` by :func:`envelope_table` (a test recomputes it
#: from the stored map): ``family -> ((r_k, largest error, smallest size, largest size), ...)``,
#: errors rounded up and sizes outward to 3 significant digits.
ENVELOPE: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "general": (
        (1.0, 0.328, 0.00207, 901.0),
        (1.414214, 0.328, 0.00207, 901.0),
        (2.0, 0.209, 0.00844, 252.0),
        (2.828427, 0.209, 0.00844, 252.0),
        (4.0, 0.208, 0.00844, 252.0),
        (5.656854, 0.114, 0.00866, 65.4),
        (8.0, 0.0955, 0.00972, 65.4),
        (11.313708, 0.0826, 0.00972, 65.4),
        (16.0, 0.0703, 0.00976, 65.4),
        (22.627417, 0.0435, 0.01, 20.9),
        (32.0, 0.0309, 0.01, 20.9),
        (45.254834, 0.025, 0.01, 20.9),
        (64.0, 0.0134, 0.01, 9.08),
        (90.509668, 0.0134, 0.01, 9.08),
    ),
    "symmetric": (
        (1.0, 0.282, 1.95e-05, 5.0),
        (1.414214, 0.282, 1.95e-05, 5.0),
        (2.0, 0.246, 1.95e-05, 5.0),
        (2.828427, 0.242, 1.95e-05, 5.0),
        (4.0, 0.181, 7.81e-05, 5.0),
        (5.656854, 0.177, 0.000156, 5.0),
        (8.0, 0.107, 0.000156, 5.0),
        (11.313708, 0.104, 0.000312, 5.0),
        (16.0, 0.0611, 0.000312, 5.0),
        (22.627417, 0.0591, 0.000625, 5.0),
        (32.0, 0.0357, 0.000625, 5.0),
        (45.254834, 0.0332, 0.00125, 5.0),
        (64.0, 0.0246, 0.00125, 5.0),
        (90.509668, 0.022, 0.0025, 5.0),
        (128.0, 0.0174, 0.0025, 5.0),
        (181.019336, 0.0145, 0.005, 5.0),
        (256.0, 0.0116, 0.005, 5.0),
        (362.038672, 0.00783, 0.01, 5.0),
        (512.0, 0.00623, 0.01, 5.0),
        (724.077344, 0.00336, 0.26, 5.0),
        (1024.0, 0.00267, 0.26, 4.1),
        (1448.154688, 0.000977, 4.01, 4.01),
    ),
}


def _up(x: float) -> float:
    """``x`` rounded up to 3 significant digits."""
    if x <= 0:
        return 0.0
    e = 10.0 ** (np.floor(np.log10(x)) - 2)
    return float(f"{np.ceil(round(x / e, 6)) * e:.3g}")


def _down(x: float) -> float:
    """``x`` rounded down to 3 significant digits."""
    if x <= 0:
        return 0.0
    e = 10.0 ** (np.floor(np.log10(x)) - 2)
    return float(f"{np.floor(round(x / e, 6)) * e:.3g}")


def envelope_table(rows, margin: float = MARGIN) -> dict[str, tuple[tuple[float, float, float, float], ...]]:
    """:data:`ENVELOPE` from map rows (dicts with ``family``, ``effective_rank``, ``size``,
    ``gauss_vs_exact``): entries at ``r_k = 2^(k/2)`` while some row has ``r_eff >= r_k / margin``."""
    out = {}
    for family in sorted({r["family"] for r in rows}):
        fam = [r for r in rows if r["family"] == family]
        reff = np.array([r["effective_rank"] for r in fam])
        err = np.array([r["gauss_vs_exact"] for r in fam])
        size = np.array([r["size"] for r in fam])
        entries, k = [], 0
        while True:
            rk = 2.0 ** (k / 2)
            sel = reff >= rk / margin
            if not sel.any():
                break
            entries.append((float(round(rk, 6)), _up(float(err[sel].max())), _down(float(size[sel].min())),
                            _up(float(size[sel].max()))))
            k += 1
        out[family] = tuple(entries)
    return out


def features(model: LogitModel) -> dict[str, np.ndarray]:
    """``effective_rank``, ``size`` and ``symmetric`` of every model of the batch (arrays of its shape).

    ``B = c Sigma^{1/2} W Sigma^{1/2}``; ``r_eff = ||B||_F^4 / ||B^T B||_F^2`` (0 for ``B = 0``),
    ``size = ||B||_F^2``.  Computed from the kept eigenvalues for a spectrum model, else with two
    matrix products per model (checked against the machine's memory first).
    """
    c = np.asarray(model.c, dtype=float)
    mu = model.__dict__.get("_symmetric_spectrum")
    if mu is not None:                                  # a spectrum model: its eigenvalues
        mu = np.asarray(mu, dtype=float)
        big = np.abs(mu).max(axis=-1, keepdims=True)
        big = np.where(big > 0, big, 1.0)
        n = mu / big
        s2, s4 = np.sum(n ** 2, axis=-1), np.sum(n ** 4, axis=-1)
        symmetric = np.ones(s2.shape, dtype=bool)
        with np.errstate(over="ignore"):
            scale2 = np.square(c * big[..., 0])
    else:
        W = np.asarray(model.W, dtype=float)
        batch = W.shape[:-2]
        memory.require(memory.matrices(3 * max(1, int(np.prod(batch))), model.d, model.d), "d",
                       f"the effective rank of {max(1, int(np.prod(batch)))} {model.d} x {model.d} matrices")
        S = model.sigma_sqrt
        w_big = np.abs(W).max(axis=(-2, -1))
        w_big = np.where(w_big > 0, w_big, 1.0)
        B = S @ (W / w_big[..., None, None]) @ S          # W's size kept apart: no over- or underflow
        big = np.abs(B).max(axis=(-2, -1))
        big = np.where(big > 0, big, 1.0)
        Bn = B / big[..., None, None]
        big = big * w_big
        G = np.swapaxes(Bn, -1, -2) @ Bn
        s2, s4 = np.sum(Bn ** 2, axis=(-2, -1)), np.sum(G ** 2, axis=(-2, -1))
        symmetric = np.all(np.isclose(Bn, np.swapaxes(Bn, -1, -2), rtol=1e-12, atol=1e-14), axis=(-2, -1))
        with np.errstate(over="ignore"):
            scale2 = np.square(c * big)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        reff = np.where(s4 > 0, s2 * s2 / np.where(s4 > 0, s4, 1.0), 0.0)
        size = scale2 * s2
    shape = np.broadcast_shapes(np.shape(reff), np.shape(scale2))
    return dict(effective_rank=np.broadcast_to(reff, shape), size=np.broadcast_to(size, shape),
                symmetric=np.broadcast_to(symmetric, shape))


def estimate(effective_rank: float, size: float, symmetric: bool, T: int) -> tuple[float | None, str]:
    """The map's estimate of the Gaussian error at one model, or ``None`` with why it is not covered."""
    family = "symmetric" if symmetric else "general"
    table = ENVELOPE.get(family, ())
    if not T_RANGE[0] <= T <= T_RANGE[1]:
        return None, f"T = {T} outside the map's {T_RANGE[0]}..{T_RANGE[1]}"
    below = [e for e in table if e[0] <= max(effective_rank, 1.0)]
    if not below or effective_rank > table[-1][0] * 2 ** 0.5:
        return None, f"effective rank {effective_rank:.3g} beyond the map's range for {family} W"
    rk, err, lo, hi = below[-1]
    if not lo <= size <= hi:
        return None, (f"size ||B||_F^2 = {size:.3g} outside the map's {lo:.3g}..{hi:.3g} "
                      f"at effective rank {effective_rank:.3g}")
    return err, ""


def spectrum_features(m, v, d, scale=None, shape: str = "gaussian") -> dict[str, np.ndarray]:
    """:func:`features` of the spectrum models ``theory_spectrum(m, v, d, T, scale=scale, shape=shape)``
    (``m``, ``v``, ``d``, ``scale`` broadcast), from the eigenvalues ``m + sqrt(v) z`` without building
    any ``W``."""
    from sigprop.rho.logits import resolve_scale
    from sigprop.rho.spectrum import standard_spectrum

    m, v, d = np.asarray(m, dtype=float), np.asarray(v, dtype=float), np.asarray(d)
    c = np.asarray(resolve_scale(scale, d), dtype=float)
    shape_out = np.broadcast_shapes(m.shape, v.shape, d.shape, c.shape)
    reff, size = np.empty(shape_out), np.empty(shape_out)
    mb, vb, db, cb = (np.broadcast_to(x, shape_out) for x in (m, v, d, c))
    for dim in np.unique(db):
        at = db == dim
        memory.require(memory.matrices(2, max(1, int(at.sum())), int(dim)), "d",
                       f"the eigenvalues of {int(at.sum())} spectra of dimension {int(dim)}")
        mu = mb[at][:, None] + np.sqrt(vb[at])[:, None] * standard_spectrum(int(dim), shape)
        big = np.abs(mu).max(axis=-1)
        big = np.where(big > 0, big, 1.0)
        n = mu / big[:, None]
        s2, s4 = np.sum(n ** 2, axis=-1), np.sum(n ** 4, axis=-1)
        with np.errstate(over="ignore"):
            reff[at] = np.where(s4 > 0, s2 * s2 / np.where(s4 > 0, s4, 1.0), 0.0)
            size[at] = np.square(cb[at] * big) * s2
    return dict(effective_rank=reff, size=size, symmetric=np.ones(shape_out, dtype=bool))


#: Float64 arrays of the profile's shape ``(models, T)`` that ``method="auto"`` holds when it runs the
#: exact method model by model: each model's mean, variance, rho and bound, then the stacked four.
EXACT_PROFILE_ARRAYS = 8


def require_exact(T: int, d: int, models: int, *, from_spectrum: bool = False) -> None:
    """Refuse (``ArgumentError`` naming ``T``, or ``d`` when ``2d > T``) the exact method on ``models``
    models one at a time when its memory exceeds the machine: one model's chi-square arrays
    (:data:`sigprop.rho.logits.CHI2_ARRAYS` ``x T x 2d``) and :data:`EXACT_PROFILE_ARRAYS` ``x models x T``;
    with ``from_spectrum``, also the two ``d x d`` matrices of the model built from ``(m, v)``
    (:meth:`sigprop.rho.logits.LogitModel.from_spectrum`, naming ``d``)."""
    from sigprop.rho.logits import CHI2_ARRAYS, require_chi2_size

    if from_spectrum:
        memory.require(memory.matrices(2, d, d), "d", f"{d} x {d} float64 matrices")
    memory.require(memory.matrices(CHI2_ARRAYS, T, 2 * d) + memory.matrices(EXACT_PROFILE_ARRAYS, models, T),
                   "T" if T >= 2 * d else "d",
                   f"{CHI2_ARRAYS} float64 arrays of {T} positions x {2 * d} chi-square weights and "
                   f"{EXACT_PROFILE_ARRAYS} of {models} x {T}")
    require_chi2_size(T, d, "exact", models)             # and its time


def choose(model: LogitModel, form: str = "finite", tol: float = TOLERANCE) -> tuple[str, str, dict]:
    """``(method, reason, details)`` for ``model``: ``"exact"`` or ``"gaussian"`` by the rule of the
    module docstring, ``reason`` one line (``auto: estimated Gaussian error 0.08 > 0.01 at effective
    rank 4``), ``details`` the numbers behind it (JSON-ready)."""
    if form != "finite":
        return "gaussian", f"auto: the exact method needs form 'finite', got {form!r}", dict(tolerance=tol)
    if model.query == "all":
        return "gaussian", "auto: the exact method needs one query position, got 'all'", dict(tolerance=tol)
    f = features(model)
    return decide(f, model.T, lambda: require_exact(model.T, model.d, int(np.size(f["effective_rank"]))), tol,
                  None if model.is_walk else "the map covers the random walk with the query at T, not this data model")


def decide(f: dict, T: int, check_exact_memory, tol: float = TOLERANCE, uncovered: str | None = None
           ) -> tuple[str, str, dict]:
    """The rule on precomputed :func:`features` ``f`` (every model of a batch; the batch runs one
    method: exact if any model needs it); ``check_exact_memory()`` raises the exact method's memory
    refusal; ``uncovered`` names a reason the map does not apply."""
    reff, size, sym = (np.asarray(f[k]).ravel() for k in ("effective_rank", "size", "symmetric"))
    details: dict = dict(tolerance=tol)
    if reff.size == 1:
        details.update(effective_rank=float(reff[0]), size=float(size[0]), symmetric=bool(sym[0]))
    if uncovered is not None:
        method, reason = "exact", f"auto: {uncovered}, exact preferred"
    else:
        worst, why, at = -1.0, "", 0.0
        for r, s, y in zip(reff, size, sym):
            err, not_covered = estimate(float(r), float(s), bool(y), T)
            if err is None:
                worst, why, at = np.inf, not_covered, float(r)
                break
            if err > worst:
                worst, at = err, float(r)
        many = "" if reff.size == 1 else f" (the largest of {reff.size} models)"
        if np.isinf(worst):
            method, reason = "exact", f"auto: not covered by the map ({why}){many}, exact preferred"
        else:
            details["estimated_error"] = worst
            method = "exact" if worst > tol else "gaussian"
            sign = ">" if worst > tol else "<="
            reason = f"auto: estimated Gaussian error {worst:.2g} {sign} {tol:g} at effective rank {at:.3g}{many}"
    if method == "exact":
        try:
            check_exact_memory()
        except ArgumentError as exc:
            return "gaussian", f"{reason}; but the exact method {exc.detail}", details
    return method, reason, details


def envelope_markdown(tol: float = TOLERANCE) -> str:
    """:data:`ENVELOPE` as a Markdown table (docs/exact.md): per effective rank and family, the
    estimated Gaussian error, the method ``auto`` runs there, and the sizes covered."""
    families = sorted(ENVELOPE)
    ranks = sorted({e[0] for f in families for e in ENVELOPE[f]})
    head = "| effective rank >= | " + " | ".join(f"{f} W: estimated error, auto runs, sizes" for f in families) + " |"
    lines = [head, "|---|" + "---|" * len(families)]
    for r in ranks:
        cells = []
        for f in families:
            e = {x[0]: x for x in ENVELOPE[f]}.get(r)
            cells.append("" if e is None else
                         f"{e[1]:.3g}, {'exact' if e[1] > tol else 'gaussian'}, {e[2]:.3g}..{e[3]:.3g}")
        lines.append(f"| {r:.3g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
