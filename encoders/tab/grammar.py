r"""Validity-guided decoding for generated ``columns`` tabs: which next characters keep a piece clean.

`ColumnsGrammar` follows one piece of the ``columns`` scheme (see `encoders.tab`)
a character at a time and, before each character, says which characters may
come next (`allowed()`); the sampler masks the model's choices with it.  Each
character costs O(1) (a few comparisons and, for `allowed()`, one look-up in a
small cache), the prefix is never re-read, and no text makes it raise.

    >>> g = ColumnsGrammar()
    >>> g.feed("%columns E2 A2 D3 G3 B3 E4\n0----- .1 3----")
    >>> g.allowed()          # the 6th symbol of a 6-string group
    '-0123456789ABCDEFGHIJKLMNOhpbr/\\~x()vts^<>'
    >>> g.feed("-")
    >>> g.allowed()          # the group is complete: a space or the line's end
    ' \n'

The rule: whatever text the sampler can finish here, ``COLUMNS.decode`` reads
with no repair (``Decoded.repairs`` empty), and ``COLUMNS.encode_text`` gives it
back unchanged (it is already in the canonical form the codec writes).

*Header.*  ``%columns`` and 4, 6 or 7 note names, each after one space, then
optionally `` capo N`` (1-24) and `` tempo N`` (10-999), in that order, then a
line break: names as the codec writes them (``C Db D Eb E F Gb G Ab A Bb B``,
no sharps) with an octave ``-1``..``7``, pitch at most 103 (``G7``), which is
what the header reader accepts.  The number of names fixes n, the strings.

*Systems.*  One line per system; tokens separated by exactly one space, none
before the first or after the last, as `render_columns` writes them:

* a group: exactly n symbols from ``- 0-9 A-O`` and the technique marks
  ``hpbr/\~x()vts^<>`` (the decoder takes every mark anywhere without repair).
  Not all ``-``: an empty step is written as ``.1``.  Masked because
  `canonical` would insert an empty step: a fret on a string whose previous
  step (the token just before, in the same system) holds a one-digit fret
  that would read together with it (after ``0`` or ``1`` any fret; after ``2``
  the frets 0-4 and the letters 10-24, whose text begins with 1 or 2).
* ``.N``: N from 1 to 64, no leading zero; two runs in a row only after
  ``.64`` (the codec writes a run of 70 as ``.64 .6``).
* bar tokens ``| || |: :| :|:``, never two in a row (they would be merged).
* A line ends after a complete token, and only when it holds a group or a run
  (a system of bars only is dropped).

*Tunings.*  Given the tunings of the model's corpus (``ColumnsGrammar(tunings)``,
from ``COLUMNS.corpus_options``), the header's note names are one of them: a
model writes a tuning its corpus has, never an invented one.

*Hand and bars* (given ``reach`` and ``even_bars``, from ``COLUMNS.corpus_options`` of a
corpus whose pieces keep them).  ``reach``: the fretted notes of a group are at most that
many frets apart (one hand position; open strings always).  ``even_bars``: the piece's
second bar sets its length in columns (the first may be a pickup) and every later bar has
that length: a group or a run ``.N`` only while it fits, a bar line only when the bar is
full (or at the start of a line after one); a line ends only at a bar line; the piece may
end in a short last bar.

*End.*  A blank line ends the piece, only after a complete system line and
only once a fret has been written (a piece that plays at least one note).

Bad text (a seed, or a character sampled without the mask) never raises: it
is recorded in `problems` and the grammar says ``None`` (anything) until the
next space (a new token) or line break (a new system); a broken header is read
as the decoder reads it, six strings.
"""

from __future__ import annotations

from encoders import CharGrammar
from encoders.tab.symbols import FRET_LETTERS, MAX_RUN, NAMES, STRING_COUNTS, SYMBOLS

__all__ = ["ColumnsGrammar", "check"]

