"""Transpose an ABC tune into another key, spelled as a musician would write it there.

    >>> transpose("K:G\\nGA^FG|=F2 d2|]\\n", 2)
    'K:A\\nAB^GA|=G2 e2|]\\n'
    >>> transpose("K:Ador\\nA2 ^c2|]\\n", -2)
    'K:Gdor\\nG2 =B2|]\\n'

A transposition moves every note by the same number of semitones *and* the same number
of letters (the key's tonic decides both), so the key signature does the work: a note
without an accidental stays without one, and an accidental written in the tune is
written again where it falls in the new key, with its new value (``=F`` in G is a
semitone under the signature's F#; in A that is ``=G``).  Accidentals carried through a
bar keep their meaning, because the letters map one to one.  K: fields (header, body,
inline ``[K:...]``), notes in chords and grace notes, and chord symbols (``"Am7/G"``)
move; nothing else changes.

A tune is left alone (None) when it cannot be moved faithfully: a key without a tonic
(``K:none``, ``HP``), a key with its own accidentals (``K:D exp ^f``), a note that
would need a triple sharp or flat, or text the tokenizer could not read.

Used to augment a training corpus (`keys_for`): each tune also in other keys, drawn
from the keys the corpus itself uses, so the model hears every tune relative to its
tonic without learning keys the tradition does not play in.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from encoders.abc.theory import (
    ACCIDENTAL_SEMITONES,
    ACCIDENTAL_TEXT,
    LETTERS,
    MODE_FIFTHS,
    NATURAL_SEMITONES,
    octave_number,
    semitones_to_c,
    signature,
)
from encoders.abc.tokens import Token, parse_key, tokenize

__all__ = ["keys_for", "signature_fifths", "transpose", "transpositions"]

_TONIC_RE = re.compile(r"(\s*)([A-G])([#b]?)")
_CHORD_RE = re.compile(r"([A-G])([#b]?)([^/]*)(?:/([A-G])([#b]?))?$")

MAX_FIFTHS = 5
"""Keys a transposition may land in: at most 5 sharps or flats."""


def signature_fifths(key_value: str) -> int | None:
    """Sharps (+) or flats (-) of a K: value's signature; None for a key that cannot be moved."""
    key = parse_key(key_value)
    if key.error or not key.tonic or key.mode not in MODE_FIFTHS:
        return None
    if "exp" in key_value.lower().split() or abs(key.fifths) > 7 or dict(key.accidentals) != signature(key.fifths):
        return None
    return key.fifths


class _Interval:
    """A move of `semis` semitones and `steps` letters (a spelled interval)."""

    __slots__ = ("semis", "steps")

    def __init__(self, semis: int, steps: int) -> None:
        self.semis, self.steps = semis, steps

    def note(self, letter: str, octave_marks: str, accidental: str) -> tuple[str, str, str] | None:
        """A written note moved: (letter as written, octave marks, accidental) or None."""
        index = LETTERS.index(letter.upper())
        octave = octave_number(letter, octave_marks)
        step = 7 * octave + index + self.steps
        new_octave, new_index = divmod(step, 7)
        new_up = LETTERS[new_index]
        new_acc = ""
        if accidental:
            old_pitch = 12 * octave + NATURAL_SEMITONES[index] + ACCIDENTAL_SEMITONES[accidental]
            value = old_pitch + self.semis - (12 * new_octave + NATURAL_SEMITONES[new_index])
            if value not in ACCIDENTAL_TEXT:
                return None
            new_acc = ACCIDENTAL_TEXT[value]
        if new_octave >= 1:
            return new_up.lower(), "'" * (new_octave - 1), new_acc
        return new_up, "," * -new_octave, new_acc

    def tonic(self, letter: str, acc: str) -> str | None:
        """A tonic or chord root name (``G``, ``Bb``, ``F#``) moved, or None past one sharp/flat."""
        index = LETTERS.index(letter)
        step = index + self.steps
        new_index = step % 7
        pitch = NATURAL_SEMITONES[index] + (1 if acc == "#" else -1 if acc == "b" else 0) + self.semis
        value = (pitch - NATURAL_SEMITONES[new_index] + 6) % 12 - 6
        if value not in (-1, 0, 1):
            return None
        return LETTERS[new_index] + {-1: "b", 0: "", 1: "#"}[value]


