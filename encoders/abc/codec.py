"""The ``abc`` scheme (the encoded form is described in `encoders.abc`): encoding through
`normalize`, decoding through `player`, sampling through `grammar`, and what the
music table, seeds and training ask of ABC (`figures`, `seed`, `transpose`)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable

from encoders import EncodeResult, GrammarState, register, split_stream
from encoders.piece import Decoded, UsageError
from encoders.scheme import BarsGrammar, Option, Scheme

__all__ = ["AbcScheme", "CODEC"]

TRANSPOSE_CHOICES = ("none", "C", "all")


class AbcScheme(Scheme):
    """The ``abc`` scheme: folk tunes in normalized ABC, played on the fiddle, engraved from the ABC."""

    name = "abc"
    suffixes = (".abc",)
    seed = "X:1"
    program = 40
    """General MIDI 40, the violin: folk ABC plays on the fiddle."""
    engraving = "abc"
    cadence_temperature = 0.7
    """Strains close on 8 bars more often (8-bar lengths 40% -> 44.5%, 800 tunes, lengths
    unranked) and intervals stay the tradition's (overlap 0.95 -> 0.96)."""
    bar_candidates = 3
    """Three bars sampled for each bar written, the likeliest kept.  With the bundled model
    (bar positions, averaged checkpoints) 4 keeps too few leaps (interval overlap 0.944-0.946
    on two 1,600-tune tables) and 3 keeps the tradition's (0.954-0.960), the form the same
    (8-bar lengths 56-57%; docs/models.md)."""
    positions = 128
    """The grammar's bar of the strain (16) and of the tune in fours (8): `AbcGrammar.position`."""
    length_chars = "0123456789/<>"
    """Note lengths (``A3/2``, broken rhythm ``A>B``); digits elsewhere in a tune's body (``(3``,
    ``|1``) are left out of ranking too, which costs nothing: they follow from the bars."""
    header_fields = ("meter", "key", "unit", "tempo")
    encode_options = (
        Option("titles", bool, False, "keep tune titles (T:)"),
        Option(
            "transpose", str, "none", "none | C (every tune to tonic C) | all (all 12 keys)", choices=TRANSPOSE_CHOICES
        ),
        Option("keep_irregular", bool, False, "keep tunes whose bars do not fit the meter"),
    )

    def _encode_text(
        self, text: str, path: str, titles: bool = False, transpose: str = "none", keep_irregular: bool = False
    ) -> EncodeResult:
        from encoders.abc.normalize import normalize

        return normalize(text, path=path, titles=titles, transpose=transpose, keep_irregular=keep_irregular)

    def _decode(self, text: str, path: str) -> Decoded:
        from encoders.abc.player import play

        return play(text, path=path)

    def split(self, stream: str) -> list[str]:
        """Tunes of a stream or of any ABC file: a tune starts at an X: line and ends
        at a blank line (as in the standard and abc2midi); text before the first X:
        (a file header, free text) is not a tune.  Text with no X: at all is one tune."""
        blocks = split_stream(stream)
        if not any(re.match(r"X:", line) for b in blocks for line in b.splitlines()):
            return blocks
        tunes: list[str] = []
        for block in blocks:
            current: list[str] | None = None
            for line in block.splitlines(keepends=True):
                if line.startswith("X:"):
                    if current:
                        tunes.append("".join(current))
                    current = [line]
                elif current is not None:
                    current.append(line)
            if current:
                tunes.append("".join(current))
        return [t if t.endswith("\n") else t + "\n" for t in tunes]

    def sniff(self, text: str) -> bool:
        return bool(re.match(r"\s*(%[^\n]*\n\s*)*X:", text))

    def grammar(self, options: dict | None = None) -> GrammarState | None:
        """Validity-guided decoding; `options` (the model's scheme options, see
        `corpus_options`) hold the header to the meters and R: values its corpus has."""
        from encoders.abc.grammar import AbcGrammar

        options = options or {}
        return AbcGrammar(meters=options.get("meters"), rhythms=options.get("rhythms"))

    def corpus_options(self, pieces: Iterable[str] | str) -> dict:
        """What a model trained on `pieces` keeps with it (its "scheme_options"): the M: and
        R: values of the tunes, so its tunes use only headers the corpus has."""
        from encoders.abc.figures import figures

        meters: set[str] = set()
        rhythms: set[str] = set()
        modes: set[str] = set()
        for tune in self._pieces(pieces):
            head = figures(tune, header_only=True)
            meters.add(head["meter"])
            if head["rhythm"]:
                rhythms.add(head["rhythm"])
            if head["mode"]:
                modes.add(head["mode"])
        return {"meters": sorted(meters), "rhythms": sorted(rhythms), "modes": sorted(modes)}

    def _header(self, given: dict, options: dict) -> str:
        """The header of `given` choices (see `seed.header_text`), held to the meters and
        modes of the model's corpus, and checked by the grammar the model samples with."""
        from encoders.abc.seed import header_text

        text = header_text(**given, meters=options.get("meters"), modes=options.get("modes"))
        check = self.grammar(options)
        check.feed(text)
        if check.problems:
            raise UsageError(f"the model cannot write this header ({text.strip()!r}): {check.problems[0]}")
        return text

    def titled(self, text: str, title: str) -> str:
        """The tune with a T: line after its X: line (one line of text: line breaks become spaces)."""
        line = " ".join(title.split())[:200]
        if not line:
            return text
        if re.match(r"X:[^\n]*\n", text):
            return re.sub(r"^(X:[^\n]*\n)(T:[^\n]*\n)?", lambda m: f"{m.group(1)}T:{line}\n", text, count=1)
        return f"T:{line}\n{text}"

    def grammar_in_bars(self, bars: int, options: dict | None = None) -> GrammarState:
        """The grammar, ending the tune at its `bars`-th bar line (see `BarsGrammar`)."""
        from encoders.abc.grammar import MAX_BARS, MIN_BARS, AbcGrammar

        if not 1 <= bars <= MAX_BARS:
            raise UsageError(f"--bars must be from 1 to {MAX_BARS} for an ABC tune, not {bars}")
        options = options or {}
        inner = AbcGrammar(min(MIN_BARS, bars), meters=options.get("meters"), rhythms=options.get("rhythms"))
        return _AbcBars(inner, bars)

    def body(self, text: str) -> str:
        """The music lines: everything after the first K: header line."""
        m = re.search(r"^K:[^\n]*\n", text, flags=re.M)
        return text[m.end() :] if m else text

    def music_key(self, text: str) -> str:
        """What makes two tunes the same music (for de-duplication): no X:, T:, Q:, R:."""
        from encoders.abc.corpus import music_key

        return music_key(text)

    def figures(self, text: str, header_only: bool = False) -> dict:
        """The header's choices and the written form, for the music table (see `figures`)."""
        from encoders.abc.figures import figures

        return figures(text, header_only)

    def complete_seed(self, seed: str) -> str:
        """The seed's header in the stream's order, with X: and L: filled in (see `seed`)."""
        from encoders.abc.seed import complete_seed

        return complete_seed(seed)

    def bar_ends(self, text: str) -> list[int]:
        """Offsets just after each bar line that closes a bar with music in it."""
        from encoders.abc.tokens import tokenize

        starts = [0]
        for line in text.split("\n"):
            starts.append(starts[-1] + len(line) + 1)
        ends, music = [], False
        for tok in tokenize(text):
            if tok.kind in ("note", "rest", "measure_rest", "chord_start"):
                music = True
            elif tok.kind == "bar" and music:
                ends.append(starts[tok.line - 1] + tok.column - 1 + len(tok.text))
                music = False
        return ends

    def opening(self, text: str) -> str:
        """The header through its K: line (X:1 when there is none)."""
        lines = text.split("\n")
        k = next((i for i, line in enumerate(lines) if line.startswith("K:")), None)
        return "\n".join(lines[: k + 1]) + "\n" if k is not None else "X:1"

    bar_line_chars = "|:]["  # | || |] [| |: :| :: (open_end takes the final one off)

    transposes = True

    def transpose(self, text: str, semitones: int) -> str | None:
        """The tune in the key `semitones` away (encoders.abc.transpose)."""
        from encoders.abc.transpose import transpose

        return transpose(text, semitones)

    def to_home(self, seed: str, options: dict | None) -> tuple[str, int | None]:
        """The seed moved to tonic C for a model trained at home (options "home", see
        `encoders.abc.transpose.home_of`), and the semitones back to the seed's key; None when
        the seed has no K: (each tune's key is drawn by `from_home`).  A seed that cannot be
        moved there and back to the same text (K:none, a key with its own accidentals) is
        given as it is."""
        from encoders.abc.transpose import home_of, semitones_home, transpose

        if home_of(options) is None:
            return seed, 0
        m = re.search(r"^K:([^\n%]*)", seed, flags=re.M)
        if m is None:
            return seed, None
        home = semitones_home(m.group(1).strip())
        for shift in (home, home + 12 if home < 0 else home - 12) if home else ():
            moved = transpose(seed, shift)  # either way round: F# down to C comes back as Gb
            if moved is not None and transpose(moved, -shift) == seed:
                return moved, -shift
        return seed, 0

    def from_home(self, text: str, back: int | None, options: dict | None, rng: random.Random) -> str:
        """A tune a model at home wrote, moved `back` semitones, or (None) to a key of its
        mode drawn in proportion to the corpus's keys (`encoders.abc.transpose.home_keys`)."""
        from encoders.abc.figures import figures
        from encoders.abc.transpose import draw_away, home_of, transpose

        keys = home_of(options)
        if keys is None or back == 0:
            return text
        if back is None:
            head = figures(text, header_only=True)
            if head["tonic_pc"] != 0:  # not at home (K:none, or a seed's own key): as written
                return text
            back = draw_away(head["mode"], keys, rng)
        moved = transpose(text, back) if back else None
        return moved if moved is not None else text

    def at_home(self, pieces: Iterable[str], options: dict | None) -> tuple[Callable[[str], str], dict] | None:
        """Fine-tuning a model at home: each tune moved to tonic C (`to_home`; a tune that
        cannot be moved there and back stays as it is), and the keys of `pieces` by mode."""
        from encoders.abc.transpose import HOME_TONIC, home_keys, home_of

        try:
            base_keys = home_of(options)
        except ValueError as e:
            raise UsageError(f"the base model's scheme options: {e}") from None
        if base_keys is None:
            return None
        option = {"tonic": HOME_TONIC, "keys": home_keys(pieces) or base_keys}
        return (lambda text: self.to_home(text, options)[0]), option

    def augmenter(self, pieces: Iterable[str], copies: int, seed: int) -> Callable[[str], list[str]]:
        """For training: a function giving each tune in `copies` other keys, the keys drawn
        from those the tunes of `pieces` are in (see `transpose`)."""
        from encoders.abc.transpose import keys_for, transpositions

        key_counts = keys_for(pieces)
        rng = random.Random(seed)
        return lambda text: transpositions(text, copies, key_counts, rng)

    def label(self, text: str, number: int) -> str:
        """The tune with X:`number` (its X: line replaced, or one put first)."""
        if re.match(r"X:[^\n]*", text):
            return re.sub(r"^X:[^\n]*", f"X:{number}", text, count=1)
        return f"X:{number}\n{text}"


