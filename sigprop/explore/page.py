"""The Bokeh document and server of ``sigprop explore``.

Controls: sliders for ``m``, ``v``, ``d``, ``T`` and the data model's parameter, the data model,
the method (Gaussian, exact, softmax), the Monte Carlo sample count.  Panels: the profile
(``rho_i`` or the softmax weight against ``i``, with the Monte Carlo band on request), the
Gaussian-versus-exact difference ``rho_exact - rho_gauss`` with the exact method's error bound,
and the localization metrics of every curve shown.

Responsiveness: the Gaussian closed form is recomputed on every slider move (milliseconds);
the exact and softmax methods and the Monte Carlo band run on a button, in a worker thread,
while a busy line says what runs and the buttons wait.  A result whose parameters were moved
while it ran is dropped (the line says so).  Every model name the browser test reads is a
``name=`` of a Bokeh model (``gaussian_source``, ``status``, ...).
"""
from __future__ import annotations

import asyncio
import html
import socket
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.explore import compute
from sigprop.rho.localization import METRICS

INSTALL = "sigprop explore needs Bokeh: pip install 'sigprop[explore]'"
LABELS = ("Gaussian", "exact", "softmax")
SAMPLES = tuple(str(n) for n in compute.SAMPLES)
PARAMETER_RANGE = {"ar1": ("ar1 correlation length L", *compute.PARAMETER_LIMITS["ar1"], 0.5),
                   "fbm": ("fbm Hurst index H", *compute.PARAMETER_LIMITS["fbm"], 0.05)}


def in_background(work: Callable[[], Any]) -> Future:
    """``work()`` run in a daemon thread; its future.  A daemon thread never holds the process at
    its exit: Ctrl-C stops the server at once, even while a long computation runs (the threads of a
    ``ThreadPoolExecutor`` are joined at exit, so the server waited for the computation)."""
    future: Future = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work())
        except BaseException as exc:              # noqa: BLE001 - handed to the awaiting callback
            future.set_exception(exc)
    threading.Thread(target=run, name="sigprop-explore-work", daemon=True).start()
    return future


def bokeh_available() -> bool:
    """Whether Bokeh (the optional extra ``explore``) can be imported."""
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


def make_document(doc: Any, initial: compute.State | None = None) -> None:
    """Fill the Bokeh ``doc`` with the explorer (one per browser tab)."""
    _Explorer(doc, initial or compute.State()).attach()


def _legend_follows(item: Any, source: Any) -> None:
    """A legend entry shows only once its curve holds data (no entry without a glyph before a computation)."""
    item.visible = len(source.data["x"]) > 0

    def changed(attr: str, old: Any, new: Any) -> None:
        item.visible = len(new["x"]) > 0

    source.on_change("data", changed)