def _interval(key_value: str, semis: int) -> _Interval | None:
    """The spelled interval of `semis` semitones that takes this key's tonic to the key
    of that pitch with the fewest sharps or flats."""
    fifths = signature_fifths(key_value)
    if fifths is None:
        return None
    m = _TONIC_RE.match(key_value)
    if m is None:
        return None
    # the new signature: fifths + 7*semis, brought by octaves (12 fifths) nearest to no accidentals;
    # at 6 sharps or 6 flats (F#/Gb) both are as near: take the one whose letters move as the
    # pitch does (E up 2 is F#, a second, not Gb, a diminished third)
    new_sig = fifths + 7 * semis
    new_sig -= 12 * round(new_sig / 12)
    options = [new_sig] + ([new_sig - 12 * (1 if new_sig > 0 else -1)] if abs(new_sig) == 6 else [])
    best = None
    for sig in options:
        # letters moved: each fifth is 4 letters up (mod 7); the octave so the move is about `semis`
        turn = (4 * (sig - fifths)) % 7
        steps = min((turn - 7, turn, turn + 7), key=lambda s: abs(s * 12 / 7 - semis))
        if best is None or abs(steps * 12 / 7 - semis) < abs(best * 12 / 7 - semis):
            best = steps
    steps = best
    return _Interval(semis, steps)


def _moved_key(value: str, interval: _Interval) -> str | None:
    if signature_fifths(value) is None:
        return None
    m = _TONIC_RE.match(value)
    if m is None:
        return None
    tonic = interval.tonic(m.group(2), m.group(3))
    if tonic is None:
        return None
    return m.group(1) + tonic + value[m.end() :]


def _moved_chord(value: str, interval: _Interval) -> str | None:
    m = _CHORD_RE.match(value)
    if m is None:
        return value  # not a chord name: left as written
    root = interval.tonic(m.group(1), m.group(2))
    if root is None:
        return None
    out = root + m.group(3)
    if m.group(4):
        bass = interval.tonic(m.group(4), m.group(5))
        if bass is None:
            return None
        out += "/" + bass
    return out


def _moved_token(tok: Token, interval: _Interval) -> str | None:
    kind = tok.kind
    if kind == "note":
        moved = interval.note(tok.letter, tok.octave, tok.accidental)
        if moved is None:
            return None
        letter, marks, acc = moved
        head = len(tok.accidental) + 1 + len(tok.octave)
        return acc + letter + marks + tok.text[head:]
    if kind in ("field", "inline_field") and tok.name == "K":
        key = _moved_key(tok.value, interval)
        if key is None:
            return None
        start = tok.text.index(":") + 1
        return tok.text[:start] + key + tok.text[start + len(tok.value) :]
    if kind == "chord_symbol":
        chord = _moved_chord(tok.value, interval)
        if chord is None:
            return None
        return tok.text.replace(tok.value, chord, 1) if tok.value else tok.text
    if kind == "unknown" or tok.error:
        return None
    return tok.text


def transpose(text: str, semis: int) -> str | None:
    """`text` (one tune) moved by `semis` semitones, keys and notes spelled for the new key;
    None when the tune cannot be moved faithfully (see the module docstring)."""
    tokens = tokenize(text)
    first_key = next((t for t in tokens if t.kind in ("field", "inline_field") and t.name == "K"), None)
    if first_key is None:
        return None
    interval = _interval(first_key.value, semis)
    if interval is None:
        return None
    out = []
    for tok in tokens:
        moved = _moved_token(tok, interval)
        if moved is None:
            return None
        out.append(moved)
    return "".join(out)


def _opening(text: str) -> tuple[str | None, int, int]:
    """The first K: value and the lowest and highest written note, in letter steps from C."""
    key, low, high = None, 10**6, -(10**6)
    for tok in tokenize(text):
        if key is None and tok.kind in ("field", "inline_field") and tok.name == "K":
            key = tok.value
        elif tok.kind == "note":
            step = 7 * octave_number(tok.letter, tok.octave) + LETTERS.index(tok.letter.upper())
            low, high = min(low, step), max(high, step)
    return key, low, high


def keys_for(pieces: Sequence[str]) -> Counter:
    """How often each signature (in fifths) opens a tune of `pieces`: the keys to draw from."""
    counts: Counter = Counter()
    for text in pieces:
        key = _opening(text)[0]
        fifths = None if key is None else signature_fifths(key)
        if fifths is not None:
            counts[fifths] += 1
    return counts


