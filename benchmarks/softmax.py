"""Cost of the semi-analytic softmax quantities against plain Monte Carlo at equal accuracy.

``python benchmarks/softmax.py [--mc-samples 65536] [--format table|json]``

For each model: plain Monte Carlo (:func:`sigprop.rho.softmax_profile.simulate`) with
``--mc-samples`` walks sets the target, its largest standard error over positions and the
three quantities; the semi-analytic method (:func:`~sigprop.rho.softmax_profile.semi_analytic`,
16 replicates) is run with 16 x 2^k points, k = 2, 3, ..., until its largest standard error
is at most the target.  Reported: both wall times and their ratio, and the largest
``|difference| / combined se`` between the two (a consistency check).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from sigprop.rho import softmax_profile as S
from sigprop.rho.compare import z_scores
from sigprop.rho.logits import LogitModel


def models() -> dict:
    rng = np.random.default_rng(7)
    return {
        "m=0.5 v=0.5 d=4 T=32": LogitModel.from_spectrum(0.5, 0.5, 4, 32),
        "m=0 v=2 d=2 T=64": LogitModel.from_spectrum(0.0, 2.0, 2, 64),
        "m=0.5 v=0.5 d=64 T=128": LogitModel.from_spectrum(0.5, 0.5, 64, 128),
        "non-symmetric d=3 T=24": LogitModel(rng.normal(0.3, 0.8, (3, 3)), 24),
        "ar1:8 m=0.5 v=0.5 d=4 T=32": LogitModel.from_spectrum(0.5, 0.5, 4, 32, data="ar1:8"),
        "iid m=0.5 v=0.5 d=64 T=128": LogitModel.from_spectrum(0.5, 0.5, 64, 128, data="iid"),
        "fbm:0.3 causal q=24 d=4 T=32": LogitModel.from_spectrum(0.5, 0.5, 4, 32, data="fbm:0.3", query=24,
                                                                causal=True),
    }


def _timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def measure(mc_samples: int = 1 << 16, seed: int = 0) -> dict:
    rows = []
    for name, model in models().items():
        mc, t_mc = _timed(lambda model=model: S.simulate(model, quantity=S.QUANTITIES, samples=mc_samples,
                                                          seed=seed))
        target = float(mc.se.max())
        k = 2
        while True:
            n = 16 << k
            sa, t_sa = _timed(lambda model=model, n=n: S.semi_analytic(model, quantity=S.QUANTITIES,
                                                                        samples=n, seed=seed + 1))
            if sa.se.max() <= target or n >= mc_samples:
                break
            k += 1
        z = float(np.max(z_scores(sa.value, mc.value, np.sqrt(mc.se ** 2 + sa.se ** 2))))   # 0/0 = 0 (masked)
        rows.append(dict(model=name, mc_samples=mc_samples, mc_seconds=t_mc, target_se=target,
                         sa_samples=n, sa_seconds=t_sa, sa_max_se=float(sa.se.max()),
                         speedup=t_mc / t_sa, max_z=z))
    return dict(config=dict(mc_samples=mc_samples, seed=seed, replicates=16),
                machine=dict(platform=platform.platform(), cpus=os.cpu_count(), numpy=np.__version__),
                rows=rows)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mc-samples", type=int, default=1 << 16)
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    res = measure(args.mc_samples)
    if args.format == "json":
        print(json.dumps(res, indent=2))
        return
    print(f"softmax quantities at equal accuracy (plain MC: {args.mc_samples} walks)")
    for r in res["rows"]:
        print(f"  {r['model']:<24} MC {r['mc_seconds']:7.2f} s (se {r['target_se']:.1e}); semi-analytic "
              f"{r['sa_samples']:>6} pts {r['sa_seconds']:6.2f} s (se {r['sa_max_se']:.1e}); "
              f"speed-up {r['speedup']:6.1f}x; max |z| {r['max_z']:.2f}")


if __name__ == "__main__":
    main()
