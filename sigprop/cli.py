"""The ``sigprop`` command line: a thin layer over the Python API.

Every subcommand parses its arguments, calls the API, and prints a table, JSON
or CSV.  Invalid input is refused with one line naming the argument and exit
code 2.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

from sigprop._version import __version__
from sigprop.rho import gaussian_error as accuracy
from sigprop.gap import spectra as gap
from sigprop.model import gradcheck
from sigprop.gap import collapse as rankcollapse
from sigprop.core import results as sio
from sigprop.rho.localization import METRICS, localization_metrics
from sigprop.rho.montecarlo import simulate
from sigprop.gap.spectra import MODELS
from sigprop.rho.theory import theory, theory_spectrum
from sigprop.rho.spectrum import SHAPES, eig_mean, eig_var, make_weights
from sigprop.model.locater_sweep import sweep
from sigprop.model.train import TASKS, TrainConfig, train


class UsageError(Exception):
    """A command-line argument that cannot be used; exits with code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


# --- argument types -------------------------------------------------------------

def _number(kind, minimum=None, positive=False, maximum=None):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        if not np.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
        if positive and value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text}")
        if maximum is not None and value >= maximum:
            raise argparse.ArgumentTypeError(f"must be < {maximum}, got {text}")
        return value
    return parse


def _npy(text):
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"file not found: {text}")
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one usage error
        raise argparse.ArgumentTypeError(f"cannot read {text} as a .npy array ({type(exc).__name__})") from None
    if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.number) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise argparse.ArgumentTypeError(f"{text} must hold a real numeric array")
    if not np.all(np.isfinite(arr)):
        raise argparse.ArgumentTypeError(f"{text} has non-finite entries (NaN or inf)")
    return path, arr.astype(float)


