"""The closed-form profile, by any method: ``theory`` and ``theory_spectrum`` (docs/theory.md §3).

``method="auto"`` (the default) runs the exact method where the Gaussian approximation's
estimated error exceeds ``0.01`` and the Gaussian method elsewhere (:mod:`sigprop.rho.auto`);
the profile's ``config["method"]`` is the method that ran and ``config["auto"]`` says why.
``method="gaussian"`` is [BHK24]'s Gaussian approximation
(:mod:`sigprop.rho.propagation`); ``method="exact"`` computes ``rho`` from the
chi-square decomposition (:mod:`sigprop.rho.exact`); ``method="saddlepoint"`` by the
Lugannani-Rice approximation (:mod:`sigprop.rho.saddlepoint`).  Both share the signature of
:func:`sigprop.rho.montecarlo.simulate`, so that a check reads
``theory(W, T) ~ simulate(W, T, samples=n)``.
"""
from __future__ import annotations

import importlib
import warnings

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.aliases import ArrayLike
from sigprop.core.checks import ArgumentError
from sigprop.rho import propagation
from sigprop.rho.logits import LogitModel, as_model, require_chi2, require_chi2_size
from sigprop.rho.propagation import Profile

#: ``published`` is a deprecated alias of ``antrp`` (the form comes from the ANTRP code, not from [BHK24]).
FORMS = ("finite", "limit", "antrp", "published")
METHODS = ("auto", "gaussian", "exact", "saddlepoint")
# The chi-square methods, by module: imported when first asked for (``sigprop predict``'s start-up).
SOLVERS = {"exact": "sigprop.rho.exact", "saddlepoint": "sigprop.rho.saddlepoint"}


def _solve(method: str, model: LogitModel) -> Profile:
    return importlib.import_module(SOLVERS[method]).theory(model)


def _exact_items(model: LogitModel) -> Profile:
    """The exact method on every model of a batch (one at a time), stacked: each item's profile is
    what ``method="exact"`` gives for it alone."""
    batch = np.broadcast_shapes(model.W.shape[:-2], np.shape(model.c))
    if not batch:
        return _solve("exact", model)
    W = np.broadcast_to(model.W, batch + model.W.shape[-2:])
    c = np.broadcast_to(np.asarray(model.c, dtype=float), batch)
    mu = model.__dict__.get("_symmetric_spectrum")
    mu = None if mu is None else np.broadcast_to(mu, batch + mu.shape[-1:])
    parts = []
    for idx in np.ndindex(*batch):
        item = LogitModel(W[idx], model.T, step_cov=model.Sigma, scale=float(c[idx]), data=model.data,
                          query=model.query, causal=model.causal, token_mean=model.token_mean)
        if mu is not None:
            item.__dict__["_symmetric_spectrum"] = mu[idx]
        parts.append(_solve("exact", item))

    def stack(key):
        return np.stack([getattr(p, key) for p in parts]).reshape(batch + (model.T,))

    return Profile(parts[0].positions, stack("mean"), stack("variance"), stack("rho"),
                   dict(parts[0].config, rho_error=np.stack([p.config["rho_error"] for p in parts]
                                                            ).reshape(batch + (model.T,))))


def _auto(prof: Profile, reason: str, details: dict) -> Profile:
    prof.config["auto"] = dict(reason=reason, **details)
    return prof


