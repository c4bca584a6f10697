"""The one shape of a scheme: everything musicrnn may ask of a scheme, each with a working default.

A *scheme* is one way of writing music as characters (``abc``; guitar tabs as
``rows`` or ``columns``; MIDI as ``roll`` or ``events``).  Each is one instance
of a `Scheme` subclass, registered under its name (`encoders.register`).
musicrnn asks a scheme what it can do through this class only: never by its
name, never by probing for attributes.  A scheme that has no use for a
capability keeps the default, which says so (None, an empty dict, the text
unchanged).

Adding a scheme: subclass `Scheme`, set `name`, `suffixes` and `seed`, write
`_encode_text` and `_decode`, and register an instance::

    class Drums(Scheme):
        name, suffixes, seed = "drums", (".drums",), "%drums"
        def _encode_text(self, text, path=""): ...
        def _decode(self, text, path=""): ...

    DRUMS = register(Drums())

The public methods wrap the subclass's hooks (names starting with ``_``):
`encode_text`, `encode_file` and `decode` check their options against the
declared `encode_options` / `decode_options` (an unknown one is a UsageError
naming the schemes that have it), and `decode` never raises on any text (the
safety net: a bug becomes a repair saying so, re-raised under MUSICRNN_DEBUG).

No module here imports torch.
"""

from __future__ import annotations

import copy
import math
import os
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from encoders.piece import Decoded, Piece, Problem, UsageError

__all__ = [
    "ENGRAVE_NOTES",
    "ENGRAVE_TAB",
    "HEADER_FIELDS",
    "BarsGrammar",
    "Continuation",
    "EncodeResult",
    "GrammarState",
    "Option",
    "Scheme",
    "debugging",
]

ENGRAVE_NOTES = "notes"
"""`Scheme.engraving`: sheet music engraved from the played notes (through MusicXML)."""
ENGRAVE_TAB = "tab"
"""`Scheme.engraving`: the piece's text is its own picture (a tab); no sheet music is made."""


