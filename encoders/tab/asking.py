"""Asking a tab model in a guitarist's terms: the header of a piece from a tuning
("drop D", "DADGAD", "D A D G B E", "E2 A2 D3 G3 B3 E4"), a capo and a tempo, and a
``columns`` piece held to a length in bars.

    >>> header_text(tuning="drop D", capo=2)
    '%columns D2 A2 D3 G3 B3 E4 capo 2\\n'
"""

from __future__ import annotations

from typing import Any

from encoders.piece import UsageError
from encoders.scheme import BarsGrammar
from encoders.tab.symbols import DEFAULT_TUNINGS, MAX_CAPO, STRING_COUNTS, TEMPO_RANGE, header_tuning, pitch_name

__all__ = ["ColumnsBars", "header_text"]


def header_text(scheme: str = "columns", tuning: str | None = None, capo: Any = None, tempo: Any = None) -> str:
    """A tab piece's header line: the tuning (standard when not given; 6 strings unless the
    names give 4 or 7), then ``capo N`` and ``tempo N``.  UsageError naming the flag."""
    pitches = DEFAULT_TUNINGS[6]
    if tuning is not None:
        found = [header_tuning(tuning, n) for n in (6, 7, 4)]
        named = next((t for t in found if t is not None), None)
        if named is None:
            raise UsageError(
                f"--tuning {tuning!r}: name a tuning (standard, drop D, DADGAD, open G, Eb standard, "
                f"half step down) or its strings low to high (D A D G B E, E2 A2 D3 G3 B3 E4)"
            )
        pitches = named
    line = f"%{scheme} " + " ".join(pitch_name(p) for p in pitches)
    if capo is not None:
        if isinstance(capo, bool) or not isinstance(capo, int) or not 0 <= capo <= MAX_CAPO:
            raise UsageError(f"--capo must be a fret from 0 (none) to {MAX_CAPO}, not {capo!r}")
        line += f" capo {capo}" if capo else ""
    if tempo is not None:
        low, high = TEMPO_RANGE
        if not low <= tempo <= high or tempo != int(tempo):
            raise UsageError(f"--tempo must be a whole number of beats a minute, {low}-{high}, not {tempo}")
        line += f" tempo {int(tempo)}"
    assert len(pitches) in STRING_COUNTS
    return line + "\n"


class ColumnsBars(BarsGrammar):
    """A ``columns`` piece held to a length in bars: a bar is a bar token (``|`` ``||``
    ``|:`` ``:|`` ``:|:``) after music; tokens are one space apart, systems one a line."""

    def __init__(self, inner, bars: int):
        super().__init__(inner, bars)
        self.count, self.token, self.music, self.body = 0, "", False, False

    def see(self, ch: str) -> None:
        if not self.body:
            self.body = ch == "\n"
        elif ch in " \n":
            self._end_token()
        else:
            self.token += ch

    def _end_token(self) -> None:
        if self._bar_token():
            self.count += 1
            self.music = False
        elif self.token:
            self.music = True
        self.token = ""

    def _bar_token(self) -> bool:
        return bool(self.token) and self.music and set(self.token) <= set("|:") and "|" in self.token

    def closed(self) -> int:
        return self.count + self._bar_token()
