"""Validity-guided decoding for generated ABC: which next characters keep a tune playable.

`AbcGrammar` follows a tune of the normalized form (see `encoders.abc`) one
character at a time and, before each character, says which characters may come
next (`allowed()`); the sampler masks the model's choices with it.  It never
re-reads the prefix: each character costs O(1) (a few dictionary steps and, at
most, one copy of a small state object), and it never raises on bad text.

    >>> g = AbcGrammar()
    >>> g.feed("X:1\\nM:6/8\\nL:1/8\\nK:G\\n|:GAG GAB|ABA ABd|edd gdd|edB dB")
    >>> [c in g.allowed() for c in "2341/d"]
    [True, True, False, False, True, True]
    >>> g.feed("|")
    >>> g.allowed()
    '|]'

(``edB d`` has used 4 of the bar's 6 eighths: ``B2`` fills the bar, ``B4``
would overflow it (``3`` may still start ``B3/2`` or ``B3/4``; ``1`` only
starts ``B12`` and ``B16``, both too long); after ``B`` the bar is one eighth
short, so the bar line must be ``||`` or ``|]``, which carry a short bar on
into the next one (a strain's 4th bar may be short: see `PHRASE`); a plain
``|`` needs the bar full, and no ``|:`` inside an open ``|:``.)

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
length, neither with ``.`` or ``~`` (abc2midi refuses others); a tie joins a
plain note (no ``.`` or ``~``) to the same note again (same letter, octave
marks, and accidental or none), across spaces and plain bar lines only.

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

from dataclasses import dataclass, fields
from fractions import Fraction
from operator import attrgetter

from encoders import CharGrammar
from encoders.abc.theory import MAX_KEY_FIFTHS, MODE_FIFTHS, bar_units, broken_factors, key_fifths, tuplet_q

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
_MIXED = ("mixed",)
"""`_Bar.pitch` of a bar with more than one pitch (or a chord) in it."""

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
_TUPLETS = {str(p): (tuplet_q(p, None), p) for p in (2, 3, 4)}
"""p -> (q, r): p notes in the time of q, over the next r notes (``(2`` 3 and 2, ``(3`` 2 and 3,
``(4`` 3 and 4: the standard's, whatever the meter)."""


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


def _keys() -> dict:
    """Keys of at most 7 sharps or flats (abc2midi warns about others)."""
    out = {"none": "none"}
    for t in _UPPER:
        for a in ("", "#", "b"):
            for m in ("", *MODE_FIFTHS):
                if abs(key_fifths(t + a, m)) > MAX_KEY_FIFTHS:
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
    quals = (
        "",
        "m",
        "7",
        "m7",
        "maj7",
        "M7",
        "6",
        "m6",
        "9",
        "m9",
        "dim",
        "dim7",
        "aug",
        "+",
        "sus",
        "sus4",
        "sus2",
        "7sus4",
        "m7b5",
        "5",
    )
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


def _header_tries(meters: list[str] | None, rhythms: list[str] | None) -> dict:
    """The value tries of the header fields: `_VALUE_TRIES`, with M: held to `meters` and
    R: to `rhythms` where given (values the closed lists cannot read are left out)."""
    tries = dict(_VALUE_TRIES)
    if meters is not None:
        known = _meters()
        tries["M"] = _trie({m: known[m] for m in meters if m in known} or {"none": "none"})
    if rhythms is not None:
        words = [
            r
            for r in rhythms
            if r
            and len(r) <= _MAX_RHYTHM
            and r == r.strip()
            and all(c in _RHYTHM_CHARS + " " for c in r)
            and "  " not in r
        ]
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
    "|": (False, False, 0),
    "||": (False, False, 0),
    "|]": (True, False, 0),
    "|:": (False, True, 0),
    ":|": (True, False, 0),
    "::": (True, True, 0),
    "|1": (False, False, 1),
    ":|2": (True, False, 2),
}
_BAR_TRIE = _trie({k: k for k in _BARS})

# Pending prefixes of a note (bits of _Flow.pending): a chord symbol, a grace group, a
# decoration, an opened slur, a broken-rhythm sign: each needs a note after it.
_P_CSYM, _P_GRACE, _P_DECO, _P_SLUR, _P_BROKEN = 1, 2, 4, 8, 16

# Modes (AbcGrammar._mode): what the next character continues.
(
    _H_LINE,  # the start of a header line: its field letter
    _H_COLON,  # the colon after it
    _H_VALUE,  # a header value from a closed list (X M L Q K, and R: held to the corpus)
    _H_TEXT,  # a free-text header value (T:, R:)
    _ITEM,  # the music, between items
    _ACC,  # a note's accidental, before its letter
    _NOTE,  # a note's octave marks and length, a rest's or a chord's length
    _PAREN,  # after '(': a tuplet's number or a slur
    _BROKEN,  # after '>' or '<'
    _LBRACK,  # after '[': an ending's number or a chord
    _CHORD,  # inside [...]
    _GRACE,  # inside {...}
    _CSYM,  # inside a chord symbol "..."
    _BAR,  # a bar line being written
    _RECOVER,  # after a character outside the grammar: anything, up to a line end or bar line
) = range(15)

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


def _broken_steps() -> dict:
    """(sign, signs written after the note so far, at most 2) -> (num, den, next_num,
    next_den): with this sign the last note's time grows by its written length times
    num/den (`broken_factors`: 3/2 of it after ``>``, 7/4 after ``>>``, so +1/2 then +1/4),
    and the next note's time is its written length times next_num/next_den."""
    out = {}
    for sign in "<>":
        before = Fraction(1)
        for n in (1, 2):
            now, after = broken_factors(sign, n)
            change = now - before
            out[sign, n] = (change.numerator, change.denominator, after.numerator, after.denominator)
            before = now
    return out


_BROKEN_STEPS = _broken_steps()


# ------------------------------------------------------------------ the grammar's state
#
# AbcGrammar keeps its state in the small objects below, one per concern; each field
# says what it holds.  Lengths are in ticks (`G` ticks per L/32) or, for written
# lengths, in L/32.  `AbcGrammar.copy` copies each object (a shallow copy: every field
# is a number, a string, a tuple or None), several times per sampled character.


def _copier(cls):
    """Give a slotted dataclass a fast `copy()`: its fields read at once, passed to `__init__`."""
    get = attrgetter(*(f.name for f in fields(cls)))
    cls.copy = lambda self: cls(*get(self))
    return cls


@dataclass(slots=True)
class _Config:
    """What a grammar is made with; never changes (copies share it)."""

    min_bars: int  # full bars a tune needs before it may end
    phrase: int  # a short bar carried on may end a strain of a multiple of this many bars
    tries: dict  # header field -> trie of its values (M: and R: held to the model's corpus; R: None: no R:)


@_copier
@dataclass(slots=True)
class _Header:
    """The header lines read so far."""

    field: str | None = None  # the last field line finished (X T M L Q R K); None before X:
    writing: str = ""  # the letter of the field line being written
    text: str = ""  # the free text of the T: or R: value being written
    meter: tuple[int, int] | None = None  # M: as (n, d); None for M:none (and before M:)
    unit: int = 8  # L: as the d of 1/d
    in_body: bool = False  # K: was read: the music is being written


@_copier
@dataclass(slots=True)
class _Bar:
    """The bar being written, in ticks."""

    full: int = _FREE  # a full bar: the meter's length (`_FREE` under M:none: never full)
    room: int = _FREE  # ticks still free: `full` less the time carried in and written
    carry: int = 0  # time carried in from a short bar closed by || |] |: :: (abc2midi counts on)
    shave: int = 0  # time held back past the soft cap, so that the bar is what :| needs
    held: bool = False  # `shave` is in force: only :| may close this bar (`_cap_target`)
    music: bool = False  # a note, rest or chord was written in it
    first: bool = True  # the tune's first bar (or the first after bad text): it may be short
    forced: bool = False  # it is closed by the bar line that ends bad text: any bar line, nothing counted
    pitch: tuple | None = None  # the one note spelling written in it (`_Note.spelling`); _MIXED: more than one
    notes: int = 0  # notes written in it (rests aside)


@_copier
@dataclass(slots=True)
class _Tuplet:
    """The tuplet being written: `p` notes in the time of `q`, `left` of them still to come."""

    left: int = 0  # its notes still to come (0: no tuplet open)
    written: int = 0  # its notes' written lengths so far, in L/32
    q: int = 1
    p: int = 1


@_copier
@dataclass(slots=True)
class _Broken:
    """Broken rhythm (``a>b``): the signs after a note and what they do to the next one."""

    signs: str = ""  # the signs written since the last note: '' '>' '>>' '<' '<<'
    num: int = 1  # the next note's time is its written length times num/den
    den: int = 1  # (1/2 after >, 3/2 after <, 1/4 after >>, 7/4 after <<)
    prev: int | None = None  # the last note's written length (L/32) if a sign may follow it, else None


@_copier
@dataclass(slots=True)
class _Note:
    """The note, rest, chord or grace group being written, and the last note's spelling."""

    kind: str = ""  # 'note', 'rest' or 'chord'
    letter: str = ""  # the note's letter as written
    accidental: str = ""  # the accidental written (so far) before the letter
    mark: str = ""  # the octave mark the letter just written may take: ',' (upper case) or "'"
    marks: int = 0  # octave marks written after it (2: none may follow; rests and chords start at 2)
    group: int = 0  # notes written in the chord or grace group
    at: int = 0  # where in a group: -1 right after '{' (a '/' may come), 0 before a note,
    # 1 after an accidental, 2 after a letter
    deco: str = ""  # the decoration in front of the note: '~' '.' or ''
    spelling: tuple | None = None  # the last note's (accidental, letter, octave marks) if a tie may follow it


@_copier
@dataclass(slots=True)
class _Flow:
    """The item written last and what the music so far leaves open."""

    last: str = "start"  # the last item: start linestart space note rest slurclose tie tuplet slur
    # csym grace deco broken ending bar openbar (a line's first bar line)
    pending: int = 0  # what waits for a note: the bits _P_CSYM _P_GRACE _P_DECO _P_SLUR _P_BROKEN
    slurs: int = 0  # slurs open
    tie: tuple | None = None  # a tie is open: the spelling (as `_Note.spelling`) the next note repeats
    body_start: bool = True  # no bar with music was closed yet in the body
    in_quotes: bool = False  # recovering from bad text inside a quoted string ('|' is no bar line there)


@_copier
@dataclass(slots=True)
class _Counts:
    """Bars counted, for the tune's length and its strains."""

    bars: int = 0  # bars closed with music in them
    full: int = 0  # of those, the full ones (every one under M:none)
    pickup: int = 0  # the tune's short first bar's length (0: it has none)
    strain: int = 0  # bars of the strain (section) so far: a pickup and the bar that completes a
    # short bar not counted
    strain_at_first: int = 0  # `strain` where the first ending began: the second ending counts on from it
    events: int = 0  # notes, rests and chords written in the body (not those inside chords or grace groups)
    monotone: int = 0  # closed bars in a row, up to the last, that each repeat one pitch only


@_copier
@dataclass(slots=True)
class _Repeats:
    """Repeats and endings as abc2midi plays them, and the section a ``:|`` replays."""

    state: int = _R_IMPLICIT  # _R_IMPLICIT (the tune start only), _R_OPEN (|: or :: open), _R_CLOSED (after :|)
    ending: int = _E_NONE  # _E_NONE, _E_FIRST (in [1), _E_NEED2 ([1 closed by :|: [2 next), _E_SECOND (in [2)
    after_endings: int = 0  # 0: no endings since the last |: or ::; 1: a second ending began; 2: a :| closed
    # one, or a short bar came after one (no :| without |: now); 3: a second ending
    # ended short (no repeat or ending at all now)
    no_replay: bool = False  # no :| may close the second ending (abc2midi would replay a section that
    # began with carried time from an empty count)
    start_carry: int = 0  # the time carried into the section's first bar
    start_short: int = 0  # the section's first bar's length when it was the tune's short first bar
    at_start: bool = True  # the bar being written would be the section's first
    bar_line_first: bool = False  # the section starts with a line's first plain bar line (the replay meets it)


class AbcGrammar(CharGrammar):
    """The parse of one generated tune so far (see the module docstring).

    `feed(text)` advances; `allowed()` is the string of characters that may come
    next, or None for "anything" (only while recovering from bad text);
    `done` is True once the tune has ended with a blank line; `problems` lists
    the characters fed that were not allowed, as "line:col: ..." strings."""

    __slots__ = (
        # the driver's (CharGrammar): where the next character goes, the answer of allowed(), the end
        "problems",
        "_line",
        "_col",
        "_cache",
        "_done",
        "_mode",  # what is being read: one of _H_LINE .. _RECOVER
        "_node",  # the trie node reached in the value being written (header value, length, chord
        # symbol or bar line)
        "_cfg",  # _Config: how the grammar was made (shared by copies)
        "_head",  # _Header: the header so far
        "_bar",  # _Bar: the bar being written
        "_tuplet",  # _Tuplet: the tuplet in progress
        "_broken",  # _Broken: broken rhythm after the last note
        "_note",  # _Note: the note, rest, chord or grace group being written
        "_flow",  # _Flow: the last item and what is left open (slurs, a tie, prefixes)
        "_count",  # _Counts: bars of the tune and of its strain
        "_rep",  # _Repeats: repeats, endings and the section a :| replays
    )

    def __init__(
        self,
        min_bars: int = MIN_BARS,
        meters: list[str] | None = None,
        rhythms: list[str] | None = None,
        phrase: int = PHRASE,
    ) -> None:
        """`meters` and `rhythms`: the M: and R: values the model's corpus has (the
        model's scheme options); a tune may write only those.  None: any meter of
        the closed list, any lower-case words for R:.  `phrase`: a short bar may end
        a strain only after a multiple of this many bars (1: anywhere)."""
        self._cfg = _Config(min_bars, max(1, phrase), _header_tries(meters, rhythms))
        self._reset()
        self._line, self._col = 1, 0
        self.problems: list[str] = []

    def _reset(self) -> None:
        self._mode = _H_LINE
        self._done = False
        self._cache = None
        self._node = None
        self._head = _Header()
        self._bar = _Bar()
        self._tuplet = _Tuplet()
        self._broken = _Broken()
        self._note = _Note()
        self._flow = _Flow()
        self._count = _Counts()
        self._rep = _Repeats()

    # ------------------------------------------------------------------ API

    @property
    def done(self) -> bool:
        """True once the tune has ended with a blank line."""
        return self._done

    @property
    def bars(self) -> int:
        """Bars closed so far."""
        return self._count.bars

    def segment(self) -> int:
        """0 while the header is written, then 1 + the bars closed so far."""
        return self._count.bars + 1 if self._head.in_body else 0

    def events(self) -> int:
        """Notes, rests and chords written so far (an accidental's note counted once)."""
        return self._count.events

    def monotone(self) -> int:
        """Bars in a row, up to the last one closed, that each repeat one pitch only (two notes
        or more; rests aside): ``|cdec|cccc|d2d2|`` 2."""
        return self._count.monotone

    def copy(self) -> AbcGrammar:
        """An independent copy (cheap: the state is a few small values)."""
        new = self._clone()
        new.problems = list(self.problems)
        return new

    def _clone(self) -> AbcGrammar:
        new = object.__new__(AbcGrammar)
        new.problems = self.problems
        new._line = self._line
        new._col = self._col
        new._cache = self._cache
        new._done = self._done
        new._mode = self._mode
        new._node = self._node
        new._cfg = self._cfg
        new._head = self._head.copy()
        new._bar = self._bar.copy()
        new._tuplet = self._tuplet.copy()
        new._broken = self._broken.copy()
        new._note = self._note.copy()
        new._flow = self._flow.copy()
        new._count = self._count.copy()
        new._rep = self._rep.copy()
        return new

    def allowed(self) -> str | None:
        """The characters that may come next, or None for no constraint."""
        if self._cache is None:
            self._cache = self._allowed()
        return self._cache or None if self._mode == _RECOVER else self._cache

    def cadence(self) -> bool:
        """Whether the music being written is a phrase's last bar: the 4th, 8th, 12th... bar
        of its strain (where tunes cadence), for lower-entropy sampling there."""
        return (
            self._head.in_body
            and self._mode != _RECOVER
            and self._bar.full != _FREE
            and not self._done
            and (self._count.strain + 1) % PHRASE == 0
        )

    def position(self) -> int:
        """Where the tune is, as the model reads it (`GrammarState.position`): the bars of the
        strain so far (0-15, more read as 15) and the tune's bars in fours (0-3 ... 28 and more),
        as ``strain + 16 * (bars // 4)``: where strains and tunes end, which the model does not
        count well alone."""
        c = self._count
        return min(c.strain, 15) + 16 * min(c.bars // 4, 7)

    def can_end(self) -> bool:
        """Whether the tune could end here (a line break, or a blank line, next)."""
        a = self.allowed()
        if self._mode == _ITEM and self._flow.last == "linestart":
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
        if m == _ITEM:
            return self._item_allowed()
        if m == _NOTE:
            return self._note_allowed()
        if m == _BAR:
            return self._bar_allowed()
        if m == _ACC:
            tie = self._flow.tie
            acc = self._note.accidental
            if tie is not None:
                return tie[1] if acc == tie[0] else tie[0][len(acc) :][:1]
            return (acc if len(acc) == 1 and acc != "=" else "") + _LETTERS
        if m == _PAREN:
            return self._paren_allowed()
        if m == _BROKEN:
            return self._broken_allowed()
        if m == _LBRACK:
            return self._lbrack_allowed()
        if m == _CHORD or m == _GRACE:
            return self._group_allowed()
        if m == _CSYM:
            return self._node.chars
        return self._header_allowed()

    def _header_allowed(self) -> str:
        m = self._mode
        h = self._head
        if m == _H_LINE:
            fields = _NEXT_FIELDS.get(h.field, "")
            return fields.replace("R", "") if self._cfg.tries.get("R", True) is None else fields
        if m == _H_COLON:
            return ":"
        if m == _H_VALUE:
            n = self._node
            if h.writing == "L" and h.meter is not None:
                # only units whose bar is a whole number of L/4 (M:3/8 L:1/4, not L:1/1)
                ok = self._unit_ok
                return "".join(ch for ch, kid in n.kids.items() if any(map(ok, kid.vals))) + (
                    "\n" if n.val is not None and ok(n.val) else ""
                )
            return n.chars + ("\n" if n.val is not None else "")
        if m == _H_TEXT:
            return self._text_allowed()
        return ""

    def _unit_ok(self, unit: int) -> bool:
        """Does L:1/`unit` make the meter's bar a multiple of L/4 (`_STEP`), so
        that FOLK_LENGTHS can fill it?"""
        return bar_units(self._head.meter, Fraction(1, unit)) * 32 % _STEP == 0

    def _text_allowed(self) -> str:
        h = self._head
        buf = h.text
        if h.writing == "T":
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

    def _broken_allowed(self) -> str:
        """After ``>`` or ``<``: the other note of the pair (a second sign, a slur)."""
        signs = self._broken.signs
        out = _PITCH + "z[\n"
        if len(signs) == 1 and self._broken_fits(signs * 2):
            out += signs
        slurs = self._flow.slurs
        if slurs < _MAX_SLURS and self._count.bars < MAX_BARS:
            out += "("
        if slurs:
            out += ")"
        return out

    def _lbrack_allowed(self) -> str:
        """After ``[``: a chord's first note, or an ending's number right after a bar line."""
        out = ""
        fl, rep = self._flow, self._rep
        ending = rep.ending
        if fl.last in ("bar", "linestart", "space") and self._bar.music is False:
            if (
                ending == _E_NONE
                and fl.last != "space"
                and not fl.body_start
                and (rep.state != _R_CLOSED or rep.after_endings == 1)
                and fl.tie is None
                and not self._bar.carry
                and self._target() is not None
                and self._count.bars < MAX_BARS
            ):
                out += "1"  # (past the soft cap: no new first ending)
            if ending == _E_NEED2:
                out += "2"
        if ending != _E_NEED2:
            out += _PITCH
        return out

    def _note_room(self) -> bool:
        """Whether a note (of the shortest length that fits) can start now."""
        if self._tuplet.left:
            return True
        if self._broken.signs:
            return bool(self._mset())
        return self._bar.room >= _STEP * G

    def _last_bar_ok(self) -> bool:
        """May the tune end in the bar written so far (no bar line after it)?  Only a
        full one, or the complement of the tune's pickup, as real tunes end."""
        bar = self._bar
        if bar.full == _FREE or not bar.music:
            return True
        t = bar.full - bar.shave - bar.room
        pickup = self._count.pickup
        return t == bar.full or (pickup > 0 and t + pickup == bar.full)

    def _end_ok(self) -> bool:
        fl = self._flow
        return (
            self._count.full >= self._cfg.min_bars
            and fl.slurs == 0
            and fl.tie is None
            and self._rep.ending not in (_E_FIRST, _E_NEED2)
            and self._rep.state != _R_OPEN
            and fl.pending == 0
            and not self._tuplet.left
        )

    def _item_allowed(self) -> str:
        fl = self._flow
        last = fl.last
        pend = fl.pending
        bars = self._count.bars
        out = []
        ap = out.append
        capped = bars >= MAX_BARS and self._end_ok()
        if self._rep.ending == _E_NEED2:
            # after the :| that closes a first ending: only [2 (or a break, a space)
            return "\n [" if last == "bar" else "["
        if capped and (last == "bar" or last == "linestart" and self._last_bar_ok()):
            return "\n"
        if fl.tie is not None:
            return self._tie_allowed()
        in_tup = self._tuplet.left > 0
        if last == "linestart" and self._end_ok() and self._last_bar_ok():
            ap("\n")
        if last == "bar":
            ap("\n")
        elif (
            last in ("note", "rest", "slurclose") and not pend and not in_tup and (0 < self._bar.room or self._end_ok())
        ):
            ap("\n")  # a line break inside a bar, or the tune's last line
        if out and self._col >= _MAX_LINE:
            return "\n"  # long lines: abc2midi can overflow a buffer on them
        if pend:
            return self._pending_allowed(out, last, pend, in_tup)
        if last in ("note", "rest", "slurclose", "tie", "ending", "bar", "openbar") and not in_tup:
            ap(" ")
        slur_ok = fl.slurs < _MAX_SLURS and bars < MAX_BARS
        if self._note_room():
            ap(("{." if in_tup else "{~.") + _PITCH + 'z["')
            if slur_ok or not in_tup and self._tuplet_any():
                ap("(")
        if last in ("note", "slurclose") and fl.slurs > 0:
            if bars >= MAX_BARS:
                return ")"  # past the cap: close slurs first
            ap(")")
        if last == "note" and self._note.spelling is not None and bars < MAX_BARS:
            ap("-")
        if last in ("note", "rest", "slurclose") and not in_tup and self._broken.prev is not None:
            if self._broken_fits(">"):
                ap(">")
            if self._broken_fits("<"):
                ap("<")
        if not in_tup and (self._bar.music or last in ("start", "linestart")):
            bar_ok = self._bar_ok
            for ch, kid in _BAR_TRIE.kids.items():
                if any(bar_ok(t) for t in kid.vals):
                    ap(ch)
        return "".join(out)

    def _pending_allowed(self, out: list, last: str, pend: int, in_tup: bool) -> str:
        """What may follow a prefix that waits for its note (see `_Flow.pending`); `out`
        holds the line breaks allowed so far."""
        ap = out.append
        slur_ok = self._flow.slurs < _MAX_SLURS and self._count.bars < MAX_BARS
        if pend & _P_DECO:
            return _PITCH if self._note.deco == "~" else _PITCH + "["
        if pend & _P_GRACE:
            # abc2midi plays ~ as grace notes: none right after a grace group
            s = "." + _PITCH + "["
            if not pend & (_P_DECO | _P_SLUR) and (slur_ok or not in_tup and self._tuplet_any()):
                s += "("
            if pend == _P_GRACE and not in_tup:
                if last == "grace":
                    s += "\n"  # the grace group's note on the next line
                    if self._flow.slurs:
                        s += ")"  # (B4{AB}) A4
                elif last == "slurclose":
                    s += " "
            return s
        if pend & _P_BROKEN:
            # a note, not a rest, takes the other half of a>b (a rest there
            # could leave a line-start "z" with nothing allowed after it)
            if pend & _P_SLUR or not slur_ok:
                return _PITCH + "["
            return _PITCH + "[("
        # a chord symbol and/or an opened slur
        if pend == _P_CSYM and last != "space" and not in_tup:
            ap(" ")
        if not pend & _P_SLUR:
            ap("z")
        if pend == _P_CSYM and not in_tup and (slur_ok or self._tuplet_any()):
            ap("(")
        elif pend & _P_SLUR and not in_tup and self._tuplet_any():
            ap("(")  # a slur over a tuplet: ((3abc)
        # abc2midi miscounts a roll (~) inside a tuplet
        ap(("{." if in_tup else "{~.") + _PITCH + "[")
        return "".join(out)

    def _tie_allowed(self) -> str:
        """After a tie: spaces, a plain bar line, then the same note again."""
        acc, letter, _ = self._flow.tie
        last = self._flow.last
        if self._tuplet.left:
            return acc[:1] or letter  # inside a tuplet: the note right away
        out = ""
        if last not in ("space", "linestart"):
            out += " "
        if last in ("bar", "tie"):
            out += "\n"
        if self._note_room():
            out += acc[:1] or letter
        if self._bar.music:
            for ch, kid in _BAR_TRIE.kids.items():
                if any(t in ("|", "||") and self._bar_ok(t) for t in kid.vals):
                    out += ch
        return out

    def _bar_ok(self, tok: str) -> bool:
        _, opens, ending = _BARS[tok]
        bar = self._bar
        if bar.forced:
            return True
        rep = self._rep
        r = rep.state
        after = rep.after_endings
        if (
            (tok == "|:" and r == _R_OPEN)
            or (tok == "::" and r == _R_CLOSED)
            or (ending == 1 and r == _R_CLOSED and after != 1)
        ):
            return False
        if after == 3 and (tok[0] == ":" or opens or ending):
            return False
        if tok[0] == ":" and r != _R_OPEN and after == 2:
            return False  # abc2midi miscounts a :| without |: after endings
            # and a short bar
        if self._flow.tie is not None and tok not in ("|", "||"):
            return False
        bars = self._count.bars
        if bars >= MAX_BARS and (
            opens
            or ending == 1
            or (r == _R_OPEN or rep.ending == _E_FIRST)
            and tok not in (":|", ":|2")
            and (bar.held or tok != "|")
        ):
            return False  # past the cap: no new section or ending; close the repeat
        if not bar.music:
            return self._opening_bar_ok(tok)
        if rep.ending == _E_FIRST:
            if tok not in ("|", ":|", ":|2") or tok == "|" and bar.held:
                return False
        elif ending == 2:
            return False
        if rep.ending == _E_SECOND and tok[0] == ":" and rep.no_replay:
            return False
        if ending == 1 and (rep.ending != _E_NONE or not rep.at_start and self._target() is None):
            return False
        meter = bar.full
        if meter == _FREE:
            return True
        t = meter - bar.shave - bar.room
        if t != meter and bars >= MAX_BARS and not self._count.full:
            return False  # past the cap with no full bar yet: fill one
        if tok[0] == ":":
            if r != _R_OPEN and after and t != meter:
                return False  # (after endings abc2midi replays from an empty count)
            return t == self._target()
        if tok in ("|", "|1"):
            return t == meter or (bar.first and tok == "|")
        # || |] |: :: a short bar carries on, but only where the tradition has one:
        # ending a strain of 4, 8, 12... bars (the short bar and the pickup after it
        # making one), not glued into the middle of a strain
        return t == meter or bar.first or (self._count.strain + 1) % self._cfg.phrase == 0

    def _opening_bar_ok(self, tok: str) -> bool:
        """May `tok` come where the bar has no music yet: only as a line's (or the body's)
        first bar line, which closes nothing (abc2midi checks time carried into a plain |
        even there)."""
        rep = self._rep
        if tok in ("||", "|]") and rep.at_start and (rep.start_carry or rep.state == _R_OPEN):
            return False  # (the repeat would replay it with a count abc2midi rejects)
        return (
            tok in ("|:", "||", "|]") and rep.ending not in (_E_FIRST, _E_NEED2) or tok == "|" and not self._bar.carry
        ) and self._flow.last in ("start", "linestart")

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
        in_tup = self._tuplet.left
        if not in_tup:
            for d in "234":
                if self._tuplet_fits_now(d):
                    out.append(d)
        pend = self._flow.pending
        if pend & _P_BROKEN:
            return _PITCH + "["  # a slur over the second note of a>b
        if self._flow.slurs < _MAX_SLURS and not pend & _P_SLUR and self._count.bars < MAX_BARS:
            if pend & _P_GRACE:
                out.append("." + _PITCH + "[")
            else:
                out.append(("{." if in_tup else "{~.") + _PITCH + "[")
                if not pend & _P_CSYM:
                    out.append('"')
            if not in_tup and self._tuplet_any():
                out.append("(")  # ((3abc): a slur over a tuplet
        return "".join(out)

    def _group_allowed(self) -> str:
        """Inside [...] (chord) or {...} (grace notes)."""
        note = self._note
        at = note.at
        chord = self._mode == _CHORD
        if at == 1:
            acc = note.accidental
            return (acc if len(acc) == 1 and acc != "=" else "") + _LETTERS
        out = ""
        n = note.group
        if at == -1:
            out += "/"
        if n < (_MAX_CHORD if chord else _MAX_GRACE):
            out += _PITCH
        if n:
            out += "]" if chord else "}"
        if at == 2 and note.marks < 2:
            out += note.mark  # the octave mark of the letter just written
        return out

    def _note_allowed(self) -> str:
        n = self._node
        ms = self._mset()
        out = []
        note = self._note
        tie = self._flow.tie
        tie_oct = tie[2] if tie is not None else None
        if n is _LEN_TRIE and note.kind == "note":
            if tie_oct is not None and note.marks < tie_oct:
                return note.mark  # the tied note again: same octave marks
            if note.marks < 2 and tie_oct is None:
                out.append(note.mark)
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
        br = self._broken
        if br.signs:
            # abc2midi applies > < only between notes of equal written length
            return frozenset((br.prev,))
        tup = self._tuplet
        room = self._bar.room
        if tup.left:
            key = (room, tup.written, tup.left, tup.q, tup.p)
        else:
            key = (room, br.num, br.den)
        got = _MCACHE.get(key)
        if got is not None:
            return got
        if len(_MCACHE) > 20000:
            _MCACHE.clear()
        if tup.left:
            w, k, q, p = tup.written, tup.left - 1, tup.q, tup.p
            got = frozenset(m for m in _ALL_M if _tuplet_fits(w + m, k, q, p, room))
        else:
            bn, bd = br.num, br.den
            got = frozenset(m for m in _ALL_M if (m * bn) % bd == 0 and m * bn // bd * G <= room)
        _MCACHE[key] = got
        return got

    def _tuplet_fits_now(self, digit: str) -> bool:
        q, r = _TUPLETS[digit]
        return _tuplet_fits(0, r, q, int(digit), self._bar.room)

    def _tuplet_any(self) -> bool:
        return any(self._tuplet_fits_now(d) for d in "234")

    def _broken_fits(self, sign: str) -> bool:
        """Can `sign` (> >> < <<) follow the last note, whose written length was
        `_Broken.prev`?  The next note must have the same written length (abc2midi
        refuses a broken rhythm between unequal notes), so the pair takes 2m:
        m more must fit, and the halves/quarters must stay multiples of L/4
        (``a/>b/`` plays 3/4 + 1/4, ``a/4>b/4`` is masked)."""
        m = self._broken.prev
        if m is None or m % (_STEP * (2 if len(sign) == 1 else 4)):
            return False
        return self._bar.room >= m * G

    # --------------------------------------------------------- transitions

    def _step(self, ch: str) -> None:
        m = self._mode
        if self._done:
            self._reset()
            m = self._mode
        if m == _ITEM:
            self._item_step(ch)
        elif m == _NOTE:
            n = self._node
            if n is _LEN_TRIE and ch in ",'":
                self._note.marks += 1
            elif ch in n.kids:
                self._node = n.kids[ch]
            else:
                self._finish_note()
                self._step(ch)
        elif m == _ACC:
            if ch in _LETTERS:
                self._start_note(ch, self._note.accidental)
            else:
                self._note.accidental += ch
        elif m == _BAR:
            n = self._node
            if ch in n.kids:
                self._node = n.kids[ch]
            else:
                self._finish_bar()
                self._step(ch)
        elif m == _PAREN:
            self._paren_step(ch)
        elif m == _BROKEN:
            if ch in "<>":
                self._apply_broken(ch)
            else:
                self._mode = _ITEM
                self._step(ch)
        elif m == _LBRACK:
            self._lbrack_step(ch)
        elif m == _CHORD or m == _GRACE:
            self._group_step(ch)
        elif m == _CSYM:
            self._node = self._node.kids[ch]
            if self._node.val is not None:
                self._flow.pending |= _P_CSYM
                self._flow.last = "csym"
                self._mode = _ITEM
        elif m == _RECOVER:
            self._recover_step(ch)
        else:
            self._header_step(ch)

    def _header_step(self, ch: str) -> None:
        m = self._mode
        h = self._head
        if m == _H_LINE:
            h.writing = ch
            self._mode = _H_COLON
        elif m == _H_COLON:
            h.text = ""
            trie = self._cfg.tries.get(h.writing)
            if trie is not None:
                self._node = trie
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
                self._end_field(h.text)
            else:
                h.text += ch

    def _paren_step(self, ch: str) -> None:
        """After ``(``: a tuplet's number, else the ``(`` opened a slur."""
        if ch in _TUPLETS:
            q, r = _TUPLETS[ch]
            tup = self._tuplet
            tup.p, tup.q, tup.left, tup.written = int(ch), q, r, 0
            self._flow.last = "tuplet"
            self._mode = _ITEM
        else:
            fl = self._flow
            fl.slurs += 1
            fl.pending |= _P_SLUR
            fl.last = "slur"
            self._mode = _ITEM
            self._step(ch)

    def _lbrack_step(self, ch: str) -> None:
        """After ``[``: an ending's number, else a chord's first note."""
        if ch in "12":
            rep = self._rep
            if ch == "1":
                rep.ending = _E_FIRST
                self._count.strain_at_first = self._count.strain
            else:
                # the second pass reaches [2 from the bar before [1 (full)
                rep.ending = _E_SECOND
                rep.after_endings = 1
                self._new_bar(first=self._bar.first)
            self._cap_target()
            self._flow.last = "ending"
            self._mode = _ITEM
        else:
            self._mode = _CHORD
            self._note.group = 0
            self._note.at = 0
            self._group_step(ch)

    def _end_field(self, value) -> None:
        h = self._head
        f = h.writing
        if f == "M":
            if value == "none" or value is None:
                h.meter = None
            else:
                h.meter = value
        elif f == "L":
            h.unit = value or 8
        h.field = f
        self._mode = _H_LINE
        if f == "K":
            self._start_body()

    def _start_body(self) -> None:
        h = self._head
        if h.meter is None:
            self._bar.full = _FREE
        else:
            self._bar.full = int(bar_units(h.meter, Fraction(1, h.unit)) * _U)
        self._mode = _ITEM
        h.in_body = True
        self._flow.last = "start"
        self._flow.body_start = True
        self._new_bar(first=True)

    def _new_bar(self, first: bool, carry: int = 0) -> None:
        bar = self._bar
        bar.carry = carry
        bar.room = bar.full - carry
        bar.music = False
        bar.first = first
        bar.forced = False
        bar.shave = 0
        bar.held = False
        bar.pitch = None
        bar.notes = 0
        self._cap_target()

    def _target(self):
        """The bar total (carry + written, in ticks) that a ``:|`` or ``::`` needs
        now: the repeat plays the section start next, and abc2midi counts the
        section's first bar on from this bar's total when it is short.  None:
        no bar in this one can close the repeat."""
        meter = self._bar.full
        rep = self._rep
        if rep.bar_line_first:  # the replay meets a plain | first: full, then no pickup
            return None if rep.start_short and not rep.at_start else meter
        if rep.at_start:  # this bar would be the section's first: full, no carry in
            return meter if rep.start_carry == 0 else None
        if rep.start_short:  # the tune's short first bar follows: complement it
            return meter - rep.start_short
        # the section began with carry start_carry: the replay must begin with the same
        return meter if rep.start_carry == 0 else rep.start_carry

    def _cap_target(self) -> None:
        """Past the soft cap, where only ``:|`` may close the bar (an open
        ``|:`` or a first ending), hold the bar to the length that ``:|`` needs
        (a short one only once a bar was full: till then, a full bar and ``|``)."""
        bar = self._bar
        if (
            self._count.bars >= MAX_BARS
            and bar.full != _FREE
            and (self._rep.state == _R_OPEN or self._rep.ending == _E_FIRST)
        ):
            t = self._target()
            if t is not None and t > bar.carry and (self._count.full or t == bar.full):
                bar.held = True
                bar.shave = bar.full - t
                bar.room -= bar.shave

    def _item_step(self, ch: str) -> None:
        fl = self._flow
        if ch == " ":
            fl.last = "space"
        elif ch == "\n":
            if fl.last == "linestart":
                self._done = True
            else:
                fl.last = "linestart"
        elif ch in _ACCS:
            self._count.events += 1  # the note it spells
            self._note.accidental = ch
            self._mode = _ACC
        elif ch in _LETTERS:
            self._count.events += 1
            self._start_note(ch, "")
        elif ch == "z":
            self._count.events += 1
            self._note.kind = "rest"
            self._node = _LEN_TRIE
            self._note.marks = 2
            self._mode = _NOTE
        elif ch == "[":
            self._count.events += 1  # a chord (or an inline field, which the bar's count forgives)
            self._mode = _LBRACK
        elif ch == '"':
            self._node = _CSYM_TRIE
            self._mode = _CSYM
        elif ch == "{":
            self._note.group = 0
            self._note.at = -1
            self._mode = _GRACE
        elif ch in "~.":
            fl.pending |= _P_DECO
            self._note.deco = ch
            fl.last = "deco"
        elif ch == "(":
            self._mode = _PAREN
        elif ch == ")":
            fl.slurs -= 1
            fl.last = "slurclose"
        elif ch == "-":
            fl.tie = self._note.spelling
            fl.last = "tie"
        elif ch in "<>":
            self._broken.signs = ""
            self._apply_broken(ch)
        elif ch in "|:":
            self._node = _BAR_TRIE.kids[ch]
            self._mode = _BAR

    def _start_note(self, letter: str, acc: str) -> None:
        note = self._note
        note.accidental = acc
        note.letter = letter
        note.kind = "note"
        note.marks = 0
        note.mark = "," if letter in _UPPER else "'"  # the octave mark it may take
        self._node = _LEN_TRIE
        self._mode = _NOTE

    def _group_step(self, ch: str) -> None:
        chord = self._mode == _CHORD
        note = self._note
        if ch == ("]" if chord else "}"):
            if chord:
                note.kind = "chord"
                self._node = _LEN_TRIE
                self._mode = _NOTE
                note.marks = 2
            else:
                self._flow.pending |= _P_GRACE
                self._flow.last = "grace"
                self._mode = _ITEM
        elif ch == "/":
            note.at = 0
        elif ch in _ACCS:
            if note.at == 1:
                note.accidental += ch
            else:
                note.accidental = ch
                note.at = 1
        elif ch in _LETTERS:
            note.group += 1
            note.at = 2
            note.marks = 0
            note.mark = "," if ch in _UPPER else "'"
        elif ch in ",'":
            note.marks += 1

    def _finish_note(self) -> None:
        m = self._node.val
        tup, br, note, fl = self._tuplet, self._broken, self._note, self._flow
        if tup.left:
            tup.written += m
            tup.left -= 1
            if tup.left == 0:
                self._bar.room -= tup.written * tup.q * G // tup.p
            br.prev = None
        else:
            self._bar.room -= m * br.num // br.den * G
            br.prev = m if br.den == 1 else None
        if note.deco:
            br.prev = None  # abc2midi: no broken rhythm on a staccato or rolled note
        kind = note.kind
        # abc2midi ties only plain notes (no chord, rest, staccato or rolled note)
        spelled = (note.accidental, note.letter, note.marks)
        note.spelling = spelled if kind == "note" and not note.deco else None
        bar = self._bar
        if kind == "note":
            bar.pitch = spelled if bar.pitch in (None, spelled) else _MIXED
            bar.notes += 1
        elif kind == "chord":
            bar.pitch = _MIXED
        note.deco = ""
        br.num = br.den = 1
        br.signs = ""
        self._bar.music = True
        fl.pending = 0
        fl.tie = None
        fl.last = "rest" if kind == "rest" else "note"
        self._mode = _ITEM

    def _apply_broken(self, sign: str) -> None:
        br = self._broken
        m = br.prev
        br.signs += sign
        num, den, br.num, br.den = _BROKEN_STEPS[sign, min(len(br.signs), 2)]
        self._bar.room -= m * num // den * G
        self._flow.pending |= _P_BROKEN
        self._flow.last = "broken"
        self._mode = _BROKEN

    def _finish_bar(self) -> None:
        tok = self._node.val
        _, opens, ending = _BARS[tok]
        bar, rep, count = self._bar, self._rep, self._count
        was_second = rep.ending == _E_SECOND
        if tok[0] == ":" and rep.ending == _E_FIRST:
            # abc2midi replays a section once more at a :| that closes its second
            # ending, from an empty count: not if the section began with carried time
            rep.no_replay = bool(rep.start_carry or rep.start_short or rep.bar_line_first)
        if bar.music:
            count.bars += 1
            one = bar.pitch is not _MIXED and bar.notes >= 2
            count.monotone = count.monotone + 1 if one else 0
            if bar.room + bar.shave == 0 or bar.full == _FREE:
                count.full += 1
        self._repeat_marks(tok, opens, ending, was_second)
        closed = bar.music or bar.forced
        self._flow.body_start = self._flow.body_start and not bar.music
        new_section = opens or tok[0] == ":" or (tok in ("||", "|]") and rep.state == _R_CLOSED)
        if bar.forced:
            # after bad text: the next bar may be short, nothing is carried
            rep.start_carry = rep.start_short = 0
            rep.at_start = True
            rep.bar_line_first = False
            self._new_bar(first=True)
        elif closed:
            self._close_bar(tok, ending, was_second, new_section)
        elif new_section:
            rep.start_carry, rep.start_short, rep.at_start, rep.bar_line_first = bar.carry, 0, True, False
            self._cap_target()
        elif rep.at_start and tok in ("|", "||", "|]"):
            # a line's first bar line before the section's first bar: the repeat
            # replays it (abc2midi then wants the repeated bar full)
            rep.bar_line_first = True
            if rep.state == _R_OPEN:
                bar.first = False
            self._cap_target()
        if ending == 1:
            count.strain_at_first = count.strain
        elif tok == ":|" and rep.ending == _E_NEED2:
            count.strain = count.strain_at_first  # the second ending goes on from before the first
        elif tok in ("||", "|]", "|:", "::", ":|", ":|2"):
            count.strain = 0
        self._flow.last = "ending" if ending else "bar" if closed else "openbar"
        self._mode = _ITEM
        self._broken.prev = None

    def _repeat_marks(self, tok: str, opens: bool, ending: int, was_second: bool) -> None:
        """What bar line `tok` does to the repeat and ending states."""
        rep = self._rep
        if tok in ("||", "|]", "|:", "::", ":|") and rep.ending == _E_SECOND:
            rep.ending = _E_NONE
        if tok == ":|" and rep.ending == _E_FIRST:
            rep.ending = _E_NEED2
        if tok in ("|:", "::"):
            rep.state = _R_OPEN
        elif tok.startswith(":|"):
            rep.state = _R_CLOSED
        if ending == 1:
            rep.ending = _E_FIRST
        elif ending == 2:
            rep.ending = _E_SECOND
        if tok in ("|:", "::"):
            rep.after_endings = 0
        elif ending == 2:
            rep.after_endings = 1
        if was_second and tok[0] == ":":
            # a second ending closed by :| : abc2midi then wants a later one closed
            # by a section bar line; no first ending (nor :| without |:) after it
            rep.after_endings = max(rep.after_endings, 2)

    def _close_bar(self, tok: str, ending: int, was_second: bool, new_section: bool) -> None:
        """A bar with music closed by `tok`: what it carries on, the section and pickup it
        starts, and the next bar."""
        bar, rep, count = self._bar, self._rep, self._count
        meter = bar.full
        t = meter - bar.shave - bar.room
        short = meter != _FREE and t < meter
        if short and rep.after_endings and ending != 2:
            # a short bar after endings: no :| without |: now; and after a short
            # last bar of a second ending abc2midi loses count at later repeats
            rep.after_endings = 3 if was_second and tok in ("||", "|]") else max(rep.after_endings, 2)
        carry = 0
        if short and not bar.first and tok not in ("|", "|1") and ending != 2:
            carry = t  # abc2midi counts on into the next bar played
        if rep.at_start:
            rep.at_start = False
            rep.start_short = t if short and bar.first else 0
        if bar.first and count.bars == 1:
            count.pickup = t if short else 0
        if not (short and bar.first) and not bar.carry:
            count.strain += 1  # (a pickup, or the bar completing a short one: not counted)
        if new_section:
            rep.start_carry, rep.start_short, rep.at_start, rep.bar_line_first = carry, 0, True, False
        self._new_bar(first=False, carry=carry)

    # ------------------------------------------------------------ recovery

    def _recover(self, ch: str) -> None:
        in_body = self._head.in_body
        if ch == "\n" and (
            (not in_body and self._mode == _H_LINE) or (self._mode == _ITEM and self._flow.last == "linestart")
        ):
            self._done = True  # a blank line always ends a tune
            return
        if not in_body and self._mode == _H_LINE:
            self._head.writing = ch
        self._mode = _RECOVER
        self._flow.in_quotes = False
        self._recover_step(ch)

    def _recover_step(self, ch: str) -> None:
        h = self._head
        if not h.in_body:
            if ch == "\n":
                # a broken field line: keep the header order going after it
                f = h.writing
                if f == "M":
                    h.meter = None
                if f and f in "XTMLQRK":
                    h.field = f
                if f == "K":
                    self._start_body()
                    self._flow.last = "linestart"
                else:
                    self._mode = _H_LINE
            return
        fl = self._flow
        if ch == "\n":
            self._body_restart()
            fl.last = "linestart"
        elif ch == '"':
            fl.in_quotes = not fl.in_quotes
        elif ch == "|" and not fl.in_quotes:
            self._body_restart()
            self._bar.forced = True
            self._node = _BAR_TRIE.kids["|"]
            self._mode = _BAR

    def _body_restart(self) -> None:
        self._mode = _ITEM
        self._new_bar(first=True)
        fl = self._flow
        fl.pending = fl.slurs = 0
        fl.tie = None
        self._tuplet.left = 0
        self._broken = _Broken()
        self._rep = _Repeats()


def check(text: str, min_bars: int = MIN_BARS, phrase: int = PHRASE) -> list[str]:
    """Feed a whole tune; the places where it left the grammar ("line:col: ..."),
    and a last entry when the text stops where a tune cannot end."""
    g = AbcGrammar(min_bars, phrase=phrase)
    g.feed(text)
    problems = list(g.problems)
    if not g.done and text.strip() and not g.problems:
        a = g.allowed()
        at_end = g._mode == _ITEM and g._flow.last == "linestart"
        if not (at_end and a is not None and "\n" in a):
            problems.append(f"{g._line}:{g._col + 1}: the tune cannot end here")
    return problems
