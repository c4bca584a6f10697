"""One piece to one file of any kind a person opens, chosen by the file's suffix.

    .wav .flac .ogg   audio through a General MIDI soundfont      (musicrnn.audio)
    .png              piano roll                                  (musicrnn.pictures)
    .svg              engraved sheet music                        (musicrnn.pictures)
    .musicxml .xml    a score for MuseScore, Finale, Sibelius     (musicrnn.pictures)
    .mid .midi        Standard MIDI File                          (musicrnn.render)
    .tab .gp5         a tab piece's own files, written by its scheme (`Scheme.piece_files`
                      where a scheme declares them: the guitar tab staff, Guitar Pro 5);
                      any other piece with notes (MIDI, ABC, roll, events) arranged for
                      the guitar in standard tuning first (`encoders.tab.arranging`)

`render`, `generate --out` and `decode --out` all write through `write_piece`, so
every command can write every kind:

    >>> write_piece(piece, "tune.wav", scheme="abc")      # doctest: +SKIP
    'tune.wav: 34.3 s, peak -8.0 dBFS'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import encoders
from encoders import Piece, Scheme, UsageError
from encoders.tab.arranging import ARRANGED_FILES, arranged_file

__all__ = [
    "MIDI_SOURCE",
    "MIDI_SUFFIXES",
    "RENDER_SUFFIXES",
    "Source",
    "mark_continuation",
    "numbered",
    "piece_files",
    "piece_suffixes",
    "read_pieces",
    "side_texts",
    "write_piece",
]

AUDIO = (".wav", ".flac", ".ogg")
RENDER_SUFFIXES = AUDIO + (".png", ".svg", ".musicxml", ".xml", ".mid", ".midi")


def piece_files(codec: str | Scheme | None) -> tuple[str, ...]:
    """The file kinds a scheme writes a piece of its own as, one file per piece, from the
    piece's text (tabs: ``.tab`` staff, ``.gp5``): its ``piece_files`` and ``piece_file``."""
    codec = encoders.lookup(codec)
    return tuple(codec.piece_files) if codec is not None else ()


def piece_suffixes(codec: str | Scheme | None = None) -> tuple[str, ...]:
    """Outputs written one file per piece: music files, `codec`'s own piece files (with no
    codec, any scheme's: a file to render may be of any scheme), and the guitar's files
    (`ARRANGED_FILES`: .tab .gp5), which any piece with notes is arranged as."""
    if codec is None:
        own = {s for c in encoders.all_schemes() for s in piece_files(c)}
    else:
        own = set(piece_files(codec))
    return RENDER_SUFFIXES + tuple(sorted(own | set(ARRANGED_FILES)))


def side_texts(path: str | os.PathLike, codec: Scheme, count: int) -> list[Path]:
    """Where the pieces' text goes beside music files written to `path`: one stream file
    (NAME.abc), or, for a scheme that writes its text as a file per piece (tabs: the staff),
    one per piece (NAME-1.tab ...), none when `path` is that kind itself."""
    path = Path(path)
    suffix = codec.suffixes[0]
    if suffix not in piece_files(codec):
        return [path.with_suffix(suffix)]
    if path.suffix.lower() == suffix:
        return []
    return [numbered(path.with_suffix(suffix), i, count) for i in range(count)]


