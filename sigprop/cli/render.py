"""One renderer for every command: a result as a table, JSON or CSV.

A result is a ``dict``: a ``config`` (shown as the title line), scalars, per-position
arrays (``positions`` and arrays of the same length), lists of records (dicts), and
dicts of scalars, of records or of arrays.  :func:`render` formats whatever it gets;
a command only declares, as a :class:`View` (data, not code), which columns to show
and in which order, and optional summary sentences (``str.format`` templates whose
fields are paths into the result, e.g. ``{history.-1.rho_coverage:.1%}``).  A result
with no declared view is shown in full.

Importing this module is cheap (no NumPy): results are converted to plain Python by
:func:`sigprop.core.results.jsonable` only when rendered.
"""
from __future__ import annotations

import csv
import io
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

FORMATS = ("table", "json", "csv")


@dataclass(frozen=True)
class View:
    """How a command's result is shown.

    Attributes
    ----------
    columns
        Per-position arrays shown as one table (and as CSV), in this order; the first
        is the index.  ``"label=key"`` renames a column; keys missing from a result are
        left out.  Default: ``positions`` and every top-level array of its length.
    records
        Key of a list of records shown as a table (default: every list of records).
    fields
        Columns of that table: ``"key"``, ``"a.b"`` (a nested value) or ``"label=path"``;
        a path to a dict expands to one column per key.  Default: every scalar field.
    blocks
        Instead of a table, these templates are printed for every record (the record's
        keys are the fields; ``!u`` upper-cases).
    show
        Other top-level keys shown after the tables, in this order (``None``: every key
        not shown otherwise, except ``version``).
    lines
        Templates printed last, filled from the whole result; a template naming a
        missing field is skipped.
    json
        Print this list of records as JSON instead of the whole result, with the
        ``json_config`` keys of ``config`` copied into every record.
    """

    columns: tuple[str, ...] | None = None
    records: str | None = None
    fields: tuple[str, ...] | None = None
    blocks: tuple[str, ...] = ()
    show: tuple[str, ...] | None = None
    lines: tuple[str, ...] = ()
    json: str | None = None
    json_config: tuple[str, ...] = ()


