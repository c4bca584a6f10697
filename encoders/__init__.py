"""Codecs: music files <-> character streams, one module per format, registered by scheme name.

A *scheme* is one way of writing music as characters (``abc``; guitar tabs as
``rows`` or ``columns``; later ``roll``, ``events`` for MIDI).  Its `Codec` knows three things:

* ``encode_text``: a file's text -> normalized piece texts (plus problems found);
* ``decode``: one piece's text (from a file or a model) -> a playable `Piece`,
  tolerant of broken text, with a report of what it repaired;
* ``grammar`` (optional): an incremental checker that, given the text of a piece
  so far, says which next characters keep the piece playable.  The sampler in
  musicrnn turns that into a mask; the codec knows nothing of torch.

A *stream* is the pieces of a corpus joined into one text: every piece ends
with a newline and pieces are separated by one blank line, so a stream reads as
an ordinary file of that format.  No module in this package imports torch.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Iterable, Protocol

from encoders.piece import Decoded, InputError, Note, Piece, Problem, UsageError

__all__ = [
    "CharGrammar", "Codec", "Decoded", "EncodeResult", "GrammarState", "InputError", "Note", "Piece", "UsageError",
    "Problem", "all_codecs", "codec_for_path", "get", "not_a_file", "register", "sniff", "read_text",
]

PIECE_SEPARATOR = "\n"
"""Between two pieces (each already ending in a newline): makes the blank line."""

END_OF_PIECE = "\n\n"
"""A blank line ends a piece in a stream; the sampler stops a stream on it."""


@dataclass(slots=True)
class EncodeResult:
    """Normalized piece texts from one file, and the problems met (skipped pieces)."""

    pieces: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class GrammarState(Protocol):
    """Validity-guided decoding: one piece's parse so far, advanced character by character."""

    def feed(self, text: str) -> None:
        """Advance over characters (a seed, or one sampled character)."""

    def allowed(self) -> str | None:
        """Characters that may come next and keep the piece playable; None = anything."""


class CharGrammar:
    """Shared driver of the codecs' grammars: `feed` walks the text one character at a
    time, checks it against `allowed()`, records what was outside the grammar in
    `problems` ("line:col: ...") and lets the subclass recover; it never raises.

    A subclass keeps `_line`, `_col`, `_cache`, `_done` and `problems`, and writes
    `_allowed()` (the next characters), `_step(ch)` (advance), `_recover(ch)` (after a
    character outside the grammar) and `_reset()` (a new piece after `done`)."""

    __slots__ = ()

    def feed(self, text: str) -> None:
        """Advance over `text`; characters outside the grammar are recorded in
        `problems` and switch to recovery, never raise."""
        for ch in text:
            if self._done:
                self._reset()
            allowed = self.allowed()
            if allowed is not None and ch not in allowed:
                self.problems.append(
                    f"{self._line}:{self._col + 1}: {ch!r} not allowed here"
                    f" (allowed: {allowed[:40]!r})")
                self._recover(ch)
            else:
                self._step(ch)
            self._cache = None
            if ch == "\n":
                self._line += 1
                self._col = 0
            else:
                self._col += 1


class Codec(Protocol):
    name: str
    """Scheme name, as given to ``--scheme`` and stored in checkpoints."""
    suffixes: tuple[str, ...]
    """File name endings this codec reads, lower case, e.g. ('.abc',)."""
    seed: str
    """How a piece of this scheme starts: the default seed for sampling ("X:1" for ABC)."""

    def encode_text(self, text: str, path: str = "", **options) -> EncodeResult: ...

    def decode(self, text: str, path: str = "") -> Decoded: ...

    def split(self, stream: str) -> list[str]: ...

    def sniff(self, text: str) -> bool: ...

    def grammar(self, options: dict | None = None) -> GrammarState | None:
        """A fresh state for validity-guided decoding (None: the scheme has none);
        `options` are the model's scheme options (what `corpus_options` kept)."""

    def body(self, text: str) -> str:
        """The music of a piece text without its header, for novelty checks."""
        ...

    def music_key(self, text: str) -> str:
        """Optional: a key equal for two piece texts that hold the same music (de-duplication)."""
        ...

    def label(self, text: str, number: int) -> str:
        """The piece text numbered `number` (e.g. ABC's X: field), for files of many pieces."""
        ...

    # Optional, for codecs that read binary files (MIDI):
    #   binary_suffixes: tuple[str, ...]   file endings read by encode_file, not as text
    #   def encode_file(self, path: str, **options) -> EncodeResult   (InputError names the file)
    # Optional, for the music table and for seeds (ABC):
    #   def figures(self, text, header_only=False) -> dict   meter, mode, tonic_pc, rhythm, written bars...
    #   def complete_seed(self, seed) -> str                 a seed's header put in the stream's order
    #   def corpus_options(self, stream) -> dict             kept with a model as its scheme options


