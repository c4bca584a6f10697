"""The ``rows`` and ``columns`` schemes (described in `encoders.tab`): raw tabs and
either scheme's text read (`reading`), made canonical (`symbols`), written
(`writing`) and played (`playing`); ``columns`` samples with `grammar`."""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

from encoders import EncodeResult, GrammarState, register, split_stream
from encoders.piece import Decoded, InputError, Problem, UsageError
from encoders.scheme import ENGRAVE_TAB, Option, Scheme
from encoders.tab.playing import tab_to_piece
from encoders.tab.reading import parse_columns, parse_tab, read_any
from encoders.tab.symbols import DEFAULT_TUNINGS, PROGRAM_GUITAR, STEP_BEATS, Tab, canonical
from encoders.tab.writing import render_columns, render_rows

__all__ = ["COLUMNS", "ColumnsScheme", "MAX_TEXT_CHARS", "ROWS", "RowsScheme", "TabScheme", "columns_to_rows",
           "rows_to_columns"]

MAX_TEXT_CHARS = 500_000
"""A tab text longer than this is not read whole (the longest piece of the tab corpora has
18,866 characters; reading is linear, about 10 us a character, and a 50 MB line is no tab)."""
MAX_STEP_BEATS = 16


def parse_step(value: Any) -> float:
    """The time step of a tab column in beats, above 0 and at most 16 (UsageError otherwise)."""
    try:
        step = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        step = math.nan
    if not 0 < step <= MAX_STEP_BEATS:
        raise UsageError(f"the time step (--step) must be above 0 and at most {MAX_STEP_BEATS} beats, not {value!r}")
    return step


def rows_to_columns(text: str) -> str:
    tab, _ = parse_tab(text)
    if tab is None:
        raise InputError("no staff found")
    return render_columns(canonical(tab)[0])


def columns_to_rows(text: str) -> str:
    tab, _ = parse_columns(text)
    return render_rows(canonical(tab)[0])


class TabScheme(Scheme):
    """What ``rows`` and ``columns`` share: any tab in, the aligned tab (``rows``) as every
    decoder's text, played on the guitar, shown as the tab itself (no sheet music).
    A subclass names its scheme and writes `_render`."""

    suffixes = (".tab",)
    program = PROGRAM_GUITAR
    engraving = ENGRAVE_TAB
    decode_options = (Option("step", float, STEP_BEATS, "tabs: beats per tab column (a quarter of a beat by "
                             "default)", parse=parse_step),)

    @property
    def seed(self) -> str:
        return f"%{self.name} "  # a piece starts with its header line; the model picks the tuning

    @abstractmethod
    def _render(self, tab: Tab) -> str:
        """This scheme's text of a canonical Tab."""

    def _encode_text(self, text: str, path: str) -> EncodeResult:
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(f"{len(text):,} characters is more than any tab (at most {MAX_TEXT_CHARS:,} are read)",
                             path=path)
        tab, problems = read_any(text, path)
        if tab is None or not tab.systems:
            raise InputError("no tab staff found (4, 6 or 7 string lines)", path=path)
        tab, repairs = canonical(tab, path)
        return EncodeResult([self._render(tab)], problems + repairs)

    def _decode(self, text: str, path: str, step: float = STEP_BEATS) -> Decoded:
        """A piece's notes (`step` beats per column) and its aligned tab text."""
        cut = []
        if len(text) > MAX_TEXT_CHARS:
            end = text.rfind("\n", 0, MAX_TEXT_CHARS) + 1 or MAX_TEXT_CHARS
            cut = [Problem(f"the tab is {len(text):,} characters long; only the first {end:,} are read",
                           text.count("\n", 0, end) + 1, 1, path)]
            text = text[:end]
        tab, repairs = read_any(text, path)
        repairs = cut + repairs
        if tab is None:
            repairs.append(Problem("no staff found; empty piece", 0, 0, path))
            tab = Tab(DEFAULT_TUNINGS[6])
        tab, more = canonical(tab, path)
        return Decoded(tab_to_piece(tab, step=step), render_rows(tab), repairs + more, None)

    def _unreadable(self, text: str, path: str, error: Exception, step: float = STEP_BEATS) -> Decoded:
        tab = Tab(DEFAULT_TUNINGS[6])
        return Decoded(tab_to_piece(tab, step=step), render_rows(tab),
                       [Problem(f"unreadable tab ({type(error).__name__}: {error}); empty piece", 0, 0, path)], None)

    def split(self, stream: str) -> list[str]:
        """Pieces: blocks between blank lines, also cut before every header line."""
        pieces: list[str] = []
        for block in split_stream(stream):
            current: list[str] = []
            for line in block.splitlines(keepends=True):
                if line.startswith(("%rows", "%columns")) and current:
                    pieces.append("".join(current))
                    current = []
                current.append(line)
            if current:
                pieces.append("".join(current))
        return [p if p.endswith("\n") else p + "\n" for p in pieces]

    def body(self, text: str) -> str:
        """Everything after the header line."""
        if text.startswith("%"):
            return text.split("\n", 1)[1] if "\n" in text else ""
        return text


class RowsScheme(TabScheme):
    """The ``rows`` scheme: the aligned ASCII tab, high string first."""

    name = "rows"

    def _render(self, tab: Tab) -> str:
        return render_rows(tab)


class ColumnsScheme(TabScheme):
    """The ``columns`` scheme: one token per time column, low string first, with validity-guided sampling."""

    name = "columns"

    def _render(self, tab: Tab) -> str:
        return render_columns(tab)

    def grammar(self, options: dict | None = None) -> GrammarState | None:
        from encoders.tab.grammar import ColumnsGrammar

        return ColumnsGrammar()


ROWS = register(RowsScheme())
COLUMNS = register(ColumnsScheme())