def render(result: dict, fmt: str, view: View | None = None) -> str:
    """``result`` as ``fmt`` (``table``, ``json`` or ``csv``) according to ``view``."""
    from sigprop.core.results import dumps, jsonable

    view = view or View()
    if fmt == "json":
        if view.json is not None:
            cfg = result.get("config", {})
            return dumps([dict(r, **{k: cfg[k] for k in view.json_config if k in cfg})
                          for r in result[view.json]])
        return dumps(result)
    data = jsonable(result)
    if fmt == "csv":
        return csv_text(data, view)
    if fmt == "table":
        return table(data, view)
    from sigprop.core.checks import ArgumentError  # here: `sigprop --help` imports no NumPy
    raise ArgumentError("format", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")


# --- values ----------------------------------------------------------------------

def cell(x: Any) -> str:
    """A value as table text: ``%.5g`` floats, ``-`` for missing or non-finite numbers."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.5g}"
    if isinstance(x, list):
        shown = ", ".join(cell(v) for v in x[:6])
        return f"[{shown}{', ...' if len(x) > 6 else ''}]"
    return str(x)


def _is_scalar(x: Any) -> bool:
    return x is None or isinstance(x, (bool, int, float, str))


def _is_numbers(x: Any) -> bool:
    return isinstance(x, list) and bool(x) and all(v is None or isinstance(v, (int, float))
                                                   and not isinstance(v, bool) for v in x)


def _is_records(x: Any) -> bool:
    return isinstance(x, list) and bool(x) and all(isinstance(r, dict) for r in x)


def lookup(obj: Any, path: str) -> Any:
    """The value at a dotted ``path`` (``a.b.-1.c``: keys and list indices)."""
    for part in path.split("."):
        if isinstance(obj, list):
            obj = obj[int(part)]
        elif isinstance(obj, dict):
            obj = obj[part]
        else:
            raise KeyError(path)
    return obj


def _label(spec: str) -> tuple[str, str]:
    label, _, path = spec.partition("=")
    return (label, path) if path else (spec, spec)


class _Template(string.Formatter):
    """``str.format`` with dotted paths as fields, ``-`` for missing numbers, ``!u``."""

    def get_field(self, field_name, args, kwargs):
        return lookup(kwargs["_data"], field_name), field_name

    def convert_field(self, value, conversion):
        if conversion == "u":
            return str(value).upper()
        return super().convert_field(value, conversion)

    def format_field(self, value, format_spec):
        return "-" if value is None else super().format_field(value, format_spec)


_TEMPLATE = _Template()


def fill(template: str, data: Any) -> str | None:
    """``template`` filled from ``data``; ``None`` when a field is missing."""
    try:
        return _TEMPLATE.format(template, _data=data)
    except (KeyError, IndexError, TypeError, ValueError):
        return None


# --- tables ----------------------------------------------------------------------

def grid(header: list[str], rows: list[list[Any]]) -> list[str]:
    """Right-aligned columns, as wide as their widest cell."""
    cells = [[cell(x) for x in row] for row in rows]
    widths = [max([len(h)] + [len(r[k]) for r in cells]) for k, h in enumerate(header)]
    return ["  ".join(f"{t:>{w}}" for t, w in zip(line, widths)) for line in [header] + cells]


def _position_columns(data: dict, view: View) -> list[tuple[str, list]]:
    if view.columns is not None:
        specs = [_label(s) for s in view.columns]
    elif "positions" in data:
        n = len(data["positions"])
        specs = [("positions", "positions")] + [
            (k, k) for k, v in data.items() if k != "positions" and _is_numbers(v) and len(v) == n]
    else:
        return []
    return [(label, data[path]) for label, path in specs if isinstance(data.get(path), list)]


def _record_columns(records: list[dict], fields: tuple[str, ...] | None) -> list[tuple[str, str]]:
    if fields is None:
        fields = tuple(k for k, v in records[0].items() if _is_scalar(v) or isinstance(v, dict))
    out = []
    for spec in fields:
        label, path = _label(spec)
        sample = next((lookup(r, path) for r in records if _has(r, path)), None)
        if isinstance(sample, dict):
            keys = dict.fromkeys(k for r in records if _has(r, path) for k in lookup(r, path))
            out += [(f"{label}.{k}", f"{path}.{k}") for k in keys
                    if _is_scalar(sample.get(k)) or k not in sample]
        elif sample is not None or any(_has(r, path) for r in records):
            out.append((label, path))
    return out


def _has(obj: Any, path: str) -> bool:
    try:
        lookup(obj, path)
    except (KeyError, IndexError, ValueError, TypeError):
        return False
    return True


def records_table(records: list[dict], fields: tuple[str, ...] | None = None) -> list[str]:
    """A list of records as a table with the given (or every scalar) fields."""
    cols = _record_columns(records, fields)
    rows = [[lookup(r, p) if _has(r, p) else None for _, p in cols] for r in records]
    return grid([label for label, _ in cols], rows)


def _other(key: str, value: Any) -> list[str]:
    """A top-level value that is neither the position table nor the records table."""
    if _is_scalar(value) or _is_numbers(value) and len(value) <= 8:
        return [f"{key} = {cell(value)}"]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [f"{key}: {v}" for v in value]
    if _is_records(value):
        return [f"{key}:"] + records_table(value)
    if isinstance(value, dict) and value and all(_is_numbers(v) for v in value.values()):
        n = max(len(v) for v in value.values())       # shorter arrays end at the last row
        rows = [[k] + [v[k - n + len(v)] if k - n + len(v) >= 0 else None for v in value.values()]
                for k in range(n)]
        return [f"{key}:"] + grid(["#"] + list(value), rows)
    if isinstance(value, dict) and all(_is_scalar(v) or _is_numbers(v) and len(v) <= 8
                                       for v in value.values()):
        return [f"{key}: " + ", ".join(f"{k} = {cell(v)}" for k, v in value.items())]
    if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
        named: list[dict] = [dict(name=k, **v) for k, v in value.items()]
        fields = ("name",) + tuple(dict.fromkeys(k for r in named for k, v in r.items()
                                                 if k != "name" and _is_scalar(v)))
        return [f"{key}:"] + records_table(named, fields)
    return []                                          # large arrays are for JSON only


def title(config: dict) -> str:
    """The configuration as one line: ``# key = value, ...``."""
    return "# " + ", ".join(f"{k} = {cell(v)}" for k, v in config.items()
                            if _is_scalar(v) or _is_numbers(v) or
                            isinstance(v, list) and all(isinstance(x, str) for x in v))


def table(data: dict, view: View) -> str:
    """``data`` (plain Python, see :func:`sigprop.core.results.jsonable`) as text."""
    lines, shown = [], {"version", "config"}
    if isinstance(data.get("config"), dict):
        lines.append(title(data["config"]))
    cols = _position_columns(data, view)
    if cols:
        lines += grid([label for label, _ in cols], [list(row) for row in zip(*(c for _, c in cols))])
        shown |= {(_label(s)[1]) for s in (view.columns or ())} | {label for label, _ in cols}
    record_keys = [view.records] if view.records else [k for k, v in data.items() if _is_records(v)]
    for key in record_keys:
        records = data.get(key) or []
        if view.blocks:
            for r in records:
                lines += [line for t in view.blocks if (line := fill(t, r)) is not None]
        elif records:
            if len(record_keys) > 1:
                lines.append(f"{key}:")
            lines += records_table(records, view.fields)
        shown.add(key)
    keys = view.show if view.show is not None else [k for k in data if k not in shown]
    for key in keys:
        if key in data:
            lines += _other(key, data[key])
    lines += [line for t in view.lines if (line := fill(t, data)) is not None]
    return "\n".join(lines)


def csv_text(data: dict, view: View) -> str:
    """The per-position table (or else the records table) as CSV."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = _position_columns(data, view)
    if cols:
        w.writerow([label for label, _ in cols])
        rows: Iterable[Sequence[Any]] = zip(*(c for _, c in cols))
    else:
        key = view.records or next((k for k, v in data.items() if _is_records(v)), None)
        records = data.get(key) or [] if key else []
        rc = _record_columns(records, view.fields) if records else []
        w.writerow([label for label, _ in rc])
        rows = ([lookup(r, p) if _has(r, p) else None for _, p in rc] for r in records)
    for row in rows:
        w.writerow(["" if x is None else f"{x:.10g}" if isinstance(x, float) else x for x in row])
    return buf.getvalue()
