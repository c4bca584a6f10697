"""encoders.abc.normalize: raw ABC -> the scheme's normalized tunes, and transposition."""

from __future__ import annotations

import random
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from encoders import split_stream
from encoders.abc.normalize import (
    ALL_SHIFTS,
    bar_problems,
    chord_name,
    interval_to_c,
    normalize,
    normalize_tunes,
    skip_reason,
    transpose_tune,
)


def one(text: str, **kw) -> str:
    r = normalize(text, path="t.abc", **kw)
    assert len(r.pieces) == 1, (r.pieces, [str(p) for p in r.problems])
    return r.pieces[0]


MESSY = """\
% a comment before the tune
X: 12
T:The Kesh
T:alternative title
% from a session
C:trad.
M:6/8
R:Jig
K:G % the key
|:"^intro" !trill!GAG  GAB | ABA ABd :|  % comment
w: la la la
|: ~g2e +fermata+dBG |1 "Am"A3 A2d :|2 "D7"A3 A3 |]
W: words at the end
"""


def test_messy_tune_exact_text():
    assert one(MESSY) == (
        'X:1\nM:6/8\nL:1/8\nR:jig\nK:G\n|:GAG GAB|ABA ABd:|\n|:~g2e dBG|[1"Am"A3 A2d:|[2"D7"A3 A3|]\n'
    )


def test_titles_on_keeps_first_title_only():
    out = one(MESSY, titles=True)
    assert out.startswith("X:1\nT:The Kesh\nM:6/8\n")
    assert "alternative" not in out


def test_missing_L_and_M_C_and_continuation():
    raw = "X:3\nM:C\nQ:3/8=80\nK:D\nA2 B>c d2 e/f/g|\\\n  a4   b4 |\n"
    assert one(raw) == "X:1\nM:4/4\nL:1/8\nQ:1/4=120\nK:D\nA2 B>c d2 e/f/g|a4 b4|\n"
    # below 3/4 the default unit is 1/16; C| is 2/2
    assert "L:1/16" in one("X:1\nM:2/4\nK:C\nC4D4|E8|\n")
    assert one("X:1\nM:C|\nK:C\nC4D4|E8|\n").startswith("X:1\nM:2/2\nL:1/8\n")


def test_essen_line_end_bar_lines():
    raw = (
        "X:1\nT: Renmin\nN: C0002\nR: Wuge, Shuichuan qu. Xin minge]\nM: 2/4\nL: 1/16\nK: C\n"
        "d4A2c2 | d4d4 | A3cd2g2 | c2A2G4\nA3cd2g2 | d2c4A2 | c3AG2E2 | D8\n"
    )
    assert one(raw) == ("X:1\nM:2/4\nL:1/16\nK:C\nd4A2c2|d4d4|A3cd2g2|c2A2G4|\nA3cd2g2|d2c4A2|c3AG2E2|D8|\n")


def test_bar_spellings_lengths_octaves():
    raw = "X:1\nM:2/4\nL:1/8\nK:C\n|: C//D//E/F/ c,2 :|: x2 z2 :||: A3/B/ c2 |1 d4 :| [2 e4 |||\n"
    # (abc2midi warns "Bar 0 has 7/4 ... in repeat": kept only with keep_irregular)
    assert one(raw, keep_irregular=True) == "X:1\nM:2/4\nL:1/8\nK:C\n|:C/4D/4E/F/ C2::z2 z2::A3/2B/ c2|[1d4:|[2e4||\n"
    assert normalize(raw).pieces == []


def test_decorations_annotations_chord_symbols():
    raw = 'X:1\nM:3/4\nL:1/4\nK:C\n"G"TG "_below"u.A "4"!p!B | "Segno"~c "Amin"d "D.C."e |]\n'
    assert one(raw).endswith('\n"G"G .A B|~c "Am"d e|]\n')
    assert chord_name("Bbmaj7/D") == "Bbmaj7/D" and chord_name("D.C.") is None and chord_name("4") is None


def test_first_voice_only():
    raw = "X:1\nM:2/4\nL:1/8\nV:1\nV:2\nK:C\nV:1\nCDEF|GABc|\nV:2\nC,4|C,4|\nV:1\ncBAG|FEDC|]\n"
    assert one(raw) == "X:1\nM:2/4\nL:1/8\nK:C\nCDEF|GABc|\ncBAG|FEDC|]\n"


