r"""Scheme ``events``: MIDI as a performance, note-on / note-off / time-shift / velocity tokens.

A piece is the header (see `encoders.midi.grid`: tempo, meter, key, grid,
programs) and then one line per bar, holding the bar's events in time order.
Tokens, each one or two characters (pitches in the alphabet of
`encoders.midi.grid`, ``L`` is middle C):

    X        note-on: pitch X starts now
    -X       note-off: pitch X stops now (when two copies of X sound, the one
             struck last)
    .        time shift: one grid step later
    |V       velocity of the note-ons that follow: V a hex digit 0-F, velocity
             8*V+4 (4 to 124); written before the first note-on and when it
             changes (with ``velocity=False`` none is written: notes play at 80)
    newline  the start of the next bar

At one moment, note-offs come first (low to high), then note-ons (low to
high; of two copies of one pitch, the longer first, so it is the one that ends
last).  A bar with no event is written ``.``.  Time shifts never reach past the
bar: the line's end moves to the next bar.

Example: in 3/4 on a sixteenth grid, middle C (a quarter note) and E (a half
note) struck together, G struck on beat 2 for a half note, the rest of bar 2
silent, and a final C on the first beat of bar 3::

    %events q=90 m=3/4 k=C g=16 p=0
    |ALP....-LS....-P
    -S
    L....-L

Compared with ``roll``, a long note costs two tokens whatever it lasts, and
velocities are kept (to 1/16 of their range); a step where nothing changes
costs one ``.``.

Encoding reads a MIDI file with `encoders.midi.read_piece` (parts merged, drums
dropped, or one part with ``track``) and quantizes it to the grid.  Decoding is
tolerant: unknown characters, a note-off of a pitch not sounding, a velocity that
is not a hex digit, a note-on while `MAX_UNISON` copies of its pitch sound, a
note switched off at the moment it was struck are dropped, a bar that runs past the meter is kept as
written (`Decoded.bars_ok` False), notes left sounding end with the piece;
each repair is reported with line and column.
"""

from __future__ import annotations

from collections import defaultdict

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

__all__ = ["decode_events", "piece_to_events", "read_events", "render_events"]

SHIFT, OFF, VELOCITY = ".", "-", "|"
HEX = "0123456789ABCDEF"
DEFAULT_VELOCITY = 80


