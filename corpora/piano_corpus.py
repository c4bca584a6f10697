"""Write the piano corpus: real two-hand piano scores, plus chorales and folk tunes arranged for two hands.

    pip download --no-deps --no-binary :all: pianoplayer==3.0.2 -d outputs/pianoplayer
    python corpora/piano_corpus.py --pianoplayer outputs/pianoplayer/pianoplayer-3.0.2.tar.gz
    python corpora/piano_corpus.py --pianoplayer ... --scheme roll     # the same pieces in `roll`

Nothing else is downloaded: music21's corpus is installed with music21.  The
sources, their licences and what was left out (and why) are the tables
`SOURCES` and `LEFT_OUT` below and the piano section of corpora/README.md.

* **Real piano music** (`SOURCES`): solo piano scores from music21's corpus and
  from pianoplayer's source distribution, parsed by music21.  The upper staff is
  the right hand, the lower the left (music21 reads a grand staff as two
  parts); notes keep their written rhythm, ties are joined, grace notes are left
  out, repeats are not expanded (the piece as written, once).  Velocity follows
  the score's dynamic marks (`DYNAMICS`), 72 before the first one; the file's
  first metronome mark gives the tempo, or, where the file states none, the
  tempo listed with the source.  A pickup bar is padded with rest at the front
  so that bar lines fall where the schemes count them.
* **Arrangements** (made here, counted apart from the real music): every Bach
  chorale of music21's corpus, the soprano in the right hand over the harmony
  of the other three voices as left-hand chords (`arrange_chorale`), and a
  seeded sample of the folk tunes of corpora/folk.txt, the tune in the right
  hand over bass note + chord, one chord a bar estimated from the melody
  (`arrange_folk`).

Nothing is transposed: each piece is written once, in its own key (training
can augment).  The pieces listed `held_out` go to their own stream for judging
continuations later, never into the training stream.

Outputs (events scheme; with ``--scheme roll`` the names get ``_roll``):

    corpora/piano.txt            training stream: real pieces, then chorales, then folk tunes
    corpora/piano_heldout.txt    the held-out real pieces
    corpora/piano_manifest.txt   one line per piece: split, kind, id, source, licence, beats, tempo, minutes, chars

Neither scheme keeps the hands apart (both merge a piece's parts into one
stream of pitches), so the hands live only in the register: the left hand is
written below the right in every arrangement.  ``events`` keeps velocity (16
levels); ``roll`` has none.
"""

from __future__ import annotations

import argparse
import random
import sys
import tarfile
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from encoders import join_stream, split_stream  # noqa: E402
from encoders.piece import InputError, Note, Piece  # noqa: E402

PIANOPLAYER = "pianoplayer-3.0.2"
"""The pianoplayer source distribution the table below was checked against."""


@dataclass(frozen=True, slots=True)
class Source:
    """One real piano piece: where it is, what may be done with it, and how it is used."""

    id: str
    title: str
    composer: str
    origin: str  # "music21" (a path in music21's corpus) or "pianoplayer" (a path in its sdist)
    path: str
    licence: str  # what the file and its distribution say, in short
    tempo: float  # quarter notes a minute, used only where the file gives no metronome mark
    held_out: bool = False


MUSIC21_NOTE = (
    "music21 corpus (BSD software; its corpus/license.txt: encodings distributed with the encoders' "
    "permission, out of copyright in the US or licensed for use, possibly non-commercial)"
)

