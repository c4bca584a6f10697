"""Vocabulary, piece split, token files and contiguous BPTT batches."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from encoders import split_stream
from musicrnn.data import (
    Batches,
    UnknownCharacters,
    Vocab,
    eval_windows,
    iter_stream_pieces,
    piece_spans,
    prepare,
    split_pieces,
)

# ---------------------------------------------------------------- Vocab


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_vocab_round_trip(text):
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    assert ids.dtype == (np.uint8 if len(vocab) <= 256 else np.uint16)
    assert len(ids) == len(text)
    assert vocab.decode(ids) == text
    assert vocab.chars == "".join(sorted(set(text)))


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=50), st.text(min_size=1, max_size=50))
def test_vocab_reports_unknown_characters(known, text):
    vocab = Vocab.from_text(known)
    unknown = [c for c in dict.fromkeys(text) if c not in known]
    assert vocab.missing(text) == unknown
    if unknown:
        with pytest.raises(UnknownCharacters) as info:
            vocab.encode(text)
        assert info.value.chars == unknown
        assert isinstance(info.value, ValueError)
    else:
        assert vocab.decode(vocab.encode(text)) == text


def test_unknown_characters_message():
    with pytest.raises(UnknownCharacters, match=r"characters not in the model's vocabulary: 'é', '\\t'"):
        Vocab("abc").encode("aé\tb")


def test_vocab_keeps_given_order_and_large_vocab_is_uint16():
    v = Vocab("cba")
    assert v.encode("abc").tolist() == [2, 1, 0]
    big = Vocab("".join(chr(0x100 + i) for i in range(300)))
    ids = big.encode(chr(0x100 + 299) + chr(0x100))
    assert ids.dtype == np.uint16 and ids.tolist() == [299, 0]
    with pytest.raises(ValueError):
        Vocab("aa")


# ---------------------------------------------------------------- split_pieces


def _stream(n: int) -> str:
    return "\n".join(f"X:1\nT:tune {i}\nK:C\n{'abc' * (i % 5 + 1)}|\n" for i in range(n))


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=60), st.floats(min_value=0.0, max_value=0.5))
def test_split_pieces_whole_disjoint_deterministic(n, frac):
    text = _stream(n)
    pieces = split_stream(text)
    train, val = split_pieces(text, frac, seed=7)
    assert (train, val) == split_pieces(text, frac, seed=7)
    assert sorted(train + val) == sorted(pieces)  # whole pieces, none lost or cut
    assert not set(train) & set(val)  # every piece here is distinct
    if n >= 2:
        assert len(val) >= 1 and len(train) >= 1
    # both halves keep the stream's order
    assert train == [p for p in pieces if p in set(train)]


def test_split_pieces_seed_changes_choice():
    text = _stream(40)
    choices = {tuple(split_pieces(text, 0.1, seed=s)[1]) for s in range(5)}
    assert len(choices) > 1


# ---------------------------------------------------------------- prepare


def test_prepare_writes_memmaps_and_reuses_them(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(_stream(20), encoding="utf-8")
    data = prepare(path, val_fraction=0.2, seed=3)
    folder = tmp_path / "corpus.tokens"
    assert {p.name for p in folder.iterdir()} == {"train.bin", "val.bin", "meta.json"}
    assert isinstance(data.train, np.memmap)
    train_text = data.vocab.decode(np.asarray(data.train))
    val_text = data.vocab.decode(np.asarray(data.val))
    train, val = split_pieces(path.read_text(), 0.2, seed=3)
    assert train_text == "".join(p + "\n" for p in train)  # each piece ends with the blank line
    assert val_text == "".join(p + "\n" for p in val)
    assert split_stream(train_text) == train
    assert data.meta["pieces"] == 20 and data.meta["val_pieces"] == len(val) == 4
    assert data.meta["fingerprint"].startswith("sha256:")

    stamp = os.stat(folder / "train.bin").st_mtime_ns
    again = prepare(path, val_fraction=0.2, seed=3)
    assert os.stat(folder / "train.bin").st_mtime_ns == stamp  # re-used, not rewritten
    assert np.array_equal(again.train, data.train)

    path.write_text(_stream(21), encoding="utf-8")  # a changed stream is prepared anew
    assert prepare(path, val_fraction=0.2, seed=3).meta["pieces"] == 21


class _Reader:
    """A scheme's corpus_options stand-in: what it was given and how it read it."""

    def __init__(self, stop_after: int | None = None):
        self.calls: list[list[str]] = []
        self.stop_after = stop_after

    def __call__(self, pieces):
        assert not isinstance(pieces, (str, list))  # an iterator: the stream is never all in memory
        seen = []
        for piece in pieces:
            seen.append(piece)
            if len(seen) == self.stop_after:
                break
        self.calls.append(seen)
        return {"pieces": len(seen), "first": seen[0]}


