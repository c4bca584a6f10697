"""Continue a song: prime a model of a MIDI scheme with a MIDI file's opening and let it go on.

    file.mid --encoders.midi.opening--> seed text (header + first N bars, in the model's scheme)
             --sample.generate (grammar: no end before N + M bars)--> seed + continuation text
             --codec.decode--> Piece (moved back if the seed was transposed, the file's tempo and key)
             marks["continuation"] = the beat where the model took over (a MIDI marker event)

The seed is fed to the model exactly as the codec writes it, so the output's
opening *is* the file's opening on the grid; a note still sounding at the cut
may be held on by the model.  The continuation runs for `bars` bars after the cut:
with the roll grammar the piece cannot end sooner, and it is cut at that bar
line if it would run on.  Without a grammar (events), a model that ends the
piece early gives a shorter one; `Continued.bars` says how many were written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from encoders import END_OF_PIECE, Decoded, Note, UsageError
from encoders.midi.grid import PITCH_HI, PITCH_LO, pitch_char
from encoders.midi.opening import Opening, bars_after, opening
from musicrnn.sample import generate

__all__ = ["Continued", "continue_midi", "model_pitches"]

MAX_CHARS = 400_000


@dataclass(slots=True)
class Continued:
    text: str
    """Seed and continuation in the model's scheme."""
    decoded: Decoded
    """The music: seed then continuation, marks["continuation"] at the boundary."""
    opening: Opening
    bars: float
    """Bars written after the seed."""


def model_pitches(loaded: Any) -> set[int]:
    """The pitches a model has written in training: its checkpoint's
    scheme_options["pitches"] (`musicrnn train` stores them), else every pitch whose
    character is in its vocabulary (some are header letters, so that is generous)."""
    stored = (loaded.meta.get("scheme_options") or {}).get("pitches")
    known = {p for p in range(PITCH_LO, PITCH_HI + 1) if not loaded.vocab.missing(pitch_char(p))}
    return known & set(stored) if stored else known


def continue_midi(
    loaded: Any,
    codec: Any,
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

    Raises InputError (naming the file) for unreadable MIDI, or seed pitches the
    model never saw without `transpose`; ValueError for a model of another scheme."""
    if codec.name not in ("roll", "events"):
        raise UsageError(f"--seed-midi needs a model of a MIDI scheme (roll, events); this one writes {codec.name}")
    if bars < 1:
        raise UsageError(f"--bars must be at least 1, not {bars}")
    if seed_seconds is not None:
        seed_bars = None
    grid = int((loaded.meta.get("scheme_options") or {}).get("grid", 16))
    start = opening(path, codec.name, bars=seed_bars, seconds=seed_seconds, grid=grid, track=track,
                    pitches=model_pitches(loaded), transpose=transpose)
    _header_in_vocabulary(start, loaded.vocab)
    lines = bars_after(start, bars)
    seed_lines = [line for line in start.text.split("\n")[1:] if line]
    per_bar = max(64, 3 * sum(map(len, seed_lines)) // max(1, len(seed_lines)))  # room for busier bars
    length = min(MAX_CHARS, per_bar * (lines - len(seed_lines) + 2))

    grammar = None
    if not free and codec.grammar() is not None:
        from encoders.midi.grammar import RollGrammar

        grammar = (lambda: RollGrammar(min_bars=lines)) if codec.name == "roll" else codec.grammar
    text = generate(loaded.model, loaded.vocab, start.text, num=1, length=length, temperature=temperature,
                    top_k=top_k, grammar=grammar, stop=END_OF_PIECE, random_seed=random_seed, device=device)[0]
    text = _cut_at_bar_line(text, lines)
    decoded = codec.decode(text, path="<continuation>")
    piece = decoded.piece
    if start.shift:
        piece.notes = [Note(min(127, max(0, n.pitch - start.shift)), n.onset, n.duration, n.velocity, n.program,
                            n.voice) for n in piece.notes]
    piece.tempo = start.piece.tempo
    piece.key = start.piece.key
    piece.title = start.piece.title
    piece.marks["continuation"] = start.beats
    body_lines = text.rstrip("\n").split("\n")[1:]
    written = len(body_lines) - start.steps / start.bar_steps
    return Continued(text, decoded, start, max(0.0, written))


def _header_in_vocabulary(start: Opening, vocab: Any) -> None:
    """Rewrite the seed's header with values the model has seen: the nearest tempo
    it can write, no key or programs it cannot (the output keeps the file's own)."""
    header = start.header
    if not vocab.missing(header.render()):
        return
    if vocab.missing(f"q={header.tempo:g}"):
        near = sorted(range(20, 301), key=lambda t: abs(t - header.tempo))
        header.tempo = float(next((t for t in near if not vocab.missing(f"q={t}")), header.tempo))
    if header.key and vocab.missing(f"k={header.key}"):
        header.key = None
    if vocab.missing("p=" + ",".join(map(str, header.programs))):
        header.programs = (0,)
    start.text = header.render() + start.text[start.text.index("\n"):]


def _cut_at_bar_line(text: str, lines: int) -> str:
    """The piece up to its `lines`-th bar line (header kept), ending in one line break."""
    head, _, body = text.partition("\n")
    kept = body.split("\n")
    kept = [line for line in kept if line][:lines]
    return head + "\n" + "\n".join(kept) + "\n"
