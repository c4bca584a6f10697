"""MIDI: Standard MIDI Files read into a `Piece` (reader), and, as schemes, a
piece written as characters (``roll``: a quantized piano roll; ``events``:
note-on/note-off/time-shift tokens).  mido parses and writes the bytes; nothing
here hand-parses MIDI, and nothing imports torch.
"""

from encoders.midi.reader import DRUM_CHANNEL, MidiPart, read_parts, read_piece
from encoders.midi.roll import RollCodec
from encoders.midi.events import EventsCodec

__all__ = ["DRUM_CHANNEL", "EventsCodec", "MidiPart", "RollCodec", "read_parts", "read_piece"]