class _Explorer:
    """One tab's explorer: its controls, data sources and figures, and the callbacks that tie them."""

    def __init__(self, doc: Any, state0: compute.State) -> None:
        self.doc = doc
        self.generation = 0                        # bumped by every change of the controls
        self.busy = ""                             # what the worker computes now ("" when idle)
        self._controls(state0)
        self._sources()
        self.prof = self._profile_figure()
        self.diff = self._difference_figure()

    # --- building -------------------------------------------------------------------------------

    def _controls(self, state0: compute.State) -> None:
        from bokeh.models import Button, Div, RadioButtonGroup, Select, Slider  # type: ignore[attr-defined]

        def make_slider(title: str, start: float, end: float, step: float, value: float, name: str) -> Any:
            # a starting value beyond the usual range widens it
            return Slider(title=title, start=min(start, value), end=max(end, value), step=step, value=value,
                          name=name)

        self.m = make_slider("eigenvalue mean m", -2.0, 2.0, 0.05, state0.m, "m")
        self.v = make_slider("eigenvalue variance v", 0.0, 2.0, 0.01, state0.v, "v")
        self.d = make_slider("dimension d", 1, 256, 1, state0.d, "d")
        self.T = make_slider("length T", 2, 512, 1, state0.T, "T")
        self.data = Select(title="data model", options=list(compute.DATA), value=state0.data, name="data")
        self.parameter = Slider(title="parameter", start=0.5, end=64.0, step=0.5, value=compute.PARAMETER["ar1"],
                                name="parameter", visible=False)
        self.method = RadioButtonGroup(labels=list(LABELS), active=compute.METHODS.index(state0.method),
                                       name="method")
        self.samples = Select(title="Monte Carlo samples", options=list(SAMPLES), value="4000", name="samples")
        self.run = Button(label="compute exact rho", button_type="primary", name="compute", disabled=True)
        self.band = Button(label="Monte Carlo band", button_type="default", name="monte_carlo")
        self.status = Div(text="", name="status", styles={"min-height": "1.5em"})
        self.table = Div(text="", name="metrics", width=460)

    def _sources(self) -> None:
        from bokeh.models import ColumnDataSource  # type: ignore[attr-defined]

        self.gauss_src = ColumnDataSource(dict(x=[], y=[]), name="gaussian_source")
        self.other_src = ColumnDataSource(dict(x=[], y=[]), name="method_source")
        self.mc_src = ColumnDataSource(dict(x=[], y=[], low=[], high=[]), name="monte_carlo_source")
        self.diff_src = ColumnDataSource(dict(x=[], y=[], low=[], high=[]), name="difference_source")
        self.table_src = ColumnDataSource(dict(metric=list(METRICS), gaussian=[np.nan] * len(METRICS),
                                               method=[np.nan] * len(METRICS),
                                               monte_carlo=[np.nan] * len(METRICS)), name="metrics_source")

    def _profile_figure(self) -> Any:
        from bokeh.models import Band, Range1d  # type: ignore[attr-defined]
        from bokeh.plotting import figure

        prof = figure(height=340, width=620, title="signal propagation probability", x_axis_label="position i",
                      y_axis_label="rho_i (softmax: E[p_i])", y_range=Range1d(start=-0.02, end=1.02), name="profile",
                      tools="pan,box_zoom,reset,save")
        prof.line("x", "y", source=self.gauss_src, color="#1f77b4", line_width=2, legend_label="Gaussian")
        prof.line("x", "y", source=self.other_src, color="#d62728", line_width=2, legend_label="exact / softmax")
        # the Monte Carlo band on top of the curves (level "overlay"), outlined, with its estimates as points:
        # a narrow band stays visible where the closed forms run through it
        prof.add_layout(Band(base="x", lower="low", upper="high", source=self.mc_src, fill_alpha=0.3,
                             fill_color="gray", line_color="black", line_alpha=0.6, line_dash="dotted",
                             level="overlay"))
        prof.scatter("x", "y", source=self.mc_src, color="black", size=4, legend_label="Monte Carlo (95% band)")
        prof.legend.location = "top_left"
        prof.legend.name = "profile_legend"
        for item, source in zip(prof.legend.items, (self.gauss_src, self.other_src, self.mc_src), strict=True):
            _legend_follows(item, source)
        return prof

    def _difference_figure(self) -> Any:
        from bokeh.models import Band, Span  # type: ignore[attr-defined]
        from bokeh.plotting import figure

        diff = figure(height=220, width=620, title="exact - Gaussian (band: the exact method's error bound)",
                      x_axis_label="position i", y_axis_label="rho_exact - rho_gauss", name="difference",
                      tools="pan,box_zoom,reset,save")
        diff.add_layout(Span(location=0, dimension="width", line_color="black", line_width=1))
        diff.add_layout(Band(base="x", lower="low", upper="high", source=self.diff_src, fill_alpha=0.3,
                             fill_color="#d62728", line_color=None))
        diff.line("x", "y", source=self.diff_src, color="#d62728", line_width=2)
        return diff

    def attach(self) -> None:
        """Tie the callbacks to the controls, draw the first profile and add the roots to the document."""
        from bokeh.layouts import column, row
        from bokeh.models import Div  # type: ignore[attr-defined]

        for slider in (self.m, self.v, self.d, self.T, self.parameter):
            slider.on_change("value", lambda attr, old, new: self.closed_form())
        self.data.on_change("value", self.data_changed)
        self.method.on_change("active", self.method_changed)
        self.run.on_click(lambda: self.launch("method"))
        self.band.on_click(lambda: self.launch("monte_carlo"))
        self.closed_form()
        self.method_changed("active", None, self.method.active)
        controls = column(Div(text="<b>sigprop explore</b>"), self.m, self.v, self.d, self.T, self.data,
                          self.parameter, self.method, self.run, self.samples, self.band, self.status, width=300)
        self.doc.add_root(row(controls, column(self.prof, self.diff), self.table))
        self.doc.add_root(self.table_src)          # the numbers of the table, for scripts and the browser test
        self.doc.title = "sigprop explore"

    # --- what the page shows ----------------------------------------------------------------------

    def render_table(self) -> None:
        """An HTML table of the metrics (the metrics_source columns), one row per metric."""
        values = self.table_src.data
        head = "".join(f"<th style='padding:2px 10px;text-align:right'>{t}</th>"
                       for t in ("Gaussian", "exact / softmax", "Monte Carlo"))
        rows = "".join(
            f"<tr><td style='padding:2px 10px'>{name}</td>"
            + "".join(f"<td style='padding:2px 10px;text-align:right'>{_fmt(values[col][i])}</td>"
                      for col in ("gaussian", "method", "monte_carlo")) + "</tr>"
            for i, name in enumerate(METRICS))
        self.table.text = (f"<b>localization</b> (docs/theory.md (4.1))<table style='border-collapse:collapse'>"
                           f"<tr><th></th>{head}</tr>{rows}</table>")

    def state(self) -> compute.State:
        """Every value as the browser sent it, checked by compute.State (the API's checks): a
        websocket client may send any value, beyond the sliders' ranges."""
        active = self.method.active
        if isinstance(active, bool) or not isinstance(active, int) or not 0 <= active < len(compute.METHODS):
            raise ArgumentError("method", f"must be one of 0..{len(compute.METHODS) - 1}, got {active!r}")
        return compute.State(m=self.m.value, v=self.v.value, d=self.d.value, T=self.T.value, data=self.data.value,
                             parameter=self.parameter.value if self.data.value in compute.PARAMETER else None,
                             method=compute.METHODS[active])

    def say(self, text: str, kind: str = "info") -> None:
        """One status line (``info``, ``busy`` or ``error``)."""
        colour = {"info": "#444", "busy": "#b36b00", "error": "#c00"}[kind]
        self.status.text = f'<span style="color:{colour}">{html.escape(text)}</span>'

    def column_of(self, key: str, values: dict | None) -> None:
        """The metrics column ``key`` of the table (NaN when ``values`` is None)."""
        column = [np.nan if values is None else values[k] for k in METRICS]
        self.table_src.data = {**self.table_src.data, key: column}
        self.render_table()

    def clear_requested(self) -> None:
        """Drop the results computed on request (they belong to the previous parameters)."""
        self.other_src.data = dict(x=[], y=[])
        self.mc_src.data = dict(x=[], y=[], low=[], high=[])
        self.diff_src.data = dict(x=[], y=[], low=[], high=[])
        self.column_of("method", None)
        self.column_of("monte_carlo", None)

    # --- callbacks ----------------------------------------------------------------------------------

    def closed_form(self, *_: Any) -> None:
        """The Gaussian closed form of the controls' values (on every change)."""
        self.generation += 1
        self.clear_requested()
        try:
            current = self.state()                 # the ranges of every value, then the d = 1 rule
            _checks.spectrum(current.m, current.v, current.d)
            g = compute.gaussian(current)
        except ValueError as exc:
            self.gauss_src.data = dict(x=[], y=[])
            self.column_of("gaussian", None)
            self.say(str(exc), "error")
            return
        self.gauss_src.data = dict(x=g["positions"], y=g["rho"])
        self.column_of("gaussian", g["metrics"])
        if self.busy:                              # the busy line stays while the worker runs
            self.say(f"computing {self.busy}... (the parameters moved: its result will be dropped)", "busy")
        else:
            self.say("Gaussian closed form (docs/theory.md §3): follows the sliders")

    def data_changed(self, attr: str, old: Any, new: Any) -> None:
        """A new data model: its parameter's slider (if it has one), then the closed form."""
        if new in PARAMETER_RANGE:
            title, start, end, step = PARAMETER_RANGE[new]
            self.parameter.update(title=title, start=start, end=end, step=step, value=compute.PARAMETER[new],
                                  visible=True)
        else:
            self.parameter.visible = False
        self.closed_form()

    def method_changed(self, attr: str, old: Any, new: Any) -> None:
        """A new method: the compute button's label and state, then the closed form."""
        labels = ("compute exact rho", "compute exact rho", "compute softmax E[p_i]")
        self.run.disabled = new == 0 or bool(self.busy)
        if isinstance(new, int) and 0 <= new < len(labels):     # else closed_form says what is wrong
            self.run.label = labels[new]
        self.closed_form()

    def launch(self, kind: str) -> None:
        """Start the computation ``kind`` (``method`` or ``monte_carlo``) in a worker thread."""
        from bokeh.document import without_document_lock

        if self.busy:                              # one computation at a time, whatever the client sends
            return
        try:
            st, gen = self.state(), self.generation
            _checks.choice("samples", self.samples.value, SAMPLES)
            n = int(self.samples.value)
            if kind == "method" and st.method == "gaussian":
                raise ArgumentError("method", "must be exact or softmax to compute on request")
        except ValueError as exc:
            self.say(str(exc), "error")
            return
        what = {"method": f"{st.method} ({'chi-square' if st.method == 'exact' else 'semi-analytic'})",
                "monte_carlo": f"Monte Carlo, {n} samples"}[kind]
        self.say(f"computing {what}...", "busy")
        self.busy = what
        self.run.disabled = self.band.disabled = True

        def work() -> dict:
            if kind == "monte_carlo":
                return compute.monte_carlo(st, samples=n)
            if st.method == "exact":
                return compute.exact(st)
            return compute.softmax(st)

        @without_document_lock
        async def unlocked() -> None:
            try:
                result, error = await asyncio.wrap_future(in_background(work)), None
            except Exception as exc:               # shown in one line; the page stays usable
                result, error = None, " ".join(str(exc).split()) or type(exc).__name__
            self.doc.add_next_tick_callback(lambda: self.show(kind, st, gen, result, error))

        self.doc.add_next_tick_callback(unlocked)

    def show(self, kind: str, st: compute.State, gen: int, result: dict | None, error: str | None) -> None:
        """A finished computation's result (dropped if the parameters moved meanwhile), or its error."""
        self.busy = ""
        self.run.disabled, self.band.disabled = self.method.active == 0, False
        if error is not None:
            self.say(error, "error")
            return
        assert result is not None
        if gen != self.generation:
            self.say("the parameters moved while computing: press the button again", "error")
            return
        x = result["positions"]
        if kind == "monte_carlo":
            self.mc_src.data = dict(x=x, y=result["estimate"], low=result["low"], high=result["high"])
            self.column_of("monte_carlo", result["metrics"])
            self.say(f"Monte Carlo band: {result['config']['samples']} samples, 95% intervals")
            return
        if st.method == "exact":
            self.other_src.data = dict(x=x, y=result["rho"])
            err = result["rho_error"]
            self.diff_src.data = dict(x=x, y=result["difference"], low=-err, high=err)
            self.say(f"exact rho: largest |exact - Gaussian| = {np.max(np.abs(result['difference'])):.3g}")
        else:
            self.other_src.data = dict(x=x, y=result["value"])
            self.say(f"softmax E[p_i]: semi-analytic, largest standard error {np.max(result['se']):.2g}")
        self.column_of("method", result["metrics"])


def _fmt(x: float) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.4g}"


def free_port() -> int:
    """A port on localhost that is free now."""
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


def serve(port: int = 5006, *, show: bool = True, address: str = "localhost",
          initial: compute.State | None = None) -> None:
    """Serve the explorer at ``http://address:port/`` until interrupted; open a browser if ``show``.

    Raises ``ArgumentError`` (``port``) when the port cannot be listened on, ``ImportError``
    without Bokeh.
    """
    if not bokeh_available():
        raise ImportError(INSTALL)
    from bokeh.server.server import Server

    try:
        server = Server({"/": lambda doc: make_document(doc, initial)}, port=port, address=address, num_procs=1,
                        allow_websocket_origin=[f"{host}:{port}" for host in ("localhost", "127.0.0.1", address)])
    except OSError as exc:
        raise ArgumentError("port", f"cannot listen on {address}:{port}: {exc.strerror or exc}") from None
    server.start()
    print(f"sigprop explore: serving http://{address}:{port}/ (Ctrl-C to stop)", file=sys.stderr, flush=True)
    if show:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    finally:
        server.stop()
