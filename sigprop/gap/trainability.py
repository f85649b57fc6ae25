"""Trainability of [NNT24]'s attention-only stacks with and without the fix.

The paper's experiment: each configuration of :mod:`sigprop.gap.protocol` (with the trainable
output projection ``W_O = I`` at initialisation, LayerNorm gains and biases, and for ``A`` the
Markov logits ``G`` themselves as weights) learns an entrywise map of its input,
``Y = f(X)``, from ``samples`` isometric inputs, by Adam (``beta = (0.9, 0.999)``,
``eps = 1e-8``) on the mean-squared error ``L = mean((X_L - f(X_0))^2)``, full batch (the paper's
batch of 64 holds its 50 inputs), one step per epoch.  Targets (:data:`TARGETS`): identity,
square, shifted sigmoid ``sigmoid(x + 1/2)``, Heaviside ``1[x > 0]``, and the paper's default,
the expanded shifted sigmoid ``sigmoid(20 (x + 1/2))``.

The paper used ``T = 500`` (``gamma = 1``), 10 layers, 50 inputs and 50 epochs; that costs hours
per run in NumPy on two cores, so the defaults here are smaller (``T = 32``) and every value is a
parameter.  Seeds run together (Adam is entrywise, so each seed's parameters follow their own
loss exactly); seed ``s`` draws its weights as in :mod:`sigprop.gap.protocol` and its inputs from
``default_rng([s, 2])``, the same for every configuration, target and learning rate (paired).
A seed whose loss becomes NaN or infinite is recorded as diverged (its later losses NaN).
"""

from __future__ import annotations

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.core.labelled import Result
from sigprop.core.memory import driver, require, require_output
from sigprop.core.progress import iterate
from sigprop.core.study import Study, register
from sigprop.gap import protocol
from sigprop.gap.stable_rank import seed_chunks
from sigprop.model.optim import Adam


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(x / 2))


TARGETS = {
    "identity": lambda x: x,
    "square": lambda x: x * x,
    "shifted_sigmoid": lambda x: _sigmoid(x + 0.5),
    "heaviside": lambda x: (x > 0).astype(float),
    "expanded_sigmoid": lambda x: _sigmoid(20 * (x + 0.5)),
}
DEFAULT_CONFIGS = ("A+skip+LN", "A_perp+skip+LN", "A(X)+skip+LN", "A(X)_perp+skip+LN")


def inputs(seeds, samples: int, T: int, d: int) -> np.ndarray:
    """``(S, samples, T, d)`` isometric training inputs, from ``default_rng([seed, 2])``."""
    out = []
    for s in seeds:
        rng = np.random.default_rng([int(s), 2])
        out.append(np.stack([protocol.haar_rows(T, d, rng) for _ in range(samples)]))
    return np.stack(out)


def run(
    cfg: protocol.Config,
    target: str,
    lr: float,
    seeds,
    *,
    length: int = 32,
    gamma: float = 1.0,
    layers: int = 10,
    samples: int = 50,
    steps: int = 50,
) -> np.ndarray:
    """Training losses ``(S, steps + 1)``: the loss before each Adam step, then after the last."""
    d = protocol.width(length, gamma)
    f = TARGETS[target]
    X0, params = protocol.init_params(cfg, seeds, length, d, layers, output_projection=True)
    X = inputs(seeds, samples, length, d)
    Y = f(X)
    flat = {f"{i}.{k}": v for i, p in enumerate(params) for k, v in p.items() if k != "kappa"}
    opt = Adam(lr)
    losses = np.full((len(seeds), steps + 1), np.nan)
    alive = np.ones(len(seeds), dtype=bool)
    n = samples * length * d
    with np.errstate(all="ignore"):
        for t in range(steps + 1):
            xs, caches = protocol.forward(cfg, params, X, keep=t < steps)
            err = xs[-1] - Y
            loss = (err**2).sum(axis=(1, 2, 3)) / n
            alive &= np.isfinite(loss)
            losses[alive, t] = loss[alive]
            if t == steps or not alive.any():
                break
            grads, _ = protocol.backward(cfg, params, caches, 2 * err / n)
            opt.step(flat, {f"{i}.{k}": v for i, g in enumerate(grads) for k, v in g.items()})
    return losses


