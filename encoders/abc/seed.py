"""A seed as a musician writes it, put in the form the model learned: header fields in
the stream's order, the unit length the meter implies, the key line ended.

    >>> complete_seed("X:1\\nK:Ador\\nM:6/8")
    'X:1\\nM:6/8\\nL:1/8\\nK:Ador\\n'
    >>> complete_seed("M:2/4\\nK:G\\n|:GABc")
    'X:1\\nM:2/4\\nL:1/16\\nK:G\\n|:GABc'
    >>> complete_seed("X:1")
    'X:1'
    >>> complete_seed("X:1\\nM:6/8\\nK:D\\nf:|")     # a body line that looks like a field
    'X:1\\nM:6/8\\nL:1/8\\nK:D\\nf:|'

Every tune of the abc stream writes ``X:1``, optional ``T:``, ``M:``, ``L:``, optional
``Q:`` and ``R:``, then ``K:`` last; a model (and the grammar) knows no other order.
A seed with fields out of order, without ``X:`` or without ``L:`` (abc2midi and the
normalizer derive it from the meter: 1/16 below 3/4, else 1/8) would otherwise be
sampled as something else: quarter-note "jigs" from a seed without ``L:``.  Music
after the ``K:`` line is kept as it is.  A header the stream never writes is a
one-line error (`UsageError`): another field, a field twice, or ``K:`` without
``M:`` (the model writes ``M:`` and ``L:`` before the key, so they cannot follow it).
"""

from __future__ import annotations

import re

from encoders.abc.theory import MAX_KEY_FIFTHS, MODES, default_unit, key_fifths, mode_name, mode_text
from encoders.abc.tokens import parse_meter
from encoders.piece import UsageError

__all__ = ["complete_seed", "header_text", "key_text", "meter_text", "HEADER_ORDER"]

HEADER_ORDER = "XTMLQRK"
"""The header fields of the abc stream, in the order every tune writes them."""

_FIELD = re.compile(r"([A-Za-z]):(.*)")


def complete_seed(seed: str) -> str:
    """The seed with its header in the stream's order and completed (see the module docstring)."""
    if "\n" not in seed and "\\n" in seed:
        seed = seed.replace("\\n", "\n")  # typed as 'X:1\nM:6/8' in a shell
    lines = seed.split("\n")
    fields: dict[str, str] = {}
    body_at = len(lines)
    for i, line in enumerate(lines):
        m = _FIELD.fullmatch(line.strip())
        if not m:
            if line.strip():
                body_at = i
                break
            continue
        name, value = m.group(1), m.group(2).strip()
        if "K" in fields and (name not in HEADER_ORDER or name in fields):
            body_at = i  # music after the key line
            break
        if name not in HEADER_ORDER:
            raise UsageError(
                f"the seed's header field {name}: is not one the model writes "
                f"(it writes {', '.join(f + ':' for f in HEADER_ORDER)} in that order)"
            )
        if name in fields:
            raise UsageError(f"the seed has {name}: twice")
        fields[name] = value
    if not fields:
        return seed  # music only: the model's own header comes first
    if "K" in fields and "M" not in fields:
        raise UsageError(
            "a seed with K: needs M: too (the model writes M: and L: before K:); "
            "give the meter, e.g. M:6/8, or leave K: out"
        )
    fields.setdefault("X", "1")
    if "M" in fields and "L" not in fields:
        meter = parse_meter(fields["M"]) if fields["M"] != "none" else None
        unit = default_unit(meter)
        fields["L"] = f"{unit.numerator}/{unit.denominator}"
    header = "\n".join(f"{name}:{fields[name]}" for name in HEADER_ORDER if name in fields)
    if "K" in fields:
        return header + "\n" + "\n".join(lines[body_at:])
    if "M" in fields:
        return header + "\n"  # the model goes on with Q:, R: or K:
    return header + ("\n" if seed.endswith("\n") else "")


# ---- a header from choices a musician names (generate --meter --key --unit --tempo)

_MODE_WORDS = {
    "": "maj",
    "maj": "maj",
    "ion": "maj",
    "m": "min",
    "min": "min",
    "aeo": "min",
    "dor": "dor",
    "phr": "phr",
    "lyd": "lyd",
    "mix": "mix",
    "loc": "loc",
}
_KEY = re.compile(r"\s*([A-Ga-g])\s*(#|b|sharp|flat)?\s*([A-Za-z]*)\s*")
_METER = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{1,2})\s*")
_UNIT = re.compile(r"\s*1\s*/\s*(\d{1,2})\s*")
MIN_TEMPO, MAX_TEMPO = 20, 400
"""Q: tempos the grammar lets a tune write (quarter notes a minute)."""


