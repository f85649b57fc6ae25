"""``sigprop bench``: registered with the command line through the entry point
``sigprop.commands`` (so that :mod:`sigprop.cli` never imports this package)."""
from __future__ import annotations

import argparse

from sigprop.cli.app import command
from sigprop.cli.render import View


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="fewer samples and repeats (under 2 minutes)")
    p.add_argument("--check", action="store_true",
                   help="exit with code 1 when a target is missed, inconclusive (its 95%% interval straddles it) "
                        "or cannot be measured")
    p.add_argument("--only", metavar="KEY[,KEY...]",
                   help="measure only these keys (and the others their group measures at the same time), "
                        "e.g. mc_threads_speedup,startup_help_s")
    p.add_argument("--from", dest="source", metavar="FILE",
                   help="show a stored result (a file written by --out) instead of measuring, "
                        "e.g. --from results/bench.json --format markdown")


@command("bench", help="performance ratios against NumPy's RNG and PyTorch",
         description="Every performance ratio, each taken within one run (code in benchmarks/).",
         arguments=_arguments, out="json", formats=("table", "json", "markdown"),
         renderers={"markdown": "sigprop_benchmarks.suite:markdown"}, flags={"source": "--from"},
         # every timing of a measure (its own count of repeats), the 1, 5 and 15 minute load averages
         dims={"repeats": ("{}_repeat",), "machine_load": ("load_window",), "notes": ("note",),
               "missed": ("missed_measure",)},
         exit_code=lambda result: 1 if result.get("config", {}).get("check") and result.get("missed") else 0,
         view=View(records="targets", fields=("measure", "value", "interval", "target", "verdict"),
                   show=("machine", "peak_mb", "notes", "missed")))
def bench(args: argparse.Namespace) -> dict:
    from sigprop.core.progress import activity, wanted
    from sigprop_benchmarks import suite

    if args.source is not None:
        return _stored(args)
    if args.only is not None:
        suite.selected(args.only.split(","))     # an unknown key: one line, exit code 2, before any work
    with activity("benchmarking", wanted(not getattr(args, "no_progress", False))):
        result = suite.run(quick=args.quick, only=None if args.only is None else args.only.split(","))
    result["targets"] = suite.targets(result)
    result["missed"] = suite.missed(result["targets"])
    result["config"]["check"] = bool(args.check)
    return result


def _stored(args: argparse.Namespace) -> dict:
    """The result stored in ``--from FILE`` (written by ``sigprop bench --out``), re-rendered."""
    from sigprop.core.checks import ArgumentError
    from sigprop.core.results import CONFIG_BYTES, read_json

    result = read_json(args.source, "source", "a result written by `sigprop bench --out`",
                       limit=CONFIG_BYTES)
    _check_stored(result, args.source)
    result.pop("sigprop_type", None)
    from sigprop_benchmarks import suite

    try:
        result["targets"] = suite.targets(result)      # today's rule on the stored numbers
        result["missed"] = suite.missed(result["targets"])
        suite.markdown(result)                         # every field --format markdown reads is there
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError) as exc:
        raise ArgumentError("source", f"{args.source} is not a `sigprop bench --out` result (a field it needs "
                                      f"is missing or of the wrong type: {type(exc).__name__}: "
                                      f"{' '.join(str(exc).split())[:120]})") from None
    result["config"]["check"] = bool(args.check)
    return result


def _check_stored(result: object, source: str) -> None:
    """Refuse (one line naming ``--from``) a stored result whose fields are not those ``sigprop bench --out``
    writes: an object with ``targets``, ``machine`` and ``config`` (objects); every measure a number or
    ``null``; ``repeats`` an object of lists of numbers (per measure); ``peak_mb`` an object of numbers;
    ``only``, ``notes`` and ``missed`` lists of text (``only`` may be ``null``)."""
    from sigprop.core.checks import ArgumentError
    from sigprop.core.checks import short_repr as short
    from sigprop_benchmarks import suite

    def number(value: object) -> bool:
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))

    def refuse(what: str) -> ArgumentError:
        return ArgumentError("source", f"{source} is not a `sigprop bench --out` result ({what})")
    if not isinstance(result, dict) or "targets" not in result or "machine" not in result or "config" not in result:
        raise refuse("it needs the fields 'targets', 'machine' and 'config'")
    for key in ("config", "machine"):
        if not isinstance(result[key], dict):
            raise refuse(f"its {key!r} is {type(result[key]).__name__}, not an object")
    for key in ("repeats", "peak_mb"):
        if key in result and not isinstance(result[key], dict):
            raise refuse(f"its {key!r} is {type(result[key]).__name__}, not an object")
    for key in ("only", "notes", "missed"):
        value = result.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise refuse(f"its {key!r} is {short(value)}, not a list of text")
    for key in suite.KEYS:
        if not number(result.get(key)):
            raise refuse(f"its {key!r} is {short(result[key])}, not a number")
    for key, value in result.get("peak_mb", {}).items():
        if not number(value):
            raise refuse(f"its 'peak_mb.{key}' is {short(value)}, not a number")
    for key, value in result.get("repeats", {}).items():
        if not (isinstance(value, list) and all(number(v) for v in value)):
            raise refuse(f"its 'repeats.{key}' is {short(value)}, not a list of numbers")

