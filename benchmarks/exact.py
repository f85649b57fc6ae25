"""Cost of the exact signal propagation probability per position, and at extreme scales.

``python -m sigprop_benchmarks.exact [--dims 4,16,64,256] [--length 128] [--repeats 3] [--scales 8,64]
[--peers all|2,4,16,64,256,1024] [--peer-repeats 5] [--format table|json|markdown]``
(``--dims ''``: no per-position table; ``--peers all``: every ``d`` of :data:`PEER_DIMS`, the
comparison with Davies' algorithm of :func:`measure_peers`; ``--peer-model m,v,seed``: the
spectrum of ``W`` for it, default ``0.5,0.1,0``)

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


#: The dimensions of the comparison with Davies' algorithm (issue 19: every ``d`` from 2 to 1024).
PEER_DIMS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256, 512, 1024)
#: Absolute error asked of both methods for each value ``F(1)``, ``F(0)`` (Davies' ``acc``, our ``tol``).
PEER_TOL = 1e-7


def peer_weights(d: int, T: int = 128, model: tuple = (0.5, 0.1, 0)) -> np.ndarray:
    """The chi-square weights of the comparison: ``make_weights(m, v, d, seed=seed)`` for
    ``model = (m, v, seed)`` (default ``(0.5, 0.1, 0)``), ``T`` positions."""
    from sigprop.rho.logits import LogitModel
    m, v, seed = model
    return LogitModel(make_weights(m, v, d, seed=int(seed)), T).chi2_weights


#: CPU seconds both methods run, alternated, before :func:`peer_times` measures: the first
#: calls of a process run up to twice as slow on this machine (both methods alike, for the first
#: 0.1-0.2 s), which a single warm-up call does not cover.
WARMUP_S = 0.3


def peer_times(lam: np.ndarray, repeats: int = 5, tol: float = PEER_TOL) -> tuple[float, float]:
    """CPU seconds (``time.process_time``) of ``exact.band(lam, tol=tol)`` and of Davies'
    ``band(lam, acc=tol)``, both on one thread (BLAS held to one thread; Davies' C code is
    single-threaded): the two alternated for :data:`WARMUP_S` of warm-up, then the least of
    ``repeats`` alternated timings of each (as ``timeit`` advises: other activity only adds
    time, so the least is the method's own cost)."""
    from sigprop.core.threads import blas_threads
    from sigprop_benchmarks import davies
    ours, theirs = [], []
    with blas_threads(1):
        start = time.process_time()
        while True:
            exact.band(lam, tol=tol)
            davies.band(lam, acc=tol)
            if time.process_time() - start >= WARMUP_S:
                break
        for _ in range(repeats):
            t0 = time.process_time()
            exact.band(lam, tol=tol)
            ours.append(time.process_time() - t0)
            t0 = time.process_time()
            davies.band(lam, acc=tol)
            theirs.append(time.process_time() - t0)
    return min(ours), min(theirs)


def measure_peers(dims=PEER_DIMS, T: int = 128, repeats: int = 5, reference_positions: int = 4,
                  reference_max_d: int = 16, tol: float = PEER_TOL, model: tuple = (0.5, 0.1, 0)) -> list[dict]:
    """The exact method against Davies' algorithm, at equal accuracy, for each ``d``.

    Equal accuracy: both are asked the same absolute error ``tol`` per value ``F(1)`` and
    ``F(0)`` (Davies' ``acc``, our ``tol``), so ``rho = F(1) - F(0)`` is asked ``2 tol`` of
    both.  Per ``d`` (weights :func:`peer_weights`): CPU ms per position of each
    (:func:`peer_times`), their ratio, our largest error bound, the largest difference of the
    two, and for ``d <= reference_max_d`` the largest actual error of each against mpmath
    (``tests.helpers.chi2_cdf_mp``, 20 digits) on ``reference_positions`` positions spread over
    ``1..T`` (for larger ``d`` the two are compared with each other only).
    """
    from sigprop_benchmarks import davies
    if davies.available() is None:
        raise ImportError("Davies' algorithm is not installed (pip install fastlmmclib, in sigprop[bench])")
    rows = []
    for d in dims:
        lam = peer_weights(d, T, model)
        t_ours, t_peer = peer_times(lam, repeats, tol)
        ours, bound = exact.band(lam, tol=tol)
        peer = davies.band(lam, acc=tol)
        row = dict(d=d, exact_ms=1e3 * t_ours / T, davies_ms=1e3 * t_peer / T, exact_over_davies=t_ours / t_peer,
                   exact_bound=float(bound.max()), davies_acc=2 * tol,
                   max_difference=float(np.abs(ours - peer).max()), exact_error=None, davies_error=None)
        if d <= reference_max_d:
            from tests.helpers import chi2_cdf_mp
            idx = np.linspace(0, T - 1, reference_positions).astype(int)
            ref = np.array([chi2_cdf_mp(lam[i], 1.0) - chi2_cdf_mp(lam[i], 0.0) for i in idx])
            row.update(exact_error=float(np.abs(ours[idx] - ref).max()),
                       davies_error=float(np.abs(peer[idx] - ref).max()),
                       bound_holds=bool(np.all(np.abs(ours[idx] - ref) <= bound[idx])))
        rows.append(row)
    return rows


def peers_markdown(rows: list[dict]) -> str:
    """The comparison as a Markdown table (one row per ``d``)."""
    def e(v):
        return "-" if v is None else f"{v:.1e}"
    lines = ["| d | sigprop, CPU ms per position | Davies, CPU ms per position | sigprop / Davies | "
             "sigprop error (mpmath) | Davies error (mpmath) | largest difference | sigprop bound |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['d']} | {r['exact_ms']:.3f} | {r['davies_ms']:.3f} | {r['exact_over_davies']:.2f} | "
                     f"{e(r['exact_error'])} | {e(r['davies_error'])} | {e(r['max_difference'])} | "
                     f"{e(r['exact_bound'])} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dims", default="4,16,64,256")
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--scales", default="", help="dimensions for the extreme-scale study (e.g. 8,64)")
    p.add_argument("--peers", default="", help="dimensions for the comparison with Davies' algorithm "
                                               "(e.g. 2,4,16,64,256,1024; 'all': every d of PEER_DIMS)")
    p.add_argument("--peer-repeats", type=int, default=5, help="timed repeats per method and d (the least is kept)")
    p.add_argument("--peer-model", default="0.5,0.1,0", help="mean, variance and seed of make_weights for the peers")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    args = p.parse_args(argv)
    dims = [int(x) for x in args.dims.split(",") if x]
    res = measure(dims, args.length, args.repeats) if dims else dict(config=dict(T=args.length), rows=[])
    if args.scales:
        res["scales"] = measure_scales([int(x) for x in args.scales.split(",")], args.length)
    if args.peers:
        peer_dims = PEER_DIMS if args.peers == "all" else [int(x) for x in args.peers.split(",")]
        model = tuple(float(v) for v in args.peer_model.split(","))
        res["peers"] = measure_peers(peer_dims, args.length, args.peer_repeats, model=model)
        res["config"].update(peer_tol=PEER_TOL, peer_repeats=args.peer_repeats, peer_model=list(model),
                             peer_time="CPU (process_time), one thread")
    res["machine"] = dict(res.get("machine", {}), load=os.getloadavg())
    if args.format == "json":
        print(json.dumps(res, indent=2))
        return
    if args.format == "markdown":
        if res.get("peers"):
            print(peers_markdown(res["peers"]))
        if res["rows"]:
            print("\n| d | W | wall ms per position | largest bound |\n|---|---|---|---|")
        for r in res["rows"]:
            print(f"| {r['d']} | {r['kind']} | {r['ms_per_position']:.3f} | {r['max_error_bound']:.1e} |")
        print(f"\nload average {' '.join(f'{v:.2f}' for v in res['machine']['load'])}")
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
