"""Files -> one character stream: find the files, pick each one's codec, encode, report.

Streaming: files are encoded one by one (by `--jobs` worker processes) and
their pieces appended to the stream as they come, so a folder of any size is
encoded in small memory; `musicrnn.data.prepare` then turns the stream into the
memory-mapped token files training reads.

A broken file never stops the run: it is listed with the reason (file, line,
column where known) and the rest are encoded.  Pieces with the same music are
written once (the codec's `music_key` says what "the same" means, e.g. ABC
ignores titles and tempo; else identical text).  The stream is written atomically, so an
interrupted run leaves the old file in place.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import encoders
from encoders import InputError, Problem, Scheme, UsageError
from musicrnn.atomic import atomic_path


@dataclass(slots=True)
class EncodeReport:
    """What an encode run did: pieces kept, files read, and what was skipped and why."""

    pieces: int = 0
    chars: int = 0
    """Characters written to the stream (each piece plus the blank line after it)."""
    files_read: int = 0
    skipped_files: list[Problem] = field(default_factory=list)
    skipped_pieces: list[Problem] = field(default_factory=list)
    duplicates: int = 0


@dataclass(slots=True)
class FileResult:
    """One file's pieces with the digests that de-duplicate them, or why it was skipped."""

    pieces: list[tuple[str, bytes]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: Problem | None = None
    read: bool = True
    """False when the file could not be read or encoded at all."""


class _NothingToWrite(Exception):
    pass


def reasons(problems: Iterable[Problem]) -> list[tuple[str, int]]:
    """Why pieces or files were skipped, each reason once with how many, commonest first: a
    problem's message without the piece it names (``tune X:3 ('Title'): ``) and without
    its details (after the next colon), numbers and quoted parts."""
    from collections import Counter

    def reason(message: str) -> str:
        message = _PIECE_NAME.sub("", message, count=1)
        message = re.sub(r"\([^)]*\)", "", message.split(":", 1)[0])
        message = re.sub(r"'[^']*'|\"[^\"]*\"|\d+(?:[./]\d+)*", "N", message)
        return re.sub(r"\s+", " ", message).strip()

    return Counter(reason(p.message) for p in problems).most_common()


_PIECE_NAME = re.compile(r"^tune X:\S*( \((?:'[^']*'|\"[^\"]*\")\))?: ")


def collect_files(paths: Iterable[str | os.PathLike], codec: Scheme | None) -> tuple[list[Path], list[Problem]]:
    """Files to encode under the given files and folders (recursively, sorted), and the
    problems met finding them.

    In a folder, only names some codec reads (or `codec`'s suffixes) are taken; of
    those, what is not a regular file (a broken symbolic link, a FIFO, a device) is
    reported, not read.  A path that does not exist is reported."""
    found: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if not _readable_by(f, codec) or f.is_dir():
                    continue
                if f.is_file():
                    found.append(f)
                else:
                    problems.append(Problem(_not_a_file(f), path=str(f)))
        elif p.is_file():
            found.append(p)
        elif os.path.lexists(p):
            problems.append(Problem(_not_a_file(p), path=str(p)))
        else:
            problems.append(Problem("no such file or folder", path=str(p)))
    return found, problems


def _not_a_file(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "broken symbolic link (its target does not exist)"
    return "not a regular file (a FIFO, socket or device); not read"


def _readable_by(path: Path, codec: Scheme | None) -> bool:
    if codec is not None:
        return codec.reads(path)
    return encoders.codec_for_path(path) is not None


def check_options(scheme: str | None, options: dict | None) -> None:
    """UsageError, before any file is read, for an option `scheme` does not declare (with
    no scheme, one that no scheme declares: each file's scheme takes its own)."""
    options = options or {}
    if scheme:
        encoders.get(scheme).check_options(options, "encode")
        return
    declared = encoders.declared_options("encode")
    for name in options:
        if name not in declared:
            raise UsageError(
                f"no scheme has the encode option {name!r} (the options: {', '.join(sorted(declared)) or 'none'})"
            )
    for scheme_ in encoders.all_schemes():
        scheme_.own_options(options, "encode")  # each value checked by a scheme that takes it


def encode_file(path: Path, scheme: str | None = None, options: dict | None = None) -> FileResult:
    """One file's normalized pieces (codec from `scheme` or the file's suffix), each with
    the digest of its music (the codec's `music_key`) for de-duplication.  With no
    `scheme`, each file's scheme takes the `options` it declares.  Runs in a worker
    process, so it takes a scheme name rather than a codec."""
    codec = encoders.get(scheme) if scheme else encoders.codec_for_path(path)
    if codec is None:
        return FileResult(
            skipped=Problem("no scheme reads this kind of file (use --scheme)", path=str(path)), read=False
        )
    options = options or {}
    try:
        result = codec.encode_file(path, **(options if scheme else codec.own_options(options)))
    except InputError as e:
        return FileResult(skipped=e.problem, read=False)
    except Exception as e:  # a bug on one file must not lose the others
        if encoders.debugging():
            raise
        return FileResult(skipped=Problem(f"internal error: {type(e).__name__}: {e}", path=str(path)), read=False)
    if not result.pieces:
        return FileResult(problems=result.problems, skipped=Problem("no playable piece found", path=str(path)))
    digests = [hashlib.blake2b(codec.music_key(p).encode("utf-8"), digest_size=16).digest() for p in result.pieces]
    return FileResult(pieces=list(zip(result.pieces, digests)), problems=result.problems)


def _worker_start(parent: int) -> None:
    """A pool worker: Ctrl-C is the parent's to handle (it stops the pool), and a worker whose
    parent is gone (kill -9) ends at once and quietly instead of printing BrokenPipe tracebacks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # writing to a dead parent ends the worker, silently
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before that
        os._exit(0)


def encode_to_stream(
    files: list[Path],
    out: str | os.PathLike,
    scheme: str | None = None,
    options: dict | None = None,
    jobs: int = 1,
    on_file: Callable[[Path], None] | None = None,
) -> EncodeReport:
    """Encode files into one stream file, streaming: file by file, `jobs` worker processes.

    Files are encoded in parallel but written in their given order, so the
    stream does not depend on `jobs`.  Memory stays small for a corpus of any
    size: at most a window of files' pieces is held at a time, and pieces with the
    same music are recognized by a 16-byte digest rather than their text.  The
    stream is written atomically (an interrupted run leaves the old file).  UsageError,
    before any work, for an option no scheme of the run takes (see `check_options`)."""
    check_options(scheme, options)
    report = EncodeReport()
    seen: set[bytes] = set()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = functools.partial(encode_file, scheme=scheme, options=options)
    jobs = max(1, min(jobs, len(files)))
    pool = multiprocessing.get_context("fork").Pool(jobs, _worker_start, (os.getpid(),)) if jobs > 1 else None
    try:
        with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            window = 32 * jobs  # files in flight: bounds what waits in memory to be written
            for lo in range(0, len(files), window):
                part = files[lo : lo + window]
                results = pool.imap(work, part) if pool is not None else map(work, part)
                for path, res in zip(part, results):
                    if on_file:
                        on_file(path)
                    report.skipped_pieces.extend(res.problems)
                    if res.skipped is not None:
                        report.skipped_files.append(res.skipped)
                    report.files_read += res.read
                    for piece, digest in res.pieces:
                        if digest in seen:
                            report.duplicates += 1
                            continue
                        seen.add(digest)
                        if report.pieces:
                            fh.write(encoders.PIECE_SEPARATOR)
                        text = piece if piece.endswith("\n") else piece + "\n"
                        fh.write(text)
                        report.pieces += 1
                        report.chars += len(text) + 1
                if not report.pieces:
                    raise _NothingToWrite  # keep whatever `out` held before
    except _NothingToWrite:
        pass
    finally:
        if pool is not None:
            pool.terminate()
    return report
