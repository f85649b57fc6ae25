"""Cost of the exact signal propagation probability per position, and at extreme scales.

``python benchmarks/exact.py [--dims 4,16,64,256] [--length 128] [--repeats 3] [--scales 8,64] [--format table|json]``

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


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dims", default="4,16,64,256")
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--scales", default="", help="dimensions for the extreme-scale study (e.g. 8,64)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    res = measure([int(x) for x in args.dims.split(",")], args.length, args.repeats)
    if args.scales:
        res["scales"] = measure_scales([int(x) for x in args.scales.split(",")], args.length)
    if args.format == "json":
        print(json.dumps(res, indent=2))
        return
    print(f"exact rho, T = {res['config']['T']}, median of {res['config']['repeats']}")
    for r in res["rows"]:
        print(f"  d = {r['d']:>4} {r['kind']:>14}: {r['ms_per_position']:9.3f} ms per position, "
              f"error bound {r['max_error_bound']:.1e}")
    for r in res.get("scales", []):
        print(f"  d = {r['d']:>3} {r['kind']:>20} x {r['size']:7.0e}: {r['seconds']:6.2f} s per profile, "
              f"error bound {r['max_error_bound']:.1e}{'  (warned)' if r['warned'] else ''}")


if __name__ == "__main__":
    main()
