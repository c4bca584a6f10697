"""Characters -> token ids -> batches, the way char-rnn feeds an LSTM.

Three steps, top to bottom:

1. `Vocab`: the characters a model knows, each with an id.
2. `prepare`: a corpus stream (text pieces separated by a blank line) is split
   into training and validation *pieces* (whole pieces, so no tune is half in
   each) and written once as raw token arrays next to the stream, like
   nanoGPT's ``train.bin``:

       corpora/folk.txt
       corpora/folk.tokens/train.bin   uint8 (uint16 for > 256 characters)
       corpora/folk.tokens/val.bin
       corpora/folk.tokens/meta.json   vocabulary, counts, fingerprint of folk.txt

   Later runs re-use them while the stream's fingerprint is unchanged.
3. `Batches`: piece-aligned batches.  Every row is one whole piece read from a
   zero state fed a newline, exactly how the sampler starts a piece; pieces
   longer than `seq_len` are read in windows with the hidden state carried
   between them (truncated back-propagation through time).  Its position
   (epoch, index) can be saved and restored for --resume.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from encoders import PIECE_SEPARATOR, UsageError, split_stream
from musicrnn.atomic import atomic_path, write_text

__all__ = [
    "Batch",
    "Batches",
    "TokenData",
    "UnknownCharacters",
    "Vocab",
    "PIECE_START",
    "fingerprint_file",
    "iter_stream_pieces",
    "example_positions",
    "piece_positions",
    "piece_spans",
    "prepare",
    "split_pieces",
    "tokens_dir",
]

TOKENS_FORMAT = 1

PIECE_START = "\n"
"""What the model reads from a zero state before a piece: the last newline of the blank
line that ends the piece before it.  Training reads every piece this way (`Batches`),
and the sampler starts every piece this way (musicrnn.sample)."""


# --------------------------------------------------------------------------- vocabulary


class UnknownCharacters(UsageError):
    """Text holds characters the vocabulary (the model) does not know; `.chars` lists them."""

    def __init__(self, chars: list[str]):
        self.chars = chars
        super().__init__("characters not in the model's vocabulary: " + ", ".join(repr(c) for c in chars))

    def with_hint(self, hint: str) -> UnknownCharacters:
        """The same error with a hint appended to its one-line message."""
        self.args = (f"{self.args[0]} ({hint})",)
        return self


class Vocab:
    """The characters of a corpus; id i is ``chars[i]``.

    Encoding and decoding are vectorized (numpy over code points), so no Python
    work is done per character."""

    MAX_CHARS = 4096
    """The largest vocabulary: the bundled corpora need 34-73 characters, a corpus
    with titles in many scripts a few hundred; a model file claiming more is refused."""

    def __init__(self, chars: str):
        if not isinstance(chars, str) or not chars:
            raise UsageError("a vocabulary needs a non-empty string of characters")
        # The size first: a file can claim millions of characters, and every check
        # below is linear in them (a str.count per character was quadratic).
        if len(chars) > self.MAX_CHARS:
            raise UsageError(
                f"a vocabulary of {len(chars):,} characters is too large (at most "
                f"{self.MAX_CHARS:,}; the music schemes use fewer than 300)"
            )
        if len(set(chars)) != len(chars):
            seen: set[str] = set()
            repeated: set[str] = set()
            for c in chars:
                (repeated if c in seen else seen).add(c)
            dup = sorted(repeated)
            raise UsageError("vocabulary characters must be unique; repeated: " + ", ".join(map(repr, dup[:20])))
        self.chars = chars
        self.dtype = np.dtype(np.uint8 if len(chars) <= 256 else np.uint16)
        self._codepoints = _codepoints(chars)  # id -> code point
        self._order = np.argsort(self._codepoints)  # sorted position -> id
        self._sorted = self._codepoints[self._order]  # code points, ascending

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        """The sorted unique characters of `text`."""
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and other.chars == self.chars

    def __repr__(self) -> str:
        return f"Vocab({len(self)} chars)"

    def _lookup(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        cps = _codepoints(text)
        pos = np.searchsorted(self._sorted, cps)
        pos = np.minimum(pos, len(self._sorted) - 1)
        known = self._sorted[pos] == cps
        return self._order[pos], known

    def missing(self, text: str) -> list[str]:
        """Characters of `text` not in the vocabulary, in order of first appearance."""
        cps = _codepoints(text)
        _, known = self._lookup(text)
        if known.all():
            return []
        unknown, first = np.unique(cps[~known], return_index=True)
        return [chr(c) for c in unknown[np.argsort(first)]]

    def encode(self, text: str) -> np.ndarray:
        """Token ids of `text` (uint8, or uint16 for vocabularies of more than 256)."""
        ids, known = self._lookup(text)
        if not known.all():
            raise UnknownCharacters(self.missing(text))
        return ids.astype(self.dtype)

    def decode(self, ids: Any) -> str:
        """The text of token ids (any integer sequence, array or tensor)."""
        if isinstance(ids, torch.Tensor):
            ids = ids.detach().cpu().numpy()
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"token id out of range for a vocabulary of {len(self)}")
        return self._codepoints[ids].astype("<u4").tobytes().decode("utf-32-le")


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.int64)


# --------------------------------------------------------------------------- pieces


def split_pieces(stream_text: str, val_fraction: float = 0.05, seed: int = 1234) -> tuple[list[str], list[str]]:
    """Training and validation pieces of a stream, split by whole pieces.

    The choice is a seeded shuffle, so it depends only on the text, the
    fraction and the seed.  Both lists keep the stream's order.  With two or
    more pieces there is at least one validation piece and one training piece."""
    if not 0.0 <= val_fraction < 1.0:
        raise UsageError(f"val_fraction must be in [0, 1), got {val_fraction}")
    pieces = split_stream(stream_text)
    n = len(pieces)
    if n < 2:
        return pieces, []
    is_val = _val_pieces(n, val_fraction, seed)
    train = [p for p, v in zip(pieces, is_val) if not v]
    val = [p for p, v in zip(pieces, is_val) if v]
    return train, val


def _val_pieces(n: int, val_fraction: float, seed: int) -> np.ndarray:
    """Which of n pieces are held out: a seeded choice of round(n * val_fraction),
    at least one and at most n - 1 (none for fewer than 2 pieces)."""
    is_val = np.zeros(n, dtype=bool)
    if n >= 2:
        n_val = min(n - 1, max(1, round(n * val_fraction)))
        perm = np.random.default_rng(seed).permutation(n)
        is_val[perm[:n_val]] = True
    return is_val


def _stream_of(pieces: list[str]) -> str:
    """Pieces as one token stream: every piece ends with the blank line that ends a piece,
    the last one too, so a model learns that a piece ends with END_OF_PIECE ("\\n\\n")."""
    return "".join((p if p.endswith("\n") else p + "\n") + PIECE_SEPARATOR for p in pieces)


# --------------------------------------------------------------------------- prepare


@dataclass
class TokenData:
    """A prepared corpus: token arrays (memory-mapped), their vocabulary and meta."""

    train: np.ndarray
    val: np.ndarray
    vocab: Vocab
    meta: dict[str, Any]
    dir: str = ""
    scheme_options: dict[str, Any] | None = None
    """What `prepare`'s corpus_options made of the pieces (None: it was not asked)."""


