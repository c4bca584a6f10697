"""The tunebook: the pieces a composer keeps, one JSON file each in FOLDER/tunebook/, so they
survive a restart; exported as one ABC file or a zip of every piece's text and MIDI.

Only files named by a piece's id (16 hex digits) are read or written, inside the folder
resolved once at start: nothing else in the folder, and nothing outside it, is touched."""

from __future__ import annotations

import io
import json
import os
import stat
import threading
import zipfile
from pathlib import Path

import encoders
from musicrnn.atomic import write_text
from musicrnn.studio.pieces import ID_RE, Record, render_asset

__all__ = ["Tunebook"]

BOOK = "tunebook"
MAX_KEPT = 2000
_MAX_FILE = 1 << 20


def inside(folder: Path, name: str) -> Path:
    """FOLDER/name as a folder to write in, made if missing; StudioError when it is (or leads
    through) a symbolic link out of FOLDER, so nothing is ever written outside it."""
    from musicrnn.studio.compose import StudioError

    path = folder / name
    path.mkdir(exist_ok=True)
    if not path.resolve().is_relative_to(folder) or path.is_symlink():
        raise StudioError(f"{path}: a link out of the studio's folder; nothing is written there")
    return path


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-") or "piece"


class Tunebook:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder).resolve()
        self.dir = self.folder / BOOK
        self.lock = threading.Lock()
        self.records: dict[str, Record] = {}
        self.skipped: list[str] = []
        self._read()

    def _read(self) -> None:
        if not self.dir.is_dir() or self.dir.is_symlink() or not self.dir.resolve().is_relative_to(self.folder):
            if self.dir.exists():
                self.skipped.append(f"{BOOK}: not a folder inside the studio's folder; not read")
            return
        for path in sorted(self.dir.glob("*.json")):
            if not ID_RE.fullmatch(path.stem):
                continue
            try:
                info = os.lstat(path)
                if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_FILE:
                    raise ValueError("not a regular file of a studio piece")
                record = Record.from_dict(json.loads(path.read_text(encoding="utf-8")))
                encoders.get(record.scheme)
                if record.id != path.stem:
                    raise ValueError("its id is not its file's name")
            except (OSError, ValueError, RecursionError, encoders.UsageError) as e:
                self.skipped.append(f"{path.name}: {e}")
                continue
            self.records[record.id] = record
        ordered = sorted(self.records.values(), key=lambda r: r.created)
        self.records = {r.id: r for r in ordered}

    def numbers(self) -> int:
        """The next number a new piece's name may take without repeating a kept one's."""
        taken = [int(r.name.rsplit(" ", 1)[-1]) for r in self.records.values() if r.name.rsplit(" ", 1)[-1].isdigit()]
        return max(taken, default=0) + 1

    def keep(self, record: Record) -> None:
        from dataclasses import asdict

        with self.lock:
            if record.id not in self.records and len(self.records) >= MAX_KEPT:
                from musicrnn.studio.compose import StudioError

                raise StudioError(f"the tunebook holds {MAX_KEPT} pieces; discard some first")
            text = json.dumps(asdict(record), ensure_ascii=False, indent=1)
            write_text(inside(self.folder, BOOK) / f"{record.id}.json", text)
            self.records[record.id] = record

    def drop(self, piece_id: str) -> bool:
        with self.lock:
            if self.records.pop(piece_id, None) is None:
                return False
            path = self.dir / f"{piece_id}.json"
            if ID_RE.fullmatch(piece_id) and path.is_file() and not path.is_symlink():
                path.unlink()
            return True

    def get(self, piece_id: str) -> Record | None:
        with self.lock:
            return self.records.get(piece_id)

    def all(self) -> list[Record]:
        with self.lock:
            return list(self.records.values())

    def abc(self) -> str:
        """Every kept ABC tune in one file, numbered X:1, X:2 ... (other schemes are in the zip)."""
        tunes = [r for r in self.all() if r.scheme == "abc"]
        codec = encoders.get("abc") if tunes else None
        return encoders.join_stream(codec.label(r.text, i + 1) for i, r in enumerate(tunes)) if tunes else ""

    def zip(self) -> bytes:
        """Each kept piece's text and MIDI, and tunebook.abc."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            used: set[str] = set()
            for record in self.all():
                stem = _slug(record.name)
                while stem in used:
                    stem += "-"
                used.add(stem)
                z.writestr(stem + encoders.get(record.scheme).suffixes[0], record.text)
                z.writestr(stem + ".mid", render_asset(record, "piece.mid")[0])
            if any(r.scheme == "abc" for r in self.all()):
                z.writestr("tunebook.abc", self.abc())
        return out.getvalue()
