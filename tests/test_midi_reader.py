"""encoders.midi.read_piece: MIDI files (ours, abc2midi's, hand-built odd ones) -> Piece."""

from __future__ import annotations

import shutil
import subprocess

import mido
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encoders import InputError, Note, Piece
from encoders.midi import read_piece
from musicrnn.render import write_midi


def _save(tmp_path, tracks, name="t.mid", type=1, tpq=480):
    mid = mido.MidiFile(type=type, ticks_per_beat=tpq)
    for messages in tracks:
        track = mido.MidiTrack()
        track.extend(messages)
        mid.tracks.append(track)
    path = tmp_path / name
    mid.save(str(path))
    return path


def on(note, time=0, channel=0, velocity=64):
    return mido.Message("note_on", note=note, velocity=velocity, channel=channel, time=time)


def off(note, time=0, channel=0):
    return mido.Message("note_off", note=note, velocity=0, channel=channel, time=time)


notes = st.builds(
    Note,
    pitch=st.integers(0, 127),
    onset=st.integers(0, 200).map(lambda t: t / 4),
    duration=st.integers(1, 16).map(lambda t: t / 4),
    velocity=st.integers(1, 127),
    program=st.just(0),
    voice=st.integers(0, 2),
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(notes, max_size=30),
    st.sampled_from([(4, 4), (3, 4), (6, 8), (5, 8), (2, 2)]),
    st.integers(30, 240),
    st.sampled_from([None, "D", "F#m", "Bb"]),
)
def test_reads_back_what_render_writes(tmp_path_factory, note_list, meter, tempo, key):
    kept, last_end = [], {}
    for n in sorted(note_list, key=lambda n: n.onset):  # one pitch in one voice may not overlap itself
        if n.onset >= last_end.get((n.voice, n.pitch), -1):
            kept.append(n)
            last_end[(n.voice, n.pitch)] = n.onset + n.duration
    path = tmp_path_factory.mktemp("m") / "p.mid"
    write_midi(Piece(notes=kept, tempo=float(tempo), meter=meter, key=key, programs={0: 40, 1: 0, 2: 73}), path)
    if not kept:
        with pytest.raises(InputError, match="no notes"):
            read_piece(path)
        return
    piece = read_piece(path)
    assert sorted((n.pitch, n.onset, n.duration, n.velocity) for n in piece.notes) == sorted(
        (n.pitch, n.onset, n.duration, n.velocity) for n in kept
    )
    assert piece.meter == meter and abs(piece.tempo - tempo) < 1e-2 and piece.key == key
    used = sorted({n.voice for n in kept})
    assert sorted(piece.programs.values()) == sorted({0: 40, 1: 0, 2: 73}[v] for v in used)


def test_drums_are_dropped_and_parts_picked(tmp_path):
    path = _save(
        tmp_path,
        [
            [
                mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90)),
                mido.MetaMessage("time_signature", numerator=3, denominator=4),
                mido.MetaMessage("key_signature", key="Em"),
            ],
            [
                mido.MetaMessage("track_name", name="Flute"),
                mido.Message("program_change", program=73, channel=0),
                on(76),
                off(76, 480),
                on(79),
                off(79, 240),
            ],
            [
                on(36, channel=9),
                off(36, 120, channel=9),
                mido.Message("program_change", program=32, channel=1),
                on(40, channel=1),
                off(40, 1440, channel=1),
            ],
        ],
    )
    piece = read_piece(path)
    assert [(n.pitch, n.onset, n.duration, n.program) for n in piece.sorted_notes()] == [
        (76, 0.0, 1.0, 73),
        (40, 0.25, 3.0, 32),
        (79, 1.0, 0.5, 73),
    ]
    assert (piece.tempo, piece.meter, piece.key) == (90.0, (3, 4), "Em")
    assert [(n.pitch, n.voice) for n in read_piece(path, track=2).notes] == [(40, 0)]
    assert [n.pitch for n in read_piece(path, track=1).notes] == [76, 79]
    with pytest.raises(InputError, match=r"t\.mid.*no track 3.*2 track\(s\).*'Flute'"):
        read_piece(path, track=3)