SOURCES: tuple[Source, ...] = (
    Source(
        "bach-bwv846",
        "Prelude in C major, WTC I, BWV 846",
        "J. S. Bach",
        "music21",
        "bach/bwv846.mxl",
        "public-domain work; MuseScore 1.3 encoding (musescore.com/score/117279), no licence in the file; "
        + MUSIC21_NOTE,
        66,
    ),
    Source(
        "bach-bwv775",
        "Invention No. 4 in D minor, BWV 775",
        "J. S. Bach",
        "pianoplayer",
        "scores/bach_invention4.xml",
        "public-domain work; file: 'Source: Mutopia Project (Mutopia-2008/06/15-67), listed as Public Domain'; "
        "pianoplayer sdist, MIT",
        132,
    ),
    Source(
        "cpe-bach-h186",
        "Sonata in A major, H. 186 (Wq. 55/4), 2nd movement, Poco adagio",
        "C. P. E. Bach",
        "music21",
        "cpebach/h186.mxl",
        "public-domain work; no licence in the file; " + MUSIC21_NOTE,
        56,
    ),
    Source(
        "mozart-k545-1",
        "Sonata in C major, K. 545 ('facile'), 1st movement",
        "W. A. Mozart",
        "pianoplayer",
        "scores/mozart_sonfacile.mxl",
        "public-domain work; file: 'Source: Mutopia Project (Mutopia-2013/09/01-998), licensed CC BY-SA 3.0'; "
        "pianoplayer sdist, MIT",
        132,
        held_out=True,
    ),
    Source(
        "pachelbel-canon",
        "Canon in D, piano arrangement (arranger not named)",
        "J. Pachelbel",
        "pianoplayer",
        "scores/pachelbel_canon.xml",
        "public-domain work; MuseScore 2.0.1 piano arrangement, arranger and licence not named in the file; "
        "pianoplayer sdist, MIT",
        60,
    ),
    Source(
        "clara-op1-1",
        "Polonaise in E-flat major, Op. 1 No. 1",
        "Clara Schumann",
        "music21",
        "schumann_clara/polonaise_op1n1.mxl",
        "public-domain work (1831); file: 'Typeset by Cypressdome for IMSLP and released under the CC BY-SA 4.0 "
        "license'",
        100,
    ),
    Source(
        "clara-op1-2",
        "Polonaise in C major, Op. 1 No. 2",
        "Clara Schumann",
        "music21",
        "schumann_clara/polonaise_op1n2.mxl",
        "public-domain work (1831); file: 'Typeset by Cypressdome for IMSLP and released under the CC BY-SA 4.0 "
        "license'",
        100,
        held_out=True,
    ),
    Source(
        "clara-op1-3",
        "Polonaise in D major, Op. 1 No. 3",
        "Clara Schumann",
        "music21",
        "schumann_clara/polonaise_op1n3.mxl",
        "public-domain work (1831); file: 'Typeset by Cypressdome for IMSLP and released under the CC BY-SA 4.0 "
        "license'",
        100,
    ),
    Source(
        "clara-op1-4",
        "Polonaise in C major, Op. 1 No. 4",
        "Clara Schumann",
        "music21",
        "schumann_clara/polonaise_op1n4.mxl",
        "public-domain work (1831); file: 'Typeset by Cypressdome for IMSLP and released under the CC BY-SA 4.0 "
        "license'",
        100,
    ),
    Source(
        "chopin-op6-2",
        "Mazurka in C-sharp minor, Op. 6 No. 2",
        "F. Chopin",
        "music21",
        "chopin/mazurka06-2.krn",
        "public-domain work (Mikuli edition, Schirmer 1894-98); Humdrum encoding by Craig Stuart Sapp (2005), no "
        "licence record in the file; " + MUSIC21_NOTE,
        132,
        held_out=True,
    ),
    Source(
        "joplin-maple-leaf",
        "Maple Leaf Rag",
        "S. Joplin",
        "music21",
        "joplin/maple_leaf_rag.mxl",
        "public-domain work (1899); MuseScore 2.1 encoding (musescore.com/user/116681/scores/145724), no licence "
        "in the file; " + MUSIC21_NOTE,
        100,
    ),
)

LEFT_OUT: tuple[tuple[str, str], ...] = (
    (
        "pianoplayer scores/scarlatti_k027.xml (Scarlatti, Sonata K. 27)",
        "its metadata (annotators, typesetter Tom Schreyer, DCML harmony_version 2.3.0) marks it as a score of the DCML "
        "Scarlatti corpus (DCMLab/scarlatti_sonatas), whose scores are published under CC BY-NC-SA 4.0: non-commercial "
        "only, which pianoplayer's MIT label cannot lift, and a bundled model is not bound to non-commercial use",
    ),
    ("pianoplayer scores/bach_prelude.xml (BWV 846)", "the same score as music21's bach/bwv846.mxl: used once"),
    ("music21 mozart/k545/movement1_exposition.mxl", "the exposition of pianoplayer's full first movement: used once"),
    ("pianoplayer scores/test_*.xml", "scales, chords and octaves written to test the fingering, not music"),
    (
        "music21 schoenberg/opus19 (2 movements)",
        "licence fine (published 1913: public domain in the US, and since 2022 where copyright lasts 70 years after "
        "death; no note in the files), but atonal: the issue asks continuations to stay in the seed's key",
    ),
    (
        "music21 pieces for voice(s) with piano (Schubert's Lindenbaum, Schumann's Dichterliebe No. 2, Beach's "
        "Prayer of a Tired Child, Liliuokalani's Aloha Oe) and chamber music (Clara Schumann's trio Op. 17)",
        "not solo piano: the piano part alone lacks the melody",
    ),
)

