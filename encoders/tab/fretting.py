r"""Fretting: put a `Piece` (a folk melody, chords where present) on a guitar neck.

No tab corpus can be downloaded, so one is made from real music: every tune of
the folk corpus is played (`encoders.abc.player.play`), and its notes are given
strings and frets by the algorithm below, then written with the tab codecs'
own writers (`render_columns`, `render_rows`), so the text re-encodes exactly.

The algorithm
-------------
1. *Grid.*  Onsets are quantized to columns of ``step`` beats (1/4 beat by
   default; column ``i`` is beat ``i * step``).  A note is written at its onset
   column; the columns between stay empty (``-``), which the ``columns`` scheme
   compresses to ``.N``.  Notes sharing a column are a chord: at most one per
   string, duplicates of a pitch merged; the melody (highest) and the bass
   (lowest) are kept first, inner voices dropped first (`voice_order`).
2. *Range.*  Playable pitches run from the lowest open string to the highest
   string's fret 19.  A piece outside that range is moved by whole octaves (the
   shift nearest to none); one wider than the range is `Unfrettable`.
3. *Candidates.*  For each column, every way to put its notes on distinct
   strings with frets 0..19 whose fretted notes are at most 4 frets apart
   (one hand position); when none exists, notes are dropped from the end of
   the column's `voice_order` (inner voices, then the bass) until one does.
4. *Hand.*  The fretting hand sits at a position ``p`` (index finger on fret
   ``p``, 1..16) and reaches frets ``p .. p+3`` freely; ``p-1`` or ``p+4`` is a
   stretch (cost 1 per note); anything farther is out of reach.  Open strings
   are always in reach.
5. *Dynamic programming* over the columns, state = (candidate, position):

       cost = sum over columns of  stretches + 0.3 per fretted note + 0.05 * p
            + sum over moves     of  |p - p'| + 0.5 (when the hand moves at all)

   so the hand stays put while it can (minimal movement), lower positions and
   open strings win ties, and wide stretches are avoided.  One hard rule comes
   from the text itself: a one-digit fret directly followed, on the same string
   in the next column, by a fret whose first digit would join it into a fret
   <= 24 (``1`` then ``2`` reads as ``12``) is forbidden; if a piece cannot avoid
   it (repeated sixteenths on a low open string), it is `Unfrettable`.
6. *Bars* come from ``piece.bar_beats`` (else from the meter) as ``|`` tokens;
   a system (a line) holds four bars.

A tiny example, a C major scale in eighth notes, standard tuning: the DP keeps
the hand in second position (frets 2-5), uses the open strings, never shifts::

    >>> from encoders.piece import Note, Piece
    >>> scale = Piece([Note(p, i / 2, 0.5) for i, p in enumerate([48, 50, 52, 53, 55, 57, 59, 60])],
    ...               bar_beats=[4.0])
    >>> print(render_columns(fret(scale)), end="")
    %columns E2 A2 D3 G3 B3 E4
    -3---- .1 --0--- .1 --2--- .1 --3--- .1 ---0-- .1 ---2-- .1 ----0- .1 ----1- .1 |

Run ``python -m encoders.tab.fretting --out corpora/tabs.txt --scheme columns
--limit 3000`` to build the tab corpus (see corpora/tabs_recipe.md).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from dataclasses import dataclass

import numpy as np

from encoders.piece import Piece, UsageError
from encoders.tab import COLUMNS, DEFAULT_TUNINGS, ROWS, Tab, fret_symbol, header_tuning, render_columns, render_rows

__all__ = [
    "TUNINGS",
    "STANDARD",
    "Unfrettable",
    "Fretting",
    "fret",
    "fretting",
    "first_fretting",
    "build_tabs",
    "voice_order",
]

TUNINGS: dict[str, tuple[int, ...]] = {
    "standard": DEFAULT_TUNINGS[6],
    "drop D": header_tuning("drop D", 6),
    "DADGAD": header_tuning("DADGAD", 6),
    "open G": header_tuning("open G", 6),
    "half-step down": header_tuning("half step down", 6),
}
STANDARD = TUNINGS["standard"]

MAX_FRET = 19
POSITIONS = np.arange(1, MAX_FRET - 3 + 1)  # index finger on fret 1..16
STRETCH = 1.0
FRETTED = 0.3
LOW = 0.05
MOVE = 0.5
BARS_PER_SYSTEM = 4

_P = len(POSITIONS)
_TRANS = np.abs(POSITIONS[:, None] - POSITIONS[None, :]) * 1.0
_TRANS += MOVE * (_TRANS > 0)


class Unfrettable(UsageError):
    """A piece that no octave shift brings into range, or that cannot avoid frets
    which would read as one."""


@dataclass(slots=True)
class Fretting:
    """A fretted piece: the tab, the octave shift applied (semitones), and how
    many notes were merged or dropped (duplicates in a column, chords wider than
    the strings allow)."""

    tab: Tab
    shift: int
    dropped: int


def _col(beat: float, step: float) -> int:
    return int(math.floor(beat / step + 0.5 + 1e-9))


def _reach(frets: tuple[int, ...]) -> np.ndarray | None:
    """Cost per hand position of one candidate's frets (inf where out of reach)."""
    fretted = [f for f in frets if f > 0]
    cost = np.full(_P, FRETTED * len(fretted)) + LOW * POSITIONS
    if fretted and max(fretted) - min(fretted) > 4:
        return None
    for f in fretted:
        d = np.where(f < POSITIONS, POSITIONS - f, np.maximum(0, f - POSITIONS - 3))
        cost = cost + np.where(d == 0, 0.0, np.where(d == 1, STRETCH, np.inf))
    return cost


