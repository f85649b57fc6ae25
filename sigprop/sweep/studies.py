"""One cell of each study whose descriptor names a cell here: the public API called once, its result as
named arrays.

Each function takes one cell's arguments (fixed arguments and coordinates; ``seed`` is the
cell's seed, derived by the sweep from its coordinates) and returns the output variables its
study's descriptor declares (``cell_outputs`` of the :class:`sigprop.core.study.Study` in the
study's own module, e.g. :data:`sigprop.rho.prediction.PROFILE`).  How a cell uses its seed is stated in
each docstring, so that the same numbers come from a direct call with that seed.
"""
from __future__ import annotations

import inspect
from dataclasses import fields

import numpy as np

from sigprop.core.checks import ArgumentError
from sigprop.gap import collapse
from sigprop.gap import stable_rank as nnt_stable_rank_study
from sigprop.gap.spectra import report
from sigprop.lm import corpus as lmcorpus
from sigprop.lm import train as lmtrain
from sigprop.lm.train import LM_FINAL, LM_HISTORY
from sigprop.lm.transformer import Config as LMConfig
from sigprop.model.locater_sweep import COLUMNS, HISTORY, final_row
from sigprop.model.train import TrainConfig, train
from sigprop.rho.localization import localization_metrics
from sigprop.rho.logits import LogitModel
from sigprop.rho.prediction import LOCALIZATION
from sigprop.rho.softmax_profile import QUANTITIES, check_semi_analytic, semi_analytic
from sigprop.rho.theory import theory_spectrum
from sigprop.rho.validation import cell as validation_cell
from sigprop.stack import recursion as stack_recursion
from sigprop.stack.recursion import STACK_OUTPUTS

__all__ = ["HISTORY", "LM_FINAL", "LM_HISTORY", "STACK_OUTPUTS", "collapse_depth", "collapse_width", "exact", "lm",
           "locater", "nnt_stable_rank", "profile", "saddlepoint", "softmax", "spectral_gap", "stack_predict",
           "training", "validation"]


