"""[BHK24] commands: ``predict``, ``validate``, ``gaussian-error``.

``predict`` prints the closed-form profile ``rho_i`` (``docs/theory.md`` §3);
``validate`` puts it beside a Monte Carlo simulation, compared by
:func:`sigprop.rho.compare.compare`; ``gaussian-error`` runs the study of the Gaussian
approximation's error (:mod:`sigprop.rho.gaussian_error`).
"""
from __future__ import annotations

import argparse
import warnings
from typing import Any

from sigprop.cli import arguments as a
from sigprop.cli.app import UsageError, command, register, study_command
from sigprop.cli.render import View
from sigprop.rho.prediction import STUDY as PREDICTION
from sigprop.rho.validation import STUDY as VALIDATION

# The API's choices (sigprop.rho.spectrum.SHAPES, sigprop.rho.theory.FORMS and METHODS),
# repeated here so that building the parser imports no scientific code; a test
# checks that they agree.
SHAPES = ("gaussian", "uniform", "two-point")
FORMS = ("finite", "limit", "antrp", "published")
METHODS = ("auto", "gaussian", "exact", "saddlepoint")
CHI2_METHODS = ("exact", "saddlepoint")      # need the whole spectrum (--shape)
ATTENTIONS = ("pwl", "softmax")
QUANTITIES = ("weight", "sensitivity", "gradient")    # sigprop.rho.softmax_profile.QUANTITIES

def model_arguments(p: argparse.ArgumentParser, methods: tuple[str, ...] = METHODS) -> None:
    """Add the options of the model: ``--mean/--var/--dim`` or ``--weights``, ``--length``, ``--method``, ...

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    methods : tuple of str
        The ``--method`` choices.
    """
    g = p.add_argument_group("model (docs/theory.md §1-3)")
    g.add_argument("--mean", type=a.number(float), help="eigenvalue mean m of a symmetric W")
    g.add_argument("--var", type=a.number(float), help="eigenvalue variance v >= 0")
    g.add_argument("--dim", type=a.number(int, 1), help="embedding dimension d >= 1")
    g.add_argument("--length", type=a.number(int, 2), required=True, help="sequence length T >= 2")
    g.add_argument("--weights", type=a.npy_matrix, metavar="FILE.npy",
                   help="a d x d query-key matrix W instead of --mean/--var")
    g.add_argument("--step-cov", type=a.npy_matrix, metavar="FILE.npy",
                   help="step covariance Sigma (d x d matrix or length-d diagonal); with --weights")
    g.add_argument("--scale", type=a.number(float), help="logit scale c > 0 (default 1/sqrt(d))")
    g.add_argument("--method", choices=methods, default="auto",
                   help="auto (default): exactly where the Gaussian approximation's error, estimated from "
                        "the measured map of docs/exact.md, exceeds 0.01, else Gaussian (the output says which "
                        "ran and why); gaussian: the paper's approximation; exact: from the chi-square "
                        "decomposition; saddlepoint: its saddle-point approximation "
                        "(docs/saddlepoint.md; exact and saddlepoint: finite form only)"
                        + ("; both: gaussian and exact, each compared with the simulation"
                           if "both" in methods else ""))
    g.add_argument("--shape", choices=SHAPES,
                   help="spectrum shape of the W built from --mean/--var (exact, saddle-point and auto "
                        "methods, simulation; default gaussian)")
    g.add_argument("--form", choices=FORMS, default="finite",
                   help="closed form: exact finite T (default), T -> inf in s = i/T, or the form of the "
                        "ANTRP code quoted in docs/theory.md §3.4 (eigenspectrum input only; 'published' is "
                        "its deprecated alias: the form is not [BHK24]'s)")
    data_arguments(p)


