"""Where the spectral-gap predictions hold: measured / predicted over a grid of ``(sigma, T)``.

For the random Markov matrix ``A = rowsoftmax(G)``, ``G_ij ~ N(0, sigma^2)`` i.i.d.
(``docs/theory.md`` §6), with ``s^2 = e^{sigma^2} - 1`` the predictions of
:func:`sigprop.gap.spectra.predictions` and :func:`sigprop.gap.spectra.rescale_factor` are::

    sigma_1 = sqrt(1 + s^2 / T),   sigma_2 = 2 s / sqrt(T),   |eig_2| = s / sqrt(T),
    kappa = sqrt(T) / ||A - 1 1^T/T||_F = sqrt(T) / s

For every cell of the grid and each of ``seeds`` independent matrices the ratio
``q = measured / predicted`` is recorded; a cell's summary is the mean ratio and its
Student-t interval over the seeds (:func:`sigprop.core.stats.t_interval`).  The decision
rule, per quantity and cell, with tolerance ``tol`` (default 5%):

* ``holds``: the interval lies inside ``[1 - tol, 1 + tol]``;
* ``fails``: the interval lies outside it (entirely above or entirely below);
* ``undecided``: neither (the seeds cannot tell).

:func:`region` turns the cells into a statement per quantity and ``sigma``: the
smallest ``T`` of the grid from which the prediction holds at that and every larger
``T`` of the grid (``None`` when it does not hold at the largest ``T``).

The diagnostic for ``sigma_2`` at large ``sigma``: the largest single entry of the
bulk, ``x = max_ij |A_ij - 1/T|``, compared with the edge.  A single entry is a
rank-one spike of size ``x``; in a square i.i.d. matrix whose singular values fill
``[0, 2 b]`` (here ``b = s / sqrt(T)``) a spike of relative size ``theta = x / b > 1``
lifts the top singular value to ``b (theta + 1/theta)`` (the square case of the
rank-one outlier formula of Benaych-Georges & Nadakuditi, J. Multivariate Anal. 111
(2012) 120-135; ``derivations/spectral_gap.py``).  :func:`spike_estimate` evaluates
``b (theta + 1/theta)`` (or the edge ``2 b`` when ``theta <= 1``) with the measured ``x``;
:func:`typical_spike` gives the typical ``theta`` in closed form from the expected maximum
of ``T^2`` Gaussians.  Eigenvalues are not moved this way (an off-diagonal spike
``x e_i e_j^T`` has ``e_j^T e_i = 0``), which is why ``|eig_2|`` holds at ``sigma = 1 ... 1.5``
where ``sigma_2`` does not.  The bulk scale itself has the derived first correction
:func:`bulk_correction`, which decides where ``kappa`` holds.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from sigprop.core import checks as _checks
from sigprop.core.labelled import Result
from sigprop.core.progress import iterate
from sigprop.core.stats import t_interval
from sigprop.gap.collapse import bulk_rescale
from sigprop.gap.spectra import markov_matrix, predictions, rescale_factor, spectrum, spread
from sigprop.model.attention import remove_gap

QUANTITIES = ("sigma_1", "sigma_2", "eig_2", "kappa")
#: the grid of the documented study (``docs/gap.md``)
SIGMAS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
LENGTHS = (16, 32, 64, 128, 256, 512, 1024, 2048)
#: a small grid for tests and the ledger's quick run
QUICK_SIGMAS = (0.5, 1.0, 1.5)
QUICK_LENGTHS = (64, 256)


def _cell(T: int, sigma: float, rng) -> dict:
    """One matrix: the measured quantities and the largest bulk entry."""
    A = markov_matrix(T, sigma, rng)
    ev, sv = spectrum(A, top=2)
    return dict(sigma_1=sv[0], sigma_2=sv[1], eig_2=abs(ev[1]), kappa=bulk_rescale(A),
                largest_entry=float(np.abs(remove_gap(A)).max()))


def measure(sigmas: ArrayLike = SIGMAS, lengths: ArrayLike = LENGTHS, *, seeds: int = 8, seed: int = 0,
            progress: bool = False) -> Result:
    """Measured and predicted quantities for every ``(sigma, T, seed)``.

    Returns ``config`` and, for each of :data:`QUANTITIES` and ``largest_entry``, an array
    ``(len(sigmas), len(lengths), seeds)`` of measured values; ``predicted`` holds the
    predictions ``(len(sigmas), len(lengths))``.  Replicate ``r`` at length ``T`` draws its
    ``G / sigma`` from ``default_rng([seed, T, r])``: the same standard normals for every
    ``sigma`` (common random numbers, so the map is smooth in ``sigma``).
    """
    sig = np.atleast_1d(_checks.real("sigmas", sigmas, positive=True)).astype(float)
    Ts = np.atleast_1d(np.asarray(lengths))
    for T in Ts:
        _checks.integer("lengths", T, 2)
    Ts = Ts.astype(int)
    seeds = _checks.integer("seeds", seeds, 2)
    seed = _checks.integer("seed", seed, 0)
    keys = QUANTITIES + ("largest_entry",)
    out = {k: np.empty((sig.size, Ts.size, seeds)) for k in keys}
    jobs = [(j, T, r) for j, T in enumerate(Ts) for r in range(seeds)]
    for j, T, r in iterate(jobs, progress, desc="gap validity", unit="matrix"):
        for i, sg in enumerate(sig):
            cell = _cell(int(T), float(sg), np.random.default_rng([seed, int(T), r]))
            for k in keys:
                out[k][i, j, r] = cell[k]
    S, L = np.meshgrid(sig, Ts, indexing="ij")
    p = predictions(L, S)
    predicted = dict(sigma_1=p["predicted_sigma_1"], sigma_2=p["predicted_bulk_edge"],
                     eig_2=p["predicted_eig_radius"], kappa=rescale_factor(L, S))
    return Result(dict(config=dict(model="markov", sigmas=sig.tolist(), lengths=Ts.tolist(), seeds=seeds,
                                   seed=seed), measured=out, predicted=predicted),
                  kind="gap-validity", dims={"measured": ("sigma", "length", "seed"), "predicted": ("sigma", "length")})


def summarize(result: dict, *, tol: float = 0.05, confidence: float = 0.95) -> dict:
    """Per quantity: mean ratio measured / predicted, its t-interval, and the verdict per cell.

    ``verdict`` is an array of strings ``holds`` / ``fails`` / ``undecided`` (module docstring).
    Also, for ``sigma_2``: ``largest_entry_ratio`` (``x`` over the predicted edge),
    ``spike_ratio`` (measured ``sigma_2`` over :func:`spike_estimate`) and
    ``sigma_2_over_largest_entry``, as mean and interval; ``spike_closer`` (per cell, in how
    many seeds the spike estimate is closer to ``sigma_2`` than the edge, in log ratio; if in
    all ``n``, a one-sided sign test rejects "no closer than the edge" at ``p = 2^-n``).
    """
    tol = float(_checks.real("tol", tol, positive=True, maximum=1.0, open_max=True))
    meas, pred = result["measured"], result["predicted"]
    out: dict[str, Any] = {}
    for k in QUANTITIES:
        mean, low, high = t_interval(np.asarray(meas[k]) / np.asarray(pred[k])[..., None], confidence)
        verdict = np.where((low >= 1 - tol) & (high <= 1 + tol), "holds",
                           np.where((low > 1 + tol) | (high < 1 - tol), "fails", "undecided"))
        out[k] = dict(mean=mean, low=low, high=high, verdict=verdict)
    cfg = result["config"]
    S, L = np.meshgrid(cfg["sigmas"], cfg["lengths"], indexing="ij")
    x = np.asarray(meas["largest_entry"])
    edge = np.asarray(pred["sigma_2"])[..., None]
    spike = spike_estimate(L[..., None], S[..., None], x)
    for name, ratio in (("largest_entry_ratio", x / edge),
                        ("spike_ratio", np.asarray(meas["sigma_2"]) / spike),
                        ("sigma_2_over_largest_entry", np.asarray(meas["sigma_2"]) / x)):
        mean, low, high = t_interval(ratio, confidence)
        out[name] = dict(mean=mean, low=low, high=high)
    # per seed: is the one-spike estimate closer to sigma_2 than the bulk edge? (ties: no)
    s2 = np.asarray(meas["sigma_2"])
    closer = np.abs(np.log(s2 / spike)) < np.abs(np.log(s2 / edge))
    out["spike_closer"] = dict(count=closer.sum(axis=-1), seeds=closer.shape[-1],
                               sign_test_p=0.5 ** closer.shape[-1])
    out["typical_spike"] = typical_spike(L, S)
    out["bulk_correction"] = bulk_correction(L, S)
    out["config"] = dict(cfg, tol=tol, confidence=confidence)
    return out


def region(result: dict | None = None, *, tol: float = 0.05, confidence: float = 0.95, quick: bool = False,
           seeds: int = 8, seed: int = 0) -> dict:
    """Where each prediction holds to ``tol``: the numbers and the region, ready for the ledger.

    ``result`` from :func:`measure`; without it the grid is measured here (the documented grid,
    or :data:`QUICK_SIGMAS` x :data:`QUICK_LENGTHS` with ``quick=True``).  Returns ``rule``
    (the decision rule in words), ``config``, and per quantity: ``from_length`` (for each
    ``sigma``, the smallest ``T`` of the grid from which the prediction holds at every larger
    ``T`` of the grid, ``None`` if it does not hold at the largest), the per-cell ``mean``,
    ``low``, ``high`` and ``verdict`` as nested lists (rows: ``sigma``, columns: ``T``);
    ``spike_closer_count`` (per cell, the seeds in which the one-spike estimate is closer to
    ``sigma_2`` than the edge) and ``bulk_correction`` (:func:`bulk_correction`).
    """
    if result is None:
        result = measure(QUICK_SIGMAS if quick else SIGMAS, QUICK_LENGTHS if quick else LENGTHS,
                         seeds=seeds, seed=seed)
    summary = summarize(result, tol=tol, confidence=confidence)
    cfg = summary["config"]
    out = dict(rule=(f"a prediction holds in a cell when the {100 * confidence:g}% Student-t interval of the mean "
                     f"ratio measured/predicted over {cfg['seeds']} seeds lies inside [{1 - tol:g}, {1 + tol:g}]; "
                     "fails when it lies outside; undecided otherwise"),
               config=cfg)
    out["spike_closer_count"] = summary["spike_closer"]["count"].tolist()
    out["bulk_correction"] = summary["bulk_correction"].tolist()
    for k in QUANTITIES + ("spike_ratio", "sigma_2_over_largest_entry", "largest_entry_ratio"):
        s = summary[k]
        entry = {f: np.asarray(s[f]).tolist() for f in ("mean", "low", "high")}
        if "verdict" in s:
            entry["verdict"] = s["verdict"].tolist()
            entry["from_length"] = [_from_length(row, cfg["lengths"]) for row in s["verdict"]]
        out[k] = entry
    return out


def _from_length(verdicts, lengths):
    start = None
    for v, T in zip(reversed(list(verdicts)), reversed(list(lengths))):
        if v != "holds":
            break
        start = int(T)
    return start


def bulk_correction(T: ArrayLike, sigma: ArrayLike) -> np.ndarray:
    """First correction to the bulk scale: ``T^2 Var(A_ij) = s^2 (1 - c / T + O(T^-2))``.

    ``c = e^{sigma^2} (2 e^{sigma^2} - 1)`` (``derivations/spectral_gap.py``,
    ``entry_variance_expansion``); returns ``c / T``.  To this order ``||A - P||_F^2`` is
    ``s^2 (1 - c/T)``, so ``kappa`` is ``1 / sqrt(1 - c/T)`` times its prediction and the bulk
    radius and edge ``sqrt(1 - c/T)`` times theirs.  The leading order is accurate to ``tol``
    only while ``c / T`` is well below ``2 tol``: ``T >> 2 e^{2 sigma^2}``, far stronger than
    ``T >> e^{sigma^2}``.
    """
    e = np.exp(np.asarray(sigma, dtype=float) ** 2)
    return e * (2 * e - 1) / np.asarray(T, dtype=float)


def spike_estimate(T: ArrayLike, sigma: ArrayLike, largest_entry: ArrayLike) -> np.ndarray:
    """``sigma_2`` with one spike ``x``: ``b (theta + 1/theta)`` if ``theta = x / b > 1``, else the edge ``2 b``
    (``b = s / sqrt(T)``)."""
    b = spread(sigma) / np.sqrt(np.asarray(T, dtype=float))
    theta = np.asarray(largest_entry, dtype=float) / b
    return b * np.where(theta > 1, theta + 1.0 / np.maximum(theta, 1.0), 2.0)


def typical_spike(T: ArrayLike, sigma: ArrayLike) -> np.ndarray:
    """Typical ``theta = x sqrt(T) / s`` in closed form.

    ``x ~ e^{sigma M} / (T e^{sigma^2/2} + e^{sigma M})`` with ``M`` the expected maximum of
    ``N = T^2`` standard normals, ``M ~ a - (log log N + log 4 pi) / (2 a)``, ``a = sqrt(2 log N)``
    (the row holding the largest logit is normalized by its typical sum plus that entry).
    The prediction ``2 s / sqrt(T)`` for ``sigma_2`` can hold only while ``theta`` stays near 1
    or below.
    """
    T = np.asarray(T, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    a = np.sqrt(2 * np.log(T * T))
    M = a - (np.log(np.log(T * T)) + np.log(4 * np.pi)) / (2 * a)
    top = np.exp(sigma * M)
    x = top / (T * np.exp(sigma ** 2 / 2) + top) - 1 / T
    return x * np.sqrt(T) / spread(sigma)


# --- figure ---------------------------------------------------------------------------------

_VALIDITY_MARK = {"holds": "", "fails": "x", "undecided": "?"}


def validity_figure(result: dict, path) -> None:
    """The gap's validity map: mean ratio measured/predicted per ``(sigma, T)`` for each
    quantity (grey scale centred on 1; ``x`` fails, ``?`` undecided, blank holds), and the
    ``sigma_2`` diagnostic: ratio to the edge against the largest entry over the edge.

    ``result`` is :func:`sigprop.gap.validity.region` output."""
    from sigprop.plotting import legend_below, pyplot, save

    plt = pyplot()
    cfg = result["config"]
    sig, Ts = cfg["sigmas"], cfg["lengths"]
    names = dict(sigma_1="$\\sigma_1$", sigma_2="$\\sigma_2$", eig_2="$|\\lambda_2|$", kappa="$\\kappa$")
    fig = plt.figure(figsize=(15, 8.4), layout="constrained")
    grid = fig.add_gridspec(2, 3, width_ratios=(1, 1, 1.05))
    axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 0]),
            fig.add_subplot(grid[1, 1]), fig.add_subplot(grid[:, 2])]
    tol = cfg["tol"]
    for ax, (k, label) in zip(axes, names.items()):
        m = np.asarray(result[k]["mean"])
        im = ax.imshow(np.log2(m), cmap="RdGy_r", vmin=-1, vmax=1, origin="lower", aspect="auto")
        for i in range(len(sig)):
            for j in range(len(Ts)):
                v = result[k]["verdict"][i][j]
                ax.text(j, i, f"{m[i, j]:.2f}{_VALIDITY_MARK[v]}", ha="center", va="center", fontsize=9,
                        color="w" if abs(np.log2(m[i, j])) > 0.6 else "k")
        ax.set_xticks(range(len(Ts)), [str(t) for t in Ts], fontsize=9)
        ax.set_yticks(range(len(sig)), [f"{s:g}" for s in sig], fontsize=9)
        ax.set(xlabel="T", ylabel="$\\sigma$", title=f"{label}: measured / predicted")
        ax.grid(False)
    fig.colorbar(im, ax=axes[:4], label="log$_2$ ratio (x: fails, ?: undecided)", shrink=0.6)
    ax = axes[4]
    x = np.asarray(result["largest_entry_ratio"]["mean"])
    y = np.asarray(result["sigma_2"]["mean"])
    for i, s in enumerate(sig):
        ax.plot(2 * x[i], y[i], "o-", ms=3, lw=0.8, color=str(0.75 * i / max(len(sig) - 1, 1)),
                label=f"$\\sigma$ = {s:g}")
    th = np.linspace(0.0, max(2.0, 2.1 * x.max()), 400)[1:]
    ax.plot(th, np.where(th > 1, (th + 1 / th) / 2, 1.0), "k--", lw=1.2,
            label="one spike: ($\\theta$+1/$\\theta$)/2 for $\\theta$ > 1")
    ax.axhspan(1 - tol, 1 + tol, color="0.85", zorder=0)
    ax.set(xlabel="$\\theta$ = largest entry / (s/$\\sqrt{T}$)",
           ylabel="$\\sigma_2$ / (2s/$\\sqrt{T}$)", title="$\\sigma_2$ and the largest entry")
    legend_below(ax, ncol=2, fontsize=8, offset=0.08)
    fig.suptitle(f"random Markov attention: where the spectral-gap predictions hold to {100 * tol:g}% "
                 f"({cfg['seeds']} seeds per cell, {100 * cfg['confidence']:g}% t-intervals)", fontsize=11)
    save(fig, path)
