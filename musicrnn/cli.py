"""The `musicrnn` command: a thin typer layer over musicrnn.pipeline.

Each command parses its options, calls the use case that does the work (musicrnn.pipeline,
whose keywords its parameters are named after) and prints what happened (musicrnn.cli_kit).
Errors the user can fix are one line on stderr with a non-zero exit code, never a traceback
(set MUSICRNN_DEBUG=1 to see one).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

import encoders
from encoders import UsageError
from musicrnn import cli_kit as kit
from musicrnn import pipeline
from musicrnn.cli_kit import err_console, out_console, say, show
from musicrnn.terminal import printable

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Learn music from text (ABC tunes, guitar tabs, MIDI) with a char-LSTM, and write new music.",
    epilog="Exit codes: 0 done; 1 internal error (a bug: please report it; MUSICRNN_DEBUG=1 shows the "
    "traceback); 2 a problem with your input or options (one line says what and where); 3 encode: "
    "some files were skipped, the rest written; 130 interrupted (Ctrl-C; train saves first).",
)


EXIT_OK = 0
EXIT_BUG = 1
"""An internal error: a bug in musicrnn (the message says which exception)."""
EXIT_USER_ERROR = 2
"""A problem with the input or options; the one-line message names the file (line, column)."""
EXIT_PARTIAL = 3
"""`encode` exit code when some files were skipped but others were encoded."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as shells report it)."""


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
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as e:
            if encoders.debugging():
                raise
            user = isinstance(e, USER_ERRORS)
            prefix = "error" if user else f"internal error ({type(e).__name__})"
            err_console.print(f"{prefix}: {e}", style="red", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_USER_ERROR if user else EXIT_BUG) from None

    return wrapper


@app.command()
@friendly_errors
@kit.scheme_flags("encode")
def encode(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (searched recursively).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The stream file to write.")] = ...,
    scheme: Annotated[str | None, typer.Option(help="Encode with this scheme (default: the file's).")] = None,
    corpus: Annotated[str | None, typer.Option(help="A built-in corpus instead of paths: folk.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every skipped tune.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0: one per CPU core).")] = 0,
    tokens: Annotated[bool, typer.Option(help="Also write the token files training reads.")] = True,
    force: kit.Force = False,
    **options,
) -> None:
    """Encode music files into one character stream for training.

    Example: musicrnn encode --corpus folk --out corpora/folk.txt
    Example: musicrnn encode midi_folder/ --scheme roll --grid 16 --out corpora/piano.txt

    A broken file is reported and skipped; the rest are encoded (exit code 3 when any of your
    files was skipped; the built-in corpus's own filtering is one summary line, exit code 0).
    """
    args = kit.use_case_args(locals(), "verbose")  # first: the parameters alone
    from rich.progress import DownloadColumn, TimeRemainingColumn

    bar, task = kit.progress_bar("encoding", DownloadColumn(), TimeRemainingColumn(), transient=True)

    def stream_written(r) -> None:
        kit.stop(bar)
        line = f"{r.pieces} pieces, {r.chars:,} characters from {r.files_read} files ({r.duplicates} duplicates"
        show(f"wrote {out}: {line} dropped, {len(r.skipped_pieces)} pieces skipped)")

    def file_done(path: Path) -> None:
        bar.update(task, advance=pipeline.file_size(path), description=printable(path.name)[:40])

    bar.start()
    try:
        total = lambda size: bar.update(task, total=size)  # noqa: E731
        encoded = pipeline.encode_files(**args, on_bytes=total, on_file=file_done, on_stream=stream_written)
    except pipeline.NothingToEncode as e:
        kit.stop(bar)
        say(*(f"  skipped {problem}" for problem in e.problems[:20]))
        raise
    finally:
        kit.stop(bar)
    if (data := encoded.tokens) is not None:
        counts = f"{data.meta['train_tokens']:,} training and {data.meta['val_tokens']:,} validation tokens"
        show(f"wrote {data.dir}: {counts} ({data.meta['dtype']}, {len(data.vocab)} characters)")
    _skipped(encoded, verbose)
    say(*encoded.notes)
    if encoded.report.skipped_files and not encoded.corpus:
        raise typer.Exit(EXIT_PARTIAL)


def _skipped(encoded, verbose: bool) -> None:
    """What encode left out: for the built-in corpus one line (its own filtering; --verbose
    lists it); for the user's files every file and the first 20 pieces (--verbose: all)."""
    report = encoded.report
    if encoded.corpus and not verbose:
        return say(f"the {encoded.corpus} corpus's own filtering {encoded.left_out()} (--verbose lists them)")
    skipped = report.skipped_pieces
    say(*(f"  skipped {problem}" for problem in (skipped if verbose else skipped[:20])))
    if not verbose and len(skipped) > 20:
        err_console.print(f"  ... and {len(skipped) - 20} more (--verbose lists all)")
    for problem in report.skipped_files:
        err_console.print(f"  skipped file {problem}", style="yellow", markup=False, highlight=False, soft_wrap=True)


