"""Sweep engine: speed-up of a CPU-bound sweep with 2 workers over 1, and the engine's cost per cell.

``python -m sigprop_benchmarks.sweep [--cells 16] [--samples 200000] [--pairs 7] [--noop 200] [--format table|json]``

* speed-up: the same ``validation`` sweep (``cells`` cells of Monte Carlo, each about a
  second) on a local Dask cluster of 1 and of 2 worker processes, both started first (start-up
  and the workers' imports, a few seconds, reported apart); ``pairs`` pairs, the two timed
  back to back, the order alternated from pair to pair, each pair followed by the host's
  parallel ceiling of the moment (:func:`sigprop_benchmarks.suite._ceiling_tasks`: pure
  arithmetic on 1 and on 2 worker processes).  ``speedup_2_over_1`` and
  ``sweep_speedup_over_ceiling`` (each pair's speed-up over its ceiling) are medians with their
  distribution-free 95% intervals; the target ``sweep_speedup_over_ceiling >= 0.85`` is judged on
  the interval (met, missed, inconclusive).  ``cores_used`` is the workers' CPU time over the
  wall time: on a busy machine it shows how much of the 2 cores the workers obtained;
* overhead: ``noop`` cells of a study that does nothing (:func:`noop`), on 2 workers and in
  this process (``workers=0``): wall time per cell, i.e. scheduling, transfer and the
  writes of the cell's region and status.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from sigprop.sweep import register, run


@register("bench-noop", axes=("i",), outputs={"y": ()})
def noop(i: int) -> dict:
    """A study that computes nothing: its cost is the engine's."""
    return {"y": float(i)}


def _cluster(n: int):
    import distributed
    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=40)
    client = distributed.Client(cluster)
    client.wait_for_workers(n)
    client.run(importlib.import_module, "sigprop.sweep.studies")     # workers warm: imports done
    return cluster, client, time.perf_counter() - t0


def _cpu(client) -> float:
    """CPU seconds used so far by all worker processes of ``client``."""
    return sum(client.run(time.process_time).values()) if client is not None else time.process_time()


def _timed(spec, store, client=None, **engine) -> dict:
    load = os.getloadavg()[0]
    cpu = _cpu(client)
    t0 = time.perf_counter()
    res = run(spec, store, progress=False, client=client, **engine)
    wall = time.perf_counter() - t0
    cpu = _cpu(client) - cpu
    assert res["done"] == res["total"], res
    return dict(seconds=wall, worker_cpu_seconds=cpu, cores_used=cpu / wall, load_before=load,
                load_after=os.getloadavg()[0])


#: The sweep's parallel target, relative to the host's measured ceiling.
SPEEDUP_OVER_CEILING = 0.85


def judge(values: list[float], threshold: float) -> dict:
    """Median, distribution-free 95% interval and verdict of ``median >= threshold``: met when the
    whole interval lies above, missed when below, else inconclusive (judged on the median alone
    with fewer than 6 values)."""
    import statistics

    from sigprop.core.stats import median_interval
    found = median_interval(values)
    low, high = (found[1], found[2]) if found is not None else (statistics.median(values),) * 2
    verdict = "met" if low >= threshold else "missed" if high < threshold else "inconclusive"
    return dict(value=statistics.median(values), interval=None if found is None else [low, high],
                target=f">= {threshold:g}", verdict=verdict)


def measure(cells: int = 16, samples: int = 200_000, noop_cells: int = 200, pairs: int = 7) -> dict:
    from sigprop_benchmarks.suite import _ceiling_tasks

    work = dict(study="validation", args=dict(m=0.5, v=0.1, d=16, T=64, samples=samples),
                axes=dict(seed={"start": 0, "stop": cells}))
    empty = dict(study="sigprop_benchmarks.sweep:noop", axes=dict(i={"start": 0, "stop": noop_cells}))
    out = dict(config=dict(cells=cells, samples=samples, noop_cells=noop_cells, pairs=pairs,
                           cell="validation d=16 T=64"),
               machine=dict(platform=platform.platform(), cpus=os.cpu_count(), numpy=np.__version__))
    ceiling = _ceiling_tasks()
    runs: dict[int, list[dict]] = {1: [], 2: []}
    ceilings: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clusters = {n: _cluster(n) for n in (1, 2)}
        try:
            for n in (1, 2):
                out[f"startup_{n}"] = clusters[n][2]
            for r in range(pairs):
                for n in ((1, 2) if r % 2 == 0 else (2, 1)):
                    runs[n].append(_timed(work, tmp / f"work{n}-{r}.zarr", client=clusters[n][1]))
                t0 = time.perf_counter()
                ceiling(1)
                t1 = time.perf_counter()
                ceiling(2)
                ceilings.append((t1 - t0) / (time.perf_counter() - t1))
            ov = _timed(empty, tmp / "noop.zarr", client=clusters[2][1])
            out["overhead_ms_per_cell"] = 1e3 * ov["seconds"] / noop_cells
            out["overhead_load"] = ov["load_before"]
        finally:
            for cluster, client, _ in clusters.values():
                client.close()
                cluster.close()
        inproc = _timed(empty, tmp / "noop0.zarr", workers=0)
        out["overhead_ms_per_cell_in_process"] = 1e3 * inproc["seconds"] / noop_cells
    speedups = [a["seconds"] / b["seconds"] for a, b in zip(runs[1], runs[2], strict=True)]
    out["workers_1"], out["workers_2"] = runs[1], runs[2]
    out["machine_parallel_ceiling"] = ceilings
    out["speedup_2_over_1"] = judge(speedups, 0.0) | dict(target=None, verdict=None, pairs=speedups)
    out["sweep_speedup_over_ceiling"] = judge([s / c for s, c in zip(speedups, ceilings, strict=True)],
                                              SPEEDUP_OVER_CEILING)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=16)
    p.add_argument("--samples", type=int, default=200_000)
    p.add_argument("--noop", type=int, default=200)
    p.add_argument("--pairs", type=int, default=7)
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    res = measure(args.cells, args.samples, args.noop, args.pairs)
    if args.format == "json":
        print(json.dumps(res, indent=2))
        return

    def shown(r):
        iv = r["interval"]
        return f"{r['value']:.2f}" + ("" if iv is None else f" [{iv[0]:.2f}, {iv[1]:.2f}]")
    print(f"CPU-bound sweep: {args.cells} cells of {res['config']['cell']}, {args.samples} samples each, "
          f"{args.pairs} alternated pairs (cluster start-up {res['startup_1']:.1f} s / {res['startup_2']:.1f} s apart)")
    for n in (1, 2):
        w = res[f"workers_{n}"]
        print(f"  {n} worker(s): " + ", ".join(f"{x['seconds']:.2f} s ({x['cores_used']:.2f} cores, load "
                                               f"{x['load_before']:.1f})" for x in w))
    c = res["sweep_speedup_over_ceiling"]
    print(f"  speed-up 2 over 1: {shown(res['speedup_2_over_1'])}; host ceiling "
          f"{', '.join(f'{x:.2f}' for x in res['machine_parallel_ceiling'])}; over the ceiling {shown(c)} "
          f"(target {c['target']}: {c['verdict']})")
    print(f"engine overhead: {res['overhead_ms_per_cell']:.1f} ms per cell on 2 workers "
          f"(load {res['overhead_load']:.2f}), {res['overhead_ms_per_cell_in_process']:.1f} ms in process")


if __name__ == "__main__":
    main()
