"""What a musician reads off an ABC tune's text: the header's choices and the written form.

    >>> f = figures("X:1\\nM:6/8\\nL:1/8\\nR:jig\\nK:Ador\\n|:EAA ABc|EAA ABc:|\\n|:e3 ABc|d3 e2:|\\n")
    >>> f["meter"], f["mode"], f["tonic_pc"], f["rhythm"], f["repeat_signs"], f["double_bars"]
    ('6/8', 'dor', 9, 'jig', True, 0)
    >>> f["written_bars"]
    ['EAAABc', 'EAAABc', 'e3ABc', 'd3e2']
    >>> f["bar_lengths"], f["bar_length"], f["at_repeat"]
    ([3.0, 3.0, 3.0, 2.5], 3.0, [True, True, True, True])

`figures(text)` gives a dict that `musicrnn.music` turns into the music table:

    meter          the M: value as written ('none' when absent)
    mode           maj min dor phr lyd mix loc ('' for K:none)
    tonic_pc       the key's tonic as a pitch class 0-11 (None for K:none)
    rhythm         the R: value, or None
    written_bars   each written bar's music (spaces, line ends, comments and ending
                   numbers left out), in written order: repeats are not expanded
    repeat_signs   whether the body has |: :| or ::
    double_bars    how many || the body has
    bar_lengths    each written bar's length in quarter notes, as music21 reads the
                   tune (None when music21 cannot read it or makes no measures of it)
    at_repeat      for each of those bars, whether a repeat sign closes it or the bar
                   before it, or opens it (where the tradition puts a short bar: the
                   pickup's complement before a repeat, and the pickup after it)
    bar_length     the meter's bar length in quarter notes (None for free meter)
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from encoders.abc.theory import mode_name, tonic_pitch_class
from encoders.abc.tokens import header_end, parse_key, parse_meter, tokenize

__all__ = ["figures", "written_bars"]

_NOT_MUSIC = ("space", "newline", "comment", "continuation", "ending")


def figures(text: str, header_only: bool = False) -> dict[str, Any]:
    """The header's choices and the written form of one ABC tune (see the module docstring);
    with `header_only`, just meter, mode, tonic_pc and rhythm (read from the header lines,
    about 100 times faster: for scanning a whole corpus).  Never raises on any str."""
    if header_only:
        return _header_figures(text)
    toks = tokenize(text)
    start = header_end(toks)
    header: dict[str, str] = {}
    for t in toks[:start]:
        if t.kind == "field" and t.name not in header:
            header[t.name] = t.value.strip()
    bars: list[str] = []
    current: list[str] = []
    repeat_signs, double_bars = False, 0
    for t in toks[start:]:
        if t.kind == "bar":
            repeat_signs = repeat_signs or ":" in t.text
            double_bars += t.text == "||"
            if current:
                bars.append("".join(current))
                current = []
        elif t.kind not in _NOT_MUSIC:
            current.append(t.text)
    if current:
        bars.append("".join(current))
    meter = header.get("M", "none") or "none"
    parsed = parse_meter(meter) if meter != "none" else None
    return {
        **_key_figures(header),
        "written_bars": bars,
        "repeat_signs": repeat_signs,
        "double_bars": double_bars,
        **dict(zip(("bar_lengths", "at_repeat"), written_bars(text) or (None, None))),
        "bar_length": 4.0 * parsed[0] / parsed[1] if parsed else None,
    }


def _key_figures(header: dict[str, str]) -> dict[str, Any]:
    """meter, mode, tonic_pc and rhythm from the header's first field values by name."""
    key = parse_key(header.get("K", "C"))
    return {
        "meter": header.get("M", "none") or "none",
        "mode": mode_name(key.mode) if key.tonic else "",
        "tonic_pc": tonic_pitch_class(key.tonic) if key.tonic else None,
        "rhythm": header.get("R"),
    }


def _header_figures(text: str) -> dict[str, Any]:
    header: dict[str, str] = {}
    for line in text.split("\n"):
        name, colon, value = line.partition(":")
        if colon and len(name) == 1 and name.isalpha():
            header.setdefault(name, value.split("%", 1)[0].strip())
            if name == "K":
                break
        elif line.strip() and not line.startswith("%"):
            break
    return _key_figures(header)


def written_bars(text: str) -> tuple[list[float], list[bool]] | None:
    """Each written bar's length in quarter notes as music21 reads the tune (the first
    voice; repeats not expanded) and whether it stands at a repeat sign (see `figures`),
    or None when music21 cannot read the tune."""
    try:
        import music21

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            score = music21.converter.parse(text, format="abc")  # (it prints warnings about beams)
        part = score.parts[0] if getattr(score, "parts", None) else score
        measures = list(part.getElementsByClass("Measure"))
        if not measures:
            return None  # music21 makes no measures of some one-line tunes
        repeat = music21.bar.Repeat
        ends = [isinstance(m.rightBarline, repeat) for m in measures]
        starts = [isinstance(m.leftBarline, repeat) for m in measures]
        at_repeat = [ends[i] or starts[i] or (i > 0 and ends[i - 1]) for i in range(len(measures))]
        return [float(m.duration.quarterLength) for m in measures], at_repeat
    except Exception:  # noqa: BLE001 - music21 raises many kinds of errors on unusual text
        return None
