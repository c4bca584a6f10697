"""RollGrammar: codec-written pieces pass, masked random walks decode clean and come back unchanged."""

from __future__ import annotations

import random

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from encoders.midi.grammar import MAX_SOUNDING, RollGrammar, check
from encoders.midi.grid import Header, QNote
from encoders.midi.roll import decode_roll, render_roll

qnotes = st.lists(
    st.builds(lambda p, s, d: QNote(p, s, s + d), st.integers(40, 80), st.integers(0, 60), st.integers(1, 20)),
    min_size=1,
    max_size=30,
)
headers = st.builds(
    Header,
    st.just("roll"),
    st.sampled_from([60.0, 120.0, 300.0]),
    st.sampled_from([(4, 4), (3, 4), (6, 8), (2, 2)]),
    st.sampled_from([None, "G", "Bbm"]),
    st.sampled_from([8, 12, 16, 24]),
    st.sampled_from([(0,), (40, 0), (127, 1, 2)]),
)


def accepts(text: str) -> RollGrammar:
    g = RollGrammar()
    for i, ch in enumerate(text):
        allowed = g.allowed()
        assert allowed is not None and ch in allowed, (i, text[max(0, i - 30) : i + 1], allowed)
        g.feed(ch)
    return g


@settings(max_examples=150, deadline=None)
@given(qnotes, headers)
def test_codec_written_pieces_are_accepted_char_by_char(notes, header):
    assume(header.bar_steps)
    if any(sum(1 for q in notes if q.start <= t < q.end) > MAX_SOUNDING for t in range(90)):
        return  # more voices than the grammar lets a model write
    if any(sum(1 for q in notes if q.pitch == p and q.start <= t < q.end) > 4 for p in range(128) for t in range(90)):
        return
    text = render_roll(header, notes)
    g = accepts(text + "\n")
    assert g.done and check(text + "\n") == []


def walk(rnd: random.Random, budget: int) -> str:
    """Characters drawn at random from what the grammar allows, leaning toward a line break late on."""
    g = RollGrammar()
    text = ""
    while not g.done:
        allowed = g.allowed()
        if len(text) > budget and g.can_end():
            choice = "\n"
        elif len(text) > budget and allowed.replace("-", ""):
            choice = rnd.choice(allowed.replace("-", ""))
        else:
            choice = rnd.choice(allowed)
        g.feed(choice)
        text += choice
        assert not g.problems
        assert len(text) < budget + 2000
    return text


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 400))
def test_masked_walks_decode_with_no_repair_and_come_back_unchanged(rnd, budget):
    text = walk(rnd, budget)
    assert text.endswith("\n\n")
    piece = text[:-1]
    decoded = decode_roll(piece)
    assert decoded.repairs == [] and decoded.bars_ok is True
    assert decoded.text == piece
    assert decoded.piece.notes


def test_allowed_sets():
    g = RollGrammar()
    g.feed("%roll q=90 m=3/4 ")
    assert g.allowed() == "kg"
    g.feed("k=C g=")
    assert g.allowed() == "12348"  # 4 8 12 16 24 32 48: a 3/4 bar is a whole number of steps of each
    g.feed("16 p=0")
    assert g.allowed() == ",\n"  # another program, or the header ends
    g.feed("\n")
    first = g.allowed()
    assert "\n" not in first and "-" not in first and "." in first  # a piece has a step before it may end
    g.feed("LP.")
    assert g.allowed().endswith("-.")  # strike, hold or rest: the bar is not full yet
    g.feed("-")
    assert g.allowed() == "LP"  # only what sounds may be held
    g.feed("P.")
    g.feed("." * 10)
    assert g.allowed() == "\n"  # twelve steps fill a 3/4 bar of sixteenths
    g.feed("\n")
    assert "\n" in g.allowed() and g.can_end()
    g.feed("\n")
    assert g.done


def test_header_fields_come_in_the_codecs_order():
    g = RollGrammar()
    g.feed("%roll q=")
    assert g.allowed() == "123456789"
    g.feed("3")
    assert g.allowed() == "0123456789"  # 30-300 are tempos; 3 alone is not
    g.feed("0")
    assert g.allowed() == " 0"  # 30 and the next field, or 300
    g = RollGrammar()
    g.feed("%roll q=120 m=3/8 g=")
    assert g.allowed() == "12348"  # 8 16 24 32 48: not 4 or 12, a 3/8 bar is no whole number of those
    assert check("%roll q=120 m=2/4 g=4 p=0\nL..\n\n") == []
    assert check("%roll q=120 g=16 p=0\nL.\n\n")  # the meter may not be left out


def test_no_short_bars_a_piece_ends_after_a_full_one():
    g = RollGrammar()
    g.feed("%roll q=100 m=2/4 g=8 p=0\nL.-L.")
    assert "\n" not in g.allowed() and not g.can_end()
    g.feed("..")
    assert g.allowed() == "\n" and g.can_end()
    g.feed("\n\n")
    assert g.done and not g.problems


def test_bad_text_is_recorded_never_raised_and_recovers():
    g = RollGrammar()
    g.feed("%roll q=100 m=2/4 g=8 p=0\nL.-M")
    assert g.problems == ["2:4: 'M' not allowed here (allowed: 'L')"]
    assert g.allowed() is None  # recovering until the step ends
    g.feed(".")
    assert "." in g.allowed()
    g.feed(".L.\n")
    assert g.can_end() and g.problems == ["2:4: 'M' not allowed here (allowed: 'L')"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("%rolqmgpk=/0123456789 \n.-LMNOP|é"), max_size=150))
def test_arbitrary_text_never_raises(text):
    g = RollGrammar()
    g.feed(text)
    assert g.allowed() is None or isinstance(g.allowed(), str)
    check(text)


def test_the_roll_codec_offers_the_grammar_and_the_sampler_finds_pieces():
    import encoders

    assert isinstance(encoders.get("roll").grammar(), RollGrammar)
    assert encoders.get("events").grammar() is None
    text = walk(random.Random(3), 300)
    assert decode_roll(text[:-1]).repairs == []
