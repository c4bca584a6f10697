"""What each musicrnn command does, as functions a Python user can call too.

    >>> import musicrnn
    >>> pieces = musicrnn.generate(model="folk", num=4, seed="X:1")        # doctest: +SKIP
    >>> pieces[0].text, len(pieces[0].piece.notes)                          # doctest: +SKIP
    >>> musicrnn.render_file("tune.abc", "tune.wav")                       # doctest: +SKIP

Every function checks its options, then every file it will write (musicrnn.overwrite:
what it may replace) before any work, does the work and returns what it made: `Pieces`
(a list of `Source`, each a piece's music `.piece`, its `.text`, `.scheme`, `.name` and
`.repairs`, with `.written` the files written) or a report.  A problem the user can fix
raises an `encoders.UsageError` whose message is one line naming the option (as the
command line spells it: --num) or the file.  The command line (musicrnn.cli) parses
flags, calls these functions and prints what they return.

Torch is imported only by the functions that sample or train, not by importing this.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import encoders
from encoders import UsageError
from encoders.tab.arranging import ARRANGED_FILES
from musicrnn.outputs import (
    AUDIO,
    MIDI_SUFFIXES,
    RENDER_SUFFIXES,
    Source,
    mark_continuation,
    numbered,
    piece_files,
    piece_suffixes,
    read_pieces,
    side_texts,
    write_piece,
)

__all__ = [
    "Continuation",
    "Encoded",
    "NothingToEncode",
    "OptionError",
    "Pieces",
    "Trained",
    "audition_page",
    "continue_file",
    "decode",
    "encode_files",
    "evaluate_model",
    "generate",
    "read_seed",
    "render_file",
    "serve_page",
    "train_model",
    "train_progress",
]

DEFAULT_MODEL = "folk"
"""The bundled model `generate` and `evaluate` use when none is named."""
CONTINUATION_MODEL = "midi"
"""The bundled model `continue_file` uses when none is named."""
TEXT_SUFFIXES = (".abc", ".txt")
OUTPUT_KINDS = (
    "MIDI .mid, audio .wav .flac .ogg, sheet music .svg, MusicXML .musicxml, piano roll .png, "
    "guitar tab .tab and Guitar Pro .gp5 (any piece, fretted in standard tuning): one file a piece"
)
"""What `decode`, `render` and `generate` write by the output's ending, in words (for help texts)."""
"""Output names that take the pieces' text whatever their scheme (one file for all)."""
MAX_SAMPLE_CHARS = 50_000_000
"""generate: --num x --length at most this (the sampled ids alone take 8 bytes each)."""
MAX_RANDOM_SEED = 2**32 - 1

Log = Callable[[str], None] | None
"""Where a use case says what it is doing as it goes (the command line: stderr); None: nowhere."""


class OptionError(UsageError):
    """An option, or a combination of options, that cannot be used; the message names it."""


class NothingToEncode(UsageError):
    """encode found no playable piece in any file; `problems` says why each was skipped."""

    def __init__(self, problems: list):
        super().__init__("nothing to write: no file gave a playable piece")
        self.problems = problems


class Pieces(list):
    """Pieces (each a `Source`: .piece the music, .text, .scheme, .name, .repairs), with the
    files written for them (`written`) and what was replaced or removed (`notes`)."""

    def __init__(self, pieces: Iterable[Source] = (), written: Iterable[Path] = (), notes: Iterable[str] = ()):
        super().__init__(pieces)
        self.written = list(written)
        self.notes = list(notes)

    @property
    def note_count(self) -> int:
        return sum(len(p.piece.notes) for p in self)

    @property
    def repaired(self) -> int:
        """How many pieces needed a repair to play."""
        return sum(1 for p in self if p.repairs)


# ---- checks of options (named as the command line spells them)


def check_temperature(temperature: float, flag: str = "--temperature") -> None:
    if not (math.isfinite(temperature) and 1e-6 <= temperature <= 1000):
        raise OptionError(f"{flag} must be a number above 0 (from 0.000001 to 1000), not {temperature}")


def check_random_seed(seed: int | None) -> None:
    if seed is not None and not 0 <= seed <= MAX_RANDOM_SEED:
        raise OptionError(f"--random-seed must be a whole number from 0 to {MAX_RANDOM_SEED}, not {seed}")


def check_bar_candidates(candidates: int | None) -> None:
    """--bar-candidates: None (the default, 4) or 1 (plain sampling) to 32."""
    if candidates is not None and not 1 <= candidates <= 32:
        raise OptionError(f"--bar-candidates must be from 1 to 32, not {candidates}")


MAX_BAR_RECALL = 64


def bar_recall_of(text: str | tuple[int, ...] | None) -> tuple[int, ...] | None:
    """--bar-recall: None (the scheme's default), "0" (none), or bars back, comma-separated; a
    tuple (from Python) is already bars back."""
    if text is None or isinstance(text, tuple):
        return text
    try:
        backs = tuple(sorted({int(x) for x in text.replace(" ", "").split(",")}))
    except ValueError:
        backs = (-1,)
    if not backs or any(not 0 <= b <= MAX_BAR_RECALL for b in backs) or len(backs) > 4:
        raise OptionError(f"--bar-recall takes up to 4 bar counts from 1 to {MAX_BAR_RECALL} (0: off), not {text!r}")
    return tuple(b for b in backs if b)