def fingerprint_file(path: str | os.PathLike) -> str:
    """``sha256:<hex>`` of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def tokens_dir(stream_path: str | os.PathLike) -> str:
    """Where `prepare` keeps a stream's token files: ``<stem>.tokens/`` next to it."""
    p = os.path.abspath(os.fspath(stream_path))
    stem, _ = os.path.splitext(os.path.basename(p))
    return os.path.join(os.path.dirname(p), stem + ".tokens")


def iter_stream_pieces(path: str | os.PathLike) -> Iterator[str]:
    """The pieces of a stream file, read line by line (never the whole file at once).

    Gives exactly `split_stream(read_text(path))`: blocks separated by blank
    lines, each ending in one newline; UTF-8, or Latin-1 when the file is not
    valid UTF-8 (then the file is read a second time as Latin-1)."""
    for encoding in ("utf-8", "latin-1"):
        try:
            yield from _pieces_of_lines(path, encoding)
            return
        except UnicodeDecodeError:
            continue


def _pieces_of_lines(path: str | os.PathLike, encoding: str) -> Iterator[str]:
    # Decoding errors surface on the first bad line, before any piece of a
    # Latin-1 file could be given twice: check the whole file first.
    if encoding == "utf-8":
        with open(path, "rb") as fh:
            decoder = codecs.getincrementaldecoder("utf-8")()
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    lines: list[str] = []
    with open(path, encoding=encoding, newline=None) as fh:  # universal newlines, like split_stream
        for line in fh:
            if line == "\n":
                piece = "".join(lines).strip("\n")
                lines = []
                if piece.strip():
                    yield piece + "\n"
            else:
                lines.append(line)
    piece = "".join(lines).strip("\n")
    if piece.strip():
        yield piece + "\n"


