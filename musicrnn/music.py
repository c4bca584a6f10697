"""The music table: does a set of pieces sound like the tradition it learned from?

    generated pieces, held-out real pieces, training pieces (real vs real, for reference)
        --codec.decode + codec.figures--> PieceFigures each
        --music_table--> rows: measure | generated | held-out real | training real

What a musician hears at once, as shares and counts:

* ends on the tonic: the lowest note of the last onset is the key's tonic (the key
  from the text's key field, else estimated from the notes, Krumhansl-Schmuckler);
* repeated bars: written bars whose music repeats an earlier bar exactly;
* repeat signs, ``||`` per piece (schemes whose text has them);
* length in bars (written length / the meter's bar, so a pickup and its
  complement count as one bar), and the share a multiple of 8;
* off-length inner bars: written bars, first and last aside, whose length is not
  the meter's (as music21 reads them), except at a repeat sign (a pickup's
  complement before it, the pickup after it); for schemes without bars in the
  text, the bars as played, a short bar that a neighbour completes excused;
* meter and mode distributions, their total variation distance from the real
  set, and the share of pieces with a meter (or R: rhythm) that no training piece has.

And MGEval-style overlaps (Yang & Lerch 2018): for each feature, every piece's
value (a normalized histogram or a number), the distances between pieces inside
the real set and between the other set and the real set, each smoothed into a
density (Gaussian kernel); the overlap of the two densities is 1 when the other
set is as close to the real set as the real set is to itself.  Features: pitch
classes relative to the tonic, melodic intervals (highest note per onset, -12 to
+12 semitones), note lengths, notes per bar, range.  Last, the mean distance
between two pieces of a set (mean total variation of their pitch-class, interval
and note-length histograms): a model that writes one tune over and over scores low.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from encoders import Scheme

__all__ = ["PieceFigures", "SetFigures", "figures_of", "music_rows", "overlap", "set_figures"]

# Krumhansl-Kessler key profiles (major, minor), tonic first.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_LENGTHS = np.array([1 / 8, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4, 1, 1.5, 2, 3, 4])
FEATURES = ("pitch classes (from the tonic)", "intervals", "note lengths", "notes per bar", "range")
_HISTOGRAMS = FEATURES[:3]


@dataclass
class PieceFigures:
    """One piece's musical figures (None where the piece gives no answer)."""

    notes: int
    ends_on_tonic: bool | None
    written_bars: int
    repeated_bars: int
    repeat_signs: bool | None
    double_bars: int | None
    bars: int | None
    inner_bars: int
    off_length_bars: int
    meter: str
    mode: str
    rhythm: str | None
    features: dict[str, np.ndarray] = field(default_factory=dict)


def estimate_key(notes: Sequence[Any]) -> tuple[int, str]:
    """(tonic pitch class, 'maj' or 'min') that best fits the notes' duration-weighted
    pitch classes (Krumhansl-Schmuckler)."""
    weights = np.zeros(12)
    for n in notes:
        weights[n.pitch % 12] += n.duration
    if not weights.any():
        return 0, "maj"
    best = (-2.0, 0, "maj")
    for mode, profile in (("maj", _MAJOR), ("min", _MINOR)):
        for tonic in range(12):
            r = np.corrcoef(weights, np.roll(profile, tonic))[0, 1]
            if np.isfinite(r) and r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


def _histogram(values: np.ndarray, bins: int) -> np.ndarray:
    h = np.bincount(values, minlength=bins).astype(float)
    return h / h.sum() if h.sum() else h