def debugging() -> bool:
    """True when MUSICRNN_DEBUG is set to a yes.  The codecs promise never to raise on any text,
    so a bug in one is caught and reported as a problem ("internal error: ...");
    under MUSICRNN_DEBUG those safety nets re-raise instead, so a developer (and the
    fuzzer, tools/fuzz.py) sees the traceback.  Only a value meaning yes (1, true,
    yes, on) turns it on: MUSICRNN_DEBUG=0 or an empty value leaves it off."""
    return os.environ.get("MUSICRNN_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(slots=True)
class EncodeResult:
    """Normalized piece texts from one file, and the problems met (skipped pieces)."""

    pieces: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class GrammarState:
    """Validity-guided decoding: one piece's parse so far, advanced character by character.

    A grammar writes `feed` and `allowed`; `can_end` and `cadence` are optional
    refinements whose defaults say "no opinion"."""

    __slots__ = ()

    def feed(self, text: str) -> None:
        """Advance over characters (a seed, or one sampled character); never raises."""
        raise NotImplementedError(f"{type(self).__name__} must define feed")

    def allowed(self) -> str | None:
        """Characters that may come next and keep the piece playable; None = anything."""
        return None

    def can_end(self) -> bool | None:
        """Whether the piece may end here (a whole piece); None: this grammar does not say
        (the sampler then cuts a capped piece anywhere)."""
        return None

    def cadence(self) -> bool:
        """True while the piece is in a phrase's last bar (the sampler may sharpen there)."""
        return False

    def segment(self) -> int | None:
        """Which part of the piece is being written, for sampling bar by bar: 0 in the header,
        then one more for every bar closed; None: this grammar does not count bars."""
        return None

    def events(self) -> int | None:
        """How many notes, rests and chords the piece holds so far (the sampler compares bars by
        their log-likelihood per event); None: this grammar does not count them."""
        return None

    def monotone(self) -> int:
        """Bars in a row, up to the last one closed, that each repeat one pitch only (the
        sampler's bar ranking does not lengthen such a run: `MONOTONE_BARS`); 0: none, or this
        grammar does not say."""
        return 0

    def position(self) -> int:
        """Where the piece is after the characters fed so far, as a model with positions reads
        it beside each character (0 to the scheme's `positions` - 1; e.g. ABC's bar of the
        strain and of the tune).  Training runs the grammar over the corpus to say it, sampling
        asks the stream's grammar, so both read the same.  Default 0: no position."""
        return 0

    def copy(self) -> GrammarState:
        """An independent copy of this state (the sampler forks states when it chooses bars)."""
        return copy.deepcopy(self)


class BarsGrammar(GrammarState):
    """A scheme's grammar held to a length in bars: the piece may not end before its
    `bars`-th bar line, and right after that bar line (once the scheme's own grammar lets
    it end) only the end may come: a line break, then the blank line that ends a piece.

    A scheme counts its bar lines in `see(ch)` and `closed()`; everything else is the
    inner grammar's."""

    def __init__(self, inner: GrammarState, bars: int):
        if bars < 1:
            raise UsageError(f"--bars must be at least 1, not {bars}")
        self.inner, self.bars, self.last = inner, bars, ""

    def closed(self) -> int:
        """Bar lines written so far, one just written included."""
        raise NotImplementedError(f"{type(self).__name__} must define closed")

    def feed(self, text: str) -> None:
        for ch in text:
            before = self.closed()
            self.inner.feed(ch)
            self.see(ch)
            self.last = ch
            self.just_closed = self.closed() > before

    def see(self, ch: str) -> None:
        """Count bars: called with each character fed, after the inner grammar (`last` is
        still the character before it)."""

    just_closed = False
    """Whether the last character fed closed a bar."""

    def line_ends_here(self) -> bool:
        """Whether a line break may end the piece right after its last bar line even though
        the inner grammar cannot end yet (it ends the bar token: a tab's ``|``)."""
        return self.just_closed

    def allowed(self) -> str | None:
        inner = self.inner.allowed()
        done = self.closed() >= self.bars
        if done and (self.inner.can_end() or (self.line_ends_here() and "\n" in (inner or ""))):
            return "\n"  # the line ends with the bar line, then the piece
        if self.last == "\n" and inner is not None and self.closed() < self.bars:
            fewer = inner.replace("\n", "")  # a blank line would end the piece too soon
            return fewer or inner
        return inner

    def can_end(self) -> bool | None:
        return self.inner.can_end()

    def cadence(self) -> bool:
        return self.inner.cadence()

    def segment(self) -> int | None:
        return self.inner.segment()

    def events(self) -> int | None:
        return self.inner.events()

    def monotone(self) -> int:
        return self.inner.monotone()

    def position(self) -> int:
        return self.inner.position()

    def copy(self) -> BarsGrammar:
        """A copy: this wrapper's own state is plain values; the inner grammar copies itself."""
        new = copy.copy(self)
        new.inner = self.inner.copy()
        return new


HEADER_FIELDS = ("meter", "key", "unit", "tempo", "tuning", "capo")
"""The choices a piece's header may hold (`Scheme.header`), as `generate` names them."""


_YES = ("1", "true", "yes", "on")
_NO = ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class Option:
    """One option a scheme declares for encoding or decoding: enough for a command line to
    make a flag of it (``--keep-irregular``), and for the scheme to check a value.

    `type` is what the command line takes (bool, int, float or str); `parse`, when
    given, turns a given value (from the command line or from Python) into the value
    the scheme uses, raising UsageError that says what is allowed (e.g. a grid "8t" ->
    12); `choices` are the only values allowed for a str option."""

    name: str
    type: type
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    parse: Callable[[Any], Any] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def value(self, given: Any) -> Any:
        """The value to use for `given` (None: the default), checked; UsageError names the flag."""
        if given is None:
            return self.default
        if self.parse is not None:
            return self.parse(given)
        if self.choices:
            if str(given) not in self.choices:
                raise UsageError(f"{self.flag} must be one of {', '.join(self.choices)}, not {given!r}")
            return str(given)
        return self._typed(given)

    def _typed(self, given: Any) -> Any:
        if self.type is bool:
            if isinstance(given, bool):
                return given
            if isinstance(given, str) and given.strip().lower() in _YES + _NO:
                return given.strip().lower() in _YES
            raise UsageError(f"{self.flag} must be true or false, not {given!r}")
        if self.type in (int, float) and not isinstance(given, bool):
            value = _number(given, self.type)
            if value is not None:
                return value
            raise UsageError(
                f"{self.flag} must be {'a whole number' if self.type is int else 'a number'}, not {given!r}"
            )
        if self.type is str and isinstance(given, str):
            return given
        raise UsageError(f"{self.flag} must be a {self.type.__name__}, not {given!r}")


def _number(given: Any, kind: type) -> int | float | None:
    """`given` as a finite int or float (`kind`), from a number or its text; None when it is none."""
    if kind is int:
        if isinstance(given, int):
            return given
        if isinstance(given, float) and given.is_integer():
            return int(given)
        text = given.strip() if isinstance(given, str) else ""
        return int(text) if text.lstrip("+-").isdigit() else None
    try:
        value = float(given) if isinstance(given, (int, float, str)) else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


class Continuation(ABC):
    """A file's opening made into a seed a model goes on from (`Scheme.continuation`).

    The caller samples from `seed` (at most `length` new characters, with
    `grammar()` unless sampling freely), hands the text to `finish`, decodes it,
    moves the notes back by `shift` semitones and takes tempo, key and title from
    `piece`; the model's part starts at beat `beats`."""

    seed: str
    """What the model is primed with: the opening in the scheme, in characters the model knows."""
    piece: Piece
    """The whole file as read (its own tempo, key, title, programs)."""
    beats: float
    """Where the model takes over, in beats from the start."""
    shift: int
    """Semitones the opening was moved to fit the pitches the model knows (the output moves back)."""
    length: int
    """The most characters to sample after the seed."""

    @abstractmethod
    def grammar(self) -> GrammarState | None:
        """A fresh grammar state holding the piece to the asked length (None: none)."""

    @abstractmethod
    def finish(self, text: str) -> tuple[str, float]:
        """The sampled text (seed included) cut where the asked length ends, and how many
        bars were written after the seed."""

    def arrange(self, notes: list) -> list:
        """The continued piece's notes (moved back by `shift`) put where the file had them
        (its tracks, programs, velocities); default as they are."""
        return notes


class Scheme(ABC):
    """A way of writing music as characters; one instance per scheme, registered by name.

    What a scheme says about itself (class attributes):

    * ``name``: as given to ``--scheme`` and stored in checkpoints.
    * ``suffixes``: file endings read as text of this scheme, lower case (``(".abc",)``);
      the first is the one written.
    * ``binary_suffixes``: file endings read by `encode_file` as bytes (MIDI), not text.
    * ``seed``: how a piece starts, the default seed for sampling ("X:1" for ABC).
    * ``program``: the General MIDI program (0-127) its pieces play on when the
      decoder named none; None: the piece's own programs, else piano.
    * ``engraving``: how sheet music is made: `ENGRAVE_NOTES` (from the played
      notes), `ENGRAVE_TAB` (none: the text is the picture), or the name of an
      input format the engraver (verovio) reads, such as "abc" (from the text,
      falling back to the notes).
    * ``encode_options`` / ``decode_options``: the `Option`s `encode_text` /
      `encode_file` and `decode` take; a command line makes flags of them.
    * ``supports_continuation``: whether `continuation` can prime a model with a
      file's opening.
    * ``header_fields``: which of `HEADER_FIELDS` its pieces' header holds (`header`).

    What it does (methods; the defaults are working answers for a scheme without
    the capability):

    * `encode_text(text, path, **options)` -> `EncodeResult`: a file's text ->
      normalized piece texts, and the problems met.  InputError (naming the file)
      when nothing can be read at all.
    * `encode_file(path, **options)` -> `EncodeResult`: a file by its path (text
      files read with `encoders.read_text`; `binary_suffixes` by the scheme).
    * `reads(path)`: whether a file name is one this scheme encodes.
    * `decode(text, path, **options)` -> `Decoded`: one piece's text (from a file or
      a model) -> a playable Piece, its canonical text and the repairs made.  Never
      raises on any text; a bad option is a UsageError.
    * `check_options(options, kind)`: every declared option of `kind` ("encode" or
      "decode") with its value; UsageError for an unknown one.  `own_options` picks
      the ones this scheme declares (a run over files of several schemes).
    * `split(stream)` -> piece texts; `sniff(text)` -> whether a text is this scheme's.
    * `grammar(options)` -> a fresh `GrammarState` for validity-guided sampling, or
      None; `options` are the model's scheme options (what `corpus_options` gave).
    * `corpus_options(pieces)` -> dict kept with a model trained on those pieces
      (an iterable, read once, streaming; a stream text is split first).
    * `complete_seed(seed)`: a user's seed put in the form the model learned.
    * `augmenter(pieces, copies, seed)` -> a function giving each training piece
      `copies` variants (None: the scheme has no augmentation).
    * `body(text)`: the music without the header (novelty checks); `music_key(text)`:
      equal for two pieces with the same music (de-duplication); `label(text, n)`:
      the piece numbered n in a file of many.
    * `figures(text, header_only)` -> dict for the music table (meter, mode,
      tonic_pc, rhythm, written bars...), or None: the table uses the notes alone.
    * `continuation(path, ...)` -> `Continuation` (see `supports_continuation`).
    * `header(meter=, key=, ...)` -> how a piece with those choices starts (a seed);
      `titled(text, title)`: the piece with a title; `grammar_in_bars(bars, options)`:
      a grammar that ends the piece at its `bars`-th bar line (`BarsGrammar`), or None.

    A subclass writes `_encode_text(text, path, **options)` and `_decode(text, path,
    **options)`, which receive every declared option (defaults filled in), and may
    write `_encode_file` (binary files) and `_unreadable` (what the safety net
    returns)."""

    name: str = ""
    suffixes: tuple[str, ...] = ()
    binary_suffixes: tuple[str, ...] = ()
    seed: str = ""
    program: int | None = None
    engraving: str = ENGRAVE_NOTES
    encode_options: tuple[Option, ...] = ()
    decode_options: tuple[Option, ...] = ()
    supports_continuation: bool = False
    header_fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<scheme {self.name}>"

    # ------------------------------------------------------------ options

    def check_options(self, options: Mapping[str, Any], kind: str = "encode") -> dict:
        """Every declared option of `kind` ("encode" or "decode") with its value: the
        one in `options` (checked and converted) or its default.  UsageError for a name
        this scheme does not declare, naming the schemes that do."""
        declared = self._declared(kind)
        unknown = [name for name in options if name not in declared]
        if unknown:
            raise UsageError(self._unknown_option(unknown[0], kind))
        return {name: opt.value(options.get(name)) for name, opt in declared.items()}

    def own_options(self, options: Mapping[str, Any], kind: str = "encode") -> dict:
        """The options of `options` this scheme declares, checked as `check_options` does
        (the others left out): for a run over files of several schemes, where each
        file's scheme takes the options meant for it."""
        declared = self._declared(kind)
        return self.check_options({k: v for k, v in options.items() if k in declared}, kind)

    def _declared(self, kind: str) -> dict[str, Option]:
        if kind == "encode":
            return {o.name: o for o in self.encode_options}
        if kind == "decode":
            return {o.name: o for o in self.decode_options}
        raise ValueError(f"option kind must be 'encode' or 'decode', not {kind!r}")

    def _unknown_option(self, name: str, kind: str) -> str:
        from encoders import all_codecs

        flag = "--" + str(name).replace("_", "-")
        others = [s.name for s in all_codecs() if name in s._declared(kind)]
        if others:
            return f"{flag} is for the {', '.join(others)} scheme{'s' if len(others) > 1 else ''}, not {self.name}"
        mine = ", ".join(o.flag for o in self._declared(kind).values()) or "none"
        return f"the {self.name} scheme has no {kind} option {flag} (its {kind} options: {mine})"

    # ------------------------------------------------------------ encoding

    def encode_text(self, text: str, path: str = "", **options: Any) -> EncodeResult:
        """A file's text -> normalized piece texts and the problems met (see the class docstring)."""
        return self._encode_text(text, str(path), **self.check_options(options, "encode"))

    def encode_file(self, path: str | os.PathLike, **options: Any) -> EncodeResult:
        """A file -> normalized piece texts; InputError names the file when it cannot be read."""
        return self._encode_file(os.fspath(path), **self.check_options(options, "encode"))

    def reads(self, path: str | os.PathLike) -> bool:
        """Whether `path`'s name ends in one of the suffixes this scheme encodes."""
        return os.fspath(path).lower().endswith(self.suffixes + self.binary_suffixes)

    @abstractmethod
    def _encode_text(self, text: str, path: str, **options: Any) -> EncodeResult:
        """Write this: text -> EncodeResult; `options` hold every declared encode option."""

    def _encode_file(self, path: str, **options: Any) -> EncodeResult:
        """The file's text (`encoders.read_text`) through `_encode_text`; a scheme with
        `binary_suffixes` reads those files itself."""
        from encoders import read_text

        return self._encode_text(read_text(path), path, **options)

    # ------------------------------------------------------------ decoding

    def decode(self, text: str, path: str = "", **options: Any) -> Decoded:
        """One piece's text -> Decoded; never raises on any text (a bug in the decoder
        becomes a repair saying so, unless MUSICRNN_DEBUG); UsageError for a bad option."""
        checked = self.check_options(options, "decode")
        try:
            return self._decode(text, str(path), **checked)
        except Exception as e:  # tolerant by contract: generated text never crashes decoding
            if debugging():
                raise
            return self._unreadable(text, str(path), e, **checked)

    @abstractmethod
    def _decode(self, text: str, path: str, **options: Any) -> Decoded:
        """Write this: one piece's text -> Decoded, tolerant of broken text."""

    def _unreadable(self, text: str, path: str, error: Exception, **options: Any) -> Decoded:
        """What `decode` returns when `_decode` failed: an empty piece and the reason."""
        return Decoded(
            Piece(),
            text,
            [Problem(f"internal error, nothing played: {type(error).__name__}: {error}", path=path)],
            None,
        )

    # ------------------------------------------------------------ streams and texts

    def split(self, stream: str) -> list[str]:
        """The pieces of a stream or file: blocks between blank lines."""
        from encoders import split_stream

        return split_stream(stream)

    def sniff(self, text: str) -> bool:
        """Whether `text` looks like this scheme's: it starts with the seed."""
        return bool(self.seed) and text.lstrip().startswith(self.seed)

    def body(self, text: str) -> str:
        """The music of a piece text without its header (novelty checks); default the text."""
        return text

    def music_key(self, text: str) -> str:
        """Equal for two piece texts that hold the same music (de-duplication); default the text."""
        return text

    def label(self, text: str, number: int) -> str:
        """The piece numbered `number` in a file of many; default the text unchanged."""
        return text

    def figures(self, text: str, header_only: bool = False) -> dict | None:
        """The text's own figures for the music table (meter, mode, tonic_pc, rhythm,
        written bars...); None: the scheme has none (the table reads the notes)."""
        return None

    # ------------------------------------------------------------ models

    def grammar(self, options: dict | None = None) -> GrammarState | None:
        """A fresh grammar state for validity-guided sampling; None: the scheme has none."""
        return None

    def corpus_options(self, pieces: Iterable[str] | str) -> dict:
        """What a model trained on `pieces` keeps with it ("scheme_options"), read in one
        pass; a str is a stream text and is split first.  Default: nothing."""
        return {}

    def _pieces(self, pieces: Iterable[str] | str) -> Iterable[str]:
        """`pieces`, or the pieces of a stream text."""
        return self.split(pieces) if isinstance(pieces, str) else pieces

    def complete_seed(self, seed: str) -> str:
        """A user's seed in the form the model learned (UsageError when it cannot be); default as given."""
        return seed

    # ---- files of a piece of its own (tabs: the staff and Guitar Pro), and its own engraving

    piece_files: tuple[str, ...] = ()
    """File kinds (suffixes) a piece of this scheme is written as from its text, one file each
    (`piece_file`); none by default (its pieces are written as music: MIDI, audio ...)."""

    def piece_file(self, text: str, suffix: str, title: str = "", source: str = "") -> tuple[bytes, list[Problem]]:
        """The bytes of a `suffix` file (one of `piece_files`) of a piece's text, and the repairs
        made to read it."""
        raise UsageError(f"a {self.name} piece is not written as {suffix or '(none)'} (it has no file of its own)")

    def engrave_mei(self, text: str, title: str = "") -> str | None:
        """A piece's text as MEI for verovio, for a scheme engraved its own way (tabs: a tab
        staff); None: it is engraved from its notes (`engraving`)."""
        return None

    # ---- a piece's text, bar by bar (continuing, varying and moving a piece: the studio)

    def bar_ends(self, text: str) -> list[int]:
        """Offsets in a piece's `text` just after each bar (its closing bar line), in order.
        Default: a header line, then one bar a line (roll and events write them so)."""
        ends, at = [], text.find("\n") + 1
        if at == 0:
            return []
        for line in text[at:].split("\n"):
            at += len(line) + 1
            if line.strip():
                ends.append(at - 1)
        return ends

    def opening(self, text: str) -> str:
        """The header of a piece's `text`, alone: a seed for writing its music anew.
        Default: the first line."""
        return text.split("\n", 1)[0] + "\n"

    bar_line_chars: str = ""
    """The characters its bar lines are written with (ABC ``|:][``); "" for a scheme written
    one bar a line (roll, events)."""

    def open_end(self, text: str) -> str:
        """A piece's `text` without its ending, for a model to write on from: without the
        final bar line (`bar_line_chars`), or, one bar a line, its lines with the last ended."""
        text = text.rstrip()
        if not self.bar_line_chars:
            return text + "\n"
        ends = self.bar_ends(text)
        if ends and ends[-1] == len(text):
            text = text.rstrip(self.bar_line_chars).rstrip()
        return text

    bar_candidates: int = 4
    """Bars sampled for every bar written, where the grammar counts bars (`GrammarState.segment`),
    the one the model finds likeliest kept: `generate`'s default (`--bar-candidates`).  With the
    folk model 4 took tunes ending on the tonic from 48% to 62-68% (docs/models.md)."""

    bar_recall: tuple[int, ...] = (8,)
    """Bars back whose copy joins the candidates of every bar (the model keeps it when it finds
    it likelier than the bars it sampled): tunes come back as the tradition's do (docs/models.md)."""

    positions: int = 0
    """How many positions its grammar tells (`GrammarState.position`): a model trained with
    `--bar-positions` reads them beside each character.  0: its grammar tells none."""

    cadence_temperature: float = 1.0
    """The temperature's factor in a phrase's last bar (`GrammarState.cadence`): `generate`'s
    default (`--cadence-temperature`).  Lower-entropy sampling where tunes cadence, from the
    model's own distribution (ABC: 0.7; docs/models.md)."""

    length_chars: str = ""
    """The characters that write how long a note is (ABC's ``2``, ``3/2``, ``>``): bar-by-bar
    sampling writes them as sampled but leaves their log-likelihood out when it ranks candidate
    bars (unless asked to rank lengths, `--rank-lengths`), so ranking chooses pitches, cadences
    and form, and the rhythm stays the model's own.  "" where no character is a note length
    alone (a tab's digits are frets)."""

    transposes: bool = False
    """Whether `transpose` can move this scheme's pieces."""

    def transpose(self, text: str, semitones: int) -> str | None:
        """A piece's `text` moved by `semitones`, spelled in its new key; None where it cannot be
        moved faithfully.  Default: this scheme cannot move pieces (see `transposes`)."""
        return None

    def to_home(self, seed: str, options: dict | None) -> tuple[str, int | None]:
        """For a model trained with every piece moved to one home key (its `options` say so):
        the `seed` moved home, and the semitones that move its pieces back to the seed's key
        (None: the seed names no key, so `from_home` draws one per piece).  Default: the seed
        as it is, and 0 (nothing to move back)."""
        return seed, 0

    def from_home(self, text: str, back: int | None, options: dict | None, rng: random.Random) -> str:
        """A piece a model at home wrote, moved `back` semitones (see `to_home`), or for None
        to a key drawn with `rng` from its corpus's keys of the piece's mode.  Default: as it is."""
        return text

    def at_home(self, pieces: Iterable[str], options: dict | None) -> tuple[Callable[[str], str], dict] | None:
        """Fine-tuning a model trained at home (`options`, see `to_home`) on `pieces`: a function
        that moves a piece home, and the model's new "home" option (the keys of `pieces`).
        None: the model is not at home (the default)."""
        return None

    def augmenter(self, pieces: Iterable[str], copies: int, seed: int) -> Callable[[str], list[str]] | None:
        """For training: a function giving each piece text `copies` variants, drawn with
        random seed `seed` from what `pieces` hold; None: no augmentation."""
        return None

    def continuation(
        self,
        path: str,
        *,
        options: dict | None = None,
        knows: Callable[[str], bool] = lambda s: True,
        bars_before: float | None = None,
        seconds: float | None = None,
        bars: int = 8,
        track: int | None = None,
        transpose: bool = False,
    ) -> Continuation:
        """The opening of the file `path` (`bars_before` bars or `seconds` seconds) as a
        seed to go on for `bars` bars, in characters the model `knows` (a function of a
        text: True when the model can write every character), fitted to the model's
        scheme `options`, moved to the pitches it knows with `transpose`.  A scheme
        without `supports_continuation` raises UsageError."""
        from encoders import all_codecs

        able = [s.name for s in all_codecs() if s.supports_continuation]
        raise UsageError(
            f"continuing a file needs a model of a MIDI scheme ({', '.join(able)}); this one writes {self.name}"
        )

    # ------------------------------------------------------------ asking in music's terms

    def header(
        self,
        *,
        meter: str | None = None,
        key: str | None = None,
        unit: str | None = None,
        tempo: float | None = None,
        tuning: str | None = None,
        capo: int | None = None,
        options: dict | None = None,
    ) -> str | None:
        """How a piece with these choices starts, its header in the scheme's order: a seed
        the model goes on from (music may follow it).  None when no choice is given.
        `options` are the model's scheme options (what its corpus had): a choice outside
        them, one this scheme has no place for, or a bad value is a UsageError naming the
        flag (and listing what the model knows)."""
        given = {
            name: value
            for name, value in zip(HEADER_FIELDS, (meter, key, unit, tempo, tuning, capo))
            if value is not None
        }
        if not given:
            return None
        foreign = [name for name in given if name not in self.header_fields]
        if foreign:
            flags = ", ".join("--" + name for name in foreign)
            mine = ", ".join("--" + name for name in self.header_fields) or "none of them"
            raise UsageError(f"{flags}: {self.name} pieces have no place for it (their header takes {mine})")
        return self._header(given, options or {})

    def _header(self, given: dict[str, Any], options: dict) -> str:
        """Write this with `header_fields`: the header text for the choices `given`."""
        raise UsageError(f"the {self.name} scheme cannot write a header from choices")

    later_fields: tuple[str, ...] = ()
    """Header choices (of `header_fields`) a piece written without them can be given after
    (`apply_later`), for a model whose corpus never had them (a capo: the same shapes, played
    higher)."""

    def apply_later(self, text: str, choices: dict[str, Any]) -> str:
        """A piece written without the `later_fields` `choices`, given them.  Default: as it is."""
        return text

    def titled(self, text: str, title: str) -> str:
        """A piece's text with `title` in it where the scheme keeps one; default unchanged
        (the title then names the music files only)."""
        return text

    def grammar_in_bars(self, bars: int, options: dict | None = None) -> GrammarState | None:
        """A grammar (see `grammar`) that ends the piece at its `bars`-th bar line
        (a `BarsGrammar`); None: this scheme cannot count bars."""
        return None
