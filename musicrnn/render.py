"""Pieces to files a musician can open: MIDI now (audio, scores and pictures follow).

Every decoder returns an `encoders.Piece`; every renderer takes one, so formats
and outputs stay independent.  MIDI is written with mido (a type-1 file: a
conductor track with tempo, meter, key and a marker for each of `Piece.marks`,
then one track per voice, named as `Piece.names` names it), at 480 ticks per quarter
note, atomically.

    >>> from encoders import Note, Piece
    >>> write_midi(Piece(notes=[Note(60, 0.0, 1.0)]), "c.mid")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import mido

from encoders import Piece
from encoders.midi.grid import KEY_NAMES
from musicrnn.atomic import atomic_path

TICKS_PER_BEAT = 480


def _mido_key(key: str | None) -> str | None:
    """The key as mido names it, when a piece's key is a plain major or minor key."""
    if not key:
        return None
    m = re.fullmatch(r"\s*([A-Ga-g])([#b]?)\s*(m|min|minor|maj|major)?\s*", key)
    if not m:
        return None
    name = m.group(1).upper() + m.group(2) + ("m" if m.group(3) in ("m", "min", "minor") else "")
    return name if name in KEY_NAMES else None


def to_midi(piece: Piece) -> mido.MidiFile:
    """A mido MidiFile for a piece (type 1: conductor track + one track per voice).

    Voices take channels 1-16 in turn, skipping 10 (drums); a piece of more than 15
    voices (a file can hold at most 65,535 tracks) gets one track per channel, the
    voices that share a channel merged into it."""
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack()
    mid.tracks.append(conductor)
    if piece.title:
        conductor.append(mido.MetaMessage("track_name", name=piece.title[:120], time=0))
    tempo = piece.tempo if piece.tempo and piece.tempo > 0 else 120.0
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(min(max(tempo, 4.0), 1000.0)), time=0))
    if piece.meter and piece.meter[0] > 0 and piece.meter[1] in (1, 2, 4, 8, 16, 32, 64):
        conductor.append(
            mido.MetaMessage("time_signature", numerator=min(piece.meter[0], 255), denominator=piece.meter[1], time=0)
        )
    key = _mido_key(piece.key)
    if key:
        conductor.append(mido.MetaMessage("key_signature", key=key, time=0))
    now = 0
    for beat, name in sorted((beat, name) for name, beat in piece.marks.items() if beat >= 0):
        tick = round(beat * TICKS_PER_BEAT)  # a named moment, e.g. where a model took over
        conductor.append(mido.MetaMessage("marker", text=name, time=tick - now))
        now = tick
    conductor.append(mido.MetaMessage("end_of_track", time=0))

    by_voice: dict[int, list] = {}
    for n in piece.notes:
        by_voice.setdefault(n.voice, []).append(n)
    tracks: dict[int, tuple[int, list]] = {}  # channel -> (its first voice, the notes it plays)
    for channel_index, voice in enumerate(sorted(by_voice) or [0]):
        channel = channel_index % 15
        if channel >= 9:  # keep clear of the General MIDI drum channel
            channel += 1
        tracks.setdefault(channel, (voice, []))[1].extend(by_voice.get(voice, []))
    for channel, (voice, notes) in tracks.items():
        program = piece.programs.get(voice, notes[0].program if notes else 0)
        track = mido.MidiTrack()
        mid.tracks.append(track)
        if piece.names.get(voice):
            track.append(mido.MetaMessage("track_name", name=piece.names[voice][:120], time=0))
        track.append(mido.Message("program_change", program=max(0, min(127, program)), channel=channel, time=0))
        events: list[tuple[int, int, int, int]] = []  # (tick, order, pitch, velocity); note-offs first at a tick
        for n in notes:
            if not (0 <= n.pitch <= 127) or n.duration <= 0:
                continue
            start = round(n.onset * TICKS_PER_BEAT)
            end = max(start + 1, round((n.onset + n.duration) * TICKS_PER_BEAT))
            events.append((start, 1, n.pitch, max(1, min(127, n.velocity))))
            events.append((end, 0, n.pitch, 0))
        events.sort()
        now = 0
        for tick, is_on, pitch, velocity in events:
            kind = "note_on" if is_on else "note_off"
            track.append(mido.Message(kind, note=pitch, velocity=velocity, channel=channel, time=tick - now))
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=0))
    return mid


def write_midi(piece: Piece, path: str | os.PathLike) -> Path:
    """Write a piece as a Standard MIDI File, atomically; returns the path."""
    path = Path(path)
    mid = to_midi(piece)
    with atomic_path(path) as tmp:
        mid.save(str(tmp))
    return path
