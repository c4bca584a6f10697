"""Issue 16: a continued piano piece keeps its seed's key, both hands, texture, tracks and dynamics.

The seed is written here with mido, a piece no corpus holds: a right-hand melody
over left-hand triads, C major, 80 per minute, 4/4, two named tracks, velocities
that vary by beat and hand.  The figures are `encoders.midi.keep.figures`.
"""

from __future__ import annotations

import re

import mido
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import encoders
from encoders import InputError, Note, Piece
from encoders.midi.augment import SHIFTS, augmenter, transpose_text
from encoders.midi.grammar import Keep, RollGrammar
from encoders.midi.grid import PITCH_CHARS, QNote, corpus_options, header_for, pitch_char
from encoders.midi.keep import carry_on, estimate_key, figures, key_classes, seed_keep
from encoders.midi.reader import read_piece

ROLL = encoders.get("roll")
MELODY = [72, 74, 76, 77, 79, 77, 76, 74, 72, 76, 79, 84, 83, 79, 77, 74]
TRIADS = [[48, 52, 55], [53, 57, 60], [55, 59, 62], [48, 52, 55]]


def two_hands(path, bars: int = 8, tempo: int = 80):
    """The seed: RH eighth-note melody (accents on the beat), LH half-note triads, two named tracks."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    conductor = mido.MidiTrack()
    mid.tracks.append(conductor)
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo)))
    conductor.append(mido.MetaMessage("time_signature", numerator=4, denominator=4))
    conductor.append(mido.MetaMessage("key_signature", key="C"))
    for name, program, channel in (("Right hand", 0, 0), ("Left hand", 1, 1)):
        track = mido.MidiTrack()
        mid.tracks.append(track)
        track.append(mido.MetaMessage("track_name", name=name))
        track.append(mido.Message("program_change", program=program, channel=channel))
        events = []
        for bar in range(bars):
            if channel == 0:
                for i in range(8):
                    pitch, tick = MELODY[(bar * 8 + i) % 16], (bar * 4 + i / 2) * 480
                    events += [(tick, 1, pitch, 96 if i % 4 == 0 else 60 + 6 * (i % 3)), (tick + 240, 0, pitch, 0)]
            else:
                for beat in (0, 2):
                    tick = (bar * 4 + beat) * 480
                    for pitch in TRIADS[bar % 4]:
                        events += [(tick, 1, pitch, 72 if beat == 0 else 52), (tick + 960, 0, pitch, 0)]
        now = 0
        for tick, on, pitch, velocity in sorted(events, key=lambda e: (e[0], e[1])):
            kind = "note_on" if on else "note_off"
            track.append(mido.Message(kind, note=pitch, velocity=velocity, channel=channel, time=int(tick - now)))
            now = tick
    mid.save(path)
    return path


@pytest.fixture(scope="module")
def continued(tmp_path_factory):
    """The bundled midi model's continuations of the seed (4 bars of seed, 8 continued), three samples."""
    import musicrnn

    path = two_hands(tmp_path_factory.mktemp("seed") / "seed.mid")
    return path, [musicrnn.continue_file(path, seed_bars=4, bars=8, random_seed=s) for s in (1, 2, 3)]


def test_the_seed_is_what_the_issue_describes(tmp_path):
    piece = read_piece(two_hands(tmp_path / "s.mid"))
    assert piece.tempo == pytest.approx(80) and piece.meter == (4, 4) and piece.key == "C"
    assert piece.names == {0: "Right hand", 1: "Left hand"} and piece.programs == {0: 0, 1: 1}
    assert len({n.velocity for n in piece.notes}) >= 4
    assert all(n.pitch >= 72 for n in piece.notes if n.voice == 0) and all(
        n.pitch <= 62 for n in piece.notes if n.voice == 1
    )


def test_continuation_keeps_key_hands_and_texture(continued):
    _, results = continued
    for result in results:
        piece = result.source.piece
        f = figures(piece, piece.marks["continuation"])
        assert f.notes >= 16
        assert f.in_key >= 0.93, f
        assert f.low_bars >= 0.75, f
        assert 0.6 <= f.polyphony / f.seed_polyphony <= 1.4, f


