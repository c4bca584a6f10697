"""Raw ABC files -> the normalized tunes of the ``abc`` scheme (see `encoders.abc`), and transposition.

`normalize(text, path)` reads the text of a whole ``.abc`` file (many tunes,
each starting at an ``X:`` line and ending at a blank line; free text between
tunes is ignored) and returns an `EncodeResult`: one normalized text per tune
that can be kept, and a `Problem` (file:line:column, the tune's X: number and
title, the reason) for every tune skipped.  It never raises.

The normalized form (decisions the scheme's docstring leaves open):

* header ``X:1``, ``T:`` (first title only, with ``titles=True``), ``M:``, ``L:``,
  ``Q:1/4=N`` (any tempo, converted to quarter notes per minute), ``R:`` (lower
  case, only when it names a rhythm: one to three plain words such as ``reel``
  or ``double jig``; the Essen collection uses R: for genre notes such as
  ``liebes - lied, leid`` or ``xiaodiao]``, which are dropped), ``K:`` last.
  Missing M: is 4/4 (as abc2midi plays it); ``M:FREI..`` (Essen's free meter)
  is ``M:none``.  K: is written ``G`` ``Am`` ``Ador`` ``Emix`` ``none`` ``Hp``
  (maj/ion -> nothing, min/aeo/m -> ``m``, other modes as three lower-case
  letters), explicit accidentals after it (``K:Dmix =c``); clefs, ``-8va`` and
  other words are dropped.
* bar lines: ``|`` ``||`` ``|]`` ``|:`` ``:|`` ``::`` only.  ``:|:`` ``:||:``
  -> ``::``; ``:||`` ``:|]`` ``::|`` ``|:|`` -> ``:|``; ``||:`` ``[|:`` -> ``|:``;
  ``[|`` -> ``||``; ``[|]`` (invisible) -> ``|``; ``||]`` -> ``|]``.
* endings are always written with a bracket, right after their bar line:
  ``|[1`` ``:|[2`` (``|1`` and ``| [1`` become ``|[1``).
* note lengths in one spelling: ``A/`` (1/2), ``A/4`` (not ``A//``), ``A3/2`` (not
  ``A3/``), no ``A1``; octaves as ``c'`` / ``C,`` (``c,`` becomes ``C``); the
  invisible rest ``x`` becomes ``z``, ``X`` becomes ``Z``.
* spaces: one space at most, and only where it separates notes (a beam break):
  none at line ends, around bar lines, endings, inline fields, broken rhythm
  and ties, inside chords and grace groups, or after a chord symbol, tuplet
  mark, decoration or slur start.
* decorations: only ``~`` and ``.`` in front of a note, chord or grace group;
  the single-letter ones (``T`` ``u`` ``v`` ``H`` ...) are dropped like ``!..!``.
* body field lines ``K:`` ``M:`` ``L:`` become inline fields ``[K:..]`` at the
  start of the next music line; other body fields (``w:`` ``W:`` ``P:`` ``T:``
  ``Q:`` ...) and other inline fields are dropped.
* several voices: the first voice only (the one named by the first ``V:``
  field; music before any ``V:`` line counts as the first voice); voice
  overlays (``&`` up to the next bar line) are dropped too.
* a music line that ends without a bar line where the bar so far has exactly
  the meter's length gets a ``|`` (Essen's implicit bar lines).

Skipped tunes (the problem message starts with the reason, see `SKIP_REASONS`):
``unreadable`` (no K: and no music, an unknown key, much text that is not
ABC, or more than `MAX_TUNE_CHARS` characters), ``no notes``, ``irregular
bars`` (the player's `Decoded.bars_ok` is False:
abc2midi would print a "Bar N has X time units while the time signature has Y"
warning, its bar check followed in played order, see `encoders.abc.player`; or
an ending starts inside a bar; ``keep_irregular=True`` keeps them), and
``internal error`` (a bug here; reported, never raised).

Transposition (``transpose="C"``: every tune moved the nearer way so its tonic
is C, keeping the mode; ``"all"``: 12 pieces per tune, shifts 0, +1 .. +6, -5
.. -1 semitones) goes through the tokenizer: every note is read the way
abc2midi plays it (key signature, accidentals carried to the end of the bar for
that letter in every octave, as abc2midi does), moved by the interval and
spelled in the new key (letters move by the key's diatonic step, accidentals
are written where the new key signature and the bar's accidentals so far would
not give the pitch -- under both abc2midi's rule and the per-octave rule of the
standard).  Chord symbols and inline keys move too.  `transpose_tune` does one
tune.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from encoders import EncodeResult, debugging
from encoders.abc.player import play
from encoders.abc.theory import (
    ACCIDENTAL_SEMITONES,
    ACCIDENTAL_TEXT,
    LETTERS,
    NATURAL_SEMITONES,
    PIPES_SIGNATURE,
    broken_factors,
    key_fifths,
    meter_length,
    mode_text,
    note_pitch,
    octave_number,
    semitones_to_c,
    signature,
    spell_tonic,
    tonic_pitch_class,
    tuplet,
)
from encoders.abc.tokens import (
    MAX_LENGTH_NUMBER,
    Key,
    Token,
    default_unit,
    parse_key,
    parse_meter,
    parse_tempo,
    parse_unit,
    tokenize,
)
from encoders.piece import Problem, UsageError

__all__ = [
    "SKIP_REASONS",
    "TRANSPOSE_MODES",
    "TuneResult",
    "bar_problems",
    "normalize",
    "normalize_tunes",
    "skip_reason",
    "split_tunes",
    "transpose_tune",
    "interval_to_c",
]

TRANSPOSE_MODES = ("none", "C", "all")
SKIP_REASONS = ("unreadable", "no notes", "irregular bars", "internal error")

MAX_TUNE_CHARS = 100_000
"""A tune longer than this is skipped as unreadable (the folk corpus's longest is 1,294
characters); reading is linear but not fast, and a 50 MB line is no tune."""
ALL_SHIFTS = (0, 1, 2, 3, 4, 5, 6, -5, -4, -3, -2, -1)
"""Semitone shifts of transpose="all", the tune as written first."""

_LINE_SPLIT = re.compile(r"\r\n|\n|\r")
_RHYTHM_RE = re.compile(r"[a-z]+(?: [a-z]+){0,2}")


# ============================================================================ results


@dataclass(slots=True)
class TuneResult:
    """One tune of a file: its normalized text (None when skipped), the reason and
    the problem when skipped, and where it starts in the file."""

    text: str | None
    line: int
    number: str = ""
    title: str = ""
    reason: str = ""
    problem: Problem | None = None


def skip_reason(problem: Problem) -> str:
    """The reason (one of `SKIP_REASONS`) a problem from `normalize` gives, parsed from its message."""
    for r in SKIP_REASONS:
        if f": {r}" in problem.message or problem.message.startswith(r):
            return r
    return "unreadable"


# ============================================================================ entry points


def normalize(
    text: str, path: str = "", titles: bool = False, transpose: str = "none", keep_irregular: bool = False
) -> EncodeResult:
    """The normalized tunes of a file's text (see the module docstring); never raises on
    any text (a `transpose` other than none, C or all is a ValueError)."""
    if transpose not in TRANSPOSE_MODES:
        raise UsageError(f"transpose must be one of {', '.join(TRANSPOSE_MODES)}, not {transpose!r}")
    result = EncodeResult()
    try:
        tunes = normalize_tunes(text, path, titles=titles, keep_irregular=keep_irregular)
    except Exception as e:  # the promise is: never raise
        if debugging():
            raise
        result.problems.append(Problem(f"internal error: {type(e).__name__}: {e}", path=path))
        return result
    for tune in tunes:
        if tune.text is None:
            if tune.problem is not None:
                result.problems.append(tune.problem)
            continue
        try:
            result.pieces.extend(_transposed(tune.text, transpose))
        except Exception as e:
            if debugging():
                raise
            result.problems.append(
                Problem(
                    f"tune X:{tune.number}{_title_part(tune.title)}: internal error while transposing: "
                    f"{type(e).__name__}: {e}",
                    tune.line,
                    1,
                    path,
                )
            )
    return result


def _transposed(text: str, transpose: str) -> list[str]:
    if transpose in ("none", "", None):
        return [text]
    if transpose == "C":
        return [transpose_tune(text, interval_to_c(text))]
    if transpose == "all":
        return [transpose_tune(text, s) for s in ALL_SHIFTS]
    raise UsageError(f"transpose must be one of {TRANSPOSE_MODES}, not {transpose!r}")


def split_tunes(text: str) -> tuple[list[tuple[int, list[str]]], dict[str, str]]:
    """The tunes of a file as (1-based line of X:, lines up to the blank line that ends it),
    and the M: L: Q: R: fields of the file header (the text before the first X:)."""
    lines = _LINE_SPLIT.split(text)
    tunes: list[tuple[int, list[str]]] = []
    defaults: dict[str, str] = {}
    i, n = 0, len(lines)
    while i < n and not lines[i].startswith("X:"):
        m = re.match(r"([MLQR]):(.*)", lines[i])
        if m:
            defaults[m.group(1)] = m.group(2)
        i += 1
    while i < n:
        if not lines[i].startswith("X:"):
            i += 1
            continue
        start = i
        i += 1
        while i < n and lines[i].strip() and not lines[i].startswith("X:"):
            i += 1
        tunes.append((start + 1, lines[start:i]))
    return tunes, defaults


def normalize_tunes(text: str, path: str = "", titles: bool = False, keep_irregular: bool = False) -> list[TuneResult]:
    """Every tune of a file's text, normalized or with the reason it was skipped."""
    if not isinstance(text, str):
        text = str(text)
    tunes, defaults = split_tunes(text)
    out: list[TuneResult] = []
    for first_line, lines in tunes:
        number = lines[0][2:].split("%", 1)[0].strip()[:20]
        size = sum(len(line) + 1 for line in lines)
        try:
            if size > MAX_TUNE_CHARS:
                res = TuneResult(
                    None,
                    first_line,
                    reason="unreadable",
                    problem=Problem(
                        f"unreadable: {size:,} characters, more than any tune (at most {MAX_TUNE_CHARS:,} are read)",
                        first_line,
                        1,
                        path,
                    ),
                )
            else:
                res = _normalize_tune(lines, first_line, path, defaults, titles, keep_irregular)
        except Exception as e:
            if debugging():
                raise
            res = TuneResult(
                None,
                first_line,
                reason="internal error",
                problem=Problem(f"internal error: {type(e).__name__}: {e}", first_line, 1, path),
            )
        res.number = number
        if res.problem is not None:
            res.problem = Problem(
                f"tune X:{number}{_title_part(res.title)}: {res.problem.message}",
                res.problem.line,
                res.problem.column,
                path,
            )
        out.append(res)
    return out


