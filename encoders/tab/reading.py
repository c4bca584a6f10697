"""Reading tab text: raw tabs as people write them (and the ``rows`` scheme, which is
one) with `parse_tab`, the ``columns`` scheme with `parse_columns`; what is read
and what is skipped is described in `encoders.tab`."""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

from encoders.piece import Problem
from encoders.tab.symbols import (
    BARS,
    DEFAULT_TUNINGS,
    MAX_CAPO,
    MAX_RUN,
    STRING_COUNTS,
    SYMBOLS,
    TECHNIQUES,
    TEMPO_RANGE,
    Tab,
    bar_token,
    fret_symbol,
    from_names,
    header_tuning,
    pitch_class,
)

__all__ = ["Header", "parse_columns", "parse_header", "parse_tab", "read_any", "sheet_capo", "sheet_tempo"]

_LINE = re.compile(r"^(\s*)([A-Ga-g][#b]?(?=[|:\-]))?(\S*)")
_HEADER = re.compile(r"^%(rows|columns)((?:\s+[A-G][#b]?-?\d)+)(?:\s+capo\s+(\d{1,2}))?(?:\s+tempo\s+(\d{1,3}))?\s*$")
_TUNING_LINE = re.compile(r"(?i)\btuning\b\s*[:=\-]?\s*(.*)")
_TIME_LINE = re.compile(r"(?i)^\s*time\s*:\s*([1-9])\s*char(?:acter)?s?\s*=\s*1/16\s*$")
_CAPO_LINE = re.compile(
    r"(?i)(?<![a-z])capo(?![a-z])\s*(?:[:=\-]\s*)?(?:(?:on|at)\s+)?(?:(?:the|fret)\s+)*"
    r"(?:(\d{1,2})(?!\d)(?:st|nd|rd|th)?|([ivx]{1,5})(?![a-z])|(none|no|off)(?![a-z]))"
)
_NO_CAPO = re.compile(r"(?i)\b(?:no|without)\s+capo\b")
_TEMPO_LINE = re.compile(
    r"(?i)(?<![a-z])(?:tempo|bpm)(?![a-z])\s*(?:[:=\-]\s*)?(?:(?:q|quarter|\u2669)\s*=\s*)?"
    r"(\d{1,4}(?:[.,]\d+)?)(?![\d])|(?<![\d.])(\d{1,4}(?:[.,]\d+)?)\s*bpm(?![a-z])"
)
_ROMAN = {
    "i": 1,
    "ii": 2,
    "iii": 3,
    "iv": 4,
    "v": 5,
    "vi": 6,
    "vii": 7,
    "viii": 8,
    "ix": 9,
    "x": 10,
    "xi": 11,
    "xii": 12,
}


class Header(NamedTuple):
    """A ``%rows`` / ``%columns`` header line: the scheme, the tuning (low to high), the capo and tempo."""

    kind: str
    tuning: tuple[int, ...]
    capo: int = 0
    tempo: int | None = None


def sheet_capo(line: str) -> int | None | str:
    """The capo a line of a raw tab states (``Capo: 3``, ``capo on 2nd fret``, ``Capo III``,
    ``No capo``: 0); None when the line says nothing of a capo, the text when it names
    one out of range or unreadable."""
    if _NO_CAPO.search(line):
        return 0
    m = _CAPO_LINE.search(line)
    if not m:
        return None
    if m.group(3):
        return 0
    value = int(m.group(1)) if m.group(1) else _ROMAN.get(m.group(2).lower())
    if value is None or not 0 <= value <= MAX_CAPO:
        return m.group(0).strip()
    return value


def sheet_tempo(line: str) -> int | None | str:
    """The tempo a line of a raw tab states (``Tempo: 140``, ``BPM = 96``, ``92 bpm``,
    ``Tempo: q=120``), rounded to a whole number; None when the line states none, the
    text when it is out of `TEMPO_RANGE`."""
    m = _TEMPO_LINE.search(line)
    if not m:
        return None
    value = round(float((m.group(1) or m.group(2)).replace(",", ".")))
    if not TEMPO_RANGE[0] <= value <= TEMPO_RANGE[1]:
        return m.group(0).strip()
    return value


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


SNIFF_LINES = 2000