def _add_model(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model (SPEC §1-3)")
    g.add_argument("--mean", type=_number(float), help="eigenvalue mean m of a symmetric W")
    g.add_argument("--var", type=_number(float, minimum=0), help="eigenvalue variance v >= 0")
    g.add_argument("--dim", type=_number(int, minimum=1), help="embedding dimension d >= 1")
    g.add_argument("--length", type=_number(int, minimum=2), required=True,
                   help="sequence length T >= 2")
    g.add_argument("--weights", type=_npy, metavar="FILE.npy",
                   help="a d x d query-key matrix W instead of --mean/--var")
    g.add_argument("--step-cov", type=_npy, metavar="FILE.npy",
                   help="step covariance Sigma (d x d matrix or length-d diagonal); with --weights")
    g.add_argument("--scale", type=_number(float, positive=True),
                   help="logit scale c > 0 (default 1/sqrt(d))")
    g.add_argument("--method", choices=("gaussian", "exact"), default="gaussian",
                   help="rho from the paper's Gaussian approximation (default) or exactly, from "
                        "the chi-square decomposition (finite form only)")
    g.add_argument("--shape", choices=SHAPES, default="gaussian",
                   help="spectrum shape of the W built from --mean/--var (exact method, simulation)")
    g.add_argument("--form", choices=("finite", "limit", "published"), default="finite",
                   help="closed form: exact finite T (default), T -> inf in s = i/T, or the "
                        "published form quoted in SPEC §3 (eigenspectrum input only)")
    o = p.add_argument_group("output")
    o.add_argument("--format", choices=("table", "json", "csv"), default="table")
    o.add_argument("--plot", metavar="FILE.png", help="draw the profile to this file")
    o.add_argument("--out", metavar="FILE.json", help="also write the JSON result here (atomically)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sigprop", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"sigprop {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("predict", help="closed-form signal propagation profile rho_i",
                       description="Closed-form signal propagation probability of every position.")
    _add_model(p)
    v = sub.add_parser("validate", help="closed form beside Monte Carlo, with intervals",
                       description="Closed form beside a Monte Carlo simulation of the random walk.")
    _add_model(v)
    g = v.add_argument_group("simulation")
    g.add_argument("--samples", type=_number(int, minimum=2), default=100_000,
                   help="number of simulated sequences (>= 2, default 100000)")
    g.add_argument("--seed", type=_number(int, minimum=0), default=0, help="random seed (>= 0)")
    g.add_argument("--confidence", type=_number(float, positive=True, maximum=1), default=0.95,
                   help="level of the Wilson intervals, in (0, 1)")
    g.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="precision of the simulation (float32: faster, other numbers per seed)")
    g.add_argument("--batch-size", type=_number(int, minimum=1),
                   help="sequences per batch (default: ~2^20 numbers per batch)")
    g.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    t = sub.add_parser("train", help="train one-layer attention (hand-written gradients)",
                       description="Train one-layer attention on the random walk, with instrumentation.")
    _add_training(t)
    t.add_argument("--seed", type=_number(int, minimum=0), default=0, help="random seed (>= 0)")
    t.add_argument("--locater", type=_number(float, minimum=0), default=0.0, metavar="LAMBDA",
                   help="LocAteR strength lambda >= 0 (default 0)")
    t.add_argument("--format", choices=("table", "json"), default="table")
    t.add_argument("--out", metavar="FILE.json", help="write the run record here (atomically)")
    t.add_argument("--plot", metavar="FILE.png", help="draw the history to this file")

    s = sub.add_parser("locater-sweep", help="train for several LocAteR lambdas and seeds",
                       description="Train the same model for several LocAteR strengths and seeds.")
    _add_training(s, task="next-token")
    s.add_argument("--lambdas", type=_list(float, minimum=0), default=[0.0, 0.01, 0.1, 1.0],
                   help="comma-separated lambdas >= 0 (default 0,0.01,0.1,1)")
    s.add_argument("--seeds", type=_list(int, minimum=0), default=[0, 1, 2],
                   help="comma-separated seeds >= 0 (default 0,1,2)")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.add_argument("--out", metavar="FILE.json", help="write the result here (atomically)")

    g = sub.add_parser("gap", help="spectral gap of attention at initialisation [NNT24]",
                       description="Simulated and predicted outlier and bulk of softmax attention.")
    _add_gap_model(g)
    g.add_argument("--length", type=_number(int, minimum=2), required=True, help="T >= 2")
    g.add_argument("--format", choices=("table", "json"), default="table")
    g.add_argument("--plot", metavar="FILE.png", help="eigenvalues and singular values")

    w = sub.add_parser("width", help="rank collapse in width for the three variants",
                       description="Rank residual of one attention layer's output against T.")
    _add_gap_model(w)
    w.add_argument("--lengths", type=_list(int, minimum=2), default=[64, 256, 1024, 4096],
                   help="comma-separated T (default 64,256,1024,4096)")
    w.add_argument("--samples", type=_number(int, minimum=2), default=8)
    w.add_argument("--format", choices=("table", "json"), default="table")
    w.add_argument("--plot", metavar="FILE.png")

    dp = sub.add_parser("depth", help="rank collapse and gradients through an attention-only stack",
                        description="By-layer rank residual, scale and gradient norms of an "
                                    "attention-only stack: vanilla, gap removed, gap removed and rescaled.")
    _add_gap_model(dp)
    dp.add_argument("--layers", type=_number(int, minimum=1), required=True, help="L >= 1")
    dp.add_argument("--length", type=_number(int, minimum=2), default=256, help="T (default 256)")
    dp.add_argument("--values", action="store_true", help="random value matrices W_V in every layer")
    dp.add_argument("--format", choices=("table", "json"), default="table")
    dp.add_argument("--plot", metavar="FILE.png")

    ge = sub.add_parser("gaussian-error", help="error of the Gaussian approximation against d and v",
                        description="Largest error over positions of the Gaussian rho, against the exact "
                                    "method and Monte Carlo, for a range of d and eigenvalue variances.")
    ge.add_argument("--dims", type=_list(int, minimum=1), default=[2, 4, 8, 16, 32, 64, 128, 256])
    ge.add_argument("--vars", type=_list(float, minimum=0), default=[0.01, 0.1, 1.0])
    ge.add_argument("--mean", type=_number(float), default=0.5)
    ge.add_argument("--length", type=_number(int, minimum=2), default=64)
    ge.add_argument("--shape", choices=SHAPES, default="gaussian")
    ge.add_argument("--samples", type=_number(int, minimum=2), default=20_000)
    ge.add_argument("--seed", type=_number(int, minimum=0), default=0)
    ge.add_argument("--quick", action="store_true", help="d in 2,8,32 and v in 0.1, 1; 4000 samples")
    ge.add_argument("--format", choices=("table", "json"), default="table")
    ge.add_argument("--plot", metavar="FILE.png")
    ge.add_argument("--out", metavar="FILE.json")
    ge.add_argument("--no-progress", action="store_true")

    hd = sub.add_parser("heads", help="query-key eigenspectra and predictions of a real checkpoint",
                        description="Per-head query-key matrix, eigenvalue statistics and predicted rho "
                                    "profile of a BERT, GPT-2 or LLaMA style .safetensors checkpoint.")
    hd.add_argument("checkpoint", metavar="CHECKPOINT.safetensors")
    hd.add_argument("--config", metavar="config.json", help="default: config.json beside the checkpoint")
    hd.add_argument("--length", type=_number(int, minimum=2), default=128, help="T of the prediction")
    hd.add_argument("--format", choices=("table", "json"), default="table")
    hd.add_argument("--plot", metavar="FILE.png", help="layers x heads heat maps")

    ht = sub.add_parser("heads-text", help="real text through a BERT-style checkpoint, head by head",
                        description="Run a BERT-style encoder on real English text and relate each head's "
                                    "measured localization to its eigenvalue variance.")
    ht.add_argument("checkpoint", metavar="CHECKPOINT.safetensors")
    ht.add_argument("--config", metavar="config.json")
    ht.add_argument("--tokenizer", metavar="tokenizer.json", help="default: tokenizer.json beside the checkpoint")
    ht.add_argument("--layers", type=_list(int, minimum=0), help="layers to measure (default all)")
    ht.add_argument("--max-tokens", type=_number(int, minimum=2), default=128)
    ht.add_argument("--format", choices=("table", "json"), default="table")

    cl = sub.add_parser("claims", help="one measured check per claim of the two papers, with verdicts",
                        description="Run one check per claim of [BHK24] and [NNT24] and print the claim, the "
                                    "check, the numbers and a verdict (supported, refuted or partly).")
    cl.add_argument("--quick", action="store_true", help="smaller problems (under 2 minutes)")
    cl.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    cl.add_argument("--out", metavar="FILE", help="also write the output here (atomically)")
    cl.add_argument("--no-progress", action="store_true")

    fg = sub.add_parser("figures", help="regenerate every figure (PNG and PDF)",
                        description="Run every script in figures/ with fixed seeds.")
    fg.add_argument("--quick", action="store_true", help="smaller problems (under 2 minutes)")
    fg.add_argument("--out", metavar="DIR", default="figures/out", help="output folder (default figures/out)")
    fg.add_argument("--format", choices=("table", "json"), default="table")
    fg.add_argument("--no-progress", action="store_true")

    bn = sub.add_parser("bench", help="performance ratios against NumPy's RNG and PyTorch",
                        description="Every performance ratio, each taken within one run (code in benchmarks/).")
    bn.add_argument("--quick", action="store_true", help="fewer samples and repeats (under 2 minutes)")
    bn.add_argument("--format", choices=("table", "json"), default="table")

    c = sub.add_parser("gradcheck", help="hand-written gradients against finite differences",
                       description="Central finite differences (float64) against the hand-written "
                                   "gradients, for every attention, mode and parametrization.")
    c.add_argument("--dim", type=_number(int, minimum=1), default=5)
    c.add_argument("--dk", type=_number(int, minimum=1), default=3)
    c.add_argument("--length", type=_number(int, minimum=2), default=6)
    c.add_argument("--batch", type=_number(int, minimum=1), default=3)
    c.add_argument("--seed", type=_number(int, minimum=0), default=0)
    c.add_argument("--threshold", type=_number(float, positive=True), default=1e-6,
                   help="largest relative error accepted (default 1e-6); exit 1 above it")
    c.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def _list(kind, minimum):
    item = _number(kind, minimum=minimum)

    def parse(text):
        return [item(x.strip()) for x in text.split(",") if x.strip()] or item("")
    return parse


