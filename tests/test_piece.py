"""The small shared types of encoders.piece."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from encoders.piece import Problem, position


@given(st.text(alphabet="ab\n", max_size=40), st.data())
def test_position_is_the_line_and_column_an_editor_shows(text, data):
    index = data.draw(st.integers(0, len(text)))
    line, column = position(text, index)
    lines = text[:index].split("\n")
    assert (line, column) == (len(lines), len(lines[-1]) + 1)


def test_a_problem_names_file_line_and_column():
    assert str(Problem("bad", *position("ab\ncd", 4), "x.abc")) == "x.abc:2:2: bad"