def looks_like_tab(text: str) -> bool:
    """Whether a text holds a tab staff (4 or more string lines in a row) in its first
    `SNIFF_LINES` lines, and starts as no scheme's stream does (``%``, ``X:``): a tab as
    saved from a tab site, whatever its name."""
    head = text.lstrip()
    if head.startswith(("%", "X:")):
        return False
    run = 0
    for line in head.split("\n", SNIFF_LINES)[:SNIFF_LINES]:
        run = run + 1 if _string_line(line[:1000]) else 0
        if run >= 4:
            return True
    return False


def parse_header(line: str) -> Header | None:
    """The header line ``%rows`` / ``%columns``, the open strings, then optionally ``capo N``
    (0-24) and ``tempo N`` (`TEMPO_RANGE`); None when `line` is no such header."""
    m = _HEADER.match(line.strip())
    if not m:
        return None
    capo = int(m.group(3)) if m.group(3) else 0
    tempo = int(m.group(4)) if m.group(4) else None
    if capo > MAX_CAPO or (tempo is not None and not TEMPO_RANGE[0] <= tempo <= TEMPO_RANGE[1]):
        return None
    pitches = []
    for tok in m.group(2).split():
        mm = re.fullmatch(r"([A-G][#b]?)(-?\d)", tok)
        pitches.append(pitch_class(mm.group(1)) + 12 * (int(mm.group(2)) + 1))
    if len(pitches) not in STRING_COUNTS or not all(0 <= p <= 103 for p in pitches):
        return None
    return Header(m.group(1), tuple(pitches), capo, tempo)


def _tokenize(body: str):
    """Cells of one string line's body: (kind, value) per character position."""
    cells = []
    i = 0
    while i < len(body):
        c = body[i]
        if "0" <= c <= "9":  # not str.isdigit: it takes "²", which int() refuses
            if i + 1 < len(body) and "0" <= body[i + 1] <= "9" and int(body[i : i + 2]) <= 24:
                cells += [("fret", int(body[i : i + 2])), ("cont", None)]
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


def _read_staff(lines: list[tuple[int, str]], path: str, problems: list[Problem], scale: int = 1):
    """One staff (string lines high to low) -> (labels high to low, events), or None if broken.
    `scale`: characters per column (a ``Time: N characters = 1/16`` line; see `encoders.tab.staff`)."""
    labels, rows, offsets = [], [], []
    for lineno, line in lines:
        m = _LINE.match(line)
        labels.append(m.group(2))
        offsets.append(m.start(3))
        cells = _tokenize(m.group(3))
        for pos, (kind, value) in enumerate(cells):
            if kind == "bad":
                problems.append(
                    Problem(f"unexpected {value!r} in a staff line; staff skipped", lineno, m.start(3) + pos + 1, path)
                )
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
        for r in rows:
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
        return all(k == "dash" or (k == "bar" and v == ":") for k, v in col) and any(k == "bar" for k, _ in col)

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
            events.append(bar_token(s))
            continue
        col = [r[p] for r in rows]
        if scale == 1 and all(k in ("dash", "cont") for k, _ in col) and any(k == "cont" for k, _ in col):
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
                    problems.append(
                        Problem(f"stray {v!r} off the bar line, read as '-'", lines[i][0], offsets[i] + p + 1, path)
                    )
                step.append("-")
        events.append(tuple(reversed(step)))  # low string first
        p += 1
    if scale > 1:
        events = _columns_of(events, scale, n, lines[0][0], path, problems)
    return labels, events


def _columns_of(events: list, scale: int, n: int, lineno: int, path: str, problems: list[Problem]) -> list:
    """Characters read one by one, put together `scale` at a time into the tab's columns
    (counted from each bar); a string's first symbol in a column is kept."""
    out: list = []
    run: list = []
    crowded = 0

    def flush() -> None:
        nonlocal crowded
        for j in range(0, len(run), scale):
            group = run[j : j + scale]
            step = []
            for s in range(n):
                syms = [g[s] for g in group if g[s] != "-"]
                crowded += len(syms) > 1
                step.append(syms[0] if syms else "-")
            out.append(tuple(step))
        run.clear()

    for e in events:
        if isinstance(e, str):
            flush()
            out.append(e)
        else:
            run.append(e)
    flush()
    if crowded:
        problems.append(
            Problem(
                f"{crowded} times the staff has two symbols on a string within {scale} characters "
                "(one column); the first kept",
                lineno,
                1,
                path,
            )
        )
    return out


