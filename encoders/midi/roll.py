r"""Scheme ``roll``: MIDI as a piano roll on a time grid, one line per bar.

A piece is the header (see `encoders.midi.grid`: tempo, meter, key, grid,
programs) and then one line per bar.  A bar is its steps, one after another,
each *ended* by ``.``; a step names, with one character per pitch (the pitch
alphabet in `encoders.midi.grid`, ``L`` is middle C):

    starts      the pitches struck at this step, low to high (a pitch twice when
                two voices strike it together)
    - held      then, if any pitch keeps sounding from the step before, ``-``
                and those pitches, low to high (twice when two copies sound)
    .           the end of the step

A pitch sounding at the step before and missing from ``held`` ends there; a
pitch both in ``held`` and in ``starts`` is struck again while it sounds (two
voices).  An empty step (a rest) is just ``.``.  Every bar line has the meter's
number of steps (the encoder fills the last bar with rests; a decoded text may
end with a shorter bar, read as written).

Example: in 3/4 on a sixteenth grid, middle C and the E above it as quarter
notes, then a G a half note long against the held E::

    %roll q=90 m=3/4 k=C g=16 p=0
    LP.-LP.-LP.-LP.S-P.-PS.-PS.-PS.-S.-S.-S.-S.

Reading a step: ``LP.`` strikes C4 and E4; ``-LP.`` holds both; ``S-P.``
strikes G4 while E4 keeps sounding (C4, missing, has ended).

Encoding reads a MIDI file with `encoders.midi.read_piece` (all parts merged,
drums dropped, or one part with ``track``) and quantizes it to the grid
(``grid``, steps per whole note, default 16).  Decoding is tolerant: an unknown
character is dropped, a held pitch that was not sounding is struck there, a
pitch struck while `MAX_UNISON` copies of it sound is dropped, a
step left open at a line's end is closed, a bar of the wrong length keeps its
steps (the canonical text redraws the bar lines; `Decoded.bars_ok` False); each
repair is reported with line and column.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from encoders.midi.grid import (
    DEFAULT_GRID,
    MAX_UNISON,
    Header,
    Performer,
    QNote,
    char_pitch,
    header_for,
    parse_header,
    pitch_char,
    quantize,
    split_header,
    text_within_limit,
    to_piece,
)
from encoders.piece import Decoded, InputError, Piece, Problem

__all__ = ["decode_roll", "piece_to_roll", "read_roll", "render_roll"]

STEP_END = "."
HELD = "-"


def render_roll(header: Header, notes: list[QNote], end: int | None = None) -> str:
    """The roll text of notes on the grid, `end` steps long (default: to the end of
    the bar in which the last note ends, so every bar line is whole)."""
    last = max((q.end for q in notes), default=0)
    bar_steps = header.bar_steps or header.grid
    end = -(-last // bar_steps) * bar_steps if end is None else max(end, last)
    starts: dict[int, list[int]] = defaultdict(list)
    held: dict[int, list[int]] = defaultdict(list)
    for q in notes:
        starts[q.start].append(q.pitch)
        for t in range(q.start + 1, q.end):
            held[t].append(q.pitch)
    lines = [header.render()]
    bar: list[str] = []
    for t in range(end):
        step = "".join(pitch_char(p) for p in sorted(starts.get(t, ())))
        if t in held:
            step += HELD + "".join(pitch_char(p) for p in sorted(held[t]))
        bar.append(step + STEP_END)
        if len(bar) == bar_steps:
            lines.append("".join(bar))
            bar = []
    if bar:
        lines.append("".join(bar))
    return "\n".join(lines) + "\n"


def piece_to_roll(piece: Piece, grid: int = DEFAULT_GRID, path: str = "", problems: list[Problem] | None = None) -> str:
    """A Piece (e.g. from `read_piece`) as roll text; InputError when no note is left to write."""
    header = header_for(piece, "roll", grid, path)
    notes = quantize(piece, grid, path, problems)
    if not notes:
        raise InputError("no notes within the pitch range", path=path)
    return text_within_limit(render_roll(header, notes), path)


def read_roll(text: str, path: str = "") -> tuple[Header, list[QNote], int, list[Problem], bool]:
    """Header, notes, length in steps, repairs and bars_ok of a roll text (never raises)."""
    header_line, body, repairs = split_header(text, path)
    header, header_problems = parse_header(header_line, "roll")
    header_line_no = 1
    for message in header_problems:
        repairs.append(Problem(message, header_line_no, 1, path))
    bar_steps = header.bar_steps or header.grid
    perf = Performer()
    t = 0
    bars_ok = True

    def play(starts: list[tuple[int, int]], held: list[int], line_no: int, held_cols: dict[int, int]) -> None:
        want = Counter(held)
        for pitch in [p for p in perf.sounding if p not in want]:  # not held: ends here
            while perf.release(pitch, t):
                pass
        for pitch, count in want.items():
            have = perf.count(pitch)
            for _ in range(have - count):
                perf.release(pitch, t)
            if count > have:
                repairs.append(
                    Problem(
                        f"{pitch_char(pitch)!r} held but not sounding: struck here", line_no, held_cols[pitch], path
                    )
                )
                for _ in range(count - have):
                    perf.start(pitch, t)
        for pitch, col in starts:
            if not perf.start(pitch, t):
                repairs.append(
                    Problem(
                        f"{pitch_char(pitch)!r} struck while {MAX_UNISON} copies of it sound: dropped",
                        line_no,
                        col,
                        path,
                    )
                )

    for index, (line_no, line) in enumerate(body):
        steps = 0
        starts: list[tuple[int, int]] = []  # (pitch, column)
        held: list[int] = []
        held_cols: dict[int, int] = {}
        in_held = False
        for col, ch in enumerate(line, start=1):
            if ch == STEP_END:
                play(starts, held, line_no, held_cols)
                t += 1
                steps += 1
                starts, held, held_cols, in_held = [], [], {}, False
            elif ch == HELD:
                if in_held:
                    repairs.append(Problem("second '-' in one step ignored", line_no, col, path))
                in_held = True
            else:
                pitch = char_pitch(ch)
                if pitch is None:
                    repairs.append(Problem(f"unknown character {ch!r} dropped", line_no, col, path))
                elif in_held:
                    held.append(pitch)
                    held_cols.setdefault(pitch, col)
                else:
                    starts.append((pitch, col))
        if starts or held or in_held:
            repairs.append(
                Problem("step not ended by '.' at the end of the line: ended there", line_no, len(line) + 1, path)
            )
            play(starts, held, line_no, held_cols)
            t += 1
            steps += 1
        last = index == len(body) - 1
        if steps > bar_steps or (steps < bar_steps and not last):
            bars_ok = False
            repairs.append(
                Problem(
                    f"bar of {steps} steps, the meter's bar has {bar_steps}: its steps kept, bar lines redrawn",
                    line_no,
                    1,
                    path,
                )
            )
    perf.release_all(t)
    return header, perf.notes, t, repairs, bars_ok


def decode_roll(text: str, path: str = "") -> Decoded:
    """A roll piece -> Decoded (playable Piece, canonical text, repairs); never raises."""
    header, notes, length, repairs, bars_ok = read_roll(text, path)
    return Decoded(to_piece(header, notes), render_roll(header, notes, length), repairs, bars_ok)
