"""Schemes roll and events: MIDI -> stream -> MIDI keeps the notes on the grid; tolerant decoding."""

from __future__ import annotations

import mido
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import encoders
from encoders import InputError, Note, Piece
from encoders.midi import events as events_module
from encoders.midi import read_piece
from encoders.midi import roll as roll_module
from encoders.midi.events import decode_events, piece_to_events, render_events
from encoders.midi.grid import PITCH_CHARS, Header, QNote, parse_grid, parse_header, pitch_char
from encoders.midi.roll import decode_roll, piece_to_roll, render_roll
from musicrnn.render import write_midi

ROLL, EVENTS = encoders.get("roll"), encoders.get("events")


def nested_only(notes: list[QNote]) -> list[QNote]:
    """Drop notes that overlap a copy of their pitch in a staggered way (the schemes nest copies)."""
    kept: list[QNote] = []
    for q in sorted(notes, key=lambda q: (q.start, -q.end)):
        if all(not (o.pitch == q.pitch and o.start < q.start < o.end < q.end) for o in kept):
            kept.append(q)
    return kept


qnotes = st.lists(
    st.builds(
        lambda p, s, d, v: QNote(p, s, s + d, v),
        st.integers(21, 108),
        st.integers(0, 80),
        st.integers(1, 24),
        st.integers(1, 127),
    ),
    min_size=1,
    max_size=40,
).map(nested_only)
headers = st.builds(
    Header,
    st.just("roll"),
    st.sampled_from([60.0, 96.5, 120.0, 144.0]),
    st.sampled_from([(4, 4), (3, 4), (6, 8), (2, 2), (5, 8)]),
    st.sampled_from([None, "G", "F#m", "Bb"]),
    st.sampled_from([8, 16, 24, 32]),
    st.sampled_from([(0,), (40, 0), (73,)]),
)


def key(notes):
    return sorted((q.pitch, q.start, q.end) for q in notes)


@settings(max_examples=150, deadline=None)
@given(qnotes, headers)
def test_roll_text_round_trip_is_exact(notes, header):
    assume(header.bar_steps)
    text = render_roll(header, notes)
    back, length, repairs, bars_ok = roll_module.read_roll(text)[1:]
    assert key(back) == key(notes) and not repairs and bars_ok
    assert decode_roll(text).text == text
    assert roll_module.read_roll(text)[0] == header


