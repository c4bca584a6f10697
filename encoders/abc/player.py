"""Play one ABC tune the way abc2midi (the reference ABC player) does: text -> `Piece`.

`play(text, path="") -> Decoded` reads the header (``M:`` meter, ``L:`` unit note
length, ``Q:`` tempo, ``K:`` key, ``T:`` title, ``P:`` part order, ``V:`` voices),
then the music, in one pass over the tokens of `encoders.abc.tokens`, and
expands repeats into a flat list of `Note`s in quarter-note beats.

    >>> d = play("X:1\\nM:3/4\\nL:1/8\\nK:D\\n|:f2 e>d (3cBA|1 d4 z2:|2 d6|]\\n")
    >>> [(n.pitch, n.onset, n.duration) for n in d.piece.notes][:4]
    [(78, 0.0, 1.0), (76, 1.0, 0.75), (74, 1.75, 0.25), (73, 2.0, 0.3333333333333333)]
    >>> d.bars_ok, d.repairs
    (True, [])

What it plays, like abc2midi:

* pitches: ``C`` is middle C (60), ``c`` the octave above, ``,`` and ``'`` move an
  octave; the key signature of ``K:`` (every mode: maj min ion dor phr lyd mix
  aeo loc, and explicit accidentals ``K:D exp ^f`` / ``K:Am ^g``, ``K:none``)
  applies unless a note has its own ``^ ^^ _ __ =``; an accidental lasts to the
  end of the bar for that *letter in every octave* (abc2midi's way), and a note
  tied across a bar line keeps its accidental;
* lengths: a note's length multiplies ``L:`` (default 1/16 when the meter is
  below 3/4, else 1/8); ``a>b`` is 3/2 + 1/2 of two equal notes (``>>`` 7/4 +
  1/4, ``>>>`` 15/8 + 1/8; abc2midi ignores it between unequal notes, and so do
  we); ``(p:q:r`` puts p notes in the time of q for the next r notes (q
  defaults to 3 for p = 2, 4, 8, to 2 for 3 and 6, and for 5, 7, 9 to 3 when
  the meter's numerator is a multiple of 3, 3/4 included, else 2: abc2midi's
  reading of the standard's "compound", see `encoders.abc.theory.tuplet_q`);
  a chord ``[CEG]`` lasts as long as the length after its ``]`` if there is
  one, else as its first note;
* rests ``z`` and ``x`` (invisible) take time; ``Z4``/``X4`` rest four whole bars;
* ties ``-`` join a note to the next note of the same pitch into one longer note;
* repeats, as abc2midi expands them: ``|:`` ... ``:|`` plays twice; a ``:|``
  without ``|:`` goes back to the tune start, or to just after the last repeat
  that already ended (or a ``||``/``|]`` after it); ``::`` ends one repeat and
  starts the next, and so does a second ``|:`` while one is open; ``||:`` is a
  plain double bar to abc2midi; endings ``[1`` ``|1`` ``:|2`` ``[1,3`` are chosen
  by the pass number (a pass with no ending of its number skips to the next
  section bar); with a header ``P:ABA`` and body ``P:A`` / ``P:B`` parts, the
  parts play in that order, each repeating only from its start or a ``|:``;
* ``R:hornpipe`` (in 2/4 or 4/4), like abc2midi: pairs of equal eighths (4/4)
  or sixteenths (2/4) on the beat's halves swing 2:1, and ``>`` is 2:1;
* inline fields ``[K:]`` ``[M:]`` ``[L:]`` ``[Q:]`` and body field lines change
  key, meter, unit; ``V:`` voices are played in parallel from beat 0 (each
  note has its voice number, in order of appearance); ``&`` overlays are dropped;
* not played: grace notes ``{...}``, decorations (``~ . T !trill!``...), chord
  symbols ``"Am"`` and annotations, lyrics ``w:``; ``\\`` line continuations
  and comments are ignored.

Generated text is often broken; `play` never raises on any str.  What it cannot
play is repaired or dropped and listed in `Decoded.repairs` (unknown characters,
an unclosed chord or grace group, a tie with no note to join, a broken rhythm or
tuplet with nothing to act on, notes out of MIDI range, an unknown key, ...).
`Decoded.bars_ok` is True exactly when abc2midi (4.84) would print no "Bar N has X
time units while the time signature has Y" warning; None when no meter is in
force (``M:none`` and no meter change).  abc2midi's check, followed here in
PLAYED order (repeats and endings expanded as above), per voice:

* the bar length accumulates over notes, rests and chords as played (tuplets,
  broken rhythm; grace notes take no time), in units of the denominator of the
  meter in force when each note is added (a length carried over a meter change
  is not rescaled);
* a plain ``|`` always checks the bar: warning when the length is not 0 and
  not the meter's, then the length restarts at 0;
* every other bar line (``|| |] [| |: :| :: ||:`` ...) checks only when the
  length is at least the meter's (or in bar 0); a shorter bar carries on into
  the next played bar (after a repeat jump too); ``:|| ||| ::|`` are that bar
  line followed by a plain ``|``;
* bar 0 (the bars before the first checked bar with notes) is checked only on a
  second pass of a repeat, so a short or long first bar is fine the first time;
  a repeat restores the bar number it had at its start, a skipped ending counts
  one bar;
* the bar after the last bar line is never checked; ``Zn`` is n whole-bar rests
  with plain bar lines between them; a meter change followed by a plain ``|``
  with no note, rest, chord, tuplet, slur, key change or line end between takes
  effect after that bar line; with ``P:`` parts, a part played again is not
  checked.

Only the first tune of a text is played: it ends at the first blank line after
its music or at a second ``X:`` line.
"""

