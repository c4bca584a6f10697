"""What a continued song keeps of its seed: key, both hands, polyphony, tracks and dynamics.

A model of the ``roll`` scheme primed with a song's opening is held, while it
writes, by the roll grammar's `Keep` (see `encoders.midi.grammar`), made here from
the seed by `seed_keep`:

* **key**: new pitches only in the seed's scale (the header's key, else the key
  estimated from the seed's notes, `estimate_key`: Krumhansl-Kessler profiles
  weighted by duration) and in the pitch classes the seed itself plays (so an
  accidental the seed uses stays allowed), within a fifth of the seed's range;
* **both hands**: when the seed has a left hand (a pitch below middle C in at
  least half its bars), a bar where none has sounded by its middle beat strikes
  one there, in the seed's left-hand register;
* **polyphony**: at most one pitch more sounding at a step than the seed ever has.

After sampling, `carry_on` puts the music back into the seed's own tracks: the
seed's notes exactly as the file has them (tracks, programs, velocities), and each
continued note in the track whose register it is in (nearest median pitch of the
track's seed notes), at the velocity that track played at that beat of the bar in
the seed (the scheme's own velocity where it writes one, ``events``).

`figures` measures a continuation against its seed (the issue 16 figures).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

from encoders.midi.grammar import MAX_SOUNDING, Keep
from encoders.midi.grid import Header, QNote, pitch_char
from encoders.piece import Note, Piece

__all__ = ["SeedFigures", "carry_on", "estimate_key", "figures", "key_classes", "seed_keep"]

MIDDLE_C = 60
_MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor and the leading tone
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def key_classes(key: str | None) -> frozenset[int] | None:
    """The pitch classes of a key's scale (``G``, ``F#m``, ``Bb``); None for no key or an unreadable one."""
    if not key or key[0] not in _LETTERS:
        return None
    minor = key.endswith("m")
    accidental = key[1:2] if len(key) > 1 + minor else ""
    if accidental not in ("", "#", "b"):
        return None
    tonic = (_LETTERS[key[0]] + {"#": 1, "b": -1}.get(accidental, 0)) % 12
    return frozenset((tonic + d) % 12 for d in (_MINOR_SCALE if minor else _MAJOR_SCALE))


def estimate_key(notes: list[tuple[int, float]]) -> str:
    """The likeliest key of (pitch, duration) pairs by the Krumhansl-Kessler profiles (C for none)."""
    weight = [0.0] * 12
    for pitch, duration in notes:
        weight[pitch % 12] += max(duration, 0.0)
    if not any(weight):
        return "C"
    best, best_r = "C", -2.0
    for tonic in range(12):
        for profile, suffix in ((_MAJOR_PROFILE, ""), (_MINOR_PROFILE, "m")):
            rotated = [profile[(pc - tonic) % 12] for pc in range(12)]
            r = statistics.correlation(weight, rotated) if len(set(weight)) > 1 else 0.0
            if r > best_r:
                best, best_r = _NAMES[tonic] + suffix, r
    return best


