"""The opening of a MIDI file as a seed: the text a model of a MIDI scheme is primed with to continue a song.

    >>> o = opening("letitgo.mid", "roll", bars=8)              # doctest: +SKIP
    >>> o.text.splitlines()[0], o.steps, o.beats                  # doctest: +SKIP
    ('%roll q=137 m=4/4 k=Ab g=16 p=0', 128, 32.0)

`opening(path, scheme, bars=N)` (or ``seconds=S``, at the file's first tempo)
reads the file (`read_piece`: parts merged, drums dropped, or part ``track``),
puts it on the grid and keeps what sounds before the cut, notes that ring past
it cut there, written in the scheme.  The text ends where the model should go on:
after the bar line when the cut falls on one, else inside the bar (a model then
finishes that bar).  The header's tempo is rounded to a whole number (20-300),
as models see them; the original tempo is in `piece`.

A model knows only the pitches of its corpus.  With ``pitches`` (the ones the
model knows) a seed with others raises `InputError` saying which and what to do;
with ``transpose=True`` the opening moves by whole octaves (else by the fewest
semitones) until it fits, and `shift` says by how much (the caller moves the
music back afterwards).

`MidiContinuation` is what the two MIDI schemes give for `Scheme.continuation`:
the opening with its header rewritten in values the model knows, how much to
sample, the ``roll`` grammar holding the piece to the asked number of bars, and
the cut at that bar line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from encoders.midi.events import render_events
from encoders.midi.grid import DEFAULT_GRID, PITCH_HI, PITCH_LO, Header, QNote, header_for, pitch_char, quantize
from encoders.midi.keep import carry_on, seed_keep
from encoders.midi.reader import read_piece
from encoders.midi.roll import render_roll
from encoders.piece import InputError, Note, Piece, UsageError
from encoders.scheme import Continuation, GrammarState

if TYPE_CHECKING:
    from encoders.midi.codec import GridScheme

__all__ = ["MidiContinuation", "Opening", "bars_after", "model_pitches", "opening", "pitch_name", "transpose_key"]

MAX_CHARS = 400_000
"""The most characters a continuation samples after its seed."""

_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MAJOR = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def pitch_name(pitch: int) -> str:
    return f"{_NAMES[pitch % 12]}{pitch // 12 - 1}"


def transpose_key(key: str | None, shift: int) -> str | None:
    """A key name moved by `shift` semitones (None stays None)."""
    if not key or shift % 12 == 0:
        return key
    minor = key.endswith("m")
    root = key[:-1] if minor else key
    pc = _PC.get(root[:1], 0) + (1 if root[1:] == "#" else -1 if root[1:] == "b" else 0)
    return (_MINOR if minor else _MAJOR)[(pc + shift) % 12]


@dataclass(slots=True)
class Opening:
    text: str
    """Header and the opening in the scheme: the seed."""
    piece: Piece
    """The whole file as read (original tempo, key, programs)."""
    header: Header
    steps: int
    """Grid steps in the opening (where the model takes over)."""
    shift: int = 0
    """Semitones the opening was moved to fit the model's pitches."""
    notes: list[QNote] = field(default_factory=list)
    """The opening's notes on the grid as the text has them (moved by `shift`)."""

    @property
    def beats(self) -> float:
        return self.steps * self.header.step_beats

    @property
    def bar_steps(self) -> int:
        return self.header.bar_steps or self.header.grid


def _fit(pitches: set[int], known: set[int], transpose: bool, path: str) -> int:
    outside = sorted(p for p in pitches if p not in known)
    if not outside:
        return 0
    if transpose:
        octaves = [s for k in range(1, 8) for s in (12 * k, -12 * k)]
        semitones = [s for k in range(1, 48) for s in (k, -k) if k % 12]
        for shift in octaves + semitones:
            if all(p + shift in known for p in pitches):
                return shift
        raise InputError(
            f"no transposition fits the seed's pitches ({pitch_name(min(pitches))}-"
            f"{pitch_name(max(pitches))}) into the model's",
            path=path,
        )
    low, high = min(known), max(known)
    shown = ", ".join(pitch_name(p) for p in outside[:6]) + (" ..." if len(outside) > 6 else "")
    raise InputError(
        f"the seed has pitches the model never saw ({shown}; it knows {pitch_name(low)}-"
        f"{pitch_name(high)}): use --transpose-into-range",
        path=path,
    )


def opening(
    path: str,
    scheme: str,
    bars: float | None = None,
    seconds: float | None = None,
    grid: int = DEFAULT_GRID,
    track: int | None = None,
    pitches: set[int] | None = None,
    transpose: bool = False,
) -> Opening:
    """The first `bars` bars (or `seconds` seconds) of a MIDI file as seed text (see the module docstring)."""
    if scheme not in ("roll", "events"):
        raise UsageError(f"a MIDI seed needs a model of a MIDI scheme (roll, events), not {scheme}")
    if (bars is None) == (seconds is None):
        raise UsageError("give the opening's length in bars or in seconds (one of them)")
    piece = read_piece(path, track=track)
    header = header_for(piece, scheme, grid, path)
    if bars is not None:
        if not bars > 0:
            raise UsageError(f"--seed-bars must be above 0, not {bars}")
        steps = round(bars * (header.bar_steps or grid))
    else:
        if not seconds > 0:
            raise UsageError(f"--seed-seconds must be above 0, not {seconds}")
        steps = round(seconds * piece.tempo / 60 * grid / 4)
    notes = quantize(piece, grid, path)
    end = max(q.end for q in notes) if notes else 0
    steps = max(1, min(steps, end))
    kept = [QNote(q.pitch, q.start, min(q.end, steps), q.velocity) for q in notes if q.start < steps]
    if not kept:
        raise InputError(f"nothing sounds in the first {steps} steps", path=path)
    shift = _fit({q.pitch for q in kept}, pitches, transpose, path) if pitches is not None else 0
    if shift:
        kept = [QNote(q.pitch + shift, q.start, q.end, q.velocity) for q in kept]
    header.tempo = float(min(300, max(20, round(piece.tempo))))
    header.key = transpose_key(header.key, shift)
    text = render_roll(header, kept, steps) if scheme == "roll" else render_events(header, kept, end=steps)
    if steps % (header.bar_steps or grid):
        text = text[:-1]  # inside a bar: the model finishes it
    return Opening(text, piece, header, steps, shift, kept)


