"""Tabs as guitarists have them: .txt/.tab/.crd files (one piece each, whatever blank lines
they have), Capo and Tempo lines kept in the header, Guitar Pro files through the schemes,
and a folder of all of these encoded with the broken ones reported."""

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encoders import InputError, UsageError
from encoders.tab import COLUMNS, DEFAULT_TUNINGS, ROWS, Tab, canonical, render_columns, render_rows
from encoders.tab.reading import parse_header, parse_tab, sheet_capo, sheet_tempo
from musicrnn.encode import collect_files, encode_to_stream

DATA = Path(__file__).parent / "data" / "guitarpro"

SONG = """Wonderwall-ish - Some Band
Tabbed by: nobody
Capo: 2
Tempo: 87 bpm

[Intro]
   Em7             G
e|-----3-----3-----|-----3-----3-----|
B|-----3-----3-----|-----3-----3-----|
G|---0-----0-----0-|---0-----0-----0-|
D|-----------------|-----------------|
A|-----------------|-----------------|
E|-0---------------|-3---------------|


[Verse]
Today is gonna be the day

e|-----3-----3-----|
B|-----3-----3-----|
G|---0-----0-----0-|
D|-----------------|
A|-0---------------|
E|-----------------|
"""


def first_pitches(decoded, k=3):
    return [n.pitch for n in sorted(decoded.piece.notes, key=lambda n: (n.onset, n.pitch))[:k]]


@pytest.mark.parametrize("suffix", [".txt", ".tab", ".crd"])
def test_a_saved_tab_is_one_piece_with_its_capo_and_tempo(tmp_path, suffix):
    path = tmp_path / ("song" + suffix)
    path.write_text(SONG)
    (piece,) = COLUMNS.encode_file(path).pieces
    assert piece.startswith("%columns E2 A2 D3 G3 B3 E4 capo 2 tempo 87\n")
    assert piece.count("\n") == 3  # the header and the two systems, joined into one piece
    d = COLUMNS.decode(piece)
    assert d.clean and d.piece.tempo == 87
    assert first_pitches(d) == [40 + 0 + 2, 55 + 0 + 2, 59 + 3 + 2]  # every pitch 2 above open string + fret
    (rows,) = ROWS.encode_file(path).pieces
    assert rows.startswith("%rows E2 A2 D3 G3 B3 E4 capo 2 tempo 87\n")
    assert ROWS.encode_text(ROWS.decode(rows).text).pieces == [rows]


def test_decoding_a_saved_tab_file_reads_it_whole():
    # decode, render and audition split a file with the scheme's split: one piece, not one per system
    assert COLUMNS.split(SONG) == [SONG.strip("\n") + "\n"]
    d = COLUMNS.decode(COLUMNS.split(SONG)[0])
    assert len(d.piece.bar_beats) == 3 and d.piece.tempo == 87
    # a stream still splits at its header lines
    one = COLUMNS.encode_text(SONG).pieces[0]
    two = COLUMNS.encode_text(SONG.replace("Capo: 2", "")).pieces[0]
    assert COLUMNS.split(one + "\n" + two + "\n\n" + one) == [one, two, one]


def test_a_txt_without_a_staff_is_reported_and_skipped(tmp_path):
    (tmp_path / "notes.txt").write_text("Chords only:\nEm7 G Dsus4 A7sus4\n")
    with pytest.raises(InputError, match=r"notes.txt: no tab staff found"):
        COLUMNS.encode_file(tmp_path / "notes.txt")


