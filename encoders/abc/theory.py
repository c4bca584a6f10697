"""ABC's music arithmetic in one place: pitches, keys and modes, meters, unit lengths,
tuplets, broken rhythm and bar lengths.

The tokenizer (`encoders.abc.tokens`), the normalizer, the player, the grammar and
the transposer all read keys, tuplets and bars; they take the tables and rules from
here, so that a tune the normalizer keeps is one the player plays and the grammar
writes the same way (``tests/test_abc_theory.py`` checks that they agree).  Nothing
here reads text beyond a name (``"Bb"``, ``"dor"``); parsing fields is the
tokenizer's job.

    >>> signature(key_fifths("A", "dor"))
    {'F': 1}
    >>> tuplet_q(5, (3, 4)), tuplet_q(5, (3, 4), standard=True), tuplet_q(5, (6, 8))
    (3, 2, 3)
    >>> broken_factors(">", 1)
    (Fraction(3, 2), Fraction(1, 2))

*Pitches.*  ``C`` is middle C (MIDI 60), ``c`` the octave above; ``'`` raises a
note an octave, ``,`` lowers it; ``^ ^^ _ __ =`` are a sharp, a double sharp, a
flat, a double flat and a natural.

*Keys.*  A key is a tonic (``G`` ``Bb`` ``F#``) and a mode.  Its signature is a
place on the line of fifths (C major 0, G major 1, F major -1): the tonic's place
plus the mode's shift (`MODE_FIFTHS`: Dorian is two fifths flatwards of the major
on the same tonic, so ``K:Ador`` has the signature of G major).  Sharps are added
in the order ``F C G D A E B`` and flats in the reverse order; past 7, the same
letters get a second one.

*Meters and units.*  ``M:n/d`` makes a bar n/d of a whole note; ``L:`` is the unit
a note's written length multiplies.  Without ``L:`` the unit is 1/16 when the
meter is below 3/4 and 1/8 otherwise (the standard; ``M:none`` gives 1/8).

*Tuplets* (the ABC 2.1 standard, section 4.13).  ``(p:q:r`` puts p notes into the
time of q for the next r notes; r defaults to p, and q to `TUPLET_Q`: 3 for
``(2 (4 (8``, 2 for ``(3 (6``, and for ``(5 (7 (9`` "n", which the standard makes 3
in a compound meter (6/8, 9/8, 12/8) and 2 otherwise.  abc2midi, the reference
player here, counts every meter whose numerator is a multiple of 3 as compound,
3/4, 3/8 and 3/2 included, so ``(5`` in 3/4 plays 5 notes in the time of 3 there.
The normalizer, the player and the grammar follow abc2midi (`tuplet_q`; the
standard's reading is `tuplet_q(..., standard=True)`), since abc2midi's bar check
is what ``bars_ok`` means.  A tuplet with no q and p outside 2..9 has no meaning:
it is ignored.

*Broken rhythm.*  ``a>b`` makes the first note 3/2 of its length and the second
1/2; ``>>`` 7/4 and 1/4, ``>>>`` 15/8 and 1/8; ``<`` the other way round.

*Bars.*  A bar is full when its notes (after tuplets and broken rhythm) add up to
the meter's length (`meter_length`); in units of ``L:`` that is `bar_units`.
"""

from __future__ import annotations

from fractions import Fraction

__all__ = [
    "ACCIDENTAL_SEMITONES",
    "ACCIDENTAL_TEXT",
    "LETTERS",
    "LETTER_SEMITONES",
    "MAX_KEY_FIFTHS",
    "MODE_FIFTHS",
    "MODES",
    "NATURAL_SEMITONES",
    "PIPES_SIGNATURE",
    "SHARP_ORDER",
    "TONIC_ALTER",
    "TONIC_FIFTHS",
    "TUPLET_Q",
    "bar_units",
    "broken_factors",
    "compound",
    "default_unit",
    "key_fifths",
    "meter_length",
    "mode_name",
    "mode_text",
    "note_pitch",
    "octave_number",
    "signature",
    "spell_tonic",
    "tonic_fifths",
    "tonic_pitch_class",
    "semitones_to_c",
    "tuplet",
    "tuplet_q",
]

# ----------------------------------------------------------------------------- pitches

