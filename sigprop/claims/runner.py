"""The ledger's rows in worker processes, each row's result cached: :func:`run_rows`.

**Groups.** Rows that share an experiment (``ctx.shared(key, ...)``, or another row's
measurement through ``measured(id, ctx)``) run in one worker with one context, so that nothing
is computed twice; the groups are found by reading the rows' source (:func:`shared_keys`: the
keys of the ``shared`` and ``measured`` calls in the row's function and in the functions of the
claim modules it calls; a key built by an f-string stands for every key with its literal
prefix).  Each group is one task of :func:`sigprop.core.workers.run` (forked processes on
Linux), its BLAS held to one thread, with its own context.  A shared value computed by two
groups (a key the reading missed) is reported in the run's notes.

**Cache.** A row's result is stored under
``(version, mode, claim id, hash of the source of the modules its code can import, the versions
of Python, NumPy and SciPy)``
(:func:`row_key`; the modules are the static import closure, inside the ``sigprop`` packages,
of the modules of the row and of the rows it measures) in :func:`cache_dir`, together with the
hash of every data file the row opened for reading (recorded through Python's audit hook
``open``: the stored results of ``results/``, a fixture package's ``METADATA`` and
``config.json``; a file opened by compiled code alone, such as a ``.safetensors`` model read by
the Rust library, is not seen, and is covered by its package's version).  A stored row is read back only
when its key matches and every file it read is unchanged; ``fresh=True`` recomputes every row
(and stores it again).  A row that could not run (:class:`~sigprop.claims.registry.NotRun`) is
never stored.
"""
from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import importlib.util
import inspect
import json
import os
import pickle
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sigprop._version import __version__

#: The packages whose modules count in a row's source hash (the others are third-party).
OWN_PACKAGES = ("sigprop", "sigprop_results", "sigprop_figures", "sigprop_benchmarks")
#: Suffixes of files that are code, not data (their opening is not recorded).
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".so", ".pyd", ".pth", ".typed")


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/sigprop``, or ``~/.cache/sigprop`` when ``XDG_CACHE_HOME`` is unset or empty."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sigprop"


# --- which rows share what ----------------------------------------------------------------

def _key_text(node: ast.AST) -> str:
    """The literal key of a ``shared``/``measured`` argument; an f-string gives its literal prefix
    followed by ``*`` (any continuation); anything else ``*`` (any key)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        prefix = ""
        for part in node.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                prefix += part.value
            else:
                break
        return prefix + "*"
    return "*"


#: The ledger's own functions a row calls: read as calls (``measured(id, ...)``), not followed.
_MACHINERY = ("measured", "evaluate", "shared")


def _walk(fn: Callable, home: str, keys: set[str], seen: set) -> None:
    if fn in seen:
        return
    seen.add(fn)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        keys.add("*")                                 # unreadable: may share anything
        return
    names = fn.__globals__
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            f = node.func
            callee = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if callee == "shared":
                keys.add(_key_text(node.args[0]))
            elif callee == "measured":
                keys.add("claim:" + _key_text(node.args[0]))
        if isinstance(node, ast.Name):
            obj = names.get(node.id)
            if (inspect.isfunction(obj) and obj.__name__ not in _MACHINERY
                    and (obj.__module__ == home or obj.__module__.startswith("sigprop.claims"))):
                _walk(obj, home, keys, seen)


def shared_keys(claim) -> set[str]:
    """The keys of the experiments ``claim`` may share with other rows: ``claim:<id>`` (its own
    measurement), and those of the ``ctx.shared(key, ...)`` and ``measured(id, ctx)`` calls in its
    function and in the functions of its module and of :mod:`sigprop.claims` it calls."""
    keys = {f"claim:{claim.id}"}
    _walk(claim.measure, claim.measure.__module__, keys, set())
    return keys


def _may_match(a: str, b: str) -> bool:
    """Whether two keys (``*`` at the end: any continuation) can name the same value."""
    if a.endswith("*") or b.endswith("*"):
        pa, pb = a.rstrip("*"), b.rstrip("*")
        if a.endswith("*") and b.endswith("*"):
            return pa.startswith(pb) or pb.startswith(pa)
        return b.startswith(pa) if a.endswith("*") else a.startswith(pb)
    return a == b


def groups(claims: list) -> list[list]:
    """``claims`` split into groups that share no experiment (each group in ``claims``' order;
    the groups in the order of their first row)."""
    keys = [shared_keys(c) for c in claims]
    parent = list(range(len(claims)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for i in range(len(claims)):
        for j in range(i):
            if any(_may_match(a, b) for a in keys[i] for b in keys[j]):
                parent[root(i)] = root(j)
    out: dict[int, list] = {}
    for i, c in enumerate(claims):
        out.setdefault(root(i), []).append(c)
    return list(out.values())


# --- what a row's result depends on -------------------------------------------------------

def _module_file(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


@functools.cache
def _imports(name: str, path: Path) -> frozenset[str]:
    """The own-package modules ``name`` (file ``path``) imports anywhere in its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)      # a submodule, when it is one
    out: set[str] = set()
    for mod in found:
        if mod.split(".")[0] in OWN_PACKAGES:
            parts = mod.split(".")
            out.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))   # with the packages above it
    return frozenset(out)