def test_a_folder_of_tabs_and_guitar_pro_files(tmp_path):
    folder = tmp_path / "tabs"
    folder.mkdir()
    (folder / "a.txt").write_text(SONG)
    (folder / "b.tab").write_text(SONG.replace("Capo: 2", "Capo: 5"))
    (folder / "c.crd").write_text(SONG.replace("Tempo: 87 bpm", ""))
    (folder / "lyrics.txt").write_text("Today is gonna be the day\n")
    (folder / "readme.md").write_text("not a tab")
    shutil.copy(DATA / "demo_v5.gp5", folder / "demo.gp5")
    shutil.copy(DATA / "chord-fail.gp3", folder / "broken.gp3")
    files, problems = collect_files([folder], COLUMNS)
    assert [f.name for f in files] == ["a.txt", "b.tab", "broken.gp3", "c.crd", "demo.gp5", "lyrics.txt"]
    report = encode_to_stream(files, tmp_path / "t.txt", scheme="columns")
    assert report.pieces == 4 and report.files_read == 4
    skipped = sorted(str(p) for p in report.skipped_files)
    assert len(skipped) == 2
    assert "broken.gp3: not a readable Guitar Pro file (the data ends too early" in skipped[0]
    assert "lyrics.txt: no tab staff found" in skipped[1]
    stream = (tmp_path / "t.txt").read_text()
    pieces = COLUMNS.split(stream)
    assert [p.split("\n", 1)[0] for p in pieces] == [
        "%columns E2 A2 D3 G3 B3 E4 capo 2 tempo 87",
        "%columns E2 A2 D3 G3 B3 E4 capo 5 tempo 87",
        "%columns E2 A2 D3 G3 B3 E4 capo 2",
        "%columns E2 A2 D3 G3 B3 E4 tempo 165",
    ]


def test_guitar_pro_through_the_scheme_and_its_track_option():
    (piece,) = COLUMNS.encode_file(DATA / "demo_v5.gp5").pieces
    assert piece.startswith("%columns E2 A2 D3 G3 B3 E4 tempo 165\n")
    (bass,) = COLUMNS.encode_file(DATA / "demo_v5.gp5", track=4).pieces
    assert bass.startswith("%columns E1 A1 D2 G2 tempo 165\n")
    assert COLUMNS.encode_text(bass).pieces == [bass]
    with pytest.raises(UsageError, match="--track must be a track number counted from 1"):
        COLUMNS.encode_file(DATA / "demo_v5.gp5", track=0)
    with pytest.raises(InputError, match="no track 7"):
        ROWS.encode_file(DATA / "demo_v5.gp5", track=7)
    assert COLUMNS.reads("x.GP5") and COLUMNS.reads("x.txt") and COLUMNS.reads("x.crd") and not COLUMNS.reads("x.md")


# ---------------------------------------------------------------- parsers, as properties


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 24),
    st.sampled_from(
        ["Capo: {}", "capo {}", "CAPO {}th fret", "Capo on fret {}", "Put a capo on the {}th fret", "capo={}"]
    ),
)
def test_capo_lines(n, form):
    assert sheet_capo(form.format(n)) == n


@settings(max_examples=200, deadline=None)
@given(
    st.integers(10, 999),
    st.sampled_from(["Tempo: {}", "tempo {}", "BPM: {}", "{} bpm", "{}BPM", "Tempo: q={}", "Tempo = {}.4"]),
)
def test_tempo_lines(n, form):
    assert sheet_tempo(form.format(n)) == n


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_line_gives_a_capo_a_tempo_or_nothing(line):
    for read, low, high in ((sheet_capo, 0, 24), (sheet_tempo, 10, 999)):
        v = read(line)
        assert v is None or isinstance(v, str) or low <= v <= high


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(DEFAULT_TUNINGS)),
    st.integers(0, 24),
    st.one_of(st.none(), st.integers(10, 999)),
    st.lists(st.sampled_from(["0", "5", "C", "-", "h", "|"]), min_size=1, max_size=30),
)
def test_headers_with_capo_and_tempo_round_trip(n, capo, tempo, syms):
    events = [s if s == "|" else (s,) + ("-",) * (n - 1) for s in syms] + [("3",) + ("-",) * (n - 1)]
    tab = canonical(Tab(DEFAULT_TUNINGS[n], [events], capo, tempo))[0]
    for scheme, render in ((COLUMNS, render_columns), (ROWS, render_rows)):
        text = render(tab)
        h = parse_header(text.split("\n", 1)[0])
        assert (h.tuning, h.capo, h.tempo) == (tab.tuning, capo, tempo)
        assert scheme.encode_text(text).pieces == [text]
        d = scheme.decode(text)
        assert d.clean and d.piece.tempo == (tempo or 120)
        assert max(x.pitch for x in d.piece.notes) >= DEFAULT_TUNINGS[n][0] + capo + 3


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "",
                "Capo: 4",
                "Tempo: 100",
                "[Chorus]",
                "C   G   Am",
                "la la la",
                "e|--0--|\nB|--1--|\nG|--0--|\nD|--2--|\nA|--3--|\nE|-----|",
            ]
        ),
        min_size=1,
        max_size=12,
    )
)
def test_raw_files_with_blank_lines_and_labels(lines):
    text = "\n".join(lines) + "\n"
    tab, _ = parse_tab(text)
    staves = sum(line.startswith("e|") for line in lines)
    if not staves:
        assert tab is None
        return
    assert len(tab.systems) == staves
    assert tab.capo == (4 if "Capo: 4" in lines else 0)
    assert tab.tempo == (100 if "Tempo: 100" in lines else None)
    assert COLUMNS.split(text) == [text.strip("\n") + "\n"]