@app.command()
@friendly_errors
def train(
    corpus: Annotated[Path, typer.Argument(help="A stream file written by `musicrnn encode`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    scheme: Annotated[str | None, typer.Option(help="The stream's scheme (default: from its text).")] = None,
    hidden: Annotated[int, typer.Option(help="LSTM hidden size.")] = 512,
    layers: Annotated[int, typer.Option(help="LSTM layers.")] = 2,
    embed: Annotated[int, typer.Option(help="Character embedding size.")] = 64,
    dropout: Annotated[float, typer.Option(help="Dropout between layers and before the head.")] = 0.1,
    batch_size: Annotated[int, typer.Option(help="Parallel lanes of the corpus per step.")] = 64,
    seq_len: Annotated[int, typer.Option(help="Characters per truncated-BPTT window.")] = 128,
    lr: Annotated[
        float | None,
        typer.Option(help="Peak learning rate (AdamW; warmup then cosine decay): 2e-3 (1e-4 fine-tuning)."),
    ] = None,
    max_steps: Annotated[int, typer.Option(help="Optimizer steps.")] = 5000,
    max_minutes: Annotated[float | None, typer.Option(help="Stop after this wall-clock time.")] = None,
    eval_every: Annotated[
        int | None, typer.Option(help="Validate every N steps; the best model is kept: 200 (10 fine-tuning).")
    ] = None,
    init_from: Annotated[
        str | None, typer.Option(help="Fine-tune this model (a folder, or folk, tabs, midi) on the corpus.")
    ] = None,
    sample_every: Annotated[int | None, typer.Option(help="Print a sample every N steps.")] = None,
    early_stop_patience: Annotated[
        int | None, typer.Option("--patience", help="Stop after N evaluations without gain: 10 (5 fine-tuning).")
    ] = None,
    transpose: Annotated[int, typer.Option(help="Also train on each tune in this many other keys.")] = 0,
    bar_positions: Annotated[
        bool, typer.Option(help="The model reads each character's bar in its strain and tune (abc).")
    ] = False,
    positions_only: Annotated[
        bool, typer.Option(help="With --init-from: train the positions alone, the base's weights kept.")
    ] = False,
    keep_evals: Annotated[
        bool, typer.Option(help="Also keep every evaluation's model in OUT/checkpoints/step-N.")
    ] = False,
    device: kit.Device = "auto",
    random_seed: Annotated[int, typer.Option(help="Seed for repeatable runs.")] = 1234,
    resume: Annotated[bool, typer.Option(help="Continue the run saved in --out.")] = False,
    force: Annotated[bool, typer.Option(help="Replace a model already in --out.")] = False,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch (default: all cores).")] = None,
) -> None:
    """Train a character-level LSTM on a stream.

    Example: musicrnn train corpora/folk.txt --out outputs/models/folk --max-minutes 25
    Example: musicrnn train mine.txt --init-from folk --out models/mine --sample-every 50

    Ctrl-C saves the run (exit code 130); --resume continues it.

    Several processes (DistributedDataParallel; --batch-size is the global batch):
    torchrun --nproc_per_node 2 -m musicrnn train corpora/folk.txt --out outputs/models/folk
    """
    args = kit.use_case_args(locals())  # first: the parameters alone
    if init_from is None:
        args.setdefault("early_stop_patience", 10)  # fine-tuning takes pipeline.FINE_TUNING's
    from rich.progress import TimeRemainingColumn

    from musicrnn.train import summary_line

    main = pipeline.main_process()  # under torchrun, rank 0 alone reports
    bar, task = kit.progress_bar("training", TimeRemainingColumn(), total=1.0, transient=False, disable=not main)

    def follow(event: dict) -> None:
        if event.get("event") == "sample":
            return bar.console.print(f"sample at step {event['step']}:\n{event['text']}", markup=False, highlight=False)
        done, line = pipeline.train_progress(event, max_steps, max_minutes)
        if event.get("event") == "nan":
            return say(line)
        bar.update(task, completed=done, description=line)

    try:  # the bar starts once the corpus and the options are checked
        trained = pipeline.train_model(**args, on_start=bar.start, on_progress=follow)
    finally:
        kit.stop(bar)
    if main:
        out_console.print(summary_line(trained.result), highlight=False)
        if trained.loss_curve is not None:
            out_console.print(f"loss curve: {trained.loss_curve}", highlight=False)
        else:
            err_console.print(f"no loss curve: {trained.no_loss_curve}", markup=False, highlight=False)
    if trained.result.interrupted:  # the run was saved; --resume continues it
        raise typer.Exit(EXIT_INTERRUPTED)


NEW_PIECES_ONLY = (
    "seed",
    "seed_file",
    "num",
    "length",
    "rerank",
    "bar_candidates",
    "bar_recall",
    "rank_lengths",
    "cadence_temperature",
    *pipeline.ASKED,
)
CONTINUATION_ONLY = ("seed_midi", "seed_bars", "seed_seconds", "transpose_into_range", "track")


@app.command()
@friendly_errors
def generate(
    meter: Annotated[str | None, typer.Option(help="Meter: 6/8, 3/4, 4/4, C ... (ABC, MIDI).")] = None,
    key: Annotated[str | None, typer.Option(help="Key: D, Em, Dmix, Ador, Bb, 'A dorian' ... (ABC, MIDI).")] = None,
    unit: Annotated[str | None, typer.Option(help="ABC note unit, 1/8 or 1/16 (default: the meter's).")] = None,
    tempo: Annotated[float | None, typer.Option(help="Tempo in quarter notes a minute (ABC, tabs, MIDI).")] = None,
    title: Annotated[str | None, typer.Option(help="A title for every piece.")] = None,
    bars: Annotated[
        int | None, typer.Option(help="End each piece at its N-th bar line (with --seed-midi: 8 after it).")
    ] = None,
    tuning: Annotated[str | None, typer.Option(help="Tabs: standard, 'drop D', DADGAD, 'D A D G B E' ...")] = None,
    capo: Annotated[int | None, typer.Option(help="Tabs: the capo's fret.")] = None,
    seed: Annotated[
        str | None, typer.Option(help="Text that starts every piece; after --meter/--key, a motif.")
    ] = None,
    seed_file: Annotated[str | None, typer.Option(help="Read the seed from this file (- reads stdin).")] = None,
    model: Annotated[str | None, typer.Option(help="A model folder or a bundled model (folk, tabs, midi).")] = None,
    num: Annotated[int | None, typer.Option(help="How many pieces, sampled in one batch (1).")] = None,
    length: Annotated[
        int | None, typer.Option(help="At most this many characters a piece, cut at a bar line (2000).")
    ] = None,
    temperature: kit.Temperature = 1.0,
    top_k: Annotated[int | None, typer.Option(help="Sample among the k likeliest characters only.")] = None,
    free: kit.Free = False,
    rerank: kit.Rerank = None,
    bar_candidates: kit.BarCandidates = None,
    bar_recall: kit.BarRecall = None,
    rank_lengths: kit.RankLengths = False,
    cadence_temperature: Annotated[
        float | None, typer.Option(help="Temperature times this in cadence bars (abc: 0.7, else 1).")
    ] = None,
    random_seed: kit.Seed = None,
    device: kit.Device = "auto",
    out: Annotated[
        str, typer.Option("--out", "-o", help="A music file (.mid .wav .svg .gp5 ...), .abc/.txt or -.")
    ] = "-",
    soundfont: kit.Soundfont = None,
    instrument: kit.Instrument = None,
    seed_midi: Annotated[Path | None, typer.Option(help="Continue this MIDI file (a MIDI scheme's model).")] = None,
    seed_bars: Annotated[float | None, typer.Option(help="--seed-midi: bars that prime the model (8).")] = None,
    seed_seconds: Annotated[float | None, typer.Option(help="--seed-midi: prime with seconds instead.")] = None,
    transpose_into_range: Annotated[bool, typer.Option(help="--seed-midi: move the seed into range.")] = False,
    track: Annotated[int | None, typer.Option(help="--seed-midi: only this track of the file (from 1).")] = None,
    force: kit.Force = False,
) -> None:
    """Write new pieces with a trained model (the bundled folk model by default), or continue a MIDI file.

    Example: musicrnn generate --meter 6/8 --key Dmix --num 4 --out jig.mid     # four jigs in D mixolydian
    Example: musicrnn generate --meter 4/4 --key D --bars 16 --seed 'FAAB A2FA' --out reel.wav
    Example: musicrnn generate --model tabs --tuning 'drop D' --bars 8 --out riff.tab
    Example: musicrnn generate --seed-midi song.mid --seed-bars 8 --bars 16 --out continued.mid
    """
    args = {k: v for k, v in kit.use_case_args(locals()).items() if v is not False}  # the options given
    if seed_midi is None:
        _refuse(args, CONTINUATION_ONLY, "for --seed-midi (continuing a MIDI file)")
        if seed_file is not None:
            if seed is not None:
                raise CliError("give --seed or --seed-file, not both")
            args["seed"] = pipeline.read_seed(args.pop("seed_file"))
        pieces = pipeline.generate(**args, log=say)
        for path in pieces.written:
            show(str(path))
        if pieces.written:
            say(f"{len(pieces)} piece(s), {pieces.note_count} notes, {pieces.repaired} needed repair")
        return say(*pieces.notes)
    _refuse(args, NEW_PIECES_ONLY, "for new pieces, not for --seed-midi, which continues one file for --bars bars")
    done = pipeline.continue_file(args.pop("seed_midi"), **args)
    begin, moved = done.opening.beats, done.opening.shift
    moved = f", transposed by {moved:+d} semitones to prime the model" if moved else ""
    for path in done.written:
        show(str(path))
    wrote = f"{begin:g} beats of {seed_midi.name}{moved}"
    notes = f"{len(done.source.piece.notes)} notes, {len(done.source.repairs)} repairs"
    say(f"{wrote}, then {done.bars:g} bars by the model (marker 'continuation' at beat {begin:g}); {notes}")
    say(*done.notes)


def _refuse(given: dict, names: tuple[str, ...], why: str) -> None:
    """A one-line error naming the options of `names` that were given but would not be used."""
    if flags := ["--" + name.replace("_", "-") for name in names if name in given]:
        raise CliError(f"{', '.join(flags)} {'is' if len(flags) == 1 else 'are'} {why}")


def _own_outputs() -> str:
    """The files schemes write a piece of their own as, beyond those any piece is written as
    (OUTPUT_KINDS: a tab's .tab and .gp5 are), in words for help texts ("the x scheme also
    .y; "), from the schemes (musicrnn.outputs.piece_files); empty when there are none."""
    from encoders.tab.arranging import ARRANGED_FILES
    from musicrnn.outputs import piece_files

    by_files: dict[str, list[str]] = {}
    for scheme in encoders.all_schemes():
        if files := [f for f in piece_files(scheme) if f not in ARRANGED_FILES]:
            by_files.setdefault(" ".join(files), []).append(scheme.name)
    said = (
        f"the {' and '.join(names)} scheme{'s' if len(names) > 1 else ''} also {f}; " for f, names in by_files.items()
    )
    return "".join(said)


@app.command()
@friendly_errors
@kit.scheme_flags("decode")
def decode(
    file: Annotated[Path, typer.Argument(help="A file of pieces: an ABC or tab file, or a generated stream.")],
    out: Annotated[
        str, typer.Option("--out", "-o", help=f"{pipeline.OUTPUT_KINDS}; {_own_outputs()}or .abc/.txt, or -.")
    ],
    scheme: kit.Scheme = None,
    force: kit.Force = False,
    **options,
) -> None:
    """Turn text (a file or generated stream) into music files, repairing what cannot be played.

    Example: musicrnn decode tune.abc --out tune.mid
    Example: musicrnn decode riff.tab --scheme columns --step 0.5 --out riff.mid
    """
    pieces = pipeline.decode(**kit.use_case_args(locals()))
    say(*(f"  repaired {problem}" for piece in pieces for problem in piece.repairs[:10]))
    say(f"decoded {len(pieces)} piece(s), {pieces.note_count} notes, {pieces.repaired} repaired", *pieces.notes)


@app.command()
@friendly_errors
@kit.scheme_flags("decode")
def render(
    file: Annotated[Path, typer.Argument(help="A MIDI file, an ABC or tab file, or a generated stream.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Audio, .svg, .musicxml, .png, .mid, or a guitar tab .tab/.gp5 (one a piece)."
        ),
    ],
    scheme: kit.Scheme = None,
    soundfont: kit.Soundfont = None,
    instrument: kit.Instrument = None,
    track: Annotated[int | None, typer.Option(help="MIDI: only this track (default: all).")] = None,
    force: kit.Force = False,
    max_minutes: Annotated[float, typer.Option(help="Audio: refuse to make more minutes than this.")] = 30.0,
    **options,
) -> None:
    """Listen to or look at any music file: audio, sheet music, MusicXML, piano roll, MIDI or a guitar tab.

    Example: musicrnn render song.mid --out song.wav
    Example: musicrnn render tune.abc --out tune.svg
    Example: musicrnn render song.mid --out song.gp5      # fretted in standard tuning
    """
    say(*pipeline.render_file(**kit.use_case_args(locals()), log=lambda line: say(f"wrote {line}")).notes)


@app.command()
@friendly_errors
def audition(
    folder: Annotated[Path, typer.Argument(help="A folder of pieces: ABC, tab or stream files, MIDI files.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The page (default: FOLDER/audition.html).")] = None,
    soundfont: kit.Soundfont = None,
    instrument: kit.Instrument = None,
    serve: Annotated[bool, typer.Option("--serve", help="Also serve the page on localhost.")] = False,
    port: Annotated[int, typer.Option(help="Port for --serve (0: any free port).")] = 8000,
) -> None:
    """One page to listen to, look at and choose among pieces: keep or discard each, export the kept.

    Example: musicrnn generate --seed "X:1" --num 24 --out outputs/batch/tune.abc
             musicrnn audition outputs/batch/      # then open outputs/batch/audition.html
    """
    args = kit.use_case_args(locals(), "serve", "port")  # first: the parameters alone
    from rich.progress import MofNCompleteColumn, TimeRemainingColumn

    bar, task = kit.progress_bar("rendering", MofNCompleteColumn(), TimeRemainingColumn(), transient=True)
    with bar:
        follow = lambda name: bar.update(task, advance=1, description=printable(name)[:40])  # noqa: E731
        count = lambda n: bar.update(task, total=n)  # noqa: E731
        report = pipeline.audition_page(**args, on_start=count, on_piece=follow)
    for problem in report.skipped:
        err_console.print(f"  skipped {problem}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    size = report.path.stat().st_size / 1e6
    show(f"wrote {report.path}: {len(report.cards)} pieces ({size:.1f} MB, open it in a browser)")
    if serve:
        if report.path.parent.resolve() != folder.resolve():
            raise CliError("--serve serves FOLDER: leave --out at its default")
        ready = lambda url: show(f"serving {url} (Ctrl-C stops)")  # noqa: E731
        pipeline.serve_page(folder, port, report.path.name, on_ready=ready)


@app.command()
@friendly_errors
def evaluate(
    corpus: Annotated[Path, typer.Argument(help="The stream the model was trained on (its held-out pieces).")],
    model: Annotated[str, typer.Option(help="A model folder, or a bundled model's name.")] = "folk",
    samples: Annotated[int, typer.Option(help="Pieces to sample for the validity and novelty figures.")] = 50,
    temperature: kit.Temperature = 1.0,
    free: kit.Free = False,
    rerank: kit.Rerank = None,
    bar_candidates: kit.BarCandidates = None,
    bar_recall: kit.BarRecall = None,
    rank_lengths: kit.RankLengths = False,
    random_seed: Annotated[int, typer.Option(help="Seed for the samples.")] = 0,
    device: kit.Device = "auto",
) -> None:
    """Compare a model with n-gram and xz baselines on held-out pieces, and check its samples.

    Example: musicrnn evaluate --model outputs/models/folk corpora/folk.txt
    """
    args = kit.use_case_args(locals())  # first: the parameters alone
    from musicrnn.evaluate import STAGES, report_rows

    with kit.Counting("evaluating", len(STAGES)) as progress:
        report = pipeline.evaluate_model(**args, on_stage=progress.stage, on_count=progress.count)

    kit.table(
        printable(f"{report.model_path} on held-out pieces of {corpus}"), ("measure", "value"), report_rows(report)
    )
    if report.music:
        title = f"The music: {report.num_samples} generated pieces beside as many real ones"
        kit.table(title, ("measure", "generated", "held-out real", "training real"), report.music)


@app.command()
@friendly_errors
def studio(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 0,
    models: Annotated[
        list[Path] | None, typer.Option("--models", help="Also offer this model folder (or a folder of them).")
    ] = None,
    folder: Annotated[Path, typer.Option(help="The studio's folder: the tunebook is kept there.")] = Path(
        "outputs/studio"
    ),
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the web browser.")] = False,
) -> None:
    """A local web app to generate, hear, continue and keep pieces (Ctrl-C stops it).

    Example: musicrnn studio --open
    Example: musicrnn studio --models outputs/models --folder my_tunes/studio
    """
    from musicrnn.studio import serve_studio

    ready = lambda url: show(f"musicrnn studio at {url} (Ctrl-C stops)")  # noqa: E731
    serve_studio(port, models or [], folder, open_browser, on_ready=ready)


def _version(value: bool) -> None:
    if value:
        from musicrnn import __version__

        show(f"musicrnn {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Learn music from text (ABC tunes, guitar tabs, MIDI) with a char-LSTM, and write new music."""


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
    except BaseException:  # noqa: BLE001 - whatever ends a rank, it leaves with an exit code
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
