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

from encoders.abc.theory import default_unit
from encoders.abc.tokens import parse_meter
from encoders.piece import UsageError

__all__ = ["complete_seed", "HEADER_ORDER"]

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
