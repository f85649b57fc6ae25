"""A measurable rule for a readable figure, applied to every figure the docs show.

* **Every axis is labelled**: each visible axes with data has a non-empty x and y label, or shares
  that axis with a panel whose label names it (``sharex``/``sharey``: the label is written once);
  a colorbar has a label.
* **No legend covers data**: the legend's box in display coordinates (``get_window_extent``),
  within the panel's box, meets no plotted data of its axes (of every axes, for a figure legend): no segment of a line
  (markers: no point), no scatter point, no filled band (``fill_between``) and no image.
"""
from __future__ import annotations

import numpy as np
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.path import Path
from matplotlib.transforms import Bbox


def _has_data(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.images or ax.patches)


def _segments_meet(points: np.ndarray, box) -> bool:
    """Whether the polyline through ``points`` (display coordinates, NaN: gaps) meets ``box``."""
    good = np.all(np.isfinite(points), axis=1)
    pieces = np.split(points, np.flatnonzero(~good))
    for piece in pieces:
        piece = piece[np.all(np.isfinite(piece), axis=1)]
        if len(piece) == 1 and box.contains(*piece[0]):
            return True
        if len(piece) >= 2 and Path(piece).intersects_bbox(box, filled=False):
            return True
    return False


def _covered(ax, box) -> list[str]:
    """Names of the data artists of ``ax`` that meet the display box ``box`` inside the panel (data
    artists are clipped to it: a band running to -inf on a log axis is not drawn below the panel)."""
    box = Bbox.intersection(box, ax.bbox)
    if box is None or box.width <= 0 or box.height <= 0:
        return []
    hits = []
    for line in ax.lines:
        if not isinstance(line, Line2D) or not line.get_visible():
            continue
        xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
        if not len(xy):
            continue
        pts = line.get_transform().transform(xy)
        drawn = line.get_linestyle() not in ("None", "none", "", " ")
        inside = box.contains
        if drawn and _segments_meet(pts, box) or not drawn and any(inside(*p) for p in pts if np.all(np.isfinite(p))):
            hits.append(f"line {line.get_label()!r}")
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):
            pts = coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), float))
            if any(box.contains(*p) for p in pts if np.all(np.isfinite(p))):
                hits.append(f"points {coll.get_label()!r}")
        elif isinstance(coll, PolyCollection):
            trans = coll.get_transform()
            if any(trans.transform_path(p).intersects_bbox(box, filled=True) for p in coll.get_paths()):
                hits.append(f"band {coll.get_label()!r}")
    for im in ax.images:
        if isinstance(im, AxesImage) and im.get_visible() and im.get_window_extent().overlaps(box):
            hits.append("image")
    return hits


def _labelled(ax, which: str) -> bool:
    axis = ax.xaxis if which == "x" else ax.yaxis
    if axis.get_label_text().strip():
        return True
    siblings = (ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()).get_siblings(ax)
    return any((s.xaxis if which == "x" else s.yaxis).get_label_text().strip() for s in siblings if s is not ax)


def problems(fig, name: str = "figure") -> list[str]:
    """Every breach of the two rules in ``fig``, one line each (empty: readable)."""
    fig.canvas.draw()
    found = []
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        title = ax.get_title() or f"panel {k}"
        colorbar = getattr(ax, "_colorbar", None) is not None
        if colorbar:
            cb_axis = ax._colorbar.orientation == "vertical" and ax.yaxis or ax.xaxis
            if not cb_axis.get_label_text().strip():
                found.append(f"{name}: colorbar of {title!r} has no label")
            continue
        if not _has_data(ax):
            continue
        for which in ("x", "y"):
            if not _labelled(ax, which):
                found.append(f"{name}: {title!r} has no {which} label")
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            hits = _covered(ax, legend.get_window_extent())
            if hits:
                found.append(f"{name}: the legend of {title!r} covers {', '.join(hits)}")
    for legend in fig.legends:
        box = legend.get_window_extent()
        for ax in fig.axes:
            hits = _covered(ax, box)
            if hits:
                found.append(f"{name}: the figure legend covers {', '.join(hits)} of {ax.get_title()!r}")
    return found
