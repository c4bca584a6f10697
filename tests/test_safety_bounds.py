"""Bounded work on hostile input: every attack here once hung, took gigabytes or raised a
bare exception; now each ends in a clean result or one line with exit code 2, in seconds,
and refuses before memory is spent (checked by making the allocation itself fail)."""

from __future__ import annotations

import json
import time

import pytest
import torch
from typer.testing import CliRunner

from musicrnn import checkpoint
from musicrnn.checkpoint import CheckpointError, load
from musicrnn.cli import EXIT_USER_ERROR, app
from musicrnn.data import Vocab
from musicrnn.model import CharLSTM, ModelConfig

VOCAB = "\n ABCabc|:"


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
        Vocab("ab" * 100_000)       # 200,000 characters took 36 s (a str.count per character)
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
    Vocab("".join(chr(0x100 + i) for i in range(Vocab.MAX_CHARS)))     # the cap itself is fine
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
    _edit_meta(out, model={"hidden": 1400, "layers": 32})   # 1 KB of JSON that asked for 2.2 GB

    def no_building(config):
        raise AssertionError(f"built a model of {config.num_params():,} parameters")

    monkeypatch.setattr(checkpoint, "CharLSTM", no_building)
    with pytest.raises(CheckpointError, match="model.safetensors: does not match the config"):
        load(str(out))
    _one_line_error(_run("generate", "--model", str(out), "--length", "5"), "model.safetensors", "meta.json")


def test_tensor_shapes_are_read_from_the_header_against_the_config(tmp_path, monkeypatch):
    out = _saved(tmp_path)
    _edit_meta(out, model={"hidden": 13})                    # same names, every LSTM shape wrong
    monkeypatch.setattr(checkpoint, "CharLSTM", lambda config: pytest.fail("model built"))
    with pytest.raises(CheckpointError, match=r"tensor lstm\.weight_ih_l0 has shape \[48, 4\].*needs \[52, 4\]"):
        load(str(out))


def test_tensor_shapes_match_the_model_they_describe():
    import math

    for config in (ModelConfig(7, 12, 1, 4), ModelConfig(73, 16, 3, 8), ModelConfig(5, 6, 2, 3, 0.0)):
        built = {k: tuple(v.shape) for k, v in CharLSTM(config).state_dict().items()}
        assert config.tensor_shapes() == built
        assert sum(math.prod(s) for s in built.values()) == config.num_params()