def test_body_fields_become_inline():
    raw = "X:1\nM:2/4\nL:1/8\nK:G\nGABc|d4|\nM:3/4\nK:D\nd2 e2 f2|\nP:B\nw:la\na6|]\n"
    assert one(raw).endswith("K:G\nGABc|d4|\n[M:3/4][K:D]d2 e2 f2|\na6|]\n")


def test_ties_to_other_pitches_and_unequal_broken_rhythm():
    raw = "X:1\nM:4/4\nL:1/8\nK:C\nA4-B4|z2-C2 C2-C2|A2>B z/ c>d e2|\n"
    assert one(raw).endswith("\nA4B4|z2C2 C2-C2|A3B/ z/ c>d e2|\n")


def test_r_field_only_for_rhythms():
    assert "R:double jig" in one("X:1\nR:Double  Jig\nM:6/8\nK:G\nGAG GAB|\n")
    assert "R:" not in one("X:1\nR:liebes - lied, leid\nM:6/8\nK:G\nGAG GAB|\n")


def test_irregular_and_broken_tunes_are_skipped_with_file_line():
    raw = (
        "X:1\nM:2/4\nL:1/8\nK:G\nGABc|d4|]\n\n"
        "X:2\nT:Too long\nM:2/4\nL:1/8\nK:G\nGABc|d4 e|]\n\n"
        "X:3\nT:No music\nM:2/4\nK:G\n\n"
        "X:4\nM:3/4\nL:1/8\nK:Bn\nABc def|\n\n"
        "X:5\nM:2/4\nL:1/8\nK:D\nDEFG|A4|]\n"
    )
    r = normalize(raw, path="f.abc")
    assert len(r.pieces) == 2 and "K:D" in r.pieces[1]
    msgs = [str(p) for p in r.problems]
    assert msgs[0].startswith("f.abc:7:1: tune X:2 ('Too long'): irregular bars: ")
    assert msgs[1].startswith("f.abc:14:1: tune X:3 ('No music'): no notes")
    assert msgs[2].startswith("f.abc:22:1: tune X:4: unreadable: unknown key K:'Bn'")
    assert [skip_reason(p) for p in r.problems] == ["irregular bars", "no notes", "unreadable"]
    kept = normalize(raw, path="f.abc", keep_irregular=True)
    assert len(kept.pieces) == 3


def test_pickups_and_short_bars_before_repeats_are_regular():
    raw = "X:1\nM:6/8\nL:1/8\nK:D\nA|dAF DFA|dfe d2:|\n|:e|fdf fga|ecA A2||\ng|fdf fga|d3 d2|]\n"
    assert len(normalize(raw).pieces) == 1


@pytest.mark.parametrize(
    "body,kept",
    [
        ("A|dAF DFA|dfe d2:|", True),  # the short last bar and the pickup make one bar on the repeat
        ("A|dAF DFA|dfe d2A:|", False),  # abc2midi: "Bar 0 has 1 time units ... in repeat"
        ("A|:dAF DFA|dfe d2:|", False),  # "Bar 1 has 11 ... in repeat"
        ("dAF DFA|dfe d2|", False),  # a short bar at a plain | (not the first)
        ("dAF DFA|dfe d2||", True),
        ("dAF DFA|dfe d2||A dAF|DFA d3|]", False),  # 5 + 4 across ||
    ],
)
def test_irregular_means_abc2midi_warns(body, kept):
    raw = f"X:1\nM:6/8\nL:1/8\nK:D\n{body}\n"
    assert (len(normalize(raw).pieces) == 1) is kept
    assert (bar_problems(raw) is None) is kept


# ----------------------------------------------------------------------------- robustness

ABC_CHARS = "ABCDEFGabcdefgzxZ^_=,'/0123456789|:[]()<>-{}~.!+\"% \n\\KMLTQVwXy&"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_never_raises_on_any_text(text):
    r = normalize(text, path="x.abc", transpose="all", keep_irregular=True)
    assert all(p.endswith("\n") for p in r.pieces)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(alphabet=ABC_CHARS, max_size=200),
    st.sampled_from(["C", "G", "Ador", "Bb", "F#m", "Emix", "none", "Hp"]),
    st.sampled_from(["2/4", "6/8", "C|", "none"]),
)
def test_idempotent_on_generated_tunes(body, key, meter):
    raw = f"X:1\nM:{meter}\nK:{key}\n{body}\n"
    for kw in ({}, {"keep_irregular": True}):
        first = normalize(raw, **kw)
        for piece in first.pieces:
            assert normalize(piece, **kw).pieces == [piece]


