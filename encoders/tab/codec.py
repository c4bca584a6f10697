"""The ``rows`` and ``columns`` schemes (described in `encoders.tab`): raw tabs and
either scheme's text read (`reading`), made canonical (`symbols`), written
(`writing`) and played (`playing`); ``columns`` samples with `grammar`."""

from __future__ import annotations

import math
import os
import re
from abc import abstractmethod
from collections import Counter
from typing import Any

from encoders import EncodeResult, GrammarState, register
from encoders.piece import Decoded, InputError, Problem, UsageError
from encoders.scheme import ENGRAVE_TAB, Option, Scheme
from encoders.tab.playing import tab_to_piece
from encoders.tab.reading import looks_like_tab, parse_columns, parse_tab, read_any
from encoders.tab.symbols import BARS, DEFAULT_TUNINGS, PROGRAM_GUITAR, STEP_BEATS, Tab, canonical, symbol_fret
from encoders.tab.writing import render_columns, render_rows

__all__ = [
    "COLUMNS",
    "ColumnsScheme",
    "MAX_TEXT_CHARS",
    "ROWS",
    "RowsScheme",
    "TabScheme",
    "columns_to_rows",
    "rows_to_columns",
]

MAX_TEXT_CHARS = 500_000
"""A tab text longer than this is not read whole (the longest piece of the tab corpora has
18,866 characters; reading is linear, about 10 us a character, and a 50 MB line is no tab)."""
MAX_STEP_BEATS = 16
MAX_CORPUS_TUNINGS = 32


def parse_step(value: Any) -> float:
    """The time step of a tab column in beats, above 0 and at most 16 (UsageError otherwise)."""
    try:
        step = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        step = math.nan
    if not 0 < step <= MAX_STEP_BEATS:
        raise UsageError(f"the time step (--step) must be above 0 and at most {MAX_STEP_BEATS} beats, not {value!r}")
    return step


def rows_to_columns(text: str) -> str:
    tab, _ = parse_tab(text)
    if tab is None:
        raise InputError("no staff found")
    return render_columns(canonical(tab)[0])


def columns_to_rows(text: str) -> str:
    tab, _ = parse_columns(text)
    return render_rows(canonical(tab)[0])


GP_SUFFIXES = (".gp3", ".gp4", ".gp5")
SHEET_SUFFIXES = (".txt",)
"""Read as tabs when a tab scheme is asked for (``--scheme columns``), never claimed by
name alone: a .txt file is as often a stream of another scheme."""


def parse_track(value: Any) -> int | None:
    """A Guitar Pro track number, counted from 1 (UsageError otherwise)."""
    if value is None:
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        raise UsageError(f"--track must be a track number counted from 1, not {value!r}")
    track = int(value)
    if track < 1:
        raise UsageError(f"--track must be a track number counted from 1, not {value!r}")
    return track


