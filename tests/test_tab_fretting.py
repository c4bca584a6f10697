"""Fretting folk melodies onto the guitar neck (encoders/tab/fretting.py)."""

import doctest
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import encoders
import encoders.tab.fretting as fretting_module
from encoders.abc.player import play
from encoders.piece import Note, Piece
from encoders.tab import COLUMNS, ROWS, render_columns, render_rows, symbol_fret
from encoders.tab.fretting import STANDARD, TUNINGS, Unfrettable, build_tabs, fret, fretting

FOLK = Path(__file__).resolve().parent.parent / "corpora" / "folk.txt"


def _fretted(tab):
    """(column, string, fret) of every fret in a tab."""
    out, col = [], 0
    for system in tab.systems:
        for e in system:
            if isinstance(e, str):
                continue
            for s, sym in enumerate(e):
                f = symbol_fret(sym)
                if f is not None:
                    out.append((col, s, f))
            col += 1
    return out


def _decoded(tab):
    piece = COLUMNS.decode(render_columns(tab)).piece
    return sorted((n.pitch, n.onset) for n in piece.notes)


def _expected(piece, shift, step=0.25):
    return sorted({(n.pitch + shift, round(n.onset / step) * 0.25) for n in piece.notes})


def test_docstring_example():
    assert doctest.testmod(fretting_module).failed == 0


def test_c_major_scale_stays_in_one_position():
    scale = Piece([Note(p, i / 2, 0.5) for i, p in enumerate([48, 50, 52, 53, 55, 57, 59, 60])])
    tab = fret(scale, STANDARD)
    frets = [f for _, _, f in _fretted(tab) if f > 0]
    assert len(_fretted(tab)) == 8
    assert max(frets) - min(frets) <= 4
    assert _decoded(tab) == _expected(scale, 0)


def test_two_octave_scale_needs_few_positions():
    pitches = [48, 50, 52, 53, 55, 57, 59, 60, 62, 64, 65, 67, 69, 71, 72]
    tab = fret(Piece([Note(p, i, 1.0) for i, p in enumerate(pitches)]), STANDARD)
    frets = [f for _, _, f in _fretted(tab) if f > 0]
    assert max(frets) - min(frets) <= 4


def test_drop_d_low_d_is_open_sixth_string():
    tab = fret(Piece([Note(38, 0.0, 1.0)]), TUNINGS["drop D"])
    assert _fretted(tab) == [(0, 0, 0)]  # string index 0 = string 6 (low first)


def test_out_of_range_piece_moves_by_octaves_or_is_skipped():
    f = fretting(Piece([Note(96, 0.0, 1.0), Note(100, 1.0, 1.0)]), STANDARD)
    assert f.shift == -24 and _decoded(f.tab) == [(72, 0.0), (76, 1.0)]
    with pytest.raises(Unfrettable):
        fret(Piece([Note(30, 0.0, 1.0), Note(90, 1.0, 1.0)]), STANDARD)


def test_chord_one_note_per_string():
    chord = Piece([Note(p, 0.0, 2.0) for p in (43, 47, 50, 55, 59, 67)])  # G major
    tab = fret(chord, STANDARD)
    notes = _fretted(tab)
    assert len(notes) == 6 and len({s for _, s, _ in notes}) == 6
    assert _decoded(tab) == _expected(chord, 0)


def test_frets_that_would_read_as_one_are_avoided():
    # E2 E2 F2 in sixteenths: on the low string that would be "0" "0" "1"
    piece = Piece([Note(52, 0.0, 0.25), Note(53, 0.25, 0.25), Note(52, 0.5, 0.25)])
    tab = fret(piece, STANDARD)
    assert render_rows(tab) == ROWS.encode_text(render_rows(tab)).pieces[0]
    assert _decoded(tab) == _expected(piece, 0)
    with pytest.raises(Unfrettable):  # repeated low E sixteenths: only "0" "0" on string 6
        fret(Piece([Note(40, 0.0, 0.25), Note(40, 0.25, 0.25)]), STANDARD)


@pytest.fixture(scope="module")
def folk_tunes():
    return encoders.get("abc").split(FOLK.read_text(encoding="utf-8"))[:40]


def test_corpus_tunes_decode_to_same_pitches_and_onsets(folk_tunes):
    checked = 0
    for i, tune in enumerate(folk_tunes[:20]):
        piece = play(tune).piece
        tuning = list(TUNINGS.values())[i % len(TUNINGS)]
        f = fretting(piece, tuning)
        assert f.dropped == 0
        assert _decoded(f.tab) == _expected(piece, f.shift), i
        for _, _, fr in _fretted(f.tab):
            assert 0 <= fr <= 19
        checked += 1
    assert checked == 20


@pytest.mark.parametrize("scheme,codec", [("columns", COLUMNS), ("rows", ROWS)])
def test_build_tabs_reencodes_exactly_and_rotates_tunings(folk_tunes, scheme, codec):
    stream = "\n".join(folk_tunes[:10])
    texts = build_tabs(stream, scheme, list(TUNINGS.values()), limit=10)
    assert len(texts) == 10
    for text in texts:
        assert codec.encode_text(text).pieces == [text]
    headers = [t.split("\n", 1)[0] for t in texts]
    assert len(set(headers)) == len(TUNINGS)
    assert headers[:5] == headers[5:]
    assert build_tabs(stream, scheme, list(TUNINGS.values()), limit=10) == texts  # deterministic


melodies = st.lists(
    st.tuples(st.integers(1, 8), st.lists(st.integers(40, 83), min_size=1, max_size=3)), min_size=1, max_size=30
)


@settings(max_examples=60, deadline=None)
@given(melodies, st.sampled_from(sorted(TUNINGS)))
def test_random_melodies_get_playable_fingerings(melody, tuning_name):
    tuning = TUNINGS[tuning_name]
    notes, col = [], 0
    for gap, chord in melody:
        col += gap
        for p in chord:
            notes.append(Note(p - 40 + min(tuning), col * 0.25, 0.25))  # within every tuning's range
    piece = Piece(notes, meter=(3, 4))
    try:
        f = fretting(piece, tuning)
    except Unfrettable as e:  # only for frets that would unavoidably read as one
        assert "read as one" in str(e)
        return
    assert f.shift == 0
    steps = [e for system in f.tab.systems for e in system if not isinstance(e, str)]
    assert all(len(e) == 6 for e in steps)  # one symbol, so at most one note, per string
    fretted = _fretted(f.tab)
    assert all(0 <= fr <= 19 for _, _, fr in fretted)
    for c in {c for c, _, _ in fretted}:
        frs = [fr for cc, _, fr in fretted if cc == c and fr > 0]
        assert not frs or max(frs) - min(frs) <= 4
    decoded = _decoded(f.tab)
    if f.dropped == 0:
        assert decoded == _expected(piece, 0)
    else:
        assert set(decoded) <= set(_expected(piece, 0))
    text = render_columns(f.tab)
    assert COLUMNS.encode_text(text).pieces == [text]