def figures_of(codec: Scheme, text: str) -> PieceFigures:
    """The figures of one piece of `codec`'s text (never raises on a piece the codec decodes)."""
    decoded = codec.decode(text)
    piece = decoded.piece
    tf: dict[str, Any] = codec.figures(text) or {}
    notes = sorted(piece.notes, key=lambda n: (n.onset, n.pitch))
    tonic, mode = tf.get("tonic_pc"), tf.get("mode")
    if tonic is None or not mode:
        est_tonic, est_mode = estimate_key(notes)
        tonic = est_tonic if tonic is None else tonic
        mode = mode or est_mode
    meter = tf.get("meter") or (f"{piece.meter[0]}/{piece.meter[1]}" if piece.meter else "none")
    bar_length = tf.get("bar_length")
    if bar_length is None and piece.meter:
        bar_length = 4.0 * piece.meter[0] / piece.meter[1]

    # written bars: the text's own, else the notes between the bar lines as played
    # written bars and their lengths: the text's own, else the bars as played
    edges = sorted(set(piece.bar_beats) | {0.0, piece.end})
    bars = tf.get("written_bars")
    if bars is None:
        bars = [
            tuple((n.pitch, round(n.onset - lo, 3), round(n.duration, 3)) for n in notes if lo <= n.onset < hi)
            for lo, hi in zip(edges, edges[1:])
        ]
    lengths = tf.get("bar_lengths")
    if lengths is None:
        lengths = [hi - lo for lo, hi in zip(edges, edges[1:])]
    seen: set = set()
    repeated = 0
    for b in bars:
        if b and b in seen:
            repeated += 1
        seen.add(b)

    inner = off = 0
    n_bars = None
    at_repeat = tf.get("at_repeat") if tf.get("bar_lengths") is not None else None
    if lengths and bar_length:
        n_bars = round(sum(lengths) / bar_length)
        for i in range(1, len(lengths) - 1):
            inner += 1
            if abs(lengths[i] - bar_length) > 1e-6:
                if at_repeat is not None:  # the text's bars: a repeat sign excuses a short bar
                    off += not at_repeat[i]
                else:  # bars as played: one a neighbour completes is excused
                    off += not any(abs(lengths[i] + lengths[j] - bar_length) < 1e-6 for j in (i - 1, i + 1))

    ends = None
    features: dict[str, np.ndarray] = {}
    if notes:
        last = max(n.onset for n in notes)
        ends = min(n.pitch for n in notes if n.onset == last) % 12 == tonic
        pitches = np.array([n.pitch for n in notes])
        features[FEATURES[0]] = _histogram((pitches - tonic) % 12, 12)
        melody: dict[float, int] = {}
        for n in notes:
            melody[n.onset] = max(melody.get(n.onset, -1), n.pitch)
        steps = np.diff([melody[k] for k in sorted(melody)])
        features[FEATURES[1]] = _histogram(np.clip(steps, -12, 12).astype(int) + 12, 25)
        durs = np.array([n.duration for n in notes])
        cls = np.abs(durs[:, None] - _LENGTHS[None, :]).argmin(axis=1)
        cls[durs > _LENGTHS[-1] * 1.25] = len(_LENGTHS)
        features[FEATURES[2]] = _histogram(cls, len(_LENGTHS) + 1)
        played_bars = max(1.0, piece.end / bar_length) if bar_length else max(1.0, piece.end / 4.0)
        features[FEATURES[3]] = np.array([len(melody) / played_bars])
        features[FEATURES[4]] = np.array([float(pitches.max() - pitches.min())])
    return PieceFigures(
        notes=len(notes),
        ends_on_tonic=ends,
        written_bars=len(bars),
        repeated_bars=repeated,
        repeat_signs=tf.get("repeat_signs"),
        double_bars=tf.get("double_bars"),
        bars=n_bars,
        inner_bars=inner,
        off_length_bars=off,
        meter=meter,
        mode=mode or "",
        rhythm=tf.get("rhythm"),
        features=features,
    )


# --------------------------------------------------------------------------- sets


