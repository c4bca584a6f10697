"""The tablature model both tab schemes share: a `Tab` (tuning and systems of steps and
bars), its symbols (one character per string: ``-``, frets ``0-9 A-O``, technique
marks), named tunings, and the canonical form every encoder and decoder writes.
The text forms are described in `encoders.tab`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from encoders.piece import Problem

__all__ = [
    "BARS",
    "DEFAULT_TUNINGS",
    "FRET_LETTERS",
    "MAX_CAPO",
    "MAX_RUN",
    "NAMES",
    "PROGRAM_BASS",
    "PROGRAM_GUITAR",
    "STEP_BEATS",
    "STRING_COUNTS",
    "SYMBOLS",
    "TECHNIQUES",
    "TEMPO_RANGE",
    "Tab",
    "bar_token",
    "canonical",
    "fret_symbol",
    "from_names",
    "header_tuning",
    "nearest",
    "pitch_class",
    "pitch_name",
    "symbol_fret",
    "symbol_text",
]

STEP_BEATS = 0.25
MAX_RUN = 64
FRET_LETTERS = "ABCDEFGHIJKLMNO"  # frets 10..24
TECHNIQUES = "hpbr/\\~x()vts^<>"
SYMBOLS = "-0123456789" + FRET_LETTERS + TECHNIQUES
BARS = ("|", "||", "|:", ":|", ":|:")
STRING_COUNTS = (4, 6, 7)
DEFAULT_TUNINGS = {
    4: (28, 33, 38, 43),
    6: (40, 45, 50, 55, 59, 64),
    7: (35, 40, 45, 50, 55, 59, 64),
}
PROGRAM_GUITAR = 25
PROGRAM_BASS = 33
NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_OPEN = {  # six-string named tunings, low to high
    "dadgad": (38, 45, 50, 55, 57, 62),
    "openg": (38, 43, 50, 55, 59, 62),
    "opend": (38, 45, 50, 54, 57, 62),
    "opene": (40, 47, 52, 56, 59, 64),
    "openc": (36, 43, 48, 55, 60, 64),
}

MAX_CAPO = 24
TEMPO_RANGE = (10, 999)
"""Tempos a tab's header holds (quarter notes a minute, whole numbers; "Tempo: 140" in a raw tab)."""


@dataclass(slots=True)
class Tab:
    """Tuning (MIDI pitches of the open strings, low to high) and systems of events:
    a bar token (str in BARS) or a step (tuple of one symbol per string, low to high);
    the capo (frets are counted from it: every pitch is `capo` semitones above open
    string + fret; 0 none) and the tempo (quarter notes a minute; None: not stated, 120)."""

    tuning: tuple[int, ...]
    systems: list[list] = field(default_factory=list)
    capo: int = 0
    tempo: int | None = None


def fret_symbol(fret: int) -> str:
    return str(fret) if fret < 10 else FRET_LETTERS[fret - 10]


def symbol_fret(sym: str) -> int | None:
    if sym.isascii() and sym.isdigit():  # str.isdigit alone takes "²", which int() refuses
        return int(sym)
    i = FRET_LETTERS.find(sym)
    return 10 + i if i >= 0 and sym else None


def symbol_text(sym: str) -> str:
    f = symbol_fret(sym)
    return str(f) if f is not None else sym


def pitch_name(p: int) -> str:
    return f"{NAMES[p % 12]}{p // 12 - 1}"


def pitch_class(name: str) -> int:
    pc = _PC[name[0].upper()]
    if name[1:2] == "#":
        pc += 1
    elif name[1:2] == "b":
        pc -= 1
    return pc % 12


def nearest(pc: int, ref: int) -> int:
    up = ref + (pc - ref) % 12
    down = up - 12
    return up if up - ref < ref - down else down


def from_names(names: list[str], n: int) -> tuple[int, ...] | None:
    if len(names) != n or n not in DEFAULT_TUNINGS:
        return None
    return tuple(nearest(pitch_class(x), r) for x, r in zip(names, DEFAULT_TUNINGS[n]))