_CLOSURES: dict[str, dict[str, Path]] = {}


def module_closure(name: str) -> dict[str, Path]:
    """Every own-package module (name -> file) that ``name`` imports, directly or not, itself included."""
    if name not in _CLOSURES:
        files: dict[str, Path] = {}
        todo = [name]
        while todo:
            mod = todo.pop()
            if mod in files:
                continue
            path = _module_file(mod)
            if path is None:
                continue
            files[mod] = path
            todo.extend(_imports(mod, path) - set(files))
        _CLOSURES[name] = files
    return _CLOSURES[name]


def file_hash(path: Path | str) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_hash(modules: Iterable[str]) -> str:
    """SHA-256 over the names and contents of the modules' import closures."""
    files: dict[str, Path] = {}
    for m in modules:
        files.update(module_closure(m))
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].read_bytes() + b"\0")
    return h.hexdigest()


def row_key(claim, quick: bool, claims: list) -> str:
    """The cache key of ``claim``'s row: version, mode, id and the source hash of the modules of the
    row and of the rows it measures (``measured(id, ctx)``)."""
    by_id = {c.id: c for c in claims}
    measured = [k[len("claim:"):] for k in shared_keys(claim) if k.startswith("claim:") and not k.endswith("*")]
    modules = {claim.measure.__module__} | {by_id[m].measure.__module__ for m in measured if m in by_id}
    text = json.dumps([__version__, "quick" if quick else "full", claim.id, source_hash(sorted(modules)),
                       library_versions()])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def library_versions() -> list[str]:
    """Python's, NumPy's and SciPy's versions: part of every key (a new NumPy may round differently)."""
    import numpy
    import scipy
    return [sys.version.split()[0], numpy.__version__, scipy.__version__]


# --- the files a row reads ----------------------------------------------------------------

_READS = threading.local()
_HOOKED = False


def _audit(event: str, args: tuple) -> None:
    if event != "open":
        return
    files = getattr(_READS, "files", None)
    if files is None or not args:
        return
    path, mode = args[0], args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 else 0
    if not isinstance(path, (str, bytes, os.PathLike)):
        return
    reading = (isinstance(mode, str) and "r" in mode and "+" not in mode) or \
              (mode is None and isinstance(flags, int) and (flags & 3) == os.O_RDONLY)
    path = os.fsdecode(path)
    if (reading and not path.endswith(CODE_SUFFIXES) and not path.startswith(("/proc/", "/sys/", "/dev/"))
            and not (path.endswith("RECORD") and ".dist-info" in path)):     # listings of installed files
        files.add(os.path.abspath(path))


@contextlib.contextmanager
def recording_reads():
    """Within the block, the files this thread opens for reading (data, not code) collect in the set
    yielded."""
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True
    files: set[str] = set()
    _READS.files = files
    try:
        yield files
    finally:
        _READS.files = None


# --- running ------------------------------------------------------------------------------

def stored(path: Path) -> dict | None:
    """The cache entry at ``path`` if it is readable and every file of its ``files`` (path -> SHA-256:
    what the row read) is unchanged."""
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f)
        if all(os.path.isfile(p) and file_hash(p) == h for p, h in entry["files"].items()):
            return entry
    except Exception:                                 # noqa: BLE001 - a damaged entry is recomputed
        return None
    return None


def _writable(folder: Path) -> None:
    """Refuse, before any row runs, a cache ``folder`` this process cannot write (its rows would be
    computed, then lost): one line naming ``XDG_CACHE_HOME`` and what to do."""
    from sigprop.core.checks import ArgumentError
    from sigprop.core.results import unwritable_folder

    reason = unwritable_folder(folder)
    if reason is not None:
        where = (f"XDG_CACHE_HOME={os.environ['XDG_CACHE_HOME']}" if os.environ.get("XDG_CACHE_HOME") else
                 "XDG_CACHE_HOME is unset, so the cache is ~/.cache/sigprop")
        raise ArgumentError.about("XDG_CACHE_HOME", f"XDG_CACHE_HOME: cannot write the claims cache {folder} "
                                                    f"({reason}; {where}); set XDG_CACHE_HOME to a writable folder")


