"""One-layer attention commands: ``train``, ``locater-sweep``, ``gradcheck``.

``train`` trains one-layer attention on the random walk with instrumentation
(:mod:`sigprop.model.train`, ``docs/theory.md`` §5); ``locater-sweep`` repeats it for
several LocAteR strengths and seeds (:mod:`sigprop.model.locater_sweep`); ``gradcheck``
compares the hand-written gradients with finite differences
(:mod:`sigprop.model.gradcheck`).
"""
from __future__ import annotations

import argparse

from sigprop.cli import arguments
from sigprop.cli.app import command
from sigprop.cli.render import View

# The API's choices (sigprop.model.train.TASKS, sigprop.model.attention.ATTENTIONS,
# sigprop.model.optim.OPTIMIZERS), repeated so that building the parser imports no
# training code; a test checks that they agree.
TASKS = ("teacher", "next-token")
ATTENTIONS = ("softmax", "pwl")
OPTIMIZERS = ("adam", "sgd")
LOCATER_VARIANTS = ("frobenius", "symmetric", "complex", "complex-abs")   # sigprop.model.locater.VARIANTS

TRAIN_FLAGS = {"task": "--task", "attention": "--attention", "steps": "--steps", "d": "--dim",
               "d_k": "--dk", "T": "--length", "batch": "--batch", "optimizer": "--optimizer",
               "lr": "--lr", "log_every": "--log-every", "probe": "--probe",
               "teacher_mean": "--teacher-mean", "teacher_var": "--teacher-var", "locater": "--locater",
               "locater_variant": "--locater-variant", "locater_mean": "--locater-mean", "seed": "--seed"}

#: ``eig_var`` is ``tr(W^2)/d - m^2`` (the theory's second moment, negative for mostly complex
#: eigenvalues), shown under that name beside the spread of the complex eigenvalues
#: ``spread_abs = mean |lambda - m|^2`` and LocAteR's ``R(W) = spread``.
HISTORY = ("step", "train_loss", "heldout_loss", "eig_mean", "tr(W^2)/d-m^2=eig_var",
           "mean|lambda-m|^2=spread_abs", "R(W)=spread", "attention_entropy",
           "profile_distance", "rank_residual", "max_attention")
FINAL = ("final: empirical rho vs closed form: largest |difference| {history.-1.rho_max_abs_error:.4g}, "
         "95% intervals hold the closed form at {history.-1.rho_coverage:.1%} of positions "
         "({config.probe} probe sequences)")
#: The LocAteR sweep's columns as ``(label, key)``: each with its standard deviation over seeds.
SWEEP = (("eig_mean", "eig_mean"), ("tr(W^2)/d-m^2", "eig_var"), ("mean|lambda-m|^2", "spread_abs"),
         ("R(W)", "spread"), ("rho_total", "rho_total"), ("rho_entropy", "rho_entropy"),
         ("attention_entropy", "attention_entropy"), ("rank_residual", "rank_residual"),
         ("train_loss", "train_loss"), ("heldout_loss", "heldout_loss"))


def training_arguments(p: argparse.ArgumentParser, task: str = "teacher") -> None:
    """Add the options of one-layer attention and its training.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    task : str
        The default ``--task``.
    """
    g = p.add_argument_group("model and training (docs/theory.md §5)")
    g.add_argument("--task", choices=TASKS, default=task)
    g.add_argument("--attention", choices=ATTENTIONS, default="softmax")
    g.add_argument("--steps", type=arguments.number(int, 1), default=300)
    g.add_argument("--dim", type=arguments.number(int, 1), default=16, help="d (default 16)")
    g.add_argument("--dk", type=arguments.number(int, 1), default=16, help="d_k of W_Q, W_K (default 16)")
    g.add_argument("--full-rank", action="store_true", help="train W itself instead of W_Q W_K^T")
    g.add_argument("--length", type=arguments.number(int), default=32, help="T (default 32)")
    g.add_argument("--batch", type=arguments.number(int), default=64)
    g.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    g.add_argument("--lr", type=arguments.number(float), default=0.01)
    g.add_argument("--log-every", type=arguments.number(int), default=10)
    g.add_argument("--probe", type=arguments.number(int), default=2048,
                   help="held-out sequences measured at every record")
    g.add_argument("--teacher-mean", type=arguments.number(float), default=0.5)
    g.add_argument("--teacher-var", type=arguments.number(float), default=0.1)
    g.add_argument("--locater-variant", choices=LOCATER_VARIANTS, default="frobenius",
                   help="which spread LocAteR penalizes (docs/locater.md; default frobenius)")
    g.add_argument("--locater-mean", default="task", metavar="task|initial|VALUE",
                   help="the eigenvalue mean LocAteR holds exactly: where the task moves it (default), "
                        "its initial value, or a number")
    arguments.progress(g)