_HEADER = "%columns "
_DIGITS = "0123456789"
_FRETS = _DIGITS + FRET_LETTERS
_NOTE_PC = {name: pc for pc, name in enumerate(NAMES)}
_FLATTABLE = {name[0] for name in NAMES if len(name) == 2}
_FRET_VALUE = {c: i for i, c in enumerate(_FRETS)}
_MAX_PITCH = 103

# the symbols allowed on a string, by what the previous step holds there:
# 0 nothing binding, 1 a '0' or '1' (no fret may follow), 2 a '2' (no 0-4, no letter)
_CLASS = {"0": 1, "1": 1, "2": 2}
_SYMS = (
    SYMBOLS,
    "".join(c for c in SYMBOLS if c not in _FRETS),
    "".join(c for c in SYMBOLS if c not in "01234" + FRET_LETTERS),
)
_SYMS_NODASH = tuple(s.replace("-", "") for s in _SYMS)

_BAR_NEXT = {"": "|:", "|": "|:", "||": "", "|:": "", ":": "|", ":|": ":", ":|:": ""}
_BAR_DONE = {"|", "||", "|:", ":|", ":|:"}

# modes
_H_LIT, _H_LETTER, _H_ACC, _H_MINUS, _H_SEP, _H_WORD, _H_NUM, _H_BAD = range(8)
_LINE, _TOK, _GROUP, _RUN, _BAR, _AFTER, _RECOVER = range(8, 15)
_CAPO, _TEMPO = "capo ", "tempo "
_TUNED = "\0"  # `_fed` after a whole corpus tuning and a space

# kinds of the token just before (for runs after runs, bars after bars)
_K_NONE, _K_GROUP, _K_RUN, _K_RUN64, _K_BAR = range(5)