# ---------------------------------------------------------------- the printed staff

from encoders.tab.staff import render_staff, staff_scale, text_to_staff  # noqa: E402


def test_the_staff_never_runs_frets_together():
    steps = [("7",), ("7",), ("8",), ("A",), ("A",), ("-",), ("1",), ("2",)]
    tab = Tab(DEFAULT_TUNINGS[6], [[s + ("-",) * 5 for s in steps] + ["|"]], capo=1, tempo=140)
    text = render_staff(tab, "Riff")
    assert staff_scale(tab) == 3  # a two-digit fret followed at once by another fret
    assert text.splitlines()[:5] == [
        "Riff",
        "Tuning: E2 A2 D3 G3 B3 E4",
        "Capo: 1",
        "Tempo: 140",
        "Time: 3 characters = 1/16",
    ]
    low = text.splitlines()[-1]
    assert low == "E|7--7--8--10-10----1--2--|"
    lines = text.splitlines()[-6:]
    assert [line[0] for line in lines] == list("eBGDAE")
    assert len({len(line) for line in lines}) == 1 and {line.index("|", 2) for line in lines} == {len(low) - 1}
    back, problems = parse_tab(text)
    assert problems == [] and back == tab


def test_a_staff_without_touching_frets_is_the_rows_text():
    tab = canonical(Tab(DEFAULT_TUNINGS[6], [[("3",) + ("-",) * 5, ("-",) * 6, ("-", "C") + ("-",) * 4, "|"]]))[0]
    assert staff_scale(tab) == 1
    assert render_staff(tab).split("\n\n", 1)[1] == render_rows(tab).split("\n", 1)[1]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(DEFAULT_TUNINGS)), st.integers(0, 24), st.one_of(st.none(), st.integers(10, 999)), st.data()
)
def test_any_tab_printed_as_a_staff_reads_back_the_same(n, capo, tempo, data):
    sym = st.sampled_from(list("-----0123456789ACFKO") + list("hpb/\\~x()<>vts^r"))
    step = st.tuples(*[sym] * n)
    systems = data.draw(
        st.lists(
            st.lists(
                st.one_of(step, step, step, st.sampled_from(["|", "||", "|:", ":|", ":|:"])), min_size=1, max_size=30
            ),
            min_size=1,
            max_size=3,
        )
    )
    tab = canonical(Tab(DEFAULT_TUNINGS[n], systems, capo, tempo))[0]
    if not tab.systems:
        return
    text = render_staff(tab)
    back, problems = parse_tab(text)
    assert problems == []
    assert canonical(back)[0] == tab
    # and no two frets ever touch on a string line: every run of digits is one fret (<= 24);
    # an effect letter between two frets (10h0: 10, hammer-on to 0) keeps them apart
    for line in text.splitlines():
        if "|" in line:
            body = line.split("|", 1)[1]
            assert all(int(run) <= 24 for run in re.findall(r"\d+", body)), line


def test_a_generated_columns_piece_as_the_staff_a_tab_file_holds():
    piece = "%columns E2 A2 D3 G3 B3 E4 tempo 100\n7----- 7----- 8----- A----- A----- |\n"
    staff, repairs = text_to_staff(piece, "riff")
    assert repairs == [] and "7-7-8-10-10-" not in staff and "7781010" not in staff
    assert staff.splitlines()[-1] == "E|7--7--8--10-10-|"
    back = COLUMNS.decode(COLUMNS.encode_text(staff).pieces[0])
    assert [(n.pitch, n.onset) for n in back.piece.notes] == [(47, 0.0), (47, 0.25), (48, 0.5), (50, 0.75), (50, 1.0)]
    assert back.piece.tempo == 100
