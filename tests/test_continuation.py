"""generate --seed-midi: a MIDI file's opening, then the model's music, for the requested length."""

from __future__ import annotations

import mido
import pytest
import torch

import encoders
from encoders import InputError, Note, Piece
from encoders.midi import read_piece
from encoders.midi.grid import PITCH_CHARS
from encoders.midi.opening import model_pitches, opening, transpose_key
from musicrnn.checkpoint import Loaded
from musicrnn.continuation import continue_midi
from musicrnn.data import Vocab
from musicrnn.model import CharLSTM, ModelConfig
from musicrnn.render import write_midi

ROLL = encoders.get("roll")


def untrained(pitches: range, scheme: str = "roll") -> Loaded:
    """A tiny random model whose vocabulary has the scheme's characters and only `pitches`."""
    header = f"%{scheme} q=84 m=3/4 k=F#m k=Bb g=16 p=0,32\n"  # what a corpus's headers hold
    chars = "".join(PITCH_CHARS[p - 21] for p in pitches) + header + ".-|0123456789ABCDEF"
    vocab = Vocab.from_text(chars)
    torch.manual_seed(0)
    model = CharLSTM(ModelConfig(len(vocab), hidden=16, layers=1, embed=8, dropout=0.0)).eval()
    return Loaded(
        model=model, vocab=vocab, meta={"scheme_options": {"pitches": list(pitches)}}, scheme=scheme, path="<test>"
    )


def song(tmp_path, name="song.mid", low=60):
    """Four bars of 3/4 in two voices, a tune the models never saw."""
    melody = [Note(low + 7 + (i * 5) % 9, i * 1.0, 1.0, 90, 0, 0) for i in range(12)]
    bass = [Note(low - 12 + (i % 2) * 7, i * 3.0, 3.0, 70, 32, 1) for i in range(4)]
    write_midi(Piece(melody + bass, tempo=84.0, meter=(3, 4), key="G", programs={0: 0, 1: 32}), tmp_path / name)
    return tmp_path / name


@pytest.mark.parametrize("scheme", ["roll", "events"])
def test_continued_midi_starts_with_the_seed_and_goes_on(tmp_path, scheme):
    path = song(tmp_path)
    loaded = untrained(range(36, 96), scheme)
    result = continue_midi(loaded, encoders.get(scheme), str(path), seed_bars=2, bars=3, random_seed=1)
    write_midi(result.decoded.piece, tmp_path / "out.mid")
    back = read_piece(tmp_path / "out.mid")
    source = read_piece(path).notes
    out = {(n.pitch, n.onset, n.duration) for n in back.notes}
    # every note of the opening comes back; one sounding at the cut (6 beats) keeps its pitch and
    # onset and may be held on by the model
    assert {(n.pitch, n.onset, n.duration) for n in source if n.onset + n.duration < 6.0} <= out
    assert {(n.pitch, n.onset) for n in source if n.onset < 6.0} <= {(n.pitch, n.onset) for n in back.notes}
    if scheme == "roll":  # (events: the model ends them, maybe at once)
        assert all(
            any(
                o.pitch == n.pitch and o.onset == n.onset and o.duration >= min(n.duration, 6.0 - n.onset)
                for o in back.notes
            )
            for n in source
            if n.onset < 6.0
        )
    assert not {(n.pitch, n.onset) for n in back.notes if n.onset < 6.0} - {(n.pitch, n.onset) for n in source}
    assert (back.tempo, back.meter, back.key) == (84.0, (3, 4), "G")
    marker = [m for m in mido.MidiFile(tmp_path / "out.mid").tracks[0] if m.type == "marker"]
    assert [(m.text, m.time) for m in marker] == [("continuation", 6 * 480)]
    if scheme == "roll":  # the grammar holds the piece to the requested length: 2 + 3 bars of 3 beats
        assert result.bars == 3 and result.text.count("\n") == 1 + 5
        assert not result.decoded.repairs


def test_seed_seconds_cut_inside_a_bar(tmp_path):
    path = song(tmp_path)
    o = opening(str(path), "roll", seconds=60 / 84 * 4)  # four beats at 84 a minute: one bar and a beat
    assert o.steps == 16 and not o.text.endswith("\n") and o.text.count("\n") == 2
    result = continue_midi(untrained(range(36, 96)), ROLL, str(path), seed_seconds=60 / 84 * 4, bars=2, random_seed=2)
    assert result.decoded.piece.marks == {"continuation": 4.0}
    assert result.text.startswith(o.text)
    # two bars past step 16 is step 40, inside bar 4: the piece runs to that bar's end
    assert result.text.count("\n") == 1 + 4 and result.bars == pytest.approx(4 - 16 / 12)


def test_pitches_the_model_never_saw_give_a_clear_error_or_a_transposition(tmp_path):
    path = song(tmp_path, low=84)  # up to C7 and beyond
    loaded = untrained(range(40, 90))
    with pytest.raises(
        InputError,
        match=r"song\.mid: the seed has pitches the model never saw \(.*\): "
        r"use --transpose-into-range",
    ):
        continue_midi(loaded, ROLL, str(path), seed_bars=2, bars=1)
    result = continue_midi(loaded, ROLL, str(path), seed_bars=2, bars=1, transpose=True, random_seed=3)
    assert result.opening.shift == -12
    original = {(n.pitch, n.onset) for n in read_piece(path).notes if n.onset < 6.0}
    assert original == {(n.pitch, n.onset) for n in result.decoded.piece.notes if n.onset < 6.0}  # moved back
    with pytest.raises(InputError, match="no transposition fits"):
        continue_midi(untrained(range(60, 64)), ROLL, str(path), seed_bars=2, bars=1, transpose=True)


def test_a_model_of_another_scheme_is_refused(tmp_path):
    with pytest.raises(ValueError, match="needs a model of a MIDI scheme"):
        continue_midi(untrained(range(40, 90), "abc"), encoders.get("abc"), str(song(tmp_path)))


def test_model_pitches_and_key_transposition():
    loaded = untrained(range(60, 80))
    knows = lambda text: not loaded.vocab.missing(text)  # noqa: E731
    assert model_pitches(loaded.meta["scheme_options"]["pitches"], knows) == set(range(60, 80))
    # a model trained before pitches were stored: every pitch character it knows
    assert model_pitches(None, knows) > set(range(60, 80)) and 97 in model_pitches(None, knows)  # 'q' of the header
    assert [transpose_key(k, s) for k, s in [("G", 2), ("F#m", -1), ("Bb", 12), (None, 3), ("Ebm", 1)]] == [
        "A",
        "Fm",
        "Bb",
        None,
        "Em",
    ]