def _record(cfg, target: str, lr: float, gamma: float, length: int, d: int, seed: int, layers: int, curve) -> dict:
    """One trainability record: the run's settings and its loss curve."""
    return dict(config=cfg.name, paper=cfg.paper, target=target, lr=lr, gamma=gamma, length=length, d=d, seed=seed,
                layers=layers, initial=float(curve[0]), final=float(curve[-1]),
                diverged=bool(not np.isfinite(curve[-1])), losses=[float(v) for v in curve])


def seed_bytes(length: float, gamma: float, layers: float, samples: float) -> float:
    """Bytes of one seed's training at ``d = length / gamma``: every layer's activations and caches
    (``14 T d + 3 T^2`` float64 numbers a sequence), five ``d x d`` weights a layer, and the
    ``d x d`` Gaussian draw of each isometric input (:func:`sigprop.gap.protocol.haar_rows`)."""
    d = length / gamma
    return 8.0 * layers * samples * (14 * length * d + 3 * length * length) + 8.0 * (5 * layers + 3) * d * d


def train(
    configs=DEFAULT_CONFIGS,
    *,
    targets=("identity", "square", "shifted_sigmoid", "heaviside"),
    lrs=(1e-3, 3e-3, 1e-2),
    length: int = 32,
    gamma: float = 1.0,
    layers: int = 10,
    seeds=range(5),
    samples: int = 50,
    steps: int = 50,
    progress: bool = False,
) -> Result:
    """Loss curves for every configuration, target, learning rate and seed (one record each)."""
    cfgs = protocol.parse_many(configs)
    targets = [targets] if isinstance(targets, str) else list(targets)
    for t in targets:
        if t not in TARGETS:
            raise ArgumentError("targets", f"must be among {', '.join(TARGETS)}, got {t!r}")
    lrs = [float(_checks.real("lrs", lr, positive=True)) for lr in np.atleast_1d(lrs)]
    length = _checks.integer("length", length, 2)
    d = protocol.width(length, gamma)
    layers = _checks.integer("layers", layers, 1)
    samples = _checks.integer("samples", samples, 1)
    steps = _checks.integer("steps", steps, 1)
    seeds = [_checks.integer("seeds", s, 0) for s in np.atleast_1d(seeds).tolist()]
    for name, values in (("targets", targets), ("lrs", lrs), ("seeds", seeds)):
        if not values:
            raise ArgumentError(name, "must hold at least one value")
    per_seed = seed_bytes(length, float(gamma), layers, samples)
    sizes = dict(length=(length, 2), gamma=(float(gamma), 1.0), layers=(layers, 1), samples=(samples, 1))
    require(per_seed, driver(seed_bytes, sizes),
            f"one seed's {layers} layers of {samples} sequences of {length} x {d} float64 activations and caches")
    todo = [(c, t, lr) for c in cfgs for t in targets for lr in lrs]
    # the loss curves: (steps + 1) numbers for every run and seed, kept in the records and written out
    require_output(float(len(todo)) * len(seeds) * (steps + 1.0), "steps")
    records = []
    for cfg, target, lr in iterate(todo, progress, desc="train", unit="run"):
        for chunk in seed_chunks(seeds, per_seed, budget=2**29):
            losses = run(
                cfg,
                target,
                lr,
                chunk,
                length=length,
                gamma=gamma,
                layers=layers,
                samples=samples,
                steps=steps,
            )
            records += [_record(cfg, target, lr, gamma, length, d, s, layers, curve)
                        for s, curve in zip(chunk, losses, strict=True)]
    config = dict(
        study="trainability",
        protocol="[NNT24] (isometric inputs, Adam on MSE, entrywise targets)",
        configs=[c.name for c in cfgs],
        targets=targets,
        lrs=lrs,
        length=length,
        gamma=gamma,
        d=d,
        layers=layers,
        seeds=seeds,
        samples=samples,
        steps=steps,
        optimizer="adam",
        full_batch=True,
        paper_values=dict(length=500, gamma=1, layers=10, samples=50, epochs=50, batch_size=64),
    )
    return Result(dict(config=config, records=records), kind="trainability",
                  keys=RECORD_KEYS)


