"""The explorer's server checks every value it receives (a websocket client may send any, beyond the
sliders' ranges) with the API's checks, and answers an out-of-range request with a visible message.

The document is built in this process (no browser, no server): a value set on a model here is what
the server sees when a client sends it.
"""
import html
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("bokeh")

from bokeh.document import Document  # noqa: E402

from sigprop.explore import compute, page  # noqa: E402


@pytest.fixture
def doc():
    document = Document()
    page.make_document(document, compute.State(d=8, T=16))
    return document


def _status(doc, raw: bool = False) -> str:
    text = doc.select_one({"name": "status"}).text
    return text if raw else html.unescape(text)


def _gaussian(doc) -> list:
    return list(doc.select_one({"name": "gaussian_source"}).data["x"])


@pytest.mark.parametrize("name, value, message", [
    ("T", 100_000_000, "T must be an integer in [2, 4096], got 100000000"),
    ("T", 1, "T must be an integer in [2, 4096], got 1"),
    ("d", 1e9, "d must be an integer in [1, 1024], got 1000000000.0"),
    ("d", 2.5, "d must be an integer in [1, 1024], got 2.5"),
    ("m", 1e300, "m must be <= 100, got 1e+300"),
    ("v", -1.0, "v must be >= 0, got -1.0"),
    ("v", float("nan"), "v must be finite, got nan"),
])
def test_a_value_beyond_the_range_is_refused_with_a_visible_message(doc, name, value, message):
    assert len(_gaussian(doc)) == 16
    doc.select_one({"name": name}).value = value          # as a websocket client sets it
    assert message in _status(doc) and "#c00" in _status(doc)   # in the error colour
    assert _gaussian(doc) == []                           # no curve of refused values


def test_an_invalid_choice_is_refused_and_escaped(doc):
    doc.select_one({"name": "data"}).value = "<b>bogus</b>"
    assert "data must be one of" in _status(doc) and "&lt;b&gt;bogus&lt;/b&gt;" in _status(doc, raw=True)
    doc.select_one({"name": "data"}).value = "iid"
    doc.select_one({"name": "method"}).active = 7
    assert "method must be one of 0..2, got 7" in _status(doc)


def test_a_data_parameter_beyond_its_range_is_refused(doc):
    doc.select_one({"name": "data"}).value = "fbm"
    assert len(_gaussian(doc)) == 16
    doc.select_one({"name": "parameter"}).value = 1.5          # a Hurst index must be below 1
    assert "parameter must be <= 0.95, got 1.5" in _status(doc)


def test_a_sample_count_not_offered_is_refused_before_the_work(doc, monkeypatch):
    calls = []
    monkeypatch.setattr(compute, "monte_carlo", lambda *a, **k: calls.append(a))
    doc.select_one({"name": "samples"}).value = "1000000000000"
    page_launch = doc.select_one({"name": "monte_carlo"})
    page_launch._trigger_event(_click(page_launch))
    assert "samples must be one of 1000, 4000, 16000, 64000" in _status(doc)
    assert calls == []                                    # no Monte Carlo started


def _click(button):
    from bokeh.events import ButtonClick
    return ButtonClick(button)


def test_the_api_refuses_the_same_values():
    with pytest.raises(ValueError, match=r"^T must be an integer in \[2, 4096\]"):
        compute.State(T=10 ** 8)
    with pytest.raises(ValueError, match=r"^samples must be an integer in \[3, 64000\]"):
        compute.monte_carlo(compute.State(d=4, T=8), samples=10 ** 12)


def test_a_computation_in_progress_does_not_hold_the_process_at_exit():
    # the server's computations run in daemon threads: Ctrl-C (or any exit) is not held until a long
    # computation ends (a ThreadPoolExecutor's thread is joined at exit)
    script = textwrap.dedent("""
        import time
        from sigprop.explore.page import in_background
        future = in_background(lambda: time.sleep(60))
        time.sleep(0.2)
        assert future.running()
        print("leaving", flush=True)
    """)
    # the computation sleeps 60 s: an exit within the 50 s timeout shows it was not waited for
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=50)
    assert proc.returncode == 0 and proc.stdout.strip() == "leaving", proc.stderr