def _title_part(title: str) -> str:
    return f" ({title[:40]!r})" if title else ""


# ============================================================================ header fields


def canonical_meter(value: str) -> tuple[str, tuple[int, int] | None]:
    """M: value -> (canonical text, (num, den) or None): ``C`` -> 4/4, ``C|`` -> 2/2,
    ``FREI4/4`` and unreadable values -> none."""
    v = value.split("%", 1)[0].strip()
    low = v.lower()
    if not v or "frei" in low or "free" in low or low == "none":
        return "none", None
    meter = parse_meter(v)
    if meter is None:
        m = re.search(r"(\d+(?:\+\d+)*)\s*/\s*(\d+)", v)
        if m:
            meter = parse_meter(f"{m.group(1)}/{m.group(2)}")
        elif re.fullmatch(r"C\s*\|", v):
            meter = (2, 2)
        elif v.startswith("C"):
            meter = (4, 4)
    if meter is None:
        return "none", None
    return f"{meter[0]}/{meter[1]}", meter


def canonical_unit(value: str | None, meter: tuple[int, int] | None) -> Fraction:
    unit = parse_unit(value) if value is not None else None
    if unit is None or unit > 4 or unit < Fraction(1, 256):
        unit = default_unit(meter)
    return unit


def _frac_text(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}"


