"""What the studio asks a model for: the page's controls checked, and the seeds that start,
continue, vary and transpose a piece.

Everything here is plain text work (no torch, no server): a control's bad value is a
`StudioError` naming the control as the page labels it ("Temperature must be ..."), so the
page shows one line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from encoders import UsageError

__all__ = [
    "MAX_BARS",
    "MAX_HOW_MANY",
    "Settings",
    "StudioError",
    "bar_ends",
    "continue_seed",
    "parse_settings",
    "transpose_text",
    "transposable",
    "vary_seed",
]

MAX_HOW_MANY = 16
"""How many pieces one Generate may ask for (each is sampled and rendered on this machine)."""
MAX_BARS = 128
MAX_MOTIF = 2000
"""Characters a motif may have (it is a start, not a piece)."""
MAX_TEXT = 50_000
"""Characters of a piece the studio continues, varies or transposes (a generated piece is a few hundred)."""


class StudioError(UsageError):
    """A request the studio cannot do; the one-line message is shown in the page, `status`
    the HTTP status it is answered with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Settings:
    """The page's controls, checked."""

    model: str
    meter: str = ""
    key: str = ""
    bars: int | None = None
    temperature: float = 1.0
    num: int = 1
    motif: str = ""
    tuning: str = ""
    capo: int = 0
    seed_bars: float = 8


def _number(data: dict, name: str, label: str, default, lo, hi, whole: bool):
    value = data.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value) if whole and not isinstance(value, float) else float(value)
    except (TypeError, ValueError, OverflowError):
        raise StudioError(f"{label} must be a number, not {str(value)[:20]!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or not lo <= number <= hi:
        raise StudioError(f"{label} must be from {lo} to {hi}, not {str(value)[:20]}")
    if whole and number != int(number):
        raise StudioError(f"{label} must be a whole number, not {number}")
    return int(number) if whole else number


def _text(data: dict, name: str, label: str, limit: int) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise StudioError(f"{label} must be text")
    if len(value) > limit:
        raise StudioError(f"{label} is {len(value)} characters long; at most {limit}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (JSON allows "\ud800")
        raise StudioError(f"{label} holds a character that is not text") from None
    return value


def parse_settings(data: Any) -> Settings:
    """The controls of a request body (a JSON object), checked; StudioError names the control."""
    if not isinstance(data, dict):
        raise StudioError("expected the controls as a JSON object")
    model = _text(data, "model", "Model", 4096)
    if not model:
        raise StudioError("choose a Model")
    meter = _text(data, "meter", "Meter", 16).strip()
    if meter and not re.fullmatch(r"\d{1,2}/\d{1,2}|C\|?|none", meter):
        raise StudioError(f"Meter must look like 6/8, not {meter!r}")
    key = _text(data, "key", "Key", 16).strip()
    if key and not re.fullmatch(r"[A-G][#b]?(m|min|maj|ion|dor|phr|lyd|mix|aeo|loc)?", key):
        raise StudioError(f"Key must look like D, Dmix or Ador, not {key!r}")
    return Settings(
        model=model,
        meter=meter,
        key=key,
        bars=_number(data, "bars", "Bars", None, 1, MAX_BARS, True),
        temperature=_number(data, "temperature", "Temperature", 1.0, 0.05, 3.0, False),
        num=_number(data, "num", "How many", 1, 1, MAX_HOW_MANY, True),
        motif=_text(data, "motif", "Motif", MAX_MOTIF).replace("\r\n", "\n").strip(),
        tuning=_text(data, "tuning", "Tuning", 40).strip(),
        capo=_number(data, "capo", "Capo", 0, 0, 12, True),
        seed_bars=_number(data, "seed_bars", "Seed bars", 8, 1, 64, False),
    )


# ---- bars: where each ends, in the text as its scheme writes it (the Scheme contract says)


def _codec(scheme: str):
    import encoders

    return encoders.get(scheme)


def transposable(scheme: str) -> bool:
    """Whether Transpose can move this scheme's pieces."""
    return _codec(scheme).transposes


def bar_ends(text: str, scheme: str) -> list[int]:
    """Offsets in `text` where each bar ends (after its bar line), in order."""
    return _codec(scheme).bar_ends(text)


def _checked(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise StudioError("this piece has no text to go on from")
    if len(text) > MAX_TEXT:
        raise StudioError(f"this piece is {len(text):,} characters long; the studio goes on from at most {MAX_TEXT:,}")
    return text


def continue_seed(text: str, scheme: str) -> str:
    """The piece's text without its final bar line or end, for the model to write on from."""
    return _codec(scheme).open_end(_checked(text))


def vary_seed(text: str, scheme: str, bar: Any) -> str:
    """The piece's text up to bar `bar` (from 1): the model writes bar `bar` on anew."""
    ends = bar_ends(_checked(text), scheme)
    try:
        bar = int(bar)
    except (TypeError, ValueError, OverflowError):
        raise StudioError(f"Vary from bar needs a bar number, not {str(bar)[:20]!r}") from None
    if not 1 <= bar <= len(ends):
        raise StudioError(f"Vary from bar: this piece has bars 1 to {len(ends)}, not {bar}")
    if bar == 1:
        return _codec(scheme).opening(text)
    return text[: ends[bar - 2]]


def transpose_text(text: str, scheme: str, semitones: Any) -> str:
    """The piece moved by `semitones` (-12 to 12), spelled in its new key (ABC tunes)."""
    try:
        semitones = int(semitones)
    except (TypeError, ValueError, OverflowError):
        raise StudioError(f"Transpose needs a number of semitones, not {str(semitones)[:20]!r}") from None
    if not -12 <= semitones <= 12 or semitones == 0:
        raise StudioError(f"Transpose by -12 to 12 semitones (not 0), not {semitones}")
    codec = _codec(scheme)
    if not codec.transposes:
        raise StudioError(f"Transpose cannot move {scheme} pieces")
    moved = codec.transpose(_checked(text), semitones)
    if moved is None:
        raise StudioError(
            "this tune cannot be moved faithfully (its key has no tonic, or a note would need a triple accidental)"
        )
    return moved
