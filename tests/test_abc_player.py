"""The ABC player: exact notes on small tunes, robustness on broken text, and
agreement with abc2midi (the reference player) on corpus tunes."""

import functools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encoders.abc.player import play
from tools import reference_abc as reference


def tune(body: str, head: str = "M:4/4\nL:1/8\n", key: str = "C") -> str:
    return f"X:1\nT:test\n{head}K:{key}\n{body}\n"


def notes(text: str) -> list[tuple[int, float, float]]:
    d = play(text)
    return [(n.pitch, round(n.onset, 6), round(n.duration, 6)) for n in d.piece.notes]


def pitches(text: str) -> list[int]:
    return [n.pitch for n in play(text).piece.notes]


def test_basic_lengths_and_header():
    d = play(tune("C D2 E/ F// G3/2 z A4|", head="M:4/4\nL:1/8\nQ:1/4=90\n"))
    assert [(n.pitch, n.onset, n.duration) for n in d.piece.notes] == [
        (60, 0.0, 0.5),
        (62, 0.5, 1.0),
        (64, 1.5, 0.25),
        (65, 1.75, 0.125),
        (67, 1.875, 0.75),
        (69, 3.125, 2.0),
    ]
    assert d.piece.tempo == 90.0 and d.piece.meter == (4, 4) and d.piece.title == "test"
    assert d.piece.key == "C"
    assert d.repairs == []


def test_default_unit_from_meter():
    # no L: and M:2/4 -> unit 1/16; M:6/8 -> 1/8
    assert notes(tune("C", head="M:2/4\n")) == [(60, 0.0, 0.25)]
    assert notes(tune("C", head="M:6/8\n")) == [(60, 0.0, 0.5)]


@pytest.mark.parametrize(
    "key, expected",
    [
        ("G", [60, 62, 64, 66, 67, 69, 71]),
        ("Ador", [60, 62, 64, 66, 67, 69, 71]),
        ("Dmix", [60, 62, 64, 66, 67, 69, 71]),
        ("F", [60, 62, 64, 65, 67, 69, 70]),
        ("Bb", [60, 62, 63, 65, 67, 69, 70]),
        ("Em", [60, 62, 64, 66, 67, 69, 71]),
        ("Cm", [60, 62, 63, 65, 67, 68, 70]),
        ("E phr", [60, 62, 64, 65, 67, 69, 71]),
        ("F lyd", [60, 62, 64, 65, 67, 69, 71]),
        ("B loc", [60, 62, 64, 65, 67, 69, 71]),
        ("D exp ^f ^c", [61, 62, 64, 66, 67, 69, 71]),
        ("none", [60, 62, 64, 65, 67, 69, 71]),
    ],
)
def test_keys_and_modes(key, expected):
    assert pitches(tune("CDEFGAB|", key=key)) == expected


def test_accidentals_last_to_the_bar_end_in_every_octave():
    # ^F holds for f in another octave (abc2midi), = cancels, the bar line resets
    assert pitches(tune("^F F f =F F | F")) == [66, 66, 78, 65, 65, 65]
    # in G: the key's F# comes back after the bar
    assert pitches(tune("=F F | F", key="G")) == [65, 65, 66]


def test_tie_merges_notes_and_keeps_accidental_across_the_bar():
    assert notes(tune("^F2-|F2 F2 C-C|")) == [(66, 0.0, 2.0), (65, 2.0, 1.0), (60, 3.0, 1.0)]
    # a tie to another pitch is no tie; a chord tie joins the pitches it names
    assert notes(tune("C-D [CE]-[CG]")) == [
        (60, 0.0, 0.5),
        (62, 0.5, 0.5),
        (60, 1.0, 1.0),
        (64, 1.0, 0.5),
        (67, 1.5, 0.5),
    ]


