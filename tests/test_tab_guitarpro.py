"""Guitar Pro files in and out (encoders.tab.guitarpro, through pyguitarpro): real files keep
their notes through the tab schemes, a written .gp5 reads back to the same tab, broken files
are reported with file and reason."""

import io
from pathlib import Path

import guitarpro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from encoders import InputError
from encoders.tab import COLUMNS, ROWS, Tab, canonical, render_columns, render_rows, tab_to_piece
from encoders.tab.guitarpro import parse_song, read_guitar_pro, song_to_tab, tab_to_song, write_guitar_pro

DATA = Path(__file__).parent / "data" / "guitarpro"
DEMO = DATA / "demo_v5.gp5"


def gp_notes(path, track=1):
    """(pitch, onset in beats) of every struck note of a track, straight from pyguitarpro
    (tied notes are the note they continue; dead notes and rests sound no pitch), the onset
    on the tab's grid of sixteenths (the demo's bass has triplets)."""
    song = guitarpro.parse(str(path))
    tr = song.tracks[track - 1]
    origin = tr.measures[0].start
    out = set()
    for m in tr.measures:
        for voice in m.voices:
            for beat in voice.beats:
                for n in beat.notes:
                    if n.type == guitarpro.NoteType.normal:
                        pitch = tr.strings[n.string - 1].value + tr.offset + n.value
                        out.add((pitch, round((beat.start - origin) / 240) / 4))
    return out


def through_stream(tab, codec=COLUMNS):
    """A tab written as the scheme's stream text, encoded and decoded as any piece is."""
    text = (render_columns if codec is COLUMNS else render_rows)(canonical(tab)[0])
    (piece,) = codec.encode_text(text, "song.tab").pieces
    return codec.decode(piece)


def note_set(piece):
    return {(n.pitch, n.onset) for n in piece.notes}


@pytest.mark.parametrize("codec", [COLUMNS, ROWS])
def test_a_real_song_keeps_its_notes_through_encode_and_decode(codec):
    read = read_guitar_pro(DEMO)
    assert read.track == 1 and read.tab.tempo == 165 and read.tab.capo == 0
    assert read.tab.tuning == (40, 45, 50, 55, 59, 64)
    expected = gp_notes(DEMO)
    assert len(expected) == 681
    decoded = through_stream(read.tab, codec)
    assert decoded.repairs == []
    assert note_set(decoded.piece) == expected
    # one bar after each of the 49 measures (and the opening repeat)
    assert [b for b in decoded.piece.bar_beats if b > 0] == [4.0 * k for k in range(1, 50)]
    assert render_rows(canonical(read.tab)[0]).split("\n")[1].startswith("e||:")
    # what the tab cannot say is reported, not silently dropped
    said = " ".join(p.message for p in read.problems)
    assert "palm-muted" in said and "tempo change" in said


def test_the_bass_track_and_track_errors():
    bass = read_guitar_pro(DEMO, track=4)
    assert len(bass.tab.tuning) == 4 and bass.track == 4
    assert note_set(tab_to_piece(canonical(bass.tab)[0])) == gp_notes(DEMO, 4)
    with pytest.raises(InputError, match=r"demo_v5.gp5: track 5 is a drum track"):
        read_guitar_pro(DEMO, track=5)
    with pytest.raises(InputError, match=r"no track 9: this file has 5 track\(s\)"):
        read_guitar_pro(DEMO, track=9)
    with pytest.raises(InputError, match=r"funky_guy_5string_bass.gp5: no track of 4, 6 or 7 strings.*5 strings"):
        read_guitar_pro(DATA / "funky_guy_5string_bass.gp5")


@pytest.mark.parametrize("name", ["effects.gp3", "effects.gp4", "effects.gp5"])
def test_effects_become_the_tab_marks(name):
    read = read_guitar_pro(DATA / name)
    low = "".join(e[0] for system in canonical(read.tab)[0].systems for e in system if not isinstance(e, str))
    # dead note, hammer-on, bend, slides, vibrato on the low E string
    for mark in "xhb/~" if name == "effects.gp3" else "xhb/\\~":  # GP3 has no slide out or in from above
        assert mark in low, mark
    assert note_set(through_stream(read.tab).piece) == gp_notes(DATA / name)
    if name != "effects.gp3":  # GP3 has no ghost notes
        assert "(2)" in render_rows(canonical(read.tab)[0])


def test_ties_and_voices():
    for name in ("tie.gp5", "voices.gp5"):
        read = read_guitar_pro(DATA / name)
        assert note_set(through_stream(read.tab).piece) == gp_notes(DATA / name)


def test_slides_survive_writing_and_reading():
    read = read_guitar_pro(DATA / "slides.gp4")
    tab = canonical(read.tab)[0]
    buf = io.BytesIO()
    write_guitar_pro(tab, buf)
    back = song_to_tab(parse_song(buf.getvalue()))
    assert render_columns(canonical(back.tab)[0]) == render_columns(tab)


@pytest.mark.parametrize("name", ["demo_v5.gp5", "effects.gp5", "tie.gp5", "voices.gp5", "slides.gp4"])
def test_write_then_read_gives_the_same_tab(name, tmp_path):
    read = read_guitar_pro(DATA / name)
    tab = canonical(read.tab)[0]
    tab.capo = 3
    out = tmp_path / "out.gp5"
    write_guitar_pro(tab, out, title="A title")
    song = guitarpro.parse(str(out))
    assert song.versionTuple == (5, 1, 0) and song.title == "A title" and song.tempo == read.tab.tempo
    back = read_guitar_pro(out)
    assert (back.tab.tempo, back.tab.capo, back.tab.tuning) == (read.tab.tempo, 3, tab.tuning)
    assert render_columns(canonical(back.tab)[0]) == render_columns(tab)