LETTERS = "CDEFGAB"
"""The note letters in scale order from C."""
NATURAL_SEMITONES = (0, 2, 4, 5, 7, 9, 11)
"""Semitones of each of `LETTERS` above C."""
LETTER_SEMITONES = dict(zip(LETTERS, NATURAL_SEMITONES))
"""Upper-case letter -> semitones above C."""
ACCIDENTAL_SEMITONES = {"": 0, "^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}
"""A written accidental -> its alteration in semitones ('' none, '=' natural: both 0)."""
ACCIDENTAL_TEXT = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}
"""An alteration -> the accidental that writes it (0 -> the natural sign)."""
MIDDLE_C = 60
"""MIDI pitch of ``C``."""


def octave_number(letter: str, marks: str) -> int:
    """Octaves above the middle-C octave of a written note: ``C`` 0, ``c`` 1, ``c'`` 2, ``C,`` -1."""
    return (1 if letter.islower() else 0) + marks.count("'") - marks.count(",")


def note_pitch(letter: str, marks: str, alter: int) -> int:
    """MIDI pitch of a written letter with octave marks and an alteration in semitones."""
    return MIDDLE_C + LETTER_SEMITONES[letter.upper()] + 12 * octave_number(letter, marks) + alter


# ----------------------------------------------------------------------------- keys

SHARP_ORDER = "FCGDAEB"
"""The order sharps are added to a signature (flats: the reverse)."""
TONIC_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}
"""A natural tonic's place on the line of fifths (its major key's sharps, flats negative)."""
TONIC_ALTER = {"": 0, "#": 1, "b": -1}
"""A tonic's sharp or flat sign -> semitones (each moves the key 7 fifths)."""
MODE_FIFTHS = {"maj": 0, "ion": 0, "m": -3, "min": -3, "aeo": -3, "dor": -2, "phr": -4, "lyd": 1, "mix": -1, "loc": -5}
"""A mode's shift on the line of fifths from the major key of the same tonic (every
spelling a K: field may use: ``m`` ``min`` ``aeo`` are the same mode)."""
MODES = ("maj", "min", "dor", "phr", "lyd", "mix", "loc")
"""The seven modes by their canonical names (``ion`` is ``maj``, ``aeo`` and ``m`` are ``min``)."""
_MODE_NAMES = {"m": "min", "aeo": "min", "ion": "maj"}
MAX_KEY_FIFTHS = 7
"""Sharps or flats a key may have without abc2midi warning about it."""
PIPES_SIGNATURE = {"F": 1, "C": 1}
"""The signature abc2midi plays for the bagpipe keys ``K:HP`` and ``K:Hp``."""


def tonic_fifths(tonic: str) -> int:
    """A tonic's place on the line of fifths: ``C`` 0, ``G`` 1, ``F`` -1, ``F#`` 6, ``Bb`` -2."""
    return TONIC_FIFTHS[tonic[0].upper()] + 7 * TONIC_ALTER.get(tonic[1:], 0)


def tonic_pitch_class(tonic: str) -> int:
    """A tonic's pitch class (0 = C .. 11 = B): ``Bb`` 10, ``F#`` 6."""
    return (LETTER_SEMITONES[tonic[0].upper()] + TONIC_ALTER.get(tonic[1:], 0)) % 12


def semitones_to_c(tonic: str) -> int:
    """Semitones that move a tonic to C the nearer way (-6..+5): ``D`` -2, ``G`` +5, ``F#`` -6."""
    s = (-tonic_pitch_class(tonic)) % 12
    return s - 12 if s >= 6 else s


def key_fifths(tonic: str, mode: str) -> int:
    """Sharps (+) or flats (-) of a key's signature: ``key_fifths("A", "dor")`` is 1 (F#)."""
    return tonic_fifths(tonic) + MODE_FIFTHS.get(mode, 0)


def signature(fifths: int) -> dict[str, int]:
    """The key signature `fifths` sharps (+) or flats (-) give, as upper-case letter ->
    alteration (only altered letters); past 7 the same letters get a second one (at most 14)."""
    sig: dict[str, int] = {}
    if fifths > 0:
        for ch in SHARP_ORDER[: min(fifths, 7)]:
            sig[ch] = 1
        for ch in SHARP_ORDER[: max(0, fifths - 7)]:
            sig[ch] = 2
    elif fifths < 0:
        flats = SHARP_ORDER[::-1]
        for ch in flats[: min(-fifths, 7)]:
            sig[ch] = -1
        for ch in flats[: max(0, -fifths - 7)]:
            sig[ch] = -2
    return sig