def _add_training(p: argparse.ArgumentParser, task: str = "teacher") -> None:
    g = p.add_argument_group("model and training")
    g.add_argument("--task", choices=TASKS, default=task)
    g.add_argument("--attention", choices=("softmax", "pwl"), default="softmax")
    g.add_argument("--steps", type=_number(int, minimum=0), default=300)
    g.add_argument("--dim", type=_number(int, minimum=1), default=16, help="d (default 16)")
    g.add_argument("--dk", type=_number(int, minimum=1), default=16,
                   help="d_k of W_Q, W_K (default 16)")
    g.add_argument("--full-rank", action="store_true", help="train W itself instead of W_Q W_K^T")
    g.add_argument("--length", type=_number(int, minimum=2), default=32, help="T (default 32)")
    g.add_argument("--batch", type=_number(int, minimum=1), default=64)
    g.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    g.add_argument("--lr", type=_number(float, positive=True), default=0.01)
    g.add_argument("--log-every", type=_number(int, minimum=1), default=10)
    g.add_argument("--probe", type=_number(int, minimum=2), default=2048,
                   help="held-out sequences measured at every record")
    g.add_argument("--teacher-mean", type=_number(float), default=0.5)
    g.add_argument("--teacher-var", type=_number(float, minimum=0), default=0.1)
    g.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _add_gap_model(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("attention at initialisation (SPEC §6)")
    g.add_argument("--sigma", type=_number(float, minimum=0), default=0.5,
                   help="logit standard deviation sigma >= 0 (default 0.5)")
    g.add_argument("--model", choices=MODELS, default="markov",
                   help="markov: rowsoftmax of i.i.d. N(0, sigma^2); attention: key-query "
                        "attention with Gaussian X, W_Q, W_K at the same logit variance")
    g.add_argument("--dim", type=_number(int, minimum=1), default=64, help="d (attention model)")
    g.add_argument("--dk", type=_number(int, minimum=1), help="d_k (default d)")
    g.add_argument("--seed", type=_number(int, minimum=0), default=0)


def _train_config(args, **extra) -> TrainConfig:
    return TrainConfig(task=args.task, attention=args.attention, d=args.dim,
                       d_k=None if args.full_rank else args.dk, T=args.length, batch=args.batch,
                       steps=args.steps, optimizer=args.optimizer, lr=args.lr,
                       log_every=args.log_every, probe=args.probe, teacher_mean=args.teacher_mean,
                       teacher_var=args.teacher_var, **extra)


# --- commands -------------------------------------------------------------------

def _model(args) -> tuple[dict, np.ndarray | None, np.ndarray | None]:
    """Configuration, weight matrix (or None) and step covariance from the arguments."""
    cfg = dict(length=args.length, form=args.form, method=args.method)
    sigma = None
    if args.method == "exact" and args.form != "finite":
        raise UsageError(f"argument --method: 'exact' needs --form finite, got {args.form}")
    if args.weights is not None:
        if args.mean is not None or args.var is not None:
            raise UsageError("argument --weights: not allowed with --mean/--var")
        path, W = args.weights
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise UsageError(f"argument --weights: must be a square d x d matrix, got shape {W.shape}")
        if args.dim is not None and args.dim != W.shape[0]:
            raise UsageError(f"argument --dim: {args.dim} does not match the {W.shape[0]} x "
                             f"{W.shape[0]} matrix in --weights")
        if args.form == "published":
            raise UsageError("argument --form: 'published' needs --mean/--var, not --weights")
        d = W.shape[0]
        cfg.update(weights=str(path), dim=d, eig_mean=float(eig_mean(W)), eig_var=float(eig_var(W)),
                   symmetric=bool(np.allclose(W, W.T)))
        if args.step_cov is not None:
            spath, sigma = args.step_cov
            cfg["step_cov"] = str(spath)
    else:
        missing = [n for n, val in (("--mean", args.mean), ("--var", args.var), ("--dim", args.dim))
                   if val is None]
        if missing:
            raise UsageError(f"argument {missing[0]}: required unless --weights is given")
        if args.step_cov is not None:
            raise UsageError("argument --step-cov: only with --weights (the eigenspectrum form "
                             "assumes Sigma = I)")
        if args.dim == 1 and args.var > 0:
            raise UsageError(f"argument --var: must be 0 when --dim is 1, got {args.var}")
        if args.form == "published" and args.scale is not None:
            raise UsageError("argument --scale: the published form fixes c = 1/sqrt(d)")
        d, W = args.dim, None
        cfg.update(mean=args.mean, var=args.var, dim=d)
    cfg["scale"] = args.scale if args.scale is not None else 1.0 / np.sqrt(d)
    return cfg, W, sigma


def _theory(args, cfg, W, sigma, method):
    if W is None:
        return theory_spectrum(cfg["mean"], cfg["var"], cfg["dim"], cfg["length"], scale=args.scale,
                               form=args.form, method=method, shape=args.shape)
    return theory(W, cfg["length"], step_cov=sigma, scale=args.scale, form=args.form, method=method)


def run_predict(args, model=None) -> dict:
    cfg, W, sigma = _model(args) if model is None else model
    if W is None and args.method == "exact":
        cfg["shape"] = args.shape
    prof = _theory(args, cfg, W, sigma, args.method)
    out = dict(command="predict", version=__version__, config=cfg, method=args.method,
               positions=prof.positions, rho=prof.rho, mean=prof.mean, variance=prof.variance,
               localization={k: float(x) for k, x in localization_metrics(prof.rho).items()})
    if args.method == "exact":
        out["rho_error"] = prof.config["rho_error"]
    return out


def run_validate(args) -> dict:
    cfg, W, sigma = _model(args)
    out = run_predict(args, (cfg, W, sigma))
    out["command"] = "validate"
    cfg.update(samples=args.samples, seed=args.seed, confidence=args.confidence,
               batch_size=args.batch_size, dtype=args.dtype)
    w_seed, mc_seed = np.random.SeedSequence(args.seed).spawn(2)
    if W is None:
        cfg["shape"] = args.shape
        W = make_weights(cfg["mean"], cfg["var"], cfg["dim"], shape=args.shape, seed=w_seed)
    sim = simulate(W, cfg["length"], step_cov=sigma, scale=args.scale, samples=args.samples,
                   seed=mc_seed, batch_size=args.batch_size, confidence=args.confidence,
                   progress=not args.no_progress, dtype=np.dtype(args.dtype))
    rho = out["rho"]
    inside = (rho >= sim.ci_low) & (rho <= sim.ci_high)
    err = np.abs(rho - sim.rho)
    methods = {}
    if args.form == "finite":
        for method in ("gaussian", "exact"):
            r = rho if method == args.method else _theory(args, cfg, W if "weights" in cfg else None,
                                                          sigma, method).rho
            methods[method] = dict(rho=r, max_abs_error=float(np.abs(r - sim.rho).max()),
                                   coverage=float(np.mean((r >= sim.ci_low) & (r <= sim.ci_high))))
    out.update(methods=methods)
    out.update(rho_mc=sim.rho, ci_low=sim.ci_low, ci_high=sim.ci_high, mean_mc=sim.mean,
               mean_se=sim.mean_se, variance_mc=sim.variance, variance_se=sim.variance_se,
               max_abs_error=float(err.max()), max_error_position=int(err.argmax()) + 1,
               coverage=float(inside.mean()),
               mean_max_z=float(np.max(np.abs(sim.mean - out["mean"]) / sim.mean_se)),
               variance_max_z=float(np.max(np.abs(sim.variance - out["variance"]) / sim.variance_se)),
               localization_mc={k: float(x) for k, x in localization_metrics(sim.rho).items()})
    return out


def run_train(args) -> dict:
    return train(_train_config(args, locater=args.locater, seed=args.seed), progress=not args.no_progress)


def run_sweep(args) -> dict:
    return sweep(_train_config(args), args.lambdas, args.seeds, progress=not args.no_progress)


def run_gap(args) -> dict:
    out = gap.report(args.length, args.sigma, model=args.model, seed=args.seed, d=args.dim,
                     d_k=args.dk, keep_spectrum=bool(args.plot))
    return dict(command="gap", version=__version__, **out)


def run_width(args) -> dict:
    if args.sigma == 0:
        raise UsageError("argument --sigma: must be > 0 for rank collapse (sigma = 0 leaves no bulk)")
    rows = [rankcollapse.width(T, args.sigma, model=args.model, d=args.dim, samples=args.samples,
                               seed=args.seed) for T in args.lengths]
    return dict(command="width", version=__version__,
                config=dict(rows[0]["config"], lengths=args.lengths, length=None), rows=rows)


def run_depth(args) -> dict:
    if args.sigma == 0:
        raise UsageError("argument --sigma: must be > 0 for rank collapse (sigma = 0 leaves no bulk)")
    out = rankcollapse.depth(args.layers, args.length, args.sigma, model=args.model, d=args.dim,
                             d_k=args.dk, values=args.values, seed=args.seed)
    return dict(command="depth", version=__version__, **out)


def run_gaussian_error(args) -> dict:
    if args.quick:
        args.dims, args.vars, args.samples = [2, 8, 32], [0.1, 1.0], 4000
    return accuracy.study(args.dims, args.vars, mean=args.mean, T=args.length, shape=args.shape,
                          samples=args.samples, seed=args.seed, progress=not args.no_progress)


def run_heads(args) -> dict:
    from sigprop.checkpoints import heads
    out = heads.analyse(args.checkpoint, args.config, T=args.length)
    out["version"] = __version__
    return out


def run_heads_text(args) -> dict:
    from sigprop.checkpoints import realtext
    out = realtext.study(args.checkpoint, args.config, tokenizer=args.tokenizer, max_tokens=args.max_tokens,
                         layers=args.layers)
    out["version"] = __version__
    return out


def run_claims(args) -> dict:
    from sigprop.claims import ledger as claims
    return claims.run(quick=args.quick, progress=not args.no_progress)


def run_figures(args) -> dict:
    try:
        from sigprop_figures import make_all
    except ImportError:
        raise UsageError("the figure scripts are not installed (install sigprop from its repository)") from None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = make_all(out, quick=args.quick, progress=not args.no_progress)
    return dict(command="figures", version=__version__, config=dict(quick=args.quick, out=str(out)), files=files)


def run_bench(args) -> dict:
    try:
        from sigprop_benchmarks import suite
    except ImportError:
        raise UsageError("the benchmarks are not installed (install sigprop from its repository)") from None
    return dict(command="bench", **suite.run(quick=args.quick))


def run_gradcheck(args) -> dict:
    rows = gradcheck.check_all(d=args.dim, d_k=args.dk, batch=args.batch, T=args.length, seed=args.seed)
    worst = max(max(r["errors"].values()) for r in rows)
    return dict(command="gradcheck", version=__version__,
                config=dict(dim=args.dim, dk=args.dk, length=args.length, batch=args.batch,
                            seed=args.seed, threshold=args.threshold),
                rows=rows, max_error=worst, passed=bool(worst <= args.threshold))


# --- output ---------------------------------------------------------------------

_COLUMNS = {"predict": ("positions", "rho", "mean", "variance"),
            "validate": ("positions", "rho", "rho_mc", "ci_low", "ci_high", "mean", "mean_mc",
                         "mean_se", "variance", "variance_mc", "variance_se")}


def _csv(result: dict) -> str:
    cols = _COLUMNS[result["command"]]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["position" if c == "positions" else c for c in cols])
    for row in zip(*(result[c] for c in cols)):
        w.writerow([int(row[0])] + [f"{x:.10g}" for x in row[1:]])
    return buf.getvalue()


