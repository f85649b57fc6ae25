"""Where the control arm collapses: the last layer's rank residual of untrained models.

:func:`at_init` draws the language model at initialization (no regularizer) for every shape
of a grid -- layers, LayerNorm placement, initial query-key scale ``qk_init`` -- and measures,
on the first ``windows`` validation windows, the rank residual of the last layer's output
(:func:`sigprop.model.measures.rank_residual`: ``||Y - mean row|| / ||Y||``, 0 is rank
collapse) and the mean normalized attention entropy (1: uniform rows), averaged over seeds.
A shape's control arm *collapses at initialization* when the rank residual is below
``threshold``.  Training can undo it: the trained runs say whether it lasts
(``docs/lm.md``).
"""
from __future__ import annotations

import numpy as np

from sigprop.core import checks as _checks
from sigprop.lm import corpus as _corpus
from sigprop.lm import instruments, transformer
from sigprop.lm.train import require_memory


def at_init(valid_ids: np.ndarray, *, layers=(1, 2, 4, 8), norms=("post", "pre"), qk_inits=(0.5, 1.0, 2.0, 4.0),
            seeds=(0, 1), windows: int = 16, threshold: float = 0.5, base: transformer.Config | None = None) -> dict:
    """The rank residual of the last layer and the normalized entropy at initialization per shape.

    Parameters
    ----------
    valid_ids : numpy.ndarray
        Token ids of the validation split.
    layers, norms, qk_inits : sequences
        The grid.
    seeds : sequence of int
        Initializations averaged over (the initialization seed of ``sigprop.lm.train`` for that seed).
    windows : int
        Validation windows measured (consecutive, from the start of the split).
    threshold : float
        Rank residual below which the shape counts as collapsed.
    base : Config, optional
        The other model settings (default: the paper's).

    Returns
    -------
    dict
        ``config`` and ``rows``: per shape ``rank_residual_last`` and ``entropy_normalized``
        (mean over seeds), their per-seed values, and ``collapsed``.
    """
    base = base or transformer.Config()
    windows = _checks.integer("windows", windows, 1)
    threshold = float(_checks.real("threshold", threshold, minimum=0.0, maximum=1.0))
    seeds = [_checks.integer("seeds", s, 0) for s in seeds]
    if not seeds:
        raise _checks.ArgumentError("seeds", "must name at least one seed")
    layers = [_checks.integer("layers", L, 1) for L in np.atleast_1d(layers).tolist()]
    if not layers:
        raise _checks.ArgumentError("layers", "must name at least one depth")
    available = _corpus.eval_windows(np.asarray(valid_ids), base.length)
    if windows > len(available):
        raise _checks.ArgumentError("windows", f"must be in [1, {len(available)}] (the validation split's windows of "
                                               f"{base.length} tokens), got {windows}")
    probe = available[:windows]
    require_memory(transformer.Config(**dict(base.to_dict(), layers=max(layers))), max(1, len(probe)), copies=1)
    rows = []
    for L in layers:
        for norm in norms:
            for s in qk_inits:
                cfg = transformer.Config(**dict(base.to_dict(), layers=int(L), norm=norm, qk_init=float(s),
                                                regularizer="none"))
                rank, ent = [], []
                for seed in seeds:
                    init_seed = np.random.SeedSequence(seed).spawn(3)[0]
                    m = instruments.heads(transformer.init_params(cfg, init_seed), probe, cfg)
                    rank.append(float(m["rank_residual"][-1]))
                    ent.append(float(m["entropy_normalized_mean"]))
                rows.append(dict(layers=int(L), norm=norm, qk_init=float(s), rank_residual_last=float(np.mean(rank)),
                                 entropy_normalized=float(np.mean(ent)), rank_residual_by_seed=rank,
                                 entropy_normalized_by_seed=ent, collapsed=bool(np.mean(rank) < threshold)))
    return dict(config=dict(base=base.to_dict(), layers=[int(x) for x in layers], norms=list(norms),
                            qk_inits=[float(x) for x in qk_inits], seeds=seeds, windows=int(probe.shape[0]),
                            threshold=threshold, measure="rank residual of the last layer's output"),
                rows=rows)