def test_velocity_zero_releases_and_restruck_pitches_end_first_struck_first(tmp_path):
    path = _save(tmp_path, [[on(60), on(60, 240), on(60, 240, velocity=0), off(60, 240), on(62, 0)]])
    piece = read_piece(path)
    # 60 struck at 0 and 0.5, released at 1.0 and 1.5; 62, struck as the track ends, lasts 0 and is dropped.
    assert [(n.pitch, n.onset, n.duration) for n in piece.sorted_notes()] == [(60, 0.0, 1.0), (60, 0.5, 1.0)]


def test_unreleased_note_ends_with_its_track(tmp_path):
    path = _save(tmp_path, [[on(60), on(64, 480), mido.MetaMessage("end_of_track", time=960)]])
    got = [(n.pitch, n.onset, n.duration) for n in read_piece(path).sorted_notes()]
    assert got == [(60, 0.0, 3.0), (64, 1.0, 2.0)]


def test_a_note_held_for_days_is_refused_naming_the_file_part_and_beat(tmp_path):
    # found by `make fuzz`: a mutated delta time held a note for 13 million beats, and
    # `roll` tried to write every step of it; the reader now refuses such a file
    from encoders.midi.reader import MAX_BEATS

    ok = _save(tmp_path, [[on(60), off(60, 480 * (MAX_BEATS - 1))]])
    assert read_piece(ok).end == MAX_BEATS - 1
    bad = _save(tmp_path, [[on(62), off(62, 480), on(60, 480 * 4), off(60, 480 * 500_000)]], name="stuck.mid")
    with pytest.raises(InputError) as e:
        read_piece(bad)
    message = str(e.value)
    assert "stuck.mid" in message and "pitch 60" in message and "beat 5" in message and "40,000" in message


def test_defaults_without_meta_events(tmp_path):
    piece = read_piece(_save(tmp_path, [[on(60), off(60, 96)]], tpq=96, type=0))
    assert (piece.tempo, piece.meter, piece.key) == (120.0, (4, 4), None)
    assert piece.notes[0].duration == 1.0


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a midi file at all", "not a readable MIDI file"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\x40\x00\x90", "not a readable MIDI file"),
        (b"", "not a readable MIDI file"),
    ],
)
def test_broken_files_raise_input_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "broken.mid"
    path.write_bytes(content)
    with pytest.raises(InputError, match=rf"broken\.mid: {message}"):
        read_piece(path)


def test_type2_drum_only_and_missing_files_are_refused(tmp_path):
    with pytest.raises(InputError, match=r"two\.mid: type-2"):
        read_piece(_save(tmp_path, [[on(60), off(60, 480)]], name="two.mid", type=2))
    with pytest.raises(InputError, match=r"drums\.mid: no notes \(2 drum notes"):
        read_piece(_save(tmp_path, [[on(36, channel=9), off(36, 10, channel=9), on(38, channel=9)]], name="drums.mid"))
    with pytest.raises(InputError, match=r"nothing\.mid: no notes$"):
        read_piece(_save(tmp_path, [[mido.MetaMessage("set_tempo", tempo=500000)]], name="nothing.mid"))
    with pytest.raises(InputError, match=r"absent\.mid: no such file"):
        read_piece(tmp_path / "absent.mid")


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi (Debian abcmidi) not installed")
def test_reads_abc2midi_output(tmp_path):
    (tmp_path / "t.abc").write_text("X:1\nT:Scale\nM:6/8\nL:1/8\nQ:3/8=100\nK:D\nDEF GAB|c3 d3|]\n")
    subprocess.run(
        ["abc2midi", str(tmp_path / "t.abc"), "-o", str(tmp_path / "t.mid")], check=True, capture_output=True
    )
    piece = read_piece(tmp_path / "t.mid")
    assert [n.pitch for n in piece.sorted_notes()] == [62, 64, 66, 67, 69, 71, 73, 74]
    assert piece.meter == (6, 8) and piece.tempo == pytest.approx(150, abs=0.5)
    # abc2midi starts each note a tick or so late; onsets are eighth notes within a few ticks.
    assert all(abs(n.onset - 0.5 * i) < 0.02 for i, n in enumerate(piece.sorted_notes()[:6]))
