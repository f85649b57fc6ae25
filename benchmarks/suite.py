"""``sigprop bench``: every performance ratio, each taken within one run.

Keys (medians over repeats, warm-up excluded; the repeats behind the ratios, speed-ups,
start-up times and the closed-form rate are kept in ``repeats[key]``, and :func:`targets` judges
a target on the median's distribution-free 95% interval: met, missed or inconclusive; the two
Davies ratios, medians of 5 CPU times, on their value).  Every ratio and speed-up is paired:
its two sides timed back to back, the order alternated from round to round (:func:`_times`).
Threads are set deliberately on both sides: ``*_1thread`` figures run sigprop on one thread
(``simulate(threads=1)``, BLAS held to one thread) against PyTorch with
``torch.set_num_threads(1)``: these are the judged ones; the others run both on every core
(``simulate()``'s default threads, ``torch.set_num_threads(cores)``) and are reported beside them
with the load at the time (``all_thread_load``), not judged.  The parallel speed-ups are judged
against the host's ceiling measured in the same pairs (``mc_threads_over_ceiling >= 0.9``).  A
``--quick`` run does not judge the keys it cannot measure honestly (:data:`QUICK_UNJUDGED`).

* ``mc_over_rng``: :func:`sigprop.simulate` (one thread) at ``d = 64, T = 128`` over the
  time NumPy needs to draw the same Gaussian numbers in the same dtype on one stream
  (float64; also ``mc_over_rng_float32``);
* ``mc_over_torch``: the same Monte Carlo over a straightforward PyTorch CPU version
  (same dtype; also ``mc_over_torch_float32`` and the ``_1thread`` variants), ``None``
  with a note without PyTorch;
* ``mc_threads_speedup``: one-worker over all-worker time of :func:`sigprop.simulate`
  (``threads=1`` against ``threads=cores``, its default workers: forked processes on Linux,
  threads elsewhere; float64; also ``mc_threads_speedup_float32``): the median of 15
  back-to-back ratios (:func:`_speedup`), taken before PyTorch is imported, every time in
  ``config["mc_threads_speedup_times"]``; ``machine_parallel_ceiling``: the same ratio for a
  reference of pure arithmetic in cache timed right after each pair (:func:`_ceiling_tasks`:
  what the machine gave two workers at that moment), and ``mc_threads_over_ceiling(_float32)``
  the median of the pairs' speed-up over the reference's;
* ``train_step_over_torch``: one training step of the one-layer model (``d = 64,
  T = 64``, batch 64, softmax, Adam, float64) over PyTorch autograd on the same
  model and the same fixed batch (also ``train_step_over_torch_1thread``);
* ``closed_form_evals_per_s``: closed-form ``rho`` evaluations per second over a
  grid of 250 000 ``(m, v)`` pairs times 128 positions;
* ``exact_ms_per_position``: the exact method at ``d = 256, T = 128``;
  ``exact_speedup_vs_round1``: the first round's exact method (frozen in
  :mod:`sigprop_benchmarks.round1_exact`) over today's, same weights, same run;
  ``exact_over_davies``: over Davies' algorithm (:mod:`sigprop_benchmarks.davies`, same
  accuracy asked, ``1e-7`` per value; :func:`sigprop_benchmarks.exact.peer_times`: the
  distribution functions alone, same chi-square weights, CPU time, one thread on both sides),
  ``None`` with a note when it is not installed; ``exact_over_davies_worst``: the largest of
  the same ratio over ``d`` in :data:`sigprop_benchmarks.exact.PEER_DIMS` (2 to 1024; quick:
  2, 8, 32), with every ratio in ``config["exact_over_davies"]``;
* ``saddlepoint_ms_per_position`` and ``saddlepoint_max_error`` (against the exact method)
  at the same ``d, T``;
* ``startup_help_s``, ``startup_predict_s`` (``predict`` at ``d = 64, T = 128``) and the
  baselines ``python_pass_s``, ``python_numpy_s`` (fresh processes, medians), with the
  ratios ``startup_help_over_pass`` and ``startup_predict_over_numpy``;
* ``peak_mb``: peak NumPy memory of each measurement (``tracemalloc``, this process only:
  ``mc_all_threads`` runs the workers as threads);
* ``machine.load``: the load average (1, 5, 15 min) before and after the run (it counts the
  bench's own threads); ``machine.other_cpu_share``: the share of the machine's CPU time that
  *other* processes used during the run (``/proc/stat`` less this process and its children).
  Above :data:`OTHERS_LOADED` (where ``/proc/stat`` is missing: a 1-minute load above half the
  cores) the machine is *loaded*: ``machine.loaded`` is true and a note says the ratios are
  unreliable.
* ``data_map_ms``, ``data_mc_over_rng``: the data models (:func:`_data_models`).
"""
from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterable

