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
    (a folder, a FIFO, a device, a socket), or that is a symbolic link to nothing: an atomic write would
    replace it by a regular file.  (A link to a regular file is written through: :func:`atomic_write`.)"""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            raise ArgumentError(argument, f"{path} is a symbolic link to a missing file ({os.readlink(path)}); "
                                          "choose a file name") from None
        return
    except OSError as exc:
        raise ArgumentError(argument, f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
    if not stat.S_ISREG(mode):
        raise ArgumentError(argument, f"{path} exists and is {file_kind(mode)}, not a regular file; "
                                      "choose a file name")


def cannot_create_in(folder: str | os.PathLike[str]) -> str | None:
    """Why this process cannot create a file in the existing ``folder``, or None when it can: tried, not
    inferred from the permissions (as root ``os.access`` says yes to ``/proc``, where no file can be made).
    The probe ``.sigprop-probe-*`` is removed at once, also when a signal interrupts the check."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return "not writable"
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=".sigprop-probe-", dir=folder)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    try:
        os.close(fd)
    finally:
        os.unlink(probe)
    return None


def unwritable_folder(folder: str | os.PathLike[str]) -> str | None:
    """Why this process cannot write files in ``folder`` (created, with its parents, if missing), or
    None when it can: the reason of the ``OSError`` (``Permission denied``, ``Not a directory``,
    ``Read-only file system``) or ``not writable``.
    """
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return cannot_create_in(folder)


def not_a_file(path: str | os.PathLike[str]) -> str:
    """Why ``path``, not a regular file, cannot be read as an input: ``file not found: PATH``, or what it is
    (``PATH is a FIFO (named pipe), not a regular file``), or the system's reason (a loop of links)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:                   # missing, or a link to nothing
        return f"file not found: {path}"
    except (OSError, ValueError) as exc:        # a loop of links, a name too long, a NUL byte
        return f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
    return f"{path} is {file_kind(mode)}, not a regular file"


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
    exists and is not a regular file is refused (:func:`check_target`): a FIFO or a device is never replaced;
    a symbolic link to a regular file is written through (the file it names is replaced, the link kept).
    """
    path = Path(path)
    check_target(path)
    if path.is_symlink():                  # to a regular file (check_target): write the file, keep the link
        path = Path(os.path.realpath(path))
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


# --- Reading the files a user names -------------------------------------------------------------------
# Every file sigprop reads from the user's arguments (a checkpoint's config.json, a tokenizer.json, a
# sweep specification, a bench or run record, a corpus's text, a result file for sigprop.load) goes
# through read_text / read_json: a file that is not regular is refused (a FIFO or a device would be read
# for ever), and its size is checked by stat against the limit of its kind before a byte is read.

#: Largest configuration file read (bytes): a checkpoint's ``config.json`` (a few kB), a sweep
#: specification (TOML, a few kB for a million-cell grid), a ``sigprop bench --out`` result (20 kB).
CONFIG_BYTES = 10 ** 7
#: Largest record file read (bytes): a run's ``run.json`` (50 kB for a 10 000-step run with its history;
#: it grows linearly with the evaluations), a ``tokenizer.json`` (0.7 MB for MiniLM; the largest public
#: vocabularies, 256 000 tokens, about 35 MB).
RECORD_BYTES = 10 ** 8


