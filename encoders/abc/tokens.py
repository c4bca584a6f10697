"""A lossless tokenizer for ABC 2.1 text, plus the small parsers the other ABC modules share.

`tokenize(text)` cuts any string into `Token`s whose texts join back to the
string exactly (it never raises; what it cannot read becomes one-character
``unknown`` tokens).  Each token knows its kind, its exact source text, and its
1-based line and column; notes, rests and chord ends also carry a parsed length.

    >>> [(t.kind, t.text) for t in tokenize("K:G\\n|:G>A (3Bcd [CEG]2 z/|]")][:6]
    [('field', 'K:G'), ('newline', '\\n'), ('bar', '|:'), ('note', 'G'), ('broken', '>'), ('note', 'A')]
    >>> tokenize("^c'3/2")[0].length
    Fraction(3, 2)

ABC in one paragraph: a tune is header field lines (``X:1``, ``T:title``,
``M:6/8`` meter, ``L:1/8`` unit note length, ``Q:1/4=120`` tempo, ``K:G`` key,
which ends the header) followed by music lines.  A note is an optional
accidental (``^`` sharp, ``_`` flat, ``=`` natural, doubled for double), a letter
(``C``..``B`` is the octave from middle C, ``c``..``b`` the one above), octave
marks (``,`` down, ``'`` up) and a length that multiplies the unit (``2``,
``3/2``, ``/`` = half, ``//`` = quarter).  ``z`` is a rest, ``|`` a bar line,
``|:`` and ``:|`` repeats, ``[1``/``|2`` endings, ``[CEG]`` a chord, ``(3abc`` a
triplet, ``a>b`` broken rhythm (dotted), ``a-a`` a tie, ``"Am"`` a chord symbol,
``{g}`` grace notes, ``!trill!`` and ``~`` decorations, ``[K:D]`` an inline field.

Token kinds (`KINDS`) and what the extra attributes hold:

==================  ===========================================================
kind                text examples / attributes
==================  ===========================================================
field               a whole field line without its newline (and without a
                    trailing ``% comment``, which is its own token): ``K:G``,
                    ``w:la la``, ``+:more``; ``name`` = the letter, ``value`` =
                    the text after the colon (unstripped).  Only at the start of
                    a line; header and body field lines alike (`header_end`).
inline_field        ``[K:D]`` ``[M:3/4]`` ``[L:1/16]`` ``[P:A]``; ``name``,
                    ``value`` as for field.
note                ``^c'3/2``: ``accidental`` ('' ^ ^^ _ __ =), ``letter``
                    (as written, case gives the octave), ``octave`` (the
                    ``,``/``'`` marks), ``length`` (Fraction multiplier of L).
rest                ``z2`` ``x/`` (x is invisible); ``letter`` z or x, ``length``.
measure_rest        ``Z`` ``X4``; ``letter``, ``count`` (bars, default 1).
bar                 ``|`` ``||`` ``|]`` ``[|`` ``|:`` ``:|`` ``::`` ``:|:``
                    ``:||:`` ``[|]`` ...: a run of ``|``, ``:``, and one ``[``
                    before / ``]`` after.  ``count`` = number of repeat colons
                    on the left (end of repeat), ``value`` = ``'start'`` when
                    there is a colon on the right.  Ending numbers are never
                    part of a bar token.
ending              the numbers of a 1st/2nd ending: ``[1`` ``[1,3`` ``[2-3``
                    anywhere, or bare digits right after a bar token (``|1``
                    gives bar ``|`` then ending ``1``; ``:|2`` gives bar
                    ``:|`` then ending ``2``).  ``numbers`` = the ending numbers
                    (ranges expanded).
chord_start         ``[``
chord_end           ``]`` with an optional length after it (``]2``): ``length``.
tuplet              ``(3`` ``(3:2`` ``(3:2:3`` ``(5::4``: ``numbers`` = (p, q, r)
                    with None for an omitted q or r.
broken              ``>`` ``>>`` ``<`` ``<<`` ``>>>``: ``name`` = '>' or '<',
                    ``count`` = how many.
tie                 ``-``
slur_start          ``(`` ; slur_end ``)``
grace_start         ``{`` or ``{/`` (acciaccatura); grace_end ``}``
chord_symbol        ``"G"`` ``"Am7"``: ``value`` = the text inside the quotes.
annotation          ``"^text"`` ``"_text"`` ``"<text"`` ``">text"`` ``"@text"``:
                    ``name`` = the placement character, ``value`` = the text.
decoration          ``!trill!`` ``+trill+`` (``name`` = trill), and the single
                    characters ``~ . H L M O P S T u v`` (``name`` = the char).
spacer              ``y`` (invisible spacer) and the beam joiner backquote.
overlay             ``&`` (voice overlay).
space               a run of spaces and tabs.
newline             ``\\n``, ``\\r\\n`` or ``\\r``.
comment             ``%`` to the end of the line (``%%`` directives included).
continuation        ``\\`` that only spaces or a comment follow on its line.
unknown             any other single character (a lone ``"``, ``!``, ``:``,
                    a stray ``\\``, letters that are not notes, ...).
==================  ===========================================================

Absurd numbers never crash: a length numerator or denominator above
`MAX_LENGTH_NUMBER` (or a zero denominator) is capped and the token's ``error``
says so; so are huge tuplet numbers and measure-rest counts.

Helpers (the key, meter and pitch arithmetic behind them is `encoders.abc.theory`'s):
`parse_key` (K: value -> `Key` with tonic, mode and the accidentals
map), `parse_meter`, `parse_unit`, `default_unit`, `parse_tempo`, `header_end`,
`note_midi` (a note's MIDI pitch given the key and the bar's accidentals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from encoders.abc.theory import (
    ACCIDENTAL_SEMITONES,
    MODE_FIFTHS,
    default_unit,
    note_pitch,
    signature,
    tonic_fifths,
)

__all__ = [
    "KINDS",
    "MAX_LENGTH_NUMBER",
    "Key",
    "Token",
    "default_unit",
    "header_end",
    "note_midi",
    "parse_key",
    "parse_length",
    "parse_meter",
    "parse_tempo",
    "parse_unit",
    "tokenize",
]

KINDS = (
    "field",
    "inline_field",
    "note",
    "rest",
    "measure_rest",
    "bar",
    "ending",
    "chord_start",
    "chord_end",
    "tuplet",
    "broken",
    "tie",
    "slur_start",
    "slur_end",
    "grace_start",
    "grace_end",
    "chord_symbol",
    "annotation",
    "decoration",
    "spacer",
    "overlay",
    "space",
    "newline",
    "comment",
    "continuation",
    "unknown",
)

MAX_LENGTH_NUMBER = 256
"""Largest numerator / denominator a length, tuplet or count may have; larger ones are capped."""

_ONE = Fraction(1)


@dataclass(frozen=True, slots=True)
class Token:
    """One piece of ABC text; see the module docstring for the kinds and attributes."""

    kind: str
    text: str
    line: int
    column: int
    accidental: str = ""
    letter: str = ""
    octave: str = ""
    length: Fraction = _ONE
    count: int = 0
    name: str = ""
    value: str = ""
    numbers: tuple = ()
    error: str = ""


# ----------------------------------------------------------------------------- lengths

_LEN_CACHE: dict[str, tuple[Fraction, str]] = {}
_LEN_RE = re.compile(r"(\d*)((?:/\d*)*)")


def parse_length(s: str) -> tuple[Fraction, str]:
    """A note-length suffix ('', '2', '3/2', '/', '//', '/4', '3/') -> (multiplier, error).

    error is '' when the suffix is fine, else why it was capped / fixed."""
    hit = _LEN_CACHE.get(s)
    if hit is not None:
        return hit
    err = ""
    m = _LEN_RE.fullmatch(s)
    if m is None:  # not a length suffix at all
        res = (_ONE, f"bad length {s!r}")
    else:
        num_s, slashes = m.groups()
        if num_s:
            num = int(num_s) if len(num_s) < 8 else MAX_LENGTH_NUMBER + 1
            if num == 0:
                num, err = 1, f"zero length {s!r} read as 1"
            elif num > MAX_LENGTH_NUMBER:
                num, err = MAX_LENGTH_NUMBER, f"length {s!r} capped"
        else:
            num = 1
        den = 1
        if slashes:
            for part in slashes.split("/")[1:]:
                if part:
                    d = int(part) if len(part) < 8 else MAX_LENGTH_NUMBER + 1
                    if d == 0:
                        d, err = 2, f"zero denominator in {s!r} read as /2"
                    elif d > MAX_LENGTH_NUMBER:
                        d, err = MAX_LENGTH_NUMBER, f"length {s!r} capped"
                else:
                    d = 2
                den *= d
                if den > MAX_LENGTH_NUMBER:
                    den, err = MAX_LENGTH_NUMBER, f"length {s!r} capped"
        res = (Fraction(num, den), err)
    if len(_LEN_CACHE) < 4096:
        _LEN_CACHE[s] = res
    return res


# ----------------------------------------------------------------------------- tokenizer

_LEN = r"\d*(?:/\d*)*"
_FIELD_RE = re.compile(r"([A-Za-z+]):(?:\\%|[^%\r\n])*")
_MAIN_RE = re.compile(
    r"(?P<newline>\r\n|\n|\r)"
    r"|(?P<space>[ \t]+)"
    r"|(?P<comment>%[^\r\n]*)"
    r"|(?P<inline_field>\[[A-Za-z]:[^\]\r\n]*\])"
    r"|(?P<ending>\[\d+(?:[,-]\d+)*)"
    r"|(?P<bar>::+|:*\[?\|[|:]*\]?)"
    r"|(?P<note>(?:\^\^|\^|__|_|=)?[A-Ga-g][,']*" + _LEN + ")"
    r"|(?P<rest>[zx]" + _LEN + ")"
    r"|(?P<measure_rest>[ZX]\d*)"
    r'|(?P<quoted>"[^"\r\n]*")'
    r"|(?P<decoration>![^\s!|\[\]\"]+!|\+[^\s+|\[\]\"]+\+|[~.HLMOPSTuv])"
    r"|(?P<tuplet>\(\d+(?::\d*(?::\d*)?)?)"
    r"|(?P<slur_start>\()"
    r"|(?P<slur_end>\))"
    r"|(?P<grace_start>\{/?)"
    r"|(?P<grace_end>\})"
    r"|(?P<chord_start>\[)"
    r"|(?P<chord_end>\]" + _LEN + ")"
    r"|(?P<tie>-)"
    r"|(?P<broken>>{1,3}|<{1,3})"
    r"|(?P<continuation>\\(?=[ \t]*(?:%[^\r\n]*)?(?:\r\n|\n|\r|$)))"
    r"|(?P<overlay>&)"
    r"|(?P<spacer>[y`])"
    r"|(?P<unknown>.)",
    re.S,
)
_ENDING_DIGITS_RE = re.compile(r"\d+(?:[,-]\d+)*")
_NOTE_RE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-g])([,']*)(.*)", re.S)
_TUPLET_RE = re.compile(r"\((\d+)(?::(\d*)(?::(\d*))?)?")


def _ending_numbers(s: str) -> tuple[tuple[int, ...], str]:
    out: list[int] = []
    err = ""
    for part in s.split(","):
        if "-" in part:
            a, _, b = part.partition("-")
            lo, hi = int(a[:6] or 0), int(b[:6] or 0)
            if hi - lo > 16 or hi < lo:
                err = f"ending range {part!r} not understood"
                hi = lo
            out.extend(range(lo, hi + 1))
        elif part:
            out.append(min(int(part[:6]), 10**6))
    return tuple(out), err


def _cap(s: str | None) -> tuple[int | None, bool]:
    if not s:
        return None, False
    if len(s) > 6 or int(s) > MAX_LENGTH_NUMBER:
        return MAX_LENGTH_NUMBER, True
    return int(s), False


_PLAIN_KINDS = frozenset(
    (
        "space",
        "comment",
        "continuation",
        "overlay",
        "spacer",
        "tie",
        "slur_start",
        "slur_end",
        "grace_start",
        "grace_end",
        "chord_start",
    )
)
"""Token kinds that carry nothing but their text."""


def tokenize(text: str) -> list[Token]:
    """Cut ABC text into tokens; never raises, and ``"".join(t.text for t in toks) == text``."""
    if not isinstance(text, str):
        text = str(text)
    toks: list[Token] = []
    append = toks.append
    pos, n = 0, len(text)
    line, line_start = 1, 0
    at_line_start = True
    main_match = _MAIN_RE.match
    while pos < n:
        col = pos - line_start + 1
        if at_line_start:
            at_line_start = False
            fm = _FIELD_RE.match(text, pos)
            if fm is not None and text[pos] in "ABCDEFGabcdefg" and text[pos + 2 : pos + 3] in ("|", ":"):
                fm = None  # "D:|" starts a music line (a note and a repeat), as abc2midi reads it
            if fm is not None:
                s = fm.group(0)
                append(Token("field", s, line, col, name=s[0], value=s[2:]))
                pos = fm.end()
                continue
        m = main_match(text, pos)
        kind = m.lastgroup
        s = m.group(0)
        if kind == "newline":
            append(Token("newline", s, line, col))
            line += 1
            line_start = m.end()
            at_line_start = True
        elif kind in _PLAIN_KINDS:
            append(Token(kind, s, line, col))
        elif kind == "note":
            nm = _NOTE_RE.match(s)
            acc, letter, octv, ln = nm.groups()
            if ln:
                length, err = parse_length(ln)
            else:
                length, err = _ONE, ""
            append(
                Token("note", s, line, col, accidental=acc or "", letter=letter, octave=octv, length=length, error=err)
            )
        elif kind == "bar":
            left = len(s) - len(s.lstrip(":"))
            right = len(s) - len(s.rstrip(":"))
            if s.startswith("::") and s.strip(":") == "":
                left = right = len(s) // 2 or 1
            append(Token("bar", s, line, col, count=left, value="start" if right else ""))
            # bare ending digits right after a bar line: |1  :|2
            em = _ENDING_DIGITS_RE.match(text, m.end())
            if em is not None:
                es = em.group(0)
                nums, err = _ending_numbers(es)
                append(Token("ending", es, line, col + len(s), numbers=nums, error=err))
                pos = em.end()
                continue
        elif kind == "rest":
            ln = s[1:]
            length, err = parse_length(ln) if ln else (_ONE, "")
            append(Token("rest", s, line, col, letter=s[0], length=length, error=err))
        elif kind == "measure_rest":
            c, capped = _cap(s[1:])
            error = "measure-rest count capped" if capped else ""
            append(Token("measure_rest", s, line, col, letter=s[0], count=c or 1, error=error))
        elif kind == "quoted":
            inner = s[1:-1]
            if inner[:1] in ("^", "_", "<", ">", "@"):
                append(Token("annotation", s, line, col, name=inner[0], value=inner[1:]))
            else:
                append(Token("chord_symbol", s, line, col, value=inner))
        elif kind == "decoration":
            nm = s[1:-1] if len(s) > 1 else s
            append(Token("decoration", s, line, col, name=nm))
        elif kind == "inline_field":
            append(Token("inline_field", s, line, col, name=s[1], value=s[3:-1]))
        elif kind == "ending":
            nums, err = _ending_numbers(s[1:])
            append(Token("ending", s, line, col, numbers=nums, error=err))
        elif kind == "chord_end":
            ln = s[1:]
            length, err = parse_length(ln) if ln else (_ONE, "")
            append(Token("chord_end", s, line, col, length=length, error=err))
        elif kind == "tuplet":
            append(_tuplet_token(s, line, col))
        elif kind == "broken":
            append(Token("broken", s, line, col, name=s[0], count=len(s)))
        else:
            append(Token("unknown", s, line, col))
        pos = m.end()
    return toks


def _tuplet_token(s: str, line: int, col: int) -> Token:
    tm = _TUPLET_RE.match(s)
    p, e1 = _cap(tm.group(1))
    q, e2 = _cap(tm.group(2))
    r, e3 = _cap(tm.group(3))
    err = "tuplet numbers capped" if (e1 or e2 or e3) else ""
    if p == 0:
        p, err = 1, "tuplet of 0 read as 1"
    return Token("tuplet", s, line, col, numbers=(p, q, r), error=err)


def header_end(tokens: list[Token]) -> int:
    """Index of the first token after the header's K: field line (and its newline);
    len(tokens) when there is no K: field (the whole text is header)."""
    for i, t in enumerate(tokens):
        if t.kind == "field" and t.name == "K":
            j = i + 1
            while j < len(tokens) and tokens[j].kind in ("comment", "space"):
                j += 1
            if j < len(tokens) and tokens[j].kind == "newline":
                j += 1
            return j
    return len(tokens)


# ----------------------------------------------------------------------------- fields


@dataclass(frozen=True, slots=True)
class Key:
    """A parsed K: field: tonic ('G', 'Bb', 'F#' or '' for none), mode (maj min dor phr
    lyd mix aeo loc ion, or '' for none), the key signature as a map from upper-case
    letter to semitone offset (only letters that are altered; explicit accidentals
    included), `fifths` of the signature before explicit accidentals, and any
    `octave=` shift (in octaves) and `transpose=` (semitones) clauses."""

    tonic: str = "C"
    mode: str = "maj"
    accidentals: tuple = ()
    fifths: int = 0
    octave: int = 0
    transpose: int = 0
    error: str = ""

    @property
    def signature(self) -> dict[str, int]:
        return dict(self.accidentals)

    def __str__(self) -> str:
        return f"{self.tonic}{'' if self.mode in ('maj', '') else self.mode}" if self.tonic else "none"


_KEY_RE = re.compile(r"\s*(?:([A-Ga-g])([#b]?)|(HP|Hp|none)\b)?\s*([A-Za-z]*)", re.S)
_EXP_ACC_RE = re.compile(r"(\^\^|\^|__|_|=)([A-Ga-g])")


def parse_key(value: str) -> Key:
    """Parse a K: field's value: ``G``, ``Ador``, ``F#m``, ``Bb Mixolydian``, ``D exp ^f``,
    ``Am ^g``, ``none``, ``HP``; clefs and ``octave=``/``transpose=`` clauses after it.

    Never raises; unreadable text gives C major with `error` set.
    >>> parse_key("Ador").signature
    {'F': 1}
    >>> parse_key("Bb").signature == {'B': -1, 'E': -1}
    True
    """
    value = value.split("%", 1)[0]
    m = _KEY_RE.match(value)
    letter, acc, special, mode_word = m.groups()
    rest = value[m.end() :]
    err = ""
    if special:
        tonic, mode, fifths = "", "", 0
        if special in ("HP",):
            pass  # bagpipe: written without signature (abc2midi plays F# C# for HP)
        if special in ("Hp",):
            fifths = 2
    elif letter is None:
        tonic, mode, fifths = "C", "maj", 0
        if mode_word and not mode_word.lower().startswith(("clef", "treble", "bass", "alto", "tenor", "exp", "perc")):
            err = f"unknown key {value.strip()!r}"
        rest = mode_word + rest
        mode_word = ""
    else:
        tonic = letter.upper() + acc
        fifths = tonic_fifths(tonic)
        mode = "maj"
    if letter is not None:
        mw = mode_word.lower()
        if mw and mw[:3] in MODE_FIFTHS:
            mode = "aeo" if mw[:3] == "aeo" else ("min" if mw[:3] in ("min",) else mw[:3])
        elif mw == "m":
            mode = "min"
        elif mw:
            if mw.startswith(
                (
                    "exp",
                    "clef",
                    "treble",
                    "bass",
                    "alto",
                    "tenor",
                    "perc",
                    "octave",
                    "transpose",
                    "middle",
                    "stafflines",
                )
            ):
                rest = mode_word + rest
            else:
                err = f"unknown mode {mode_word!r}"
        shift_key = "min" if mode == "min" else mode
        fifths += MODE_FIFTHS.get(shift_key, 0)
    sig = signature(fifths)
    octave = transpose = 0
    words = rest.split()
    for w in words:
        lw = w.lower()
        if lw == "exp":
            sig = {}
            continue
        if lw.startswith("octave="):
            try:
                octave = int(lw[7:])
            except ValueError:
                err = err or f"bad {w!r}"
            continue
        if lw.startswith("transpose="):
            try:
                transpose = int(lw[10:])
            except ValueError:
                err = err or f"bad {w!r}"
            continue
        am = _EXP_ACC_RE.fullmatch(w)
        if am is not None:
            sig[am.group(2).upper()] = ACCIDENTAL_SEMITONES[am.group(1)]
    accs = tuple(sorted(sig.items()))
    return Key(
        tonic=tonic,
        mode=mode if tonic else "",
        accidentals=accs,
        fifths=fifths,
        octave=max(-4, min(4, octave)),
        transpose=max(-48, min(48, transpose)),
        error=err,
    )


def parse_meter(value: str) -> tuple[int, int] | None:
    """M: value -> (numerator, denominator); ``C`` -> (4, 4), ``C|`` -> (2, 2),
    ``2+3/8`` -> (5, 8), ``none`` or unreadable -> None.

    >>> parse_meter("6/8"), parse_meter("C|"), parse_meter("none")
    ((6, 8), (2, 2), None)
    """
    v = value.split("%", 1)[0].strip()
    if v == "C":
        return (4, 4)
    if v == "C|":
        return (2, 2)
    m = re.fullmatch(r"\(?\s*([\d+ ]+)\s*\)?\s*/\s*(\d+)", v)
    if m is None:
        return None
    try:
        num = sum(int(x) for x in re.split(r"[+ ]+", m.group(1).strip()) if x)
        den = int(m.group(2))
    except ValueError:
        return None
    if num <= 0 or den <= 0 or num > 64 or den > 64:
        return None
    return (num, den)


def parse_unit(value: str) -> Fraction | None:
    """L: value -> unit length as a fraction of a whole note (``1/8`` -> 1/8); None if unreadable."""
    m = re.fullmatch(r"\s*(\d{1,4})\s*(?:/\s*(\d{1,4}))?\s*", value.split("%", 1)[0])
    if m is None:
        return None
    num, den = int(m.group(1)), int(m.group(2) or 1)
    if num == 0 or den == 0:
        return None
    return Fraction(num, den)


def parse_tempo(value: str) -> float | None:
    """Q: value -> quarter notes per minute: ``1/4=120`` -> 120, ``3/8=80`` -> 120,
    ``120`` (a bare number counts beats of the unit length in the old standard;
    here, like abc2midi's default, read as quarter notes), ``"Allegro" 1/4=140`` ->
    140; None when there is no number."""
    v = value.split("%", 1)[0]
    v = re.sub(r'"[^"]*"', " ", v).strip()
    # at most 6 digits a number: a longer one is no tempo (and int() refuses 4300+ digits)
    m = re.search(r"((?:(?<!\d)\d{1,6}/\d{1,6}(?!\d)\s*)+)=\s*(\d{1,6}(?:\.\d{1,6})?)(?![\d.])", v)
    if m is not None:
        total = Fraction(0)
        for part in m.group(1).split():
            a, b = part.split("/")
            if int(b) == 0:
                return None
            total += Fraction(int(a), int(b))
        bpm = float(m.group(2)) * float(total) * 4
        return bpm if 0 < bpm < 10000 else None
    m = re.search(r"(?:^|=)\s*(\d{1,6}(?:\.\d{1,6})?)\s*$", v)
    if m is not None:
        bpm = float(m.group(1))
        return bpm if 0 < bpm < 10000 else None
    return None


def note_midi(letter: str, octave: str, accidental: str, key_sig: dict[str, int], bar_accs: dict | None = None) -> int:
    """MIDI pitch of a note: ``C`` = 60 (middle C), ``c`` = 72, each ``'`` +12, ``,`` -12.

    The alteration is the note's own accidental if it has one, else the one an earlier
    note of the same letter got in this bar (`bar_accs`, keyed by upper-case letter:
    like abc2midi, an accidental holds for that letter in every octave to the bar's
    end), else the key signature's."""
    if not accidental:
        up = letter.upper()
        a = bar_accs.get(up) if bar_accs else None
        return note_pitch(letter, octave, key_sig.get(up, 0) if a is None else a)
    return note_pitch(letter, octave, ACCIDENTAL_SEMITONES[accidental])