def check_rerank(rerank: int, num: int) -> None:
    if not 1 <= rerank <= 64:
        raise OptionError(f"--rerank must be from 1 to 64, not {rerank}")
    if rerank * num > 10_000:
        raise OptionError(f"--rerank {rerank} x {num} pieces is {rerank * num:,} candidates; at most 10,000 in one run")


def _check_sampling(num: int, length: int, temperature: float, random_seed: int | None, top_k: int | None) -> None:
    if num < 1 or num > 4096:
        raise OptionError(f"--num must be between 1 and 4096, not {num}")
    if length < 1 or length > 1_000_000:
        raise OptionError(f"--length must be between 1 and 1000000, not {length}")
    if num * length > MAX_SAMPLE_CHARS:
        raise OptionError(
            f"--num {num} x --length {length} is {num * length:,} characters; at most {MAX_SAMPLE_CHARS:,} in one run"
        )
    _check_continuation_sampling(temperature, random_seed, top_k)


def _check_continuation_sampling(temperature: float, random_seed: int | None, top_k: int | None) -> None:
    check_temperature(temperature)
    check_random_seed(random_seed)
    if top_k is not None and top_k < 1:
        raise OptionError(f"--top-k must be at least 1, not {top_k}")


def program(instrument: str | int | None) -> int | None:
    """The General MIDI program of an instrument (a number or a name); None for None."""
    from musicrnn.audio import instrument_program

    return None if instrument is None else instrument_program(instrument)


def pick_device(name: str):
    from musicrnn.train import pick_device as pick

    return pick(name)


def main_process() -> bool:
    """False in the other ranks of a torchrun run: rank 0 alone reports and writes pictures."""
    return os.environ.get("RANK", "0") == "0"


# ---- schemes and models


def codec_for_text(text: str, scheme: str | None, path: str | None = None, where: str | None = None):
    """The codec for a text: `scheme` (checked against what the text looks like), else the
    file's extension (`path`), else the text itself; `where` names the text in errors."""
    where = where or path or "input"
    if scheme:
        codec = encoders.get(scheme)
        other = looks_like_other_scheme(text, codec)
        if other is not None:
            raise OptionError(
                f"{where}: this is {other.name} text, not {codec.name}; "
                f"give --scheme {other.name} (or leave --scheme out)"
            )
        return codec
    codec = (encoders.codec_for_path(path) if path else None) or encoders.sniff(text)
    if codec is None:
        raise OptionError(
            f"{where}: cannot tell the scheme of this text; give --scheme "
            f"({', '.join(c.name for c in encoders.all_codecs())})"
        )
    return codec


def looks_like_other_scheme(text: str, codec):
    """The codec whose text `text` plainly is, when that is not `codec`'s (else None)."""
    other = encoders.sniff(text)
    return other if other is not None and other is not codec and not codec.sniff(text) else None


def model_codec(loaded):
    """The codec of a loaded model's scheme; a one-line error for a scheme this musicrnn lacks."""
    try:
        return encoders.get(loaded.scheme)
    except KeyError as e:
        raise OptionError(
            f"{loaded.path}: the model was trained on scheme {loaded.scheme!r}, which this "
            f"musicrnn cannot read ({e.args[0]})"
        ) from None


def check_model_writes(loaded, codec, seed: str | None = None) -> None:
    """A one-line error naming the model when its vocabulary lacks characters of the seed
    (`seed`, or when None the one its pieces start with): a model whose meta.json names a
    scheme it was not trained on would otherwise fail deep inside the sampler."""
    from musicrnn.data import UnknownCharacters
    from musicrnn.sample import default_seed

    text = seed if seed is not None else default_seed(loaded.meta, codec.seed)
    missing = loaded.vocab.missing(_sampled_seed(codec, text, loaded.meta.get("scheme_options") or {}))
    if not missing:
        return
    if seed is not None:
        hint = f"{loaded.path} writes the {codec.name} scheme, whose pieces start like {codec.seed!r}"
    else:
        hint = (
            f"{loaded.path} cannot start a piece of its {codec.name} scheme ({text!r}): "
            f"was it trained on another scheme than its meta.json says?"
        )
    raise UnknownCharacters(missing).with_hint(hint)


def _complete_seed(loaded, codec, seed: str | None, log: Log) -> str | None:
    """The seed as the model writes a piece's start (an ABC header in the model's order, L:
    filled in), said when it changed; characters the model lacks are the first thing to say."""
    if seed:
        try:
            completed = codec.complete_seed(seed)
        except UsageError:
            check_model_writes(loaded, codec, seed)
            raise
        if completed != seed and log:
            log(f"seed completed as the model writes a header: {completed!r}")
        seed = completed
    check_model_writes(loaded, codec, seed)
    return seed


# ---- outputs


def check_outputs(out: str | None, force: bool, codec, count: int, inputs=(), side_text: bool = False):
    """The files a command will write for `count` pieces to `out`, checked before any work
    (musicrnn.overwrite: what it may replace); None for stdout ("-") or no output (None).
    `side_text`: the pieces' text is written beside music files too (generate)."""
    from musicrnn.overwrite import Outputs

    if out is None or out == "-":
        return None
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix in piece_suffixes(codec):
        files = [numbered(path, i, count) for i in range(count)]
        named, others = (files, []) if count == 1 else ([], files)
        if side_text:
            others += side_texts(path, codec, count)
    elif suffix in TEXT_SUFFIXES or (suffix in codec.suffixes and suffix not in codec.binary_suffixes):
        named, others = [path], []
    else:
        raise OptionError(
            f"{out}: unknown output type {suffix or '(none)'}; use {', '.join(RENDER_SUFFIXES)}, "
            f"{', '.join(sorted(set(TEXT_SUFFIXES + codec.suffixes)))} or - for stdout"
        )
    outputs = Outputs(path, force=force, inputs=inputs)
    outputs.check(named=named, others=others)
    return outputs