@dataclass
class SetFigures:
    """A set of pieces' figures, summed up."""

    pieces: list[PieceFigures]

    def share(self, pick: Callable[[PieceFigures], bool | None]) -> float:
        flags = [pick(p) for p in self.pieces]
        flags = [f for f in flags if f is not None]
        return sum(flags) / len(flags) if flags else float("nan")

    def ratio(self, part: str, whole: str) -> float:
        num = sum(getattr(p, part) for p in self.pieces)
        den = sum(getattr(p, whole) for p in self.pieces)
        return num / den if den else float("nan")

    def tonic_endings(self) -> float:
        """The share of pieces that end on the tonic of their key."""
        return self.share(lambda p: p.ends_on_tonic)

    def repeated_bars(self) -> float:
        """The share of written bars that repeat an earlier bar of their piece."""
        return self.ratio("repeated_bars", "written_bars")

    def eight_bar_lengths(self) -> float:
        """The share of pieces whose length is a multiple of 8 bars (pickup aside)."""
        return self.share(lambda p: None if not p.bars else p.bars % 8 == 0)

    def mean(self, pick: Callable[[PieceFigures], float | None]) -> float:
        values = [v for v in map(pick, self.pieces) if v is not None]
        return float(np.mean(values)) if values else float("nan")

    def distribution(self, what: str) -> dict[str, float]:
        counts = Counter(getattr(p, what) for p in self.pieces)
        total = sum(counts.values())
        return {k: v / total for k, v in counts.items()} if total else {}

    def vectors(self, feature: str) -> np.ndarray:
        rows = [p.features[feature] for p in self.pieces if feature in p.features]
        return np.array(rows) if rows else np.zeros((0, 1))

    def mean_distance(self) -> float:
        """Mean over pairs of pieces of the mean total variation of their histograms."""
        per = [_some(self.vectors(f)) for f in _HISTOGRAMS]
        if min(len(v) for v in per) < 2:
            return float("nan")
        dists = [np.mean(_pairwise(v, v, same=True)) / 2 for v in per]  # L1 / 2 = total variation
        return float(np.mean(dists))


def set_figures(codec: Scheme, texts: Sequence[str]) -> SetFigures:
    return SetFigures([figures_of(codec, t) for t in texts])


MAX_PIECES = 1000
"""Pieces of a set the pairwise measures use (a seeded choice beyond that): the distances
grow with the square of the count, and 1,000 pieces give 500,000 pairs."""


def _some(rows: np.ndarray, seed: int = 0) -> np.ndarray:
    if len(rows) <= MAX_PIECES:
        return rows
    return rows[np.sort(np.random.default_rng(seed).choice(len(rows), MAX_PIECES, replace=False))]


def _pairwise(a: np.ndarray, b: np.ndarray, same: bool = False, metric: str = "l1") -> np.ndarray:
    """Distances between the rows of a and b (each unordered pair once when `same`), computed
    a block of rows at a time so memory stays near the size of the answer."""
    out = []
    for lo in range(0, len(a), 64):
        diff = np.abs(a[lo : lo + 64, None, :] - b[None, :, :])
        d = diff.sum(-1) if metric == "l1" else np.sqrt((diff**2).sum(-1))
        if same:  # pairs (i, j) with j > i only
            d = d[np.arange(len(d))[:, None] + lo < np.arange(len(b))[None, :]]
        out.append(d.reshape(-1))
    return np.concatenate(out) if out else np.zeros(0)


