r"""Build corpora/tabs.txt: real music arranged for guitar, in the ``columns`` scheme.

No tab corpus ships in the package registries and nothing is downloaded, so the
corpus is arranged here from real music that is installed already:

* **Bach chorales** (music21's corpus): the bass line and the melody, every
  second chorale with the inner voices too where the hand reaches them (the
  fretting keeps melody and bass first and drops inner voices that do not fit
  one hand position).  Moved into the guitar's range by the smallest
  transposition near an octave down (as guitarists read: the melody within the
  12th fret, the bass from the low E).
* **Folk tunes** from corpora/folk.txt with an accompaniment from their implied
  harmony: per half bar (a bar in 3/4, 2/4, 6/8, 9/8) the diatonic triad of the
  tune's key that best covers the melody's notes (tonic, subdominant and
  dominant preferred), played under the melody in one of three patterns taken
  in turn: an alternating bass (root and fifth on the beats), bass and chord
  (root on the first beat, the chord's third and fifth on the others), and an
  arpeggio (root, fifth, third through each beat's eighths).
* **Guitar Pro files**: the real ones pyguitarpro's source distribution ships
  (tests/data/guitarpro), the first guitar track of each, where its tuning is
  one of the corpus's.

Each piece is fretted by `encoders.tab.fretting` (one hand position at a time,
fretted notes at most 4 frets apart, open strings welcome, each note on its own
string) in one of five real tunings, chosen by the key: standard for every key
in turn with half-step down; drop D and DADGAD for tunes on D; open G for tunes
on G.  Every text is checked to re-encode to itself.

    .venv/bin/python corpora/tabs_corpus.py --out corpora/tabs.txt

Deterministic (no randomness, inputs read in sorted order); prints the figures
(pieces per source and tuning, share of time steps with two or more notes).
"""

from __future__ import annotations

import argparse
import glob
import sys
from collections import Counter
from pathlib import Path

from encoders.abc import theory
from encoders.piece import Note, Piece
from encoders.tab import COLUMNS, parse_columns, render_columns, symbol_fret
from encoders.tab.fretting import TUNINGS, first_fretting

ROOT = Path(__file__).resolve().parent.parent
STANDARD = TUNINGS["standard"]
CHORALE_TEMPO = 72
FOLK_LIMIT = 2400
MELODY_FLOOR = 52  # E3: a folk melody goes an octave down when it stays above this
BASS_LOW, BASS_HIGH = 40, 52  # E2 .. Eb3: the bass notes' octave
PATTERNS = ("alternating", "chord", "arpeggio")


def tunings_for(key: str | None) -> list[tuple[int, ...]]:
    """The tunings a piece in `key` is fretted in, in turn (module docstring)."""
    scale = scale_of(key)
    tonic = scale[0] if scale else 0
    if tonic == 2:  # D
        return [TUNINGS["drop D"], STANDARD, TUNINGS["DADGAD"]]
    if tonic == 7:  # G
        return [STANDARD, TUNINGS["open G"]]
    return [STANDARD, TUNINGS["half-step down"]]


def scale_of(key: str | None) -> tuple[int, list[int]] | None:
    """(tonic pitch class, the 7 pitch classes of its scale from the tonic) of an ABC key
    such as ``G``, ``Ador``, ``Em``, ``F#mix``; None when it cannot be read."""
    if not key or key[0] not in theory.LETTERS:
        return None
    tonic = key[0] + (key[1] if len(key) > 1 and key[1] in "#b" else "")
    rest = key[len(tonic) :].strip().lower()
    mode = "maj" if not rest else "m" if rest in ("m", "min") else rest[:3]
    if mode not in theory.MODE_FIFTHS:
        return None
    sig = theory.signature(theory.key_fifths(tonic, mode))
    tpc = theory.tonic_pitch_class(tonic)
    letters = theory.LETTERS[theory.LETTERS.index(tonic[0]) :] + theory.LETTERS[: theory.LETTERS.index(tonic[0])]
    return tpc, [(theory.LETTER_SEMITONES[x] + sig.get(x, 0)) % 12 for x in letters]


def choose_chord(melody: list[Note], start: float, end: float, scale: list[int], edge: bool) -> list[int]:
    """The diatonic triad (root, third, fifth pitch classes) that best covers the melody
    sounding in [start, end): weighted by time, beats twice; I, IV, V preferred, and the
    tonic at the tune's first and last span (`edge`)."""
    weight = Counter()
    for x in melody:
        overlap = min(end, x.onset + x.duration) - max(start, x.onset)
        if overlap > 0:
            weight[x.pitch % 12] += overlap * (2.0 if float(x.onset).is_integer() else 1.0)
    total = sum(weight.values()) or 1.0
    best, best_score = [scale[0], scale[2], scale[4]], -1.0
    for degree in range(7):
        triad = [scale[degree], scale[(degree + 2) % 7], scale[(degree + 4) % 7]]
        score = sum(weight[pc] for pc in triad)
        score += 0.15 * total * (degree in (0, 3, 4)) + (0.5 * total if edge and degree == 0 else 0.0)
        score += 0.05 * total * (degree == 0)
        if score > best_score:
            best, best_score = triad, score
    return best