from __future__ import annotations

import re
from fractions import Fraction

from encoders import debugging
from encoders.abc.theory import (
    ACCIDENTAL_SEMITONES,
    LETTER_SEMITONES,
    MIDDLE_C,
    broken_factors,
    default_unit,
    tuplet,
)
from encoders.abc.tokens import Key, Token, parse_key, parse_meter, parse_tempo, parse_unit, tokenize
from encoders.piece import Decoded, Note, Piece, Problem, position

__all__ = ["play", "VELOCITY", "MAX_EVENTS"]

VELOCITY = 80
"""Every note's MIDI velocity (abc2midi's beat accents are not modelled)."""
MAX_EVENTS = 200_000
"""Repeat expansion stops after this many played events (runaway generated text)."""
MAX_TEXT_CHARS = 200_000
"""Text after this many characters is not played (and reported): no tune is that long."""

_LETTER_PITCH = {
    **{k: MIDDLE_C + v for k, v in LETTER_SEMITONES.items()},
    **{k.lower(): MIDDLE_C + 12 + v for k, v in LETTER_SEMITONES.items()},
}
"""A letter as written (its case gives the octave) -> MIDI pitch without octave marks."""
TPQ = 2**8 * 3**3 * 5 * 7 * 11 * 13
"""Ticks per quarter note inside the player: times are exact integers (tuplets of
up to 16, lengths down to 1/256 divide it); anything else falls back to Fraction."""
WHOLE = 4 * TPQ
_ZERO = 0


def _mul(d, num: int, den: int):
    """d * num / den, an int when exact, else a Fraction."""
    if type(d) is int:
        x = d * num
        return x // den if x % den == 0 else Fraction(x, den)
    return d * num / den


def _ticks(whole: Fraction):
    """A fraction of a whole note -> ticks."""
    return _mul(WHOLE, whole.numerator, whole.denominator)


def _den_in_whole(pos) -> int:
    """Denominator of a tick position as a reduced fraction of a whole note."""
    return (Fraction(pos) / WHOLE).denominator


# Element kinds of the textual pass (one list per voice).
_GROUP, _REST, _BAR, _ENDING, _PART, _MREST, _METER = range(7)


# what ends the stretch after a meter change in which a plain bar line still takes the old meter
# (abc2midi 4.84 as observed: notes outside grace groups, rests, chords, tuplets, slurs,
# a key change, a line end; not chord symbols, decorations, grace notes or [L:])
_METER_TAIL_ENDS = frozenset(
    ("note", "rest", "chord_start", "measure_rest", "bar", "tuplet", "slur_start", "slur_end", "newline", "field")
)

_SECTION_BARS = frozenset(("||", "|]", "[|", "[|]", ".|"))


class _Group:
    """A note or chord (pitches) or a rest (pitches None): its length in beats as
    played (after tuplets / broken rhythm) and as written, and per pitch whether a
    tie follows and the (letter, alteration) it was spelled with."""

    __slots__ = ("pitches", "ties", "alts", "dur", "written", "line", "col")

    def __init__(self, pitches, ties, alts, dur, line, col):
        self.pitches = pitches
        self.ties = ties
        self.alts = alts
        self.dur = dur
        self.written = dur
        self.line = line
        self.col = col


class _Voice:
    """One voice's state in the textual pass and the elements it collected."""

    __slots__ = (
        "elems",
        "key",
        "unit",
        "unit_t",
        "meter",
        "bar_accs",
        "tie_carry",
        "number",
        "name",
        "last_group",
        "broken",
        "tuplet_left",
        "tuplet_factor",
        "overlay",
        "bar_len",
        "hp_pos",
        "hp_last",
        "meter_tail",
    )

    def __init__(self, number: int, name: str, key: dict, unit: Fraction, meter):
        self.number = number
        self.name = name
        self.elems: list = []
        self.key = key
        self.unit = unit
        self.unit_t = _ticks(unit)
        self.meter = meter
        self.bar_accs: dict[str, int] = {}
        self.tie_carry: dict[str, int] = {}
        self.last_group: _Group | None = None
        self.broken = None  # (previous group, factor for it, factor for the next, token)
        self.tuplet_left = 0
        self.tuplet_factor = (1, 1)  # (q, p): lengths times q/p
        self.overlay = False
        self.bar_len = _ZERO  # written length of the bar so far (repairs only)
        self.meter_tail = False  # the last thing read was a meter change
        self.hp_pos = _ZERO  # abc2midi's count of whole notes in the bar (for hornpipe swing)
        self.hp_last: Fraction | None = None  # length of the last single note (hornpipe)


def _parse_parts(order: str) -> list[str]:
    """Header P: play order: 'ABA', 'A2B', '(AB)2C', 'A.B.A' -> list of part labels."""
    s = re.sub(r"[\s.]", "", order.split("%", 1)[0])
    pos = 0

    def seq(depth: int) -> list[str]:
        nonlocal pos
        out: list[str] = []
        last: list[str] = []
        while pos < len(s) and len(out) <= 256:
            ch = s[pos]
            if ch == "(":
                pos += 1
                last = seq(depth + 1)
                out.extend(last)
            elif ch == ")":
                pos += 1
                if depth:
                    return out
                last = []
            elif "0" <= ch <= "9":  # not str.isdigit: it takes "²", which int() refuses
                j = pos
                while pos < len(s) and "0" <= s[pos] <= "9":
                    pos += 1
                out.extend(last * (min(int(s[j:pos][:4]), 16) - 1))
            elif ch.isalpha():
                pos += 1
                last = [ch]
                out.append(ch)
            else:
                pos += 1
                last = []
        return out

    return seq(0)[:256]


