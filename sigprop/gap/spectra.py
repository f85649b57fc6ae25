"""The spectral gap of softmax attention at initialisation [NNT24] (``docs/theory.md`` §6).

Two attention matrices at initialisation (``T x T``, rows sum to 1):

* ``markov``: ``A = rowsoftmax(G)`` with i.i.d. ``G_ij ~ N(0, sigma^2)`` (the idealization);
* ``attention``: ``A = rowsoftmax(X W_Q W_K^T X^T / sqrt(d_k))`` with Gaussian ``X``
  (entries ``N(0, sx^2)``), ``W_Q``, ``W_K`` (entries ``N(0, sw^2)``); the off-diagonal
  logit variance is ``(d sx^2 sw^2)^2`` (``derivations/spectral_gap.py``), so
  ``sw^2 = sigma / (d sx^2)`` puts it at the same ``sigma``.

Predictions to leading order in ``1/T``, with ``s^2 = e^{sigma^2} - 1``
(``derivations/spectral_gap.py``: derived, or cited with the step to this
parametrization checked)::

    eigenvalue 1 (outlier),   bulk eigenvalue radius  s / sqrt(T)
    sigma_1 = sqrt(1 + s^2/T), singular bulk edge     2 s / sqrt(T)

Where they hold to 5% is measured (:mod:`sigprop.gap.validity`, ``docs/gap.md``), and the
condition is much stronger than ``e^{sigma^2} << T``: the bulk scale has the first
correction ``1 - c/T``, ``c = e^{sigma^2} (2 e^{sigma^2} - 1)`` (so ``T >> 2 e^{2 sigma^2}``),
and ``sigma_2`` is lifted above the edge by the largest single entry of ``A - 1 1^T/T``
(a rank-one spike) unless that entry stays below ``s / sqrt(T)``, which at ``sigma >= 1``
needs lengths far beyond 2048.  Measured (10 seeds, 95% t-intervals inside [0.95, 1.05]):
``sigma_2`` holds from ``T = 128`` at ``sigma <= 0.5``, from 512 at 0.75, nowhere up to 2048
at ``sigma >= 1``; ``|eig_2|`` from 256 at ``sigma <= 1``; ``sigma_1`` everywhere except
``sigma = 2``, ``T <= 256``, ``sigma = 1.5``, ``T <= 32`` and ``sigma = 1.25``, ``T = 16``;
``kappa`` (:func:`rescale_factor`) where ``c/T < 0.093``.

For the ``attention`` model they hold only while ``T`` is not much larger than ``d``: its
logits have rank ``min(d, d_k)``, and the linear part ``G (I - P) / T`` of ``A`` keeps
singular values of order
``sx^2 ||W_Q W_K^T|| / sqrt(d_k)`` however long the context (:func:`low_rank_sigma_2`).
"""
from __future__ import annotations

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.aliases import ArrayLike, Seed
from sigprop.core.checks import ArgumentError
from sigprop.core.labelled import Result
from sigprop.core.memory import driver, matrices, require
from sigprop.core.progress import activity
from sigprop.core.study import Study, register
from sigprop.core.workers import interruptible
from sigprop.model import attention as att
from sigprop.model.softmax import softmax

MODELS = ("markov", "attention")


#: Largest logit standard deviation: beyond it ``e^{sigma^2}`` overflows float64 (``sigma^2 > 709.78``).
SIGMA_MAX = 26.6


def spread(sigma: ArrayLike) -> np.ndarray:
    """``s = sqrt(e^{sigma^2} - 1)``: the relative standard deviation of ``e^G``.

    ``sigma`` must lie in ``[0, SIGMA_MAX]`` (26.6), where ``e^{sigma^2}`` is finite.
    """
    sigma = _checks.real("sigma", sigma, minimum=0.0, maximum=SIGMA_MAX)
    return np.sqrt(np.expm1(sigma * sigma))


def predictions(T: ArrayLike, sigma: ArrayLike) -> dict:
    """Leading-order predictions; ``T`` and ``sigma`` broadcast."""
    T = _checks.real("T", T, minimum=2.0)
    s = spread(sigma)
    return dict(predicted_sigma_1=np.sqrt(1 + s * s / T), predicted_eig_1=np.ones_like(s * T),
                predicted_eig_radius=s / np.sqrt(T), predicted_bulk_edge=2 * s / np.sqrt(T))


def rescale_factor(T: ArrayLike, sigma: ArrayLike) -> np.ndarray:
    """``kappa = sqrt(T) / s``: scales the gap-removed bulk back to unit radius."""
    s = spread(sigma)
    if np.any(s == 0):
        raise ArgumentError("sigma", "must be > 0 for the rescaling (sigma = 0 leaves no bulk)")
    return np.sqrt(_checks.real("T", T, minimum=2.0)) / s


def weight_std(sigma: float, d: int, sigma_x: float = 1.0) -> float:
    """``sw`` that gives key-query logits of standard deviation ``sigma``."""
    return float(np.sqrt(sigma / (d * sigma_x ** 2)))


