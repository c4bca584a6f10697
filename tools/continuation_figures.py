"""How well MIDI models continue held-out piano music: the issue 16 figures, models side by side.

    python -m tools.continuation_figures --model musicrnn/models/midi --model outputs/models/piano_roll

Seeds: the held-out real piano pieces (corpora/piano_heldout.txt, in events so
with their velocities; never trained on), each cut at bars 0, 8, 16 ... (`--starts`), the hands split at
middle C into two named tracks, written as MIDI in a scratch folder.  Each
seed's first `--seed-bars` bars prime the model (`musicrnn.continue_file`),
which writes `--bars` more, `--samples` times.  For each model (with its
grammar, and with ``--free`` also without) the table gives the means of
`encoders.midi.keep.figures`; the "real" row measures the piece's own next bars
the same way, so a model's figures stand beside the music's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import musicrnn  # noqa: E402
from encoders import Note, Piece, get, split_stream  # noqa: E402
from encoders.midi.keep import figures  # noqa: E402
from musicrnn.render import write_midi  # noqa: E402

FIELDS = ("in_key", "in_seed_classes", "low_bars", "polyphony", "velocities")


def seeds(heldout: Path, starts: list[int], seed_bars: int, bars: int, folder: Path) -> list[tuple[Path, Piece]]:
    """(MIDI seed file, the real piece from the cut on: seed and real continuation) per held-out piece and start."""
    out = []
    for i, text in enumerate(split_stream(heldout.read_text(encoding="utf-8"))):
        piece = get("events").decode(text).piece
        bar = piece.meter[0] * 4 / piece.meter[1]
        for start in starts:
            a, b = start * bar, (start + seed_bars + bars) * bar
            notes = [n for n in piece.notes if a <= n.onset < b]
            if len(notes) < 8:
                continue
            moved = [
                Note(n.pitch, n.onset - a, min(n.duration, b - n.onset), n.velocity, 0, 0 if n.pitch >= 60 else 1)
                for n in notes
            ]
            cut = Piece(moved, piece.tempo, piece.meter, piece.key, f"heldout {i + 1} bar {start}", {0: 0, 1: 0})
            cut.names = {0: "Right hand", 1: "Left hand"}
            path = folder / f"seed{i + 1}-{start}.mid"
            write_midi(cut, path)
            cut.marks["continuation"] = seed_bars * bar
            out.append((path, cut))
    return out


def mean_row(rows: list) -> dict[str, float]:
    return {k: statistics.fmean(getattr(r, k) for r in rows) for k in FIELDS} | {
        "polyphony_ratio": statistics.fmean(r.polyphony / r.seed_polyphony for r in rows if r.seed_polyphony),
        "polyphony_0.6-1.4x": statistics.fmean(
            0.6 <= r.polyphony / r.seed_polyphony <= 1.4 for r in rows if r.seed_polyphony
        ),
        "low_bars_where_seed_has_lh": statistics.fmean(
            [r.low_bars for r in rows if r.seed_low_bars >= 0.5] or [float("nan")]
        ),
    }


def free_headers(model: str, count: int, corpus: Path) -> str:
    """How many of `count` pieces the model writes from a cold start have a meter and a tempo
    that `corpus`'s headers have, and the median tempo beside the corpus's."""
    from encoders.midi.grid import parse_header

    headers = [parse_header(t.split("\n", 1)[0], "roll")[0] for t in split_stream(corpus.read_text("utf-8"))]
    meters, tempos = {h.meter for h in headers}, {round(h.tempo) for h in headers}
    pieces = musicrnn.generate(model, num=count, length=60, random_seed=0)
    got = [parse_header(p.text.split("\n", 1)[0], "roll")[0] for p in pieces]
    ok = sum(h.meter in meters and round(h.tempo) in tempos for h in got)
    median = statistics.median(h.tempo for h in got)
    return (
        f"{model}: {ok} of {count} free pieces have a meter and tempo of {corpus.name}; "
        f"median tempo {median:g} (corpus {statistics.median(h.tempo for h in headers):g}); "
        f"meters {sorted({f'{h.meter[0]}/{h.meter[1]}' for h in got})}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--heldout", type=Path, default=ROOT / "corpora" / "piano_heldout.txt")
    ap.add_argument("--starts", default="0,8,16")
    ap.add_argument("--seed-bars", type=int, default=4)
    ap.add_argument("--bars", type=int, default=8)
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--free", action="store_true", help="also sample without the grammar")
    ap.add_argument("--free-pieces", type=int, default=0, help="also: this many pieces from a cold start")
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpora" / "midi_piano.txt")
    args = ap.parse_args(argv)
    for model in args.model if args.free_pieces else ():
        print(free_headers(model, args.free_pieces, args.corpus))
    starts = [int(s) for s in args.starts.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        cases = seeds(args.heldout, starts, args.seed_bars, args.bars, Path(tmp))
        table = {"real": mean_row([figures(p, p.marks["continuation"]) for _, p in cases])}
        for model in args.model:
            for free in (False, True) if args.free else (False,):
                rows = []
                for path, _ in cases:
                    for s in range(args.samples):
                        done = musicrnn.continue_file(
                            path, model, seed_bars=args.seed_bars, bars=args.bars, random_seed=s,
                            free=free, transpose_into_range=True,
                        )  # fmt: skip
                        piece = done.source.piece
                        rows.append(figures(piece, piece.marks["continuation"]))
                table[f"{model}{' free' if free else ''}"] = mean_row(rows)
    names = list(next(iter(table.values())))
    print(f"{len(cases)} seeds x {args.samples} samples; {args.seed_bars} bars of seed, {args.bars} continued")
    print("| | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for label, row in table.items():
        print(f"| {label} | " + " | ".join(f"{row[n]:.2f}" for n in names) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
