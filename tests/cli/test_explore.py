"""``sigprop explore`` on the command line: bad arguments are one line and exit code 2.

The page itself is tested in a browser (tests/explore/test_page.py).
"""
import socket

import pytest

from sigprop import cli
from sigprop.explore import page


@pytest.mark.parametrize("argv, message", [
    (["--port", "70000"], "argument --port: must be in 1..65535, got 70000"),
    (["--port", "x"], "argument --port: must be an integer, got 'x'"),
    (["--dim", "0"], "argument --dim: must be an integer in [1, 1024], got 0"),
    (["--dim", "5000"], "argument --dim: must be an integer in [1, 1024], got 5000"),
    (["--length", "100000000"], "argument --length: must be an integer in [2, 4096], got 100000000"),
    (["--mean", "1e6"], "argument --mean: must be <= 100, got 1000000.0"),
    (["--var", "-1"], "argument --var: "),
    (["--method", "fast"], "argument --method: invalid choice: 'fast'"),
])
def test_bad_arguments(argv, message, capsys):
    try:
        code = cli.main(["explore", "--no-browser", *argv])
    except SystemExit as exc:                  # the parser's own refusals (type, choices)
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith(f"sigprop explore: error: {message}"), err


def test_without_bokeh_one_line(monkeypatch, capsys):
    monkeypatch.setattr(page, "bokeh_available", lambda: False)
    assert cli.main(["explore", "--no-browser"]) == 2
    assert capsys.readouterr().err.strip() == ("sigprop explore: error: sigprop explore needs Bokeh: "
                                              "pip install 'sigprop[explore]'")


def test_port_in_use_one_line(capsys):
    pytest.importorskip("bokeh")
    with socket.socket() as s:
        s.bind(("localhost", 0))
        s.listen()
        port = s.getsockname()[1]
        assert cli.main(["explore", "--no-browser", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"sigprop explore: error: argument --port: cannot listen on "
                                               f"localhost:{port}"), err
