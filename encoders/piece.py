"""The one small music type every decoder returns and every renderer takes.

A `Piece` is a flat list of `Note`s plus the few facts needed to play it back.
Times are in *beats*, where one beat is a quarter note (MIDI's "ticks per
quarter" unit), so a Piece does not depend on tempo: `tempo` only says how many
quarter notes last a minute.

    >>> p = Piece(notes=[Note(pitch=60, onset=0.0, duration=1.0)], tempo=100.0)
    >>> p.end
    1.0

Problems met while reading text (bad input, repairs of generated text) are
reported as `Problem`s that name the file, line and column, so a user can find
them: ``tunes.abc:12:5: unknown note length '/0'``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Note:
    """One sounding note: MIDI pitch, onset and duration in quarter-note beats."""

    pitch: int
    onset: float
    duration: float
    velocity: int = 80
    program: int = 0
    voice: int = 0


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the input, with where it is (1-based line and column)."""

    message: str
    line: int = 0
    column: int = 0
    path: str = ""

    def __str__(self) -> str:
        where = self.path or "<text>"
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.message}"


def position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[index]`` (for a Problem's `line` and `column`)."""
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


class UsageError(ValueError):
    """A value given by the user (an option, a seed, a setting, a model's stated
    configuration) that cannot be used; the message says which and why.  The CLI
    shows it as one line with exit code 2.  Any other ValueError escaping a command
    is a bug in musicrnn and is reported as an internal error (exit code 1)."""


class InputError(UsageError):
    """Input that cannot be read at all; its message names file, line and column."""

    def __init__(self, message: str, line: int = 0, column: int = 0, path: str = ""):
        self.problem = Problem(message, line, column, path)
        super().__init__(str(self.problem))


@dataclass(slots=True)
class Piece:
    """Notes plus what is needed to play them: tempo (quarter notes per minute),
    meter as (numerator, denominator) or None for free meter, key as text."""

    notes: list[Note] = field(default_factory=list)
    tempo: float = 120.0
    meter: tuple[int, int] | None = (4, 4)
    key: str | None = None
    title: str | None = None
    programs: dict[int, int] = field(default_factory=dict)
    """Voice number -> General MIDI program, where the source names one."""
    names: dict[int, str] = field(default_factory=dict)
    """Voice number -> track name, where the source names one (a MIDI file's tracks)."""
    bar_beats: list[float] = field(default_factory=list)
    """Onsets (in beats) of the bar lines as played, for pictures; may be empty."""
    marks: dict[str, float] = field(default_factory=dict)
    """Named moments in beats, e.g. {"continuation": 32.0} where a model takes over."""

    @property
    def end(self) -> float:
        """Beat at which the last note stops sounding (0 for an empty piece)."""
        return max((n.onset + n.duration for n in self.notes), default=0.0)

    def sorted_notes(self) -> list[Note]:
        return sorted(self.notes, key=lambda n: (n.onset, n.pitch, n.voice))


@dataclass(slots=True)
class Decoded:
    """A decoder's answer for one piece: the music, the piece's text, and what
    was repaired or dropped to make it playable (empty when nothing was)."""

    piece: Piece
    text: str
    repairs: list[Problem] = field(default_factory=list)
    bars_ok: bool | None = None
    """True when every bar has the meter's length (a short first bar, pickup, and a
    short bar before a repeat or the end allowed); None where the format has no meter."""

    @property
    def clean(self) -> bool:
        return not self.repairs
