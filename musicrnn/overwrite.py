"""What a command may replace, what it says when it does, and what it says when a write fails.

A command writes the outputs the user named.  Before any work:

- an output that is also an input (the same file: os.path.samefile) is refused, even with --force;
- the file named with --out is replaced only if musicrnn wrote it (and it is unchanged since),
  or with --force;
- any other file the command writes (the tunes' text beside MIDI, song-1.mid, song-2.mid ...
  when there are several pieces) is replaced only if musicrnn wrote it for the same --out
  (and it is unchanged since), or with --force.

After the work, numbered files the last run wrote for the same --out that this run did not
write again (fewer pieces this time) are removed if unchanged, else reported and left.

The record is `.musicrnn-outputs.json` in the output's folder: for each --out name, the files
written for it with their size, modification time and digest.  A file edited since is the
user's.  Refusals and write errors are one line (exit code 2) that names the file:

    >>> outputs = Outputs("song.mid", force=False, inputs=[])          # doctest: +SKIP
    >>> outputs.check(named=["song.mid"], others=["song.abc"])         # refuses before any work
    >>> outputs.write("song.mid", lambda: write_midi(piece, "song.mid"))
    >>> notes = outputs.done()                                         # records; "replaced ..."
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from encoders import UsageError
from musicrnn.atomic import locked_dir, write_text

try:
    import fcntl
except ImportError:  # not POSIX: runs are not locked
    fcntl = None

__all__ = ["MANIFEST", "RUN_LOCK", "FolderInUseError", "OverwriteError", "Outputs", "WriteError", "run_lock"]

MANIFEST = ".musicrnn-outputs.json"
RUN_LOCK = ".lock"
T = TypeVar("T")


class OverwriteError(UsageError):
    """An output would replace a file the user did not let us replace (or an input)."""


class WriteError(UsageError):
    """Writing an output failed (a full disk, a read-only folder); the message says what was written."""


class FolderInUseError(UsageError):
    """Another musicrnn process holds the folder's run lock."""


def _digest(path: str | os.PathLike) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stamp(path: Path) -> dict[str, Any]:
    st = os.lstat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "digest": _digest(path)}


def _unchanged(path: Path, record: Any) -> bool:
    """`path` is the regular file musicrnn recorded (same size, and same time or digest)."""
    if not isinstance(record, dict):
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != record.get("size"):
        return False
    if st.st_mtime_ns == record.get("mtime_ns"):
        return True
    try:
        return _digest(path) == record.get("digest")
    except OSError:
        return False


