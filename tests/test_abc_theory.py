"""ABC arithmetic in one place (encoders.abc.theory), and the normalizer, the player and the
grammar agreeing on it: which bars are full, how long tuplets and broken rhythm last, what
a key signature is.  Where abc2midi is installed, the player is held to it on tuplets."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from encoders.abc.grammar import AbcGrammar, check
from encoders.abc.normalize import canonical_key, normalize, normalize_tunes
from encoders.abc.player import play
from encoders.abc.theory import (
    LETTER_SEMITONES,
    MODE_FIFTHS,
    bar_units,
    broken_factors,
    compound,
    default_unit,
    key_fifths,
    signature,
    spell_tonic,
    tonic_pitch_class,
    tuplet,
    tuplet_q,
)
from encoders.abc.tokens import parse_key
from encoders.abc.transpose import signature_fifths
from tools import reference_abc as reference

SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ the rules themselves

# The ABC 2.1 standard, section 4.13: "(p notes in the time of q"; for 5, 7, 9 q is "n":
# "If the time signature is compound (6/8, 9/8, 12/8) then n is three, otherwise n is two."
STANDARD_Q = {2: 3, 3: 2, 4: 3, 5: "n", 6: 2, 7: "n", 8: 3, 9: "n"}
METERS = [(2, 4), (3, 4), (4, 4), (2, 2), (3, 8), (6, 8), (9, 8), (12, 8), (5, 4), (7, 8), (3, 2), (6, 4)]


@pytest.mark.parametrize("meter", METERS + [None])
def test_tuplet_q_is_the_standards_table(meter):
    n = 3 if meter in ((6, 8), (9, 8), (12, 8), (6, 4)) else 2
    for p, q in STANDARD_Q.items():
        assert tuplet_q(p, meter, standard=True) == (n if q == "n" else q)
    assert tuplet_q(1, meter) is None and tuplet_q(10, meter) is None


@pytest.mark.parametrize("meter", METERS + [None])
def test_tuplet_q_as_abc2midi_differs_from_the_standard_only_in_simple_triple_meters(meter):
    differ = [p for p in range(1, 12) if tuplet_q(p, meter) != tuplet_q(p, meter, standard=True)]
    simple_triple = meter is not None and meter[0] == 3
    assert differ == ([5, 7, 9] if simple_triple else [])
    assert compound(meter) == (meter is not None and meter[0] in (6, 9, 12))


def test_tuplet_fills_in_the_defaults():
    assert tuplet((3, None, None), (4, 4)) == (3, 2, 3)
    assert tuplet((3, None, 2), (4, 4)) == (3, 2, 2)
    assert tuplet((5, None, None), (3, 4)) == (5, 3, 5)
    assert tuplet((11, 4, None), (4, 4)) == (11, 4, 11)
    assert tuplet((11, None, None), (4, 4)) is None


def test_broken_factors_and_units():
    for count in (1, 2, 3):
        a, b = broken_factors(">", count)
        assert a + b == 2 and b == Fraction(1, 2**count)
        assert broken_factors("<", count) == (b, a)
    assert default_unit((2, 4)) == Fraction(1, 16) and default_unit((3, 4)) == Fraction(1, 8)
    assert default_unit(None) == Fraction(1, 8)
    assert bar_units((6, 8), Fraction(1, 8)) == 6 and bar_units((2, 4), Fraction(1, 16)) == 8


@pytest.mark.parametrize("fifths", range(-14, 15))
def test_signature_adds_sharps_and_flats_in_order(fifths):
    sig = signature(fifths)
    assert sum(sig.values()) == fifths
    order = "FCGDAEB" if fifths > 0 else "BEADGCF"
    assert sorted(sig, key=order.index) == list(order[: min(abs(fifths), 7)])


@pytest.mark.parametrize("mode", sorted(MODE_FIFTHS))
def test_spell_tonic_gives_the_pitch_class_with_fewest_accidentals(mode):
    for pc in range(12):
        tonic = spell_tonic(pc, mode)
        assert tonic_pitch_class(tonic) == pc
        assert abs(key_fifths(tonic, mode)) <= 6


# ------------------------------------------------------------------ key signatures

MODE_WORDS = {
    "maj": ["", "maj", "major", "Ion"],
    "min": ["m", "min", "minor", "aeo"],
    "dor": ["dor", "Dorian"],
    "phr": ["phr"],
    "lyd": ["lyd", "Lydian"],
    "mix": ["mix", "Mixolydian"],
    "loc": ["loc"],
}


@st.composite
def keys(draw):
    """(K: text, tonic, canonical mode) of a key of at most 7 sharps or flats."""
    letter = draw(st.sampled_from("CDEFGAB"))
    acc = draw(st.sampled_from(["", "#", "b"]))
    mode = draw(st.sampled_from(sorted(MODE_WORDS)))
    word = draw(st.sampled_from(MODE_WORDS[mode]))
    space = draw(st.sampled_from(["", " "])) if word else ""
    tonic = letter + acc
    if abs(key_fifths(tonic, mode)) > 7:
        tonic, acc = letter, ""
        if abs(key_fifths(tonic, mode)) > 7:
            tonic = "C"
    return f"{tonic}{space}{word}", tonic, mode


@given(keys())
@settings(max_examples=150, deadline=None)
def test_key_signatures_agree(key):
    """The tokenizer's, the player's, the normalizer's, the grammar's and the transposer's
    reading of a key are theory's signature."""
    text, tonic, mode = key
    fifths = key_fifths(tonic, mode)
    sig = signature(fifths)
    assert parse_key(text).signature == sig
    tune = f"X:1\nM:4/4\nL:1/8\nK:{text}\nCDEFGABc|]\n"
    expected = [60 + LETTER_SEMITONES[ch.upper()] + 12 * ch.islower() + sig.get(ch.upper(), 0) for ch in "CDEFGABc"]
    assert [n.pitch for n in play(tune).piece.notes] == expected
    canon, _, canon_sig = canonical_key(text)
    assert canon_sig == sig and parse_key(canon).signature == sig
    assert signature_fifths(canon) == fifths
    (normalized,) = normalize(tune).pieces
    assert f"\nK:{canon}\n" in normalized
    assert [n.pitch for n in play(normalized).piece.notes] == expected
    assert check(normalized, min_bars=1) == []


