"""Result files: JSON conversion and atomic writes.

A result file is written to a temporary file in the same folder and renamed into
place, so that an interrupted run leaves the previous file or none, never a
truncated one.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sigprop.core.checks import ArgumentError


def jsonable(obj: Any) -> Any:
    """Plain Python data for ``obj``: arrays become lists, NaN becomes ``None``."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps(obj: Any) -> str:
    """``obj`` as indented JSON, NumPy values converted (:func:`jsonable`).

    Parameters
    ----------
    obj : object
        A result: dicts, lists, numbers, NumPy arrays and scalars.

    Returns
    -------
    str
    """
    return json.dumps(jsonable(obj), indent=2)


#: The mark in the name of a temporary file of :func:`atomic_write`:
#: ``.NAME.sigprop-tmp-<pid>-<random>SUFFIX`` beside the target ``NAME``.
TEMPORARY_MARK = ".sigprop-tmp-"


def temporary_name(path: str | os.PathLike[str]) -> str:
    """The prefix of the temporary files of ``path``: ``.NAME.sigprop-tmp-`` (then the writer's
    process id, a dash, a random part and the target's suffix)."""
    return f".{Path(path).name}{TEMPORARY_MARK}"


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files of ``path`` left by writers that no longer run (a process killed
    by SIGKILL cannot remove its own); return what was removed.

    A temporary file names its writer's process id; the files of a process that is alive (a
    concurrent writer of the same target) are kept.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    prefix = temporary_name(path)
    removed: list[Path] = []
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix)]
    except OSError:
        return removed
    for name in names:
        pid_text = name[len(prefix):].split("-", 1)[0]
        if pid_text.isdigit() and (int(pid_text) == os.getpid() or _alive(int(pid_text))):
            continue                          # this process's own, or a live concurrent writer's
        with contextlib.suppress(OSError):
            stale = folder / name
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale)
            else:
                stale.unlink()
            removed.append(stale)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:                           # another user's process: alive
        return True
    return True


def check_target(path: str | os.PathLike[str], argument: str = "path") -> None:
    """Refuse (``ArgumentError`` on ``argument``) a target that exists and is not a regular file
    (a folder, a FIFO, a device, a socket): an atomic write would replace it by a regular file."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ArgumentError(argument, f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
    if not stat.S_ISREG(mode):
        raise ArgumentError(argument, f"{path} exists and is {file_kind(mode)}, not a regular file; "
                                      "choose a file name")


def unwritable_folder(folder: str | os.PathLike[str]) -> str | None:
    """Why this process cannot write files in ``folder`` (created, with its parents, if missing), or
    None when it can: the reason of the ``OSError`` (``Permission denied``, ``Not a directory``,
    ``Read-only file system``) or ``not writable``.
    """
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None if os.access(folder, os.W_OK | os.X_OK) else "not writable"


def file_kind(mode: int) -> str:
    """What a file of mode ``mode`` is, in words: ``a folder``, ``a FIFO (named pipe)``, ..."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a regular file")):
        if test(mode):
            return name
    return "not a regular file"


#: The temporary files of :func:`atomic_write` this process is writing now: a worker process ended
#: by its caller (SIGTERM) removes them before it exits (:func:`remove_own_temporaries`).
_WRITING: set[str] = set()


def remove_own_temporaries() -> None:
    """Remove the temporary files this process is writing (:data:`_WRITING`): called by a worker
    process's SIGTERM handler, where no ``finally`` of :func:`atomic_write` would run."""
    for tmp in list(_WRITING):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _WRITING.discard(tmp)


@contextlib.contextmanager
def _sigterm_blocked():
    """SIGTERM held back while the block runs (in the main thread): a temporary file is created and
    listed in :data:`_WRITING` as one step, so that a SIGTERM handler never misses it."""
    try:
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    except (AttributeError, OSError, ValueError):        # pragma: no cover - no signal masks here
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def atomic_write(path: str | os.PathLike[str], write: Callable[..., Any]) -> None:
    """Call ``write(tmp_path)`` and move the result to ``path`` atomically.

    The temporary file is ``.NAME.sigprop-tmp-<pid>-<random>SUFFIX`` in the target's folder
    (:func:`temporary_name`); it is removed on every way out this process controls (an error,
    Ctrl-C, SIGTERM), and the ones a killed writer left are removed after the next write of the
    same target (:func:`remove_stale_temporaries`).  A worker process (:mod:`sigprop.core.workers`)
    ended by its caller removes the temporary files it is writing before it exits.  A target that
    exists and is not a regular file is refused (:func:`check_target`): a FIFO or a device is never replaced.
    """
    path = Path(path)
    check_target(path)
    with _sigterm_blocked():
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                                   prefix=f"{temporary_name(path)}{os.getpid()}-", suffix=path.suffix)
        _WRITING.add(tmp)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)        # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    finally:
        _WRITING.discard(tmp)
    remove_stale_temporaries(path)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically."""
    text = dumps(obj) + "\n"

    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    atomic_write(path, write)
