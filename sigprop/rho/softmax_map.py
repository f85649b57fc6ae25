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
  ``H >= FLAT``, *fails* where ``H < FLAT - MARGIN``, else *inconclusive*;
* ``peaks-inside`` (at ``m != 0``, every ``v``, ``d``, ``T``; [BHK24]'s ``rho`` peaks inside the
  sequence): *holds* where the profile's peak is not the last (query) token, else *fails*.

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
            profiles = {"rho": theory_spectrum(m, v, d, T, method="gaussian").rho}
            sa = semi_analytic(LogitModel.from_spectrum(m, v, d, T), quantity=QUANTITIES, samples=samples,
                               seed=[seed, k])
            profiles.update(zip(QUANTITIES, np.clip(sa.value, 0.0, 1.0), strict=True))
            row["max_se"] = float(sa.se.max())
            for kind, prof in profiles.items():
                metrics = localization_metrics(prof, empty="nan")
                row.update({f"{kind}.{key}": float(metrics[key]) for key in METRICS})
            rows.append(row)
            bar.update(1)
    config = dict(means=list(map(float, means)), variances=list(map(float, variances)),
                  dims=list(map(int, dims)), lengths=list(map(int, lengths)), samples=samples, seed=seed,
                  margin=MARGIN, flat=FLAT)
    return Result(dict(config=config, rows=rows), kind="softmax-map", keys={"rows": ("m", "v", "d", "T")})


CONCLUSIONS = ("small-variance-localizes", "zero-mean-does-not-localize", "peaks-inside")


def cell_verdicts(result: dict) -> list[dict]:
    """Each conclusion's outcome (``holds``, ``fails``, ``inconclusive``) per cell and profile kind.

    ``small-variance-localizes`` per ``(m != 0, d, T)`` and ``zero-mean-does-not-localize`` per
    ``(m = 0, v, d, T)`` by the rules of the module doc; ``peaks-inside`` (the piecewise-linear
    profile's peak lies inside the sequence, not on the query token) per ``(m != 0, v, d, T)``:
    *holds* where the peak is not the last token, *fails* where it is.  Returns rows
    ``dict(conclusion, kind, m, v, d, T, outcome)``
    (``v`` is None for the first conclusion, a comparison of the smallest and largest ``v``).
    """
    rows = result["rows"]
    vs = sorted({r["v"] for r in rows})
    out: list[dict] = []
    for kind in KINDS:
        key = f"{kind}.entropy_normalized"
        for (m, d, T) in sorted({(r["m"], r["d"], r["T"]) for r in rows if r["m"] != 0}):
            h = {r["v"]: r[key] for r in rows if (r["m"], r["d"], r["T"]) == (m, d, T)}
            diff = h[vs[-1]] - h[vs[0]]
            outcome = "holds" if diff > MARGIN else "fails" if diff < -MARGIN else "inconclusive"
            out.append(dict(conclusion=CONCLUSIONS[0], kind=kind, m=m, v=None, d=d, T=T, outcome=outcome))
        for r in rows:
            cell = dict(kind=kind, m=r["m"], v=r["v"], d=r["d"], T=r["T"])
            if r["m"] == 0:
                h = r[key]
                outcome = "holds" if h >= FLAT else "fails" if h < FLAT - MARGIN else "inconclusive"
                out.append(dict(conclusion=CONCLUSIONS[1], **cell, outcome=outcome))
            else:
                last = r[f"{kind}.peak_s"] >= 1.0 - 0.5 / r["T"]
                out.append(dict(conclusion=CONCLUSIONS[2], **cell, outcome="fails" if last else "holds"))
    return out


def verdicts(result: dict) -> dict:
    """The conclusions' outcome counts per profile kind (from :func:`cell_verdicts`)."""
    out: dict = {kind: {c: {"holds": 0, "fails": 0, "inconclusive": 0} for c in CONCLUSIONS} for kind in KINDS}
    for c in cell_verdicts(result):
        out[c["kind"]][c["conclusion"]][c["outcome"]] += 1
    return out
