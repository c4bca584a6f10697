"""Atomic file writes: a file is either the old one or the complete new one, never half.

Every file the project writes goes through here.  The data is written to a
temporary file in the same directory (so the final rename stays on one file
system), flushed and fsynced, then ``os.replace``d onto the target; the
directory is fsynced too so the rename survives a power cut.  On any error the
temporary file is removed and the target is left untouched, and an OSError that
names no file (a full disk: ``[Errno 28]``) is given the target's name.

A writer holds an flock on its temporary file; one left by a killed process
(``.out.txt.x1y2z3w4.tmp`` after ``kill -9``) holds none, and the next write of
the same file removes it.

    >>> with atomic_path("out/model.safetensors") as tmp:   # doctest: +SKIP
    ...     save_file(tensors, tmp)
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so stale temporary files are left alone
    fcntl = None

__all__ = ["atomic_path", "locked_dir", "write_bytes", "write_text"]


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: str) -> None:
    # Not every platform can open a directory (Windows); the rename is still atomic there.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once: os.umask can only be read by setting it

_TMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")  # mkstemp's: "." + target name + "." + 8 letters + ".tmp"
_seen_tmp: dict[str, set[str]] = {}  # per directory: temporary files found when it was first written in
_held = threading.local()


@contextlib.contextmanager
def locked_dir(directory: str) -> Iterator[None]:
    """Hold an flock on `directory` (re-entrant in one thread): creating a temporary file and
    sweeping stale ones never overlap, nor do read-modify-writes of a folder's records.
    Where a directory cannot be locked (no fcntl, some network file systems) it is not."""
    key = os.path.realpath(directory)
    held = getattr(_held, "dirs", None)
    if held is None:
        held = _held.dirs = set()
    if fcntl is None or key in held:
        yield
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
    finally:
        os.close(fd)  # releases the lock


def _remove_stale(directory: str, name: str) -> None:
    """Remove temporary files of `name` that no writer holds (a killed run left them)."""
    if fcntl is None:
        return
    key = os.path.realpath(directory)
    found = _seen_tmp.get(key)
    if found is None:  # listed once per directory and process: writing N files stays O(N)
        try:
            found = _seen_tmp[key] = {n for n in os.listdir(directory) if _TMP_NAME.fullmatch(n)}
        except OSError:
            return
    prefix = "." + name + "."
    for stale in [n for n in found if n.startswith(prefix) and len(n) == len(prefix) + 12]:
        found.discard(stale)
        path = os.path.join(directory, stale)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live writer holds it
            continue
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path next to `path`; on success it replaces `path` atomically.

    The caller writes the whole file to the yielded path (by any means: open(),
    safetensors, numpy).  If the block raises, the temporary file is deleted and
    `path` keeps whatever it held before."""
    target = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(target)
    name = os.path.basename(target)
    os.makedirs(directory, exist_ok=True)
    with locked_dir(directory):
        _remove_stale(directory, name)
        fd, tmp = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=directory)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until done: says this file is not stale
    try:
        # mkstemp makes the file private (0600); give it the usual permissions instead.
        os.chmod(tmp, 0o666 & ~_UMASK)
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and (e.filename is None or e.filename == tmp):
            e.filename = target  # "[Errno 28] No space left on device: 'out.txt'", not a hidden name
        raise
    finally:
        os.close(fd)
    _fsync_dir(directory)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically, as UTF-8 with '\\n' line ends."""
    write_bytes(path, text.encode("utf-8"))
