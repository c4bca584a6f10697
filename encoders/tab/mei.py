"""A tab as MEI tablature, for verovio to engrave as a guitar tab staff.

`tab_to_mei` writes a canonical `Tab` as an MEI 5 document with one staff of
``notationtype="tab.guitar"``: one line per string (the highest on top), the
tuning as MEI ``<course>`` elements (course 1 the highest string), a measure per
bar of the tab, and a ``<tabGrp>`` per column that strikes a fret, each fret a
``<note tab.course tab.fret>``.  Time is the tab's grid: a column is a
sixteenth; a chord lasts until the next one (written as the longest plain note
values that fit, then ``<space>`` for the rest), so verovio spaces the frets as
the time between them, and each ``<tabGrp>`` holds a ``<tabDurSym/>``, so verovio
draws its value as a rhythm stem (flags for eighths and shorter) under the
staff, as printed guitar tabs show rhythm.  Technique marks are not engraved
(the frets are).

Bounded: at most `MAX_MEASURES` measures are written (a note says how many
were left out); a bar longer than `MAX_MEASURE_STEPS` columns (a tab without
bar lines) is cut into measures of that many.

    >>> from encoders.tab import Tab
    >>> mei = tab_to_mei(Tab((40, 45, 50, 55, 59, 64), [[("0", "-", "-", "-", "-", "3"), "|"]]))
    >>> '<note tab.course="6" tab.fret="0"/>' in mei and '<note tab.course="1" tab.fret="3"/>' in mei
    True
    >>> '<tabGrp dur="16"><note tab.course="1" tab.fret="3"/><note tab.course="6" tab.fret="0"/><tabDurSym/>' in mei
    True
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from encoders.piece import Problem
from encoders.tab.reading import read_any
from encoders.tab.symbols import DEFAULT_TUNINGS, NAMES, Tab, canonical, symbol_fret

__all__ = ["MAX_MEASURES", "MAX_MEASURE_STEPS", "tab_to_mei", "text_to_mei"]

MAX_MEASURES = 400
MAX_MEASURE_STEPS = 64
_VALUES = ((16, "1"), (8, "2"), (4, "4"), (2, "8"), (1, "16"))


def _course(pitch: int, course: int) -> str:
    name = NAMES[pitch % 12]
    accid = ' accid="f"' if name.endswith("b") else ' accid="s"' if name.endswith("#") else ""
    return f'<course n="{course}" pname="{name[0].lower()}" oct="{pitch // 12 - 1}"{accid}/>'


def _durations(steps: int) -> list[str]:
    """Plain note values (MEI @dur) adding up to `steps` sixteenths, longest first."""
    out = []
    for size, dur in _VALUES:
        while steps >= size:
            out.append(dur)
            steps -= size
    return out


def _measures(tab: Tab) -> list[list[tuple[str, ...]]]:
    """The tab's steps cut at its bar lines (and every `MAX_MEASURE_STEPS` columns)."""
    measures: list[list[tuple[str, ...]]] = []
    current: list[tuple[str, ...]] = []
    for system in tab.systems:
        for e in system:
            if isinstance(e, str):
                if current:
                    measures.append(current)
                current = []
                continue
            current.append(e)
            if len(current) == MAX_MEASURE_STEPS:
                measures.append(current)
                current = []
    if current:
        measures.append(current)
    return measures


def _layer(steps: list[tuple[str, ...]], n: int) -> str:
    """A measure's layer: a tabGrp at each column that strikes a fret, spaces between."""
    struck = [i for i, e in enumerate(steps) if any(symbol_fret(x) is not None for x in e)]
    out = [f'<space dur="{d}"/>' for d in _durations(struck[0] if struck else len(steps))]
    for k, i in enumerate(struck):
        length = (struck[k + 1] if k + 1 < len(struck) else len(steps)) - i
        durs = _durations(length)
        notes = "".join(
            f'<note tab.course="{n - s}" tab.fret="{symbol_fret(x)}"/>'
            for s, x in reversed(list(enumerate(steps[i])))
            if symbol_fret(x) is not None
        )
        out.append(f'<tabGrp dur="{durs[0]}">{notes}<tabDurSym/></tabGrp>')  # tabDurSym: the rhythm stem
        out += [f'<space dur="{d}"/>' for d in durs[1:]]
    return "".join(out)


def tab_to_mei(tab: Tab, title: str | None = None) -> str:
    """The MEI tablature document of a canonical Tab (see the module docstring)."""
    n = len(tab.tuning)
    courses = "".join(_course(p, n - s) for s, p in reversed(list(enumerate(tab.tuning))))
    measures = _measures(tab)
    left = max(0, len(measures) - MAX_MEASURES)
    body = []
    for k, steps in enumerate(measures[:MAX_MEASURES]):
        body.append(f'<measure n="{k + 1}"><staff n="1"><layer n="1">{_layer(steps, n)}</layer></staff></measure>')
    if not body:
        body.append('<measure n="1"><staff n="1"><layer n="1"><space dur="1"/></layer></staff></measure>')
    heading = escape((title or "").strip().splitlines()[0] if (title or "").strip() else "tab")
    if left:
        heading += escape(f" (the first {MAX_MEASURES} bars; {left} more not shown)")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<mei xmlns="http://www.music-encoding.org/ns/mei" meiversion="5.0">'
        f"<meiHead><fileDesc><titleStmt><title>{heading}</title></titleStmt><pubStmt/></fileDesc></meiHead>"
        "<music><body><mdiv><score><scoreDef><staffGrp>"
        f'<staffDef n="1" lines="{n}" notationtype="tab.guitar"><tuning>{courses}</tuning></staffDef>'
        f"</staffGrp></scoreDef><section>{''.join(body)}</section></score></mdiv></body></music></mei>\n"
    )


def text_to_mei(text: str, title: str | None = None, source: str = "") -> tuple[str, list[Problem]]:
    """Any tab text as MEI tablature (`tab_to_mei`), and the repairs made to read it."""
    tab, repairs = read_any(text, source)
    if tab is None:
        repairs.append(Problem("no staff found; an empty staff engraved", 0, 0, source))
        tab = Tab(DEFAULT_TUNINGS[6])
    tab, more = canonical(tab, source)
    return tab_to_mei(tab, title), repairs + more
