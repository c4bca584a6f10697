r"""What the two MIDI schemes share: the pitch alphabet, the header, the time grid.

Pitch alphabet
--------------
One character per pitch, for the 88 piano keys, MIDI 21 (A0) to 108 (C8): the
printable ASCII characters ``!`` to ``~`` in order, leaving out the six that the
schemes use for structure, ``% + - . \ |``::

    !"#$&'()*,/0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{}~

    21 A0 '!'    36 C2 '4'    48 C3 '@'    60 C4 (middle C) 'L'    67 G4 'S'
    72 C5 'X'    84 C6 'e'    96 C7 'q'    108 C8 '~'

(`pitch_char` and `char_pitch` are the table; ``PITCH_CHARS[p - 21]``.)  Notes
outside the range are reported and left out when encoding.

Header
------
The first line of every piece: the scheme's name after ``%`` and then
``name=value`` fields, one space apart, in this order::

    %roll q=120 m=3/4 k=G g=16 p=0,40

    q   tempo, quarter notes per minute (one decimal at most)     default 120
    m   meter as numerator/denominator                             default 4/4
    k   key as MIDI files name it (G, F#m, Bb), left out if unknown
    g   the grid: steps per whole note (16: sixteenths, 12: eighth-note
        triplets, 24: sixteenth triplets; 4 8 12 16 24 32 48 allowed)   default 16
    p   the General MIDI programs of the parts merged into the piece, each
        once, comma separated; playback uses the first             default 0

A bar has ``g * numerator / denominator`` steps (16 for 4/4 at g=16, 12 for 6/8):
a meter and grid whose bar is not a whole number of steps (3/8 at g=12) are
refused when encoding.

The grid
--------
Encoding quantizes: a note's onset and end are rounded to the nearest step; a
note shorter than half a step still lasts one step.  So the round trip
MIDI -> stream -> MIDI keeps every note exactly when it already lies on the grid.

Several notes of one pitch may sound at once (two voices in unison), at most
`MAX_UNISON` of them: a note struck while that many copies of its pitch sound is
left out and reported (encoding and decoding alike).  The schemes count the
copies, and when fewer remain, the ones struck *last* end first (nested unisons,
by far the commoner kind in chorales, come back exactly; for a staggered pair,
which is rare, the two durations swap, the sounding notes at every step stay the
same).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from encoders import EncodeResult
from encoders.piece import Piece, Problem, UsageError, position

__all__ = [
    "GRIDS",
    "Header",
    "KEY_NAMES",
    "PITCH_CHARS",
    "PITCH_HI",
    "PITCH_LO",
    "QNote",
    "char_pitch",
    "parse_grid",
    "parse_header",
    "pitch_char",
    "quantize",
]

PITCH_LO, PITCH_HI = 21, 108
STRUCTURE = "%+-.\\|"
PITCH_CHARS = "".join(c for c in map(chr, range(0x21, 0x7F)) if c not in STRUCTURE)
assert len(PITCH_CHARS) == PITCH_HI - PITCH_LO + 1
_CHAR_PITCH = {c: PITCH_LO + i for i, c in enumerate(PITCH_CHARS)}
GRIDS = (4, 8, 12, 16, 24, 32, 48)
DEFAULT_GRID = 16
MAX_UNISON = 16
"""Copies of one pitch that may sound at once: far more than music uses (a chorale
has two), and what keeps a damaged file or a runaway sample from asking for
thousands of voices (MIDI tracks) to keep them apart."""
MAX_TEMPO = 1000.0
MAX_PIECE_CHARS = 2_000_000
"""The longest piece text the schemes write or read: a four-part chorale takes
about 40 characters a beat in ``roll`` (so 50,000 beats), dense piano music about
150 (13,000 beats, nearly two hours at 120).  Decoding reads a longer text up to
there and reports the cut; encoding refuses a MIDI file that would need more."""
_KEY_RE = re.compile(r"[A-G][#b]?m?")

# fmt: off
KEY_NAMES = (
    "C", "G", "D", "A", "E", "B", "F#", "C#", "F", "Bb", "Eb", "Ab", "Db", "Gb", "Cb",
    "Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "A#m", "Dm", "Gm", "Cm", "Fm", "Bbm", "Ebm", "Abm",
)
# fmt: on
"""The key names MIDI key-signature messages carry (as mido spells them): what a header's
``k=`` may hold, and what render writes into a MIDI file."""


def pitch_char(pitch: int) -> str:
    return PITCH_CHARS[pitch - PITCH_LO]


char_pitch = _CHAR_PITCH.get
"""char_pitch(ch): the MIDI pitch of a pitch character, None for any other (the
dict's own get: the decoders call it for every character)."""


def parse_grid(value: str | int) -> int:
    """Steps per whole note from ``16``, ``1/16``, ``12``, ``8t`` (eighth triplets, = 12) or ``16t`` (= 24).

    Raises ValueError naming the allowed grids."""
    text = str(value).strip().lower()
    m = re.fullmatch(r"(?:1/)?(\d+)(t?)", text)
    grid = None
    if m:
        grid = int(m.group(1))
        if m.group(2):  # triplets: three in the time of two
            grid = grid * 3 // 2
    if grid not in GRIDS:
        raise UsageError(
            f"grid {value!r} not understood: give steps per whole note, one of "
            f"{', '.join(map(str, GRIDS))} (16 = sixteenths; 8t = eighth triplets = 12)"
        )
    return grid


@dataclass(slots=True)
class Header:
    scheme: str
    tempo: float = 120.0
    meter: tuple[int, int] = (4, 4)
    key: str | None = None
    grid: int = DEFAULT_GRID
    programs: tuple[int, ...] = (0,)

    @property
    def step_beats(self) -> float:
        return 4 / self.grid

    @property
    def bar_steps(self) -> int | None:
        """Steps in a bar, or None when the meter's bar is not a whole number of steps."""
        num, den = self.meter
        steps, rest = divmod(self.grid * num, den)
        return steps if steps > 0 and rest == 0 else None

    def render(self) -> str:
        tempo = round(self.tempo, 1)
        fields = [f"%{self.scheme}", f"q={tempo:g}", f"m={self.meter[0]}/{self.meter[1]}"]
        if self.key:
            fields.append(f"k={self.key}")
        fields.append(f"g={self.grid}")
        fields.append("p=" + ",".join(str(p) for p in self.programs))
        return " ".join(fields)


def parse_header(line: str, scheme: str) -> tuple[Header, list[str]]:
    """The header a line states, and what was wrong with it (wrong fields get defaults)."""
    header = Header(scheme)
    problems: list[str] = []
    words = line.split()
    if not words or words[0] != f"%{scheme}":
        problems.append(f"header should start with %{scheme}")
        words = words[1:] if words and words[0].startswith("%") else words
    else:
        words = words[1:]
    for word in words:
        name, _, value = word.partition("=")
        try:
            if name == "q":
                tempo = float(value)
                if not 0 < tempo <= MAX_TEMPO:
                    raise ValueError
                header.tempo = tempo
            elif name == "m":
                num, den = (int(x) for x in value.split("/"))
                if not (1 <= num <= 64 and den in (1, 2, 4, 8, 16, 32)):
                    raise ValueError
                header.meter = (num, den)
            elif name == "k":
                if not _KEY_RE.fullmatch(value):
                    raise ValueError
                header.key = value
            elif name == "g":
                grid = int(value)
                if grid not in GRIDS:
                    raise ValueError
                header.grid = grid
            elif name == "p":
                programs = tuple(int(x) for x in value.split(","))
                if not programs or not all(0 <= p <= 127 for p in programs):
                    raise ValueError
                header.programs = programs
            else:
                problems.append(f"unknown header field {word!r} ignored")
        except ValueError:
            problems.append(f"bad header field {word!r} ignored")
    if header.bar_steps is None:
        problems.append(
            f"a {header.meter[0]}/{header.meter[1]} bar is not a whole number of steps "
            f"of grid {header.grid}: read as 4/4"
        )
        header.meter = (4, 4)
    return header, problems


def split_header(text: str, path: str = "") -> tuple[str, list[tuple[int, str]], list[Problem]]:
    """A piece text's header line (the first non-blank line, when it starts with
    ``%``; else ""), its other non-blank lines numbered from 1, and the repair made
    when the text ran past `MAX_PIECE_CHARS` (read up to there)."""
    problems = []
    if len(text) > MAX_PIECE_CHARS:
        problems.append(
            Problem(
                f"piece longer than {MAX_PIECE_CHARS:,} characters: read up to here, the "
                f"other {len(text) - MAX_PIECE_CHARS:,} left out",
                *position(text, MAX_PIECE_CHARS),
                path,
            )
        )
        text = text[:MAX_PIECE_CHARS]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if numbered and numbered[0][1].startswith("%"):
        return numbered[0][1], numbered[1:], problems
    return "", numbered, problems


def text_within_limit(text: str, path: str) -> str:
    """An encoded piece, or InputError (naming the file) when it is longer than the decoders read."""
    from encoders.piece import InputError

    if len(text) > MAX_PIECE_CHARS:
        raise InputError(
            f"the piece would take {len(text):,} characters, more than the {MAX_PIECE_CHARS:,} a "
            f"piece may have (a coarser --grid, or --track to take one part)",
            path=path,
        )
    return text


def numbered_pieces(text: str) -> list[tuple[int, str]]:
    """The pieces of a stream (as `encoders.split_stream` finds them), each with the
    number of the file line it starts on, so problems can name the file's line."""
    out: list[tuple[int, str]] = []
    block: list[str] = []
    start = 0
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        if line == "":
            if block and "".join(block).strip():
                out.append((start, "\n".join(block) + "\n"))
            block = []
        else:
            if not block:
                start = number
            block.append(line)
    if block and "".join(block).strip():
        out.append((start, "\n".join(block) + "\n"))
    return out


def shifted(problem: Problem, first_line: int) -> Problem:
    """A problem found in a piece, with its line counted in the file the piece starts at `first_line` of."""
    if not problem.line:
        return problem
    return Problem(problem.message, problem.line + first_line - 1, problem.column, problem.path)


def encode_stream_text(text: str, path: str, decode) -> EncodeResult:
    """Stream text -> canonical pieces via the scheme's `decode`; a piece needing
    repair is skipped and its first problem reported at the file's line."""
    result = EncodeResult()
    for first_line, piece_text in numbered_pieces(text):
        decoded = decode(piece_text, path)
        if decoded.repairs:
            first = shifted(decoded.repairs[0], first_line)
            result.problems.append(Problem(f"piece skipped: {first.message}", first.line, first.column, path))
        elif decoded.piece.notes:
            result.pieces.append(decoded.text)
    return result


def corpus_options(pieces: Iterable[str]) -> dict:
    """What a model trained on roll or events pieces needs to know about them later
    (stored in its checkpoint as "scheme_options"), read in one pass: the pitches its
    pieces play (not merely characters it has seen: some pitch characters are also
    header letters), the grid most of them use, and the tempos (whole, as a sampled header
    writes them) and meters of their headers (a roll grammar holds a header to those)."""
    pitches: set[int] = set()
    grids: Counter = Counter()
    tempos: set[int] = set()
    meters: set[tuple[int, int]] = set()
    for piece in pieces:
        for line in piece.split("\n"):
            if line.startswith("%"):
                header = parse_header(line, line[1:].split(" ", 1)[0])[0]
                grids[header.grid] += 1
                tempos.add(min(300, max(20, round(header.tempo))))
                meters.add(header.meter)
                continue
            skip = False
            for ch in line:
                if skip:  # the hex digit of an events velocity mark
                    skip = False
                elif ch == "|":
                    skip = True
                elif ch in _CHAR_PITCH:
                    pitches.add(_CHAR_PITCH[ch])
    return {
        "pitches": sorted(pitches),
        "grid": grids.most_common(1)[0][0] if grids else DEFAULT_GRID,
        "tempos": sorted(tempos),
        "meters": [f"{n}/{d}" for n, d in sorted(meters, key=lambda m: (m[1], m[0]))],
    }


@dataclass(frozen=True, slots=True)
class QNote:
    """A note on the grid: pitch, start and end step, velocity."""

    pitch: int
    start: int
    end: int
    velocity: int = 80


def quantize(piece: Piece, grid: int, path: str = "", problems: list[Problem] | None = None) -> list[QNote]:
    """The piece's notes on the grid (see the module docstring); notes outside the
    pitch range, and those struck while `MAX_UNISON` copies of their pitch sound
    (the shortest go first), are left out and reported in `problems`."""
    import heapq

    per_beat = grid / 4
    on_grid = []
    outside = 0
    for n in piece.notes:
        if not PITCH_LO <= n.pitch <= PITCH_HI:
            outside += 1
            continue
        start = round(n.onset * per_beat)
        end = max(start + 1, round((n.onset + n.duration) * per_beat))
        on_grid.append(QNote(n.pitch, start, end, n.velocity))
    # the order the decoders strike in (longest copy first), so they keep the same copies
    on_grid.sort(key=lambda q: (q.start, q.pitch, -q.end))
    out = []
    sounding: dict[int, list[int]] = {}  # pitch -> heap of end steps
    crowded = 0
    for q in on_grid:
        ends = sounding.setdefault(q.pitch, [])
        while ends and ends[0] <= q.start:
            heapq.heappop(ends)
        if len(ends) >= MAX_UNISON:
            crowded += 1
            continue
        heapq.heappush(ends, q.end)
        out.append(q)
    if problems is not None:
        if outside:
            problems.append(
                Problem(f"{outside} note(s) outside MIDI pitches {PITCH_LO}-{PITCH_HI} left out", path=path)
            )
        if crowded:
            problems.append(
                Problem(
                    f"{crowded} note(s) struck while {MAX_UNISON} copies of their pitch sounded left out", path=path
                )
            )
    out.sort(key=lambda q: (q.start, q.pitch, q.end))
    return out


def header_for(piece: Piece, scheme: str, grid: int, path: str = "") -> Header:
    """The header of a piece read from MIDI; InputError when the bar is not a whole number of steps."""
    from encoders.piece import InputError

    meter = piece.meter or (4, 4)
    header = Header(
        scheme,
        tempo=min(max(piece.tempo or 120.0, 1.0), MAX_TEMPO),
        meter=meter,
        key=piece.key if piece.key and _KEY_RE.fullmatch(piece.key) else None,
        grid=grid,
        programs=tuple(dict.fromkeys(piece.programs[v] for v in sorted(piece.programs))) or (0,),
    )
    if header.bar_steps is None:
        raise InputError(
            f"a {meter[0]}/{meter[1]} bar is not a whole number of steps of grid {grid} (choose another --grid)",
            path=path,
        )
    return header


@dataclass(slots=True)
class Performer:
    """Turns a stream of starts and releases (per step) into notes: the last struck copy of a pitch ends first."""

    sounding: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    """pitch -> (start step, velocity) of each copy sounding, in the order struck; only pitches sounding."""
    notes: list[QNote] = field(default_factory=list)

    def start(self, pitch: int, step: int, velocity: int = 80) -> bool:
        """Strike a copy of `pitch`; False (nothing struck) when MAX_UNISON copies already sound."""
        stack = self.sounding.setdefault(pitch, [])
        if len(stack) >= MAX_UNISON:
            return False
        stack.append((step, velocity))
        return True

    def count(self, pitch: int) -> int:
        return len(self.sounding.get(pitch, ()))

    def release(self, pitch: int, step: int) -> bool:
        stack = self.sounding.get(pitch)
        if not stack:
            return False
        start, velocity = stack.pop()
        if not stack:
            del self.sounding[pitch]
        self.notes.append(QNote(pitch, start, max(step, start + 1), velocity))
        return True

    def take_back(self, pitch: int, step: int) -> bool:
        """Unstrike the copy of `pitch` struck last when it was struck at `step`: released
        there it would last no time (and, made a step long, overlap a copy struck after
        it).  False, nothing done, when no copy of `pitch` was struck at `step`."""
        stack = self.sounding.get(pitch)
        if not stack or stack[-1][0] != step:
            return False
        stack.pop()
        if not stack:
            del self.sounding[pitch]
        return True

    def release_all(self, step: int) -> int:
        count = 0
        for pitch in sorted(self.sounding):
            while self.release(pitch, step):
                count += 1
        return count


def to_piece(header: Header, notes: list[QNote], title: str | None = None) -> Piece:
    """A playable Piece: a copy of one pitch that sounds while another does goes to
    the next voice, so a MIDI file keeps both (one channel cannot).

    Each note takes the lowest-numbered voice in which its pitch is silent by then;
    per pitch, a heap of voices in use (by end step) and a heap of free voice numbers
    make that O(n log n), however many copies a text strikes at once."""
    import heapq

    from encoders.piece import Note

    step = header.step_beats
    program = header.programs[0] if header.programs else 0
    busy: dict[int, list[tuple[int, int]]] = {}  # pitch -> heap of (end step, voice)
    free: dict[int, list[int]] = {}  # pitch -> heap of voices silent again
    used: dict[int, int] = {}  # pitch -> voices it has used so far
    voices = 0
    out = []
    for q in sorted(notes, key=lambda q: (q.start, q.pitch, -q.end)):
        in_use, idle = busy.setdefault(q.pitch, []), free.setdefault(q.pitch, [])
        while in_use and in_use[0][0] <= q.start:
            heapq.heappush(idle, heapq.heappop(in_use)[1])
        if idle:
            voice = heapq.heappop(idle)
        else:
            voice = used.get(q.pitch, 0)
            used[q.pitch] = voice + 1
            voices = max(voices, voice + 1)
        heapq.heappush(in_use, (q.end, voice))
        out.append(Note(q.pitch, q.start * step, (q.end - q.start) * step, q.velocity, program, voice))
    bar_steps = header.bar_steps or header.grid
    end = max((q.end for q in notes), default=0)
    piece = Piece(
        notes=out,
        tempo=header.tempo,
        meter=header.meter,
        key=header.key,
        title=title,
        programs=dict.fromkeys(range(max(1, voices)), program),
    )
    piece.bar_beats = [i * bar_steps * step for i in range(end // bar_steps + 1)]
    return piece
