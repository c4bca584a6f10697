r"""Validity-guided decoding for generated ``roll`` pieces: which next characters keep a piece clean.

`RollGrammar` follows one piece of the ``roll`` scheme (see `encoders.midi.roll`)
a character at a time and says, before each character, which characters may
come next (`allowed()`); the sampler masks the model's choices with it.

    >>> g = RollGrammar()
    >>> g.feed("%roll q=90 m=3/4 k=C g=16 p=0\nLP.-")
    >>> g.allowed()          # after '-': only what sounds, low to high
    'LP'
    >>> g.feed("L")
    >>> g.allowed()          # P may follow L; or the step ends
    'P.'

The rule: whatever text the sampler can finish here, ``roll``'s decoder reads
with no repair (``Decoded.repairs`` empty) and gives back unchanged as its
canonical text (`Decoded.text`), so ``encode_text`` keeps it as it is.

*Header.*  ``%roll`` and the fields the codec writes, in its order, each after
one space: ``q=`` a whole tempo 20-300, ``m=`` a meter n/d (n 1-12, d 2, 4 or 8)
(given a model's scheme options, only the tempos and meters of its corpus: `header_lists`),
optionally ``k=`` a key as MIDI names it, ``g=`` a grid whose bar is a whole number
of steps in that meter, ``p=`` one to eight programs 0-127 (comma separated), a line break.

*Bars.*  A step is its struck pitches (ascending; one pitch at most four times),
optionally ``-`` and at least one held pitch (ascending, each at most as often
as it sounded at the step before), then ``.``; at most `MAX_SOUNDING` pitches
sound in a step.  A line holds exactly the meter's steps, the last one too
(the decoder reads a short last bar cleanly, but a model trained on bar lines
breaks lines early: allowing it ended most samples after a bar or two).  The
piece may end (blank line) only after a whole bar line and once some pitch
was struck (and, with ``min_bars``, not before that many bar lines: a
continuation of a requested length).

*A continuation* (``keep``, a `Keep` made by `encoders.midi.keep.seed_keep`): from the
end of the seed on, new pitches only from the seed's scale and pitch classes, a pitch
below middle C struck at the middle beat of a bar that has none yet, a cap and (on
beats) a floor on the pitches sounding in a step.

Bad text (a seed, or a character sampled without the mask) never raises: it is
recorded in `problems`; in the header the grammar says None (anything) until
the line break, then reads the header as the decoder does; in a bar it says None
until the next ``.`` or line break.  Past `MAX_PIECE_CHARS` characters (where the
decoder stops reading) it says None and checks nothing until a blank line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from encoders import CharGrammar
from encoders.midi.grid import GRIDS, KEY_NAMES, MAX_PIECE_CHARS, PITCH_CHARS, Header, parse_header

__all__ = ["MAX_SOUNDING", "Keep", "RollGrammar", "check", "header_lists"]

MAX_SOUNDING = 16
MAX_COPIES = 4
_TEMPOS = tuple(f"q={t}" for t in range(20, 301))
_METERS = tuple(f"m={n}/{d}" for d in (2, 4, 8) for n in range(1, 13))
_KEY_WORDS = tuple(f"k={k}" for k in KEY_NAMES)
_PROGRAMS = tuple(str(p) for p in range(128))
_MAX_PROGRAMS = 8
_MAX_HEADER_CHARS = 200
"""A valid header is under 60 characters; of a bad one (fed while recovering) only
this much is kept for parse_header, so a megabyte-long line costs no more."""
_HEADER_CHARS = "%rolqmkgp=/,# \n0123456789ABCDEFGbm"
_PITCH_INDEX = {c: i for i, c in enumerate(PITCH_CHARS)}
_LOW_INDEX = 60 - 21
"""Pitch characters below this index are below middle C."""


@dataclass(frozen=True, slots=True)
class Keep:
    """What a continuation keeps of its seed, from the `after`-th character of the piece on
    (the seed's own text is never held to it): new pitches only from `pitches` (the pitch
    characters of the seed's key and of the pitch classes the seed plays); in a bar where no
    pitch below middle C has sounded by step `low_step` (None: no rule), that step starts
    with one of `low`; at most `max_sounding` pitches struck and held in a step, and on the
    first step of every beat (`beat_steps` long) at least `min_sounding` where it can."""

    after: int
    pitches: frozenset[str]
    low: frozenset[str]
    low_step: int | None
    max_sounding: int = MAX_SOUNDING
    min_sounding: int = 0
    beat_steps: int = 4


def header_lists(options: dict | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The tempo and meter words a header may have: a model's corpus's (its scheme options'
    "tempos" and "meters", kept by training), else every valid one."""
    options = options or {}
    tempos = tuple(f"q={t}" for t in options.get("tempos") or () if f"q={t}" in _TEMPOS)
    meters = tuple(f"m={m}" for m in options.get("meters") or () if f"m={m}" in _METERS)
    return tempos or _TEMPOS, meters or _METERS


_HEADER, _HEADER_BAD, _LINE, _STARTS, _HELD, _BAR_FULL, _AFTER_SHORT, _RECOVER, _BEYOND = range(9)


def _grids(meter_word: str) -> tuple[str, ...]:
    num, den = (int(x) for x in meter_word[2:].split("/"))
    return tuple(f"g={g}" for g in GRIDS if (g * num) % den == 0)


def _program_word_ok(word: str, complete: bool) -> bool:
    """Whether `word` is (a prefix of, unless `complete`) ``p=`` and a program list."""
    if not word.startswith("p=") or len(word) < 2:
        return "p=".startswith(word) and not complete
    parts = word[2:].split(",")
    if len(parts) > _MAX_PROGRAMS:
        return False
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part in _PROGRAMS:
            continue
        if last and not complete and (part == "" or any(p.startswith(part) for p in _PROGRAMS)):
            continue
        return False
    return True


def _header_ok(text: str, complete: bool, lists: tuple = (_TEMPOS, _METERS)) -> bool:
    """Whether a header line so far (without its line break) can still become a
    valid one, or with `complete`, is one (tempos and meters from `lists`)."""
    words = text.split(" ")
    if words[0] != "%roll":
        return not complete and len(words) == 1 and "%roll".startswith(words[0])
    rest = words[1:]
    slot = 0  # the field the next word is: 0 q, 1 m, 2 k (optional), 3 g, 4 p, 5 none
    meter = ""
    for i, word in enumerate(rest):
        partial = i == len(rest) - 1 and not complete
        if slot == 2 and not (word in _KEY_WORDS or (partial and any(k.startswith(word) for k in _KEY_WORDS))):
            slot = 3  # no key: this word is the grid
        if slot == 4:
            if not _program_word_ok(word, not partial):
                return False
            slot = 5
            continue
        if slot == 5:
            return False
        options = (lists[0], lists[1], _KEY_WORDS, _grids(meter) if meter else ())[slot]
        if partial:
            return any(o.startswith(word) for o in options)
        if word not in options:
            return False
        if slot == 1:
            meter = word
        slot += 1
    return slot == 5 if complete else True


class RollGrammar(CharGrammar):
    """The parse of one generated ``roll`` piece so far (see the module docstring)."""

    __slots__ = (
        "_mode",
        "_done",
        "_line",
        "_col",
        "problems",
        "_cache",
        "_header",
        "bar_steps",
        "_sounding",
        "_starts",
        "_held",
        "_last",
        "_steps",
        "_struck",
        "_bars",
        "min_bars",
        "_chars",
        "_lists",
        "keep",
        "_low",
    )

    def __init__(self, min_bars: int = 0, options: dict | None = None, keep: Keep | None = None) -> None:
        self.min_bars = min_bars  # the piece may not end before this many bar lines
        self._lists = header_lists(options)  # the tempos and meters a header may have
        self.keep = keep  # what a continuation keeps of its seed (key, left hand, polyphony)
        self._reset()
        self._line, self._col = 1, 0
        self.problems: list[str] = []

    def _reset(self) -> None:
        self._mode = _HEADER
        self._done = False
        self._cache = None
        self._header = ""
        self.bar_steps = 16
        self._sounding: Counter = Counter()
        self._starts: Counter = Counter()
        self._held: Counter = Counter()
        self._last = -1
        self._steps = 0
        self._struck = False
        self._bars = 0
        self._chars = 0  # characters of this piece so far; past MAX_PIECE_CHARS, _BEYOND
        self._low = False  # a pitch below middle C has sounded in this bar

    @property
    def done(self) -> bool:
        return self._done

    def allowed(self) -> str | None:
        if self._mode in (_HEADER_BAD, _RECOVER, _BEYOND):
            return None
        if self._cache is None:
            self._cache = self._allowed()
        return self._cache

    def can_end(self) -> bool:
        """Whether the piece could end here (a blank line next, after the line break)."""
        if self._done:
            return True
        bars = self._bars + (self._mode == _BAR_FULL)
        at_bar_line = self._mode == _BAR_FULL or (self._mode == _LINE and self._steps == 0)
        return self._struck and bars >= self.min_bars and (at_bar_line or self._mode == _AFTER_SHORT)

    # ------------------------------------------------------------ allowed

    def _allowed(self) -> str:
        m = self._mode
        if self._done:
            return "%"
        if m == _HEADER:
            out = "".join(c for c in _HEADER_CHARS if c != "\n" and _header_ok(self._header + c, False, self._lists))
            if _header_ok(self._header, True, self._lists):
                out += "\n"
            return out
        if m == _AFTER_SHORT:
            return "\n"
        if m == _BAR_FULL:
            return "\n"
        total = sum(self._starts.values()) + sum(self._held.values())
        keep = self.keep if self.keep is not None and self._chars >= self.keep.after else None
        if keep is not None:
            return self._kept(self._allowed_body(m, total, keep.max_sounding), keep)
        return self._allowed_body(m, total, MAX_SOUNDING)

    def _allowed_body(self, m: int, total: int, most: int) -> str:
        """What may follow inside a bar, with at most `most` pitches sounding in a step."""
        if m == _LINE:
            out = self._pitches_from(0, self._starts) if total < most else ""
            if self._may_hold(total, most):
                out += "-"
            out += "."
            if self._steps == 0 and self._struck and self._bars >= self.min_bars:
                out += "\n"  # the blank line: the piece ends after a whole bar
            return out
        if m == _STARTS:
            out = self._pitches_from(self._last, self._starts) if total < most else ""
            if self._may_hold(total, most):
                out += "-"
            return out + "."
        # _HELD: pitches that sounded, ascending, each at most as often as it sounded
        out = "".join(
            PITCH_CHARS[i]
            for i in sorted(self._sounding)
            if i >= self._last
            and self._held[i] < self._sounding[i]
            and self._starts[i] + self._held[i] < MAX_COPIES
            and total < most
        )
        if self._held:
            out += "."
        return out

    def _kept(self, out: str, keep: Keep) -> str:
        """`out` held to the seed: new pitches in its pitch classes; at the bar's `keep.low_step`,
        with no pitch below middle C yet, a step starts with one (the left hand goes on)."""
        out = "".join(c for c in out if c not in PITCH_CHARS or c in keep.pitches or self._mode == _HELD)
        if self._steps % keep.beat_steps == 0 and "." in out and len(out) > 1:
            sounding = sum(self._starts.values()) + sum(self._held.values())
            if sounding < keep.min_sounding:
                out = out.replace(".", "")  # on a beat, the seed's texture: more pitches first
        if keep.low_step is not None and self._mode == _LINE and not self._low and self._steps == keep.low_step:
            forced = "".join(c for c in out if c in keep.low)
            if forced:
                return forced
        return out

    @staticmethod
    def _pitches_from(first: int, counts: Counter) -> str:
        """Pitches from index `first` up (the same one again while it has fewer than MAX_COPIES)."""
        out = PITCH_CHARS[max(first, 0) :]
        for i, count in counts.items():
            if count >= MAX_COPIES and i >= first:
                out = out.replace(PITCH_CHARS[i], "")
        return out

    def _may_hold(self, total: int, most: int = MAX_SOUNDING) -> bool:
        return total < most and any(self._starts[i] < MAX_COPIES for i in self._sounding)

    # ------------------------------------------------------------ stepping

    def _past_the_end(self, ch: str) -> bool:
        """Count a character; True once the piece is longer than the decoder reads (or was)."""
        if self._mode == _BEYOND:
            if ch == "\n" and self._col == 0:  # a blank line ends the piece
                self._done = True
            return True
        self._chars += 1
        if self._chars <= MAX_PIECE_CHARS:
            return False
        self.problems.append(
            f"{self._line}:{self._col + 1}: the piece is longer than the {MAX_PIECE_CHARS:,} "
            "characters the decoder reads: not checked further"
        )
        self._mode = _BEYOND
        return True

    def _step(self, ch: str) -> None:
        if self._past_the_end(ch):
            return
        m = self._mode
        if m == _HEADER or m == _HEADER_BAD:
            if ch == "\n":
                self._start_body()
            elif len(self._header) < _MAX_HEADER_CHARS:
                self._header += ch
            return
        if m == _RECOVER:
            if ch == ".":
                self._end_step()
            elif ch == "\n":
                self._end_line()
            return
        if ch == "\n":
            self._line_break()
        elif ch == ".":
            self._end_step()
        elif ch == "-":
            self._mode, self._last = _HELD, -1
        else:
            i = _PITCH_INDEX[ch]
            if i < _LOW_INDEX:
                self._low = True
            if m == _HELD:
                self._held[i] += 1
            else:
                self._starts[i] += 1
                self._struck = True
                self._mode = _STARTS
            self._last = i

    def _start_body(self) -> None:
        header, _ = parse_header(self._header, "roll")
        self.bar_steps = header.bar_steps or header.grid
        self._mode = _LINE

    def _end_step(self) -> None:
        sounding = Counter(self._starts)
        sounding.update(self._held)
        self._sounding = sounding
        self._starts, self._held = Counter(), Counter()
        self._last = -1
        self._steps += 1
        self._mode = _BAR_FULL if self._steps >= self.bar_steps else _LINE

    def _line_break(self) -> None:
        """A blank line (or one after a short last bar) ends the piece; any other ends a bar line."""
        if (self._mode == _LINE and self._steps == 0) or self._mode == _AFTER_SHORT:
            self._done = True
        else:
            self._end_line()

    def _end_line(self) -> None:
        short = 0 < self._steps < self.bar_steps
        self._bars += self._steps > 0
        self._steps = 0
        self._low = False
        self._starts, self._held = Counter(), Counter()
        self._last = -1
        self._mode = _AFTER_SHORT if short else _LINE

    def _recover(self, ch: str) -> None:
        if self._past_the_end(ch):
            return
        m = self._mode
        if m in (_HEADER, _HEADER_BAD):
            if ch == "\n":
                self._start_body()
            else:
                if len(self._header) < _MAX_HEADER_CHARS:
                    self._header += ch
                self._mode = _HEADER_BAD
            return
        if ch == "\n":
            self._line_break()
            return
        self._mode = _RECOVER
        # what the decoder does with a stray character is not followed: be permissive until '.' or a line break
        if ch in PITCH_CHARS:
            self._struck = True


def check(text: str) -> list[str]:
    """Feed a whole piece; the places where it left the grammar ("line:col: ..."),
    and a last entry when the text stops where a piece cannot end."""
    g = RollGrammar()
    g.feed(text)
    problems = list(g.problems)
    if not g.done and text.strip() and not problems and not g.can_end():
        problems.append(f"{g._line}:{g._col + 1}: the piece cannot end here")
    return problems


def header_of(text: str) -> Header:
    return parse_header(text.split("\n", 1)[0], "roll")[0]