class _Reader:
    """The textual pass: tokens -> per-voice element lists, pitches and lengths resolved."""

    def __init__(
        self,
        toks: list[Token],
        start: int,
        key: Key,
        unit: Fraction,
        meter,
        voice_names: list[str],
        rep,
        tempo_set: bool,
        hornpipe: bool = False,
        swing: bool = False,
    ):
        self.toks = toks
        self.start = start
        self.sig = key.signature
        self.unit = unit
        self.meter = meter
        self.rep = rep
        self.voices: dict[str, _Voice] = {}
        self.order: list[_Voice] = []
        self.cur = self.get_voice(voice_names[0] if voice_names else "")
        self.tempo: float | None = None
        self.tempo_set = tempo_set
        self.body_has_parts = False
        self.in_chord = False
        self.chord_pitches: list[int] = []
        self.chord_ties: list[bool] = []
        self.chord_alts: list = []
        self.chord_first: Fraction | None = None
        self.chord_tok: Token | None = None
        self.in_grace = False
        self.grace_tok: Token | None = None
        self.line_has_content = False  # (a blank line ends the tune)
        self.body_has_content = False
        # R:hornpipe in 2/4 or 4/4: abc2midi swings pairs of equal short notes 2:1,
        # and plays every a>b as 2:1 (not 3:1)
        self.hornpipe = swing
        self.ratio21 = hornpipe
        self.hp_swing = WHOLE // 8 if meter == (4, 4) else WHOLE // 16
        self.hp_den = 8 if meter == (4, 4) else 16

    def get_voice(self, name: str) -> _Voice:
        v = self.voices.get(name)
        if v is None:
            v = _Voice(len(self.order), name, self.sig, self.unit, self.meter)
            self.voices[name] = v
            self.order.append(v)
        return v

    # -- groups
    def add_group(self, g: _Group, single: bool = False, mult: int = 1) -> None:
        v = self.cur
        in_tuplet = v.tuplet_left > 0
        if in_tuplet:
            g.dur = _mul(g.dur, *v.tuplet_factor)
            v.tuplet_left -= 1
        if self.hornpipe:
            self.hornpipe_swing(v, g, single, mult, in_tuplet)
        b = v.broken
        if b is not None:
            v.broken = None
            prev, fa, fb, bt = b
            # like abc2midi: the two lengths as they are now (tuplets and earlier broken
            # rhythm applied) must be equal; a chord on either side always passes
            if (
                prev.dur == g.dur
                or prev.pitches is not None
                and len(prev.pitches) > 1
                or g.pitches is not None
                and len(g.pitches) > 1
            ):
                prev.dur = _mul(prev.dur, *fa)
                g.dur = _mul(g.dur, *fb)
            elif bt is not None:
                self.rep("broken rhythm between notes of unequal length ignored (as abc2midi)", bt)
        v.elems.append((_GROUP, g))
        v.last_group = g
        v.bar_len += g.dur
        v.tie_carry = {}

    def hornpipe_swing(self, v: _Voice, g: _Group, single: bool, mult: int, in_tuplet: bool) -> None:
        """abc2midi's hornpipe rule: a single note of length 1/8 (4/4) or 1/16 (2/4)
        written with numerator 1, after a note of the same length that started on
        the first half of the pair (bar position with denominator 8 / 16), gets a
        pending 2:1 broken rhythm with it; rests, chords and tuplet notes break pairs."""
        whole = g.written
        if single and not in_tuplet and mult == 1:
            if (
                whole == self.hp_swing
                and v.hp_last == whole
                and v.last_group is not None
                and _last(v.elems) is v.last_group
                and _den_in_whole(v.hp_pos) == self.hp_den
            ):
                v.broken = (v.last_group, (4, 3), (2, 3), None)
            v.hp_last = whole
        elif single and not in_tuplet:
            v.hp_last = whole
        else:
            v.hp_last = None
        v.hp_pos += (
            (g.dur if in_tuplet else g.written) if g.pitches is None or single else self.chord_first_dur(g, in_tuplet)
        )

    def chord_first_dur(self, g: _Group, in_tuplet: bool):
        d = self.chord_first if self.chord_first is not None else g.written
        return _mul(d, *self.cur.tuplet_factor) if in_tuplet else d

    def end_chord(self, tok: Token | None) -> None:
        self.in_chord = False
        v = self.cur
        ct = self.chord_tok
        if not self.chord_pitches:
            self.rep("empty chord dropped", ct)
            return
        if tok is not None and tok.text != "]":
            dur = _mul(v.unit_t, tok.length.numerator, tok.length.denominator)
            if tok.error:
                self.rep(tok.error, tok)
        else:
            dur = self.chord_first if self.chord_first is not None else v.unit_t
        self.add_group(_Group(self.chord_pitches, self.chord_ties, self.chord_alts, dur, ct.line, ct.column))

    def close_open(self, why: str) -> None:
        if self.in_chord:
            self.rep(f"chord not closed {why}; closed there", self.chord_tok)
            self.end_chord(None)
        if self.in_grace:
            self.rep(f"grace notes not closed {why}; dropped", self.grace_tok)
            self.in_grace = False

    # -- fields
    def set_key(self, value: str, tok: Token) -> None:
        stripped = value.split("%", 1)[0].strip()
        if not stripped or re.match(r"(clef|middle|transpose|octave|stafflines|treble|bass|alto|tenor)\b", stripped):
            return  # only clef or other clauses: the key stays
        kk = parse_key(value)
        if kk.error:
            self.rep(kk.error, tok)
        self.cur.key = kk.signature
        self.cur.bar_accs = {}

    def field(self, name: str, value: str, tok: Token) -> None:
        v = self.cur
        if name == "K":
            self.set_key(value, tok)
        elif name == "M":
            m = parse_meter(value)
            if m is None and value.split("%", 1)[0].strip().lower() != "none":
                self.rep(f"unknown meter {value.strip()!r} ignored", tok)
                return
            v.meter = m
            v.elems.append((_METER, m))
            v.meter_tail = True
        elif name == "L":
            u = parse_unit(value)
            if u is None:
                self.rep(f"unknown unit length {value.strip()!r} ignored", tok)
            else:
                v.unit = u
                v.unit_t = _ticks(u)
        elif name == "Q":
            if not self.tempo_set:
                tq = parse_tempo(value)
                if tq is not None:
                    self.tempo = tq
                    self.tempo_set = True
        elif name == "V":
            words = value.split("%", 1)[0].split()
            name = words[0] if words else ""
            self.close_open("before a voice change")
            first = self.order[0]
            if len(self.order) == 1 and first.name == "" and not first.elems and name not in self.voices:
                # the first V: names the voice the music so far (none) belongs to
                del self.voices[""]
                first.name = name
                self.voices[name] = first
            self.cur = self.get_voice(name)
        elif name == "P":
            if v is self.order[0]:
                label = value.split("%", 1)[0].strip()[:1]
                if label:
                    self.body_has_parts = True
                    v.elems.append((_PART, label))

    # -- the pass
    def run(self) -> None:
        toks = self.toks
        n = len(toks)
        i = self.start
        self.line_has_content = False
        self.body_has_content = False
        handlers = self.handlers
        while i < n:
            t = toks[i]
            k = t.kind
            i += 1
            v = self.cur
            swap = False
            if v.meter_tail and (
                k in _METER_TAIL_ENDS and not (k == "note" and self.in_grace) or k == "inline_field" and t.name == "K"
            ):
                v.meter_tail = False
                # abc2midi: a meter change right before a plain bar line applies after
                # it (that bar is checked against the old meter)
                swap = k == "bar" and t.text == "|" and v.elems[-1][0] == _METER
            if k == "space":
                continue
            if k == "newline":
                if self.newline(t, i):
                    break
                continue
            self.line_has_content = True  # (a comment line is not a blank line either)
            if k == "bar":
                self.bar(t, v, swap)
            elif k == "field" and t.name == "X":
                self.rep("a second tune (X:) ignored", t)
                break
            else:
                handler = handlers.get(k)
                if handler is not None:  # (decorations, chord symbols, annotations, slurs,
                    handler(t, v)  # spacers, comments: nothing to play)
        self.close_open("at the end")
        for v in self.order:
            if v.broken is not None:
                self.rep("broken rhythm with no note after it dropped", v.broken[3])
                v.broken = None
            v.bar_len = _ZERO

    @property
    def handlers(self) -> dict:
        """Token kind -> the method that reads it (bars, line ends and spaces aside)."""
        return {
            "note": self.note,
            "rest": self.rest,
            "tie": self.tie,
            "chord_start": self.chord_start,
            "chord_end": self.chord_end,
            "broken": self.broken,
            "tuplet": self.tuplet_mark,
            "field": self.field_line,
            "inline_field": self.inline_field,
            "ending": self.ending,
            "measure_rest": self.measure_rest,
            "grace_start": self.grace_start,
            "grace_end": self.grace_end,
            "overlay": self.overlay,
            "unknown": self.unknown,
        }

    def newline(self, t: Token, i: int) -> bool:
        """A line end; True when it is a blank line, which ends the tune."""
        if not self.line_has_content and self.body_has_content:
            toks = self.toks
            if any(tt.kind not in ("newline", "space", "comment") for tt in toks[i:]):
                self.rep("text after the tune's end (a blank line) ignored", toks[i] if i < len(toks) else t)
            return True
        if self.line_has_content:
            self.body_has_content = True
        self.line_has_content = False
        return False

    def note(self, t: Token, v: _Voice) -> None:
        if self.in_grace or v.overlay:
            if self.in_grace:
                v.hp_last = None
            return
        letter = t.letter
        up = letter.upper()
        pitch = _LETTER_PITCH[letter]
        if t.octave:
            pitch += 12 * (t.octave.count("'") - t.octave.count(","))
        acc = t.accidental
        if acc:
            a = ACCIDENTAL_SEMITONES[acc]
            v.bar_accs[up] = a
        else:
            a = v.tie_carry.get(up)
            if a is None:
                a = v.bar_accs.get(up)
                if a is None:
                    a = v.key.get(up, 0)
        pitch += a
        if pitch < 0 or pitch > 127:
            self.rep(f"note {t.text!r} out of MIDI range; moved by octaves", t)
            while pitch < 0:
                pitch += 12
            while pitch > 127:
                pitch -= 12
        if t.error:
            self.rep(t.error, t)
        ln = t.length
        dur = _mul(v.unit_t, ln.numerator, ln.denominator)
        if self.in_chord:
            self.chord_pitches.append(pitch)
            self.chord_ties.append(False)
            self.chord_alts.append((up, a))
            if self.chord_first is None:
                self.chord_first = dur
            return
        self.add_group(_Group([pitch], [False], [(up, a)], dur, t.line, t.column), True, ln.numerator)

    def bar(self, t: Token, v: _Voice, swap: bool) -> None:
        self.close_open("before a bar line")
        v.overlay = False
        carry: dict[str, int] = {}
        lg = v.last_group
        if lg is not None and lg.pitches and _last(v.elems) is lg:
            for (up, a), tied in zip(lg.alts, lg.ties):
                if tied:
                    carry[up] = a
        v.bar_accs = {}
        v.tie_carry = carry
        v.hp_pos = _ZERO
        v.bar_len = _ZERO
        if swap:
            j = len(v.elems) - 1
            while j > 0 and v.elems[j - 1][0] == _METER:
                j -= 1
            v.elems.insert(j, (_BAR, t))
        else:
            v.elems.append((_BAR, t))

    def rest(self, t: Token, v: _Voice) -> None:
        if self.in_grace or v.overlay:
            return
        if self.in_chord:
            self.rep("rest inside a chord dropped", t)
            return
        if t.error:
            self.rep(t.error, t)
        ln = t.length
        self.add_group(_Group(None, None, None, _mul(v.unit_t, ln.numerator, ln.denominator), t.line, t.column))

    def tie(self, t: Token, v: _Voice) -> None:
        if self.in_grace or v.overlay:
            return
        if self.in_chord:
            if self.chord_ties:
                self.chord_ties[-1] = True
            return
        lg = v.last_group
        if lg is not None and lg.pitches and _last(v.elems) is lg:
            lg.ties[:] = [True] * len(lg.ties)
        else:
            self.rep("tie with no note before it dropped", t)

    def chord_start(self, t: Token, v: _Voice) -> None:
        if self.in_grace or v.overlay:
            return
        if self.in_chord:
            self.rep("chord inside a chord; the first one closed", t)
            self.end_chord(None)
        self.in_chord = True
        self.chord_pitches = []
        self.chord_ties = []
        self.chord_alts = []
        self.chord_first = None
        self.chord_tok = t

    def chord_end(self, t: Token, v: _Voice) -> None:
        if self.in_grace or v.overlay:
            return
        if not self.in_chord:
            self.rep("']' with no chord open dropped", t)
            return
        self.end_chord(t)

    def broken(self, t: Token, v: _Voice) -> None:
        if self.in_grace or v.overlay:
            return
        lg = v.last_group
        if lg is None or self.in_chord or _last(v.elems) is not lg:
            self.rep("broken rhythm with no note before it dropped", t)
            return
        if self.ratio21 and t.count == 1:
            short, long_ = (2, 3), (4, 3)  # abc2midi's hornpipe: a>b is 2:1
        else:
            fa, fb = broken_factors(">", t.count)
            long_, short = (fa.numerator, fa.denominator), (fb.numerator, fb.denominator)
        v.broken = (lg, long_, short, t) if t.name == ">" else (lg, short, long_, t)

    def tuplet_mark(self, t: Token, v: _Voice) -> None:
        if self.in_grace or v.overlay:
            return
        if t.error:
            self.rep(t.error, t)
        pqr = tuplet(t.numbers, v.meter)
        if pqr is None:
            self.rep(f"tuplet {t.text!r} needs a q (only (2 to (9 have one); ignored", t)
            return
        p, q, r = pqr
        v.tuplet_factor = (q, p)
        v.tuplet_left = r

    def field_line(self, t: Token, v: _Voice) -> None:
        self.close_open("at a field line")
        self.field(t.name, t.value, t)

    def inline_field(self, t: Token, v: _Voice) -> None:
        if not self.in_grace:
            self.field(t.name, t.value, t)

    def ending(self, t: Token, v: _Voice) -> None:
        if t.error:
            self.rep(t.error, t)
        v.elems.append((_ENDING, t))

    def measure_rest(self, t: Token, v: _Voice) -> None:
        if self.in_grace or v.overlay or self.in_chord:
            return
        if t.error:
            self.rep(t.error, t)
        m = v.meter or (4, 4)
        bl = _mul(WHOLE, m[0], m[1])
        v.elems.append((_MREST, (bl, t.count)))
        if v.bar_len > 0:
            self.rep("multi-measure rest inside a bar", t)
        v.last_group = None

    def grace_start(self, t: Token, v: _Voice) -> None:
        if self.in_grace:
            self.rep("grace group inside a grace group", t)
        self.in_grace = True
        self.grace_tok = t

    def grace_end(self, t: Token, v: _Voice) -> None:
        if not self.in_grace:
            self.rep("'}' with no grace group open dropped", t)
        self.in_grace = False

    def overlay(self, t: Token, v: _Voice) -> None:
        if not v.overlay:
            self.rep("voice overlay '&' not played", t)
            v.overlay = True

    def unknown(self, t: Token, v: _Voice) -> None:
        self.rep(f"unknown character {t.text!r} dropped", t)


