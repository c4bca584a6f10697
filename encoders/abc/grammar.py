"""Validity-guided decoding for generated ABC: which next characters keep a tune playable.

`AbcGrammar` follows a tune of the normalized form (see `encoders.abc`) one
character at a time and, before each character, says which characters may come
next (`allowed()`); the sampler masks the model's choices with it.  It never
re-reads the prefix: each character costs O(1) (a few dictionary steps and, at
most, one copy of a small state object), and it never raises on bad text.

    >>> g = AbcGrammar()
    >>> g.feed("X:1\\nM:6/8\\nL:1/8\\nK:G\\n|:GAG GAB|ABA AB")
    >>> [c in g.allowed() for c in "2341/d"]
    [True, True, False, False, True, True]
    >>> g.feed("|")
    >>> g.allowed()
    '|]'

(``ABA A`` has used 4 of the bar's 6 eighths: ``B2`` fills the bar, ``B4``
would overflow it (``3`` may still start ``B3/2`` or ``B3/4``; ``1`` only
starts ``B12`` and ``B16``, both too long); after ``B`` the bar is one eighth
short, so the bar line must be ``||`` or ``|]``, which carry a short bar on
into the next one; a plain ``|`` needs the bar full, and no ``|:`` inside an
open ``|:``.)

What is constrained, and why
----------------------------

The aim: every tune the sampler can finish plays in abc2midi without an
``Error`` line, and the player (`encoders.abc.player`) finds ``bars_ok``.

*Header.*  Lines ``X:<n>``, optional ``T:<title>``, ``M:``, ``L:``, optional
``Q:``, optional ``R:``, then ``K:`` (last), in that order and nothing else:
the player needs M, L and K, and the model must not invent fields.  Given the
model's corpus values (``AbcGrammar(meters=..., rhythms=...)``, from the
model's scheme options), M: and R: are held to those: no meter or rhythm word
that no tune of the corpus has.  Values come
from closed lists: M ``n/d`` (n 1..16, d 1..16 a power of 2), ``C``, ``C|`` or
``none``; L ``1/1``..``1/32``; Q ``b=t`` (a beat like 1/4 or 3/8, t 20..400);
R lower-case words; K a tonic ``A``..``G`` with ``#``/``b`` and a mode (``m``
``maj`` ``min`` ``dor`` ``mix`` ``lyd`` ``phr`` ``loc`` ``aeo`` ``ion``, right
after the tonic or after one space) of at most 7 sharps or flats, or ``none``.

*Body.*  No field line (``X:`` ``T:`` ...) and no inline field ``[K:]``: a
music line starts with music, and never with a bare letter and a colon or a
space (``f:|`` and ``f :|`` read as field lines; ``f1:|`` ``f2 g`` are fine).  Items: notes (``^ ^^ _ __ =``, a letter,
``,`` after upper-case / ``'`` after lower-case letters, at most two: abc2midi
rejects ``c,`` and ``C'``), rests ``z``, lengths, chords ``[CEG]2`` (at most 4
notes), chord symbols ``"Am7/G"``, tuplets ``(2 (3 (4``, broken rhythm ``> >>
< <<``, ties ``-``, one slur ``( )`` at a time (also over a tuplet,
``((3abc)``, inside one, or over the second note of ``a>(b``), grace notes
``{g}`` ``{/ga}`` before a note (a slur may close between them, ``{AB}) A``),
the decorations ``~`` (not on chords, not right after grace notes: abc2midi
plays it as grace notes; not in tuplets) and ``.``, single spaces, bar lines
``| || |] |: :| ::`` and endings ``|[1 :|[2`` (also ``|1 :|2``).  A line break
comes after a bar line, or after a note inside a bar (the bar goes on on the
next line; the normalizer keeps such line ends), after ``>`` or a grace group
(their note on the next line), or ends the tune's last line.

*Lengths.*  A note, rest or chord takes one of `FOLK_LENGTHS`, the lengths of
the folk corpus: ``"" 2 3 4 6 8 12 16 / /4 3/2 3/4`` (``1`` alone, ``5``,
``//``, ``/8``, ``3/8``, ``d3/32`` ... cannot be written, so a model short of
room in a bar cannot patch it with odd lengths).  All are multiples of L/4 and
the four shortest are L/4 .. L, so any whole number of L/4 left in a bar can
be filled, and the grammar keeps it a whole number: a tuplet's notes must add
up to a multiple of L/4 (its last note is held to the lengths that do, and a
tuplet is masked where they could not), ``a>b`` needs halves that are
multiples of L/4 (``a/>b/`` plays 3/4 + 1/4, ``a/4>b/4`` is masked; ``a>>b``
needs quarters), and ``L:`` is masked where the meter's bar would not be a
whole number of L/4 (``M:3/8`` with ``L:1/1``).  Notes inside a chord have no
length of their own; the chord's length follows the ``]`` (abc2midi takes
``[C2E2]3`` as 3 units, the standard as 6: written this way both agree).
Grace notes have no length.  ``a>b`` needs two notes of the same written
length, neither with ``.`` or ``~`` (abc2midi refuses others); a tie joins a plain note (no ``.`` or ``~``) to the same note again (same letter,
octave marks, and accidental or none), across spaces and plain bar lines only.

*Bars.*  The grammar keeps the time left in the current bar exactly (in ticks
of L/80640, so tuplets of 2, 3 and 4 are exact) and masks every character after
which the bar could not be completed: a length digit that overflows the bar, a
note when the bar is full, a tuplet or a ``>`` that cannot fit (a tuplet's
last note is also held to lengths that leave the rest of the bar a multiple of
L/4, so a bar can always be filled with `FOLK_LENGTHS`).  Which bar line may close a bar follows
abc2midi's bar check ("Bar N has X time units while the time signature has
Y"), which counts bars in played order, repeats expanded, and is the player's
``Decoded.bars_ok``:

* the tune's first bar may be short (an anacrusis; nothing is carried from it);
* a bar closed by a plain ``|`` (or ``|1``) must be exactly full, counting the
  time carried into it;
* a bar closed by ``||`` ``|:`` ``|]`` may be short: its time is carried into
  the next bar, and the two must make one full bar (``e3 e2||A|`` in 6/8);
  as in the tradition, such a short bar ends a strain: it is the 4th, 8th,
  12th... bar of its section (`PHRASE`; a pickup and the bar completing a short
  bar are not counted, a second ending counts on from before the first), so
  short bars are not glued together in the middle of a strain;
* ``:|`` ``::`` ``:|2`` play the repeated section's start next (the tune start,
  ``|:``, ``::``, after a finished ``:|``, or a ``||``/``|]`` after one; the
  player's repeat expansion): the bar must make a full bar with the section's
  first bar as it was played the first time, i.e. complement the tune's
  anacrusis (``A|...|e3 e2:|``), equal the time carried into the section
  (``e3 e2::A|...|e3 e2:|``) or be full; after ``:|`` the next written bar
  follows the second pass and takes the short bar's time; a second ending
  starts from the (full) bar before the first one;
* abc2midi's quirks, kept out: a line's first ``|`` (no note before it) checks
  the time carried into it, and the repeat replays one met at a section's start;
  after second endings a ``:|`` without ``|:`` replays from an empty count, so
  it needs a full bar and no short bar since; a short last bar of a second
  ending confuses later repeats (none then); no roll ``~`` inside tuplets.

No bar is ever longer than the meter.  A bar line needs a note or rest since
the last one, except ``|`` ``||`` ``|]`` or ``|:`` at a line start.  A tune may
end after a short bar closed by ``||`` ``|]`` ``:|``, or inside its last bar
when that bar is full or completes the pickup (abc2midi does not count an
unclosed bar; real tunes do not stop in the middle of one).  With ``M:none`` nothing is counted.

*Repeats and endings* (as abc2midi wants them).  ``|:`` not while a ``|:`` or
``::`` is open; ``::`` not right after ``:|`` (with no ``|:`` between); a
first ending ``|[1`` not after ``:|`` (abc2midi: "found [1 before |:") unless
the last repeat had endings closed by ``||`` or ``|]``; it closes with ``:|``
followed by ``[2`` (after the ``:|``, a space or a line break) or ``:|2``;
``||`` ``|]`` ``|:`` ``::`` ``:|`` close a second ending.

*The end.*  A blank line ends the tune (``done``): after a line break at a bar
line or after the last note, once at least `MIN_BARS` (6) bars were full (a
tune, not a fragment: 95% of the corpus tunes have 8 bars or more), with no slur,
tie, tuplet, chord or grace group open, no first ending waiting for its
second, and no ``|:``/``::`` section left open (abc2midi: "Missing :|").
After `MAX_BARS` (64) bars the grammar steers to the end: no new slur, tie,
section or first ending, open slurs closed after the next note, an open
section closed by ``:|``, and after the next bar line that can end the tune
only the line break and the blank line (a tune without a full bar yet gets no
short bar any more).  After ``done``, the next tune of a stream may begin with
``X``.  Past 160 characters on a line, the next place a line break may go
gets one (abc2midi has crashed on a long line after many warnings).

*Tolerance.*  A character that is not allowed (a wrong seed, or one the
sampler forced after an empty mask) is recorded in `problems`; `allowed()`
then answers None (no constraint) until the grammar can resume: at the next
line break (a new header line, or a music line whose first bar may be short)
or at the next bar line outside quotes.  Nothing raises.

`check(text)` feeds a whole tune and lists where it left the grammar.
"""