def key_signature(key: Key, raw: str = "") -> dict[str, int]:
    """The key signature abc2midi plays for a parsed key (K:HP and K:Hp get F# C#)."""
    if _is_pipes(raw):
        return dict(PIPES_SIGNATURE)
    return key.signature


def _is_pipes(raw: str) -> bool:
    return raw.strip().startswith(("HP", "Hp"))


def render_key(tonic: str, mode: str, sig: dict[str, int]) -> str:
    """Canonical K: value for a tonic ('' = none), mode and the full signature to play."""
    if not tonic:
        std: dict[str, int] = {}
        head = "none"
    else:
        std = signature(key_fifths(tonic, mode))
        head = tonic + mode_text(mode)
    extra = []
    for letter in LETTERS:
        a, b = sig.get(letter, 0), std.get(letter, 0)
        if a != b:
            extra.append(ACCIDENTAL_TEXT.get(a, "=") + letter.lower())
    return " ".join([head] + extra)


def canonical_key(value: str) -> tuple[str | None, Key, dict[str, int]]:
    """K: value -> (canonical text or None when the key is not understood, Key, signature)."""
    v = value.split("%", 1)[0].strip()
    v = re.sub(r"(?<=[A-Za-z])(?=(?:\^\^|\^|__|_|=)[A-Ga-g]\b)", " ", v)  # Dmix=c -> Dmix =c
    if _is_pipes(v):
        return "Hp", parse_key("Hp"), dict(PIPES_SIGNATURE)
    key = parse_key(v)
    if key.error:
        return None, key, key.signature
    if (
        not key.tonic
        and v
        and not v.lower().startswith(("none", "clef", "treble", "bass", "alto", "tenor", "perc", "exp"))
    ):
        return None, key, key.signature
    sig = key.signature
    return render_key(key.tonic, key.mode, sig), key, sig


CHORD_QUALITIES = (
    "",
    "m",
    "7",
    "m7",
    "maj7",
    "M7",
    "6",
    "m6",
    "aug",
    "+",
    "aug7",
    "dim",
    "dim7",
    "9",
    "m9",
    "maj9",
    "M9",
    "11",
    "dim9",
    "sus",
    "sus9",
    "7sus4",
    "7sus9",
    "5",
    "sus4",
    "sus2",
    "7sus2",
    "m7b5",
)
"""Chord-symbol qualities abc2midi knows (others make it stop with an error)."""
_QUALITY_ALIASES = {
    "min": "m",
    "mi": "m",
    "-": "m",
    "maj": "",
    "M": "",
    "min7": "m7",
    "mi7": "m7",
    "-7": "m7",
    "o": "dim",
    "o7": "dim7",
    "dim.": "dim",
    "min6": "m6",
    "ma7": "maj7",
}
_CHORD_RE = re.compile(r"([A-G])([#b]?)([^/]*)(?:/([A-G])([#b]?))?")


def chord_name(value: str) -> str | None:
    """A chord symbol's text in the form kept (``Am`` ``F#m7`` ``G/B``), None for text that is
    not a chord abc2midi can play (fingerings "4", "D.C.", "Segno", dynamics ...)."""
    v = value.strip()
    m = _CHORD_RE.fullmatch(v)
    if m is None:
        return None
    quality = _QUALITY_ALIASES.get(m.group(3), m.group(3))
    if quality not in CHORD_QUALITIES:
        return None
    bass = f"/{m.group(4)}{m.group(5)}" if m.group(4) else ""
    return f"{m.group(1)}{m.group(2)}{quality}{bass}"


def _rhythm(value: str) -> str | None:
    v = " ".join(value.split("%", 1)[0].lower().split())
    if v and len(v) <= 24 and _RHYTHM_RE.fullmatch(v):
        return v
    return None


# ============================================================================ one tune

_KEEP_DECORATIONS = ("~", ".")
_SPACE_AFTER_OK = {"note", "rest", "measure_rest", "chord_end", "slur_end"}
_SPACE_BEFORE_OK = {
    "note",
    "rest",
    "measure_rest",
    "chord_start",
    "chord_symbol",
    "decoration",
    "slur_start",
    "tuplet",
    "grace_start",
}
_DECORATED_OK = {"note", "chord_start", "grace_start", "decoration", "chord_symbol"}


def _length_text(f: Fraction) -> str:
    if f == 1:
        return ""
    if f.denominator == 1:
        return str(f.numerator)
    if f.numerator == 1:
        return "/" if f.denominator == 2 else f"/{f.denominator}"
    return f"{f.numerator}/{f.denominator}"


def _note_text(accidental: str, upper: str, octnum: int, length: Fraction) -> str:
    if octnum >= 1:
        body = upper.lower() + "'" * (octnum - 1)
    else:
        body = upper + "," * (-octnum)
    return accidental + body + _length_text(length)


def _bar_text(text: str) -> str:
    left = len(text) - len(text.lstrip(":"))
    right = len(text) - len(text.rstrip(":"))
    if text.strip(":") == "":  # :: ::: -> ::
        return "::"
    if left and right:
        return "::"
    if left:
        return ":|"
    if right:
        return "|:"
    if ":" in text:  # |:| -> an end of repeat
        return ":|"
    pipes = text.count("|")
    if text == "[|]":
        return "|"
    if text.endswith("]"):
        return "|]"
    if text.startswith("[") or pipes >= 2:
        return "||"
    return "|"


def _field_item(name: str, value: str, meter_box: list) -> tuple[str, str] | None:
    """A body K:/M:/L: field -> an inline field item (kind, text), None when it is dropped."""
    if name == "M":
        text, meter = canonical_meter(value)
        meter_box[0] = meter
        return ("inline_field", f"[M:{text}]")
    if name == "L":
        unit = canonical_unit(value, meter_box[0])
        return ("inline_field", f"[L:{_frac_text(unit)}]")
    if name == "K":
        text, _, _ = canonical_key(value)
        if text is None:
            return None
        return ("inline_field", f"[K:{text}]")
    return None