import numpy as np

from sigprop import make_weights, simulate, theory_spectrum
from sigprop._version import __version__
from sigprop.core import threads
from sigprop.model import attention as att
from sigprop.model import optim
from sigprop.model.train import Task, TrainConfig, loss_and_grads
from sigprop.rho import exact, saddlepoint, walk
from sigprop.rho.logits import LogitModel

from . import davies, round1_exact, torch_peers
from . import exact as exact_peers


def _all_times(fn, repeats) -> list[float]:
    """Wall times of ``repeats`` calls after one warm-up call."""
    fn()                                              # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _median_time(fn, repeats):
    return statistics.median(_all_times(fn, repeats))


def _keep(out: dict, key: str, values) -> None:
    """``out[key]``: the median of ``values``, every one of them kept in ``out["repeats"][key]``
    (:func:`targets` judges a target on their median's interval)."""
    values = [float(v) for v in values]
    out.setdefault("repeats", {})[key] = values
    out[key] = statistics.median(values)


def _peak_mb(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def _times(fns: dict, repeats: int) -> dict[str, list[float]]:
    """Every function once (warm-up), then ``repeats`` rounds timing each in turn, back to back,
    the order reversed every other round (alternated: a drift of the machine's state within a
    round does not favour the side timed first)."""
    for f in fns.values():
        f()
    times: dict[str, list[float]] = {key: [] for key in fns}
    names = list(fns)
    for r in range(repeats):
        for key in (names if r % 2 == 0 else names[::-1]):
            t0 = time.perf_counter()
            fns[key]()
            times[key].append(time.perf_counter() - t0)
    return times


def _ratio(fa, fb, repeats):
    """``(ratios, median time(fa), median time(fb))``: the ``repeats`` ratios time(fa)/time(fb),
    the two timed back to back."""
    t = _times({"a": fa, "b": fb}, repeats)
    return ([a / b for a, b in zip(t["a"], t["b"])],
            statistics.median(t["a"]), statistics.median(t["b"]))


def _speedup(fa, fb, repeats, record: dict, reference=None) -> list[float]:
    """The ``repeats`` ratios ``time(fa) / time(fb)``, the two timed back to back (as
    :func:`_ratio`: a pair shares the machine's state of the moment, which drifts by 30% here).

    ``record`` receives every time (``one``, ``all``) and the least one-worker time over the
    least all-worker time (``least_ratio``).  With ``reference = (ra, rb)``, the same ratio for a
    reference workload is timed right after each pair (``reference_one``, ``reference_all``):
    what the machine gives two workers at that moment (:func:`_ceiling_tasks`).
    """
    fns = {"one": fa, "all": fb}
    if reference is not None:
        fns.update(reference_one=reference[0], reference_all=reference[1])
    times = _times(fns, repeats)
    record.update(times, least_ratio=min(times["one"]) / min(times["all"]))
    return [a / b for a, b in zip(times["one"], times["all"])]


def _ceiling_tasks(count: int = 8, size: int = 1 << 16, calls: int = 1500):
    """A reference for the speed-ups: ``count`` equal tasks of pure arithmetic on arrays that stay
    in a core's cache (``np.sin`` on ``size`` float32 numbers, ``calls`` times), run by
    :func:`sigprop.core.workers.run` on one worker and on every core, as ``simulate`` runs its
    streams.  Its ratio is what the machine gives to two workers at that moment: two vCPUs of
    a shared host are not always two cores."""
    from sigprop.core import workers

    def task(k, report):
        a = np.random.default_rng(k).random(size).astype(np.float32)
        b = np.empty_like(a)
        for _ in range(calls):
            np.sin(a, out=b)
        return float(b[0])

    def run(n):
        workers.run(task, count, n, processes=n > 1 and workers.forking())
    return run


#: ``machine.loaded`` when other processes took more than this share of the machine's CPU time
#: while the bench ran.
OTHERS_LOADED = 0.1


def _cpu_seconds() -> tuple[float, float, float] | None:
    """(busy CPU seconds of the whole machine, of this process and its waited-for children,
    wall time), or None where ``/proc/stat`` cannot be read.  Busy counts user, nice, system,
    interrupts and steal (time the hypervisor gave to others)."""
    import resource
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    own = sum(getattr(resource.getrusage(who), k) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for k in ("ru_utime", "ru_stime"))
    return (user + nice + system + irq + softirq + steal) / tick, own, time.monotonic()


def _other_cpu_share(start, end, cores: int) -> float | None:
    """Share of the machine's CPU time (``cores`` times the wall time) that other processes used
    between two :func:`_cpu_seconds` readings."""
    if start is None or end is None or end[2] <= start[2]:
        return None
    others = (end[0] - start[0]) - (end[1] - start[1])
    return round(max(others, 0.0) / (cores * (end[2] - start[2])), 4)


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not available
        return []


def _version(package: str) -> str:
    """The installed version of the distribution ``package`` ("?" when it has no metadata)."""
    from importlib import metadata
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _startup(out: dict, repeats: int) -> None:
    """Median wall time of fresh processes: the two baselines and two commands."""
    cli = [sys.executable, "-m", "sigprop.cli"]
    cmds = {"python_pass_s": [sys.executable, "-c", "pass"],
            "python_numpy_s": [sys.executable, "-c", "import numpy"],
            "startup_help_s": [*cli, "--help"],
            "startup_predict_s": [*cli, "predict", "--mean", "0.5", "--var", "0.1", "--dim", "64",
                                  "--length", "128"]}
    script = shutil.which("sigprop")
    if script:                                     # the installed entry point, as a user runs it
        cmds["startup_help_s"] = [script, "--help"]
        cmds["startup_predict_s"] = [script, *cmds["startup_predict_s"][3:]]
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(repeats):                       # interleaved, so that load drifts hit all alike
        for key, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[key].append(time.perf_counter() - t0)
    for key, values in times.items():
        _keep(out, key, values)
    out["startup_help_over_pass"] = out["startup_help_s"] / out["python_pass_s"]
    out["startup_predict_over_numpy"] = out["startup_predict_s"] / out["python_numpy_s"]


def run(quick: bool = False, only: Iterable[str] | None = None) -> dict:
    """Every measure (:data:`KEYS`), or with ``only`` the groups (:data:`GROUPS`) holding those keys."""
    groups = selected(only)
    load_start = _load()
    cpu_start = _cpu_seconds()
    cores = threads.cores()
    repeats = 1 if quick else 7
    speedup_repeats = 1 if quick else 15       # the ratio most sensitive to the machine's noise
    samples = 1000 if quick else 20_000
    grid_n = 50 if quick else 500
    d, T = 64, 128
    W = make_weights(0.5, 0.1, d, seed=0)
    out = dict(version=__version__,
               config=dict(quick=quick, repeats=repeats, speedup_repeats=speedup_repeats,
                           mc=dict(d=d, T=T, samples=samples),
                           train=dict(d=64, T=64, batch=64), closed_form_grid=[grid_n, grid_n, 128],
                           exact=dict(d=256, T=128),
                           threads=dict(all=cores, blas_control=threads.available())),
               machine=dict(platform=platform.platform(), processor=platform.processor(),
                            cpus=os.cpu_count(), cores=cores, python=platform.python_version(),
                            numpy=np.__version__, load=dict(start=load_start)),
               date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               only=sorted(groups) if only is not None else None,
               notes=[], peak_mb={})
    have_torch = bool(groups & {"mc", "train"}) and torch_peers.available(load=False)
    peers = (["torch"] if have_torch else []) + ([davies.available()] if "exact" in groups else [])
    out["machine"]["peers"] = {p: _version(p) for p in peers if p}     # name -> version, those used
    if not threads.available():
        out["notes"].append("threadpoolctl is not installed: BLAS threads are left as they are "
                            "(pip install 'sigprop[threads]')")
    if "mc" in groups:
        batch = next(walk.batch_sizes(samples, T * d))
        speedups: dict[str, dict] = {}
        out["config"]["mc_threads_speedup_times"] = speedups
        kinds = (("", np.float64), ("_float32", np.float32))
        ceiling, ceilings = _ceiling_tasks(calls=3 if quick else 1500), []

        def mc(dtype, n=1, processes=None):
            simulate(W, T, samples=samples, seed=1, dtype=dtype, threads=n, processes=processes)
        # Before PyTorch is imported: a process that holds it (200 MB of mappings) forks each worker
        # in 17 ms instead of 2.5 ms here, a cost no sigprop user pays.
        for name, dtype in kinds:
            def rng(dtype=dtype):
                for _ in walk.standard_steps(samples, T, d, seed=1, dtype=dtype):
                    pass
            ratios, t_mc, _ = _ratio(lambda dtype=dtype: mc(dtype), rng, repeats)
            _keep(out, "mc_over_rng" + name, ratios)
            out["mc_samples_per_s" + name] = samples / t_mc
            speedups[name or "_float64"] = record = {}
            _keep(out, "mc_threads_speedup" + name,
                  _speedup(lambda dtype=dtype: mc(dtype), lambda dtype=dtype: mc(dtype, cores), speedup_repeats,
                           record, (lambda: ceiling(1), lambda: ceiling(cores))))
            _keep(out, "mc_threads_over_ceiling" + name,
                  [(a / b) / (c / e) for a, b, c, e in zip(record["one"], record["all"], record["reference_one"],
                                                            record["reference_all"])])
            ceilings.extend(c / e for c, e in zip(record["reference_one"], record["reference_all"]))
            out["peak_mb"]["mc" + name] = _peak_mb(lambda dtype=dtype: mc(dtype))
            # tracemalloc sees this process only: the peak of all workers as threads (each worker
            # process holds at most what one thread does)
            out["peak_mb"]["mc_all_threads" + name] = _peak_mb(lambda dtype=dtype: mc(dtype, cores, False))
        _keep(out, "machine_parallel_ceiling", ceilings)
    if have_torch:
        import torch
    if "mc" in groups:
        for name, dtype in kinds:
            if have_torch:
                def peer(dtype=dtype):
                    torch_peers.monte_carlo(W, T, samples, batch, 1, np.dtype(dtype).name)
                torch.set_num_threads(1)
                _keep(out, "mc_over_torch_1thread" + name, _ratio(lambda dtype=dtype: mc(dtype), peer, repeats)[0])
                torch.set_num_threads(cores)
                _keep(out, "mc_over_torch" + name, _ratio(lambda dtype=dtype: mc(dtype, cores), peer, repeats)[0])
                out.setdefault("all_thread_load", {})["mc_over_torch" + name] = _load()
            else:
                out["mc_over_torch" + name] = out["mc_over_torch_1thread" + name] = None
        if not have_torch:
            out["notes"].append("PyTorch is not installed: mc_over_torch and train_step_over_torch skipped "
                                "(pip install 'sigprop[bench]')")

    if "train" in groups:
        cfg = TrainConfig(task="teacher", d=64, d_k=64, T=64, batch=64)
        model = cfg.model()
        params = att.init_params(model, 0)
        X, target = Task(cfg, 1).draw(np.random.default_rng(2), 64)
        peer_params = {k: v.copy() for k, v in params.items()}
        opt = optim.make("adam", cfg.lr)
        steps = 3 if quick else 50

        def ours():
            for _ in range(steps):
                _, _, grads = loss_and_grads(params, X, target, model, 0.0)
                opt.step(params, grads)

        def ours_1thread():
            with threads.blas_threads(1):
                ours()
        out["train_step_ms"] = 1e3 * _median_time(ours_1thread, repeats) / steps
        out["peak_mb"]["train_step"] = _peak_mb(ours)
        if have_torch:
            step = torch_peers.train_step(peer_params, X, target)

            def theirs():
                for _ in range(steps):
                    step()
            torch.set_num_threads(1)
            _keep(out, "train_step_over_torch_1thread", _ratio(ours_1thread, theirs, repeats)[0])
            torch.set_num_threads(cores)
            _keep(out, "train_step_over_torch", _ratio(ours, theirs, repeats)[0])
            out.setdefault("all_thread_load", {})["train_step_over_torch"] = _load()
        else:
            out["train_step_over_torch"] = out["train_step_over_torch_1thread"] = None

    if "closed_form" in groups:
        m = np.linspace(-1, 1, grid_n)[:, None]
        v = np.linspace(0, 2, grid_n)

        def grid():
            theory_spectrum(m, v, d, T, method="gaussian")
        _keep(out, "closed_form_evals_per_s", [m.size * v.size * T / t for t in _all_times(grid, repeats)])
        out["peak_mb"]["closed_form"] = _peak_mb(grid)

    if "exact" in groups:
        We = make_weights(0.5, 0.1, 256, seed=0)
        Te = 4 if quick else 128
        lam = LogitModel(We, Te).chi2_weights
        ex_repeats = 1 if quick else 7

        def ex():
            exact.theory(We, Te)
        paired = _times({"round1": lambda: round1_exact.band(lam), "now": ex}, ex_repeats)
        t_exact = statistics.median(paired["now"])
        out["exact_ms_per_position"] = 1e3 * t_exact / Te
        out["config"]["exact"]["T"] = Te
        out["peak_mb"]["exact"] = _peak_mb(ex)
        _keep(out, "exact_speedup_vs_round1", [a / b for a, b in zip(paired["round1"], paired["now"])])
        reference, _ = exact.band(lam)
        davies_rho = davies.band(lam)
        if davies_rho is None:
            out["exact_over_davies"] = out["exact_over_davies_worst"] = None
            out["notes"].append("Davies' algorithm is not installed (pip install fastlmmclib, in sigprop[bench]): "
                                "exact_over_davies missing")
        else:
            # CPU time, one thread on both sides, both asked 1e-7 per value (benchmarks/exact.py)
            peer_repeats = 1 if quick else 5
            t_ours, t_davies = exact_peers.peer_times(lam, peer_repeats)
            out["exact_over_davies"] = t_ours / t_davies
            out["davies_max_difference"] = float(np.abs(davies_rho - reference).max())
            dims = (2, 8, 32) if quick else exact_peers.PEER_DIMS
            ratios = {}
            for dd in dims:
                a, b = exact_peers.peer_times(exact_peers.peer_weights(dd, Te), peer_repeats)
                ratios[dd] = a / b
            worst = max(ratios, key=lambda k: ratios[k])
            out["exact_over_davies_worst"] = ratios[worst]
            out["config"]["exact_over_davies"] = dict(dims=list(dims), T=Te, worst_d=worst,
                                                      ratios={str(k): v for k, v in ratios.items()},
                                                      time="CPU, one thread", tol=exact_peers.PEER_TOL)
        t_sp = _median_time(lambda: saddlepoint.band(lam), ex_repeats)
        out["saddlepoint_ms_per_position"] = 1e3 * t_sp / Te
        out["saddlepoint_max_error"] = float(np.abs(saddlepoint.band(lam) - reference).max())

    if "data" in groups:
        _data_models(out, W, d, T, samples, repeats, quick)
    if "startup" in groups:
        _startup(out, 1 if quick else 10)
    load_end = _load()
    out["machine"]["load"]["end"] = load_end
    others = _other_cpu_share(cpu_start, _cpu_seconds(), cores)
    out["machine"]["other_cpu_share"] = others
    if others is not None:             # what other processes took of the machine during the run
        out["machine"]["loaded"] = bool(others > OTHERS_LOADED)
        busy_text = f"other processes used {100 * others:.0f}% of the {cores} cores during the run"
    else:                              # no /proc/stat: the load average, which counts the bench too
        busy = max([x[0] for x in (load_start, load_end) if x] or [0.0])
        out["machine"]["loaded"] = bool(busy > cores / 2)
        busy_text = f"1-minute load average up to {busy:g} on {cores} cores"
    if out["machine"]["loaded"]:
        out["notes"].append(f"the machine was loaded ({busy_text}): "
                            "timings are inflated and ratios unreliable; repeat on a quiet machine")
    return out


def _data_models(out: dict, W, d: int, T: int, samples: int, repeats: int, quick: bool) -> None:
    """``data_map_ms``: the closed-form map ``rho[q, i]`` (``query="all"``, causal AR(1), ``d = 64``,
    ``T = 512``, 128 quick); ``data_mc_over_rng``: the simulation of an AR(1) data model at
    ``d = 64, T = 128`` over drawing its Gaussian numbers (docs/data-models.md)."""
    from sigprop.rho.logits import LogitModel
    from sigprop.rho.theory import theory

    Tm = 128 if quick else 512
    out["config"]["data_map"] = dict(d=d, T=Tm, data="ar1:16", causal=True)

    def data_map():
        theory(LogitModel.from_spectrum(0.5, 0.1, d, Tm, data="ar1:16", query="all", causal=True), method="gaussian")
    out["data_map_ms"] = 1e3 * _median_time(data_map, repeats)
    out["peak_mb"]["data_map"] = _peak_mb(data_map)
    model = LogitModel(W, T, data="ar1:16")
    n = 1000 if quick else samples
    out["config"]["data_mc"] = dict(d=d, T=T, data="ar1:16", samples=n)

    def mc():
        simulate(model, samples=n, seed=1, threads=1)

    def rng():
        for _ in walk.standard_steps(n, T, d, seed=1, batch_size=walk.BATCH_ELEMENTS // (T * d + T)):
            pass
    _keep(out, "data_mc_over_rng", _ratio(mc, rng, repeats)[0])
    out["peak_mb"]["data_mc"] = _peak_mb(mc)


#: The groups of measures ``run(only=...)`` can run alone, by key prefix (first match).
GROUPS = (("mc", ("mc_", "machine_parallel_")), ("train", ("train_",)), ("closed_form", ("closed_form_",)),
          ("exact", ("exact_", "saddlepoint_")), ("data", ("data_",)),
          ("startup", ("startup_", "python_")))


def group_of(key: str) -> str:
    """The group (:data:`GROUPS`) that measures ``key``."""
    return next(name for name, prefixes in GROUPS if key.startswith(prefixes))


def selected(only: Iterable[str] | None) -> set[str]:
    """The groups to run for the keys ``only`` (every group for ``None``); an unknown key is a
    ``ValueError`` naming the known ones."""
    if only is None:
        return {name for name, _ in GROUPS}
    keys = [k.strip() for k in only if k.strip()]
    unknown = [k for k in keys if k not in KEYS]
    if unknown or not keys:
        raise ValueError(f"argument --only: unknown measure {', '.join(unknown) or '(none)'}; known: {', '.join(KEYS)}")
    return {group_of(k) for k in keys}


#: The first round's keys, then the second's.
KEYS = ("mc_over_rng", "mc_over_torch", "train_step_over_torch", "closed_form_evals_per_s",
        "exact_ms_per_position", "mc_over_rng_float32", "mc_over_torch_float32", "mc_samples_per_s",
        "train_step_ms", "data_map_ms", "data_mc_over_rng",
        "mc_over_torch_1thread", "mc_over_torch_1thread_float32", "mc_threads_speedup",
        "mc_threads_speedup_float32", "machine_parallel_ceiling", "mc_threads_over_ceiling",
        "mc_threads_over_ceiling_float32", "train_step_over_torch_1thread", "exact_speedup_vs_round1",
        "exact_over_davies", "exact_over_davies_worst", "saddlepoint_ms_per_position", "saddlepoint_max_error",
        "startup_help_s",
        "startup_predict_s", "python_pass_s", "python_numpy_s", "startup_help_over_pass",
        "startup_predict_over_numpy")
#: The judged targets.  PyTorch is judged at one pinned thread on both sides (the all-thread
#: ratios swing with the load: reported beside, with the load, not judged); the parallel speed-ups
#: against the host's own ceiling measured in the same pairs (two vCPUs of a shared host are not
#: always two cores), not against a fixed 1.8.
TARGETS = {"mc_over_rng": ("<=", 1.3), "mc_over_torch_1thread": ("<=", 0.7),
           "train_step_over_torch_1thread": ("<=", 1.0),
           "closed_form_evals_per_s": (">=", 1e7),
           "exact_speedup_vs_round1": (">=", 10), "exact_over_davies": ("<=", 1.0),
           "exact_over_davies_worst": ("<=", 1.0),
           "mc_threads_over_ceiling": (">=", 0.9), "mc_threads_over_ceiling_float32": (">=", 0.9),
           "mc_over_torch_1thread_float32": ("<=", 1.0), "startup_help_s": ("<=", 0.3),
           "startup_predict_s": ("<=", 0.5)}
#: Keys a ``--quick`` run cannot measure honestly (the exact method on 4 positions, one repeat of a
#: speed-up, a parallel ceiling of 3 calls): ``not judged (quick)``, whatever their value.
QUICK_UNJUDGED = ("exact_speedup_vs_round1", "exact_over_davies", "exact_over_davies_worst",
                  "exact_ms_per_position", "saddlepoint_ms_per_position", "mc_threads_speedup",
                  "mc_threads_speedup_float32", "machine_parallel_ceiling", "mc_threads_over_ceiling",
                  "mc_threads_over_ceiling_float32")
NOT_JUDGED_QUICK = "not judged (quick)"


def targets(res: dict) -> list[dict]:
    """One record per measure of :data:`KEYS`: its value, the distribution-free 95% interval of
    its median (:func:`sigprop.core.stats.median_interval`, over the repeats kept in
    ``res["repeats"]``), its target and the verdict.

    The rule: a target is ``met`` when the whole interval lies on its side, ``missed`` when the
    whole interval lies on the other side, ``inconclusive`` otherwise; a measure without an
    interval (the exact method's three keys, a quick run's, one whose repeats are not all finite)
    is judged on its value.  ``met`` is True, False, or None (inconclusive, not measured, or no
    target); ``verdict`` says which.  A result stored before repeats were kept has them rebuilt
    from its speed-up times (:func:`_repeats`).
    """
    from sigprop.core.stats import median_interval

    rows = []
    kept = _repeats(res)
    quick = bool(res.get("config", {}).get("quick"))
    for key in _shown(res):
        value, target = res.get(key), TARGETS.get(key)
        repeats = kept.get(key)
        found = median_interval(repeats) if repeats and np.all(np.isfinite(repeats)) else None
        interval = None if found is None else [found[1], found[2]]
        verdict = None
        if target is not None and quick and key in QUICK_UNJUDGED:
            verdict = NOT_JUDGED_QUICK
        elif target is not None:
            low, high = interval or (value, value)
            if value is None:
                verdict = "not measured"
            elif target[0] == "<=":
                verdict = "met" if high <= target[1] else "missed" if low > target[1] else "inconclusive"
            else:
                verdict = "met" if low >= target[1] else "missed" if high < target[1] else "inconclusive"
        rows.append(dict(measure=key, value=value, interval=interval,
                         target=None if target is None else f"{target[0]} {target[1]:g}",
                         met={"met": True, "missed": False}.get(verdict or ""), verdict=verdict))
    return rows


def _repeats(res: dict) -> dict[str, list[float]]:
    """``res["repeats"]``; for a result stored before it was kept, the speed-ups' repeats rebuilt
    from the times in ``config["mc_threads_speedup_times"]`` (the other keys kept no repeats)."""
    if "repeats" in res:
        return res["repeats"]
    rebuilt: dict[str, list[float]] = {}
    ceilings: list[float] = []
    for kind, t in (res.get("config", {}).get("mc_threads_speedup_times") or {}).items():
        suffix = "" if kind == "_float64" else kind
        rebuilt["mc_threads_speedup" + suffix] = [a / b for a, b in zip(t["one"], t["all"])]
        if "reference_one" in t:
            ref = [c / e for c, e in zip(t["reference_one"], t["reference_all"])]
            rebuilt["mc_threads_over_ceiling" + suffix] = [
                a / b / r for a, b, r in zip(t["one"], t["all"], ref)]
            ceilings += ref
    if ceilings:
        rebuilt["machine_parallel_ceiling"] = ceilings
    return rebuilt


def _number(value: float) -> str:
    """Three significant digits, trailing zeros kept (``2.00``, ``0.270``, ``113``)."""
    text = f"{value:#.3g}"
    return text[:-1] if text.endswith(".") else text


def _interval_text(interval) -> str:
    return "-" if interval is None else f"[{_number(interval[0])}, {_number(interval[1])}]"


def _shown(res: dict) -> list[str]:
    """The keys a result measured: all of :data:`KEYS`, or those of the groups run with ``only``."""
    only = res.get("only")
    return list(KEYS) if only is None else [k for k in KEYS if group_of(k) in only]


def missed(rows: list[dict]) -> list[str]:
    """Measures whose target is missed, inconclusive or could not be measured (``--check`` fails on
    them); a key a quick run cannot measure is not judged, so not listed."""
    return [r["measure"] for r in rows if r["target"] is not None and r["met"] is not True
            and r["verdict"] != NOT_JUDGED_QUICK]


def _verdict_text(row: dict) -> str:
    verdict = row["verdict"]
    return "-" if verdict is None else verdict if verdict == "met" else f"**{verdict}**"


def markdown(res: dict) -> str:
    """The result as a Markdown table (measure, value, 95% interval, target, verdict by
    :func:`targets`' rule) with the machine and load
    under it: what the README's performance table is made from (``sigprop bench --from FILE
    --format markdown``)."""
    def shown(value):
        return "skipped" if value is None else _number(value)
    rows = targets(res)
    lines = ["| measure | value | 95% interval | target | verdict |", "|---|---|---|---|---|"]
    lines += [f"| `{r['measure']}` | {shown(r['value'])} | {_interval_text(r.get('interval'))} | "
              f"{r['target'] or '-'} | {_verdict_text(r)} |" for r in rows]
    m = res["machine"]
    load = m.get("load", {})
    peers = ", ".join(f"{k} {v}" for k, v in m.get("peers", {}).items() if v) or "none"
    lines += ["", f"sigprop {res['version']}{' (quick)' if res['config']['quick'] else ''}, "
                  f"{res.get('date', 'date not recorded')}: {m['platform']}, {m['cores']} cores, Python {m['python']}, "
                  f"NumPy {m['numpy']}; peers: {peers}; medians of {res['config']['repeats']} repeats"
                  + (" (95% intervals: order statistics of the repeats)" if res.get("repeats") else "") + "; "
                  f"load average (1, 5, 15 min) {load.get('start')} at the start, {load.get('end')} at the end"
                  + ("" if m.get("other_cpu_share") is None else
                     f"; other processes used {100 * m['other_cpu_share']:.1f}% of the cores meanwhile")
                  + (" (LOADED: ratios unreliable)" if m.get("loaded") else "") + "."]
    speed = res["config"].get("mc_threads_speedup_times")
    if speed:
        lines += ["The two Monte Carlo speed-ups are medians of "
                  f"{res['config']['speedup_repeats']} back-to-back ratios, measured before PyTorch is "
                  "imported; the ratios ranged over "
                  + ", ".join(f"{min(a / b for a, b in zip(v['one'], v['all'])):.2f}-"
                              f"{max(a / b for a, b in zip(v['one'], v['all'])):.2f} ({k.lstrip('_')})"
                              for k, v in speed.items() if v) + "."]
    shown_all = [k for k in ("mc_over_torch", "mc_over_torch_float32", "train_step_over_torch")
                 if res.get(k) is not None]
    if shown_all:
        loads = res.get("all_thread_load") or {}
        lines += ["PyTorch ratios at every thread on both sides (not judged: they swing with the load; the judged "
                  "ones are at one pinned thread): "
                  + ", ".join(f"`{k}` {_number(res[k])}" + (f" at load {loads[k][0]:g}" if loads.get(k) else "")
                              for k in shown_all)
                  + ("" if loads else " (the load at the time was not recorded in this result)") + "."]
    lines += [f"Note: {n}" for n in res.get("notes", [])]
    return "\n".join(lines) + "\n"


#: The README's performance table sits between these two lines (a test checks that it is
#: ``markdown`` of the stored full run ``results/bench/full.json``).
README_START = "<!-- sigprop bench --from results/bench/full.json --format markdown -->"
README_END = "<!-- end of the sigprop bench table -->"
