"""How well MIDI written by other tools keeps its notes through the ``roll`` and ``events`` schemes.

    python -m tools.reference_midi --folk 300 --chorales all

Two sources of MIDI that is not ours:

* **abc2midi** (Debian ``abcmidi``, the reference ABC player) plays a seeded
  random sample of the folk corpus (corpora/folk.txt) as it stands: melody,
  chord accompaniment, grace notes, everything it writes;
* **music21** writes the Bach chorales of its corpus (``score.write('midi')``):
  four voices, each in its own track.

For each file and each scheme: MIDI -> `codec.encode_file` (merged parts, drums
dropped) -> stream text -> `codec.decode` -> a MIDI file again
(`musicrnn.render.write_midi`, mido, no torch).  Both the source file and the
written one are read with **pretty_midi**, not with our reader, and both sets of
notes are put on the grid the same way (onset and end rounded to the nearest step, at least
one step long).  The score of a file is the F1 of the two multisets of (pitch,
onset step, end step); a *failure* is a file a scheme could not encode at all.

Notes outside the schemes' pitch range (21-108) are counted and left out of
both sides (there are none in either source).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import pretty_midi

import encoders
from encoders.midi.grid import DEFAULT_GRID, PITCH_HI, PITCH_LO, parse_grid

__all__ = ["grid_notes", "note_f1", "round_trip", "measure", "main"]

ABC2MIDI = shutil.which("abc2midi") or "/usr/bin/abc2midi"
ROOT = Path(__file__).resolve().parents[2]


def grid_notes(path: str | os.PathLike, grid: int = DEFAULT_GRID) -> Counter:
    """The pitched notes of a MIDI file as read by pretty_midi, on the grid: a
    multiset of (pitch, onset step, end step)."""
    pm = pretty_midi.PrettyMIDI(os.fspath(path))
    per_beat = grid / 4
    found: Counter = Counter()
    for instrument in pm.instruments:
        if instrument.is_drum:
            continue
        for n in instrument.notes:
            if not PITCH_LO <= n.pitch <= PITCH_HI:
                continue
            start = round(pm.time_to_tick(n.start) / pm.resolution * per_beat)
            end = max(start + 1, round(pm.time_to_tick(n.end) / pm.resolution * per_beat))
            found[(n.pitch, start, end)] += 1
    return found


def note_f1(ref: Counter, ours: Counter) -> float:
    """F1 of two multisets of notes (1.0 for two empty ones)."""
    matched = sum((ref & ours).values())
    total = sum(ref.values()) + sum(ours.values())
    return 1.0 if total == 0 else 2 * matched / total


def round_trip(path: str, scheme: str, grid: int, workdir: str) -> Counter:
    """The notes of a MIDI file after MIDI -> scheme text -> decoded piece -> MIDI."""
    from musicrnn.render import write_midi  # mido only; kept out of import time

    codec = encoders.get(scheme)
    text = codec.encode_file(path, grid=grid).pieces[0]
    decoded = codec.decode(text)
    out = os.path.join(workdir, f"{scheme}-{os.path.basename(path)}")
    write_midi(decoded.piece, out)
    return grid_notes(out, grid)


def abc2midi_files(count: int, seed: int, folder: str) -> tuple[list[str], int]:
    """MIDI files abc2midi writes for `count` random tunes of corpora/folk.txt; and how many it wrote nothing for."""
    tunes = encoders.split_stream((ROOT / "corpora" / "folk.txt").read_text(encoding="utf-8"))
    picked = sorted(random.Random(seed).sample(range(len(tunes)), min(count, len(tunes))))
    files, silent = [], 0
    for index in picked:
        src = os.path.join(folder, f"folk_{index:05d}.abc")
        out = os.path.join(folder, f"folk_{index:05d}.mid")
        with open(src, "w", encoding="utf-8") as fh:
            fh.write(tunes[index])
        subprocess.run([ABC2MIDI, src, "-o", out], capture_output=True, timeout=30)
        if os.path.exists(out) and os.path.getsize(out) > 0:
            files.append(out)
        else:
            silent += 1
    return files, silent


def music21_chorales(count: int | None, folder: str) -> tuple[list[str], int]:
    """MIDI files music21 writes for its Bach chorales (all when count is None); and how many it could not parse."""
    from music21 import corpus

    names = list(dict.fromkeys(corpus.chorales.Iterator(returnType="filename")))
    if count is not None:
        names = names[:count]
    files, broken = [], 0
    for name in names:
        out = os.path.join(folder, name.replace("/", "_").replace(".", "_") + ".mid")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                corpus.parse(name).write("midi", fp=out)
            files.append(out)
        except Exception:
            broken += 1
    return files, broken


def measure(files: list[str], grid: int, schemes=("roll", "events")) -> dict[str, dict]:
    """Per scheme: mean F1, share of files identical on the grid, failures (file: reason), notes compared."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="midi-reference-") as work:
        refs = {f: grid_notes(f, grid) for f in files}
        for scheme in schemes:
            scores, failures = [], []
            for f in files:
                try:
                    ours = round_trip(f, scheme, grid, work)
                except Exception as e:
                    failures.append(f"{os.path.basename(f)}: {e}")
                    continue
                scores.append(note_f1(refs[f], ours))
            results[scheme] = {
                "files": len(files),
                "mean_f1": statistics.fmean(scores) if scores else 0.0,
                "min_f1": min(scores, default=0.0),
                "identical": sum(s == 1.0 for s in scores) / max(1, len(scores)),
                "failures": failures,
                "notes": sum(sum(r.values()) for r in refs.values()),
            }
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tools.reference_midi",
        description="Note F1 of MIDI by abc2midi and music21 through roll and events.",
    )
    ap.add_argument("--folk", type=int, default=300, help="folk tunes played by abc2midi (0: none)")
    ap.add_argument("--chorales", default="all", help="how many music21 chorales, or 'all' (0: none)")
    ap.add_argument("--grid", default=str(DEFAULT_GRID), help="steps per whole note (16, 12, 8t, ...)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    grid = parse_grid(args.grid)
    count = None if args.chorales == "all" else int(args.chorales)
    with tempfile.TemporaryDirectory(prefix="midi-sources-") as folder:
        t0 = time.time()
        sources = []
        if args.folk:
            files, silent = abc2midi_files(args.folk, args.seed, folder)
            sources.append((f"abc2midi, {len(files)} folk tunes ({silent} where it wrote no file)", files))
        if count != 0:
            files, broken = music21_chorales(count, folder)
            sources.append((f"music21, {len(files)} Bach chorales ({broken} music21 cannot parse)", files))
        print(f"grid: {grid} steps per whole note; sources made in {time.time() - t0:.0f} s")
        print(
            f"{'source':<58} {'scheme':<7} {'notes':>7} {'mean F1':>8} {'min F1':>7} {'identical':>9} {'failures':>8}"
        )
        worst = 1.0
        for label, files in sources:
            for scheme, r in measure(files, grid).items():
                print(
                    f"{label:<58} {scheme:<7} {r['notes']:>7} {r['mean_f1']:>8.4f} {r['min_f1']:>7.3f} "
                    f"{r['identical']:>9.1%} {len(r['failures']):>8}"
                )
                for failure in r["failures"][:10]:
                    print(f"    failed: {failure}")
                worst = min(worst, r["mean_f1"] if not r["failures"] else 0.0)
    return 0 if worst >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())