def _table(result: dict) -> str:
    cfg = result["config"]
    cols = _COLUMNS[result["command"]]
    head = " ".join(f"{('i' if c == 'positions' else c):>11}" for c in cols)
    lines = [_describe(cfg), head]
    for row in zip(*(result[c] for c in cols)):
        lines.append(f"{int(row[0]):>11d} " + " ".join(f"{x:11.5g}" for x in row[1:]))
    loc = result["localization"]
    if loc["total"] == 0:
        lines.append("localization: total = 0 (no token propagates; the other metrics are undefined)")
    else:
        lines.append("localization: " + ", ".join(f"{k} = {loc[k]:.4g}" for k in METRICS))
    if result["command"] == "validate":
        for name, m in result.get("methods", {}).items():
            lines.append(f"method {name}: largest |rho - rho_mc| = {m['max_abs_error']:.4g}, "
                         f"interval holds it at {m['coverage']:.1%} of positions")
        lines.append(
            f"summary: largest |rho - rho_mc| = {result['max_abs_error']:.4g} at i = "
            f"{result['max_error_position']}; the {cfg['confidence']:.0%} interval holds the closed "
            f"form at {result['coverage']:.1%} of positions; mean and variance deviate by at most "
            f"{result['mean_max_z']:.2f} and {result['variance_max_z']:.2f} standard errors")
    return "\n".join(lines)


