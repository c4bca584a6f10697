"""Audio: real soundfonts through tinysoundfont; files read back with soundfile and measured."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

import encoders
from encoders import Note, Piece
from musicrnn import audio
from musicrnn.audio import AudioError, measure, normalize, write_audio
from musicrnn.render import to_midi

TIM = Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")
SOUNDFONTS = [pytest.param(TIM, id="TimGM6mb")]
if audio._DEBIAN_SOUNDFONT.is_file():
    SOUNDFONTS.append(pytest.param(audio._DEBIAN_SOUNDFONT, id="FluidR3_GM"))

REEL = (
    "X:1\nT:Test reel\nM:4/4\nL:1/8\nQ:1/4=180\nK:D\n"
    "|:A2FA dAFA|B2GB dBGB|A2FA dfed|cABc d2d2:|\n|:fdfa gfed|cABc d2d2:|\n"
)
TAB = "e|-------|\nB|-------|\nG|-------|\nD|-------|\nA|-------|\nE|0-3-5--|\n"


def reel() -> Piece:
    return encoders.get("abc").decode(REEL).piece


def read(path) -> tuple[np.ndarray, int]:
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return data, rate


@pytest.mark.parametrize("soundfont", SOUNDFONTS)
def test_wav_is_loud_unclipped_and_as_long_as_its_midi(tmp_path, soundfont):
    piece = reel()
    midi_seconds = to_midi(audio.piece_for_listening(piece, "abc")).length
    report = write_audio(piece, tmp_path / "reel.wav", scheme="abc", soundfont=soundfont)
    data, rate = read(tmp_path / "reel.wav")
    assert rate == 44100 and data.shape[1] == 2
    assert soundfile.info(str(tmp_path / "reel.wav")).subtype == "PCM_16"
    seconds = len(data) / rate
    assert abs(seconds - midi_seconds) / midi_seconds < 0.05
    peak, loudness = measure(data)
    assert peak < 0.0 and peak <= audio.PEAK_CEILING_DBFS + 0.01
    assert abs(loudness - audio.TARGET_LOUDNESS_DBFS) < 0.5 or peak > audio.PEAK_CEILING_DBFS - 0.1
    # Sound all the way through: every second of the tune has something in it.
    blocks = data[: int(midi_seconds) * rate, 0].reshape(-1, rate)
    assert (np.sqrt((blocks**2).mean(axis=1)) > 1e-3).all()
    assert report.soundfont == Path(soundfont) and abs(report.midi_seconds - midi_seconds) < 1e-6


def test_default_soundfont_is_debians_fluidr3_when_installed_else_the_one_in_pretty_midi():
    expected = audio._DEBIAN_SOUNDFONT if audio._DEBIAN_SOUNDFONT.is_file() else TIM
    assert audio.find_soundfont() == expected
    assert audio.find_soundfont(TIM) == TIM


def test_missing_soundfont_is_named(tmp_path):
    with pytest.raises(AudioError, match="nope.sf2"):
        write_audio(reel(), tmp_path / "x.wav", soundfont=tmp_path / "nope.sf2")
    assert not (tmp_path / "x.wav").exists()


def test_a_piece_without_notes_is_refused(tmp_path):
    with pytest.raises(AudioError, match="no notes"):
        write_audio(Piece(), tmp_path / "x.wav")


def test_unknown_audio_suffix_is_refused(tmp_path):
    with pytest.raises(AudioError, match=r"\.mp4"):
        write_audio(reel(), tmp_path / "x.mp4")


@pytest.mark.parametrize("suffix, fmt", [(".flac", "FLAC"), (".ogg", "OGG")])
def test_flac_and_ogg(tmp_path, suffix, fmt):
    piece = reel()
    write_audio(piece, tmp_path / f"reel{suffix}", scheme="abc", soundfont=TIM)
    info = soundfile.info(str(tmp_path / f"reel{suffix}"))
    assert info.format == fmt
    midi_seconds = to_midi(piece).length
    assert abs(info.duration - midi_seconds) / midi_seconds < 0.05


def sustain_ratio(path) -> float:
    """RMS of the last 0.5 s of a held note over its first 0.5 s: piano decays, a fiddle holds."""
    data, rate = read(path)
    mono = data.mean(axis=1)
    first = mono[: rate // 2]
    last = mono[int(2.5 * rate) : 3 * rate]
    return float(np.sqrt((last**2).mean()) / np.sqrt((first**2).mean()))


def held_note(program: int | None = None) -> Piece:
    programs = {} if program is None else {0: program}
    return Piece(notes=[Note(69, 0.0, 6.0, 100)], tempo=120.0, programs=programs)  # 3 seconds


def test_the_instrument_is_heard(tmp_path):
    write_audio(held_note(0), tmp_path / "piano.wav", soundfont=TIM)
    write_audio(held_note(40), tmp_path / "fiddle.wav", soundfont=TIM)
    assert sustain_ratio(tmp_path / "fiddle.wav") > 2 * sustain_ratio(tmp_path / "piano.wav")


def test_schemes_play_on_their_instruments():
    assert audio.piece_for_listening(held_note(), "abc").programs == {0: 40}  # folk ABC: fiddle
    tab = encoders.get("columns").decode(TAB).piece
    assert audio.piece_for_listening(tab, "columns").programs == {0: 25}  # the tab decoder's guitar
    assert audio.piece_for_listening(held_note(19), "abc").programs == {0: 19}  # a named program stays
    assert audio.piece_for_listening(held_note(), "midi").programs == {}  # MIDI keeps its own


def midi_file(path, program: int, tempo_change: bool = False) -> Path:
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    track.append(mido.Message("program_change", program=program, channel=2, time=0))
    track.append(mido.Message("note_on", note=69, velocity=100, channel=2, time=0))
    if tempo_change:  # half speed after two beats: the second half lasts twice as long
        track.append(mido.MetaMessage("set_tempo", tempo=1000000, time=960))
        track.append(mido.Message("note_off", note=69, velocity=0, channel=2, time=960))
    else:
        track.append(mido.Message("note_off", note=69, velocity=0, channel=2, time=2880))
    mid.save(str(path))
    return Path(path)


def test_a_midi_file_plays_with_its_own_programs_and_tempo_map(tmp_path):
    piano = write_audio(midi_file(tmp_path / "p.mid", 0), tmp_path / "p.wav", soundfont=TIM)
    fiddle = write_audio(midi_file(tmp_path / "f.mid", 40), tmp_path / "f.wav", soundfont=TIM)
    assert sustain_ratio(tmp_path / "f.wav") > 2 * sustain_ratio(tmp_path / "p.wav")
    assert abs(piano.midi_seconds - 3.0) < 1e-6 and abs(fiddle.seconds - 3.0) / 3.0 < 0.05
    slow = write_audio(midi_file(tmp_path / "t.mid", 0, tempo_change=True), tmp_path / "t.wav", soundfont=TIM)
    assert abs(slow.midi_seconds - 3.0) < 1e-6  # 2 beats at 120 + 2 beats at 60


def test_program_override_plays_a_midi_file_on_another_instrument(tmp_path):
    write_audio(midi_file(tmp_path / "p.mid", 0), tmp_path / "p.wav", soundfont=TIM)
    write_audio(tmp_path / "p.mid", tmp_path / "o.wav", soundfont=TIM, program=audio.instrument_program("fiddle"))
    assert sustain_ratio(tmp_path / "o.wav") > 2 * sustain_ratio(tmp_path / "p.wav")


def test_a_dense_loud_chord_does_not_clip(tmp_path):
    notes = [Note(p, 0.0, 2.0, 127, 0, v) for v in range(3) for p in range(40, 90, 4)]
    write_audio(Piece(notes=notes, programs={0: 30, 1: 61, 2: 0}), tmp_path / "loud.wav", soundfont=TIM)
    data, _ = read(tmp_path / "loud.wav")
    assert np.abs(data).max() < 1.0
    assert measure(data)[0] <= audio.PEAK_CEILING_DBFS + 0.01


def test_instrument_names_and_numbers():
    assert audio.instrument_program("fiddle") == 40
    assert audio.instrument_program("7") == 7
    assert audio.instrument_program("Acoustic Grand Piano") == 0
    with pytest.raises(AudioError, match="kazoo"):
        audio.instrument_program("kazoo")


def test_an_unreadable_midi_file_is_named(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(AudioError, match="bad.mid"):
        write_audio(bad, tmp_path / "x.wav", soundfont=TIM)


@settings(max_examples=40, deadline=None)
@given(level=st.floats(1e-4, 20.0), spikes=st.integers(0, 5), seed=st.integers(0, 2**16))
def test_normalize_reaches_the_target_unless_the_peak_stops_it(level, spikes, seed):
    rng = np.random.default_rng(seed)
    samples = (rng.standard_normal((44100, 2)) * level * 0.1).astype(np.float32)
    samples[rng.integers(0, 44100, spikes)] = level * 3  # lone spikes push the peak up
    peak, loudness = measure(normalize(samples))
    assert peak <= audio.PEAK_CEILING_DBFS + 1e-3
    assert abs(loudness - audio.TARGET_LOUDNESS_DBFS) < 0.05 or abs(peak - audio.PEAK_CEILING_DBFS) < 1e-3


def envelope(data: np.ndarray, rate: int) -> np.ndarray:
    """RMS per 50 ms."""
    mono, hop = data.mean(axis=1), rate // 20
    n = len(mono) // hop
    return np.sqrt((mono[: n * hop].reshape(n, hop) ** 2).mean(axis=1))


def pitch_classes(data: np.ndarray, rate: int) -> np.ndarray:
    """Share of spectral energy (50 Hz - 4 kHz) in each of the 12 pitch classes."""
    spectrum = np.abs(np.fft.rfft(data.mean(axis=1))) ** 2
    freqs = np.fft.rfftfreq(len(data), 1 / rate)
    band = (freqs > 50) & (freqs < 4000)
    classes = np.round(12 * np.log2(freqs[band] / 440.0)).astype(int) % 12
    energy = np.bincount(classes, weights=spectrum[band], minlength=12)
    return energy / energy.sum()


FLUIDSYNTH = __import__("shutil").which("fluidsynth")


@pytest.mark.skipif(
    FLUIDSYNTH is None and not __import__("os").environ.get("CI"),
    reason="FluidSynth (the reference synthesizer) is not installed; .ci/run installs it",
)
def test_our_audio_agrees_with_fluidsynth_on_the_same_midi(tmp_path):
    """FluidSynth, the reference SoundFont player, renders the same MIDI with the same soundfont:
    the notes' timing (loudness envelope) and pitches (energy per pitch class) must agree."""
    import subprocess

    assert FLUIDSYNTH, "fluidsynth must be installed in CI"
    mid = tmp_path / "reel.mid"
    to_midi(audio.piece_for_listening(reel(), "abc")).save(str(mid))
    subprocess.run(
        [FLUIDSYNTH, "-ni", "-g", "0.5", "-r", "44100", "-F", str(tmp_path / "ref.wav"), str(TIM), str(mid)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    write_audio(mid, tmp_path / "ours.wav", soundfont=TIM)
    ref, rate = read(tmp_path / "ref.wav")
    ours, _ = read(tmp_path / "ours.wav")
    a, b = envelope(ref, rate), envelope(ours, rate)
    n = min(len(a), len(b))
    assert np.corrcoef(a[:n], b[:n])[0, 1] > 0.85
    assert np.corrcoef(pitch_classes(ref, rate), pitch_classes(ours, rate))[0, 1] > 0.95
    # A semitone off would show: the same check fails against the tune played a semitone up.
    write_audio(
        dataclasses.replace(reel(), notes=[dataclasses.replace(x, pitch=x.pitch + 1) for x in reel().notes]),
        tmp_path / "up.wav",
        scheme="abc",
        soundfont=TIM,
    )
    up, _ = read(tmp_path / "up.wav")
    assert np.corrcoef(pitch_classes(ref, rate), pitch_classes(up, rate))[0, 1] < 0.6
