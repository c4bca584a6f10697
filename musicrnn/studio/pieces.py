"""The pieces of a studio session: what each card shows, and its files made on demand
(score, audio, piano roll, MIDI, text, Guitar Pro), each made once and kept a while."""

from __future__ import annotations

import io
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import encoders
from musicrnn.studio.compose import StudioError, bar_ends, transposable

__all__ = ["ASSETS", "Record", "Session", "render_asset"]

ID_RE = re.compile(r"[0-9a-f]{16}")
MAX_RECORDS = 500
"""Pieces of this session the server remembers (kept ones are also on disk, for ever)."""
MAX_CACHED_BYTES = 256 << 20
"""Rendered files kept in memory (a minute of WAV is 10 MB)."""


@dataclass(slots=True)
class Record:
    """One piece: where it came from and its text (everything else is made from the text)."""

    id: str
    name: str
    model: str
    scheme: str
    kind: str
    text: str
    created: float
    made: str = "new"
    """new, continue, vary, transpose or midi (continues an uploaded MIDI file)."""
    parent: str | None = None
    settings: dict = field(default_factory=dict)
    repairs: list[str] = field(default_factory=list)

    @staticmethod
    def from_dict(data: Any) -> Record:
        """A record read back (the tunebook's files); ValueError for anything else."""
        if not isinstance(data, dict):
            raise ValueError("not a studio piece")
        try:
            record = Record(**{k: data[k] for k in Record.__slots__ if k in data})
        except TypeError:  # a field missing
            raise ValueError("not a studio piece") from None
        texts = (record.id, record.name, record.model, record.scheme, record.kind, record.text, record.made)
        if (
            not all(isinstance(t, str) for t in texts)
            or not ID_RE.fullmatch(record.id)
            or not isinstance(record.created, (int, float))
            or isinstance(record.created, bool)
            or not (record.parent is None or isinstance(record.parent, str))
            or not isinstance(record.settings, dict)
            or not (isinstance(record.repairs, list) and all(isinstance(r, str) for r in record.repairs))
        ):
            raise ValueError("not a studio piece")
        return record


def new_id() -> str:
    return secrets.token_hex(8)


def _codec(record: Record):
    return encoders.get(record.scheme)


def _decoded(record: Record):
    return _codec(record).decode(record.text)


def card(record: Record, kept: bool) -> dict[str, Any]:
    """What the page needs to draw a card (its files are fetched from /api/piece/ID/...)."""
    decoded = _decoded(record)
    piece = decoded.piece
    data = asdict(record)
    data.update(
        kept=kept,
        notes=len(piece.notes),
        bars=len(bar_ends(record.text, record.scheme)),
        seconds=round(piece.end * 60.0 / piece.tempo, 1) if piece.tempo else None,
        files=[name for name in ASSETS if _offered(record, name)],
        suffix=_codec(record).suffixes[0],
        transposable=transposable(record.scheme),
    )
    codec = _codec(record)
    if ".tab" in codec.piece_files:  # a tab: the staff a guitarist prints, beside the engraved one
        data["staff"] = codec.piece_file(record.text, ".tab", title=record.name)[0].decode("utf-8")
    return data


def _offered(record: Record, name: str) -> bool:
    if name == "piece.gp5":
        return ".gp5" in _codec(record).piece_files
    return True


def _svg(record: Record, tmp: Path) -> bytes:
    from musicrnn.pictures import mei_svg, score_svg

    mei = _codec(record).engrave_mei(record.text, record.name)
    if mei is not None:  # a scheme engraved its own way (tabs: a tab staff)
        return mei_svg(mei).encode("utf-8")
    score_svg(_decoded(record).piece, tmp / "s.svg", text=record.text, scheme=record.scheme)
    return (tmp / "s.svg").read_bytes()


def _wav(record: Record, tmp: Path) -> bytes:
    from musicrnn.audio import write_audio

    write_audio(_decoded(record).piece, tmp / "a.wav", scheme=record.scheme, max_minutes=10)
    return (tmp / "a.wav").read_bytes()


def _png(record: Record, tmp: Path) -> bytes:
    from musicrnn.pictures import piano_roll_png

    piano_roll_png(_decoded(record).piece, tmp / "r.png", title=record.name)
    return (tmp / "r.png").read_bytes()


def _mid(record: Record, tmp: Path) -> bytes:
    from musicrnn.audio import piece_for_listening
    from musicrnn.render import to_midi

    out = io.BytesIO()
    to_midi(piece_for_listening(_decoded(record).piece, record.scheme)).save(file=out)
    return out.getvalue()


def _gp5(record: Record, tmp: Path) -> bytes:
    return _codec(record).piece_file(record.text, ".gp5", title=record.name)[0]


ASSETS = {
    "score.svg": (_svg, "image/svg+xml"),
    "audio.wav": (_wav, "audio/wav"),
    "roll.png": (_png, "image/png"),
    "piece.mid": (_mid, "audio/midi"),
    "piece.txt": (lambda record, tmp: record.text.encode("utf-8"), "text/plain; charset=utf-8"),
    "piece.gp5": (_gp5, "application/octet-stream"),
}
"""The files of a piece: name -> (how it is made, its media type)."""


def render_asset(record: Record, name: str) -> tuple[bytes, str]:
    """One file of a piece, made now (StudioError for a file this piece has not)."""
    if name not in ASSETS or not _offered(record, name):
        raise StudioError(f"this piece has no {name[:40]}")
    make, media = ASSETS[name]
    with tempfile.TemporaryDirectory(prefix="musicrnn-studio-") as tmp:
        return make(record, Path(tmp)), media


class Session:
    """The pieces made since the server started (the newest MAX_RECORDS), and their files
    once made (at most MAX_CACHED_BYTES, the least recently used dropped first)."""

    def __init__(self, first_number: int = 1):
        self.records: OrderedDict[str, Record] = OrderedDict()
        self.files: OrderedDict[tuple[str, str], tuple[bytes, str]] = OrderedDict()
        self.cached = 0
        self.number = first_number
        self.lock = threading.Lock()
        self.making: dict[tuple[str, str], threading.Lock] = {}

    def add(self, model: str, scheme: str, kind: str, text: str, **about: Any) -> Record:
        with self.lock:
            name = f"{model} {self.number}"
            self.number += 1
            record = Record(new_id(), name, model, scheme, kind, text, time.time(), **about)
            self.records[record.id] = record
            while len(self.records) > MAX_RECORDS:
                self.records.popitem(last=False)
            return record

    def get(self, piece_id: str) -> Record | None:
        with self.lock:
            return self.records.get(piece_id)

    def asset(self, record: Record, name: str) -> tuple[bytes, str]:
        """A piece's file, made once (two requests for it wait for one rendering)."""
        key = (record.id, name)
        with self.lock:
            if key in self.files:
                self.files.move_to_end(key)
                return self.files[key]
            making = self.making.setdefault(key, threading.Lock())
        with making:
            with self.lock:
                if key in self.files:
                    return self.files[key]
            try:
                made = render_asset(record, name)
            finally:
                with self.lock:
                    self.making.pop(key, None)
            with self.lock:
                self.files[key] = made
                self.cached += len(made[0])
                while self.cached > MAX_CACHED_BYTES and len(self.files) > 1:
                    _, (data, _) = self.files.popitem(last=False)
                    self.cached -= len(data)
            return made
