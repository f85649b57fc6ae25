"""Fuzz every command of the registry: a nasty value for one flag gives exit 2 with one line
on standard error, or exit 0 with only finite numbers printed (docs/contract.md).

Commands come from :func:`sigprop.cli.app.commands`, so commands added later are covered:
every command gets the output-path and unparsable-value checks; the commands listed in
``CHEAP`` (a quick base invocation) also get values that parse but are out of range.
"""
import argparse
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigprop import cli
from sigprop.cli import app

#: A quick invocation per command, mutated one flag at a time.
CHEAP = {
    "predict": "--mean 0.5 --var 0.1 --dim 4 --length 8",
    "validate": "--mean 0.5 --var 0.1 --dim 4 --length 8 --samples 200",
    "gaussian-error": "--dims 2 --vars 0.1 --length 8 --samples 200",
    "train": "--steps 3 --dim 4 --dk 4 --length 8 --batch 8 --probe 16 --log-every 1",
    "locater-sweep": "--steps 2 --dim 4 --dk 4 --length 8 --batch 8 --probe 16 --log-every 1 --lambdas 0,0.1 "
                     "--seeds 0,1",
    "gradcheck": "--dim 3 --dk 2 --length 4 --batch 2",
    "gap": "--length 16",
    "width": "--lengths 16 --samples 2 --dim 4",
    "depth": "--layers 2 --length 16 --dim 4",
    "stack predict": "--layers 3 --length 8",
    "stack simulate": "--layers 2 --length 8 --dim 8",
}
#: Text that parses as a number (or list) but is out of any range, non-finite or extreme.
PARSED = ["-1", "-7", "0", "nan", "inf", "-inf", "1e400", "-1e308", "1e308", "1,nan", "2.5", "-0"]
#: Text that is not a value at all.
UNPARSABLE = ["abc", "", " ", "1e3x", "0x10", "[1]", "None", "1,,x"]


def _valued_options(name):
    """``(flag, action)`` for every option of ``name`` that takes a value (not a choice)."""
    parser = cli.build_parser()
    for word in name.split():
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[word]
    return parser, [(a.option_strings[-1], a) for a in parser._actions
                    if a.option_strings and a.nargs is None and not a.choices and a.type is not None
                    and a.dest not in ("format", "out", "plot", "help")]


def _required(parser):
    """A minimal argv for the required arguments (values that parse)."""
    argv = []
    for a in parser._actions:
        if not a.option_strings and a.dest not in ("help",) and not isinstance(a, argparse._SubParsersAction):
            argv.append("x")
        elif a.option_strings and a.required:
            argv += [a.option_strings[-1], a.choices[0] if a.choices else "4"]
    return argv


class Ran(Exception):
    """Raised instead of running a command: its arguments were accepted."""


def run(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:                 # argparse's own refusals
        code = exc.code
    except Ran:                               # a text option accepted the text: nothing to check
        code = None
    out, err = capsys.readouterr()
    return code, out, err


def assert_contract(code, out, err, argv):
    assert "Traceback" not in err, argv
    if code == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and "error:" in lines[0], (argv, err)
    else:
        assert code in (0, 1), (argv, code, err)          # 1: gradcheck's verdict
        printed = re.findall(r"(?<![\w.])(?:-?inf|nan|-?Infinity|NaN)(?![\w])", out)
        assert not printed, (argv, printed)
        assert not err.strip() or "warning" not in err.lower(), (argv, err)


@pytest.mark.parametrize("name", sorted(app.commands()))
def test_unparsable_values_and_bad_output_paths_are_refused_before_any_work(name, capsys, monkeypatch, tmp_path):
    cmd = app.commands()[name]

    def must_not_run(args):
        raise Ran()

    monkeypatch.setitem(app._COMMANDS, name, app.Command(**{**cmd.__dict__, "run": must_not_run}))
    parser, options = _valued_options(name)
    base = name.split() + _required(parser)
    for flag, _ in options:
        for text in ("abc", "", "1e3x"):
            code, out, err = run(base + [f"{flag}={text}"], capsys)
            if code is not None:
                assert code == 2, (name, flag, text, code)
                assert_contract(code, out, err, base + [flag, text])
    figures = (["--plot"] if cmd.plot else []) + list(cmd.figures)
    for flag, declared in [("--out", cmd.out)] + [(f, True) for f in figures]:
        if declared:                          # the app's own output flags (a command may own another --out)
            for path in ("", str(tmp_path / "missing" / "f.json"), str(tmp_path)):
                code, out, err = run(base + [f"{flag}={path}"], capsys)
                assert code == 2 and len(err.strip().splitlines()) == 1, (name, flag, path, err)
    for flag in figures:                      # a format matplotlib cannot write: refused before the work
        code, out, err = run(base + [f"{flag}={tmp_path / 'f.txt'}"], capsys)
        lines = err.strip().splitlines()
        assert code == 2 and not out and len(lines) == 1, (name, flag, err)
        assert lines[0].startswith(f"sigprop {name}: error: argument {flag}: cannot draw a figure as .txt"), err
        assert ".png" in lines[0] and ".pdf" in lines[0] and ".svg" in lines[0]


def test_every_figure_path_flag_is_declared():
    """A flag whose value is a figure file (metavar ``*.png``) is checked by the app: declared as ``plot``
    or in ``figures`` (lm train draws its own ``--plot``, sweep its ``--figure``)."""
    declared = set()
    for name, cmd in app.commands().items():
        parser, _ = _valued_options(name)
        figure_flags = {a.option_strings[-1] for a in parser._actions
                        if a.option_strings and str(a.metavar or "").lower().endswith(".png")}
        assert figure_flags <= set((["--plot"] if cmd.plot else []) + list(cmd.figures)), name
        declared |= {(name, f) for f in cmd.figures}
    assert {("lm train", "--plot"), ("lm summarize", "--plot"), ("sweep", "--figure")} <= declared


@pytest.mark.parametrize("name", sorted(CHEAP))
def test_one_nasty_flag_at_a_time(name, capsys):
    _, options = _valued_options(name)
    flags = [flag for flag, _ in options]

    @settings(max_examples=10)
    @given(flag=st.sampled_from(flags), text=st.sampled_from(PARSED + UNPARSABLE))
    def check(flag, text):
        argv = name.split() + CHEAP[name].split() + [f"{flag}={text}"]
        code, out, err = run(argv, capsys)
        assert_contract(code, out, err, argv)

    check()


def test_the_contract_catches_non_finite_output():
    with pytest.raises(AssertionError):
        assert_contract(0, "x = inf", "", [])
    with pytest.raises(AssertionError):
        assert_contract(2, "", "Traceback (most recent call last):\n  boom", [])
    assert math.isfinite(1.0)