def _stream(texts: list[str], codec) -> str:
    """Piece texts as one file of the scheme, numbered 1, 2 ... (ABC's X: field)."""
    return encoders.join_stream(codec.label(t, i + 1) for i, t in enumerate(texts))


def write_pieces(
    pieces: list,
    texts: list[str],
    codec,
    out: str | None,
    outputs,
    soundfont=None,
    program: int | None = None,
    side_text: bool = False,
    said: list[str] | None = None,
) -> list[Path]:
    """Write pieces by the output's extension: text (all in one file, numbered), or one file per
    piece of MIDI, audio, sheet music or piano roll (musicrnn.outputs), or stdout ("-");
    nothing for None.  `side_text`: music files get the texts beside them too (NAME.abc).
    `outputs` (from check_outputs) reports a failed write with what was and was not written.
    `said` gets a line for each piece arranged for the guitar (a .tab or .gp5 of a piece that
    is no tab): what the arrangement moved or dropped."""
    from musicrnn.atomic import write_text

    if out is None:
        return []
    if out == "-":
        sys.stdout.write(_stream(texts, codec))
        return []
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() not in piece_suffixes(codec):
        outputs.write(path, lambda: write_text(path, _stream(texts, codec)))
        return [path]
    written = []
    arranged = path.suffix.lower() in ARRANGED_FILES and path.suffix.lower() not in piece_files(codec)
    for i, p in enumerate(pieces):
        target = numbered(path, i, len(pieces))
        line = outputs.write(
            target,
            functools.partial(
                write_piece, p.piece, target, text=p.text, scheme=codec.name, soundfont=soundfont, program=program
            ),
        )
        written.append(target)
        if arranged and said is not None:
            said.append(line)
    if side_text:
        for i, text_path in enumerate(side_texts(path, codec, len(pieces))):
            if text_path.suffix.lower() in piece_files(codec):  # each piece's own text file (a tab's staff)
                writer = functools.partial(write_piece, pieces[i].piece, text_path, text=pieces[i].text, scheme=codec)
            else:
                writer = functools.partial(write_text, text_path, _stream(texts, codec))
            outputs.write(text_path, writer)
            written.append(text_path)
    return written


def _done(outputs) -> list[str]:
    """Record what was written (musicrnn.overwrite); the notes on what was replaced or removed."""
    return [] if outputs is None else outputs.done()


# ---- encode


@dataclass(slots=True)
class Encoded:
    """What `encode_files` wrote: the stream's report (musicrnn.encode.EncodeReport), the token
    files (musicrnn.data's prepared data, None without tokens) and what was replaced;
    `corpus`: the built-in corpus encoded (its files and tunes left out are its own filtering)."""

    report: Any
    tokens: Any = None
    notes: list[str] = field(default_factory=list)
    corpus: str | None = None

    def left_out(self) -> str:
        """One line: how many files and pieces were left out, and why (counts per reason)."""
        from musicrnn.encode import reasons

        problems = self.report.skipped_files + self.report.skipped_pieces
        why = "; ".join(f"{n} {reason}" for reason, n in reasons(problems)[:6])
        files, pieces = len(self.report.skipped_files), len(self.report.skipped_pieces)
        return f"left out {files} files and {pieces} pieces" + (f" ({why})" if why else "")