def check_spectrum(m, v, d, T, *, scale=None, shape: str = "gaussian", form: str = "finite",
                   method: str = "gaussian", basis: str = "identity", chi2: bool = False, **_: object) -> None:
    """Refuse (``ArgumentError`` naming the parameter, with its accepted range) a cell of a study of the
    spectrum ``(m, v, d, T)`` (``profile``, ``validation``, ``exact``, ``saddlepoint``, ``softmax``) that
    the study would refuse, before any work: the types and ranges of the arguments; the memory of the
    weights drawn from ``(m, v)`` (``basis="random"``: three ``d x d`` matrices) and, with ``chi2`` or
    ``method`` exact or saddlepoint, of the chi-square methods (:func:`sigprop.rho.auto.require_exact`);
    and logits whose variance ``c^2 d (v + m^2)`` overflows float64.  The sweep driver calls it for
    every cell before any worker starts (:meth:`sigprop.sweep.spec.Spec.check_cells`).  Each value is
    checked against its own range; a combination only one cell refuses (``v > 0`` at ``d = 1``) is left
    to that cell, which is recorded as failed while the others run."""
    from sigprop.core import checks
    from sigprop.core.memory import matrices, require
    from sigprop.rho.auto import require_exact
    from sigprop.rho.spectrum import SHAPES
    from sigprop.rho.theory import FORMS, METHODS

    m = checks.real("m", m)
    v = checks.real("v", v, minimum=0.0)
    if np.ndim(d) == 0:
        d = checks.integer("d", d, 1)
    else:                                       # a grid of dimensions in one cell: its largest is sized
        d = int(np.max(checks.spectrum(0.0, 0.0, d, single_d=False)[2]))
    T = checks.integer("T", T, 2)
    checks.choice("shape", shape, SHAPES)
    checks.choice("form", form, FORMS)
    checks.choice("method", method, METHODS)
    checks.choice("basis", basis, ("identity", "random"))
    c2 = 1.0 / d if scale is None else float(checks.scalar("scale", scale, positive=True)) ** 2
    require(matrices(3 if basis == "random" else 2, d, d), "d", f"{d} x {d} float64 matrices")
    if chi2 or method in ("exact", "saddlepoint"):
        require_exact(T, d, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        size = np.float64(c2) * d * (np.max(v) + np.max(np.square(m)))
    if not np.isfinite(size):
        big_m = float(np.max(np.abs(m), initial=0.0))
        raise ArgumentError("v" if float(np.max(v, initial=0.0)) >= big_m * big_m else "m",
                            "is too large: the variance of the logits overflows float64 (beyond 1.8e308); "
                            "scale it down")


def check_validation(m, v, d, T, *, samples: int = 20_000, scale=None, shape: str = "gaussian",
                     basis: str = "random", confidence: float = 0.95, seed=0) -> None:
    """:func:`check_spectrum` for a cell of :func:`validation` (its Monte Carlo, the exact method)."""
    from sigprop.core import checks

    checks.seed("seed", seed)
    check_spectrum(m, v, d, T, scale=scale, shape=shape, basis=basis, chi2=True)
    checks.integer("samples", samples, 3)
    level = checks.scalar("confidence", confidence)
    if not 0.0 < level < 1.0:
        raise ArgumentError("confidence", f"must be in (0, 1), got {level!r}")


def check_exact(m, v, d, T, *, scale=None, shape: str = "gaussian", **_: object) -> None:
    """:func:`check_spectrum` for a cell of :func:`exact` or :func:`saddlepoint` (a chi-square method)."""
    check_spectrum(m, v, d, T, scale=scale, shape=shape, chi2=True)


def check_gaussian_error(d, v, *, m=0.5, T=64, shape: str = "gaussian", samples: int = 20_000, seed=0,
                         mean=None) -> None:
    """:func:`check_spectrum` for a cell of ``gaussian-error`` (:func:`sigprop.rho.gaussian_error.case`:
    the exact method and a Monte Carlo of ``samples`` walks)."""
    from sigprop.core import checks

    checks.seed("seed", seed)
    check_spectrum(m if mean is None else mean, v, d, T, shape=shape, chi2=True)
    checks.integer("samples", samples, 3)


def check_validate_softmax(m, v, d, T, *, quantity: str = "weight", points: int = 1 << 13, samples: int = 20_000,
                           scale=None, shape: str = "gaussian", confidence: float = 0.95, seed=0) -> None:
    """:func:`check_spectrum` for a cell of ``validate-softmax`` (:func:`sigprop.rho.validation.softmax_cell`)."""
    from sigprop.core import checks
    from sigprop.core.checks import renamed
    from sigprop.core.stats import z_value

    checks.seed("seed", seed)
    check_spectrum(m, v, d, T, scale=scale, shape=shape)
    checks.choice("quantity", quantity, QUANTITIES)
    with renamed({"samples": "points"}):
        check_semi_analytic(points, int(T), int(np.max(d)))
    checks.integer("samples", samples, 2)
    z_value(confidence)


def check_softmax(m, v, d, T, *, scale=None, shape: str = "gaussian", samples: int = 1 << 13, seed=0) -> None:
    """:func:`check_spectrum` for a cell of :func:`softmax`, and its semi-analytic method's points and time
    (:func:`sigprop.rho.softmax_profile.check_semi_analytic`)."""
    from sigprop.core import checks

    checks.seed("seed", seed)
    check_spectrum(m, v, d, T, scale=scale, shape=shape)
    check_semi_analytic(samples, int(T), int(np.max(d)))


def check_nnt_stable_rank(config: str, T: int, gamma: float = 1.0, *, L: int = 10, seed=0) -> None:
    """A cell of :func:`nnt_stable_rank` refused as :func:`sigprop.gap.stable_rank.stable_ranks` would
    refuse it (:func:`sigprop.gap.stable_rank.check_stable_ranks`), naming the cell's argument (``T`` for
    the protocol's ``lengths``, ...)."""
    from sigprop.core.checks import renamed

    with renamed(dict(configs="config", lengths="T", gammas="gamma", layers="L", seeds="seed")):
        nnt_stable_rank_study.check_stable_ranks(config, lengths=[T], gammas=[gamma], layers=L, seeds=[seed])


def profile(m: float, v: float, d: int, T: int, *, scale=None, form: str = "finite",
            method: str = "gaussian", shape: str = "gaussian") -> dict:
    """``theory_spectrum(m, v, d, T, ...)``: ``rho``, ``mean``, ``variance`` and localization."""
    p = theory_spectrum(m, v, d, T, scale=scale, form=form, method=method, shape=shape)
    out = dict(rho=p.rho, mean=p.mean, variance=p.variance)
    loc = localization_metrics(p.rho, empty="nan")
    out.update({f"localization_{k}": loc[k] for k in LOCALIZATION})
    return out


def validation(m: float, v: float, d: int, T: int, *, samples: int = 20_000, scale=None,
               shape: str = "gaussian", basis: str = "random", confidence: float = 0.95, seed=0) -> dict:
    """:func:`sigprop.rho.validation.cell` (the Gaussian and exact closed forms beside Monte Carlo, as
    ``sigprop validate --method both --seed SEED --streams 1`` does it) under this study's names:
    the Gaussian form's ``rho``, ``mean``, ``variance``, ``max_abs_error``, ``coverage``, ...; the
    exact method's ``rho_exact``, ``exact_max_abs_error``, ``exact_coverage``.
    """
    res = validation_cell(m, v, d, T, samples=samples, scale=scale, shape=shape, basis=basis,
                          confidence=confidence, seed=seed)
    g, e = res.comparison(0), res.comparison(1)
    return dict(rho=res.rho[0], rho_mc=res.rho_mc, ci_low=res.ci_low, ci_high=res.ci_high, mean=res.mean[0],
                mean_mc=res.mean_mc, mean_se=res.mean_se, variance=res.variance[0], variance_mc=res.variance_mc,
                variance_se=res.variance_se, **g, rho_exact=res.rho[1], exact_max_abs_error=e["max_abs_error"],
                exact_coverage=e["coverage"])


def exact(m: float, v: float, d: int, T: int, *, scale=None, shape: str = "gaussian") -> dict:
    """``theory_spectrum(..., method="exact")``: ``rho``, its error bound, and the Gaussian ``rho``."""
    ex = theory_spectrum(m, v, d, T, scale=scale, method="exact", shape=shape)
    return dict(rho=ex.rho, rho_error=ex.config["rho_error"],
                rho_gaussian=theory_spectrum(m, v, d, T, scale=scale, method="gaussian").rho)


def saddlepoint(m: float, v: float, d: int, T: int, *, scale=None, shape: str = "gaussian") -> dict:
    """``theory_spectrum(..., method="saddlepoint")`` beside ``method="exact"``: where it is good to 1e-3.

    ``max_abs_error`` is the largest ``|rho_saddlepoint - rho_exact|`` over positions;
    ``exact_error_bound`` the reference's own largest error bound (docs/saddlepoint.md).
    """
    sp = theory_spectrum(m, v, d, T, scale=scale, method="saddlepoint", shape=shape)
    ex = theory_spectrum(m, v, d, T, scale=scale, method="exact", shape=shape)
    return dict(rho=sp.rho, rho_exact=ex.rho, max_abs_error=float(np.abs(sp.rho - ex.rho).max()),
                exact_error_bound=float(ex.config["rho_error"].max()))


def softmax(m: float, v: float, d: int, T: int, *, scale=None, shape: str = "gaussian", samples: int = 1 << 13,
            seed=0) -> dict:
    """The semi-analytic softmax quantities beside ``rho`` (docs/softmax.md), with localization.

    ``semi_analytic(LogitModel.from_spectrum(m, v, d, T, shape=shape, scale=scale),
    quantity=QUANTITIES, samples=samples, seed=seed)``: each quantity and its ``_se``; ``rho``
    from ``theory_spectrum(m, v, d, T, scale=scale)``; ``<kind>_<metric>`` the localization
    metrics of ``rho`` and of each quantity.
    """
    sa = semi_analytic(LogitModel.from_spectrum(m, v, d, T, shape=shape, scale=scale), quantity=QUANTITIES,
                       samples=samples, seed=seed)
    profiles = {"rho": theory_spectrum(m, v, d, T, scale=scale, method="gaussian").rho,
                **dict(zip(QUANTITIES, np.clip(sa.value, 0.0, 1.0), strict=True))}
    out = dict(profiles)
    out.update({f"{q}_se": se for q, se in zip(QUANTITIES, sa.se, strict=True)})
    for kind, prof in profiles.items():
        loc = localization_metrics(prof, empty="nan")
        out.update({f"{kind}_{k}": loc[k] for k in LOCALIZATION})
    return out


def spectral_gap(T: int, sigma: float, *, model: str = "markov", d: int = 64, d_k=None, seed=0) -> dict:
    """``sigprop.gap.spectra.report(T, sigma, model=model, seed=seed, d=d, d_k=d_k)``."""
    rep = report(T, sigma, model=model, seed=seed, d=d, d_k=d_k)
    rep.setdefault("predicted_low_rank_sigma_2", np.nan)
    rep.pop("config")
    return rep


def collapse_width(T: int, sigma: float, *, model: str = "markov", d: int = 64, d_k=None, samples: int = 8,
                   common: float = 1.0, noise: float = 1.0, seed=0) -> dict:
    """``sigprop.gap.collapse.width(...)`` with the same seed; per-variant values over ``variant``."""
    res = collapse.width(T, sigma, model=model, d=d, d_k=d_k, samples=samples, common=common, noise=noise,
                         seed=seed)
    out = {k: [res[v][k] for v in collapse.VARIANTS] for k in ("rank_residual", "rank_residual_se",
                                                                 "predicted", "scale")}
    return dict(out, kappa_predicted=res["kappa_predicted"], kappa_measured=res["kappa_measured"])


def nnt_stable_rank(config: str, T: int, gamma: float = 1.0, *, L: int = 10, seed=0) -> dict:
    """[NNT24]'s protocol: ``sigprop.gap.stable_rank.stable_ranks(config, [T], [gamma], L, [seed])``.

    The stable rank of ``X_l X_l^T`` for ``l = 0..L`` (over ``layer``); the cell's seed is the
    protocol's seed (its streams ``default_rng([seed, layer, kind])``).
    """
    res = nnt_stable_rank_study.stable_ranks(config, lengths=[T], gammas=[gamma], layers=L, seeds=[seed])
    return {"stable_rank": [r["stable_rank"] for r in res["records"]]}


def collapse_depth(L: int, T: int, sigma: float, *, model: str = "markov", d: int = 64, d_k=None,
                   values: bool = False, common: float = 1.0, noise: float = 1.0, seed=0) -> dict:
    """``sigprop.gap.collapse.depth(...)`` with the same seed (``grad_w`` is NaN for ``markov``)."""
    res = collapse.depth(L, T, sigma, model=model, d=d, d_k=d_k, values=values, common=common, noise=noise,
                         seed=seed)
    out = {k: [res[v][k] for v in collapse.VARIANTS] for k in ("rank_residual", "scale", "grad_x", "kappa")}
    out["grad_w"] = [res[v].get("grad_w", [np.nan] * L) for v in collapse.VARIANTS]
    return dict(out, kappa_predicted=res["kappa_predicted"],
                predicted_layer_factor=res["predicted_layer_factor"])


def stack_predict(beta: float, alpha: float, T: int, *, L: int = 50, recursion: str = "gg", norm: str = "post",
                  activation: str = "relu", var_w: float = 0.2, var_v: float = 0.2, var_b: float = 4e-4,
                  var_o=None, cosine0: float = 0.1, T_init=None) -> dict:
    """``sigprop.stack.predict`` with ``alpha_attention = alpha_mlp = alpha`` and ``L`` layers; per layer
    ``l = 0..L`` (over ``layer``) the cosine, norm, stable rank, attention participation and entropy."""
    res = stack_recursion.predict(_stack_fields(**locals()))
    return {k: [row[k] for row in res["layers"]] for k in STACK_OUTPUTS}


def _stack_fields(beta, alpha, T, *, L, recursion, norm, activation, var_w, var_v, var_b, var_o, cosine0,
                  T_init) -> dict:
    """The :class:`~sigprop.stack.config.StackConfig` fields of a cell of :func:`stack_predict`."""
    return dict(layers=L, beta=beta, T=T, norm=norm, activation=activation, var_w=var_w, var_v=var_v, var_b=var_b,
                var_o=var_o, alpha_attention=alpha, alpha_mlp=alpha, cosine0=cosine0, T_init=T_init,
                recursion=recursion)


def check_stack_predict(*args, **kwargs) -> None:
    """A cell of :func:`stack_predict` (the same arguments) refused as :func:`sigprop.stack.recursion.predict`
    would refuse it (:func:`sigprop.stack.recursion.check_predict`)."""
    bound = inspect.signature(stack_predict).bind(*args, **kwargs)
    bound.apply_defaults()
    stack_recursion.check_predict(_stack_fields(**bound.arguments))


def _train_signature() -> inspect.Signature:
    """Every field of :class:`~sigprop.model.train.TrainConfig` (keyword-only, with its default),
    ``full_rank`` and ``seed``: the training studies follow the configuration as it grows."""
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(f.name, kw, default=f.default) for f in fields(TrainConfig)
              if f.name != "seed"]
    params += [inspect.Parameter("full_rank", kw, default=False), inspect.Parameter("seed", kw, default=0)]
    return inspect.Signature(params)


