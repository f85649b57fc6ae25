"""Progress off a terminal: plain lines, one per tenth of the steps or per minute, never a redraw."""
import io
import time

from sigprop.core import progress
from sigprop.rho.montecarlo import simulate
from sigprop.rho.spectrum import make_weights


class Clock:
    """A monotonic clock the test moves by hand (no timing in the assertions)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_off_a_terminal_a_line_per_tenth_and_no_redraw(monkeypatch):
    err = io.StringIO()                                    # not a terminal
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(progress, "_now", Clock())
    items = list(progress.iterate(range(1000), True, desc="sweep rho", unit="cell"))
    assert items == list(range(1000))
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue()
    assert lines == [f"sweep rho: {p}% ({p * 10}/1000 cell), 0 s" for p in range(10, 101, 10)]


def test_off_a_terminal_a_line_each_minute_without_one(monkeypatch):
    err = io.StringIO()
    clock = Clock()
    monkeypatch.setattr(progress, "_now", clock)
    bar = progress.progress_bar(100, True, desc="lm train", unit="step", file=err)
    bar.update(1)                                          # 1%: no line
    clock.now = progress.LINE_SECONDS - 1
    bar.update(1)                                          # under a minute since the start: no line
    clock.now = progress.LINE_SECONDS
    bar.set_postfix(loss="3.142")
    bar.update(1)                                          # a minute without a line: one
    bar.close()
    assert err.getvalue() == "lm train: 3% (3/100 step), 60 s, loss=3.142\n"


def test_unknown_total_gives_minute_lines_with_the_count(monkeypatch):
    err = io.StringIO()
    clock = Clock()
    monkeypatch.setattr(progress, "_now", clock)
    with progress.progress_bar(None, True, desc="windows", unit="window", file=err) as bar:
        bar.update(5)
        clock.now = 2 * progress.LINE_SECONDS
        bar.update(1)
    assert err.getvalue() == "windows: 6 window, 120 s\n"


def test_not_asked_nothing_and_write_still_prints(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    assert list(progress.iterate([1, 2, 3], False, desc="x")) == [1, 2, 3]
    bar = progress.progress_bar(3, False)
    bar.update(3)
    bar.write("cell (0,) failed: ArgumentError")           # a message, not progress: as tqdm.write
    bar.close()
    assert err.getvalue() == "cell (0,) failed: ArgumentError\n"


def test_the_api_follows_the_rule_off_a_terminal(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    simulate(make_weights(0.5, 0.1, 4, seed=0), 8, samples=2000, seed=1, progress=True, threads=1)
    text = err.getvalue()
    assert "\r" not in text and text.splitlines()[-1].startswith("simulating: 100% (2000/2000 seq)")


def test_the_command_line_shows_lines_off_a_terminal_after_a_delay(monkeypatch):
    monkeypatch.delenv(progress.ENVIRONMENT, raising=False)
    assert progress.wanted(True, io.StringIO()) and not progress.wanted(False, io.StringIO())
    err, clock = io.StringIO(), Clock()
    monkeypatch.setattr(progress, "_now", clock)
    monkeypatch.setattr(progress, "_quiet_start", 0.0)
    with progress.for_command_line(err):                   # not a terminal: quiet for the first seconds
        bar = progress.progress_bar(10, True, desc="sweep", unit="cell", file=err)
        bar.update(5)                                       # half done within the delay: no line
        assert err.getvalue() == ""
        clock.now = progress.COMMAND_LINE_DELAY
        bar.update(1)                                       # after the delay, the next tenth: a line
        assert err.getvalue() == f"sweep: 60% (6/10 cell), {progress.COMMAND_LINE_DELAY:.0f} s\n"
    assert progress._quiet_start == 0.0                     # the API's rule again after the command
    monkeypatch.setenv(progress.ENVIRONMENT, "lines")      # lines from the start
    with progress.for_command_line(err):
        assert progress._quiet_start == 0.0
    monkeypatch.setenv(progress.ENVIRONMENT, "off")
    assert not progress.wanted(True, io.StringIO())


def test_activity_off_a_terminal_writes_whole_lines(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.01)
    with progress.activity("exact rho", True, delay=0.0):
        for _ in range(200):                                # until the timer thread wrote a line
            if err.getvalue():
                break
            time.sleep(0.01)
    text = err.getvalue()
    assert text.startswith("exact rho: ") and text.endswith(" s\n") and "\r" not in text