LOWEST_STEP = -3
"""G, (the fiddle's open G string), in letter steps from middle C: a copy goes no lower
unless the tune itself does."""
HIGHEST_STEP = 16
"""e'' (high on the fiddle's E string): a copy goes no higher unless the tune itself does."""


def transpositions(text: str, copies: int, key_counts: Counter, rng: random.Random) -> list[str]:
    """Up to `copies` versions of one tune in other keys, the keys drawn (without repeats)
    in proportion to `key_counts` (`keys_for` of the corpus), within `MAX_FIFTHS`.  Each
    copy moves at most a tritone, or the other way round when that keeps it in the
    fiddle's range (`LOWEST_STEP`..`HIGHEST_STEP`, or the tune's own range where wider)."""
    key, low, high = _opening(text)
    fifths = None if key is None else signature_fifths(key)
    if fifths is None or copies <= 0 or low > high:
        return []
    floor, ceiling = min(low, LOWEST_STEP), max(high, HIGHEST_STEP)
    targets = {f: n for f, n in key_counts.items() if f != fifths and abs(f) <= MAX_FIFTHS and n > 0}
    out = []
    while targets and len(out) < copies:
        choices = sorted(targets)
        target = rng.choices(choices, weights=[targets[f] for f in choices])[0]
        del targets[target]
        near = (7 * (target - fifths)) % 12  # each fifth is 7 semitones
        if near > 6:
            near -= 12
        for semis in (near, near - 12 if near > 0 else near + 12):
            interval = _interval(key, semis)
            if interval is None or not (floor <= low + interval.steps and high + interval.steps <= ceiling):
                continue
            moved = transpose(text, semis)
            if moved is not None:
                out.append(moved)
            break
    return out


HOME_TONIC = "C"
"""The one tonic of a corpus moved home (`corpora/folk_in_c.py`): every tune at home on C."""
MAX_HOME_MODES = 16


def home_keys(pieces: Iterable[str]) -> dict[str, list[int]]:
    """How often each tonic (pitch class, C = 0) opens a tune of `pieces`, per mode
    ("maj", "min", "dor" ...): the keys a model trained at home draws its tunes' keys from.
    The pieces are read once, one at a time (a stream of any size)."""
    from encoders.abc.figures import figures

    counts: dict[str, list[int]] = {}
    for text in pieces:
        head = figures(text, header_only=True)
        if head["tonic_pc"] is not None and head["mode"]:
            counts.setdefault(head["mode"], [0] * 12)[head["tonic_pc"]] += 1
    return counts


def home_of(options: dict | None) -> dict[str, list[int]] | None:
    """The key counts of a model trained at home (its scheme options' "home": {"tonic": "C",
    "keys": `home_keys` of the corpus before it was moved}), or None for a model trained in
    the tunes' own keys.  Raises ValueError when the option is there but malformed (a model
    folder is not trusted)."""
    home = (options or {}).get("home")
    if home is None:
        return None
    keys = home.get("keys") if isinstance(home, dict) else None
    if (
        not isinstance(home, dict)
        or home.get("tonic") != HOME_TONIC
        or not isinstance(keys, dict)
        or not 0 < len(keys) <= MAX_HOME_MODES
        or not all(
            isinstance(m, str)
            and len(m) <= 8
            and isinstance(c, list)
            and len(c) == 12
            and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 10**9 for x in c)
            and sum(c) > 0
            for m, c in keys.items()
        )
    ):
        raise ValueError('scheme option "home" must be {"tonic": "C", "keys": {mode: 12 counts}}')
    return keys


def semitones_home(key_value: str) -> int | None:
    """Semitones that move a tune in this K: value home to tonic C the nearer way (-6..+5);
    None for a key without a tonic."""
    key = parse_key(key_value)
    return None if key.error or not key.tonic else semitones_to_c(key.tonic)


def draw_away(mode: str, keys: dict[str, list[int]], rng: random.Random) -> int:
    """Semitones from C to a tonic drawn in proportion to how often the corpus's tunes of
    `mode` open in it (all modes together for a mode the corpus lacks): -5..+6."""
    counts = keys.get(mode) or [sum(c[i] for c in keys.values()) for i in range(12)]
    pc = rng.choices(range(12), weights=counts)[0]
    return pc - 12 if pc > 6 else pc
