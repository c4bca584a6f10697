"""musicrnn encode/train/generate on MIDI: folders with broken files, continuation end to end."""

from __future__ import annotations

import shutil
import subprocess

import mido
import pytest
from typer.testing import CliRunner

from encoders import Note, Piece
from encoders.midi import read_piece
from musicrnn.cli import EXIT_PARTIAL, EXIT_USER_ERROR, app
from musicrnn.render import write_midi
from tools.reference_midi import grid_notes, note_f1, round_trip

runner = CliRunner()


class Ran:
    """A CLI run: exit code and its output as one line (the console wraps long lines)."""

    def __init__(self, result):
        self.exit_code = result.exit_code
        self.raw = result.output
        self.output = " ".join(result.output.split())


def run(*args: str) -> Ran:
    return Ran(runner.invoke(app, list(args), catch_exceptions=False))


def tune(i: int) -> Piece:
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    notes = [Note(scale[(i + k) % 8], k * 0.5, 0.5) for k in range(16)]
    notes += [Note(48 + (i % 5), k * 2.0, 2.0, 60, 0, 1) for k in range(4)]
    return Piece(notes, tempo=100.0 + i, meter=(4, 4), key="C")


@pytest.fixture(scope="module")
def midi_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("midis")
    for i in range(6):
        write_midi(tune(i), root / f"t{i}.mid")
    (root / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    mid = mido.MidiFile(type=2)
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60), mido.Message("note_off", note=60, time=9)]))
    (root / "sub").mkdir()
    mid.save(str(root / "sub" / "two.midi"))
    (root / "notes.txt").write_text("not music")
    return root


def test_encode_folder_reports_broken_files_and_encodes_the_rest(midi_folder, tmp_path):
    out = tmp_path / "piano.txt"
    result = run("encode", str(midi_folder), "--scheme", "roll", "--out", str(out))
    assert result.exit_code == EXIT_PARTIAL, result.output
    assert "6 pieces" in result.output and "from 6 files" in result.output
    assert "broken.mid: not a readable MIDI file" in result.output
    assert "two.midi: type-2 MIDI file" in result.output
    text = out.read_text()
    assert text.count("%roll") == 6 and "notes.txt" not in result.output