def data_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of the data model (``--data``, ``--query``, ``--causal``, ``--token-mean``).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    g = p.add_argument_group("data model (docs/data-models.md)")
    g.add_argument("--data", default="random-walk", metavar="MODEL",
                   help="token covariance K: random-walk (default), iid, ar1:LENGTH, fbm:H, or FILE.npy "
                        "(a T x T covariance)")
    g.add_argument("--query", metavar="Q",
                   help="query position 1..T (default T), or 'all': rho[q, i] as T x T")
    g.add_argument("--causal", action="store_true", help="center over tokens 1..q (causal attention)")
    g.add_argument("--token-mean", type=a.npy, metavar="FILE.npy", help="mean embedding mu_x (length d)")


def data_options(args: argparse.Namespace, cfg: dict) -> dict | None:
    """:class:`~sigprop.rho.logits.LogitModel` keywords of the data flags (None: the random walk,
    query at T); records them in ``cfg``.  Values are checked by the API."""
    if args.data == "random-walk" and args.query is None and not args.causal and args.token_mean is None:
        return None
    spec = args.data
    cfg["data"] = spec
    if spec.endswith(".npy") or "/" in spec:
        try:
            path, spec = a.npy(spec)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"argument --data: {exc}") from None
        cfg["data"] = str(path)
    query = args.query
    if query is not None and query != "all":
        try:
            query = int(query)
        except ValueError:
            raise UsageError(f"argument --query: must be an integer in 1..T or 'all', "
                             f"got {query!r}") from None
    cfg.update(query=query if query is not None else cfg["T"], causal=args.causal)
    mean = None
    if args.token_mean is not None:
        path, mean = args.token_mean
        cfg["token_mean"] = str(path)
    return dict(data=spec, query=query, causal=args.causal, token_mean=mean)


#: The semi-analytic method's replicates: ``--points`` is this many times a power of 2.
REPLICATES = 16


def _points(text: str) -> int:
    """``--points``: 16 replicates times a power of 2, checked whatever ``--attention`` is."""
    points = a.number(int, REPLICATES)(text)
    per = points // REPLICATES
    if points < REPLICATES or points % REPLICATES or per & (per - 1):
        raise argparse.ArgumentTypeError(f"must be 16 times a power of 2, got {text!r}")
    return points


def attention_arguments(p: argparse.ArgumentParser, seed: bool = False) -> None:
    """Add the options of softmax attention (``--attention``, ``--quantity``, ``--points``).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    seed : bool
        Also add ``--seed`` for the semi-analytic method.
    """
    g = p.add_argument_group("softmax attention (docs/softmax.md)")
    g.add_argument("--attention", choices=ATTENTIONS, default="pwl",
                   help="pwl: rho of the piecewise-linear softmax (default); softmax: a softmax "
                        "quantity by the semi-analytic method (every --data model, one --query)")
    g.add_argument("--quantity", choices=QUANTITIES, default="weight",
                   help="softmax quantity: E[p_i], E[p_i(1-p_i)] or the gradient share (docs/softmax.md)")
    g.add_argument("--points", type=_points, default=1 << 16,
                   help="semi-analytic points: 16 replicates times a power of 2 (default 65536)")
    if seed:
        g.add_argument("--seed", type=a.seed, help="seed of the semi-analytic method (>= 0, default 0)")


def predict_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``sigprop predict`` (model, softmax attention)."""
    model_arguments(p)
    attention_arguments(p, seed=True)


def simulation_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of the Monte Carlo simulation (``--samples``, ``--seed``, ...).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    """
    g = p.add_argument_group("simulation")
    g.add_argument("--samples", type=a.number(int), default=100_000,
                   help="number of simulated sequences (>= 3, default 100000)")
    g.add_argument("--seed", type=a.seed, default=0, help="random seed (>= 0)")
    g.add_argument("--confidence", type=a.number(float), default=0.95,
                   help="level of the Wilson intervals, in (0, 1)")
    g.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="precision of the simulation (float32: faster, other numbers per seed)")
    g.add_argument("--streams", type=a.number(int),
                   help="independent random streams, 1 to min(samples, 65536) (default 8, or samples if fewer): the "
                        "numbers depend only on --seed and --streams, the same on every machine (1: the single "
                        "stream of earlier versions)")
    g.add_argument("--threads", type=a.number(int, 1),
                   help="workers running the streams in parallel (default: every core; forked "
                        "processes on Linux, threads elsewhere); speed only, never the numbers")
    g.add_argument("--batch-size", type=a.number(int),
                   help="sequences per batch (default: ~2^20 numbers per batch)")
    a.progress(g)


