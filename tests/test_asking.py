"""Asking in music's terms (issue 17): headers from a meter, a key, a tuning ... through the
Scheme contract (`Scheme.header`), and pieces held to a length in bars (`grammar_in_bars`)."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import encoders
from encoders import UsageError
from encoders.abc.seed import header_text, key_text, meter_text
from encoders.abc.tokens import parse_key
from encoders.midi.asking import header_text as midi_header
from encoders.midi.grid import parse_header
from encoders.tab.asking import header_text as tab_header

ABC = encoders.get("abc")
FOLK_METERS = ["2/4", "3/4", "4/4", "6/8", "9/8"]


@pytest.mark.parametrize(
    ("asked", "key"),
    [("D", "D"), ("Em", "Em"), ("Dmix", "Dmix"), ("Ador", "Ador"), ("Bb", "Bb"), ("A dorian", "Ador"),
     ("e minor", "Em"), ("F# m", "F#m"), ("G major", "G"), ("Eb Mixolydian", "Ebmix"), ("D aeolian", "Dm")],
)  # fmt: skip
def test_key_names_as_the_corpus_writes_them(asked, key):
    assert key_text(asked) == key


@pytest.mark.parametrize("bad", ["H", "Dfoo", "", "C##", "G#", "A dorianx", "7"])
def test_a_key_that_is_none_is_a_one_line_error(bad):
    with pytest.raises(UsageError, match="--key") as e:
        key_text(bad)
    assert "\n" not in str(e.value)


@settings(deadline=None)
@given(st.text(max_size=20))
def test_key_text_never_fails_otherwise_and_its_keys_read_back(text):
    try:
        key = key_text(text)
    except UsageError:
        return
    parsed = parse_key(key)
    assert not parsed.error and parsed.tonic == key_text(text)[: len(parsed.tonic)]


@settings(deadline=None)
@given(st.text(max_size=12))
def test_meter_text_gives_a_meter_the_grammar_takes_or_a_usage_error(text):
    try:
        meter = meter_text(text)
    except UsageError:
        return
    g = ABC.grammar({})
    g.feed(f"X:1\nM:{meter}\n")
    assert not g.problems


def test_a_header_in_the_streams_order_with_the_meters_unit():
    assert header_text("6/8", "A dorian") == "X:1\nM:6/8\nL:1/8\nK:Ador\n"
    assert header_text("2/4", "D") == "X:1\nM:2/4\nL:1/16\nK:D\n"
    assert header_text("C", "G", unit="1/16", tempo=112) == "X:1\nM:4/4\nL:1/16\nQ:1/4=112\nK:G\n"
    assert header_text("3/4") == "X:1\nM:3/4\nL:1/8\n"  # the model picks the key


def test_what_the_model_never_saw_is_an_error_listing_what_it_knows():
    with pytest.raises(UsageError, match=r"never saw.*2/4, 3/4, 4/4, 6/8, 9/8"):
        ABC.header(meter="7/8", options={"meters": FOLK_METERS})
    with pytest.raises(UsageError, match="never saw the loc mode"):
        ABC.header(meter="6/8", key="Bloc", options={"meters": FOLK_METERS, "modes": ["dor", "maj", "min"]})
    with pytest.raises(UsageError, match="needs --meter"):
        ABC.header(key="D")


def test_a_choice_a_scheme_has_no_place_for_names_what_it_takes():
    with pytest.raises(UsageError, match=r"--tuning: abc pieces have no place.*--meter, --key"):
        ABC.header(tuning="drop D")
    with pytest.raises(UsageError, match=r"--meter: columns pieces.*--tuning, --capo, --tempo"):
        encoders.get("columns").header(meter="6/8")
    assert ABC.header() is None


def test_tab_headers_from_a_guitarists_words():
    assert tab_header(tuning="drop D", capo=2) == "%columns D2 A2 D3 G3 B3 E4 capo 2\n"
    assert tab_header(tuning="DADGAD", tempo=96) == "%columns D2 A2 D3 G3 A3 D4 tempo 96\n"
    assert tab_header(capo=3) == "%columns E2 A2 D3 G3 B3 E4 capo 3\n"  # standard tuning by default
    with pytest.raises(UsageError, match="--tuning"):
        tab_header(tuning="banjo")
    with pytest.raises(UsageError, match="--capo"):
        tab_header(capo=30)


@settings(deadline=None)
@given(st.text(max_size=24), st.one_of(st.none(), st.integers(-3, 30)), st.one_of(st.none(), st.integers(0, 1200)))
def test_tab_headers_parse_back_or_are_usage_errors(tuning, capo, tempo):
    try:
        text = tab_header(tuning=tuning, capo=capo, tempo=tempo)
    except UsageError:
        return
    g = encoders.get("columns").grammar({})
    g.feed(text)
    assert not g.problems


def test_midi_headers_fill_the_fields_before_the_ones_given():
    assert midi_header("roll", tempo=96, meter="6/8", key="A minor") == "%roll q=96 m=6/8 k=Am "
    assert midi_header("roll", key="Bb") == "%roll q=120 m=4/4 k=Bb "
    with pytest.raises(UsageError, match="--meter"):
        midi_header("roll", meter="six")


@settings(deadline=None)
@given(st.text(max_size=10), st.text(max_size=8), st.one_of(st.none(), st.floats(-10, 2000)))
def test_midi_headers_are_read_back_or_usage_errors(meter, key, tempo):
    try:
        text = midi_header("roll", tempo=tempo, meter=meter or None, key=key or None)
    except UsageError:
        return
    header, problems = parse_header(text + "g=48", "roll")
    assert text.startswith("%roll q=") or text == "%roll "
    assert not problems or "whole number of steps" in problems[0]


def _bar_lines(body: str) -> int:
    """Bar lines after music, as a musician counts them (a pickup's bar line included)."""
    return len(re.findall(r"[A-Ga-gz][^|:\]]*?(?:\||:)", re.sub(r'"[^"]*"', "", body)))


def test_abc_bars_grammar_forbids_the_end_before_the_nth_bar_and_ends_right_after():
    g = ABC.grammar_in_bars(8, {})
    g.feed("X:1\nM:6/8\nL:1/8\nK:Ador\n")
    for _ in range(7):
        assert g.closed() < 8
        g.feed("ABA ABc|")
        assert "\n" not in (g.allowed() or "") or g.last != "\n"
    g.feed("\n")
    assert "\n" not in g.allowed()  # no blank line (the end) after 7 bars
    g.feed("ABA ABc")
    g.feed("|")
    assert g.closed() == 8 and g.allowed() == "\n"


def test_an_open_repeat_is_closed_at_the_last_bar_line():
    g = ABC.grammar_in_bars(4, {})
    g.feed("X:1\nM:6/8\nL:1/8\nK:D\n|:ABA ABc|ABA ABc|ABA ABc|ABA ABc")
    assert "|" not in g.allowed() and ":" in g.allowed()  # only :| lets the tune end here


def test_columns_and_roll_count_their_bars():
    g = encoders.get("columns").grammar_in_bars(2, {})
    g.feed("%columns E2 A2 D3 G3 B3 E4\n0----- .3 | ---2-- .3 |")
    assert g.closed() == 2 and g.allowed() == "\n"
    r = encoders.get("roll").grammar_in_bars(2, {})
    r.feed("%roll q=120 m=2/4 g=16 p=0\nL.-L.-L.-L.-L.-L.-L.-L.\n")
    assert r.closed() == 1


def test_the_title_goes_after_x():
    assert ABC.titled("X:1\nM:6/8\nK:D\nabc|\n", "The\nJig") == "X:1\nT:The Jig\nM:6/8\nK:D\nabc|\n"
    assert encoders.get("columns").titled("%columns E2\n", "x") == "%columns E2\n"