def test_encode_events_with_grid_and_track(midi_folder, tmp_path):
    out = tmp_path / "bass.txt"
    result = run(
        "encode", str(midi_folder / "t1.mid"), "--scheme", "events", "--grid", "8", "--track", "2", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("%events q=101 m=4/4 k=C g=8 p=0\n|7") and "1 pieces" in result.output
    bad = run("encode", str(midi_folder / "t1.mid"), "--scheme", "roll", "--grid", "7", "--out", str(out))
    assert bad.exit_code == EXIT_USER_ERROR and "grid '7' not understood" in bad.output
    wrong = run("encode", str(midi_folder / "t1.mid"), "--scheme", "abc", "--grid", "16", "--out", str(out))
    assert wrong.exit_code == EXIT_USER_ERROR and "--grid is for the events, roll schemes, not abc" in wrong.output


@pytest.fixture(scope="module")
def roll_model(midi_folder, tmp_path_factory):
    root = tmp_path_factory.mktemp("rollmodel")
    corpus = root / "piano.txt"
    assert run("encode", str(midi_folder), "--scheme", "roll", "--out", str(corpus)).exit_code == EXIT_PARTIAL
    corpus.write_text("\n".join([corpus.read_text()] * 8))
    result = run(
        "train",
        str(corpus),
        "--out",
        str(root / "m"),
        "--hidden",
        "32",
        "--layers",
        "1",
        "--embed",
        "8",
        "--batch-size",
        "4",
        "--seq-len",
        "64",
        "--max-steps",
        "30",
        "--eval-every",
        "30",
        "--lr",
        "0.01",
    )
    assert result.exit_code == 0, result.output
    return root / "m"


def test_generate_seed_midi_writes_seed_then_continuation(roll_model, tmp_path):
    unseen = tmp_path / "unseen.mid"
    write_midi(Piece([Note((64, 65, 67)[k % 3], k * 1.0, 1.0) for k in range(12)], tempo=90.0, meter=(3, 4)), unseen)
    out = tmp_path / "continued.mid"
    result = run(
        "generate",
        "--model",
        str(roll_model),
        "--seed-midi",
        str(unseen),
        "--seed-bars",
        "2",
        "--bars",
        "4",
        "--random-seed",
        "1",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "then 4 bars by the model" in result.output
    back = read_piece(out)
    assert back.meter == (3, 4) and back.tempo == 90.0
    assert {(n.pitch, n.onset) for n in back.notes if n.onset < 6} == {
        ((64, 65, 67)[k % 3], float(k)) for k in range(6)
    }
    assert (tmp_path / "continued.roll").read_text().count("\n") == 1 + 6
    markers = [m.text for t in mido.MidiFile(out).tracks for m in t if m.type == "marker"]
    assert markers == ["continuation"]


def test_generate_seed_midi_user_errors_are_one_line(roll_model, tmp_path, midi_folder):
    bad = run(
        "generate",
        "--model",
        str(roll_model),
        "--seed-midi",
        str(midi_folder / "broken.mid"),
        "--out",
        str(tmp_path / "x.mid"),
    )
    assert bad.exit_code == EXIT_USER_ERROR and "broken.mid: not a readable MIDI file" in bad.output
    text_out = run(
        "generate",
        "--model",
        str(roll_model),
        "--seed-midi",
        str(midi_folder / "t0.mid"),
        "--out",
        str(tmp_path / "x.abc"),
    )
    assert text_out.exit_code == EXIT_USER_ERROR and "give --out NAME.mid" in text_out.output
    high = tmp_path / "high.mid"
    write_midi(Piece([Note(100, 0, 1.0), Note(60, 1, 1.0)]), high)
    far = run("generate", "--model", str(roll_model), "--seed-midi", str(high), "--out", str(tmp_path / "y.mid"))
    assert far.exit_code == EXIT_USER_ERROR and "use --transpose-into-range" in far.output
    assert len(far.raw.replace("\n", " ").split("error:")) == 2  # one message


def test_note_f1_counts_multisets():
    from collections import Counter

    a = Counter({(60, 0, 4): 2, (62, 4, 8): 1})
    assert note_f1(a, a) == 1.0 and note_f1(Counter(), Counter()) == 1.0
    assert note_f1(a, Counter({(60, 0, 4): 1, (62, 4, 8): 1})) == pytest.approx(2 * 2 / 5)


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi (Debian abcmidi) not installed")
def test_abc2midi_and_music21_midi_keep_their_notes(tmp_path):
    """A small version of `python -m tools.reference_midi` (that one runs hundreds of files)."""
    (tmp_path / "t.abc").write_text(
        "X:1\nT:Reel\nM:4/4\nL:1/8\nQ:1/4=120\nK:D\n"
        '|:"D"DFAF dFAF|"G"GBdB "A"cAeA|{g}f2 ed cBAG|[1 FDEC D4:|[2 FDEC D2 z2|]\n'
    )
    subprocess.run(
        ["abc2midi", str(tmp_path / "t.abc"), "-o", str(tmp_path / "reel.mid")], capture_output=True, check=True
    )
    from music21 import corpus

    corpus.parse("bach/bwv66.6").write("midi", fp=str(tmp_path / "bwv66.mid"))
    for name in ("reel.mid", "bwv66.mid"):
        ref = grid_notes(tmp_path / name)
        assert sum(ref.values()) > 30
        for scheme in ("roll", "events"):
            assert note_f1(ref, round_trip(str(tmp_path / name), scheme, 16, str(tmp_path))) >= 0.99


def test_the_bundled_midi_model_continues_a_tune_it_never_saw(tmp_path):
    """The issue's check: a MIDI the model has never seen is continued: the output starts
    with the seed's notes and goes on for the requested length, with new notes."""
    unseen = tmp_path / "unseen.mid"
    jig = [67, 69, 71, 74, 71, 67, 69, 71, 69, 69, 67, 64] * 2  # two bars of 6/8 in eighths, twice
    write_midi(Piece([Note(p, k * 0.5, 0.5) for k, p in enumerate(jig)], tempo=120.0, meter=(6, 8), key="G"), unseen)
    out = tmp_path / "continued.mid"
    result = run(
        "generate",
        "--seed-midi",
        str(unseen),
        "--seed-bars",
        "4",
        "--bars",
        "4",
        "--random-seed",
        "0",
        "--out",
        str(out),
    )  # the bundled model 'midi' is the default with --seed-midi
    assert result.exit_code == 0, result.output
    back = read_piece(out)
    seed = {(p, k * 0.5) for k, p in enumerate(jig)}
    assert seed <= {(n.pitch, n.onset) for n in back.notes}
    after = [n for n in back.notes if n.onset >= 12.0]
    assert len(after) >= 8 and back.end >= 12.0 + 4 * 3.0 - 0.5  # four more bars of 6/8 (3 beats each)
    assert back.end <= 12.0 + 4 * 3.0
