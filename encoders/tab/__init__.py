r"""Schemes ``rows`` and ``columns``: guitar (and bass) tablature as text.

Reading real tabs
-----------------
A tab file is messy text: a title, a ``Tuning: Drop D`` line, chord names above
the staff, lyrics and ``[Verse]`` labels between staves, several systems one
after another.  The reader keeps only the *staves*: runs of 4, 6 or 7 (bass,
guitar, 7-string) consecutive *string lines*.  A string line is an optional
label (``e|``, ``E|``, ``Eb|``, ``D|`` or none) and a body made of dashes, bar
lines, frets and technique marks, e.g. ``e|--0--3h5--|``; whatever follows the
body after a space (``x2``, comments) is ignored, as is every other line.

* Frets 0-24, two-digit ones included (digits are read greedily: ``12`` is
  twelve, ``25`` is 2 then 5).
* Techniques, kept as they are: ``h p b r / \ ~ x ( ) v t s ^ < >``
  (``X`` reads as ``x``; ``(5)`` is a ghost note: ``(``, ``5``, ``)``).
* Bar lines and repeats: ``|``, ``||``, ``|:``, ``:|``, ``:|:`` (``*`` repeat
  dots read as ``:``).  The ``|`` right after a label opens the staff and is no bar.
* Ragged lines are padded with ``-`` (a closing bar is kept at the end).
* Tuning: the header (``Tuning: standard | Drop D | Drop C | DADGAD | Eb
  standard | half step down | open G | D A D G B E``...) wins; else the string
  labels (``D|`` on the low string gives drop D); else standard for the string
  count (E A D G B E; bass E A D G; 7-string B E A D G B E).
* Systems are joined in time.  A file with no staff raises `InputError`
  naming the file; a broken staff (an unknown character, a run of 3 or 5 lines,
  another string count) is a `Problem` with line and column and is skipped.

The model behind both schemes is a grid: per system, a list of *events*, each a
bar token or a *step* (one time column) with one symbol per string.

Symbols (one character per string, low string first in ``columns``)::

    -            nothing on this string
    0-9          frets 0-9
    A-O          frets 10-24 (A=10 B=11 C=12 D=13 E=14 F=15 G=16 H=17 I=18
                 J=19 K=20 L=21 M=22 N=23 O=24)
    h p b r / \ ~ x ( ) v t s ^ < >
                 a technique mark occupying that string in that column, exactly
                 where the tab writes it (``3h5`` is three steps: 3, h, 5)

Scheme ``rows``
---------------
The aligned ASCII tab: a header line ``%rows`` plus the tuning, low to high,
with octaves; then each system's string lines, high string first, each a
label (the top one lower case on a guitar), ``|`` and the body.  A step is
as wide as its widest symbol (a two-digit fret makes it 2 wide, the others padded with
``-``).  Systems are separated by a line ``=``.  This is also the text every
decoder returns (`Decoded.text`).

Scheme ``columns``
------------------
A header line ``%columns`` plus the tuning (stated once); then one line per
system of tokens, a space after every token but the last of a line:

    a step       one symbol per string, low to high (``0-----``; ``C-----`` is
                 fret 12 on the low string)
    .N           N empty steps (a run of empty time, compressed; N <= 64,
                 longer runs are written as several tokens)
    | || |: :| :|:   bar lines and repeats

Example: a 2-bar drop-D riff, raw::

    Tuning: Drop D
        D5              F5
    e|-----------|-------------|
    B|-----------|-------------|
    G|-----------|-------------|
    D|-----------|-------------|
    A|-----------|---------3h5-|
    D|0-0-0-3-5--|0-0-0-12-----|

as ``rows``::

    %rows D2 A2 D3 G3 B3 E4
    e|-----------|-------------|
    B|-----------|-------------|
    G|-----------|-------------|
    D|-----------|-------------|
    A|-----------|---------3h5-|
    D|0-0-0-3-5--|0-0-0-12-----|

as ``columns``::

    %columns D2 A2 D3 G3 B3 E4
    0----- .1 0----- .1 0----- .1 3----- .1 5----- .2 | 0----- .1 0----- .1 0----- .1 C----- .1 -3---- -h---- -5---- .1 |

Round trips: tab text -> stream -> tab text -> stream is exact for both
schemes, and `rows_to_columns` / `columns_to_rows` convert losslessly.

Decoding to a `Piece`: program 25 (acoustic steel guitar; 33 for a 4-string
bass), pitch = open string + fret, each step 1/4 beat, bars take no time.  A
note rings until the next note or an ``x`` on its string, or the end; a fret
inside ``( )`` is a ghost note (velocity 50); ``x`` (mute) is skipped.  Every
fret is played, including the targets of ``h p b r / \``.  Generated text is
repaired, never raised on: a group with the wrong number of symbols is padded
or cut, an unknown symbol becomes ``-``, an unknown token is dropped, two
adjacent bars are merged, two frets that would read as one (``1`` then ``2`` on
a string) get an empty step between them; each repair is reported.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from encoders import EncodeResult, GrammarState, debugging, register, split_stream
from encoders.piece import Decoded, InputError, Note, Piece, Problem, UsageError

__all__ = [
    "Tab", "TabCodec", "parse_tab", "parse_columns", "render_rows", "render_columns",
    "rows_to_columns", "columns_to_rows", "tab_to_piece", "DEFAULT_TUNINGS",
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

@dataclass(slots=True)
class Tab:
    """Tuning (MIDI pitches of the open strings, low to high) and systems of events:
    a bar token (str in BARS) or a step (tuple of one symbol per string, low to high)."""

    tuning: tuple[int, ...]
    systems: list[list] = field(default_factory=list)


# ---------------------------------------------------------------- symbols, tunings

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


def _pc(name: str) -> int:
    pc = _PC[name[0].upper()]
    if name[1:2] == "#":
        pc += 1
    elif name[1:2] == "b":
        pc -= 1
    return pc % 12


def _nearest(pc: int, ref: int) -> int:
    up = ref + (pc - ref) % 12
    down = up - 12
    return up if up - ref < ref - down else down


def _from_names(names: list[str], n: int) -> tuple[int, ...] | None:
    if len(names) != n or n not in DEFAULT_TUNINGS:
        return None
    return tuple(_nearest(_pc(x), r) for x, r in zip(names, DEFAULT_TUNINGS[n]))


def header_tuning(value: str, n: int) -> tuple[int, ...] | None:
    """The tuning a header's value names for n strings, or None when unknown."""
    if n not in DEFAULT_TUNINGS:
        return None
    base = DEFAULT_TUNINGS[n]
    v = value.strip().lower()
    if re.search(r"half[\s-]*(step|tone)?[\s-]*down", v):
        return tuple(p - 1 for p in base)
    if re.search(r"(whole|full)[\s-]*(step|tone)?[\s-]*down", v):
        return tuple(p - 2 for p in base)
    m = re.match(r"drop(?:ped)?\s*([a-g])\s*(#|b|flat|sharp)?", v)
    if m:
        acc = {"flat": "b", "sharp": "#"}.get(m.group(2) or "", m.group(2) or "")
        low = _nearest(_pc(m.group(1).upper() + acc), base[0] - 1)
        if low > base[0]:
            low -= 12
        shift = low + 7 - base[1]
        return (low,) + tuple(p + shift for p in base[1:])
    m = re.match(r"([a-g])\s*(#|b|flat|sharp)?\s*(standard|std)", v)
    if m:
        acc = {"flat": "b", "sharp": "#"}.get(m.group(2) or "", m.group(2) or "")
        low = _nearest(_pc(m.group(1).upper() + acc), base[0])
        return tuple(p + low - base[0] for p in base)
    if re.match(r"(standard|std|normal|regular)\b", v):
        return base
    key = re.sub(r"[\s-]", "", v)
    if n == 6 and key in _OPEN:
        return _OPEN[key]
    raw = value.strip()
    if re.fullmatch(r"[A-Ga-g#b\d\s,/-]+", raw):
        names = re.findall(r"[A-G][#b]?|[a-g]#?", raw)
        return _from_names(names, n)
    return None