DYNAMICS = {"pppp": 20, "ppp": 28, "pp": 40, "p": 54, "mp": 66, "mf": 78, "f": 92, "ff": 106, "fff": 116, "ffff": 124}
"""Velocity a dynamic mark sets until the next one (accents such as sf are not marks of level)."""
FIRST_VELOCITY = 72
ARRANGEMENT_VELOCITY = {"melody": 80, "downbeat": 88, "bass": 68, "chord": 58}
"""Arrangements: the tune a little above the accompaniment, its bar's first note a little stronger."""


# ---------------------------------------------------------------------------------------------------------------
# Real piano music


def _music21_path(source: Source, sdist: Path | None, scratch: Path) -> Path | None:
    if source.origin == "music21":
        from music21 import corpus

        return Path(str(corpus.getWork(source.path)))
    if sdist is None:
        return None
    target = scratch / Path(source.path).name
    if not target.exists():
        with tarfile.open(sdist) as tar:
            member = tar.getmember(f"{PIANOPLAYER}/{source.path}")
            with tar.extractfile(member) as f:  # type: ignore[union-attr]
                target.write_bytes(f.read())
    return target


def _key_name(score) -> str | None:
    """The key as the schemes' headers name it (C, F#m, Bb): the first key signature, its mode
    from music21's key estimate when that agrees with the signature (else major)."""
    from music21 import key as m21key

    signatures = list(score.recurse().getElementsByClass(m21key.KeySignature))
    if not signatures:
        return None
    first = signatures[0]
    if isinstance(first, m21key.Key):
        found = first
    else:
        estimate = score.analyze("key")
        found = estimate if estimate.sharps == first.sharps else first.asKey("major")
    return found.tonic.name.replace("-", "b") + ("m" if found.mode == "minor" else "")


def measure_starts(part) -> tuple[list[tuple[float, float]], set[int]]:
    """(start, length) of each bar of a staff, and the bars clipped: each bar as long as its
    notes, but never longer than its meter's bar (a few encodings overfill one, e.g. a trill
    as an 11:12 tuplet in K. 545, which would move every later bar off the beat)."""
    out, clipped = [], set()
    start = 0.0
    for index, measure in enumerate(part.getElementsByClass("Measure")):
        length = float(measure.duration.quarterLength)
        bar = float(measure.barDuration.quarterLength)
        if length > bar + 1e-9:
            length = bar
            clipped.add(index)
        out.append((start, length))
        start += length
    return out, clipped