def _last(elems: list):
    """The last element's payload, meter changes skipped (None when there is none)."""
    j = len(elems) - 1
    while j >= 0 and elems[j][0] == _METER:
        j -= 1
    return elems[j][1] if j >= 0 else None


def _is_stop(elems: list, j: int) -> bool:
    """A bar that ends an ending region when skipping endings: a section or repeat
    bar not followed directly by another ending marker."""
    tok = elems[j][1]
    if not (tok.count or tok.value or tok.text in _SECTION_BARS):
        return False
    return not (j + 1 < len(elems) and elems[j + 1][0] == _ENDING)


class _BarCheck:
    """abc2midi's bar check for one voice (its MIDI track), carried across parts.

    `acc` is the length of the bar so far in ticks times the denominator of the
    meter in force when each note was added (abc2midi counts in units of the
    meter's denominator and does not rescale a carried length at a meter
    change); the bar is full when acc == `full` (numerator * WHOLE); `full` is
    None while M:none (no checking).  `barno` is abc2midi's bar number: it
    grows at each checked bar that had notes, goes back to its value at the
    repeat start when a repeat is played again, and bar 0 is only checked on a
    second pass."""

    __slots__ = ("acc", "den", "full", "barno", "bad", "checked")

    def __init__(self, meter):
        self.acc = _ZERO
        self.den = meter[1] if meter else 4
        self.full = meter[0] * WHOLE if meter else None
        self.barno = 0
        self.bad = False
        self.checked = meter is not None