_HISTORY = ("step", "train_loss", "heldout_loss", "eig_mean", "eig_var", "attention_entropy",
            "profile_distance", "rank_residual", "max_attention")


def _train_table(result: dict) -> str:
    cfg = result["config"]
    lines = [f"# task {cfg['task']}, {cfg['attention']} attention, d = {cfg['d']}, d_k = {cfg['d_k']}, "
             f"T = {cfg['T']}, batch {cfg['batch']}, {cfg['optimizer']} lr {cfg['lr']}, "
             f"LocAteR lambda = {cfg['locater']}, seed {cfg['seed']}",
             " ".join(f"{c:>17}" for c in _HISTORY)]
    for rec in result["history"]:
        lines.append(" ".join(f"{_fmt(rec[c]):>17}" for c in _HISTORY))
    last = result["history"][-1]
    if "rho_coverage" in last:
        lines.append(f"final: empirical rho vs closed form: largest |difference| "
                     f"{last['rho_max_abs_error']:.4g}, 95% intervals hold the closed form at "
                     f"{last['rho_coverage']:.1%} of positions ({cfg['probe']} probe sequences)")
    return "\n".join(lines)


def _sweep_table(result: dict) -> str:
    cols = ("eig_mean", "eig_var", "spread", "rho_total", "rho_entropy", "attention_entropy",
            "rank_residual", "train_loss", "heldout_loss")
    cfg = result["config"]
    lines = [f"# LocAteR sweep: task {cfg['task']}, {cfg['attention']} attention, d = {cfg['d']}, "
             f"T = {cfg['T']}, {cfg['steps']} steps, seeds {cfg['seeds']}; mean +- sd over seeds "
             f"of the final record", f"{'lambda':>8} " + " ".join(f"{c:>19}" for c in cols)]
    for e in result["summary"]:
        lines.append(f"{e['locater']:>8g} " + " ".join(
            f"{_fmt(e[c]) + ' +- ' + format(e[c + '_sd'], '.2g'):>19}" for c in cols))
    return "\n".join(lines)


