"""The ledger before and after: ``python -m benchmarks.ledger BASE [--quick-pairs 3] [--full-pairs 1]``.

``BASE`` is a checkout of the previous code (``git worktree add`` or ``git archive | tar -x``).
Each run is a fresh ``sigprop claims --format json`` process: the previous code (one process,
its default BLAS threads) and this code (``--workers 2 --fresh``: every row computed, in worker
processes), alternated pair by pair (before-after, then after-before, ...); then one run of this
code with nothing changed (rows read back from the cache).  Per run: wall time, CPU time of the
process and its children, the load average; per pair the wall and CPU ratios before / after, and
whether the verdicts are identical and the numbers agree (largest relative difference).
Writes JSON to stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def _run(code: str, args: list[str], env: dict) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "sigprop.cli", "claims", "--format", "json", "--no-progress", *args],
                         cwd=code, env=dict(env, PYTHONPATH=code), capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return dict(wall_s=wall, cpu_s=cpu, load=[load, os.getloadavg()[0]], result=json.loads(out.stdout))


def _numbers(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield path, float(x)


def compare(a: dict, b: dict) -> dict:
    """Verdicts identical? The largest relative difference of the rows' numbers (and where)."""
    ra, rb = {e["id"]: e for e in a["claims"]}, {e["id"]: e for e in b["claims"]}
    worst, where = 0.0, None
    for cid in ra:
        na, nb = dict(_numbers(ra[cid]["numbers"])), dict(_numbers(rb.get(cid, {}).get("numbers", {})))
        for k in na:
            if k in nb and na[k] != nb[k]:
                rel = abs(na[k] - nb[k]) / max(abs(na[k]), abs(nb[k]), 1e-300)
                if rel > worst:
                    worst, where = rel, f"{cid}{k}"
    return dict(same_ids=list(ra) == list(rb),
                same_verdicts={k: v["verdict"] for k, v in ra.items()} == {k: v["verdict"] for k, v in rb.items()},
                max_relative_difference=worst, where=where)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base")
    p.add_argument("--code", default=None, help="the checkout to time as 'after' (default: this one)")
    p.add_argument("--quick-pairs", type=int, default=3)
    p.add_argument("--full-pairs", type=int, default=1)
    args = p.parse_args(argv)
    here = args.code or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, XDG_CACHE_HOME=tempfile.mkdtemp(prefix="sigprop-ledger-bench-"))
    out: dict = dict(base=args.base, code=here, cores=os.cpu_count(), modes={})
    for mode, pairs in (("quick", args.quick_pairs), ("full", args.full_pairs)):
        flag = ["--quick"] if mode == "quick" else []
        if pairs == 0:
            continue
        rows = []
        for k in range(pairs):
            order = ("before", "after") if k % 2 == 0 else ("after", "before")
            pair = {}
            for side in order:
                pair[side] = (_run(args.base, flag, env) if side == "before"
                              else _run(here, [*flag, "--workers", "2", "--fresh"], env))
            pair["agreement"] = compare(pair["before"]["result"], pair["after"]["result"])
            for side in ("before", "after"):
                pair[side].pop("result")
            pair["wall_ratio"] = pair["before"]["wall_s"] / pair["after"]["wall_s"]
            pair["cpu_ratio"] = pair["before"]["cpu_s"] / pair["after"]["cpu_s"]
            rows.append(pair)
            print(mode, k, json.dumps({s: pair[s] for s in ("wall_ratio", "cpu_ratio", "agreement")}),
                  file=sys.stderr, flush=True)
        cached = _run(here, flag, env)
        cached.pop("result")
        out["modes"][mode] = dict(pairs=rows, unchanged_second_run=cached)
        print(mode, "cached", json.dumps(cached), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":  # pragma: no cover - a measurement
    main()
