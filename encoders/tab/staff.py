r"""A tab as a guitarist prints it: the aligned ASCII staff a ``.tab`` file holds.

`render_staff` writes a `Tab` as plain text a guitarist reads and any tab
reader (this package's `parse_tab` included) reads back to the same notes::

    Tuning: D2 A2 D3 G3 B3 E4
    Capo: 2
    Tempo: 96
    Time: 2 characters = 1/16

    e|----------------|--------------------|
    B|----------------|--------------------|
    G|----------------|--------------------|
    D|----------------|--------------------|
    A|----------------|------------3-h-5---|
    D|0-0-0-0-3-5-----|0-0-0-0-0-0-12------|

* The tuning on the left: each string's name (the top string lower case on a
  guitar), and a ``Tuning:`` line with the octaves; ``Capo:`` and ``Tempo:``
  lines where the tab has them.
* Bars aligned across the strings; one staff per system, a blank line between.
* Time is a grid: every column of the tab (a sixteenth) is the same number of
  characters on every string.  That is one character, as in the ``rows``
  scheme, unless two frets follow each other on a string, which one character
  would run together (``7781010``, which no guitarist can read, and which reads
  ``1`` then ``2`` as twelve): then every column is 2 characters wide (3 when a
  two-digit fret is followed at once by another fret), so a ``-`` stands between
  any two frets, and a ``Time: N characters = 1/16`` line says so, which
  `parse_tab` reads to put the columns back together.
"""

from __future__ import annotations

from encoders.piece import Problem
from encoders.tab.reading import read_any
from encoders.tab.symbols import DEFAULT_TUNINGS, NAMES, Tab, canonical, pitch_name, symbol_fret, symbol_text

__all__ = ["render_staff", "staff_scale", "text_to_staff"]

MAX_SCALE = 3


def staff_scale(tab: Tab) -> int:
    """Characters per column: 1 unless two frets touch on a string (then 2, or 3 when the
    first of them has two digits)."""
    scale = 1
    n = len(tab.tuning)
    for system in tab.systems:
        prev = None
        for e in system:
            if isinstance(e, str):
                prev = None
                continue
            if prev is not None:
                for s in range(n):
                    if symbol_fret(prev[s]) is not None and symbol_fret(e[s]) is not None:
                        scale = max(scale, len(symbol_text(prev[s])) + 1)
            prev = e
    return min(scale, MAX_SCALE)


def render_staff(tab: Tab, title: str | None = None) -> str:
    """The staff text of a canonical Tab (see the module docstring)."""
    n = len(tab.tuning)
    names = [NAMES[p % 12] for p in tab.tuning]
    if n >= 6:
        names[-1] = names[-1].lower()
    w = max(len(x) for x in names)
    scale = staff_scale(tab)
    out = []
    if title:
        out.append(title.strip().splitlines()[0] + "\n")
    out.append("Tuning: " + " ".join(pitch_name(p) for p in tab.tuning) + "\n")
    if tab.capo:
        out.append(f"Capo: {tab.capo}\n")
    if tab.tempo is not None:
        out.append(f"Tempo: {tab.tempo}\n")
    if scale > 1:
        out.append(f"Time: {scale} characters = 1/16\n")
    for system in tab.systems:
        out.append("\n")
        strings = [[names[s].rjust(w) + "|"] for s in range(n)]
        for e in system:
            if isinstance(e, str):
                for s in range(n):
                    strings[s].append(e)
                continue
            texts = [symbol_text(x) for x in e]
            width = max(scale, max(len(t) for t in texts))
            for s in range(n):
                strings[s].append(texts[s].ljust(width, "-"))
        for s in reversed(range(n)):
            out.append("".join(strings[s]) + "\n")
    return "".join(out)


def text_to_staff(text: str, title: str | None = None, source: str = "") -> tuple[str, list[Problem]]:
    """Any tab text (a ``rows`` or ``columns`` piece, generated or not, or a raw tab) as the
    staff a ``.tab`` file holds, and the repairs made to read it (`source` names the text)."""
    tab, repairs = read_any(text, source)
    if tab is None:
        repairs.append(Problem("no staff found; an empty staff written", 0, 0, source))
        tab = Tab(DEFAULT_TUNINGS[6])
    tab, more = canonical(tab, source)
    return render_staff(tab, title), repairs + more
