"""render, generate --out AUDIO/PICTURE, audition and train's loss curve, through the command line."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import mido
import music21
import numpy as np
import pretty_midi
import pytest
import soundfile
from PIL import Image
from typer.testing import CliRunner

from musicrnn.cli import EXIT_USER_ERROR, app

runner = CliRunner()
TIM = str(__import__("pathlib").Path(pretty_midi.__file__).with_name("TimGM6mb.sf2"))
TWO_TUNES = (
    "X:1\nT:One\nM:3/4\nL:1/4\nQ:1/4=120\nK:G\nG A B|c d e|d B G|G3|]\n\n"
    "X:2\nT:Two\nM:2/4\nL:1/8\nQ:1/4=100\nK:D\nDF AF|dA FD|EG BG|A4|]\n"
)


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def wav_seconds(path) -> float:
    data, rate = soundfile.read(str(path), always_2d=True)
    assert np.abs(data).max() > 0.05  # not silent
    return len(data) / rate


def test_render_an_abc_file_to_every_kind(tmp_path):
    src = tmp_path / "tunes.abc"
    src.write_text(TWO_TUNES)
    for suffix in (".wav", ".svg", ".musicxml", ".png", ".mid"):
        result = run("render", str(src), "--out", str(tmp_path / f"t{suffix}"), "--soundfont", TIM)
        assert result.exit_code == 0, result.output
    for n, notes in ((1, 10), (2, 13)):
        midi_seconds = mido.MidiFile(tmp_path / f"t-{n}.mid").length
        assert abs(wav_seconds(tmp_path / f"t-{n}.wav") - midi_seconds) / midi_seconds < 0.05
        assert ET.parse(tmp_path / f"t-{n}.svg").getroot().tag.endswith("svg")
        assert len(music21.converter.parse(str(tmp_path / f"t-{n}.musicxml")).recurse().notes) == notes
        with Image.open(tmp_path / f"t-{n}.png") as im:
            assert im.format == "PNG"
    assert pretty_midi.PrettyMIDI(str(tmp_path / "t-1.mid")).instruments[0].program == 40  # fiddle


def test_render_a_midi_file_to_audio_and_a_picture(tmp_path):
    mid = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.Message("program_change", program=24, time=0))
    for pitch in (52, 55, 59, 64):
        track.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=96))
    mid.save(str(tmp_path / "riff.mid"))
    result = run("render", str(tmp_path / "riff.mid"), "--out", str(tmp_path / "riff.wav"), "--soundfont", TIM)
    assert result.exit_code == 0, result.output
    assert abs(wav_seconds(tmp_path / "riff.wav") - 2.0) / 2.0 < 0.05  # four beats at 120
    result = run("render", str(tmp_path / "riff.mid"), "--out", str(tmp_path / "riff.png"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "riff.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--out", "x.mp4"], ".mp4"),
        (["--out", "x.wav", "--instrument", "kazoo"], "kazoo"),
        (["--out", "x.wav", "--soundfont", "no/such.sf2"], "no/such.sf2"),
    ],
)
def test_render_errors_are_one_line(tmp_path, args, expected):
    src = tmp_path / "tunes.abc"
    src.write_text(TWO_TUNES)
    result = run("render", str(src), *args)
    assert result.exit_code == EXIT_USER_ERROR
    assert expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_generate_writes_audio_per_piece_and_marks_the_seed_in_the_roll(tmp_path):
    out = tmp_path / "batch" / "tune.wav"
    result = run(
        "generate", "--num", "2", "--length", "400", "--random-seed", "5", "--soundfont", TIM, "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    for n in (1, 2):
        assert wav_seconds(tmp_path / "batch" / f"tune-{n}.wav") > 1.0
    assert (tmp_path / "batch" / "tune.abc").read_text().count("X:") == 2

    seed = "X:1\nM:6/8\nL:1/8\nK:G\nGAG GAB|ABA ABd|"
    result = run("generate", "--seed", seed, "--length", "300", "--random-seed", "5", "--out", str(tmp_path / "c.png"))
    assert result.exit_code == 0, result.output
    pixels = np.asarray(Image.open(tmp_path / "c.png").convert("RGB")).astype(int)
    red = (pixels[..., 0] > 200) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    assert red.sum() > 100  # the dashed seed/model line


def test_audition_command_writes_the_page(tmp_path):
    (tmp_path / "tunes.abc").write_text(TWO_TUNES)
    (tmp_path / "empty.abc").write_text("")
    result = run("audition", str(tmp_path), "--soundfont", TIM)
    assert result.exit_code == 0, result.output
    assert "2 pieces" in result.output and "empty.abc" in result.output
    page = (tmp_path / "audition.html").read_text()
    assert page.count('class="card"') == 2
    result = run("audition", str(tmp_path / "nothing-here"))
    assert result.exit_code == EXIT_USER_ERROR and "no such folder" in result.output


def test_train_draws_its_loss_curve_next_to_the_checkpoint(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n".join([TWO_TUNES.split("\n\n")[0] + "\n", TWO_TUNES.split("\n\n")[1]] * 12))
    out = tmp_path / "model"
    result = run(
        "train",
        str(corpus),
        "--out",
        str(out),
        "--hidden",
        "32",
        "--layers",
        "1",
        "--embed",
        "8",
        "--batch-size",
        "4",
        "--seq-len",
        "32",
        "--max-steps",
        "40",
        "--eval-every",
        "20",
    )
    assert result.exit_code == 0, result.output
    with Image.open(out / "loss.png") as im:
        assert im.format == "PNG" and im.size == (700, 400)
