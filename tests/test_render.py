"""MIDI written by musicrnn.render opens in mido and pretty_midi with the same notes."""

from __future__ import annotations

import mido
import pretty_midi
from hypothesis import given, settings
from hypothesis import strategies as st

from encoders import Note, Piece
from musicrnn.render import TICKS_PER_BEAT, write_midi

notes = st.builds(
    Note,
    pitch=st.integers(0, 127),
    onset=st.integers(0, 400).map(lambda t: t / 4),
    duration=st.integers(1, 16).map(lambda t: t / 4),
    velocity=st.integers(1, 127),
    program=st.just(0),
    voice=st.integers(0, 2),
)


def _read_back(path) -> list[tuple[int, float, float]]:
    mid = mido.MidiFile(path)
    found = []
    for track in mid.tracks:
        now, open_notes = 0, {}
        for msg in track:
            now += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), []).append(now)
            elif msg.type in ("note_off", "note_on"):
                start = open_notes[(msg.channel, msg.note)].pop(0)
                found.append((msg.note, start / TICKS_PER_BEAT, (now - start) / TICKS_PER_BEAT))
    return sorted(found)


@settings(max_examples=40, deadline=None)
@given(st.lists(notes, max_size=40, unique_by=lambda n: (n.pitch, n.onset, n.voice)))
def test_midi_round_trip_keeps_every_note(tmp_path_factory, note_list):
    # Overlapping notes of one pitch in one voice are ambiguous in MIDI; keep them apart.
    kept, last_end = [], {}
    for n in sorted(note_list, key=lambda n: n.onset):
        if n.onset >= last_end.get((n.voice, n.pitch), -1):
            kept.append(n)
            last_end[(n.voice, n.pitch)] = n.onset + n.duration
    path = tmp_path_factory.mktemp("midi") / "p.mid"
    write_midi(Piece(notes=kept, tempo=90.0, meter=(6, 8), key="D"), path)
    assert _read_back(path) == sorted((n.pitch, n.onset, n.duration) for n in kept)


def test_tempo_meter_key_and_programs_reach_pretty_midi(tmp_path):
    piece = Piece(
        notes=[Note(62, 0.0, 1.5), Note(66, 1.5, 0.5), Note(45, 0.0, 2.0, voice=1)],
        tempo=90.0,
        meter=(6, 8),
        key="Dm",
        programs={0: 40, 1: 32},
    )
    path = write_midi(piece, tmp_path / "t.mid")
    pm = pretty_midi.PrettyMIDI(str(path))
    assert abs(pm.get_tempo_changes()[1][0] - 90.0) < 1e-3  # tempo is stored in whole microseconds
    ts = pm.time_signature_changes[0]
    assert (ts.numerator, ts.denominator) == (6, 8)
    assert pretty_midi.key_number_to_key_name(pm.key_signature_changes[0].key_number) == "D minor"
    assert sorted(i.program for i in pm.instruments) == [32, 40]
    violin = next(i for i in pm.instruments if i.program == 40)
    # 90 quarter notes a minute: a beat lasts 2/3 s.
    assert [(n.pitch, round(n.start, 4), round(n.end, 4)) for n in violin.notes] == [(62, 0.0, 1.0), (66, 1.0, 1.3333)]


def test_write_is_atomic_no_temp_left(tmp_path):
    write_midi(Piece(notes=[Note(60, 0.0, 1.0)]), tmp_path / "a.mid")
    assert [p.name for p in tmp_path.iterdir()] == ["a.mid"]
