"""Write the MIDI corpus's files (no download): Bach chorales exported by music21, folk tunes played by our ABC player.

    python corpora/midi_corpus.py outputs/midi_corpus --folk 1500
    musicrnn encode outputs/midi_corpus --scheme roll --out corpora/midi.txt

* ``chorales/``: every chorale of music21's corpus (``corpus.chorales.Iterator``)
  that music21 parses, written with ``score.write('midi')``: four voices, one track each.
* ``folk/``: a seeded random sample of the tunes of corpora/folk.txt (the folk
  corpus, ABC from music21's wheel), played by `encoders.abc.player` (as abc2midi
  plays them) and written with `musicrnn.render.write_midi`.

Files that cannot be made are listed and skipped.  The MIDI files are then read
back like anybody's: `musicrnn encode` turns the folder into a stream.
"""

from __future__ import annotations

import argparse
import random
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from encoders import split_stream  # noqa: E402
from encoders.abc.player import play  # noqa: E402
from musicrnn.render import write_midi  # noqa: E402


def write_chorales(folder: Path) -> tuple[int, list[str]]:
    from music21 import corpus

    folder.mkdir(parents=True, exist_ok=True)
    written, failed = 0, []
    for name in dict.fromkeys(corpus.chorales.Iterator(returnType="filename")):  # it lists some twice
        target = folder / (name.replace("/", "_").replace(".", "_") + ".mid")
        if target.exists():
            written += 1
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                score = corpus.parse(name)
                score.write("midi", fp=str(target))
            written += 1
        except Exception as e:  # noqa: BLE001 - music21 raises many kinds; report and go on
            failed.append(f"{name}: {type(e).__name__}: {e}")
    return written, failed


def write_folk(folder: Path, count: int, seed: int = 1) -> tuple[int, list[str]]:
    folder.mkdir(parents=True, exist_ok=True)
    tunes = split_stream((ROOT / "corpora" / "folk.txt").read_text(encoding="utf-8"))
    picked = sorted(random.Random(seed).sample(range(len(tunes)), min(count, len(tunes))))
    written, failed = 0, []
    for index in picked:
        decoded = play(tunes[index])
        if not decoded.piece.notes:
            failed.append(f"folk tune {index}: no notes played")
            continue
        write_midi(decoded.piece, folder / f"folk_{index:05d}.mid")
        written += 1
    return written, failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="folder to write the MIDI files into")
    ap.add_argument("--folk", type=int, default=1500, help="how many folk tunes (a seeded sample)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    n_chorales, bad_chorales = write_chorales(args.out / "chorales")
    n_folk, bad_folk = write_folk(args.out / "folk", args.folk, args.seed)
    for line in bad_chorales + bad_folk:
        print(f"skipped {line}", file=sys.stderr)
    print(f"{args.out}: {n_chorales} chorales, {n_folk} folk tunes ({len(bad_chorales) + len(bad_folk)} skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
