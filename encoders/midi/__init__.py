r"""Schemes ``roll`` and ``events``: MIDI files written as characters.

A Standard MIDI File is read into a `Piece` (`reader`: parts merged, drums
dropped, or one part with ``track``), put on a time grid (``grid`` steps per
whole note, 16 by default) and written in one of two schemes, each piece a
header line and then one line per bar:

``roll``
    a piano roll: each step names the pitches struck and, after ``-``, those
    held, and ends with ``.`` (see `encoders.midi.roll`).
``events``
    a performance: note-on ``X``, note-off ``-X``, time shift ``.`` and
    velocity ``|V`` tokens (see `encoders.midi.events`).

A tiny example, middle C and the E above it as quarter notes in 3/4, then a G
a half note long against the held E, on a sixteenth grid::

    roll      %roll q=90 m=3/4 k=C g=16 p=0
              LP.-LP.-LP.-LP.S-P.-PS.-PS.-PS.-S.-S.-S.-S.

    events    %events q=90 m=3/4 k=C g=16 p=0
              |ALP....-LS....-P
              -S

One character per pitch (``L`` is middle C), the header's fields and the grid
are described in `encoders.midi.grid`.  Decoding is tolerant: every repair is
reported with line and column, and the canonical text is given back.

Modules: `codec` (the two schemes), `reader` (reading MIDI files), `grid` (the
pitch alphabet, header, quantizing and playing back), `roll` and `events` (each
scheme's text: writing and reading), `grammar` (validity-guided sampling for
``roll``), `opening` (a song's opening as a seed to continue).  mido parses and
writes the bytes; nothing here hand-parses MIDI, and nothing imports torch.
"""

from encoders.midi.codec import EVENTS, ROLL, EventsScheme, GridScheme, RollScheme
from encoders.midi.reader import DRUM_CHANNEL, MidiPart, read_parts, read_piece

__all__ = [
    "DRUM_CHANNEL",
    "EVENTS",
    "EventsScheme",
    "GridScheme",
    "MidiPart",
    "ROLL",
    "RollScheme",
    "read_parts",
    "read_piece",
]
