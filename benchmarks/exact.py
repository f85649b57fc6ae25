"""Cost of the exact signal propagation probability per position.

``python benchmarks/exact.py [--dims 4,16,64,256] [--length 128] [--repeats 3] [--format table|json]``

For each ``d``: a symmetric ``W`` (closed-form chi-square weights) and a
non-symmetric one (one ``2d x 2d`` eigenproblem per position), ``T = 128``; the
median wall time of :func:`sigprop.exact.theory` divided by ``T``, and the
largest reported error bound.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

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


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dims", default="4,16,64,256")
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    res = measure([int(x) for x in args.dims.split(",")], args.length, args.repeats)
    if args.format == "json":
        print(json.dumps(res, indent=2))
        return
    print(f"exact rho, T = {res['config']['T']}, median of {res['config']['repeats']}")
    for r in res["rows"]:
        print(f"  d = {r['d']:>4} {r['kind']:>14}: {r['ms_per_position']:9.3f} ms per position, "
              f"error bound {r['max_error_bound']:.1e}")


if __name__ == "__main__":
    main()
