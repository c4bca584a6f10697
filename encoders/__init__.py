"""Schemes: music files <-> character streams, one package per format, registered by scheme name.

A *scheme* is one way of writing music as characters (``abc``; guitar tabs as
``rows`` or ``columns``; MIDI as ``roll`` or ``events``).  Every scheme is a
`Scheme` (encoders.scheme), which declares everything a scheme can do, with
defaults; the main ones:

* ``encode_text`` / ``encode_file``: a file -> normalized piece texts (plus problems found);
* ``decode``: one piece's text (from a file or a model) -> a playable `Piece`,
  tolerant of broken text, with a report of what it repaired;
* ``grammar``: an incremental checker that, given the text of a piece so far,
  says which next characters keep the piece playable (or None).  The sampler in
  musicrnn turns that into a mask; the scheme knows nothing of torch.

A *stream* is the pieces of a corpus joined into one text: every piece ends
with a newline and pieces are separated by one blank line, so a stream reads as
an ordinary file of that format.  No module in this package imports torch.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator

from encoders.piece import Decoded, InputError, Note, Piece, Problem, UsageError
from encoders.scheme import Continuation, EncodeResult, GrammarState, Option, Scheme, debugging

__all__ = [
    "CharGrammar",
    "Codec",
    "Continuation",
    "Decoded",
    "EncodeResult",
    "GrammarState",
    "InputError",
    "Note",
    "Option",
    "Piece",
    "Problem",
    "Scheme",
    "UsageError",
    "all_codecs",
    "all_schemes",
    "codec_for_path",
    "debugging",
    "declared_options",
    "get",
    "lookup",
    "not_a_file",
    "read_text",
    "register",
    "sniff",
    "stream_pieces",
]

Codec = Scheme
"""The former name of `Scheme`."""

PIECE_SEPARATOR = "\n"
"""Between two pieces (each already ending in a newline): makes the blank line."""

END_OF_PIECE = "\n\n"
"""A blank line ends a piece in a stream; the sampler stops a stream on it."""


class CharGrammar(GrammarState):
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
                    f"{self._line}:{self._col + 1}: {ch!r} not allowed here (allowed: {allowed[:40]!r})"
                )
                self._recover(ch)
            else:
                self._step(ch)
            self._cache = None
            if ch == "\n":
                self._line += 1
                self._col = 0
            else:
                self._col += 1


_REGISTRY: dict[str, Scheme] = {}


def register(scheme: Scheme) -> Scheme:
    """Make a scheme available under its name; returns it."""
    if not isinstance(scheme, Scheme):
        raise TypeError(f"register takes a Scheme, not {type(scheme).__name__}")
    if not scheme.name:
        raise ValueError(f"{type(scheme).__name__} has no name")
    _REGISTRY[scheme.name] = scheme
    return scheme


_loaded = False


def _load_all() -> None:
    """Import every format package of encoders/ (each subpackage), which registers its
    schemes: a new scheme's package is found without being named here."""
    global _loaded
    if _loaded:
        return
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if info.ispkg:
            importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True


class UnknownScheme(UsageError, KeyError):
    """A scheme name no codec is registered under (a KeyError too, for lookups)."""

    def __str__(self) -> str:  # a KeyError would quote its message
        return str(self.args[0]) if self.args else ""


def get(name: str) -> Scheme:
    """The scheme of a name; UnknownScheme (a KeyError) lists the known names."""
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownScheme(f"unknown scheme {name!r}; known schemes: {', '.join(sorted(_REGISTRY))}") from None


def lookup(scheme: str | Scheme | None) -> Scheme | None:
    """The scheme of a name (a Scheme is returned as it is), or None for None or a name no
    scheme has (such as "midi", what a MIDI file read as it is calls itself)."""
    if isinstance(scheme, Scheme):
        return scheme
    _load_all()
    return _REGISTRY.get(scheme) if scheme else None


def all_schemes() -> list[Scheme]:
    """Every registered scheme, by name."""
    _load_all()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


all_codecs = all_schemes


def codec_for_path(path: str | os.PathLike) -> Scheme | None:
    """The scheme whose `suffixes` match a file name, or None."""
    name = os.fspath(path).lower()
    for scheme in all_schemes():
        if name.endswith(scheme.suffixes):
            return scheme
    return None


def declared_options(kind: str = "encode") -> dict[str, tuple[Option, list[str]]]:
    """Every option of `kind` ("encode" or "decode") some scheme declares: name -> (the
    option, the names of the schemes declaring it), for a command line to make flags of."""
    found: dict[str, tuple[Option, list[str]]] = {}
    for scheme in all_schemes():
        for option in scheme.encode_options if kind == "encode" else scheme.decode_options:
            found.setdefault(option.name, (option, []))[1].append(scheme.name)
    return found


def sniff(text: str) -> Scheme | None:
    """The scheme that recognizes a stream's text, or None."""
    for codec in all_codecs():
        if codec.sniff(text):
            return codec
    return None


MAX_FILE_BYTES = 1 << 30
"""A text file larger than this (1 GiB) is refused rather than read into memory."""

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


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
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as e:
                raise InputError(
                    f"starts with a {encoding} byte order mark but is not {encoding} (byte {e.start + len(bom)})",
                    path=path,
                ) from None
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


def stream_pieces(path: str | os.PathLike) -> Iterator[str]:
    """The pieces of a stream file one at a time, as `split_stream` finds them, read line by
    line (UTF-8): a corpus of any size in the memory of its longest piece."""
    block: list[str] = []
    with open(os.fspath(path), encoding="utf-8", newline="") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if line == "":
                if any(x.strip() for x in block):
                    yield "\n".join(block).strip("\n") + "\n"
                block = []
            else:
                block.append(line)
    if any(x.strip() for x in block):
        yield "\n".join(block).strip("\n") + "\n"