def store(path: Path, entry: dict) -> None:
    """Write ``entry`` at ``path`` (pickled; written aside, then moved in place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(entry, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def run_rows(todo: list, quick: bool, *, evaluate: Callable, context: Callable, not_run: type[Exception],
             workers: int | None = None, cache: bool = False, fresh: bool = False,
             progress: bool = False, claims: list | None = None) -> tuple[list[dict], list[str], dict]:
    """``(entries, notes, stats)`` for the rows ``todo`` (in their order).

    Parameters
    ----------
    todo : list of Claim
        The rows to run.
    quick : bool
        The ledger's mode.
    evaluate, context, not_run
        :func:`sigprop.claims.registry.evaluate`, :class:`~sigprop.claims.registry.Context` and
        :class:`~sigprop.claims.registry.NotRun` (passed in: this module does not import the ledger).
    workers : int, optional
        Worker processes (default: every core, :func:`sigprop.core.threads.cores`); 1 runs the
        rows in this process.  The numbers do not depend on it.
    cache : bool
        Read and store rows in :func:`cache_dir`.
    fresh : bool
        With ``cache``: recompute every row (and store it again).
    claims : list of Claim, optional
        Every registered claim (to find the modules of the rows a row measures); default ``todo``.

    Returns
    -------
    entries : list of dict
        The rows' results (:func:`~sigprop.claims.registry.evaluate`), in ``todo``'s order.
    notes : list of str
        Rows that could not run, and shared experiments computed by more than one group.
    stats : dict
        ``computed`` and ``cached`` (row ids), ``groups`` (the ids of each group run) and
        ``seconds`` (per computed row, its wall time in its worker).
    """
    from sigprop.core import workers as _workers

    claims = claims if claims is not None else todo
    keys = {c.id: row_key(c, quick, claims) for c in todo} if cache else {}
    folder = cache_dir() / "claims"
    if cache:
        _writable(folder)
    results, cached = _stored_rows(todo, keys, folder) if cache and not fresh else ({}, [])
    pending = [c for c in todo if c.id not in results]
    parts = groups(pending)
    task = _group_task(parts, quick, evaluate, context, not_run)
    done = _workers.run_shown(task, len(parts), workers, total=len(pending), show=progress, desc="claims",
                              unit="claim")
    computed_keys: dict[str, list[int]] = {}
    notes: list[str] = []
    for k, rows in enumerate(done):
        for key in rows[-1]["computed"]:
            computed_keys.setdefault(key, []).append(k)
        for row in rows[:-1]:
            results[row["id"]] = row
            if cache and "entry" in row:
                store(folder / f"{keys[row['id']]}.pkl", row)
    twice = sorted(key for key, where in computed_keys.items() if len(where) > 1)
    if twice:
        notes.append("runner: shared experiments computed in more than one group of rows (a key the source "
                     f"reading missed): {', '.join(twice)}")
    entries = [results[c.id]["entry"] for c in todo if "entry" in results[c.id]]
    notes = [results[c.id]["note"] for c in todo if "note" in results[c.id]] + notes
    stats = dict(computed=[c.id for c in pending], cached=cached, groups=[[c.id for c in g] for g in parts],
                 seconds={c.id: results[c.id]["seconds"] for c in pending})
    return entries, notes, stats


def _stored_rows(todo: list, keys: dict[str, str], folder: Path) -> tuple[dict[str, dict], list[str]]:
    """The rows of ``todo`` found in the cache ``folder`` under their ``keys``, and their ids."""
    results: dict[str, dict] = {}
    cached: list[str] = []
    for c in todo:
        entry = stored(folder / f"{keys[c.id]}.pkl")
        if entry is not None:
            results[c.id] = entry
            cached.append(c.id)
    return results, cached


def _group_task(parts: list[list], quick: bool, evaluate: Callable, context: Callable,
                not_run: type[Exception]) -> Callable[[int, Callable[[int], None]], list[dict]]:
    """The worker task of :func:`run_rows`: group ``k``'s rows in one context, each with the files it
    read and its wall time, then the shared values the group computed."""
    from sigprop.core import threads

    class RowContext(context):                        # type: ignore[misc, valid-type]
        """The ledger's context, recording which shared values it computed."""
        def shared(self, key, compute):
            if key not in self.cache and key != "replica":       # the second seed set: a context per group
                self.computed.append(key)
            return super().shared(key, compute)

    def task(k: int, report: Callable[[int], None]) -> list[dict]:
        ctx = RowContext(quick)
        ctx.computed = []
        out = []
        with threads.blas_threads(1):
            for c in parts[k]:
                t0 = time.perf_counter()
                with recording_reads() as files:
                    try:
                        row: dict[str, Any] = dict(entry=evaluate(c, ctx))
                    except not_run as exc:
                        row = dict(note=f"{c.id}: not run ({exc})")
                hashes = {p: file_hash(p) for p in sorted(files) if os.path.isfile(p)}
                out.append(dict(row, id=c.id, files=hashes, seconds=time.perf_counter() - t0))
                report(1)
        out.append(dict(computed=ctx.computed))
        return out
    return task
