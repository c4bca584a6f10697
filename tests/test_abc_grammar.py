"""Tests for validity-guided decoding of ABC (encoders.abc.grammar)."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import tempfile
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from encoders.abc.grammar import FOLK_LENGTHS, MAX_BARS, AbcGrammar, check

# --------------------------------------------------------------- hand tunes

TUNES = {
    "jig with endings": """X:1
T:The Kesh
M:6/8
L:1/8
R:jig
K:G
|:GAG GAB|ABA ABd|edd gdd|edB dBA|
GAG GAB|ABA ABd|edd gdB|AGF G3:|
|:gfg aga|bgg fdd|"Em"gfg eba|"D"fdd fdd|
GAG GAB|ABA ABd|edd gdB|1AGF G3:|2AGF G3|]
""",
    "reel with pickup": """X:1
M:4/4
L:1/8
R:reel
K:D
A|:d2fd Adfd|"G"g2bg "A"fgae|d2fd AdFA|1 GBAG FDD2:|2 GBAG FDDe||
|:f2af gfed|~B3A B2cd|edcB AFEF|GBAG FDD2:|
""",
    "waltz": """X:1
M:3/4
L:1/8
R:waltz
K:G
D2|"G"G4 AB|c2B2A2|"D"F4 GA|B2A2G2|
"C"E4 FG|A2G2F2|"D7"D6|D4 D2|]
""",
    "hornpipe broken rhythm": """X:1
M:4/4
L:1/8
R:hornpipe
K:D
A>G|:F>A d>f a>f d>A|B>d g>b a>f d>f|e>f g>e d>c B>A|(3Bcd c>e d2 A>G:|
""",
    "slip jig": """X:1
M:9/8
L:1/8
R:slip jig
K:Edor
|:B2E G2E F3|B2E G2E FED|B2E G2E F3|B2d d2B AFD:|
""",
    "chords": """X:1
M:4/4
L:1/8
K:C
"C"[CEG]4 "F"[FAc]4|"G7"[GBdf]2 z2 "C"[ceg]4|[CE]2[DF]2 [EG]2[FA]2|"G"G8|]
""",
    "polka triplets": """X:1