def prepare(
    stream_path: str | os.PathLike,
    val_fraction: float = 0.05,
    seed: int = 1234,
    augment: Callable[[str], list[str]] | None = None,
    augment_name: str = "",
    corpus_options: Callable[[Iterable[str]], dict[str, Any]] | None = None,
    base_vocab: str = "",
    transform: Callable[[str], str] | None = None,
    transform_name: str = "",
) -> TokenData:
    """Token files for a stream (written once, re-used while the stream and settings are unchanged).

    `augment` (named `augment_name` in the meta, so a change of it makes the files again)
    gives more versions of a training piece (the same tune in other keys); they are
    trained on right after it, and held-out pieces are never augmented, so validation
    measures real pieces only.  A version with a character the corpus lacks is dropped:
    the vocabulary stays the corpus's.

    `corpus_options` (a scheme's, e.g. the meters of an ABC corpus) is given the stream's
    pieces, every one, in one pass; what it returns is `TokenData.scheme_options`.  It
    reads the pieces of the first pass when the files are made, and the stream once
    more when they are re-used (it is not kept with them: a newer musicrnn may keep more).

    `base_vocab` (fine-tuning a model: its vocabulary) comes first in the vocabulary, in its
    order, and the corpus's characters it lacks follow, sorted.

    `transform` (named `transform_name`, kept with `augment_name`) replaces every piece,
    training and held-out, before anything else reads it (fine-tuning a model trained with
    every tune at home on C: the tunes moved home, `Scheme.at_home`).

    Streams: two passes over the file, one piece at a time, so a corpus of any
    size is prepared in memory proportional to its longest piece (plus one bit
    per piece for the split).  The split is `split_pieces`'s, piece for piece."""
    path = os.fspath(stream_path)
    out = tokens_dir(path)
    fingerprint = fingerprint_file(path)  # raises OSError with the file name for a missing stream
    augment_name = ";".join(filter(None, (augment_name, transform_name)))

    def read() -> Iterator[str]:
        pieces = iter_stream_pieces(path)
        return pieces if transform is None else map(transform, pieces)

    cached = _load_tokens(out, fingerprint, val_fraction, seed, augment_name, base_vocab)
    if cached is not None:
        if corpus_options is not None:
            cached.scheme_options = corpus_options(read())
        return cached
    if not 0.0 <= val_fraction < 1.0:
        raise UsageError(f"val_fraction must be in [0, 1), got {val_fraction}")

    # Pass 1: how many pieces, which characters, and the scheme's options of them.
    census = _Census()
    pieces = census.count(read())
    options = corpus_options(pieces) if corpus_options is not None else None
    for _ in pieces:  # the pieces corpus_options left unread (or all, without it)
        pass
    n = census.pieces
    if not n:
        raise UsageError(f"{path}: no pieces found (pieces are separated by a blank line)")
    vocab = Vocab(base_vocab + "".join(sorted(census.chars - set(base_vocab))))
    is_val = _val_pieces(n, val_fraction, seed)

    # Pass 2: each piece's tokens to train.bin or val.bin.
    counts = {"train": 0, "val": 0}
    augmented = 0
    known = set(vocab.chars)
    with (
        atomic_path(os.path.join(out, "train.bin")) as train_tmp,
        atomic_path(os.path.join(out, "val.bin")) as val_tmp,
        open(train_tmp, "wb") as train_fh,
        open(val_tmp, "wb") as val_fh,
    ):
        for i, piece in enumerate(read()):
            name, fh = ("val", val_fh) if is_val[i] else ("train", train_fh)
            versions = [piece]
            if augment is not None and name == "train":
                extra = [v for v in augment(piece) if known.issuperset(v)]
                augmented += len(extra)
                versions += extra
            for version in versions:
                ids = vocab.encode(_stream_of([version]))
                fh.write(ids.tobytes())
                counts[name] += len(ids)
    n_val = int(is_val.sum())

    meta = {
        "format": TOKENS_FORMAT,
        "source": os.path.basename(path),
        "fingerprint": fingerprint,
        "vocab": vocab.chars,
        "dtype": vocab.dtype.name,
        "train_tokens": counts["train"],
        "val_tokens": counts["val"],
        "pieces": n,
        "train_pieces": n - n_val,
        "val_pieces": n_val,
        "val_fraction": val_fraction,
        "seed": seed,
        "augment": augment_name,
        "augmented_pieces": augmented,
        "base_vocab": base_vocab,
    }
    # meta.json last: its presence says the .bin files beside it are complete.
    write_text(os.path.join(out, "meta.json"), json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    data = _load_tokens(out, fingerprint, val_fraction, seed, augment_name, base_vocab)
    assert data is not None
    data.scheme_options = options
    return data


class _Census:
    """How many pieces went through `count`, and their characters (with the newline
    every example starts from)."""

    def __init__(self) -> None:
        self.pieces = 0
        self.chars = set("\n")

    def count(self, pieces: Iterable[str]) -> Iterator[str]:
        for piece in pieces:
            self.chars.update(piece)
            self.pieces += 1
            yield piece


def _load_tokens(
    out: str, fingerprint: str, val_fraction: float, seed: int, augment_name: str = "", base_vocab: str = ""
) -> TokenData | None:
    """The token files in `out` if they were made from this stream with these settings."""
    try:
        with open(os.path.join(out, "meta.json"), encoding="utf-8") as fh:
            meta = json.load(fh)
        if (
            meta.get("format") != TOKENS_FORMAT
            or meta.get("fingerprint") != fingerprint
            or meta.get("val_fraction") != val_fraction
            or meta.get("seed") != seed
            or meta.get("augment", "") != augment_name
            or meta.get("base_vocab", "") != base_vocab
        ):
            return None
        vocab = Vocab(meta["vocab"])
        if meta.get("dtype") != vocab.dtype.name:
            return None
        arrays = []
        for name in ("train", "val"):
            f = os.path.join(out, f"{name}.bin")
            n = int(meta[f"{name}_tokens"])
            if os.path.getsize(f) != n * vocab.dtype.itemsize:
                return None
            # numpy cannot memory-map an empty file; an empty array stands in.
            arrays.append(np.memmap(f, dtype=vocab.dtype, mode="r") if n else np.zeros(0, vocab.dtype))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return TokenData(train=arrays[0], val=arrays[1], vocab=vocab, meta=meta, dir=out)


# --------------------------------------------------------------------------- batches


@dataclass
class Batch:
    x: torch.Tensor
    """Input ids, LongTensor [B, T] (padding past a piece's end is id 0)."""
    y: torch.Tensor
    """Targets, LongTensor [B, T]: x shifted by one character; -1 past a piece's end (not scored)."""
    new_epoch: bool
    """True for an epoch's first batch."""
    reset: bool = True
    """True where the rows start new pieces: the caller starts from a zero state (the
    sampler's start); False where they carry on the pieces of the previous batch."""
    scored: int = 0
    """Targets scored (not -1) in the whole batch, every rank's rows together: the
    loss is the sum over the scored targets divided by this, so ranks with more
    padding weigh no more than the others (a DDP run equals the one-process run)."""
    where: torch.Tensor | None = None
    """The inputs' positions in their pieces, LongTensor [B, T] (0 past a piece's end), where
    the batches were given them (`Batches.where`, for a model with positions); else None."""


@dataclass
class Batches:
    """Piece-aligned batches: every row reads one whole piece from a zero state.

    The sampler starts every piece from a zero state fed the blank line's last
    newline, so training does the same (before, lanes ran on across pieces and the
    model learned each header right after another tune's end, not from the state it
    is sampled from).  A piece's example is that newline, the piece and the blank
    line that ends it: inputs predict "X:1..." from the newline and "\\n\\n" at the end.

    Each epoch the pieces are shuffled (seeded by `seed` and the epoch), grouped in
    pools of 64 batches and sorted by length inside a pool, so a batch holds pieces
    of similar length (little padding); the batches' order is shuffled again.  A
    batch of pieces longer than `seq_len` is read in windows of at most `seq_len`
    characters, the hidden state carried from one window to the next (truncated
    back-propagation through time); `Batch.reset` says where a batch of pieces
    starts.  Pieces left over when an epoch's count is not a multiple of
    `batch_size` wait for the next epoch (a corpus of fewer pieces than
    `batch_size` repeats them to fill one batch).  `position` ({"epoch", "index"},
    index counting windows) says which batch comes next; `set_position` restores it.

    `newline` is the vocabulary id of "\\n" (pieces end with "\\n\\n").

    Distributed training: with `world` ranks, `batch_size` is the global number of
    rows and rank r gets rows [r*b, (r+1)*b), b = batch_size // world, of the same
    batch (the windows are cut by the whole batch's longest piece), so the ranks'
    batches stacked in rank order are exactly the one-process batch."""

    tokens: np.ndarray
    batch_size: int
    seq_len: int
    newline: int
    seed: int = 0
    epoch: int = 0
    index: int = 0
    rank: int = 0
    world: int = 1
    pin_memory: bool = False
    """Give batches in page-locked memory, so copies to a GPU can be non-blocking."""
    where: np.ndarray | None = None
    """Each token's position in its piece (`piece_positions`), beside `tokens`: batches then
    carry their inputs' positions (`Batch.where`)."""
    shuffle: bool = True
    """False (validation): the pieces in stream order, the last batch possibly smaller."""
    _pieces: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _layout: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    POOL = 64
    """Batches per pool of pieces sorted by length."""

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.seq_len < 1:
            raise UsageError("batch_size and seq_len must be at least 1")
        if self.world < 1 or not 0 <= self.rank < self.world or self.batch_size % self.world:
            raise UsageError(
                f"batch_size={self.batch_size} must be a multiple of the number of "
                f"processes ({self.world}), so each gets the same number of rows"
            )
        if len(self.pieces[0]) < 1:
            raise UsageError(f"{len(self.tokens)} tokens hold no piece to train on")

    @property
    def pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts, stops) of every piece's example in `tokens` (stop exclusive)."""
        if self._pieces is None:
            self._pieces = piece_spans(self.tokens, self.newline)
        return self._pieces

    def _epoch_layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows [batches, batch_size] of piece numbers, -1 for none; windows per batch;
        cumulative windows) of the current epoch."""
        if self._layout is None or self._layout[0] != self.epoch:
            starts, stops = self.pieces
            n, B = len(starts), self.batch_size
            if self.shuffle:
                rng = np.random.default_rng([self.seed, self.epoch])
                order = rng.permutation(n)
                if n < B:
                    order = np.resize(order, B)
                n_batches = len(order) // B
                order = order[: n_batches * B]
                lengths = stops[order] - starts[order]
                pool = B * self.POOL
                for p in range(0, len(order), pool):  # similar lengths share a batch
                    part = slice(p, p + pool)
                    order[part] = order[part][np.argsort(lengths[part], kind="stable")]
                rows = order.reshape(n_batches, B)[rng.permutation(n_batches)]
            else:
                n_batches = -(-n // B)
                rows = np.full(n_batches * B, -1, dtype=np.int64)
                rows[:n] = np.arange(n)
                rows = rows.reshape(n_batches, B)
            longest = np.where(rows >= 0, stops[rows] - starts[rows], 0).max(axis=1) - 1
            windows = np.maximum(1, -(-longest // self.seq_len))
            self._layout = (self.epoch, rows, windows, np.cumsum(windows))
        return self._layout[1:]

    def __len__(self) -> int:
        """Windows in the current epoch."""
        return int(self._epoch_layout()[2][-1])

    @property
    def position(self) -> dict[str, int]:
        return {"epoch": self.epoch, "index": self.index}

    def set_position(self, position: dict[str, int]) -> None:
        self.epoch, self.index = int(position["epoch"]), int(position["index"])
        self._layout = None

    def next(self) -> Batch:
        rows, windows, ends = self._epoch_layout()
        if self.index >= ends[-1]:
            if not self.shuffle:
                self.index = 0
            else:
                self.epoch, self.index = self.epoch + 1, 0
                rows, windows, ends = self._epoch_layout()
        new_epoch = self.index == 0
        j = int(np.searchsorted(ends, self.index, side="right"))  # which batch of pieces
        w = self.index - (int(ends[j - 1]) if j else 0)  # which window of it
        starts, stops = self.pieces
        b = self.batch_size // self.world
        batch = rows[j][rows[j] >= 0]
        predictions = stops[batch] - starts[batch] - 1
        longest = int(predictions.max())  # the whole batch's, on every rank
        T = -(-longest // int(windows[j]))  # windows of equal length
        scored = int(np.clip(predictions - w * T, 0, T).sum())
        mine = rows[j, self.rank * b : (self.rank + 1) * b]
        mine = mine[mine >= 0]
        first, last = starts[mine], stops[mine]
        pos = first[:, None] + w * T + np.arange(T + 1)[None, :]
        inside = pos < last[:, None]
        at = np.minimum(pos, len(self.tokens) - 1)
        chunk = np.asarray(self.tokens[at], dtype=np.int64)
        x = np.where(inside[:, :-1], chunk[:, :-1], 0)
        y = np.where(inside[:, 1:], chunk[:, 1:], -1)
        parts = [x, y]
        if self.where is not None:
            parts.append(np.where(inside[:, :-1], np.asarray(self.where[at[:, :-1]], dtype=np.int64), 0))
        xy = torch.from_numpy(np.stack(parts))
        if self.pin_memory:
            xy = xy.pin_memory()
        self.index += 1
        where = xy[2] if self.where is not None else None
        return Batch(x=xy[0], y=xy[1], where=where, new_epoch=new_epoch, reset=w == 0, scored=scored)

    def __iter__(self) -> Iterator[Batch]:
        while True:
            yield self.next()


def piece_spans(tokens: np.ndarray, newline: int, chunk: int = 1 << 24) -> tuple[np.ndarray, np.ndarray]:
    """Where each piece's training example lies in a token stream: (starts, stops).

    Pieces end with a blank line ("\\n\\n"); an example is the newline before the
    piece (the end of the previous blank line: what the sampler starts from), the
    piece and its blank line.  The first piece has no newline before it.  A
    stream that does not end with a blank line ends its last piece at its end.
    Read in chunks, so a memory-mapped stream of any size is never all in memory."""
    n = len(tokens)
    ends = []
    for lo in range(1, n, chunk):
        hi = min(n, lo + chunk)
        a = np.asarray(tokens[lo - 1 : hi])
        ends.append(np.flatnonzero((a[1:] == newline) & (a[:-1] == newline)) + lo)
    stops = np.concatenate(ends) + 1 if ends else np.zeros(0, np.int64)
    if n and (not len(stops) or stops[-1] != n):
        stops = np.append(stops, n)
    stops = stops.astype(np.int64)
    starts = np.concatenate(([0], stops[:-1] - 1)).astype(np.int64) if len(stops) else stops
    keep = stops - starts >= 2  # at least one prediction
    return starts[keep], stops[keep]


def eval_windows(
    tokens: np.ndarray, batch_size: int, seq_len: int, newline: int, where: np.ndarray | None = None
) -> Batches | None:
    """Validation batches: every held-out piece once, in stream order (with their positions
    `where`, for a model with positions), or None if none."""
    if len(tokens) < 2:
        return None
    try:
        return Batches(tokens, batch_size, seq_len, newline, shuffle=False, where=where)
    except UsageError:
        return None


def piece_positions(tokens: np.ndarray, vocab: Vocab, grammar: Callable[[], Any]) -> np.ndarray:
    """Each token's position in its piece (uint16, beside `tokens`), as a model with positions
    reads it: a fresh `grammar()` state (a scheme's GrammarState) per piece, fed the piece
    one character at a time, its `position()` after each.  The newline a piece's example
    starts from (`piece_spans`) has the fresh state's position, as the sampler's primer
    has.  Linear in the tokens (the grammar's work per character); a piece at a time."""
    where = np.zeros(len(tokens), dtype=np.uint16)
    newline = int(vocab.encode(PIECE_START)[0])
    for start, stop in zip(*piece_spans(tokens, newline)):
        where[start:stop] = example_positions(grammar(), vocab.decode(np.asarray(tokens[start:stop])))
    return where


def example_positions(state: Any, text: str) -> list[int]:
    """The positions of a piece's example `text` (the sampler's primer is one) read by a fresh
    grammar `state`: a leading newline (PIECE_START; a piece never starts with one) at the
    fresh state's position, then the state's `position()` after each character fed."""
    at = []
    if text.startswith(PIECE_START):
        at.append(state.position())
        text = text[len(PIECE_START) :]
    for ch in text:
        state.feed(ch)
        at.append(state.position())
    return at