def train_config(args: argparse.Namespace, **extra):
    """The training configuration of one-layer attention from the command line.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.
    **extra
        Further fields of :class:`sigprop.model.train.TrainConfig` (e.g. ``locater``, ``seed``).

    Returns
    -------
    sigprop.model.train.TrainConfig
    """
    from sigprop.core.checks import integer
    from sigprop.model.train import TrainConfig

    # TrainConfig accepts 0 steps (the initial model); a command-line run of no step is refused,
    # as `sigprop lm train` refuses it
    integer("steps", args.steps, 1)
    return TrainConfig(task=args.task, attention=args.attention, d=args.dim,
                       d_k=None if args.full_rank else args.dk, T=args.length, batch=args.batch,
                       steps=args.steps, optimizer=args.optimizer, lr=args.lr,
                       log_every=args.log_every, probe=args.probe, teacher_mean=args.teacher_mean,
                       teacher_var=args.teacher_var, locater_variant=args.locater_variant,
                       locater_mean=_mean_mode(args.locater_mean), **extra)


def _mean_mode(text: str) -> str | float:
    try:
        return float(text)
    except ValueError:
        return text                   # "task", "initial", or refused by TrainConfig


def _train_arguments(p: argparse.ArgumentParser) -> None:
    training_arguments(p)
    p.add_argument("--seed", type=arguments.seed, default=0, help="random seed (>= 0)")
    p.add_argument("--locater", type=arguments.number(float), default=0.0, metavar="LAMBDA",
                   help="LocAteR strength lambda >= 0 (default 0)")


@command("train", help="train one-layer attention (hand-written gradients)",
         description="Train one-layer attention on the random walk, with instrumentation.",
         arguments=_train_arguments, flags=TRAIN_FLAGS, plot="sigprop.model.train:history_figure",
         view=View(records="history", fields=HISTORY, show=(), lines=(FINAL,)))
def train(args: argparse.Namespace) -> dict:
    """Run ``sigprop train``: train one-layer attention on the random walk, with instrumentation.
    """
    from sigprop.model.train import train as run

    return run(train_config(args, locater=args.locater, seed=args.seed), progress=not args.no_progress)


def _sweep_arguments(p: argparse.ArgumentParser) -> None:
    training_arguments(p, task="next-token")
    p.add_argument("--lambdas", type=arguments.numbers(float), default=[0.0, 0.01, 0.1, 1.0],
                   help="comma-separated lambdas >= 0 (default 0,0.01,0.1,1)")
    p.add_argument("--seeds", type=arguments.seeds, default=[0, 1, 2],
                   help="comma-separated seeds >= 0 (default 0,1,2)")


@command("locater-sweep", help="train for several LocAteR lambdas and seeds",
         description="Train the same model for several LocAteR strengths and seeds; the table shows "
                     "the mean and standard deviation over seeds of the final record.",
         arguments=_sweep_arguments, flags={**TRAIN_FLAGS, "locater": "--lambdas", "lambdas": "--lambdas",
                                            "seed": "--seeds", "seeds": "--seeds"},
         view=View(records="summary",
                   fields=("lambda=locater",) + tuple(f for label, c in SWEEP
                                                     for f in (f"{label}={c}", f"{label}_sd={c}_sd")),
                   show=()))
def locater_sweep(args: argparse.Namespace) -> dict:
    """Run ``sigprop locater-sweep``: train for several LocAteR strengths and seeds.
    """
    from sigprop.model.locater_sweep import sweep

    return sweep(train_config(args), args.lambdas, args.seeds, progress=not args.no_progress)


def _gradcheck_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dim", type=arguments.number(int), default=5)
    p.add_argument("--dk", type=arguments.number(int), default=3)
    p.add_argument("--length", type=arguments.number(int), default=6)
    p.add_argument("--batch", type=arguments.number(int), default=3)
    p.add_argument("--seed", type=arguments.seed, default=0)
    p.add_argument("--threshold", type=arguments.number(float), default=1e-6,
                   help="largest relative error accepted (default 1e-6); exit 1 above it")


@command("gradcheck", help="hand-written gradients against finite differences",
         description="Central finite differences (float64) against the hand-written gradients, for "
                     "every attention, mode and parametrization.",
         arguments=_gradcheck_arguments,
         flags={"d": "--dim", "d_k": "--dk", "T": "--length", "batch": "--batch",
                "threshold": "--threshold"},
         view=View(records="rows", fields=("attention", "mode", "causal", "factored", "remove_gap", "errors"),
                   show=(), lines=("{verdict}: largest error {max_error:.2e} (threshold "
                                   "{config.threshold:g})",)),
         exit_code=lambda result: 0 if result["passed"] else 1)
def gradcheck(args: argparse.Namespace) -> dict:
    """Run ``sigprop gradcheck``: the hand-written gradients against finite differences.
    """
    from sigprop._version import __version__
    from sigprop.core.checks import real
    from sigprop.model import gradcheck as check

    threshold = float(real("threshold", args.threshold, positive=True))
    rows = check.check_all(d=args.dim, d_k=args.dk, batch=args.batch, T=args.length, seed=args.seed)
    worst = max(max(r["errors"].values()) for r in rows)
    return dict(version=__version__,
                config=dict(dim=args.dim, dk=args.dk, length=args.length, batch=args.batch,
                            seed=args.seed, threshold=threshold),
                rows=rows, max_error=worst, passed=bool(worst <= threshold),
                verdict="passed" if worst <= threshold else "FAILED")
