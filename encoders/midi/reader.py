"""Read a Standard MIDI File into a `Piece` (mido parses the bytes; this module only interprets them).

What is read
------------
* **Notes** from every track and channel except channel 10 (index 9, General MIDI
  drums, which have no pitch in our sense): a note starts at a ``note_on`` with
  velocity > 0 and ends at the next ``note_off`` (or ``note_on`` velocity 0) of the
  same pitch on the same channel in the same track; when one pitch is struck again
  before it was released, the releases end the notes first struck first.  A note
  never released ends at the end of its track.  Zero-length notes are dropped.
* **Times** in beats: ticks / ticks-per-quarter-note, exactly as the file states
  them (no rounding here; the schemes quantize).  Tempo changes do not move notes
  in beats; the piece keeps the first tempo the file sets (120 when none).
* **Marks** from the marker events (`Piece.marks`: name -> beat; musicrnn marks
  where a model took over from a seed, "continuation").
* **Meter** from the first time signature (4/4 when none, as the MIDI standard
  says), **key** from the first key signature (mido's names: ``G``, ``F#m``), the
  **title** from the first track name of the first track.
* **Parts**: each (track, channel) that holds notes, numbered 1, 2, ... in the
  file's order, is one voice of the piece with its own program (the last
  ``program_change`` on that channel before its first note; 0 when none).
  ``read_piece(path, track=N)`` keeps only part N.

What is refused (`InputError`, naming the file): what is not a regular file (a
FIFO is never opened), bytes that are not MIDI or are cut short, a ``set_tempo``
of 0 (no tempo: it divides by zero), notes that run past `MAX_BEATS` (a stuck
note or a corrupt delta time in a damaged file; the message names the part and
where the note starts), type-2 files (independent sequences, no shared time
line), SMPTE time division (no beats), files with no notes once drums are dropped, and a ``track``
number the file does not have (the message lists the parts there are).

    >>> piece = read_piece("chorale.mid")            # doctest: +SKIP
    >>> piece.meter, piece.key, len(piece.notes)      # doctest: +SKIP
    ((3, 4), 'G', 247)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import mido

from encoders import not_a_file
from encoders.piece import InputError, Note, Piece

__all__ = ["DRUM_CHANNEL", "MAX_BEATS", "MidiPart", "check_tempos", "open_midi", "read_piece", "read_parts"]

MAX_BEATS = 40_000
"""The longest piece read, in quarter notes: 5.5 hours at 120 per minute, and
160,000 steps of the default grid.  A file whose notes run past it is refused
rather than written as a stream of millions of empty steps."""

DRUM_CHANNEL = 9
"""Channel 10 as musicians count, General MIDI's percussion channel."""


