r"""Guitar Pro files (.gp3, .gp4, .gp5) in and out, through pyguitarpro.

The binary format is read and written by pyguitarpro (the ``guitarpro``
module, a maintained reader and writer of GP3/4/5); this module only maps its
song model to the tab schemes' `Tab` and back.

Reading (`read_guitar_pro`)
---------------------------
One track of the file (``track``, counted from 1 as Guitar Pro counts them;
by default the first track that is no drum track and has 4, 6 or 7 strings)
becomes a `Tab`:

* *Tuning* from the track's strings, low to high; the *capo* is the track's
  offset (frets in the file are counted from the capo, as in the tab text);
  the *tempo* is the song's, or the one set on the first beat (later changes
  are counted in a problem: a tab has one tempo).
* *Time*: one column per sixteenth (`STEP_BEATS`, a quarter of a beat);
  a note is written at the column of its beat's start; both voices are
  merged.  A note off that grid (triplets, 32nds) goes to the nearest column;
  two notes landing on one string in one column keep the first.
* *Bars*: one ``|`` after every measure (``|:`` / ``:|`` / ``:|:`` at repeats,
  ``||`` after a double bar), four measures to a system.
* *Notes*: a fret is its symbol (``0-9``, ``A-O`` for 10-24); a tied note
  writes nothing (the string rings on); a dead note is ``x``.
* *Effects*, as marks in the free column next to the note on its string (a
  mark never moves a note; with no free column the mark is left out and
  counted): hammer-on ``h`` / pull-off ``p`` after the note (by the next
  fret's direction); slides ``/`` ``\`` after (slide to, slide out) or
  before (slide in); bend ``b`` after; vibrato ``~`` after; a ghost note in
  ``( )``; a natural harmonic in ``< >``.  Palm mutes, let-ring, accents and
  grace notes have no mark in the tab text: they are counted in one problem
  and the notes read as plain notes.
* Two frets that would read as one (``1`` then ``2`` on one string in
  adjacent columns reads ``12``) cannot stand: the second note moves to
  another string where its pitch is playable, or, where none is free, is
  dropped; both are reported.

A file pyguitarpro cannot read (not Guitar Pro, truncated, broken) raises
`InputError` naming the file and the reason.

Writing (`write_guitar_pro`)
----------------------------
A `Tab` becomes a Guitar Pro 5 file with one track: the tuning (4, 6 or 7
strings, program 25 or 33 for a bass), capo, tempo and title; one measure
between two bars or a bar and a system's end (a stretch of more than 32 columns without a bar is cut into
4/4 measures), its time signature from its length (16 columns: 4/4, 12: 3/4,
an odd count: N/16); repeats from ``|: :| :|:``, a double bar from ``||``.  A
note lasts until the next column that strikes a note (or the measure's end),
written as the fewest Guitar Pro durations, tied.  Marks become effects:
``h``/``p`` a hammer-on on the fret before, ``/``/``\`` a slide (to the next
fret, else out of the note; before a first fret: into it), ``b`` a bend (by
the next fret's distance when it follows at once, else a whole tone), ``~``
vibrato, ``x`` a dead note, ``( )`` ghost notes, ``< >`` natural harmonics.
Other marks are left out.
"""

from __future__ import annotations

import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field

import guitarpro as gp

from encoders import not_a_file
from encoders.piece import InputError, Problem, UsageError
from encoders.tab.reading import read_any
from encoders.tab.symbols import (
    DEFAULT_TUNINGS,
    MAX_CAPO,
    PROGRAM_BASS,
    PROGRAM_GUITAR,
    STEP_BEATS,
    STRING_COUNTS,
    TEMPO_RANGE,
    Tab,
    canonical,
    fret_symbol,
    symbol_fret,
)

__all__ = [
    "GuitarProRead",
    "parse_song",
    "read_guitar_pro",
    "read_song",
    "song_to_tab",
    "tab_to_song",
    "text_to_guitar_pro",
    "write_guitar_pro",
]

TICKS = gp.Duration.quarterTime  # ticks per quarter note in pyguitarpro's model (960)
STEP_TICKS = round(TICKS * STEP_BEATS)  # one column
MEASURES_PER_SYSTEM = 4
MAX_FRET = 24  # the tab symbols stop at O = 24
MAX_GP_BYTES = 32 << 20
"""A Guitar Pro file larger than this is refused (real ones are kilobytes; the largest
of pyguitarpro's test files is 25 KB)."""
MAX_MEASURE_COLUMNS = 32