# ---------------------------------------------------------------- reading raw tab text

_LINE = re.compile(r"^(\s*)([A-Ga-g][#b]?(?=[|:\-]))?(\S*)")
_HEADER = re.compile(r"^%(rows|columns)((?:\s+[A-G][#b]?-?\d)+)\s*$")
_TUNING_LINE = re.compile(r"(?i)\btuning\b\s*[:=\-]?\s*(.*)")


def _string_line(line: str) -> bool:
    m = _LINE.match(line)
    label, body = m.group(2), m.group(3)
    if not body:
        return False
    if label and body[0] == "|":
        return True
    if body[0] not in "|-":
        return False
    dashes = body.count("-")
    return dashes >= 3 and (dashes + body.count("|")) * 2 >= len(body)


def _parse_header(line: str) -> tuple[str, tuple[int, ...]] | None:
    m = _HEADER.match(line.strip())
    if not m:
        return None
    pitches = []
    for tok in m.group(2).split():
        mm = re.fullmatch(r"([A-G][#b]?)(-?\d)", tok)
        pitches.append(_pc(mm.group(1)) + 12 * (int(mm.group(2)) + 1))
    if len(pitches) not in STRING_COUNTS or not all(0 <= p <= 103 for p in pitches):
        return None
    return m.group(1), tuple(pitches)


