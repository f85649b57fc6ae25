"""Localization of ``rho`` against its softmax counterparts over a grid of ``(m, v, d, T)`` (docs/softmax.md).

For every grid point: the Gaussian closed-form ``rho`` (:func:`sigprop.rho.theory.theory_spectrum`)
and the three softmax quantities by the semi-analytic method
(:func:`sigprop.rho.softmax_profile.semi_analytic`), each summarized by
:func:`sigprop.rho.localization.localization_metrics` (total, normalized entropy, peak, width).

Two [BHK24] conclusions are then judged for each profile kind by stated rules on the
normalized entropy ``H`` (1 = flat, 0 = one position):

* ``small-variance-localizes`` (at every ``m != 0``, ``d``, ``T``): *holds* where ``H`` at the
  smallest ``v`` is below ``H`` at the largest ``v`` by more than ``MARGIN``, *fails* where it
  is above by more than ``MARGIN``, else *inconclusive*;
* ``zero-mean-does-not-localize`` (at ``m = 0``, every ``v``, ``d``, ``T``): *holds* where
  ``H >= FLAT``, *fails* where ``H < FLAT - MARGIN``, else *inconclusive*.

``MARGIN = 0.01`` is about ten times the entropy error of the semi-analytic profiles at the
default ``samples`` (their standard errors are ~1e-4 of weights ~1/T), so a verdict is not
moved by sampling error.
"""
from __future__ import annotations

import itertools

import numpy as np

from sigprop.core.labelled import Result
from sigprop.core.progress import progress_bar
from sigprop.rho.localization import localization_metrics
from sigprop.rho.logits import LogitModel
from sigprop.rho.softmax_profile import QUANTITIES, semi_analytic
from sigprop.rho.theory import theory_spectrum

KINDS = ("rho",) + QUANTITIES
MARGIN = 0.01
FLAT = 0.9
METRICS = ("total", "entropy_normalized", "peak_s", "width")


def localization_map(means, variances, dims, lengths, *, samples: int = 1 << 13, seed: int = 0,
                     progress: bool = False) -> Result:
    """Localization metrics of ``rho`` and of each softmax quantity at every grid point.

    Returns ``dict(config=..., rows=[...])``; a row holds ``m, v, d, T`` and, for each kind in
    :data:`KINDS`, the metrics of :data:`METRICS` as ``"<kind>.<metric>"``.
    """
    grid = list(itertools.product(means, variances, dims, lengths))
    rows = []
    with progress_bar(len(grid), progress, unit="pt", desc="softmax map") as bar:
        for k, (m, v, d, T) in enumerate(grid):
            row: dict = dict(m=float(m), v=float(v), d=int(d), T=int(T))
            profiles = {"rho": theory_spectrum(m, v, d, T).rho}
            sa = semi_analytic(LogitModel.from_spectrum(m, v, d, T), quantity=QUANTITIES, samples=samples,
                               seed=[seed, k])
            profiles.update(zip(QUANTITIES, np.clip(sa.value, 0.0, 1.0), strict=True))
            row["max_se"] = float(sa.se.max())
            for kind, prof in profiles.items():
                metrics = localization_metrics(prof)
                row.update({f"{kind}.{key}": float(metrics[key]) for key in METRICS})
            rows.append(row)
            bar.update(1)
    config = dict(means=list(map(float, means)), variances=list(map(float, variances)),
                  dims=list(map(int, dims)), lengths=list(map(int, lengths)), samples=samples, seed=seed,
                  margin=MARGIN, flat=FLAT)
    return Result(dict(config=config, rows=rows), kind="softmax-map", keys={"rows": ("m", "v", "d", "T")})


def verdicts(result: dict) -> dict:
    """The two conclusions' verdicts per profile kind, with the counts behind them."""
    rows = result["rows"]
    out: dict = {}
    vs = sorted({r["v"] for r in rows})
    for kind in KINDS:
        key = f"{kind}.entropy_normalized"
        small: dict[str, int] = {"holds": 0, "fails": 0, "inconclusive": 0}
        for (m, d, T) in sorted({(r["m"], r["d"], r["T"]) for r in rows if r["m"] != 0}):
            h = {r["v"]: r[key] for r in rows if (r["m"], r["d"], r["T"]) == (m, d, T)}
            diff = h[vs[-1]] - h[vs[0]]
            small["holds" if diff > MARGIN else "fails" if diff < -MARGIN else "inconclusive"] += 1
        zero: dict[str, int] = {"holds": 0, "fails": 0, "inconclusive": 0}
        for r in rows:
            if r["m"] == 0:
                h = r[key]
                zero["holds" if h >= FLAT else "fails" if h < FLAT - MARGIN else "inconclusive"] += 1
        out[kind] = {"small-variance-localizes": small, "zero-mean-does-not-localize": zero}
    return out
