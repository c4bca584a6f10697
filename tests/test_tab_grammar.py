"""ColumnsGrammar: codec-written pieces pass, masked walks decode with no repair, bad text never raises."""

import random
import textwrap
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tab import BASS, DROP_D, STANDARD, tabs

import encoders.tab as tab
from encoders import END_OF_PIECE
from encoders.tab import COLUMNS, FRET_LETTERS, SYMBOLS, canonical, render_columns
from encoders.tab.grammar import ColumnsGrammar, check

GUITAR = "%columns E2 A2 D3 G3 B3 E4\n"
BASS_HEADER = "%columns E1 A1 D2 G2\n"

# what a model trained on a columns corpus can write, plus a few strays
VOCAB = sorted(set("%columns ABCDEFGb-01234567\n.|:" + SYMBOLS + "#*xX,e" + "capo tempo 89"))


def docstring_columns() -> str:
    rest = tab.__doc__.split("as ``columns``::", 1)[1].split("\n\n", 2)[1]
    return textwrap.dedent(rest) + "\n"


def written_pieces() -> list[str]:
    pieces = [docstring_columns()]
    for raw in (DROP_D, STANDARD, BASS):
        pieces += COLUMNS.encode_text(raw).pieces
    return pieces


def fed(text: str) -> ColumnsGrammar:
    g = ColumnsGrammar()
    g.feed(text)
    assert not g.problems, g.problems
    return g


def accepts_each_char(text: str) -> ColumnsGrammar:
    g = ColumnsGrammar()
    for i, ch in enumerate(text):
        a = g.allowed()
        assert a is not None and ch in a, (text[:i], ch, a)
        g.feed(ch)
    assert not g.problems
    return g


# ---------------------------------------------------------------- codec-written pieces


@pytest.mark.parametrize("piece", written_pieces())
def test_codec_written_pieces_accepted_char_by_char(piece):
    assert COLUMNS.decode(piece).clean
    g = accepts_each_char(piece)
    assert g.can_end() and not g.done
    assert check(piece) == []
    accepts_each_char(piece + "\n")
    g.feed("\n")
    assert g.done


def test_docstring_example_is_the_codecs():
    assert docstring_columns() == COLUMNS.encode_text(DROP_D.split("[Verse]")[0]).pieces[0]


@settings(max_examples=120, deadline=None)
@given(tabs())
def test_random_canonical_tabs_accepted(t):
    t, _ = canonical(t)
    if not t.systems:
        return
    text = render_columns(t)
    has_fret = any(
        isinstance(e, tuple) and any(s in "0123456789" + FRET_LETTERS for s in e)
        for system in t.systems
        for e in system
    )
    if has_fret:
        assert check(text) == []
        assert check(text + "\n") == []
    else:  # the grammar only ends pieces that play a note
        assert check(text) == [f"{text.count(chr(10)) + 1}:1: the piece cannot end here"]


# ---------------------------------------------------------------- masked random walks


def walk(rnd: random.Random, budget: int) -> str:
    """Sample from allowed() ∩ VOCAB; past the budget, head for the end."""
    g = ColumnsGrammar()
    out = []
    for _ in range(budget + 400):
        a = g.allowed()
        assert a is not None
        choices = [c for c in a if c in VOCAB]
        assert choices, (repr("".join(out)), a)
        if len(out) < budget:
            # lean towards spaces and line ends now and then, so lines and pieces vary
            ch = rnd.choice(choices)
        else:
            ch = next((p for p in "\n5-h" if p in choices), choices[0])
        out.append(ch)
        g.feed(ch)
        if g.done:
            break
    assert g.done and not g.problems
    return "".join(out)


@settings(max_examples=150, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 300))
def test_masked_walks_decode_with_no_repair_and_round_trip(rnd, budget):
    text = walk(rnd, budget)
    assert text.endswith(END_OF_PIECE)
    d = COLUMNS.decode(text)
    assert d.repairs == []
    assert d.piece.notes
    piece = text[:-1]
    assert COLUMNS.encode_text(piece).pieces == [piece]
    assert COLUMNS.split(text) == [piece]
    assert check(piece) == []


def test_fifty_walks_all_clean():
    rnd = random.Random(7)
    for _ in range(50):
        text = walk(rnd, rnd.randrange(400))
        assert COLUMNS.decode(text).clean