def voice_order(pitches) -> list[int]:
    """A chord's pitches in the order they are kept: the highest (the melody), the
    lowest (the bass), then the inner voices from the top down."""
    ps = sorted(set(pitches), reverse=True)
    return ps[:1] + ps[-1:] + ps[1:-1] if len(ps) > 1 else ps


def _candidates(pitches: list[int], tuning: tuple[int, ...]):
    """(assignment, reach cost) for a column's pitches (in `voice_order`); the last
    pitches are dropped until an assignment exists.  Assignment: {string: fret}.
    The assignments are searched string by string, a branch cut as soon as two notes
    share a string or its fretted notes span more than 4 frets."""
    for keep in range(len(pitches), 0, -1):
        ps = pitches[:keep]
        options = [[(s, p - o) for s, o in enumerate(tuning) if 0 <= p - o <= MAX_FRET] for p in ps]
        out = []
        for combo in _spans_in_reach(options):
            reach = _reach(tuple(f for _, f in combo))
            if reach is not None and np.isfinite(reach).any():
                out.append((dict(combo), reach))
        if out:
            return out, len(pitches) - keep
    return [], len(pitches)


def _spans_in_reach(options: list[list[tuple[int, int]]]):
    """The (string, fret) combinations of `options` (one per note, in the order of
    ``itertools.product``) on distinct strings with fretted notes at most 4 frets apart."""
    chosen: list[tuple[int, int]] = []

    def walk(i: int, used: int, lo: int, hi: int):
        if i == len(options):
            yield tuple(chosen)
            return
        for s, f in options[i]:
            if used >> s & 1:
                continue
            a, b = (min(lo, f), max(hi, f)) if f > 0 else (lo, hi)
            if b - a > 4:
                continue
            chosen.append((s, f))
            yield from walk(i + 1, used | 1 << s, a, b)
            chosen.pop()

    yield from walk(0, 0, MAX_FRET + 1, -1)


def _clash(prev: dict[int, int], cur: dict[int, int]) -> bool:
    """Would a fret in `prev` and the next column's fret on the same string read as one?"""
    for s, f0 in prev.items():
        f1 = cur.get(s)
        if f1 is not None and f0 <= 9 and int(str(f0) + str(f1)[0]) <= 24:
            return True
    return False