def _tokenize(body: str):
    """Cells of one string line's body: (kind, value) per character position."""
    cells = []
    i = 0
    while i < len(body):
        c = body[i]
        if "0" <= c <= "9":  # not str.isdigit: it takes "²", which int() refuses
            if i + 1 < len(body) and "0" <= body[i + 1] <= "9" and int(body[i:i + 2]) <= 24:
                cells += [("fret", int(body[i:i + 2])), ("cont", None)]
                i += 2
                continue
            cells.append(("fret", int(c)))
        elif c == "-":
            cells.append(("dash", None))
        elif c in "|:*":
            cells.append(("bar", ":" if c == "*" else c))
        elif c == "X":
            cells.append(("tech", "x"))
        elif c in TECHNIQUES:
            cells.append(("tech", c))
        else:
            cells.append(("bad", c))
        i += 1
    return cells


def _bar_token(s: str) -> str:
    left, right = s.startswith(":"), s.endswith(":")
    if left and right and len(s) > 1:
        return ":|:"
    if left:
        return ":|"
    if right:
        return "|:"
    return "||" if s.count("|") >= 2 else "|"


def _read_staff(lines: list[tuple[int, str]], path: str, problems: list[Problem]):
    """One staff (string lines high to low) -> (labels high to low, events), or None if broken."""
    labels, rows, offsets = [], [], []
    for lineno, line in lines:
        m = _LINE.match(line)
        labels.append(m.group(2))
        offsets.append(m.start(3))
        cells = _tokenize(m.group(3))
        for pos, (kind, value) in enumerate(cells):
            if kind == "bad":
                problems.append(Problem(f"unexpected {value!r} in a staff line; staff skipped",
                                        lineno, m.start(3) + pos + 1, path))
                return None
        rows.append(cells)
    # a closing bar on every line: cut it off, pad the rest, put it back at the end
    end = ""
    if all(r and r[-1][0] == "bar" for r in rows):
        tails = []
        for r in rows:
            t = ""
            while r and r[-1][0] == "bar":
                t = r.pop()[1] + t
            tails.append(t)
        end = Counter(tails).most_common(1)[0][0]
    width = max(len(r) for r in rows)
    for r in rows:
        r += [("dash", None)] * (width - len(r))
    if end:
        for r, lbl in zip(rows, labels):
            r += [("bar", c) for c in end]
    width = len(rows[0])
    n = len(rows)

    def barlike(p: int) -> bool:
        # a bar line: '|' or ':' on most strings and nothing else than '-' on the rest
        col = [r[p] for r in rows]
        bars = sum(k == "bar" for k, _ in col)
        return bars * 2 > n and all(k in ("bar", "dash") for k, _ in col)

    def dots(p: int) -> bool:
        col = [r[p] for r in rows]
        return all(k == "dash" or (k == "bar" and v == ":") for k, v in col) and any(
            k == "bar" for k, _ in col)

    events: list = []
    p = 0
    while p < width:
        if barlike(p) or (dots(p) and p + 1 < width and barlike(p + 1)):
            start = p
            while p < width and (barlike(p) or dots(p)):
                p += 1
            s = "".join("|" if any(r[q] == ("bar", "|") for r in rows) else ":" for q in range(start, p))
            if start == 0:
                if s == "|":
                    continue
                if s.count("|") >= 2:
                    s = s.replace("|", "", 1)
            events.append(_bar_token(s))
            continue
        col = [r[p] for r in rows]
        if all(k in ("dash", "cont") for k, _ in col) and any(k == "cont" for k, _ in col):
            p += 1
            continue
        step = []
        for i, (k, v) in enumerate(col):
            if k == "fret":
                step.append(fret_symbol(v))
            elif k == "tech":
                step.append(v)
            else:
                if k == "bar":
                    problems.append(Problem(f"stray {v!r} off the bar line, read as '-'",
                                            lines[i][0], offsets[i] + p + 1, path))
                step.append("-")
        events.append(tuple(reversed(step)))  # low string first
        p += 1
    return labels, events