def test_prepare_reads_corpus_options_in_its_streaming_pass(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(_stream(20), encoding="utf-8")
    reader = _Reader()
    data = prepare(path, val_fraction=0.2, seed=3, corpus_options=reader)
    assert reader.calls == [list(iter_stream_pieces(path))]  # every piece, once
    assert data.scheme_options == {"pieces": 20, "first": "X:1\nT:tune 0\nK:C\nabc|\n"}
    assert prepare(path, val_fraction=0.2, seed=3).scheme_options is None  # not asked
    # token files re-used: the options are read from the stream again (never stale)
    again = prepare(path, val_fraction=0.2, seed=3, corpus_options=reader)
    assert again.scheme_options == data.scheme_options and reader.calls[1] == reader.calls[0]


def test_prepare_counts_every_piece_when_corpus_options_stops_early(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(_stream(20), encoding="utf-8")
    data = prepare(path, val_fraction=0.2, seed=3, corpus_options=_Reader(stop_after=2))
    assert data.scheme_options["pieces"] == 2
    assert data.meta["pieces"] == 20 and data.meta["val_pieces"] == 4
    other = tmp_path / "plain" / "corpus.txt"  # the same stream, without options
    other.parent.mkdir()
    other.write_text(_stream(20), encoding="utf-8")
    plain = prepare(other, val_fraction=0.2, seed=3)
    assert plain.vocab == data.vocab and np.array_equal(plain.train, data.train) and np.array_equal(plain.val, data.val)


# ---------------------------------------------------------------- Batches

NL = 0  # the newline's id in these token streams


def _pieces_stream(lengths, seed=0):
    """Token stream of pieces with the given lengths (ids 1..9), each ending with a blank line (0 0)."""
    rng = np.random.default_rng(seed)
    parts = [np.concatenate((rng.integers(1, 10, n), [NL, NL])) for n in lengths]
    return np.concatenate(parts).astype(np.uint8), parts


def test_piece_spans_start_at_the_newline_before_each_piece():
    tokens, parts = _pieces_stream([3, 1, 5])
    starts, stops = piece_spans(tokens, NL)
    assert tokens[starts[0] : stops[0]].tolist() == parts[0].tolist()  # the first has no newline before it
    for k in (1, 2):
        assert tokens[starts[k] : stops[k]].tolist() == [NL] + parts[k].tolist()
    # chunked reading finds the same boundaries, a blank line split across two chunks included
    assert all(np.array_equal(a, b) for a, b in zip(piece_spans(tokens, NL, chunk=3), (starts, stops)))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=30), st.integers(1, 5), st.integers(1, 9), st.integers(0, 99))