def _in_octave(pc: int, low: int, high: int) -> int:
    return low + (pc - low) % 12 if low + (pc - low) % 12 < high else low + (pc - low) % 12 - 12


def _beat(meter: tuple[int, int] | None) -> float:
    """The counted beat in quarter notes: a dotted quarter in 6/8, 9/8, 12/8; a half in 2/2."""
    num, den = meter or (4, 4)
    if den == 8 and num % 3 == 0 and num > 3:
        return 1.5
    return 4 / den


def _spans(piece: Piece, end: float) -> list[tuple[float, float]]:
    """Harmonic spans: bars, halved where a bar has four beats."""
    bars = [b for b in piece.bar_beats if 0 < b < end]
    starts = ([0.0] if not bars else [bars[0] - (bars[1] - bars[0]) if len(bars) > 1 else 0.0]) + bars
    starts = sorted({max(0.0, s) for s in starts})
    beat = _beat(piece.meter)
    out = []
    for a, b in zip(starts, starts[1:] + [end], strict=True):
        beats = round((b - a) / beat)
        if beats >= 4 and beats % 2 == 0:
            mid = a + (b - a) / 2
            out += [(a, mid), (mid, b)]
        elif b > a:
            out.append((a, b))
    return out


def accompany(piece: Piece, pattern: str) -> Piece | None:
    """The tune with an accompaniment under it (module docstring); None when its key is
    unknown.  The melody moves an octave down when it stays above E3."""
    scale = scale_of(piece.key)
    if scale is None or not piece.notes:
        return None
    _, pcs = scale
    melody = sorted(piece.notes, key=lambda x: x.onset)
    if min(x.pitch for x in melody) - 12 >= MELODY_FLOOR:
        melody = [Note(x.pitch - 12, x.onset, x.duration, x.velocity) for x in melody]
    end = max(x.onset + x.duration for x in melody)
    beat = _beat(piece.meter)
    sub = beat / 3 if beat == 1.5 else beat / 2
    notes = list(melody)
    spans = _spans(piece, end)
    for k, (a, b) in enumerate(spans):
        root, third, fifth = choose_chord(melody, a, b, pcs, k in (0, len(spans) - 1))
        bass = [_in_octave(root, BASS_LOW, BASS_HIGH), _in_octave(fifth, BASS_LOW, BASS_HIGH)]
        upper = [_in_octave(third, BASS_HIGH, BASS_HIGH + 12), _in_octave(fifth, BASS_HIGH, BASS_HIGH + 12)]
        t, i = a, 0
        while t < b - 1e-9:
            if pattern == "alternating":
                notes.append(Note(bass[i % 2], t, beat))
            elif pattern == "chord":
                notes += [Note(bass[0], t, beat)] if i == 0 else [Note(p, t, beat) for p in upper]
            else:
                arp = [bass[0], upper[1], upper[0]]
                for j in range(int(round(beat / sub))):
                    notes.append(Note(arp[(j if i == 0 else j + 1) % 3], t + j * sub, sub))
            t, i = t + beat, i + 1
    notes = _under_melody(notes, melody)
    return Piece(notes, piece.tempo, piece.meter, piece.key, bar_beats=list(piece.bar_beats))


def _under_melody(notes: list[Note], melody: list[Note]) -> list[Note]:
    """Accompaniment notes that stay at least a minor third under the melody note sounding then."""
    mel = {id(x) for x in melody}
    out = []
    for x in notes:
        if id(x) in mel:
            out.append(x)
            continue
        above = [m.pitch for m in melody if m.onset <= x.onset < m.onset + m.duration]
        if not above or x.pitch <= min(above) - 3:
            out.append(x)
    return out


def fret_in_turn(piece: Piece, tunings: list[tuple[int, ...]], turn: int, stats: Counter) -> str | None:
    """The columns text of a piece fretted in the turn's tuning (else the next that works)."""
    f = first_fretting(piece, tunings, turn)
    if f is None:
        stats["skipped: unfrettable"] += 1
        return None
    text = render_columns(f.tab)
    if COLUMNS.encode_text(text).pieces != [text]:
        stats["skipped: no exact re-encoding"] += 1
        return None
    stats["notes dropped or merged"] += f.dropped
    stats["tuning " + text.split("\n", 1)[0].split(" ", 1)[1]] += 1
    return text