from __future__ import annotations

from encoders import CharGrammar

__all__ = ["AbcGrammar", "FOLK_LENGTHS", "MAX_BARS", "MIN_BARS", "PHRASE", "check"]

MAX_BARS = 64
"""Bars after which the grammar steers to the end of the tune (soft cap)."""

MIN_BARS = 6
"""Full bars a tune needs before it may end."""

PHRASE = 4
"""A short bar carried on by ``||`` ``|]`` ``|:`` ``::`` must end a strain of a multiple
of this many bars (88% of such bars in the folk corpus do): no short bars glued
together in the middle of a strain."""

FOLK_LENGTHS = ("", "2", "3", "4", "6", "8", "12", "16", "/", "/4", "3/2", "3/4")
"""The length suffixes a generated note, rest or chord may carry: those of the
folk corpus (``""`` 57% of its notes and rests, ``2`` 29%, ``4`` 7%, ``3`` 3%,
``/`` 2%, ``6`` 1%, ``8`` 0.75%, then ``12`` ``/4`` ``16`` ``3/2`` ``3/4``).
All are multiples of L/4, so the grammar counts bars in steps of L/4: lengths
like ``d3/32`` or ``B5/8``, which an imperfect model would use to patch a bar,
cannot be written."""

G = 2520
"""Ticks in L/32; 2520 is divisible by 2..9, so tuplet notes are exact."""
_U = 32 * G
"""Ticks in the unit note length L."""
_FREE = G << 40
"""Bar length standing for "no meter" (never filled)."""

_MAX_SLURS = 1
_MAX_CHORD = 4
_MAX_GRACE = 4
_MAX_TITLE = 60
_MAX_RHYTHM = 24

_UPPER = "ABCDEFG"
_LOWER = "abcdefg"
_LETTERS = _UPPER + _LOWER
_ACCS = "^_="
_PITCH = _ACCS + _LETTERS
_TUPLETS = {"2": (3, 2), "3": (2, 3), "4": (3, 4)}
"""p -> (q, r): p notes in the time of q, over the next r notes."""


class _Node:
    __slots__ = ("kids", "val", "vals", "chars")

    def __init__(self) -> None:
        self.kids: dict[str, _Node] = {}
        self.val = None
        self.vals: frozenset = frozenset()
        self.chars = ""


def _trie(items: dict) -> _Node:
    root = _Node()
    for s, v in items.items():
        n = root
        for ch in s:
            nxt = n.kids.get(ch)
            if nxt is None:
                nxt = n.kids[ch] = _Node()
            n = nxt
        n.val = v
    stack = [root]
    order = []
    while stack:
        n = stack.pop()
        order.append(n)
        stack.extend(n.kids.values())
    for n in reversed(order):
        vals = set() if n.val is None else {n.val}
        for k in n.kids.values():
            vals |= k.vals
        n.vals = frozenset(vals)
        n.chars = "".join(n.kids)
    return root


def _meters() -> dict:
    out = {"C": (4, 4), "C|": (2, 2), "none": "none"}
    for n in range(1, 17):
        for d in (1, 2, 4, 8, 16):
            out[f"{n}/{d}"] = (n, d)
    return out


_MODE_FIFTHS = {"": 0, "maj": 0, "ion": 0, "m": -3, "min": -3, "aeo": -3, "dor": -2,
                "phr": -4, "lyd": 1, "mix": -1, "loc": -5}


def _keys() -> dict:
    """Keys of at most 7 sharps or flats (abc2midi warns about others)."""
    out = {"none": "none"}
    tonic = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}
    for t in _UPPER:
        for a in ("", "#", "b"):
            for m, shift in _MODE_FIFTHS.items():
                if abs(tonic[t] + {"": 0, "#": 7, "b": -7}[a] + shift) > 7:
                    continue
                out[t + a + m] = t + a + m
                if m:
                    out[t + a + " " + m] = t + a + m
    return out


def _tempi() -> dict:
    out = {}
    for b in ("1/1", "1/2", "3/4", "1/4", "3/8", "1/8", "3/16", "1/16", "3/2"):
        for t in range(20, 401):
            out[f"{b}={t}"] = b
    return out