class ColumnsGrammar(CharGrammar):
    """The parse of one generated ``columns`` piece so far (see the module docstring).

    `feed(text)` advances; `allowed()` is the string of characters that may come
    next, or None for "anything" (only while recovering from bad text); `done`
    is True once the piece has ended with a blank line; `problems` lists the
    characters fed that were not allowed, as "line:col: ..." strings."""

    __slots__ = (
        "_mode",
        "_done",
        "_line",
        "_col",
        "problems",
        "_cache",
        "_hpos",
        "_hpc",
        "_hcount",
        "_hword",
        "_hnum",
        "_hdig",
        "_hstage",
        "n",
        "_prev",
        "_cur",
        "_gpos",
        "_gdash",
        "_run",
        "_rund",
        "_bar",
        "_kind",
        "_line_step",
        "_has_fret",
        "_heads",
        "_fed",
        "_reach",
        "_even",
        "_bcount",
        "_usual",
        "_bars",
        "_gmin",
        "_gmax",
        "_events",
    )

    def __init__(self, tunings=None, reach: int | None = None, even_bars: bool = False) -> None:
        self._heads = tuple(sorted({_HEADER + t for t in tunings})) if tunings else ()
        self._reach = reach
        self._even = even_bars
        self._reset()
        self._line, self._col = 1, 0
        self.problems: list[str] = []

    def _reset(self) -> None:
        self._fed = "" if self._heads else None  # the header so far, while a tuning is being chosen
        self._bcount = 0  # columns since the last bar line
        self._usual = None  # the columns of a bar, once the second bar has set it (even_bars)
        self._bars = 0
        self._events = 0  # groups and runs written (steps struck or held)
        self._gmin, self._gmax = 99, 0  # the fretted notes of the group so far (reach)
        self._mode = _H_LIT
        self._done = False
        self._cache = None
        self._hpos = 0
        self._hpc = 0
        self._hcount = 0
        self._hword = ""
        self._hnum = 0
        self._hdig = 0
        self._hstage = 0  # 0: no capo or tempo yet, 1: after the capo, 2: after the tempo
        self.n = 0
        self._prev: tuple = ()
        self._cur: list = []
        self._gpos = 0
        self._gdash = True
        self._run = 0
        self._rund = 0
        self._bar = ""
        self._kind = _K_NONE
        self._line_step = False
        self._has_fret = False

    # ------------------------------------------------------------------ API

    @property
    def done(self) -> bool:
        """True once the piece has ended with a blank line."""
        return self._done

    def copy(self) -> ColumnsGrammar:
        """An independent copy (the state is a few small values)."""
        new = object.__new__(ColumnsGrammar)
        for s in ColumnsGrammar.__slots__:
            setattr(new, s, getattr(self, s))
        new._cur = list(self._cur)
        new.problems = list(self.problems)
        return new

    def segment(self) -> int:
        """0 while the header is written, then 1 + the bars closed so far."""
        return 0 if self._mode <= _H_BAD else self._bars + 1

    def events(self) -> int:
        """Groups and runs written so far (the steps struck or held)."""
        return self._events

    def allowed(self) -> str | None:
        """The characters that may come next, or None for no constraint."""
        if self._cache is None:
            a = self._allowed() if self._fed is None else self._tuning_allowed(self._allowed())
            self._cache = self._shaped(a) if (self._reach or self._even) else a
        return None if self._mode == _RECOVER or self._mode == _H_BAD else self._cache

    def can_end(self) -> bool:
        """Whether the piece could end here (a line break, or a blank line, next)."""
        if self._done:
            return True
        if self._mode == _LINE:
            return self._has_fret
        return self._mode in (_AFTER, _RUN) and self._complete() and self._has_fret

    # -------------------------------------------------------- allowed sets

    def _complete(self) -> bool:
        if self._mode == _RUN:
            return self._rund > 0
        return self._mode == _AFTER

    def _allowed(self) -> str:
        m = self._mode
        if self._done:
            return "%"
        if m == _GROUP:
            syms = _SYMS_NODASH if self._gpos == self.n - 1 and self._gdash else _SYMS
            return syms[self._prev[self._gpos]]
        if m == _AFTER:
            return " \n"
        if m == _TOK or m == _LINE:
            a = _SYMS[self._prev[0]]
            if self._kind != _K_RUN:
                a += "."
            if self._kind != _K_BAR:
                a += "|:"
            if m == _LINE and self._has_fret:
                a += "\n"
            return a
        if m == _RUN:
            v, d = self._run, self._rund
            if d == 0:
                return "123456789"
            a = ""
            if d == 1 and v * 10 <= MAX_RUN:
                a = _DIGITS[: min(10, MAX_RUN - v * 10 + 1)]
            return a + " \n"
        if m == _BAR:
            a = _BAR_NEXT.get(self._bar, "")
            if self._bar in _BAR_DONE:
                a += " \n" if self._line_step else " "
            return a
        if m == _H_LIT:
            return _HEADER[self._hpos]
        if m == _H_LETTER:
            k = self._hcount
            a = "ABCDEFG" if self._hstage == 0 and k < 7 else ""
            if k in STRING_COUNTS:
                a += ("c" if self._hstage == 0 else "") + ("t" if self._hstage < 2 else "")
            return a
        if m == _H_WORD:
            return self._hword[self._hpos]
        if m == _H_NUM:
            v, d = self._hnum, self._hdig
            if d == 0:
                return "123456789"
            if self._hword == _CAPO:  # 1-24, then the tempo or the line's end
                return ("0123456789" if (d, v) == (1, 1) else "01234" if (d, v) == (1, 2) else "") + " \n"
            return _DIGITS + "\n" if d == 2 else _DIGITS if d == 1 else "\n"  # tempo 10-999
        if m == _H_ACC or m == _H_MINUS:
            # an octave digit (pitch <= 103), '-1', or a flat right after the letter
            pc = self._hpc
            if m == _H_MINUS:
                return "1"
            top = (_MAX_PITCH - pc) // 12 - 1
            a = _DIGITS[: top + 1] + "-"
            if self._hpos == 0 and NAMES[pc] in _FLATTABLE:
                a += "b"
            return a
        if m == _H_SEP:
            k = self._hcount
            return " \n" if k in STRING_COUNTS else " "
        return ""

    def _tuning_allowed(self, base: str) -> str:
        """`base` narrowed to the characters that keep the header on one of the corpus's
        tunings (never to nothing: then `base`)."""
        fed = self._fed
        if fed == _TUNED:  # a tuning and a space: capo or tempo, no further string
            nexts = {"c", "t"}
        else:
            nexts = {h[len(fed)] for h in self._heads if len(h) > len(fed) and h.startswith(fed)}
            if fed in self._heads:
                nexts |= {" ", "\n"}
        return "".join(c for c in base if c in nexts) or base

    def _shaped(self, base: str) -> str:
        """`base` narrowed by the hand's reach and the bar length (never to nothing: then `base`)."""
        m = self._mode
        if m == _GROUP and self._reach and self._gmax:
            lo, hi = self._gmax - self._reach, self._gmin + self._reach
            out = "".join(c for c in base if c not in _FRETS or _FRET_VALUE[c] == 0 or lo <= _FRET_VALUE[c] <= hi)
            return out or base
        if self._even and m in (_AFTER, _RUN):  # a system ends at a bar line
            base = base.replace("\n", "") or base
        if self._usual is None or m not in (_TOK, _LINE, _RUN):
            return base
        left = self._usual - self._bcount
        if m == _RUN:
            v, d = self._run, self._rund
            out = "".join(
                c
                for c in base
                if c in " \n" or (c in _DIGITS and (v * 10 + int(c) <= left or (d == 0 and int(c) * 10 <= left)))
            )
            return out or base
        bar_ok = left == 0 or self._bcount == 0
        out = "".join(c for c in base if (c in "|:" and bar_ok) or c == "\n" or (c not in "|:" and left > 0))
        return out or base

    def _track_tuning(self, ch: str) -> None:
        """Follow the header while it may still become one of the corpus's tunings."""
        fed = self._fed + ch if self._fed != _TUNED else None
        if fed is None or ch == "\n" or self._mode == _RECOVER:
            self._fed = None
        elif any(h.startswith(fed) for h in self._heads):
            self._fed = fed
        else:
            self._fed = _TUNED if ch == " " and fed[:-1] in self._heads else None

    # -------------------------------------------------------- steps

    def _step(self, ch: str) -> None:
        if self._fed is not None:
            self._track_tuning(ch)
        m = self._mode
        if m == _RECOVER:
            # inside a bad token: a space starts a new token, a line break a new system
            if ch == " ":
                self._mode = _TOK
            elif ch == "\n":
                self._new_line()
        elif m == _H_BAD:
            if ch == "\n":
                self._start_body(6)
        elif m == _GROUP:
            self._symbol(ch)
        elif m == _TOK or m == _LINE:
            if ch == "\n":
                self._done = True
            elif ch == ".":
                self._mode, self._run, self._rund = _RUN, 0, 0
            elif ch == "|" or ch == ":":
                self._mode, self._bar = _BAR, ch
            else:
                self._mode, self._gpos, self._gdash, self._cur = _GROUP, 0, True, []
                self._gmin, self._gmax = 99, 0
                self._symbol(ch)
        elif m == _AFTER:
            self._sep(ch)
        elif m == _RUN:
            if ch in _DIGITS:
                self._run = self._run * 10 + int(ch)
                self._rund += 1
            else:
                self._kind = _K_RUN64 if self._run == MAX_RUN else _K_RUN
                self._bcount += self._run
                self._events += 1
                self._prev = (0,) * self.n
                self._line_step = True
                self._sep(ch)
        elif m == _BAR:
            if ch == " " or ch == "\n":
                self._bar_line()
                self._kind = _K_BAR
                self._prev = (0,) * self.n
                self._sep(ch)
            else:
                self._bar += ch
        elif m == _H_LIT:
            self._hpos += 1
            if self._hpos == len(_HEADER):
                self._mode, self._hpos = _H_LETTER, 0
        elif m == _H_LETTER:
            if ch == "c" or ch == "t":
                self._mode, self._hword, self._hpos = _H_WORD, _CAPO if ch == "c" else _TEMPO, 1
            else:
                self._mode, self._hpc, self._hpos = _H_ACC, _NOTE_PC[ch], 0
        elif m == _H_WORD:
            self._hpos += 1
            if self._hpos == len(self._hword):
                self._mode, self._hnum, self._hdig = _H_NUM, 0, 0
        elif m == _H_NUM:
            if ch in _DIGITS:
                self._hnum = self._hnum * 10 + int(ch)
                self._hdig += 1
            else:
                self._hstage = 1 if self._hword == _CAPO else 2
                if ch == " ":
                    self._mode = _H_LETTER
                else:
                    self._start_body(self._hcount)
        elif m == _H_ACC:
            if ch == "b":
                self._hpc -= 1
                self._hpos = 1
            elif ch == "-":
                self._mode = _H_MINUS
            else:
                self._mode = _H_SEP
                self._hcount += 1
        elif m == _H_MINUS:
            self._mode = _H_SEP
            self._hcount += 1
        elif m == _H_SEP:
            if ch == " ":
                self._mode = _H_LETTER
            else:
                self._start_body(self._hcount)

    def _symbol(self, ch: str) -> None:
        self._cur.append(_CLASS.get(ch, 0))
        if ch != "-":
            self._gdash = False
            if ch in _FRETS:
                self._has_fret = True
                if _FRET_VALUE[ch]:
                    self._gmin, self._gmax = min(self._gmin, _FRET_VALUE[ch]), max(self._gmax, _FRET_VALUE[ch])
        self._gpos += 1
        if self._gpos == self.n:
            self._bcount += 1
            self._events += 1
            self._prev = tuple(self._cur)
            self._kind = _K_GROUP
            self._line_step = True
            self._mode = _AFTER

    def _bar_line(self) -> None:
        """A bar line is complete: the second one sets the bar length (even_bars)."""
        if self._bcount:
            self._bars += 1
            if self._even and self._bars == 2 and self._usual is None:
                self._usual = self._bcount
        self._bcount = 0

    def _sep(self, ch: str) -> None:
        if ch == " ":
            self._mode = _TOK
        else:
            self._new_line()

    def _new_line(self) -> None:
        self._mode = _LINE
        self._kind = _K_NONE
        self._prev = (0,) * self.n
        self._line_step = False

    def _start_body(self, n: int) -> None:
        self.n = n
        self._new_line()

    # -------------------------------------------------------- recovery

    def _recover(self, ch: str) -> None:
        self._fed = None
        m = self._mode
        if m <= _H_BAD:
            # a broken header: the decoder reads the piece as six strings
            if ch == "\n":
                self._start_body(6)
            else:
                self._mode = _H_BAD
            return
        if ch == "\n":
            if m == _LINE:
                self._done = True  # a blank line always ends a piece
            else:
                self._new_line()
            return
        self._kind = _K_NONE
        self._prev = (0,) * self.n
        self._line_step = True
        self._mode = _TOK if ch == " " else _RECOVER


def check(text: str) -> list[str]:
    """Feed a whole piece; the places where it left the grammar ("line:col: ..."),
    and a last entry when the text stops where a piece cannot end."""
    g = ColumnsGrammar()
    g.feed(text)
    problems = list(g.problems)
    if not g.done and text.strip() and not problems:
        if not (g._mode == _LINE and g._has_fret):
            problems.append(f"{g._line}:{g._col + 1}: the piece cannot end here")
    return problems