def _gradcheck_table(result: dict) -> str:
    lines = [f"{'attention':>9} {'mode':>4} {'causal':>6} {'W':>8} {'gap':>8}  "
             "largest relative error per parameter"]
    for r in result["rows"]:
        errs = "  ".join(f"{k} {v:.1e}" for k, v in r["errors"].items())
        lines.append(f"{r['attention']:>9} {r['mode']:>4} {str(r['causal']):>6} "
                     f"{'W_Q W_K' if r['factored'] else 'full':>8} "
                     f"{'removed' if r['remove_gap'] else 'kept':>8}  {errs}")
    verdict = "passed" if result["passed"] else "FAILED"
    lines.append(f"{verdict}: largest error {result['max_error']:.2e} "
                 f"(threshold {result['config']['threshold']:g})")
    return "\n".join(lines)


def _gap_table(result: dict) -> str:
    cfg = result["config"]
    lines = [f"# {cfg['model']} attention at initialisation, T = {cfg['length']}, sigma = {cfg['sigma']}, "
             f"seed {cfg['seed']}" + (f", d = {cfg['d']}, d_k = {cfg['d_k']}" if cfg["model"] == "attention"
                                      else ""),
             f"{'':>28} {'simulated':>12} {'predicted':>12}"]
    for name, sim, pred in (("sigma_1 (largest s.v.)", "sigma_1", "predicted_sigma_1"),
                            ("sigma_2 (bulk edge)", "sigma_2", "predicted_bulk_edge"),
                            ("|eig_1|", "eig_1", "predicted_eig_1"),
                            ("|eig_2| (bulk radius)", "eig_2", "predicted_eig_radius")):
        lines.append(f"{name:>28} {result[sim]:12.5g} {result[pred]:12.5g}")
    lines.append(f"{'gap sigma_1 - sigma_2':>28} {result['gap']:12.5g} "
                 f"{result['predicted_sigma_1'] - result['predicted_bulk_edge']:12.5g}")
    if "predicted_low_rank_sigma_2" in result:
        lines.append(f"low-rank logits: sigma_2 -> {result['predicted_low_rank_sigma_2']:.4g} for T >> d "
                     "(the i.i.d. predictions assume T is not much larger than d)")
    return "\n".join(lines)


