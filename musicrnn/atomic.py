"""Atomic file writes: a file is either the old one or the complete new one, never half.

Every file the project writes goes through here.  The data is written to a
temporary file in the same directory (so the final rename stays on one file
system), flushed and fsynced, then ``os.replace``d onto the target; the
directory is fsynced too so the rename survives a power cut.  On any error the
temporary file is removed and the target is left untouched.

    >>> with atomic_path("out/model.safetensors") as tmp:   # doctest: +SKIP
    ...     save_file(tensors, tmp)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator

__all__ = ["atomic_path", "write_bytes", "write_text"]


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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path next to `path`; on success it replaces `path` atomically.

    The caller writes the whole file to the yielded path (by any means: open(),
    safetensors, numpy).  If the block raises, the temporary file is deleted and
    `path` keeps whatever it held before."""
    target = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        # mkstemp makes the file private (0600); give it the usual permissions instead.
        os.chmod(tmp, 0o666 & ~_UMASK)
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically, as UTF-8 with '\\n' line ends."""
    write_bytes(path, text.encode("utf-8"))
