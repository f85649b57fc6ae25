"""Progress is shown unless turned off, and a timer appears for a single long call."""
import io
import time

from sigprop.core import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_unless_turned_off(monkeypatch):
    monkeypatch.delenv(progress.ENVIRONMENT, raising=False)
    assert progress.wanted(True, Terminal()) and not progress.wanted(False, Terminal())
    assert progress.wanted(True, io.StringIO())             # off a terminal: lines (delayed on the command line)
    monkeypatch.setenv(progress.ENVIRONMENT, "off")
    assert not progress.wanted(True, Terminal()) and not progress.wanted(True, io.StringIO())


def test_activity_shows_elapsed_time_and_erases_it(monkeypatch):
    err = Terminal()
    monkeypatch.setattr("sys.stderr", err)
    with progress.activity("exact rho", True, delay=0.05, every=0.05):
        time.sleep(0.3)
    text = err.getvalue()
    assert "exact rho: 0 s" in text and text.endswith("\r")
    quiet = Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    with progress.activity("x", False, delay=0.0):
        time.sleep(0.05)
    assert quiet.getvalue() == ""