# ------------------------------------------------------------------ bars, tuplets, broken rhythm

# note lengths the grammar may write, in quarters of L (FOLK_LENGTHS)
LENGTHS = {"/4": 1, "/": 2, "3/4": 3, "": 4, "3/2": 6, "2": 8, "3": 12, "4": 16, "6": 24}
GRAMMAR_METERS = [
    ((2, 4), 16),
    ((3, 4), 8),
    ((4, 4), 8),
    ((2, 2), 8),
    ((3, 8), 8),
    ((6, 8), 8),
    ((9, 8), 8),
    ((12, 8), 8),
    ((5, 4), 8),
    ((7, 8), 8),
]
PITCHES = ["C", "D", "E", "F", "G", "A", "B", "c", "d", "e", "^f", "_B", "=c"]


@st.composite
def bar_chunk(draw, room: int, meter: tuple[int, int], tuplets: tuple[int, ...]):
    """A note, rest, chord, broken pair or tuplet taking at most `room` quarters of L:
    (its text, its time in quarters of L as theory says)."""
    fits = {s: v for s, v in LENGTHS.items() if v <= room}
    pitch = st.sampled_from(PITCHES)
    kind = draw(st.sampled_from(["note", "note", "note", "rest", "chord", "pair", "tuplet"]))
    if kind == "pair":
        pairs = {s: v for s, v in fits.items() if v % 2 == 0 and 2 * v <= room}
        if pairs:
            s = draw(st.sampled_from(sorted(pairs)))
            sign = draw(st.sampled_from("<>"))
            return f"{draw(pitch)}{s}{sign}{draw(pitch)}{s}", 2 * pairs[s]
    if kind == "tuplet":
        p = draw(st.sampled_from(tuplets))
        q = tuplet_q(p, meter)
        each = {s: v for s, v in LENGTHS.items() if q * v <= room}
        if each:
            s = draw(st.sampled_from(sorted(each)))
            return f"({p}" + "".join(draw(pitch) + s for _ in range(p)), q * each[s]
    s = draw(st.sampled_from(sorted(fits)))
    if kind == "rest":
        return "z" + s, fits[s]
    if kind == "chord":
        return f"[{draw(pitch)}{draw(st.sampled_from('eg'))}]{s}", fits[s]
    return draw(pitch) + s, fits[s]


