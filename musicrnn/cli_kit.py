"""What every command of musicrnn.cli prints with and is declared with.

- `out_console`, `err_console`: rich consoles that print only printable text (`say`, `show`);
- `progress_bar`, `stop`, `table`: progress on stderr, tables on stdout; `Counting`: a bar for
  work in stages, each with its own count and an ETA from its measured rate;
- `scheme_flags`: a flag for every option the schemes declare (encoders.Scheme.encode_options,
  decode_options), so a new scheme's options reach the command line without editing it;
- `use_case_args`: a command's parameters as the keywords of its use case (musicrnn.pipeline);
- `Force`, `Scheme`, `Device` ...: the flags several commands share.
"""

from __future__ import annotations

import inspect
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import encoders
from musicrnn.terminal import printable


class _Console(Console):
    """A rich Console that prints every string made printable first (`musicrnn.terminal`):
    a file name with ESC sequences or a newline cannot drive the terminal or forge a line,
    and one that is not UTF-8 shows escaped instead of failing the print."""

    def print(self, *objects, **kwargs) -> None:
        super().print(*(printable(o) if isinstance(o, str) else o for o in objects), **kwargs)


out_console = _Console()
err_console = _Console(stderr=True)


def say(*lines: str) -> None:
    """Lines on stderr as they are (no markup): what a command did, replaced or skipped."""
    for line in lines:
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)


def show(line: str) -> None:
    """A line on stdout: what a command wrote."""
    out_console.print(line, highlight=False, soft_wrap=True)


def progress_bar(label: str, *columns, total: float | None = None, **options):
    """A progress bar on stderr, not started yet, and its task: the label, the bar, `columns`,
    then the task's description."""
    from rich.progress import BarColumn, Progress, TextColumn

    columns = (TextColumn(label), BarColumn(), *columns, TextColumn("{task.description}"))
    bar = Progress(*columns, console=err_console, **options)
    return bar, bar.add_task("", total=total)


REFRESH_S = 0.1
"""How often `Counting` redraws its bar as counts arrive (besides rich's own redraws)."""


def count_column():
    """A column: the task's count of its `unit` field, "done/total unit", or "done unit" where
    the total is not known (never "17/?"); blank while it has no unit."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class CountColumn(ProgressColumn):
        def render(self, task) -> Text:
            unit = task.fields.get("unit", "")
            if not unit:  # nothing counted yet
                return Text("")
            done = f"{int(task.completed):,}"
            shown = done if task.total is None else f"{done}/{int(task.total):,}"
            return Text(f"{shown} {unit}".strip(), style="progress.download")

    return CountColumn()


def eta_column():
    """A column: the task's time remaining from its own measured rate, the time since it began
    counting (its `since` field, time.monotonic) over what it has done ("eta 0:01:23"); blank
    while nothing is done or the total is not known, so it is never a guess."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class EtaColumn(ProgressColumn):
        def render(self, task) -> Text:
            since = task.fields.get("since")
            if task.total is None or not task.completed or since is None:
                return Text("")
            elapsed = time.monotonic() - since
            left = max(0.0, elapsed * (task.total - task.completed) / task.completed)
            minutes, seconds = divmod(int(left + 0.5), 60)
            return Text(f"eta {minutes // 60}:{minutes % 60:02d}:{seconds:02d}", style="progress.remaining")

    return EtaColumn()


