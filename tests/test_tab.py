"""Guitar tabs: real-style tab files -> rows / columns, exact round trips, pitches, tolerance."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encoders import InputError
from encoders.tab import (
    BARS,
    COLUMNS,
    DEFAULT_TUNINGS,
    ROWS,
    SYMBOLS,
    Tab,
    canonical,
    columns_to_rows,
    header_tuning,
    render_columns,
    rows_to_columns,
)

DROP_D = """Heavy Thing - The Band
Tabbed by someone
Tuning: Drop D

[Intro]
    D5              F5
e|-----------|-------------|
B|-----------|-------------|
G|-----------|-------------|
D|-----------|-------------|
A|-----------|---------3h5-|
D|0-0-0-3-5--|0-0-0-12-----|

[Verse]
   Dm                     C
I walk the line alone, and then
e|--------------------|
B|----------------1---|
G|--7b9r7---------0----|
D|-------(7)--x--------|
A|--------------3/5---|
D|--0------------------|
"""

STANDARD = """Song Title
Artist
 Am      G
E|-----0-----|--12-----15p12-|
B|---1---1---|------13-------|
G|--2-----2--|-------------------|
D|-2---------|--------------|
A|0----------|
E|-----------|-------------|
lyrics go here

|-----0---~~~--|--10h12\\10--|
|---1--------|------------|
|--2-------|---------------|
|-2---------|----------|
|0----------|-----------|
|-----------|----------|
"""

BASS = """Bass line
Tuning: standard
G|--------------|
D|-----5-7------|
A|-0h2-----5----|
E|3---------x---|
"""


def notes(d):
    return [(n.pitch, round(n.onset, 6), round(n.duration, 6)) for n in d.piece.notes]


@pytest.mark.parametrize("text", [DROP_D, STANDARD, BASS])
def test_round_trips_both_schemes(text):
    rows = ROWS.encode_text(text, "song.tab").pieces
    cols = COLUMNS.encode_text(text, "song.tab").pieces
    assert len(rows) == len(cols) == 1
    # stream -> tab text -> stream is exact
    assert ROWS.encode_text(ROWS.decode(rows[0]).text).pieces == rows
    assert COLUMNS.encode_text(COLUMNS.decode(cols[0]).text).pieces == cols
    # rows <-> columns losslessly
    assert rows_to_columns(rows[0]) == cols[0]
    assert columns_to_rows(cols[0]) == rows[0]
    assert ROWS.decode(rows[0]).text == COLUMNS.decode(cols[0]).text == rows[0]
    assert notes(ROWS.decode(rows[0])) == notes(COLUMNS.decode(cols[0])) == notes(ROWS.decode(text))
    assert ROWS.sniff(rows[0]) and not ROWS.sniff(cols[0])
    assert COLUMNS.sniff(cols[0]) and not COLUMNS.sniff(rows[0])
    assert ROWS.decode(rows[0]).clean and COLUMNS.decode(cols[0]).clean


def test_drop_d_file():
    res = ROWS.encode_text(DROP_D, "riff.tab")
    assert res.problems == []
    text = res.pieces[0]
    assert text.startswith("%rows D2 A2 D3 G3 B3 E4\n")
    assert text.count("\n=\n") == 1  # two systems, one marker line
    assert "7b9r7" in text and "(7)" in text and "3/5" in text and "3h5" in text
    col = COLUMNS.encode_text(DROP_D).pieces[0]
    assert col.startswith("%columns D2 A2 D3 G3 B3 E4\n")
    assert "C----- " in col  # fret 12 on the low string is one symbol
    d = ROWS.decode(text)
    assert d.piece.programs == {0: 25} and all(n.program == 25 for n in d.piece.notes)
    assert notes(d)[:5] == [(38, 0.0, 0.5), (38, 0.5, 0.5), (38, 1.0, 0.5), (41, 1.5, 0.5), (43, 2.0, 0.75)]
    ps = [n.pitch for n in d.piece.notes]
    assert 50 in ps  # low D fret 12
    assert {62, 64} <= set(ps)  # G string 7b9r7: 62, 64, 62
    ghost = [n for n in d.piece.notes if n.pitch == 57 and n.velocity == 50]
    assert len(ghost) == 1  # (7) on the D string: 50 + 7
    assert d.piece.bar_beats[:2] == [2.75, 5.75]


def test_second_system_continues_in_time():
    d = ROWS.decode(ROWS.encode_text(DROP_D).pieces[0])
    first_end = 5.75  # 23 steps of the first system (11 + 12: '12' is one step; bars take no time)
    assert min(n.onset for n in d.piece.notes if n.onset >= first_end) == first_end + 0.5


def test_standard_pitches_and_chord():
    d = ROWS.decode(STANDARD)
    assert d.text.startswith("%rows E2 A2 D3 G3 B3 E4\n")
    got = notes(d)
    # the open A chord shape arpeggio; high e fret 12 = 76
    assert got[0] == (45, 0.0, 6.5)  # rings until the next note on the A string
    assert (76, 3.25, 1.25) in got
    assert d.piece.bar_beats == [2.75, 6.5, 12.5]
    chord = ROWS.decode("%rows E2 A2 D3 G3 B3 E4\ne|0--|\nB|1--|\nG|0--|\nD|2--|\nA|3--|\nE|---|\n")
    assert notes(chord) == [(48, 0.0, 0.75), (52, 0.0, 0.75), (55, 0.0, 0.75), (60, 0.0, 0.75), (64, 0.0, 0.75)]


def test_bass_and_mute():
    d = ROWS.decode(BASS)
    assert d.text.startswith("%rows E1 A1 D2 G2\n")
    assert d.piece.programs == {0: 33}
    got = notes(d)
    assert got[0] == (31, 0.0, 2.5)  # low E fret 3 rings until the x
    assert (33, 0.25, 0.5) in got and (35, 0.75, 1.5) in got


def test_tunings():
    assert header_tuning("Drop D", 6) == (38, 45, 50, 55, 59, 64)
    assert header_tuning("drop C", 6) == (36, 43, 48, 53, 57, 62)
    assert header_tuning("Eb standard", 6) == (39, 44, 49, 54, 58, 63)
    assert header_tuning("Half step down", 6) == (39, 44, 49, 54, 58, 63)
    assert header_tuning("DADGAD", 6) == (38, 45, 50, 55, 57, 62)
    assert header_tuning("D A D G B E", 6) == (38, 45, 50, 55, 59, 64)
    assert header_tuning("standard", 7) == DEFAULT_TUNINGS[7]
    assert header_tuning("what?", 6) is None
    # tuning from labels alone
    text = "D|---|\nB|---|\nG|---|\nD|---|\nA|---|\nD|0--|\n"
    assert ROWS.encode_text(text).pieces[0].startswith("%rows D2 A2 D3 G3 B3 D4\n")
    seven = "\n".join(f"{x}|--0--|" for x in "eBGDAEB") + "\n"
    d = ROWS.decode(seven)
    assert d.text.startswith("%rows B1 E2 A2 D3 G3 B3 E4\n")
    assert [n.pitch for n in d.piece.notes] == [35, 40, 45, 50, 55, 59, 64]


def test_no_staff_raises_naming_file():
    with pytest.raises(InputError, match="lyrics.txt"):
        ROWS.encode_text("Just some lyrics\n[Chorus]\nAm G C\n", "lyrics.txt")
    with pytest.raises(InputError, match="lyrics.txt"):
        COLUMNS.encode_text("nothing here", "lyrics.txt")


def test_broken_staff_is_skipped_and_reported():
    broken = "e|--0--|\nB|--1--|\nG|--Q--|\nD|--2--|\nA|--3--|\nE|-----|\n"
    res = ROWS.encode_text(broken + "\n" + STANDARD, "mix.tab")
    assert res.pieces == ROWS.encode_text(STANDARD).pieces
    p = res.problems[0]
    assert all(q.line > 7 for q in res.problems[1:])
    assert (p.line, p.column, p.path) == (3, 5, "mix.tab") and "'Q'" in p.message


def test_stacked_staves_and_only_broken_staff():
    one = "e|-0-|\nB|---|\nG|---|\nD|---|\nA|---|\nE|---|\n"
    two = one + one.replace("-0-", "--3")  # twelve lines, no blank line between
    assert ROWS.encode_text(two).pieces[0].count("\n=\n") == 1
    with pytest.raises(InputError, match="bad.tab"):
        ROWS.encode_text("e|-0-|\nB|-q-|\nG|---|\nD|---|\nA|---|\nE|---|\n", "bad.tab")
    five = "\n".join(one.splitlines()[:5]) + "\n\n" + one
    res = COLUMNS.encode_text(five, "five.tab")
    assert [(p.line, p.path) for p in res.problems] == [(1, "five.tab")]


def test_column_repairs_never_crash():
    d = COLUMNS.decode("%columns E2 A2 D3 G3 B3 E4\n0---- 0-------- ?????? 0-@--- | | 1----- 2----- .999\n")
    assert d.repairs
    assert not d.clean
    # repaired text is canonical: it round-trips
    again = COLUMNS.decode(d.text)
    assert again.text == d.text and again.clean


def test_split_and_body():
    cols = [COLUMNS.encode_text(t).pieces[0] for t in (DROP_D, BASS)]
    assert COLUMNS.split("".join(cols)) == cols  # no blank line: cut at headers
    assert COLUMNS.split("\n".join(cols)) == cols
    assert not COLUMNS.body(cols[0]).startswith("%")


def test_module_docstring_examples_are_exact():
    import textwrap

    import encoders.tab as tab

    def block(after):
        rest = tab.__doc__.split(after, 1)[1].split("\n\n", 2)[1]
        return textwrap.dedent(rest) + "\n"

    raw, rows, cols = block("riff, raw::"), block("as ``rows``::"), block("as ``columns``::")
    assert raw.startswith("Tuning: Drop D") and rows.startswith("%rows") and cols.startswith("%columns")
    assert ROWS.encode_text(raw).pieces == [rows]
    assert COLUMNS.encode_text(raw).pieces == [cols]


# ---------------------------------------------------------------- property tests


def tabs():
    def system(n):
        sym = st.sampled_from(SYMBOLS)
        step = st.tuples(*[sym] * n)
        ev = st.one_of(step, step, step, st.sampled_from(BARS))
        return st.lists(ev, min_size=1, max_size=25)

    return st.sampled_from(sorted(DEFAULT_TUNINGS)).flatmap(
        lambda n: st.lists(system(n), min_size=1, max_size=3).map(lambda systems: Tab(DEFAULT_TUNINGS[n], systems))
    )


@settings(max_examples=150, deadline=None)
@given(tabs())
def test_random_column_streams_round_trip(tab):
    tab, _ = canonical(tab)
    if not tab.systems:
        return
    stream = render_columns(tab)
    d = COLUMNS.decode(stream)
    assert d.clean
    assert COLUMNS.encode_text(d.text).pieces == [stream]
    assert ROWS.encode_text(rows := columns_to_rows(stream)).pieces == [rows]
    assert rows_to_columns(rows) == stream


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("-|0123456789hpbx/\\()~:*eBGDAE \n%columnsrow.A")), max_size=300))
def test_decode_never_raises(text):
    for codec in (ROWS, COLUMNS):
        d = codec.decode(text)
        assert d.text.startswith("%rows")
        assert codec.decode(d.text).text == d.text
    d = COLUMNS.decode("%columns E2 A2 D3 G3 B3 E4\n" + text)
    assert COLUMNS.decode(d.text).text == d.text
