"""Tabs written as guitarists have them: --out x.gp5 (read back with pyguitarpro) and x.tab
(the aligned staff) on generate, decode and render; Guitar Pro and raw .txt tabs read without
--scheme; the audition card engraves a tab staff; the corpus's tunings hold a model's header."""

import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import guitarpro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import encoders
from encoders.tab import COLUMNS, ROWS, Tab, canonical, parse_columns, parse_tab, render_columns, symbol_fret
from encoders.tab.mei import tab_to_mei
from encoders.tab.reading import looks_like_tab
from musicrnn import pipeline

DATA = Path(__file__).parent / "data" / "guitarpro"

SONG = """Riff in drop D
Tuning: Drop D
Tempo: 96

e|-----------|-------------|
B|-----------|-------------|
G|-----------|-------------|
D|-----------|-------------|
A|-----------|---------3h5-|
D|0-0-0-3-5--|0-0-0-12-----|

e|--0---3----|12-----------|
B|--1--------|-------------|
G|--0--------|-------------|
D|--2--------|-------------|
A|--3--------|-------------|
D|-----------|0------------|
"""


def gp_notes(path):
    """(pitch, onset in sixteenths) of every struck note of the first track, read by pyguitarpro."""
    song = guitarpro.parse(str(path))
    track = song.tracks[0]
    origin = track.measures[0].start
    out = set()
    for m in track.measures:
        for voice in m.voices:
            for beat in voice.beats:
                for n in beat.notes:
                    if n.type == guitarpro.NoteType.normal:
                        out.add((track.strings[n.string - 1].value + n.value, (beat.start - origin) // 240))
    return out


def notes(piece):
    return {(n.pitch, round(n.onset * 4)) for n in piece.notes}


@pytest.fixture
def song(tmp_path):
    path = tmp_path / "song.txt"
    path.write_text(SONG)
    return path


def test_a_raw_txt_tab_is_recognised_as_one_piece(song, tmp_path):
    pieces = pipeline.decode(song)  # no --scheme: the text is sniffed
    assert [p.scheme for p in pieces] == ["columns"]
    (piece,) = pieces
    assert piece.piece.tempo == 96 and min(n.pitch for n in piece.piece.notes) == 38  # drop D, open
    assert len(piece.piece.notes) == 11 + 8
    out = pipeline.render_file(song, tmp_path / "song.mid")
    assert out.written == [tmp_path / "song.mid"]


def test_decode_to_gp5_keeps_pitch_and_onset(song, tmp_path):
    (source,) = pipeline.decode(song)
    result = pipeline.decode(song, tmp_path / "song.gp5")
    assert result.written == [tmp_path / "song.gp5"]
    assert gp_notes(tmp_path / "song.gp5") == notes(source.piece)
    track = guitarpro.parse(str(tmp_path / "song.gp5")).tracks[0]
    assert [s.value for s in track.strings] == [64, 59, 55, 50, 45, 38]


def test_tab_output_is_the_aligned_staff(song, tmp_path):
    (source,) = pipeline.decode(song)
    pipeline.decode(song, tmp_path / "out.tab")
    staff = (tmp_path / "out.tab").read_text()
    assert "%columns" not in staff and "%rows" not in staff
    assert "Tuning: D2 A2 D3 G3 B3 E4" in staff and "Tempo: 96" in staff
    lines = [x for x in staff.splitlines() if "|" in x]
    assert lines[0].startswith("e|") and lines[5].startswith("D|")
    assert len({len(x) for x in lines[:6]}) == 1  # bars aligned across the strings
    assert "0-12" in lines[5] or "0--12" in lines[5]  # a dash between two frets, never "012"
    tab, problems = parse_tab(staff)
    assert problems == [] and notes(COLUMNS.decode(render_columns(canonical(tab)[0])).piece) == notes(source.piece)


def test_render_and_decode_read_guitar_pro_without_scheme(tmp_path):
    demo = DATA / "demo_v5.gp5"
    (source,) = pipeline.decode(demo)  # .gp5 names the tab scheme
    assert source.scheme == "columns" and len(source.piece.notes) > 600
    pipeline.render_file(demo, tmp_path / "demo.gp5")
    assert gp_notes(tmp_path / "demo.gp5") == notes(source.piece)
    pipeline.render_file(demo, tmp_path / "demo.tab")
    assert (tmp_path / "demo.tab").read_text().startswith("demo\nTuning: E2 A2 D3 G3 B3 E4\n")
    encoded = pipeline.encode_files([demo], tmp_path / "demo.txt", tokens=False)
    assert encoded.report.pieces == 1


def test_a_tab_output_from_abc_is_arranged_for_guitar(tmp_path):
    """An ABC tune (or a MIDI file: tests/test_tab_arranging.py) is fretted in standard tuning."""
    abc = tmp_path / "t.abc"
    abc.write_text("X:1\nM:4/4\nL:1/8\nK:G\nGABc d2d2|\n")
    (source,) = pipeline.render_file(abc, tmp_path / "t.gp5")
    assert gp_notes(tmp_path / "t.gp5") == notes(source.piece)


def test_generate_writes_gp5_and_staffs_beside(tmp_path):
    out = tmp_path / "riff.gp5"
    result = pipeline.generate("tabs", num=2, length=300, random_seed=3, out=str(out))
    names = sorted(p.name for p in result.written)
    assert names == ["riff-1.gp5", "riff-1.tab", "riff-2.gp5", "riff-2.tab"]
    for i, piece in enumerate(result):
        assert gp_notes(tmp_path / f"riff-{i + 1}.gp5") == notes(piece.piece)
        staff = (tmp_path / f"riff-{i + 1}.tab").read_text()
        assert staff.startswith(f"riff-{i + 1}\nTuning: ") and "%columns" not in staff
    one = pipeline.generate("tabs", num=1, length=300, random_seed=3, out=str(tmp_path / "one.tab"))
    assert [p.name for p in one.written] == ["one.tab"]
    assert (tmp_path / "one.tab").read_text().startswith("one\nTuning: ")


def test_gp4_is_no_text_output(tmp_path, song):
    with pytest.raises(encoders.UsageError, match="unknown output type"):
        pipeline.decode(song, tmp_path / "x.gp4")


def test_the_command_line_writes_gp5(song, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "musicrnn", "decode", str(song), "--out", str(tmp_path / "s.gp5")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert gp_notes(tmp_path / "s.gp5") == notes(pipeline.decode(song)[0].piece)


def test_mei_tablature_engraves_every_fret():
    from musicrnn.pictures import _engrave

    tab, _ = parse_tab(SONG)
    mei = tab_to_mei(canonical(tab)[0], "riff")
    tab = canonical(tab)[0]
    steps = [e for system in tab.systems for e in system if not isinstance(e, str)]
    frets = [x for e in steps for x in e if symbol_fret(x) is not None]
    assert mei.count("<note ") == len(frets) == 19
    svg = _engrave(mei, "mei")
    assert svg.lstrip().startswith(("<svg", "<?xml")) and svg.count("<text") >= 19


def test_audition_shows_a_tab_staff(tmp_path, song):
    from musicrnn.audition import collect_sources, make_card

    folder = tmp_path / "batch"
    folder.mkdir()
    pipeline.decode(song, folder / "riff.gp5")
    pipeline.decode(song, folder / "riff.tab")
    sources, skipped = collect_sources(folder)
    assert [s.name for s in sources] == ["riff"] and skipped == []  # the .gp5 beside its .tab: one piece
    card = make_card(sources[0])
    assert card.score_uri and card.score_uri.startswith("data:image/svg+xml")
    assert card.text.startswith("riff\nTuning: D2") and card.text_suffix == ".tab"


# ---- the corpus's tunings hold a model's header


TUNINGS = ["E2 A2 D3 G3 B3 E4", "D2 A2 D3 G3 B3 E4", "D2 A2 D3 G3 A3 D4"]


def test_corpus_options_are_the_tunings():
    pieces = [f"%columns {t}\n0----- |\n" for t in TUNINGS] + ["%columns E2 A2 D3 G3 B3 E4 capo 2 tempo 90\n0----- |\n"]
    assert COLUMNS.corpus_options(pieces)["tunings"] == sorted(TUNINGS)
    many = [f"%columns E2 A2 D3 G3 B3 {n}\n0----- |\n" for n in ("E4", "F4", "Gb4", "G4") for _ in range(9)]
    many += [f"%columns E1 A1 D2 G2 B2 {n}\n0----- |\n" for n in ("C1", "D1", "E1") for _ in range(30)]
    assert COLUMNS.corpus_options(many[:4]) != {} and COLUMNS.corpus_options([]) == {}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_sampled_header_is_one_of_the_corpus_tunings(data):
    g = COLUMNS.grammar({"tunings": TUNINGS})
    text = ""
    while "\n" not in text:
        allowed = g.allowed()
        assert allowed, text
        ch = data.draw(st.sampled_from(sorted(allowed)))
        g.feed(ch)
        text += ch
    words = text.split()[1:]
    words = words[: words.index("capo")] if "capo" in words else words
    words = words[: words.index("tempo")] if "tempo" in words else words
    assert " ".join(words) in TUNINGS and g.problems == []


def test_without_corpus_tunings_any_header_is_allowed():
    g = COLUMNS.grammar({})
    g.feed("%columns B1 E2 A2 D3 G3 B3 E4\n")
    assert g.problems == []


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="e|-0123456789ABDG: \nxX%", max_size=400))
def test_looks_like_tab_is_bounded_and_agrees_with_the_reader(text):
    if looks_like_tab(text):
        tab, _ = parse_tab(text)
        assert tab is not None and tab.systems


def test_rows_text_is_no_raw_tab_to_sniff():
    text = ROWS.encode_text(SONG, "s.tab").pieces[0]
    assert encoders.sniff(text) is ROWS and not looks_like_tab(text)
    assert looks_like_tab(SONG) and encoders.sniff(SONG) is COLUMNS
    assert isinstance(Tab((40, 45, 50, 55, 59, 64)), Tab)


SHAPED = {"tunings": TUNINGS, "reach": 4, "even_bars": True}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_a_walk_through_the_held_grammar_keeps_reach_and_even_bars(seed):
    rng = random.Random(seed)
    g = COLUMNS.grammar(SHAPED)
    text = ""
    while not g.done and len(text) < 6000:
        allowed = g.allowed()
        assert allowed, text[-80:]
        ch = rng.choice(allowed)
        g.feed(ch)
        text += ch
    if not g.done:
        return
    assert g.problems == [] and COLUMNS.decode(text).repairs == []
    tab, _ = parse_columns(text)
    lengths, count = [], 0
    assert all(isinstance(system[-1], str) for system in tab.systems)  # every system ends at a bar line
    for system in tab.systems:
        for e in system:
            if isinstance(e, str):
                lengths.append(count) if count else None
                count = 0
                continue
            count += 1
            frets = [symbol_fret(x) for x in e if symbol_fret(x)]
            assert not frets or max(frets) - min(frets) <= 4, e
    assert len(set(lengths[1:])) <= 1, lengths  # every bar after the first has the second's length


def test_corpus_options_see_reach_and_bars():
    even = "%columns E2 A2 D3 G3 B3 E4\n0----- .3 | 3----7 .3 | -2---- .3 | 0----- .3 |\n"
    wide = "%columns E2 A2 D3 G3 B3 E4\n0----- .3 | 3----9 .3 | -2---- .7 | 0----- .1 |\n"
    assert COLUMNS.corpus_options([even]) == {"tunings": [TUNINGS[0]], "reach": 4, "even_bars": True}
    assert COLUMNS.corpus_options([wide]) == {"tunings": [TUNINGS[0]]}
    g = COLUMNS.grammar({"reach": 4, "even_bars": True})
    g.feed("%columns E2 A2 D3 G3 B3 E4\n0----- .3 | 3---")
    assert "9" not in g.allowed() and "7" in g.allowed() and "0" in g.allowed()
    g.feed("-7 .")
    assert g.allowed() == "123456789"  # the second bar sets the length: any run still fits
    g.feed("3 | -2---- .")
    assert g.allowed() == "123"  # 3 columns left in the bar
    g.feed("3")
    assert g.allowed() == " " and (g.feed(" ") or g.allowed()) == "|:"  # a line ends at a bar line


def test_the_bundled_tabs_model_writes_its_corpus_tunings_and_chords():
    from musicrnn.checkpoint import load

    options = load("tabs").meta["scheme_options"]
    assert options["reach"] == 4 and options["even_bars"] is True and len(options["tunings"]) == 5
    pieces = pipeline.generate("tabs", num=4, length=1500, random_seed=7)
    onsets = Counter()
    for p in pieces:
        assert p.repairs == []
        assert p.text.splitlines()[0].split(" ", 1)[1] in options["tunings"]
        onsets.update((id(p), n.onset) for n in p.piece.notes)
    assert sum(k > 1 for k in onsets.values()) >= 0.05 * len(onsets)  # chords, not a melody alone