def debugging() -> bool:
    """True when MUSICRNN_DEBUG is set to a yes.  The codecs promise never to raise on any text,
    so a bug in one is caught and reported as a problem ("internal error: ...");
    under MUSICRNN_DEBUG those safety nets re-raise instead, so a developer (and the
    fuzzer, musicrnn/fuzz.py) sees the traceback.  Only a value meaning yes (1, true,
    yes, on) turns it on: MUSICRNN_DEBUG=0 or an empty value leaves it off."""
    return os.environ.get("MUSICRNN_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


_REGISTRY: dict[str, Codec] = {}


def register(codec: Codec) -> Codec:
    """Make a codec available under its scheme name."""
    _REGISTRY[codec.name] = codec
    return codec


def _load_all() -> None:
    # Importing a format module registers its schemes.
    from encoders import abc, midi, tab  # noqa: F401


class UnknownScheme(UsageError, KeyError):
    """A scheme name no codec is registered under (a KeyError too, for lookups)."""

    def __str__(self) -> str:  # a KeyError would quote its message
        return str(self.args[0]) if self.args else ""


def get(name: str) -> Codec:
    """The codec for a scheme name; UnknownScheme (a KeyError) lists the known names."""
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownScheme(f"unknown scheme {name!r}; known schemes: {', '.join(sorted(_REGISTRY))}") from None


def all_codecs() -> list[Codec]:
    _load_all()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def codec_for_path(path: str | os.PathLike) -> Codec | None:
    """The codec whose suffixes match a file name, or None."""
    name = os.fspath(path).lower()
    for codec in all_codecs():
        if name.endswith(codec.suffixes):
            return codec
    return None


def sniff(text: str) -> Codec | None:
    """The codec that recognizes a stream's text, or None."""
    for codec in all_codecs():
        if codec.sniff(text):
            return codec
    return None


MAX_FILE_BYTES = 1 << 30
"""A text file larger than this (1 GiB) is refused rather than read into memory."""

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def not_a_file(path: str | os.PathLike) -> str:
    """Why `path` is no file to read: missing, a folder, a broken symbolic link, or not
    a regular file (a FIFO, socket or device, which reading could block on or never end)."""
    p = os.fspath(path)
    if not os.path.lexists(p):
        return "no such file"
    if os.path.isdir(p):
        return "is a folder, not a file"
    if not os.path.exists(p):
        return "broken symbolic link (its target does not exist)"
    return "not a regular file (a FIFO, socket or device); not read"


def read_text(path: str | os.PathLike) -> str:
    """A file's text: UTF-8, or UTF-16/32 when the file starts with their byte order
    mark (or is plainly UTF-16: every other byte NUL), else Latin-1, which old ABC
    files use.  The BOM is dropped and line ends are left as they are.

    Raises InputError naming the file for a missing, unreadable, non-regular (a FIFO,
    a device), empty, huge or binary file, never blocking on a FIFO."""
    p = os.fspath(path)
    try:
        st = os.stat(p)
        if stat.S_ISDIR(st.st_mode):
            raise InputError("is a folder, not a file", path=p)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file (a FIFO, socket or device); not read", path=p)
        if st.st_size > MAX_FILE_BYTES:
            raise InputError(f"{st.st_size:,} bytes is too large to read (at most {MAX_FILE_BYTES:,})", path=p)
        with open(p, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise InputError(f"cannot read file: {e.strerror or e}", path=p) from None
    return decode_bytes(data, p)


def decode_bytes(data: bytes, path: str = "") -> str:
    """The text of a file's bytes, as `read_text` reads them (InputError for empty or binary)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError as e:
                raise InputError(f"starts with a {encoding} byte order mark but is not {encoding} "
                                 f"(byte {e.start + len(bom)})", path=path) from None
            break
    else:
        head = data[:8192]
        if b"\x00" in head:
            encoding = _utf16_without_bom(head)
            if encoding is None:
                raise InputError("binary file (NUL bytes), not text", path=path)
            text = data.decode(encoding, errors="replace")
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    if "\x00" in text[:8192]:
        raise InputError("binary file (NUL characters), not text", path=path)
    if not text.strip():
        raise InputError("empty file", path=path)
    return text


def _utf16_without_bom(head: bytes) -> str | None:
    """utf-16-le or -be when the NULs of `head` are the high bytes of ASCII text."""
    even, odd = head[0::2], head[1::2]
    n = len(odd)
    if n < 2:
        return None
    if odd.count(0) >= 0.9 * n and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.9 * n and odd.count(0) == 0:
        return "utf-16-be"
    return None


def split_stream(stream: str) -> list[str]:
    """Pieces of a stream: blocks separated by one or more blank lines, each ending in a newline."""
    blocks: list[str] = []
    for block in stream.replace("\r\n", "\n").replace("\r", "\n").split("\n\n"):
        block = block.strip("\n")
        if block.strip():
            blocks.append(block + "\n")
    return blocks


def join_stream(pieces: Iterable[str]) -> str:
    """The stream for piece texts (inverse of split_stream for normalized pieces)."""
    return PIECE_SEPARATOR.join(p if p.endswith("\n") else p + "\n" for p in pieces)
