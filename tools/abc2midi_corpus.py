"""The folk corpus in abc2midi, the reference player (a development tool, not shipped).

    .venv/bin/python -m tools.abc2midi_corpus --out corpora/folk.txt --measure 500

Builds the folk corpus (`encoders.abc.corpus.build_folk`) when asked, then plays a sample of
raw tunes, the same tunes normalized, and the corpus with abc2midi, and prints the share that
play without an error and the share whose every bar has the meter's length (no "Bar N has X
time units while the time signature has Y" warning).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import tempfile

from encoders import read_text
from encoders.abc.corpus import build_folk, raw_tunes
from encoders.abc.normalize import normalize_tunes

# ----------------------------------------------------------------------------- abc2midi

ABC2MIDI = "/usr/bin/abc2midi"
_BAR_WARNING = re.compile(r"Bar \d+ has \d+ time units while the time signature has \d+")
_ERROR = re.compile(r"^Error in line-char", re.M)


def abc2midi_check(text: str, timeout: float = 20.0) -> tuple[bool, bool]:
    """(plays: abc2midi wrote a MIDI file and printed no error, bars: no bar-length warning)."""
    with tempfile.TemporaryDirectory(prefix="abc2midi-") as d:
        src = os.path.join(d, "t.abc")
        out = os.path.join(d, "t.mid")
        with open(src, "w", encoding="utf-8", errors="replace") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
        try:
            proc = subprocess.run(
                [ABC2MIDI, src, "-o", out], capture_output=True, text=True, timeout=timeout, errors="replace"
            )
        except (OSError, subprocess.TimeoutExpired):
            return False, False
        output = proc.stdout + proc.stderr
        wrote = os.path.exists(out) and os.path.getsize(out) > 0
    return (wrote and not _ERROR.search(output)), not _BAR_WARNING.search(output)


def measure_abc2midi(tunes: list[str]) -> dict:
    """Shares of tunes that abc2midi plays with no error, and with every bar the meter's length."""
    plays = bars = both = 0
    for t in tunes:
        p, b = abc2midi_check(t)
        plays += p
        bars += b
        both += p and b
    n = max(1, len(tunes))
    return {"tunes": len(tunes), "plays": plays / n, "bars_ok": bars / n, "both": both / n}


def _measure(sample: int, seed: int, corpus: str | None) -> None:
    rng = random.Random(seed)
    raw = raw_tunes()
    picked = rng.sample(raw, min(sample, len(raw)))
    print(f"raw tunes in the folk files: {len(raw)}")
    r = measure_abc2midi([t for _, _, t in picked])
    print(
        f"raw sample: {r['tunes']} tunes, plays without error {r['plays']:.1%}, "
        f"every bar the meter's length {r['bars_ok']:.1%}, both {r['both']:.1%}"
    )
    same = []
    for _, _, t in picked:
        for res in normalize_tunes(t):
            if res.text is not None:
                same.append(res.text)
    r = measure_abc2midi(same)
    print(
        f"the same raw tunes normalized (kept {len(same)} of {len(picked)}): plays {r['plays']:.1%}, "
        f"bars {r['bars_ok']:.1%}, both {r['both']:.1%}"
    )
    if corpus:
        from encoders import split_stream

        pieces = split_stream(read_text(corpus))
        picked = rng.sample(pieces, min(sample, len(pieces)))
        r = measure_abc2midi(picked)
        print(
            f"normalized corpus {corpus}: sample of {r['tunes']} tunes: plays {r['plays']:.1%}, "
            f"bars {r['bars_ok']:.1%}, both {r['both']:.1%}"
        )


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="build the folk corpus into this file")
    ap.add_argument("--titles", action="store_true")
    ap.add_argument("--transpose", default="none", choices=["none", "C", "all"])
    ap.add_argument("--measure", type=int, default=0, help="abc2midi check of N raw and N normalized tunes")
    ap.add_argument("--corpus", help="the normalized stream to sample for --measure (default: --out)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.out:
        stats = build_folk(args.out, titles=args.titles, transpose=args.transpose)
        print(json.dumps(stats, indent=1))
    if args.measure:
        _measure(args.measure, args.seed, args.corpus or args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
