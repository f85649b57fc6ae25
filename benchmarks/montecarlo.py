"""Monte Carlo throughput at d = 64, T = 128, against drawing the numbers alone.

``python benchmarks/montecarlo.py [--samples N] [--repeats R] [--format table|json]``

Reports samples per second of :func:`sigprop.simulate` and ``mc_over_rng``: its
time over the time NumPy needs only to draw the same Gaussian numbers in the same
batches and dtype (the floor for this algorithm).  Both are timed in the same
run, alternating, so that machine noise cancels in the ratio; the median over
``R`` repeats is reported, after one warm-up run of each.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from sigprop import make_weights, simulate, walk


def _draw_only(samples, T, d, seed):
    for _ in walk.standard_steps(samples, T, d, seed=seed):
        pass


def measure(samples: int = 20_000, repeats: int = 5, d: int = 64, T: int = 128) -> dict:
    W = make_weights(0.5, 0.1, d, seed=0)
    _draw_only(samples // 10, T, d, 0)
    simulate(W, T, samples=samples // 10, seed=0)
    mc, rng = [], []
    for r in range(repeats):
        t0 = time.perf_counter()
        simulate(W, T, samples=samples, seed=r)
        t1 = time.perf_counter()
        _draw_only(samples, T, d, r)
        t2 = time.perf_counter()
        mc.append(t1 - t0)
        rng.append(t2 - t1)
    ratios = [a / b for a, b in zip(mc, rng)]
    return dict(config=dict(d=d, T=T, samples=samples, repeats=repeats, dtype="float64"),
                machine=dict(platform=platform.platform(), processor=platform.processor(),
                             cpus=os.cpu_count(), numpy=np.__version__),
                mc_samples_per_s=samples / statistics.median(mc),
                rng_samples_per_s=samples / statistics.median(rng),
                mc_over_rng=statistics.median(ratios))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=20_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    res = measure(args.samples, args.repeats)
    if args.format == "json":
        print(json.dumps(res, indent=2))
        return
    c = res["config"]
    print(f"Monte Carlo, d = {c['d']}, T = {c['T']}, {c['samples']} samples, median of {c['repeats']}")
    print(f"  simulate:        {res['mc_samples_per_s']:12.0f} samples/s")
    print(f"  draw numbers:    {res['rng_samples_per_s']:12.0f} samples/s")
    print(f"  mc_over_rng:     {res['mc_over_rng']:12.3f}")


if __name__ == "__main__":
    main()
