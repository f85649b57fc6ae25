"""Every public function and class of sigprop has a NumPy-style docstring that renders.

The API reference of the documentation site (mkdocs.yml, docs/hooks/sigprop_docs.py) is
generated from these docstrings with mkdocstrings' NumPy parser; this test walks the same public
API and checks what that parser needs: a summary line, section headers it knows, underlined, and
``Parameters`` sections whose entries are ``name : type`` lines (descriptions indented below) naming
parameters the signature has, each once.

Public means: every module whose dotted name has no part starting with ``_``; in it, the names of
``__all__`` if it has one, otherwise every function or class defined there whose name does not start
with ``_``; in a public class, every method defined by the class itself (not a function-valued
field default such as a dataclass's lambda) whose name does not start with ``_``.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import sigprop

SECTIONS = {"Parameters", "Other Parameters", "Returns", "Yields", "Receives", "Raises", "Warns",
            "Warnings", "See Also", "Notes", "References", "Examples", "Attributes", "Methods"}
UNDERLINE = re.compile(r"^-{3,}$")
ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_]\w*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*)(?:\s*:\s*(\S.*))?$")


def public_modules() -> list[str]:
    names = ["sigprop"]
    for info in pkgutil.walk_packages(sigprop.__path__, "sigprop."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return names


def public_objects() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name in public_modules():
        module = importlib.import_module(name)
        if hasattr(module, "__all__"):
            members = [(n, getattr(module, n)) for n in module.__all__]
        else:
            members = [(n, v) for n, v in vars(module).items()
                       if not n.startswith("_") and (inspect.isfunction(v) or inspect.isclass(v))
                       and getattr(v, "__module__", None) == name]
        for attr, value in members:
            if not (inspect.isfunction(value) or inspect.isclass(value)):
                continue                                   # constants and re-exported modules
            found.append((f"{name}.{attr}", value))
            if inspect.isclass(value) and value.__module__ == name:
                for meth, member in vars(value).items():
                    raw = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                    if not meth.startswith("_") and inspect.isfunction(raw) and raw.__name__ == meth:
                        found.append((f"{name}.{attr}.{meth}", raw))
    return found


def sections(doc: str) -> dict[str, list[str]]:
    """The docstring's sections by header; raises ``ValueError`` on an unknown, underlined header."""
    lines = doc.splitlines()
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and UNDERLINE.match(lines[i + 1].strip()) and line.strip() and line == line.lstrip():
            header = line.strip()
            if header not in SECTIONS:
                raise ValueError(f"unknown section header {header!r}")
            if header in out:
                raise ValueError(f"section {header!r} twice")
            if len(lines[i + 1].strip()) != len(header):
                raise ValueError(f"underline of {header!r} is not as long as the header")
            current = out[header] = []
            i += 2
            continue
        if current is not None:
            current.append(line)
        i += 1
    return out


def parameter_problems(obj: object, body: list[str]) -> list[str]:
    """What is wrong with one ``Parameters`` section, given the signature of ``obj``."""
    target = obj.__init__ if inspect.isclass(obj) else obj  # type: ignore[misc]
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    accepted = {p.name for p in signature.parameters.values()}
    problems, seen, entries = [], set(), 0
    for line in body:
        if not line.strip():
            continue
        if line != line.lstrip():                 # an indented description line
            if entries == 0:
                problems.append(f"description before any entry: {line.strip()!r}")
            continue
        match = ENTRY.match(line.strip())
        if not match:
            problems.append(f"not a 'name : type' entry: {line.strip()!r}")
            continue
        entries += 1
        for name in (n.strip().lstrip("*") for n in match.group(1).split(",")):
            if name not in accepted:
                problems.append(f"documents {name!r}, which the signature does not have")
            if name in seen:
                problems.append(f"documents {name!r} twice")
            seen.add(name)
    if entries == 0:
        problems.append("empty Parameters section")
    return problems


def check(qualname: str, obj: object) -> list[str]:
    doc = inspect.getdoc(obj) if inspect.isclass(obj) else obj.__doc__  # type: ignore[attr-defined]
    if not doc or not doc.strip():
        return [f"{qualname}: no docstring"]
    lines = inspect.cleandoc(doc).splitlines()    # cleandoc drops leading blank lines
    if len(lines) > 1 and UNDERLINE.match(lines[1].strip()):
        return [f"{qualname}: no summary line (the docstring opens with a section)"]
    doc = "\n".join(lines)
    try:
        parts = sections(doc)
    except ValueError as exc:
        return [f"{qualname}: {exc}"]
    if "Parameters" in parts:
        return [f"{qualname}: Parameters: {p}" for p in parameter_problems(obj, parts["Parameters"])]
    return []


def test_the_walk_finds_the_public_api():
    names = {q for q, _ in public_objects()}
    assert "sigprop.rho.theory.theory_spectrum" in names
    assert "sigprop.model.optim.Adam.step" in names
    assert len(names) > 300


def test_every_public_function_has_a_numpy_docstring():
    problems = [p for qualname, obj in public_objects() for p in check(qualname, obj)]
    assert not problems, f"{len(problems)} docstring problems:\n" + "\n".join(problems)


def _documented(x, y):
    """Add.

    Parameters
    ----------
    x : float
        First.
    z : float
        Not in the signature.
    """


def _no_summary(x):
    """
    Parameters
    ----------
    x : float
    """


def _bad_header(x):
    """Add.

    Parameter
    ---------
    x : float
    """


def _bad_entry(x):
    """Add.

    Parameters
    ----------
        x : float
            Indented entry.
    """


@pytest.mark.parametrize("func, expected", [
    (_documented, "documents 'z'"), (_no_summary, "no summary line"),
    (_bad_header, "unknown section header"), (_bad_entry, "description before any entry"),
    (lambda x: x, "no docstring"),
])
def test_the_check_flags_malformed_docstrings(func, expected):
    assert any(expected in p for p in check("f", func))


def test_the_check_passes_a_wellformed_docstring():
    def f(x, *args, scale=1.0, **kwargs):
        """Scale ``x``.

        Parameters
        ----------
        x, scale : float
            The value and its factor,
            on two lines.
        *args, **kwargs
            Ignored.

        Returns
        -------
        float
        """
    assert check("f", f) == []
