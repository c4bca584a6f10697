r"""Any piece on the guitar: the notes of a MIDI file, an ABC tune or a ``roll``/``events``
piece fretted as a tab, and written as the ``.tab`` staff or a Guitar Pro 5 file.

`arrange` brings the piece into the guitar's range, then frets it with
`encoders.tab.fretting` (the same search that fretted the tab corpus: one hand
position at a time, the fretted notes of a chord at most 4 frets apart, open
strings welcome, one note a string, the melody and the bass kept before inner
voices):

* *Range.*  The guitar reaches from its lowest open string to its highest
  string's fret 19.  A piece that fits there in some octave moves by the
  whole-octave shift nearest to none (as `fretting` does); one that fits in
  none keeps its pitches where at least half its notes are within reach, else
  moves by the octaves that bring the most notes within reach.  A note still
  outside then moves by octaves into the range (counted, `Arrangement.moved`):
  a bass below the low E sounds an octave up, a piccolo's top an octave down.
* *Time.*  Onsets go to the nearest sixteenth (a tab's column), the piece's
  tempo is the tab's, its bars (``Piece.bar_beats``, else its meter, else 4/4)
  the tab's bars, and its meter each full measure's time signature in the
  Guitar Pro file.  Notes landing on one column with the same pitch are one;
  a chord of more notes than strings, or wider than the hand, loses inner voices
  first (all counted, `Arrangement.dropped`).
* *Bounds.*  At most `MAX_COLUMNS` columns (a tab of about two hours at 120
  beats a minute) and `MAX_CANDIDATES` fingerings a chord: time and memory grow
  with the length of the piece alone.

    >>> from encoders.piece import Note, Piece
    >>> high = Piece([Note(40, 0, 1), Note(64, 0, 1), Note(96, 1, 1)], meter=(2, 4))
    >>> arranged = arrange(high)  # C7 is out of reach: it sounds as C5 (fret 8 on the high E)
    >>> arranged.shift, arranged.moved, arranged.describe()
    (0, 1, 'standard tuning, 3 of 3 notes; 1 moved by octaves into the guitar range')
    >>> [e for e in arranged.tab.systems[0] if e != ("-",) * 6]  # low E to high E; a 2/4 bar
    [('0', '-', '-', '-', '-', '0'), ('-', '-', '-', '-', '-', '8'), '|']
"""

from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass

from encoders.piece import Note, Piece
from encoders.tab.symbols import DEFAULT_TUNINGS, STEP_BEATS, TEMPO_RANGE, Tab, pitch_name

__all__ = ["ARRANGED_FILES", "Arrangement", "MAX_CANDIDATES", "MAX_COLUMNS", "arrange", "arranged_file"]

STANDARD = DEFAULT_TUNINGS[6]
ARRANGED_FILES = (".tab", ".gp5")
"""What any piece with notes is written as for a guitarist (`arranged_file`)."""
MAX_COLUMNS = 64_000
"""Sixteenths a tab holds at most: 16,000 beats (2 h 13 min at 120 beats a minute)."""
MAX_CANDIDATES = 24
"""Fingerings of one chord kept for the search: the 24 that cost the hand least."""
MAX_HOLD_BEATS = 8.0
"""A note held longer than this only lengthens the tab's tail (a tab writes onsets)."""


@dataclass(slots=True)
class Arrangement:
    """A piece fretted for the guitar: the tab (its tuning and tempo in it), the piece's meter,
    its notes counted, the semitones the whole piece moved (`shift`), the notes moved by
    octaves one by one (`moved`), and the notes merged or dropped (`dropped`)."""

    tab: Tab
    meter: tuple[int, int] | None
    notes: int
    shift: int = 0
    moved: int = 0
    dropped: int = 0

    @property
    def kept(self) -> int:
        return self.notes - self.dropped

    def describe(self) -> str:
        """One line: the tuning, the notes kept, what was moved or dropped."""
        said = [f"{tuning_name(self.tab.tuning)}, {self.kept} of {self.notes} notes"]
        if self.shift:
            said.append(f"moved {self.shift // 12:+d} octave(s)")
        if self.moved:
            said.append(f"{self.moved} moved by octaves into the guitar range")
        if self.dropped:
            said.append(
                f"{self.dropped} dropped (a pitch twice on one sixteenth, chords beyond the strings or the hand)"
            )
        return "; ".join(said)


