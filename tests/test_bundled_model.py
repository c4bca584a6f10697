"""The model shipped inside the package: loads offline and writes tunes that play."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import encoders
from musicrnn.checkpoint import bundled_models, export, load
from musicrnn.sample import generate_pieces


@pytest.fixture(scope="module")
def folk():
    return load("folk")


def test_folk_is_bundled_as_package_data(folk):
    assert "folk" in bundled_models()
    assert folk.scheme == "abc"
    assert folk.meta["weights_dtype"] == "float16"


@pytest.fixture(scope="module")
def tunes(folk):
    codec = encoders.get("abc")
    texts = generate_pieces(folk, codec, seed="X:1", num=8, temperature=1.0, random_seed=11)
    return [(t, codec.decode(t)) for t in texts]


def test_generated_tunes_are_real_tunes(tunes):
    for text, decoded in tunes:
        assert text.startswith("X:1\nM:")
        assert len(decoded.piece.notes) >= 16, text
    # Real tunes: 2% have fewer than 24 notes (bar-by-bar sampling: 5%).
    assert sum(len(d.piece.notes) >= 24 for _, d in tunes) >= 7
    assert sum(d.clean for _, d in tunes) >= 7
    assert sum(bool(d.bars_ok) for _, d in tunes) >= 6


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi (Debian abcmidi) not installed")
def test_generated_tunes_play_in_abc2midi(tunes, tmp_path):
    failed = []
    for i, (text, _) in enumerate(tunes):
        src = tmp_path / f"t{i}.abc"
        src.write_text(text)
        run = subprocess.run(
            ["abc2midi", str(src), "-o", str(tmp_path / f"t{i}.mid")], capture_output=True, text=True, timeout=60
        )
        if "Error" in run.stdout + run.stderr or not (tmp_path / f"t{i}.mid").exists():
            failed.append(text)
    assert len(failed) <= 1, failed


def test_export_keeps_the_model_within_float16_precision(folk, tmp_path):
    import torch

    full = tmp_path / "full"
    export(folk.path, full, half=False)
    again = load(full)
    x = torch.randint(0, len(folk.vocab), (1, 40))
    where = torch.randint(0, folk.config.positions, (1, 40)) if folk.config.positions else None
    with torch.no_grad():
        a, _ = folk.model(x, None, where)
        b, _ = again.model(x, None, where)
    assert torch.allclose(a, b)
    assert again.meta["weights_dtype"] == "float32"


def test_tabs_model_writes_well_formed_tabs_that_play(tmp_path):
    import pretty_midi

    from musicrnn.render import write_midi

    tabs = load("tabs")
    assert tabs.scheme == "columns"
    codec = encoders.get("columns")
    texts = generate_pieces(tabs, codec, num=6, temperature=1.0, random_seed=5, length=1500)
    for i, text in enumerate(texts):
        assert text.startswith("%columns ")
        decoded = codec.decode(text)
        assert decoded.clean, decoded.repairs
        assert len(decoded.piece.notes) >= 8
        path = write_midi(decoded.piece, tmp_path / f"riff{i}.mid")
        guitar = pretty_midi.PrettyMIDI(str(path)).instruments[0]
        assert guitar.program == 25 and len(guitar.notes) == len(decoded.piece.notes)