@dataclass(slots=True)
class GuitarProRead:
    """One track of a Guitar Pro file as a tab (its tempo and capo in it), the song's
    title, the track read (counted from 1) and what was not kept."""

    tab: Tab
    title: str
    track: int
    problems: list[Problem] = field(default_factory=list)


# ---------------------------------------------------------------- reading


def read_song(path: str | os.PathLike) -> gp.Song:
    """The song of a Guitar Pro file; InputError (file and reason) for anything pyguitarpro cannot read."""
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise InputError(not_a_file(p), path=p)
    try:
        size = os.path.getsize(p)
        if size > MAX_GP_BYTES:
            raise InputError(
                f"{size:,} bytes is more than any Guitar Pro file (at most {MAX_GP_BYTES:,} are read)", path=p
            )
        with open(p, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise InputError(f"cannot read file: {e.strerror or e}", path=p) from None
    return parse_song(data, p)


def parse_song(data: bytes, path: str = "") -> gp.Song:
    """The song of a Guitar Pro file's bytes (InputError naming `path` when unreadable)."""
    if not data:
        raise InputError("empty file", path=path)
    try:
        return gp.parse(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - pyguitarpro raises GPException, struct.error, EOFError, ValueError...
        raise InputError(f"not a readable Guitar Pro file ({_reason(e)})", path=path) from None


def _reason(e: Exception) -> str:
    text = str(e).strip()
    if "unsupported version" in text:
        return "no Guitar Pro 3, 4 or 5 header; " + text
    if re.search(r"unpack requires a buffer|read past|ran out", text) or isinstance(e, EOFError):
        return f"the data ends too early: {text}" if text else "the data ends too early"
    return text or type(e).__name__


def _is_drums(track: gp.Track) -> bool:
    return bool(track.isPercussionTrack or track.channel.channel == 9)


def _describe(track: gp.Track) -> str:
    kind = "drums" if _is_drums(track) else f"{len(track.strings)} strings"
    name = f" {track.name!r}" if track.name else ""
    return f"{track.number}{name} ({kind})"


def _pick_track(song: gp.Song, track: int | None, path: str) -> tuple[int, gp.Track]:
    tracks = list(song.tracks)
    listing = "; ".join(_describe(t) for t in tracks)
    if track is None:
        for i, t in enumerate(tracks):
            if not _is_drums(t) and len(t.strings) in STRING_COUNTS:
                return i + 1, t
        raise InputError(f"no track of 4, 6 or 7 strings that is not drums: {listing}", path=path)
    if not 1 <= track <= len(tracks):
        raise InputError(f"no track {track}: this file has {len(tracks)} track(s): {listing}", path=path)
    t = tracks[track - 1]
    if _is_drums(t):
        raise InputError(f"track {track} is a drum track, which has no tab: {listing}", path=path)
    if len(t.strings) not in STRING_COUNTS:
        raise InputError(
            f"track {track} has {len(t.strings)} strings; the tab schemes hold 4, 6 or 7: {listing}", path=path
        )
    return track, t


def _first_tempo(song: gp.Song, track: gp.Track) -> tuple[float, int]:
    """The tempo at the start, and how many tempo changes come later (not kept)."""
    tempo = float(song.tempo)
    later = 0
    first = track.measures[0].start if track.measures else None
    for measure in track.measures:
        for voice in measure.voices:
            for beat in voice.beats:
                mix = beat.effect.mixTableChange
                if mix is not None and mix.tempo is not None and mix.tempo.value > 0:
                    if beat.start == first and measure is track.measures[0]:
                        tempo = float(mix.tempo.value)
                    else:
                        later += 1
    return tempo, later


def song_to_tab(song: gp.Song, track: int | None = None, path: str = "") -> GuitarProRead:
    """One track of a song as a tab (see the module docstring)."""
    number, tr = _pick_track(song, track, path)
    strings = sorted(tr.strings, key=lambda s: s.number)  # 1 = the highest string
    n = len(strings)
    tuning = tuple(s.value for s in reversed(strings))  # low to high
    if not all(0 <= p <= 103 for p in tuning):
        raise InputError(f"track {number}: open strings {tuning} are outside MIDI 0..103", path=path)
    capo = int(tr.offset or 0)
    if not 0 <= capo <= MAX_CAPO:
        raise InputError(f"track {number}: a capo at fret {capo} (a tab holds 0-{MAX_CAPO})", path=path)
    tempo, tempo_changes = _first_tempo(song, tr)
    tempo = min(max(round(tempo), TEMPO_RANGE[0]), TEMPO_RANGE[1])

    lost: Counter = Counter()
    measures = list(tr.measures)
    if not measures:
        raise InputError(f"track {number} has no measures", path=path)
    starts, widths = _measure_columns(measures)
    total = starts[-1] + widths[-1]
    grid: list[list[str]] = [["-"] * n for _ in range(total)]  # [column][string, low first]
    kinds: dict[tuple[int, int], str] = {}  # (column, string) -> "fret" | "dead"
    effects: list[tuple[int, int, gp.Note]] = []

    for mi, m in enumerate(measures):
        for voice in m.voices:
            for beat in voice.beats:
                if not beat.notes:
                    continue
                rel = (beat.start if beat.start is not None else m.start) - m.start
                exact = rel / STEP_TICKS
                c = round(exact)
                if abs(exact - c) > 1e-6:
                    lost["notes moved to the nearest sixteenth"] += len(beat.notes)
                if c >= widths[mi]:
                    lost["notes past their measure's end put in its last column"] += len(beat.notes)
                    c = widths[mi] - 1
                c += starts[mi]
                for note in beat.notes:
                    if not 1 <= note.string <= n:
                        lost["notes on a string the track lacks dropped"] += 1
                        continue
                    s = n - note.string  # low string first
                    if note.type == gp.NoteType.tie:
                        continue
                    if note.type == gp.NoteType.rest:
                        continue
                    if note.type == gp.NoteType.dead:
                        if (c, s) in kinds:
                            lost["dead notes on a string already sounding in that column left out"] += 1
                            continue
                        grid[c][s] = "x"
                        kinds[(c, s)] = "dead"
                        continue
                    if note.value < 0:
                        lost["notes with a negative fret dropped"] += 1
                        continue
                    pitch = tuning[s] + note.value
                    if any(
                        kinds.get((c, t)) == "fret" and tuning[t] + symbol_fret(grid[c][t]) == pitch for t in range(n)
                    ):
                        lost["notes doubling a pitch in their column merged"] += 1
                        continue
                    if (c, s) in kinds or note.value > MAX_FRET:
                        # the same pitch on another string free in that column (the tab has one
                        # symbol per string and column, and none above fret 24)
                        why = "above fret 24" if note.value > MAX_FRET else "on a string already sounding"
                        free = [t for t in range(n) if (c, t) not in kinds and 0 <= pitch - tuning[t] <= MAX_FRET]
                        if not free:
                            lost[f"notes {why} in their column dropped (no other string free)"] += 1
                            continue
                        s = min(free, key=lambda t, s=s: abs(t - s))
                        lost[f"notes {why} in their column moved to another string"] += 1
                    grid[c][s] = fret_symbol(pitch - tuning[s])
                    kinds[(c, s)] = "fret"
                    effects.append((c, s, note))
                    _count_unwritten_effects(note.effect, lost)

    bar_after = {starts[i] + widths[i] for i in range(len(measures))}
    moved = _separate(grid, tuning, bar_after, lost)
    if moved:
        for k, (c, s, note) in enumerate(effects):
            if (c, s) in moved:
                effects[k] = (c, moved[(c, s)], note)
    _place_marks(grid, effects, bar_after, lost)

    systems = _systems(measures, starts, widths, grid)
    problems: list[Problem] = []
    if tempo_changes:
        lost["tempo changes after the start left out (a tab has one tempo)"] += tempo_changes
    for what, count in lost.items():
        problems.append(Problem(f"track {number}: {count} {what}", path=path))
    return GuitarProRead(Tab(tuning, systems, capo, tempo), song.title or "", number, problems)


def _measure_columns(measures: list) -> tuple[list[int], list[int]]:
    """The column where each measure starts, and its length in columns (at least one)."""
    starts, widths = [], []
    col = 0
    for m in measures:
        w = max(1, round(m.length / STEP_TICKS))
        starts.append(col)
        widths.append(w)
        col += w
    return starts, widths


def _count_unwritten_effects(effect: gp.NoteEffect, lost: Counter) -> None:
    """Count the effects of a note that the tab text cannot hold (reported, not silently dropped)."""
    if effect.palmMute:
        lost["palm-muted notes read as plain notes"] += 1
    if effect.letRing:
        lost["let-ring notes read as plain notes"] += 1
    if effect.isGrace:
        lost["grace notes left out"] += 1
    if effect.accentuatedNote or effect.heavyAccentuatedNote:
        lost["accents left out"] += 1


def _systems(measures: list, starts: list[int], widths: list[int], grid: list[list[str]]) -> list[list]:
    """The tab's events: each measure's columns with its bar line (repeats, double bars), in
    systems of `MEASURES_PER_SYSTEM` measures."""
    systems: list[list] = []
    events: list = []
    for mi, m in enumerate(measures):
        h = m.header
        if mi == 0 and h.isRepeatOpen:
            events.append("|:")
        for c in range(starts[mi], starts[mi] + widths[mi]):
            events.append(tuple(grid[c]))
        close = h.repeatClose is not None and h.repeatClose >= 0
        opens = mi + 1 < len(measures) and measures[mi + 1].header.isRepeatOpen
        bar = ":|:" if close and opens else ":|" if close else "|:" if opens else "||" if h.hasDoubleBar else "|"
        events.append(bar)
        if (mi + 1) % MEASURES_PER_SYSTEM == 0 and mi + 1 < len(measures):
            systems.append(events)
            events = []
    if events:
        systems.append(events)
    return systems


def _joins(a: str, b: str) -> bool:
    """Would fret symbol `a` followed at once by fret symbol `b` read as one fret?"""
    fa, fb = symbol_fret(a), symbol_fret(b)
    return fa is not None and fb is not None and fa <= 9 and int(str(fa) + str(fb)[0]) <= 24


def _separate(
    grid: list[list[str]], tuning: tuple[int, ...], bar_after: set[int], lost: Counter
) -> dict[tuple[int, int], int]:
    """Move each fret that would join the fret before it on its string to another string
    (or drop it); the moves, (column, old string) -> new string."""
    n = len(tuning)
    moved: dict[tuple[int, int], int] = {}

    def clashes(c: int, s: int, sym: str) -> bool:
        before = c > 0 and c not in bar_after and _joins(grid[c - 1][s], sym)
        after = c + 1 < len(grid) and (c + 1) not in bar_after and _joins(sym, grid[c + 1][s])
        return before or after

    for c in range(1, len(grid)):
        if c in bar_after:
            continue
        for s in range(n):
            sym = grid[c][s]
            if not _joins(grid[c - 1][s], sym):
                continue
            pitch = tuning[s] + symbol_fret(sym)
            grid[c][s] = "-"
            for t in sorted(range(n), key=lambda t: abs(t - s)):
                f = pitch - tuning[t]
                if t == s or grid[c][t] != "-" or not 0 <= f <= MAX_FRET or clashes(c, t, fret_symbol(f)):
                    continue
                grid[c][t] = fret_symbol(f)
                moved[(c, s)] = t
                lost["notes moved to another string (on theirs they would read as one fret with the one before)"] += 1
                break
            else:
                lost[
                    "notes dropped (they would read as one fret with the one before, and no other string is free)"
                ] += 1
    return moved


def _place_marks(
    grid: list[list[str]], effects: list[tuple[int, int, gp.Note]], bar_after: set[int], lost: Counter
) -> None:
    """Technique marks in the free columns around their notes, never across a bar; a mark
    without a free column is left out (and so is the rest of that note's marks)."""
    total = len(grid)
    bounds = sorted(bar_after | {0})

    def measure_of(c: int) -> tuple[int, int]:
        lo = max(b for b in bounds if b <= c)
        hi = min((b for b in bounds if b > c), default=total)
        return lo, hi

    def next_fret(c: int, s: int, hi: int) -> int | None:
        for k in range(c + 1, hi):
            f = symbol_fret(grid[k][s])
            if f is not None:
                return f
            if grid[k][s] == "x":
                return None
        return None

    def put(cols: list[int], s: int, marks: list[str], lo: int, hi: int) -> bool:
        if all(lo <= k < hi and grid[k][s] == "-" for k in cols):
            for k, mark in zip(cols, marks):
                grid[k][s] = mark
            return True
        lost["effect marks left out (no free column next to the note)"] += len(marks)
        return False

    for c, s, note in effects:
        fret = symbol_fret(grid[c][s])
        if fret is None:
            continue
        lo, hi = measure_of(c)
        e = note.effect
        left, right = c - 1, c + 1
        # a pair ( ) or < > goes in whole or not at all: half of it would change the notes after
        if e.ghostNote or (e.isHarmonic and isinstance(e.harmonic, gp.NaturalHarmonic)):
            pair = ("(", ")") if e.ghostNote else ("<", ">")
            if put([left, right], s, list(pair), lo, hi):
                left, right = left - 1, right + 1
        before: list[str] = []
        after: list[str] = []
        nxt = next_fret(c, s, hi)
        if e.hammer:
            after.append("p" if nxt is not None and nxt < fret else "h")
        for slide in e.slides:
            if slide in (gp.SlideType.shiftSlideTo, gp.SlideType.legatoSlideTo):
                after.append("\\" if nxt is not None and nxt < fret else "/")
            elif slide == gp.SlideType.outDownwards:
                after.append("\\")
            elif slide == gp.SlideType.outUpwards:
                after.append("/")
            elif slide == gp.SlideType.intoFromBelow:
                before.append("/")
            elif slide == gp.SlideType.intoFromAbove:
                before.append("\\")
        if e.isBend:
            after.append("b")
        if e.vibrato or note.beat.effect.vibrato:
            after.append("~")
        if after:
            put(list(range(right, right + len(after))), s, after, lo, hi)
        if before:
            put(list(range(left - len(before) + 1, left + 1)), s, before, lo, hi)


def read_guitar_pro(path: str | os.PathLike, track: int | None = None) -> GuitarProRead:
    """One track of a .gp3/.gp4/.gp5 file as a tab; InputError names the file and the reason."""
    p = os.fspath(path)
    return song_to_tab(read_song(p), track, p)


# ---------------------------------------------------------------- writing

_DURATIONS = [  # columns -> (value, dotted), longest first
    (16, gp.Duration.whole, False),
    (12, gp.Duration.half, True),
    (8, gp.Duration.half, False),
    (6, gp.Duration.quarter, True),
    (4, gp.Duration.quarter, False),
    (3, gp.Duration.eighth, True),
    (2, gp.Duration.eighth, False),
    (1, gp.Duration.sixteenth, False),
]


def _split_duration(columns: int) -> list[tuple[int, int, bool]]:
    """The fewest Guitar Pro durations (columns, value, dotted) adding up to `columns` sixteenths."""
    out = []
    while columns > 0:
        for size, value, dotted in _DURATIONS:
            if size <= columns:
                out.append((size, value, dotted))
                columns -= size
                break
    return out


def _time_signature(columns: int, meter: tuple[int, int] | None = None) -> gp.TimeSignature:
    """The time signature of a measure of `columns` sixteenths: `meter` where the measure is
    as long as it (6/8 stays 6/8, not 3/4), else the measure's length in quarters, eighths
    or sixteenths."""
    if meter is not None and meter[1] in (1, 2, 4, 8, 16) and columns == meter[0] * 16 // meter[1]:
        return gp.TimeSignature(numerator=meter[0], denominator=gp.Duration(value=meter[1]))
    if columns % 4 == 0:
        num, den = columns // 4, gp.Duration.quarter
    elif columns % 2 == 0:
        num, den = columns // 2, gp.Duration.eighth
    else:
        num, den = columns, gp.Duration.sixteenth
    return gp.TimeSignature(numerator=num, denominator=gp.Duration(value=den))


@dataclass(slots=True)
class _Measure:
    steps: list[tuple[str, ...]]
    open_repeat: bool = False
    close_repeat: bool = False
    double_bar: bool = False


def _measures(tab: Tab) -> list[_Measure]:
    """The tab's steps cut at its bars and at the ends of its systems; a stretch of more
    than `MAX_MEASURE_COLUMNS` columns without a bar is cut into 4/4 measures."""
    out: list[_Measure] = []
    steps: list[tuple[str, ...]] = []
    opening = False

    def close(bar: str) -> None:
        nonlocal steps, opening
        if steps:
            cut = (
                [steps] if len(steps) <= MAX_MEASURE_COLUMNS else [steps[i : i + 16] for i in range(0, len(steps), 16)]
            )
            out.extend(_Measure(part, open_repeat=opening and i == 0) for i, part in enumerate(cut))
            steps, opening = [], False
        if out and bar:
            out[-1].close_repeat |= bar.startswith(":")
            out[-1].double_bar |= bar == "||"
        opening |= bar.endswith(":")

    for system in tab.systems:
        for e in system:
            if isinstance(e, str):
                close(e)
            else:
                steps.append(tuple(e))
        close("")  # a system's end ends a measure too: its last column and the next one's first never touch
    return out


def _marks_by_string(steps: list[tuple[str, ...]], n: int) -> dict[tuple[int, int], set]:
    """The effects the marks of one measure put on its frets: {(column, string): names},
    a name being "hammer", "slide", "out-up", "out-down", "into-up", "into-down", "vibrato", "ghost",
    "harmonic" or ("bend", semitones)."""
    fx: dict[tuple[int, int], set] = {}
    for s in range(n):
        last: int | None = None  # column of the last fret struck on this string
        bend_from: int | None = None  # column of a fret with a bend mark after it
        into: list[str] = []  # slide marks before the first fret
        ghost = harmonic = False
        for c, step in enumerate(steps):
            sym = step[s]
            f = symbol_fret(sym)
            if f is not None:
                here = fx.setdefault((c, s), set())
                if ghost:
                    here.add("ghost")
                if harmonic:
                    here.add("harmonic")
                here.update("into-down" if m == "\\" else "into-up" for m in into)
                into = []
                if bend_from is not None:
                    base = symbol_fret(steps[bend_from][s])
                    fx[(bend_from, s)].add(("bend", f - base if 0 < f - base <= 6 else 2))
                    bend_from = None
                last = c
            elif sym == "(":
                ghost = True
            elif sym == ")":
                ghost = False
            elif sym == "<":
                harmonic = True
            elif sym == ">":
                harmonic = False
            elif sym == "x":
                last = None
            elif sym in "/\\s" and (last is None or (last != c - 1 and _fret_at(steps, c + 1, s))):
                into.append(sym)  # a slide into the fret right after it
            elif last is None:
                continue
            elif sym in "hp":
                fx[(last, s)].add("hammer")
            elif sym in "/\\s":
                # to the next fret of this measure when it goes the mark's way, else out of the note
                up = sym != "\\"
                nxt = next((symbol_fret(st[s]) for st in steps[c + 1 :] if symbol_fret(st[s]) is not None), None)
                base = symbol_fret(steps[last][s])
                if nxt is not None and (nxt >= base if up else nxt <= base):
                    fx[(last, s)].add("slide")
                else:
                    fx[(last, s)].add("out-up" if up else "out-down")
            elif sym in "b^":
                bend_from = last
            elif sym == "~":
                fx[(last, s)].add("vibrato")
        if bend_from is not None:
            fx[(bend_from, s)].add(("bend", 2))
    return fx


def _fret_at(steps: list[tuple[str, ...]], c: int, s: int) -> bool:
    return c < len(steps) and symbol_fret(steps[c][s]) is not None


def _bend(semitones: int) -> gp.BendEffect:
    q = 2 * semitones  # pyguitarpro's bend points count quarter tones
    return gp.BendEffect(
        type=gp.BendType.bend,
        value=50 * semitones,
        points=[
            gp.BendPoint(0, 0),
            gp.BendPoint(gp.BendEffect.maxPosition // 2, q),
            gp.BendPoint(gp.BendEffect.maxPosition, q),
        ],
    )


def tab_to_song(tab: Tab, title: str = "", meter: tuple[int, int] | None = None) -> gp.Song:
    """A one-track Guitar Pro song of a tab, at its tempo (120 when it has none) and
    capo (see the module docstring); `meter` (the piece's, where it has one) is the time
    signature of every measure as long as it."""
    n = len(tab.tuning)
    if n not in STRING_COUNTS:
        raise UsageError(f"a tab of {n} strings cannot be written as Guitar Pro (4, 6 or 7)")
    song = gp.Song(title=title or "", tempo=min(max(round(tab.tempo or 120), 1), 999))
    song.measureHeaders = []
    track = gp.Track(
        song,
        number=1,
        measures=[],
        offset=min(max(int(tab.capo), 0), MAX_CAPO),
        name="Bass" if n == 4 else "Guitar",
        strings=[gp.GuitarString(i + 1, p) for i, p in enumerate(reversed(tab.tuning))],
        channel=gp.MidiChannel(channel=0, effectChannel=1, instrument=PROGRAM_BASS if n == 4 else PROGRAM_GUITAR),
    )
    song.tracks = [track]
    measures = _measures(tab) or [_Measure([("-",) * n] * 16)]
    start = TICKS
    for number, m in enumerate(measures, start=1):
        header = gp.MeasureHeader(
            number=number,
            start=start,
            timeSignature=_time_signature(len(m.steps), meter),
            isRepeatOpen=m.open_repeat,
            repeatClose=1 if m.close_repeat else -1,
            hasDoubleBar=m.double_bar,
        )
        song.addMeasureHeader(header)
        measure = gp.Measure(track, header)
        track.measures.append(measure)
        _fill_voice(measure.voices[0], m.steps, n, start)
        start += len(m.steps) * STEP_TICKS
    return song


def _fill_voice(voice: gp.Voice, steps: list[tuple[str, ...]], n: int, start: int) -> None:
    fx = _marks_by_string(steps, n)
    onsets = [c for c, step in enumerate(steps) if any(symbol_fret(x) is not None or x == "x" for x in step)]
    if not onsets or onsets[0] > 0:
        _add_beats(voice, [], (onsets[0] if onsets else len(steps)), start, rest=True)
    for i, c in enumerate(onsets):
        end = onsets[i + 1] if i + 1 < len(onsets) else len(steps)
        struck = []
        for s, sym in enumerate(steps[c]):
            f = symbol_fret(sym)
            if f is None and sym != "x":
                continue
            struck.append((s, f, fx.get((c, s), set())))
        _add_beats(voice, struck, end - c, start + c * STEP_TICKS, rest=False, n=n)


def _add_beats(voice: gp.Voice, struck, columns: int, start: int, rest: bool, n: int = 0) -> None:
    t = start
    for k, (size, value, dotted) in enumerate(_split_duration(columns)):
        beat = gp.Beat(
            voice,
            start=t,
            duration=gp.Duration(value=value, isDotted=dotted),
            status=gp.BeatStatus.rest if rest else gp.BeatStatus.normal,
        )
        if not rest:
            for s, f, names in struck:
                if f is None and k > 0:
                    continue  # a dead note is not held
                note = gp.Note(beat, value=f or 0, string=n - s, velocity=gp.Velocities.default)
                if f is None:
                    note.type = gp.NoteType.dead
                elif k > 0:
                    note.type = gp.NoteType.tie
                else:
                    note.type = gp.NoteType.normal
                    _effects(note, names)
                beat.notes.append(note)
            if not beat.notes:
                beat.status = gp.BeatStatus.rest
        voice.beats.append(beat)
        t += size * STEP_TICKS


def _effects(note: gp.Note, names: set) -> None:
    e = note.effect
    for name in names:
        if isinstance(name, tuple):
            e.bend = _bend(name[1])
        elif name == "hammer":
            e.hammer = True
        elif name == "slide":
            e.slides.append(gp.SlideType.shiftSlideTo)
        elif name == "out-up":
            e.slides.append(gp.SlideType.outUpwards)
        elif name == "out-down":
            e.slides.append(gp.SlideType.outDownwards)
        elif name == "into-up":
            e.slides.append(gp.SlideType.intoFromBelow)
        elif name == "into-down":
            e.slides.append(gp.SlideType.intoFromAbove)
        elif name == "vibrato":
            e.vibrato = True
        elif name == "ghost":
            e.ghostNote = True
        elif name == "harmonic":
            e.harmonic = gp.NaturalHarmonic()


def write_guitar_pro(
    tab: Tab, path: str | os.PathLike | io.IOBase, title: str = "", meter: tuple[int, int] | None = None
) -> None:
    """Write a tab as a Guitar Pro 5 file (a path or a binary file object); `meter` as in
    `tab_to_song`."""
    gp.write(tab_to_song(tab, title, meter), path, version=(5, 1, 0))


def text_to_guitar_pro(
    text: str, path: str | os.PathLike | io.IOBase, title: str = "", source: str = ""
) -> list[Problem]:
    """Write any tab text (a ``rows`` or ``columns`` piece, generated or not, or a raw tab)
    as a Guitar Pro 5 file; the repairs made to read it (`source` names the text in them).
    A text with no staff is written as one empty measure, reported."""
    tab, repairs = read_any(text, source)
    if tab is None:
        repairs.append(Problem("no staff found; an empty measure written", 0, 0, source))
        tab = Tab(DEFAULT_TUNINGS[6])
    tab, more = canonical(tab, source)
    write_guitar_pro(tab, path, title)
    return repairs + more
