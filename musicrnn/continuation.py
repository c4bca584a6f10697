"""Continue a song: prime a model with a file's opening and let it go on.

    file.mid --scheme.continuation--> seed text (header + first N bars, in the model's scheme)
             --sample.generate (the continuation's grammar: no end before N + M bars)--> seed + continuation
             --scheme.decode--> Piece (moved back if the seed was transposed, the file's tempo and key)
             marks["continuation"] = the beat where the model took over (a MIDI marker event)

Which schemes can do it, and how, is the scheme's business (`Scheme.supports_continuation`,
`Scheme.continuation`; today the MIDI schemes, see `encoders.midi.opening`).  The
seed is fed to the model exactly as the scheme writes it, so the output's
opening *is* the file's opening on the grid; a note still sounding at the cut
may be held on by the model.  The continuation runs for `bars` bars after the cut:
with a grammar (roll) the piece cannot end sooner, and it is cut at that bar
line if it would run on.  Without a grammar (events), a model that ends the
piece early gives a shorter one; `Continued.bars` says how many were written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from encoders import END_OF_PIECE, Continuation, Decoded, Note, Scheme
from musicrnn.sample import generate

__all__ = ["Continued", "continue_midi"]


@dataclass(slots=True)
class Continued:
    text: str
    """Seed and continuation in the model's scheme."""
    decoded: Decoded
    """The music: seed then continuation, marks["continuation"] at the boundary."""
    opening: Continuation
    """The seed as the scheme made it (its `shift`, `beats`, the file's `piece`)."""
    bars: float
    """Bars written after the seed."""


def continue_midi(
    loaded: Any,
    codec: Scheme,
    path: str,
    seed_bars: float | None = 8,
    seed_seconds: float | None = None,
    bars: int = 8,
    transpose: bool = False,
    track: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    free: bool = False,
    random_seed: int | None = None,
    device: Any = "cpu",
) -> Continued:
    """The file's opening followed by `bars` bars the model writes (see the module docstring).

    Raises InputError (naming the file) for an unreadable file, or seed pitches the
    model never saw without `transpose`; UsageError for a model of a scheme that
    cannot continue a file."""
    start = codec.continuation(
        str(path),
        options=loaded.meta.get("scheme_options") or {},
        knows=lambda text: not loaded.vocab.missing(text),
        bars_before=seed_bars,
        seconds=seed_seconds,
        bars=bars,
        track=track,
        transpose=transpose,
    )
    text = generate(
        loaded.model,
        loaded.vocab,
        start.seed,
        num=1,
        length=start.length,
        temperature=temperature,
        top_k=top_k,
        grammar=start.grammar,
        mask=not free,
        stop=END_OF_PIECE,
        random_seed=random_seed,
        device=device,
    )[0]
    text, written = start.finish(text)
    decoded = codec.decode(text, path="<continuation>")
    piece = decoded.piece
    notes = [
        Note(min(127, max(0, n.pitch - start.shift)), n.onset, n.duration, n.velocity, n.program, n.voice)
        for n in piece.notes
    ]
    piece.notes = start.arrange(notes)  # back in the file's tracks, where the scheme knows them
    piece.programs = dict(start.piece.programs)
    piece.names = dict(start.piece.names)
    piece.tempo = start.piece.tempo
    piece.key = start.piece.key
    piece.title = start.piece.title
    piece.marks["continuation"] = start.beats
    return Continued(text, decoded, start, written)