class _Playback:
    """One pass of `_perform` over a voice's elements: the time, the repeat being played
    (where it starts, which pass, whether an ending is being played) and the ties open."""

    __slots__ = (
        "elems",
        "i",
        "t",
        "voice",
        "out",
        "bar_beats",
        "in_part",
        "bc",
        "warn",
        "saved_barno",
        "rep_start",
        "pass_",
        "in_ending",
        "done",
        "open_rep",
        "used",
        "open_ties",
    )

    def __init__(
        self, elems: list, t0, voice: int, out: list, bar_beats: list | None, in_part: bool, bc: _BarCheck, warn: bool
    ):
        self.elems = elems
        self.i = 0  # the element played next
        self.t = t0  # its onset
        self.voice = voice
        self.out = out
        self.bar_beats = bar_beats
        self.in_part = in_part
        self.bc = bc
        self.warn = warn
        self.saved_barno = bc.barno  # the bar number at the repeat's start (abc2midi goes back to it)
        self.rep_start = 0  # where the repeat being played starts (-1: nowhere)
        self.pass_ = 1  # which time through it
        self.in_ending = False  # playing an ending ([1 [2)
        self.done = False  # a repeat was finished and no |: since
        self.open_rep = False  # a |: is open
        self.used: set[int] = set()  # repeat bar lines that already jumped back
        self.open_ties: dict[int, list] = {}  # pitch -> the note a tie will lengthen

    def group(self, g: _Group) -> None:
        t = self.t
        d = g.dur
        if g.pitches is None:
            if self.open_ties:
                self.open_ties = {}
        else:
            open_ties = self.open_ties
            new_open: dict[int, list] = {}
            for p, tie in zip(g.pitches, g.ties):
                nt = open_ties.pop(p, None)
                if nt is not None and nt[1] + nt[2] == t:
                    nt[2] += d
                else:
                    nt = [p, t, d, self.voice]
                    self.out.append(nt)
                if tie:
                    new_open[p] = nt
            self.open_ties = new_open
        self.t = t + d
        self.bc.acc += d * self.bc.den

    def check_bar(self) -> None:
        """abc2midi's check at a bar line that checks: a warning unless the bar is empty or
        full (bar 0 only on a second pass), then a new bar."""
        bc = self.bc
        if (
            bc.full is not None
            and self.warn
            and bc.acc != bc.full
            and bc.acc != 0
            and (self.pass_ == 2 or bc.barno != 0)
        ):
            bc.bad = True
        if bc.acc > 0:
            bc.barno += 1
        bc.acc = _ZERO

    def bar(self, tok: Token) -> bool:
        """A bar line; True when it jumps back to the repeat's start."""
        bc = self.bc
        i = self.i
        if self.bar_beats is not None:
            self.bar_beats.append(self.t)
        # abc2midi: a plain | checks the bar; any other bar line checks it only
        # when it is full or longer (or in bar 0), else its length carries on
        if tok.text == "|" or bc.full is not None and (bc.acc >= bc.full or bc.barno <= 0):  # (a)
            self.check_bar()
        left = tok.count
        # abc2midi reads "||:" as a plain double bar (no repeat starts there)
        starts = bool(tok.value) and not tok.text.lstrip(":").startswith("||")
        if not left and starts and self.open_rep and i not in self.used:
            left = 1  # a second |: with the first still open is read as :: (abc2midi)
        if left and self.end_repeat(tok):
            return True
        if starts:  # start of a repeat
            self.rep_start = i + 1
            self.saved_barno = bc.barno
            self.pass_ = 1
            self.in_ending = False
            self.done = False
            self.open_rep = True
        elif tok.text in _SECTION_BARS:
            self.in_ending = False
            if self.done:  # after a finished repeat, || starts the next repeated part
                self.rep_start = i + 1
                self.saved_barno = bc.barno
        if len(tok.text) > 2 and (tok.text.endswith("||") or tok.text.endswith("::|")):
            self.check_bar()  # abc2midi reads :|| ||| ::| as that bar line and then a plain |
        return False

    def end_repeat(self, tok: Token) -> bool:
        """The end of a repeat: each one jumps back once, on pass 1 or 2 (True when it does)."""
        i = self.i
        self.open_rep = False
        if i not in self.used:
            # a :: right after a later ending only starts the next repeat
            if self.pass_ < 3 and self.rep_start >= 0 and not (self.in_ending and self.pass_ >= 2 and tok.value):
                self.used.add(i)
                self.pass_ += 1
                self.i = self.rep_start
                self.bc.barno = self.saved_barno
                self.in_ending = False
                return True
        elif self.pass_ < 3:  # a finished repeat (a third pass stays, as abc2midi's)
            self.rep_start = -1 if self.in_part else i + 1
            self.saved_barno = self.bc.barno
            self.pass_ = 1
            self.in_ending = False
            self.done = not self.in_part
        return False

    def ending(self, numbers: tuple) -> None:
        """An ending mark: play it on its pass, else skip to the ending for this pass, or
        past the end of the endings."""
        elems = self.elems
        n = len(elems)
        if self.pass_ in numbers:
            self.in_ending = True
            self.i += 1
            return
        j = self.i + 1
        found = stop = -1
        while j < n:
            ek = elems[j][0]
            if ek == _ENDING and self.pass_ in elems[j][1].numbers:
                found = j
                break
            if ek == _BAR and _is_stop(elems, j):
                stop = j
                break
            j += 1
        self.bc.barno += 1  # abc2midi counts a skipped ending as a bar
        if found >= 0:
            self.i = found + 1
            self.in_ending = True
            return
        self.in_ending = False
        if stop < 0:
            self.i = n
        elif elems[stop][1].value:
            self.i = stop
        else:
            self.i = stop + 1

    def measure_rest(self, bar_length, count: int) -> None:
        bc = self.bc
        self.open_ties = {}
        self.t += bar_length * count
        # abc2midi: Zn is n whole-bar rests with plain bar lines between them
        bc.acc += bar_length * bc.den
        if count > 1:
            if bc.full is not None and self.warn and bc.acc != bc.full and (self.pass_ == 2 or bc.barno != 0):
                bc.bad = True
            bc.barno += count - 1
            bc.acc = bar_length * bc.den

    def meter(self, meter) -> None:
        bc = self.bc
        if meter is None:
            bc.full = None
        else:
            bc.den = meter[1]
            bc.full = meter[0] * WHOLE
            bc.checked = True