def _bars_with_low(notes: list[QNote], bar_steps: int, steps: int) -> tuple[int, int]:
    """(bars of the first `steps` steps in which a pitch below middle C sounds, bars in all)."""
    bars = max(1, -(-steps // bar_steps))
    low = {t // bar_steps for q in notes if q.pitch < MIDDLE_C for t in range(q.start, min(q.end, steps))}
    return len(low), bars


def _max_sounding(notes: list[QNote]) -> int:
    edges = sorted([(q.start, 1) for q in notes] + [(q.end, -1) for q in notes])
    now = most = 0
    for _, d in edges:
        now += d
        most = max(most, now)
    return most


def _mean_sounding(notes: list[QNote], steps: int) -> float:
    """Mean pitches sounding over the steps where something sounds."""
    counts = [0] * steps
    for q in notes:
        for t in range(q.start, min(q.end, steps)):
            counts[t] += 1
    sounding = [c for c in counts if c]
    return statistics.fmean(sounding) if sounding else 0.0


def seed_keep(notes: list[QNote], header: Header, steps: int, after: int, known: set[int]) -> Keep:
    """The `Keep` for continuing a seed of `notes` (on the grid, `steps` long, as the model
    sees them: transposed if it was) whose text is `after` characters; `known`: the model's pitches."""
    classes = key_classes(header.key)
    if classes is None:
        classes = key_classes(estimate_key([(q.pitch, q.end - q.start) for q in notes]))
    classes = classes | {q.pitch % 12 for q in notes}
    low_p, high_p = min(q.pitch for q in notes), max(q.pitch for q in notes)
    span = range(max(low_p - 7, 21), min(high_p + 7, 108) + 1)
    pitches = {p for p in span if p % 12 in classes and p in known}
    bar_steps = header.bar_steps or header.grid
    with_low, bars = _bars_with_low(notes, bar_steps, steps)
    low_step = None
    beat_steps = max(1, header.grid // header.meter[1])
    if with_low * 2 >= bars and any(p < MIDDLE_C for p in pitches):
        beats = max(1, bar_steps // beat_steps)
        low_step = (beats // 2) * beat_steps
    low = {p for p in pitches if p < MIDDLE_C and p >= low_p - 2}
    return Keep(
        after=after,
        pitches=frozenset(pitch_char(p) for p in pitches),
        low=frozenset(pitch_char(p) for p in low),
        low_step=low_step,
        max_sounding=min(MAX_SOUNDING, _max_sounding(notes) + 1),
        min_sounding=math.floor(0.8 * _mean_sounding(notes, steps)),
        beat_steps=max(1, header.grid // header.meter[1]),
    )


def _velocity_table(seed: list[Note], bar: float, beat: float) -> dict[tuple[int, int], int]:
    """Mean seed velocity per (voice, beat of the bar); (voice, -1) the voice's mean."""
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for n in seed:
        groups[(n.voice, int((n.onset % bar) // beat))].append(n.velocity)
        groups[(n.voice, -1)].append(n.velocity)
    return {k: round(statistics.fmean(v)) for k, v in groups.items()}


def carry_on(file_piece: Piece, continued: list[Note], boundary: float, keep_velocity: bool = False) -> list[Note]:
    """The seed's notes as the file has them (those starting before `boundary`, beats), then
    the `continued` notes (from `boundary` on) in the seed's tracks by register, at the
    seed's velocities (the notes' own with `keep_velocity`).  Notes the model held over the
    boundary keep sounding."""
    eps = 1e-6
    seed = [n for n in file_piece.notes if n.onset < boundary - eps]
    held = {n.pitch: n.onset + n.duration for n in continued if n.onset < boundary - eps}
    out = []
    for n in seed:
        end = min(n.onset + n.duration, boundary)
        if end >= boundary - eps and held.get(n.pitch, 0) > boundary:
            end = held[n.pitch]
        out.append(Note(n.pitch, n.onset, end - n.onset, n.velocity, n.program, n.voice))
    voices = sorted({n.voice for n in seed}) or [0]
    medians = {v: statistics.median([n.pitch for n in seed if n.voice == v] or [MIDDLE_C]) for v in voices}
    programs = {v: file_piece.programs.get(v, 0) for v in voices}
    meter = file_piece.meter or (4, 4)
    beat = 4 / meter[1]
    table = _velocity_table(seed, meter[0] * beat, beat)
    for n in continued:
        if n.onset < boundary - eps:
            continue
        voice = min(voices, key=lambda v: (abs(n.pitch - medians[v]), v))
        velocity = n.velocity
        if not keep_velocity:
            position = int((n.onset % (meter[0] * beat)) // beat)
            velocity = table.get((voice, position), table.get((voice, -1), 80))
        out.append(Note(n.pitch, n.onset, n.duration, velocity, programs[voice], voice))
    out.sort(key=lambda n: (n.onset, n.pitch, n.voice))
    return out


@dataclass(slots=True)
class SeedFigures:
    """A continuation measured against its seed (fractions 0-1; polyphony in notes)."""

    in_key: float
    """Continued notes in the seed's scale (its key signature, else estimated)."""
    in_seed_classes: float
    """Continued notes in the seed's scale or the pitch classes the seed plays."""
    low_bars: float
    """Continued bars in which a pitch below middle C sounds."""
    seed_low_bars: float
    polyphony: float
    """Mean sounding notes over the continuation's sounding sixteenths."""
    seed_polyphony: float
    velocities: int
    """Distinct velocities among the continued notes."""
    notes: int


def _polyphony(notes: list[Note], start: float, end: float) -> float:
    counts = []
    t = start
    while t < end - 1e-9:
        counts.append(sum(1 for n in notes if n.onset <= t + 1e-9 < n.onset + n.duration))
        t += 0.25
    sounding = [c for c in counts if c]
    return statistics.fmean(sounding) if sounding else 0.0


def _low_share(notes: list[Note], start: float, end: float, bar: float) -> float:
    bars = [start + i * bar for i in range(max(1, round((end - start) / bar)))]
    low = [
        any(n.pitch < MIDDLE_C and n.onset < b + bar - 1e-9 and n.onset + n.duration > b + 1e-9 for n in notes)
        for b in bars
    ]
    return sum(low) / len(low)


def figures(piece: Piece, boundary: float, end: float | None = None, key: str | None = None) -> SeedFigures:
    """The figures of a continued `piece` whose seed ends at `boundary` beats (`key`: the seed's, else
    `piece.key`, else estimated from the seed's notes)."""
    seed = [n for n in piece.notes if n.onset < boundary]
    new = [n for n in piece.notes if n.onset >= boundary]
    end = piece.end if end is None else end
    key = key or piece.key or estimate_key([(n.pitch, n.duration) for n in seed])
    scale = key_classes(key) or frozenset(range(12))
    classes = scale | {n.pitch % 12 for n in seed}
    meter = piece.meter or (4, 4)
    bar = meter[0] * 4 / meter[1]
    count = max(1, len(new))
    return SeedFigures(
        in_key=sum(n.pitch % 12 in scale for n in new) / count,
        in_seed_classes=sum(n.pitch % 12 in classes for n in new) / count,
        low_bars=_low_share(piece.notes, boundary, max(end, boundary + bar), bar),
        seed_low_bars=_low_share(seed, 0.0, boundary, bar),
        polyphony=_polyphony(piece.notes, boundary, end),
        seed_polyphony=_polyphony(seed, 0.0, boundary),
        velocities=len({n.velocity for n in new}),
        notes=len(new),
    )