def test_tuplets():
    assert notes(tune("(3CDE F")) == [
        (60, 0.0, 0.333333),
        (62, 0.333333, 0.333333),
        (64, 0.666667, 0.333333),
        (65, 1.0, 0.5),
    ]
    # (p:q:r: 3 notes in the time of 2 for 4 notes
    assert [n[2] for n in notes(tune("(3:2:4CDEF G"))] == [0.333333] * 4 + [0.5]
    # (5 in 6/8 (numerator a multiple of 3) is 5 in the time of 3
    assert [n[2] for n in notes(tune("(5CDEFG", head="M:6/8\nL:1/8\n"))] == [0.3] * 5


def test_broken_rhythm():
    assert notes(tune("C>D E<F G>>A")) == [
        (60, 0.0, 0.75),
        (62, 0.75, 0.25),
        (64, 1.0, 0.25),
        (65, 1.25, 0.75),
        (67, 2.0, 0.875),
        (69, 2.875, 0.125),
    ]
    # between unequal notes abc2midi ignores it, and so do we (with a repair note)
    d = play(tune("C2>D"))
    assert [n.duration for n in d.piece.notes] == [1.0, 0.5] and d.repairs


def test_hornpipe_swings_like_abc2midi():
    swung = notes(tune("ABcd efga|", head="M:4/4\nL:1/8\nR:hornpipe\n"))
    assert [n[2] for n in swung] == [0.666667, 0.333333] * 4
    straight = notes(tune("ABcd efga|", head="M:4/4\nL:1/8\nR:reel\n"))
    assert [n[2] for n in straight] == [0.5] * 8


def test_chords():
    assert notes(tune("[CEG]2 [C2E4] [CE]/ z")) == [
        (60, 0.0, 1.0),
        (64, 0.0, 1.0),
        (67, 0.0, 1.0),
        (60, 1.0, 1.0),
        (64, 1.0, 1.0),  # no length after ]: the first note's
        (60, 2.0, 0.25),
        (64, 2.0, 0.25),
    ]


def test_inline_fields():
    assert pitches(tune("F [K:G] F [L:1/4] F")) == [65, 66, 66]
    assert [n[2] for n in notes(tune("C [L:1/4] C [M:3/4] C"))] == [0.5, 1.0, 1.0]


@pytest.mark.parametrize(
    "body, expected",
    [
        ("|: A B :| c d |]", "ABABcd"),
        ("A B :| c d :|", "ABABcdcd"),  # no |: : back to the start, then to the last :|
        ("|: A |1 B :|2 c |]", "ABAc"),
        ("|: A [1 B :| [2 c |]", "ABAc"),
        ("|: A |1 B :|2 c :|3 d |]", "ABAcAd"),
        ("|: A :: B :|", "AABB"),
        ("|: A :| B || C :|", "AABCC"),  # after a finished repeat a || starts the next one
    ],
)
def test_repeats_and_endings(body, expected):
    names = {69: "A", 71: "B", 72: "c", 74: "d", 60: "C"}
    assert "".join(names[p] for p in pitches(tune(body))) == expected


def test_parts_play_in_header_order():
    text = "X:1\nM:4/4\nL:1/8\nP:ABA\nK:C\nP:A\nC|]\nP:B\n|D:|\n"
    assert pitches(text) == [60, 62, 62, 60]


def test_multi_measure_rest_and_voices():
    d = play(tune("Z2 | C4 x4 |"))
    assert [(n.pitch, n.onset) for n in d.piece.notes] == [(60, 8.0)]
    v = play("X:1\nM:4/4\nL:1/4\nK:C\nV:1\nCDEF|\nV:2\nC,D,E,F,|\n")
    assert sorted({n.voice for n in v.piece.notes}) == [0, 1]
    assert [n.onset for n in v.piece.notes if n.voice == 1] == [0.0, 1.0, 2.0, 3.0]


def test_grace_notes_decorations_chord_symbols_are_not_played():
    assert notes(tune('{ag}"Am"!trill!~.C2 T D')) == [(60, 0.0, 1.0), (62, 1.0, 0.5)]


