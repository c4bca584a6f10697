"""Sampling: continue a seed text with a trained CharLSTM, many streams at once.

    seed "X:1" --forward (once, batch 1)--> state, logits   (state copied to `num` streams)
    repeat:  logits -> [grammar mask] -> / temperature -> [top-k] -> softmax -> multinomial
             -> next ids [num] -> model.step -> logits
    until every stream has written `stop` (a blank line ends a piece) or `length` chars.

All streams advance together, one `model.step` per character for the whole
batch, under torch.inference_mode.  Per step the host sees only the `num`
sampled ids (a numpy array): they go into a preallocated array, decoded once at
the end, and the stop check runs on them; the only per-character Python work is
the grammar's, and only when a grammar is given.  Streams that finish are
dropped from the batch as they finish, so a few long pieces do not keep the
whole batch running (but the batch still runs as long as its longest piece).

Validity-guided decoding: each stream has its own `GrammarState` (see
encoders.GrammarState), fed the seed and then every sampled character; its
`allowed()` string becomes a boolean mask over the vocabulary (cached per
distinct string) and disallowed characters get probability 0.  When the
grammar allows no character the model knows, that stream samples unmasked for
that step rather than stall.

Every seed starts a piece: the model reads a newline (PIECE_START) from a zero
state, then the seed - exactly how training reads every piece (piece-aligned
batches, musicrnn.data.Batches), so a cold start is no different from the
start it learned.  The primer is not part of the returned text.

A model with positions (musicrnn.model) reads beside each character its position in the
piece, which each stream's grammar tells after that character (`GrammarState.position`), as
musicrnn.data.piece_positions told it in training; such a model needs the grammar (with
`mask=False` it only tells positions and masks nothing).
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from encoders import END_OF_PIECE, GrammarState, Scheme, UsageError
from musicrnn.data import PIECE_START, UnknownCharacters, Vocab, example_positions
from musicrnn.model import needs_positions, reads_positions

__all__ = ["generate", "generate_pieces"]

MAX_BAR_CANDIDATES = 32
MONOTONE_BARS = 2
"""Ranking bars does not keep one that makes this many bars in a row each of one repeated
pitch (`GrammarState.monotone`) while another candidate does not: ranked by likelihood, a
repeated note is the likeliest continuation, and a tune locks into it (docs/models.md: 2 moves
the interval overlap 0.943 -> 0.961, 3 by no more than its noise)."""


def generate(
    model: Any,
    vocab: Vocab,
    seed: str,
    num: int = 1,
    length: int = 2000,
    temperature: float = 1.0,
    top_k: int | None = None,
    grammar: Callable[[], GrammarState | None] | None = None,
    stop: str | None = END_OF_PIECE,
    random_seed: int | None = None,
    device: str | torch.device = "cpu",
    scores: list[float] | None = None,
    cadence_temperature: float = 1.0,
    bar_candidates: int = 1,
    bar_recall: tuple[int, ...] = (),
    unranked: str = "",
    mask: bool = True,
) -> list[str]:
    """`num` texts, each the seed followed by what the model wrote after it.

    A stream ends when its text (counting only matches that end in new text) contains `stop`, or
    after `length` new characters (then, when the grammar can say where the piece could have ended
    (`can_end()` not None), it is cut back to there, so a capped piece is still a whole one).  A
    stream stopped by a stop string that ends in newlines is returned ending in a single newline
    (for the blank line "\n\n": the piece without its blank line); any other stop string is kept; a
    stop holding characters the vocabulary lacks can never be written, so streams then run to
    `length`.  An empty seed starts a new piece (see the module docstring).  `grammar` makes a
    fresh GrammarState (or None for none), e.g. ``codec.grammar``.  `random_seed` makes the output
    repeatable on a given machine.  `scores`, when a list, receives each text's mean log-likelihood
    per new character (nats) under the model and the grammar at temperature 1 (for reranking).
    `cadence_temperature` multiplies the temperature while a stream's grammar says it is writing a
    phrase's last bar (its `cadence()`): lower-entropy sampling where phrases end, from the model's
    own distribution.  `bar_candidates` > 1 samples every bar that many times and keeps the
    likeliest (see `_BarChoice`), where the grammar counts bars (`segment()` not None);
    `bar_recall` (bars back, e.g. (8,)) adds to each bar's candidates a copy of the kept bar
    that far back, kept only when the model finds it likelier than the sampled ones; the
    characters of `unranked` (a scheme's `length_chars`) do not count when bars are ranked.
    `mask=False`: the grammar only tells a model with positions where its streams are (no
    masking, cadences or bars chosen: as without a grammar).  Raises UnknownCharacters for seed
    characters the vocabulary lacks, UsageError for temperature <= 0, num < 1, top_k < 1, or a
    model with positions and no grammar."""
    _check(vocab, seed, num, length, temperature, top_k)
    primer = PIECE_START + seed
    stop, stop_ids = _writable_stop(vocab, stop)
    where = _primer_positions(model, grammar, seed)

    device = torch.device(device)
    gen = _generator(device, random_seed)
    if mask and (bar_candidates > 1 or bar_recall) and length and _counts_bars(grammar, seed):
        with torch.inference_mode():
            run = _BarChoice(model, vocab, seed, num, bar_candidates, length, gen, device, bar_recall, unranked, where)
            run.sample(grammar, stop_ids, temperature, top_k, cadence_temperature)
        return run.texts(stop, grammar, scores)
    out = np.zeros((num, length), dtype=np.int64)  # sampled ids, stream x position
    ends = [length] * num  # new chars per stream
    stopped = [False] * num
    loglik = np.zeros(num)  # summed log-likelihood per stream (with `scores`)

    with torch.inference_mode():
        # 1. The seed, once, then the same state and next-char logits for every stream.
        logits, state = _primed(model, vocab, primer, num, device, where)
        step = _stepper(model, state)

        # 2. Per-stream grammar states and the cache of their masks.
        fed = _grammars(grammar, seed, num) if mask or where is not None else None
        tellers = fed if where is not None else None  # they tell the model positions
        grammars = fed if mask else None  # they mask, cool cadences, say where pieces end
        masker = _Masker(vocab, device) if grammars is not None else None
        cadences = cadence_temperature != 1.0 and grammars is not None

        # 3. Stop detection, on the host: the last len(stop) ids of every stream, seed tail included.
        window = _stop_window(vocab, seed, stop_ids, num) if stop_ids is not None else None
        live = np.arange(num)  # batch row -> stream index

        # 4. One character per step for every live stream.  The only host work per
        # step is on `num` small ints (numpy), plus each live stream's grammar.
        for t in range(length):
            if masker is not None:
                logits = masker.apply(logits, [grammars[i].allowed() for i in live.tolist()])
            if scores is not None:
                logp = torch.log_softmax(logits.float(), dim=-1)
            rows = [cadence_temperature if grammars[i].cadence() else 1.0 for i in live.tolist()] if cadences else None
            logits = _sharpened(logits, temperature, top_k, rows)
            probs = torch.softmax(logits, dim=-1)
            ids = torch.multinomial(probs, 1, generator=gen)[:, 0]
            host_ids = ids.cpu().numpy()
            out[live, t] = host_ids
            if scores is not None:
                loglik[live] += logp.gather(1, ids[:, None])[:, 0].cpu().numpy()
            if fed is not None:
                for i, ch in zip(live.tolist(), vocab.decode(host_ids)):
                    fed[i].feed(ch)
            if stop_ids is not None:
                window = np.concatenate((window[:, 1:], host_ids[:, None]), axis=1)
                hit = (window == stop_ids).all(axis=1)
                if hit.any():  # drop finished streams from the batch
                    for i in live[hit].tolist():
                        ends[i], stopped[i] = t + 1, True
                    keep = np.flatnonzero(~hit)
                    if not len(keep):
                        break
                    live, window = live[keep], window[keep]
                    rows = torch.as_tensor(keep, device=device)
                    ids, state = ids[rows], _select_rows(state, rows)
            if t + 1 < length:
                at = _positions(tellers, live.tolist(), device) if tellers is not None else None
                logits, state = step(ids, state, at)

    if scores is not None:
        scores[:] = [float(loglik[i] / max(1, ends[i])) for i in range(num)]
    return _texts(vocab, seed, out, ends, stopped, stop, grammar, grammars)


def _writable_stop(vocab: Vocab, stop: str | None) -> tuple[str | None, np.ndarray | None]:
    """The stop string and its ids; None for both when the model cannot write it (streams then
    run to their length)."""
    if not stop or vocab.missing(stop):
        return None, None
    return stop, vocab.encode(stop).astype(np.int64)


def _primer_positions(model: Any, grammar: Callable[[], GrammarState | None] | None, seed: str) -> list[int] | None:
    """For a model with positions: the primer's, as training reads a piece's example
    (`example_positions`); None for a model without.  UsageError when the model needs a
    grammar and has none."""
    return example_positions(grammar(), PIECE_START + seed) if needs_positions(model, grammar) else None


def _positions(grammars: list, rows: list[int], device: torch.device) -> torch.Tensor:
    """The positions the grammars of `rows` tell now, for one model step."""
    return torch.as_tensor([grammars[r].position() for r in rows], dtype=torch.long, device=device)


def _counts_bars(grammar: Callable[[], GrammarState | None] | None, seed: str) -> bool:
    """Whether `grammar` (fed the seed) says which bar is being written: bars can be chosen."""
    probe = _grammars(grammar, seed, 1)
    return probe is not None and probe[0].segment() is not None


class _BarChoice:
    """Sampling bar by bar (`generate` with `bar_candidates`): every bar is chosen among `k`
    sampled ones, the likeliest under the model (at temperature 1, grammar applied): its
    log-likelihood per note, rest or chord where the grammar counts them (`events()`), else
    its summed log-likelihood.  The characters of `unranked` (ABC's note lengths) are written
    as sampled but do not count: ranked on them, the likeliest bar is the one of plain
    eighths, and the tunes lose the long notes real ones have (note-length overlap with real
    tunes 0.90 ranked, 0.95 unranked, 800 tunes each; docs/models.md).

    Each piece has `k` streams (rows: row r is candidate r % k of piece r // k, each with its
    LSTM state, grammar, text so far and log-likelihoods).  They sample on their own (at the
    temperature asked for) until each has closed the bar being written (its grammar's
    `segment()` moved on) or ended the piece; then the likeliest of them is kept and copied
    to the others (state, grammar, text), and all go on from there.  So a bar that ends the
    piece competes with bars that carry on, by the model's own probabilities, and the model,
    not a rule, decides each bar.  The header is sampled, not ranked (the first candidate is
    kept): ranking headers would favour the commonest meter and key.

    Recall (`recall`, bars back): each piece also has one row per entry that, instead of
    sampling, writes a copy of the kept bar that many bars back (when there is one), scored
    the same way.  The model keeps the copy only when it finds the repeat likelier than the
    bars it sampled; a copy the grammar refuses, or that closes its bar elsewhere than the
    original did, is not a candidate.  Tunes come back to earlier bars as folk tunes do, by
    the model's own judgement.

    A bar that would make `MONOTONE_BARS` bars in a row each of one repeated pitch
    (`GrammarState.monotone`) is kept only when every other candidate is refused too: ranked
    by likelihood, a repeated note is the likeliest continuation, and tunes lock into
    ``|DDDD|D2D2|DDDD|`` (two such bars or more in a row: 11% of the bundled model's tunes
    unguarded, 5.3% of real ones; three or more: 4.6%, 1.7% real; docs/models.md)."""

    monotone_bars = MONOTONE_BARS

    def __init__(self, model, vocab, seed, num, k, length, gen, device, recall=(), unranked="", where=None):
        self.recall = tuple(recall)  # bars back whose copy is also a candidate
        self.sampled = k
        k = k + len(self.recall)
        self.vocab, self.seed, self.num, self.k, self.length = vocab, seed, num, k, length
        self.gen, self.device = gen, device
        n = num * k
        logits, state = _primed(model, vocab, PIECE_START + seed, n, device, where)
        self.reads = where is not None  # the model reads positions: each step is told them
        self.logits = logits.clone()
        self.h = [s.clone() for s in state[0]]  # per layer [n, hidden]
        self.c = [s.clone() for s in state[1]]
        self.step = _stepper(model, state)
        # sampled ids (small: num x candidates x length of them)
        self.out = np.zeros((n, max(1, length)), dtype=np.int16 if len(vocab) < 2**15 else np.int64)
        self.pos = np.zeros(n, dtype=np.int64)  # characters written per row
        self.bar_ll = np.zeros(n)  # log-likelihood of the bar being written
        self.ranked = np.array([ch not in unranked for ch in vocab.chars])  # ids that count in ranking
        self.total = np.zeros(n)  # log-likelihood of everything written
        self.waiting = np.zeros(n, dtype=bool)  # closed its bar (or ended): waits for the others
        self.stopped = np.zeros(n, dtype=bool)  # wrote the stop string
        self.done = np.zeros(num, dtype=bool)  # the piece is finished
        self.final = [p * k for p in range(num)]  # the row that holds each piece's text
        self.forced: list[np.ndarray | None] = [None] * n  # a recalled bar's ids, still to write
        self.fpos = np.zeros(n, dtype=np.int64)
        self.invalid = np.zeros(n, dtype=bool)  # a recalled bar the grammar refused (or none to recall)
        self.bars: list[list[tuple[int, int]]] = [[] for _ in range(num)]  # kept bars: (start, end) in out
        self.bar_start = np.zeros(num, dtype=np.int64)

    def sample(self, grammar, stop_ids, temperature, top_k, cadence_temperature) -> None:
        n = self.num * self.k
        self.grammars = _grammars(grammar, self.seed, n)
        self.segment = [g.segment() for g in self.grammars]
        self.events_at = np.array([g.events() or 0 for g in self.grammars])  # events before the bar
        masker = _Masker(self.vocab, self.device)
        window = _stop_window(self.vocab, self.seed, stop_ids, n) if stop_ids is not None else None
        while True:
            live = np.flatnonzero(~self.waiting & ~np.repeat(self.done, self.k))
            if not len(live):
                break
            rows = torch.as_tensor(live, device=self.device)
            g = [self.grammars[r] for r in live.tolist()]
            logits = masker.apply(self.logits[rows], [x.allowed() for x in g])
            logp = torch.log_softmax(logits.float(), dim=-1)
            cad = [cadence_temperature if x.cadence() else 1.0 for x in g] if cadence_temperature != 1.0 else None
            probs = torch.softmax(_sharpened(logits, temperature, top_k, cad), dim=-1)
            ids = torch.multinomial(probs, 1, generator=self.gen)[:, 0]
            host = ids.cpu().numpy()
            forcing = [i for i, r in enumerate(live.tolist()) if self.forced[r] is not None]
            if forcing:
                for i in forcing:
                    r = int(live[i])
                    host[i] = self.forced[r][self.fpos[r]]
                    self.fpos[r] += 1
                ids = torch.as_tensor(host.astype(np.int64), device=self.device)
            ll = logp.gather(1, ids[:, None])[:, 0].cpu().numpy()
            self.out[live, self.pos[live]] = host
            self.pos[live] += 1
            self.bar_ll[live] += np.where(self.ranked[host], ll, 0.0)
            self.total[live] += ll
            for r, x, ch, lp in zip(live.tolist(), g, self.vocab.decode(host), ll.tolist()):
                forced = self.forced[r]
                if forced is not None and lp == -np.inf:  # the grammar refuses the recalled bar here
                    self.invalid[r] = self.waiting[r] = True
                    continue
                x.feed(ch)
                moved = x.segment() != self.segment[r]
                if forced is not None and moved != (self.fpos[r] == len(forced)):
                    self.invalid[r] = True  # the copy closes its bar elsewhere than the original did
                if moved or self.pos[r] >= self.length or self.invalid[r]:
                    self.waiting[r] = True
            if window is not None:
                window[live] = np.concatenate((window[live, 1:], host[:, None]), axis=1)
                hit = live[(window[live] == stop_ids).all(axis=1)]
                self.stopped[hit] = True
                self.waiting[hit] = True
            self._advance(rows, ids)
            for p in np.unique(live // self.k).tolist():
                if self.waiting[p * self.k : (p + 1) * self.k].all():
                    self._choose(p, window)

    def texts(self, stop: str | None, grammar, scores: list[float] | None) -> list[str]:
        """Each piece's text (as `generate` returns them); `scores` receives each one's mean
        log-likelihood per new character."""
        rows = self.final
        if scores is not None:
            scores[:] = [float(self.total[r] / max(1, self.pos[r])) for r in rows]
        return _texts(
            self.vocab,
            self.seed,
            self.out[rows],
            [int(self.pos[r]) for r in rows],
            [bool(self.stopped[r]) for r in rows],
            stop,
            grammar,
            [self.grammars[r] for r in rows],
        )

    def _advance(self, rows: torch.Tensor, ids: torch.Tensor) -> None:
        """One model step for `rows` (which just wrote `ids`)."""
        h = torch.stack([x[rows] for x in self.h])
        c = torch.stack([x[rows] for x in self.c])
        at = _positions(self.grammars, rows.tolist(), self.device) if self.reads else None
        logits, (h2, c2) = self.step(ids, (h, c), at)
        self.logits[rows] = logits
        for layer in range(len(self.h)):
            self.h[layer][rows] = h2[layer]
            self.c[layer][rows] = c2[layer]

    def _choose(self, piece: int, window) -> None:
        """Every candidate of `piece` has closed its bar: keep the likeliest, copy it to the rest."""
        first = piece * self.k
        rows = np.arange(first, first + self.k)
        if not self.segment[first]:
            best = first
        else:
            scores = np.where(self.invalid[rows], -np.inf, self._scores(rows))
            if self.monotone_bars:
                stuck = np.array([self.grammars[r].monotone() >= self.monotone_bars for r in rows.tolist()])
                if (np.isfinite(scores) & ~stuck).any():
                    scores = np.where(stuck, -np.inf, scores)
            best = int(rows[np.argmax(scores)])
        self.final[piece] = best
        if self.stopped[best] or self.pos[best] >= self.length:
            self.done[piece] = True
            return
        if self.segment[first]:
            self.bars[piece].append((int(self.bar_start[piece]), int(self.pos[best])))
        self.bar_start[piece] = self.pos[best]
        others = [r for r in rows.tolist() if r != best]
        idx = torch.as_tensor(others, device=self.device)
        for layer in range(len(self.h)):
            self.h[layer][idx] = self.h[layer][best].clone()
            self.c[layer][idx] = self.c[layer][best].clone()
        self.logits[idx] = self.logits[best].clone()
        p = self.pos[best]
        self.out[others, :p] = self.out[best, :p]
        self.pos[others] = p
        self.total[others] = self.total[best]
        self.stopped[others] = False
        if window is not None:
            window[others] = window[best]
        for r in others:
            self.grammars[r] = self.grammars[best].copy()
        seg = self.grammars[best].segment()
        for r in rows.tolist():
            self.segment[r] = seg
        self.bar_ll[rows] = 0.0
        self.events_at[rows] = self.grammars[best].events() or 0
        self.waiting[rows] = False
        self.invalid[rows] = False
        self.forced[first : first + self.k] = [None] * self.k
        bars = self.bars[piece]
        for j, back in enumerate(self.recall):
            r = first + self.sampled + j
            if back <= len(bars):
                start, end = bars[len(bars) - back]
                self.forced[r], self.fpos[r] = self.out[best, start:end].astype(np.int64), 0
            else:  # nothing that far back: this candidate sits the bar out
                self.invalid[r] = self.waiting[r] = True

    def _scores(self, rows: np.ndarray) -> np.ndarray:
        """How likely each candidate bar of `rows` is: its log-likelihood per note, rest or
        chord where the grammar counts them, the end of the piece counted as one more (the
        summed log-likelihood favours bars of few long notes), else its summed log-likelihood."""
        events = [self.grammars[r].events() for r in rows.tolist()]
        if any(e is None for e in events):
            return self.bar_ll[rows]
        # the end of the piece is one more event: a bar that ends the tune is compared per event
        # like any other, not one whose end is free
        ended = self.stopped[rows].astype(np.int64)
        return self.bar_ll[rows] / np.maximum(1, np.array(events) - self.events_at[rows] + ended)


def _texts(
    vocab: Vocab,
    seed: str,
    out: np.ndarray,
    ends: list[int],
    stopped: list[bool],
    stop: str | None,
    grammar: Callable[[], GrammarState | None] | None,
    grammars: list | None,
) -> list[str]:
    """Each stream's final text (see `_text`); a stream whose grammar can say where it could
    end is cut back there when it ran to the length limit."""
    return [
        _text(
            vocab,
            seed,
            out[i, : ends[i]],
            stopped[i] and stop,
            grammar if grammars is not None and grammars[i].can_end() is not None else None,
        )
        for i in range(len(ends))
    ]


def _generator(device: torch.device, random_seed: int | None) -> torch.Generator:
    """The random generator of a run: seeded with `random_seed`, else from the system."""
    gen = torch.Generator(device=device)
    if random_seed is None:
        gen.seed()
    else:
        gen.manual_seed(random_seed)
    return gen


def _primed(
    model: Any, vocab: Vocab, primer: str, num: int, device: torch.device, where: list[int] | None = None
) -> tuple[torch.Tensor, tuple]:
    """The next-character logits and the state after `primer` (at positions `where`, for a model
    with positions), read once, for each of `num` streams."""
    primer_ids = torch.as_tensor(vocab.encode(primer).astype("int64"), device=device)[None]
    if where is None:
        logits, state = model(primer_ids)
    else:
        logits, state = model(primer_ids, None, torch.as_tensor(where, dtype=torch.long, device=device)[None])
    return logits[:, -1].expand(num, len(vocab)), tuple(s.expand(-1, num, -1).contiguous() for s in state)


def _stop_window(vocab: Vocab, seed: str, stop_ids: np.ndarray, num: int) -> np.ndarray:
    """Each stream's last len(stop) ids so far (the seed's tail; -1 before it), for the stop check."""
    L = len(stop_ids)
    tail = vocab.encode(seed)[-L:].astype(np.int64) if seed else np.zeros(0, np.int64)
    window = np.full((num, L), -1, dtype=np.int64)
    if len(tail):
        window[:, L - len(tail) :] = tail
    return window


def _sharpened(logits: torch.Tensor, temperature: float, top_k: int | None, rows: list[float] | None) -> torch.Tensor:
    """The logits divided by each row's cadence temperature (`rows`) and by `temperature`,
    all but the `top_k` largest of each row at -inf."""
    if rows is not None and any(r != 1.0 for r in rows):
        logits = logits / torch.tensor(rows, device=logits.device, dtype=logits.dtype)[:, None]
    if temperature != 1.0:
        logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits


def _check(vocab: Vocab, seed: str, num: int, length: int, temperature: float, top_k: int | None) -> None:
    """UsageError (UnknownCharacters for the seed) for what `generate` cannot sample with."""
    if not temperature > 0:
        raise UsageError(f"temperature must be above 0, got {temperature}")
    if num < 1:
        raise UsageError(f"num must be at least 1, got {num}")
    if length < 0:
        raise UsageError(f"length must be 0 or more, got {length}")
    if top_k is not None and top_k < 1:
        raise UsageError(f"top_k must be at least 1 (or None), got {top_k}")
    missing = vocab.missing(seed)
    if missing:
        raise UnknownCharacters(missing)
    if vocab.missing(PIECE_START):
        raise UsageError("starting a piece needs the newline in the vocabulary")


def _grammars(grammar: Callable[[], GrammarState | None] | None, seed: str, num: int) -> list[GrammarState] | None:
    """A grammar state per stream, fed the seed; None when there is no grammar (or it makes None)."""
    if grammar is None:
        return None
    made = [grammar() for _ in range(num)]
    if not all(g is not None for g in made):
        return None
    for g in made:
        g.feed(seed)
    return made


def _text(
    vocab: Vocab, seed: str, ids: np.ndarray, stopped_by: str | None, ends_by: Callable[[], GrammarState | None] | None
) -> str:
    """One stream's text: the seed and its sampled `ids`.  A stream `stopped_by` a stop string
    ending in newlines ends in one newline; a capped stream whose grammar says where a piece
    may end (`ends_by` makes it) is cut back to where the piece could last have ended."""
    cut = 0
    if not stopped_by and ends_by is not None:
        cut = _last_end(ends_by, seed, ids, vocab)
    text = seed + vocab.decode(ids[: cut or len(ids)])
    if stopped_by and stopped_by.endswith("\n"):
        # The stop is at the end; its trailing newlines become one ("...\n\n" -> "...\n").
        text = text[: len(text) - len(stopped_by)] + stopped_by.rstrip("\n") + "\n"
    elif cut and not text.endswith("\n"):
        text += "\n"  # cut back to where the piece could end: end its line
    return text


def _last_end(grammar: Callable[[], GrammarState | None], seed: str, ids: np.ndarray, vocab: Vocab) -> int:
    """How many of the sampled characters `ids` lead up to the last place the piece could
    end (0: none), by walking a fresh grammar over them.  Done only for the streams the
    length cap cut off, so the sampling loop never asks `can_end` at all."""
    g = grammar()
    g.feed(seed)
    last = 0
    for k, ch in enumerate(vocab.decode(ids)):
        g.feed(ch)
        if g.can_end():
            last = k + 1
    return last


def _select_rows(state: tuple, rows: torch.Tensor) -> tuple:
    """The state of some streams: stacked [layers, B, hidden] tensors or per-layer lists."""
    if isinstance(state[0], torch.Tensor):
        return tuple(s[:, rows] for s in state)
    return tuple([x[rows] for x in part] for part in state)


_FAST_STEP_OK: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _stepper(model: Any, state: tuple) -> Callable:
    """model.step, or the same computation with one torch.lstm_cell per layer.

    On CPU, nn.LSTM called for a single time step spends milliseconds setting up
    its oneDNN kernel, ten times the arithmetic; lstm_cell has no such cost.  The
    fast step keeps the state as per-layer lists (no stacking per character) and
    takes a stacked state too.  It is used for a CharLSTM-shaped model (embed ->
    nn.LSTM -> head, in eval mode) and only after it gave model.step's answer on
    a test step (checked once per model)."""
    lstm, embed, head = (getattr(model, name, None) for name in ("lstm", "embed", "head"))
    where_embed = getattr(model, "where", None) if reads_positions(model) else None

    def plain_step(ids: torch.Tensor, state: tuple, where: torch.Tensor | None = None) -> tuple[torch.Tensor, tuple]:
        return model.step(ids, state) if where is None else model.step(ids, state, where)

    if (
        not isinstance(lstm, torch.nn.LSTM)
        or not isinstance(embed, torch.nn.Embedding)
        or not isinstance(head, torch.nn.Linear)
        or model.training
        or lstm.bidirectional
        or lstm.proj_size
        or not lstm.batch_first
    ):
        return plain_step
    layers = [
        tuple(getattr(lstm, f"{w}_l{k}", None) for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        for k in range(lstm.num_layers)
    ]

    def fast_step(ids: torch.Tensor, state: tuple, where: torch.Tensor | None = None) -> tuple[torch.Tensor, tuple]:
        h, c = state
        x = embed(ids)
        if where_embed is not None:
            if where is None:
                raise ValueError("this model reads each character's position in its piece: give `where`")
            x = x + where_embed(where)
        hs, cs = [], []
        for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
            x, ck = torch.lstm_cell(x, (h[k], c[k]), w_ih, w_hh, b_ih, b_hh)
            hs.append(x)
            cs.append(ck)
        return head(x), (hs, cs)

    ok = _FAST_STEP_OK.get(model)
    if ok is None:
        probe = torch.zeros(state[0].shape[1], dtype=torch.long, device=state[0].device)
        at = probe if where_embed is not None else None
        want, (want_h, want_c) = plain_step(probe, state, at)
        got, (got_h, got_c) = fast_step(probe, state, at)
        ok = all(
            torch.allclose(a, b, rtol=1e-4, atol=1e-5)
            for a, b in ((want, got), (want_h, torch.stack(got_h)), (want_c, torch.stack(got_c)))
        )
        _FAST_STEP_OK[model] = ok
    return fast_step if ok else plain_step


class _Masker:
    """Turns grammar answers into -inf logits, one cached boolean row per distinct answer."""

    def __init__(self, vocab: Vocab, device: torch.device):
        self.vocab = vocab
        self.device = device
        self.rows: dict[str | None, int] = {None: 0}
        self.table = [torch.ones(len(vocab), dtype=torch.bool)]  # row 0: everything allowed
        self.stacked = torch.stack(self.table).to(device)

    def row(self, allowed: str | None) -> int:
        r = self.rows.get(allowed)
        if r is None:
            known = [c for c in set(allowed) if not self.vocab.missing(c)]
            if not known:
                r = 0  # nothing the model knows: do not mask
            else:
                mask = torch.zeros(len(self.vocab), dtype=torch.bool)
                mask[torch.as_tensor(self.vocab.encode("".join(known)).astype("int64"))] = True
                r = len(self.table)
                self.table.append(mask)
                self.stacked = torch.stack(self.table).to(self.device)
            self.rows[allowed] = r
        return r

    def apply(self, logits: torch.Tensor, answers: list[str | None]) -> torch.Tensor:
        idx = [self.row(a) for a in answers]
        if not any(idx):
            return logits
        mask = self.stacked[torch.as_tensor(idx, device=self.device)]
        return logits.masked_fill(~mask, float("-inf"))


def generate_pieces(
    loaded: Any,
    codec: Scheme,
    seed: str | None = None,
    num: int = 1,
    length: int = 2000,
    temperature: float = 1.0,
    top_k: int | None = None,
    free: bool = False,
    random_seed: int | None = None,
    device: str | torch.device | None = None,
    rerank: int = 1,
    cadence_temperature: float | None = None,
    bar_candidates: int | None = None,
    bar_recall: tuple[int, ...] | None = None,
    rank_lengths: bool = False,
) -> list[str]:
    """Pieces from a loaded checkpoint: its model and vocabulary, the codec's grammar
    (unless `free`), stopping at the blank line that ends a piece.  The seed defaults
    to the model's usual one (meta "sample_seed"), else to how the codec starts a
    piece (its `seed`, e.g. "X:1" for ABC).  `rerank` > 1 samples that many
    candidates per piece and keeps the `num` the model finds most likely (mean
    log-likelihood per character), in the order they were sampled.  `bar_candidates` > 1
    samples every bar that many times and keeps the likeliest, and `bar_recall` adds copies of
    the bars that many bars back to the candidates (`generate`; None: the scheme's
    `bar_candidates` and `bar_recall`, and its `cadence_temperature`); bars are ranked
    without the characters that write note lengths (the scheme's `length_chars`) unless
    `rank_lengths`.  A model trained with every piece in one home key (`Scheme.to_home`) is
    given the seed moved home, and its pieces come back in the seed's key or in keys drawn
    from its corpus's."""
    if rerank < 1:
        raise UsageError(f"rerank must be at least 1, got {rerank}")
    if bar_candidates is None:
        bar_candidates = codec.bar_candidates
    if not 1 <= bar_candidates <= MAX_BAR_CANDIDATES:
        raise UsageError(f"bar_candidates must be from 1 to {MAX_BAR_CANDIDATES}, got {bar_candidates}")
    if seed is None:
        seed = default_seed(loaded.meta, codec.seed)
    if device is None:
        device = next(loaded.model.parameters()).device
    options = loaded.meta.get("scheme_options") or {}
    grammar = lambda: codec.grammar(options)  # noqa: E731  (`free`: it only tells a model positions)
    scores: list[float] = []
    try:
        home_seed, back = codec.to_home(seed, options)
    except ValueError as e:
        raise UsageError(f"the model's scheme options: {e}") from None
    texts = generate(
        loaded.model,
        loaded.vocab,
        home_seed,
        num=num * rerank,
        bar_candidates=bar_candidates,
        length=length,
        temperature=temperature,
        top_k=top_k,
        grammar=grammar,
        stop=END_OF_PIECE,
        random_seed=random_seed,
        device=device,
        scores=scores if rerank > 1 else None,
        cadence_temperature=codec.cadence_temperature if cadence_temperature is None else cadence_temperature,
        bar_recall=codec.bar_recall if bar_recall is None else bar_recall,
        unranked="" if rank_lengths else codec.length_chars,
        mask=not free,
    )
    if rerank > 1:
        best = sorted(sorted(range(len(texts)), key=lambda i: -scores[i])[:num])
        texts = [texts[i] for i in best]
    if home_seed == seed and back == 0:
        return texts
    return _away(codec, texts, seed, home_seed, back, options, random_seed)


def _away(codec: Scheme, texts: list[str], seed: str, home_seed: str, back: int | None, options, random_seed):
    """Pieces of a model trained at home (`Scheme.to_home`) moved back to the seed's key or to
    keys drawn from its corpus's (seeded by `random_seed`), each starting with the seed as given."""
    rng = random.Random(random_seed)
    moved_seed = codec.from_home(home_seed, back, options, rng) if back is not None else home_seed
    out = []
    for text in texts:
        text = codec.from_home(text, back, options, rng)
        if text.startswith(moved_seed):
            text = seed + text[len(moved_seed) :]
        out.append(text)
    return out


def default_seed(meta: dict, fallback: str = "X:1") -> str:
    """The seed a model's pieces start with: meta's "sample_seed" (or a string "seed"), else `fallback`."""
    for key in ("sample_seed", "seed"):
        value = meta.get(key)
        if isinstance(value, str):
            return value
    return fallback
