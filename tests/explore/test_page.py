"""``sigprop explore`` in a real headless browser (Debian's Chromium, driven by Playwright).

The command line serves the page on a free port; the browser loads it, moves the ``m`` slider with
the keyboard, and the plot's data must become the closed form at the new ``m`` (computed here,
independently of the page); the exact method and the Monte Carlo band run on their buttons, and
their curves must be the API's numbers; no console error and no page error may occur.  The
screenshot is taken every run (the test's temporary folder); `SIGPROP_SCREENSHOT=docs/img/explore.png`
refreshes the one shown in docs/explore.md.

Skipped, with the reason, only where no browser is installed (``/usr/bin/chromium``), or Bokeh or
Playwright are missing; ``.ci/run`` installs Chromium where apt-get can.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# The screenshot goes to the test's temporary folder; SIGPROP_SCREENSHOT=docs/img/explore.png refreshes the docs' copy.
SCREENSHOT_ENV = "SIGPROP_SCREENSHOT"

if not os.path.exists(CHROMIUM):
    pytest.skip(f"no browser: {CHROMIUM} is not installed (apt-get install -y chromium)", allow_module_level=True)
pytest.importorskip("bokeh", reason="sigprop explore needs Bokeh (pip install -e '.[test]')")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="the browser test needs Playwright (pip install -e '.[test]')")

from sigprop.explore import compute  # noqa: E402
from sigprop.explore.page import free_port  # noqa: E402
from tests.helpers import start, stop  # noqa: E402


def data(page, name: str, column: str = "y") -> np.ndarray:
    return np.array(page.evaluate("([name, column]) => Array.from(Bokeh.documents[0].get_model_by_name(name)"
                                  ".data[column])", [name, column]), dtype=float)


def value(page, name: str):
    return page.evaluate("(name) => Bokeh.documents[0].get_model_by_name(name).value", name)


def wait_for(page, expression: str, arg=None, timeout: float = 60_000) -> None:
    page.wait_for_function(expression, arg=arg, timeout=timeout)


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = start([sys.executable, "-m", "sigprop.cli", "explore", "--port", str(port), "--no-browser",
                  "--dim", "16", "--length", "24"],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []                     # until "sigprop explore: serving http://localhost:PORT/ ..."
    while not any(f"serving http://localhost:{port}/" in x for x in lines):
        line = proc.stderr.readline()
        assert line, "the server stopped before serving:\n" + "".join(lines)
        lines.append(line)
    yield f"http://localhost:{port}/", proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    stop(proc)


def legend(page) -> dict:
    """The profile legend's entries as the browser holds them: label -> visible."""
    return dict(page.evaluate("() => Bokeh.documents[0].get_model_by_name('profile_legend').items"
                              ".map(i => [i.label.value ?? i.label, i.visible])"))