def bars_after(opening: Opening, bars: int) -> int:
    """How many bar lines a continued piece must have to go on `bars` bars past the opening."""
    return math.ceil((opening.steps + bars * opening.bar_steps) / opening.bar_steps)


def model_pitches(stored: list[int] | None, knows: Callable[[str], bool]) -> set[int]:
    """The pitches a model has written in training: the scheme options' "pitches"
    (`stored`, kept by training), else every pitch whose character the model `knows`
    (some are header letters, so that is generous)."""
    known = {p for p in range(PITCH_LO, PITCH_HI + 1) if knows(pitch_char(p))}
    return known & set(stored) if stored else known


def fit_header(start: Opening, knows: Callable[[str], bool]) -> None:
    """Rewrite the seed's header with values the model `knows`: the nearest tempo it can
    write, no key or programs it cannot (the output keeps the file's own)."""
    header = start.header
    if knows(header.render()):
        return
    if not knows(f"q={header.tempo:g}"):
        near = sorted(range(20, 301), key=lambda t: abs(t - header.tempo))
        header.tempo = float(next((t for t in near if knows(f"q={t}")), header.tempo))
    if header.key and not knows(f"k={header.key}"):
        header.key = None
    if not knows("p=" + ",".join(map(str, header.programs))):
        header.programs = (0,)
    start.text = header.render() + start.text[start.text.index("\n") :]


def cut_at_bar_line(text: str, lines: int) -> str:
    """The piece up to its `lines`-th bar line (header kept), ending in one line break."""
    head, _, body = text.partition("\n")
    kept = [line for line in body.split("\n") if line][:lines]
    return head + "\n" + "\n".join(kept) + "\n"


class MidiContinuation(Continuation):
    """A MIDI file's opening, to go on for some bars (see `Continuation` and the module docstring)."""

    def __init__(
        self, scheme: GridScheme, start: Opening, lines: int, length: int, options: dict | None = None, keep=None
    ):
        self.scheme, self.opening, self.lines = scheme, start, lines
        self.seed, self.piece, self.beats, self.shift = start.text, start.piece, start.beats, start.shift
        self.length = length
        self.options, self.keep = options, keep

    @classmethod
    def of(
        cls,
        scheme: GridScheme,
        path: str,
        *,
        options: dict,
        knows: Callable[[str], bool],
        bars_before: float | None,
        seconds: float | None,
        bars: int,
        track: int | None,
        transpose: bool,
    ) -> MidiContinuation:
        """The opening of `path` for `scheme`, fitted to a model with scheme `options` that `knows` some text."""
        if bars < 1:
            raise UsageError(f"--bars must be at least 1, not {bars}")
        if seconds is not None:
            bars_before = None
        start = opening(
            path,
            scheme.name,
            bars=bars_before,
            seconds=seconds,
            grid=int(options.get("grid", 16)),
            track=track,
            pitches=model_pitches(options.get("pitches"), knows),
            transpose=transpose,
        )
        fit_header(start, knows)
        lines = bars_after(start, bars)
        seed_lines = [line for line in start.text.split("\n")[1:] if line]
        per_bar = max(64, 3 * sum(map(len, seed_lines)) // max(1, len(seed_lines)))  # room for busier bars
        known = model_pitches(options.get("pitches"), knows)
        keep = seed_keep(start.notes, start.header, start.steps, len(start.text), known)
        length = min(MAX_CHARS, per_bar * (lines - len(seed_lines) + 2))
        return cls(scheme, start, lines, length, options, keep)

    def grammar(self) -> GrammarState | None:
        """The scheme's grammar, held to the bar lines asked for and to the seed's key, hands
        and polyphony (`encoders.midi.keep`; roll; events has none)."""
        return self.scheme.bars_grammar(self.lines, self.options, self.keep)

    def arrange(self, notes: list[Note]) -> list[Note]:
        """The decoded notes (moved back by `shift`) in the file's own tracks, programs and
        velocities (`encoders.midi.keep.carry_on`; events keeps the velocities it wrote)."""
        return carry_on(self.piece, notes, self.beats, keep_velocity=self.scheme.name == "events")

    def finish(self, text: str) -> tuple[str, float]:
        text = cut_at_bar_line(text, self.lines)
        body_lines = text.rstrip("\n").split("\n")[1:]
        written = len(body_lines) - self.opening.steps / self.opening.bar_steps
        return text, max(0.0, written)