def parse_tab(text: str, path: str = "", tuning: tuple[int, ...] | None = None) -> tuple[Tab | None, list[Problem]]:
    """Raw (or ``rows``) tab text -> Tab, problems; Tab None when no staff is readable."""
    problems: list[Problem] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    flags = [_string_line(x) for x in lines]
    header_value = None
    fixed = tuning
    staves: list[list[tuple[int, str]]] = []
    i = 0
    while i < len(lines):
        if not flags[i]:
            if fixed is None and i < len(lines):
                h = _parse_header(lines[i])
                if h:
                    fixed = h[1]
                elif header_value is None:
                    m = _TUNING_LINE.search(lines[i])
                    if m and m.group(1).strip():
                        header_value = m.group(1).strip()
            i += 1
            continue
        j = i
        while j < len(lines) and flags[j]:
            j += 1
        run = [(k + 1, lines[k]) for k in range(i, j)]
        size = len(run)
        if size in STRING_COUNTS:
            staves.append(run)
        elif size in (8, 12, 14):
            k = size // 2
            staves += [run[:k], run[k:]]
        elif size >= 3:
            problems.append(Problem(f"{size} tab lines in a row are no staff of 4, 6 or 7 strings; skipped",
                                    i + 1, 1, path))
        i = j
    tab: Tab | None = None
    for staff in staves:
        read = _read_staff(staff, path, problems)
        if read is None:
            continue
        labels, events = read
        n = len(staff)
        if tab is None:
            tun = fixed if fixed is not None and len(fixed) == n else None
            if fixed is not None and tun is None:
                problems.append(Problem(f"the header's tuning has {len(fixed)} strings, the staff {n}",
                                        staff[0][0], 1, path))
            if tun is None and header_value is not None:
                tun = header_tuning(header_value, n)
                if tun is None:
                    problems.append(Problem(f"unknown tuning {header_value!r}; taken from the labels",
                                            staff[0][0], 1, path))
            if tun is None and all(labels):
                tun = _from_names(list(reversed(labels)), n)
            tab = Tab(tun or DEFAULT_TUNINGS[n])
        elif n != len(tab.tuning):
            problems.append(Problem(f"a staff of {n} strings in a piece of {len(tab.tuning)}; skipped",
                                    staff[0][0], 1, path))
            continue
        if any(not isinstance(e, str) for e in events):
            tab.systems.append(events)
    return tab, problems


# ---------------------------------------------------------------- canonical form

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
                    merged = _bar_token(out[-1].replace("|", "", 0) + e)
                    repairs.append(Problem(f"bars {out[-1]!r} {e!r} merged into {merged!r}", si + 2, 0, path))
                    out[-1] = merged
                else:
                    out.append(e)
                last_fret = [None] * n
                continue
            clash = any(
                last_fret[s] is not None and symbol_fret(e[s]) is not None
                and int(last_fret[s] + symbol_text(e[s])[0]) <= 24
                for s in range(n))
            if clash:
                repairs.append(Problem("two frets in a row would read as one; an empty step put between",
                                       si + 2, 0, path))
                out.append(("-",) * n)
            out.append(e)
            last_fret = [e[s] if e[s].isascii() and e[s].isdigit() else None for s in range(n)]
        if any(not isinstance(e, str) for e in out):
            systems.append(out)
        elif out:
            repairs.append(Problem("a system of bars only dropped", si + 2, 0, path))
    return Tab(tab.tuning, systems), repairs


# ---------------------------------------------------------------- writing

def _header(kind: str, tuning: tuple[int, ...]) -> str:
    return f"%{kind} " + " ".join(pitch_name(p) for p in tuning) + "\n"


