"""Bounded work on hostile input: every attack here once hung, took gigabytes or raised a
bare exception; now each ends in a clean result or one line with exit code 2, in seconds,
and refuses before memory is spent (checked by making the allocation itself fail)."""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
import torch
from typer.testing import CliRunner

from encoders import InputError
from encoders.midi import read_piece
from musicrnn import audio, checkpoint
from musicrnn.audio import AudioError, AudioTooLong, audio_limit, measure, normalize, write_audio
from musicrnn.checkpoint import CheckpointError, load
from musicrnn.cli import EXIT_USER_ERROR, app
from musicrnn.data import Vocab
from musicrnn.model import CharLSTM, ModelConfig

VOCAB = "\n ABCabc|:"
TIM = Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")


def _saved(tmp_path, name="m", scheme="abc"):
    torch.manual_seed(1)
    model = CharLSTM(ModelConfig(vocab_size=len(VOCAB), hidden=12, layers=2, embed=4))
    out = tmp_path / name
    checkpoint.save(out, model, {"vocab": VOCAB, "scheme": scheme})
    return out


def _edit_meta(folder, **changes):
    meta = json.loads((folder / "meta.json").read_text())
    for key, value in changes.items():
        if key == "model":
            meta["model"].update(value)
        else:
            meta[key] = value
    (folder / "meta.json").write_text(json.dumps(meta))


def _run(*args, env=None):
    return CliRunner().invoke(app, list(args), env=env)


def _one_line_error(result, *needles, code=EXIT_USER_ERROR):
    out = result.output.strip()
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "\n" not in out and out.startswith("error:"), result.output
    for needle in needles:
        assert needle in out, out
    return out


# --------------------------------------------------------------------------- vocabulary


def test_a_vocabulary_of_repeated_characters_is_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(ValueError, match="too large"):
        Vocab("ab" * 100_000)  # 200,000 characters took 36 s (a str.count per character)
    with pytest.raises(ValueError, match="repeated: 'a', 'b'$"):
        Vocab("ab" * 2000)
    assert time.perf_counter() - start < 1.0


def test_a_model_claiming_a_huge_vocabulary_is_refused_at_once(tmp_path):
    out = _saved(tmp_path)
    _edit_meta(out, vocab="a" * 10_000_000)
    start = time.perf_counter()
    _one_line_error(_run("generate", "--model", str(out), "--length", "5"), "meta.json", "too large")
    assert time.perf_counter() - start < 5.0


def test_vocabulary_size_is_capped_sanely(tmp_path):
    Vocab("".join(chr(0x100 + i) for i in range(Vocab.MAX_CHARS)))  # the cap itself is fine
    many = "".join(chr(0x100 + i) for i in range(Vocab.MAX_CHARS + 1))  # all distinct: 65,536 were let in
    with pytest.raises(ValueError, match="too large"):
        Vocab(many)
    out = _saved(tmp_path)
    _edit_meta(out, vocab=many, model={"vocab_size": len(many)})
    with pytest.raises(CheckpointError, match="vocab.*too large"):
        load(str(out))


# --------------------------------------------------------------------------- model size claims


def test_a_config_claiming_a_huge_model_is_refused_before_the_model_is_built(tmp_path, monkeypatch):
    out = _saved(tmp_path)
    _edit_meta(out, model={"hidden": 1400, "layers": 32})  # 1 KB of JSON that asked for 2.2 GB

    def no_building(config):
        raise AssertionError(f"built a model of {config.num_params():,} parameters")

    monkeypatch.setattr(checkpoint, "CharLSTM", no_building)
    with pytest.raises(CheckpointError, match="model.safetensors: does not match the config"):
        load(str(out))
    _one_line_error(_run("generate", "--model", str(out), "--length", "5"), "model.safetensors", "meta.json")


def test_tensor_shapes_are_read_from_the_header_against_the_config(tmp_path, monkeypatch):
    out = _saved(tmp_path)
    _edit_meta(out, model={"hidden": 13})  # same names, every LSTM shape wrong
    monkeypatch.setattr(checkpoint, "CharLSTM", lambda config: pytest.fail("model built"))
    with pytest.raises(CheckpointError, match=r"tensor lstm\.weight_ih_l0 has shape \[48, 4\].*needs \[52, 4\]"):
        load(str(out))