def _perform(
    elems: list,
    t0,
    voice: int,
    out: list,
    bar_beats: list | None,
    rep,
    budget: list,
    in_part: bool = False,
    bc: _BarCheck | None = None,
    warn: bool = True,
):
    """Playback of one voice's elements from time t0 with abc2midi's repeat rules;
    appends [pitch, onset, duration, voice] lists to out; returns the end time.

    `in_part`: the elements are one part of a P: play order; there abc2midi repeats
    from the part's start or a |: only (a :| after a finished repeat, with no |:
    since, is not played as a repeat).

    `bc`: abc2midi's bar check, in played order (see `_check_bars`); `warn`:
    False for a part played again (abc2midi checks a part's first time only)."""
    if bc is None:
        bc = _BarCheck(None)
    pb = _Playback(elems, t0, voice, out, bar_beats, in_part, bc, warn)
    n = len(elems)
    steps = budget[0]
    while pb.i < n:
        steps -= 1
        if steps <= 0:
            rep("repeats expanded past the limit; the rest is not played")
            break
        kind, x = elems[pb.i]
        if kind == _GROUP:
            pb.group(x)
        elif kind == _BAR:
            if pb.bar(x):
                continue
        elif kind == _ENDING:
            pb.ending(x.numbers)
            continue
        elif kind == _MREST:
            pb.measure_rest(*x)
        elif kind == _METER:
            pb.meter(x)
        pb.i += 1
    budget[0] = steps
    return pb.t