def _length_value(s: str) -> int:
    """A length suffix (``""`` ``3`` ``/`` ``/4`` ``3/2`` ...) in L/32."""
    num, slash, den = s.partition("/")
    n = int(num) if num else 1
    d = (int(den) if den else 2) if slash else 1
    return 32 * n // d


def _lengths() -> dict:
    """Length suffix text -> multiple of L/32, for the suffixes of FOLK_LENGTHS."""
    return {s: _length_value(s) for s in FOLK_LENGTHS}


def _chord_symbols() -> dict:
    quals = ("", "m", "7", "m7", "maj7", "M7", "6", "m6", "9", "m9", "dim", "dim7",
             "aug", "+", "sus", "sus4", "sus2", "7sus4", "m7b5", "5")
    roots = [t + a for t in _UPPER for a in ("", "#", "b")]
    out = {}
    for r in roots:
        for q in quals:
            out[f'{r}{q}"'] = True
            for b in roots:
                out[f'{r}{q}/{b}"'] = True
    return out


_X_TRIE = _trie({str(n): n for n in range(1, 1000)})
_VALUE_TRIES = {
    "X": _X_TRIE,
    "M": _trie(_meters()),
    "L": _trie({f"1/{d}": d for d in (1, 2, 4, 8, 16, 32)}),
    "Q": _trie(_tempi()),
    "K": _trie(_keys()),
}
_LEN_TRIE = _trie(_lengths())
_ALL_M = tuple(sorted(_LEN_TRIE.vals))
_STEP = min(_ALL_M)
"""The bar's granularity in L/32 (L/4): every length is a multiple of it, and
every time left in a bar (outside a tuplet or a broken pair) stays one."""
assert all(m % _STEP == 0 for m in _ALL_M)
assert all(k in _ALL_M for k in range(_STEP, 5 * _STEP, _STEP))  # sums: any multiple
_CSYM_TRIE = _trie(_chord_symbols())
def _header_tries(meters: "list[str] | None", rhythms: "list[str] | None") -> dict:
    """The value tries of the header fields: `_VALUE_TRIES`, with M: held to `meters` and
    R: to `rhythms` where given (values the closed lists cannot read are left out)."""
    tries = dict(_VALUE_TRIES)
    if meters is not None:
        known = _meters()
        tries["M"] = _trie({m: known[m] for m in meters if m in known} or {"none": "none"})
    if rhythms is not None:
        words = [r for r in rhythms if r and len(r) <= _MAX_RHYTHM and r == r.strip()
                 and all(c in _RHYTHM_CHARS + " " for c in r) and "  " not in r]
        if words:
            tries["R"] = _trie({r: r for r in words})
        else:
            tries["R"] = None
    return tries


_NEXT_FIELDS = {None: "X", "X": "TM", "T": "M", "M": "L", "L": "QRK", "Q": "RK", "R": "K"}
_TEXT_CHARS = "".join(chr(c) for c in range(32, 127) if chr(c) not in '%\\"')
_RHYTHM_CHARS = "abcdefghijklmnopqrstuvwxyz"
_TITLE_FIRST = "".join(c for c in _TEXT_CHARS if c.isalnum() or c in "'(")

# Bar tokens: text -> (may end a short bar, opens a section, ending number).
_BARS = {
    "|": (False, False, 0), "||": (False, False, 0), "|]": (True, False, 0),
    "|:": (False, True, 0), ":|": (True, False, 0), "::": (True, True, 0),
    "|1": (False, False, 1), ":|2": (True, False, 2),
}
_BAR_TRIE = _trie({k: k for k in _BARS})

# Pending prefixes of a note (bits of _pend): a chord symbol, a grace group, a
# decoration, an opened slur, a broken-rhythm sign: each needs a note after it.
_P_CSYM, _P_GRACE, _P_DECO, _P_SLUR, _P_BROKEN = 1, 2, 4, 8, 16

# Modes.
(_H_LINE, _H_COLON, _H_VALUE, _H_TEXT, _ITEM, _ACC, _NOTE, _PAREN, _BROKEN,
 _LBRACK, _CHORD, _GRACE, _CSYM, _BAR, _RECOVER) = range(15)

# Repeat states, as abc2midi sees them: the tune start opens a repeat
# implicitly; |: (not allowed while open) and :: (not after :|) open one; :|
# closes; a tune may not end with an open |:.
_R_IMPLICIT, _R_OPEN, _R_CLOSED = 0, 1, 2

_MAX_LINE = 160
"""Past this many characters on a line, a bar line is followed by a line break."""

# Ending states.
_E_NONE, _E_FIRST, _E_NEED2, _E_SECOND = 0, 1, 2, 3

_MCACHE: dict = {}


def _tuplet_fits(w: int, k: int, q: int, p: int, room: int) -> bool:
    """Can a tuplet whose notes so far add up to `w` (in L/32), with `k` notes
    to go, end so that its time is a multiple of L/4 (`_STEP`) not above `room`
    ticks?  The notes still to come are FOLK_LENGTHS, multiples of L/4 whose
    smallest four are L/4 .. L: k of them can add up to any k' >= k quarters
    of L (k' < k + p suffice here)."""
    if w % _STEP:
        return False
    w //= _STEP
    if k <= 0:
        return (w * q) % p == 0 and w * q * _STEP * G // p <= room
    for s in range(k, k + p):
        if ((w + s) * q) % p == 0:
            return (w + s) * q * _STEP * G // p <= room
    return False