def fretting(
    piece: Piece,
    tuning: tuple[int, ...] = STANDARD,
    step: float = 0.25,
    *,
    clash: bool = True,
    max_candidates: int | None = None,
) -> Fretting:
    """Fret a piece (see the module docstring); raises `Unfrettable`.

    `clash=False` lifts the rule against frets that would read as one (for a tab that is
    never written as ``rows`` text: the ``.tab`` staff puts a ``-`` between touching frets,
    and a Guitar Pro file has no text).  `max_candidates` keeps only the fingerings of a
    column that cost the hand least (the time and memory of the search then grow with the
    piece's length alone, not with the size of its chords)."""
    n = len(tuning)
    notes = [x for x in piece.notes if x.duration >= 0]
    if not notes:
        raise Unfrettable("no notes")
    lo, hi = min(tuning), max(tuning) + MAX_FRET
    pmin, pmax = min(x.pitch for x in notes), max(x.pitch for x in notes)
    shifts = [k * 12 for k in range(-10, 11) if pmin + 12 * k >= lo and pmax + 12 * k <= hi]
    if not shifts:
        raise Unfrettable(f"pitches {pmin}..{pmax} do not fit {lo}..{hi} in any octave")
    shift = min(shifts, key=lambda k: (abs(k), k))

    columns: dict[int, set[int]] = {}
    for x in notes:
        columns.setdefault(_col(x.onset, step), set()).add(x.pitch + shift)
    dropped = len(notes) - sum(len(v) for v in columns.values())
    end = max(max(_col(x.onset + x.duration, step) for x in notes), max(columns) + 1)
    if piece.bar_beats:
        bar_cols = {_col(b, step) for b in piece.bar_beats}
    elif piece.meter:
        length = piece.meter[0] * 4 / piece.meter[1]
        bar_cols = {_col(length * k, step) for k in range(1, int(end * step / length) + 1)}
    else:
        bar_cols = set()
    bar_cols = {c for c in bar_cols if 0 < c <= end}

    order = sorted(columns)
    cands, back = [], []
    known: dict[tuple[int, ...], tuple[list, int, np.ndarray]] = {}  # a chord's fingerings, searched once a piece
    prev_cost = None
    for i, c in enumerate(order):
        pitches = voice_order(columns[c])[:n]
        dropped += len(columns[c]) - len(pitches)
        if tuple(pitches) not in known:
            found, lost = _candidates(pitches, tuning)
            if max_candidates is not None and len(found) > max_candidates:
                found = sorted(found, key=lambda x: float(x[1].min()))[:max_candidates]
            if not found:
                raise Unfrettable(f"no fingering for pitches {pitches}")
            known[tuple(pitches)] = found, lost, np.stack([r for _, r in found])
        cand, lost, reach = known[tuple(pitches)]  # reach: (A, P)
        dropped += lost
        if i == 0:
            cost = reach
            bk = None
        else:
            adjacent = clash and c - order[i - 1] == 1 and c not in bar_cols
            cost = np.empty_like(reach)
            bk = np.empty(reach.shape + (2,), dtype=np.int32)
            best_all = prev_cost.min(axis=0)
            arg_all = prev_cost.argmin(axis=0)
            if not adjacent:  # every fingering follows the best one of each hand position
                via = best_all[:, None] + _TRANS  # (P prev, P cur)
                pbest = via.argmin(axis=0)
                cost = via[pbest, np.arange(_P)][None, :] + reach
                bk[:, :, 0] = arg_all[pbest]
                bk[:, :, 1] = pbest
            for a, (assign, _) in enumerate(cand if adjacent else ()):
                ok = np.array([not _clash(pa, assign) for pa, _ in cands[-1]])
                masked = np.where(ok[:, None], prev_cost, np.inf)
                best, arg = masked.min(axis=0), masked.argmin(axis=0)
                via = best[:, None] + _TRANS  # (P prev, P cur)
                pbest = via.argmin(axis=0)
                cost[a] = via[pbest, np.arange(_P)] + reach[a]
                bk[a, :, 0] = arg[pbest]
                bk[a, :, 1] = pbest
        if not np.isfinite(cost).any():
            raise Unfrettable(f"column {c}: frets would read as one on some string")
        cands.append(cand)
        prev_cost = cost
        back.append(bk)

    # backtrack
    a, p = np.unravel_index(int(np.argmin(prev_cost)), prev_cost.shape)
    chosen = [None] * len(order)
    for i in range(len(order) - 1, -1, -1):
        chosen[i] = cands[i][a][0]
        if back[i] is not None:
            a, p = back[i][a, p]

    steps = {c: chosen[i] for i, c in enumerate(order)}
    systems: list[list] = []
    events: list = []
    bars = 0
    for c in range(end + 1):
        if c in bar_cols:
            events.append("|")
            bars += 1
            if bars % BARS_PER_SYSTEM == 0 and c < end:
                systems.append(events)
                events = []
        if c == end:
            break
        assign = steps.get(c, {})
        events.append(tuple(fret_symbol(assign[s]) if s in assign else "-" for s in range(n)))
    if events:
        systems.append(events)
    return Fretting(Tab(tuple(tuning), systems), shift, dropped)


