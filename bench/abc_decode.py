"""How fast our ABC player decodes tunes, against music21's ABC parser on the same tunes.

    .venv/bin/python bench/abc_decode.py [--tunes 200] [--repeats 3] [--seed 0]

Takes random tunes of the folk corpus (the ABC files inside music21's wheel),
times `encoders.abc.player.play` and `music21.converter.parse(text, format='abc')`
over all of them, repeats that, and prints tunes per second (median of the
repeats) and the ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from encoders.abc.player import play
from tools.reference_abc import corpus_tunes


def _time(fn, tunes: list[str]) -> float:
    t0 = time.perf_counter()
    for text in tunes:
        fn(text)
    return time.perf_counter() - t0


def _music21_parse(text: str) -> None:
    import music21

    try:
        music21.converter.parse(text, format="abc", forceSource=True)
    except Exception:  # music21 fails on some tunes; the time spent still counts
        pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tunes", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    all_tunes = corpus_tunes()
    if not all_tunes:
        print("no corpus: music21 is not installed", file=sys.stderr)
        return 2
    tunes = [t for _, _, t in random.Random(args.seed).sample(all_tunes, min(args.tunes, len(all_tunes)))]
    warnings.simplefilter("ignore")
    ours, theirs = [], []
    for _ in range(args.repeats):
        ours.append(_time(play, tunes))
        theirs.append(_time(_music21_parse, tunes))
    a, b = statistics.median(ours), statistics.median(theirs)
    n = len(tunes)
    print(f"{n} corpus tunes, median of {args.repeats} runs")
    print(f"{'decoder':<28}{'tunes/s':>10}{'ms/tune':>10}")
    print(f"{'encoders.abc.player.play':<28}{n / a:>10.1f}{1000 * a / n:>10.2f}")
    print(f"{'music21 converter.parse':<28}{n / b:>10.1f}{1000 * b / n:>10.2f}")
    print(f"ratio (ours / music21 speed): {b / a:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
