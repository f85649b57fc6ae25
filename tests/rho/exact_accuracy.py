"""The exact method's error bound against mpmath on many random cases (the study in docs/exact.md).

``python -m tests.rho.exact_accuracy [--cases 300] [--seed 0] [--format table|json]``

Each case draws 2-8 chi-square weights of both signs with magnitudes spread over six decades,
an overall scale 10^U(-12, 6) and a point x in {0, 1, U(-3, 3)}; it records the returned
bound, the actual error against :func:`tests.helpers.chi2_cdf_mp` (20 digits), their ratio
and the time.  A second part does the same for rho = F(1) - F(0) of random 2 x 2 and 3 x 3
weight matrices scaled by 1e-12..1e6 at a few positions.  Not run by pytest (minutes); the
test suite runs 50 hypothesis-drawn cases of the same kind.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from sigprop.rho import exact
from tests.helpers import chi2_cdf_mp

ROUNDING = 1e-15


def cdf_cases(cases: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < cases:
        n = int(rng.integers(2, 9))
        signs = rng.choice([-1.0, 1.0], n)
        if abs(signs.sum()) == n:
            continue
        lam = signs * 10.0 ** rng.uniform(-3, 3, n) * 10.0 ** rng.uniform(-12, 6)
        x = float(rng.choice([0.0, 1.0, rng.uniform(-3, 3)]))
        t0 = time.perf_counter()
        F, err = exact.cdf(lam[None], np.array([x]))
        seconds = time.perf_counter() - t0
        actual = abs(F[0] - chi2_cdf_mp(lam, x))
        rows.append(dict(n=n, x=x, bound=float(err[0]), actual=float(actual), seconds=seconds))
    return rows


def rho_cases(seed: int) -> list[dict]:
    rng = np.random.default_rng(seed + 1)
    rows = []
    for d in (2, 3):
        W = rng.standard_normal((d, d))
        for size in (1e-12, 1e-6, 1e-2, 1.0, 1e2, 1e6):
            t0 = time.perf_counter()
            prof = exact.theory(size * W, 32)
            seconds = time.perf_counter() - t0
            lam = exact.chi2_weights(size * W, 32)
            for i in (0, 10, 31):
                ref = chi2_cdf_mp(lam[i], 1.0) - chi2_cdf_mp(lam[i], 0.0)
                rows.append(dict(d=d, size=size, position=i + 1, bound=float(prof.config["rho_error"][i]),
                                 actual=float(abs(prof.rho[i] - ref)), seconds=seconds))
    return rows


def summary(rows: list[dict]) -> dict:
    # the reference is rounded to float64 (and its quadrature of a probability that is 0 returns
    # values like -8e-22), so differences below ROUNDING are not resolved
    ratio = [r["actual"] / max(r["bound"], ROUNDING) for r in rows]
    return dict(cases=len(rows), violations=int(sum(r["actual"] > r["bound"] + ROUNDING for r in rows)),
                max_ratio=float(max(ratio)),
                median_ratio=float(np.median(ratio)), max_bound=float(max(r["bound"] for r in rows)),
                max_actual=float(max(r["actual"] for r in rows)),
                max_seconds=float(max(r["seconds"] for r in rows)))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    out = dict(config=dict(cases=args.cases, seed=args.seed),
               cdf=summary(cdf_cases(args.cases, args.seed)), rho=summary(rho_cases(args.seed)))
    if args.format == "json":
        print(json.dumps(out, indent=2))
        return
    for part in ("cdf", "rho"):
        s = out[part]
        print(f"{part}: {s['cases']} cases, {s['violations']} above their bound; actual/bound max "
              f"{s['max_ratio']:.3f}, median {s['median_ratio']:.3f}; largest bound {s['max_bound']:.1e}, "
              f"largest actual error {s['max_actual']:.1e}; slowest call {s['max_seconds']:.2f} s")


if __name__ == "__main__":
    main()