def _density(samples: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of `samples` on `grid` (Silverman's bandwidth)."""
    sd = samples.std()
    h = 1.06 * sd * len(samples) ** -0.2 if sd > 0 else 1e-3 + 0.01 * abs(samples.mean())
    out = np.zeros_like(grid)
    for chunk in np.array_split(samples, max(1, len(samples) // 4096)):
        out += np.exp(-0.5 * ((grid[None, :] - chunk[:, None]) / h) ** 2).sum(0)
    return out / (len(samples) * h * np.sqrt(2 * np.pi))


def overlap(other: np.ndarray, real: np.ndarray, max_pairs: int = 20000, seed: int = 0) -> float:
    """MGEval's overlapped area: the density of distances inside `real` against the density
    of distances from `other` to `real` (rows are pieces' feature vectors); 1 = indistinguishable."""
    if len(other) < 1 or len(real) < 2:
        return float("nan")
    other, real = _some(other, seed), _some(real, seed + 1)
    rng = np.random.default_rng(seed)
    intra = _pairwise(real, real, same=True, metric="l2")
    inter = _pairwise(other, real, metric="l2")
    intra = intra if len(intra) <= max_pairs else rng.choice(intra, max_pairs, replace=False)
    inter = inter if len(inter) <= max_pairs else rng.choice(inter, max_pairs, replace=False)
    lo, hi = min(intra.min(), inter.min()), max(intra.max(), inter.max())
    span = hi - lo or 1.0
    grid = np.linspace(lo - 0.25 * span, hi + 0.25 * span, 1024)
    a, b = _density(intra, grid), _density(inter, grid)
    return float(np.minimum(a, b).sum() * (grid[1] - grid[0]))


def _total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def _top(dist: dict[str, float], n: int = 3) -> str:
    return ", ".join(f"{k} {100 * v:.0f}%" for k, v in sorted(dist.items(), key=lambda kv: -kv[1])[:n])


# --------------------------------------------------------------------------- the table


def music_rows(
    generated: SetFigures, real: SetFigures, reference: SetFigures, corpus: dict[str, Counter]
) -> list[tuple[str, str, str, str]]:
    """(measure, generated, held-out real, training real) rows.  `reference` is a second
    real set (training pieces): beside each comparison with the held-out set it shows
    what real music scores.  `corpus`: Counters of the training pieces' "meter", "mode"
    and "rhythm" values, for the distributions' distances and the values no piece has."""
    sets = (generated, real, reference)
    pct = lambda x: "-" if x != x else f"{100 * x:.0f}%"  # noqa: E731
    num = lambda x, f=".2f": "-" if x != x else format(x, f)  # noqa: E731

    def each(fmt: Callable[[float], str], get: Callable[[SetFigures], float]) -> tuple[str, str, str]:
        return tuple(fmt(get(s)) for s in sets)  # type: ignore[return-value]

    rows: list[tuple[str, str, str, str]] = [
        ("pieces", *each(lambda x: f"{x:.0f}", lambda s: len(s.pieces))),
        ("ends on the tonic of its key", *each(pct, SetFigures.tonic_endings)),
        ("written bars that repeat an earlier bar", *each(pct, SetFigures.repeated_bars)),
    ]
    if any(p.repeat_signs is not None for p in real.pieces):
        rows.append(("pieces with repeat signs", *each(pct, lambda s: s.share(lambda p: p.repeat_signs))))
    rows.append(("length a multiple of 8 bars (pickup aside)", *each(pct, SetFigures.eight_bar_lengths)))
    rows.append(("mean length in bars", *each(lambda x: num(x, ".1f"), lambda s: s.mean(lambda p: p.bars))))
    if any(p.double_bars is not None for p in real.pieces):
        rows.append(("|| per piece", *each(num, lambda s: s.mean(lambda p: p.double_bars))))
    rows.append(
        (
            "inner bars not the meter's length (repeat signs aside)",
            *each(lambda x: "-" if x != x else f"{100 * x:.1f}%", lambda s: s.ratio("off_length_bars", "inner_bars")),
        )
    )
    for what in ("meter", "mode", "rhythm"):
        known = corpus.get(what) or Counter()
        total = sum(known.values())
        if what == "rhythm" and not total:
            continue
        dist = [s.distribution(what) for s in sets]
        rows.append((f"{what}s (most common)", *(_top(d) for d in dist)))
        if what != "rhythm":
            whole = {k: v / total for k, v in known.items()} if total else {}
            rows.append(
                (
                    f"{what} distribution, total variation from the corpus",
                    *(num(_total_variation(d, whole)) for d in dist),
                )
            )
        if what != "mode":
            label = "meters" if what == "meter" else "R: values"
            rows.append(
                (
                    f"{label} no training piece has (of those written)",
                    *each(
                        pct,
                        lambda s, w=what, k=known: s.share(
                            lambda p: None if getattr(p, w) is None else getattr(p, w) not in k
                        ),
                    ),
                )
            )
    for feature in FEATURES:
        rv = real.vectors(feature)
        rows.append(
            (
                f"overlap with held-out real: {feature} (MGEval)",
                num(overlap(generated.vectors(feature), rv)),
                "1.00",
                num(overlap(reference.vectors(feature), rv)),
            )
        )
    rows.append(("mean distance between two pieces of the set", *each(num, lambda s: s.mean_distance())))
    return rows