def file_size(path: str | os.PathLike[str], argument: str, what: str, *, limit: float | None = None,
              per_byte: float | None = None) -> int:
    """The size of the regular file ``path`` (bytes), checked before it is read.

    Parameters
    ----------
    path : str or path
    argument : str
        The argument refused (``ArgumentError.argument``).
    what : str
        What the file should be, in words (``"a checkpoint's config.json"``).
    limit : float, optional
        The most bytes accepted.
    per_byte : float, optional
        Bytes of memory reading one byte of the file takes: the file is refused when it would take more
        than the machine's memory (:func:`sigprop.core.memory.machine_bytes`).

    Returns
    -------
    int

    Raises
    ------
    ArgumentError
        One line naming ``path``: missing (:class:`~sigprop.core.checks.MissingFileError`), not a
        regular file (a folder, a FIFO, a device), unreadable, or larger than accepted.
    """
    from sigprop.core.checks import MissingFileError
    from sigprop.core.memory import human, machine_bytes

    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise MissingFileError.about(argument, f"{path}: no such file (expected {what})") from None
    except OSError as exc:
        raise ArgumentError.about(argument, f"{path}: cannot read it: {exc.strerror or type(exc).__name__}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ArgumentError.about(argument, f"{path}: {file_kind(info.st_mode)}, not {what}")
    size = int(info.st_size)
    if limit is not None and not size <= limit:
        raise ArgumentError.about(argument, f"{path}: {human(size)}, more than the {human(limit)} accepted "
                                            f"for {what}")
    if per_byte is not None and not per_byte * size <= machine_bytes():
        raise ArgumentError.about(argument, f"{path}: reading its {human(size)} needs about "
                                            f"{human(per_byte * size)} of memory, more than this machine's "
                                            f"{human(machine_bytes())}")
    return size


def _not_utf8(exc: UnicodeDecodeError) -> str:
    return f"not UTF-8 text: byte {exc.start} is {exc.object[exc.start:exc.start + 1]!r}"


def read_text(path: str | os.PathLike[str], argument: str, what: str, *, limit: float | None = None,
              per_byte: float | None = None, message: Callable[[str], str] | None = None) -> str:
    """The UTF-8 text of ``path``, read once :func:`file_size` has accepted it.

    ``message(reason)`` words a refusal of the content (default ``"PATH: not WHAT (REASON)"``); the
    other parameters are :func:`file_size`'s.

    Raises
    ------
    ArgumentError
        One line naming ``path``: as :func:`file_size`, or the text is not UTF-8, or reading fails.
    """
    file_size(path, argument, what, limit=limit, per_byte=per_byte)
    say = message or (lambda reason: f"{path}: not {what} ({reason})")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArgumentError.about(argument, say(_not_utf8(exc))) from None
    except OSError as exc:
        raise ArgumentError.about(argument, f"{path}: cannot read it: {exc.strerror or type(exc).__name__}") from None


#: The JSON type of each Python type :func:`read_json` may require at the top of a file.
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
               float: "a number"}


def read_json(path: str | os.PathLike[str], argument: str, what: str, *, limit: float | None = None,
              per_byte: float | None = None, top: type | None = dict,
              message: Callable[[str], str] | None = None, parse_constant: Callable[[str], Any] | None = None,
              parse_float: Callable[[str], Any] | None = None, parse_int: Callable[[str], Any] | None = None) -> Any:
    """The JSON document of ``path``, read by :func:`read_text`.

    Parameters
    ----------
    top : type or None
        The type the document must have at its top (``dict``: a JSON object; ``None``: any).
    parse_constant, parse_float, parse_int : callable, optional
        :func:`json.loads`'s: for ``NaN``, ``Infinity``, ``-Infinity``; for every real number; for every integer.

    Raises
    ------
    ArgumentError
        One line naming ``path``: as :func:`read_text`, or not JSON, nested too deeply to read (a
        100 000-deep array), holding an integer of more digits than Python converts, or its top is not
        of type ``top``.
    """
    text = read_text(path, argument, what, limit=limit, per_byte=per_byte, message=message)
    say = message or (lambda reason: f"{path}: not {what} ({reason})")
    try:
        data = json.loads(text, parse_constant=parse_constant, parse_float=parse_float, parse_int=parse_int)
    except json.JSONDecodeError as exc:
        raise ArgumentError.about(argument, say(f"not JSON: {exc}")) from None
    except RecursionError:
        raise ArgumentError.about(argument, say("JSON nested too deeply to read")) from None
    except ValueError as exc:                # an integer of more digits than Python converts (4300)
        reason = str(exc).split(";")[0]
        raise ArgumentError.about(argument, say(f"a JSON number Python cannot read: {reason}")) from None
    if top is not None and not isinstance(data, top):
        got = "null" if data is None else _JSON_TYPES.get(type(data), f"a {type(data).__name__}")
        raise ArgumentError.about(argument, say(f"JSON {got}, not {_JSON_TYPES.get(top, top.__name__)}"))
    return data
