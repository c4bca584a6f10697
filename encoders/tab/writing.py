"""Writing a canonical `Tab` as the text of the ``rows`` and ``columns`` schemes (see `encoders.tab`)."""

from __future__ import annotations

from encoders.tab.symbols import MAX_RUN, NAMES, Tab, pitch_name, symbol_text

__all__ = ["render_columns", "render_rows"]


def _header(kind: str, tab: Tab) -> str:
    """``%rows`` or ``%columns``, the tuning, then ``capo N`` and ``tempo N`` where the tab has them."""
    extra = (f" capo {tab.capo}" if tab.capo else "") + (f" tempo {tab.tempo}" if tab.tempo is not None else "")
    return f"%{kind} " + " ".join(pitch_name(p) for p in tab.tuning) + extra + "\n"


def render_rows(tab: Tab) -> str:
    """The ``rows`` text of a canonical Tab (aligned ASCII tab with the tuning line)."""
    n = len(tab.tuning)
    names = [NAMES[p % 12] for p in tab.tuning]
    if n >= 6:
        names[-1] = names[-1].lower()
    w = max(len(x) for x in names)
    out = [_header("rows", tab)]
    for k, system in enumerate(tab.systems):
        if k:
            out.append("=\n")
        strings = [[names[s].rjust(w) + "|"] for s in range(n)]
        for e in system:
            if isinstance(e, str):
                for s in range(n):
                    strings[s].append(e)
            else:
                texts = [symbol_text(x) for x in e]
                width = max(len(t) for t in texts)
                for s in range(n):
                    strings[s].append(texts[s].ljust(width, "-"))
        for s in reversed(range(n)):
            out.append("".join(strings[s]) + "\n")
    return "".join(out)


def render_columns(tab: Tab) -> str:
    """The ``columns`` text of a canonical Tab."""
    n = len(tab.tuning)
    out = [_header("columns", tab)]
    empty = ("-",) * n
    for system in tab.systems:
        toks: list[str] = []
        run = 0
        for e in list(system) + [None]:
            if e == empty:
                run += 1
                continue
            while run:
                k = min(run, MAX_RUN)
                toks.append(f".{k}")
                run -= k
            if e is None:
                break
            toks.append(e if isinstance(e, str) else "".join(e))
        out.append(" ".join(toks) + "\n")
    return "".join(out)
