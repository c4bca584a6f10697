"""train --init-from (issue 17): fine-tuning a model on a composer's tunes, and --sample-every."""

import json

import pytest
import torch

import musicrnn
from musicrnn import checkpoint
from musicrnn.train import TrainConfig, TrainError, merged_options, train


def _cfg(corpus, out, **kw):
    settings = {"corpus": str(corpus), "out": str(out), "hidden": 32, "layers": 1, "embed": 8, "dropout": 0.0}
    settings |= {"batch_size": 8, "seq_len": 32, "lr": 1e-2, "warmup_steps": 2, "max_steps": 20, "eval_every": 10}
    return TrainConfig(**(settings | kw))


def _tunes(path, n, extra=""):
    path.write_text("\n".join(f"X:1\nM:6/8\nK:G\nGAB {extra}dBG|GAB dBG|\n" for _ in range(n)), encoding="utf-8")
    return path


def _log(out):
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


def test_fine_tuning_extends_the_vocabulary_and_starts_from_the_base(corpus, tmp_path):
    train(_cfg(corpus, tmp_path / "base"))
    base = checkpoint.load(str(tmp_path / "base"))
    mine = _tunes(tmp_path / "mine.txt", 30, extra="^f")  # ^ and f: characters the base never saw
    train(_cfg(mine, tmp_path / "mine", init_from=str(tmp_path / "base"), hidden=999, max_steps=10))
    tuned = checkpoint.load(str(tmp_path / "mine"))
    assert tuned.vocab.chars.startswith(base.vocab.chars) and set("^f") <= set(tuned.vocab.chars)
    assert tuned.config.hidden == 32  # the base's sizes, whatever was asked
    assert tuned.meta["init_from"] == str(tmp_path / "base")
    assert "6/8" in tuned.meta["scheme_options"]["meters"]
    first = next(e for e in _log(tmp_path / "mine") if e["event"] == "eval")
    assert first["step"] == 0  # the base itself is measured first: fine-tuning keeps it unless it gets better


def test_the_weights_of_known_characters_are_the_base_models(corpus, tmp_path):
    train(_cfg(corpus, tmp_path / "base"))
    base = checkpoint.load(str(tmp_path / "base"))
    mine = _tunes(tmp_path / "mine.txt", 30, extra="^f")
    train(_cfg(mine, tmp_path / "mine", init_from=str(tmp_path / "base"), lr=1e-12, max_steps=1, eval_every=1))
    tuned = checkpoint.load(str(tmp_path / "mine"))
    n = len(base.vocab)
    torch.testing.assert_close(tuned.model.embed.weight[:n], base.model.embed.weight, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(tuned.model.head.bias[:n], base.model.head.bias, rtol=1e-3, atol=1e-3)


def test_a_set_too_small_to_learn_from_says_so(corpus, tmp_path):
    train(_cfg(corpus, tmp_path / "base"))
    few = _tunes(tmp_path / "few.txt", 8)
    with pytest.raises(TrainError, match="8 pieces are too few to learn a style from; fine-tuning needs at least 20"):
        train(_cfg(few, tmp_path / "mine", init_from=str(tmp_path / "base")))


def test_a_base_of_another_scheme_is_refused(corpus, tmp_path):
    with pytest.raises(TrainError, match="writes the roll scheme, the corpus is abc"):
        train(_cfg(corpus, tmp_path / "mine", init_from="midi"))


def test_fine_tuning_defaults_through_the_python_api(corpus, tmp_path):
    train(_cfg(corpus, tmp_path / "base"))
    mine = _tunes(tmp_path / "mine.txt", 30)
    musicrnn.train_model(mine, tmp_path / "mine", init_from=str(tmp_path / "base"), max_steps=20, batch_size=8)
    hp = checkpoint.load(str(tmp_path / "mine")).meta["hyperparameters"]
    assert hp["lr"] == 1e-4 and hp["eval_every"] == 10 and hp["val_fraction"] == 0.2


def test_sample_every_reports_a_sample(corpus, tmp_path):
    events = []
    train(_cfg(corpus, tmp_path / "out", sample_every=10, sample_length=60), on_progress=events.append)
    samples = [e for e in events if e["event"] == "sample"]
    assert [e["step"] for e in samples] == [10, 20]
    assert all(e["text"].startswith("X:1") for e in samples)


def test_merged_options_keep_what_the_base_knew():
    merged = merged_options({"meters": ["6/8"], "grid": 16}, {"meters": ["2/4"], "grid": 12, "modes": ["dor"]})
    assert merged == {"meters": ["2/4", "6/8"], "grid": 12, "modes": ["dor"]}


def test_fine_tuning_a_model_at_home_moves_the_tunes_home_and_keeps_their_keys(corpus, tmp_path):
    # A base trained with every tune at home on C (scheme option "home"): the composer's tunes
    # in G are learned in C, and the new model sends its tunes to G, the composer's key.
    train(_cfg(corpus, tmp_path / "base"))
    meta_path = tmp_path / "base" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["scheme_options"]["home"] = {"tonic": "C", "keys": {"maj": [0, 0, 1] + [0] * 9}}
    meta_path.write_text(json.dumps(meta))
    mine = tmp_path / "mine.txt"
    mine.write_text("\n".join("X:1\nM:6/8\nL:1/8\nK:G\nGAB dBG|GAB dBG|\n" for _ in range(30)), encoding="utf-8")
    train(_cfg(mine, tmp_path / "mine", init_from=str(tmp_path / "base"), max_steps=4, eval_every=2))
    tuned = checkpoint.load(str(tmp_path / "mine"))
    assert tuned.meta["scheme_options"]["home"] == {"tonic": "C", "keys": {"maj": [0] * 7 + [30] + [0] * 4}}
    tokens = (tmp_path / "mine.tokens" / "train.bin").read_bytes() + (tmp_path / "mine.tokens" / "val.bin").read_bytes()
    assert "K:C" in tuned.vocab.decode(__import__("numpy").frombuffer(tokens, dtype=tuned.vocab.dtype))
    (piece,) = musicrnn.generate(model=str(tmp_path / "mine"), meter="6/8", key="D", length=60, random_seed=1)
    assert "K:D\n" in piece.text and "K:C" not in piece.text  # asked in D, sampled in C, moved back