class _AbcBars(BarsGrammar):
    """An ABC tune held to a length in bars.  A bar is counted at the bar line that closes
    it (``|``, ``||``, ``:|`` ...) once it has music, a pickup included; where the last bar
    line is written, only the bar lines after which the tune may end are allowed when there
    are any (``:|`` where a repeat is open), looking one or two characters ahead."""

    _MUSIC = frozenset("ABCDEFGabcdefgz")

    def __init__(self, inner, bars: int):
        super().__init__(inner, bars)
        self.count, self.music, self.body, self.line, self.quoted = 0, False, False, "", False

    def see(self, ch: str) -> None:
        if not self.body:
            self.line = "" if ch == "\n" else self.line + ch
            self.body = ch == "\n" and self._was_key
            self._was_key = self.line.startswith("K:")
        elif ch == '"':
            self.quoted = not self.quoted
        elif self.quoted:
            return
        elif ch in "|:" and self.music:
            self.count, self.music = self.count + 1, False
        elif ch in self._MUSIC:
            self.music = True

    _was_key = False

    def closed(self) -> int:
        return self.count

    def line_ends_here(self) -> bool:
        return False  # a tune that cannot end yet (an open repeat) goes on to where it can

    def allowed(self) -> str | None:
        base = super().allowed()
        if base is None or base == "\n" or not self.body:
            return base
        closing = self.closed() == self.bars - 1 and self.music
        if not closing and not (self.closed() >= self.bars and not self.inner.can_end()):
            return base
        marks = [c for c in base if c in "|]:"]
        ending = [c for c in marks if self._ends_after(c)]
        return "".join(c for c in base if c not in marks or c in ending) if ending else base

    def _ends_after(self, ch: str) -> bool:
        """Whether the tune may end after `ch`, or after `ch` and one more bar-line character."""
        after = self.inner.copy()
        after.feed(ch)
        if after.can_end():
            return True
        for more in (after.allowed() or "").replace(" ", ""):
            if more in "|]:":
                further = after.copy()
                further.feed(more)
                if further.can_end():
                    return True
        return False


CODEC = register(AbcScheme())