def low_rank_sigma_2(sigma: float, d_k: int) -> float:
    """Large-``T`` value of ``sigma_2`` of key-query attention: ``sx^2 ||W_Q W_K^T|| / sqrt(d_k)``.

    For square Gaussian factors (``d_k = d``) the top singular value of
    ``W_Q W_K^T`` is ``sqrt(27/4) d sw^2`` (edge of the Fuss-Catalan law), so this is
    ``sqrt(27/4) sigma / sqrt(d_k)`` (``sw^2 = sigma / d``); for ``d_k != d`` a rough guide only.
    """
    return float(np.sqrt(27 / 4) * sigma / np.sqrt(d_k))


def markov_matrix(T: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``rowsoftmax(G)``, ``G_ij ~ N(0, sigma^2)`` i.i.d."""
    return softmax(sigma * rng.standard_normal((T, T)))


def key_query_matrix(X: np.ndarray, W_Q: np.ndarray, W_K: np.ndarray) -> np.ndarray:
    """``rowsoftmax(X W_Q W_K^T X^T / sqrt(d_k))``: the all-queries attention of
    :mod:`sigprop.model.attention` (whose logits ``Z[q, i] = c x_i^T W x_q`` give this
    matrix for ``W = W_K W_Q^T`` and ``c = 1/sqrt(d_k)``)."""
    d, d_k = W_Q.shape
    cfg = att.Config(d=d, d_k=d_k, mode="all", scale=1 / np.sqrt(d_k))
    Z, allowed = att.logits(np.asarray(X, dtype=float)[None], W_K @ W_Q.T, cfg)
    return att.weights(Z, allowed, cfg)[0]


def key_width(d_k: int | None, d: int, model: str) -> int:
    """``d_k`` of ``model``'s query and key weights: an integer >= 1, ``d`` when None.  Only the
    attention model has such weights: a ``d_k`` given with another model is refused (it would be
    ignored), naming ``d_k`` and the model it applies to.

    Examples
    --------
    >>> key_width(None, 8, "markov"), key_width(4, 8, "attention")
    (8, 4)
    """
    if d_k is None:
        return d
    d_k = _checks.integer("d_k", d_k, 1)
    if model != "attention":
        raise _checks.ArgumentError("d_k", f"applies only to model 'attention' (its d x d_k query and key weights); "
                                           f"model {model!r} draws its logits without them, got d_k = {d_k}")
    return d_k


def sample_matrix(model: str, T: int, sigma: float, rng: np.random.Generator, d: int = 64,
                  d_k: int | None = None,
                  sigma_x: float = 1.0) -> np.ndarray:
    """One attention matrix of ``model`` at logit scale ``sigma``."""
    if model == "markov":
        return markov_matrix(T, sigma, rng)
    if model != "attention":
        _checks.choice("model", model, MODELS)
    d_k = d_k or d
    sw = weight_std(sigma, d, sigma_x)
    X = sigma_x * rng.standard_normal((T, d))
    return key_query_matrix(X, sw * rng.standard_normal((d, d_k)), sw * rng.standard_normal((d, d_k)))


def spectrum(A: np.ndarray, top: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Complex eigenvalues sorted by decreasing modulus, and singular values (decreasing).

    With ``top = k`` only the ``k`` largest singular values are computed (Lanczos,
    ``scipy.sparse.linalg.svds``, tolerance 0: to machine precision), 5-10 times faster than the
    full SVD at ``T = 1024``; the eigenvalues are always the dense ones (the second lies in a disc
    crowded with others, where an iterative method may converge to the wrong one).
    """
    ev = np.linalg.eigvals(A)
    ev = ev[np.argsort(-np.abs(ev), kind="stable")]
    if top is not None and top < min(A.shape) - 1:
        from scipy.sparse.linalg import svds
        sv = np.sort(svds(A, k=top, return_singular_vectors=False, random_state=0))[::-1]
    else:
        sv = np.linalg.svd(A, compute_uv=False)
    return ev, sv


def check_report(T: int, sigma: float, *, model: str = "markov", seed: Seed = 0, d: int = 64,
                 d_k: int | None = None) -> tuple[int, float, int, int]:
    """Refuse (``ArgumentError`` naming the argument, with its accepted range) the arguments of
    :func:`report` that it would refuse, before any work: their types and ranges, and the memory of the
    ``T x T`` matrix with its eigenvalue workspace.  Returns ``(T, sigma, d, d_k)`` as :func:`report` uses
    them.  The sweep driver calls it for every cell of ``spectral-gap`` before the store is created."""
    T = _checks.integer("T", T, 2)
    sigma = _checks.scalar("sigma", sigma, minimum=0.0)
    d = _checks.integer("d", d, 1)
    spread(sigma)
    _checks.choice("model", model, MODELS)
    d_k = key_width(d_k, d, model)
    # the matrix, its logits, and the eigenvalue routine's copy and workspace
    def need(T: float, d: float, d_k: float) -> float:      # + X and the two weights for attention
        return matrices(4, T, T) + matrices(2, T, d) + (matrices(2, d + T, d_k) if model == "attention" else 0.0)
    require(need(T, d, d_k), driver(need, dict(T=(T, 2), d=(d, 1), d_k=(d_k, 1))),
            f"{T} x {T} and {T} x {d} float64 matrices" + (f" and two {d} x {d_k} weights" if model == "attention"
                                                          else ""))
    _checks.seed("seed", seed)
    return T, sigma, d, d_k


def report(T: int, sigma: float, *, model: str = "markov", seed: Seed = 0, d: int = 64,
           d_k: int | None = None, keep_spectrum: bool = False, progress: bool = False) -> Result:
    """Simulated ``sigma_1``, ``sigma_2``, ``eig_2`` beside the predictions (a ``spectral-gap`` result).

    ``keep_spectrum=True`` adds the arrays ``eigenvalues`` and ``singular_values``;
    ``progress`` shows the time spent on standard error (an eigendecomposition of a
    ``T x T`` matrix takes minutes beyond ``T ~ 5000``).
    """
    T, sigma, d, d_k = check_report(T, sigma, model=model, seed=seed, d=d, d_k=d_k)
    A = sample_matrix(model, T, sigma, np.random.default_rng(_checks.seed("seed", seed)), d=d, d_k=d_k)
    with activity(f"spectrum of a {T} x {T} matrix", progress):
        ev, sv = interruptible(lambda: spectrum(A, top=None if keep_spectrum else 2))
    out = dict(config=dict(length=T, sigma=sigma, model=model, seed=seed, d=d, d_k=d_k),
               sigma_1=float(sv[0]), sigma_2=float(sv[1]), eig_1=float(abs(ev[0])),
               eig_2=float(abs(ev[1])), gap=float(sv[0] - sv[1]))
    out.update({k: float(v) for k, v in predictions(T, sigma).items()})
    if model == "attention":
        out["predicted_low_rank_sigma_2"] = low_rank_sigma_2(sigma, d_k)
    if keep_spectrum:
        out.update(eigenvalues=ev, singular_values=sv)
    return Result(out, kind="spectral-gap")


_GAP = ("sigma_1", "sigma_2", "eig_1", "eig_2", "gap", "predicted_sigma_1", "predicted_eig_1",
        "predicted_eig_radius", "predicted_bulk_edge", "predicted_low_rank_sigma_2")

#: The study's descriptor (the sweep study ``spectral-gap``; one cell is
#: :func:`sigprop.sweep.studies.spectral_gap`).
STUDY = register(Study(
    name="spectral-gap", function="sigprop.gap.spectra:report", cell="sigprop.sweep.studies:spectral_gap",
    check="sigprop.gap.spectra:check_report",
    kind="spectral-gap", axes=("T", "sigma", "model", "d", "d_k"), cell_outputs={k: () for k in _GAP},
    arrays={"eigenvalues": ("eigenvalue",), "singular_values": ("singular_value",)},
    figure="sigprop.gap.spectra:spectrum_figure", quick=dict(T=16, sigma=1.0),
    description="spectral gap of attention at initialisation (sigprop.gap.spectra.report)"))


# --- figure ---------------------------------------------------------------------------------

MODEL_LABEL = {"markov": "random Markov attention", "attention": "key-query attention"}


def spectrum_figure(result: dict, path) -> None:
    """Eigenvalues in the complex plane with the predicted circle; singular values with the gap."""
    from sigprop.plotting import pyplot, save

    plt = pyplot()
    cfg = result["config"]
    ev, sv = np.asarray(result["eigenvalues"]), np.asarray(result["singular_values"])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.6))
    a1.plot(ev.real, ev.imag, ".", ms=2, color="0.35", label="eigenvalues of A")
    t = np.linspace(0, 2 * np.pi, 400)
    r = result["predicted_eig_radius"]
    a1.plot(r * np.cos(t), r * np.sin(t), "k--", lw=1.2, label=f"predicted bulk radius {r:.3g}")
    lim = 1.6 * max(r, float(np.abs(ev[1:]).max()))
    a1.set(xlabel="Re $\\lambda$", ylabel="Im $\\lambda$", xlim=(-lim, lim), ylim=(-lim, lim),
           title=f"bulk eigenvalues (the outlier |$\\lambda_1$| = {abs(ev[0]):.4f} is off scale)")
    a1.set_aspect("equal")
    a1.legend(fontsize=8, loc="upper left")
    a2.hist(sv[1:], bins=60, color="0.6", edgecolor="0.3", label="singular values 2..T")
    edge = result["predicted_bulk_edge"]
    a2.axvline(edge, color="k", ls="--", lw=1.2, label=f"predicted bulk edge {edge:.3g}")
    a2.set(xlabel="singular value of A", ylabel="count",
           title=f"singular values: $\\sigma_1$ = {sv[0]:.4f} (outside), gap {sv[0] - sv[1]:.3f}")
    a2.legend(fontsize=8)
    fig.suptitle(f"{MODEL_LABEL[cfg['model']]} at initialisation, T = {cfg['length']}, $\\sigma$ = "
                 f"{cfg['sigma']}",
                 fontsize=10)
    fig.tight_layout()
    save(fig, path)
