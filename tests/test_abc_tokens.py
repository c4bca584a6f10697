"""The ABC tokenizer is lossless and cuts known constructs into the documented kinds."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encoders.abc.tokens import (
    KINDS,
    MAX_LENGTH_NUMBER,
    default_unit,
    header_end,
    note_midi,
    parse_key,
    parse_length,
    parse_meter,
    parse_tempo,
    parse_unit,
    tokenize,
)

ABC_ALPHABET = "ABCDEFGabcdefgzxZXyHLMOPSTuvKMLQVPwW^_=,'/0123456789|:[]()<>{}\"!+-.~%\\&` \t\n\r"


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokenize(text) if t.kind != "space"]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_round_trip_any_text(text):
    toks = tokenize(text)
    assert "".join(t.text for t in toks) == text
    assert all(t.kind in KINDS for t in toks)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=ABC_ALPHABET, max_size=120))
def test_round_trip_abc_alphabet_and_positions(text):
    toks = tokenize(text)
    assert "".join(t.text for t in toks) == text
    # line and column point at the token's first character
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for t in toks:
        if t.kind == "newline" or not t.text:
            continue
        assert lines[t.line - 1][t.column - 1] == t.text[0]
        assert t.length > 0


def test_notes_lengths_and_octaves():
    toks = [t for t in tokenize("^c'3/2 _B,, =e// A3/ G/4 ^^F __b 2") if t.kind == "note"]
    assert [(t.accidental, t.letter, t.octave, t.length) for t in toks] == [
        ("^", "c", "'", Fraction(3, 2)),
        ("_", "B", ",,", Fraction(1)),
        ("=", "e", "", Fraction(1, 4)),
        ("", "A", "", Fraction(3, 2)),
        ("", "G", "", Fraction(1, 4)),
        ("^^", "F", "", Fraction(1)),
        ("__", "b", "", Fraction(1)),
    ]


def test_absurd_lengths_are_capped_not_raised():
    t = tokenize("A99999999999999/0")[0]
    assert t.kind == "note" and t.error
    assert 0 < t.length <= MAX_LENGTH_NUMBER
    assert parse_length("/0")[1]
    assert tokenize("Z999999999")[0].count == MAX_LENGTH_NUMBER


def test_bars_endings_and_fields():
    assert kinds("|:A:|2B|1 [1,3c:: |] [|]") == [
        ("bar", "|:"),
        ("note", "A"),
        ("bar", ":|"),
        ("ending", "2"),
        ("note", "B"),
        ("bar", "|"),
        ("ending", "1"),
        ("ending", "[1,3"),
        ("note", "c"),
        ("bar", "::"),
        ("bar", "|]"),
        ("bar", "[|]"),
    ]
    ends = [t for t in tokenize("[1,3 [2-4") if t.kind == "ending"]
    assert [t.numbers for t in ends] == [(1, 3), (2, 3, 4)]
    bars = [t for t in tokenize(":| |: :: :|:") if t.kind == "bar"]
    assert [(t.count, t.value) for t in bars] == [(1, ""), (0, "start"), (1, "start"), (1, "start")]


def test_field_lines_and_inline_fields():
    toks = tokenize("X:1\nK:G % key\nw:la la\n[K:D] [M:3/4]A")
    fields = [(t.kind, t.name, t.value) for t in toks if t.kind in ("field", "inline_field")]
    assert fields == [
        ("field", "X", "1"),
        ("field", "K", "G "),
        ("field", "w", "la la"),
        ("inline_field", "K", "D"),
        ("inline_field", "M", "3/4"),
    ]
    assert [t.kind for t in toks][3] == "comment"
    assert header_end(toks) == 5  # after "K:G ", its comment and the newline


def test_other_kinds():
    assert kinds('(3abc (3:2:4 "Am""^up"!trill!~.u{/g}a>b<<c-d)&y\\\n') == [
        ("tuplet", "(3"),
        ("note", "a"),
        ("note", "b"),
        ("note", "c"),
        ("tuplet", "(3:2:4"),
        ("chord_symbol", '"Am"'),
        ("annotation", '"^up"'),
        ("decoration", "!trill!"),
        ("decoration", "~"),
        ("decoration", "."),
        ("decoration", "u"),
        ("grace_start", "{/"),
        ("note", "g"),
        ("grace_end", "}"),
        ("note", "a"),
        ("broken", ">"),
        ("note", "b"),
        ("broken", "<<"),
        ("note", "c"),
        ("tie", "-"),
        ("note", "d"),
        ("slur_end", ")"),
        ("overlay", "&"),
        ("spacer", "y"),
        ("continuation", "\\"),
        ("newline", "\n"),
    ]
    assert [t.numbers for t in tokenize("(3:2:4(5::2(7") if t.kind == "tuplet"] == [
        (3, 2, 4),
        (5, None, 2),
        (7, None, None),
    ]
    chord = kinds("[CEG]2")
    assert chord[0] == ("chord_start", "[") and chord[-1] == ("chord_end", "]2")
    assert tokenize("[CE]3/2")[-1].length == Fraction(3, 2)
    assert kinds('"unclosed J')[0] == ("unknown", '"')


@pytest.mark.parametrize(
    "value, sig",
    [
        ("G", {"F": 1}),
        ("Ador", {"F": 1}),
        ("A Dorian", {"F": 1}),
        ("Em", {"F": 1}),
        ("Dmix", {"F": 1}),
        ("F#m", {"F": 1, "C": 1, "G": 1}),
        ("Bb", {"B": -1, "E": -1}),
        ("Bb Mixolydian", {"B": -1, "E": -1, "A": -1}),
        ("Gm", {"B": -1, "E": -1}),
        ("E Phrygian", {}),
        ("F Lydian", {}),
        ("B loc", {}),
        ("C# maj", dict.fromkeys("FCGDAEB", 1)),
        ("D exp ^f", {"F": 1}),
        ("Am ^g", {"G": 1}),
        ("none", {}),
        ("G clef=bass", {"F": 1}),
    ],
)
def test_parse_key(value, sig):
    assert parse_key(value).signature == sig
    assert not parse_key(value).error


def test_parse_key_unknown_never_raises():
    k = parse_key("Q#zz")
    assert k.error and isinstance(k.signature, dict)


def test_meter_unit_tempo():
    assert parse_meter("C") == (4, 4) and parse_meter("C|") == (2, 2)
    assert parse_meter("6/8") == (6, 8) and parse_meter("2+3/8") == (5, 8)
    assert parse_meter("none") is None and parse_meter("junk") is None
    assert default_unit((2, 4)) == Fraction(1, 16) and default_unit((3, 4)) == Fraction(1, 8)
    assert default_unit(None) == Fraction(1, 8)
    assert parse_unit("1/8") == Fraction(1, 8) and parse_unit("0/8") is None
    assert parse_tempo("1/4=120") == 120 and parse_tempo("3/8=80") == 120
    assert parse_tempo('"Allegro" 1/2=60') == 120 and parse_tempo("fast") is None


def test_note_midi():
    g = parse_key("G").signature
    assert note_midi("C", "", "", {}) == 60
    assert note_midi("c", "'", "", {}) == 84
    assert note_midi("F", "", "", g) == 66
    assert note_midi("f", "", "", g, {"F": 0}) == 77  # a natural earlier in the bar
    assert note_midi("B", ",", "_", g) == 58