# bars_ok means "abc2midi 4.84 prints no 'Bar N has X time units while the time signature
# has Y' warning"; each row was measured with abc2midi (True: no such warning).
J = "M:6/8\nL:1/8\n"
R = "M:4/4\nL:1/8\n"
BARS_TABLE = [
    (J, "A|BAB c2d|e3 e2:|", True),  # short last bar + repeated pickup = one full bar
    (J, "A|BAB c2d|e3 e2d:|", False),  # Bar 0 has 1 in repeat: the pickup alone
    (J, "A|:BAB c2d|e3 e2:|", False),  # Bar 1 has 11 in repeat: 5 carried into a full bar
    (J, "A|BAB c2d|e3 e2:|A|BAB c2d|e3 e2|]", True),
    (J, "A|BAB c2d|e3 e2::A|BAB c2d|e3 e2:|", True),
    (J, "A|BAB c2d|e3 e2::A2|BAB c2d|e3 e2:|", False),  # Bar 2 has 7, twice
    (J, "BAB c2d|e3 e2|", False),  # a short bar at a plain | is checked
    (J, "BAB c2d|e3 e2||", True),
    (J, "BAB c2d|e3 e2:|", False),  # Bar 0 has 11 in repeat
    (J, "A|BAB c2d|[1e3 e2:|[2e3 e3|]", True),
    (J, "A|BAB c2d|[1e3 e2:|[2e3 e2|]", True),
    (J, "A|BAB c2d|1e3 e2:|2e3 e2A|BAB c2d|e3 e2|]", True),
    (J, "A|BAB c2d|e3 e2|:BAB c2d|e3 e3:|", False),  # Bar 2 has 11
    (J, "A|BAB c2d|e3 e2A|BAB c2d|e3 e2|]", True),
    (J, "A|BAB c2d|e3 e2A|BAB c2d|e3 e2A:|", False),  # Bar 0 has 1 in repeat
    (J, "BAB c2d|e3 e2||A|BAB c2d|e3 e3|]", True),  # 5 before || + 1 after
    (J, "BAB c2d|e3 e2||A BAB|c2d e3|]", False),  # Bar 1 has 9
    (J, "BAB c2d|e3 e2|A|BAB c2d|e3 e3|]", False),  # no carrying across a plain |
    (J, "BAB c2d|]e3 e2|", False),  # |] carries a short bar like ||
    (J, "BAB c2d e3 e2|]BAB c2d|", True),  # bar 0 is never checked on a first pass
    (J, "A2B2c2d2e|BAB c2d|", True),  # ... not even when too long
    (J, "BAB c2d|e3 e2 e3 e3", True),  # the bar after the last bar line is never checked
    (J, "BAB c2d|[|e3 e2A BAB|", False),
    (J, "A|BAB c2d|e3 e2||:A BAB c2d|", False),  # ||: is a double bar
    (J, "BAB c2d|e3 e2::A BAB c2d:|", False),
    (J, "A|:BAB c2d|[1,3e3 e2:|[2e3 e2:|", False),
    (J, "BAB c2d|e3 (3e2e2e2|", False),  # Bar 1 has 7
    (J, "A|BAB c2d|e3 e2:||A BAB c2d|", False),  # :|| is :| then a plain |
    (J, "A|BAB c2d|e3 e2:|]A BAB c2d|", False),
    (R, "ABcd efga|bagf edc B/|ABcd efga|", False),  # 15/4: exact lengths, no rounding
    (R, "ABcd efga|(3bag f2 edcB|ABcd efga|", True),
    (R, "ABcd efga|Z2|ABcd efga|", True),
    (R, "ABcd efga|abc Z2 abc|ABcd efga|", False),  # Z2: two whole-bar rests, a | between
    (R, "ABcd efga|abcd||Z2|efga ABcd|", False),
    (R, "ABcd efga|[M:3/4]abc def|ABcd efga|", False),
    (R, "ABcd efga|[M:3/4]abc def|[M:4/4]ABcd efga|", True),
    (R, "ABcd efga|[M:3/4]abc def [M:4/4]|ABcd efga|", True),  # M: right before | applies after it
    (R, "ABcd efga|[M:3/4]abc [M:4/4]def|ABcd efga|", False),
    (R, "ABcd efga|abc def [M:3/4]||abc def|", True),
    (R, "ABcd efga|abcd||[M:6/8]abcd|", True),  # 2 quarters carried + 4 eighths "= 6"
    (R, "ABcd efga|[L:1/4]abcd|[L:1/8]ABcd efga|", True),
    (R, "ABcd efga|1abcd efg:|2abcd efga|", False),
    (R, "A|ABcd efga|1abcd efg:|2abcd efga|", True),
    (R, "ABcd efga|[M:none]abc||abcdefgabc|[M:4/4]ABcd efga|abc|", False),
    ("M:none\nL:1/8\n", "abc|abcdefg|[M:3/4]abc def|abc|", False),
]