def parse_tab(text: str, path: str = "", tuning: tuple[int, ...] | None = None) -> tuple[Tab | None, list[Problem]]:
    """Raw (or ``rows``) tab text -> Tab, problems; Tab None when no staff is readable."""
    problems: list[Problem] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    flags = [_string_line(x) for x in lines]
    header_value = None
    fixed = tuning
    capo: int | None = None
    tempo: int | None = None
    scale = 1
    staves: list[list[tuple[int, str]]] = []
    i = 0
    while i < len(lines):
        if not flags[i]:
            h = parse_header(lines[i]) if fixed is None else None
            if h:
                fixed = h.tuning
                capo, tempo = h.capo, h.tempo
            elif lines[i].strip():
                time_line = _TIME_LINE.match(lines[i])
                if time_line:
                    scale = int(time_line.group(1))
                if fixed is None and header_value is None:
                    m = _TUNING_LINE.search(lines[i])
                    if m and m.group(1).strip():
                        header_value = m.group(1).strip()
                if capo is None:
                    c = sheet_capo(lines[i])
                    if isinstance(c, str):
                        problems.append(Problem(f"capo {c!r} is no fret 0-{MAX_CAPO}; ignored", i + 1, 1, path))
                    else:
                        capo = c
                if tempo is None:
                    t = sheet_tempo(lines[i])
                    if isinstance(t, str):
                        problems.append(
                            Problem(
                                f"{t!r} is no tempo of {TEMPO_RANGE[0]}-{TEMPO_RANGE[1]} quarter "
                                "notes a minute; ignored",
                                i + 1,
                                1,
                                path,
                            )
                        )
                    else:
                        tempo = t
            i += 1
            continue
        j = i
        while j < len(lines) and flags[j]:
            j += 1
        run = [(k + 1, lines[k]) for k in range(i, j)]
        size = len(run)
        if size in STRING_COUNTS:
            staves.append(run)
        elif size > 7 and any(size % k == 0 for k in (6, 7, 4)):
            # staves written one under another with no line between: guitar first, then 7-string, bass
            k = next(k for k in (6, 7, 4) if size % k == 0)
            staves += [run[j : j + k] for j in range(0, size, k)]
        elif size >= 3:
            problems.append(
                Problem(f"{size} tab lines in a row are no staff of 4, 6 or 7 strings; skipped", i + 1, 1, path)
            )
        i = j
    tab: Tab | None = None
    for staff in staves:
        read = _read_staff(staff, path, problems, scale)
        if read is None:
            continue
        labels, events = read
        n = len(staff)
        if tab is None:
            tun = fixed if fixed is not None and len(fixed) == n else None
            if fixed is not None and tun is None:
                problems.append(
                    Problem(f"the header's tuning has {len(fixed)} strings, the staff {n}", staff[0][0], 1, path)
                )
            if tun is None and header_value is not None:
                tun = header_tuning(header_value, n)
                if tun is None:
                    problems.append(
                        Problem(f"unknown tuning {header_value!r}; taken from the labels", staff[0][0], 1, path)
                    )
            if tun is None and all(labels):
                tun = from_names(list(reversed(labels)), n)
            tab = Tab(tun or DEFAULT_TUNINGS[n], capo=capo or 0, tempo=tempo)
        elif n != len(tab.tuning):
            problems.append(
                Problem(f"a staff of {n} strings in a piece of {len(tab.tuning)}; skipped", staff[0][0], 1, path)
            )
            continue
        if any(not isinstance(e, str) for e in events):
            tab.systems.append(events)
    return tab, problems


def parse_columns(text: str, path: str = "") -> tuple[Tab, list[Problem]]:
    """``columns`` text (possibly generated, broken) -> Tab, repairs; never raises."""
    repairs: list[Problem] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    h = parse_header(lines[0]) if lines else None
    if h is None:
        repairs.append(Problem("no '%columns' tuning header; standard tuning assumed", 1, 1, path))
        tuning = DEFAULT_TUNINGS[6]
        body = lines[1:] if lines and lines[0].startswith("%") else lines
        first = 2 if lines and lines[0].startswith("%") else 1
    else:
        tuning, body, first = h.tuning, lines[1:], 2
    n = len(tuning)
    tab = Tab(tuning, capo=h.capo if h else 0, tempo=h.tempo if h else None)
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
                    repairs.append(
                        Problem(f"group {tok!r} has {len(tok)} symbols, not {n}; cut or padded", li, col, path)
                    )
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


def read_any(text: str, path: str = "") -> tuple[Tab | None, list[Problem]]:
    if text.lstrip().startswith("%columns"):
        return parse_columns(text.lstrip(), path)
    return parse_tab(text, path)