def score_to_piece(score, fallback_tempo: float, title: str = "") -> tuple[Piece, dict]:
    """A two-staff piano score -> Piece with the right hand as voice 0, the left as voice 1,
    and facts about it (staves, meters, pickup, grace notes left out, beats)."""
    from music21 import dynamics, meter, tempo

    parts = list(score.parts)
    if len(parts) < 2:
        raise InputError(f"{title}: {len(parts)} staff, not a grand staff")
    starts, clipped = measure_starts(parts[0])
    hands: list[list[tuple[int, float, float]]] = []
    grace = 0
    for part in parts:
        notes = []
        for index, measure in enumerate(part.stripTies().getElementsByClass("Measure")):
            if index >= len(starts):
                break
            start, length = starts[index]
            for el in measure.recurse().notes:
                if el.duration.isGrace or el.quarterLength == 0:
                    grace += 1
                    continue
                at = float(el.getOffsetInHierarchy(measure))
                if at >= length - 1e-9:  # past the end of an overfull bar
                    continue
                duration = float(el.quarterLength)
                if index in clipped:
                    duration = min(duration, length - at)
                for p in el.pitches:
                    notes.append((p.midi, start + at, duration))
        hands.append(notes)
    # the upper staff is the right hand; more than two staves (none here) would be folded by register
    order = sorted(range(len(hands)), key=lambda i: -sum(n[0] for n in hands[i]) / max(1, len(hands[i])))
    meters = [ts.ratioString for ts in score.recurse().getElementsByClass(meter.TimeSignature)]
    first_ts = score.recurse().getElementsByClass(meter.TimeSignature).first()
    num, den = (first_ts.numerator, first_ts.denominator) if first_ts else (4, 4)
    bar = num * 4 / den
    measures = list(parts[0].getElementsByClass("Measure"))
    pickup = 0.0
    if measures:
        first = measures[0]
        length = float(first.duration.quarterLength)
        if float(first.paddingLeft) > 0:
            pickup = bar - float(first.paddingLeft)
        elif 0 < length < bar:
            pickup = length
    shift = (bar - pickup) if pickup else 0.0
    marks = []
    for mm in score.recurse().getElementsByClass(tempo.MetronomeMark):
        if mm.number is not None:
            marks.append(float(mm.getQuarterBPM()))
    bpm = marks[0] if marks else float(fallback_tempo)
    levels = sorted(
        (float(d.getOffsetInHierarchy(score)), DYNAMICS[d.value])
        for d in score.recurse().getElementsByClass(dynamics.Dynamic)
        if d.value in DYNAMICS
    )

    def velocity(onset: float) -> int:
        level = FIRST_VELOCITY
        for at, v in levels:
            if at > onset + 1e-9:
                break
            level = v
        return level

    notes = []
    for hand, index in enumerate(order[:2] if len(order) == 2 else order):
        for pitch, onset, duration in hands[index]:
            notes.append(Note(pitch, onset + shift, duration, velocity(onset), 0, min(hand, 1)))
    notes.sort(key=lambda n: (n.onset, n.pitch))
    piece = Piece(notes=notes, tempo=bpm, meter=(num, den), key=_key_name(score), title=title, programs={0: 0, 1: 0})
    facts = {
        "staves": len(parts),
        "clipped_bars": len(clipped),
        "meters": sorted(set(meters)),
        "pickup": pickup,
        "grace_left_out": grace,
        "tempo_from_file": bool(marks),
        "beats": piece.end,
    }
    return piece, facts


def real_pieces(sdist: Path | None, log=print) -> list[tuple[Source, Piece, dict]]:
    """Every source that can be read, as a Piece; pianoplayer's pieces only with `sdist`."""
    from music21 import converter

    out = []
    with tempfile.TemporaryDirectory() as scratch:
        for source in SOURCES:
            path = _music21_path(source, sdist, Path(scratch))
            if path is None:
                log(f"skipped {source.id}: pianoplayer's sdist not given (--pianoplayer)")
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                score = converter.parse(str(path))
                piece, facts = score_to_piece(score, source.tempo, source.title)
            out.append((source, piece, facts))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Arrangements: right-hand tune over a left-hand accompaniment


Line = list[tuple[int, float, float]]
"""A voice as (pitch, onset, duration) in beats."""

MAJOR, MINOR = (0, 4, 7), (0, 3, 7)
TRIADS = [(root, quality) for root in range(12) for quality in (MAJOR, MINOR)]
BASS_LO, CHORD_LO = 40, 52
"""The left hand's register: the bass note from E2 up an octave, the chord from E3 up."""


def _sounding(line: Line, t: float, end: float) -> list[int]:
    """Pitches of `line` sounding at `t`, or, when it rests there, struck before `end`."""
    at = [p for p, on, d in line if on <= t + 1e-9 < on + d]
    if at:
        return at
    later = [(on, p) for p, on, d in line if t < on < end - 1e-9]
    return [min(later)[1]] if later else []


def beat_length(meter: tuple[int, int]) -> float:
    """The beat in quarter notes: a dotted quarter in 6/8, 9/8 and 12/8, else the denominator's note."""
    num, den = meter
    if den == 8 and num % 3 == 0 and num > 3:
        return 1.5
    return 4 / den


def _close_chord(pcs: list[int], bass: int, below: int) -> list[int]:
    """Chord tones (pitch classes) voiced close above `bass`, from CHORD_LO when the bass is
    lower, each one below `below` (a tone that cannot be is left out)."""
    out = []
    base = max(bass + 1, CHORD_LO)
    for pc in sorted(set(pcs)):
        pitch = base + (pc - base) % 12
        while pitch >= below and pitch - 12 > bass:
            pitch -= 12
        if bass < pitch < below and pitch not in out:
            out.append(pitch)
    return sorted(out)