@settings(max_examples=150, deadline=None)
@given(qnotes, headers)
def test_events_text_round_trip_is_exact_with_velocity_to_a_sixteenth(notes, header):
    assume(header.bar_steps)
    header.scheme = "events"
    text = render_events(header, notes)
    h, back, repairs, bars_ok, _ = events_module.read_events(text)
    assert h == header and not repairs and bars_ok
    assert key(back) == key(notes)
    assert sorted((q.pitch, q.start, q.end, q.velocity) for q in back) == sorted(
        (q.pitch, q.start, q.end, q.velocity // 8 * 8 + 4) for q in notes
    )  # to within 4
    assert decode_events(text).text == text


@settings(max_examples=60, deadline=None)
@given(
    qnotes, st.sampled_from([(4, 4), (3, 4), (6, 8)]), st.sampled_from([16, 12, 24]), st.sampled_from([ROLL, EVENTS])
)
def test_midi_file_round_trip_keeps_notes_tempo_and_meter(tmp_path_factory, notes, meter, grid, codec):
    """MIDI (notes on the grid) -> stream -> MIDI -> the same notes, tempo and time signature."""
    header = Header(codec.name, 100.0, meter, "D", grid, (0,))
    assume(header.bar_steps)
    step = 4 / grid
    piece = Piece(
        [Note(q.pitch, q.start * step, (q.end - q.start) * step, 90, 0, i % 3) for i, q in enumerate(notes)],
        tempo=100.0,
        meter=meter,
        key="D",
    )
    # one MIDI channel cannot hold two sounding copies of a pitch: keep copies in distinct voices
    spread = []
    for n in sorted(piece.notes, key=lambda n: n.onset):
        v = 0
        while any(
            o.pitch == n.pitch and o.voice == v and o.onset < n.onset + n.duration and n.onset < o.onset + o.duration
            for o in spread
        ):
            v += 1
        spread.append(Note(n.pitch, n.onset, n.duration, 90, 0, v))
    piece.notes = spread
    folder = tmp_path_factory.mktemp("rt")
    write_midi(piece, folder / "in.mid")
    text = codec.encode_file(str(folder / "in.mid"), grid=grid).pieces[0]
    decoded = codec.decode(text)
    assert not decoded.repairs
    write_midi(decoded.piece, folder / "out.mid")
    again = read_piece(folder / "out.mid")
    assert ticks(again.notes) == ticks(spread)
    assert again.meter == meter and abs(again.tempo - 100.0) < 0.01 and again.key == "D"


def ticks(notes):
    """Notes as (pitch, onset, duration) in MIDI ticks (480 a beat): exact on every grid."""
    return sorted((n.pitch, round(n.onset * 480), round(n.duration * 480)) for n in notes)


def test_staggered_copies_keep_what_sounds_at_every_step():
    header = Header("roll")
    notes = [QNote(60, 0, 4), QNote(60, 2, 6)]  # alto holds C while tenor strikes it and outlasts it
    back = roll_module.read_roll(render_roll(header, notes))[1]
    assert key(back) == [(60, 0, 6), (60, 2, 4)]  # the copy struck last ends first

    def sounding(ns, t):
        return sorted(q.pitch for q in ns if q.start <= t < q.end)

    assert all(sounding(back, t) == sounding(notes, t) for t in range(7))


def test_docstring_examples_are_what_the_codecs_write():
    piece = Piece([Note(60, 0, 1), Note(64, 0, 2), Note(67, 1, 2)], tempo=90.0, meter=(3, 4), key="C")
    assert "    " + piece_to_roll(piece).replace("\n", "\n    ").rstrip() in roll_module.__doc__
    piece.notes.append(Note(60, 6, 1))
    assert "    " + piece_to_events(piece).replace("\n", "\n    ").rstrip() in events_module.__doc__


def test_triplet_grid_keeps_triplets_that_a_sixteenth_grid_would_move():
    third = 1 / 3
    piece = Piece([Note(60 + i, i * third, third) for i in range(6)], meter=(2, 4))
    exact = decode_roll(piece_to_roll(piece, grid=parse_grid("8t"))).piece
    assert ticks(exact.notes) == ticks(piece.notes)
    moved = decode_roll(piece_to_roll(piece, grid=16)).piece
    assert ticks(moved.notes) != ticks(piece.notes)


@pytest.mark.parametrize("value, grid", [("16", 16), ("1/16", 16), ("8t", 12), ("16t", 24), ("12", 12), (32, 32)])
def test_parse_grid(value, grid):
    assert parse_grid(value) == grid


@pytest.mark.parametrize("value", ["7", "1/5", "x", "", "64t"])
def test_parse_grid_refuses_unknown_grids(value):
    with pytest.raises(ValueError, match="steps per whole note"):
        parse_grid(value)


def test_meter_that_is_no_whole_number_of_steps_is_refused_naming_the_file(tmp_path):
    write_midi(Piece([Note(60, 0, 1)], meter=(3, 8)), tmp_path / "j.mid")
    with pytest.raises(InputError, match=r"j\.mid: a 3/8 bar is not a whole number of steps of grid 12"):
        ROLL.encode_file(str(tmp_path / "j.mid"), grid=12)
    assert ROLL.encode_file(str(tmp_path / "j.mid"), grid=16).pieces


def test_notes_outside_the_range_are_reported_and_left_out(tmp_path):
    write_midi(Piece([Note(12, 0, 1), Note(60, 0, 1), Note(120, 1, 1)]), tmp_path / "wide.mid")
    for codec in (ROLL, EVENTS):
        result = codec.encode_file(str(tmp_path / "wide.mid"))
        assert [str(p) for p in result.problems] == [
            f"{tmp_path / 'wide.mid'}: 2 note(s) outside MIDI pitches 21-108 left out"
        ]
        assert [n.pitch for n in codec.decode(result.pieces[0]).piece.notes] == [60]


def test_tracks_merge_by_default_and_one_is_picked_with_track(tmp_path):
    mid = mido.MidiFile(type=1)
    for channel, (program, pitch) in enumerate([(40, 72), (32, 36)]):
        track = mido.MidiTrack(
            [
                mido.Message("program_change", program=program, channel=channel),
                mido.Message("note_on", note=pitch, velocity=70, channel=channel),
                mido.Message("note_off", note=pitch, channel=channel, time=480),
            ]
        )
        mid.tracks.append(track)
    mid.tracks.append(
        mido.MidiTrack(
            [
                mido.Message("note_on", note=38, velocity=90, channel=9),
                mido.Message("note_off", note=38, channel=9, time=120),
            ]
        )
    )
    mid.save(str(tmp_path / "band.mid"))
    merged = ROLL.encode_file(str(tmp_path / "band.mid")).pieces[0]
    assert merged.splitlines()[0].endswith("p=40,32")
    assert (
        merged.splitlines()[1]
        == f"{pitch_char(36)}{pitch_char(72)}." + f"-{pitch_char(36)}{pitch_char(72)}." * 3 + "." * 12
    )
    bass = EVENTS.encode_file(str(tmp_path / "band.mid"), track=2).pieces[0]
    assert bass.splitlines()[0].endswith("p=32") and pitch_char(72) not in bass.splitlines()[1]
    assert [n.program for n in EVENTS.decode(bass).piece.notes] == [32]


def test_roll_decoder_repairs_and_says_where():
    text = "%roll q=120 m=2/4 g=8 p=0\nL.-L.-M.é.\nLL\nL.\n"
    d = decode_roll(text, path="gen.roll")
    messages = [str(p) for p in d.repairs]
    assert messages == [
        "gen.roll:2:7: 'M' held but not sounding: struck here",
        "gen.roll:2:9: unknown character 'é' dropped",
        "gen.roll:3:3: step not ended by '.' at the end of the line: ended there",
        "gen.roll:3:1: bar of 1 steps, the meter's bar has 4: its steps kept, bar lines redrawn",
    ]
    assert d.bars_ok is False
    assert [(n.pitch, n.onset, n.duration) for n in d.piece.sorted_notes()] == [
        (60, 0.0, 1.0),
        (61, 1.0, 0.5),
        (60, 2.0, 0.5),
        (60, 2.0, 0.5),
        (60, 2.5, 0.5),
    ]
    # the canonical text reads back with no repair to the same notes (two copies of C in two voices)
    again = decode_roll(d.text)
    assert not again.repairs and d.text.splitlines()[1:] == ["L.-L.M..", "LL.L."]
    assert sorted((n.pitch, n.onset, n.duration) for n in again.piece.notes) == sorted(
        (n.pitch, n.onset, n.duration) for n in d.piece.notes
    )
    assert sorted(n.voice for n in d.piece.notes if n.onset == 2.0) == [0, 1]


def test_events_decoder_repairs_and_says_where():
    text = "%events q=80 m=4/4 g=4 p=0\n|zL-M.-L.|AP\n-\n"
    d = decode_events(text, path="gen.events")
    assert [str(p) for p in d.repairs] == [
        "gen.events:2:1: velocity 'z' is not a hex digit, dropped",
        "gen.events:2:4: note-off 'M': no such note sounding, dropped",
        "gen.events:3:1: '-' before '': no such note sounding, dropped",
        "gen.events:3:1: 2 note(s) never released: ended with the piece",
    ]
    # 'z' (a pitch, 105) after a bad velocity mark is read as a note-on of its own
    assert [(n.pitch, n.onset, n.duration, n.velocity) for n in d.piece.sorted_notes()] == [
        (60, 0.0, 1.0, 80),
        (105, 0.0, 4.0, 80),
        (64, 2.0, 2.0, 84),
    ]


def test_header_defaults_and_reports():
    header, problems = parse_header("%roll q=0 m=4/5 k=H g=17 p=200 z=1", "roll")
    assert header == Header("roll")
    assert problems == [
        "bad header field 'q=0' ignored",
        "bad header field 'm=4/5' ignored",
        "bad header field 'k=H' ignored",
        "bad header field 'g=17' ignored",
        "bad header field 'p=200' ignored",
        "unknown header field 'z=1' ignored",
    ]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(PITCH_CHARS[30:50] + "-.|\n%qmgpk=/0123456789 \x00é"), max_size=200))
