"""The readability rule of tests/figures/readable.py catches what it is meant to catch, and the
plots drawn outside ``sigprop figures`` (sweeps, the tutorials' helpers) follow it."""
from pathlib import Path

import numpy as np
import pytest

from sigprop.plotting import legend_below, pyplot
from tests.figures.readable import problems


@pytest.fixture
def plt():
    p = pyplot()
    yield p
    p.close("all")


def test_a_legend_over_a_line_is_caught_and_one_below_the_panel_is_not(plt):
    fig, ax = plt.subplots(figsize=(4, 3))
    x = np.linspace(0, 1, 50)
    ax.plot(x, np.full_like(x, 0.9), label="high")          # runs through the upper left corner
    ax.plot(x, x, label="rising")
    ax.set(xlabel="x", ylabel="y", ylim=(0, 1))
    ax.legend(loc="upper left")
    assert any("covers line 'high'" in p for p in problems(fig))
    legend_below(ax)
    assert problems(fig) == []


def test_a_legend_over_a_band_or_points_is_caught(plt):
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3))
    x = np.linspace(0, 1, 20)
    a.fill_between(x, 0, 1, alpha=0.2, label="band")
    a.plot([0.5], [0.5], "o", label="point")
    a.set(xlabel="x", ylabel="y")
    a.legend(loc="center")
    b.scatter(x, x, label="points")
    b.set(xlabel="x", ylabel="y")
    b.legend(loc="center")
    found = " ".join(problems(fig))
    assert "band" in found and "points 'points'" in found


def test_unlabelled_axes_are_caught_unless_a_shared_panel_names_them(plt):
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set_xlabel("x")
    assert sorted(problems(fig)) == ["figure: 'panel 0' has no y label", "figure: 'panel 1' has no y label"]
    axes[0].set_ylabel("y")
    assert problems(fig) == []
    im = axes[1].imshow(np.eye(3))
    fig.colorbar(im, ax=axes[1])
    assert problems(fig) == ["figure: colorbar of 'panel 2' has no label"]


def test_the_sweep_plot_is_readable_with_many_lines(tmp_path, monkeypatch):
    xr = pytest.importorskip("xarray")
    import json

    from matplotlib.figure import Figure

    from sigprop.sweep.plot import sweep_figure
    found, savefig = [], Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, f, *a, **k: (found.extend(problems(fig)),
                                                                       savefig(fig, f, *a, **k)))
    T = np.array([8, 16, 32, 64])
    v = np.array([0.01, 0.03, 0.1, 0.3, 1.0, 3.0])
    ds = xr.Dataset({"total": (("T", "v"), np.log(T)[:, None] * (1 + v)[None, :])}, coords=dict(T=T, v=v),
                    attrs=dict(sweep_spec=json.dumps(dict(axes=dict(T=T.tolist(), v=v.tolist()))), study="rho"))
    sweep_figure(ds, "total", tmp_path / "s.png")
    assert found == []


def _contrast_on_white(rgb) -> float:
    """WCAG 2.1 contrast ratio of colour ``rgb`` against white (non-text graphics need 3:1)."""
    a = np.asarray(rgb[:3], float)
    a = np.where(a <= 0.03928, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)
    return 1.05 / (0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2] + 0.05)


def test_every_sweep_line_has_a_3_to_1_contrast_on_white(tmp_path, monkeypatch):
    xr = pytest.importorskip("xarray")
    import json

    from matplotlib.colors import to_rgba
    from matplotlib.figure import Figure

    from sigprop.sweep.plot import sweep_figure
    colours, savefig = [], Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, f, *a, **k: (
        colours.extend(to_rgba(line.get_color()) for line in fig.axes[0].lines), savefig(fig, f, *a, **k)))
    T, v = np.array([8, 16]), np.linspace(0.1, 1, 12)
    ds = xr.Dataset({"total": (("T", "v"), T[:, None] * v[None, :])}, coords=dict(T=T, v=v),
                    attrs=dict(sweep_spec=json.dumps(dict(axes=dict(T=T.tolist(), v=v.tolist()))), study="rho"))
    sweep_figure(ds, "total", tmp_path / "s.png")
    assert len(colours) == 12 and min(_contrast_on_white(c) for c in colours) >= 3.0


TUTORIALS = sorted((Path(__file__).resolve().parents[2] / "docs" / "tutorials").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", TUTORIALS, ids=lambda p: p.stem)
def test_every_tutorial_figure_is_readable(notebook, plt, monkeypatch, tmp_path, capsys):
    # the notebook's code cells in order, as the site executes them; each figure checked at plt.show()
    import json

    cells = json.loads(notebook.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("%"))
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(plt.gcf()))
    monkeypatch.chdir(tmp_path)                                   # files a tutorial writes stay here
    try:
        exec(compile(code, str(notebook), "exec"), {"__name__": "tutorial"})
    except ImportError as exc:                                    # an optional package (e.g. MiniLM's)
        pytest.skip(f"{notebook.name} needs {exc.name}")
    assert shown, f"{notebook.name} shows no figure"
    assert [p for fig in shown for p in problems(fig, notebook.stem)] == []
