"""The ``roll`` and ``events`` schemes: MIDI files in (`reader`), the text forms of
`roll` and `events` out and back, what they share (`grid`), validity-guided sampling
(`grammar`, roll only) and a song's opening as a seed (`opening`)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from encoders import EncodeResult, GrammarState, register
from encoders.midi.events import decode_events, piece_to_events
from encoders.midi.grid import DEFAULT_GRID, corpus_options, encode_stream_text, parse_grid, parse_header
from encoders.midi.reader import read_piece
from encoders.midi.roll import decode_roll, piece_to_roll
from encoders.piece import Decoded, Piece, Problem, UsageError
from encoders.scheme import Continuation, Option, Scheme

__all__ = ["EVENTS", "EventsScheme", "GridScheme", "ROLL", "RollScheme"]

GRID_OPTION = Option(
    "grid",
    str,
    DEFAULT_GRID,
    "MIDI: steps per whole note, 16 (default), 8, 32, 12 or 8t (eighth triplets), 24 or 16t (sixteenth triplets)",
    parse=parse_grid,
)
TRACK_OPTION = Option(
    "track",
    int,
    None,
    "MIDI: only this track (counted from 1 among the tracks with notes); default: all tracks merged, drums dropped",
)


class GridScheme(Scheme):
    """What ``roll`` and ``events`` share: MIDI files in (quantized to the `grid`
    option, one part with `track`), the header line, pieces split by blank lines,
    de-duplication by meter, grid and music, continuing a song from its opening.
    A subclass names its scheme and writes `_piece_text` and `_decode`."""

    binary_suffixes = (".mid", ".midi")
    """Files read as MIDI, not as text."""
    encode_options = (GRID_OPTION, TRACK_OPTION)
    supports_continuation = True

    @property
    def seed(self) -> str:
        return f"%{self.name}"

    @abstractmethod
    def _piece_text(self, piece: Piece, path: str, problems: list[Problem], **options: Any) -> str:
        """A Piece read from MIDI as this scheme's text (InputError when no note is left)."""

    def _encode_file(
        self, path: str, grid: int = DEFAULT_GRID, track: int | None = None, **options: Any
    ) -> EncodeResult:
        """A MIDI file -> one piece (InputError naming the file when it cannot be read);
        a text file of this scheme -> its canonical pieces."""
        if not path.lower().endswith(self.binary_suffixes):
            return super()._encode_file(path, grid=grid, track=track, **options)
        problems: list[Problem] = []
        piece = read_piece(path, track=track)
        return EncodeResult([self._piece_text(piece, path, problems, grid=grid, **options)], problems)

    def _encode_text(self, text: str, path: str, **options: Any) -> EncodeResult:
        """Scheme text (e.g. a .roll file) -> canonical pieces; a piece needing repair is
        skipped and reported.  The MIDI options do not apply: the text states its grid."""
        return encode_stream_text(text, path, self.decode)

    def corpus_options(self, pieces: Iterable[str] | str) -> dict:
        """The pitches and grid of the training pieces, kept with the model (see `grid.corpus_options`)."""
        return corpus_options(self._pieces(pieces))

    def body(self, text: str) -> str:
        """Everything after the header line."""
        return text.split("\n", 1)[1] if "\n" in text else ""

    def music_key(self, text: str) -> str:
        header, _ = parse_header(text.split("\n", 1)[0], self.name)
        return f"{header.meter} {header.grid}\n{self.body(text)}"

    def bars_grammar(self, bars: int, options: dict | None = None, keep: Any = None) -> GrammarState | None:
        """A grammar holding a piece to at least `bars` bar lines, and what it keeps of its seed
        (`keep`, an `encoders.midi.grammar.Keep`); None: the scheme has no grammar."""
        return None

    def augmenter(self, pieces: Iterable[str], copies: int, seed: int) -> Callable[[str], list[str]]:
        """For training: each piece in `copies` other keys, -5..+6 semitones (see `encoders.midi.augment`)."""
        from encoders.midi.augment import augmenter

        return augmenter(copies, seed)

    header_fields = ("tempo", "meter", "key")

    def _header(self, given: dict[str, Any], options: dict) -> str:
        """The start of the header line (see `encoders.midi.asking`), checked by the grammar."""
        from encoders.midi.asking import header_text

        text = header_text(self.name, **given)
        _, problems = parse_header(text + f"g={options.get('grid', DEFAULT_GRID)}", self.name)
        check = self.grammar(options)
        if check is not None:
            check.feed(text)
            problems += check.problems
        if problems:
            raise UsageError(f"the model cannot write {text.strip()!r}: {problems[0]}")
        return text

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
        """A MIDI file's opening as a seed (see `encoders.midi.opening`)."""
        from encoders.midi.opening import MidiContinuation

        return MidiContinuation.of(
            self,
            path,
            options=options or {},
            knows=knows,
            bars_before=bars_before,
            seconds=seconds,
            bars=bars,
            track=track,
            transpose=transpose,
        )


class RollScheme(GridScheme):
    """The ``roll`` scheme: a quantized piano roll, one line per bar (see `encoders.midi.roll`)."""

    name = "roll"
    suffixes = (".roll", ".mid", ".midi")

    def _piece_text(self, piece: Piece, path: str, problems: list[Problem], grid: int = DEFAULT_GRID) -> str:
        return piece_to_roll(piece, grid, path, problems)

    def _decode(self, text: str, path: str) -> Decoded:
        return decode_roll(text, path)

    def grammar(self, options: dict | None = None) -> GrammarState | None:
        """The roll grammar; a header only with the tempos and meters of the model's corpus (`options`)."""
        from encoders.midi.grammar import RollGrammar

        return RollGrammar(options=options)

    def bars_grammar(self, bars: int, options: dict | None = None, keep: Any = None) -> GrammarState | None:
        from encoders.midi.grammar import RollGrammar

        return RollGrammar(min_bars=bars, options=options, keep=keep)

    def grammar_in_bars(self, bars: int, options: dict | None = None) -> GrammarState:
        """The grammar, ending the piece at its `bars`-th bar (`encoders.midi.asking`)."""
        from encoders.midi.asking import RollBars

        return RollBars(self.bars_grammar(bars, options), bars)


class EventsScheme(GridScheme):
    """The ``events`` scheme: note-on, note-off, time-shift and velocity tokens (see `encoders.midi.events`)."""

    name = "events"
    suffixes = (".events",)
    encode_options = GridScheme.encode_options + (
        Option("velocity", bool, True, "events: keep note velocities (to 1/16 of their range)"),
    )

    def _piece_text(
        self, piece: Piece, path: str, problems: list[Problem], grid: int = DEFAULT_GRID, velocity: bool = True
    ) -> str:
        return piece_to_events(piece, grid, velocity, path, problems)

    def _decode(self, text: str, path: str) -> Decoded:
        return decode_events(text, path)


ROLL = register(RollScheme())
EVENTS = register(EventsScheme())
