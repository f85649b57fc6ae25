"""sigprop.cli._stop: what a repeated SIGTERM does once the first is being handled."""
from __future__ import annotations

import os
import sys
import time

import pytest

from sigprop.cli import _stop


class Exited(Exception):
    pass


@pytest.fixture
def clock(monkeypatch):
    """A monotonic clock the test moves and ``os._exit`` raising :class:`Exited`."""
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])

    def exit_(code):
        raise Exited(code)
    monkeypatch.setattr(os, "_exit", exit_)
    monkeypatch.setattr(_stop, "PROGRAM", ["sigprop", "sigprop sweep"])
    return now


def test_a_repeat_within_the_window_is_the_same_stop(clock, capsys):
    now = clock
    again = _stop.after_first_sigterm()
    now[0] += _stop.SAME_STOP_S            # the edge of the window still belongs to it
    assert again(15, None) is None
    assert capsys.readouterr().err == ""


def test_a_later_sigterm_ends_at_once_with_the_commands_line(clock, capsys):
    now = clock
    again = _stop.after_first_sigterm()
    now[0] += _stop.SAME_STOP_S + 0.01
    with pytest.raises(Exited) as stop:
        again(15, None)
    assert stop.value.args == (_stop.EXIT_TERMINATED,)
    assert capsys.readouterr().err == "sigprop sweep: terminated\n"


def test_a_later_sigterm_with_standard_error_gone_still_ends(clock, monkeypatch):
    now = clock
    monkeypatch.setattr(sys, "stderr", None)
    again = _stop.after_first_sigterm()
    now[0] += 5
    with pytest.raises(Exited):
        again(15, None)
