"""Audio: pieces and MIDI files to WAV (or FLAC/OGG) through a General MIDI soundfont.

A soundfont (.sf2) holds recorded samples of the 128 General MIDI instruments;
a synthesizer plays MIDI events with them.  Rendering here is three steps:

    MIDI events (seconds) --tinysoundfont--> stereo float samples
        --normalize--> same loudness for every file, peaks below 0 dBFS
        --soundfile--> .wav (16-bit PCM), .flac or .ogg, written atomically

Which soundfont: the one given (``--soundfont``), else FluidR3_GM.sf2 from
Debian's fluid-soundfont-gm when installed (148 MB, the better one), else
TimGM6mb.sf2 (6 MB), which ships inside the pretty_midi wheel, so audio needs
nothing outside pip.

Which instruments: a MIDI file plays with its own programs; a decoded piece
plays with the programs its decoder set (tabs: guitar or bass) and otherwise
with its scheme's instrument (`Scheme.program`: folk ABC on the fiddle).
``program=`` overrides every melodic channel.

    >>> from encoders import Note, Piece
    >>> report = write_audio(Piece(notes=[Note(69, 0.0, 2.0)]), "a.wav")  # doctest: +SKIP
    >>> report.seconds, report.peak_dbfs                                  # doctest: +SKIP
    (1.04, -1.0)

The synthesizer is tinysoundfont (TinySoundFont in a small wheel with no
system libraries).  Its package metadata requires PyAudio, which it only
imports for live playback and which has no Linux wheel (building it needs
PortAudio's headers), so the Makefile installs it with ``pip install --no-deps``.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from encoders import InputError, Piece, Scheme, UsageError, lookup, not_a_file

__all__ = [
    "AUDIO_SUFFIXES",
    "AudioReport",
    "MAX_MINUTES",
    "AudioError",
    "AudioTooLong",
    "audio_limit",
    "find_soundfont",
    "instrument_program",
    "measure",
    "piece_for_listening",
    "render_samples",
    "write_audio",
]

SAMPLE_RATE = 44100
TARGET_LOUDNESS_DBFS = -20.0
"""Every file is scaled to this gated RMS level (the level of the sounding parts, silence ignored)."""
PEAK_CEILING_DBFS = -1.0
"""...unless that would put a sample above this; then the peak sets the gain (no clipping, ever)."""
TAIL_FRACTION = 0.03
TAIL_MAX_SECONDS = 1.0
"""After the MIDI's end the last notes ring on for 3% of its length (at most 1 s), fading out,
so an audio file is never more than 3% longer than its MIDI."""

_NAMED_PROGRAMS = {
    "piano": 0,
    "guitar": 25,
    "nylon-guitar": 24,
    "bass": 33,
    "fiddle": 40,
    "violin": 40,
    "flute": 73,
    "whistle": 78,
    "accordion": 21,
    "harp": 46,
    "organ": 19,
}

MAX_MINUTES = 30.0
"""The longest audio made unless asked for more (`audio_limit`, render --max-minutes): a
MIDI file of a few bytes can ask for hours (one note of 39,000 beats, or 100 beats at the
slowest tempo), and every minute takes 21 MB of memory while it is rendered."""
_max_minutes: contextvars.ContextVar[float] = contextvars.ContextVar("musicrnn_audio_max_minutes", default=MAX_MINUTES)

AUDIO_SUFFIXES = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}

_DEBIAN_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
_DRUM_CHANNEL = 9
_WRITE_BLOCK = 8192


class AudioError(UsageError):
    """Audio cannot be made (no synthesizer, no soundfont, nothing to play, unknown format)."""


class AudioTooLong(AudioError):
    """The audio would last longer than the limit (`MAX_MINUTES`, or `audio_limit`'s)."""


def _checked_limit(max_minutes: float) -> float:
    ok = isinstance(max_minutes, (int, float)) and not isinstance(max_minutes, bool)
    if not (ok and math.isfinite(max_minutes) and max_minutes > 0):
        raise AudioError(
            f"the longest audio to make (--max-minutes) must be a number of minutes above 0, not {max_minutes!r}"
        )
    return float(max_minutes)


@contextlib.contextmanager
def audio_limit(max_minutes: float):
    """Within the block, audio may last up to `max_minutes` (instead of MAX_MINUTES)."""
    token = _max_minutes.set(_checked_limit(max_minutes))
    try:
        yield
    finally:
        _max_minutes.reset(token)


@dataclass(frozen=True, slots=True)
class AudioReport:
    """What was written: the file, its length next to the MIDI's, and its levels in dBFS."""

    path: Path
    seconds: float
    midi_seconds: float
    peak_dbfs: float
    loudness_dbfs: float
    soundfont: Path


def find_soundfont(explicit: str | os.PathLike | None = None) -> Path:
    """The soundfont to play with: `explicit`, else Debian's FluidR3_GM, else pretty_midi's TimGM6mb."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            why = not_a_file(path)
            raise AudioError(f"{path}: {'no such soundfont file' if why == 'no such file' else why}")
        return path
    if _DEBIAN_SOUNDFONT.is_file():
        return _DEBIAN_SOUNDFONT
    import pretty_midi

    bundled = Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")
    if not bundled.is_file():
        raise AudioError("no soundfont found: give --soundfont FILE.sf2 (pretty_midi's TimGM6mb.sf2 is missing)")
    return bundled


def instrument_program(name: str | int) -> int:
    """A General MIDI program (0-127) from a number or a name like 'piano', 'fiddle', 'guitar'."""
    text = str(name).strip().lower()
    if text.isdigit() and 0 <= int(text) <= 127:
        return int(text)
    if text in _NAMED_PROGRAMS:
        return _NAMED_PROGRAMS[text]
    import pretty_midi

    try:
        return pretty_midi.instrument_name_to_program(str(name).strip().title())
    except ValueError:
        raise AudioError(
            f"unknown instrument {name!r}: give a General MIDI program 0-127 or one of "
            f"{', '.join(sorted(_NAMED_PROGRAMS))}"
        ) from None


def piece_for_listening(piece: Piece, scheme: str | Scheme | None) -> Piece:
    """The piece with an instrument for every voice: the decoder's, else the scheme's
    (`Scheme.program`, by scheme or its name), else piano."""
    known = lookup(scheme)
    default = known.program if known is not None else None
    if default is None:
        return piece
    voices = {n.voice for n in piece.notes} or {0}
    programs = {v: piece.programs.get(v, default) for v in voices}
    return dataclasses.replace(piece, programs=programs)


def _synthesizer():
    try:
        import tinysoundfont
    except ImportError:
        raise AudioError(
            "audio needs the tinysoundfont package: pip install --no-deps tinysoundfont (`make venv` does this)"
        ) from None
    return tinysoundfont


@functools.lru_cache(maxsize=2)
def _loaded_synth(sf_path: str, sample_rate: int):
    """A synthesizer with the soundfont loaded, kept for the next piece (FluidR3 takes ~1 s to load)."""
    synth = _synthesizer().Synth(samplerate=sample_rate)
    try:
        return synth, synth.sfload(sf_path)
    except Exception as e:  # noqa: BLE001 - the library raises its own exception type
        raise AudioError(f"{sf_path}: cannot load soundfont ({e})") from None


def render_samples(
    mid: mido.MidiFile,
    soundfont: str | os.PathLike | None = None,
    program: int | None = None,
    sample_rate: int = SAMPLE_RATE,
    max_minutes: float | None = None,
) -> tuple[np.ndarray, float]:
    """Play a MIDI file through a soundfont: (float32 samples [frames, 2], the MIDI's length in seconds).

    Events are applied at their exact sample; between events the synthesizer renders
    straight into one preallocated buffer.  Not yet normalized (see `normalize`).
    AudioTooLong, before anything is allocated, for audio longer than `max_minutes`
    (default: MAX_MINUTES, or the `audio_limit` in force)."""
    from encoders.midi.reader import check_tempos

    limit = _max_minutes.get() if max_minutes is None else _checked_limit(max_minutes)
    try:
        check_tempos(mid, getattr(mid, "filename", None) or "the MIDI")  # a tempo of 0 puts every note at 0 s
    except InputError as e:
        raise AudioError(str(e)) from None
    sf_path = find_soundfont(soundfont)
    timed: list[tuple[float, mido.Message]] = []
    now = 0.0
    for msg in mid:  # mido merges the tracks and turns ticks into seconds through the tempo map
        now += msg.time
        if not msg.is_meta:
            timed.append((now, msg))
    midi_seconds = float(now)
    if not any(m.type == "note_on" and m.velocity > 0 for _, m in timed) or midi_seconds <= 0:
        raise AudioError("nothing to play: the piece has no notes")
    tail = min(TAIL_MAX_SECONDS, TAIL_FRACTION * midi_seconds)
    if midi_seconds + tail > 60 * limit:
        minutes = (midi_seconds + tail) / 60
        raise AudioTooLong(
            f"the audio would last {minutes:,.1f} minutes, longer than the {limit:g}-minute limit "
            f"(render --max-minutes {math.ceil(minutes)} allows it)"
        )
    frames = int(round((midi_seconds + tail) * sample_rate))
    out = np.zeros((frames, 2), dtype=np.float32)

    synth, sfid = _loaded_synth(str(sf_path), sample_rate)
    for channel in range(16):
        synth.sounds_off(channel)
        synth.control_change(channel, 121, 0)  # reset all controllers (volume, pan, expression)
        synth.pitchbend(channel, 8192)
        if channel == _DRUM_CHANNEL:
            synth.program_select(channel, sfid, 128, 0, True)
        else:
            synth.program_select(channel, sfid, 0, program or 0)

    done = 0

    def render_until(frame: int) -> None:
        nonlocal done
        frame = min(frame, frames)
        if frame > done:
            synth.generate_simple(frame - done, buffer=memoryview(out[done:frame]).cast("B"))
            done = frame

    for seconds, msg in timed:
        render_until(int(round(seconds * sample_rate)))
        ch = getattr(msg, "channel", 0)
        if msg.type == "note_on" and msg.velocity > 0:
            synth.noteon(ch, msg.note, msg.velocity)
        elif msg.type in ("note_off", "note_on"):
            synth.noteoff(ch, msg.note)
        elif msg.type == "program_change" and ch != _DRUM_CHANNEL and program is None:
            synth.program_select(ch, sfid, 0, msg.program)
        elif msg.type == "control_change":
            synth.control_change(ch, msg.control, msg.value)
        elif msg.type == "pitchwheel":
            synth.pitchbend(ch, msg.pitch + 8192)
    for channel in range(16):
        synth.notes_off(channel)
    render_until(frames)
    # The tail fades out, so a note still ringing stops without a click.
    fade = frames - int(round(midi_seconds * sample_rate))
    if fade > 0:
        out[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    return out, midi_seconds


def _dbfs(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def measure(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> tuple[float, float]:
    """(peak, loudness) in dBFS.  Loudness is the RMS of the 400 ms blocks louder than
    -60 dBFS, so pauses and the fade do not count (a simple form of EBU R128's gate)."""
    peak = float(max(samples.max(), -samples.min())) if samples.size else 0.0
    block = max(1, int(0.4 * sample_rate))
    n = len(samples) // block

    def mono(part: np.ndarray) -> np.ndarray:
        return part.astype(np.float64).mean(axis=1) if part.ndim == 2 else part.astype(np.float64)

    if n:
        # A few seconds at a time: a float64 copy of 30 minutes would take 1.3 GB.
        powers = np.empty(n)
        step = max(1, (1 << 20) // block)
        for first in range(0, n, step):
            last = min(n, first + step)
            powers[first:last] = (mono(samples[first * block : last * block]).reshape(-1, block) ** 2).mean(axis=1)
    else:
        powers = np.array([np.mean(mono(samples) ** 2)])
    loud = powers[powers > 10 ** (-60 / 10)]
    return _dbfs(peak), (10 * math.log10(loud.mean()) if loud.size else -math.inf)


def normalize(samples: np.ndarray, sample_rate: int = SAMPLE_RATE, in_place: bool = False) -> np.ndarray:
    """Scale to TARGET_LOUDNESS_DBFS, or less where the peak would pass PEAK_CEILING_DBFS
    (float32; `in_place` scales `samples` itself, a float32 array, and needs no second copy)."""
    peak_db, loud_db = measure(samples, sample_rate)
    if not math.isfinite(peak_db):
        raise AudioError("the synthesizer made silence (does the soundfont have these instruments?)")
    gain_db = TARGET_LOUDNESS_DBFS - loud_db if math.isfinite(loud_db) else PEAK_CEILING_DBFS - peak_db
    gain_db = min(gain_db, PEAK_CEILING_DBFS - peak_db)
    gain = np.float32(10 ** (gain_db / 20))
    if in_place and samples.dtype == np.float32:
        samples *= gain
        return samples
    return (samples * gain).astype(np.float32, copy=False)


def _to_midi(source: Piece | mido.MidiFile | str | os.PathLike, scheme: str | Scheme | None) -> mido.MidiFile:
    if isinstance(source, mido.MidiFile):
        return source
    if isinstance(source, Piece):
        from musicrnn.render import to_midi

        return to_midi(piece_for_listening(source, scheme))
    from encoders.midi.reader import open_midi

    try:
        return open_midi(source)
    except InputError as e:  # it names the file: not a regular file, not MIDI, a tempo of 0
        raise AudioError(str(e)) from None


def write_audio(
    source: Piece | mido.MidiFile | str | os.PathLike,
    path: str | os.PathLike,
    *,
    scheme: str | Scheme | None = None,
    soundfont: str | os.PathLike | None = None,
    program: int | None = None,
    sample_rate: int = SAMPLE_RATE,
    compression: float | None = None,
    max_minutes: float | None = None,
) -> AudioReport:
    """Render a Piece, a mido MidiFile or a MIDI file's path to audio, by `path`'s suffix
    (.wav, .flac, .ogg), normalized and written atomically.  `compression` (0-1) trades
    size for quality in .ogg and .flac files (libsndfile's default when None).  Audio
    longer than `max_minutes` (default: MAX_MINUTES or `audio_limit`'s) is refused
    (AudioTooLong, naming the source file when it is one) before it is rendered."""
    import soundfile

    from musicrnn.atomic import atomic_path

    path = Path(path)
    kind = AUDIO_SUFFIXES.get(path.suffix.lower())
    if kind is None or not soundfile.check_format(*kind):
        raise AudioError(
            f"{path}: cannot write audio as {path.suffix or '(no suffix)'}; "
            f"use {', '.join(s for s, k in AUDIO_SUFFIXES.items() if soundfile.check_format(*k))}"
        )
    mid = _to_midi(source, scheme)
    try:
        samples, midi_seconds = render_samples(mid, soundfont, program, sample_rate, max_minutes)
    except AudioTooLong as e:
        if not isinstance(source, (str, os.PathLike)):
            raise
        raise AudioTooLong(f"{os.fspath(source)}: {e}") from None
    samples = normalize(samples, sample_rate, in_place=True)
    with atomic_path(path) as tmp:
        # In blocks: libsndfile's Vorbis encoder crashes when handed a long buffer in one call.
        extra = {} if compression is None or kind[0] == "WAV" else {"compression_level": compression}
        with soundfile.SoundFile(tmp, "w", sample_rate, 2, subtype=kind[1], format=kind[0], **extra) as fh:
            for start in range(0, len(samples), _WRITE_BLOCK):
                fh.write(samples[start : start + _WRITE_BLOCK])
    peak_db, loud_db = measure(samples, sample_rate)
    return AudioReport(path, len(samples) / sample_rate, midi_seconds, peak_db, loud_db, find_soundfont(soundfont))
