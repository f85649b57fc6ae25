"""Cost of the exact signal propagation probability per position, and at extreme scales.

``python benchmarks/exact.py [--dims 4,16,64,256] [--length 128] [--repeats 3] [--scales 8,64]
[--peers 2,4,16,64,256,1024] [--format table|json]`` (``--dims ''``: no per-position table)

For each ``d``: a symmetric ``W`` (closed-form chi-square weights) and a
non-symmetric one (one ``2d x 2d`` eigenproblem per position), ``T = 128``; the
median wall time of :func:`sigprop.rho.exact.theory` divided by ``T``, and the
largest reported error bound.  ``--scales``: for each listed ``d``, six kinds of ``W``
(generic, symmetric, rank one, rank one plus 1e-4 noise, entries spread over 18
decades, diagonal from 1e-12 to 1e6) times ``10^k`` for ``k = -12, -6, -2, 0, 2, 6``: the
wall time of one whole profile (``T = 128``) and its largest error bound.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings

import numpy as np

from sigprop import make_weights
from sigprop.rho import exact


def measure(dims=(4, 16, 64, 256), T: int = 128, repeats: int = 3) -> dict:
    rows = []
    for d in dims:
        mats = {"symmetric": make_weights(0.5, 0.1, d, seed=0),
                "non-symmetric": np.random.default_rng(0).standard_normal((d, d)) / np.sqrt(d)}
        for kind, W in mats.items():
            times, bound = [], 0.0
            for _ in range(repeats):
                t0 = time.perf_counter()
                prof = exact.theory(W, T)
                times.append(time.perf_counter() - t0)
                bound = float(prof.config["rho_error"].max())
            rows.append(dict(d=d, kind=kind, ms_per_position=1e3 * statistics.median(times) / T,
                             max_error_bound=bound))
    return dict(config=dict(dims=list(dims), T=T, repeats=repeats),
                machine=dict(platform=platform.platform(), cpus=os.cpu_count(), numpy=np.__version__),
                rows=rows)


SIZES = (1e-12, 1e-6, 1e-2, 1.0, 1e2, 1e6)


def scale_matrices(d: int, seed: int = 0) -> dict:
    """The six kinds of ``W`` of the ``--scales`` study."""
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal((d, d)) / np.sqrt(d)
    u = rng.standard_normal(d)
    return {"generic": W0, "symmetric": W0 + W0.T, "rank one": np.outer(u, rng.standard_normal(d)) / d,
            "rank one + 1e-4": np.outer(u, u) / d + 1e-4 * W0,
            "spread": W0 * 10.0 ** rng.uniform(-12, 6, (d, d)),
            "diagonal 1e-12..1e6": np.diag(np.logspace(-12, 6, d) * rng.choice([-1, 1], d))}


def measure_scales(dims=(8, 64), T: int = 128) -> list[dict]:
    rows = []
    for d in dims:
        for kind, W in scale_matrices(d).items():
            for size in SIZES:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    t0 = time.perf_counter()
                    prof = exact.theory(size * W, T)
                    seconds = time.perf_counter() - t0
                rows.append(dict(d=d, kind=kind, size=size, seconds=seconds,
                                 max_error_bound=float(prof.config["rho_error"].max()),
                                 warned=any(issubclass(w.category, RuntimeWarning) for w in caught)))
    return rows


def measure_peers(dims=(2, 4, 16, 64, 256, 1024), T: int = 128, reference_positions: int = 4) -> list[dict]:
    """The exact method against Davies' algorithm (same weights, ``1e-7`` asked of both per value):
    time per position, the largest difference, and for ``d <= 16`` the largest error of each
    against mpmath (``tests.helpers.chi2_cdf_mp``) on ``reference_positions`` positions."""
    from sigprop.rho.logits import LogitModel
    from sigprop_benchmarks import davies
    rows = []
    for d in dims:
        lam = LogitModel(make_weights(0.5, 0.1, d, seed=0), T).chi2_weights
        t0 = time.perf_counter()
        ours, bound = exact.band(lam)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        peer = davies.band(lam)
        t_peer = time.perf_counter() - t0
        row = dict(d=d, exact_ms=1e3 * t_ours / T, max_bound=float(bound.max()))
        if peer is not None:
            row.update(davies_ms=1e3 * t_peer / T, exact_over_davies=t_ours / t_peer,
                       max_difference=float(np.abs(ours - peer).max()))
            if d <= 16:
                from tests.helpers import chi2_cdf_mp
                idx = np.linspace(0, T - 1, reference_positions).astype(int)
                ref = np.array([chi2_cdf_mp(lam[i], 1.0) - chi2_cdf_mp(lam[i], 0.0) for i in idx])
                row.update(exact_error=float(np.abs(ours[idx] - ref).max()),
                           davies_error=float(np.abs(peer[idx] - ref).max()))
        rows.append(row)
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dims", default="4,16,64,256")
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--scales", default="", help="dimensions for the extreme-scale study (e.g. 8,64)")
    p.add_argument("--peers", default="", help="dimensions for the comparison with Davies' algorithm "
                                               "(e.g. 2,4,16,64,256,1024)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    dims = [int(x) for x in args.dims.split(",") if x]
    res = measure(dims, args.length, args.repeats) if dims else dict(config=dict(T=args.length), rows=[])
    if args.scales:
        res["scales"] = measure_scales([int(x) for x in args.scales.split(",")], args.length)
    if args.peers:
        res["peers"] = measure_peers([int(x) for x in args.peers.split(",")], args.length)
    if args.format == "json":
        print(json.dumps(res, indent=2))
        return
    print(f"exact rho, T = {res['config']['T']}, median of {res['config'].get('repeats', 1)}")
    for r in res["rows"]:
        print(f"  d = {r['d']:>4} {r['kind']:>14}: {r['ms_per_position']:9.3f} ms per position, "
              f"error bound {r['max_error_bound']:.1e}")
    for r in res.get("scales", []):
        print(f"  d = {r['d']:>3} {r['kind']:>20} x {r['size']:7.0e}: {r['seconds']:6.2f} s per profile, "
              f"error bound {r['max_error_bound']:.1e}{'  (warned)' if r['warned'] else ''}")
    for r in res.get("peers", []):
        print("  " + ", ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
