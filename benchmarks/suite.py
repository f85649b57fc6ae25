"""``sigprop bench``: every performance ratio, each taken within one run.

Keys (medians over repeats, warm-up excluded):

* ``mc_over_rng``: :func:`sigprop.simulate` at ``d = 64, T = 128`` over the time NumPy
  needs to draw the same Gaussian numbers in the same dtype (float64; also
  ``mc_over_rng_float32``);
* ``mc_over_torch``: the same Monte Carlo over a straightforward PyTorch CPU version
  (same dtype; also ``mc_over_torch_float32``), ``None`` with a note without PyTorch;
* ``train_step_over_torch``: one training step of the one-layer model (``d = 64,
  T = 64``, batch 64, softmax, Adam, float64) over PyTorch autograd on the same
  model and the same fixed batch;
* ``closed_form_evals_per_s``: closed-form ``rho`` evaluations per second over a
  grid of 250 000 ``(m, v)`` pairs times 128 positions;
* ``exact_ms_per_position``: the exact method at ``d = 256, T = 128``;
* ``data_map_ms``, ``data_mc_over_rng``: the data models (:func:`_data_models`);
* ``peak_mb``: peak NumPy memory of each measurement (``tracemalloc``).
"""
from __future__ import annotations

import os
import platform
import statistics
import time
import tracemalloc

import numpy as np

from sigprop import make_weights, simulate, theory_spectrum
from sigprop._version import __version__
from sigprop.model import attention as att
from sigprop.model import optim
from sigprop.model.train import Task, TrainConfig, loss_and_grads
from sigprop.rho import exact, walk

from . import torch_peers


def _median_time(fn, repeats):
    fn()                                              # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _peak_mb(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def _ratio(fa, fb, repeats):
    """Median over repeats of time(fa)/time(fb), the two timed back to back."""
    fa(), fb()
    ratios, ta, tb = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fa()
        t1 = time.perf_counter()
        fb()
        t2 = time.perf_counter()
        ratios.append((t1 - t0) / (t2 - t1))
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    return statistics.median(ratios), statistics.median(ta), statistics.median(tb)