def file_size(path: Path) -> int:
    """A file's size in bytes (0 when it cannot be read: it is reported when encoded)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def encode_files(
    paths: Iterable[str | os.PathLike] = (),
    out: str | os.PathLike = "",
    *,
    scheme: str | None = None,
    corpus: str | None = None,
    jobs: int = 0,
    tokens: bool = True,
    force: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[Path], None] | None = None,
    on_stream: Callable[[Any], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    **options: Any,
) -> Encoded:
    """Encode music files (or the built-in `corpus` "folk") into one stream file `out` for
    training, and the token files training reads (<stem>.tokens/) unless not `tokens`.
    `options` are the schemes' encode options (abc: titles=True; roll: grid="8t" ...: see
    each scheme's `encode_options`); without `scheme` each file's scheme takes its own.

    A broken file is skipped (Encoded.report.skipped_files); NothingToEncode when no file
    gave a piece.  `on_start(count)` is told how many files there are, `on_file(path)` follows
    them, and `on_stream(report)` is called once the stream is written, before the token files."""
    from musicrnn.data import prepare, tokens_dir
    from musicrnn.encode import check_options, collect_files, encode_to_stream
    from musicrnn.overwrite import Outputs

    if not out:
        raise OptionError("give --out, the stream file to write")
    codec = encoders.get(scheme) if scheme else None
    if corpus:
        if corpus != "folk":
            raise OptionError(f"unknown corpus {corpus!r}; built-in corpora: folk")
        from encoders.abc.corpus import folk_files

        files, missing = list(folk_files()), []
        codec = encoders.codec_for_path(files[0]) if files else codec  # the corpus's files name their scheme
    elif paths:
        files, missing = collect_files(paths, codec)
    else:
        raise OptionError("give files or folders to encode, or --corpus folk")
    check_options(codec.name if codec else None, options)  # before any file is read
    if not files and not missing:
        raise OptionError("no files to encode found")
    out = Path(out)
    outputs = Outputs(out, force=force, inputs=files)
    token_dir = Path(tokens_dir(out)) if tokens else None
    if token_dir is not None:
        check_tokens_dir(token_dir, force)
    outputs.check(named=[out], also=[token_dir] if token_dir else [])
    if jobs < 0:
        raise OptionError(f"--jobs must be 0 (one per core) or more, not {jobs}")
    if on_start:
        on_start(len(files))
    if on_bytes:  # what a truthful ETA follows: the files' sizes, not their count
        on_bytes(sum(file_size(f) for f in files))
    report = outputs.write(
        out,
        lambda: encode_to_stream(
            files, out, codec.name if codec else None, options, jobs=jobs or os.cpu_count() or 1, on_file=on_file
        ),
    )
    report.skipped_files[:0] = missing
    if not report.pieces:
        raise NothingToEncode(report.skipped_files)
    if on_stream:
        on_stream(report)
    data = outputs.write(token_dir, lambda: prepare(out)) if token_dir is not None else None
    return Encoded(report, data, _done(outputs), corpus)


def check_tokens_dir(folder: Path, force: bool) -> None:
    """encode writes token files into <stem>.tokens/ beside the stream: refuse to replace files
    there unless musicrnn wrote them (their meta.json says so) or `force`."""
    import json

    from musicrnn.data import TOKENS_FORMAT
    from musicrnn.overwrite import OverwriteError

    if not os.path.lexists(folder):
        return
    if not folder.is_dir():
        raise OverwriteError(
            f"{folder}: exists and is not a folder; encode writes the token files there "
            "(move it away, or give --no-tokens)"
        )
    names = sorted({"train.bin", "val.bin", "meta.json"} & set(os.listdir(folder)))
    if not names or force:
        return
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        ours = isinstance(meta, dict) and meta.get("format") == TOKENS_FORMAT and "fingerprint" in meta
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise OverwriteError(
            f"{folder}: holds {', '.join(names)} that musicrnn did not write; use --force to "
            "replace them, or --no-tokens"
        )


# ---- train


@dataclass(slots=True)
class Trained:
    """What `train_model` did (musicrnn.train.TrainResult) and the loss curve it drew (or why not)."""

    result: Any
    loss_curve: Path | None = None
    no_loss_curve: str | None = None


def train_model(
    corpus: str | os.PathLike,
    out: str | os.PathLike,
    *,
    scheme: str | None = None,
    on_start: Callable[[], None] | None = None,
    on_progress: Callable[[dict], None] | None = None,
    **settings: Any,
) -> Trained:
    """Train a character-level LSTM on a stream written by `encode`; `settings` are
    musicrnn.train.TrainConfig's (hidden, layers, max_steps, max_minutes, resume, force ...).
    `on_start()` is called once the corpus and options are checked, `on_progress(event)` then
    follows the run.  An interrupted run (Ctrl-C) is saved and says so in `result.interrupted`;
    `resume=True` continues it.  `init_from` (a model folder or a bundled model's name)
    fine-tunes that model on the corpus (see `FINE_TUNING`); `sample_every` reports a
    sample (event "sample", its "text") every that many steps."""
    from musicrnn.train import TrainConfig
    from musicrnn.train import train as run_training

    check_random_seed(settings.get("random_seed"))
    if settings.get("init_from"):
        settings = {**FINE_TUNING, **{k: v for k, v in settings.items() if v is not None}}
    corpus = Path(corpus)
    if not corpus.is_file():
        why = encoders.not_a_file(corpus)
        raise OptionError(
            f"{corpus}: " + ("no such corpus file (write one with `musicrnn encode`)" if why == "no such file" else why)
        )
    with open(corpus, encoding="utf-8", errors="replace") as fh:
        head = fh.read(4096)
    codec = codec_for_text(head, scheme, None, where=str(corpus))
    cfg = TrainConfig(corpus=str(corpus), out=str(out), scheme=codec.name, **settings)
    if on_start:
        on_start()
    trained = Trained(run_training(cfg, on_progress=on_progress))
    if main_process():
        from musicrnn.pictures import PictureError, loss_curve_png

        try:
            trained.loss_curve = loss_curve_png(out)
        except PictureError as e:
            trained.no_loss_curve = str(e)
    return trained


FINE_TUNING = {"lr": 1e-4, "warmup_steps": 5, "eval_every": 10, "early_stop_patience": 5, "val_fraction": 0.2}
"""train_model's settings for fine-tuning (`init_from`) where none are given: a lower learning
rate, evaluations often enough for a corpus of tens of pieces, a fifth of them held out."""


def train_progress(event: dict, max_steps: int, max_minutes: float | None = None) -> tuple[float, str]:
    """What a `train_model` progress event says: how far the run is (0 to 1: it ends at
    `max_steps` or `max_minutes`, whichever comes first) and one line, "step 200 loss 1.234
    val 1.301 12,345 chars/s", or for a step skipped on a NaN loss what happened."""
    step = event.get("step", 0)
    done = step / max(1, event.get("max_steps", max_steps))
    if max_minutes:
        done = max(done, event.get("time", 0.0) / (60 * max_minutes))
    if event.get("event") == "nan":
        why, scale, skips = event.get("reason", "loss was NaN/inf"), event.get("lr_scale", 0), event.get("nan_skips", 0)
        return min(done, 1.0), f"step {step}: {why}; step skipped, learning rate now x{scale:g} ({skips} so far)"
    # before the first progress report (an evaluation at step 5, a stop after 0.001 minutes,
    # Ctrl-C) there is no training loss yet: None, shown as "-"
    loss, val = event.get("loss"), event.get("val_loss")
    loss = ("-" if loss is None else f"{loss:.3f}") + ("" if val is None else f" val {val:.3f}")
    return min(done, 1.0), f"step {step} loss {loss} {event.get('chars_per_s') or 0:,.0f} chars/s"


# ---- generate and continue


def generate(
    model: str | os.PathLike | None = None,
    *,
    seed: str | None = None,
    meter: str | None = None,
    key: str | None = None,
    unit: str | None = None,
    tempo: float | None = None,
    title: str | None = None,
    bars: int | None = None,
    tuning: str | None = None,
    capo: int | None = None,
    num: int = 1,
    length: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    free: bool = False,
    rerank: int = 1,
    cadence_temperature: float | None = None,
    bar_candidates: int | None = None,
    bar_recall: str | tuple[int, ...] | None = None,
    rank_lengths: bool = False,
    random_seed: int | None = None,
    device: str = "auto",
    out: str | None = None,
    force: bool = False,
    soundfont=None,
    instrument: str | int | None = None,
    log: Log = None,
) -> Pieces:
    """`num` new pieces from a model (a folder, a bundled model's name, or a model already
    loaded by musicrnn.checkpoint.load; default folk),
    each starting with `seed` (default: how the model's scheme starts a piece).

    Asked in music's terms: `meter` ("6/8"), `key` ("Ador", "D", "Em"), `unit` ("1/8"),
    `tempo` (quarter notes a minute), `tuning` ("drop D") and `capo` make the header in the
    scheme's order (`Scheme.header`; what the model never saw is a one-line error listing what
    it knows), and `seed` is then a motif of music after it; `title` names each piece; `bars`
    ends each piece at its N-th bar line (else at most `length` characters, 2000, cut back to
    the last place a piece may end).

    With `out` they are written too: .abc/.txt (all pieces in one file), "-" (stdout), or a
    music file (.mid, .wav, .svg ...: one per piece, tune-1.mid ..., and their text beside
    them, tune.abc).  Where a seed has notes, each piece marks where the model took over
    (piece.marks["continuation"])."""
    from musicrnn.checkpoint import Loaded, load
    from musicrnn.sample import generate_pieces

    length = _length_for(length, bars)
    _check_sampling(num, length, temperature, random_seed, top_k)
    dev = pick_device(device)
    prog = program(instrument)
    # a model already loaded (musicrnn.checkpoint.Loaded) is used as it is: a server loads it once
    loaded = model if isinstance(model, Loaded) else load(model or DEFAULT_MODEL, device=dev)
    codec = model_codec(loaded)
    asked = {"meter": meter, "key": key, "unit": unit, "tempo": tempo, "tuning": tuning, "capo": capo}
    asked, later = _later_choices(loaded, codec, asked)
    seed = _asked_seed(loaded, codec, seed, asked, log)
    sampled = _in_bars(loaded, codec, bars, free)
    outputs = check_outputs(out, force, codec, num, side_text=True)  # before sampling, which takes a while
    check_rerank(rerank, num)
    check_bar_candidates(bar_candidates)
    recall = bar_recall_of(bar_recall)
    if cadence_temperature is not None:
        check_temperature(cadence_temperature, "--cadence-temperature")
    # streams sampled at once: each piece's candidate bars and recalled copies (the scheme's by default)
    rows = (bar_candidates or codec.bar_candidates) + len(codec.bar_recall if recall is None else recall)
    with sampling_threads(dev, num * rerank * rows):
        texts = generate_pieces(
            loaded,
            sampled,
            seed=seed,
            num=num,
            length=length,
            temperature=temperature,
            top_k=top_k,
            free=free,
            random_seed=random_seed,
            device=dev,
            rerank=rerank,
            cadence_temperature=cadence_temperature,
            bar_candidates=bar_candidates,
            bar_recall=recall,
            rank_lengths=rank_lengths,
        )
    if free:  # the grammar did not cut a piece the length limit ended: cut it at a bar line
        texts = [_whole_bars(codec, loaded.meta.get("scheme_options") or {}, t, seed or "") for t in texts]
    if later:
        texts = [codec.apply_later(t, later) for t in texts]
        seed = codec.apply_later(seed, later) if seed else seed
    if title is not None:
        texts = [codec.titled(t, title) for t in texts]
    pieces = _sources(codec, texts, seed, title)
    said: list[str] = []
    written = write_pieces(
        pieces, texts, codec, out, outputs, soundfont=soundfont, program=prog, side_text=True, said=said
    )
    return Pieces(pieces, written, said + _done(outputs))


SAMPLING_THREADS_UP_TO = 256
"""Sampling on a CPU runs on one torch thread for batches up to this many streams: each step is
a few small matrix products, and a second thread mostly waits (on a busy 2-core machine
`generate --num 20` took 13 s on one thread and 50 s on two)."""


@contextlib.contextmanager
def sampling_threads(device, streams: int):
    """One torch thread on a CPU for a batch of at most SAMPLING_THREADS_UP_TO streams; the
    number set before is restored after."""
    import torch

    if getattr(device, "type", str(device)) != "cpu" or streams > SAMPLING_THREADS_UP_TO:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


MAX_BARS = 1000
"""generate --bars: at most this many bars a piece."""
CHARS_PER_BAR = 200
"""generate --bars without --length: room for this many characters a bar (a tab bar in
``columns`` takes about 80, an ABC bar 10 to 30)."""


def _length_for(length: int | None, bars: int | None) -> int:
    """The length cap: as given, else 2000 characters, or room for `bars` bars."""
    if bars is not None and not 1 <= bars <= MAX_BARS:
        raise OptionError(f"--bars must be from 1 to {MAX_BARS}, not {bars}")
    if length is not None:
        return length
    return max(2000, CHARS_PER_BAR * bars) if bars else 2000


def _whole_bars(codec, options: dict, text: str, seed: str) -> str:
    """A piece sampled without the grammar that the length limit cut off (it does not end
    with a line break), cut back to the last place the scheme's grammar says a piece may end
    (after a bar line); unchanged when it ended by itself or the grammar cannot tell."""
    if text.endswith("\n"):
        return text
    grammar = codec.grammar(options)
    if grammar is None:
        return text
    grammar.feed(seed)
    last = 0
    for i in range(len(seed), len(text)):
        grammar.feed(text[i])
        if grammar.can_end():
            last = i + 1
    return text[:last] + "\n" if last else text


def _sources(codec, texts: list[str], seed: str | None, title: str | None) -> list[Source]:
    """The sampled texts decoded, each marked where the model took over from the seed."""
    decoded = [codec.decode(t) for t in texts]
    seed_piece = codec.decode(seed).piece if seed else None
    for d in decoded:
        if seed_piece is not None:
            mark_continuation(d.piece, seed_piece)
        if title is not None and not d.piece.title:
            d.piece.title = " ".join(title.split())
    return [Source(d.piece, d.text, codec.name, str(i + 1), list(d.repairs)) for i, d in enumerate(decoded)]


def _asked_seed(loaded, codec, seed: str | None, asked: dict[str, Any], log: Log) -> str | None:
    """The seed: the header of the choices `asked` (meter, key ...) followed by the motif
    `seed`, or without choices the seed completed (`_complete_seed`)."""
    options = loaded.meta.get("scheme_options") or {}
    header = codec.header(**asked, options=options)
    if header is None:
        return _complete_seed(loaded, codec, seed, log)
    motif = (seed or "").replace("\\n", "\n") if seed and "\n" not in seed else seed or ""
    if motif and codec.sniff(motif):
        raise OptionError(
            "--seed starts a whole piece (its own header); with --meter, --key ... give --seed as music only"
        )
    text = header + motif
    check = codec.grammar(options)
    if check is not None and motif:
        check.feed(text)
        if check.problems:
            raise OptionError(f"the motif cannot follow the header {header.strip()!r}: {check.problems[0]}")
    missing = loaded.vocab.missing(_sampled_seed(codec, text, options))
    if missing:
        raise OptionError(_unwritable(loaded, codec, asked, motif, header, options))
    return text


def _sampled_seed(codec, seed: str, options: dict) -> str:
    """The seed as the model reads it: moved home for a model trained at home (`Scheme.to_home`)."""
    try:
        return codec.to_home(seed, options)[0]
    except ValueError as e:
        raise OptionError(f"the model's scheme options: {e}") from None


def _later_choices(loaded, codec, asked: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The choices to sample with, and those the scheme gives the written pieces after
    (`Scheme.later_fields`): each one the model could not write in its header (its corpus
    never had it) but could write without."""
    options = loaded.meta.get("scheme_options") or {}
    later: dict[str, Any] = {}
    for name in codec.later_fields:
        if asked.get(name) is None:
            continue
        header = codec.header(**asked, options=options)
        rest = {**asked, name: None}
        without = codec.header(**rest, options=options) or ""
        if (
            header is not None
            and loaded.vocab.missing(_sampled_seed(codec, header, options))
            and not loaded.vocab.missing(_sampled_seed(codec, without, options))
        ):
            later[name], asked = asked[name], rest
    return asked, later


def _unwritable(loaded, codec, asked: dict[str, Any], motif: str, header: str, options: dict) -> str:
    """Why the model cannot start from the header of `asked`: the choices whose text it never
    saw (those without which it could), and what its corpus has."""
    blamed = []
    for name, value in asked.items():
        if value is None:
            continue
        try:
            rest = codec.header(**{**asked, name: None}, options=options)
        except UsageError:  # the others alone make no header (--key needs --meter)
            continue
        if rest is not None and not loaded.vocab.missing(_sampled_seed(codec, rest + motif, options)):
            blamed.append(f"--{name}")
    lists = [(k, v) for k, v in options.items() if k in ("tunings", "meters", "modes") and isinstance(v, list)]
    known = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in lists)
    what = f" (its corpus never has {' or '.join(blamed)}; leave it out)" if blamed else ""
    return f"{loaded.path} cannot write {header.strip()!r}{what}" + (f"; it knows {known}" if known else "")


class _InBars:
    """A model's scheme whose grammar ends each piece at its `bars`-th bar line
    (`Scheme.grammar_in_bars`); everything else is the scheme's own."""

    def __init__(self, codec, bars: int):
        self._codec, self._bars = codec, bars

    def grammar(self, options: dict | None = None):
        return self._codec.grammar_in_bars(self._bars, options)

    def __getattr__(self, name: str):
        return getattr(self._codec, name)


def _in_bars(loaded, codec, bars: int | None, free: bool):
    """The scheme to sample with: for `bars`, one whose grammar ends each piece there."""
    if bars is None:
        return codec
    if free:
        raise OptionError("--bars counts bars with the grammar; leave out --free")
    if codec.grammar_in_bars(bars, loaded.meta.get("scheme_options") or {}) is None:
        raise OptionError(f"--bars: the {codec.name} scheme cannot count bars (its pieces run to --length)")
    return _InBars(codec, bars)


def read_seed(path: str | os.PathLike) -> str:
    """The text of a seed file (`--seed-file`; "-" reads standard input), at most
    MAX_SEED_CHARS characters."""
    if str(path) == "-":
        text = sys.stdin.read(MAX_SEED_CHARS + 1)
    else:
        path = Path(path)
        if not path.is_file():
            raise OptionError(f"--seed-file {path}: {encoders.not_a_file(path)}")
        text = encoders.read_text(path)
    if len(text) > MAX_SEED_CHARS:
        raise OptionError(f"--seed-file {path}: longer than {MAX_SEED_CHARS:,} characters; give the opening only")
    return text


MAX_SEED_CHARS = 100_000
ASKED = ("meter", "key", "unit", "tempo", "title", "tuning", "capo")
"""generate's choices in music's terms (the command line refuses them with --seed-midi)."""


@dataclass(slots=True)
class Continuation:
    """A file's opening then a model's music (`continue_file`)."""

    source: Source
    """The music (marks["continuation"] at the beat where the model took over) and its text."""
    opening: Any
    """How the file primed the model (encoders.midi.opening.Opening: .beats, .shift semitones)."""
    bars: float
    """Bars the model wrote after the opening."""
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def continue_file(
    path: str | os.PathLike,
    model: str | os.PathLike | None = None,
    *,
    seed_bars: float = 8,
    seed_seconds: float | None = None,
    bars: int = 8,
    transpose_into_range: bool = False,
    track: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    free: bool = False,
    random_seed: int | None = None,
    device: str = "auto",
    out: str | None = None,
    force: bool = False,
    soundfont=None,
    instrument: str | int | None = None,
) -> Continuation:
    """Continue a MIDI file: its first `seed_bars` bars (or `seed_seconds`) prime a model of a
    MIDI scheme (default: the bundled midi model), which writes `bars` more (musicrnn.continuation).
    With `out` (a music file: .mid, .wav ...) the result is written, and its text beside it."""
    from musicrnn.checkpoint import Loaded, load
    from musicrnn.continuation import continue_midi
    from musicrnn.data import UnknownCharacters

    _check_continuation_sampling(temperature, random_seed, top_k)
    dev = pick_device(device)
    prog = program(instrument)
    if out is not None and (out == "-" or Path(out).suffix.lower() not in RENDER_SUFFIXES):
        raise OptionError(
            f"--seed-midi writes music: give --out NAME.mid (or {', '.join(RENDER_SUFFIXES)}), not {out!r}"
        )
    path = Path(path)
    loaded = model if isinstance(model, Loaded) else load(model or CONTINUATION_MODEL, device=dev)
    codec = model_codec(loaded)
    outputs = check_outputs(out, force, codec, 1, inputs=[path], side_text=True)
    try:
        with sampling_threads(dev, 1):
            result = continue_midi(
                loaded,
                codec,
                str(path),
                seed_bars=seed_bars,
                seed_seconds=seed_seconds,
                bars=bars,
                transpose=transpose_into_range,
                track=track,
                temperature=temperature,
                top_k=top_k,
                free=free,
                random_seed=random_seed,
                device=dev,
            )
    except UnknownCharacters as e:
        raise e.with_hint(f"{path} written as {codec.name} text for the model {loaded.path}") from None
    source = Source(result.decoded.piece, result.decoded.text, codec.name, path.stem, list(result.decoded.repairs))
    said: list[str] = []
    written = write_pieces(
        [source], [result.text], codec, out, outputs, soundfont=soundfont, program=prog, side_text=True, said=said
    )
    return Continuation(source, result.opening, result.bars, written, said + _done(outputs))


# ---- decode, render, audition


def decode(
    file: str | os.PathLike, out: str | None = None, *, scheme: str | None = None, force: bool = False, **options: Any
) -> Pieces:
    """The pieces of a text file (any ABC or tab file, or a generated stream), repaired where
    they cannot be played (each Source's `repairs` says what was); with `out`, written as
    music files (one per piece), .abc/.txt, or "-" (stdout).  `options` are the scheme's
    decode options (tabs: step=0.5 beats per column; see its `decode_options`)."""
    file = Path(file)
    if scheme and file.suffix.lower() not in encoders.get(scheme).binary_suffixes:  # the text must look like it
        codec_for_text(encoders.read_text(file), scheme, str(file))
    else:  # the file's extension names its scheme (a .mid file is no text), else its text
        codec = encoders.codec_for_path(file)
        scheme = codec.name if codec is not None else None
    sources = read_pieces(file, scheme=scheme, **options)
    if sources[0].text is None:  # a MIDI file read as it is: music already, no text to decode
        raise OptionError(f"{file}: a MIDI file, not text; render or encode it instead")
    codec = encoders.get(sources[0].scheme)
    outputs = check_outputs(None if out is None else str(out), force, codec, len(sources), inputs=[file])
    said: list[str] = []
    texts = [s.text for s in sources]
    written = write_pieces(sources, texts, codec, None if out is None else str(out), outputs, said=said)
    return Pieces(sources, written, said + _done(outputs))


def render_file(
    file: str | os.PathLike,
    out: str | os.PathLike,
    *,
    scheme: str | None = None,
    soundfont=None,
    instrument: str | int | None = None,
    track: int | None = None,
    force: bool = False,
    max_minutes: float = 30.0,
    log: Log = None,
    **options: Any,
) -> Pieces:
    """Any music file (MIDI, ABC, tab, a stream) as audio (.wav .flac .ogg), sheet music (.svg),
    MusicXML, a piano roll (.png) or MIDI: one file per piece (tune-1.wav ...) when there are
    several.  `options` are the scheme's decode options (see `decode`), `track` the MIDI
    file's track to read (default: all); `log` gets a line per file written.  A MIDI file made
    audio plays as it is (its own instruments, tempo changes, controllers) and gives no Source."""
    from musicrnn.audio import audio_limit, write_audio

    file, out = Path(file), Path(out)
    if out.suffix.lower() not in piece_suffixes():
        raise OptionError(
            f"{out}: unknown output type {out.suffix or '(none)'}; use one of {', '.join(piece_suffixes())}"
        )
    prog = program(instrument)
    if not file.is_file():
        raise OptionError(f"{file}: {encoders.not_a_file(file)}")
    if file.suffix.lower() in MIDI_SUFFIXES and out.suffix.lower() in AUDIO and track is None:
        outputs = check_outputs(str(out), force, None, 1, inputs=[file])
        report = outputs.write(
            out, lambda: write_audio(file, out, soundfont=soundfont, program=prog, max_minutes=max_minutes)
        )
        if log:
            log(
                f"{out}: {report.seconds:.1f} s (MIDI {report.midi_seconds:.1f} s), peak "
                f"{report.peak_dbfs:.1f} dBFS, soundfont {report.soundfont.name}"
            )
        return Pieces([], [out], _done(outputs))
    sources = read_pieces(file, scheme=scheme, track=track, **options)
    outputs = check_outputs(str(out), force, None, len(sources), inputs=[file])
    written = []
    for i, source in enumerate(sources):
        target = numbered(out, i, len(sources))
        with audio_limit(max_minutes):
            line = outputs.write(
                target,
                functools.partial(
                    write_piece,
                    source.piece,
                    target,
                    text=source.text,
                    scheme=source.scheme,
                    soundfont=soundfont,
                    program=prog,
                ),
            )
        written.append(target)
        if log:
            log(line)
    return Pieces(sources, written, _done(outputs))


def audition_page(
    folder: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    soundfont=None,
    instrument: str | int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_piece: Callable[[str], None] | None = None,
):
    """Write one page (default FOLDER/audition.html) to listen to, look at and choose among
    the pieces in a folder; returns musicrnn.audition.AuditionReport (.path, .cards, .skipped).
    `on_start(count)` is told how many pieces there are, `on_piece(name)` follows them."""
    from musicrnn.audition import build_page

    return build_page(
        folder, out, soundfont=soundfont, program=program(instrument), on_start=on_start, on_piece=on_piece
    )


def serve_page(
    folder: str | os.PathLike, port: int = 8000, page: str | None = None, on_ready: Callable[[str], None] | None = None
) -> None:
    """Serve an audition page written into `folder` (with 'save to folder') on localhost until
    Ctrl-C; `on_ready(url)` is told where once it is served."""
    import threading

    from musicrnn.audition import PAGE_NAME, serve

    server = serve(folder, port, page=page or PAGE_NAME)
    if on_ready:
        on_ready(f"http://127.0.0.1:{server.server_port}/{page or PAGE_NAME}")
    try:
        threading.Event().wait()  # the server runs in its own thread until Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


# ---- evaluate


def evaluate_model(
    corpus: str | os.PathLike,
    model: str | os.PathLike | None = None,
    *,
    samples: int = 50,
    temperature: float = 1.0,
    free: bool = False,
    rerank: int = 1,
    bar_candidates: int | None = None,
    bar_recall: str | tuple[int, ...] | None = None,
    rank_lengths: bool = False,
    random_seed: int = 0,
    device: str = "auto",
    on_stage: Callable[[str], None] | None = None,
    on_count: Callable[[int, int | None, str], None] | None = None,
):
    """A model beside n-gram and xz baselines on the held-out pieces of the stream it was
    trained on, and `samples` pieces it writes checked for validity, novelty and their music;
    returns musicrnn.evaluate.EvalReport.  `on_stage(what)` is told each stage as it begins
    (musicrnn.evaluate.STAGES), `on_count(done, total, unit)` how far it is (total None: not
    known ahead)."""
    from musicrnn.checkpoint import load
    from musicrnn.evaluate import evaluate as run_evaluation

    check_temperature(temperature)
    check_random_seed(random_seed)
    dev = pick_device(device)
    loaded = load(model or DEFAULT_MODEL, device=dev)
    codec = model_codec(loaded)
    if samples > 0:
        check_model_writes(loaded, codec)
    text = encoders.read_text(corpus)
    other = looks_like_other_scheme(text, codec)
    if other is not None:
        raise OptionError(f"{corpus}: this is {other.name} text, but {loaded.path} writes the {codec.name} scheme")
    check_rerank(rerank, samples)
    check_bar_candidates(bar_candidates)
    recall = bar_recall_of(bar_recall)
    return run_evaluation(
        loaded,
        codec,
        text,
        num_samples=samples,
        temperature=temperature,
        random_seed=random_seed,
        free=free,
        device=dev,
        rerank=rerank,
        bar_candidates=bar_candidates,
        bar_recall=recall,
        rank_lengths=rank_lengths,
        on_stage=on_stage,
        on_count=on_count,
    )