def mode_text(mode: str) -> str:
    """How the normalized form writes a mode after the tonic: '' for major, ``m`` for
    minor (``min`` ``aeo`` ``m``), else the three letters (``dor`` ``mix`` ...)."""
    if mode in ("maj", "ion", ""):
        return ""
    if mode in ("min", "aeo", "m"):
        return "m"
    return mode


def mode_name(mode: str) -> str:
    """A mode's canonical name (one of `MODES`): ``m`` and ``aeo`` -> ``min``, ``ion`` -> ``maj``."""
    return _MODE_NAMES.get(mode, mode)


def spell_tonic(pc: int, mode: str) -> str:
    """The spelling of a tonic pitch class whose key (in `mode`) has the fewest sharps or
    flats (flats on a tie: ``Gb`` rather than ``F#``)."""
    best: tuple[int, int, str] | None = None
    for letter, natural in zip(LETTERS, NATURAL_SEMITONES):
        for suffix, alter in TONIC_ALTER.items():
            if (natural + alter) % 12 != pc % 12:
                continue
            tonic = letter + suffix
            f = key_fifths(tonic, mode)
            candidate = (abs(f), 0 if f <= 0 else 1, tonic)
            if best is None or candidate < best:
                best = candidate
    assert best is not None
    return best[2]


# ----------------------------------------------------------------------------- meters, units, bars


def meter_length(meter: tuple[int, int] | None) -> Fraction | None:
    """A bar's length in whole notes (``(6, 8)`` -> 3/4); None for no meter (``M:none``)."""
    return Fraction(meter[0], meter[1]) if meter is not None else None


def default_unit(meter: tuple[int, int] | None) -> Fraction:
    """The unit note length the standard implies when there is no L: field:
    1/16 when the meter is below 3/4 (e.g. 2/4), else 1/8 (also for M:none)."""
    if meter is None:
        return Fraction(1, 8)
    return Fraction(1, 16) if Fraction(meter[0], meter[1]) < Fraction(3, 4) else Fraction(1, 8)


def bar_units(meter: tuple[int, int], unit: Fraction) -> Fraction:
    """A full bar in units of L: (``M:6/8 L:1/8`` -> 6, ``M:2/4 L:1/16`` -> 8)."""
    return Fraction(meter[0], meter[1]) / unit


# ----------------------------------------------------------------------------- tuplets, broken rhythm

TUPLET_Q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}
"""The q of a tuplet ``(p`` that the meter does not decide (5, 7 and 9 are left out: see `tuplet_q`)."""


def compound(meter: tuple[int, int] | None) -> bool:
    """A compound meter as the ABC standard means it (6/8, 9/8, 12/8, 6/4 ...): its numerator
    a multiple of 3 above 3.  3/4 and 3/8 are simple triple meters."""
    return meter is not None and meter[0] % 3 == 0 and meter[0] > 3


def tuplet_q(p: int, meter: tuple[int, int] | None, standard: bool = False) -> int | None:
    """The q of ``(p`` written without one (p notes in the time of q), None when p has no
    default (outside 2..9).  For 5, 7, 9: 3 in a triple meter, else 2, with abc2midi's
    reading of triple (numerator a multiple of 3: 3/4 too), or with `standard` the ABC 2.1
    standard's (a compound meter: 6/8, 9/8, 12/8; 3/4 gives 2)."""
    q = TUPLET_Q.get(p)
    if q is not None:
        return q
    if p not in (5, 7, 9):
        return None
    if standard:
        return 3 if compound(meter) else 2
    return 3 if meter is not None and meter[0] % 3 == 0 else 2


def tuplet(numbers: tuple, meter: tuple[int, int] | None) -> tuple[int, int, int] | None:
    """A tuplet mark's (p, q, r) with its defaults filled in (q by `tuplet_q`, r = p);
    None when it has no meaning (no q given and none to default to)."""
    p, q, r = numbers
    q = q or tuplet_q(p, meter)
    if not q:
        return None
    return p, q, r or p


def broken_factors(sign: str, count: int) -> tuple[Fraction, Fraction]:
    """What broken rhythm multiplies the lengths of the notes before and after it by:
    ``>`` (count 1) 3/2 and 1/2, ``>>`` 7/4 and 1/4, ``>>>`` 15/8 and 1/8; ``<`` the other way."""
    short = Fraction(1, 2**count)
    return (2 - short, short) if sign == ">" else (short, 2 - short)