def write_piece(
    piece: Piece,
    path: str | os.PathLike,
    *,
    text: str | None = None,
    scheme: str | Scheme | None = None,
    soundfont: str | os.PathLike | None = None,
    program: int | None = None,
) -> str:
    """Write `piece` as the kind of file `path` names; returns a one-line description of it.

    `text` (the piece's own text) and `scheme` (a Scheme or its name) let a scheme that
    engraves from its text (ABC) be engraved from it, and choose the instrument the
    scheme plays on (`Scheme.program`); `soundfont` and `program` are for audio."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in AUDIO:
        from musicrnn.audio import write_audio

        report = write_audio(piece, path, scheme=scheme, soundfont=soundfont, program=program)
        return f"{path}: {report.seconds:.1f} s, peak {report.peak_dbfs:.1f} dBFS"
    if suffix == ".png":
        from musicrnn.pictures import piano_roll_png

        piano_roll_png(piece, path)
        return f"{path}: piano roll"
    if suffix == ".svg":
        from musicrnn.pictures import score_svg

        score_svg(piece, path, text=text, scheme=scheme)
        return f"{path}: sheet music"
    if suffix in (".musicxml", ".xml"):
        from musicrnn.pictures import write_musicxml

        write_musicxml(piece, path)
        return f"{path}: MusicXML"
    if suffix in (".mid", ".midi"):
        from musicrnn.audio import piece_for_listening
        from musicrnn.render import write_midi

        write_midi(piece_for_listening(piece, scheme), path)
        return f"{path}: MIDI, {len(piece.notes)} notes"
    if suffix in piece_suffixes():
        return _write_own_file(piece, path, text, scheme)
    raise UsageError(f"{path}: unknown output type {suffix or '(none)'}; use one of {', '.join(RENDER_SUFFIXES)}")


def _write_own_file(piece: Piece, path: Path, text: str | None, scheme: str | Scheme | None) -> str:
    """A file a scheme writes from a piece's text (`piece_files`): a tab's staff or Guitar Pro
    file; a piece of another scheme (or a MIDI file's) is arranged for the guitar first, and
    the line says what that moved or dropped."""
    from musicrnn.atomic import write_bytes

    codec = encoders.lookup(scheme)
    suffix = path.suffix.lower()
    kind = "tab staff" if suffix == ".tab" else "Guitar Pro 5" if suffix == ".gp5" else suffix
    if text is not None and suffix in piece_files(codec):
        data, _ = codec.piece_file(text, suffix, title=path.stem, source=str(path))
        write_bytes(path, data)
        return f"{path}: {kind}, {len(piece.notes)} notes"
    if suffix not in ARRANGED_FILES:
        writers = [c.name for c in encoders.all_schemes() if suffix in piece_files(c)]
        raise UsageError(
            f"{path}: a {suffix} file is written from {' or '.join(writers)} text, "
            f"not from {getattr(codec, 'name', None) or 'a MIDI file'}"
        )
    try:
        data, arranged = arranged_file(piece, suffix, title=path.stem)
    except UsageError as e:  # encoders.tab.fretting.Unfrettable: no notes, or too long for a tab
        raise UsageError(f"{path}: cannot be arranged for the guitar: {e}") from None
    write_bytes(path, data)
    return f"{path}: {kind} arranged for guitar, {arranged.describe()}"


def numbered(path: str | os.PathLike, index: int, count: int) -> Path:
    """`path` itself for a single piece; tune-1.wav, tune-2.wav ... for several."""
    path = Path(path)
    return path if count == 1 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}")


def mark_continuation(piece: Piece, seed_piece: Piece) -> Piece:
    """Mark where the model took over from the seed: the end of the seed's own notes.

    Nothing is marked for a seed without notes (a bare header such as "X:1"),
    where every note is the model's."""
    if seed_piece.notes and seed_piece.end > 0:
        piece.marks["continuation"] = seed_piece.end
    return piece


@dataclass(slots=True)
class Source:
    """One piece read from a file: its music, its own text (None for MIDI), its scheme's
    name (`MIDI_SOURCE` for a MIDI file read as it is), a name."""

    piece: Piece
    text: str | None
    scheme: str
    name: str
    repairs: list = field(default_factory=list)


MIDI_SUFFIXES = (".mid", ".midi")
MIDI_SOURCE = "midi"
"""`Source.scheme` of a MIDI file read as it is (its notes, no scheme's text); no scheme has this name."""


def read_pieces(
    path: str | os.PathLike, scheme: str | None = None, track: int | None = None, **options
) -> list[Source]:
    """Every piece in a MIDI file (one), or in an ABC, tab or stream file (one per piece).
    `options` are decode options (tabs: step, beats per column), checked by the scheme:
    UsageError for one it does not declare.

    Raises InputError naming the file when nothing in it can be read."""
    path = Path(path)
    if path.suffix.lower() in MIDI_SUFFIXES and scheme in (None, MIDI_SOURCE):
        from encoders.midi import read_piece

        return [Source(read_piece(path, track=track), None, MIDI_SOURCE, path.stem)]
    named = encoders.get(scheme) if scheme else encoders.codec_for_path(path)
    if named is not None and path.suffix.lower() in named.binary_suffixes and path.suffix.lower() not in MIDI_SUFFIXES:
        return _read_binary(path, named, track, options)
    text = encoders.read_text(path)
    codec = named or encoders.sniff(text)
    if codec is None:
        raise encoders.InputError(
            f"cannot tell the scheme of this text; give --scheme ({', '.join(c.name for c in encoders.all_schemes())})",
            path=str(path),
        )
    options = codec.check_options(options, "decode")
    texts = codec.split(text)
    if not texts:
        raise encoders.InputError("no piece found", path=str(path))
    sources = []
    for i, piece_text in enumerate(texts):
        decoded = codec.decode(piece_text, path=str(path), **options)
        name = path.stem if len(texts) == 1 else f"{path.stem}-{i + 1}"
        sources.append(Source(decoded.piece, decoded.text, codec.name, name, list(decoded.repairs)))
    return sources


def _read_binary(path: Path, codec: Scheme, track: int | None, options: dict) -> list[Source]:
    """The pieces of a file a scheme reads as bytes (a Guitar Pro file): encoded as the scheme
    encodes it (`track`, where the scheme takes one), then decoded; what reading it repaired
    comes first in each piece's repairs."""
    options = codec.check_options(options, "decode")
    result = codec.encode_file(path, **codec.own_options({"track": track} if track is not None else {}, "encode"))
    if not result.pieces:
        raise encoders.InputError("no piece found", path=str(path))
    sources = []
    for i, piece_text in enumerate(result.pieces):
        decoded = codec.decode(piece_text, path=str(path), **options)
        name = path.stem if len(result.pieces) == 1 else f"{path.stem}-{i + 1}"
        repairs = list(result.problems) + list(decoded.repairs)
        sources.append(Source(decoded.piece, decoded.text, codec.name, name, repairs))
    return sources
