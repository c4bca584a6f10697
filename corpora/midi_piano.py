"""The bundled `midi` model's training stream: the piano corpus with its real piano music oversampled.

    python corpora/midi_piano.py                    # corpora/piano_roll.txt -> corpora/midi_piano.txt
    python corpora/midi_piano.py --scheme events    # corpora/piano.txt -> corpora/midi_piano_events.txt

The piano corpus (corpora/piano_corpus.py) has 8 real piano pieces (14.9
minutes) among 1,302 chorales and folk tunes arranged for two hands, so on its
own a model would hear the real music 1% of the time.  Here each real piece is
written in its own key and in `--copies` other keys (`encoders.midi.augment`:
-5..+6 semitones, seeded), so the real music is about a tenth of the stream; the
arrangements follow once each, as they are.  The held-out pieces
(corpora/piano_heldout.txt) are never read.  The manifest's "real" lines name
the real pieces, in the stream's order.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from encoders import join_stream, split_stream  # noqa: E402
from encoders.midi.augment import augmenter  # noqa: E402


def real_flags(manifest: Path) -> list[bool]:
    """For each training piece of the stream, in order, whether it is real piano music."""
    lines = manifest.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[1] == "real" for line in lines if line.split("\t")[0] == "train"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scheme", choices=("roll", "events"), default="roll")
    ap.add_argument("--copies", type=int, default=7, help="other keys for each real piece (default 7)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    suffix = "_roll" if args.scheme == "roll" else ""
    stream = ROOT / "corpora" / f"piano{suffix}.txt"
    manifest = ROOT / "corpora" / f"piano{suffix}_manifest.txt"
    out = args.out or ROOT / "corpora" / ("midi_piano.txt" if args.scheme == "roll" else "midi_piano_events.txt")
    pieces = split_stream(stream.read_text(encoding="utf-8"))
    flags = real_flags(manifest)
    if len(flags) != len(pieces):
        raise SystemExit(f"{manifest}: {len(flags)} training lines for {len(pieces)} pieces in {stream}")
    more = augmenter(args.copies, args.seed)
    written: list[str] = []
    real = 0
    for piece, is_real in zip(pieces, flags, strict=True):
        written.append(piece)
        if is_real:
            extra = more(piece)
            written.extend(extra)
            real += 1 + len(extra)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(join_stream(written), encoding="utf-8")
    tmp.replace(out)
    print(f"{out}: {len(written)} pieces, {real} of them real piano (with transpositions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
