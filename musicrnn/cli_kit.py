"""What every command of musicrnn.cli prints with and is declared with.

- `out_console`, `err_console`: rich consoles that print only printable text (`say`, `show`);
- `progress_bar`, `stop`, `table`: progress on stderr, tables on stdout;
- `scheme_flags`: a flag for every option the schemes declare (encoders.Scheme.encode_options,
  decode_options), so a new scheme's options reach the command line without editing it;
- `use_case_args`: a command's parameters as the keywords of its use case (musicrnn.pipeline);
- `Force`, `Scheme`, `Device` ...: the flags several commands share.
"""

from __future__ import annotations

import inspect
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
    typer.Option(help="Sample each bar this many times, keep the one the model finds likeliest (4; 1: off)."),
]
Seed = Annotated[int | None, typer.Option(help="Seed for repeatable samples.")]
