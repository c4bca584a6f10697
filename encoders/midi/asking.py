"""Asking a MIDI model in a musician's terms: the header of a piece from a tempo, a
meter and a key, and a ``roll`` piece held to a length in bars (one line a bar).

    >>> header_text("roll", tempo=96, meter="6/8")
    '%roll q=96 m=6/8 '
"""

from __future__ import annotations

import re

from encoders.midi.grid import MAX_TEMPO
from encoders.piece import UsageError
from encoders.scheme import BarsGrammar

__all__ = ["RollBars", "header_text"]

_METER = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{1,2})\s*")
_KEY = re.compile(r"\s*([A-Ga-g])\s*(#|b)?\s*(m|min|minor|maj|major)?\s*")


def header_text(scheme: str, tempo=None, meter: str | None = None, key: str | None = None) -> str:
    """The start of a header line, ``%roll q=96 m=6/8 k=Am `` (a quarter-note tempo of 120
    and 4/4 where a later field is given without them); the model writes the rest."""
    fields = [f"%{scheme}"]
    if tempo is not None:
        if not 1 <= tempo <= MAX_TEMPO:
            raise UsageError(f"--tempo must be from 1 to {MAX_TEMPO:g} quarter notes a minute, not {tempo}")
        fields.append(f"q={round(float(tempo), 1):g}")
    elif meter is not None or key is not None:
        fields.append("q=120")
    if meter is not None:
        m = _METER.fullmatch({"C": "4/4", "C|": "2/2"}.get(meter.strip(), meter))
        if not m or not 1 <= int(m.group(1)) <= 64 or int(m.group(2)) not in (1, 2, 4, 8, 16, 32):
            raise UsageError(f"--meter {meter!r}: give a time signature such as 6/8, 3/4 or 4/4")
        fields.append(f"m={int(m.group(1))}/{int(m.group(2))}")
    elif key is not None:
        fields.append("m=4/4")
    if key is not None:
        k = _KEY.fullmatch(key)
        if not k:
            raise UsageError(f"--key {key!r}: a MIDI header names a major or minor key (G, F#m, Bb)")
        minor = (k.group(3) or "").startswith("m") and k.group(3) not in ("maj", "major")
        fields.append(f"k={k.group(1).upper()}{k.group(2) or ''}{'m' if minor else ''}")
    return " ".join(fields) + " "


class RollBars(BarsGrammar):
    """A ``roll`` piece held to a length in bars: after the header, each line is a bar."""

    def __init__(self, inner, bars: int):
        super().__init__(inner, bars)
        self.lines = -1  # the header line is no bar

    def see(self, ch: str) -> None:
        if ch == "\n" and self.last != "\n":
            self.lines += 1

    def closed(self) -> int:
        return max(0, self.lines)