@dataclass(slots=True)
class MidiPart:
    """The notes of one (track, channel) pair, in beats."""

    number: int
    track: int
    channel: int
    program: int
    name: str
    notes: list[tuple[int, float, float, int]] = field(default_factory=list)
    """(pitch, onset, duration, velocity)."""

    def describe(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"{self.number}{label} (channel {self.channel + 1}, program {self.program}, {len(self.notes)} notes)"


def open_midi(path: str | os.PathLike) -> mido.MidiFile:
    """A MIDI file parsed by mido, after checking it is a regular file (a FIFO would block)
    and before anyone divides by its tempos (`check_tempos`)."""
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise InputError(not_a_file(p), path=p)
    try:
        mid = mido.MidiFile(p, clip=True)
    except Exception as e:  # noqa: BLE001 - mido raises many kinds (OSError, EOFError, ValueError, KeyError...)
        reason = str(e) or ("the data ends too early" if isinstance(e, EOFError) else "malformed data")
        raise InputError(f"not a readable MIDI file ({reason})", path=p) from None
    check_tempos(mid, p)
    return mid


def check_tempos(mid: mido.MidiFile, path: str = "") -> None:
    """InputError for a set_tempo of 0 microseconds per quarter note: no real tempo (an
    infinitely fast one), which would divide by zero or squeeze every note into no time."""
    for t_index, track in enumerate(mid.tracks):
        now = 0
        for msg in track:
            now += msg.time
            if msg.type == "set_tempo" and msg.tempo <= 0:
                raise InputError(
                    f"track {t_index + 1}, tick {now}: set_tempo {msg.tempo} is not a tempo "
                    f"(microseconds per quarter note must be at least 1)",
                    path=path,
                )


def read_parts(path: str | os.PathLike) -> tuple[mido.MidiFile, list[MidiPart], int]:
    """The opened file, its parts with notes (drums dropped), and the number of drum notes dropped."""
    p = os.fspath(path)
    mid = open_midi(p)
    if mid.type == 2:
        raise InputError("type-2 MIDI file (independent sequences) is not supported", path=p)
    tpq = mid.ticks_per_beat
    if not isinstance(tpq, int) or tpq <= 0 or tpq >= 0x8000:
        raise InputError("SMPTE time division (no beats) is not supported", path=p)
    parts: dict[tuple[int, int], MidiPart] = {}
    order: list[tuple[int, int]] = []
    drums = 0
    for t_index, track in enumerate(mid.tracks):
        now = 0
        name = ""
        programs: dict[int, int] = {}
        sounding: dict[tuple[int, int], list[tuple[int, int]]] = {}  # (channel, pitch) -> [(start, velocity)]
        for msg in track:
            now += msg.time
            kind = msg.type
            if kind == "track_name" and not name:
                name = msg.name.strip()
            elif kind == "program_change":
                programs[msg.channel] = msg.program
            elif kind == "note_on" and msg.velocity > 0:
                if msg.channel == DRUM_CHANNEL:
                    drums += 1
                    continue
                sounding.setdefault((msg.channel, msg.note), []).append((now, msg.velocity))
                key = (t_index, msg.channel)
                if key not in parts:
                    parts[key] = MidiPart(0, t_index, msg.channel, programs.get(msg.channel, 0), name)
                    order.append(key)
            elif kind in ("note_off", "note_on"):
                started = sounding.get((msg.channel, msg.note))
                if started:
                    start, velocity = started.pop(0)
                    _add(parts[(t_index, msg.channel)], msg.note, start, now, velocity, tpq)
        for (channel, pitch), started in sounding.items():
            for start, velocity in started:  # never released: ends with its track
                _add(parts[(t_index, channel)], pitch, start, now, velocity, tpq)
    kept = []
    for key in order:
        part = parts[key]
        too_long = [n for n in part.notes if n[1] + n[2] > MAX_BEATS]
        if too_long:
            pitch, onset, duration, _ = min(too_long, key=lambda n: n[1])
            raise InputError(
                f"track {part.track + 1}, channel {part.channel + 1}: a note (pitch {pitch}) at "
                f"beat {onset:,.0f} lasts to beat {onset + duration:,.0f}, past the "
                f"{MAX_BEATS:,}-beat limit (a stuck note or a corrupt time in the file?)",
                path=p,
            )
        if part.notes:
            part.number = len(kept) + 1
            part.notes.sort(key=lambda n: (n[1], n[0]))
            kept.append(part)
    return mid, kept, drums


def _add(part: MidiPart, pitch: int, start: int, end: int, velocity: int, tpq: int) -> None:
    if end > start:
        part.notes.append((pitch, start / tpq, (end - start) / tpq, velocity))


def _first_meta(mid: mido.MidiFile, kind: str):
    best = None
    for track in mid.tracks:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type == kind:
                if best is None or now < best[0]:
                    best = (now, msg)
                break
    return best[1] if best else None


def _markers(mid: mido.MidiFile, most: int = 64) -> dict[str, float]:
    """The file's marker events, name -> beat of the first one so named (at most `most`),
    e.g. the "continuation" marker musicrnn writes where a model took over."""
    marks: dict[str, float] = {}
    for track in mid.tracks:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type == "marker" and msg.text.strip() and len(marks) < most:
                marks.setdefault(msg.text.strip()[:80], now / mid.ticks_per_beat)
    return marks


def read_piece(path: str | os.PathLike, track: int | None = None) -> Piece:
    """The notes of a MIDI file as a Piece (all parts merged, or part `track`, counted from 1).

    Raises InputError naming the file for unreadable, type-2, SMPTE or note-less files."""
    p = os.fspath(path)
    mid, parts, drums = read_parts(p)
    if not parts:
        why = f" ({drums} drum notes on channel 10 are not read)" if drums else ""
        raise InputError(f"no notes{why}", path=p)
    if track is not None:
        if not 1 <= track <= len(parts):
            listing = "; ".join(part.describe() for part in parts)
            raise InputError(f"no track {track}: this file has {len(parts)} track(s) with notes: {listing}", path=p)
        parts = [parts[track - 1]]
    notes = []
    programs = {}
    names = {}
    for voice, part in enumerate(parts):
        programs[voice] = part.program
        if part.name:
            names[voice] = part.name
        for pitch, onset, duration, velocity in part.notes:
            notes.append(Note(pitch, onset, duration, velocity, part.program, voice))
    notes.sort(key=lambda n: (n.onset, n.pitch, n.voice))

    tempo_msg = _first_meta(mid, "set_tempo")
    tempo = round(mido.tempo2bpm(tempo_msg.tempo), 3) if tempo_msg else 120.0
    meter_msg = _first_meta(mid, "time_signature")
    meter = (meter_msg.numerator, meter_msg.denominator) if meter_msg else (4, 4)
    key_msg = _first_meta(mid, "key_signature")
    title = None
    if mid.tracks:
        for msg in mid.tracks[0]:
            if msg.type == "track_name" and msg.name.strip():
                title = msg.name.strip()
                break
    piece = Piece(
        notes=notes,
        tempo=tempo,
        meter=meter,
        key=key_msg.key if key_msg else None,
        title=title,
        programs=programs,
        names=names,
    )
    piece.marks = _markers(mid)
    bar = meter[0] * 4 / meter[1]
    if bar > 0:
        count = int(piece.end // bar) + 1
        piece.bar_beats = [i * bar for i in range(count)]
    return piece