def _width_table(result: dict) -> str:
    cfg = result["config"]
    lines = [f"# rank residual ||Y - mean row|| / ||Y|| of Y = M X, X = 1 b^T + Z; {cfg['model']} attention, "
             f"sigma = {cfg['sigma']}, d = {cfg['d']}, mean +- se over {cfg['samples']} draws (predicted)",
             f"{'T':>6} " + " ".join(f"{v:>28}" for v in rankcollapse.VARIANTS) + f" {'kappa':>8}"]
    for row in result["rows"]:
        cells = [f"{row[v]['rank_residual']:.4f} +- {row[v]['rank_residual_se']:.1g} ({row[v]['predicted']:.4f})"
                 for v in rankcollapse.VARIANTS]
        lines.append(f"{row['config']['length']:>6} " + " ".join(f"{c:>28}" for c in cells)
                     + f" {row['kappa_measured']:8.3g}")
    return "\n".join(lines)


def _depth_table(result: dict) -> str:
    cfg = result["config"]
    keys = ["rank_residual", "scale", "grad_x"] + (["grad_w"] if cfg["model"] == "attention" else [])
    lines = [f"# {cfg['layers']}-layer attention-only stack, {cfg['model']}, T = {cfg['length']}, "
             f"sigma = {cfg['sigma']}, values {'on' if cfg['values'] else 'off'}; predicted factor per layer "
             f"s/sqrt(T) = {result['predicted_layer_factor']:.3g}, kappa = sqrt(T)/s = {result['kappa_predicted']:.3g}",
             f"{'variant':>9} {'layer':>5} " + " ".join(f"{k:>13}" for k in keys)]
    for v in rankcollapse.VARIANTS:
        rec = result[v]
        for layer in range(cfg["layers"] + 1):
            vals = [rec[k][layer] if k != "grad_w" else (rec[k][layer - 1] if layer > 0 else None) for k in keys]
            lines.append(f"{v:>9} {layer:>5} " + " ".join(f"{_fmt(x):>13}" for x in vals))
    return "\n".join(lines)


def _gaussian_error_table(result: dict) -> str:
    cfg = result["config"]
    lines = [f"# largest |difference| over positions 1..{cfg['length']}; m = {cfg['mean']}, {cfg['shape']} "
             f"spectrum, {cfg['samples']} Monte Carlo samples",
             f"{'d':>5} {'v':>6} {'gauss-exact':>12} {'at i':>5} {'gauss-MC':>10} {'exact-MC':>10} "
             f"{'CI half':>8} {'exact in CI':>11} {'exact err':>10}"]
    for r in result["rows"]:
        lines.append(f"{r['d']:>5} {r['v']:>6g} {r['gauss_vs_exact']:12.4f} {r['position']:>5} "
                     f"{r['gauss_vs_mc']:10.4f} {r['exact_vs_mc']:10.4f} {r['ci_halfwidth']:8.4f} "
                     f"{r['exact_coverage']:11.1%} {r['exact_error_bound']:10.1e}")
    return "\n".join(lines)


def _heads_table(result: dict) -> str:
    cfg = result["config"]
    cols = ("eig_mean", "eig_var", "frobenius", "rho_total", "rho_entropy", "rho_peak", "rho_width")
    lines = [f"# {cfg['checkpoint']}: {cfg['layout']} layout, d = {cfg['d_model']}, {cfg['heads']} heads; "
             f"predicted rho under the random walk at T = {cfg['length']}",
             f"{'layer':>5} {'head':>4} " + " ".join(f"{c:>11}" for c in cols)]
    for r in result["records"]:
        lines.append(f"{r['layer']:>5} {r['head']:>4} " + " ".join(f"{r[c]:11.4g}" for c in cols))
    return "\n".join(lines)


