"""The Scheme contract end to end: a toy chord-symbol scheme, written in its own module here and
nowhere else, goes through every use case (musicrnn.pipeline) and the command line: encode
(with an option it declares), train a few steps, generate, decode (with its decode option),
render to MIDI (on its instrument) and audition.  Nothing in musicrnn/ or encoders/ names it."""

from __future__ import annotations

import importlib
import os
import random
import subprocess
import sys
from pathlib import Path

import mido
import pytest

import encoders
import musicrnn
from encoders import UsageError

REPO = Path(__file__).resolve().parents[1]

TOY_MODULE = '''
"""A toy scheme: "%chords", then a bar a line, four chord symbols a bar (C, F#m, Bb7), one a beat."""

import re

from encoders import Decoded, EncodeResult, Note, Option, Piece, Problem, Scheme, register

CHORD = re.compile(r"([A-G])([#b]?)(m?)(7?)$")
ROOTS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


class Chords(Scheme):
    name = "toychords"
    suffixes = (".chords",)
    seed = "%chords"
    program = 24  # nylon guitar
    encode_options = (Option("sevenths", bool, False, "toy: keep sevenths (C7), else plain triads"),)
    decode_options = (Option("octave", int, 4, "toy: the octave the chords sound in"),)

    def _encode_text(self, text, path, sevenths=False):
        result = EncodeResult()
        for block in self.split(text):
            head, *lines = block.splitlines()
            bars = [line.split() for line in lines]
            if head.strip() != self.seed or not bars or any(
                len(bar) != 4 or not all(CHORD.match(c) for c in bar) for bar in bars
            ):
                result.problems.append(Problem("not a chord chart (four chords a bar): skipped", path=path))
                continue
            if not sevenths:
                bars = [[c.rstrip("7") for c in bar] for bar in bars]
            result.pieces.append(self.seed + "\\n" + "".join(" ".join(bar) + "\\n" for bar in bars))
        return result

    def _decode(self, text, path, octave=4):
        notes, repairs = [], []
        for bar, line in enumerate(text.splitlines()[1:]):
            for beat, symbol in enumerate(line.split()):
                m = CHORD.match(symbol)
                if m is None:
                    repairs.append(Problem(f"not a chord: {symbol!r}; a beat of rest", bar + 2, 0, path))
                    continue
                root = 12 * (octave + 1) + ROOTS[m[1]] + {"#": 1, "b": -1}.get(m[2], 0)
                pitches = [root, root + (3 if m[3] else 4), root + 7] + ([root + 10] if m[4] else [])
                notes += [Note(p, 4.0 * bar + beat, 1.0) for p in pitches]
        return Decoded(Piece(notes=notes, meter=(4, 4)), text, repairs, None)


CHORDS = register(Chords())
'''