# ---------------------------------------------------------------- never raises


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(VOCAB + ["é", "\t", "\r"]), max_size=300))
def test_arbitrary_text_never_raises(text):
    g = ColumnsGrammar()
    for ch in text:
        g.feed(ch)
        a = g.allowed()
        assert a is None or isinstance(a, str)
    check(text)
    g2 = ColumnsGrammar()
    g2.feed(GUITAR + text)
    g2.allowed()


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(VOCAB), max_size=200))
def test_recovers_after_bad_text(junk):
    g = ColumnsGrammar()
    g.feed(GUITAR + junk.replace("\n", " ") + "\n")
    if not g.done:
        g.feed("3----- .1 |\n")
        assert g.allowed() is not None and "\n" in g.allowed()


def test_problems_and_recovery():
    g = ColumnsGrammar()
    g.feed(GUITAR + "0----- zz")
    assert len(g.problems) == 1 and g.problems[0].startswith("2:8: 'z' not allowed here")
    assert g.allowed() is None
    g.feed(" ")
    assert "|" in g.allowed() and "\n" not in g.allowed()
    g.feed("3----- |\n\n")
    assert g.done and len(g.problems) == 1
    g.feed("%")  # a new piece after the end
    assert g.allowed() == "c" and not g.done


def test_broken_header_reads_six_strings():
    g = ColumnsGrammar()
    g.feed("%columns E2 X\n")
    assert g.problems and g.n == 6
    g.feed("0-----")
    assert g.allowed() == " \n"


def test_copy_is_independent():
    g = fed(GUITAR + "0--")
    c = g.copy()
    c.feed("---")
    assert g.allowed() != c.allowed() and c.allowed() == " \n"


# ---------------------------------------------------------------- targeted masks


def test_group_has_exactly_n_symbols():
    g = fed(GUITAR + "0-----")
    assert g.allowed() == " \n"  # no 7th symbol
    g = fed(GUITAR + "0----")
    assert " " not in g.allowed() and "\n" not in g.allowed() and "|" not in g.allowed()
    assert fed(BASS_HEADER + "0---").allowed() == " \n"
    assert fed("%columns B1 E2 A2 D3 G3 B3 E4\n0-----").allowed().startswith("-0")
    assert fed("%columns B1 E2 A2 D3 G3 B3 E4\n0------").allowed() == " \n"


def test_empty_group_is_written_as_run():
    a = fed(GUITAR + "-----").allowed()
    assert "-" not in a and "0" in a and "h" in a


def test_frets_that_would_read_as_one():
    a = fed(GUITAR + "1----- ").allowed()
    assert not set(a) & set("0123456789" + FRET_LETTERS) and "-" in a and "x" in a
    a = fed(GUITAR + "2----- ").allowed()
    assert set("56789") <= set(a) and not set(a) & set("01234" + FRET_LETTERS)
    a = fed(GUITAR + "0----- -").allowed()  # string 2 had nothing
    assert "1" in a and "C" in a
    assert set("0123456789ABCO") <= set(fed(GUITAR + "3----- ").allowed())
    assert "0" in fed(GUITAR + "1----- | ").allowed()
    assert "0" in fed(GUITAR + "1----- .1 ").allowed()
    assert "0" in fed(GUITAR + "C----- ").allowed()  # a letter fret is two digits already
    assert "0" in fed(GUITAR + "1-----\n").allowed()  # a new system


def test_runs():
    assert fed(GUITAR + "0----- .").allowed() == "123456789"
    assert fed(GUITAR + "0----- .6").allowed() == "01234 \n"
    assert fed(GUITAR + "0----- .64").allowed() == " \n"
    assert fed(GUITAR + "0----- .7").allowed() == " \n"
    assert fed(GUITAR + "0----- .1").allowed() == "0123456789 \n"
    assert "." not in fed(GUITAR + "0----- .3 ").allowed()
    assert "." in fed(GUITAR + "0----- .64 ").allowed()
    assert "." in fed(GUITAR + "0----- .3 | ").allowed()


def test_bars():
    assert "|" not in fed(GUITAR + "0----- | ").allowed()
    assert ":" not in fed(GUITAR + "0----- :| ").allowed()
    assert fed(GUITAR + "0----- |").allowed() == "|: \n"
    assert fed(GUITAR + "0----- :").allowed() == "|"
    assert fed(GUITAR + "0----- :|").allowed() == ": \n"
    assert fed(GUITAR + "0----- :|:").allowed() == " \n"
    assert fed(GUITAR + "0----- ||").allowed() == " \n"
    assert fed(GUITAR + "0-----\n|:").allowed() == " "  # no system of bars only


