"""The `musicrnn` command: a thin typer layer over encoders/ and musicrnn/.

Each command parses its options, calls one function that does the work, and
prints what happened.  Errors the user can fix are one line on stderr with a
non-zero exit code, never a traceback (set MUSICRNN_DEBUG=1 to see one).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

import encoders
from encoders import UsageError
from musicrnn.terminal import printable

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Learn music from text (ABC tunes; tabs and MIDI to come) with a char-LSTM, and write new music.",
    epilog="Exit codes: 0 done; 1 internal error (a bug: please report it; MUSICRNN_DEBUG=1 shows the "
           "traceback); 2 a problem with your input or options (one line says what and where); 3 encode: "
           "some files were skipped, the rest written; 130 interrupted (Ctrl-C; train saves first).",
)


class _Console(Console):
    """A rich Console that prints every string made printable first (`musicrnn.terminal`):
    a file name with ESC sequences or a newline cannot drive the terminal or forge a line,
    and one that is not UTF-8 shows escaped instead of failing the print."""

    def print(self, *objects, **kwargs) -> None:
        super().print(*(printable(o) if isinstance(o, str) else o for o in objects), **kwargs)


out_console = _Console()
err_console = _Console(stderr=True)

EXIT_OK = 0
EXIT_BUG = 1
"""An internal error: a bug in musicrnn (the message says which exception)."""
EXIT_USER_ERROR = 2
"""A problem with the input or options; the one-line message names the file (line, column)."""
EXIT_PARTIAL = 3
"""`encode` exit code when some files were skipped but others were encoded."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as shells report it)."""
MAX_SAMPLE_CHARS = 50_000_000
FORCE_HELP = ("Replace existing files musicrnn did not write for this --out (an input is never replaced; "
              "see README, Robustness).")
"""generate: --num x --length at most this (the sampled ids alone take 8 bytes each)."""

TEXT_SUFFIXES = (".abc", ".txt")
MIDI_SUFFIXES = (".mid", ".midi")
MIDI_SCHEMES = ("roll", "events")


class CliError(UsageError):
    """A problem the user can fix, shown as one line."""


USER_ERRORS = (UsageError, OSError)
"""What exits 2: UsageError covers CliError, InputError and every error class musicrnn
raises on purpose (CheckpointError, AudioError, TrainError...), and OSError the
file system's answers; not ValueError or KeyError at large: one escaping from deep
inside is a bug to report, not "your input"."""


def friendly_errors(command):
    """Turn exceptions into one line on stderr and an exit code (2: your input, 1: a bug)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            err_console.print("interrupted", style="yellow")
            raise typer.Exit(EXIT_INTERRUPTED)
        except Exception as e:  # noqa: BLE001 - every error becomes one line
            if encoders.debugging():
                raise
            user = isinstance(e, USER_ERRORS)
            message = str(e)
            prefix = "error" if user else f"internal error ({type(e).__name__})"
            err_console.print(f"{prefix}: {message}", style="red", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_USER_ERROR if user else EXIT_BUG)

    return wrapper


def _codec_for_text(text: str, scheme: str | None, path: str | None = None, where: str | None = None):
    """The codec for a text: --scheme (checked against what the text looks like), else the
    file's extension (`path`), else the text itself; `where` names the text in errors."""
    where = where or path or "input"
    if scheme:
        codec = encoders.get(scheme)
        other = _looks_like_other_scheme(text, codec)
        if other is not None:
            raise CliError(f"{where}: this is {other.name} text, not {codec.name}; "
                           f"give --scheme {other.name} (or leave --scheme out)")
        return codec
    codec = (encoders.codec_for_path(path) if path else None) or encoders.sniff(text)
    if codec is None:
        raise CliError(f"{where}: cannot tell the scheme of this text; give --scheme "
                       f"({', '.join(c.name for c in encoders.all_codecs())})")
    return codec


def _check_outputs(out: str, force: bool, codec, count: int, inputs=(), side_text: bool = False):
    """The files a command will write for `count` pieces to `out`, checked before any work
    (musicrnn.overwrite: what it may replace); None for stdout.  `side_text`: the pieces'
    text is written beside music files too (generate)."""
    from musicrnn.outputs import RENDER_SUFFIXES, numbered
    from musicrnn.overwrite import Outputs

    if out == "-":
        return None
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix in RENDER_SUFFIXES:
        files = [numbered(path, i, count) for i in range(count)]
        named, others = (files, []) if count == 1 else ([], files)
        if side_text:
            others.append(path.with_suffix(codec.suffixes[0]))
    elif suffix in TEXT_SUFFIXES or suffix in codec.suffixes:
        named, others = [path], []
    else:
        raise CliError(f"{out}: unknown output type {suffix or '(none)'}; use {', '.join(RENDER_SUFFIXES)}, "
                       f"{', '.join(sorted(set(TEXT_SUFFIXES + codec.suffixes)))} or - for stdout")
    outputs = Outputs(path, force=force, inputs=inputs)
    outputs.check(named=named, others=others)
    return outputs