@st.composite
def full_tunes(draw, tuplets: tuple[int, ...] = (2, 3, 4)):
    """(meter, unit, bars): bars that are exactly full, each a list of chunk texts."""
    meter, unit = draw(st.sampled_from(GRAMMAR_METERS))
    full = int(bar_units(meter, Fraction(1, unit)) * 4)
    bars = []
    for _ in range(draw(st.integers(2, 6))):
        chunks, room = [], full
        while room:
            text, time = draw(bar_chunk(room, meter, tuplets))
            chunks.append(text)
            room -= time
        bars.append(chunks)
    return meter, unit, bars


def header(meter, unit) -> str:
    return f"X:1\nM:{meter[0]}/{meter[1]}\nL:1/{unit}\nK:C\n"


def render(meter, unit, bars, extra: int | None = None) -> str:
    """The tune in normalized form: one bar a line, each closed by | (the last by |]), a line
    broken inside a long bar; `extra`: that bar gets one more note (it is overfull)."""
    lines = []
    for i, chunks in enumerate(bars):
        line = ""
        for c in chunks + (["c"] if i == extra else []):
            if len(line) > 100:
                lines.append(line)
                line = ""
            line += c
        lines.append(line + ("|]" if i == len(bars) - 1 else "|"))
    return header(meter, unit) + "\n".join(lines) + "\n"


def bar_quarters(meter) -> Fraction:
    return Fraction(4 * meter[0], meter[1])


@given(full_tunes())
@SLOW
def test_full_bars_agree(tune):
    """Bars that theory says are full: the player plays them full and in time (bars_ok, bar
    lines every bar length), the normalizer keeps the tune as it is, the grammar accepts it."""
    meter, unit, bars = tune
    text = render(meter, unit, bars)
    d = play(text)
    assert d.bars_ok is True
    # nothing repaired, but a tune of rests alone has nothing to play
    assert [p.message for p in d.repairs] == ([] if d.piece.notes else ["no notes to play"])
    assert d.piece.bar_beats == [float(k * bar_quarters(meter)) for k in range(1, len(bars) + 1)]
    assert normalize(text).pieces == [text]
    g = AbcGrammar(min_bars=1, phrase=1)
    g.feed(text)
    assert g.problems == [] and g.bars == len(bars)
    assert check(text, min_bars=1, phrase=1) == []


@given(full_tunes(), st.data())
@SLOW
def test_an_overfull_bar_is_irregular_to_all_three(tune, data):
    meter, unit, bars = tune
    extra = data.draw(st.integers(1, len(bars) - 1))
    text = render(meter, unit, bars, extra=extra)
    assert play(text).bars_ok is False
    (result,) = normalize_tunes(text)
    assert result.text is None and result.reason == "irregular bars"
    assert normalize(text, keep_irregular=True).pieces == [text]
    assert check(text, min_bars=1, phrase=1) != []


