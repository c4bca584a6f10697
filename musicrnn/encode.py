"""Files -> one character stream: find the files, pick each one's codec, encode, report.

A broken file never stops the run: it is listed with the reason (file, line,
column where known) and the rest are encoded.  Pieces with the same music are
written once (the codec's `music_key` says what "the same" means, e.g. ABC
ignores titles and tempo; else identical text).  The stream is written atomically, so an interrupted run leaves the old
file in place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import encoders
from encoders import Codec, InputError, Problem
from musicrnn.atomic import write_text


@dataclass(slots=True)
class EncodeReport:
    """What an encode run did: pieces kept, files read, and what was skipped and why."""

    pieces: list[str] = field(default_factory=list)
    files_read: int = 0
    skipped_files: list[Problem] = field(default_factory=list)
    skipped_pieces: list[Problem] = field(default_factory=list)
    duplicates: int = 0

    @property
    def chars(self) -> int:
        return sum(len(p) + 1 for p in self.pieces)


def collect_files(paths: Iterable[str | os.PathLike], codec: Codec | None) -> tuple[list[Path], list[Problem]]:
    """Files to encode under the given files and folders (recursively, sorted).

    In a folder, only files some codec reads (or `codec`'s suffixes) are taken;
    a path that does not exist is reported."""
    found: list[Path] = []
    missing: list[Problem] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and _readable_by(f, codec):
                    found.append(f)
        elif p.is_file():
            found.append(p)
        else:
            missing.append(Problem("no such file or folder", path=str(p)))
    return found, missing


def _readable_by(path: Path, codec: Codec | None) -> bool:
    if codec is not None:
        return path.name.lower().endswith(codec.suffixes)
    return encoders.codec_for_path(path) is not None


def encode_files(
    files: list[Path],
    codec: Codec | None = None,
    options: dict | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> EncodeReport:
    """Encode files into normalized pieces (the codec from `codec` or each file's suffix)."""
    report = EncodeReport()
    seen: set[str] = set()
    for path in files:
        if on_file:
            on_file(path)
        file_codec = codec or encoders.codec_for_path(path)
        if file_codec is None:
            report.skipped_files.append(Problem("no scheme reads this kind of file (use --scheme)", path=str(path)))
            continue
        try:
            text = encoders.read_text(path)
            result = file_codec.encode_text(text, path=str(path), **(options or {}))
        except InputError as e:
            report.skipped_files.append(e.problem)
            continue
        report.files_read += 1
        report.skipped_pieces.extend(result.problems)
        if not result.pieces:
            report.skipped_files.append(Problem("no playable piece found", path=str(path)))
            continue
        same_music = getattr(file_codec, "music_key", None) or (lambda text: text)
        for piece in result.pieces:
            key = same_music(piece)
            if key in seen:
                report.duplicates += 1
                continue
            seen.add(key)
            report.pieces.append(piece)
    return report


def write_stream(path: str | os.PathLike, pieces: list[str]) -> Path:
    """Write pieces as one stream (blank-line separated), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, encoders.join_stream(pieces))
    return path
