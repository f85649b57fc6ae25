"""Where a deep stack collapses: the recursion's regimes over (query-key strength, skip strength).

On [GG26]'s encoder configuration (``sigprop.stack.GG_CONFIG``, their REM recursion, ``T = 128``
tokens of input cosine 0.1, ``T_init = 512``, 50 layers, ``alpha_A = alpha_MLP = alpha``), every layer is
labelled by the rules of :mod:`sigprop.stack.phase` (rank collapse: cosine >= 0.9; entropy collapse:
attention entropy <= log 2 nats, exact in ``T``).  Writes ``stack_phase.png``: (left) the first layer
in rank collapse (blank: none within 50 layers), (right) the number of layers in entropy collapse;
and ``stack_phase.json``: these two grids (``beta`` by ``alpha``), the configuration and the rules.
About 40 s of CPU; ``--quick``: a 4 x 3 grid.
"""
from __future__ import annotations

import numpy as np

from sigprop.plotting import pyplot, save
from sigprop.stack import GG_CONFIG, phase_diagram

BETAS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0)
ALPHAS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def compute(quick: bool = False):
    betas, alphas = ((1.0, 3.0, 4.0, 6.0), (0.5, 1.0, 2.0)) if quick else (BETAS, ALPHAS)
    return phase_diagram(betas, alphas, dict(GG_CONFIG, T=128, cosine0=0.1, recursion="gg"))


def grids(result) -> tuple[np.ndarray, np.ndarray]:
    """``(first rank-collapsed layer or NaN, number of entropy-collapsed layers)`` over ``(beta, alpha)``."""
    betas, alphas = result["config"]["betas"], result["config"]["alphas"]
    first = np.full((len(betas), len(alphas)), np.nan)
    entropy = np.zeros((len(betas), len(alphas)))
    for row in result["rows"]:
        i, j = betas.index(row["beta"]), alphas.index(row["alpha"])
        if row["regime"] == "rank collapse" and np.isnan(first[i, j]):
            first[i, j] = row["layer"]
        entropy[i, j] += row["regime"] == "entropy collapse"
    return first, entropy


def draw(result, path) -> None:
    plt = pyplot()
    betas, alphas = result["config"]["betas"], result["config"]["alphas"]
    first, entropy = grids(result)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, grid, title, unit in ((axes[0], first, "first layer in rank collapse (blank: none in 50)", "layer"),
                                  (axes[1], entropy, "layers in entropy collapse", "number of layers")):
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas])
        ax.set_yticks(range(len(betas)), [f"{b:g}" for b in betas])
        ax.set_xlabel("skip strength alpha")
        ax.set_ylabel("query-key strength beta")
        ax.set_title(title)
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=7, color="w")
        fig.colorbar(image, ax=ax, label=unit)
    fig.tight_layout()
    save(fig, path)


def summary(result) -> dict:
    """The two grids of the figure with the configuration and the rules (the per-layer records are
    recomputed in seconds by :func:`compute`)."""
    first, entropy = grids(result)
    return dict(study="stack-phase", config=result["config"], rules=result["rules"],
                first_rank_collapse_layer=[[None if np.isnan(v) else int(v) for v in row] for row in first],
                entropy_collapse_layers=entropy.astype(int).tolist())


def make(out, quick: bool = False):
    from sigprop_figures import stored_figure

    result = compute(quick)
    return stored_figure(out, "stack_phase", summary(result), draw, result)


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
