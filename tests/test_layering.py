"""The package's architecture, enforced: no import cycle and no upward import.

Every ``import`` statement in ``sigprop/`` (at module level or inside a function: a lazy
import may not hide a cycle), and every ``importlib.import_module`` of a literal name, is read
from the source; a module's imports come before its code (none at the bottom, where an import
would run only after the module's own definitions and could hide a cycle from a reader).
Sub-packages are ranked; a module may import from its own layer or a lower one, never a higher
one, and the graph of modules must have no cycle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sigprop"

# lowest first: a module may import only from its own rank or a lower one
LAYERS = {
    "sigprop._version": 0, "sigprop.core": 0,
    "sigprop.plotting": 1,
    "sigprop.rho": 2,
    "sigprop.model": 3,
    "sigprop.gap": 4,
    "sigprop.checkpoints": 5,
    "sigprop.lm": 6,
    "sigprop.stack": 6,     # the deep-stack recursion and its simulation (uses sigprop.gap)
    "sigprop.sweep": 7,
    "sigprop.claims": 8,
    "sigprop.explore": 9,   # the interactive page of ``sigprop explore`` (a top layer, beside the CLI)
    "sigprop.cli": 10,
    "sigprop": 11,          # the package's __init__ and sigprop.loading (``sigprop.load``, every result type)
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def rank(name: str) -> int:
    best = max((k for k in LAYERS if name == k or name.startswith(k + ".")), key=len)
    return LAYERS[best]


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The sigprop modules ``name`` imports (resolving relative imports)."""
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and _is_import_module(node.func)):
            targets = [node.args[0].value]             # importlib.import_module("sigprop.x"): an edge too
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = base[: len(base) - node.level + 1]
                mod = ".".join(prefix + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # a name that is a submodule is an edge to it; any other name, to ``mod``
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t.startswith("sigprop") and t != name:
                found.add(t)
    return found


def _is_import_module(func: ast.AST) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id == "import_module")


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    g = {n: imports(n, p, known) for n, p in mods.items()}
    # importing a.b.c runs a/__init__ and a/b/__init__ too, but those edges belong to the
    # packages' own imports: keep the graph to the modules actually named
    return {n: {t for t in ts if t != "sigprop" or n == "sigprop"} for n, ts in g.items()}


def test_every_module_has_a_layer():
    for name in modules():
        assert rank(name) >= 0, name


def test_no_upward_import():
    upward = [(n, t) for n, ts in graph().items() for t in ts
              if n != "sigprop" and rank(t) > rank(n)]
    assert not upward, "upward imports: " + ", ".join(f"{a} -> {b}" for a, b in upward)


def test_no_import_cycle():
    g = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for t in sorted(g.get(n, ())):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[n] = 2

    for n in sorted(g):
        if n not in state:
            visit(n)


def test_the_check_sees_a_planted_cycle(tmp_path):
    # the walker must resolve relative and lazy imports, or the tests above prove nothing
    pkg = tmp_path / "sigprop" / "rho"
    pkg.mkdir(parents=True)
    (tmp_path / "sigprop" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from . import b\n")
    (pkg / "b.py").write_text("from sigprop.rho.a import f\n")
    known = {"sigprop", "sigprop.rho", "sigprop.rho.a", "sigprop.rho.b"}
    assert imports("sigprop.rho.a", pkg / "a.py", known) == {"sigprop.rho.b"}
    assert imports("sigprop.rho.b", pkg / "b.py", known) == {"sigprop.rho.a"}


def test_module_level_imports_come_first():
    # an import below a module's code runs after its definitions, where it can hide a cycle from a reader
    late = []
    for name, path in modules().items():
        body = ast.parse(path.read_text(), str(path)).body
        code_seen = False
        for node in body:
            is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if code_seen:
                    late.append(f"{name}:{node.lineno}")
            elif not is_doc and not isinstance(node, ast.If):     # `if TYPE_CHECKING:` blocks may import
                code_seen = True
    assert not late, "imports below a module's code: " + ", ".join(late)


def test_the_ledger_imports_its_row_modules_where_the_check_sees_them():
    # the runner imports every row module by name at the top, and no row module imports the runner
    g = graph()
    rows = {"sigprop.claims.bhk24", "sigprop.claims.nnt_variants", "sigprop.claims.data", "sigprop.claims.softmax",
            "sigprop.claims.lm", "sigprop.claims.nnt", "sigprop.claims.stack"}
    assert rows <= g["sigprop.claims.ledger"]
    assert not [r for r in rows if "sigprop.claims.ledger" in g[r]]


def test_the_check_sees_import_module_of_a_literal_name(tmp_path):
    pkg = tmp_path / "sigprop" / "rho"
    pkg.mkdir(parents=True)
    (pkg / "a.py").write_text("import importlib\n\ndef f():\n    return importlib.import_module('sigprop.rho.b')\n")
    known = {"sigprop", "sigprop.rho", "sigprop.rho.a", "sigprop.rho.b"}
    assert imports("sigprop.rho.a", pkg / "a.py", known) == {"sigprop.rho.b"}
