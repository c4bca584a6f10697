"""Playing a `Tab`: its notes as a `Piece` (see "Decoding to a Piece" in `encoders.tab`)."""

from __future__ import annotations

from encoders.piece import Note, Piece
from encoders.tab.symbols import PROGRAM_BASS, PROGRAM_GUITAR, STEP_BEATS, Tab, symbol_fret

__all__ = ["tab_to_piece"]


def tab_to_piece(tab: Tab, title: str | None = None, step: float = STEP_BEATS) -> Piece:
    """The notes of a tab, `step` beats per column (a quarter of a beat by default), at
    the tab's tempo (120 when it states none), `capo` semitones above the frets."""
    n = len(tab.tuning)
    program = PROGRAM_BASS if n == 4 else PROGRAM_GUITAR
    piece = Piece(tempo=float(tab.tempo or 120), meter=None, title=title, programs={0: program})
    capo = tab.capo
    ringing: list[tuple[int, float, int] | None] = [None] * n
    ghost = [False] * n
    t = 0.0

    def stop(s: int) -> None:
        if ringing[s] is not None:
            pitch, onset, vel = ringing[s]
            piece.notes.append(Note(pitch, onset, t - onset, vel, program, 0))
            ringing[s] = None

    for system in tab.systems:
        for e in system:
            if isinstance(e, str):
                piece.bar_beats.append(t)
                continue
            for s, sym in enumerate(e):
                f = symbol_fret(sym)
                if f is not None:
                    stop(s)
                    ringing[s] = (min(127, tab.tuning[s] + capo + f), t, 50 if ghost[s] else 80)
                elif sym == "x":
                    stop(s)
                elif sym == "(":
                    ghost[s] = True
                elif sym == ")":
                    ghost[s] = False
            t += step
    for s in range(n):
        stop(s)
    piece.notes.sort(key=lambda x: (x.onset, x.pitch))
    return piece