def test_continuation_keeps_tracks_programs_velocities_and_tempo(continued, tmp_path):
    import musicrnn

    path, results = continued
    for result in results:
        piece = result.source.piece
        assert piece.tempo == pytest.approx(80) and piece.meter == (4, 4)
        boundary = piece.marks["continuation"]
        new = [n for n in piece.notes if n.onset >= boundary]
        assert {n.voice for n in new} == {0, 1}
        assert all((n.voice == 0) == (n.pitch >= 67) for n in new)  # the register decides the hand
        assert all(n.program == piece.programs[n.voice] for n in piece.notes)
        assert len({n.velocity for n in new}) >= 3  # the seed's dynamics, not one constant
        seed_velocities = {n.velocity for n in read_piece(path).notes}
        assert {n.velocity for n in piece.notes if n.onset < boundary} <= seed_velocities
    out = tmp_path / "more.mid"
    musicrnn.continue_file(path, seed_bars=4, bars=2, random_seed=1, out=str(out))
    back = read_piece(out)
    assert back.names == {0: "Right hand", 1: "Left hand"} and back.programs == {0: 0, 1: 1}
    assert back.tempo == pytest.approx(80)
    assert back.marks == {"continuation": 16.0}  # the boundary travels in the MIDI file (a marker)


def test_continuation_score_is_a_grand_staff_with_the_boundary(continued):
    from musicrnn.pictures import musicxml

    xml = musicxml(continued[1][0].source.piece)
    assert re.findall(r"<sign>([A-G])</sign>", xml)[:2] == ["G", "F"]
    assert '<part-group number="1" type="start">' in xml and "<group-symbol>brace" in xml
    assert xml.count("<score-part ") == 2
    assert "\u25bc model" in xml


def test_piano_roll_marks_the_boundary(continued, tmp_path):
    from musicrnn.pictures import piano_roll_png

    piece = continued[1][0].source.piece
    assert piano_roll_png(piece, tmp_path / "r.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "kind, message",
    [("empty", "no notes"), ("drums", "drum notes"), ("tempo0", "set_tempo 0")],
)
def test_a_seed_with_nothing_to_continue_is_a_one_line_error(tmp_path, kind, message):
    import musicrnn

    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=0 if kind == "tempo0" else 500000))
    if kind in ("drums", "tempo0"):
        channel = 9 if kind == "drums" else 0
        track.append(mido.Message("note_on", note=38, velocity=90, channel=channel, time=0))
        track.append(mido.Message("note_off", note=38, velocity=0, channel=channel, time=480))
    path = tmp_path / f"{kind}.mid"
    mid.save(path)
    with pytest.raises(InputError) as e:
        musicrnn.continue_file(path, seed_bars=2, bars=2, random_seed=1)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_one_note_seed_is_continued(tmp_path):
    import musicrnn

    path = tmp_path / "one.mid"
    from musicrnn.render import write_midi

    write_midi(Piece([Note(64, 0.0, 1.0, 70)], tempo=100.0), path)
    result = musicrnn.continue_file(path, seed_bars=1, bars=2, random_seed=1)
    piece = result.source.piece
    assert piece.notes[0].pitch == 64 and piece.tempo == pytest.approx(100)
    assert result.bars >= 2  # the seed is its one note (a beat): the model finishes that bar, then two more


def test_keys_scales_and_estimates():
    assert key_classes("C") == {0, 2, 4, 5, 7, 9, 11}
    assert key_classes("F#m") == {6, 8, 9, 11, 1, 2, 4, 5}  # natural minor and the leading tone
    assert key_classes("Bb") == {10, 0, 2, 3, 5, 7, 9} and key_classes("H") is None
    g_major = [(p, 1.0) for p in (67, 71, 74, 67, 72, 66, 67, 62, 79)]
    assert estimate_key(g_major) == "G"
    assert estimate_key([(p, 1.0) for p in (57, 60, 64, 57, 59, 56, 57, 64)]) == "Am"


def _seed_keep(notes, key="C", steps=32):
    header = header_for(Piece([Note(60, 0, 1)], key=key), "roll", 16, "")
    return seed_keep(notes, header, steps, after=0, known=set(range(36, 97)))


def test_seed_keep_allows_the_seed_accidentals_and_asks_for_a_left_hand():
    notes = [QNote(72, 0, 4), QNote(70, 4, 8), QNote(48, 0, 16), QNote(52, 16, 32)]  # Bb: the seed's own accidental
    keep = _seed_keep(notes)
    assert pitch_char(70) in keep.pitches and pitch_char(71) in keep.pitches
    assert pitch_char(73) not in keep.pitches and pitch_char(66) not in keep.pitches
    assert keep.low_step == 8 and keep.low and all(c in keep.pitches for c in keep.low)
    no_left = _seed_keep([QNote(72, 0, 16), QNote(76, 16, 32)])
    assert no_left.low_step is None