def key_text(key: str, modes: list[str] | None = None) -> str:
    """A key as the stream writes it (``Ador``, ``Em``, ``Bb``, ``F#m``) from how a musician
    names it (``A dorian``, ``E minor``, ``Bb major``, ``f# m``); `modes`: the modes the
    model knows (None: any).  UsageError naming --key for anything else."""
    m = _KEY.fullmatch(key)
    word = m.group(3).lower() if m else ""
    mode = _MODE_WORDS.get(word if word in ("", "m") else word[:3]) if m else None
    if mode is None or (len(word) > 3 and not _full_mode_word(word)):
        raise UsageError(
            f"--key {key!r}: give a tonic and a mode, e.g. D, Em, Dmix, Ador, Bb, F#m (modes: {', '.join(MODES)})"
        )
    tonic = m.group(1).upper() + {"sharp": "#", "flat": "b"}.get(m.group(2) or "", m.group(2) or "")
    if abs(key_fifths(tonic, mode)) > MAX_KEY_FIFTHS:
        raise UsageError(f"--key {key!r} needs more than {MAX_KEY_FIFTHS} sharps or flats; spell it the other way")
    if modes is not None and mode_name(mode) not in modes:
        raise UsageError(
            f"--key {key!r}: the model never saw the {mode_name(mode)} mode (it knows {', '.join(sorted(modes))})"
        )
    return tonic + mode_text(mode)


def _full_mode_word(word: str) -> bool:
    return word in ("major", "minor", "ionian", "aeolian", "dorian", "phrygian", "lydian", "mixolydian", "locrian")


def meter_text(meter: str, meters: list[str] | None = None) -> str:
    """A meter as the stream writes it (``6/8``; ``C`` is ``4/4``, ``C|`` is ``2/2``);
    `meters`: the ones the model knows (None: any).  UsageError naming --meter otherwise."""
    text = {"C": "4/4", "C|": "2/2"}.get(meter.strip(), meter.strip())
    m = _METER.fullmatch(text)
    if text != "none":
        den = int(m.group(2)) if m else 0
        if not m or not 1 <= int(m.group(1)) <= 16 or den not in (1, 2, 4, 8, 16):
            raise UsageError(f"--meter {meter!r}: give a time signature such as 6/8, 3/4, 4/4, 2/2 or C")
        text = f"{int(m.group(1))}/{den}"
    if meters is not None and text not in meters:
        raise UsageError(f"--meter {text}: the model never saw that meter (it knows {', '.join(_by_size(meters))})")
    return text


def _by_size(meters: list[str]) -> list[str]:
    def size(m: str) -> tuple:
        n, _, d = m.partition("/")
        return (0, int(d), int(n)) if n.isdigit() and d.isdigit() else (1, 0, 0)

    return sorted(meters, key=size)


def header_text(
    meter: str | None = None,
    key: str | None = None,
    unit: str | None = None,
    tempo: float | None = None,
    meters: list[str] | None = None,
    modes: list[str] | None = None,
) -> str:
    """A tune's header from a musician's choices, in the stream's order (X:, M:, L:, Q:,
    K:): ``header_text("6/8", "A dorian")`` is ``'X:1\\nM:6/8\\nL:1/8\\nK:Ador\\n'``.
    Without a key it ends before K: (the model picks the key); the unit is the meter's
    default unless given.  `meters` and `modes` are what the model knows (None: any)."""
    if meter is None:
        flags = ", ".join(f for f, v in (("--key", key), ("--unit", unit), ("--tempo", tempo)) if v is not None)
        raise UsageError(f"{flags} needs --meter too (an ABC header writes M: first), e.g. --meter 6/8")
    m = meter_text(meter, meters)
    lines = ["X:1", f"M:{m}"]
    if unit is None:
        default = default_unit(parse_meter(m) if m != "none" else None)
        lines.append(f"L:{default.numerator}/{default.denominator}")
    else:
        u = _UNIT.fullmatch(unit)
        if not u or int(u.group(1)) not in (1, 2, 4, 8, 16, 32):
            raise UsageError(f"--unit {unit!r}: give a note length such as 1/8 or 1/16")
        lines.append(f"L:1/{int(u.group(1))}")
    if tempo is not None:
        if not MIN_TEMPO <= tempo <= MAX_TEMPO or tempo != int(tempo):
            raise UsageError(f"--tempo must be a whole number of quarter notes a minute, {MIN_TEMPO}-{MAX_TEMPO}")
        lines.append(f"Q:1/4={int(tempo)}")
    if key is not None:
        lines.append(f"K:{key_text(key, modes)}")
    return "\n".join(lines) + "\n"