def test_tensor_shapes_match_the_model_they_describe():
    import math

    for config in (ModelConfig(7, 12, 1, 4), ModelConfig(73, 16, 3, 8), ModelConfig(5, 6, 2, 3, 0.0)):
        built = {k: tuple(v.shape) for k, v in CharLSTM(config).state_dict().items()}
        assert config.tensor_shapes() == built
        assert sum(math.prod(s) for s in built.values()) == config.num_params()


# --------------------------------------------------------------------------- MIDI tempos and audio length


def _midi(path, tempo=500_000, beats=2.0):
    """One note of `beats` quarter notes at `tempo` microseconds per quarter note."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    track.append(mido.Message("note_on", note=60, velocity=80, time=0))
    track.append(mido.Message("note_off", note=60, velocity=0, time=int(480 * beats)))
    mid.save(str(path))
    return path


def test_a_tempo_of_zero_is_refused_naming_the_file(tmp_path):
    path = _midi(tmp_path / "zero.mid", tempo=0)
    with pytest.raises(InputError, match=r"zero\.mid: track 1, tick 0: set_tempo 0 is not a tempo"):
        read_piece(str(path))  # was ZeroDivisionError
    with pytest.raises(AudioError, match="set_tempo 0") as info:
        write_audio(path, tmp_path / "x.wav", soundfont=TIM)  # said "the piece has no notes"
    assert "no notes" not in str(info.value)
    with pytest.raises(AudioError, match="set_tempo 0"):
        audio.render_samples(mido.MidiFile(str(path)), TIM)


@pytest.mark.parametrize(
    "args",
    [
        ["render", "{mid}", "--out", "{tmp}/x.wav"],
        ["render", "{mid}", "--out", "{tmp}/x.png"],
        ["render", "{mid}", "--out", "{tmp}/x.wav", "--track", "1"],
        ["generate", "--seed-midi", "{mid}", "--out", "{tmp}/x.mid"],
    ],
)
def test_a_tempo_of_zero_is_one_line_in_every_command(tmp_path, args):
    mid = _midi(tmp_path / "zero.mid", tempo=0)
    result = _run(*(a.format(mid=mid, tmp=tmp_path) for a in args))
    msg = _one_line_error(result, "zero.mid", "set_tempo 0")
    assert "no notes" not in msg


def test_a_tempo_of_zero_in_encode_and_audition(tmp_path):
    mid = _midi(tmp_path / "zero.mid", tempo=0)
    result = _run("encode", str(mid), "--scheme", "roll", "--out", str(tmp_path / "s.txt"))
    assert result.exit_code == EXIT_USER_ERROR and "set_tempo 0" in result.output, result.output
    assert "ZeroDivision" not in result.output and "internal error" not in result.output
    from musicrnn.audition import collect_sources

    sources, skipped = collect_sources(tmp_path)
    assert not sources and len(skipped) == 1 and "set_tempo 0" in skipped[0], skipped


def _small_allocations(call, limit_mb):
    """Run `call` (which must raise) and check it allocated less than `limit_mb` on the way."""
    tracemalloc.start()
    try:
        start = time.perf_counter()
        with pytest.raises(AudioTooLong) as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit_mb * 1e6, f"{peak / 1e6:.0f} MB allocated before refusing"
    assert time.perf_counter() - start < 5.0
    return str(info.value)


@pytest.mark.parametrize(
    "tempo, beats, minutes",
    [
        (0xFFFFFF, 200, 55.9),  # the slowest tempo: 16.8 s a beat (100 beats took 4.7 GB to render)
        (500_000, 39_000, 325.0),  # one stuck note of 39,000 beats asked for gigabytes
    ],
)
def test_audio_longer_than_the_limit_is_refused_before_it_is_allocated(tmp_path, tempo, beats, minutes):
    path = _midi(tmp_path / "long.mid", tempo=tempo, beats=beats)
    msg = _small_allocations(lambda: write_audio(path, tmp_path / "x.wav", soundfont=TIM), 20)
    assert msg.startswith(f"{path}: the audio would last {minutes:,.1f} minutes") and "--max-minutes" in msg, msg
    assert not (tmp_path / "x.wav").exists()
    result = _run("render", str(path), "--out", str(tmp_path / "x.wav"), "--soundfont", str(TIM))
    _one_line_error(result, "long.mid", "30-minute limit", "--max-minutes")
    result = _run("render", str(path), "--out", str(tmp_path / "x.ogg"), "--track", "1", "--soundfont", str(TIM))
    _one_line_error(result, "30-minute limit")


def test_max_minutes_moves_the_limit(tmp_path):
    path = _midi(tmp_path / "short.mid", beats=4)  # 2 s at 120 per minute
    out = tmp_path / "x.wav"
    _one_line_error(
        _run("render", str(path), "--out", str(out), "--max-minutes", "0.02", "--soundfont", str(TIM)),
        "short.mid",
        "0.02-minute limit",
        "--max-minutes 1 ",
    )
    _one_line_error(
        _run("render", str(path), "--out", str(out), "--max-minutes", "0", "--soundfont", str(TIM)),
        "--max-minutes",
        "above 0",
    )
    result = _run("render", str(path), "--out", str(out), "--max-minutes", "0.1", "--soundfont", str(TIM))
    assert result.exit_code == 0 and out.is_file(), result.output
    with audio_limit(0.01), pytest.raises(AudioTooLong, match="0.01-minute limit"):
        write_audio(read_piece(str(path)), tmp_path / "y.wav", soundfont=TIM)
    assert audio._max_minutes.get() == audio.MAX_MINUTES  # the limit ends with its block


def test_measuring_and_normalizing_long_audio_takes_no_copies():
    frames = 5_000_000  # 113 s of stereo: 40 MB of float32
    samples = np.zeros((frames, 2), dtype=np.float32)
    samples[::7] = 0.25
    samples[3::7] = -0.5
    tracemalloc.start()
    try:
        peak_db, loud_db = measure(samples)
        scaled = normalize(samples, in_place=True)
        used = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert scaled is samples
    assert used < 30e6, f"{used / 1e6:.0f} MB for 40 MB of audio (a float64 copy alone is 80 MB)"
    assert peak_db == pytest.approx(20 * np.log10(0.5))
    small = samples[: 44100 * 3].copy()
    mono = small.astype(np.float64).mean(axis=1)
    block = int(0.4 * 44100)
    n = len(mono) // block
    powers = (mono[: n * block].reshape(n, block) ** 2).mean(axis=1)
    assert measure(small)[1] == pytest.approx(10 * np.log10(powers[powers > 1e-6].mean()))


# --------------------------------------------------------------------------- not regular files


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.mid"
    os.mkfifo(path)
    return path


def test_a_fifo_is_named_as_one_and_never_opened(tmp_path, fifo):
    with pytest.raises(InputError, match=r"pipe\.mid: not a regular file \(a FIFO"):
        read_piece(str(fifo))
    with pytest.raises(AudioError, match="pipe.mid: not a regular file"):
        write_audio(fifo, tmp_path / "x.wav", soundfont=TIM)
    with pytest.raises(AudioError, match="pipe.mid: not a regular file"):
        audio.find_soundfont(fifo)
    with pytest.raises(CheckpointError, match="pipe.mid: not a model folder but not a regular file"):
        load(str(fifo))
    with pytest.raises(InputError, match="absent.mid: no such file"):
        read_piece(str(tmp_path / "absent.mid"))


@pytest.mark.parametrize(
    "args",
    [
        ["render", "{fifo}", "--out", "{tmp}/x.wav"],
        ["render", "{fifo}", "--out", "{tmp}/x.png"],
        ["render", "{ok}", "--out", "{tmp}/x.wav", "--soundfont", "{fifo}"],
        ["train", "{fifo}", "--out", "{tmp}/m"],
        ["generate", "--seed-midi", "{fifo}", "--out", "{tmp}/x.mid"],
        ["generate", "--model", "{fifo}"],
    ],
)
def test_a_fifo_given_to_a_command_is_not_called_missing(tmp_path, fifo, args):
    ok = _midi(tmp_path / "ok.mid")
    result = _run(*(a.format(fifo=fifo, ok=ok, tmp=tmp_path) for a in args))
    msg = _one_line_error(result, "pipe.mid", "not a regular file")
    assert "no such" not in msg


# --------------------------------------------------------------------------- options and environment


@pytest.mark.parametrize(
    "args",
    [
        ["generate", "--length", "5"],
        ["evaluate", "{corpus}", "--samples", "0"],
        ["train", "{corpus}", "--out", "{tmp}/m"],
    ],
)
@pytest.mark.parametrize("seed", ["100000000000000000000000", "4294967296", "-1"])
def test_random_seed_out_of_range_is_a_one_line_error(tmp_path, args, seed):
    corpus = tmp_path / "c.txt"
    corpus.write_text("X:1\nK:C\nabc|\n\nX:1\nK:C\ncba|\n")
    result = _run(*(a.format(corpus=corpus, tmp=tmp_path) for a in args), "--random-seed", seed)
    _one_line_error(result, "--random-seed", "from 0 to 4294967295", seed)  # was an internal error (exit 1)
    assert not (tmp_path / "m").exists()


def test_the_largest_random_seed_works(tmp_path):
    out = _saved(tmp_path)
    result = _run(
        "generate", "--model", str(out), "--seed", "ABC", "--length", "20", "--random-seed", "4294967295", "--out", "-"
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "value, on",
    [("0", False), ("", False), ("false", False), ("no", False), ("1", True), ("true", True), ("YES", True)],
)
def test_only_a_yes_turns_debugging_on(tmp_path, monkeypatch, value, on):
    import encoders

    monkeypatch.setenv("MUSICRNN_DEBUG", value)
    assert encoders.debugging() is on
    result = _run("decode", str(tmp_path / "absent.abc"), "--out", "-")
    if on:  # the traceback is wanted: the error is raised
        assert result.exit_code == 1 and isinstance(result.exception, ValueError)
    else:
        _one_line_error(result, "absent.abc")


# --------------------------------------------------------------------------- messages that name the model


def test_a_model_whose_scheme_does_not_match_its_vocabulary_is_named(tmp_path):
    out = _saved(tmp_path, "abc_model", scheme="columns")  # trained on ABC, meta.json says tabs
    result = _run("generate", "--model", str(out), "--length", "5")
    _one_line_error(result, "not in the model's vocabulary: '%'", str(out), "columns")
    (tmp_path / "c.txt").write_text("%columns E2 A2\n-- .1 |\n\n%columns E2 A2\n-- .3 |\n")
    result = _run("evaluate", str(tmp_path / "c.txt"), "--model", str(out))
    _one_line_error(result, "'%'", str(out))
    result = _run("generate", "--model", str(out), "--seed", "X:1 %", "--length", "5")
    _one_line_error(result, "'%'", str(out))


def test_a_midi_seed_the_model_cannot_write_names_the_model(tmp_path):
    out = _saved(tmp_path, "abc_model", scheme="roll")  # an ABC vocabulary under a MIDI scheme
    mid = _midi(tmp_path / "song.mid")
    result = _run(
        "generate",
        "--model",
        str(out),
        "--seed-midi",
        str(mid),
        "--transpose-into-range",
        "--out",
        str(tmp_path / "c.mid"),
    )
    _one_line_error(result, "not in the model's vocabulary: '%'", str(out), "song.mid")


def test_audition_names_a_fifo_as_not_a_folder(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = CliRunner().invoke(app, ["audition", str(fifo)])
    assert result.exit_code == EXIT_USER_ERROR
    assert "not a folder" in result.output and "no such" not in result.output


def test_evaluate_on_another_stream_names_the_model(tmp_path):
    stream = tmp_path / "other.txt"
    stream.write_text("".join(f"X:1\nM:4/4\nL:1/8\nK:C\n\u00e9\u00e8{i}|\n\n" for i in range(30)), encoding="utf-8")
    result = CliRunner().invoke(app, ["evaluate", "--model", "folk", str(stream), "--samples", "0"])
    assert result.exit_code == EXIT_USER_ERROR
    assert "folk" in result.output and "does not know" in result.output