def tuning_name(tuning: tuple[int, ...]) -> str:
    """``standard tuning``, ``drop D tuning`` ... or the strings' names."""
    from encoders.tab.fretting import TUNINGS

    for name, known in TUNINGS.items():
        if tuple(known) == tuple(tuning):
            return f"{name} tuning"
    return "tuning " + " ".join(pitch_name(p) for p in tuning)


def arrange(piece: Piece, tuning: tuple[int, ...] = STANDARD) -> Arrangement:
    """The piece as a tab in `tuning` (see the module docstring); `Unfrettable` (a UsageError)
    for a piece with no notes, or too long for a tab."""
    from encoders.tab.fretting import MAX_FRET, Unfrettable, fretting  # numpy: loaded when a tab is made

    tuning = tuple(tuning)
    notes = [x for x in piece.notes if math.isfinite(x.onset) and x.onset >= 0 and x.duration >= 0]
    if not notes:
        raise Unfrettable("no notes to play on the guitar")
    last = max(x.onset for x in notes) / STEP_BEATS
    if last >= MAX_COLUMNS:
        raise Unfrettable(
            f"{last * STEP_BEATS:,.0f} beats is longer than a tab holds (at most {MAX_COLUMNS * STEP_BEATS:,.0f})"
        )
    lo, hi = min(tuning), max(tuning) + MAX_FRET
    shift = _octave_shift([x.pitch for x in notes], lo, hi)
    moved = 0
    placed = []
    for x in notes:
        pitch = x.pitch + shift
        if not lo <= pitch <= hi:
            pitch = lo + (pitch - lo) % 12 if pitch < lo else hi - (hi - pitch) % 12
            moved += 1
        placed.append(Note(pitch, x.onset, min(x.duration, MAX_HOLD_BEATS), x.velocity, x.program, x.voice))
    meter = piece.meter if piece.meter and piece.meter[0] > 0 and piece.meter[1] > 0 else None
    bars = [b for b in piece.bar_beats if math.isfinite(b)]
    if not bars and meter is None:
        meter = (4, 4)
    fretted = fretting(
        dataclasses.replace(piece, notes=placed, meter=meter, bar_beats=bars),
        tuning,
        STEP_BEATS,
        clash=False,  # written as the staff or Guitar Pro, never as rows text
        max_candidates=MAX_CANDIDATES,
    )
    tempo = min(max(round(piece.tempo), TEMPO_RANGE[0]), TEMPO_RANGE[1]) if math.isfinite(piece.tempo) else None
    tab = dataclasses.replace(fretted.tab, tempo=tempo)
    return Arrangement(tab, meter, len(notes), shift, moved, fretted.dropped)


def _octave_shift(pitches: list[int], lo: int, hi: int) -> int:
    """The semitones (whole octaves) the whole piece moves by (module docstring, *Range*)."""
    reach = {12 * k: sum(lo <= p + 12 * k <= hi for p in pitches) for k in range(-10, 11)}
    fits = [s for s, n in reach.items() if n == len(pitches)]
    if fits:
        return min(fits, key=lambda s: (abs(s), s))
    if 2 * reach[0] >= len(pitches):
        return 0
    return max(reach, key=lambda s: (reach[s], -abs(s), -s))


def arranged_file(
    piece: Piece, suffix: str, title: str = "", tuning: tuple[int, ...] = STANDARD
) -> tuple[bytes, Arrangement]:
    """The bytes of a ``.tab`` staff or a ``.gp5`` file of any piece with notes (`arrange`),
    and the arrangement (`Arrangement.describe` says what was moved or dropped)."""
    suffix = suffix.lower()
    if suffix not in ARRANGED_FILES:
        raise ValueError(f"a piece is arranged for the guitar as {' or '.join(ARRANGED_FILES)}, not {suffix}")
    arranged = arrange(piece, tuning)
    if suffix == ".tab":
        from encoders.tab.staff import render_staff

        return render_staff(arranged.tab, title or None).encode("utf-8"), arranged
    from encoders.tab.guitarpro import write_guitar_pro

    data = io.BytesIO()
    write_guitar_pro(arranged.tab, data, title, meter=arranged.meter)
    return data.getvalue(), arranged