def _config(args: dict) -> TrainConfig:
    args = dict(args)
    if args.pop("full_rank", False):
        args["d_k"] = None
    return TrainConfig(**args)


def check_training(**args) -> None:
    """A cell of :func:`training` or :func:`locater` refused as its ``TrainConfig`` refuses it (types,
    ranges and memory, checked when the configuration is made)."""
    _config(args)


def training(**args) -> dict:
    """``sigprop.model.train(TrainConfig(**args))`` with the cell's seed: final values and history.

    The arguments are the fields of ``TrainConfig``; ``full_rank=True`` trains ``W`` itself
    (``d_k = None``), as ``sigprop train --full-rank``.
    """
    record = train(_config(args))
    out = {f"final_{k}": v for k, v in final_row(record).items()}
    for key in HISTORY:
        out[f"history_{key}"] = [np.nan if h[key] is None else h[key] for h in record["history"]]
    return out


def locater(**args) -> dict:
    """One run of the LocAteR sweep: :func:`sigprop.model.locater_sweep.final_row` of
    ``train(TrainConfig(**args))`` with the cell's seed (arguments as :func:`training`)."""
    row = final_row(train(_config(args)))
    return {k: row[k] for k in COLUMNS}


def lm(*, seed: int = 0, **args) -> dict:
    """One language-model run (:func:`sigprop.lm.train.train`, ``docs/lm.md``) with the cell's
    seed as its ``seed``: the final validation measures (head measures averaged over layers
    and heads, ``rank_residual`` of the last layer) and the history over ``lm_record``.

    The arguments are the fields of :class:`sigprop.lm.transformer.Config` and of
    :class:`sigprop.lm.train.TrainConfig` (``model`` excepted), flat.
    """
    cfg = _lm_config(seed, args)
    data = lmtrain.prepare(lmcorpus.load(cfg.corpus), cfg.tokenizer, cfg.model.vocab,
                           cache=lmcorpus.cache_dir() / "tokenizers")
    record = lmtrain.train(cfg, data)
    last = record["history"][-1]
    out = {k: last[k] for k in LM_FINAL[:6]}
    out.update(eig_mean=float(np.mean(last["eig_mean"])), eig_var=float(np.mean(last["eig_var"])),
               rank_residual=float(last["rank_residual"][-1]),
               unigram_perplexity=record["data"]["unigram_perplexity"]["valid"], seconds=record["seconds"])
    for key in LM_HISTORY:
        out[f"history_{key}"] = [h[key] for h in record["history"]]
    return out