def _read_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """{--out name: {file name: stamp}}; a missing or damaged record is an empty one (nothing is ours)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    outputs = data.get("outputs") if isinstance(data, dict) else None
    if not isinstance(outputs, dict):
        return {}
    return {k: v for k, v in outputs.items() if isinstance(k, str) and isinstance(v, dict)}


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _names(paths: Iterable[Path], limit: int = 4) -> str:
    paths = [str(p) for p in paths]
    return ", ".join(paths[:limit]) + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


class Outputs:
    """The files one command writes for one --out: checked before, recorded after."""

    def __init__(self, out: str | os.PathLike, *, force: bool = False, inputs: Iterable[str | os.PathLike] = ()):
        self.out = Path(out)
        self.folder = self.out.parent
        self.key = self.out.name
        self.force = force
        self.inputs = [Path(p) for p in inputs]
        self.planned: list[Path] = []
        self.written: list[Path] = []
        self.replaced: list[tuple[Path, str]] = []

    def check(
        self,
        named: Iterable[str | os.PathLike] = (),
        others: Iterable[str | os.PathLike] = (),
        also: Iterable[str | os.PathLike] = (),
    ) -> None:
        """Refuse (OverwriteError) before any work unless every file may be written.

        `named`: files the user named (--out); `others`: side and numbered files in the
        same folder; `also`: written too but checked by the caller (only listed in errors)."""
        named, others = [Path(p) for p in named], [Path(p) for p in others]
        self.planned = named + others + [Path(p) for p in also]
        for path in self.planned:
            for source in self.inputs:
                if os.path.lexists(path) and _same_file(path, source):
                    raise OverwriteError(
                        f"{path}: is also an input of this command; write to another file "
                        "(--force does not change this)"
                    )
        manifest = _read_manifest(self.folder)
        mine = manifest.get(self.key, {})
        refused: list[Path] = []
        for path in named + others:
            if not os.path.lexists(path):
                continue
            if path.is_dir() and not path.is_symlink():
                raise OverwriteError(f"{path}: is a folder; choose another --out")
            if path in named:
                ours = any(_unchanged(path, files.get(path.name)) for files in manifest.values())
            else:
                ours = _unchanged(path, mine.get(path.name))
            if ours:
                self.replaced.append((path, "musicrnn wrote it"))
            elif self.force:
                self.replaced.append((path, "--force"))
            else:
                refused.append(path)
        if refused:
            first = refused[0]
            more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
            whose = (
                "musicrnn did not write it"
                if first in named
                else f"it is not a file musicrnn wrote for --out {self.out}"
            )
            raise OverwriteError(
                f"{first}{more}: already exists and {whose}; use --force to replace it, or choose another --out"
            )

    def write(self, path: str | os.PathLike, writer: Callable[[], T]) -> T:
        """Run `writer` (which writes `path`); an OSError becomes a WriteError saying what was written."""
        path = Path(path)
        try:
            result = writer()
        except OSError as e:
            message = self.failure(path, e)
            self._record(remove_stale=False)  # what was written is musicrnn's all the same
            raise WriteError(message) from e
        self.written.append(path)
        return result

    def failure(self, path: Path, error: OSError) -> str:
        """One line: which file failed and why, what was already written, what was left as it was."""
        name = error.filename if isinstance(error.filename, str) else path
        reason = error.strerror or str(error)
        left = [p for p in self.planned if p not in self.written]
        if path not in left:
            left.insert(0, path)
        done = f"already written: {_names(self.written)}" if self.written else "nothing was replaced"
        return f"{name}: could not write: {reason}; {done}; not written, left as they were: {_names(left)}"

    def done(self) -> list[str]:
        """Record what was written for this --out; remove numbered files of the last run this one
        did not write again.  Returns lines to show the user."""
        notes: list[str] = []
        ours = [p for p, why in self.replaced if why != "--force" and p in self.written]
        forced = [p for p, why in self.replaced if why == "--force" and p in self.written]
        if ours:
            notes.append(f"replaced {_names(ours)} (written by musicrnn before)")
        if forced:
            notes.append(f"replaced {_names(forced)} (--force)")
        return notes + self._record()

    def _record(self, remove_stale: bool = True) -> list[str]:
        """Write the record of this --out's files (and remove stale numbered ones); lines to show."""
        notes: list[str] = []
        files = [p for p in self.written if p.parent == self.folder and p.is_file()]
        if not files:
            return notes
        numbered = re.compile(re.escape(self.out.stem) + r"-[1-9][0-9]*" + re.escape(self.out.suffix))
        removed: list[Path] = []
        kept: list[Path] = []
        try:
            with locked_dir(str(self.folder)):
                manifest = _read_manifest(self.folder)
                previous = manifest.get(self.key, {})
                entry = {p.name: _stamp(p) for p in files}
                for name, record in previous.items():
                    path = self.folder / name
                    if name in entry or not os.path.lexists(path):
                        continue
                    if not (remove_stale and numbered.fullmatch(name)):
                        if _unchanged(path, record):
                            entry[name] = record  # still ours, though not written this time
                    elif _unchanged(path, record):
                        path.unlink()
                        removed.append(path)
                    else:
                        kept.append(path)
                for recorded in manifest.values():  # a file is recorded for one --out only
                    for name in entry:
                        recorded.pop(name, None)
                manifest[self.key] = entry
                manifest = {k: v for k, v in manifest.items() if v}
                write_text(
                    self.folder / MANIFEST,
                    json.dumps({"format": 1, "outputs": manifest}, indent=1, ensure_ascii=False) + "\n",
                )
        except OSError as e:
            notes.append(
                f"could not record the files written in {self.folder / MANIFEST}: "
                f"{e.strerror or e}; next time they count as yours (--force replaces them)"
            )
        if removed:
            notes.append(f"removed {_names(removed)}: written for --out {self.out} by the last run, not by this one")
        if kept:
            notes.append(f"left {_names(kept)}: written for --out {self.out} by an earlier run and changed since")
        return notes


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike, what: str = "train") -> Iterator[None]:
    """Hold FOLDER/.lock (an flock, our pid written in it) while a run uses the folder; a second
    run gets a FolderInUseError naming the pid that holds it.  The folder is created."""
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    if fcntl is None:
        yield
        return
    path = os.path.join(folder, RUN_LOCK)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f"pid {holder}" if holder.isdigit() else "another process"
            raise FolderInUseError(
                f"{folder}: another musicrnn {what} is using this folder ({who}, see "
                f"{path}); wait for it to end or stop it, then try again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)