def test_arbitrary_text_decodes_without_raising_and_canonical_text_is_a_fixed_point(text):
    for codec in (ROLL, EVENTS):
        for body in (text, f"%{codec.name} q=100 m=3/4 g=16 p=0\n" + text):
            d = codec.decode(body)
            again = codec.decode(d.text)
            assert again.text == d.text
            assert not [p for p in again.repairs if "bar" not in p.message]
            assert key_of(again.piece) == key_of(d.piece)


def key_of(piece):
    return sorted((n.pitch, n.onset, n.duration) for n in piece.notes)


def test_encode_text_keeps_clean_pieces_and_reports_broken_ones():
    good = render_roll(Header("roll"), [QNote(60, 0, 4)])
    result = ROLL.encode_text(good + "\n\n" + "%roll q=120 m=4/4 g=16 p=0\nL.-Q.\n", path="x.roll")
    assert result.pieces == [good]
    assert [str(p) for p in result.problems] == ["x.roll:6:4: piece skipped: 'Q' held but not sounding: struck here"]


def test_sniff_and_registry():
    assert ROLL.sniff("%roll q=1") and not ROLL.sniff("%events") and EVENTS.sniff("\n%events q=1")
    assert encoders.codec_for_path("song.MID") is ROLL and encoders.codec_for_path("a.events") is EVENTS
    assert ROLL.grammar() is not None