def _lm_config(seed: int, args: dict) -> lmtrain.TrainConfig:
    """The run configuration of a cell of :func:`lm` (made and checked: types, ranges and memory)."""
    model_fields = {f.name for f in fields(LMConfig)}
    return lmtrain.TrainConfig(model=LMConfig(**{k: v for k, v in args.items() if k in model_fields}),
                               seed=seed, **{k: v for k, v in args.items() if k not in model_fields})


def check_lm(*, seed: int = 0, **args) -> None:
    """A cell of :func:`lm` refused as its configuration refuses it (:func:`_lm_config`)."""
    _lm_config(seed, args)


def _lm_signature() -> inspect.Signature:
    """Every field of the language model's ``Config`` and ``TrainConfig`` (keyword-only)."""
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(f.name, kw, default=f.default) for f in fields(LMConfig)]
    params += [inspect.Parameter(f.name, kw, default=f.default) for f in fields(lmtrain.TrainConfig)
               if f.name not in ("model", "seed")]
    return inspect.Signature(params + [inspect.Parameter("seed", kw, default=0)])


lm.__signature__ = _lm_signature()               # type: ignore[attr-defined]
check_lm.__signature__ = _lm_signature()         # type: ignore[attr-defined]

training.__signature__ = _train_signature()      # type: ignore[attr-defined]
locater.__signature__ = _train_signature()       # type: ignore[attr-defined]
check_training.__signature__ = _train_signature()  # type: ignore[attr-defined]
