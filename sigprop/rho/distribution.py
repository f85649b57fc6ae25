"""The exact distribution of a centered logit, as a frozen distribution in scipy.stats' conventions.

The centered logit of position ``i`` (docs/theory.md (2.3)) is a quadratic form in Gaussian
variables: ``zc_i = sum_k lambda_ik Z_k^2 + l_ik Z_k`` with ``Z ~ N(0, I_2d)``, the chi-square
weights ``lambda_ik`` of (3.16)-(3.19) and, with a token mean, the linear coefficients ``l_ik`` of
(3.30) (:attr:`~sigprop.rho.logits.LogitModel.noncentral_weights`).  :func:`logit_distribution`
freezes that distribution at one position or an array of positions; :class:`LogitDistribution`
offers what a ``scipy.stats`` frozen distribution offers:

* ``cdf(x)`` by :func:`sigprop.rho.chi2sum.cdf` (absolute error below ``tol``, the bound is
  ``cdf_error(x)``), ``sf(x) = 1 - cdf(x)``;
* ``pdf(x)``: the five-point central difference of ``cdf`` with step ``h = std / 128``,
  ``(8 (F(x+h) - F(x-h)) - (F(x+2h) - F(x-2h))) / (12 h)`` (error ``O(h^4 f^(5))`` plus
  ``3 tol / (2 h)``; a finite density needs ``d >= 2``: with ``d = 1`` the two weights give a
  logarithmic singularity at 0);
* ``ppf(q)`` and ``isf(q)``: the root of ``cdf(x) = q`` by the Illinois (modified regula falsi)
  method in a bracket from Cantelli's inequality ``P(zc - mu <= -k sigma) <= 1 / (1 + k^2)``;
  as in ``scipy.stats``, ``ppf(0)`` and ``ppf(1)`` are the ends of the support (``-inf`` and
  ``inf`` where it is unbounded, e.g. the whole line); ``q`` outside ``[0, 1]`` is refused
  (scipy returns NaN); ``median()``, ``interval(confidence)``;
* ``mean()``, ``var()``, ``std()``: ``sum_k lambda_k``, ``2 sum_k lambda_k^2 + sum_k l_k^2``
  (equal to the closed-form moments (3.5), (3.20));
* ``support()``: ``[0, inf)`` when every weight is ``>= 0`` and there is no linear term,
  ``(-inf, 0]`` when every weight is ``<= 0``, with linear terms and positive weights
  ``[-sum l_k^2 / (4 lambda_k), inf)``, else the whole line;
* ``rvs(size, random_state)``: draws of ``sum_k lambda_k Z_k^2 + l_k Z_k`` (memory checked first).

**A point mass.** Where every weight and linear coefficient is 0 (``W = 0``), the logit is the
constant 0: ``cdf`` is the step at 0, ``ppf(q) = 0``, ``rvs`` gives zeros, the mean, variance and
both ends of the support are 0; it has no density, and ``pdf`` refuses it (naming ``W``).
A ``W`` so large that the logit's variance overflows float64 is refused when the distribution is
made.  NumPy's floating-point warnings never escape: values that overflow are handled.

Every method broadcasts its argument against the shape of the positions (``dist.shape``), as a
frozen scipy distribution broadcasts against its parameters; a scalar position gives floats.
The signal propagation probability is ``rho_i = P(0 < zc_i < 1) = cdf(1) - cdf(0)``
(docs/theory.md (3.1)).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.aliases import ArrayLike, Seed
from sigprop.core.memory import matrices, require
from sigprop.rho.chi2sum import cdf as _chi2_cdf
from sigprop.rho.logits import LogitModel, as_model, require_chi2

#: Relative step of the five-point difference of ``pdf`` (``h = std * PDF_STEP``).
PDF_STEP = 2.0 ** -7
#: Largest number of Illinois steps of ``ppf``.
PPF_STEPS = 200


def logit_distribution(W, i: ArrayLike, T: int | None = None, *, step_cov=None, scale=None,
                       tol: float = 1e-8) -> LogitDistribution:
    """The exact distribution of the centered logit ``zc_i`` at position(s) ``i``.

    Parameters
    ----------
    W : (d, d) array_like or LogitModel
        Query-key matrix, or a :class:`~sigprop.rho.logits.LogitModel` (then ``T``, ``step_cov``
        and ``scale`` are omitted): any data model with a single query.
    i : int or array_like of int
        Position(s), in ``1..T``.
    T, step_cov, scale
        As in :func:`sigprop.rho.theory.theory`.
    tol : float
        Target absolute error of ``cdf`` (> 0).

    Returns
    -------
    LogitDistribution

    Examples
    --------
    >>> import sigprop as sp
    >>> model = sp.LogitModel.from_spectrum(0.5, 0.1, 8, 16)
    >>> z = sp.logit_distribution(model, 16)
    >>> round(z.mean(), 4), round(z.cdf(1.0) - z.cdf(0.0), 4)       # E zc_16 and rho_16
    (0.6629, 0.8134)
    >>> round(float(sp.theory(model, method="exact").rho[-1]), 4)
    0.8134
    """
    model = as_model(W, T, step_cov, scale).single("the logit distribution")
    tol = float(_checks.real("tol", tol, positive=True))
    return LogitDistribution(model, i, tol=tol)


class LogitDistribution:
    """The frozen distribution of ``zc_i`` at the positions ``i`` of a single ``model`` (module doc).

    Attributes
    ----------
    model : LogitModel
    i : ndarray of int
        The positions (``shape`` is their shape).
    weights, linear : ndarray, shape ``(*shape, 2d)``
        ``lambda_ik`` and ``l_ik``.
    tol : float
        Target absolute error of :meth:`cdf`.
    """

    def __init__(self, model: LogitModel, i: ArrayLike, *, tol: float = 1e-8) -> None:
        if model.query == "all":
            raise _checks.ArgumentError("query", "must be a single position for the logit distribution, got 'all'")
        try:
            positions = np.asarray(i)
        except (TypeError, ValueError):                  # a ragged list
            positions = np.asarray(None)
        if positions.dtype.kind not in "iu" and not (positions.dtype.kind == "f"
                                                      and np.all(positions == np.round(positions))):
            raise _checks.ArgumentError("i", f"must be integer positions in 1..T = {model.T}, "
                                             f"got {_checks.short_repr(i)}")
        positions = positions.astype(np.int64)
        if positions.size == 0 or positions.min() < 1 or positions.max() > model.T:
            raise _checks.ArgumentError("i", f"must be positions in 1..T = {model.T}, got {i!r}")
        require_chi2(model)
        lam, lin = model.noncentral_weights
        self.model, self.i, self.tol = model, positions, float(tol)
        self.weights = lam[positions - 1]
        self.linear = lin[positions - 1]
        self._linear = self.linear if np.any(self.linear) else None
        with np.errstate(over="ignore", invalid="ignore"):
            if not np.all(np.isfinite(self.var())):
                raise _checks.ArgumentError("W", "is too large: the variance of the logit overflows float64 "
                                                 "(beyond 1.8e308); scale it down")

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the positions: every method broadcasts its argument against it."""
        return self.i.shape

    def _out(self, value: np.ndarray) -> Any:
        value = np.asarray(value, dtype=float)
        return float(value) if value.ndim == 0 else value

    # --- moments and support ------------------------------------------------------------

    def mean(self) -> Any:
        """``E zc_i = sum_k lambda_ik``."""
        return self._out(self.weights.sum(axis=-1))

    def var(self) -> Any:
        """``Var zc_i = 2 sum_k lambda_ik^2 + sum_k l_ik^2``."""
        return self._out(2 * np.sum(self.weights ** 2, axis=-1) + np.sum(self.linear ** 2, axis=-1))

    def std(self) -> Any:
        """The standard deviation, ``sqrt(var())``."""
        return self._out(np.sqrt(self.var()))

    def support(self) -> tuple[Any, Any]:
        """``(lower, upper)`` ends of the support (module doc)."""
        lam, lin = self.weights, self.linear
        normal = np.any((lam == 0) & (lin != 0), axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = np.sum(np.where(lam != 0, lin * lin / (4 * lam), 0.0), axis=-1)
        low = np.where(np.all(lam >= 0, axis=-1) & ~normal, 0.0 - shift, -np.inf)     # 0.0 - 0.0 is 0.0, not -0.0
        high = np.where(np.all(lam <= 0, axis=-1) & ~normal, 0.0 - shift, np.inf)
        return self._out(low), self._out(high)

    # --- distribution function ----------------------------------------------------------------

    def _cdf(self, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(_checks.real("x", x), dtype=float)
        shape = np.broadcast_shapes(x.shape, self.shape)
        lam = np.broadcast_to(self.weights, shape + self.weights.shape[-1:])
        lin = None if self._linear is None else np.broadcast_to(self.linear, lam.shape)
        return _chi2_cdf(lam, np.broadcast_to(x, shape), tol=self.tol, linear=lin)

    def cdf(self, x: ArrayLike) -> Any:
        """``P(zc_i <= x)``, absolute error below :meth:`cdf_error` (about ``tol``)."""
        return self._out(self._cdf(x)[0])

    def cdf_error(self, x: ArrayLike) -> Any:
        """The bound on the absolute error of :meth:`cdf` at ``x`` (:func:`sigprop.rho.chi2sum.cdf`)."""
        return self._out(self._cdf(x)[1])

    def sf(self, x: ArrayLike) -> Any:
        """``P(zc_i > x) = 1 - cdf(x)`` (same absolute error)."""
        return self._out(1.0 - self._cdf(x)[0])

    def pdf(self, x: ArrayLike) -> Any:
        """The density at ``x``: the five-point difference of :meth:`cdf` (module doc); 0 outside the support.

        A point mass (``W = 0``: the logit is the constant 0) has no density: refused, naming ``W``.
        """
        x = np.asarray(_checks.real("x", x), dtype=float)
        sd = np.asarray(self.std(), dtype=float)
        if np.any(sd == 0):
            raise _checks.ArgumentError("W", "gives the logit the constant value 0 (a point mass) at position(s) "
                                             f"{self.i[sd == 0].tolist()}: it has no density; cdf, ppf, rvs and "
                                             "the moments treat it as that point mass")
        h = sd * PDF_STEP
        steps = np.array([-2.0, -1.0, 1.0, 2.0]).reshape((4,) + (1,) * np.broadcast(x, h).ndim)
        big = np.finfo(float).max
        with np.errstate(over="ignore"):              # far out, the stencil stays on the float range
            F = self._cdf(np.clip(x + steps * h, -big, big))[0]
        f = (8 * (F[2] - F[1]) - (F[3] - F[0])) / (12 * h)
        low, high = self.support()
        return self._out(np.where((x < low) | (x > high), 0.0, np.maximum(f, 0.0)))

    # --- quantiles ----------------------------------------------------------------------------

    def ppf(self, q: ArrayLike) -> Any:
        """The quantile: the ``x`` with ``cdf(x) = q`` (Illinois method; module doc), ``q`` in [0, 1].

        As in ``scipy.stats``, ``ppf(0)`` and ``ppf(1)`` are the lower and upper ends of the support
        (:meth:`support`): ``-inf`` and ``inf`` where it is unbounded on that side.
        """
        q = np.asarray(_checks.real("q", q, minimum=0.0, maximum=1.0), dtype=float)
        shape = np.broadcast_shapes(q.shape, self.shape)
        q = np.broadcast_to(q, shape).astype(float)
        mu = np.broadcast_to(np.asarray(self.mean()), shape)
        sd = np.broadcast_to(np.asarray(self.std()), shape)
        low, high = (np.broadcast_to(np.asarray(e, dtype=float), shape) for e in self.support())
        out = np.where(q <= 0, low, np.where(q >= 1, high, np.nan))
        inner = (q > 0) & (q < 1)
        if inner.any():
            out[inner] = self._solve(q[inner], mu[inner], sd[inner], low[inner], high[inner], inner)
        return self._out(out)

    def _solve(self, q, mu, sd, low, high, where) -> np.ndarray:
        """Illinois steps on ``cdf(x) - q`` for the selected entries (``where`` in the broadcast shape)."""
        lam = np.broadcast_to(self.weights, where.shape + self.weights.shape[-1:])[where]
        lin = None if self._linear is None else np.broadcast_to(self.linear, where.shape + lam.shape[-1:])[where]

        def F(x, rows):
            return _chi2_cdf(lam[rows], x, tol=self.tol, linear=None if lin is None else lin[rows])[0]

        with np.errstate(divide="ignore"):      # Cantelli: F(mu - k sd) <= 1/(1 + k^2) <= q, and above
            a = np.maximum(mu - 1.01 * sd * np.sqrt(1 / q - 1), low)
            b = np.minimum(mu + 1.01 * sd * np.sqrt(1 / (1 - q) - 1), high)
        rows = np.arange(q.size)
        fa, fb = F(a, rows) - q, F(b, rows) - q
        side = np.zeros(q.size)
        todo = rows[(fa < 0) & (fb > 0)]
        for _ in range(PPF_STEPS):
            if todo.size == 0:
                break
            with np.errstate(invalid="ignore", divide="ignore"):
                x = (a[todo] * fb[todo] - b[todo] * fa[todo]) / (fb[todo] - fa[todo])
            mid = 0.5 * (a[todo] + b[todo])
            x = np.where(np.isfinite(x) & (x > a[todo]) & (x < b[todo]), x, mid)
            fx = F(x, todo) - q[todo]
            up = fx > 0
            # Illinois: halve the kept end's value when the same end is kept twice in a row
            keep_a = up & (side[todo] > 0)
            keep_b = ~up & (side[todo] < 0)
            fa[todo[keep_a]] *= 0.5
            fb[todo[keep_b]] *= 0.5
            b[todo[up]], fb[todo[up]] = x[up], fx[up]
            a[todo[~up]], fa[todo[~up]] = x[~up], fx[~up]
            side[todo] = np.where(up, 1.0, -1.0)
            width = b[todo] - a[todo]
            done = (fx == 0) | (width <= 4 * np.finfo(float).eps * np.maximum(np.abs(a[todo]), np.abs(b[todo]))
                                + 1e-14 * sd[todo])
            a[todo[fx == 0]] = b[todo[fx == 0]] = x[fx == 0]
            todo = todo[~done]
        return np.where(np.abs(fa) <= np.abs(fb), a, b)

    def isf(self, q: ArrayLike) -> Any:
        """The inverse of :meth:`sf`: ``ppf(1 - q)``."""
        return self.ppf(1.0 - np.asarray(_checks.real("q", q, minimum=0.0, maximum=1.0), dtype=float))

    def median(self) -> Any:
        """``ppf(0.5)``."""
        return self.ppf(0.5)

    def interval(self, confidence: float) -> tuple[Any, Any]:
        """The equal-tailed interval holding ``confidence`` of the mass: ``ppf((1 -+ confidence) / 2)``."""
        confidence = float(_checks.real("confidence", confidence, minimum=0.0, maximum=1.0))
        return self.ppf(0.5 * (1 - confidence)), self.ppf(0.5 * (1 + confidence))

    # --- sampling -----------------------------------------------------------------------------

    def rvs(self, size: int | tuple[int, ...] | None = None, random_state: Seed = None) -> Any:
        """Draws of ``sum_k lambda_ik Z_k^2 + l_ik Z_k``, shape ``size`` (default ``shape``).

        ``size`` is None, an integer ``>= 0`` or a tuple of them, and must broadcast with ``shape``
        (scipy's rule: the positions are the trailing axes); ``random_state`` is None, an integer
        ``>= 0``, a sequence of them, a ``SeedSequence`` or a ``Generator``.  The draws' memory
        (three float64 arrays of ``size x 2d``) is checked first (``ArgumentError`` naming ``size``).
        """
        shape = self._size(size)
        try:
            np.broadcast_shapes(shape, self.shape)
        except ValueError:
            raise _checks.ArgumentError("size", f"must broadcast with the positions' shape {self.shape}, "
                                                f"got {shape}") from None
        random_state = _checks.seed("random_state", random_state)
        require(matrices(3, float(np.prod(np.broadcast_shapes(shape, self.shape), dtype=float)),
                         self.weights.shape[-1]), "size",
                f"three float64 arrays of {shape} draws x {self.weights.shape[-1]} chi-square terms")
        rng = np.random.default_rng(random_state)
        Z = rng.standard_normal(shape + self.weights.shape[-1:])
        return self._out(np.sum(self.weights * Z * Z + self.linear * Z, axis=-1))

    def _size(self, size: Any) -> tuple[int, ...]:
        """``size`` of :meth:`rvs` as a shape: None (the positions' shape), an integer or a tuple of them."""
        if size is None:
            return self.shape
        items = size if isinstance(size, (tuple, list)) else None
        if items is None and not isinstance(size, (int, np.integer, float, np.floating)):
            raise _checks.ArgumentError("size", f"must be None, an integer >= 0 or a tuple of them, "
                                                f"got {size!r:.60}")
        try:
            return tuple(_checks.integer("size", n, 0) for n in (items if items is not None else [size]))
        except _checks.ArgumentError:
            raise _checks.ArgumentError("size", f"must be None, an integer >= 0 or a tuple of them, "
                                                f"got {size!r:.60}") from None

    def __repr__(self) -> str:
        return f"LogitDistribution(T={self.model.T}, d={self.model.d}, i={self.i.tolist()!r})"