def _voice_id(value: str) -> str:
    """The voice a V: field names (its first word)."""
    return (value.split() or [""])[0]


def _token_lines(lines: list[str]) -> list[list[Token]]:
    """The tokens of a tune's lines, one list per line (without the newline tokens)."""
    tlines: list[list[Token]] = [[]]
    for t in tokenize("\n".join(lines)):
        if t.kind == "newline":
            tlines.append([])
        else:
            tlines[-1].append(t)
    return tlines


@dataclass(slots=True)
class _Header:
    """What a tune's header lines say: the M: L: Q: R: K: values by name, the title,
    the first voice named, where the body starts (a line index) and the K: token."""

    fields: dict[str, str]
    title: str = ""
    first_voice: str | None = None
    body_start: int = 0
    key_token: Token | None = None


def _read_header(tlines: list[list[Token]], titles: bool) -> _Header:
    has_k = any(tl and tl[0].kind == "field" and tl[0].name == "K" for tl in tlines)
    head = _Header({}, body_start=len(tlines))
    last_name = ""
    for idx, tl in enumerate(tlines):
        if idx == 0:
            continue  # the X: line
        if tl and tl[0].kind == "field":
            f = tl[0]
            if f.name == "K":
                head.fields["K"] = f.value
                head.key_token = f
                head.body_start = idx + 1
                break
            if f.name == "+":
                if last_name == "T" and titles and head.title:
                    head.title = f"{head.title} {f.value.strip()}".strip()
                continue
            last_name = f.name
            if f.name == "T":
                if not head.title:
                    head.title = " ".join(f.value.replace("\\%", "%").split())
            elif f.name == "V":
                if head.first_voice is None:
                    head.first_voice = _voice_id(f.value)
            elif f.name in ("M", "L", "Q", "R"):
                head.fields[f.name] = f.value
            continue
        if not any(t.kind not in ("space", "comment") for t in tl):
            continue
        if has_k:
            continue  # free text inside the header
        head.body_start = idx
        break
    return head


def _header_text(
    head: _Header, defaults: dict[str, str], titles: bool
) -> tuple[list[str], tuple[int, int] | None] | None:
    """The normalized header lines and the meter; None when the key is not understood."""
    fields = head.fields
    m_value = fields.get("M", defaults.get("M"))
    meter_text, meter = canonical_meter(m_value) if m_value is not None else ("4/4", (4, 4))
    unit = canonical_unit(fields.get("L", defaults.get("L")), meter)
    key_text = "C"
    if "K" in fields:
        key_text, _, _ = canonical_key(fields["K"])
        if key_text is None:
            return None
    out = ["X:1"]
    if titles and head.title:
        out.append(f"T:{head.title}")
    out.append(f"M:{meter_text}")
    out.append(f"L:{_frac_text(unit)}")
    q_value = fields.get("Q", defaults.get("Q"))
    if q_value is not None:
        bpm = parse_tempo(q_value)
        if bpm is not None and 1 <= bpm <= 1000:
            out.append(f"Q:1/4={round(bpm)}")
    r_value = fields.get("R", defaults.get("R"))
    if r_value is not None:
        rhythm = _rhythm(r_value)
        if rhythm == "hornpipe" and meter not in ((2, 4), (4, 4)):
            rhythm = None  # abc2midi plays R:hornpipe swung and stops with an error in other meters
        if rhythm:
            out.append(f"R:{rhythm}")
    out.append(f"K:{key_text}")
    return out, meter


class _Body:
    """Reads a tune's body lines into items (kind, normalized text) per output line: the
    first voice only, body fields as inline fields at the next music line, continued
    lines joined; counts the notes and the characters that are not ABC."""

    def __init__(self, first_voice: str | None, meter: tuple[int, int] | None):
        self.first_voice = first_voice
        self.meter_box: list = [meter]
        self.voice_ok = True
        self.pending: list[tuple[str, str]] = []  # inline fields waiting for the next music line
        self.lines: list[list[tuple[str, str]]] = []
        self.current: list[tuple[str, str]] | None = None  # a line continued with a backslash
        self.unknown = 0
        self.notes = 0

    def kept_voice(self, value: str) -> bool:
        """A V: field or [V:] switches voice: is it the one kept (the first one named)?"""
        if self.first_voice is None:
            self.first_voice = _voice_id(value)
        return _voice_id(value) == self.first_voice

    def read(self, tlines: list[list[Token]]) -> None:
        for tl in tlines:
            if tl and tl[0].kind == "field":
                self.field_line(tl[0])
            elif self.voice_ok:
                self.music_line(tl)
        if self.current is not None:
            self.lines.append(self.current)

    def field_line(self, f: Token) -> None:
        if f.name == "V":
            self.voice_ok = self.kept_voice(f.value)
        elif self.voice_ok:
            item = _field_item(f.name, f.value, self.meter_box)
            if item is not None:
                self.pending.append(item)

    def music_line(self, tl: list[Token]) -> None:
        items, cont = self.line_items(tl)
        if not self.voice_ok and not items and not cont:
            return
        if self.current is None:
            self.current = []
        if self.pending and items:
            self.current.extend(self.pending)
            self.pending = []
        self.current.extend(items)
        if not cont:
            self.lines.append(self.current)
            self.current = None

    def line_items(self, tl: list[Token]) -> tuple[list[tuple[str, str]], bool]:
        """The items of one music line, and whether it ends with a continuation."""
        items: list[tuple[str, str]] = []
        cont = overlay = in_chord = in_grace = False
        for t in tl:
            k = t.kind
            if k == "continuation":
                cont = True
                continue
            if k == "comment":
                continue
            if k == "inline_field" and t.name == "V":
                self.voice_ok = self.kept_voice(t.value)
                continue
            if not self.voice_ok:
                continue
            if overlay:
                if k != "bar":
                    continue
                overlay = False
            if k == "space":
                if not in_chord and not in_grace:
                    items.append(("space", " "))
            elif k == "overlay":
                overlay = True
            else:
                if k == "chord_start" or k == "chord_end":
                    in_chord = k == "chord_start"
                elif k == "grace_start" or k == "grace_end":
                    in_grace = k == "grace_start"
                item = self.item(t)
                if item is not None:
                    items.append(item)
        return items, cont

    def item(self, t: Token) -> tuple[str, str] | None:
        """One token's item in normalized form, None when it is dropped."""
        k = t.kind
        if k == "note":
            self.notes += 1
            return ("note", _note_text(t.accidental, t.letter.upper(), octave_number(t.letter, t.octave), t.length))
        if k == "rest":
            return ("rest", "z" + _length_text(t.length))
        if k == "measure_rest":
            return ("measure_rest", "Z" + (str(t.count) if t.count > 1 else ""))
        if k == "bar":
            return ("bar", _bar_text(t.text))
        if k == "ending":
            return ("ending", "[" + t.text.lstrip("["))
        if k == "chord_start":
            return ("chord_start", "[")
        if k == "chord_end":
            return ("chord_end", "]" + _length_text(t.length))
        if k == "grace_start":
            return ("grace_start", t.text)
        if k == "grace_end":
            return ("grace_end", "}")
        if k in ("tuplet", "broken", "tie", "slur_start", "slur_end"):
            return (k, t.text)
        if k == "chord_symbol":
            v = chord_name(t.value)
            return ("chord_symbol", f'"{v}"') if v else None
        if k == "decoration":
            return ("decoration", t.text) if t.text in _KEEP_DECORATIONS else None
        if k == "inline_field":
            return _field_item(t.name, t.value, self.meter_box)
        if k == "unknown":
            self.unknown += 1
        return None  # annotation, spacer, unknown, field (cannot happen here): dropped


