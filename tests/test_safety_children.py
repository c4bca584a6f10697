"""No child process imports from the working folder (issue 13).

A folder someone hands you may hold a `verovio.py` or a `numpy.py`: a child started
as `python -c ...` puts the working folder first on sys.path and runs it.  Each trap
below writes a marker file when imported; every command that starts a child runs in
a folder full of them, and no marker may appear."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mido
import pretty_midi
import pytest

from musicrnn import pictures

REPO = Path(__file__).resolve().parent.parent
TIM = str(Path(pretty_midi.__file__).with_name("TimGM6mb.sf2"))
TRAPPED = (
    "verovio",
    "music21",
    "numpy",
    "matplotlib",
    "mido",
    "soundfile",
    "tinysoundfont",
    "torch",
    "musicrnn",
    "encoders",
)
TUNE = "X:1\nT:Trap\nM:4/4\nL:1/8\nQ:1/4=120\nK:G\nGABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|]\n"


def plant_traps(folder: Path, markers: Path) -> None:
    markers.mkdir(parents=True, exist_ok=True)
    for name in TRAPPED:
        (folder / f"{name}.py").write_text(
            "import pathlib\n"
            f"pathlib.Path({str(markers)!r}, {name!r}).write_text('imported from the working folder')\n"
            f"raise ImportError('trap: {name}.py in the working folder was imported')\n"
        )


def sprung(markers: Path) -> list[str]:
    return sorted(p.name for p in markers.iterdir())


@pytest.fixture
def trapped(tmp_path):
    """A working folder full of booby-trapped modules, with pieces to work on."""
    work, markers = tmp_path / "work", tmp_path / "markers"
    work.mkdir()
    plant_traps(work, markers)
    (work / "t.abc").write_text(TUNE)
    pieces = work / "pieces"
    pieces.mkdir()
    (pieces / "a.abc").write_text(TUNE)
    (pieces / "b.abc").write_text(TUNE.replace("T:Trap", "T:Other").replace("GABc", "GABA"))
    song = mido.MidiFile(ticks_per_beat=96)
    song.tracks.append(mido.MidiTrack())
    for pitch in (60, 64, 67, 72):
        song.tracks[0].append(mido.Message("note_on", note=pitch, velocity=90, time=0))
        song.tracks[0].append(mido.Message("note_off", note=pitch, velocity=0, time=96))
    song.save(str(work / "song.mid"))
    return work, markers


def test_the_engraving_child_ignores_the_working_folder_and_pythonpath(trapped, monkeypatch):
    work, markers = trapped
    monkeypatch.chdir(work)
    monkeypatch.setenv("PYTHONPATH", str(work))  # -I ignores it: the child finds verovio where it is installed
    svg = pictures._engrave(TUNE, "abc")
    assert svg.lstrip().startswith(("<svg", "<?xml"))
    assert sprung(markers) == []


def _musicrnn(work: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI as the `musicrnn` command runs it: its own folder, not the working folder, on sys.path
    (-P; PYTHONPATH names this checkout so the test needs no install)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-P", "-m", "musicrnn", *args], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "args",
    [
        ("render", "t.abc", "--out", "t.svg"),
        ("render", "song.mid", "--out", "s.svg"),  # MusicXML by music21, then engraved
        ("render", "t.abc", "--out", "t.png"),
        ("render", "t.abc", "--out", "t.wav", "--soundfont", TIM),
        ("render", "t.abc", "--out", "t.musicxml"),
        ("audition", "pieces", "--soundfont", TIM),
        ("encode", "pieces", "--scheme", "abc", "--jobs", "2", "--no-tokens", "--out", "enc.txt"),
        ("generate", "--seed", "X:1", "--length", "200", "--random-seed", "3", "--out", "g.svg"),
    ],
    ids=[
        "render-svg",
        "render-midi-svg",
        "render-png",
        "render-wav",
        "render-musicxml",
        "audition",
        "encode-jobs",
        "generate-svg",
    ],
)
def test_no_command_imports_from_the_working_folder(trapped, args):
    work, markers = trapped
    done = _musicrnn(work, *args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sprung(markers) == [], f"{' '.join(args)} imported from the working folder: {sprung(markers)}"
