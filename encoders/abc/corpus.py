"""The folk corpus: the ABC files inside music21's wheel, normalized into one stream (no download).

    >>> files = folk_files()                      # doctest: +SKIP
    >>> stats = build_folk("corpora/folk.txt")    # doctest: +SKIP

`folk_files()` lists every ``.abc`` file under ``music21/corpus`` (Essen
folksongs, O'Neill's 1850, Ryan's Mammoth Collection, Aird's Airs, miscFolk,
the Josquin parts and a Nottingham sample), sorted by path.  `build_folk`
normalizes each file (`encoders.abc.normalize`), drops tunes whose music
repeats one already written (same M:, L:, K: and music lines; titles, tempo
and rhythm ignored), writes the stream atomically and returns counts.

How the corpus plays in abc2midi (the reference player) is measured by a development tool,
``python -m tools.abc2midi_corpus --out corpora/folk.txt --measure 500`` (see corpora/README.md).
"""

from __future__ import annotations

import os
import pathlib
import tempfile
from collections.abc import Callable, Iterable

from encoders import join_stream, read_text
from encoders.abc.normalize import ALL_SHIFTS, interval_to_c, normalize_tunes, split_tunes, transpose_tune
from encoders.piece import InputError, UsageError

__all__ = ["build_folk", "folk_files", "music_key", "raw_tunes"]


def _corpus_root() -> pathlib.Path | None:
    try:
        import music21
    except ImportError:
        return None
    return pathlib.Path(music21.__file__).resolve().parent / "corpus"


def folk_files() -> list[pathlib.Path]:
    """Every .abc file shipped in music21's corpus folder (about 13,000 tunes in 1,146 files),
    sorted; [] when music21 is not installed."""
    root = _corpus_root()
    if root is None or not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.lower().endswith(".abc"))


def raw_tunes(files: Iterable[pathlib.Path] | None = None) -> list[tuple[pathlib.Path, int, str]]:
    """(file, line of X:, raw text) of every tune of the files (the folk files by default),
    each tune from its X: line to the blank line that ends it."""
    out = []
    for f in folk_files() if files is None else files:
        try:
            text = read_text(f)
        except InputError:
            continue
        tunes, _ = split_tunes(text)
        for line, lines in tunes:
            out.append((f, line, "\n".join(lines).rstrip("\n") + "\n"))
    return out


def music_key(piece: str) -> str:
    """What makes two tunes the same music: the piece without its X: and T: lines, tempo and rhythm."""
    return "\n".join(line for line in piece.split("\n") if not line.startswith(("X:", "T:", "Q:", "R:")))


def _write_atomic(path: pathlib.Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        try:  # mkstemp makes the file 0600; give it the old file's mode or the usual one
            mode = os.stat(path).st_mode & 0o777 if path.exists() else 0o644
            os.fchmod(fd, mode)
        except OSError:
            pass
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(str(path.parent), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def build_folk(
    out_path: str | os.PathLike,
    titles: bool = False,
    transpose: str = "none",
    progress: Callable[[pathlib.Path], None] | None = None,
    files: Iterable[pathlib.Path] | None = None,
    keep_irregular: bool = False,
) -> dict:
    """Normalize the folk files into one stream at `out_path` (written atomically).

    Returns counts: files, files_unreadable, tunes (seen), written (pieces in the stream),
    kept (tunes kept before transposition), duplicates, skipped (by reason), chars."""
    if transpose not in ("none", "C", "all"):
        raise UsageError(f"transpose must be none, C or all, not {transpose!r}")
    files = folk_files() if files is None else list(files)
    seen: set[str] = set()
    pieces: list[str] = []
    stats: dict = {
        "files": 0,
        "files_unreadable": 0,
        "tunes": 0,
        "kept": 0,
        "duplicates": 0,
        "skipped": {},
        "written": 0,
        "chars": 0,
    }
    for f in files:
        if progress is not None:
            progress(f)
        try:
            text = read_text(f)
        except InputError:
            stats["files_unreadable"] += 1
            continue
        stats["files"] += 1
        for tune in normalize_tunes(text, str(f), titles=titles, keep_irregular=keep_irregular):
            stats["tunes"] += 1
            if tune.text is None:
                stats["skipped"][tune.reason] = stats["skipped"].get(tune.reason, 0) + 1
                continue
            key = music_key(tune.text)
            if key in seen:
                stats["duplicates"] += 1
                continue
            seen.add(key)
            stats["kept"] += 1
            try:
                if transpose == "none":
                    pieces.append(tune.text)
                elif transpose == "C":
                    pieces.append(transpose_tune(tune.text, interval_to_c(tune.text)))
                else:
                    pieces.extend(transpose_tune(tune.text, s) for s in ALL_SHIFTS)
            except Exception:  # noqa: BLE001 - a transposition bug must not stop the corpus
                stats["skipped"]["internal error"] = stats["skipped"].get("internal error", 0) + 1
    stream = join_stream(pieces)
    _write_atomic(pathlib.Path(out_path), stream)
    stats["written"] = len(pieces)
    stats["chars"] = len(stream)
    return stats