def theory(W, T: int | None = None, *, step_cov=None, scale=None, form: str = "finite",
           method: str = "auto") -> Profile:
    """Closed-form profile for a weight matrix ``W``; ``form`` is finite or limit.

    ``W`` is a ``(..., d, d)`` array with ``T``, ``step_cov`` and ``scale`` as in
    :class:`~sigprop.rho.logits.LogitModel`, or a ``LogitModel`` itself (validated
    once; ``T`` and the keywords are then omitted).
    ``method="auto"`` (default) chooses between the exact and the Gaussian method by the
    measured map of the Gaussian error (:mod:`sigprop.rho.auto`; a batch runs the exact method
    model by model when any model needs it) and records the choice in ``config["method"]`` and
    ``config["auto"]``; ``"gaussian"`` is the paper's approximation; ``"exact"`` computes ``rho``
    from the chi-square decomposition (:mod:`sigprop.rho.exact`, finite form only) and
    puts its error bound in ``config["rho_error"]``; ``"saddlepoint"`` approximates it
    (:mod:`sigprop.rho.saddlepoint`, finite form only; documented error bound).  Shares its signature with
    :func:`sigprop.rho.montecarlo.simulate`, so that a check reads
    ``theory(W, T) ~ simulate(W, T, samples=n)``.
    """
    if form not in ("finite", "limit"):
        data = isinstance(W, LogitModel) and not W.is_walk
        what = "with a data model other than the random walk" if data else "for a weight matrix"
        raise ArgumentError("form", f"must be 'finite' or 'limit' {what}, got {form!r}"
                            + (" (the ANTRP form is of (m, v) and the random walk only)"
                               if form in ("antrp", "published") else ""))
    method = _method(method, form)
    model = as_model(W, T, step_cov, scale)
    if method == "auto":
        from sigprop.rho import auto

        chosen, reason, details = auto.choose(model, form)
        if chosen == "exact":
            _moments_finite(model, "W")
            prof = _finite(_exact_items(model), "W")
            prof.config.update({} if model.is_walk else model.data_config)
            return _auto(prof, reason, details)
        return _auto(theory(model, form=form, method="gaussian"), reason, details)
    if method in SOLVERS:
        require_chi2(model, method)           # memory and time, before the moments
        _moments_finite(model, "W")
        return _finite(_solve(method, model), "W")
    with np.errstate(over="ignore"):
        parts = propagation.model_parts(model, form == "limit")
        prof = propagation.profile_from_parts(*parts, dict(T=model.T, form=form, scale=model.scale, method="gaussian",
                                                 **({} if model.is_walk else model.data_config)))
    return _finite(prof, "W")


#: ``v + m^2`` up to which the default scale ``1/sqrt(d)`` keeps every logit variance
#: ``(v + m^2)(alpha_i + beta_i^2) <= v + m^2`` finite: beyond it an overflow is the spectrum's doing,
#: below it a given scale's.
_DEFAULT_SCALE_ROOM = 1e300