#: The fields that identify one trainability record (its labelled dimensions).
RECORD_KEYS = {"records": ("config", "target", "lr", "seed")}


def merge(results) -> Result:
    """One result from several runs of :func:`train` that differ only in targets and learning rates.

    The records are concatenated; ``targets`` and ``lrs`` are the union in order of appearance.
    """
    results = list(results)
    if not results:
        raise ArgumentError("results", "must hold at least one trainability result")
    same = {k: v for k, v in results[0]["config"].items() if k not in ("targets", "lrs")}
    for r in results[1:]:
        other = {k: v for k, v in r["config"].items() if k not in ("targets", "lrs")}
        if other != same:
            diff = sorted(k for k in set(same) | set(other) if same.get(k) != other.get(k))
            raise ArgumentError.about(
                "results", f"results must differ only in targets and lrs; they differ in {', '.join(diff)}")
    config = dict(results[0]["config"],
                  targets=list(dict.fromkeys(t for r in results for t in r["config"]["targets"])),
                  lrs=list(dict.fromkeys(lr for r in results for lr in r["config"]["lrs"])))
    return Result(dict(config=config, records=[rec for r in results for rec in r["records"]]), kind="trainability",
                  keys=RECORD_KEYS)



#: The study's descriptor: its result is a ``trainability`` :class:`~sigprop.core.labelled.Result`
#: whose records are labelled by :data:`RECORD_KEYS`, and whose loss curves run over ``step``.
STUDY = register(Study(name="trainability", function="sigprop.gap.trainability:train", kind="trainability",
                       arrays={"records_losses": ("step",)},
                       quick=dict(configs=["A+skip+LN"], targets=["identity"], lrs=[0.01], length=6, layers=1,
                                  seeds=[0, 1], samples=3, steps=2),
                       description="[NNT24]'s trainability: loss curves per configuration, target, lr and seed"))


# --- figure ---------------------------------------------------------------------------------

def nnt_training_figure(result: dict, path) -> None:
    """Training loss against step, one panel per (target, learning rate), with and without the fix."""
    from sigprop.plotting import band_plot, figure_legend_below, pyplot, save

    plt = pyplot()
    cfg, recs = result["config"], result["records"]
    targets, lrs = cfg["targets"], cfg["lrs"]
    fig, axes = plt.subplots(len(lrs), len(targets), figsize=(3.6 * len(targets), 2.8 * len(lrs)),
                             squeeze=False, sharex=True)
    styles = [("k", "", "-"), ("k", "", "--"), ("0.5", "", "-"), ("0.5", "", "--"), ("0.25", "", ":"),
              ("0.65", "", ":")]
    for i, lr in enumerate(lrs):
        for j, target in enumerate(targets):
            ax = axes[i, j]
            for name, style in zip(cfg["configs"], styles[:len(cfg["configs"])], strict=False):
                rows = [r for r in recs if r["config"] == name and r["target"] == target and r["lr"] == lr]
                grid = np.array([r["losses"] for r in rows], dtype=float)
                if grid.size:
                    band_plot(ax, np.arange(grid.shape[1]), grid, style, name)
            ax.set(yscale="log", title=f"{target}, lr = {lr:g}")
            from matplotlib.ticker import NullFormatter
            ax.yaxis.set_minor_formatter(NullFormatter())
            if i == len(lrs) - 1:
                ax.set_xlabel("Adam step")
            ax.set_ylabel("training MSE")
    fig.suptitle(f"[NNT24] trainability: T = {cfg['length']}, d = {cfg['d']}, {cfg['layers']} layers, "
                 f"{cfg['samples']} isometric inputs, full batch; {len(cfg['seeds'])} seeds, 95% t-bands",
                 fontsize=10)
    fig.tight_layout()
    figure_legend_below(fig, axes.ravel(), ncol=min(len(cfg["configs"]), 4))
    save(fig, path)