def _arrange_parts(elems: list, order: list[str]) -> list[list]:
    """Cut a voice's elements at its P: markers and list the segments in play order
    (elements before the first marker play first)."""
    segs: dict[str, list] = {}
    intro: list = []
    cur = intro
    for e in elems:
        if e[0] == _PART:
            cur = segs.setdefault(e[1], [])
            cur.clear()
            continue
        cur.append(e)
    out = [intro] if intro else []
    for label in order:
        if label in segs:
            out.append(segs[label])
    return out


def _check_bars(checks: list[_BarCheck]) -> bool | None:
    """Decoded.bars_ok: True when abc2midi would print no "Bar N has X time units
    while the time signature has Y" warning for any voice, None when no meter is
    in force anywhere (M:none and no meter change)."""
    if not any(c.checked for c in checks):
        return None
    return not any(c.bad for c in checks)


def play(text: str, path: str = "") -> Decoded:
    """Play one ABC tune (see the module docstring).  Never raises on any str."""
    if not isinstance(text, str):
        text = str(text)
    cut = None
    if len(text) > MAX_TEXT_CHARS:
        cut = Problem(
            f"the tune is {len(text):,} characters long; only the first {MAX_TEXT_CHARS:,} are played",
            *position(text, MAX_TEXT_CHARS),
            path,
        )
        text = text[:MAX_TEXT_CHARS]
    try:
        decoded = _play(text, path)
        if cut is not None:
            decoded.repairs.insert(0, cut)
        return decoded
    except Exception as e:  # a bug must not take the sampler down; say what happened
        if debugging():
            raise
        return Decoded(
            piece=Piece(),
            text=text,
            repairs=[Problem(f"player error, nothing played: {type(e).__name__}: {e}", path=path)],
            bars_ok=None,
        )


class _Header:
    """What a tune's header says (`_read_header`)."""

    __slots__ = (
        "title",
        "meter",
        "unit",
        "tempo",
        "key",
        "key_text",
        "parts_order",
        "voice_names",
        "hornpipe",
        "body_start",
    )

    def __init__(self) -> None:
        self.title: str | None = None
        self.meter: tuple[int, int] | None = (4, 4)  # M: (4/4 when there is none), None for M:none
        self.unit: Fraction | None = None  # L:
        self.tempo: float | None = None  # Q: in quarter notes a minute
        self.key = Key()
        self.key_text = "C"
        self.parts_order: list[str] = []  # P: play order
        self.voice_names: list[str] = []  # V: voices named in the header
        self.hornpipe = False  # R:hornpipe
        self.body_start = 0  # the index of the music's first token