def run(quick: bool = False) -> dict:
    repeats = 3 if quick else 7
    samples = 4000 if quick else 20_000
    d, T = 64, 128
    W = make_weights(0.5, 0.1, d, seed=0)
    out = dict(version=__version__,
               config=dict(quick=quick, repeats=repeats, mc=dict(d=d, T=T, samples=samples),
                           train=dict(d=64, T=64, batch=64), closed_form_grid=[500, 500, 128],
                           exact=dict(d=256, T=128)),
               machine=dict(platform=platform.platform(), processor=platform.processor(),
                            cpus=os.cpu_count(), python=platform.python_version(), numpy=np.__version__),
               notes=[], peak_mb={})
    batch = next(walk.batch_sizes(samples, T * d))
    for name, dtype in (("", np.float64), ("_float32", np.float32)):
        def mc(dtype=dtype):
            simulate(W, T, samples=samples, seed=1, dtype=dtype)

        def rng(dtype=dtype):
            for _ in walk.standard_steps(samples, T, d, seed=1, dtype=dtype):
                pass
        out["mc_over_rng" + name], t_mc, _ = _ratio(mc, rng, repeats)
        out["mc_samples_per_s" + name] = samples / t_mc
        out["peak_mb"]["mc" + name] = _peak_mb(mc)
        if torch_peers.available():
            def peer(dtype=dtype):
                torch_peers.monte_carlo(W, T, samples, batch, 1, np.dtype(dtype).name)
            out["mc_over_torch" + name] = _ratio(mc, peer, repeats)[0]
        else:
            out["mc_over_torch" + name] = None
    if not torch_peers.available():
        out["notes"].append("PyTorch is not installed: mc_over_torch and train_step_over_torch skipped "
                            "(pip install 'sigprop[bench]')")

    cfg = TrainConfig(task="teacher", d=64, d_k=64, T=64, batch=64)
    model = cfg.model()
    params = att.init_params(model, 0)
    X, target = Task(cfg, 1).draw(np.random.default_rng(2), 64)
    peer_params = {k: v.copy() for k, v in params.items()}
    opt = optim.make("adam", cfg.lr)
    steps = 20 if quick else 50

    def ours():
        for _ in range(steps):
            _, _, grads = loss_and_grads(params, X, target, model, 0.0)
            opt.step(params, grads)
    out["train_step_ms"] = 1e3 * _median_time(ours, repeats) / steps
    out["peak_mb"]["train_step"] = _peak_mb(ours)
    if torch_peers.available():
        import torch
        torch.set_num_threads(os.cpu_count() or 1)
        step = torch_peers.train_step(peer_params, X, target)

        def theirs():
            for _ in range(steps):
                step()
        out["train_step_over_torch"] = _ratio(ours, theirs, repeats)[0]
    else:
        out["train_step_over_torch"] = None

    m = np.linspace(-1, 1, 500)[:, None]
    v = np.linspace(0, 2, 500)

    def grid():
        theory_spectrum(m, v, d, T)
    out["closed_form_evals_per_s"] = m.size * v.size * T / _median_time(grid, repeats)
    out["peak_mb"]["closed_form"] = _peak_mb(grid)

    We = make_weights(0.5, 0.1, 256, seed=0)
    Te = 32 if quick else 128

    def ex():
        exact.theory(We, Te)
    out["exact_ms_per_position"] = 1e3 * _median_time(ex, 1 if quick else 3) / Te
    out["config"]["exact"]["T"] = Te
    out["peak_mb"]["exact"] = _peak_mb(ex)
    _data_models(out, W, d, T, samples, repeats, quick)
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
        theory(LogitModel.from_spectrum(0.5, 0.1, d, Tm, data="ar1:16", query="all", causal=True))
    out["data_map_ms"] = 1e3 * _median_time(data_map, repeats)
    out["peak_mb"]["data_map"] = _peak_mb(data_map)
    model = LogitModel(W, T, data="ar1:16")
    n = 1000 if quick else samples
    out["config"]["data_mc"] = dict(d=d, T=T, data="ar1:16", samples=n)

    def mc():
        simulate(model, samples=n, seed=1)

    def rng():
        for _ in walk.standard_steps(n, T, d, seed=1, batch_size=walk.BATCH_ELEMENTS // (T * d + T)):
            pass
    out["data_mc_over_rng"] = _ratio(mc, rng, repeats)[0]
    out["peak_mb"]["data_mc"] = _peak_mb(mc)


KEYS = ("mc_over_rng", "mc_over_torch", "train_step_over_torch", "closed_form_evals_per_s",
        "exact_ms_per_position", "mc_over_rng_float32", "mc_over_torch_float32", "mc_samples_per_s",
        "train_step_ms", "data_map_ms", "data_mc_over_rng")
TARGETS = {"mc_over_rng": ("<=", 1.3), "mc_over_torch": ("<=", 0.7), "train_step_over_torch": ("<=", 1.0),
           "closed_form_evals_per_s": (">=", 1e7)}


def targets(res: dict) -> list[dict]:
    """One record per measure of :data:`KEYS`: its value, its target and whether it is met."""
    rows = []
    for key in KEYS:
        value, target = res.get(key), TARGETS.get(key)
        met = None if target is None or value is None else bool(
            value <= target[1] if target[0] == "<=" else value >= target[1])
        rows.append(dict(measure=key, value=value, target=None if target is None else f"{target[0]} {target[1]:g}",
                         met=met))
    return rows


def table(res: dict) -> str:
    lines = [f"# sigprop {res['version']} on {res['machine']['platform']}, {res['machine']['cpus']} cpus"
             f"{' (quick)' if res['config']['quick'] else ''}; medians of {res['config']['repeats']}",
             f"{'measure':>26} {'value':>12} {'target':>10}"]
    for key in KEYS:
        value = res.get(key)
        target = TARGETS.get(key)
        shown = "skipped" if value is None else f"{value:.4g}"
        met = "" if target is None or value is None else (
            " met" if (value <= target[1] if target[0] == "<=" else value >= target[1]) else " MISSED")
        tgt = "" if target is None else f"{target[0]} {target[1]:g}"
        lines.append(f"{key:>26} {shown:>12} {tgt:>10}{met}")
    lines.append("peak memory (MB): " + ", ".join(f"{k} {v:.1f}" for k, v in res["peak_mb"].items()))
    lines.extend(f"note: {n}" for n in res["notes"])
    return "\n".join(lines)
