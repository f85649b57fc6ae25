"""[NNT24] commands: ``gap``, ``width``, ``depth``.

``gap`` prints the simulated and predicted outlier and bulk of softmax attention at
initialisation (:mod:`sigprop.gap.spectra`); ``width`` and ``depth`` the rank-collapse
studies (:mod:`sigprop.gap.collapse`), ``docs/theory.md`` §6.
"""
from __future__ import annotations

import argparse

from sigprop.cli import arguments
from sigprop.cli.app import UsageError, command
from sigprop.cli.render import View

# sigprop.gap.spectra.MODELS, sigprop.gap.collapse.VARIANTS and the API's default width d, repeated so
# that building the parser imports no scientific code; a test checks that they agree.
MODELS = ("markov", "attention")
VARIANTS = ("vanilla", "removed", "rescaled")
DEFAULT_DIM = 64

FLAGS = {"sigma": "--sigma", "model": "--model", "d": "--dim", "d_k": "--dk", "T": "--length",
         "samples": "--samples", "L": "--layers"}


def gap_model_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of the attention model at initialisation (``--sigma``, ``--model``, ...).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    g = p.add_argument_group("attention at initialisation (docs/theory.md §6)")
    g.add_argument("--sigma", type=arguments.number(float), default=0.5,
                   help="logit standard deviation sigma >= 0 (default 0.5)")
    g.add_argument("--model", choices=MODELS, default="markov",
                   help="markov: rowsoftmax of i.i.d. N(0, sigma^2); attention: key-query "
                        "attention with Gaussian X, W_Q, W_K at the same logit variance")
    g.add_argument("--dim", type=arguments.number(int), help=f"d, the tokens' width (default {DEFAULT_DIM}; "
                   "sigprop gap: the attention model only)")
    g.add_argument("--dk", type=arguments.number(int), help="d_k (default d)")
    g.add_argument("--seed", type=arguments.seed, default=0)


def dim(args: argparse.Namespace) -> int:
    """``--dim``, :data:`DEFAULT_DIM` when not given."""
    return DEFAULT_DIM if args.dim is None else args.dim


def _gap_arguments(p: argparse.ArgumentParser) -> None:
    gap_model_arguments(p)
    p.add_argument("--length", type=arguments.number(int), required=True, help="T >= 2")


@command("gap", help="spectral gap of attention at initialisation [NNT24]",
         description="Simulated and predicted outlier and bulk of softmax attention.",
         arguments=_gap_arguments, flags=FLAGS, plot="sigprop.gap.spectra:spectrum_figure",
         transient=("eigenvalues", "singular_values"),
         view=View(show=("sigma_1", "predicted_sigma_1", "sigma_2", "predicted_bulk_edge", "eig_1",
                         "predicted_eig_1", "eig_2", "predicted_eig_radius", "gap",
                         "predicted_low_rank_sigma_2")))
def gap(args: argparse.Namespace) -> dict:
    """Run ``sigprop gap``: the simulated spectral gap of attention beside its predictions.
    """
    from sigprop._version import __version__
    from sigprop.gap import spectra

    if args.model != "attention" and args.dim is not None:      # the Markov matrix has no tokens to be d wide
        raise UsageError(f"argument --dim: applies only to model 'attention' (its tokens' width); model "
                         f"{args.model!r} draws its logits without tokens, got d = {args.dim}")
    return dict(version=__version__, **spectra.report(args.length, args.sigma, model=args.model, seed=args.seed,
                                                      d=dim(args), d_k=args.dk, keep_spectrum=bool(args.plot),
                                                      progress=not args.no_progress))


def _width_arguments(p: argparse.ArgumentParser) -> None:
    gap_model_arguments(p)
    p.add_argument("--lengths", type=arguments.numbers(int), default=[64, 256, 1024, 4096],
                   help="comma-separated T (default 64,256,1024,4096)")
    p.add_argument("--samples", type=arguments.number(int), default=8)


@command("width", help="rank collapse in width for the three variants",
         description="Rank residual r = ||Y - mean row|| / ||Y|| of one attention layer's output Y = M X, "
                     "X = 1 b^T + Z, against T: mean (r), standard error (se) and prediction per variant.",
         arguments=_width_arguments, flags={**FLAGS, "T": "--lengths"}, plot="sigprop.gap.collapse:width_figure",
         keys={"rows": ("length",)},
         view=View(records="rows", show=(),
                   fields=("T=config.length",) + tuple(f"{v}.{short}={v}.{k}" for v in VARIANTS
                                                       for short, k in (("r", "rank_residual"),
                                                                        ("se", "rank_residual_se"),
                                                                        ("predicted", "predicted")))
                   + ("kappa=kappa_measured",)))
def width(args: argparse.Namespace) -> dict:
    """Run ``sigprop width``: rank collapse in width for the three variants.
    """
    from sigprop._version import __version__
    from sigprop.gap import collapse

    rows = [dict(length=T, **collapse.width(T, args.sigma, model=args.model, d=dim(args), d_k=args.dk,
                                            samples=args.samples, seed=args.seed, progress=not args.no_progress))
            for T in args.lengths]
    shared = {k: v for k, v in rows[0]["config"].items() if k != "length"}      # each row holds its own T
    return dict(version=__version__, config=dict(shared, lengths=args.lengths), rows=rows)


def _depth_arguments(p: argparse.ArgumentParser) -> None:
    gap_model_arguments(p)
    p.add_argument("--layers", type=arguments.number(int), required=True, help="L >= 1")
    p.add_argument("--length", type=arguments.number(int), default=256, help="T (default 256)")
    p.add_argument("--values", action="store_true", help="random value matrices W_V in every layer")


@command("depth", help="rank collapse and gradients through an attention-only stack",
         description="By-layer rank residual, scale and gradient norms of an attention-only stack: "
                     "vanilla, gap removed, gap removed and rescaled (one row per layer; grad_w of "
                     "layer l is the gradient of W_Q in layer l).",
         arguments=_depth_arguments, flags=FLAGS, plot="sigprop.gap.collapse:depth_figure",
         dims={**{v: ("layer",) for v in VARIANTS}, **{f"{v}_{k}": ("attention_layer",) for v in VARIANTS
                                                     for k in ("kappa", "grad_w")}},
         view=View(show=("predicted_layer_factor", "kappa_predicted") + VARIANTS))
def depth(args: argparse.Namespace) -> dict:
    """Run ``sigprop depth``: rank collapse and gradients through an attention-only stack.
    """
    from sigprop._version import __version__
    from sigprop.gap import collapse

    return dict(version=__version__, **collapse.depth(args.layers, args.length, args.sigma, model=args.model,
                                                      d=dim(args), d_k=args.dk, values=args.values,
                                                      seed=args.seed, progress=not args.no_progress))