def arrange_chorale(
    soprano: Line, alto: Line, tenor: Line, bass: Line, meter: tuple[int, int], velocity: dict | None = None
) -> list[Note]:
    """Soprano in the right hand (voice 0); on every beat the left hand (voice 1) plays the
    bass voice's note and the alto's and tenor's pitch classes as a close chord above it,
    below the soprano; a chord repeated on the next beat of the same bar is held."""
    velocity = velocity or ARRANGEMENT_VELOCITY
    beat = beat_length(meter)
    bar = meter[0] * 4 / meter[1]
    end = max(on + d for p, on, d in soprano + alto + tenor + bass)
    notes = [Note(p, on, d, velocity["melody"], 0, 0) for p, on, d in soprano]
    held: list[tuple[tuple[int, ...], float, float]] = []  # (pitches, onset, duration)
    t = 0.0
    while t < end - 1e-9:
        nxt = min(t + beat, end)
        low = _sounding(bass, t, nxt)
        top = _sounding(soprano, t, nxt)
        if low:
            root = min(low)
            below = min(top) if top else 128
            while root >= below and root - 12 >= 21:
                root -= 12
            pcs = [p % 12 for p in _sounding(alto, t, nxt) + _sounding(tenor, t, nxt)]
            chord = tuple([root] + _close_chord(pcs, root, below))
            same_bar = int((t + 1e-9) // bar) == int((held[-1][1] + 1e-9) // bar) if held else False
            if held and held[-1][0] == chord and abs(held[-1][1] + held[-1][2] - t) < 1e-9 and same_bar:
                held[-1] = (chord, held[-1][1], held[-1][2] + (nxt - t))
            else:
                held.append((chord, t, nxt - t))
        t = nxt
    for chord, on, d in held:
        notes.append(Note(chord[0], on, d, velocity["bass"], 0, 1))
        notes.extend(Note(p, on, d, velocity["chord"], 0, 1) for p in chord[1:])
    return sorted(notes, key=lambda n: (n.onset, n.pitch))


def tonic_of(key: str | None) -> int | None:
    """The tonic's pitch class of a key name (G, F#m, Bb, Ador, Emix ...), None when there is none."""
    if not key:
        return None
    names = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
    letter = key[0].upper()
    if letter not in names:
        return None
    pc = names[letter]
    if key[1:2] == "#":
        pc += 1
    elif key[1:2] == "b":
        pc -= 1
    return pc % 12


def choose_chords(
    melody: Line, bars: list[tuple[float, float]], meter: tuple[int, int], tonic: int | None
) -> list[tuple[int, tuple[int, int, int]] | None]:
    """One triad (root, quality) a bar, estimated from the melody: the major or minor triad,
    built of the tune's own scale, that covers most of the bar's notes (weighted by length,
    the bar's first beat and the beats counting more), a little preference for the tonic
    triad, its fifth and fourth, and for keeping the last bar's chord; the last bar takes the
    tonic triad when its notes allow.  None for a bar with no note sounding."""
    weight = [0.0] * 12
    for p, _, d in melody:
        weight[p % 12] += d
    total = sum(weight) or 1.0
    scale = {pc for pc in range(12) if weight[pc] >= 0.03 * total}
    candidates = [(r, q) for r, q in TRIADS if all((r + i) % 12 in scale for i in q)] or TRIADS
    if tonic is None and melody:
        tonic = max(melody, key=lambda n: n[1])[0] % 12  # the last note
    beat = beat_length(meter)
    out: list[tuple[int, tuple[int, int, int]] | None] = []
    previous = None
    for index, (start, stop) in enumerate(bars):
        counts = [0.0] * 12
        for p, on, d in melody:
            lo, hi = max(on, start), min(on + d, stop)
            if hi <= lo:
                continue
            w = hi - lo
            if abs(on - start) < 1e-9:
                w *= 2.0
            elif abs(((on - start) / beat) - round((on - start) / beat)) < 1e-9:
                w *= 1.5
            counts[p % 12] += w
        if not any(counts):
            out.append(None)
            continue
        length = stop - start

        def score(triad, counts=counts, length=length, previous=previous):
            root, quality = triad
            pcs = {(root + i) % 12 for i in quality}
            s = sum(c for pc, c in enumerate(counts) if pc in pcs) - 0.5 * sum(
                c for pc, c in enumerate(counts) if pc not in pcs
            )
            if tonic is not None:
                step = (root - tonic) % 12
                s += length * {0: 0.3, 7: 0.15, 5: 0.15}.get(step, 0.0)
            if triad == previous:
                s += 0.1 * length
            return s

        best = max(candidates, key=score)
        if index == len(bars) - 1 and tonic is not None:
            home = [t for t in candidates if t[0] == tonic]
            last = [p for p, on, d in melody if on + d > start + 1e-9 and on < stop]
            if home and last and any((p - home[0][0]) % 12 in home[0][1] for p in last[-1:]):
                best = max(home, key=score)
        out.append(best)
        previous = best
    return out


def bar_spans(bar_lines: list[float], end: float, bar: float) -> list[tuple[float, float]]:
    """(start, stop) of each bar from the bar lines' beats (any order, 0 and `end` implied);
    with none, bars of the meter's length."""
    lines = sorted({round(b, 6) for b in bar_lines if 1e-9 < b < end - 1e-9})
    if not lines:
        count = max(1, int(-(-end // bar)))
        return [(i * bar, min((i + 1) * bar, end)) for i in range(count)]
    points = [0.0] + lines + [end]
    return [(a, b) for a, b in zip(points, points[1:]) if b > a + 1e-9]


def arrange_folk(
    melody: Line, meter: tuple[int, int], bar_lines: list[float], key: str | None, velocity: dict | None = None
) -> tuple[list[Note], float]:
    """The tune in the right hand (voice 0; moved up an octave when it dips below E3), and in
    the left (voice 1) one chord a bar (`choose_chords`): the root as bass note on the bar's
    first beat (and its third in four-beat bars), the triad on the other beats, a bar of one
    beat (or less) bass and chord together.  A pickup bar has no left hand.

    Returns the notes and the pickup's length (0 when the first bar is whole)."""
    velocity = velocity or ARRANGEMENT_VELOCITY
    bar = meter[0] * 4 / meter[1]
    beat = beat_length(meter)
    end = max(on + d for _, on, d in melody)
    spans = bar_spans(bar_lines, end, bar)
    if min(p for p, _, _ in melody) < CHORD_LO:
        melody = [(p + 12, on, d) for p, on, d in melody]
    pickup = spans[0][1] - spans[0][0] if len(spans) > 1 and spans[0][1] - spans[0][0] < bar - 1e-9 else 0.0
    chords = choose_chords(melody, spans, meter, tonic_of(key))
    notes = []
    for p, on, d in melody:
        strong = any(abs(on - a) < 1e-9 for a, _ in spans)
        notes.append(Note(p, on, d, velocity["downbeat" if strong else "melody"], 0, 0))
    for index, ((start, stop), chord) in enumerate(zip(spans, chords)):
        if chord is None or (index == 0 and pickup):
            continue
        root, quality = chord
        top = min((p for p, on, d in melody if on < stop - 1e-9 and on + d > start + 1e-9), default=128)
        low = BASS_LO + (root - BASS_LO) % 12
        while low >= top - 1 and low - 12 >= 21:
            low -= 12
        tones = _close_chord([(root + i) % 12 for i in quality], low, top)
        beats = max(1, round((stop - start) / beat))
        if beats == 1:
            notes.append(Note(low, start, stop - start, velocity["bass"], 0, 1))
            notes.extend(Note(p, start, stop - start, velocity["chord"], 0, 1) for p in tones)
            continue
        for b in range(beats):
            on = start + b * beat
            d = min(beat, stop - on)
            if d <= 1e-9:
                break
            if b == 0 or (beats == 4 and b == 2):
                notes.append(Note(low, on, d, velocity["bass"], 0, 1))
            else:
                notes.extend(Note(p, on, d, velocity["chord"], 0, 1) for p in tones)
    notes.sort(key=lambda n: (n.onset, n.pitch))
    return notes, pickup


def pad_pickup(notes: list[Note], pickup: float, bar: float) -> list[Note]:
    """Notes moved later by the rest a pickup bar lacks, so bar lines fall on the meter's grid."""
    if not pickup:
        return notes
    shift = bar - pickup
    return [Note(n.pitch, n.onset + shift, n.duration, n.velocity, n.program, n.voice) for n in notes]


def _key_header(key: str | None) -> str | None:
    """A plain major or minor key name (as the schemes' headers take it); modes give None."""
    if not key:
        return None
    import re

    m = re.fullmatch(r"([A-G][#b]?)(m|min|minor|maj|major)?", key.strip())
    if not m:
        return None
    return m.group(1) + ("m" if m.group(2) in ("m", "min", "minor") else "")


def chorale_pieces(log=print) -> list[tuple[str, Piece]]:
    """Every chorale of music21's corpus with four voices, arranged (`arrange_chorale`)."""
    from music21 import corpus

    out = []
    for name in dict.fromkeys(corpus.chorales.Iterator(returnType="filename")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                score = corpus.parse(name)
                parts = list(score.parts)
                if len(parts) != 4:
                    log(f"skipped chorale {name}: {len(parts)} parts")
                    continue
                lines = []
                for part in parts:
                    stripped = part.stripTies()
                    lines.append(
                        [
                            (p.midi, float(el.getOffsetInHierarchy(stripped)), float(el.quarterLength))
                            for el in stripped.recurse().notes
                            if el.quarterLength > 0
                            for p in el.pitches
                        ]
                    )
                if not all(lines):
                    log(f"skipped chorale {name}: a voice with no notes")
                    continue
                lines.sort(key=lambda line: -sum(p for p, _, _ in line) / len(line))
                piece0, facts = score_to_piece(score, 80, name)  # meter, key, tempo, pickup as for real pieces
            meter = piece0.meter or (4, 4)
            bar = meter[0] * 4 / meter[1]
            notes = arrange_chorale(lines[0], lines[1], lines[2], lines[3], meter)
            notes = pad_pickup(notes, facts["pickup"], bar)
            out.append(
                (
                    name,
                    Piece(
                        notes=notes, tempo=piece0.tempo, meter=meter, key=piece0.key, title=name, programs={0: 0, 1: 0}
                    ),
                )
            )
        except Exception as e:  # noqa: BLE001 - music21 raises many kinds; report and go on
            log(f"skipped chorale {name}: {type(e).__name__}: {e}")
    return out


def folk_pieces(count: int, seed: int = 1, log=print) -> list[tuple[str, Piece]]:
    """A seeded sample of corpora/folk.txt's tunes, played by our ABC player and arranged (`arrange_folk`)."""
    from encoders.abc.player import play

    tunes = split_stream((ROOT / "corpora" / "folk.txt").read_text(encoding="utf-8"))
    picked = sorted(random.Random(seed).sample(range(len(tunes)), min(count, len(tunes))))
    out = []
    for index in picked:
        played = play(tunes[index]).piece
        if not played.notes or not played.meter:
            log(f"skipped folk tune {index}: no notes or no meter")
            continue
        meter = played.meter
        melody = [(n.pitch, n.onset, n.duration) for n in played.notes if n.voice == 0]
        notes, pickup = arrange_folk(melody, meter, played.bar_beats, played.key)
        notes = pad_pickup(notes, pickup, meter[0] * 4 / meter[1])
        out.append(
            (
                f"folk {index}",
                Piece(
                    notes=notes,
                    tempo=played.tempo,
                    meter=meter,
                    key=_key_header(played.key),
                    title=f"folk {index}",
                    programs={0: 0, 1: 0},
                ),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------------------------
# Writing


def encode(piece: Piece, scheme: str, grid: int) -> str:
    if scheme == "events":
        from encoders.midi.events import piece_to_events

        return piece_to_events(piece, grid)
    from encoders.midi.roll import piece_to_roll

    return piece_to_roll(piece, grid)


def minutes(piece: Piece) -> float:
    return piece.end / piece.tempo


def build(
    out_dir: Path,
    sdist: Path | None,
    scheme: str = "events",
    grid: int = 16,
    folk: int = 1000,
    seed: int = 1,
    chorales: bool = True,
    log=print,
) -> dict:
    """Write the streams and the manifest; returns the figures (also printed)."""
    from musicrnn.atomic import write_text

    suffix = "" if scheme == "events" else f"_{scheme}"
    train: list[str] = []
    held: list[str] = []
    rows = ["split\tkind\tid\ttitle\tcomposer_or_source\tlicence\tbeats\ttempo\tminutes\tchars"]
    figures = {
        "real_train_minutes": 0.0,
        "real_heldout_minutes": 0.0,
        "real_train": 0,
        "real_heldout": 0,
        "chorales": 0,
        "folk": 0,
        "arranged_minutes": 0.0,
        "duplicates": 0,
    }
    seen: set[str] = set()

    def add(text: str, split: str, kind: str, ident: str, title: str, who: str, licence: str, piece: Piece) -> bool:
        body = text.split("\n", 1)[1]
        if body in seen:
            figures["duplicates"] += 1
            return False
        seen.add(body)
        (held if split == "heldout" else train).append(text)
        rows.append(
            "\t".join(
                [
                    split,
                    kind,
                    ident,
                    title,
                    who,
                    licence,
                    f"{piece.end:g}",
                    f"{piece.tempo:g}",
                    f"{minutes(piece):.2f}",
                    str(len(text)),
                ]
            )
        )
        return True

    for source, piece, facts in real_pieces(sdist, log):
        text = encode(piece, scheme, grid)
        moved = sum(1 for n in piece.notes if abs(n.onset * grid / 4 - round(n.onset * grid / 4)) > 1e-6)
        split = "heldout" if source.held_out else "train"
        add(text, split, "real", source.id, source.title, source.composer, source.licence, piece)
        figures[f"real_{split}"] += 1
        figures[f"real_{split}_minutes"] += minutes(piece)
        log(
            f"{split:8s} {source.id:18s} {piece.end:7.1f} beats at {piece.tempo:5.1f} "
            f"({'file' if facts['tempo_from_file'] else 'chosen'}) = {minutes(piece):5.2f} min, meters "
            f"{','.join(facts['meters'])}, key {piece.key}, pickup {facts['pickup']:g}, "
            f"{facts['grace_left_out']} grace notes left out, {facts['clipped_bars']} overfull bars clipped, "
            f"{moved} of {len(piece.notes)} onsets moved to the grid, {len(text):,} chars"
        )
    arranged: list[tuple[str, str, Piece]] = []
    if chorales:
        arranged += [("chorale", name, p) for name, p in chorale_pieces(log)]
    arranged += [("folk", name, p) for name, p in folk_pieces(folk, seed, log)]
    for kind, name, piece in arranged:
        try:
            text = encode(piece, scheme, grid)
        except InputError as e:
            log(f"skipped {name}: {e}")
            continue
        licence = (
            "music21 corpus (Bach chorales, public domain)"
            if kind == "chorale"
            else "corpora/folk.txt (music21 corpus ABC, public domain tunes)"
        )
        if add(text, "train", f"arranged-{kind}", name, name, "arranged here", licence, piece):
            figures["chorales" if kind == "chorale" else "folk"] += 1
            figures["arranged_minutes"] += minutes(piece)
    figures["train_chars"] = sum(len(t) + 1 for t in train)
    figures["heldout_chars"] = sum(len(t) + 1 for t in held)
    write_text(out_dir / f"piano{suffix}.txt", join_stream(train))
    write_text(out_dir / f"piano{suffix}_heldout.txt", join_stream(held))
    write_text(out_dir / f"piano{suffix}_manifest.txt", "\n".join(rows) + "\n")
    log(
        f"{out_dir / f'piano{suffix}.txt'}: {len(train)} pieces, {figures['train_chars']:,} characters "
        f"({figures['real_train']} real piano pieces, {figures['real_train_minutes']:.1f} min; "
        f"{figures['chorales']} chorales and {figures['folk']} folk tunes arranged, "
        f"{figures['arranged_minutes']:.1f} min; {figures['duplicates']} duplicates dropped)"
    )
    log(
        f"{out_dir / f'piano{suffix}_heldout.txt'}: {len(held)} real piano pieces, "
        f"{figures['heldout_chars']:,} characters, {figures['real_heldout_minutes']:.1f} min"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "corpora", help="folder for the streams (default corpora/)")
    ap.add_argument(
        "--pianoplayer",
        type=Path,
        help=f"{PIANOPLAYER}.tar.gz (pip download --no-deps "
        "--no-binary :all: pianoplayer==3.0.2); without it, its pieces are left out",
    )
    ap.add_argument("--scheme", choices=("events", "roll"), default="events")
    ap.add_argument("--grid", type=int, default=16, help="steps per whole note (default 16)")
    ap.add_argument("--folk", type=int, default=1000, help="how many folk tunes to arrange (a seeded sample)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-chorales", action="store_true", help="leave the chorale arrangements out")
    args = ap.parse_args(argv)
    if args.pianoplayer and not args.pianoplayer.is_file():
        print(f"{args.pianoplayer}: no such file", file=sys.stderr)
        return 2
    build(args.out, args.pianoplayer, args.scheme, args.grid, args.folk, args.seed, not args.no_chorales)
    return 0


if __name__ == "__main__":
    sys.exit(main())