def render_rows(tab: Tab) -> str:
    """The ``rows`` text of a canonical Tab (aligned ASCII tab with the tuning line)."""
    n = len(tab.tuning)
    names = [NAMES[p % 12] for p in tab.tuning]
    if n >= 6:
        names[-1] = names[-1].lower()
    w = max(len(x) for x in names)
    out = [_header("rows", tab.tuning)]
    for k, system in enumerate(tab.systems):
        if k:
            out.append("=\n")
        strings = [[names[s].rjust(w) + "|"] for s in range(n)]
        for e in system:
            if isinstance(e, str):
                for s in range(n):
                    strings[s].append(e)
            else:
                texts = [symbol_text(x) for x in e]
                width = max(len(t) for t in texts)
                for s in range(n):
                    strings[s].append(texts[s].ljust(width, "-"))
        for s in reversed(range(n)):
            out.append("".join(strings[s]) + "\n")
    return "".join(out)


def render_columns(tab: Tab) -> str:
    """The ``columns`` text of a canonical Tab."""
    n = len(tab.tuning)
    out = [_header("columns", tab.tuning)]
    empty = ("-",) * n
    for system in tab.systems:
        toks: list[str] = []
        run = 0
        for e in list(system) + [None]:
            if e == empty:
                run += 1
                continue
            while run:
                k = min(run, MAX_RUN)
                toks.append(f".{k}")
                run -= k
            if e is None:
                break
            toks.append(e if isinstance(e, str) else "".join(e))
        out.append(" ".join(toks) + "\n")
    return "".join(out)