class TabScheme(Scheme):
    """What ``rows`` and ``columns`` share: any tab in (text tabs as saved from tab sites,
    .txt/.tab/.crd, each file one piece; Guitar Pro files), the aligned tab (``rows``) as
    every decoder's text, played on the guitar, shown as the tab itself (no sheet music).
    A subclass names its scheme and writes `_render`."""

    suffixes = (".tab", ".crd")
    binary_suffixes = GP_SUFFIXES
    program = PROGRAM_GUITAR
    engraving = ENGRAVE_TAB
    encode_options = (
        Option(
            "track",
            int,
            None,
            "Guitar Pro: the track to read (counted from 1); default: the "
            "first that is not drums and has 4, 6 or 7 strings",
            parse=parse_track,
        ),
    )
    decode_options = (
        Option(
            "step", float, STEP_BEATS, "tabs: beats per tab column (a quarter of a beat by default)", parse=parse_step
        ),
    )

    piece_files = (".tab", ".gp5")
    """What a piece of this scheme is written as, one file each (`piece_file`): the aligned
    staff a guitarist prints (``.tab``, the text of `encoders.tab.staff`) and Guitar Pro 5."""

    def piece_file(self, text: str, suffix: str, title: str = "", source: str = "") -> tuple[bytes, list[Problem]]:
        """The bytes of a ``.tab`` (staff) or ``.gp5`` file of any tab text (a ``rows`` or
        ``columns`` piece, generated or not, or a raw tab), and the repairs made to read it."""
        suffix = suffix.lower()
        if suffix == ".tab":
            from encoders.tab.staff import text_to_staff

            staff, problems = text_to_staff(text, title or None, source)
            return staff.encode("utf-8"), problems
        if suffix == ".gp5":
            import io

            from encoders.tab.guitarpro import text_to_guitar_pro

            data = io.BytesIO()
            problems = text_to_guitar_pro(text, data, title=title, source=source)
            return data.getvalue(), problems
        raise UsageError(f"a {self.name} piece is written as {' or '.join(self.piece_files)}, not {suffix or '(none)'}")

    def engrave_mei(self, text: str, title: str = "") -> str:
        """The tab of a piece's text as MEI tablature (`encoders.tab.mei`) for verovio: a
        guitar tab staff, the tuning beside it, a measure per bar."""
        from encoders.tab.mei import text_to_mei

        return text_to_mei(text, title or None)[0]

    @property
    def seed(self) -> str:
        return f"%{self.name} "  # a piece starts with its header line; the model picks the tuning

    @abstractmethod
    def _render(self, tab: Tab) -> str:
        """This scheme's text of a canonical Tab."""

    header_fields = ("tuning", "capo", "tempo")

    def _header(self, given: dict[str, Any], options: dict) -> str:
        """The header line of a tuning, capo and tempo (see `encoders.tab.asking`)."""
        from encoders.tab.asking import header_text

        text = header_text(self.name, **given)
        check = self.grammar(options)
        if check is not None:
            check.feed(text)
            if check.problems:
                known = "; ".join(options.get("tunings") or [])
                known = f" (its tunings: {known})" if known else ""
                raise UsageError(f"the model cannot write {text.strip()!r}{known}")
        return text

    later_fields = ("capo",)

    def apply_later(self, text: str, choices: dict[str, Any]) -> str:
        """A tab written without a capo, with one (``capo N`` in its header, before any tempo):
        the hand plays the same shapes, which sound N semitones higher.  A header that already
        names a capo is left as it is."""
        capo = choices.get("capo")
        head, sep, body = text.partition("\n")
        words = head.split(" ")
        if not capo or not head.startswith(f"%{self.name} ") or "capo" in words:
            return text
        at = words.index("tempo") if "tempo" in words else len(words)
        return " ".join(words[:at] + ["capo", str(capo)] + words[at:]) + sep + body

    def reads(self, path: str | os.PathLike) -> bool:
        """Tab files (.tab, .crd), Guitar Pro files, and .txt files (tab sites save tabs as .txt)."""
        return super().reads(path) or os.fspath(path).lower().endswith(SHEET_SUFFIXES)

    def _encode_file(self, path: str, track: int | None = None) -> EncodeResult:
        """A text tab -> its one piece; a Guitar Pro file -> the piece of one track (`track`)."""
        if not path.lower().endswith(self.binary_suffixes):
            return super()._encode_file(path, track=track)
        from encoders.tab.guitarpro import read_guitar_pro

        read = read_guitar_pro(path, track)
        tab, repairs = canonical(read.tab, path)
        if not any(
            symbol_fret(x) is not None for system in tab.systems for e in system if not isinstance(e, str) for x in e
        ):
            raise InputError(f"track {read.track} has no notes", path=path)
        return EncodeResult([self._render(tab)], read.problems + repairs)

    def _encode_text(self, text: str, path: str, track: int | None = None) -> EncodeResult:
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(
                f"{len(text):,} characters is more than any tab (at most {MAX_TEXT_CHARS:,} are read)", path=path
            )
        tab, problems = read_any(text, path)
        if tab is None or not tab.systems:
            raise InputError("no tab staff found (4, 6 or 7 string lines)", path=path)
        tab, repairs = canonical(tab, path)
        return EncodeResult([self._render(tab)], problems + repairs)

    def _decode(self, text: str, path: str, step: float = STEP_BEATS) -> Decoded:
        """A piece's notes (`step` beats per column) and its aligned tab text."""
        cut = []
        if len(text) > MAX_TEXT_CHARS:
            end = text.rfind("\n", 0, MAX_TEXT_CHARS) + 1 or MAX_TEXT_CHARS
            cut = [
                Problem(
                    f"the tab is {len(text):,} characters long; only the first {end:,} are read",
                    text.count("\n", 0, end) + 1,
                    1,
                    path,
                )
            ]
            text = text[:end]
        tab, repairs = read_any(text, path)
        repairs = cut + repairs
        if tab is None:
            repairs.append(Problem("no staff found; empty piece", 0, 0, path))
            tab = Tab(DEFAULT_TUNINGS[6])
        tab, more = canonical(tab, path)
        return Decoded(tab_to_piece(tab, step=step), render_rows(tab), repairs + more, None)

    def _unreadable(self, text: str, path: str, error: Exception, step: float = STEP_BEATS) -> Decoded:
        tab = Tab(DEFAULT_TUNINGS[6])
        return Decoded(
            tab_to_piece(tab, step=step),
            render_rows(tab),
            [Problem(f"unreadable tab ({type(error).__name__}: {error}); empty piece", 0, 0, path)],
            None,
        )

    def split(self, stream: str) -> list[str]:
        """Pieces: a stream's pieces each start with a header line (``%rows``, ``%columns``)
        and end at the next one, blank lines around them dropped; text before the first
        header, or a whole file without one (a tab as saved from a tab site, blank lines
        between its systems and all), is one piece."""
        pieces: list[str] = []
        current: list[str] = []
        for line in stream.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            if line.startswith(("%rows", "%columns")) and current:
                pieces.append("\n".join(current))
                current = []
            current.append(line)
        pieces.append("\n".join(current))
        return [p.strip("\n") + "\n" for p in pieces if p.strip()]

    def sniff(self, text: str) -> bool:
        """This scheme's stream (it starts with the header), or a tab as saved from a tab
        site (a staff of string lines, `looks_like_tab`), which either tab scheme reads."""
        return super().sniff(text) or looks_like_tab(text)

    def body(self, text: str) -> str:
        """Everything after the header line."""
        if text.startswith("%"):
            return text.split("\n", 1)[1] if "\n" in text else ""
        return text