def _read_header(toks: list[Token], rep) -> _Header:
    """The header fields up to K: (or up to the first music when there is no K:)."""
    h = _Header()
    n = len(toks)
    meter_seen = False
    has_k = any(t.kind == "field" and t.name == "K" for t in toks)
    i = 0
    h.body_start = n
    x_seen = False
    while i < n:
        t = toks[i]
        k = t.kind
        if k == "field":
            name, v = t.name, t.value
            if name == "X":
                if x_seen:
                    rep("a second tune (X:) before the music ignored", t)
                    break
                x_seen = True
            elif name == "M":
                meter_seen = True
                h.meter = parse_meter(v)
                if h.meter is None and v.split("%", 1)[0].strip().lower() != "none":
                    rep(f"unknown meter {v.strip()!r}, played as 4/4", t)
                    h.meter = (4, 4)
            elif name == "K":
                h.key = parse_key(v)
                h.key_text = v.split("%", 1)[0].strip() or "C"
                if h.key.error:
                    rep(h.key.error + ("" if h.key.tonic else ", played as C major"), t)
                h.body_start = i + 1
                break
            else:
                _header_field(h, name, v, t, rep)
        elif k in ("newline", "space", "comment", "continuation"):
            pass
        elif not has_k:
            rep("no K: field before the music; played in C major", t)
            h.body_start = i
            break
        else:
            rep("text in the header ignored", t)
            while i < n and toks[i].kind != "newline":
                i += 1
            continue
        i += 1
    if h.unit is None:
        h.unit = default_unit(h.meter if meter_seen else (4, 4))
    return h


def _header_field(h: _Header, name: str, v: str, t: Token, rep) -> None:
    """A header field other than X: M: K:."""
    if name == "T":
        if h.title is None:
            h.title = v.strip()
    elif name == "L":
        u = parse_unit(v)
        if u is None:
            rep(f"unknown unit length {v.strip()!r} ignored", t)
        else:
            h.unit = u
    elif name == "Q":
        if h.tempo is None:
            h.tempo = parse_tempo(v)
    elif name == "P":
        h.parts_order = _parse_parts(v)
    elif name == "R":
        h.hornpipe = v.lstrip().startswith(("Hornpipe", "hornpipe"))
    elif name == "V":
        words = v.split("%", 1)[0].split()
        if words and words[0] not in h.voice_names:
            h.voice_names.append(words[0])


def _perform_voices(reader: _Reader, parts_order: list[str], meter, rep) -> tuple[list[list], list, list[_BarCheck]]:
    """Every voice played (the first in its P: part order): the notes as [pitch, onset,
    duration, voice] lists, the first voice's bar-line times and each voice's bar check."""
    raw: list[list] = []
    bar_beats: list = []
    budget = [MAX_EVENTS]
    checks: list[_BarCheck] = []
    for v in reader.order:
        if parts_order and reader.body_has_parts and v is reader.order[0]:
            segments = _arrange_parts(v.elems, parts_order)
        else:
            segments = [[e for e in v.elems if e[0] != _PART]] if reader.body_has_parts else [v.elems]
        t = _ZERO
        in_part = len(segments) > 1 or bool(parts_order and reader.body_has_parts)
        bc = _BarCheck(meter)
        checks.append(bc)
        played: set[int] = set()
        for seg in segments:
            t = _perform(
                seg,
                t,
                v.number,
                raw,
                bar_beats if v is reader.order[0] else None,
                rep,
                budget,
                in_part and v is reader.order[0],
                bc,
                id(seg) not in played,
            )
            played.add(id(seg))
    return raw, bar_beats, checks


def _play(text: str, path: str) -> Decoded:
    toks = tokenize(text)
    repairs: list[Problem] = []

    def rep(msg: str, t: Token | None = None) -> None:
        if len(repairs) < 200:
            repairs.append(Problem(msg, t.line if t else 0, t.column if t else 0, path))

    h = _read_header(toks, rep)
    meter = h.meter
    reader = _Reader(
        toks,
        h.body_start,
        h.key,
        h.unit,
        meter,
        h.voice_names,
        rep,
        h.tempo is not None,
        h.hornpipe,
        h.hornpipe and meter in ((2, 4), (4, 4)),
    )
    reader.run()
    tempo = reader.tempo if h.tempo is None else h.tempo
    raw, bar_beats, checks = _perform_voices(reader, h.parts_order, meter, rep)
    if not raw:
        rep("no notes to play")
    raw.sort(key=lambda r: (r[1], r[3], r[0]))
    notes = [
        Note(pitch=p, onset=float(o) / TPQ, duration=float(d) / TPQ, velocity=VELOCITY, voice=vn)
        for p, o, d, vn in raw
        if d > 0
    ]
    seen: set = set()
    beats = []
    for b in bar_beats:
        if b not in seen:
            seen.add(b)
            beats.append(float(b) / TPQ)
    piece = Piece(
        notes=notes,
        tempo=float(tempo) if tempo else 120.0,
        meter=meter,
        key=h.key_text,
        title=h.title,
        bar_beats=sorted(beats),
    )
    return Decoded(piece=piece, text=text, repairs=repairs, bars_ok=_check_bars(checks))