def _report_outputs(outputs) -> None:
    """Record what was written (musicrnn.overwrite) and say what was replaced or removed."""
    if outputs is not None:
        for note in outputs.done():
            err_console.print(note, markup=False, highlight=False, soft_wrap=True)


def _write_pieces(decoded: list, texts: list[str], codec, out: str, outputs, soundfont: Optional[str] = None,
                  program: Optional[int] = None) -> list[Path]:
    """Write pieces by the output's extension: text (all in one file), or one file per piece
    of MIDI, audio, sheet music or piano roll (musicrnn.outputs), or stdout.  `outputs`
    (from _check_outputs) reports a failed write with what was and was not written."""
    from musicrnn.atomic import write_text
    from musicrnn.outputs import RENDER_SUFFIXES, numbered, write_piece

    labelled = [codec.label(t, i + 1) for i, t in enumerate(texts)]
    stream = encoders.join_stream(labelled)
    if out == "-":
        sys.stdout.write(stream)
        return []
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in RENDER_SUFFIXES:
        written = []
        for i, d in enumerate(decoded):
            target = numbered(path, i, len(decoded))
            outputs.write(target, lambda: write_piece(d.piece, target, text=d.text, scheme=codec.name,
                                                      soundfont=soundfont, program=program))
            written.append(target)
        return written
    outputs.write(path, lambda: write_text(path, stream))
    return [path]


