"""The figures of issue 17 for a request in music's terms: `generate --meter 6/8 --key Ador` from
the bundled folk model (or --model), measured the way a musician would check the tunes.

    python bench/asking.py [--num 50] [--meter 6/8] [--key Ador] [--bars 16] [--model folk]

Prints, for the tunes it samples (random seed 0): the share with the asked M: and K:, the share
ending on the tonic (lowest note of the last onset), the share of notes in the mode, the share
of note onsets on the meter's pulse (an eighth for 6/8), the commonest note length, and the share
of off-length inner bars (musicrnn.music: first and last bar aside, a repeat's pickup excused).
"""

from __future__ import annotations

import argparse
from collections import Counter

import encoders
import musicrnn
from encoders.abc.theory import key_fifths, signature, tonic_pitch_class
from encoders.abc.tokens import parse_key
from musicrnn.music import figures_of

STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def mode_pitch_classes(key: str) -> set[int]:
    """The seven pitch classes of a key (``Ador``: A B C D E F# G)."""
    k = parse_key(key)
    sig = signature(key_fifths(k.tonic, k.mode))
    return {(STEPS[letter] + sig.get(letter, 0)) % 12 for letter in STEPS}


def measure(args: argparse.Namespace) -> None:
    pieces = musicrnn.generate(
        model=args.model, meter=args.meter, key=args.key, bars=args.bars, num=args.num, random_seed=0
    )
    codec = encoders.get("abc")
    key = codec.header(meter=args.meter, key=args.key).split("K:")[1].strip()
    in_mode = mode_pitch_classes(key)
    tonic = tonic_pitch_class(parse_key(key).tonic)
    num, den = (int(x) for x in args.meter.split("/"))
    pulse = 0.5 if den == 8 else 4 / den  # quarter-note beats: an eighth in compound and /8 meters
    asked = sum(f"M:{args.meter}\n" in p.text and f"K:{key}\n" in p.text for p in pieces)
    notes = [n for p in pieces for n in p.piece.notes]
    ends = [figures_of(codec, p.text) for p in pieces]
    inner = sum(f.inner_bars for f in ends)
    off = sum(f.off_length_bars for f in ends)
    last_on_tonic = sum(
        bool(p.piece.notes)
        and min(n.pitch for n in p.piece.notes if n.onset == max(m.onset for m in p.piece.notes)) % 12 == tonic
        for p in pieces
    )
    lengths = Counter(round(n.duration, 3) for n in notes)
    rows = [
        (f"tunes with M:{args.meter} and K:{key}", f"{asked}/{len(pieces)}"),
        (f"end on the tonic ({'C C# D Eb E F F# G Ab A Bb B'.split()[tonic]})", f"{last_on_tonic / len(pieces):.0%}"),
        ("notes in the mode", f"{sum(n.pitch % 12 in in_mode for n in notes) / max(1, len(notes)):.1%}"),
        (
            f"onsets on the pulse ({pulse:g} beats)",
            f"{sum(abs(n.onset / pulse - round(n.onset / pulse)) < 1e-6 for n in notes) / max(1, len(notes)):.1%}",
        ),
        (
            "commonest note length (beats)",
            f"{lengths.most_common(1)[0][0]:g} ({lengths.most_common(1)[0][1] / max(1, len(notes)):.0%})",
        ),
        ("off-length inner bars", f"{off}/{inner} ({off / max(1, inner):.1%})"),
        ("bars a tune (written)", f"{sum(f.written_bars for f in ends) / len(ends):.1f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(
        f"{len(pieces)} tunes: generate --meter {args.meter} --key {args.key}"
        + (f" --bars {args.bars}" if args.bars else "")
    )
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num", type=int, default=50)
    parser.add_argument("--meter", default="6/8")
    parser.add_argument("--key", default="Ador")
    parser.add_argument("--bars", type=int, default=None)
    parser.add_argument("--model", default="folk")
    measure(parser.parse_args())
