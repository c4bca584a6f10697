"""Model folders: round trip, and every kind of bad folder raises one clear CheckpointError."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from musicrnn import checkpoint
from musicrnn.checkpoint import CheckpointError, load, load_train_state, save, save_train_state
from musicrnn.model import CharLSTM, ModelConfig

VOCAB = "\n ABCabc|:"


def _saved(tmp_path, **meta_extra):
    torch.manual_seed(1)
    model = CharLSTM(ModelConfig(vocab_size=len(VOCAB), hidden=12, layers=2, embed=4))
    out = tmp_path / "m"
    save(
        out,
        model,
        {
            "vocab": VOCAB,
            "scheme": "abc",
            "scheme_options": {"titles": False},
            "metrics": {"best_val_bpc": 1.5},
            **meta_extra,
        },
    )
    return model, out


def test_round_trip_gives_equal_outputs(tmp_path):
    model, out = _saved(tmp_path)
    loaded = load(str(out))
    assert not loaded.model.training
    assert loaded.vocab.chars == VOCAB and loaded.scheme == "abc"
    assert loaded.meta["format_version"] == checkpoint.FORMAT_VERSION
    assert loaded.meta["model"] == model.config.to_dict()
    assert set(loaded.meta["versions"]) == {"python", "torch", "musicrnn"}
    idx = torch.randint(0, len(VOCAB), (2, 6))
    model.eval()
    assert torch.equal(loaded.model(idx)[0], model(idx)[0])
    assert load(str(out / "model.safetensors")).path == str(out)  # a file in the folder works too
    assert sorted(p.name for p in out.iterdir()) == ["meta.json", "model.safetensors"]


def _meta(out):
    return json.loads((out / "meta.json").read_text())


def _write_meta(out, meta):
    (out / "meta.json").write_text(json.dumps(meta))


def _one_line_error(path, needle):
    with pytest.raises(CheckpointError) as info:
        load(str(path))
    msg = str(info.value)
    assert "\n" not in msg and needle in msg, msg
    return msg


def test_rejects_pickle_files(tmp_path):
    model, out = _saved(tmp_path)
    pt = tmp_path / "model.pt"
    torch.save(model.state_dict(), pt)
    assert "pickle" in _one_line_error(pt, "model.pt")
    raw = tmp_path / "weights"
    raw.write_bytes(pickle.dumps({"a": 1}))
    assert "pickle" in _one_line_error(raw, "weights")
    # a folder holding only a pickle
    folder = tmp_path / "old"
    folder.mkdir()
    torch.save(model.state_dict(), folder / "model.pth")
    _one_line_error(folder, "model.pth")
    # a pickle disguised under the safetensors name
    (out / "model.safetensors").write_bytes(pickle.dumps(model.state_dict()))
    _one_line_error(out, "model.safetensors")


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda m: m.update(vocab=list(VOCAB)), "vocab"),
        (lambda m: m["model"].update(hidden="12"), "hidden"),
        (lambda m: m.update(format_version="1"), "format_version"),
        (lambda m: m.update(format_version=99), "format_version"),
        (lambda m: m.update(scheme=None), "scheme"),
        (lambda m: m.update(scheme_options=[]), "scheme_options"),
        (lambda m: m.update(vocab=VOCAB + "x"), "vocab"),
        (lambda m: m["model"].update(hidden=10**4, layers=30), "too large"),
    ],
)
def test_rejects_wrong_meta(tmp_path, change, needle):
    _, out = _saved(tmp_path)
    meta = _meta(out)
    change(meta)
    _write_meta(out, meta)
    assert "meta.json" in _one_line_error(out, needle)


def test_rejects_bad_json_and_non_object(tmp_path):
    _, out = _saved(tmp_path)
    (out / "meta.json").write_text("{not json")
    _one_line_error(out, "meta.json")
    (out / "meta.json").write_text("[1, 2]")
    _one_line_error(out, "meta.json")


def test_rejects_mismatched_shapes_and_names(tmp_path):
    _, out = _saved(tmp_path)
    meta = _meta(out)
    meta["model"]["hidden"] = 14
    _write_meta(out, meta)
    _one_line_error(out, "shape")
    _, out = _saved(tmp_path)
    meta["model"]["hidden"] = 12
    meta["model"]["layers"] = 1
    _write_meta(out, meta)
    _one_line_error(out, "unexpected tensors")


def test_rejects_missing_files_and_huge_weights(tmp_path):
    _, out = _saved(tmp_path)
    (out / "model.safetensors").unlink()
    _one_line_error(out, "model.safetensors")
    _, out = _saved(tmp_path)
    save_file({"junk": torch.zeros(1_000_000)}, str(out / "model.safetensors"))
    _one_line_error(out, "larger than")
    _, out = _saved(tmp_path)
    (out / "meta.json").unlink()
    _one_line_error(out, "meta.json")


def test_unknown_bundled_name_lists_bundled_models(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    msg = _one_line_error("no-such-model", "bundled")
    assert "no-such-model" in msg
    assert isinstance(checkpoint.bundled_models(), list)


def test_train_state_round_trip(tmp_path):
    torch.manual_seed(0)
    model = CharLSTM(ModelConfig(vocab_size=5, hidden=6, layers=1, embed=3))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.99))
    model(torch.randint(0, 5, (2, 4)))[0].sum().backward()
    opt.step()
    rng = torch.get_rng_state()
    save_train_state(tmp_path, opt, {"step": 7, "data_position": {"epoch": 1, "index": 2}, "rng": rng}, model=model)

    model2 = CharLSTM(ModelConfig(vocab_size=5, hidden=6, layers=1, embed=3))
    opt2 = torch.optim.AdamW(model2.parameters(), lr=1.0)
    extra = load_train_state(tmp_path, opt2, model=model2)
    assert extra["step"] == 7 and extra["data_position"] == {"epoch": 1, "index": 2}
    assert torch.equal(extra["rng"], rng)
    for a, b in zip(model.parameters(), model2.parameters()):
        assert torch.equal(a, b)
    sd, sd2 = opt.state_dict(), opt2.state_dict()
    assert sd["param_groups"] == sd2["param_groups"]
    for pid in sd["state"]:
        for k, v in sd["state"][pid].items():
            assert torch.equal(v, sd2["state"][pid][k])

    # the two files must belong together
    save_file({"x": torch.zeros(1)}, str(tmp_path / "train_state.safetensors"), metadata={"token": "other"})
    with pytest.raises(CheckpointError, match="train_state"):
        load_train_state(tmp_path, opt2)


def test_safetensors_whose_header_length_starts_with_the_pickle_byte_loads(tmp_path):
    # A header of 0x..80 bytes makes the file's first byte 0x80, pickle's opcode.
    model, out = _saved(tmp_path)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    for pad in range(256):
        save_file(state, out / "model.safetensors", metadata={"pad": "x" * pad})
        if (out / "model.safetensors").read_bytes()[:1] == b"\x80":
            break
    else:
        pytest.fail("no padding gave a header length ending in 0x80")
    loaded = load(str(out))
    idx = torch.randint(0, len(VOCAB), (1, 5))
    model.eval()
    assert torch.equal(loaded.model(idx)[0], model(idx)[0])


def test_a_folder_named_like_a_bundled_model_does_not_hide_it(tmp_path, monkeypatch):
    from musicrnn.checkpoint import BUNDLED_DIR, resolve

    monkeypatch.chdir(tmp_path)
    (tmp_path / "folk").mkdir()
    (tmp_path / "folk" / "tune.abc").write_text("X:1\n")
    assert resolve("folk") == os.path.join(BUNDLED_DIR, "folk")  # a folder of tunes: the bundled model
    assert resolve("./folk") == "./folk"  # a path is always a folder
    (tmp_path / "folk" / "meta.json").write_text("{}")
    assert resolve("folk") == "folk"  # a model folder of that name wins