def _moments_finite(model: LogitModel, name) -> None:
    """Refuse (as :func:`_finite`, naming ``name``) a model whose logit moments overflow float64, before
    a chi-square method runs on it (its weights would overflow inside the solver)."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, variance = propagation.moments(model)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(variance))):
        raise ArgumentError(name if isinstance(name, str) else name(),
                            "is too large: the variance of the logits overflows float64 (beyond 1.8e308); "
                            "scale it down")


def _finite(prof: Profile, name) -> Profile:
    """``prof`` if its moments are finite, else a refusal naming ``name``: the closed form
    overflows float64 there (``rho`` itself is computed without overflow)."""
    if not (np.all(np.isfinite(prof.mean)) and np.all(np.isfinite(prof.variance))
            and np.all(np.isfinite(prof.rho))):
        raise ArgumentError(name if isinstance(name, str) else name(),
                            "is too large: the variance of the logits overflows float64 (beyond 1.8e308); "
                            "scale it down")
    return prof


def theory_spectrum(m: ArrayLike, v: ArrayLike, d: ArrayLike, T: int, *, scale: ArrayLike | None = None,
                    form: str = "finite", method: str = "auto",
                    shape: str = "gaussian") -> Profile:
    """Closed-form profile from the eigenspectrum ``(m, v)`` at dimension ``d``.

    ``form`` is ``finite`` (exact finite-T moments), ``limit`` (``T -> inf`` in
    ``s = i/T``) or ``antrp`` (the closed form of the ANTRP code, docs/theory.md §3.4, for
    comparison; ``published`` is its deprecated alias).
    ``m``, ``v``, ``d`` broadcast: a grid of ``(m, v)`` is one call.  ``method="exact"``
    needs the whole spectrum, not only ``(m, v)``: the eigenvalues are
    ``m + sqrt(v) z`` with ``z = standard_spectrum(d, shape)`` (``d`` a scalar then).
    ``method="auto"`` (default) chooses by :mod:`sigprop.rho.auto` (exact for every grid point,
    one at a time, when any point needs it; the ``limit`` and ``antrp`` forms are Gaussian only).

    Examples
    --------
    >>> p = theory_spectrum(np.array([[0.5], [1.0]]), np.array([0.01, 0.1, 1.0]), 64, 128)
    >>> p.rho.shape
    (2, 3, 128)
    """
    _checks.choice("form", form, FORMS)
    if form == "published":
        warnings.warn("form='published' is deprecated: the form is the ANTRP code's (Everlyn-Labs/ANTRP), not "
                      "[BHK24]'s; use form='antrp'", DeprecationWarning, stacklevel=2)
        form = "antrp"
    def name() -> str:            # called once m and v are known to be valid
        with np.errstate(over="ignore"):
            spread = np.max(np.abs(v)) + np.max(np.square(m))
            if scale is not None and spread <= _DEFAULT_SCALE_ROOM:   # finite at the default scale
                return "scale"
            return "v" if np.max(np.abs(v)) >= np.max(np.square(m)) else "m"

    if _method(method, form) == "auto":
        return _spectrum_auto(m, v, d, T, scale, form, shape)
    if _method(method, form) in SOLVERS:
        require_chi2_size(_checks.integer("T", T, 2), _checks.integer("d", d, 1), _method(method, form))
        spectrum = LogitModel.from_spectrum(m, v, _checks.integer("d", d, 1), T, shape=shape, scale=scale)
        _moments_finite(spectrum, name)
        prof = _solve(method, spectrum)
        prof.config.update(scale=scale, shape=shape)
        return _labelled(_finite(prof, name), m, v, d)
    with np.errstate(over="ignore"):
        if form == "antrp":
            if scale is not None:
                raise ArgumentError("scale", "is fixed to 1/sqrt(d) in the ANTRP code's form")
            mean, variance = propagation.antrp_moments(m, v, d, T)
            parts = (mean, np.sqrt(variance), np.ones_like(mean))
        else:
            parts = propagation.spectrum_parts(*propagation.spectrum_args(m, v, d, scale), T, form == "limit")
        prof = propagation.profile_from_parts(*parts, dict(T=_checks.integer("T", T, 2), form=form, scale=scale,
                                                 method="gaussian"))
    return _labelled(_finite(prof, name), m, v, d)


def _spectrum_auto(m, v, d, T, scale, form: str, shape: str) -> Profile:
    """``theory_spectrum(..., method="auto")``: the rule on the spectra's features, then the chosen method."""
    from sigprop.rho import auto

    # the Gaussian profile first: it checks every argument (the same refusals as method="gaussian")
    gauss = theory_spectrum(m, v, d, T, scale=scale, form=form, method="gaussian", shape=shape)
    m, v = _checks.real("m", m), _checks.real("v", v, minimum=0.0)
    dd, T = np.asarray(d).astype(int), int(gauss.config["T"])
    if form != "finite":
        return _auto(gauss, f"auto: the exact method needs form 'finite', got {form!r}",
                     dict(tolerance=auto.TOLERANCE))
    d_max = int(np.max(dd))
    models = int(np.prod(np.broadcast_shapes(np.shape(m), np.shape(v), np.shape(dd),
                                             np.shape(scale) if scale is not None else ())))
    try:            # out of reach: the Gaussian method, without drawing d eigenvalues to estimate its error
        auto.require_exact(T, d_max, models, from_spectrum=True)
    except ArgumentError as exc:
        return _auto(gauss, f"auto: Gaussian, its error not estimated (d = {d_max}); but the exact method "
                            f"{exc.detail}", dict(tolerance=auto.TOLERANCE))
    f = auto.spectrum_features(m, v, dd, scale, shape)
    chosen, reason, details = auto.decide(f, T, lambda: auto.require_exact(T, d_max, models,
                                                                                  from_spectrum=True))
    if chosen == "gaussian":
        return _auto(gauss, reason, details)
    del gauss
    batch = np.broadcast_shapes(np.shape(m), np.shape(v), np.shape(dd), np.shape(scale) if scale is not None else ())
    if not batch:
        return _auto(theory_spectrum(m, v, d, T, scale=scale, form=form, method="exact", shape=shape),
                     reason, details)
    items = [np.broadcast_to(x, batch) for x in (m, v, dd)]
    sc = None if scale is None else np.broadcast_to(np.asarray(scale, dtype=float), batch)
    parts = [theory_spectrum(float(items[0][i]), float(items[1][i]), int(items[2][i]), T, method="exact",
                             scale=None if sc is None else float(sc[i]), shape=shape) for i in np.ndindex(*batch)]

    def stack(key):
        return np.stack([getattr(p, key) for p in parts]).reshape(batch + (T,))

    prof = Profile(parts[0].positions, stack("mean"), stack("variance"), stack("rho"),
                   dict(parts[0].config, scale=scale,
                        rho_error=np.stack([p.config["rho_error"] for p in parts]).reshape(batch + (T,))))
    return _auto(_labelled(prof, m, v, d), reason, details)


def _labelled(prof: Profile, m, v, d) -> Profile:
    """``prof`` with the (already validated) spectrum parameters in its ``config``: the
    coordinates of :meth:`~sigprop.rho.propagation.Profile.to_xarray`."""
    prof.config.update(m=np.asarray(m, dtype=float), v=np.asarray(v, dtype=float), d=np.asarray(d))
    return prof


def _method(method: str, form: str) -> str:
    _checks.choice("method", method, METHODS)
    if method in SOLVERS and form != "finite":
        raise ArgumentError("method", f"{method!r} needs form 'finite', got {form!r}")
    return method