def test_idempotent_on_corpus_tunes():
    from encoders.abc.corpus import raw_tunes

    tunes = raw_tunes()
    if not tunes:
        pytest.skip("music21 not installed")
    rng = random.Random(7)
    for _, _, raw in rng.sample(tunes, 150):
        for piece in normalize(raw).pieces:
            assert normalize(piece).pieces == [piece]


# ----------------------------------------------------------------------------- transposition

TUNE = """\
X:1
M:4/4
L:1/8
K:G
"G"G2 ^F=F G2 ^c2|c2 c'2 =F2-F2|"Am"A,B,^C=C "D7/F#"D^D E2|
^G2-G2 g2 G,2|[GB]2 [^FA]- [FA] "Em"e2 _B2|"C"(3cBA G>F G4|]
"""


def _pitches(text):
    from tools.reference_abc import abc2midi_run

    res = abc2midi_run(text)
    assert res.ok and not res.errors, res.output
    return [(p, round(on * 8)) for p, on, _ in res.notes]


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi not installed")
@pytest.mark.parametrize("shift", [-6, -5, -2, -1, 1, 3, 5, 6])
def test_transposed_tune_plays_the_same_notes_shifted(shift):
    src = one(TUNE)
    moved = transpose_tune(src, shift)
    assert [(p + shift, t) for p, t in _pitches(src)] == _pitches(moved)


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi not installed")
def test_transpose_C_on_corpus_tunes_plays_shifted():
    from encoders.abc.corpus import raw_tunes

    tunes = raw_tunes()
    if not tunes:
        pytest.skip("music21 not installed")
    rng = random.Random(3)
    done = 0
    for _, _, raw in rng.sample(tunes, 60):
        for src in normalize(raw).pieces:
            shift = interval_to_c(src)
            moved = normalize(src, transpose="C").pieces[0]
            assert moved == transpose_tune(src, shift)
            assert [(p + shift, t) for p, t in _pitches(src)] == _pitches(moved), (src, moved)
            done += 1
        if done >= 12:
            break
    assert done >= 12


def test_transpose_keys_modes_and_chord_symbols():
    def to_c(raw):
        return one(raw, transpose="C")

    assert "K:Cmix\n" in to_c("X:1\nM:2/4\nL:1/8\nK:Gmix\nGABc|d4|\n")
    assert "K:Cdor\n" in to_c("X:1\nM:2/4\nL:1/8\nK:Ador\nABcd|e4|\n")
    out = to_c('X:1\nM:2/4\nL:1/8\nK:A\n"A"ABcd|"E7/G#"e4|\n')
    assert out.endswith('K:C\n"C"cdef|"G7/B"g4|\n')
    assert interval_to_c(one("X:1\nM:2/4\nK:F#\nF4|\n")) == 6 or interval_to_c(one("X:1\nM:2/4\nK:F#\nF4|\n")) == -6
    assert interval_to_c(one("X:1\nM:2/4\nK:none\nF4|\n")) == 0


def test_transpose_all_gives_12_distinct_pieces():
    r = normalize(TUNE, transpose="all")
    assert len(r.pieces) == 12 == len(set(r.pieces)) == len(ALL_SHIFTS)
    assert r.pieces[0] == one(TUNE)
    keys = {p.split("K:")[1].split("\n")[0] for p in r.pieces}
    assert len(keys) == 12


def test_normalize_tunes_reports_each_tune():
    res = normalize_tunes("X:1\nK:C\nCDEF|\n\nX:2\nK:C\n\n", "f.abc")
    assert [r.text is not None for r in res] == [True, False]
    assert split_stream("\n".join(r.text for r in res if r.text))


@pytest.mark.parametrize("shift", [-5, 2, 6])
def test_transposed_tune_plays_shifted_through_our_player(shift):
    player = pytest.importorskip("encoders.abc.player")
    src = one(TUNE)
    moved = transpose_tune(src, shift)

    def notes(text):
        return sorted((n.onset, n.pitch) for n in player.play(text).piece.notes)

    assert [(on, p + shift) for on, p in notes(src)] == notes(moved)
