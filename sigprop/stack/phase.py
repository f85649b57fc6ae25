"""Where rank collapse and entropy collapse occur: the recursion swept over (beta, alpha, depth).

:func:`phase_diagram` runs :func:`sigprop.stack.recursion.predict` for every query-key strength
``beta`` and skip strength ``alpha`` (``alpha_attention = alpha_mlp = alpha``) and labels every
layer by stated rules on the predicted quantities:

* ``"rank collapse"``: the tokens' mean cosine ``p_l >= RANK_COSINE`` (0.9);
* ``"entropy collapse"``: the attention entropy ``H_l <= ENTROPY_NATS`` (``log 2``: a row's weight
  effectively on two keys or fewer), at the layer's input cosine, exact in ``T``;
* ``"healthy"`` otherwise.

Each record also holds ``condensed``: whether ``beta > beta_c(p) = sqrt(2 / (1 - p))`` at the
layer's input (the REM's condensed phase).

:func:`spectrum_diagram` does the same over [BHK24]'s query-key spectrum: the eigenvalue mean ``m``
and variance ``v`` of a symmetric ``W`` (logits ``x^T W x / sqrt(d)``), with the positional
recursion (:mod:`sigprop.stack.positional`); its records also hold the self margin
``m sqrt(d) (1 - p)`` (how much a token's logit of itself exceeds those of the others, on average)
and [BHK24]'s linear-regime share ``rho_bhk`` from the layer's own ``K_l``.  ``python -m
sigprop.stack.small_variance`` prints the tables of ``docs/stack.md`` (the small-variance question).
"""
from __future__ import annotations

import math

import numpy as np

from sigprop._version import __version__
from sigprop.core import checks as _checks
from sigprop.core.labelled import Result
from sigprop.core.memory import require_time
from sigprop.stack.config import as_config
from sigprop.stack.recursion import predict

RANK_COSINE = 0.9
ENTROPY_NATS = math.log(2.0)
REGIMES = ("healthy", "rank collapse", "entropy collapse")


def regime(cosine: float, entropy: float) -> str:
    """The label of a layer by the module's rules (rank collapse takes precedence)."""
    if cosine >= RANK_COSINE:
        return "rank collapse"
    if entropy <= ENTROPY_NATS:
        return "entropy collapse"
    return "healthy"


#: Seconds of one cell of :func:`phase_diagram` (one :func:`~sigprop.stack.recursion.predict`): a fixed
#: part and a part per layer, measured 2026-12-06 (0.063 s at 3 layers, 0.61 s at 50, 2.0 s at 1000;
#: the larger per-layer rate is kept); the grid is refused before the work when its cells would take
#: longer than :data:`sigprop.core.memory.MAX_SECONDS`.
PHASE_CELL_SECONDS = 0.06
PHASE_LAYER_SECONDS = 0.012


def phase_diagram(betas, alphas, config=None, **fields) -> Result:
    """Label every layer of the recursion at each ``(beta, alpha)``.

    Parameters
    ----------
    betas, alphas : sequence of float
        Query-key strengths ``>= 0`` and skip strengths ``>= 0`` (both skips).
    config : StackConfig or dict, optional
        The rest of the stack (``fields`` update it); its ``layers`` is the deepest layer.

    Returns
    -------
    Result
        ``kind="stack-phase"``, ``config``, ``rules`` and ``rows``: one record per
        ``(beta, alpha, layer)`` with ``cosine``, ``attention_entropy``, ``attention_overlap``,
        ``condensed`` and ``regime``.
    """
    betas = [float(b) for b in np.atleast_1d(_checks.real("betas", betas, minimum=0.0))]
    alphas = [float(a) for a in np.atleast_1d(_checks.real("alphas", alphas, minimum=0.0))]
    if not betas or not alphas:
        raise _checks.ArgumentError("betas", "and alphas must each hold at least one value")
    base = as_config(config, **fields)
    cells = len(betas) * len(alphas)
    require_time(cells * (PHASE_CELL_SECONDS + PHASE_LAYER_SECONDS * base.layers),
                 "betas" if len(betas) >= len(alphas) else "alphas",
                 f"the phase diagram's {len(betas)} x {len(alphas)} cells of {base.layers} layers "
                 f"({PHASE_CELL_SECONDS:g} s + {PHASE_LAYER_SECONDS:g} s a layer each, measured)")
    rows = []
    for beta in betas:
        for alpha in alphas:
            result = predict(base.replace(beta=beta, alpha_attention=alpha, alpha_mlp=alpha))
            layers = result["layers"]
            for prev, row in zip(layers[:-1], layers[1:]):
                p_in = prev["cosine"]
                condensed = bool(p_in < 1 and beta > math.sqrt(2 / (1 - p_in)))
                rows.append(dict(beta=beta, alpha=alpha, layer=row["layer"], cosine=row["cosine"],
                                 attention_entropy=row["attention_entropy"],
                                 attention_overlap=row["attention_overlap"], condensed=condensed,
                                 regime=regime(row["cosine"], row["attention_entropy"])))
    rules = dict(rank_collapse=f"cosine >= {RANK_COSINE}", entropy_collapse="attention entropy <= log 2 nats",
                 condensed="beta > sqrt(2 / (1 - p)) at the layer's input")
    swept = ("beta", "alpha_attention", "alpha_mlp")
    config = {k: v for k, v in base.to_dict().items() if k not in swept}
    return Result(dict(version=__version__, config=dict(config, betas=betas, alphas=alphas), rules=rules,
                       rows=rows), kind="stack-phase", keys={"rows": ("beta", "alpha", "layer")})


