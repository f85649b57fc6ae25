"""The shape of the code in ``sigprop/``, read from the source: short functions, one home per idea.

* no function longer than :data:`MAX_LINES` lines (``end_lineno - lineno + 1`` of every ``def``);
* no module imports another module's private name (``from x import _y``, ``x._y``);
* progress bars only through :mod:`sigprop.core.progress` (no other module imports tqdm);
* Student-t intervals only through :mod:`sigprop.core.stats` (no other module calls ``stdtrit`` or
  ``t.ppf``).

Each check also runs on a planted example, so that it cannot pass by reading nothing.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "sigprop"
MAX_LINES = 80

# Files other work in progress is rewriting; each entry goes when that work lands.
LONG_FUNCTIONS_ALLOWED: set[str] = set()
PRIVATE_IMPORTS_ALLOWED: set[str] = set()
T_QUANTILES_ALLOWED: set[str] = set()


def _files() -> dict[str, Path]:
    return {p.relative_to(ROOT.parent).as_posix(): p for p in sorted(ROOT.rglob("*.py"))}


def _module(rel: str) -> str:
    parts = list(Path(rel).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def long_functions(tree: ast.AST, limit: int = MAX_LINES) -> list[tuple[str, int, int]]:
    """``(name, line, length)`` of every function of ``tree`` longer than ``limit`` lines."""
    return [(n.name, n.lineno, n.end_lineno - n.lineno + 1) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > limit]


def private_imports(name: str, is_package: bool, tree: ast.AST, known: set[str]) -> list[str]:
    """The private names of other sigprop modules that module ``name`` imports or reads as ``module._x``."""
    aliases: dict[str, str] = {}
    found = []
    base = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                mod = ".".join(base[: len(base) - node.level + 1] + ([mod] if mod else []))
            for a in node.names:
                full = f"{mod}.{a.name}"
                if full in known:
                    aliases[a.asname or a.name] = full
                elif mod.startswith("sigprop") and a.name.startswith("_") and not a.name.startswith("__"):
                    found.append(f"from {mod} import {a.name} (line {node.lineno})")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.asname and a.name in known:        # ``import x.y`` itself is read as ``x.y._z`` below
                    aliases[a.asname] = a.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            parts, value = [], node.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name):
                target = aliases.get(value.id) if not parts else ".".join([value.id, *reversed(parts)])
                if target in known and target != name:
                    found.append(f"{target}.{node.attr} (line {node.lineno})")
    return found


def test_no_function_is_longer_than_80_lines():
    long = [f"{rel}:{line} {fn} ({n} lines)" for rel, path in _files().items() if rel not in LONG_FUNCTIONS_ALLOWED
            for fn, line, n in long_functions(ast.parse(path.read_text(), rel))]
    assert not long, "functions over 80 lines (split them into named steps): " + "; ".join(long)


def test_the_length_check_sees_a_long_function():
    tree = ast.parse("def f():\n" + "    x = 1\n" * 80 + "\n\ndef g():\n    return 1\n")
    assert long_functions(tree) == [("f", 1, 81)]


def test_no_module_imports_another_modules_private_name():
    files = _files()
    known = {_module(rel) for rel in files}
    found = [f"{rel}: {hit}" for rel, path in files.items() if rel not in PRIVATE_IMPORTS_ALLOWED
             for hit in private_imports(_module(rel), path.name == "__init__.py", ast.parse(path.read_text(), rel),
                                        known)]
    assert not found, "private names imported across modules (make them public or move them): " + "; ".join(found)


def test_the_private_import_check_sees_both_forms():
    known = {"sigprop", "sigprop.rho", "sigprop.rho.a", "sigprop.rho.b"}
    tree = ast.parse("from sigprop.rho.a import _x, y\nfrom sigprop.rho import a\nimport sigprop.rho.a\n"
                     "z = a._w + sigprop.rho.a._v + a.y\n")
    assert private_imports("sigprop.rho.b", False, tree, known) == [
        "from sigprop.rho.a import _x (line 1)", "sigprop.rho.a._w (line 4)", "sigprop.rho.a._v (line 4)"]
    own = ast.parse("def _f():\n    pass\n\nimport sigprop.rho.b\nsigprop.rho.b._f()\n")
    assert private_imports("sigprop.rho.b", False, own, known) == []      # a module's own private name


def _imports_of(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return out


def test_progress_bars_only_through_core_progress():
    direct = [rel for rel, path in _files().items()
              if rel != "sigprop/core/progress.py" and "tqdm" in _imports_of(ast.parse(path.read_text(), rel))]
    assert not direct, "tqdm imported outside sigprop/core/progress.py: " + ", ".join(direct)


def _t_quantile_calls(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Name) and f.id == "stdtrit") or (isinstance(f, ast.Attribute) and (
                    f.attr == "stdtrit" or (f.attr == "ppf" and isinstance(f.value, ast.Attribute)
                                            and f.value.attr == "t"))):
                lines.append(node.lineno)
    return lines


def test_student_t_intervals_only_through_core_stats():
    found = [f"{rel}:{line}" for rel, path in _files().items()
             if rel not in T_QUANTILES_ALLOWED | {"sigprop/core/stats.py"}
             for line in _t_quantile_calls(ast.parse(path.read_text(), rel))]
    assert not found, "Student-t quantiles outside sigprop/core/stats.py (use stats.t_interval): " + ", ".join(found)


def test_the_t_quantile_check_sees_both_spellings():
    tree = ast.parse("from scipy import stats\nfrom scipy.special import stdtrit\n"
                     "a = stats.t.ppf(0.975, 4)\nb = stdtrit(4, 0.975)\nc = stats.norm.ppf(0.975)\n")
    assert _t_quantile_calls(tree) == [3, 4]