def test_a_broken_file_names_the_file_and_the_reason(tmp_path):
    with pytest.raises(InputError, match=r"chord-fail.gp3: not a readable Guitar Pro file \(the data ends too early"):
        read_guitar_pro(DATA / "chord-fail.gp3")
    cut = tmp_path / "cut.gp5"
    cut.write_bytes(DEMO.read_bytes()[:4000])
    with pytest.raises(InputError, match=r"cut.gp5: not a readable Guitar Pro file \(the data ends too early"):
        read_guitar_pro(cut)
    text = tmp_path / "notes.gp5"
    text.write_text("e|---0---|\n")
    with pytest.raises(InputError, match=r"notes.gp5: not a readable Guitar Pro file \(no Guitar Pro 3, 4 or 5 header"):
        read_guitar_pro(text)
    empty = tmp_path / "empty.gp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty.gp4: empty file"):
        read_guitar_pro(empty)
    with pytest.raises(InputError, match=r"missing.gp5: no such file"):
        read_guitar_pro(tmp_path / "missing.gp5")
    with pytest.raises(InputError, match=r"is a folder"):
        read_guitar_pro(tmp_path)


# ---------------------------------------------------------------- properties

_SYMS = st.sampled_from(list("-----------0123457ACFO") + list("hpb/\\~x()<>"))


@st.composite
def tabs(draw):
    n = draw(st.sampled_from([4, 6, 7]))
    tuning = {
        4: (28, 33, 38, 43),
        6: draw(st.sampled_from([(40, 45, 50, 55, 59, 64), (38, 45, 50, 55, 59, 64)])),
        7: (35, 40, 45, 50, 55, 59, 64),
    }[n]
    systems = []
    for _ in range(draw(st.integers(1, 3))):
        events = []
        for _ in range(draw(st.integers(1, 40))):
            if draw(st.integers(0, 9)) == 0:
                events.append(draw(st.sampled_from(["|", "||", "|:", ":|", ":|:"])))
            else:
                events.append(tuple(draw(st.lists(_SYMS, min_size=n, max_size=n))))
        systems.append(events)
    return canonical(Tab(tuning, systems))[0]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tabs(), st.integers(30, 300), st.integers(0, 7))
def test_any_tab_writes_a_guitar_pro_file_that_reads_back_to_its_notes(tab, tempo, capo):
    tab.tempo, tab.capo = tempo, capo
    buf = io.BytesIO()
    write_guitar_pro(tab, buf)
    back = song_to_tab(parse_song(buf.getvalue()))
    assert (back.tab.tuning, back.tab.tempo, back.tab.capo) == (tab.tuning, tempo, capo)
    before, after = tab_to_piece(tab), tab_to_piece(canonical(back.tab)[0])
    assert note_set(after) == note_set(before)
    # every bar of the tab is a measure's end (long stretches without one get more)
    assert {b for b in before.bar_beats if b > 0} <= set(after.bar_beats)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_damaged_files_raise_input_error_or_read(data):
    raw = bytearray(DATA.joinpath(data.draw(st.sampled_from(["effects.gp3", "tie.gp5", "slides.gp4"]))).read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    try:
        song = parse_song(bytes(raw), "damaged.gp5")
    except InputError as e:
        assert str(e).startswith("damaged.gp5: ")
        return
    try:
        read = song_to_tab(song, None, "damaged.gp5")
    except InputError as e:
        assert str(e).startswith("damaged.gp5: ")
        return
    tab, _ = canonical(read.tab)
    text = render_columns(tab)
    if tab.systems:
        assert COLUMNS.encode_text(text).pieces == [text]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_raise_input_error_or_read(raw):
    try:
        song_to_tab(parse_song(raw, "x.gp5"), None, "x.gp5")
    except InputError as e:
        assert str(e).startswith("x.gp5: ")


def test_a_written_song_is_a_plain_guitar_pro_5_file():
    tab = canonical(
        Tab(
            (40, 45, 50, 55, 59, 64),
            [
                [
                    ("3", "-", "-", "-", "-", "-"),
                    ("-",) * 6,
                    "|",
                    ("-", "-", "-", "-", "0", "7"),
                    ("h",) + ("-",) * 5,
                    "|",
                ]
            ],
        )
    )[0]
    tab.tempo = 96
    song = tab_to_song(tab)
    assert song.tempo == 96
    strings = [(s.number, s.value) for s in song.tracks[0].strings]
    assert strings == [(1, 64), (2, 59), (3, 55), (4, 50), (5, 45), (6, 40)]
    # two sixteenths a measure: 1/8
    assert [m.header.timeSignature.numerator for m in song.tracks[0].measures] == [1, 1]
    assert [m.header.timeSignature.denominator.value for m in song.tracks[0].measures] == [8, 8]
    buf = io.BytesIO()
    guitarpro.write(song, buf, version=(5, 1, 0))
    assert buf.getvalue()[1:31] == b"FICHIER GUITAR PRO v5.10" + b"\x00" * 6