def _normalize_tune(
    lines: list[str], first_line: int, path: str, defaults: dict[str, str], titles: bool, keep_irregular: bool
) -> TuneResult:
    tlines = _token_lines(lines)
    head = _read_header(tlines, titles)
    title = head.title

    def skip(reason: str, message: str, line: int = first_line, col: int = 1) -> TuneResult:
        return TuneResult(None, first_line, title=title, reason=reason, problem=Problem(message, line, col, path))

    header = _header_text(head, defaults, titles)
    if header is None:
        t = head.key_token
        line, col = (first_line, 1) if t is None else (first_line + t.line - 1, t.column)
        return skip("unreadable", f"unreadable: unknown key K:{head.fields['K'].strip()!r}", line, col)
    head_lines, meter = header
    body = _Body(head.first_voice, meter)
    body.read(tlines[head.body_start :])
    if body.notes == 0:
        return skip("no notes", "no notes")
    if body.unknown > max(3, body.notes // 10):
        return skip("unreadable", f"unreadable: {body.unknown} characters that are not ABC music")
    music = [b for b in (_render_line(items) for items in body.lines) if b]
    text = "\n".join(head_lines) + "\n" + "\n".join(music) + "\n"
    for _ in range(3):  # dropping a tie can leave a broken rhythm to write out ("A2<-A")
        fixed = _fix_ties_and_broken(text)
        if fixed == text:
            break
        text = fixed
    text = "\n".join(line for line in text.split("\n") if line.strip()) + "\n"  # a line that held only a tie
    text, bad = _finish_bars(text, first_line, key_line=len(head_lines))
    if bad and not keep_irregular:
        # line numbers of `bad` count lines of the normalized text; point at the tune's start instead
        return skip("irregular bars", f"irregular bars: {bad[0]}")
    toks = tokenize(text)
    if not _has_notes(toks):
        return skip("no notes", "no notes")
    if _too_long_note(toks):  # e.g. a broken rhythm made a note longer than a reader takes
        return skip("unreadable", f"unreadable: a note longer than {MAX_LENGTH_NUMBER} units")
    return TuneResult(text, first_line, title=title)


def _too_long_note(toks: list[Token]) -> bool:
    """Whether the normalized text's tokens hold a length the tokenizer capped (it would read
    another tune back)."""
    return any(t.error and "capped" in t.error for t in toks)


def _has_notes(toks: list[Token]) -> bool:
    from encoders.abc.tokens import header_end

    return any(t.kind == "note" for t in toks[header_end(toks) :])


def _balance(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop the brackets of chords and grace groups that are not closed on their line or hold
    no note (``[`` then a bar line would read as ``[|``), and stray closing brackets."""
    keep = [True] * len(items)
    n = len(items)
    for i, (k, _) in enumerate(items):
        if k not in ("chord_start", "grace_start"):
            continue
        close = "chord_end" if k == "chord_start" else "grace_end"
        inside = (
            ("note", "tie", "space") if k == "chord_start" else ("note", "space", "chord_start", "chord_end", "tie")
        )
        j, notes = i + 1, 0
        while j < n and items[j][0] in inside and not (k == "chord_start" and items[j][0] == close):
            if k == "grace_start" and items[j][0] == "chord_end":
                break
            notes += items[j][0] == "note"
            j += 1
        if k == "grace_start":
            while j < n and items[j][0] != close and items[j][0] in inside:
                j += 1
        if j < n and items[j][0] == close and notes:
            items[j] = (close + "_ok", items[j][1])
        else:
            keep[i] = False
    out = []
    for (k, s), ok in zip(items, keep):
        if not ok or k in ("chord_end", "grace_end"):
            continue  # unmatched opener or stray closer
        out.append((k[:-3] if k.endswith("_ok") else k, s))
    return out


def _render_line(items: list[tuple[str, str]]) -> str:
    items = _balance(items)
    # decorations must sit in front of a note, chord, grace group (or another decoration)
    # (and not right after a tie or broken rhythm, nor "." on a note before a broken rhythm:
    # abc2midi cannot tie to or apply broken rhythm around them)
    cleaned: list[tuple[str, str]] = []
    n = len(items)
    for i, (k, s) in enumerate(items):
        if k == "decoration":
            j = i + 1
            while j < n and items[j][0] in ("space", "decoration"):
                j += 1
            if j >= n or items[j][0] not in _DECORATED_OK:
                continue
            back = [c for c in cleaned if c[0] != "space"]
            if back and back[-1][0] in ("tie", "broken"):
                continue
            if s == "." and items[j][0] == "note" and j + 1 < n and items[j + 1][0] == "broken":
                continue
            cleaned.append((k, s))
            continue
        cleaned.append((k, s))
    # an ending belongs right after a bar line: drop spaces between
    out: list[str] = []
    prev = ""
    n = len(cleaned)
    i = 0
    while i < n:
        k, s = cleaned[i]
        if k == "space":
            j = i
            while j < n and cleaned[j][0] == "space":
                j += 1
            nxt = cleaned[j][0] if j < n else ""
            if prev in _SPACE_AFTER_OK and nxt in _SPACE_BEFORE_OK:
                out.append(" ")
            i = j
            continue
        if k == "bar" and prev == "bar":  # "| |:" "||||" -> one bar line
            s = _bar_text(out.pop() + s)
        out.append(s)
        prev = k
        i += 1
    return "".join(out)


# ============================================================================ ties, broken rhythm


class _PitchReader:
    """Reads notes' MIDI pitches as abc2midi does: the key signature, and an accidental
    carried to the end of the bar for its letter in every octave."""

    def __init__(self, sig: dict[str, int]):
        self.sig = sig
        self.bar: dict[str, int] = {}

    def key(self, value: str) -> None:
        self.sig = key_signature(parse_key(value), value)
        self.bar.clear()

    def pitch(self, t: Token) -> int:
        upper = t.letter.upper()
        if t.accidental:
            alter = ACCIDENTAL_SEMITONES[t.accidental]
            self.bar[upper] = alter
        else:
            alter = self.bar.get(upper, self.sig.get(upper, 0))
        return note_pitch(t.letter, t.octave, alter)


def _fix_ties_and_broken(text: str) -> str:
    """Drop ties that do not join two notes of the same pitch (Essen writes slurs as ties;
    ties from rests), and write broken rhythm between notes of unequal lengths (A2>B) as
    plain lengths (A3B/), which abc2midi cannot apply."""
    from encoders.abc.tokens import header_end

    tokens = tokenize(text)
    end = header_end(tokens)
    texts = [t.text for t in tokens]
    _drop_false_ties(tokens, end, texts)
    _write_out_broken(tokens, end, texts)
    return "".join(texts)


def _drop_false_ties(tokens: list[Token], end: int, texts: list[str]) -> None:
    """Blank (in `texts`) the ties of the body (from token `end`) that do not join two
    notes of the same pitch."""
    reader = _PitchReader({})
    for t in tokens[:end]:
        if t.kind == "field" and t.name == "K":
            reader.key(t.value)
    pending: list[tuple[int, int]] = []  # (tie token index, tied pitch)
    group: list[int] = []  # pitches of the current chord / last note
    last_pitch: int | None = None
    in_chord = in_grace = False
    last_kind = ""
    chord_ties: list[tuple[int, int]] = []

    def settle(pitches: list[int]) -> None:
        for idx, p in pending:
            if p not in pitches:
                texts[idx] = ""
        pending.clear()

    for i in range(end, len(tokens)):
        t = tokens[i]
        k = t.kind
        if in_grace:
            if k == "grace_end":
                in_grace = False
            elif k == "note":
                reader.pitch(t)
            continue
        if k == "grace_start":
            in_grace = True
        elif k == "note":
            p = reader.pitch(t)
            last_pitch = p
            if in_chord:
                group.append(p)
            else:
                settle([p])
                group = [p]
        elif k == "chord_start":
            in_chord = True
            group = []
        elif k == "chord_end":
            in_chord = False
            settle(group)
        elif k in ("rest", "measure_rest"):
            settle([])
            last_pitch = None
            group = []
        elif k == "tie":
            if in_chord:
                if last_kind == "note" and last_pitch is not None:
                    # a tie inside a chord is settled by the next group, after this chord
                    chord_ties.append((i, last_pitch))
                else:
                    texts[i] = ""
            elif last_kind == "note" and last_pitch is not None:
                pending.append((i, last_pitch))
            elif last_kind == "chord_end" and group:
                pending.extend((i, p) for p in group)
            else:
                texts[i] = ""
        elif k == "bar":
            reader.bar.clear()
        elif k == "inline_field" and t.name == "K":
            reader.key(t.value)
        if k == "chord_end" and chord_ties:
            pending.extend(chord_ties)
            chord_ties.clear()
        if k != "space":
            last_kind = k
    settle([])


def _write_out_broken(tokens: list[Token], end: int, texts: list[str]) -> None:
    """Write broken rhythm between single notes or rests of unequal lengths as plain lengths
    (in `texts`)."""
    for i in range(end, len(tokens)):
        t = tokens[i]
        if t.kind != "broken" or not texts[i]:
            continue
        j = i - 1
        while j >= end and tokens[j].kind == "space":
            j -= 1
        k = i + 1
        while k < len(tokens) and tokens[k].kind == "space":
            k += 1
        if j < end or k >= len(tokens):
            continue
        a, b = tokens[j], tokens[k]
        if a.kind not in ("note", "rest") or b.kind not in ("note", "rest") or a.length == b.length:
            continue
        if j > end and tokens[j - 1].kind in ("chord_start", "note") and _inside_chord(tokens, j):
            continue
        fa, fb = broken_factors(t.name, min(t.count, 3))
        texts[j] = _with_length(a, a.length * fa)
        texts[k] = _with_length(b, b.length * fb)
        texts[i] = ""


def _inside_chord(tokens: list[Token], j: int) -> bool:
    for x in range(j - 1, -1, -1):
        if tokens[x].kind == "chord_start":
            return True
        if tokens[x].kind in ("chord_end", "bar", "newline", "space"):
            return False
    return False


def _with_length(t: Token, length: Fraction) -> str:
    if t.kind == "rest":
        return t.letter + _length_text(length)
    return _note_text(t.accidental, t.letter.upper(), octave_number(t.letter, t.octave), length)


# ============================================================================ bars


class _Walker:
    """Walks a tune's body tokens and measures the bar so far (notes, chords, tuplets,
    broken rhythm), for the bar lines Essen leaves implicit at line ends."""

    def __init__(self, meter: tuple[int, int] | None, unit: Fraction):
        self.meter = meter
        self.unit = unit
        self.bars = 0
        self.dur = Fraction(0)
        self.full_rest = False
        self.tuplet_left = 0
        self.tuplet_factor = Fraction(1)
        self.broken_next: Fraction | None = None
        self.last_group = Fraction(0)
        self.in_chord = False
        self.chord_first: Fraction | None = None
        self.in_grace = False
        self.seen_music = False
        self.ending_inside: tuple[int, int, int] | None = None

    def _group(self, d: Fraction) -> None:
        if self.tuplet_left > 0:
            d *= self.tuplet_factor
            self.tuplet_left -= 1
        if self.broken_next is not None:
            d *= self.broken_next
            self.broken_next = None
        self.dur += d
        self.last_group = d
        self.seen_music = True

    def close(self) -> None:
        if self.dur > 0 or self.full_rest:
            self.bars += 1
        self.dur = Fraction(0)
        self.full_rest = False
        self.broken_next = None

    def feed(self, t: Token) -> None:
        k = t.kind
        if self.in_grace:
            if k == "grace_end":
                self.in_grace = False
            return
        if k == "grace_start":
            self.in_grace = True
        elif k == "note" or k == "rest":
            if self.dur == 0 and not self.seen_music:
                pass
            if self.in_chord:
                if self.chord_first is None:
                    self.chord_first = t.length
                return
            self._group(t.length * self.unit)
        elif k == "chord_start":
            self.in_chord = True
            self.chord_first = None
        elif k == "chord_end":
            self.in_chord = False
            self._group((self.chord_first or Fraction(1)) * t.length * self.unit)
        elif k == "measure_rest":
            self.full_rest = True
            self.seen_music = True
        elif k == "tuplet":
            pqr = tuplet(t.numbers, self.meter)
            if pqr is not None:  # (as the player: a tuplet with no meaning is ignored)
                p, q, r = pqr
                self.tuplet_left = r
                self.tuplet_factor = Fraction(q, p)
        elif k == "broken":
            prev, nxt = broken_factors(t.name, min(t.count, 3))
            self.dur += self.last_group * (prev - 1)
            self.last_group *= prev
            self.broken_next = nxt
        elif k == "bar":
            self.close()
        elif k == "ending":
            if self.dur > 0 or self.full_rest:
                if self.ending_inside is None:  # abc2midi: "found [1 or like before |:"
                    self.ending_inside = (self.bars + 1, t.line, t.column)
        elif k == "inline_field":
            if t.name == "M":
                _, self.meter = canonical_meter(t.value)
            elif t.name == "L":
                u = parse_unit(t.value)
                if u is not None:
                    self.unit = u

    @property
    def meter_length(self) -> Fraction | None:
        return meter_length(self.meter)


def _header_state(tokens: list[Token], end: int) -> tuple[tuple[int, int] | None, Fraction]:
    meter: tuple[int, int] | None = (4, 4)
    unit_value = None
    for t in tokens[:end]:
        if t.kind == "field" and t.name == "M":
            _, meter = canonical_meter(t.value)
        elif t.kind == "field" and t.name == "L":
            unit_value = t.value
    return meter, canonical_unit(unit_value, meter)


def _finish_bars(text: str, first_line: int, key_line: int) -> tuple[str, tuple[str, int, int] | None]:
    """Write the bar lines Essen leaves implicit at line ends; return the text and the first
    irregular bar (message, line, column in `text`) or None."""
    from encoders.abc.tokens import header_end

    tokens = tokenize(text)
    end = header_end(tokens)
    meter, unit = _header_state(tokens, end)
    w = _Walker(meter, unit)
    lines = text.split("\n")
    add_bar_at: set[int] = set()
    last_kind = ""
    for t in tokens[end:]:
        if t.kind == "newline":
            ml = w.meter_length
            if last_kind not in ("bar", "") and ml is not None and w.dur == ml and not w.full_rest:
                add_bar_at.add(t.line - 1)
                w.close()
            last_kind = ""
            continue
        if t.kind != "space":
            last_kind = t.kind
        w.feed(t)
    if add_bar_at:
        for i in add_bar_at:
            lines[i] = lines[i] + "|"
        text = "\n".join(lines)
    bad = None
    if w.ending_inside is not None:
        n, line, col = w.ending_inside
        bad = (f"an ending starts inside bar {n}, not after a bar line", line, col)
    elif play(text).bars_ok is False:
        bad = (
            "a bar does not have the meter's length where abc2midi checks it (see encoders.abc.player, bars_ok)",
            1,
            1,
        )
    return text, bad


def bar_problems(text: str) -> str | None:
    """For a normalized tune: why its bars are irregular (an ending inside a bar, or
    the player's `bars_ok` is False: abc2midi would warn about a bar), or None."""
    _, bad = _finish_bars(text, 1, 0)
    return bad[0] if bad else None


# ============================================================================ transposition


def _header_key(text: str) -> tuple[str, str, str]:
    """(tonic, mode, raw K value) of a normalized tune's header key."""
    m = re.search(r"^K:([^\n]*)", text, flags=re.M)
    raw = m.group(1) if m else "C"
    if _is_pipes(raw):
        return "A", "mix", raw
    key = parse_key(raw)
    return key.tonic, key.mode, raw


def interval_to_c(text: str) -> int:
    """Semitones that move a normalized tune's tonic to C the nearer way (-6 .. +5); 0 for K:none."""
    tonic, _, _ = _header_key(text)
    return semitones_to_c(tonic) if tonic else 0


def _diatonic_steps(src_letter: str, dst_letter: str, semis: int) -> int:
    d = (LETTERS.index(dst_letter) - LETTERS.index(src_letter)) % 7
    return min((d, d - 7, d + 7, d - 14), key=lambda x: abs(x * 12 / 7 - semis))


class _Transposer:
    def __init__(self, semis: int, tonic: str, mode: str):
        self.semis = semis
        src_tonic = tonic or "C"
        src_mode = mode if tonic else "maj"
        self.dst_tonic = spell_tonic((tonic_pitch_class(src_tonic) + semis) % 12, src_mode)
        self.steps = _diatonic_steps(src_tonic[0], self.dst_tonic[0], semis)
        f = key_fifths(self.dst_tonic, src_mode)
        self.prefer_flats = f < 0

    def move(self, upper: str, octnum: int, pitch_alter: int) -> tuple[str, int, int]:
        """A written note (letter, octave number, alteration) -> the moved (letter, octave, alteration)."""
        dia = LETTERS.index(upper) + 7 * octnum + self.steps
        target = NATURAL_SEMITONES[LETTERS.index(upper)] + 12 * octnum + pitch_alter + self.semis
        for delta in (0, -1, 1, -2, 2):
            dd = dia + delta
            li, on = dd % 7, dd // 7
            acc = target - (NATURAL_SEMITONES[li] + 12 * on)
            if -2 <= acc <= 2 and (delta == 0 or abs(acc) <= 1):
                return LETTERS[li], on, acc
        raise ValueError("cannot spell a transposed note")  # unreachable

    def move_root(self, letter: str, alter: int) -> tuple[str, int]:
        """A chord-symbol root or key tonic -> moved letter and alteration (-1..1)."""
        new_letter, _, acc = self.move(letter, 0, alter)
        if abs(acc) <= 1:
            return new_letter, acc
        pc = (NATURAL_SEMITONES[LETTERS.index(letter)] + alter + self.semis) % 12
        for li, nat in enumerate(NATURAL_SEMITONES):
            for a in (-1, 0, 1) if self.prefer_flats else (1, 0, -1):
                if (nat + a) % 12 == pc and a == 0:
                    return LETTERS[li], 0
        for li, nat in enumerate(NATURAL_SEMITONES):
            a = -1 if self.prefer_flats else 1
            if (nat + a) % 12 == pc:
                return LETTERS[li], a
        return new_letter, acc

    def move_signature(self, sig: dict[str, int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for letter in LETTERS:
            new_letter, _, acc = self.move(letter, 0, sig.get(letter, 0))
            if acc:
                out[new_letter] = acc
        return out

    def move_key(self, value: str) -> str:
        if _is_pipes(value):
            key_tonic, key_mode, sig = "A", "mix", dict(PIPES_SIGNATURE)
        else:
            key = parse_key(value)
            key_tonic, key_mode, sig = key.tonic, key.mode, key.signature
        new_sig = self.move_signature(sig)
        if not key_tonic:
            return render_key("", "", new_sig)
        letter, acc = self.move_root(key_tonic[0], 1 if key_tonic[1:] == "#" else -1 if key_tonic[1:] == "b" else 0)
        tonic = letter + {1: "#", -1: "b", 0: ""}[acc]
        return render_key(tonic, key_mode, new_sig)

    def move_chord_symbol(self, value: str) -> str:
        def root(m: re.Match) -> str:
            letter, acc = m.group(1), m.group(2)
            alter = 1 if acc == "#" else -1 if acc == "b" else 0
            nl, na = self.move_root(letter, alter)
            return nl + {1: "#", -1: "b", 0: ""}[na]

        m = re.match(r"(\(?)([A-G])([#b]?)(.*)", value)
        if m is None:
            return value
        pre, rest = m.group(1), m.group(4)
        head = root(re.match(r"([A-G])([#b]?)", m.group(2) + m.group(3)))
        rest = re.sub(r"(?<=/)([A-G])([#b]?)", root, rest)
        return pre + head + rest


def transpose_tune(text: str, semitones: int) -> str:
    """A normalized tune moved by `semitones` (see the module docstring); 0 gives it unchanged."""
    if semitones % 12 == 0 and semitones == 0:
        return text
    tonic, mode, _ = _header_key(text)
    tr = _Transposer(semitones, tonic, mode)
    tokens = tokenize(text)
    out: list[str] = []
    src_sig: dict[str, int] = {}
    dst_sig: dict[str, int] = {}
    src_bar: dict[str, int] = {}
    dst_bar_letter: dict[str, int] = {}
    dst_bar_oct: dict[tuple[str, int], int] = {}
    in_body = False
    for t in tokens:
        k = t.kind
        if k == "field" and t.name == "K" and not in_body:
            new_value = tr.move_key(t.value)
            src_sig = key_signature(parse_key(t.value), t.value)
            dst_sig = key_signature(parse_key(new_value), new_value)
            out.append("K:" + new_value)
            in_body = True
            continue
        if not in_body:
            out.append(t.text)
            continue
        if k == "note":
            upper = t.letter.upper()
            octnum = octave_number(t.letter, t.octave)
            if t.accidental:
                alter = ACCIDENTAL_SEMITONES[t.accidental]
                src_bar[upper] = alter
            else:
                alter = src_bar.get(upper, src_sig.get(upper, 0))
            nl, on, acc = tr.move(upper, octnum, alter)
            implied_letter = dst_bar_letter.get(nl, dst_sig.get(nl, 0))
            implied_oct = dst_bar_oct.get((nl, on), dst_sig.get(nl, 0))
            if acc == implied_letter and acc == implied_oct:
                accidental = ""
            else:
                accidental = ACCIDENTAL_TEXT[acc]
                dst_bar_letter[nl] = acc
                dst_bar_oct[(nl, on)] = acc
            out.append(_note_text(accidental, nl, on, t.length))
        elif k == "bar":
            src_bar.clear()
            dst_bar_letter.clear()
            dst_bar_oct.clear()
            out.append(t.text)
        elif k == "chord_symbol":
            out.append('"' + tr.move_chord_symbol(t.value) + '"')
        elif k == "inline_field" and t.name == "K":
            new_value = tr.move_key(t.value)
            src_sig = key_signature(parse_key(t.value), t.value)
            dst_sig = key_signature(parse_key(new_value), new_value)
            out.append(f"[K:{new_value}]")
        else:
            out.append(t.text)
    return "".join(out)