def test_page_loads_moves_computes_without_console_errors(server, tmp_path):
    url, proc = server
    problems: list[str] = []
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        browser = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
                                                        viewport={"width": 1480, "height": 640})
        page = browser.new_page()
        page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.goto(url)
        wait_for(page, "() => window.Bokeh && Bokeh.documents.length > 0 && "
                       "Bokeh.documents[0].get_model_by_name('gaussian_source').data.y.length > 0")
        before = data(page, "gaussian_source")
        # before any computation only the closed form has a legend entry (no entry without a glyph)
        assert legend(page) == {"Gaussian": True, "exact / softmax": False, "Monte Carlo (95% band)": False}
        m0 = value(page, "m")
        state = compute.State(m=m0, d=16, T=24)
        np.testing.assert_allclose(before, compute.gaussian(state)["rho"], rtol=1e-12)

        # move the m slider with the keyboard: three steps to the right
        handle = page.locator(".noUi-handle").first
        handle.focus()
        for _ in range(3):
            handle.press("ArrowRight")
        wait_for(page, "(m0) => Bokeh.documents[0].get_model_by_name('m').value > m0 + 1e-9", m0)
        wait_for(page, "(old) => { const y = Bokeh.documents[0].get_model_by_name('gaussian_source').data.y;"
                       " return y.length == old.length && y.some((v, i) => Math.abs(v - old[i]) > 1e-12); }",
                 before.tolist())
        m1 = value(page, "m")
        assert m1 == pytest.approx(m0 + 3 * 0.05)
        # the server recomputes on every move: wait until the plot holds the closed form at the final m
        wait_for(page, "(want) => { const y = Bokeh.documents[0].get_model_by_name('gaussian_source').data.y;"
                       " return y.every((v, i) => Math.abs(v - want[i]) <= 1e-12 * Math.max(1, Math.abs(want[i]))); }",
                 compute.gaussian(compute.State(m=m1, d=16, T=24))["rho"].tolist())
        state = compute.State(m=m1, d=16, T=24, method="exact")

        # every text of the status line, as the browser receives it (the busy line may last milliseconds)
        page.evaluate("() => { const s = Bokeh.documents[0].get_model_by_name('status'); window.seen = [];"
                      " s.properties.text.change.connect(() => window.seen.push(s.text)); }")

        # the exact method on its button: busy line, then the curve and the difference panel
        page.get_by_role("button", name="exact", exact=True).click()
        wait_for(page, "() => !Bokeh.documents[0].get_model_by_name('compute').disabled")
        page.get_by_role("button", name="compute exact rho").click()
        wait_for(page, "() => Bokeh.documents[0].get_model_by_name('difference_source').data.y.length > 0")
        want = compute.exact(state)
        np.testing.assert_allclose(data(page, "method_source"), want["rho"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(data(page, "difference_source"), want["difference"], rtol=1e-9, atol=1e-12)
        # the table is a model of its own: under load its update can reach the browser after the curves'
        wait_for(page, "() => Array.from(Bokeh.documents[0].get_model_by_name('metrics_source').data.method)"
                       ".every((v) => v !== null && !Number.isNaN(v))")
        shown = data(page, "metrics_source", "method")           # the localization table's exact column
        np.testing.assert_allclose(shown, [want["metrics"][k] for k in compute.METRICS], rtol=1e-9)
        table = page.locator(".bk-clearfix", has_text="localization").first.inner_text()     # as rendered
        assert f"{want['metrics']['entropy']:.4g}" in table
        seen = page.evaluate("() => window.seen")
        assert any("computing exact" in t for t in seen) and "largest |exact - Gaussian|" in seen[-1], seen

        # the Monte Carlo band (1000 samples): a Wilson band around the estimate
        page.locator("select").nth(1).select_option("1000")
        wait_for(page, "() => Bokeh.documents[0].get_model_by_name('samples').value == '1000'")
        page.get_by_role("button", name="Monte Carlo band").click()
        wait_for(page, "() => Bokeh.documents[0].get_model_by_name('monte_carlo_source').data.y.length > 0")
        low, mid, high = (data(page, "monte_carlo_source", c) for c in ("low", "y", "high"))
        assert low.shape == (24,) and np.all(low <= mid) and np.all(mid <= high) and np.any(high > low)
        want = compute.monte_carlo(state, samples=1000)                   # same seed: the same numbers
        np.testing.assert_allclose(mid, want["estimate"], rtol=1e-12)
        assert "Monte Carlo band" in page.evaluate("() => Bokeh.documents[0].get_model_by_name('status').text")
        wait_for(page, "() => Bokeh.documents[0].get_model_by_name('profile_legend').items.every(i => i.visible)")
        assert legend(page) == {"Gaussian": True, "exact / softmax": True, "Monte Carlo (95% band)": True}
        shot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "explore.png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000                                # a real rendered page
        browser.close()
    assert not problems, "\n".join(problems)
    assert proc.poll() is None, proc.stderr.read()


def test_interrupt_stops_the_server_cleanly(server):
    url, proc = server
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err           # Ctrl-C ends the server as any command
    assert err.splitlines()[-1:] == ["sigprop explore: interrupted"] and "Traceback" not in err and not out, err