CHART = "%chords\nC C7 F G\nAm F G7 C\n"
PROGRESSIONS = [["C", "F", "G", "C"], ["Am", "Dm", "G7", "C"], ["G", "Em", "C", "D7"], ["F", "Bb", "C7", "F"]]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The toy scheme's module imported (which registers it), for this module's tests; the
    registry and sys.modules are put back after them."""
    folder = tmp_path_factory.mktemp("toy")
    (folder / "toychords.py").write_text(TOY_MODULE)
    with pytest.MonkeyPatch.context() as mp:
        encoders.all_schemes()
        mp.setattr(encoders, "_REGISTRY", dict(encoders._REGISTRY))
        mp.syspath_prepend(str(folder))
        mp.delitem(sys.modules, "toychords", raising=False)
        module = importlib.import_module("toychords")
        yield module.CHORDS, folder
        sys.modules.pop("toychords", None)


@pytest.fixture(scope="module")
def trained(toy, tmp_path_factory):
    """A corpus of toy charts encoded with musicrnn.encode_files and a model trained on it a few steps."""
    root = tmp_path_factory.mktemp("toycorpus")
    rng = random.Random(0)
    charts = ["%chords\n" + "".join(" ".join(rng.choice(PROGRESSIONS)) + "\n" for _ in range(2)) for _ in range(60)]
    (root / "charts").mkdir()
    (root / "charts" / "all.chords").write_text("\n".join(charts))
    encoded = musicrnn.encode_files([root / "charts"], root / "stream.txt", jobs=1)
    trained = musicrnn.train_model(
        root / "stream.txt",
        root / "model",
        hidden=16,
        layers=1,
        embed=8,
        batch_size=4,
        seq_len=16,
        max_steps=6,
        eval_every=3,
        device="cpu",
        threads=1,
        random_seed=0,
    )
    return root, encoded, trained


def test_a_scheme_registered_by_its_own_module_is_found_by_name_suffix_and_text(toy):
    scheme, _ = toy
    assert encoders.get("toychords") is scheme and encoders.codec_for_path("x.CHORDS") is scheme
    assert encoders.sniff(CHART) is scheme
    assert encoders.declared_options("encode")["sevenths"][1] == ["toychords"]
    assert encoders.declared_options("decode")["octave"][1] == ["toychords"]


def test_encode_takes_the_schemes_option_and_checks_the_others(toy, tmp_path):
    (tmp_path / "a.chords").write_text(CHART + "\n%chords\nC C\n")
    plain = musicrnn.encode_files([tmp_path / "a.chords"], tmp_path / "plain.txt", tokens=False, jobs=1)
    assert plain.report.pieces == 1 and len(plain.report.skipped_pieces) == 1
    assert (tmp_path / "plain.txt").read_text() == "%chords\nC C F G\nAm F G C\n"
    musicrnn.encode_files([tmp_path / "a.chords"], tmp_path / "sevenths.txt", tokens=False, jobs=1, sevenths=True)
    assert (tmp_path / "sevenths.txt").read_text() == CHART
    with pytest.raises(UsageError, match="--titles is for the abc scheme, not toychords"):
        musicrnn.encode_files([tmp_path / "a.chords"], tmp_path / "x.txt", scheme="toychords", titles=True)


def test_train_a_few_steps(trained):
    root, encoded, done = trained
    assert encoded.report.pieces > 1 and encoded.tokens is not None
    assert done.result.steps == 6 and not done.result.interrupted
    assert '"scheme": "toychords"' in (root / "model" / "meta.json").read_text()


def test_generate_decode_render_and_audition(trained, tmp_path):
    root, _, _ = trained
    pieces = musicrnn.generate(model=root / "model", num=3, length=60, random_seed=1, device="cpu")
    assert len(pieces) == 3 and pieces.written == []
    assert all(p.scheme == "toychords" and p.text.startswith("%chords") for p in pieces)
    written = musicrnn.generate(
        model=root / "model", num=3, length=60, random_seed=1, device="cpu", out=str(tmp_path / "new.chords")
    ).written
    assert written == [tmp_path / "new.chords"] and (tmp_path / "new.chords").read_text().count("%chords") == 3

    (tmp_path / "chart.chords").write_text(CHART + "\n" + CHART.replace("G7", "H7"))
    played = musicrnn.decode(tmp_path / "chart.chords")
    assert [len(p.piece.notes) for p in played] == [26, 22] and played.repaired == 1
    assert "not a chord: 'H7'" in str(played[1].repairs[0])
    lower = musicrnn.decode(tmp_path / "chart.chords", octave=3)
    assert [n.pitch for n in lower[0].piece.notes] == [n.pitch - 12 for n in played[0].piece.notes]
    with pytest.raises(UsageError, match="--step is for the columns, rows schemes, not toychords"):
        musicrnn.decode(tmp_path / "chart.chords", step=0.5)

    rendered = musicrnn.render_file(tmp_path / "chart.chords", tmp_path / "chart.mid")
    assert rendered.written == [tmp_path / "chart-1.mid", tmp_path / "chart-2.mid"]
    midi = mido.MidiFile(tmp_path / "chart-1.mid")
    assert [m.program for t in midi.tracks for m in t if m.type == "program_change"] == [24]  # its instrument
    assert sum(m.type == "note_on" and m.velocity > 0 for t in midi.tracks for m in t) == 26

    (tmp_path / "batch").mkdir()
    (tmp_path / "batch" / "chart.chords").write_text(CHART)
    page = musicrnn.audition_page(tmp_path / "batch")
    assert len(page.cards) == 1 and not page.skipped and page.path == tmp_path / "batch" / "audition.html"


def test_the_command_line_makes_flags_of_the_options_it_declares(toy, trained, tmp_path):
    """A new process imports the toy's module, then runs the command line: its options are flags."""
    (_, module_folder), (root, _, _) = toy, trained

    def musicrnn_cli(*args: str) -> subprocess.CompletedProcess:
        code = "import toychords; from musicrnn.cli import app; app(prog_name='musicrnn')"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(module_folder), str(REPO)]), "COLUMNS": "200"}
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=600)

    (tmp_path / "a.chords").write_text(CHART)
    done = musicrnn_cli(
        "encode", str(tmp_path / "a.chords"), "--sevenths", "--no-tokens", "--out", str(tmp_path / "s.txt")
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s.txt").read_text() == CHART
    done = musicrnn_cli("decode", str(tmp_path / "s.txt"), "--octave", "3", "--out", str(tmp_path / "d.mid"))
    assert done.returncode == 0 and "decoded 1 piece(s), 26 notes, 0 repaired" in done.stderr, done.stderr
    assert min(m.note for t in mido.MidiFile(tmp_path / "d.mid").tracks for m in t if m.type == "note_on") == 48
    done = musicrnn_cli(
        "generate",
        "--model",
        str(root / "model"),
        "--num",
        "2",
        "--length",
        "40",
        "--random-seed",
        "0",
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "g.chords"),
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "g.chords").read_text().count("%chords") == 2