class Counting:
    """A progress bar on stderr for work in stages, each counted in its own unit: `stage(what)`
    starts a stage (its count, clock and ETA from zero), `count(done, total, unit)` says how far
    it is (total None: a count with no bar and no ETA); the ETA is the time since the stage's
    first count over the units done, times those left.  Use it as a context manager; like every
    bar here, it shows only where rich draws live output (a terminal) and leaves when done."""

    def __init__(self, label: str, stages: int):
        from rich.progress import TimeElapsedColumn

        self.bar, self.task = progress_bar(
            label, count_column(), TimeElapsedColumn(), eta_column(), total=None, transient=True
        )
        self.stages, self.begun, self.drawn, self.since = stages, 0, 0.0, None
        self.bar.update(self.task, description=f"0/{stages} starting", unit="")

    def __enter__(self):
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        stop(self.bar)

    def stage(self, what: str) -> None:
        self.begun += 1
        self.bar.remove_task(self.task)  # a fresh task: no total, count or clock carried over
        self.task = self.bar.add_task(f"{self.begun}/{self.stages} {what}", total=None, unit="")
        self.since = None
        self._draw(force=True)

    def count(self, done: int, total: int | None, unit: str) -> None:
        if self.since is None:  # the rate is the counted work's, not the stage's setup
            self.since = time.monotonic()
        self.bar.update(self.task, completed=done, total=total, unit=unit, since=self.since)
        self._draw(force=done == total)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.bar.live.is_started and (force or now - self.drawn >= REFRESH_S):
            self.drawn = now
            self.bar.refresh()


def stop(bar) -> None:
    """Stop a progress bar if it runs (off a terminal, each stop prints a line)."""
    if bar.live.is_started:
        bar.stop()


def table(title: str, columns: tuple[str, ...], rows) -> None:
    """A table on stdout: the first column left, the others right."""
    shown = Table(title=title)
    for i, name in enumerate(columns):
        shown.add_column(name, justify="right" if i else "left")
    for row in rows:
        shown.add_row(*row)
    out_console.print(shown)


def scheme_flags(kind: str):
    """Give a command a flag for every option some scheme declares for `kind` ("encode" or
    "decode"), in place of its **options (the scheme checks the values, naming the flag)."""

    def add_flags(command):
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        for name, (option, names) in encoders.declared_options(kind).items():
            flag = Annotated[option.type | None, typer.Option(help=f"{option.help} ({', '.join(names)}).")]
            own.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=flag))
        command.__signature__ = signature.replace(parameters=own)
        return command

    return add_flags


def use_case_args(params: dict, *leave: str) -> dict:
    """A command's parameters (its `locals()` before anything else) as its use case's keywords,
    which they are named after: the ones given (not None), the schemes' options (**options)
    among them, less the names in `leave`."""
    params = {**params, **params.get("options", {})}
    return {k: v for k, v in params.items() if v is not None and k not in leave and k != "options"}


FORCE_HELP = "Replace existing files musicrnn did not write for this --out (an input is never replaced)."
Force = Annotated[bool, typer.Option("--force", help=FORCE_HELP)]
Scheme = Annotated[str | None, typer.Option(help="The text's scheme (default: from the extension or the text).")]
Device = Annotated[str, typer.Option(help="auto (cuda > mps > cpu), cpu, cuda or mps.")]
Soundfont = Annotated[str | None, typer.Option(help="Audio: a .sf2 soundfont (default: FluidR3_GM, else TimGM6mb).")]
Instrument = Annotated[str | None, typer.Option(help="Audio: play on this instrument (GM program 0-127 or a name).")]
Temperature = Annotated[float, typer.Option(help="Sampling temperature (> 0); lower is safer.")]
Free = Annotated[bool, typer.Option(help="Turn off validity-guided decoding (no masking).")]
Rerank = Annotated[int | None, typer.Option(help="Sample this many candidates a piece, keep the likeliest (1).")]
BarCandidates = Annotated[
    int | None,
    typer.Option(help="Sample each bar this many times, keep the one the model finds likeliest (abc: 3, tabs: 1)."),
]
BarRecall = Annotated[
    str | None,
    typer.Option(help="A copy of the bar this many bars back joins each bar's candidates (8; 0: off; 4,8: both)."),
]
RankLengths = Annotated[
    bool,
    typer.Option(help="Rank candidate bars on their note lengths too (off: rhythm as sampled, pitches ranked)."),
]
Seed = Annotated[int | None, typer.Option(help="Seed for repeatable samples.")]