M:2/4
L:1/8
R:polka
K:G
|:(3DEF|G2 GA|B2 Bc|(3dcB AG|G2:|
""",
    "graces slurs ties": """X:1
M:6/8
L:1/8
R:jig
K:Ador
e|{g}a3 aga|.e2d c2A|(AB)c d2e-|e2d c2B|
~A3 ABc|{d}B2A G2B|A3- A2:|
""",
    "three-two": """X:1
M:3/2
L:1/8
K:G
|:G2B2 d2B2 G2B2|A2c2 e2c2 A2c2|B2d2 g2d2 B2G2|A4 F4 D4:|
""",
    "cut time": """X:1
M:C|
L:1/8
K:Am
|:A2 EA cAEA|G2 DG BGDG|A2 EA cAea|gedB A4:|
""",
    "free meter": """X:1
M:none
L:1/8
K:D
d2 fd A2 FA|d3 e f2|ABc d4|]
""",
    "strathspey bracket endings": """X:1
T:Test Tune
M:4/4
L:1/16
Q:1/4=120
R:strathspey
K:Bb
|:B,2D2 F2B2 d4 cBAG|F4 D4 D8|[1 C4 E4 G8:|[2 C4 c4 B8||
""",
    "double repeat": """X:1
M:6/8
L:1/8
K:D
|:d2A F2A|d2e f3::a2f g2e|f2d e3:|
""",
    "accidentals octaves broken": """X:1
M:2/4
L:1/16
K:F
A,2>>B,2 C4|^^c2_B2 =B2z2|c'2b2 A,2G,2|z4<<z4|(2A2B2 c2|(4cdef (3gfe z3|]
""",
    "compound tuplets": """X:1
M:6/8
L:1/8
K:Em
(2AB (2cd|(4ABcd c2B|"Am/C"E3 E3|]
""",
    "normalizer style": """X:1
M:2/4
L:1/16
R:polka
K:Ador
|:e2a2 a2ge|d2g2 g2ed|((3cBA) e2 ABcd|e2a2 ag
e2|d2g2 g2ed|[1c2A2 A4:|[2c2A2 A4
""",
    "common time quarter unit": """X:1
M:C
L:1/4
Q:3/8=96
K:F#m
F/G/A B c|d2 c>B|A3 z|]
""",
}


def walk_ok(text: str) -> list[str]:
    """Feed text character by character; the positions where a character was
    not in allowed()."""
    g = AbcGrammar(min_bars=1, phrase=1)
    bad = []
    for i, ch in enumerate(text):
        a = g.allowed()
        if a is not None and ch not in a:
            bad.append(f"{i}:{text[max(0, i - 20) : i]!r}+{ch!r} allowed={a!r}")
        g.feed(ch)
    return bad


@pytest.mark.parametrize("name", sorted(TUNES))
def test_hand_tunes_accepted(name):
    text = TUNES[name]
    assert walk_ok(text) == []
    assert check(text, min_bars=1) == []
    g = AbcGrammar(min_bars=1, phrase=1)
    g.feed(text + "\n")
    assert g.done and not g.problems


@pytest.mark.parametrize("name", sorted(TUNES))
def test_hand_tunes_bar_lengths_independent(name):
    assert bar_problems(TUNES[name]) == []


# ---------------------------------------------------- independent bar check


def _meter_unit(text: str) -> tuple[Fraction | None, Fraction]:
    meter: Fraction | None = Fraction(4, 4)
    unit = Fraction(1, 8)
    for line in text.splitlines():
        if line.startswith("M:"):
            v = line[2:].strip()
            meter = {"C": Fraction(1), "C|": Fraction(1), "none": None}.get(v)
            if v not in ("C", "C|", "none"):
                n, d = v.split("/")
                meter = Fraction(int(n), int(d))
        elif line.startswith("L:"):
            n, d = line[2:].strip().split("/")
            unit = Fraction(int(n), int(d))
        elif line.startswith("K:"):
            break
    return meter, unit


def bar_lengths(text: str):
    """(length in whole notes, bar token before, bar token after) for every bar
    with music, computed from the shared tokenizer, not from the grammar."""
    from encoders.abc.tokens import tokenize

    meter, unit = _meter_unit(text)
    body = re.split(r"^K:[^\n]*\n", text, maxsplit=1, flags=re.M)[1]
    bars = []
    cur = Fraction(0)
    before = ""
    depth_chord = depth_grace = False
    tup_factor, tup_left = Fraction(1), 0
    next_factor = Fraction(1)
    last_dur = None
    for t in tokenize(body):
        k = t.kind
        if k == "grace_start":
            depth_grace = True
        elif k == "grace_end":
            depth_grace = False
        elif k == "chord_start":
            depth_chord = True
        elif k in ("note", "rest", "chord_end"):
            if depth_grace or (depth_chord and k == "note"):
                continue
            if k == "chord_end":
                depth_chord = False
            d = t.length * unit * next_factor
            next_factor = Fraction(1)
            if tup_left:
                d *= tup_factor
                tup_left -= 1
            cur += d
            last_dur = d
        elif k == "tuplet":
            p, q, r = t.numbers
            q = q or {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}[p]
            tup_factor, tup_left = Fraction(q, p), r or p
        elif k == "broken":
            f = {1: Fraction(1, 2), 2: Fraction(1, 4)}[t.count]
            if t.name == ">":
                cur += last_dur * (1 - f)
                next_factor = f
            else:
                cur -= last_dur * (1 - f)
                next_factor = 2 - f
        elif k == "bar":
            if cur:
                bars.append((cur, before, t.text))
            cur = Fraction(0)
            before = t.text
        elif k == "ending":
            before += t.text.lstrip("[")
    if cur:
        bars.append((cur, before, "<end>"))
    return meter, bars


def bar_problems(text: str) -> list[str]:
    """The written-order part of abc2midi's bar rule, computed independently of
    the grammar: no bar longer than the meter, a bar closed by a plain | full
    (except the tune's first), and a short bar closed by || |: |] carried into
    the next bar, which it must complete (the played-order rest, repeats, is
    checked against abc2midi itself)."""
    meter, bars = bar_lengths(text)
    if meter is None:
        return []
    out = []
    carry = Fraction(0)
    for i, (length, before, after) in enumerate(bars):
        if before.endswith("2"):
            carry = Fraction(0)  # a second ending follows the full bar before the first
        total = carry + length
        carry = Fraction(0)
        if total > meter:
            out.append(f"bar {i + 1} too long: {total} > {meter}")
        elif total < meter and i > 0:
            if after == "|":
                out.append(f"bar {i + 1} too short: {total} < {meter} ({before}..{after})")
            elif after in ("||", "|:", "|]", ":|", "::"):
                carry = total
    return out


# ------------------------------------------------------------- random walks

VOCAB = "".join(chr(c) for c in range(32, 127)) + "\n"
"""A realistic character vocabulary: printable ASCII and the line break."""

_LIKED = "|:\n "


def random_walk(seed: int, steps: int = 4000) -> tuple[str, AbcGrammar]:
    """Sample characters uniformly from allowed() & VOCAB, leaning towards bar
    lines and line breaks so that tunes end; fail on an empty choice."""
    rng = random.Random(seed)
    g = AbcGrammar(min_bars=1)
    g.feed("X:1")
    text = "X:1"
    for _ in range(steps):
        if g.done:
            break
        a = g.allowed()
        assert a is not None, f"no constraint after {text[-40:]!r}"
        choices = sorted(set(a) & set(VOCAB))
        assert choices, f"empty mask after {text[-40:]!r}"
        liked = [c for c in choices if c in _LIKED]
        if liked and rng.random() < 0.3:
            ch = rng.choice(liked)
        elif "\n" in choices and rng.random() < 0.5:
            ch = "\n"
        else:
            ch = rng.choice(choices)
        g.feed(ch)
        text += ch
    assert not g.problems, g.problems
    return text, g


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32))
def test_random_walk_bars_exact(seed):
    text, g = random_walk(seed)
    if g.done:
        assert text.endswith("\n\n")
        assert check(text, min_bars=1) == []
        assert bar_problems(text) == [], text


def test_random_walks_end():
    """The soft cap makes walks end; most do within a few thousand characters."""
    ended = 0
    for seed in range(12):
        text, g = random_walk(seed, steps=6000)
        ended += g.done
        if g.done:
            assert g.bars <= MAX_BARS + 8
    assert ended >= 8


def _abc2midi() -> str | None:
    return shutil.which("abc2midi") or ("/usr/bin/abc2midi" if os.path.exists("/usr/bin/abc2midi") else None)


def abc2midi_report(tune: str) -> tuple[bool, list[str], list[str]]:
    """(MIDI written, Error lines, bar warnings) of abc2midi on one tune."""
    exe = _abc2midi()
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "t.abc")
        with open(src, "w") as fh:
            fh.write(tune if tune.endswith("\n\n") else tune.rstrip("\n") + "\n\n")
        # -NGUI: no accompaniment for chord symbols, as tools.reference_abc
        # runs it (abc2midi's accompaniment can overrun a short last bar)
        out = subprocess.run(
            [exe, src, "-o", os.path.join(d, "t.mid"), "-NGUI"], capture_output=True, text=True, timeout=30
        )
        lines = (out.stdout + out.stderr).splitlines()
        return (
            os.path.exists(os.path.join(d, "t.mid")),
            [ln for ln in lines if "Error" in ln],
            [ln for ln in lines if "time units while the time signature" in ln],
        )


@pytest.mark.skipif(_abc2midi() is None, reason="abc2midi not installed")
def test_random_walks_play_in_abc2midi():
    """Whatever the grammar lets through plays in abc2midi with no error and no
    bar warning (its bar check, repeats expanded, is the quality bar)."""
    tunes = [t for t in (random_walk(1000 + s)[0] for s in range(12)) if t.endswith("\n\n")]
    tunes += list(TUNES.values())
    assert len(tunes) >= len(TUNES) + 8
    for tune in tunes:
        made, errors, bars = abc2midi_report(tune)
        assert made and errors == [] and bars == [], (tune, errors, bars)


# abc2midi 4.84 on M:6/8 L:1/8 K:G bodies: True = no bar warning
ABC2MIDI_BARS = [
    ("A|BAB c2d|e3 e2:|", True),  # short last bar + repeated pickup = 6
    ("A|BAB c2d|e3 e2d:|", False),  # full last bar: the repeated pickup stands alone
    ("A|:BAB c2d|e3 e2:|", False),  # the repeat goes to |: : 5 + 6
    ("A|BAB c2d|e3 e2:|A|BAB c2d|e3 e2|]", True),
    ("A|BAB c2d|e3 e2::A|BAB c2d|e3 e2:|", True),
    ("A|BAB c2d|e3 e2::A2|BAB c2d|e3 e2:|", False),
    ("BAB c2d|e3 e2|", False),  # short last bar at a plain |
    ("BAB c2d|e3 e2||", True),
    ("BAB c2d|e3 e2:|", False),
    ("A|BAB c2d|[1e3 e2:|[2e3 e3|]", True),
    ("A|BAB c2d|[1e3 e2:|[2e3 e2|]", True),
    ("A|BAB c2d|1e3 e2:|2e3 e2A|BAB c2d|e3 e2|]", True),
    ("A|BAB c2d|e3 e2|:BAB c2d|e3 e3:|", False),  # short bar before |: runs into the next
    ("A|BAB c2d|e3 e2A|BAB c2d|e3 e2|]", True),
    ("A|BAB c2d|e3 e2A|BAB c2d|e3 e2A:|", False),
    ("BAB c2d|e3 e2||A|BAB c2d|e3 e3|]", True),  # 5 before || + 1 after
    ("BAB c2d|e3 e2||A BAB|c2d e3|]", False),
    ("BAB c2d|e3 e2|A|BAB c2d|e3 e3|]", False),  # no carrying across a plain |
    # measured while writing the rule
    ("BAB c2d|e3 e3|:A|BAB c2d|e3 e2:|", False),  # a pickup only at the tune start
    ("BAB c2d|e3 e2||A|BAB c2d|e3 e2:|", False),  # :| goes back to the tune start
    ("BAB c2d|e3 e2||\n|A|BAB c2d|e3 e3|]", False),  # a line's first | checks the carry
    ("BAB c2d|e3 e2||\n|:A|BAB c2d|e3 e2:|", True),
    ("|:BAB c2d|[1e3 e3:|[2e3 e2||A|BAB c2d|e3 e3:|", False),  # after endings
    ("|:BAB c2d|[1e3 e3:|[2e3 e3||BAB c2d|[1e3 e3:|[2e3 e3|]", True),
    ("|:BAB c2d|1e3 e3:|2e3 e2|:A|BAB c2d|e3 e2:|", True),
    # a :| closing a second ending replays the section once more from an empty count
    ("BAB c2d|e3 e2|:A|BAB c2d|1e3 e2:|2e3 e3:|BAB c2d|]", False),
    ("BAB c2d|e3 e2|:A|BAB c2d|[1e3 e2:|[2e3 e3:|BAB c2d|]", False),
    ("|:BAB c2d|[1e3 e3:|[2e3 e3:|BAB c2d|]", True),
]


@pytest.mark.parametrize("body,ok", ABC2MIDI_BARS)
def test_abc2midi_bar_table(body, ok):
    tune = JIG + body + "\n\n"
    assert (check(tune, min_bars=1, phrase=1) == []) == ok, check(tune, min_bars=1, phrase=1)


@pytest.mark.skipif(_abc2midi() is None, reason="abc2midi not installed")
@pytest.mark.parametrize("body,ok", ABC2MIDI_BARS)
def test_abc2midi_bar_table_live(body, ok):
    made, errors, bars = abc2midi_report(JIG + body + "\n\n")
    assert made and errors == []
    assert (bars == []) == ok, bars


# ----------------------------------------------------------------- robustness


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(VOCAB) + ["é", "\t", "\r"]), max_size=300))
def test_never_raises_on_arbitrary_text(text):
    g = AbcGrammar(min_bars=1, phrase=1)
    g.feed(text)
    a = g.allowed()
    assert a is None or isinstance(a, str)
    check(text, min_bars=1)
    g.copy().feed("|\n")


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(sorted(TUNES)),
    st.integers(0, 10_000),
    st.text(alphabet=st.sampled_from(list(VOCAB)), min_size=1, max_size=5),
)
def test_never_raises_on_corrupted_tunes(name, pos, junk):
    text = TUNES[name]
    pos %= len(text)
    g = AbcGrammar(min_bars=1, phrase=1)
    g.feed(text[:pos] + junk + text[pos:])
    g.allowed()


def test_recovers_after_bad_text():
    g = AbcGrammar(min_bars=1, phrase=1)
    g.feed("X:1\nM:4/4\nL:1/8\nK:G\nGABc dedB|")
    g.feed("#")  # not ABC here
    assert g.problems and g.allowed() is None
    g.feed(' junk "Am|" stuff|')  # the bar line outside the quotes resyncs
    assert g.allowed() is not None
    g.feed("GABc dedB|\n")
    assert g.allowed() is not None and "G" in g.allowed()
    n = len(g.problems)
    g.feed("GABc dedB|\n\n")
    assert g.done and len(g.problems) == n


def test_bad_seed_recovers():
    g = AbcGrammar(min_bars=1, phrase=1)
    g.feed("X:1\nQ:fast\nM:3/4\nL:1/8\nK:D\n")
    assert g.problems
    g.feed("D2|")
    assert g.allowed() is not None


# --------------------------------------------------------------- specific masks


def state(text: str) -> AbcGrammar:
    g = AbcGrammar(min_bars=1, phrase=1)
    g.feed(text)
    assert not g.problems, g.problems
    return g


JIG = "X:1\nM:6/8\nL:1/8\nK:G\n"
REEL = "X:1\nM:4/4\nL:1/8\nK:D\n"


def test_length_that_overflows_is_masked():
    a = state(JIG + "|:GAG GAB|ABA AB").allowed()
    assert "2" in a and "4" not in a and "6" not in a
    a = state(JIG + "|:GAG GAB|ABA ABc").allowed()  # c has one eighth left
    assert "2" not in a and "/" in a and "|" in a


def test_full_bar_needs_a_bar_line():
    a = state(JIG + "|:GAG GAB|ABA ABd").allowed()
    assert not set(a) & set('ABCDEFGabcdefgz["{~.(^_=')
    assert "|" in a and ":" in a
    g = state(JIG + "|:GAG GAB|ABA ABd|")
    assert "\n" in g.allowed()


def test_plain_bar_line_needs_a_full_bar_except_first():
    g = state(REEL + "A")
    assert "|" in g.allowed()  # pickup
    g.feed("|")
    assert ":" in g.allowed()  # |: after a pickup
    g = state(REEL + "ABcd ef|ga")
    assert "|" in g.allowed() and ":" in g.allowed()
    g.feed("|")
    assert set(g.allowed()) == {"]", "|", ":"}  # || |] |: carry a short bar on
    g = state(REEL + "ABcd efga|:Bc")
    g.feed("|")  # no pickup but the tune's first
    assert set(g.allowed()) == {"]", "|"}  # (no |: inside |:)


def test_short_bar_carries_into_the_next():
    g = state(REEL + "ABcd efga|ABcd e||")
    assert "\n" in g.allowed()  # may end the tune here
    g.feed("fg")
    assert "a" in g.allowed() and "4" not in g.allowed()  # 5 + 2: one more eighth
    g.feed("|")
    assert "]" in g.allowed() and "\n" not in g.allowed()  # a plain | wants 8
    g = state(REEL + "ABcd efga|ABcd e||fga")
    assert "a" not in g.allowed()  # 5 + 3 = 8
    g.feed("|")
    assert "\n" in g.allowed()
    g = state(REEL + "ABcd efga|ABcd e||\n|")
    assert ":" in g.allowed() and "\n" not in g.allowed()  # |: carries on; | would check


def test_repeat_needs_the_bar_that_completes_the_pickup():
    g = state(REEL + "A|d2fd Adfd|d2fd Ad")
    assert ":" not in g.allowed()  # 6 + pickup 1 != 8
    g.feed("f")
    assert ":" in g.allowed()  # 7 + 1
    g.feed("d")
    assert ":" not in g.allowed()  # a full bar would leave A alone
    g = state(REEL + "A|:d2fd Adfd|d2fd Ad")
    g.feed("f")
    assert ":" not in g.allowed()  # the repeat goes to |: (no pickup)
    g.feed("d")
    assert ":" in g.allowed()
    g = state(REEL + "A|d2fd Adfd|d2fd Adf::A|d2fd Adfd|d2fd Ad")
    g.feed("f")
    assert ":" in g.allowed()  # the 7 carried into :: comes again


def test_no_implicit_repeat_after_endings_and_a_short_bar():
    g = state(REEL + "|:ABcd efga|[1ABcd efga:|[2ABcd efg||a|ABcd efga|ABcd ef")
    g.feed("g")
    assert ":" not in g.allowed()
    g.feed("a")
    assert ":" not in g.allowed() and "|" in g.allowed()


def test_note_when_bar_full_is_masked():
    a = state(REEL + "ABcd efga").allowed()
    assert "A" not in a and "z" not in a and "(" not in a


def test_header_field_in_body_forbidden():
    g = state(REEL + "ABcd efga|\n")
    a = g.allowed()
    for letter in "XTMLQRKPVW":
        assert letter not in a or letter in "ABCDEFG"
    g.feed("K")
    assert g.problems  # K is no note
    g = state(REEL + "ABcd efga|\n")
    g.feed("[")
    assert "K" not in g.allowed() and "M" not in g.allowed()


def test_header_order_and_values():
    assert state("X:1\n").allowed() == "TM"
    g = state("X:1\nM:")
    assert "7" in g.allowed() and "x" not in g.allowed()
    g = state("X:1\nM:6/8\nL:1/")
    assert set(g.allowed()) == set("12483")  # 1/1 1/16 1/2 1/4 1/8 1/32
    g = state("X:1\nM:6/8\nL:1/8\n")
    assert set(g.allowed()) == set("QRK")
    g = state("X:1\nM:6/8\nL:1/8\nR:slip jig\nK:")
    assert "D" in g.allowed() and "H" not in g.allowed() and "\n" not in g.allowed()
    g = state("X:1\nM:6/8\nL:1/8\nR:slip jig\nK:D")
    assert set("#bm \nd") <= set(g.allowed())


def test_ending_only_after_bar_line_and_full_bar():
    g = state(REEL + "ABcd efga")
    assert "\n" not in g.allowed()
    g = state(REEL + "ABcd efga|")
    assert "\n" in g.allowed()
    g.feed("\n")
    assert "\n" in g.allowed()  # the blank line
    g = state(REEL + "A|")
    g.feed("\n")
    assert "\n" not in g.allowed()  # no full bar yet


def test_no_end_with_open_slur_tie_or_first_ending():
    g = state(REEL + "(ABcd efga|\n")
    assert "\n" not in g.allowed()
    g = state(REEL + "ABcd efga-|\n")
    assert "\n" not in g.allowed()
    g = state(REEL + "ABcd efga|1 ABcd efga|\n")
    assert "\n" not in g.allowed()
    g = state(REEL + "ABcd efga|1 ABcd efga:|")
    assert set(g.allowed()) == set("2\n [")
    g.feed("\n")
    assert g.allowed() == "["


def test_tuplet_must_fit():
    a = state(REEL + "ABcd efga/(").allowed()
    assert "3" in a and "2" not in a and "4" not in a  # L/2 left: (3 of L/4 only
    a = state(REEL + "ABcd efga/b/4(").allowed()
    assert not set(a) & set("234") and "a" in a  # L/4 left: no tuplet, a slur
    a = state(REEL + "ABcd ef(").allowed()
    assert "3" in a
    g = state(REEL + "ABcd ef(3ab")
    a = g.allowed()
    assert "2" not in a  # (3 a b c2 would overflow
    assert "|" not in a and " " not in a  # no bar line inside a tuplet


def test_broken_rhythm_must_fit():
    a = state(REEL + "ABcd ef2").allowed()
    assert ">" not in a  # f2>a2 would need 2 more eighths
    a = state(REEL + "ABcd efg").allowed()
    assert ">" in a  # g>a fills the bar
    a = state(REEL + "ABcd ef").allowed()
    assert ">" in a and "<" in a
    g = state(REEL + "ABcd e>")
    assert set(g.allowed()) >= set("ABz>")


def test_chord_notes_have_no_length():
    g = state(REEL + "[CE")
    a = g.allowed()
    assert "2" not in a and "]" in a and "G" in a
    g.feed("]")
    assert "2" in g.allowed()


def test_octave_marks_follow_case():
    assert "'" not in state(REEL + "C").allowed()
    assert "," in state(REEL + "C").allowed()
    assert "," not in state(REEL + "c").allowed()


def test_chord_symbols_well_formed():
    g = state(REEL + '"')
    assert set(g.allowed()) == set("ABCDEFG")
    g = state(REEL + '"Am')
    assert '"' in g.allowed() and "7" in g.allowed() and "x" not in g.allowed()
    g = state(REEL + '"Am"')
    assert "|" not in g.allowed() and "A" in g.allowed()


def test_free_meter_never_counts():
    g = state("X:1\nM:none\nL:1/8\nK:C\nABCDEFGABCDEFGABCDEFG")
    assert "|" in g.allowed() and "A" in g.allowed()


def test_line_break_inside_a_bar_and_last_line_without_bar_line():
    g = state(REEL + "ABcd efga|AB")
    assert "\n" in g.allowed()
    g.feed("\n")
    assert "\n" not in g.allowed()  # a tune does not stop in the middle of a bar
    g.feed("cd efga|")
    assert not g.problems
    g = state(REEL + "ABcd efga|ABcd efga\n")
    assert "\n" in g.allowed()  # may end: the last bar is full
    g = state(REEL + "A|BBcd efga|ABcd efg\n")
    assert "\n" in g.allowed()  # or completes the pickup
    g = state(REEL + "AB")
    g.feed("\n")
    assert "\n" not in g.allowed()  # no full bar yet


def test_repeat_rules_as_abc2midi():
    assert "|:" not in "".join(state(REEL + "|:ABcd efga|ABcd efga|").allowed())
    g = state(REEL + "|:ABcd efga|")
    assert ":" not in g.allowed()  # no |: inside an open |:
    g = state(REEL + "ABcd efga:|ABcd efga|")
    g.feed("[")
    assert "1" not in g.allowed()  # "found [1 before |:"
    g = state(REEL + "ABcd efga:|ABcd efga")
    g.feed(":")
    assert ":" not in g.allowed()  # no :: right after :|
    g = state(REEL + "|:ABcd efga|\n")
    assert "\n" not in g.allowed()  # "Missing :| at end of tune"
    g.feed("ABcd efga:|\n")
    assert "\n" in g.allowed()


def test_ties_join_the_same_note():
    g = state(REEL + "ABcd ef^g-")
    assert set(g.allowed()) == set(" ^|\n")
    g.feed("|")
    g.feed("^")
    assert g.allowed() == "g"
    g = state(REEL + "ABcd efg'-")
    g.feed("g")
    assert g.allowed() == "'"
    g = state(REEL + "ABcd ef[ga]")
    assert "-" not in g.allowed()  # no tie after a chord
    g = state(REEL + "ABcd ef.g")
    assert "-" not in g.allowed() and ">" not in g.allowed()  # nor after staccato
    g = state(REEL + "ABcd e~f")
    assert "-" not in g.allowed() and ">" not in g.allowed()  # nor after a roll


def test_tie_inside_tuplet_stays_inside():
    g = state(REEL + "ABcd ef(3g-")
    assert g.allowed() == "g"


def test_roll_not_on_chords_or_after_graces():
    assert "[" not in state(REEL + "~").allowed()
    assert "~" not in state(REEL + "{g}").allowed()


def test_letter_colon_at_line_start_is_masked():
    g = state(REEL + "ABcd efga|\nf")
    assert ":" not in g.allowed() and " " not in g.allowed() and "2" in g.allowed()
    g = state(REEL + "ABcd efga|\nf2")
    assert " " in g.allowed()


def test_section_pickups():
    text = REEL + "A|ABcd efga|ABcd efg:|A|"
    assert check(text + "ABcd efga|\n", min_bars=1) == []  # 7 + 1 across :|
    text = REEL + "A|ABcd efga|ABcd efg:|A2|"
    assert check(text + "ABcd efga|\n", min_bars=1) != []  # 7 + 2 is no bar


def test_soft_cap_forces_the_end():
    g = state(REEL + "ABcd efga|\n" * (MAX_BARS - 1) + "ABcd efga|")
    assert "\n" in g.allowed() and "A" not in g.allowed()
    g = state(REEL + "ABcd efga|\n" * MAX_BARS)
    assert g.allowed() == "\n"
    g.feed("\n")
    assert g.done


def test_done_and_next_tune():
    g = state(REEL + "ABcd efga|\n\n")
    assert g.done and g.allowed() == "X"
    g.feed("X:1\n")
    assert not g.done and g.allowed() == "TM"


def test_can_end():
    assert not state(REEL + "ABcd efga").can_end()
    assert state(REEL + "ABcd efga|").can_end()
    assert state(REEL + "ABcd efga|\n").can_end()
    assert not state(REEL + "|:ABcd efga|").can_end()


def test_copy_is_independent():
    g = state(REEL + "AB")
    c = g.copy()
    c.feed("cd efga|")
    assert g.allowed() != c.allowed()
    assert "|" not in g.allowed() or True


def test_normalized_corpus_tunes_mostly_accepted():
    """Most tunes of the folk corpus, normalized, stay inside the grammar (the
    rest have bars or repeats abc2midi or the player object to, or rare forms
    the grammar leaves out: inline fields, lengths inside chords)."""
    try:
        from encoders import read_text
        from encoders.abc.corpus import folk_files
        from encoders.abc.normalize import normalize
    except ImportError:
        pytest.skip("normalizer or corpus not available")
    files = folk_files()[:400:40]
    if not files:
        pytest.skip("music21 corpus not installed")
    pieces = [p for f in files for p in normalize(read_text(f), path=str(f)).pieces]
    assert len(pieces) >= 50
    accepted = sum(not check(p, min_bars=1) for p in pieces) / len(pieces)
    assert accepted >= 0.8, accepted


# ------------------------------------------------------------ folk lengths

_LEN_RE = re.compile(r"(?:[A-Ga-gz][,']*|\])([0-9/]*)")
_ODD = (
    "1",
    "5",
    "7",
    "9",
    "10",
    "24",
    "32",
    "/2",
    "/8",
    "/16",
    "/32",
    "//",
    "3/",
    "3/8",
    "5/4",
    "7/2",
    "2/3",
    "1/2",
    "3/16",
)


def written_lengths(text: str) -> list[str]:
    """The length suffixes of the notes, rests and chords of a tune body (chord
    symbols, grace groups, tuplet signs and endings have none)."""
    body = re.split(r"^K:[^\n]*\n", text, maxsplit=1, flags=re.M)[1]
    body = re.sub(r'"[^"]*"', "", body)
    body = re.sub(r"\{[^}]*\}", "", body)
    body = re.sub(r"\(\d|[|:\[][12]", "", body)
    return _LEN_RE.findall(body)


def completions(g: AbcGrammar, candidates=FOLK_LENGTHS + _ODD) -> set[str]:
    """The length suffixes that may follow (each character allowed, and the
    note may end after the last one)."""
    out = set()
    for s in candidates:
        c = g.copy()
        ok = True
        for ch in s:
            if ch not in c.allowed():
                ok = False
                break
            c.feed(ch)
        if ok and set(c.allowed()) - set("0123456789/,'"):
            out.add(s)
    return out


def test_folk_lengths_constant():
    assert FOLK_LENGTHS == ("", "2", "3", "4", "6", "8", "12", "16", "/", "/4", "3/2", "3/4")
    assert written_lengths(JIG + 'A2B/c3/4 "Am7/G"[CE]4 {g}z/4 (3abc|1d3/2:|\n') == [
        "2",
        "/",
        "3/4",
        "",
        "",
        "4",
        "/4",
        "",
        "",
        "",
        "3/2",
    ]


def test_random_walks_write_only_folk_lengths():
    for seed in range(30):
        text, g = random_walk(500 + seed)
        bad = [s for s in written_lengths(text) if s not in FOLK_LENGTHS]
        assert bad == [], (bad, text)


def test_lengths_in_a_free_bar_are_the_folk_set():
    long = "X:1\nM:4/2\nL:1/8\nK:D\n"  # 16 eighths: room for every length
    assert completions(state(long + "A")) == set(FOLK_LENGTHS)
    assert completions(state(long + "[CE]")) == set(FOLK_LENGTHS)
    assert completions(state(long + "z")) == set(FOLK_LENGTHS)
    assert completions(state(REEL + "A")) == set(FOLK_LENGTHS) - {"12", "16"}


def test_last_eighth_of_a_jig_bar():
    g = state(JIG + "|:GAG GAB|ABA ABd|GAG GAB")
    assert completions(g) == {"", "/", "/4", "3/4"}  # B fills the bar, or B/ ...
    g = state(JIG + "|:GAG GAB|ABA ABd|GAG GA")
    assert completions(g) == {"", "2", "/", "/4", "3/2", "3/4"}
    g = state(JIG + "|:GAG GAB|ABA ABd|GAG GAB/c")
    assert completions(g) == {"/", "/4"}  # L/2 left: no 3/4 any more


def test_tuplet_last_note_keeps_the_bar_in_quarters():
    g = state(REEL + "ABcd ef(3abc")
    # a b c: (8 + c) quarters of L, times 2/3, a whole number of quarters <= 8
    assert completions(g) == {"", "/4"}
    g = state(REEL + "ABcd (3a/b/c")
    assert completions(g) == {"/", "2"}  # (2 + c) quarters * 2/3, <= 16
    g = state(REEL + "ABcd (2ab")
    assert completions(g) == {"", "/", "3/2"}  # (4 + b) quarters * 3/2, <= 16
    g = state(REEL + "ABcd efg(3a")
    # one eighth (4 quarters of L) left: three notes of (a + 2 more) quarters, times 2/3
    assert completions(g) == {"", "/", "/4", "3/4"}
    g.feed("/4b/4c")
    assert completions(g) == {"/4", ""}  # a/4 b/4 c: 1 + 1 + c in {3, 6}


def test_broken_rhythm_halves_stay_quarters():
    assert ">" in state(REEL + "ABcd efg/").allowed()  # g/>a/: 3/4 + 1/4
    assert ">" not in state(REEL + "ABcd efg/4").allowed()  # 3/8 + 1/8: no
    assert ">" in state(REEL + "ABcd efg").allowed()
    g = state(REEL + "ABcd efg/>")
    assert ">" not in g.allowed()  # g/>>: 7/8 + 1/8
    g = state(REEL + "ABcd ef>")
    assert ">" in g.allowed()  # f>>a: 7/4 + 1/4


def test_unit_lengths_that_cannot_fill_the_bar_are_masked():
    g = state("X:1\nM:3/8\nL:1/1")  # a bar of 3/8 L: no L/4 multiple
    assert "\n" not in g.allowed() and "6" in g.allowed()
    assert "\n" in state("X:1\nM:3/8\nL:1/2").allowed()
    assert "2" not in state("X:1\nM:1/16\nL:1/").allowed()  # 1/8 of L:1/2
    assert "\n" in state("X:1\nM:none\nL:1/1").allowed()


def test_soft_cap_without_a_full_bar_fills_one_before_the_repeat():
    """Past the cap with |: open and no full bar yet, :| would need the short
    bar that complements the pickup, which the cap forbids until a bar is full:
    the bar is held to the meter first (this was an empty mask)."""
    g = state("X:1\nM:4/4\nL:1/32\nK:D\n|:A|\n" + "A/4||\n" * 63 + "A8A4A3A/4")
    assert "A" in g.allowed() and ":" not in g.allowed()
    g.feed("A")
    assert "|" in g.allowed()
    g.feed("|\nA16A8A4A3:|\n")  # then :| after 31 of 32 (the pickup's 1)
    assert not g.problems and g.allowed() == "\n"


def test_a_tune_needs_min_bars_full_bars_before_it_ends():
    from encoders.abc.grammar import MIN_BARS

    g = AbcGrammar()
    g.feed("X:1\nM:2/4\nL:1/8\nK:G\n")
    for _ in range(MIN_BARS - 1):
        g.feed("GABc|")
        assert "\n" in g.allowed()  # a line break may follow a bar line ...
        assert not g.can_end()  # ... but the tune may not end yet
    g.feed("GABc|")
    assert g.can_end()
    g.feed("\n")
    assert "\n" in g.allowed()


@pytest.mark.parametrize("seed", [48, 743, 798, 1035, 3439, 9639])
def test_walks_that_once_hit_an_empty_mask(seed):
    # Dead ends found by random walks: a first ending opened at the 64-bar cap,
    # and a rest taking the second half of a>b at a line start.
    text, g = random_walk(seed)
    assert g.done or len(text) > 3000


# ----------------------------------------------------------------- the tradition's phrasing and headers


def test_short_bar_ends_a_strain_not_its_middle():
    """A short bar carried on by || ends a strain of 4, 8... bars (the tradition's
    place for it); in the middle of a strain only a full bar may be closed."""
    two = AbcGrammar(min_bars=1)
    two.feed(JIG + "A|BAB c2d|e3 e2")  # 2 bars after the pickup, 5 of 6
    assert "|" not in two.allowed() and ":" in two.allowed()  # no || |] glue; :| completes the pickup
    mid = AbcGrammar(min_bars=1, phrase=1)
    mid.feed(JIG + "A|BAB c2d|e3 e2")
    assert "|" in mid.allowed()  # phrase=1: abc2midi's rule alone
    assert check(JIG + "BAB c2d|e3 e2||A|BAB c2d|e3 e3|]\n\n", min_bars=1) != []  # glued at bar 2
    four = JIG + "BAB c2d|BAB c2d|BAB c2d|e3 e2||A|BAB c2d|BAB c2d|BAB c2d|e3 e3|]\n\n"
    assert check(four, min_bars=1) == []  # a strain of 4
    # a second ending counts on from before the first
    endings = JIG + "|:BAB c2d|BAB c2d|BAB c2d|[1e3 e3:|[2e3 e2||A|BAB c2d|BAB c2d|BAB c2d|e3 e3|]\n\n"
    assert check(endings, min_bars=1) == []
    assert check(endings.replace("|:BAB c2d|", "|:", 1), min_bars=1) != []  # 3 bars: not a strain


def test_header_held_to_the_corpus_meters_and_rhythms():
    g = AbcGrammar(meters=["6/8", "2/4"], rhythms=["jig", "slip jig"])
    g.feed("X:1\nM:")
    assert set(g.allowed()) == {"6", "2"}
    g.feed("6/8\nL:1/8\nR:")
    assert set(g.allowed()) == {"j", "s"}
    g.feed("slip ")
    assert g.allowed() == "j"
    g.feed("jig\nK:G\n")
    assert not g.problems
    none = AbcGrammar(rhythms=[])  # a corpus without R: lines
    none.feed("X:1\nM:6/8\nL:1/8\n")
    assert "R" not in none.allowed() and "K" in none.allowed()
    free = AbcGrammar()  # no corpus values: the closed lists
    free.feed("X:1\nM:1")
    assert "3" in free.allowed()


def test_corpus_options_are_the_stream_headers():
    import encoders

    stream = "X:1\nM:6/8\nL:1/8\nR:jig\nK:G\nGAG GAB|\n\nX:1\nM:2/4\nL:1/16\nK:D\nd4 d4|\n"
    assert encoders.get("abc").corpus_options(stream) == {
        "meters": ["2/4", "6/8"],
        "rhythms": ["jig"],
        "modes": ["maj"],
    }


def test_cadence_is_the_last_bar_of_each_phrase():
    def writing(bars: int) -> bool:  # cadence() while writing the note after `bars` full bars
        g = AbcGrammar()
        g.feed(JIG + "A|" + "BAB c2d|" * bars + "B")
        return g.cadence()

    assert [writing(n) for n in range(8)] == [False, False, False, True, False, False, False, True]


_PITCHES = ["c", "d", "^c", "c'", "C,"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_PITCHES + ["z"]), min_size=4, max_size=4), min_size=1, max_size=8))
def test_monotone_counts_the_closed_bars_in_a_row_of_one_repeated_pitch(bars):
    # `monotone` (what bar ranking reads) against a count of its own: bars of four quarters,
    # each of rests and any of five spellings; a bar is monotone with two notes or more, all one.
    g = AbcGrammar()
    g.feed("X:1\nM:4/4\nL:1/4\nK:C\n" + "|".join("".join(b) for b in bars) + "|\n")
    assert not g.problems
    run = 0
    for b in bars:
        notes = [p for p in b if p != "z"]
        run = run + 1 if len(notes) >= 2 and len(set(notes)) == 1 else 0
    assert g.monotone() == run


def test_monotone_examples():
    def monotone(body):
        g = AbcGrammar()
        g.feed("X:1\nM:4/4\nL:1/8\nK:C\n" + body)
        return g.monotone()

    assert monotone("cccc cccc|c2c2 c4|\ndddd d4|\n") == 3  # a line break is no bar line
    assert monotone("cccc cccc|c2c2 c4|c8|\n") == 0  # one note is not a repeated pitch
    assert monotone("cccc cccc|c2z2 c4|\n") == 2  # rests aside
    assert monotone("cccc cccc|[ce]ccc c4|\n") == 0  # a chord is more than one pitch
    assert monotone("cccc cccc|(3ccc c2 c4|\n") == 2  # tuplet notes count as notes
    assert monotone("cccc cccc|cc") == 1  # the bar being written does not count yet