def fret(piece: Piece, tuning: tuple[int, ...] = STANDARD, step: float = 0.25) -> Tab:
    """The tab of a piece: strings and frets by minimal hand movement (module docstring)."""
    return fretting(piece, tuning, step).tab


# ---------------------------------------------------------------- corpus


def first_fretting(piece: Piece, tunings: list[tuple[int, ...]], turn: int = 0) -> Fretting | None:
    """The piece fretted in tunings[turn] (taken in turn, modulo their number), else in the
    first of the following ones that can fret it; None when none can."""
    for j in range(len(tunings)):
        try:
            return fretting(piece, tunings[(turn + j) % len(tunings)])
        except Unfrettable:
            continue
    return None


def build_tabs(
    folk_stream_text: str,
    scheme: str = "columns",
    tunings: list[tuple[int, ...]] | None = None,
    limit: int | None = None,
    stats: Counter | None = None,
) -> list[str]:
    """Piece texts (``scheme`` rows or columns) of the folk tunes of a stream,
    in order, each fretted in one tuning: the tunings are taken in turn (the
    k-th tab written gets tunings[k % len]); a tune that cannot be fretted in
    its turn's tuning tries the following ones, and is skipped if none works.
    Every text is checked to re-encode to itself.  `stats` (if given) counts
    tunes written, skipped and per tuning."""
    from encoders import get
    from encoders.abc.player import play

    tunings = list(tunings or TUNINGS.values())
    codec = COLUMNS if scheme == "columns" else ROWS if scheme == "rows" else None
    if codec is None:
        raise ValueError(f"unknown tab scheme {scheme!r}")
    render = render_columns if scheme == "columns" else render_rows
    stats = stats if stats is not None else Counter()
    out: list[str] = []
    for tune in get("abc").split(folk_stream_text):
        if limit is not None and len(out) >= limit:
            break
        try:
            piece = play(tune).piece
        except Exception:  # noqa: BLE001 - a tune the player cannot read is skipped
            stats["skipped: unplayable"] += 1
            continue
        if not piece.notes:
            stats["skipped: no notes"] += 1
            continue
        f = first_fretting(piece, tunings, len(out))
        if f is None:
            stats["skipped: unfrettable"] += 1
            continue
        text = render(f.tab)
        if codec.encode_text(text).pieces != [text]:
            stats["skipped: no exact re-encoding"] += 1
            continue
        out.append(text)
        stats["written"] += 1
        stats[f"tuning {' '.join(map(str, f.tab.tuning))}"] += 1
        stats["notes dropped or merged"] += f.dropped
        stats["octave-shifted"] += f.shift != 0
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m encoders.tab.fretting", description="Fret the folk corpus into a tab corpus."
    )
    ap.add_argument("--folk", default="corpora/folk.txt")
    ap.add_argument("--out", required=True)
    ap.add_argument("--scheme", choices=("columns", "rows"), default="columns")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    with open(args.folk, encoding="utf-8") as fh:
        stream = fh.read()
    stats: Counter = Counter()
    pieces = build_tabs(stream, args.scheme, None, args.limit, stats)
    text = "\n".join(pieces)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    for k, v in sorted(stats.items()):
        print(f"{k}: {v}", file=sys.stderr)
    print(f"{len(pieces)} pieces, {len(text)} characters -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