@pytest.mark.parametrize("head,body,expected", BARS_TABLE)
def test_bars_ok_follows_abc2midi(head, body, expected):
    text = tune(body, head=head, key="G")
    assert play(text).bars_ok is expected
    if reference.available():  # the live reference
        assert reference.abc2midi_bars_ok(text) is expected


def test_bars_ok_none_without_meter():
    assert play(tune("ABC DEF G|", head="M:none\nL:1/8\n")).bars_ok is None
    assert play(tune("G|ABcd efga|bagf edcB:|")).bars_ok is False  # Bar 0 has 1/2 in repeat


def test_bar_beats_and_end():
    d = play(tune("C4 D4|E8|"))
    assert d.piece.bar_beats == [4.0, 8.0]
    assert d.piece.end == 8.0


@pytest.mark.parametrize(
    "text, must_report",
    [
        ("", True),
        ("X:1", True),
        ("K:C\n", True),
        ("abc def|", True),  # no header at all
        ("X:1\nK:Q#\n[CEG|A]]]]]2 (3 >C- {g a|\n", True),
        ("X:1\nM:4/4\nK:C\nA99999999/0 Z99999 (9999CD [K: ^^^^ \\\n\n", True),
        ("X:1\nK:C\n|:|:|:|:A:|:|:|2:|3::::\n", False),
    ],
)
def test_broken_text_is_repaired_not_raised(text, must_report):
    d = play(text)
    assert d.text == text
    assert isinstance(d.piece.notes, list)
    if must_report:
        assert d.repairs, "something was wrong with this text and must be reported"
    for p in d.repairs:
        assert p.message


def test_repairs_name_line_and_column():
    d = play("X:1\nK:C\nAB J c|\n", path="gen.abc")
    (p,) = d.repairs
    assert (p.line, p.column, p.path) == (3, 4, "gen.abc") and "'J'" in p.message
    assert str(p).startswith("gen.abc:3:4:")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_never_raises_on_any_text(text):
    d = play(text)
    assert all(0 <= n.pitch <= 127 and n.duration > 0 for n in d.piece.notes)
    assert not any(p.message.startswith("player error") for p in d.repairs)


ABC_BITS = [
    "A",
    "c'",
    "_B,",
    "^^f",
    "=e",
    "z",
    "x2",
    "Z2",
    "|",
    "||",
    "|:",
    ":|",
    "::",
    "|1",
    ":|2",
    "[1",
    "[2",
    "[",
    "]",
    "]2",
    "(3",
    "(3:2:4",
    "(",
    ")",
    "{",
    "}",
    "-",
    ">",
    "<<",
    '"Am"',
    "!trill!",
    "~",
    "[K:D]",
    "[M:3/4]",
    "[L:1/16]",
    "\n",
    "\nV:2\n",
    "\nK:Bb\n",
    "2",
    "/",
    "//",
    "3/2",
    " ",
    "\\\n",
    "%c\n",
    "&",
    "\nP:A\n",
    "Q:1/4=80\n",
    "\n\n",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ABC_BITS), max_size=60))
