"""A piece's text bar by bar through the Scheme contract: bar_ends, opening, open_end, transpose."""

from hypothesis import given
from hypothesis import strategies as st

import encoders

ABC = "X:1\nM:2/4\nL:1/8\nK:G\nGA|B2 d2|c2 A2:|\n"


def test_abc_bars_opening_and_open_end():
    abc = encoders.get("abc")
    ends = abc.bar_ends(ABC)
    assert [ABC[:e].rsplit("\n", 1)[-1] for e in ends] == ["GA|", "GA|B2 d2|", "GA|B2 d2|c2 A2:|"]
    assert abc.opening(ABC) == "X:1\nM:2/4\nL:1/8\nK:G\n"
    assert abc.open_end(ABC) == "X:1\nM:2/4\nL:1/8\nK:G\nGA|B2 d2|c2 A2"
    assert abc.transposes and "K:A" in abc.transpose(ABC, 2)


def test_tab_bars_and_open_end():
    columns = encoders.get("columns")
    text = "%columns E2 A2 D3 G3 B3 E4\n0----- --2--- | 3----- :|\n"
    ends = columns.bar_ends(text)
    assert [text[:e].split()[-1] for e in ends] == ["|", ":|"]
    assert columns.open_end(text) == "%columns E2 A2 D3 G3 B3 E4\n0----- --2--- | 3-----"
    assert not columns.transposes and columns.transpose(text, 2) is None


def test_line_schemes_default_one_bar_a_line():
    roll = encoders.get("roll")
    text = "header\nbar one\n\nbar two\n"
    assert [text[:e].rsplit("\n", 1)[-1] for e in roll.bar_ends(text)] == ["bar one", "bar two"]
    assert roll.opening(text) == "header\n" and roll.open_end(text) == "header\nbar one\n\nbar two\n"


@given(st.lists(st.sampled_from(["A2", "B2", "c2", "z2", "d4"]), min_size=1, max_size=12))
def test_abc_bar_ends_count_the_bars_written(notes):
    abc = encoders.get("abc")
    tune = "X:1\nM:2/4\nL:1/8\nK:D\n" + "|".join(notes) + "|]\n"
    ends = abc.bar_ends(tune)
    assert len(ends) == len(notes)
    assert all(tune[e - 1] in "|]" for e in ends)
    assert abc.open_end(tune).endswith(notes[-1])