@settings(max_examples=40, deadline=None)
@given(choices=st.lists(st.integers(0, 10_000), min_size=64, max_size=64))
def test_the_grammar_keeps_key_and_left_hand_whatever_the_model_picks(choices):
    """Any path through `allowed()` after the seed: pitches in the Keep, a low pitch in every bar."""
    keep = Keep(
        after=0,
        pitches=frozenset(pitch_char(p) for p in range(48, 85) if p % 12 in (0, 2, 4, 5, 7, 9, 11)),
        low=frozenset(pitch_char(p) for p in (48, 52, 55)),
        low_step=4,
        max_sounding=4,
        min_sounding=2,
        beat_steps=2,
    )
    g = RollGrammar(min_bars=3, keep=keep)
    g.feed("%roll q=80 m=2/4 k=C g=16 p=0\n")
    text = ""
    for pick in choices * 4:
        allowed = g.allowed()
        assert allowed
        ch = allowed[pick % len(allowed)]
        g.feed(ch)
        text += ch
        if g.done:
            break
    assert not g.problems
    lines = [line for line in text.split("\n") if line]
    for line in lines[:-1]:  # every whole bar sounds a pitch below middle C
        assert any(c in line and PITCH_CHARS.index(c) + 21 < 60 for c in PITCH_CHARS), line
    struck = {c for c in text if c in PITCH_CHARS}
    assert struck <= keep.pitches
    steps = [step.split("-")[0] + "".join(step.split("-")[1:]) for line in lines for step in line.split(".")]
    assert all(len(step) <= 4 for step in steps)


def test_header_held_to_the_corpus_tempos_and_meters():
    options = corpus_options(["%roll q=120 m=3/4 k=G g=16 p=0\nL.\n", "%roll q=96.4 m=6/8 g=16 p=0\nL.\n"])
    assert options["tempos"] == [96, 120] and options["meters"] == ["3/4", "6/8"]
    g = ROLL.grammar(options)
    g.feed("%roll q=")
    assert set(g.allowed()) == {"1", "9"}
    g.feed("96 m=")
    assert set(g.allowed()) == {"3", "6"}
    assert ROLL.grammar({}) is not None


@settings(max_examples=60, deadline=None)
@given(
    pitches=st.lists(st.integers(40, 90), min_size=1, max_size=12),
    shift=st.sampled_from(SHIFTS),
    scheme=st.sampled_from(["roll", "events"]),
)
def test_transposition_moves_every_pitch_and_the_key(pitches, shift, scheme):
    codec = encoders.get(scheme)
    piece = Piece([Note(p, i * 0.5, 0.5, 40 + i * 7) for i, p in enumerate(pitches)], key="D")
    from encoders.midi.events import piece_to_events
    from encoders.midi.roll import piece_to_roll

    text = piece_to_roll(piece) if scheme == "roll" else piece_to_events(piece)
    moved = transpose_text(text, shift)
    assert moved is not None
    back = codec.decode(moved)
    assert not back.repairs
    assert sorted(n.pitch for n in back.piece.notes) == sorted(p + shift for p in pitches)
    assert [n.velocity for n in back.piece.notes] == [n.velocity for n in codec.decode(text).piece.notes]
    assert transpose_text(moved, -shift) == text
    assert transpose_text(text, 200) is None
    variants = augmenter(3, 1)(text)
    assert len(variants) == 3 and variants == augmenter(3, 1)(text) and text not in variants


def test_carry_on_puts_notes_in_the_seed_tracks_at_its_velocities():
    seed = [Note(72, 0.0, 1.0, 100, 0, 0), Note(74, 1.0, 1.0, 50, 0, 0), Note(48, 0.0, 4.0, 70, 33, 1)]
    piece = Piece(seed, programs={0: 0, 1: 33})
    new = [Note(76, 4.0, 1.0), Note(79, 5.0, 1.0), Note(50, 4.0, 2.0), Note(48, 0.0, 6.0)]
    out = carry_on(piece, new, 4.0)
    later = [n for n in out if n.onset >= 4.0]
    assert [(n.pitch, n.voice, n.program, n.velocity) for n in later] == [
        (50, 1, 33, 70),
        (76, 0, 0, 100),
        (79, 0, 0, 50),
    ]
    assert [n for n in out if n.pitch == 48][0].duration == 6.0  # held over the boundary by the model


def test_free_pieces_of_the_bundled_midi_model_have_a_meter_and_tempo_of_its_corpus():
    import musicrnn
    from encoders.midi.grid import parse_header
    from musicrnn.checkpoint import load
    from musicrnn.pipeline import CONTINUATION_MODEL

    options = load(CONTINUATION_MODEL).meta["scheme_options"]
    assert len(options["tempos"]) >= 5 and "4/4" in options["meters"]
    pieces = musicrnn.generate(model="midi", num=20, length=40, random_seed=0)
    headers = [parse_header(p.text.split("\n", 1)[0], "roll")[0] for p in pieces]
    assert all(f"{h.meter[0]}/{h.meter[1]}" in options["meters"] for h in headers)
    assert all(round(h.tempo) in options["tempos"] for h in headers)
