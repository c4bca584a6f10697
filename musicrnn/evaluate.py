"""How good is a model?  Bits per character against baselines, and what its samples are like.

    stream --split_pieces (the training run's split)--> train pieces | held-out pieces
    model bpc on held-out     vs   best char n-gram (orders 1-8)   vs   xz -9e given the train text
    N sampled pieces: decode without repair? bars the meter's length? novel (no 24-char run of
    the music copied from the training text)?  The same novelty share for the held-out real
    pieces says what "novel" is worth on this corpus (folk collections repeat phrases).

A model is worth its weights when its bpc is clearly under both baselines;
`report_rows` gives the table the CLI prints, with the improvement in percent.

Progress: `evaluate` tells `on_stage` each of the `STAGES` as it begins and `on_count(done,
total, unit)` how far the stage is in its own units (characters scored, n-gram orders, bytes
compressed, pieces checked, ...), `total` None where it is not known ahead (the sampling: a
piece ends when the model ends it), so a progress bar's ETA comes from the measured rate.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from encoders import PIECE_SEPARATOR, Scheme, UsageError
from musicrnn.data import PIECE_START, Batches, Vocab, eval_windows, piece_positions, split_pieces
from musicrnn.model import needs_positions
from musicrnn.music import music_rows, set_figures
from musicrnn.ngram import best_ngram, xz_alone_bits_per_char, xz_bits_per_char
from musicrnn.sample import generate_pieces
from musicrnn.train import evaluate as validation_bits

__all__ = ["EvalReport", "NgramIndex", "evaluate", "model_bits_per_char", "novelty", "report_rows"]


# --------------------------------------------------------------------------- model bits per char


def model_bits_per_char(
    model: Any,
    vocab: Vocab,
    text: str,
    device: str | torch.device = "cpu",
    batch_size: int = 16,
    seq_len: int = 256,
    on_count: Callable[[int, int], None] | None = None,
    grammar: Callable[[], Any] | None = None,
) -> float:
    """Bits per character the model needs for `text` (pieces separated by blank lines),
    predicting each character from those before it in its piece.

    Every piece is read the way the model was trained and is sampled: from a zero state
    fed a newline (musicrnn.data.Batches, in stream order, `batch_size` pieces at a time,
    long pieces in windows of `seq_len` with the state carried), scored as training's
    validation is (musicrnn.train.evaluate).  `on_count(done, total)` is told the characters
    scored so far, of all of them, as each window is done.  A model with positions
    (musicrnn.model) is told them by `grammar` (a scheme's, made fresh per piece), as in
    training (musicrnn.data.piece_positions)."""
    if vocab.missing(PIECE_START):
        raise UsageError("scoring pieces needs the newline in the vocabulary")
    ids = vocab.encode(PIECE_START + text)
    where = piece_positions(ids, vocab, grammar) if needs_positions(model, grammar) else None
    batches = eval_windows(ids, batch_size, seq_len, int(vocab.encode(PIECE_START)[0]), where)
    if batches is None:
        raise UsageError("text must have at least one character to score")
    if on_count is None:
        return validation_bits(model, batches, None, torch.device(device), contextlib.nullcontext)
    counted = _Scored(batches, on_count)
    bits = validation_bits(model, counted, None, torch.device(device), contextlib.nullcontext)
    counted.flush()
    return bits


class _Scored:
    """Validation windows that tell `on_count(done, total)` the characters scored so far as each
    window is done: when the next one is asked for, and at the end (`flush`)."""

    def __init__(self, batches: Batches, on_count: Callable[[int, int], None]):
        starts, stops = batches.pieces
        self.batches, self.on_count = batches, on_count
        self.total = int((stops - starts - 1).sum())  # every piece's predictions, once
        self.done = self.pending = 0
        on_count(0, self.total)

    def __len__(self) -> int:
        return len(self.batches)

    def set_position(self, position: dict[str, int]) -> None:
        self.batches.set_position(position)

    def next(self):
        self.flush()
        batch = self.batches.next()
        self.pending = batch.scored
        return batch

    def flush(self) -> None:
        if self.pending:
            self.done, self.pending = self.done + self.pending, 0
            self.on_count(self.done, self.total)


@contextlib.contextmanager
def _counting_steps(model: Any, on_count: Callable[[int, None], None] | None) -> Iterator[None]:
    """While sampling: `on_count(characters, None)` as the model reads each step's characters,
    every candidate stream's (a hook on its embedding, where it has one; none otherwise), so
    the count is the model's steps (its one-off check of the fast step included).  No total:
    a piece ends when the model writes its end, so there is no honest ETA to give."""
    embed = getattr(model, "embed", None)
    if on_count is None or not isinstance(embed, torch.nn.Module):
        yield
        return
    done = 0

    def step_read(module, args, output) -> None:
        nonlocal done
        ids = args[0] if args else None
        if isinstance(ids, torch.Tensor) and (ids.dim() == 1 or ids.shape[-1] == 1):  # a step, not the primer
            done += int(ids.shape[0])
            on_count(done, None)

    handle = embed.register_forward_hook(step_read)
    try:
        on_count(0, None)
        yield
    finally:
        handle.remove()


# --------------------------------------------------------------------------- novelty


class NgramIndex:
    """Every run of n characters of a text, as sorted 64-bit rolling hashes (built once).

    A 5 MB text takes about a second and 40 MB; a query is a searchsorted."""

    _MULT = np.uint64(0x100000001B3)  # an odd multiplier (FNV prime); wraps mod 2**64

    def __init__(self, text: str, n: int = 24):
        if n < 1:
            raise UsageError(f"n must be at least 1, got {n}")
        self.n = n
        self.text = text
        self.hashes = np.unique(self._hashes(text))

    def _hashes(self, text: str) -> np.ndarray:
        """Hash of the n-run starting at each position (empty when the text is shorter than n)."""
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64) + np.uint64(1)
        m = len(points) - self.n + 1
        if m <= 0:
            return np.zeros(0, dtype=np.uint64)
        h = points[:m].copy()
        with np.errstate(over="ignore"):
            for j in range(1, self.n):  # in place: no temporaries of the text's size
                h *= self._MULT
                h += points[j : j + m]
        return h

    def copies(self, text: str) -> bool:
        """Whether any n-run of `text` is in the indexed text (a text shorter than n:
        whether it appears whole)."""
        if len(text) < self.n:
            return text in self.text
        q = self._hashes(text)
        if not len(self.hashes):
            return False
        pos = np.minimum(np.searchsorted(self.hashes, q), len(self.hashes) - 1)
        return bool((self.hashes[pos] == q).any())


def is_novel(index: NgramIndex, codec: Scheme, sample: str, options: dict) -> bool:
    """Whether a sample copies no run of the training text: as written, nor, for a model
    trained at home on C (`Scheme.to_home`: it wrote the tune in C and moved it out), as it
    was written at home."""
    home = codec.to_home(sample, options)[0]
    return not index.copies(codec.body(sample)) and (home == sample or not index.copies(codec.body(home)))


def novelty(samples_bodies: list[str], train_text: str, n: int = 24) -> list[bool]:
    """For each sample (its music, without header): True when no run of n characters of it
    appears in the training text.  A body shorter than n is novel unless it appears whole."""
    index = NgramIndex(train_text, n)
    return [not index.copies(b) for b in samples_bodies]


# --------------------------------------------------------------------------- the report


@dataclass
class EvalReport:
    scheme: str
    model_path: str
    train_chars: int
    val_chars: int
    val_pieces: int
    model_bpc: float
    ngram_order: int
    ngram_bpc: float
    ngram_by_order: dict[int, float]
    xz_bpc: float
    """Conditional: the held-out text's extra cost after the training text."""
    xz_alone_bpc: float
    num_samples: int
    temperature: float
    free: bool
    share_clean: float
    """Samples that decode with no repair."""
    share_bars_ok: float
    """Samples whose every bar has the meter's length (bars_ok True)."""
    share_novel: float
    share_novel_real: float
    """Novelty of the held-out real pieces, for reference."""
    mean_sample_chars: float
    seconds: dict[str, float] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    music: list[tuple[str, str, str, str]] = field(default_factory=list)
    """The music table (musicrnn.music.music_rows): measure, generated, held-out real, training real."""

    @property
    def improvement_vs_ngram_pct(self) -> float:
        """How many percent fewer bits than the best n-gram (positive = model better)."""
        return 100.0 * (self.ngram_bpc - self.model_bpc) / self.ngram_bpc

    @property
    def improvement_vs_xz_pct(self) -> float:
        return 100.0 * (self.xz_bpc - self.model_bpc) / self.xz_bpc


def _stream(pieces: list[str]) -> str:
    """Pieces as the training stream writes them: each ends with a newline and a blank line."""
    return "".join((p if p.endswith("\n") else p + "\n") + PIECE_SEPARATOR for p in pieces)


def _split_settings(meta: dict[str, Any]) -> tuple[float, int]:
    """The training run's validation fraction and split seed (meta "hyperparameters",
    as train.py writes them, or the top level), else split_pieces' defaults."""
    fraction, seed = 0.05, 1234
    for section in (meta, meta.get("hyperparameters")):
        if not isinstance(section, dict):
            continue
        f, s = section.get("val_fraction"), section.get("split_seed")
        if isinstance(f, (int, float)) and not isinstance(f, bool):
            fraction = float(f)
        if isinstance(s, int) and not isinstance(s, bool):
            seed = s
    return fraction, seed


STAGES = (
    "scoring the held-out pieces",
    "n-gram baselines",
    "xz baselines",
    "sampling pieces",
    "checking the samples",
    "the music table",
)
"""What `evaluate` does, in order (its `on_stage` is told each as it begins)."""

UNITS = ("characters", "orders", "bytes", "characters sampled", "samples", "parts")
"""The unit each of the `STAGES` counts its progress in (`evaluate`'s `on_count`)."""


def evaluate(
    loaded: Any,
    codec: Scheme,
    stream_text: str,
    num_samples: int = 50,
    temperature: float = 1.0,
    random_seed: int = 0,
    free: bool = False,
    device: str | torch.device = "cpu",
    length: int = 2000,
    orders: range = range(1, 9),
    rerank: int = 1,
    bar_candidates: int | None = None,
    bar_recall: tuple[int, ...] | None = None,
    rank_lengths: bool = False,
    on_stage: Callable[[str], None] | None = None,
    on_count: Callable[[int, int | None, str], None] | None = None,
) -> EvalReport:
    """Score a loaded checkpoint on the held-out pieces of the stream it was trained on,
    against n-gram and xz baselines, and sample `num_samples` pieces to check.  `on_stage(what)`
    is told each of the `STAGES` as it begins, `on_count(done, total, unit)` how far the stage
    is in its unit (`UNITS`; `total` None where it is not known ahead)."""
    times: dict[str, float] = {}
    clock = time.perf_counter()
    stages = iter(STAGES)
    units = iter(UNITS)
    unit = UNITS[0]

    def count(done: int, total: int | None) -> None:
        if on_count:
            on_count(done, total, unit)

    def lap(name: str) -> None:
        nonlocal clock, unit
        now = time.perf_counter()
        times[name] = now - clock
        clock = now
        stage, unit = next(stages, None), next(units, unit)
        if on_stage and stage:
            on_stage(stage)

    fraction, split_seed = _split_settings(loaded.meta)
    train_pieces, val_pieces = split_pieces(stream_text, val_fraction=fraction, seed=split_seed)
    if not val_pieces:
        raise UsageError("the stream has fewer than two pieces: nothing held out to evaluate on")
    train_text, val_text = _stream(train_pieces), _stream(val_pieces)
    missing = loaded.vocab.missing(val_text)
    if missing:
        raise UsageError(
            f"the held-out pieces hold characters the model {loaded.path} does not know "
            f"({', '.join(map(repr, missing[:10]))}): is this the stream it was trained on?"
        )

    unit = next(units)
    if on_stage:
        on_stage(next(stages))
    options = loaded.meta.get("scheme_options") or {}
    model_bpc = model_bits_per_char(
        loaded.model, loaded.vocab, val_text, device=device, on_count=count, grammar=lambda: codec.grammar(options)
    )
    lap("model")
    wanted = sorted(set(orders))
    count(0, len(wanted))
    order, ngram_bpc, by_order = best_ngram(
        train_text, val_text, wanted, on_order=lambda k: count(wanted.index(k) + 1, len(wanted))
    )
    lap("ngram")
    xz_bpc, xz_alone = _xz_baselines(train_text, val_text, count)
    lap("xz")

    samples = []
    if num_samples > 0:
        with _counting_steps(loaded.model, count):
            samples = generate_pieces(
                loaded,
                codec,
                seed=None,
                num=num_samples,
                length=length,
                temperature=temperature,
                free=free,
                random_seed=random_seed,
                device=device,
                rerank=rerank,
                bar_candidates=bar_candidates,
                bar_recall=bar_recall,
                rank_lengths=rank_lengths,
            )
    lap("sample")
    index = NgramIndex(train_text, 24)
    novel_real = [not index.copies(codec.body(p)) for p in val_pieces]
    count(0, len(samples))  # then the samples, each decoded and checked: alike units, an honest rate
    decoded, novel = [], []
    options = loaded.meta.get("scheme_options") or {}
    for s in samples:
        decoded.append(codec.decode(s))
        novel.append(is_novel(index, codec, s, options))
        count(len(novel), len(samples))
    lap("check")
    music = music_section(codec, samples, train_pieces, val_pieces, random_seed, on_part=count) if samples else []
    lap("music")

    share = lambda flags: sum(flags) / len(flags) if flags else float("nan")  # noqa: E731
    return EvalReport(
        scheme=codec.name,
        model_path=str(loaded.path),
        train_chars=len(train_text),
        val_chars=len(val_text),
        val_pieces=len(val_pieces),
        model_bpc=model_bpc,
        ngram_order=order,
        ngram_bpc=ngram_bpc,
        ngram_by_order=by_order,
        xz_bpc=xz_bpc,
        xz_alone_bpc=xz_alone,
        num_samples=len(samples),
        temperature=temperature,
        free=free,
        share_clean=share([d.clean for d in decoded]),
        share_bars_ok=share([d.bars_ok is True for d in decoded]),
        share_novel=share(novel),
        share_novel_real=share(novel_real),
        mean_sample_chars=float(np.mean([len(s) for s in samples])) if samples else float("nan"),
        seconds=times,
        samples=samples,
        music=music,
    )


def _xz_baselines(train_text: str, val_text: str, count: Callable[[int, int], None]) -> tuple[float, float]:
    """xz given the training text and xz of the held-out text alone, `count`ing the bytes
    compressed (the training text alone, then with the held-out text, then that alone)."""
    train, val = len(train_text.encode("utf-8")), len(val_text.encode("utf-8"))
    total = 2 * train + 2 * val
    count(0, total)
    given = xz_bits_per_char(train_text, val_text)
    count(2 * train + val, total)
    alone = xz_alone_bits_per_char(val_text)
    count(total, total)
    return given, alone


MUSIC_PARTS = 4
"""What `music_section` counts (`on_part`): the figures of the generated, held-out and training
pieces, then the corpus's headers."""


def music_section(
    codec: Scheme,
    samples: list[str],
    train_pieces: list[str],
    val_pieces: list[str],
    random_seed: int = 0,
    known_cap: int = 3000,
    on_part: Callable[[int, int], None] | None = None,
) -> list[tuple[str, str, str, str]]:
    """The music table for `samples` beside as many held-out real pieces and as many training
    pieces (real vs real), chosen at random (seeded).  The corpus's meter, mode and R:
    distributions come from every training piece's header where the codec can read headers
    alone, else from `known_cap` of them.  `on_part(done, MUSIC_PARTS)` is told as each part
    is done."""
    part = on_part or (lambda done, total: None)
    part(0, MUSIC_PARTS)
    rng = np.random.default_rng(random_seed)
    n = len(samples)
    real = [val_pieces[i] for i in sorted(rng.choice(len(val_pieces), min(n, len(val_pieces)), replace=False))]
    reference = [
        train_pieces[i] for i in sorted(rng.choice(len(train_pieces), min(n, len(train_pieces)), replace=False))
    ]
    figures = []
    for texts in (samples, real, reference):
        figures.append(set_figures(codec, texts))
        part(len(figures), MUSIC_PARTS)
    generated_f, real_f, reference_f = figures
    first = codec.figures(train_pieces[0], header_only=True) if train_pieces else None
    if first is not None:  # the scheme reads headers alone: every training piece's
        heads = [first] + [codec.figures(p, header_only=True) for p in train_pieces[1:]]
    else:
        pick = rng.choice(len(train_pieces), min(known_cap, len(train_pieces)), replace=False)
        heads = [vars(f) for f in set_figures(codec, [train_pieces[i] for i in pick]).pieces]
    corpus = {what: Counter(h[what] for h in heads if h[what] is not None) for what in ("meter", "mode", "rhythm")}
    part(MUSIC_PARTS, MUSIC_PARTS)
    return music_rows(generated_f, real_f, reference_f, corpus)


def report_rows(report: EvalReport) -> list[tuple[str, str]]:
    """(measure, value) rows for a table."""
    pct = lambda x: f"{100 * x:.0f}%"  # noqa: E731
    fewer = lambda x: f"{abs(x):.1f}% {'fewer' if x >= 0 else 'more'} bits"  # noqa: E731
    r = report
    return [
        ("held-out text", f"{r.val_pieces} pieces, {r.val_chars:,} chars (train {r.train_chars:,})"),
        ("model bits/char", f"{r.model_bpc:.3f}"),
        (f"best n-gram bits/char (order {r.ngram_order})", f"{r.ngram_bpc:.3f}"),
        ("xz -9e bits/char of the held-out text", f"{r.xz_alone_bpc:.3f}"),
        ("xz -9e bits/char given the training text", f"{r.xz_bpc:.3f}"),
        ("model vs n-gram", fewer(r.improvement_vs_ngram_pct)),
        ("model vs xz of the held-out text", fewer(100 * (1 - r.model_bpc / r.xz_alone_bpc))),
        ("model vs xz given the training text", fewer(r.improvement_vs_xz_pct)),
        (
            "samples",
            f"{r.num_samples} at temperature {r.temperature:g}"
            + (" (free)" if r.free else " (grammar-guided)")
            + f", mean {r.mean_sample_chars:.0f} chars",
        ),
        ("samples decoding without repair", pct(r.share_clean)),
        ("samples with every bar the meter's length", pct(r.share_bars_ok)),
        ("samples novel (no 24-char run of the music in train)", pct(r.share_novel)),
        ("held-out real pieces novel, for reference", pct(r.share_novel_real)),
    ]