def test_batches_read_every_piece_whole_from_a_reset(lengths, batch_size, seq_len, seed):
    tokens, parts = _pieces_stream(lengths, seed)
    b = Batches(tokens, batch_size=batch_size, seq_len=seq_len, newline=NL, seed=seed)
    starts, stops = b.pieces
    want = sorted(tokens[s:e].tolist() for s, e in zip(starts, stops))
    read, rows = [], None
    first = b.next()
    assert first.new_epoch and first.reset
    batch = first
    for i in range(len(b)):
        if i:
            batch = b.next()
            assert not batch.new_epoch
        assert batch.x.shape == batch.y.shape and batch.x.shape[1] <= seq_len
        if batch.reset:  # a new batch of pieces starts from a zero state
            if rows is not None:
                read.extend(rows)
            rows = [[] for _ in range(batch.x.shape[0])]
        for r in range(batch.x.shape[0]):
            y = batch.y[r][batch.y[r] >= 0].tolist()
            if not rows[r] and y:
                rows[r].append(int(batch.x[r, 0]))
            rows[r].extend(y)
            # x is y shifted by one inside the piece
            n = len(y)
            assert batch.x[r, 1:n].tolist() == y[: n - 1]
    read.extend(rows)
    # every piece is read whole, once (pieces left over wait for the next epoch)
    got = sorted(r for r in read if r)
    n_rows = (max(len(lengths), batch_size) // batch_size) * batch_size
    assert len(got) == n_rows
    assert all(g in want for g in got)
    if len(lengths) >= batch_size:
        assert len(set(map(tuple, got))) == len(got) or len(set(map(tuple, want))) < len(want)
    nxt = b.next()
    assert nxt.new_epoch and nxt.reset and b.position == {"epoch": 1, "index": 1}


def test_batches_position_restores_the_exact_next_batch():
    tokens, _ = _pieces_stream(list(range(5, 200, 3)), seed=2)
    a = Batches(tokens, batch_size=3, seq_len=16, newline=NL, seed=5)
    for _ in range(len(a) + 7):  # into the second epoch
        a.next()
    pos = a.position
    expected = [a.next() for _ in range(3)]
    b = Batches(tokens, batch_size=3, seq_len=16, newline=NL, seed=5)
    b.set_position(pos)
    for e in expected:
        got = b.next()
        assert np.array_equal(got.x, e.x) and np.array_equal(got.y, e.y)
        assert (got.new_epoch, got.reset) == (e.new_epoch, e.reset)


def test_batches_group_pieces_of_similar_length():
    lengths = np.random.default_rng(1).integers(20, 400, 2000).tolist()
    tokens, _ = _pieces_stream(lengths)
    b = Batches(tokens, batch_size=16, seq_len=64, newline=NL, seed=1)
    scored = total = 0
    for _ in range(len(b)):
        batch = b.next()
        scored += int((batch.y >= 0).sum())
        total += batch.y.numel()
    assert scored / total > 0.9  # little padding


def test_batches_validation_reads_every_piece_and_small_sets():
    tokens, parts = _pieces_stream([4, 2, 7])
    val = eval_windows(tokens, batch_size=8, seq_len=16, newline=NL)
    assert val is not None and len(val) == 1
    batch = val.next()
    # every character but the first is predicted
    assert batch.x.shape[0] == 3 and int((batch.y >= 0).sum()) == len(tokens) - 1
    assert eval_windows(np.zeros(1, np.uint8), 8, 16, NL) is None


# ---------------------------------------------------------------- streaming and sharding


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", " ", "\n", "\r\n", "\r", "é", "X:1"]), max_size=40))
def test_streamed_pieces_equal_split_stream(tmp_path_factory, parts):
    text = "".join(parts)
    path = tmp_path_factory.mktemp("s") / "s.txt"
    path.write_bytes(text.encode("utf-8"))
    assert list(iter_stream_pieces(path)) == split_stream(text)


def test_streamed_pieces_fall_back_to_latin1(tmp_path):
    path = tmp_path / "old.abc"
    path.write_bytes("X:1\nT:Caf\xe9\n\nX:2\nK:G\n".encode("latin-1"))
    assert list(iter_stream_pieces(path)) == ["X:1\nT:Caf\xe9\n", "X:2\nK:G\n"]


def test_rank_shards_stack_to_the_one_process_batch():
    tokens, _ = _pieces_stream(np.random.default_rng(0).integers(1, 40, 100).tolist())
    whole = Batches(tokens, batch_size=6, seq_len=7, newline=NL, seed=3)
    shards = [Batches(tokens, batch_size=6, seq_len=7, newline=NL, seed=3, rank=r, world=3) for r in range(3)]
    for _ in range(len(whole) + 5):  # across an epoch boundary
        want = whole.next()
        got = [s.next() for s in shards]
        assert all(g.x.shape[0] == 2 for g in got)
        assert torch.equal(torch.cat([g.x for g in got]), want.x)
        assert torch.equal(torch.cat([g.y for g in got]), want.y)
        assert all((g.new_epoch, g.reset) == (want.new_epoch, want.reset) for g in got)
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        Batches(tokens, batch_size=5, seq_len=7, newline=NL, rank=0, world=2)