def test_spacing_and_end():
    assert fed(GUITAR).allowed().count("\n") == 0  # no blank line before any note
    assert "\n" not in fed(GUITAR + "--h--- |\n").allowed()  # no fret yet
    assert "\n" in fed(GUITAR + "--5--- |\n").allowed()
    a = fed(GUITAR + "0----- ").allowed()
    assert " " not in a and "\n" not in a
    g = fed(GUITAR + "0-----\n\n")
    assert g.done
    assert check(GUITAR + "0----- |") == ["2:9: the piece cannot end here"]
    assert check(GUITAR + "0----- |\n") == []


def test_header():
    assert fed("").allowed() == "%"
    assert fed("%columns ").allowed() == "ABCDEFG"
    assert fed("%columns E").allowed() == "01234567-b"
    assert "b" not in fed("%columns C").allowed() and "b" not in fed("%columns F").allowed()
    assert fed("%columns A").allowed() == "0123456-b"  # A7 is above pitch 103
    assert fed("%columns Gb").allowed() == "01234567-"
    assert fed("%columns C-").allowed() == "1"
    assert fed("%columns E2 A2 D3").allowed() == " "
    assert fed("%columns E1 A1 D2 G2").allowed() == " \n"
    assert fed("%columns E2 A2 D3 G3 B3").allowed() == " "
    assert fed("%columns B1 E2 A2 D3 G3 B3 E4").allowed() == " \n"  # a capo or tempo may follow
    assert fed("%columns B1 E2 A2 D3 G3 B3 E4 ").allowed() == "ct"
    assert fed("%columns E2 A2 D3 G3 B3 E4 ").allowed() == "ABCDEFGct"
    assert fed("%columns E2 A2 D3 ").allowed() == "ABCDEFG"  # no capo on a 3-string header
    assert fed("%columns E2 A2 D3 G3 B3 E4 capo ").allowed() == "123456789"
    assert fed("%columns E2 A2 D3 G3 B3 E4 capo 2").allowed() == "01234 \n"
    assert fed("%columns E2 A2 D3 G3 B3 E4 capo 3").allowed() == " \n"
    assert fed("%columns E2 A2 D3 G3 B3 E4 capo 3 ").allowed() == "t"
    assert fed("%columns E2 A2 D3 G3 B3 E4 tempo 9").allowed() == "0123456789"  # 10-999
    assert fed("%columns E2 A2 D3 G3 B3 E4 tempo 96").allowed() == "0123456789\n"
    assert fed("%columns E2 A2 D3 G3 B3 E4 tempo 960").allowed() == "\n"
    text = "%columns D2 A2 D3 G3 B3 E4 capo 2 tempo 140\n5----- |\n"
    assert check(text) == [] and COLUMNS.encode_text(text).pieces == [text]
    d = COLUMNS.decode(text + "\n")
    assert d.clean and d.piece.tempo == 140 and [n.pitch for n in d.piece.notes] == [38 + 2 + 5]
    assert check("%columns C-1 Bb1 D2 G7\n5---\n") == []
    assert COLUMNS.decode("%columns C-1 Bb1 D2 G7\n5---\n\n").clean
    assert check("%columns E#2")[0].startswith("1:11: '#'")


def test_speed():
    text = "\n".join(written_pieces() * 3)
    g = ColumnsGrammar()
    t = time.perf_counter()
    for ch in text:
        g.allowed()
        g.feed(ch)
    per_char = (time.perf_counter() - t) / len(text)
    assert per_char < 50e-6  # ~1-2 us here; generous for a loaded machine


def test_the_columns_codec_offers_the_grammar_and_rows_none():
    import encoders

    assert isinstance(encoders.get("columns").grammar(), ColumnsGrammar)
    assert encoders.get("rows").grammar() is None


def test_segment_counts_bars_and_events_count_steps_for_bar_by_bar_sampling():
    g = ColumnsGrammar()
    assert g.segment() == 0  # the header
    g.feed("%columns E2 A2 D3 G3 B3 E4\n")
    assert (g.segment(), g.events()) == (1, 0)
    g.feed("0----- .2 3----- |")
    assert (g.segment(), g.events()) == (1, 3)  # a bar token closes its bar at the space after it
    g.feed(" ")
    fork = g.copy()
    g.feed("-0---- |\n")
    assert (g.segment(), g.events()) == (3, 4)
    assert (fork.segment(), fork.events()) == (2, 3)  # a copy goes on alone