@app.command()
@friendly_errors
def encode(
    paths: Optional[list[Path]] = typer.Argument(None, help="Files or folders to encode (folders are searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="The stream file to write."),
    scheme: Optional[str] = typer.Option(None, help="Scheme to encode with (default: from each file's extension)."),
    corpus: Optional[str] = typer.Option(None, help="A built-in corpus instead of paths: 'folk' (ABC tunes inside music21)."),
    titles: bool = typer.Option(False, help="ABC: keep tune titles (T:)."),
    transpose: str = typer.Option("none", help="ABC: none | C (every tune to tonic C) | all (all 12 keys)."),
    keep_irregular: bool = typer.Option(False, help="ABC: keep tunes whose bars do not fit the meter."),
    grid: Optional[str] = typer.Option(None, help="MIDI (roll, events): steps per whole note, 16 (default), "
                                       "8, 32, 12 or 8t (eighth triplets), 24 or 16t (sixteenth triplets)."),
    track: Optional[int] = typer.Option(None, help="MIDI: only this track (counted from 1 among the tracks "
                                        "with notes); default: all tracks merged, drums dropped."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List every skipped tune, not only the first 20."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (0: one per CPU core)."),
    tokens: bool = typer.Option(True, help="Also write the token files training reads (<stem>.tokens/)."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Encode music files into one character stream for training.

    Example: musicrnn encode --corpus folk --out corpora/folk.txt
    Example: musicrnn encode my_tunes/ --scheme abc --out corpora/mine.txt
    Example: musicrnn encode midi_folder/ --scheme roll --grid 16 --out corpora/piano.txt

    A broken file is reported and skipped; the rest are encoded (exit code 3 when any file was skipped).
    """
    from musicrnn.encode import collect_files, encode_to_stream

    if transpose not in ("none", "C", "all"):
        raise CliError(f"--transpose must be none, C or all, not {transpose!r}")
    codec = encoders.get(scheme) if scheme else None
    if corpus:
        if corpus != "folk":
            raise CliError(f"unknown corpus {corpus!r}; built-in corpora: folk")
        from encoders.abc.corpus import folk_files

        codec = encoders.get("abc")
        files, missing = list(folk_files()), []
    elif paths:
        files, missing = collect_files(paths, codec)
    else:
        raise CliError("give files or folders to encode, or --corpus folk")
    if not files and not missing:
        raise CliError("no files to encode found")
    options = {"titles": titles, "transpose": transpose, "keep_irregular": keep_irregular} if (codec is None or codec.name == "abc") else {}
    if codec is not None and codec.name in MIDI_SCHEMES:
        from encoders.midi.grid import DEFAULT_GRID, parse_grid

        options = {"grid": parse_grid(grid) if grid is not None else DEFAULT_GRID, "track": track}
    elif grid is not None or track is not None:
        raise CliError(f"--grid and --track are for the MIDI schemes: give --scheme {' or '.join(MIDI_SCHEMES)}")
    from musicrnn.data import tokens_dir
    from musicrnn.overwrite import Outputs

    outputs = Outputs(out, force=force, inputs=files)
    token_dir = Path(tokens_dir(out)) if tokens else None
    if token_dir is not None:
        _check_tokens_dir(token_dir, force)
    outputs.check(named=[out], also=[token_dir] if token_dir else [])

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("encoding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  TextColumn("{task.description}"), console=err_console, transient=True) as bar:
        task = bar.add_task("", total=len(files))
        if jobs < 0:
            raise CliError(f"--jobs must be 0 (one per core) or more, not {jobs}")
        report = outputs.write(out, lambda: encode_to_stream(
            files, out, codec.name if codec else None, options, jobs=jobs or os.cpu_count() or 1,
            on_file=lambda p: bar.update(task, advance=1, description=printable(p.name)[:40])))
    report.skipped_files[:0] = missing
    if not report.pieces:
        for problem in report.skipped_files[:20]:
            err_console.print(f"  skipped {problem}", markup=False, highlight=False, soft_wrap=True)
        raise CliError("nothing to write: no file gave a playable piece")
    out_console.print(f"wrote {out}: {report.pieces} pieces, {report.chars:,} characters "
                      f"from {report.files_read} files ({report.duplicates} duplicates dropped, "
                      f"{len(report.skipped_pieces)} pieces skipped)", highlight=False, soft_wrap=True)
    if tokens:
        from musicrnn.data import prepare

        data = outputs.write(token_dir, lambda: prepare(out))
        out_console.print(f"wrote {data.dir}: {data.meta['train_tokens']:,} training and "
                          f"{data.meta['val_tokens']:,} validation tokens ({data.meta['dtype']}, "
                          f"{len(data.vocab)} characters)", highlight=False)
    shown = report.skipped_pieces if verbose else report.skipped_pieces[:20]
    for problem in shown:
        err_console.print(f"  skipped {problem}", markup=False, highlight=False, soft_wrap=True)
    if len(shown) < len(report.skipped_pieces):
        err_console.print(f"  ... and {len(report.skipped_pieces) - len(shown)} more (--verbose lists all)")
    for problem in report.skipped_files:
        err_console.print(f"  skipped file {problem}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    _report_outputs(outputs)
    if report.skipped_files:
        raise typer.Exit(EXIT_PARTIAL)


def _check_tokens_dir(folder: Path, force: bool) -> None:
    """encode writes token files into <stem>.tokens/ beside the stream: refuse to replace files
    there unless musicrnn wrote them (their meta.json says so) or --force is given."""
    import json

    from musicrnn.data import TOKENS_FORMAT
    from musicrnn.overwrite import OverwriteError

    if not os.path.lexists(folder):
        return
    if not folder.is_dir():
        raise OverwriteError(f"{folder}: exists and is not a folder; encode writes the token files there "
                             "(move it away, or give --no-tokens)")
    names = sorted({"train.bin", "val.bin", "meta.json"} & set(os.listdir(folder)))
    if not names or force:
        return
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        ours = isinstance(meta, dict) and meta.get("format") == TOKENS_FORMAT and "fingerprint" in meta
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise OverwriteError(f"{folder}: holds {', '.join(names)} that musicrnn did not write; use --force to "
                             "replace them, or --no-tokens")


@app.command()
@friendly_errors
def train(
    corpus: Path = typer.Argument(..., help="A stream file written by `musicrnn encode`."),
    out: Path = typer.Option(..., "--out", "-o", help="Model folder to write."),
    scheme: Optional[str] = typer.Option(None, help="The stream's scheme (default: recognized from the text)."),
    hidden: int = typer.Option(512, help="LSTM hidden size."),
    layers: int = typer.Option(2, help="LSTM layers."),
    embed: int = typer.Option(64, help="Character embedding size."),
    dropout: float = typer.Option(0.1, help="Dropout between layers and before the head."),
    batch_size: int = typer.Option(64, help="Parallel lanes of the corpus per step."),
    seq_len: int = typer.Option(128, help="Characters per truncated-BPTT window."),
    lr: float = typer.Option(2e-3, help="Peak learning rate (AdamW; warmup then cosine decay)."),
    max_steps: int = typer.Option(5000, help="Optimizer steps."),
    max_minutes: Optional[float] = typer.Option(None, help="Stop after this wall-clock time (the LR schedule is set by it)."),
    eval_every: int = typer.Option(200, help="Validate every N steps; the best model is kept."),
    patience: int = typer.Option(10, help="Early stop after this many evaluations without improvement."),
    transpose: int = typer.Option(0, help="Also train on each training tune in this many other keys, "
                                  "drawn from the keys the corpus uses (abc)."),
    device: str = typer.Option("auto", help="auto (cuda > mps > cpu), cpu, cuda, mps."),
    random_seed: int = typer.Option(1234, help="Seed for repeatable runs."),
    resume: bool = typer.Option(False, help="Continue the run saved in --out."),
    force: bool = typer.Option(False, help="Replace a model already in --out."),
    threads: Optional[int] = typer.Option(None, help="CPU threads for torch (default: all cores)."),
) -> None:
    """Train a character-level LSTM on a stream.

    Example: musicrnn train corpora/folk.txt --out outputs/models/folk --max-minutes 25

    Ctrl-C saves the run; --resume continues it.

    Several processes (DistributedDataParallel; --batch-size is the global batch):
    torchrun --nproc_per_node 2 -m musicrnn train corpora/folk.txt --out outputs/models/folk
    """
    from musicrnn.train import TrainConfig, summary_line
    from musicrnn.train import train as run_training

    _check_random_seed(random_seed)
    if not corpus.is_file():
        why = encoders.not_a_file(corpus)
        raise CliError(f"{corpus}: " + ("no such corpus file (write one with `musicrnn encode`)"
                                        if why == "no such file" else why))
    with open(corpus, encoding="utf-8", errors="replace") as fh:
        head = fh.read(4096)
    codec = _codec_for_text(head, scheme, None, where=str(corpus))
    scheme_options = {}
    if hasattr(codec, "corpus_options"):  # e.g. the pitches a MIDI corpus plays, for --seed-midi later
        scheme_options = codec.corpus_options(encoders.read_text(corpus))
    cfg = TrainConfig(
        corpus=str(corpus), out=str(out), scheme=codec.name, scheme_options=scheme_options, hidden=hidden,
        layers=layers, embed=embed,
        dropout=dropout, batch_size=batch_size, seq_len=seq_len, lr=lr, max_steps=max_steps,
        max_minutes=max_minutes, eval_every=eval_every, early_stop_patience=patience, device=device,
        random_seed=random_seed, resume=resume, force=force, threads=threads, transpose=transpose,
    )
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    main = os.environ.get("RANK", "0") == "0"   # under torchrun, rank 0 alone reports
    with Progress(TextColumn("training"), BarColumn(), TextColumn("{task.description}"), TimeRemainingColumn(),
                  console=err_console, transient=False, disable=not main) as bar:
        task = bar.add_task("", total=1.0)

        def show(p: dict) -> None:
            if p.get("event") == "nan":
                bar.console.print(f"step {p.get('step', 0)}: {p.get('reason', 'loss was NaN/inf')}; step skipped, learning "
                                  f"rate now x{p.get('lr_scale', 0):g} ({p.get('nan_skips', 0)} so far)",
                                  style="yellow", markup=False, highlight=False, soft_wrap=True)
                return
            # The run ends at max_steps or max_minutes, whichever comes first.
            done = p.get("step", 0) / max(1, p.get("max_steps", max_steps))
            if max_minutes:
                done = max(done, p.get("time", 0.0) / (60 * max_minutes))
            # before the first progress report (an evaluation at step 5, a stop after 0.001 minutes,
            # Ctrl-C) there is no training loss yet: None, shown as "-"
            loss, val = p.get("loss"), p.get("val_loss")
            bar.update(task, completed=min(done, 1.0), description=(
                f"step {p.get('step', 0)} loss " + ("-" if loss is None else f"{loss:.3f}")
                + (f" val {val:.3f}" if val is not None else "")
                + f" {p.get('chars_per_s') or 0:,.0f} chars/s"))

        result = run_training(cfg, on_progress=show)
    if main:
        out_console.print(summary_line(result), highlight=False)
        from musicrnn.pictures import PictureError, loss_curve_png

        try:
            out_console.print(f"loss curve: {loss_curve_png(out)}", highlight=False)
        except PictureError as e:
            err_console.print(f"no loss curve: {e}", markup=False, highlight=False)
    if result.interrupted:   # the run was saved; --resume continues it
        raise typer.Exit(EXIT_INTERRUPTED)


@app.command()
@friendly_errors
def generate(
    seed: Optional[str] = typer.Option(None, help="Text that starts every piece (the model continues it); "
                                       "default: how the model's scheme starts a piece, X:1 for ABC."),
    model: Optional[str] = typer.Option(None, help="A model folder, or the name of a bundled model "
                                        "(default: folk; midi with --seed-midi)."),
    num: int = typer.Option(1, help="How many pieces, sampled together in one batch."),
    length: int = typer.Option(2000, help="At most this many characters per piece."),
    temperature: float = typer.Option(1.0, help="Sampling temperature (> 0); lower is safer."),
    top_k: Optional[int] = typer.Option(None, help="Sample only among the k likeliest characters."),
    free: bool = typer.Option(False, help="Turn off validity-guided decoding (no masking)."),
    rerank: int = typer.Option(1, help="Sample this many candidates per piece and keep the ones the model "
                                       "finds most likely."),
    cadence_temperature: float = typer.Option(1.0, help="Multiply the temperature by this in the last bar of "
                                                        "each phrase (4, 8... bars), where tunes cadence."),
    random_seed: Optional[int] = typer.Option(None, help="Seed for repeatable samples."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or mps."),
    out: str = typer.Option("-", "--out", "-o", help=".mid/.wav/.flac/.ogg/.png/.svg/.musicxml (one file per "
                            "piece, plus the text), .abc/.txt (all pieces), or - for stdout."),
    soundfont: Optional[str] = typer.Option(None, help="Audio: a .sf2 soundfont (default: FluidR3_GM if installed, else TimGM6mb)."),
    instrument: Optional[str] = typer.Option(None, help="Audio: play every piece on this instrument (GM program 0-127 or a name: piano, fiddle, guitar ...)."),
    seed_midi: Optional[Path] = typer.Option(None, help="Continue this MIDI file: its opening primes a model of "
                                             "a MIDI scheme (roll, events); the output holds the opening, then the model's music."),
    seed_bars: float = typer.Option(8, help="With --seed-midi: how many bars of the file prime the model."),
    seed_seconds: Optional[float] = typer.Option(None, help="With --seed-midi: prime with this many seconds instead of bars."),
    bars: int = typer.Option(8, help="With --seed-midi: how many bars to write after the opening."),
    transpose_into_range: bool = typer.Option(False, help="With --seed-midi: move a seed with pitches the model "
                                              "never saw into its range (the output is moved back)."),
    track: Optional[int] = typer.Option(None, help="With --seed-midi: only this track of the file (from 1)."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Write new pieces with a trained model (the bundled folk model by default), or continue a MIDI file.

    Example: musicrnn generate --seed "X:1" --out song.mid
    Example: musicrnn generate --seed "X:1" --num 24 --out outputs/batch/tune.wav
    Example: musicrnn generate --seed "X:1" --num 20 --out batch.abc
    Example: musicrnn generate --seed-midi song.mid --seed-bars 8 --bars 16 --out continued.mid
    """
    from musicrnn.checkpoint import load
    from musicrnn.sample import generate_pieces

    if num < 1 or num > 4096:
        raise CliError(f"--num must be between 1 and 4096, not {num}")
    if length < 1 or length > 1_000_000:
        raise CliError(f"--length must be between 1 and 1000000, not {length}")
    if num * length > MAX_SAMPLE_CHARS:
        raise CliError(f"--num {num} x --length {length} is {num * length:,} characters; "
                       f"at most {MAX_SAMPLE_CHARS:,} in one run")
    _check_temperature(temperature)
    _check_random_seed(random_seed)
    if top_k is not None and top_k < 1:
        raise CliError(f"--top-k must be at least 1, not {top_k}")
    dev = _device(device)
    if seed_midi is not None:
        _continue_midi(seed_midi, model or "midi", out, seed_bars, seed_seconds, bars, transpose_into_range, track,
                       temperature, top_k, free, random_seed, dev, soundfont, _program(instrument), force)
        return
    loaded = load(model or "folk", device=dev)
    codec = _model_codec(loaded)
    if seed and hasattr(codec, "complete_seed"):   # a header in the order the model learned, L: filled in
        try:
            completed = codec.complete_seed(seed)
        except UsageError:
            _check_model_writes(loaded, codec, seed)   # characters the model lacks are the first thing to say
            raise
        if completed != seed:
            err_console.print(f"seed completed as the model writes a header: {completed!r}")
        seed = completed
    _check_model_writes(loaded, codec, seed)
    outputs = _check_outputs(out, force, codec, num, side_text=True)   # before sampling, which takes a while
    _check_rerank(rerank, num)
    _check_temperature(cadence_temperature)
    texts = generate_pieces(loaded, codec, seed=seed, num=num, length=length, temperature=temperature,
                            top_k=top_k, free=free, random_seed=random_seed, device=dev, rerank=rerank,
                            cadence_temperature=cadence_temperature)
    decoded = [codec.decode(t) for t in texts]
    if seed:
        from musicrnn.outputs import mark_continuation

        seed_piece = codec.decode(seed).piece
        for d in decoded:
            mark_continuation(d.piece, seed_piece)
    program = _program(instrument)
    written = _write_pieces(decoded, texts, codec, out, outputs, soundfont=soundfont, program=program)
    if out != "-" and Path(out).suffix.lower() in _render_suffixes():
        from musicrnn.atomic import write_text

        text_path = Path(out).with_suffix(codec.suffixes[0])
        stream = encoders.join_stream(codec.label(t, i + 1) for i, t in enumerate(texts))
        outputs.write(text_path, lambda: write_text(text_path, stream))
        written.append(text_path)
    notes = sum(len(d.piece.notes) for d in decoded)
    repaired = sum(1 for d in decoded if not d.clean)
    if written:
        shown = ", ".join(str(p) for p in written[:4]) + (f" ... ({len(written)} files)" if len(written) > 4 else "")
        err_console.print(f"wrote {shown}: {num} piece(s), {notes} notes, {repaired} needed repair",
                          markup=False, highlight=False)
    _report_outputs(outputs)


def _continue_midi(path: Path, model: str, out: str, seed_bars: float, seed_seconds: Optional[float], bars: int,
                   transpose: bool, track: Optional[int], temperature: float, top_k: Optional[int], free: bool,
                   random_seed: Optional[int], dev, soundfont: Optional[str], program: Optional[int],
                   force: bool = False) -> None:
    """generate --seed-midi: the file's opening, then the model's continuation, written like any piece."""
    from musicrnn.atomic import write_text
    from musicrnn.checkpoint import load
    from musicrnn.continuation import continue_midi
    from musicrnn.outputs import RENDER_SUFFIXES

    if out == "-" or Path(out).suffix.lower() not in RENDER_SUFFIXES:
        raise CliError(f"--seed-midi writes music: give --out NAME.mid (or {', '.join(RENDER_SUFFIXES)}), "
                       f"not {out!r}")
    loaded = load(model, device=dev)
    codec = _model_codec(loaded)
    outputs = _check_outputs(out, force, codec, 1, inputs=[path], side_text=True)
    from musicrnn.data import UnknownCharacters

    try:
        result = continue_midi(loaded, codec, str(path), seed_bars=seed_bars, seed_seconds=seed_seconds, bars=bars,
                               transpose=transpose, track=track, temperature=temperature, top_k=top_k, free=free,
                               random_seed=random_seed, device=dev)
    except UnknownCharacters as e:
        raise e.with_hint(f"{path} written as {codec.name} text for the model {loaded.path}") from None
    written = _write_pieces([result.decoded], [result.text], codec, out, outputs, soundfont=soundfont, program=program)
    text_path = Path(out).with_suffix(codec.suffixes[0])
    outputs.write(text_path, lambda: write_text(text_path, result.text))
    moved = f", transposed by {result.opening.shift:+d} semitones to prime the model" if result.opening.shift else ""
    err_console.print(f"wrote {written[0]}, {text_path}: {result.opening.beats:g} beats of {path.name}{moved}, "
                      f"then {result.bars:g} bars by the model (marker 'continuation' at beat "
                      f"{result.opening.beats:g}); {len(result.decoded.piece.notes)} notes, "
                      f"{len(result.decoded.repairs)} repairs", markup=False, highlight=False)
    _report_outputs(outputs)


@app.command()
@friendly_errors
def decode(
    file: Path = typer.Argument(..., help="A file of pieces: any ABC file, or a generated stream."),
    out: str = typer.Option(..., "--out", "-o", help=".mid (one file per piece), .abc/.txt, or -."),
    scheme: Optional[str] = typer.Option(None, help="The text's scheme (default: from the extension or the text)."),
    step: Optional[float] = typer.Option(None, help="Tabs: beats per column (default 0.25, a sixteenth note)."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Turn text (a file or generated stream) into music files, repairing what cannot be played.

    Example: musicrnn decode tune.abc --out tune.mid
    Example: musicrnn decode riff.tab --scheme columns --step 0.5 --out riff.mid
    """
    text = encoders.read_text(file)
    codec = _codec_for_text(text, scheme, str(file))
    options = {}
    if step is not None:
        if codec.name not in ("rows", "columns"):
            raise CliError(f"--step is for guitar tabs (rows, columns), not the {codec.name} scheme")
        options["step"] = step
    texts = codec.split(text)
    if not texts:
        raise CliError(f"{file}: no piece found")
    outputs = _check_outputs(out, force, codec, len(texts), inputs=[file])
    decoded = [codec.decode(t, path=str(file), **options) for t in texts]
    _write_pieces(decoded, [d.text for d in decoded], codec, out, outputs)
    for d in decoded:
        for problem in d.repairs[:10]:
            err_console.print(f"  repaired {problem}", markup=False, highlight=False)
    notes = sum(len(d.piece.notes) for d in decoded)
    err_console.print(f"decoded {len(decoded)} piece(s), {notes} notes, "
                      f"{sum(not d.clean for d in decoded)} repaired", markup=False, highlight=False)
    _report_outputs(outputs)


@app.command()
@friendly_errors
def render(
    file: Path = typer.Argument(..., help="A MIDI file, an ABC or tab file, or a generated stream."),
    out: Path = typer.Option(..., "--out", "-o", help=".wav/.flac/.ogg (audio), .svg (sheet music), .musicxml, "
                             ".png (piano roll) or .mid; one file per piece (tune-1.wav ...) when there are several."),
    scheme: Optional[str] = typer.Option(None, help="The text's scheme (default: from the extension or the text)."),
    soundfont: Optional[str] = typer.Option(None, help="Audio: a .sf2 soundfont (default: FluidR3_GM if installed, else TimGM6mb)."),
    instrument: Optional[str] = typer.Option(None, help="Audio: play on this instrument (GM program 0-127 or a name: piano, fiddle, guitar ...)."),
    step: Optional[float] = typer.Option(None, help="Tabs: beats per column (default 0.25, a sixteenth note)."),
    track: Optional[int] = typer.Option(None, help="MIDI: only this track (default: all)."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
    max_minutes: float = typer.Option(30.0, "--max-minutes", help="Audio: refuse to make more than this many "
                                      "minutes (a tiny MIDI file can ask for hours)."),
) -> None:
    """Listen to or look at any music file: audio, sheet music, MusicXML, piano roll or MIDI.

    Example: musicrnn render song.mid --out song.wav
    Example: musicrnn render tune.abc --out tune.svg
    Example: musicrnn render riff.tab --out riff.png
    """
    from musicrnn.audio import audio_limit, write_audio
    from musicrnn.outputs import AUDIO, RENDER_SUFFIXES, numbered, read_pieces, write_piece

    if out.suffix.lower() not in RENDER_SUFFIXES:
        raise CliError(f"{out}: unknown output type {out.suffix or '(none)'}; use one of {', '.join(RENDER_SUFFIXES)}")
    program = _program(instrument)
    if not file.is_file():
        raise CliError(f"{file}: {encoders.not_a_file(file)}")
    if file.suffix.lower() in MIDI_SUFFIXES and out.suffix.lower() in AUDIO and track is None:
        # A MIDI file plays as it is: its own instruments, tempo changes, controllers.
        outputs = _check_outputs(str(out), force, None, 1, inputs=[file])
        report = outputs.write(out, lambda: write_audio(file, out, soundfont=soundfont, program=program,
                                                        max_minutes=max_minutes))
        err_console.print(f"wrote {out}: {report.seconds:.1f} s (MIDI {report.midi_seconds:.1f} s), peak "
                          f"{report.peak_dbfs:.1f} dBFS, soundfont {report.soundfont.name}", markup=False, highlight=False, soft_wrap=True)
        _report_outputs(outputs)
        return
    sources = read_pieces(file, scheme=scheme, step=step, track=track)
    outputs = _check_outputs(str(out), force, None, len(sources), inputs=[file])
    for i, source in enumerate(sources):
        target = numbered(out, i, len(sources))
        with audio_limit(max_minutes):
            line = outputs.write(target, lambda: write_piece(source.piece, target, text=source.text,
                                                             scheme=source.scheme, soundfont=soundfont, program=program))
        err_console.print(f"wrote {line}", markup=False, highlight=False, soft_wrap=True)
    _report_outputs(outputs)


@app.command()
@friendly_errors
def audition(
    folder: Path = typer.Argument(..., help="A folder of pieces: ABC, tab or stream files, MIDI files."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="The page to write (default: FOLDER/audition.html)."),
    soundfont: Optional[str] = typer.Option(None, help="A .sf2 soundfont (default: FluidR3_GM if installed, else TimGM6mb)."),
    instrument: Optional[str] = typer.Option(None, help="Play every piece on this instrument (GM program or name)."),
    serve: bool = typer.Option(False, "--serve", help="Also serve the page on localhost (adds 'save to folder'; "
                               "the page alone is served, to 127.0.0.1/localhost only)."),
    port: int = typer.Option(8000, help="Port for --serve (0: any free port)."),
) -> None:
    """One page to listen to, look at and choose among pieces: keep or discard each, export the kept.

    Example: musicrnn generate --seed "X:1" --num 24 --out outputs/batch/tune.abc
             musicrnn audition outputs/batch/      # then open outputs/batch/audition.html
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from musicrnn.audition import build_page
    from musicrnn.audition import serve as start_server

    program = _program(instrument)
    with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  console=err_console, transient=True) as bar:
        task = bar.add_task("", total=None)
        report = build_page(folder, out, soundfont=soundfont, program=program,
                            on_piece=lambda name: bar.update(task, advance=1, description=printable(name)[:40]))
    for problem in report.skipped:
        err_console.print(f"  skipped {problem}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    out_console.print(f"wrote {report.path}: {len(report.cards)} pieces "
                      f"({report.path.stat().st_size / 1e6:.1f} MB, open it in a browser)", highlight=False, soft_wrap=True)
    if serve:
        if report.path.parent.resolve() != folder.resolve():
            raise CliError("--serve serves FOLDER: leave --out at its default")
        server = start_server(folder, port, page=report.path.name)
        out_console.print(f"serving http://127.0.0.1:{server.server_port}/{report.path.name} (Ctrl-C stops)",
                          highlight=False, soft_wrap=True)
        import threading

        try:
            threading.Event().wait()  # the server runs in its own thread until Ctrl-C
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()


@app.command()
@friendly_errors
def evaluate(
    corpus: Path = typer.Argument(..., help="The stream the model was trained on (its held-out pieces are used)."),
    model: str = typer.Option("folk", help="A model folder, or a bundled model's name."),
    samples: int = typer.Option(50, help="Pieces to sample for the validity and novelty figures."),
    temperature: float = typer.Option(1.0, help="Sampling temperature for those pieces."),
    free: bool = typer.Option(False, help="Sample without validity-guided decoding."),
    rerank: int = typer.Option(1, help="Sample this many candidates per piece and keep the most likely."),
    random_seed: int = typer.Option(0, help="Seed for the samples."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or mps."),
) -> None:
    """Compare a model with n-gram and xz baselines on held-out pieces, and check its samples.

    Example: musicrnn evaluate --model outputs/models/folk corpora/folk.txt
    """
    from musicrnn.checkpoint import load
    from musicrnn.evaluate import evaluate as run_evaluation
    from musicrnn.evaluate import report_rows

    _check_temperature(temperature)
    _check_random_seed(random_seed)
    dev = _device(device)
    loaded = load(model, device=dev)
    codec = _model_codec(loaded)
    if samples > 0:
        _check_model_writes(loaded, codec)
    text = encoders.read_text(corpus)
    other = _looks_like_other_scheme(text, codec)
    if other is not None:
        raise CliError(f"{corpus}: this is {other.name} text, but {loaded.path} writes the {codec.name} scheme")
    _check_rerank(rerank, samples)
    report = run_evaluation(loaded, codec, text, num_samples=samples, temperature=temperature,
                            random_seed=random_seed, free=free, device=dev, rerank=rerank)
    table = Table(title=printable(f"{loaded.path} on held-out pieces of {corpus}"))
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in report_rows(report):
        table.add_row(name, value)
    out_console.print(table)
    if report.music:
        music = Table(title=f"The music: {report.num_samples} generated pieces beside as many real ones")
        for name, justify in (("measure", "left"), ("generated", "right"), ("held-out real", "right"),
                              ("training real", "right")):
            music.add_column(name, justify=justify)
        for row in report.music:
            music.add_row(*row)
        out_console.print(music)


def _render_suffixes() -> tuple[str, ...]:
    from musicrnn.outputs import RENDER_SUFFIXES

    return RENDER_SUFFIXES


def _program(instrument: Optional[str]) -> Optional[int]:
    from musicrnn.audio import instrument_program

    return None if instrument is None else instrument_program(instrument)


def _check_temperature(temperature: float) -> None:
    import math

    if not (math.isfinite(temperature) and 1e-6 <= temperature <= 1000):
        raise CliError(f"--temperature must be a number above 0 (from 0.000001 to 1000), not {temperature}")


MAX_RANDOM_SEED = 2**32 - 1


def _check_rerank(rerank: int, num: int) -> None:
    if not 1 <= rerank <= 64:
        raise CliError(f"--rerank must be from 1 to 64, not {rerank}")
    if rerank * num > 10_000:
        raise CliError(f"--rerank {rerank} x {num} pieces is {rerank * num:,} candidates; at most 10,000 in one run")


def _check_random_seed(seed: Optional[int]) -> None:
    if seed is not None and not 0 <= seed <= MAX_RANDOM_SEED:
        raise CliError(f"--random-seed must be a whole number from 0 to {MAX_RANDOM_SEED}, not {seed}")


def _check_model_writes(loaded, codec, seed: Optional[str] = None) -> None:
    """A one-line error naming the model when its vocabulary lacks characters of the seed
    (`seed`, or when None the one its pieces start with): a model whose meta.json names a
    scheme it was not trained on would otherwise fail deep inside the sampler."""
    from musicrnn.data import UnknownCharacters
    from musicrnn.sample import default_seed

    text = seed if seed is not None else default_seed(loaded.meta, codec.seed)
    missing = loaded.vocab.missing(text)
    if not missing:
        return
    if seed is not None:
        hint = f"{loaded.path} writes the {codec.name} scheme, whose pieces start like {codec.seed!r}"
    else:
        hint = (f"{loaded.path} cannot start a piece of its {codec.name} scheme ({text!r}): "
                f"was it trained on another scheme than its meta.json says?")
    raise UnknownCharacters(missing).with_hint(hint)


def _looks_like_other_scheme(text: str, codec):
    """The codec whose text `text` plainly is, when that is not `codec`'s (else None)."""
    other = encoders.sniff(text)
    return other if other is not None and other is not codec and not codec.sniff(text) else None


def _model_codec(loaded):
    """The codec of a loaded model's scheme; a one-line error for a scheme this musicrnn lacks."""
    try:
        return encoders.get(loaded.scheme)
    except KeyError as e:
        raise CliError(f"{loaded.path}: the model was trained on scheme {loaded.scheme!r}, which this "
                       f"musicrnn cannot read ({e.args[0]})") from None


def _device(name: str):
    from musicrnn.train import pick_device

    return pick_device(name)


def main() -> None:
    if int(os.environ.get("WORLD_SIZE", "1") or 1) <= 1:
        app()
        return
    # Under torchrun, leave without the interpreter's teardown: once the group is closed and every
    # file written, gloo's C++ threads can still abort a rank as the process exits (about 1 run
    # in 40 on a loaded 2-core machine, "terminate called without an active exception" with no
    # Python frame left), which torchrun reports as a failed run.
    code = 0
    try:
        app()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