def velocity_bin(velocity: int) -> int:
    return max(0, min(15, velocity // 8))


def bin_velocity(level: int) -> int:
    return 8 * level + 4


def render_events(header: Header, notes: list[QNote], velocity: bool = True, end: int | None = None) -> str:
    """The events text of notes on the grid.  With `end` (a seed cut there), events
    from step `end` on are left out (notes sounding then stay on: the model ends
    them) and the text runs to `end`: it ends with the line break when `end` starts
    a bar, else with the time shifts that reach it and a line break."""
    offs: dict[int, list[int]] = defaultdict(list)
    ons: dict[int, list[QNote]] = defaultdict(list)
    for q in notes:
        ons[q.start].append(q)
        offs[q.end].append(q.pitch)
    bar_steps = header.bar_steps or header.grid
    times = sorted(t for t in set(offs) | set(ons) if end is None or t < end)
    lines = [header.render()]
    line = ""
    bar = 0  # the bar the current line holds
    pos = 0  # steps from the start of that bar
    level = None
    for t in times:
        target_bar, target_pos = divmod(t, bar_steps)
        while bar < target_bar:
            lines.append(line or SHIFT)
            line, bar, pos = "", bar + 1, 0
        line += SHIFT * (target_pos - pos)
        pos = target_pos
        line += "".join(OFF + pitch_char(p) for p in sorted(offs.get(t, ())))
        for q in sorted(ons.get(t, ()), key=lambda q: (q.pitch, -q.end, velocity_bin(q.velocity))):
            if velocity and velocity_bin(q.velocity) != level:
                level = velocity_bin(q.velocity)
                line += VELOCITY + HEX[level]
            line += pitch_char(q.pitch)
    if end is not None:
        target_bar, target_pos = divmod(end, bar_steps)
        while bar < target_bar:
            lines.append(line or SHIFT)
            line, bar, pos = "", bar + 1, 0
        line += SHIFT * (target_pos - pos)
        if not line:
            return "\n".join(lines) + "\n"
    lines.append(line or SHIFT)
    return "\n".join(lines) + "\n"


def piece_to_events(
    piece: Piece, grid: int = DEFAULT_GRID, velocity: bool = True, path: str = "", problems: list[Problem] | None = None
) -> str:
    """A Piece (e.g. from `read_piece`) as events text; InputError when no note is left to write."""
    header = header_for(piece, "events", grid, path)
    notes = quantize(piece, grid, path, problems)
    if not notes:
        raise InputError("no notes within the pitch range", path=path)
    return text_within_limit(render_events(header, notes, velocity), path)


def read_events(text: str, path: str = "") -> tuple[Header, list[QNote], list[Problem], bool, bool]:
    """Header, notes, repairs, bars_ok and whether velocities were given (never raises)."""
    header_line, body, repairs = split_header(text, path)
    header, header_problems = parse_header(header_line, "events")
    repairs += [Problem(m, 1, 1, path) for m in header_problems]
    bar_steps = header.bar_steps or header.grid
    perf = Performer()
    bars_ok = True
    level: int | None = None
    bar_start = 0
    pos = 0
    for index, (line_no, line) in enumerate(body):
        if index:
            if pos > bar_start + bar_steps:
                bars_ok = False
                repairs.append(
                    Problem(
                        f"the bar before ran {pos - bar_start - bar_steps} step(s) past the meter: kept as written",
                        line_no,
                        1,
                        path,
                    )
                )
            bar_start = max(bar_start + bar_steps, pos)
            pos = bar_start
        col = 0
        while col < len(line):
            ch = line[col]
            col += 1
            if ch == SHIFT:
                pos += 1
            elif ch in (OFF, VELOCITY):
                arg = line[col] if col < len(line) else ""
                col += 1
                if ch == OFF:
                    pitch = char_pitch(arg)
                    if pitch is not None and perf.take_back(pitch, pos):
                        repairs.append(
                            Problem(
                                f"note-off {arg!r} at the moment it was struck: the note, which lasts no time, dropped",
                                line_no,
                                col - 1,
                                path,
                            )
                        )
                    elif pitch is None or not perf.release(pitch, pos):
                        what = f"note-off {arg!r}" if pitch is not None else f"'-' before {arg!r}"
                        repairs.append(Problem(f"{what}: no such note sounding, dropped", line_no, col - 1, path))
                        if pitch is None and arg:
                            col -= 1  # read the character again on its own
                elif arg and arg in HEX:
                    level = HEX.index(arg)
                else:
                    repairs.append(Problem(f"velocity {arg!r} is not a hex digit, dropped", line_no, col - 1, path))
                    if arg:
                        col -= 1
            else:
                pitch = char_pitch(ch)
                if pitch is None:
                    repairs.append(Problem(f"unknown character {ch!r} dropped", line_no, col, path))
                else:
                    velocity = bin_velocity(level) if level is not None else DEFAULT_VELOCITY
                    if not perf.start(pitch, pos, velocity):
                        repairs.append(
                            Problem(
                                f"note-on {ch!r} while {MAX_UNISON} copies of it sound: dropped", line_no, col, path
                            )
                        )
    if perf.sounding:
        line_no = body[-1][0] if body else 1
        left = perf.release_all(pos)
        repairs.append(Problem(f"{left} note(s) never released: ended with the piece", line_no, 1, path))
    if pos > bar_start + bar_steps:
        bars_ok = False
    return header, perf.notes, repairs, bars_ok, level is not None


def decode_events(text: str, path: str = "") -> Decoded:
    """An events piece -> Decoded (playable Piece, canonical text, repairs); never raises."""
    header, notes, repairs, bars_ok, velocity = read_events(text, path)
    return Decoded(to_piece(header, notes), render_events(header, notes, velocity), repairs, bars_ok)