def _first_free_voice_reference(notes):
    """The voice rule of `to_piece` written the plain, quadratic way: each note, in
    (start, pitch, longest first) order, takes the lowest voice its pitch is silent in."""
    ends: list[dict[int, int]] = []
    out = []
    for q in sorted(notes, key=lambda q: (q.start, q.pitch, -q.end)):
        voice = next((v for v, busy in enumerate(ends) if busy.get(q.pitch, -1) <= q.start), len(ends))
        if voice == len(ends):
            ends.append({})
        ends[voice][q.pitch] = q.end
        out.append((q.pitch, q.start, q.end, voice))
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.builds(QNote, st.integers(60, 63), st.integers(0, 20), st.integers(0, 30)), max_size=40))
def test_voices_are_the_lowest_free_ones_as_the_plain_rule_gives(raw):
    from encoders.midi.grid import to_piece

    notes = [QNote(q.pitch, q.start, max(q.end, q.start + 1)) for q in raw]
    header = Header("roll")
    piece = to_piece(header, notes)
    step = header.step_beats
    got = sorted((n.pitch, round(n.onset / step), round((n.onset + n.duration) / step), n.voice) for n in piece.notes)
    assert got == sorted(_first_free_voice_reference(notes))
    assert set(piece.programs) == set(range(max(1, 1 + max((n.voice for n in piece.notes), default=0))))


def test_thousands_of_unison_copies_get_a_voice_each_and_decoders_keep_sixteen():
    # found by `make fuzz`: 30,000 note-ons in a 37 KB events text took 11 s to place in
    # voices (each note searched every voice before it), and 155,000 voices broke the MIDI
    # writer; the per-pitch heaps place any number at once, and decoders keep MAX_UNISON copies
    from encoders.midi.grid import MAX_UNISON, to_piece
    from musicrnn.render import to_midi

    piece = to_piece(Header("events"), [QNote(60, 0, 30_000 - k) for k in range(30_000)])
    assert len({n.voice for n in piece.notes}) == 30_000
    assert len(to_midi(piece).tracks) == 1 + 15  # one track per channel, drums left free

    text = "%events q=120 m=4/4 g=16 p=0\n" + "L" * 5000 + ".-L" * 2000 + "\n"
    decoded = decode_events(text)
    assert len(decoded.piece.notes) == MAX_UNISON == len({n.voice for n in decoded.piece.notes})
    dropped = [r for r in decoded.repairs if "copies of it sound" in r.message]
    assert len(dropped) == 5000 - MAX_UNISON and dropped[0].line == 2 and dropped[0].column == MAX_UNISON + 1
    # the last struck ends first: 16 releases end the 16 copies, one step apart
    assert sorted(n.duration for n in decoded.piece.notes) == [0.25 * k for k in range(1, MAX_UNISON + 1)]

    roll = decode_roll("%roll q=120 m=4/4 g=16 p=0\n" + "L" * 40 + ".\n")
    assert len(roll.piece.notes) == MAX_UNISON
    assert [r.column for r in roll.repairs if "copies of it sound" in r.message] == list(range(17, 41))


