"""Error of the saddle-point method against the exact method over a grid of ``(m, v, d, T)``.

``python -m sigprop_benchmarks.saddlepoint [--quick] [--format table|json]``

For each ``d`` the largest ``|rho_saddlepoint - rho_exact|`` over positions, over
eigenvalue means ``m``, variances ``v`` (symmetric ``W`` with a Gaussian spectrum,
:meth:`sigprop.rho.logits.LogitModel.from_spectrum`), sequence lengths ``T`` and two
non-symmetric ``W`` (i.i.d. Gaussian entries of variance ``v/d`` plus ``m I``), for
the first-order (Lugannani-Rice) and the second-order formula, beside the exact
method's own error bound and the documented bound
:func:`sigprop.rho.saddlepoint.error_bound`.  The timings are wall-clock per position.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from sigprop.rho import exact, saddlepoint
from sigprop.rho.logits import LogitModel

MEANS = (-1.0, 0.0, 0.5, 1.0, 2.0)
VARIANCES = (0.01, 0.1, 1.0)


def models(d: int, T: int):
    for m in MEANS:
        for v in VARIANCES:
            yield dict(kind="symmetric", m=m, v=v), LogitModel.from_spectrum(m, v, d, T)
    rng = np.random.default_rng(d)
    for m, v in ((0.5, 0.1), (0.0, 1.0)):
        W = m * np.eye(d) + np.sqrt(v / d) * rng.standard_normal((d, d))
        yield dict(kind="non-symmetric", m=m, v=v), LogitModel(W, T)


def study(dims=(2, 4, 8, 16, 32, 64, 128, 256), lengths=(8, 32, 128), long_max_d: int = 64) -> dict:
    rows = []
    for d in dims:
        worst = {1: 0.0, 2: 0.0}
        where, t_exact, t_sp, exact_bound, n_pos = None, 0.0, 0.0, 0.0, 0
        for T in lengths:
            if T > 32 and d > long_max_d:
                continue
            for label, model in models(d, T):
                lam = model.chi2_weights
                t0 = time.perf_counter()
                ref, err = exact.band(lam)
                t1 = time.perf_counter()
                sp2 = saddlepoint.band(lam, order=2)
                t2 = time.perf_counter()
                sp1 = saddlepoint.band(lam, order=1)
                t_exact, t_sp, n_pos = t_exact + t1 - t0, t_sp + t2 - t1, n_pos + T
                exact_bound = max(exact_bound, float(err.max()))
                e2 = float(np.abs(sp2 - ref).max())
                if e2 > worst[2]:
                    where = dict(label, T=T, position=int(np.abs(sp2 - ref).argmax()) + 1)
                worst[2] = max(worst[2], e2)
                worst[1] = max(worst[1], float(np.abs(sp1 - ref).max()))
        rows.append(dict(d=d, first_order=worst[1], second_order=worst[2], worst_at=where,
                         exact_error_bound=exact_bound, documented_bound=float(saddlepoint.error_bound(d)),
                         exact_ms_per_position=1e3 * t_exact / n_pos,
                         saddlepoint_ms_per_position=1e3 * t_sp / n_pos))
    return dict(config=dict(dims=list(dims), lengths=list(lengths), long_max_d=long_max_d, means=list(MEANS),
                            variances=list(VARIANCES), non_symmetric=[[0.5, 0.1], [0.0, 1.0]]), rows=rows)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="d <= 32, T in 8, 32")
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    res = study((2, 4, 8, 16, 32), (8, 32)) if args.quick else study()
    if args.format == "json":
        print(json.dumps(res, indent=2))
        return
    print("| d | first order | second order | documented bound | exact's bound | exact ms/pos "
          "| saddle ms/pos |")
    print("|---|---|---|---|---|---|---|")
    for r in res["rows"]:
        print(f"| {r['d']} | {r['first_order']:.2e} | {r['second_order']:.2e} | "
              f"{r['documented_bound']:.1e} | "
              f"{r['exact_error_bound']:.1e} | {r['exact_ms_per_position']:.2f} | "
              f"{r['saddlepoint_ms_per_position']:.3f} |")


if __name__ == "__main__":
    main()