class AbcGrammar(CharGrammar):
    """The parse of one generated tune so far (see the module docstring).

    `feed(text)` advances; `allowed()` is the string of characters that may come
    next, or None for "anything" (only while recovering from bad text);
    `done` is True once the tune has ended with a blank line; `problems` lists
    the characters fed that were not allowed, as "line:col: ..." strings."""

    __slots__ = (
        "_mode", "_done", "_line", "_col", "problems", "_cache",
        # header
        "_hfield", "_hcur", "_node", "_buf", "_meter", "_unit", "_bar_len",
        # body: bar and structure
        "_room", "_content", "_first", "_bars", "_full_bars", "_last", "_pend",
        "_slurs", "_tie", "_ending", "_forced", "_last_bar", "_body_start",
        # tuplets and broken rhythm
        "_tk", "_tw", "_tq", "_tp", "_bn", "_bd", "_prev_m", "_broken",
        # the note being written
        "_kind", "_oct", "_acc", "_cn", "_gn", "_sub", "_quote", "_body",
        "_rep", "_nacc", "_letter", "_spell", "_dchar",
        # played-order bar counting (see _finish_bar)
        "_carry", "_sc0", "_sw0", "_sfirst", "_sbar", "_after_end", "_shave", "_capfix",
        "_norep2", "_min_bars",
        # the tune's pickup (its short first bar's length, 0 for none), and this
        # model's header values (field -> trie of the values its corpus has)
        "_pickup", "_tries",
        # bars of the current section (strain) so far, a pickup and the bar that
        # completes a short bar not counted; and the count where a first ending began
        "_sec_bars", "_pre1", "_phrase",
    )

    def __init__(self, min_bars: int = MIN_BARS, meters: "list[str] | None" = None,
                 rhythms: "list[str] | None" = None, phrase: int = PHRASE) -> None:
        """`meters` and `rhythms`: the M: and R: values the model's corpus has (the
        model's scheme options); a tune may write only those.  None: any meter of
        the closed list, any lower-case words for R:.  `phrase`: a short bar may end
        a strain only after a multiple of this many bars (1: anywhere)."""
        self._min_bars = min_bars
        self._phrase = max(1, phrase)
        self._tries = _header_tries(meters, rhythms)
        self._reset()
        self._line, self._col = 1, 0
        self.problems: list[str] = []

    def _reset(self) -> None:
        self._mode = _H_LINE
        self._done = False
        self._cache = None
        self._hfield = None
        self._hcur = ""
        self._node = None
        self._buf = ""
        self._meter = None
        self._unit = 8
        self._body = False
        self._bar_len = _FREE
        self._room = _FREE
        self._content = False
        self._first = True
        self._bars = 0
        self._full_bars = 0
        self._last = "start"
        self._pend = 0
        self._slurs = 0
        self._tie = None
        self._ending = _E_NONE
        self._forced = False
        self._carry = self._sc0 = self._sw0 = self._shave = self._pickup = 0
        self._sec_bars = self._pre1 = 0
        self._sfirst = True
        self._sbar = False
        self._after_end = 0
        self._norep2 = False
        self._capfix = False
        self._rep = _R_IMPLICIT
        self._nacc = self._letter = self._dchar = ""
        self._spell = None
        self._last_bar = ""
        self._body_start = True
        self._tk = self._tw = 0
        self._tq = self._tp = 1
        self._bn = self._bd = 1
        self._prev_m = None
        self._broken = ""
        self._kind = ""
        self._oct = 0
        self._acc = ""
        self._cn = self._gn = self._sub = 0
        self._quote = False

    # ------------------------------------------------------------------ API

    @property
    def done(self) -> bool:
        """True once the tune has ended with a blank line."""
        return self._done

    @property
    def bars(self) -> int:
        """Bars closed so far."""
        return self._bars

    def copy(self) -> "AbcGrammar":
        """An independent copy (cheap: the state is a few small values)."""
        new = self._clone()
        new.problems = list(self.problems)
        return new

    def _clone(self) -> "AbcGrammar":
        new = object.__new__(AbcGrammar)
        for s in _SLOTS:
            setattr(new, s, getattr(self, s))
        return new

    def allowed(self) -> str | None:
        """The characters that may come next, or None for no constraint."""
        if self._cache is None:
            self._cache = self._allowed()
        return self._cache or None if self._mode == _RECOVER else self._cache

    def cadence(self) -> bool:
        """Whether the music being written is a phrase's last bar: the 4th, 8th, 12th... bar
        of its strain (where tunes cadence), for lower-entropy sampling there."""
        return (self._body and self._mode != _RECOVER and self._bar_len != _FREE and not self._done
                and (self._sec_bars + 1) % PHRASE == 0)

    def can_end(self) -> bool:
        """Whether the tune could end here (a line break, or a blank line, next)."""
        a = self.allowed()
        if self._mode == _ITEM and self._last == "linestart":
            return a is not None and "\n" in a
        if a is None or "\n" not in a:
            return False
        c = self._clone()
        c._step("\n")
        c._cache = None
        a2 = c.allowed()
        return a2 is not None and "\n" in a2

    # -------------------------------------------------------- allowed sets

    def _allowed(self) -> str:
        m = self._mode
        if self._done:
            return "X"
        if m == _RECOVER:
            return ""
        if m == _H_LINE:
            fields = _NEXT_FIELDS.get(self._hfield, "")
            return fields.replace("R", "") if self._tries.get("R", True) is None else fields
        if m == _H_COLON:
            return ":"
        if m == _H_VALUE:
            n = self._node
            if self._hcur == "L" and self._meter is not None:
                # only units whose bar is a whole number of L/4 (M:3/8 L:1/4, not L:1/1)
                ok = self._unit_ok
                return ("".join(ch for ch, kid in n.kids.items() if any(map(ok, kid.vals)))
                        + ("\n" if n.val is not None and ok(n.val) else ""))
            return n.chars + ("\n" if n.val is not None else "")
        if m == _H_TEXT:
            return self._text_allowed()
        if m == _ITEM:
            return self._item_allowed()
        if m == _ACC:
            if self._tie is not None:
                acc, letter, _ = self._tie
                return letter if self._acc == acc else acc[len(self._acc):][:1]
            return (self._acc if len(self._acc) == 1 and self._acc != "=" else "") + _LETTERS
        if m == _NOTE:
            return self._note_allowed()
        if m == _PAREN:
            return self._paren_allowed()
        if m == _BROKEN:
            out = _PITCH + "z[\n"
            if len(self._broken) == 1 and self._broken_fits(self._broken * 2):
                out += self._broken
            if self._slurs < _MAX_SLURS and self._bars < MAX_BARS:
                out += "("
            if self._slurs:
                out += ")"
            return out
        if m == _LBRACK:
            out = ""
            if self._last in ("bar", "linestart", "space") and self._content is False:
                if (self._ending == _E_NONE and self._last != "space" and not self._body_start
                        and (self._rep != _R_CLOSED or self._after_end == 1)
                        and self._tie is None and not self._carry
                        and self._target() is not None and self._bars < MAX_BARS):
                    out += "1"          # (past the soft cap: no new first ending)
                if self._ending == _E_NEED2:
                    out += "2"
            if self._ending != _E_NEED2:
                out += _PITCH
            return out
        if m == _CHORD or m == _GRACE:
            return self._group_allowed()
        if m == _CSYM:
            return self._node.chars
        if m == _BAR:
            return self._bar_allowed()
        return ""

    def _unit_ok(self, unit: int) -> bool:
        """Does L:1/`unit` make the meter's bar a multiple of L/4 (`_STEP`), so
        that FOLK_LENGTHS can fill it?"""
        n, d = self._meter
        return (32 * n * unit) % (d * _STEP) == 0

    def _text_allowed(self) -> str:
        buf = self._buf
        if self._hcur == "T":
            if not buf:
                return _TITLE_FIRST
            if len(buf) >= _MAX_TITLE:
                return "\n"
            return _TEXT_CHARS + "\n"
        # R: lower-case words separated by single spaces
        if not buf:
            return _RHYTHM_CHARS
        if buf[-1] == " ":
            return _RHYTHM_CHARS
        if len(buf) >= _MAX_RHYTHM:
            return "\n"
        return _RHYTHM_CHARS + " \n"

    def _note_room(self) -> bool:
        """Whether a note (of the shortest length that fits) can start now."""
        if self._tk:
            return True
        if self._broken:
            return bool(self._mset())
        return self._room >= _STEP * G

    def _last_bar_ok(self) -> bool:
        """May the tune end in the bar written so far (no bar line after it)?  Only a
        full one, or the complement of the tune's pickup, as real tunes end."""
        if self._bar_len == _FREE or not self._content:
            return True
        t = self._bar_len - self._shave - self._room
        return t == self._bar_len or (self._pickup > 0 and t + self._pickup == self._bar_len)

    def _end_ok(self) -> bool:
        return (self._full_bars >= self._min_bars and self._slurs == 0 and self._tie is None
                and self._ending not in (_E_FIRST, _E_NEED2) and self._rep != _R_OPEN
                and self._pend == 0 and not self._tk)

    def _item_allowed(self) -> str:
        last = self._last
        pend = self._pend
        out = []
        ap = out.append
        capped = self._bars >= MAX_BARS and self._end_ok()
        if self._ending == _E_NEED2:
            # after the :| that closes a first ending: only [2 (or a break, a space)
            return ("\n [" if last == "bar" else "[")
        if capped and (last == "bar" or last == "linestart" and self._last_bar_ok()):
            return "\n"
        if self._tie is not None:
            return self._tie_allowed()
        if last == "linestart" and self._end_ok() and self._last_bar_ok():
            ap("\n")
        if last == "bar":
            ap("\n")
        elif (last in ("note", "rest", "slurclose") and not pend and not self._tk
              and (0 < self._room or self._end_ok())):
            ap("\n")           # a line break inside a bar, or the tune's last line
        if out and self._col >= _MAX_LINE:
            return "\n"        # long lines: abc2midi can overflow a buffer on them
        room = self._note_room()
        if pend:
            if pend & _P_DECO:
                return _PITCH if self._dchar == "~" else _PITCH + "["
            if pend & _P_GRACE:
                # abc2midi plays ~ as grace notes: none right after a grace group
                out = "." + _PITCH + "["
                if not pend & (_P_DECO | _P_SLUR) and (
                        self._slurs < _MAX_SLURS and self._bars < MAX_BARS
                        or not self._tk and self._tuplet_any()):
                    out += "("
                if pend == _P_GRACE and not self._tk:
                    if last == "grace":
                        out += "\n"        # the grace group's note on the next line
                        if self._slurs:
                            out += ")"      # (B4{AB}) A4
                    elif last == "slurclose":
                        out += " "
                return out
            if pend & _P_BROKEN:
                # a note, not a rest, takes the other half of a>b (a rest there
                # could leave a line-start "z" with nothing allowed after it)
                if pend & _P_SLUR or self._slurs >= _MAX_SLURS or self._bars >= MAX_BARS:
                    return _PITCH + "["
                return _PITCH + "[("
            # a chord symbol and/or an opened slur
            if pend == _P_CSYM and last != "space" and not self._tk:
                ap(" ")
            if not pend & _P_SLUR:
                ap("z")
            if pend == _P_CSYM and not self._tk and (
                    self._slurs < _MAX_SLURS and self._bars < MAX_BARS or self._tuplet_any()):
                ap("(")
            elif pend & _P_SLUR and not self._tk and self._tuplet_any():
                ap("(")         # a slur over a tuplet: ((3abc)
            # abc2midi miscounts a roll (~) inside a tuplet
            ap(('{.' if self._tk else '{~.') + _PITCH + "[")
            return "".join(out)
        in_tup = self._tk > 0
        if last in ("note", "rest", "slurclose", "tie", "ending", "bar", "openbar") and not in_tup:
            ap(" ")
        if room:
            ap(('{.' if in_tup else '{~.') + _PITCH + "z[\"")
            if (self._slurs < _MAX_SLURS and self._bars < MAX_BARS
                    or not in_tup and self._tuplet_any()):
                ap("(")
        if last in ("note", "slurclose") and self._slurs > 0:
            if self._bars >= MAX_BARS:
                return ")"          # past the cap: close slurs first
            ap(")")
        if last == "note" and self._spell is not None and self._bars < MAX_BARS:
            ap("-")
        if last in ("note", "rest", "slurclose") and not in_tup and self._prev_m is not None:
            if self._broken_fits(">"):
                ap(">")
            if self._broken_fits("<"):
                ap("<")
        if not in_tup and (self._content or last in ("start", "linestart")):
            for ch, kid in _BAR_TRIE.kids.items():
                if any(self._bar_ok(t) for t in kid.vals):
                    ap(ch)
        return "".join(out)

    def _tie_allowed(self) -> str:
        """After a tie: spaces, a plain bar line, then the same note again."""
        acc, letter, _ = self._tie
        last = self._last
        if self._tk:
            return acc[:1] or letter    # inside a tuplet: the note right away
        out = ""
        if last not in ("space", "linestart"):
            out += " "
        if last in ("bar", "tie"):
            out += "\n"
        if self._note_room():
            out += acc[:1] or letter
        if self._content:
            for ch, kid in _BAR_TRIE.kids.items():
                if any(t in ("|", "||") and self._bar_ok(t) for t in kid.vals):
                    out += ch
        return out

    def _bar_ok(self, tok: str) -> bool:
        _, opens, ending = _BARS[tok]
        if self._forced:
            return True
        r = self._rep
        if (tok == "|:" and r == _R_OPEN) or (tok == "::" and r == _R_CLOSED) \
                or (ending == 1 and r == _R_CLOSED and self._after_end != 1):
            return False
        if self._after_end == 3 and (tok[0] == ":" or opens or ending):
            return False
        if tok[0] == ":" and r != _R_OPEN and self._after_end == 2:
            return False            # abc2midi miscounts a :| without |: after endings
            # and a short bar
        if self._tie is not None and tok not in ("|", "||"):
            return False
        if self._bars >= MAX_BARS and (
                opens or ending == 1 or (r == _R_OPEN or self._ending == _E_FIRST)
                and tok not in (":|", ":|2") and (self._capfix or tok != "|")):
            return False            # past the cap: no new section or ending; close the repeat
        if not self._content:
            # only a line's (or the body's) first bar line, which closes nothing
            # (abc2midi checks time carried into a plain | even there)
            if tok in ("||", "|]") and self._sfirst and (self._sc0 or self._rep == _R_OPEN):
                return False        # (the repeat would replay it with a count abc2midi rejects)
            return (tok in ("|:", "||", "|]") and self._ending not in (_E_FIRST, _E_NEED2)
                    or tok == "|" and not self._carry) \
                and self._last in ("start", "linestart")
        if self._ending == _E_FIRST:
            if tok not in ("|", ":|", ":|2") or tok == "|" and self._capfix:
                return False
        elif ending == 2:
            return False
        if self._ending == _E_SECOND and tok[0] == ":" and self._norep2:
            return False
        if ending == 1 and (self._ending != _E_NONE
                            or not self._sfirst and self._target() is None):
            return False
        meter = self._bar_len
        if meter == _FREE:
            return True
        t = meter - self._shave - self._room
        if t != meter and self._bars >= MAX_BARS and not self._full_bars:
            return False            # past the cap with no full bar yet: fill one
        if tok[0] == ":":
            if r != _R_OPEN and self._after_end and t != meter:
                return False        # (after endings abc2midi replays from an empty count)
            return t == self._target()
        if tok in ("|", "|1"):
            return t == meter or (self._first and tok == "|")
        # || |] |: :: a short bar carries on, but only where the tradition has one:
        # ending a strain of 4, 8, 12... bars (the short bar and the pickup after it
        # making one), not glued into the middle of a strain
        return t == meter or self._first or (self._sec_bars + 1) % self._phrase == 0

    def _bar_allowed(self) -> str:
        n = self._node
        out = [ch for ch, kid in n.kids.items() if any(self._bar_ok(t) for t in kid.vals)]
        if n.val is not None and self._bar_ok(n.val):
            c = self._clone()
            c._finish_bar()
            out.append(c._allowed())
        return "".join(out)

    def _paren_allowed(self) -> str:
        out = []
        if not self._tk:
            for d in "234":
                if self._tuplet_fits_now(d):
                    out.append(d)
        if self._pend & _P_BROKEN:
            return _PITCH + "["     # a slur over the second note of a>b
        if self._slurs < _MAX_SLURS and not self._pend & _P_SLUR and self._bars < MAX_BARS:
            if self._pend & _P_GRACE:
                out.append("." + _PITCH + "[")
            else:
                out.append(('{.' if self._tk else '{~.') + _PITCH + "[")
                if not self._pend & _P_CSYM:
                    out.append('"')
            if not self._tk and self._tuplet_any():
                out.append("(")     # ((3abc): a slur over a tuplet
        return "".join(out)

    def _group_allowed(self) -> str:
        """Inside [...] (chord) or {...} (grace notes)."""
        sub = self._sub
        chord = self._mode == _CHORD
        if sub == 1:
            return (self._acc if len(self._acc) == 1 and self._acc != "=" else "") + _LETTERS
        out = ""
        n = self._cn if chord else self._gn
        if sub == -1:
            out += "/"
        if n < (_MAX_CHORD if chord else _MAX_GRACE):
            out += _PITCH
        if n:
            out += "]" if chord else "}"
        if sub == 2 and self._oct < 2:
            out += self._acc  # the octave mark of the letter just written
        return out

    def _note_allowed(self) -> str:
        n = self._node
        ms = self._mset()
        out = []
        tie_oct = self._tie[2] if self._tie is not None else None
        if n is _LEN_TRIE and self._kind == "note":
            if tie_oct is not None and self._oct < tie_oct:
                return self._acc     # the tied note again: same octave marks
            if self._oct < 2 and tie_oct is None:
                out.append(self._acc)
        for ch, kid in n.kids.items():
            if not kid.vals.isdisjoint(ms):
                out.append(ch)
        if n.val is not None and n.val in ms:
            c = self._clone()
            c._finish_note()
            follow = c._allowed()
            if self._col == 1 and n is _LEN_TRIE:
                # "f:" or "f :" at a line start reads as a field line ("f:|" is
                # no bar): no colon or space after it ("f1:|" is fine)
                follow = follow.replace(":", "").replace(" ", "")
            out.append(follow)
        return "".join(out)

    # ------------------------------------------------------ duration logic

    def _mset(self) -> frozenset:
        """Note lengths (multiples of L/32) that keep the bar completable."""
        if self._broken:
            # abc2midi applies > < only between notes of equal written length
            return frozenset((self._prev_m,))
        if self._tk:
            key = (self._room, self._tw, self._tk, self._tq, self._tp)
        else:
            key = (self._room, self._bn, self._bd)
        got = _MCACHE.get(key)
        if got is not None:
            return got
        if len(_MCACHE) > 20000:
            _MCACHE.clear()
        room = self._room
        if self._tk:
            w, k, q, p = self._tw, self._tk - 1, self._tq, self._tp
            got = frozenset(m for m in _ALL_M if _tuplet_fits(w + m, k, q, p, room))
        else:
            bn, bd = self._bn, self._bd
            got = frozenset(m for m in _ALL_M if (m * bn) % bd == 0 and m * bn // bd * G <= room)
        _MCACHE[key] = got
        return got

    def _tuplet_fits_now(self, digit: str) -> bool:
        q, r = _TUPLETS[digit]
        return _tuplet_fits(0, r, q, int(digit), self._room)

    def _tuplet_any(self) -> bool:
        return any(self._tuplet_fits_now(d) for d in "234")

    def _broken_fits(self, sign: str) -> bool:
        """Can `sign` (> >> < <<) follow the last note, whose written length was
        _prev_m?  The next note must have the same written length (abc2midi
        refuses a broken rhythm between unequal notes), so the pair takes 2m:
        m more must fit, and the halves/quarters must stay multiples of L/4
        (``a/>b/`` plays 3/4 + 1/4, ``a/4>b/4`` is masked)."""
        m = self._prev_m
        if m is None or m % (_STEP * (2 if len(sign) == 1 else 4)):
            return False
        return self._room >= m * G

    # --------------------------------------------------------- transitions

    def _step(self, ch: str) -> None:
        m = self._mode
        if self._done:
            self._reset()
            m = self._mode
        if m == _H_LINE:
            self._hcur = ch
            self._mode = _H_COLON
        elif m == _H_COLON:
            self._buf = ""
            if self._tries.get(self._hcur) is not None:
                self._node = self._tries[self._hcur]
                self._mode = _H_VALUE
            else:
                self._mode = _H_TEXT
        elif m == _H_VALUE:
            if ch == "\n":
                self._end_field(self._node.val)
            else:
                self._node = self._node.kids[ch]
        elif m == _H_TEXT:
            if ch == "\n":
                self._end_field(self._buf)
            else:
                self._buf += ch
        elif m == _ITEM:
            self._item_step(ch)
        elif m == _ACC:
            if ch in _LETTERS:
                self._start_note(ch, self._acc)
            else:
                self._acc += ch
        elif m == _NOTE:
            n = self._node
            if n is _LEN_TRIE and ch in ",'":
                self._oct += 1
            elif ch in n.kids:
                self._node = n.kids[ch]
            else:
                self._finish_note()
                self._step(ch)
        elif m == _PAREN:
            if ch in _TUPLETS:
                q, r = _TUPLETS[ch]
                self._tp, self._tq, self._tk, self._tw = int(ch), q, r, 0
                self._last = "tuplet"
                self._mode = _ITEM
            else:
                self._slurs += 1
                self._pend |= _P_SLUR
                self._last = "slur"
                self._mode = _ITEM
                self._step(ch)
        elif m == _BROKEN:
            if ch in "<>":
                self._apply_broken(ch)
            else:
                self._mode = _ITEM
                self._step(ch)
        elif m == _LBRACK:
            if ch in "12":
                if ch == "1":
                    self._ending = _E_FIRST
                    self._pre1 = self._sec_bars
                else:
                    # the second pass reaches [2 from the bar before [1 (full)
                    self._ending = _E_SECOND
                    self._after_end = 1
                    self._new_bar(first=self._first)
                self._cap_target()
                self._last = "ending"
                self._mode = _ITEM
            else:
                self._mode = _CHORD
                self._cn = 0
                self._sub = 0
                self._group_step(ch)
        elif m == _CHORD or m == _GRACE:
            self._group_step(ch)
        elif m == _CSYM:
            self._node = self._node.kids[ch]
            if self._node.val is not None:
                self._pend |= _P_CSYM
                self._last = "csym"
                self._mode = _ITEM
        elif m == _BAR:
            n = self._node
            if ch in n.kids:
                self._node = n.kids[ch]
            else:
                self._finish_bar()
                self._step(ch)
        elif m == _RECOVER:
            self._recover_step(ch)

    def _end_field(self, value) -> None:
        f = self._hcur
        if f == "M":
            if value == "none" or value is None:
                self._meter = None
            else:
                self._meter = value
        elif f == "L":
            self._unit = value or 8
        self._hfield = f
        self._mode = _H_LINE
        if f == "K":
            self._start_body()

    def _start_body(self) -> None:
        if self._meter is None:
            self._bar_len = _FREE
        else:
            n, d = self._meter
            self._bar_len = n * self._unit * _U // d
        self._mode = _ITEM
        self._body = True
        self._last = "start"
        self._body_start = True
        self._new_bar(first=True)

    def _new_bar(self, first: bool, carry: int = 0) -> None:
        self._carry = carry
        self._room = self._bar_len - carry
        self._content = False
        self._first = first
        self._forced = False
        self._shave = 0
        self._capfix = False
        self._cap_target()

    def _target(self):
        """The bar total (carry + written, in ticks) that a ``:|`` or ``::`` needs
        now: the repeat plays the section start next, and abc2midi counts the
        section's first bar on from this bar's total when it is short.  None:
        no bar in this one can close the repeat."""
        meter = self._bar_len
        if self._sbar:          # the replay meets a plain | first: full, then no pickup
            return None if self._sw0 and not self._sfirst else meter
        if self._sfirst:        # this bar would be the section's first: full, no carry in
            return meter if self._sc0 == 0 else None
        if self._sw0:           # the tune's short first bar follows: complement it
            return meter - self._sw0
        # the section began with carry sc0: the replay must begin with the same
        return meter if self._sc0 == 0 else self._sc0

    def _cap_target(self) -> None:
        """Past the soft cap, where only ``:|`` may close the bar (an open
        ``|:`` or a first ending), hold the bar to the length that ``:|`` needs
        (a short one only once a bar was full: till then, a full bar and ``|``)."""
        if (self._bars >= MAX_BARS and self._bar_len != _FREE
                and (self._rep == _R_OPEN or self._ending == _E_FIRST)):
            t = self._target()
            if t is not None and t > self._carry and (self._full_bars or t == self._bar_len):
                self._capfix = True
                self._shave = self._bar_len - t
                self._room -= self._shave

    def _item_step(self, ch: str) -> None:
        if ch == " ":
            self._last = "space"
        elif ch == "\n":
            if self._last == "linestart":
                self._done = True
            else:
                self._last = "linestart"
        elif ch in _ACCS:
            self._acc = ch
            self._mode = _ACC
        elif ch in _LETTERS:
            self._start_note(ch, "")
        elif ch == "z":
            self._kind = "rest"
            self._node = _LEN_TRIE
            self._oct = 2
            self._mode = _NOTE
        elif ch == "[":
            self._mode = _LBRACK
        elif ch == '"':
            self._node = _CSYM_TRIE
            self._mode = _CSYM
        elif ch == "{":
            self._gn = 0
            self._sub = -1
            self._mode = _GRACE
        elif ch in "~.":
            self._pend |= _P_DECO
            self._dchar = ch
            self._last = "deco"
        elif ch == "(":
            self._mode = _PAREN
        elif ch == ")":
            self._slurs -= 1
            self._last = "slurclose"
        elif ch == "-":
            self._tie = self._spell
            self._last = "tie"
        elif ch in "<>":
            self._broken = ""
            self._apply_broken(ch)
        elif ch in "|:":
            self._node = _BAR_TRIE.kids[ch]
            self._mode = _BAR

    def _start_note(self, letter: str, acc: str) -> None:
        self._nacc = acc
        self._letter = letter
        self._kind = "note"
        self._oct = 0
        self._acc = "," if letter in _UPPER else "'"  # the octave mark it may take
        self._node = _LEN_TRIE
        self._mode = _NOTE

    def _group_step(self, ch: str) -> None:
        chord = self._mode == _CHORD
        if ch == ("]" if chord else "}"):
            if chord:
                self._kind = "chord"
                self._node = _LEN_TRIE
                self._mode = _NOTE
                self._oct = 2
            else:
                self._pend |= _P_GRACE
                self._last = "grace"
                self._mode = _ITEM
        elif ch == "/":
            self._sub = 0
        elif ch in _ACCS:
            if self._sub == 1:
                self._acc += ch
            else:
                self._acc = ch
                self._sub = 1
        elif ch in _LETTERS:
            if chord:
                self._cn += 1
            else:
                self._gn += 1
            self._sub = 2
            self._oct = 0
            self._acc = "," if ch in _UPPER else "'"
        elif ch in ",'":
            self._oct += 1

    def _finish_note(self) -> None:
        m = self._node.val
        if self._tk:
            self._tw += m
            self._tk -= 1
            if self._tk == 0:
                self._room -= self._tw * self._tq * G // self._tp
            self._prev_m = None
        else:
            self._room -= m * self._bn // self._bd * G
            self._prev_m = m if self._bd == 1 else None
        if self._dchar:
            self._prev_m = None     # abc2midi: no broken rhythm on a staccato or rolled note
        kind = self._kind
        # abc2midi ties only plain notes (no chord, rest, staccato or rolled note)
        self._spell = ((self._nacc, self._letter, self._oct)
                       if kind == "note" and not self._dchar else None)
        self._dchar = ""
        self._bn = self._bd = 1
        self._broken = ""
        self._content = True
        self._pend = 0
        self._tie = None
        self._last = "rest" if kind == "rest" else "note"
        self._mode = _ITEM

    def _apply_broken(self, sign: str) -> None:
        m = self._prev_m
        if not self._broken:
            half = m // 2 * G
            if sign == ">":
                self._room -= half
                self._bn, self._bd = 1, 2
            else:
                self._room += half
                self._bn, self._bd = 3, 2
        else:
            quarter = m // 4 * G
            if sign == ">":
                self._room -= quarter
                self._bn, self._bd = 1, 4
            else:
                self._room += quarter
                self._bn, self._bd = 7, 4
        self._broken += sign
        self._pend |= _P_BROKEN
        self._prev_m = m
        self._last = "broken"
        self._mode = _BROKEN

    def _finish_bar(self) -> None:
        tok = self._node.val
        _, opens, ending = _BARS[tok]
        was_second = self._ending == _E_SECOND
        if tok[0] == ":" and self._ending == _E_FIRST:
            # abc2midi replays a section once more at a :| that closes its second
            # ending, from an empty count: not if the section began with carried time
            self._norep2 = bool(self._sc0 or self._sw0 or self._sbar)
        if self._content:
            self._bars += 1
            if self._room + self._shave == 0 or self._bar_len == _FREE:
                self._full_bars += 1
        if tok in ("||", "|]", "|:", "::", ":|") and self._ending == _E_SECOND:
            self._ending = _E_NONE
        if tok == ":|" and self._ending == _E_FIRST:
            self._ending = _E_NEED2
        if tok in ("|:", "::"):
            self._rep = _R_OPEN
        elif tok.startswith(":|"):
            self._rep = _R_CLOSED
        if ending == 1:
            self._ending = _E_FIRST
        elif ending == 2:
            self._ending = _E_SECOND
        closed = self._content or self._forced
        self._body_start = self._body_start and not self._content
        meter = self._bar_len
        if tok in ("|:", "::"):
            self._after_end = 0
        elif ending == 2:
            self._after_end = 1
        if was_second and tok[0] == ":":
            # a second ending closed by :| : abc2midi then wants a later one closed
            # by a section bar line; no first ending (nor :| without |:) after it
            self._after_end = max(self._after_end, 2)
        new_section = opens or tok[0] == ":" or (tok in ("||", "|]") and self._rep == _R_CLOSED)
        if self._forced:
            # after bad text: the next bar may be short, nothing is carried
            self._sc0 = self._sw0 = 0
            self._sfirst = True
            self._sbar = False
            self._new_bar(first=True)
        elif closed:
            t = meter - self._shave - self._room
            short = meter != _FREE and t < meter
            if short and self._after_end and ending != 2:
                # a short bar after endings: no :| without |: now; and after a short
                # last bar of a second ending abc2midi loses count at later repeats
                self._after_end = 3 if was_second and tok in ("||", "|]") else \
                    max(self._after_end, 2)
            carry = 0
            if short and not self._first and tok not in ("|", "|1") and ending != 2:
                carry = t           # abc2midi counts on into the next bar played
            if self._sfirst:
                self._sfirst = False
                self._sw0 = t if short and self._first else 0
            if self._first and self._bars == 1:
                self._pickup = t if short else 0
            if not (short and self._first) and not self._carry:
                self._sec_bars += 1     # (a pickup, or the bar completing a short one: not counted)
            if new_section:
                self._sc0, self._sw0, self._sfirst, self._sbar = carry, 0, True, False
            self._new_bar(first=False, carry=carry)
        elif new_section:
            self._sc0, self._sw0, self._sfirst, self._sbar = self._carry, 0, True, False
            self._cap_target()
        elif self._sfirst and tok in ("|", "||", "|]"):
            # a line's first bar line before the section's first bar: the repeat
            # replays it (abc2midi then wants the repeated bar full)
            self._sbar = True
            if self._rep == _R_OPEN:
                self._first = False
            self._cap_target()
        if ending == 1:
            self._pre1 = self._sec_bars
        elif tok == ":|" and self._ending == _E_NEED2:
            self._sec_bars = self._pre1     # the second ending goes on from before the first
        elif tok in ("||", "|]", "|:", "::", ":|", ":|2"):
            self._sec_bars = 0
        self._last_bar = tok
        self._last = "ending" if ending else "bar" if closed else "openbar"
        self._mode = _ITEM
        self._prev_m = None

    # ------------------------------------------------------------ recovery

    def _recover(self, ch: str) -> None:
        if ch == "\n" and ((not self._body and self._mode == _H_LINE)
                           or (self._mode == _ITEM and self._last == "linestart")):
            self._done = True           # a blank line always ends a tune
            return
        if not self._body and self._mode == _H_LINE:
            self._hcur = ch
        self._mode = _RECOVER
        self._quote = False
        self._recover_step(ch)

    def _recover_step(self, ch: str) -> None:
        if not self._body:
            if ch == "\n":
                # a broken field line: keep the header order going after it
                f = self._hcur
                if f == "M":
                    self._meter = None
                if f and f in "XTMLQRK":
                    self._hfield = f
                if f == "K":
                    self._start_body()
                    self._last = "linestart"
                else:
                    self._mode = _H_LINE
            return
        if ch == "\n":
            self._body_restart()
            self._last = "linestart"
        elif ch == '"':
            self._quote = not self._quote
        elif ch == "|" and not self._quote:
            self._body_restart()
            self._forced = True
            self._node = _BAR_TRIE.kids["|"]
            self._mode = _BAR

    def _body_restart(self) -> None:
        self._mode = _ITEM
        self._new_bar(first=True)
        self._pend = 0
        self._tk = 0
        self._bn = self._bd = 1
        self._broken = ""
        self._prev_m = None
        self._slurs = 0
        self._tie = None
        self._ending = _E_NONE
        self._rep = _R_IMPLICIT
        self._sc0 = self._sw0 = 0
        self._sfirst = True
        self._sbar = False
        self._after_end = 0
        self._norep2 = False
        self._last_bar = ""


_SLOTS = AbcGrammar.__slots__


def check(text: str, min_bars: int = MIN_BARS, phrase: int = PHRASE) -> list[str]:
    """Feed a whole tune; the places where it left the grammar ("line:col: ..."),
    and a last entry when the text stops where a tune cannot end."""
    g = AbcGrammar(min_bars, phrase=phrase)
    g.feed(text)
    problems = list(g.problems)
    if not g.done and text.strip() and not g.problems:
        a = g.allowed()
        at_end = g._mode == _ITEM and g._last == "linestart"
        if not (at_end and a is not None and "\n" in a):
            problems.append(f"{g._line}:{g._col + 1}: the tune cannot end here")
    return problems