def test_never_raises_on_abc_like_text(bits):
    d = play("X:1\nM:4/4\nL:1/8\nK:G\n" + "".join(bits))
    assert not any(p.message.startswith("player error") for p in d.repairs)
    assert all(0 <= n.pitch <= 127 and n.duration > 0 for n in d.piece.notes)


@functools.lru_cache(maxsize=1)
def _corpus_sample() -> list[str]:
    tunes = reference.corpus_tunes()
    return [t for _, _, t in random.Random(7).sample(tunes, min(60, len(tunes)))]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_never_raises_on_mutated_corpus_tunes(data):
    tunes = _corpus_sample()
    if not tunes:
        pytest.skip("the folk corpus (music21's wheel) is not installed")
    text = data.draw(st.sampled_from(tunes))
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(text)))
        op = data.draw(st.sampled_from(["cut", "insert", "dup"]))
        if op == "cut":
            text = text[:i] + text[i + data.draw(st.integers(1, 20)) :]
        elif op == "insert":
            text = text[:i] + data.draw(st.sampled_from(ABC_BITS)) + text[i:]
        else:
            text = text[:i] + text[max(0, i - 30) : i] + text[i:]
    d = play(text)
    assert not any(p.message.startswith("player error") for p in d.repairs)


AGREEMENT_TUNES = 40


@pytest.mark.skipif(not reference.available(), reason="abc2midi (Debian package abcmidi) is not installed")
def test_agrees_with_abc2midi_on_corpus_tunes():
    tunes = reference.corpus_tunes()
    if not tunes:
        pytest.skip("the folk corpus (music21's wheel) is not installed")
    sample = random.Random(2024).sample(tunes, AGREEMENT_TUNES)
    scores = []
    for _, _, text in sample:
        f1, ref, _ = reference.compare(text)
        if ref.ok:
            scores.append(f1)
    assert len(scores) >= AGREEMENT_TUNES - 2
    assert sum(scores) / len(scores) >= 0.99
    assert sum(1 for s in scores if s == 1.0) / len(scores) >= 0.9


@pytest.mark.skipif(not reference.available(), reason="abc2midi (Debian package abcmidi) is not installed")
def test_bars_ok_agrees_with_abc2midi_bar_warnings_on_corpus_tunes():
    tunes = reference.corpus_tunes()
    if not tunes:
        pytest.skip("the folk corpus (music21's wheel) is not installed")
    sample = random.Random(7).sample(tunes, AGREEMENT_TUNES)
    agree = 0
    for _, _, text in sample:
        _, ref, _, bars_ok = reference.compare(text, with_bars=True)
        agree += (bars_ok is not False) == (not reference.bar_warnings(ref))
    assert agree >= AGREEMENT_TUNES - 1


def test_note_f1():
    a = [(60, 0.0, 1.0), (62, 1.0, 1.0)]
    assert reference.note_f1(a, a) == 1.0
    assert reference.note_f1(a, [(60, 0.0, 1.0)]) == pytest.approx(2 / 3)
    assert reference.note_f1(a, [(60, 0.002, 0.998), (62, 1.0, 1.0)]) == 1.0  # 1 tick late
    assert reference.note_f1([], []) == 1.0 and reference.note_f1(a, []) == 0.0


def test_comparable_text_keeps_lines_nonblank():
    text = 'X:1\nK:C\n"Fife I"\n{g}A !trill!B ~c|\n'
    out = reference.comparable_text(text)
    assert "\n\n" not in out and "{" not in out and "!" not in out and "~" not in out
    assert "A" in out and "B" in out