def test_a_note_switched_off_when_struck_is_dropped_and_reported():
    decoded = decode_events("%events q=120 m=4/4 g=16 p=0\n" + "L-L" * 1000 + "S....-S\n")
    assert [(n.pitch, n.duration) for n in decoded.piece.notes] == [(67, 1.0)]
    assert sum("lasts no time" in r.message for r in decoded.repairs) == 1000
    assert decoded.repairs[0].column == 2


@pytest.mark.parametrize("scheme", ["roll", "events"])
def test_encoding_keeps_sixteen_unison_copies_and_reports_the_rest(tmp_path, scheme):
    from encoders.midi.grid import MAX_UNISON

    notes = [Note(60, 0.0, 1.0 + k / 4, 80, 0, k) for k in range(20)] + [Note(64, 1.0, 1.0, 80, 0, 0)]
    path = write_midi(Piece(notes=notes, programs=dict.fromkeys(range(20), 0)), tmp_path / "crowd.mid")
    result = encoders.get(scheme).encode_file(str(path))
    assert any(f"4 note(s) struck while {MAX_UNISON} copies" in p.message for p in result.problems)
    decoded = encoders.get(scheme).decode(result.pieces[0])
    assert decoded.clean, decoded.repairs  # what the encoder writes decodes without repair
    kept = sorted(n.duration for n in decoded.piece.notes if n.pitch == 60)
    assert kept == [1.0 + k / 4 for k in range(4, 20)]  # the longest sixteen


@pytest.mark.parametrize("scheme", ["roll", "events"])
def test_a_text_past_the_length_limit_is_read_up_to_it_and_the_cut_reported(monkeypatch, scheme):
    # found by `make fuzz` (seed 1): an 8 MB events text took 22 s to decode
    from encoders.midi import grid

    monkeypatch.setattr(grid, "MAX_PIECE_CHARS", 1000)
    bar = "L.-L.-L.-L." + "." * 12 + "\n" if scheme == "roll" else "|8L....-L" + "." * 12 + "\n"
    text = f"%{scheme} q=120 m=4/4 g=16 p=0\n" + bar * 200
    decoded = encoders.get(scheme).decode(text)
    cut = [r for r in decoded.repairs if "longer than 1,000 characters" in r.message]
    assert len(cut) == 1
    line, column = cut[0].line, cut[0].column
    assert text.split("\n")[line - 1][: column - 1] == text[:1000].rsplit("\n", 1)[1]  # line and column of the cut
    whole_bars = (1000 - len(text.split("\n")[0]) - 1) // len(bar)
    assert whole_bars <= len(decoded.piece.notes) <= whole_bars + 1


@pytest.mark.parametrize("scheme", ["roll", "events"])
def test_encoding_refuses_a_midi_file_whose_text_would_pass_the_limit(monkeypatch, tmp_path, scheme):
    from encoders.midi import grid

    path = write_midi(Piece(notes=[Note(60 + k % 12, k / 2, 0.5, 80, 0, 0) for k in range(400)]), tmp_path / "long.mid")
    assert encoders.get(scheme).encode_file(str(path)).pieces
    monkeypatch.setattr(grid, "MAX_PIECE_CHARS", 1000)
    with pytest.raises(InputError, match=r"long\.mid.*more than the 1,000 a piece may have"):
        encoders.get(scheme).encode_file(str(path))


def test_the_roll_grammar_stops_checking_where_the_decoder_stops_reading(monkeypatch):
    from encoders.midi import grammar as grammar_module

    monkeypatch.setattr(grammar_module, "MAX_PIECE_CHARS", 500)
    g = grammar_module.RollGrammar()
    g.feed("%roll q=120 m=4/4 g=16 p=0\n" + ("L." + "." * 15 + "\n") * 40)
    assert g.allowed() is None and not g.done
    assert [p for p in g.problems if "not checked further" in p] == [g.problems[-1]] and len(g.problems) == 1
    g.feed("\n")
    assert g.done


def test_a_megabyte_of_junk_for_a_header_reads_as_the_decoder_reads_it():
    # found by `make fuzz` (seed 1): a 1.9 MB line fed to the grammar was kept whole, char by char
    from encoders.midi.grammar import RollGrammar

    g = RollGrammar()
    g.feed("%roll q=90 m=3/4 " + "x" * 1_000_000 + "\n")
    assert g.bar_steps == 12 and g.allowed() is not None  # the body is checked as 3/4 again
    assert len(g.problems) == 1
