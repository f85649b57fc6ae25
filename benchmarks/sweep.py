"""Sweep engine: speed-up of a CPU-bound sweep with 2 workers over 1, and the engine's cost per cell.

``python -m sigprop_benchmarks.sweep [--cells 16] [--samples 200000] [--noop 200] [--format table|json]``

* speed-up: the same ``validation`` sweep (``cells`` cells of Monte Carlo, each about a
  second) on a local Dask cluster of 1 and then 2 worker processes; wall time of
  :func:`sigprop.sweep.run` with the cluster already started and its workers' imports done
  (start-up, a few seconds, is reported apart), and the 1-minute load average before and after
  each run, since the
  machine may be shared;
  ``cores_used`` is the workers' CPU time over the wall time: on a busy machine it shows how
  much of the 2 cores the workers obtained (a speed-up cannot exceed it);
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


def measure(cells: int = 16, samples: int = 200_000, noop_cells: int = 200) -> dict:
    work = dict(study="validation", args=dict(m=0.5, v=0.1, d=16, T=64, samples=samples),
                axes=dict(seed={"start": 0, "stop": cells}))
    empty = dict(study="sigprop_benchmarks.sweep:noop", axes=dict(i={"start": 0, "stop": noop_cells}))
    out = dict(config=dict(cells=cells, samples=samples, noop_cells=noop_cells, cell="validation d=16 T=64"),
               machine=dict(platform=platform.platform(), cpus=os.cpu_count(), numpy=np.__version__))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in (1, 2):
            cluster, client, start = _cluster(n)
            try:
                out[f"workers_{n}"] = dict(_timed(work, tmp / f"work{n}.zarr", client=client), startup=start)
                if n == 2:
                    ov = _timed(empty, tmp / "noop.zarr", client=client)
                    out["overhead_ms_per_cell"] = 1e3 * ov["seconds"] / noop_cells
                    out["overhead_load"] = ov["load_before"]
            finally:
                client.close()
                cluster.close()
        inproc = _timed(empty, tmp / "noop0.zarr", workers=0)
        out["overhead_ms_per_cell_in_process"] = 1e3 * inproc["seconds"] / noop_cells
    out["speedup_2_over_1"] = out["workers_1"]["seconds"] / out["workers_2"]["seconds"]
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=16)
    p.add_argument("--samples", type=int, default=200_000)
    p.add_argument("--noop", type=int, default=200)
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    res = measure(args.cells, args.samples, args.noop)
    if args.format == "json":
        print(json.dumps(res, indent=2))
        return
    w1, w2 = res["workers_1"], res["workers_2"]
    print(f"CPU-bound sweep: {args.cells} cells of {res['config']['cell']}, {args.samples} samples each")
    for n, w in ((1, w1), (2, w2)):
        print(f"  {n} worker(s): {w['seconds']:7.2f} s (cluster start-up {w['startup']:.1f} s apart), "
              f"{w['cores_used']:.2f} cores used, "
              f"load average {w['load_before']:.2f} -> {w['load_after']:.2f}")
    print(f"  speed-up 2 over 1: {res['speedup_2_over_1']:.2f} (on {res['machine']['cpus']} cores)")
    print(f"engine overhead: {res['overhead_ms_per_cell']:.1f} ms per cell on 2 workers "
          f"(load {res['overhead_load']:.2f}), {res['overhead_ms_per_cell_in_process']:.1f} ms in process")


if __name__ == "__main__":
    main()