def spectrum_diagram(means, variances, config=None, **fields) -> Result:
    """Label every layer of the positional recursion at each query-key spectrum ``(m, v)``.

    Parameters
    ----------
    means, variances : sequence of float
        Eigenvalue means ``m`` (any sign) and variances ``v >= 0`` of the symmetric query-key matrix.
    config : StackConfig or dict, optional
        The rest of the stack (``fields`` update it; ``recursion`` is set to ``"positional"``).

    Returns
    -------
    Result
        ``kind="stack-spectrum"``, ``config``, ``rules`` and ``rows``: one record per ``(m, v, layer)``
        with ``cosine``, ``attention_entropy``, ``attention_overlap``, ``rho_bhk``, ``linear_share``,
        ``margin`` (``m sqrt(d) (1 - p)`` at the layer's input) and ``regime``.
    """
    means = [float(m) for m in np.atleast_1d(_checks.real("means", means))]
    variances = [float(v) for v in np.atleast_1d(_checks.real("variances", variances, minimum=0.0))]
    if not means or not variances:
        raise _checks.ArgumentError("means", "and variances must each hold at least one value")
    base = as_config(config, **dict(fields, recursion="positional", qk_mean=means[0], qk_variance=variances[0]))
    rows = []
    for m in means:
        for v in variances:
            layers = predict(base.replace(qk_mean=m, qk_variance=v))["layers"]
            for prev, row in zip(layers[:-1], layers[1:]):
                rows.append(dict(m=m, v=v, layer=row["layer"], cosine=row["cosine"],
                                 attention_entropy=row["attention_entropy"],
                                 attention_overlap=row["attention_overlap"], rho_bhk=row["rho_bhk"],
                                 linear_share=row["linear_share"],
                                 margin=m * math.sqrt(base.d) * (1 - prev["cosine"]),
                                 regime=regime(row["cosine"], row["attention_entropy"])))
    rules = dict(rank_collapse=f"cosine >= {RANK_COSINE}", entropy_collapse="attention entropy <= log 2 nats")
    config = {k: v for k, v in base.to_dict().items() if k not in ("qk_mean", "qk_variance")}
    return Result(dict(version=__version__, config=dict(config, means=means, variances=variances), rules=rules,
                       rows=rows), kind="stack-spectrum", keys={"rows": ("m", "v", "layer")})


def summary(rows, m: float, v: float) -> dict:
    """For one ``(m, v)``: the first rank-collapsed layer, the entropy-collapsed and healthy layer counts."""
    mine = [r for r in rows if r["m"] == m and r["v"] == v]
    first_rank = next((r["layer"] for r in mine if r["regime"] == "rank collapse"), None)
    return dict(m=m, v=v, first_rank_collapse=first_rank,
                entropy_collapsed=sum(r["regime"] == "entropy collapse" for r in mine),
                healthy=sum(r["regime"] == "healthy" for r in mine), layers=len(mine))


#: The small-variance question's grid (``docs/stack.md``).
SPECTRUM_MEANS = (-0.2, -0.05, 0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)
SPECTRUM_VARIANCES = (0.01, 0.1, 1.0)