class RowsScheme(TabScheme):
    """The ``rows`` scheme: the aligned ASCII tab, high string first."""

    name = "rows"

    def _render(self, tab: Tab) -> str:
        return render_rows(tab)


class ColumnsScheme(TabScheme):
    """The ``columns`` scheme: one token per time column, low string first, with validity-guided sampling."""

    name = "columns"
    bar_candidates = 1
    """A bar sampled once, with a copy of the bar eight back beside it (`Scheme.bar_recall`):
    ranked among 4 sampled bars, tabs lost their chords (27% of beats against 36% and the
    corpus's 51%, docs/models.md)."""
    suffixes = TabScheme.suffixes + GP_SUFFIXES
    """As ``roll`` names .mid: a Guitar Pro file given without --scheme is read as ``columns``
    (the bundled tabs model's scheme); it is read as bytes all the same (`binary_suffixes`)."""

    def _render(self, tab: Tab) -> str:
        return render_columns(tab)

    def grammar(self, options: dict | None = None) -> GrammarState | None:
        """The columns grammar; with a model's `corpus_options`, held to the corpus's tunings."""
        from encoders.tab.grammar import ColumnsGrammar

        options = options or {}
        tunings = options.get("tunings")
        ok = isinstance(tunings, list) and tunings and all(isinstance(t, str) and t for t in tunings)
        reach = options.get("reach")
        reach = reach if isinstance(reach, int) and not isinstance(reach, bool) and 1 <= reach <= 24 else None
        return ColumnsGrammar(tunings if ok else None, reach=reach, even_bars=options.get("even_bars") is True)

    def bar_ends(self, text: str) -> list[int]:
        """Offsets just after each bar token (``|`` ``||`` ``|:`` ``:|`` ``:|:``) that closes music."""
        ends, music = [], False
        offset = text.find("\n") + 1
        if offset == 0:
            return []
        for m in re.finditer(r"\S+", text[offset:]):
            if m.group() in BARS:
                if music:
                    ends.append(offset + m.end())
                music = False
            else:
                music = True
        return ends

    bar_line_chars = "|:"  # the bar tokens | || |: :| :|: (open_end takes the final one off)

    def grammar_in_bars(self, bars: int, options: dict | None = None) -> GrammarState:
        """The grammar, ending the piece at its `bars`-th bar line (`encoders.tab.asking`)."""
        from encoders.tab.asking import ColumnsBars

        return ColumnsBars(self.grammar(options), bars)

    def corpus_options(self, pieces) -> dict:
        """What a model trained on `pieces` is held to when it samples (`grammar`): the
        tunings of the corpus's headers (note names, low to high; when there are at most
        `MAX_CORPUS_TUNINGS`), ``reach`` 4 when at most 1% of the steps that strike notes
        hold fretted notes more than 4 frets apart, and ``even_bars`` when at least 80% of
        the bars between a piece's second and last have the second's length."""
        tunings: set[str] = set()
        shape = Counter()
        for text in self._pieces(pieces):
            if not text.startswith("%columns "):
                continue
            head, _, body = text.partition("\n")
            words = head.split(" ")[1:]
            names = words[: words.index("capo") if "capo" in words else len(words)]
            names = names[: names.index("tempo") if "tempo" in names else len(names)]
            tunings.add(" ".join(names))
            if len(tunings) > MAX_CORPUS_TUNINGS:
                tunings.add("")
            _count_shape(body, len(names), shape)
        options: dict[str, Any] = {"tunings": sorted(tunings)} if tunings and "" not in tunings else {}
        if shape["struck"] and shape["wide"] <= 0.01 * shape["struck"]:
            options["reach"] = 4
        if shape["bars"] and shape["even"] >= 0.8 * shape["bars"]:
            options["even_bars"] = True
        return options


def _count_shape(body: str, n: int, shape: Counter) -> None:
    """Count a columns body's struck steps and the wide ones (fretted notes more than 4
    apart), and its bars between the second and the last with the second's length."""
    lengths, count = [], 0
    for token in body.split():
        if token[0] in "|:":
            if count:
                lengths.append(count)
            count = 0
        elif token[0] == "." and token[1:].isdigit():
            count += int(token[1:])
        elif len(token) == n:
            count += 1
            frets = [f for f in (symbol_fret(c) for c in token) if f]
            shape["struck"] += any(symbol_fret(c) is not None for c in token)
            shape["wide"] += bool(frets) and max(frets) - min(frets) > 4
    if len(lengths) > 2:
        inner = lengths[1:-1] if count == 0 else lengths[1:]
        shape["bars"] += len(inner)
        shape["even"] += sum(x == lengths[1] for x in inner)


ROWS = register(RowsScheme())
COLUMNS = register(ColumnsScheme())