@given(full_tunes(tuplets=(2, 3, 4, 5, 6, 7, 8, 9)))
@SLOW
def test_implicit_bar_lines_where_the_player_counts_a_full_bar(tune):
    """Bars written one a line without bar lines (as the Essen collection does): the
    normalizer's bar counter puts a | at every line end, since each bar is full, with every
    tuplet (5, 7, 9 too, whose q depends on the meter) and broken pair timed as the player
    times them."""
    meter, unit, bars = tune
    raw = header(meter, unit) + "\n".join("".join(chunks) for chunks in bars) + "|]\n"
    want = header(meter, unit) + "|\n".join("".join(chunks) for chunks in bars) + "|]\n"
    assert normalize(raw).pieces == [want]
    d = play(want)
    assert d.bars_ok is True
    assert d.piece.bar_beats == [float(k * bar_quarters(meter)) for k in range(1, len(bars) + 1)]


@pytest.mark.parametrize("meter", METERS)
@pytest.mark.parametrize("p", range(2, 10))
def test_player_times_tuplets_as_theory(meter, p):
    text = f"X:1\nM:{meter[0]}/{meter[1]}\nL:1/8\nK:C\n({p}" + "c" * p + " C|]\n"
    notes = play(text).piece.notes
    each = Fraction(tuplet_q(p, meter), p) / 2  # in quarter notes: L is an eighth
    assert [n.duration for n in notes[:p]] == pytest.approx([float(each)] * p)
    assert notes[p].onset == pytest.approx(tuplet_q(p, meter) / 2)


# ------------------------------------------------------------------ the 5-tuplet in 3/4

FIVE_IN_THREE = "X:1\nM:3/4\nL:1/8\nK:G\nG6\n(5GABcd e3\nd6\nB6|]\n"


def test_five_tuplet_in_three_four_is_kept():
    """abc2midi plays (5 in 3/4 as 5 notes in the time of 3, and so do the player and the
    normalizer's bar counter: the bar is full, it gets its bar line and the tune is kept."""
    (text,) = normalize(FIVE_IN_THREE).pieces
    assert text == "X:1\nM:3/4\nL:1/8\nK:G\nG6|\n(5GABcd e3|\nd6|\nB6|]\n"
    d = play(text)
    assert d.bars_ok is True
    assert [n.duration for n in d.piece.notes[1:6]] == pytest.approx([0.3] * 5)


needs_abc2midi = pytest.mark.skipif(not reference.available(), reason="abc2midi is not installed")


def assert_plays_as_abc2midi(text: str) -> None:
    """The same notes as abc2midi's, onsets and durations within a hundredth of a beat
    (abc2midi rounds to its 480 ticks a beat and starts a tick late)."""
    _, ref, ours = reference.compare(text)
    assert ref.ok and ref.errors == []
    assert [n[0] for n in ref.notes] == [n.pitch for n in ours]
    assert [n[1] for n in ref.notes] == pytest.approx([n.onset for n in ours], abs=0.01)
    assert [n[2] for n in ref.notes] == pytest.approx([n.duration for n in ours], abs=0.01)


@needs_abc2midi
def test_five_tuplet_in_three_four_plays_as_abc2midi():
    (text,) = normalize(FIVE_IN_THREE).pieces
    assert_plays_as_abc2midi(text)
    assert reference.abc2midi_bars_ok(text) is True
    assert reference.abc2midi_bars_ok(FIVE_IN_THREE) is True


@needs_abc2midi
@pytest.mark.parametrize("meter", [(2, 4), (3, 4), (4, 4), (3, 8), (6, 8), (9, 8), (3, 2), (5, 4)])
def test_tuplets_play_as_abc2midi(meter):
    """Every default tuplet, timed by the player as abc2midi times it."""
    body = " ".join(f"({p}" + "cdefgabcd"[:p] for p in range(2, 10))
    text = f"X:1\nM:{meter[0]}/{meter[1]}\nL:1/8\nK:C\n{body} C|]\n"
    assert_plays_as_abc2midi(text)