def _heads_text_table(result: dict) -> str:
    cfg = result["config"]
    cols = ("eig_mean", "eig_var", "frobenius", "attention_entropy", "linear_share", "max_attention")
    lines = [f"# {cfg['text']} ({len(cfg['modules'])} texts, {cfg['tokens']} tokens, Python {cfg['python']}), "
             f"at most {cfg['max_tokens']} tokens each; layers {cfg['layers']}",
             f"{'layer':>5} {'head':>4} " + " ".join(f"{c:>17}" for c in cols)]
    for r in result["records"]:
        lines.append(f"{r['layer']:>5} {r['head']:>4} " + " ".join(f"{r[c]:17.4g}" for c in cols))
    for name, key in (("eig_var", "correlation_with_eig_var"), ("frobenius (control)", "correlation_with_frobenius")):
        for measure, c in result[key].items():
            lines.append(f"Spearman({name}, {measure}) = {c['rho']:+.3f}, 95% CI [{c['low']:+.3f}, "
                         f"{c['high']:+.3f}], n = {c['n']} heads")
    return "\n".join(lines)


def _bench_table(result: dict) -> str:
    from sigprop_benchmarks import suite
    return suite.table(result)


def _claims_table(result: dict) -> str:
    from sigprop.claims.ledger import table
    return table(result)


def _figures_table(result: dict) -> str:
    return "\n".join(f"wrote {f}" for f in result["files"])


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return f"{x:d}" if isinstance(x, (int, np.integer)) else f"{x:.5g}"


def _describe(cfg: dict) -> str:
    if "weights" in cfg:
        model = (f"W = {cfg['weights']} (d = {cfg['dim']}, eigenvalue mean {cfg['eig_mean']:.4g}, "
                 f"variance {cfg['eig_var']:.4g})")
    else:
        model = f"m = {cfg['mean']:g}, v = {cfg['var']:g}, d = {cfg['dim']}"
    extra = f", {cfg['samples']} samples, seed {cfg['seed']}" if "samples" in cfg else ""
    return (f"# {model}, T = {cfg['length']}, c = {cfg['scale']:.4g}, form = {cfg['form']}, "
            f"method = {cfg['method']}{extra}")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    runners = {"predict": run_predict, "validate": run_validate, "train": run_train,
               "locater-sweep": run_sweep, "gradcheck": run_gradcheck, "gap": run_gap,
               "width": run_width, "depth": run_depth, "gaussian-error": run_gaussian_error,
               "heads": run_heads, "heads-text": run_heads_text, "bench": run_bench, "claims": run_claims,
               "figures": run_figures}
    try:
        result = runners[args.command](args)
        if getattr(args, "out", None) and args.command not in ("claims", "figures"):
            sio.write_json(args.out, result)
        if getattr(args, "plot", None):
            from sigprop import plotting
            figure = {"train": plotting.history_figure, "gap": plotting.spectrum_figure,
                      "width": plotting.width_figure, "depth": plotting.depth_figure,
                      "gaussian-error": plotting.gaussian_error_figure, "heads": plotting.heads_figure}
            figure.get(args.command, plotting.profile_figure)(result, args.plot)
            result.pop("eigenvalues", None)
            result.pop("singular_values", None)
    except (UsageError, ValueError, FloatingPointError) as exc:
        print(f"sigprop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"sigprop {args.command}: error: cannot write output: {exc}", file=sys.stderr)
        return 2
    tables = {"predict": _table, "validate": _table, "train": _train_table,
              "locater-sweep": _sweep_table, "gradcheck": _gradcheck_table, "gap": _gap_table,
              "width": _width_table, "depth": _depth_table, "gaussian-error": _gaussian_error_table,
              "heads": _heads_table, "heads-text": _heads_text_table, "bench": _bench_table,
              "claims": _claims_table, "figures": _figures_table}
    if args.command == "heads" and args.format == "json":      # a list, one record per head
        result = [dict(r, layout=result["config"]["layout"], length=result["config"]["length"],
                       checkpoint=result["config"]["checkpoint"]) for r in result["records"]]
    if args.command == "claims" and args.format == "json":     # a list, one object per claim
        result = result["claims"]
    from sigprop.claims.ledger import markdown
    text = {"json": sio.dumps, "csv": _csv, "table": tables[args.command],
            "markdown": markdown}[args.format](result)
    if args.command == "claims" and args.out:
        sio.atomic_write(args.out, lambda tmp: Path(tmp).write_text(text + "\n"))
    print(text)
    if args.command == "gradcheck" and not result["passed"]:
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