def chorale_piece(score, full: bool) -> Piece | None:
    """Melody and bass (and the inner voices when `full`) of a four-part chorale, moved
    into the guitar's range; None for a score that is no four-part chorale."""
    parts = list(score.parts)
    if len(parts) != 4:
        return None
    voices = parts if full else [parts[0], parts[-1]]
    notes = []
    for part in voices:
        for n in part.stripTies().flatten().notes:
            if n.isNote:
                notes.append(Note(int(n.pitch.midi), float(n.offset), float(n.quarterLength)))
    if not notes:
        return None
    lo, hi = min(x.pitch for x in notes), max(x.pitch for x in notes)
    shifts = [s for s in range(-19, 6) if lo + s >= STANDARD[0] and hi + s <= STANDARD[-1] + 12]
    if not shifts:
        return None
    shift = min(shifts, key=lambda s: (abs(s + 12), s))
    measures = list(parts[0].getElementsByClass("Measure"))
    bars = sorted({float(m.offset) for m in measures if m.offset > 0})
    ts = parts[0].recurse().getElementsByClass("TimeSignature").first()
    meter = (ts.numerator, ts.denominator) if ts is not None else (4, 4)
    moved = [Note(x.pitch + shift, x.onset, x.duration) for x in notes]
    return Piece(moved, CHORALE_TEMPO, meter, None, bar_beats=bars)


def chorales(stats: Counter, limit: int | None = None) -> list[str]:
    from music21 import corpus

    out: list[str] = []
    for path in sorted(str(p) for p in corpus.getComposer("bach")):
        if limit is not None and len(out) >= limit:
            break
        try:
            score = corpus.parse(path)
        except Exception:  # noqa: BLE001 - a score music21 cannot parse is skipped
            stats["chorales skipped: unparsable"] += 1
            continue
        piece = chorale_piece(score, full=len(out) % 2 == 1)
        if piece is None:
            stats["chorales skipped: not four parts in range"] += 1
            continue
        text = fret_in_turn(piece, [STANDARD, TUNINGS["drop D"], TUNINGS["half-step down"]], len(out), stats)
        if text is not None:
            out.append(text)
    stats["pieces: chorales"] = len(out)
    return out


def folk(stats: Counter, folk_path: Path, limit: int = FOLK_LIMIT) -> list[str]:
    from encoders import get
    from encoders.abc.player import play

    out: list[str] = []
    turns: Counter = Counter()
    for tune in get("abc").split(folk_path.read_text(encoding="utf-8")):
        if len(out) >= limit:
            break
        try:
            piece = play(tune).piece
        except Exception:  # noqa: BLE001 - a tune the player cannot read is skipped
            stats["folk skipped: unplayable"] += 1
            continue
        arranged = accompany(piece, PATTERNS[len(out) % len(PATTERNS)])
        if arranged is None:
            stats["folk skipped: no key"] += 1
            continue
        tunings = tunings_for(piece.key)
        text = fret_in_turn(arranged, tunings, turns[tuple(tunings)], stats)
        turns[tuple(tunings)] += 1
        if text is not None:
            out.append(text)
    stats["pieces: folk"] = len(out)
    return out


def guitar_pro(stats: Counter, folder: Path) -> list[str]:
    allowed = {" ".join(_names(t)) for t in TUNINGS.values()}
    out = []
    for path in sorted(glob.glob(str(folder / "*.gp[345]"))):
        try:
            pieces = COLUMNS.encode_file(path).pieces
        except Exception:  # noqa: BLE001 - a file pyguitarpro cannot read is skipped
            stats["guitar pro skipped: unreadable"] += 1
            continue
        for text in pieces:
            tuning = " ".join(text.split("\n", 1)[0].split(" ")[1:7])
            if tuning in allowed and len(text.split("\n", 1)[0].split(" ")) >= 7:
                out.append(text)
                stats["tuning " + text.split("\n", 1)[0].split(" ", 1)[1]] += 1
            else:
                stats["guitar pro skipped: another tuning"] += 1
    stats["pieces: guitar pro"] = len(out)
    return out


def _names(tuning: tuple[int, ...]) -> list[str]:
    from encoders.tab import pitch_name

    return [pitch_name(p) for p in tuning]


def chord_share(texts: list[str]) -> tuple[int, int]:
    """(time steps with two or more notes, time steps with a note) over the pieces."""
    chords = steps = 0
    for text in texts:
        tab, _ = parse_columns(text)
        for system in tab.systems:
            for e in system:
                if isinstance(e, str):
                    continue
                k = sum(symbol_fret(x) is not None for x in e)
                steps += k > 0
                chords += k > 1
    return chords, steps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="corpora/tabs_corpus.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--folk", default=str(ROOT / "corpora" / "folk.txt"))
    ap.add_argument("--folk-limit", type=int, default=FOLK_LIMIT)
    ap.add_argument("--chorale-limit", type=int, default=None)
    args = ap.parse_args(argv)
    stats: Counter = Counter()
    texts = chorales(stats, args.chorale_limit)
    texts += folk(stats, Path(args.folk), args.folk_limit)
    texts += guitar_pro(stats, ROOT / "tests" / "data" / "guitarpro")
    text = "\n".join(texts)
    Path(args.out).write_text(text, encoding="utf-8")
    chords, steps = chord_share(texts)
    for k, v in sorted(stats.items()):
        print(f"{k}: {v}", file=sys.stderr)
    print(f"steps with 2+ notes: {chords} of {steps} ({chords / max(steps, 1):.1%})", file=sys.stderr)
    print(f"{len(texts)} pieces, {len(text):,} characters -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