def validate_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``sigprop validate`` (model, simulation, softmax attention)."""
    model_arguments(p, METHODS + ("both",))
    simulation_arguments(p)
    attention_arguments(p)


def model(args: argparse.Namespace) -> tuple[dict, object, object]:
    """Configuration, weight matrix (``None`` for ``--mean/--var``) and step covariance.

    Only flag combinations are checked here; values are checked by the API.  A ``--shape`` that
    cannot change the numbers (the spectrum of ``--weights`` is W's own) gives a one-line warning.
    """
    _unused(args, "--shape", args.shape is not None and args.weights is not None,
            "the spectrum is that of the matrix in --weights")
    args.shape = args.shape or "gaussian"
    if args.form == "published":               # a notice after the result (none when the command is refused)
        warnings.warn("--form published is a deprecated alias of --form antrp: the closed form of the ANTRP code "
                      "(Everlyn-Labs/ANTRP), not of [BHK24] (docs/theory.md §3.4)", UserWarning, stacklevel=2)
        args.form = "antrp"
    cfg: dict = dict(T=args.length, form=args.form, method=args.method)
    sigma = None
    if args.weights is not None:
        import numpy as np

        from sigprop.rho.spectrum import eig_mean, eig_var

        if args.mean is not None or args.var is not None:
            raise UsageError("argument --weights: not allowed with --mean/--var")
        if args.form == "antrp":
            raise UsageError("argument --form: 'antrp' needs --mean/--var, not --weights")
        path, W = args.weights
        if W.ndim > 2:
            raise UsageError(f"argument --weights: must hold one d x d matrix, got shape {W.shape}")
        m, v = float(eig_mean(W)), float(eig_var(W))      # the API checks W
        if args.dim is not None and args.dim != W.shape[0]:
            raise UsageError(f"argument --dim: {args.dim} does not match the {W.shape[0]} x "
                             f"{W.shape[0]} matrix in --weights")
        d = W.shape[0]
        cfg.update(weights=str(path), d=d, m=m, v=v, symmetric=bool(np.allclose(W, W.T)))
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
        d, W = args.dim, None
        cfg.update(m=args.mean, v=args.var, d=d)
    cfg["scale"] = args.scale if args.scale is not None else (1.0 / d ** 0.5 if d > 0 else None)
    return cfg, W, sigma


def _unused(args: argparse.Namespace, flag: str, unused: bool, why: str) -> None:
    """Warn in one line (``sigprop CMD: warning: ...``, after the result) that ``flag`` was given
    but cannot change the numbers; it is then not recorded in ``config``."""
    if unused:
        import warnings

        warnings.warn(f"argument {flag}: has no effect here ({why}); not recorded", UserWarning, stacklevel=2)


def _theory(args: argparse.Namespace, cfg: dict, W, sigma, method: str, opts: dict | None = None, model=None):
    from sigprop.core.progress import activity
    from sigprop.rho.theory import theory, theory_spectrum

    with activity(f"{method} rho", method in ("exact", "auto") and not getattr(args, "no_progress", True)):
        if model is not None:                      # validated once by the caller
            return theory(model, form=args.form, method=method)
        if opts is not None:
            from sigprop.rho.logits import LogitModel
            model = (LogitModel.from_spectrum(cfg["m"], cfg["v"], cfg["d"], cfg["T"],
                                              shape=args.shape, scale=args.scale, **opts) if W is None else
                     LogitModel(W, cfg["T"], step_cov=sigma, scale=args.scale, **opts))
            return theory(model, form=args.form, method=method)
        if W is None:
            return theory_spectrum(cfg["m"], cfg["v"], cfg["d"], cfg["T"], scale=args.scale,
                                   form=args.form, method=method, shape=args.shape)
        return theory(W, cfg["T"], step_cov=sigma, scale=args.scale, form=args.form, method=method)


def _plain(x):
    """A float, or a list of floats (one per query with ``--query all``)."""
    return x.tolist() if getattr(x, "ndim", 0) else float(x)


def _profile(prof) -> dict:
    from sigprop.rho.localization import localization_metrics

    method = prof.config["method"]
    out = dict(method=method, **({"method_reason": prof.config["auto"]["reason"]} if "auto" in prof.config else {}),
               positions=prof.positions, rho=prof.rho, mean=prof.mean,
               variance=prof.variance,
               localization={k: _plain(x) for k, x in localization_metrics(prof.rho, empty="nan").items()})
    if method in CHI2_METHODS:
        out["rho_error"] = prof.config["rho_error"]
    return out


def predict(args: argparse.Namespace) -> dict:
    """Run ``sigprop predict``: the closed-form signal propagation profile ``rho_i``.
    """
    shape_given = args.shape is not None
    cfg, W, sigma = model(args)
    if args.attention == "softmax":
        return _softmax_predict(args, cfg, W, sigma)
    _unused(args, "--seed", args.seed is not None,
            "the closed form uses no random numbers; --seed is for --attention softmax")
    _unused(args, "--shape", shape_given and W is None and args.method == "gaussian",
            f"the {args.method} form depends on the spectrum only through its mean and variance; "
            "--method exact, saddlepoint or auto uses its shape")
    if W is None and args.method in CHI2_METHODS + ("auto",):
        cfg["shape"] = args.shape
    opts = data_options(args, cfg)
    from sigprop._version import __version__
    return dict(version=__version__, config=cfg, **_profile(_theory(args, cfg, W, sigma, args.method, opts)))


def validate(args: argparse.Namespace) -> dict:
    """Run ``sigprop validate``: :func:`sigprop.rho.validation.validate` (or ``validate_softmax``) of
    the model the flags describe, ``W`` drawn from ``--mean/--var`` with the first seed of ``--seed``.
    """
    import numpy as np

    from sigprop._version import __version__
    from sigprop.rho.localization import localization_metrics
    from sigprop.rho.logits import LogitModel
    from sigprop.rho.validation import validate as validation

    cfg, W, sigma = model(args)
    if args.attention == "softmax":
        return _softmax_validate(args, cfg, W, sigma)
    methods = ["gaussian", "exact"] if args.method == "both" else [args.method]
    if W is None and set(CHI2_METHODS + ("auto",)) & set(methods):
        cfg["shape"] = args.shape
    opts = data_options(args, cfg) or {}
    cfg.update(samples=args.samples, seed=args.seed, confidence=args.confidence,
               batch_size=args.batch_size, dtype=args.dtype)
    if set(CHI2_METHODS) & set(methods) and args.query != "all":
        # the exact method's memory and time, before the weights' QR (14 s at d = 2048) and the simulation
        from sigprop.rho.auto import require_exact

        require_exact(cfg["T"], cfg["d"], 1, from_spectrum=W is None)
    w_seed, mc_seed = np.random.SeedSequence(args.seed).spawn(2)
    if W is None:
        cfg["shape"] = args.shape
        lm = LogitModel.from_spectrum(cfg["m"], cfg["v"], cfg["d"], cfg["T"], shape=args.shape, scale=args.scale,
                                      basis="random", seed=w_seed, **opts)
    else:
        lm = LogitModel(np.asarray(W), cfg["T"], step_cov=sigma, scale=args.scale, **opts)
    res = validation(lm, methods, form=args.form, samples=args.samples, seed=mc_seed, confidence=args.confidence,
                     batch_size=args.batch_size, dtype=args.dtype, streams=args.streams, threads=args.threads,
                     progress=not args.no_progress)
    cfg["streams"] = res.config["streams"]
    first = res.methods[0]
    out = dict(version=__version__, config=cfg, method=first,
               **({} if res.method_reason is None else {"method_reason": res.method_reason}),
               positions=res.positions, rho=res.rho[0], mean=res.mean[0], variance=res.variance[0],
               localization={k: _plain(x) for k, x in localization_metrics(res.rho[0], empty="nan").items()})
    if first in CHI2_METHODS:
        out["rho_error"] = res.rho_error[0]
    out.update(methods={m: dict(rho=res.rho[k], **res.comparison(k)) for k, m in enumerate(res.methods)},
               rho_mc=res.rho_mc, ci_low=res.ci_low, ci_high=res.ci_high, mean_mc=res.mean_mc,
               mean_se=res.mean_se, variance_mc=res.variance_mc, variance_se=res.variance_se, **res.comparison(0),
               localization_mc={k: _plain(x) for k, x in localization_metrics(res.rho_mc, empty="nan").items()})
    return out


# the commands of the studies' descriptors (sigprop.rho.prediction, sigprop.rho.validation), in the
# order of --help
register(study_command(PREDICTION))
register(study_command(VALIDATION))


def _softmax_model(args: argparse.Namespace, cfg: dict, W, sigma):
    """The :class:`~sigprop.rho.logits.LogitModel` of a softmax command, ``cfg`` completed."""
    from sigprop.rho.logits import LogitModel

    if args.query == "all":
        raise UsageError("argument --query: must be one position 1..T for --attention softmax, got 'all'")
    if args.form != "finite" or args.method not in ("gaussian", "auto"):
        flag = "--form" if args.form != "finite" else "--method"
        raise UsageError(f"argument {flag}: only for --attention pwl (softmax uses the semi-analytic method)")
    for key in ("form", "method"):
        cfg.pop(key, None)
    cfg.update(attention="softmax", quantity=args.quantity, points=args.points, replicates=REPLICATES)
    opts = data_options(args, cfg) or {}
    if W is None:
        cfg["shape"] = args.shape
        return LogitModel.from_spectrum(cfg["m"], cfg["v"], cfg["d"], cfg["T"], shape=args.shape,
                                        scale=args.scale, **opts)
    return LogitModel(W, cfg["T"], step_cov=sigma, scale=args.scale, **opts)


def _softmax_predict(args: argparse.Namespace, cfg: dict, W, sigma) -> dict:
    from sigprop._version import __version__
    from sigprop.core.checks import renamed
    from sigprop.rho.localization import localization_metrics
    from sigprop.rho.softmax_profile import semi_analytic

    lm = _softmax_model(args, cfg, W, sigma)
    cfg["seed"] = seed = args.seed if args.seed is not None else 0
    with renamed({"samples": "points"}):
        prof = semi_analytic(lm, quantity=args.quantity, samples=args.points, seed=seed)
    return dict(version=__version__, config=cfg, method="semi-analytic", positions=prof.positions,
                value=prof.value, se=prof.se,
                localization={k: float(x) for k, x in localization_metrics(prof.value, empty="nan").items()})


def _softmax_validate(args: argparse.Namespace, cfg: dict, W, sigma) -> dict:
    import numpy as np

    from sigprop._version import __version__
    from sigprop.rho.localization import localization_metrics
    from sigprop.rho.validation import validate_softmax

    lm = _softmax_model(args, cfg, W, sigma)
    cfg.update(samples=args.samples, seed=args.seed, confidence=args.confidence, batch_size=args.batch_size)
    res = validate_softmax(lm, args.quantity, points=args.points, samples=args.samples, seed=args.seed,
                           confidence=args.confidence, batch_size=args.batch_size, progress=not args.no_progress)
    return dict(version=__version__, config=cfg, method="semi-analytic", positions=res.positions,
                value=res.value, se=res.se, value_mc=res.value_mc, se_mc=res.se_mc, ci_low=res.ci_low,
                ci_high=res.ci_high, max_abs_error=res.max_abs_error, max_error_position=res.max_error_position,
                coverage=res.coverage, max_z=res.max_z, bonferroni_z=res.bonferroni_z, agree=res.agree,
                localization={k: float(x) for k, x in localization_metrics(res.value, empty="nan").items()},
                localization_mc={k: float(x) for k, x in
                                 localization_metrics(np.clip(res.value_mc, 0, 1), empty="nan").items()})


#: ``gaussian-error``'s grid: the defaults, and what ``--quick`` sets instead (given together with
#: ``--quick`` or ``--map``, which set the grid themselves, a flag is refused rather than ignored).
GAUSSIAN_ERROR_GRID: dict[str, Any] = dict(dims=[2, 4, 8, 16, 32, 64, 128, 256], vars=[0.01, 0.1, 1.0], samples=20_000)
GAUSSIAN_ERROR_QUICK: dict[str, Any] = dict(dims=[2, 8, 32], vars=[0.1, 1.0], samples=4000)


def _gaussian_error_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dims", type=a.numbers(int), help="d values (default 2,4,8,16,32,64,128,256)")
    p.add_argument("--vars", type=a.numbers(float), help="eigenvalue variances v (default 0.01,0.1,1)")
    p.add_argument("--mean", type=a.number(float), help="eigenvalue mean m (default 0.5)")
    p.add_argument("--length", type=a.number(int), help="T (default 64)")
    p.add_argument("--shape", choices=SHAPES, help="eigenvalue shape (default gaussian)")
    p.add_argument("--samples", type=a.number(int), help="Monte Carlo samples (default 20000)")
    p.add_argument("--seed", type=a.seed, default=0)
    p.add_argument("--quick", action="store_true",
                   help="d in 2,8,32 and v in 0.1, 1; 4000 samples (not with --dims, --vars, --samples)")
    p.add_argument("--map", action="store_true",
                   help="the map method='auto' reads (results/gaussian_error/map.json): Gaussian against exact "
                        "only, over d = 2..1024, the rank of W, m in 0, 0.5, 2, v in 0.01, 0.1, 1, T in 8, 64, 512 "
                        "(only --seed goes with it)")
    a.progress(p)


@command("gaussian-error", help="error of the Gaussian approximation against d and v",
         description="Largest error over positions of the Gaussian rho, against the exact method and "
                     "Monte Carlo, for a range of d and eigenvalue variances.",
         arguments=_gaussian_error_arguments, plot="sigprop.rho.gaussian_error:gaussian_error_figure",
         flags={"dims": "--dims", "d": "--dims", "variances": "--vars", "v": "--vars", "m": "--mean",
                "mean": "--mean", "T": "--length", "shape": "--shape", "samples": "--samples"},
         view=View(records="rows", fields=("d", "v", "gauss-exact=gauss_vs_exact", "at i=position",
                                           "gauss-MC=gauss_vs_mc", "exact-MC=exact_vs_mc",
                                           "CI half=ci_halfwidth", "exact in CI=exact_coverage",
                                           "exact err=exact_error_bound"), show=()))
def gaussian_error(args: argparse.Namespace) -> dict:
    """Run ``sigprop gaussian-error``: the error of the Gaussian approximation against ``d`` and ``v``.
    """
    from sigprop.rho import gaussian_error as study

    grid = ("dims", "vars", "samples", "mean", "length", "shape")
    if args.map:
        given = [f"--{k}" for k in grid if getattr(args, k) is not None] + (["--quick"] if args.quick else [])
        if given:
            raise UsageError(f"argument --map: sets its own grid; only --seed goes with it, got {', '.join(given)}")
        return study.error_map(seed=args.seed, progress=not args.no_progress)
    if args.quick:
        given = [f"--{k}" for k in GAUSSIAN_ERROR_QUICK if getattr(args, k) is not None]
        if given:
            raise UsageError(f"argument --quick: sets --dims, --vars and --samples itself; give those or --quick, "
                             f"got {', '.join(given)} too")
    chosen = GAUSSIAN_ERROR_QUICK if args.quick else GAUSSIAN_ERROR_GRID
    dims = chosen["dims"] if args.dims is None else args.dims
    variances = chosen["vars"] if args.vars is None else args.vars
    samples = chosen["samples"] if args.samples is None else args.samples
    return study.study(dims, variances, m=0.5 if args.mean is None else args.mean,
                       T=64 if args.length is None else args.length, shape=args.shape or "gaussian",
                       samples=samples, seed=args.seed, progress=not args.no_progress)
