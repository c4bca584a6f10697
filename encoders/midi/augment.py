"""Transposition of ``roll`` and ``events`` texts: training variants of a piece in other keys.

    >>> transpose_text("%roll q=90 m=3/4 k=C g=16 p=0\\nLP.-LP.\\n", 2)
    '%roll q=90 m=3/4 k=D g=16 p=0\\nNR.-NR.\\n'

Every pitch character of the body moves by the same number of semitones (an
``events`` velocity mark ``|V`` is left alone) and the header's key moves with
it.  A shift that would take a pitch off the piano's 88 keys gives None.  The
text is mapped character by character, so it costs one pass and never reads
the music; a piece that needed repairs stays as it was, only moved.

`augmenter(copies, seed)` is what `Scheme.augmenter` gives for the two MIDI
schemes (`train --transpose N`): each piece in `copies` other keys, the shifts
drawn from -5..+6 semitones (so the register hardly moves), each piece's own
draw seeded by `seed` and the piece, so the same corpus makes the same variants.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Callable

from encoders.midi.grid import PITCH_CHARS
from encoders.midi.opening import transpose_key

__all__ = ["SHIFTS", "augmenter", "transpose_text"]

SHIFTS = tuple(s for s in range(-5, 7) if s)
"""The semitone shifts the augmenter draws from."""
_INDEX = {c: i for i, c in enumerate(PITCH_CHARS)}
_KEY = re.compile(r"(?<= )k=(\S+)")


def transpose_text(text: str, shift: int) -> str | None:
    """`text` (one piece, header first) moved by `shift` semitones; None when a pitch would leave the keyboard."""
    head, nl, body = text.partition("\n")
    table = {}
    for c, i in _INDEX.items():
        j = i + shift
        table[c] = PITCH_CHARS[j] if 0 <= j < len(PITCH_CHARS) else None
    out = []
    skip = False
    for ch in body:
        if skip:  # the velocity digit after '|' (events)
            skip = False
            out.append(ch)
            continue
        if ch == "|":
            skip = True
            out.append(ch)
            continue
        moved = table.get(ch, ch)
        if moved is None:
            return None
        out.append(moved)
    head = _KEY.sub(lambda m: f"k={transpose_key(m.group(1), shift)}", head)
    return head + nl + "".join(out)


def augmenter(copies: int, seed: int) -> Callable[[str], list[str]]:
    """A function giving a piece in up to `copies` other keys (those that fit the keyboard)."""

    def variants(text: str) -> list[str]:
        rng = random.Random(seed * 1_000_003 + zlib.crc32(text.encode("utf-8", "replace")))
        shifts = rng.sample(SHIFTS, min(copies, len(SHIFTS)))
        moved = (transpose_text(text, s) for s in shifts)
        return [m for m in moved if m is not None]

    return variants