def header_tuning(value: str, n: int) -> tuple[int, ...] | None:
    """The tuning a header's value names for n strings, or None when unknown."""
    if n not in DEFAULT_TUNINGS:
        return None
    base = DEFAULT_TUNINGS[n]
    octaves = re.findall(r"([A-G][#b]?)(-?\d)", value)
    if re.fullmatch(r"\s*(?:[A-G][#b]?-?\d\s+)*[A-G][#b]?-?\d\s*", value) and len(octaves) == n:
        # names with octaves, low to high (``E2 A2 D3 G3 B3 E4``, as the staff writes them): exact
        pitches = tuple(pitch_class(name) + 12 * (int(octave) + 1) for name, octave in octaves)
        return pitches if all(0 <= p <= 103 for p in pitches) else None
    v = value.strip().lower()
    if re.search(r"half[\s-]*(step|tone)?[\s-]*down", v):
        return tuple(p - 1 for p in base)
    if re.search(r"(whole|full)[\s-]*(step|tone)?[\s-]*down", v):
        return tuple(p - 2 for p in base)
    m = re.match(r"drop(?:ped)?\s*([a-g])\s*(#|b|flat|sharp)?", v)
    if m:
        acc = {"flat": "b", "sharp": "#"}.get(m.group(2) or "", m.group(2) or "")
        low = nearest(pitch_class(m.group(1).upper() + acc), base[0] - 1)
        if low > base[0]:
            low -= 12
        shift = low + 7 - base[1]
        return (low,) + tuple(p + shift for p in base[1:])
    m = re.match(r"([a-g])\s*(#|b|flat|sharp)?\s*(standard|std)", v)
    if m:
        acc = {"flat": "b", "sharp": "#"}.get(m.group(2) or "", m.group(2) or "")
        low = nearest(pitch_class(m.group(1).upper() + acc), base[0])
        return tuple(p + low - base[0] for p in base)
    if re.match(r"(standard|std|normal|regular)\b", v):
        return base
    key = re.sub(r"[\s-]", "", v)
    if n == 6 and key in _OPEN:
        return _OPEN[key]
    raw = value.strip()
    if re.fullmatch(r"[A-Ga-g#b\d\s,/-]+", raw):
        names = re.findall(r"[A-G][#b]?|[a-g]#?", raw)
        return from_names(names, n)
    return None


def bar_token(s: str) -> str:
    left, right = s.startswith(":"), s.endswith(":")
    if left and right and len(s) > 1:
        return ":|:"
    if left:
        return ":|"
    if right:
        return "|:"
    return "||" if s.count("|") >= 2 else "|"


def canonical(tab: Tab, path: str = "") -> tuple[Tab, list[Problem]]:
    """The canonical Tab (drops systems without steps, merges adjacent bars,
    separates frets that would read as one); repairs reported."""
    repairs: list[Problem] = []
    systems = []
    n = len(tab.tuning)
    for si, system in enumerate(tab.systems):
        out: list = []
        last_fret: list[str | None] = [None] * n  # single-digit fret just before, per string
        for e in system:
            if isinstance(e, str):
                if out and isinstance(out[-1], str):
                    merged = bar_token(out[-1].replace("|", "", 0) + e)
                    repairs.append(Problem(f"bars {out[-1]!r} {e!r} merged into {merged!r}", si + 2, 0, path))
                    out[-1] = merged
                else:
                    out.append(e)
                last_fret = [None] * n
                continue
            clash = any(
                last_fret[s] is not None
                and symbol_fret(e[s]) is not None
                and int(last_fret[s] + symbol_text(e[s])[0]) <= 24
                for s in range(n)
            )
            if clash:
                repairs.append(
                    Problem("two frets in a row would read as one; an empty step put between", si + 2, 0, path)
                )
                out.append(("-",) * n)
            out.append(e)
            last_fret = [e[s] if e[s].isascii() and e[s].isdigit() else None for s in range(n)]
        if any(not isinstance(e, str) for e in out):
            systems.append(out)
        elif out:
            repairs.append(Problem("a system of bars only dropped", si + 2, 0, path))
    return Tab(tab.tuning, systems, tab.capo, tab.tempo), repairs