def parse_columns(text: str, path: str = "") -> tuple[Tab, list[Problem]]:
    """``columns`` text (possibly generated, broken) -> Tab, repairs; never raises."""
    repairs: list[Problem] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    h = _parse_header(lines[0]) if lines else None
    if h is None:
        repairs.append(Problem("no '%columns' tuning header; standard tuning assumed", 1, 1, path))
        tuning = DEFAULT_TUNINGS[6]
        body = lines[1:] if lines and lines[0].startswith("%") else lines
        first = 2 if lines and lines[0].startswith("%") else 1
    else:
        tuning, body, first = h[1], lines[1:], 2
    n = len(tuning)
    tab = Tab(tuning)
    for li, line in enumerate(body, start=first):
        system: list = []
        col = 0
        for m in re.finditer(r"\S+", line):
            tok, col = m.group(), m.start() + 1
            if tok in BARS:
                system.append(tok)
            elif re.fullmatch(r"\.\d{1,6}", tok):
                k = int(tok[1:])
                if not 1 <= k <= MAX_RUN:
                    repairs.append(Problem(f"run {tok!r} cut to 1..{MAX_RUN}", li, col, path))
                    k = max(1, min(k, MAX_RUN))
                system += [("-",) * n] * k
            elif len(tok) >= max(1, n // 2) or set(tok) <= set(SYMBOLS):
                syms = list(tok[:n])
                if len(tok) != n:
                    repairs.append(Problem(f"group {tok!r} has {len(tok)} symbols, not {n}; "
                                           "cut or padded", li, col, path))
                    syms += ["-"] * (n - len(syms))
                for i, c in enumerate(syms):
                    if c not in SYMBOLS:
                        repairs.append(Problem(f"unknown symbol {c!r} read as '-'", li, col + i, path))
                        syms[i] = "-"
                system.append(tuple(syms))
            else:
                repairs.append(Problem(f"unknown token {tok!r} dropped", li, col, path))
        if system:
            tab.systems.append(system)
    return tab, repairs


# ---------------------------------------------------------------- playing

def tab_to_piece(tab: Tab, title: str | None = None, step: float = STEP_BEATS) -> Piece:
    """The notes of a tab, `step` beats per column (a quarter of a beat by default)."""
    n = len(tab.tuning)
    program = PROGRAM_BASS if n == 4 else PROGRAM_GUITAR
    piece = Piece(tempo=120.0, meter=None, title=title, programs={0: program})
    ringing: list[tuple[int, float, int] | None] = [None] * n
    ghost = [False] * n
    t = 0.0

    def stop(s: int) -> None:
        if ringing[s] is not None:
            pitch, onset, vel = ringing[s]
            piece.notes.append(Note(pitch, onset, t - onset, vel, program, 0))
            ringing[s] = None

    for system in tab.systems:
        for e in system:
            if isinstance(e, str):
                piece.bar_beats.append(t)
                continue
            for s, sym in enumerate(e):
                f = symbol_fret(sym)
                if f is not None:
                    stop(s)
                    ringing[s] = (min(127, tab.tuning[s] + f), t, 50 if ghost[s] else 80)
                elif sym == "x":
                    stop(s)
                elif sym == "(":
                    ghost[s] = True
                elif sym == ")":
                    ghost[s] = False
            t += step
    for s in range(n):
        stop(s)
    piece.notes.sort(key=lambda x: (x.onset, x.pitch))
    return piece


# ---------------------------------------------------------------- conversions, codec

def _read_any(text: str, path: str = "") -> tuple[Tab | None, list[Problem]]:
    if text.lstrip().startswith("%columns"):
        return parse_columns(text.lstrip(), path)
    return parse_tab(text, path)


def rows_to_columns(text: str) -> str:
    tab, _ = parse_tab(text)
    if tab is None:
        raise InputError("no staff found")
    return render_columns(canonical(tab)[0])


def columns_to_rows(text: str) -> str:
    tab, _ = parse_columns(text)
    return render_rows(canonical(tab)[0])


MAX_TEXT_CHARS = 500_000
"""A tab text longer than this is not read whole (the longest piece of the tab corpora has
18,866 characters; reading is linear, about 10 us a character, and a 50 MB line is no tab)."""


class TabCodec:
    """Scheme ``rows`` or ``columns`` (see the module docstring)."""

    suffixes = (".tab",)

    def __init__(self, name: str):
        if name not in ("rows", "columns"):
            raise ValueError(f"unknown tab scheme {name!r}")
        self.name = name
        self.seed = f"%{name} "  # a piece starts with its header line; the model picks the tuning

    def _render(self, tab: Tab) -> str:
        return render_rows(tab) if self.name == "rows" else render_columns(tab)

    def encode_text(self, text: str, path: str = "", **options) -> EncodeResult:
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(f"{len(text):,} characters is more than any tab (at most {MAX_TEXT_CHARS:,} are read)",
                             path=path)
        tab, problems = _read_any(text, path)
        if tab is None or not tab.systems:
            raise InputError("no tab staff found (4, 6 or 7 string lines)", path=path)
        tab, repairs = canonical(tab, path)
        return EncodeResult([self._render(tab)], problems + repairs)

    def decode(self, text: str, path: str = "", step: float = STEP_BEATS) -> Decoded:
        """A piece's notes (`step` beats per column) and its aligned tab text."""
        if not (0 < step <= 16):
            raise UsageError(f"the time step must be above 0 and at most 16 beats, not {step}")
        cut = []
        if len(text) > MAX_TEXT_CHARS:
            end = text.rfind("\n", 0, MAX_TEXT_CHARS) + 1 or MAX_TEXT_CHARS
            cut = [Problem(f"the tab is {len(text):,} characters long; only the first {end:,} are read",
                           text.count("\n", 0, end) + 1, 1, path)]
            text = text[:end]
        try:
            tab, repairs = _read_any(text, path)
            repairs = cut + repairs
            if tab is None:
                repairs.append(Problem("no staff found; empty piece", 0, 0, path))
                tab = Tab(DEFAULT_TUNINGS[6])
            tab, more = canonical(tab, path)
            return Decoded(tab_to_piece(tab, step=step), render_rows(tab), repairs + more, None)
        except Exception as e:  # tolerant by contract: generated text never crashes decoding
            if debugging():
                raise
            tab = Tab(DEFAULT_TUNINGS[6])
            return Decoded(tab_to_piece(tab, step=step), render_rows(tab),
                           [Problem(f"unreadable tab ({type(e).__name__}: {e}); empty piece", 0, 0, path)], None)

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

    def sniff(self, text: str) -> bool:
        return text.lstrip().startswith(f"%{self.name} ")

    def grammar(self, options: dict | None = None) -> GrammarState | None:
        from encoders.tab.grammar import ColumnsGrammar  # here: grammar imports this module

        return ColumnsGrammar() if self.name == "columns" else None

    def body(self, text: str) -> str:
        """Everything after the header line."""
        if text.startswith("%"):
            return text.split("\n", 1)[1] if "\n" in text else ""
        return text

    def label(self, text: str, number: int) -> str:
        """Tab pieces carry no number; the text is returned as it is."""
        return text


ROWS = register(TabCodec("rows"))
COLUMNS = register(TabCodec("columns"))
