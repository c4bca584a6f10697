"""Model files crafted to hurt: every one is refused with one line naming the file, and none runs code.

A pickle can run any code when loaded, so each pickle here carries a payload that
would create a marker folder; the tests first prove the payload works (by
unpickling it on purpose) and then that loading a model, generating from it and
resuming training from it never create the marker.
"""

from __future__ import annotations

import json
import os
import pickle
import struct

import pytest
import torch
from safetensors.torch import save as st_save
from safetensors.torch import save_file
from typer.testing import CliRunner

from musicrnn import checkpoint
from musicrnn.checkpoint import CheckpointError, load
from musicrnn.cli import EXIT_USER_ERROR, app
from musicrnn.model import CharLSTM, ModelConfig
from musicrnn.train import TrainConfig, TrainError, train

VOCAB = "\n ABCabc|:"


class Payload:
    """Unpickling this makes the folder `marker`: proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _saved(tmp_path, name="m"):
    torch.manual_seed(1)
    model = CharLSTM(ModelConfig(vocab_size=len(VOCAB), hidden=12, layers=2, embed=4))
    out = tmp_path / name
    checkpoint.save(out, model, {"vocab": VOCAB, "scheme": "abc"})
    return model, out


def _refused(path, *needles) -> str:
    with pytest.raises(CheckpointError) as info:
        load(str(path))
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 400, msg
    for needle in needles:
        assert needle in msg, msg
    return msg


def test_the_payload_would_run_code(tmp_path):
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(Payload(str(marker))))
    assert marker.is_dir()  # so a test that finds no marker has shown that nothing ran


@pytest.mark.parametrize("where", ["model.safetensors", "meta.json", "model.pt", "model.bin", "weights"])
def test_pickles_run_nothing_wherever_they_are_put(tmp_path, where):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({"state": Payload(str(marker))})
    _, out = _saved(tmp_path)
    if where in ("model.safetensors", "meta.json"):
        (out / where).write_bytes(evil)
        target = out
    else:
        target = tmp_path / where
        target.write_bytes(evil)
    _refused(target, where)
    result = CliRunner().invoke(app, ["generate", "--model", str(target), "--length", "10"])
    assert result.exit_code == EXIT_USER_ERROR and "Traceback" not in result.output
    assert not marker.exists()


def test_torch_save_zip_with_a_payload_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "old_model"
    folder.mkdir()
    torch.save({"w": torch.zeros(2), "x": Payload(str(marker))}, folder / "model.pth")
    _refused(folder, "model.pth", "pickle")
    os.replace(folder / "model.pth", folder / "model.safetensors")  # the zip under the right name
    (folder / "meta.json").write_text((_saved(tmp_path)[1] / "meta.json").read_text())
    _refused(folder, "model.safetensors")
    assert not marker.exists()


def test_resume_from_a_pickled_train_state_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"X:1\nK:C\n{'abc|' * 3}\n" for _ in range(20)))
    cfg = {
        "corpus": str(corpus),
        "out": str(tmp_path / "run"),
        "hidden": 8,
        "layers": 1,
        "embed": 4,
        "batch_size": 2,
        "seq_len": 16,
        "max_steps": 4,
        "eval_every": 4,
        "threads": 1,
        "val_fraction": 0.2,
    }
    train(TrainConfig(**cfg))
    (tmp_path / "run" / "train_state.safetensors").write_bytes(pickle.dumps(Payload(str(marker))))
    with pytest.raises(TrainError, match="train_state.safetensors"):
        train(TrainConfig(**cfg, resume=True))
    assert not marker.exists()


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda m: m["model"].update(vocab_size=10**12), "vocab_size"),
        (lambda m: m["model"].update(hidden=10**9), "hidden"),
        (lambda m: m["model"].update(layers=-1), "layers"),
        (lambda m: m["model"].update(layers=True), "layers"),
        (lambda m: m["model"].update(dropout="0.1"), "dropout"),
        (lambda m: m["model"].update(extra_code="__import__('os')"), "unknown keys"),
        (lambda m: m.update(model=[1, 2]), "model config"),
        (lambda m: m.update(vocab=12345), "vocab"),
        (lambda m: m.update(vocab="ab"), "vocab"),
        (lambda m: m.update(vocab="aab" + VOCAB[3:]), "vocab"),
        (lambda m: m.update(scheme=["abc"]), "scheme"),
        (lambda m: m.update(metrics="fast"), "metrics"),
        (lambda m: m.update(format_version=1.0), "format_version"),
        (lambda m: m.update(format_version=True), "format_version"),
    ],
)
def test_metadata_with_wrong_types_or_sizes(tmp_path, change, needle):
    _, out = _saved(tmp_path)
    meta = json.loads((out / "meta.json").read_text())
    change(meta)
    (out / "meta.json").write_text(json.dumps(meta))
    _refused(out, "meta.json", needle)


@pytest.mark.parametrize(
    "text, needle",
    [
        ('{"format_version": ' + "9" * 5000 + "}", "JSON"),  # int() refuses 4300+ digits
        ("[" * 100_000 + "]" * 100_000, "JSON"),  # nested past the recursion limit
        ('{"format_version": 1, "model": {"vocab_size": NaN}}', "NaN"),  # not JSON, though Python reads it
        ("\xff\xfe{}", "JSON"),
        ("", "JSON"),
    ],
)
def test_metadata_that_is_not_json(tmp_path, text, needle):
    _, out = _saved(tmp_path)
    (out / "meta.json").write_bytes(text.encode("latin-1"))
    _refused(out, "meta.json", needle)


def test_huge_metadata_is_not_read(tmp_path):
    _, out = _saved(tmp_path)
    meta = json.loads((out / "meta.json").read_text())
    meta["padding"] = "x" * (checkpoint.MAX_JSON_BYTES + 10)
    (out / "meta.json").write_text(json.dumps(meta))
    _refused(out, "meta.json", "larger than")


def test_tensors_of_the_wrong_shape_dtype_or_values(tmp_path):
    model, out = _saved(tmp_path)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    for name, bad, needle in [
        ("head.weight", torch.zeros(3, 3), "shape"),
        ("head.weight", state["head.weight"].to(torch.int32), "dtype"),
        ("head.weight", torch.full_like(state["head.weight"], float("nan")), "NaN"),
        ("embed.weight", torch.full_like(state["embed.weight"], float("inf")), "NaN"),
    ]:
        key = next(k for k in state if k.endswith(name))
        save_file({**state, key: bad}, str(out / "model.safetensors"))
        _refused(out, "model.safetensors", needle)
    save_file({**state, "extra.tensor": torch.zeros(1)}, str(out / "model.safetensors"))
    _refused(out, "unexpected tensors")


def _with_header(header: dict | bytes, body: bytes = b"", length: int | None = None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + body


@pytest.mark.parametrize(
    "data",
    [
        _with_header({"head.weight": {"dtype": "F32", "shape": [10**9, 10**9], "data_offsets": [0, 4 * 10**18]}}),
        _with_header({"head.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 2**62]}}, b"\0" * 16),
        _with_header({"head.weight": {"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]}}, b"\0" * 8),
        _with_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, length=2**63),
        _with_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, length=2**20),
        _with_header(b"[" * 5000 + b"]" * 5000),
        _with_header({"a": {"dtype": "EVIL", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
        b"",
        b"\x00" * 7,
    ],
)
def test_safetensors_headers_that_lie(tmp_path, data):
    _, out = _saved(tmp_path)
    (out / "model.safetensors").write_bytes(data)
    _refused(out, "model.safetensors")


def test_truncated_files(tmp_path):
    model, out = _saved(tmp_path)
    weights = (out / "model.safetensors").read_bytes()
    meta = (out / "meta.json").read_bytes()
    for cut in (0, 1, 7, 8, 9, 50, len(weights) // 2, len(weights) - 1):
        (out / "model.safetensors").write_bytes(weights[:cut])
        _refused(out, "model.safetensors")
    (out / "model.safetensors").write_bytes(weights)
    for cut in (0, 1, len(meta) // 2, len(meta) - 2):
        (out / "meta.json").write_bytes(meta[:cut])
        _refused(out, "meta.json")
    (out / "meta.json").write_bytes(meta)
    assert load(str(out)).vocab.chars == VOCAB  # whole again: loads


def test_symbolic_link_tricks(tmp_path):
    _, out = _saved(tmp_path)
    weights = out / "model.safetensors"
    real = tmp_path / "real.safetensors"
    os.replace(weights, real)
    for target, needle in [
        ("/dev/zero", "not a regular file"),
        ("/dev/urandom", "not a regular file"),
        (str(tmp_path / "nowhere"), "missing"),
        (str(out), "not a regular file"),
        ("/etc/hostname", "safetensors"),
    ]:
        if weights.is_symlink() or weights.exists():
            weights.unlink()
        weights.symlink_to(target)
        _refused(out, "model.safetensors", needle)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    weights.unlink()
    weights.symlink_to(fifo)  # reading it would block forever
    _refused(out, "not a regular file")
    meta = out / "meta.json"
    os.replace(meta, tmp_path / "meta.json")
    meta.symlink_to("/dev/zero")  # reading it would never end
    _refused(out, "meta.json", "not a regular file")
    meta.unlink()
    meta.symlink_to(tmp_path / "meta.json")
    weights.unlink()
    weights.symlink_to(real)  # links to real files are fine (as in model caches)
    assert load(str(out)).vocab.chars == VOCAB
    link = tmp_path / "linked_model"
    link.symlink_to(out)
    assert load(str(link)).scheme == "abc"


def test_train_state_with_wrong_contents_is_refused_on_resume(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"X:1\nK:C\n{'abc|' * 3}\n" for _ in range(20)))
    cfg = {
        "corpus": str(corpus),
        "out": str(tmp_path / "run"),
        "hidden": 8,
        "layers": 1,
        "embed": 4,
        "batch_size": 2,
        "seq_len": 16,
        "max_steps": 4,
        "eval_every": 4,
        "threads": 1,
        "val_fraction": 0.2,
    }
    train(TrainConfig(**cfg))
    run = tmp_path / "run"
    from safetensors import safe_open
    from safetensors.torch import load as st_load

    good = (run / "train_state.safetensors").read_bytes()
    tensors = st_load(good)
    with safe_open(str(run / "train_state.safetensors"), "pt") as f:
        header = f.metadata()
    state = json.loads(header["state"])

    def write(new_state=None, more=None):
        (run / "train_state.safetensors").write_bytes(
            st_save({**tensors, **(more or {})}, metadata={**header, "state": json.dumps(new_state or state)})
        )

    def refused(needle):
        with pytest.raises(TrainError) as info:
            train(TrainConfig(**cfg, resume=True))
        assert needle in str(info.value) and "\n" not in str(info.value), str(info.value)

    for change, needle in [
        (lambda s: s["extra"].update(step="four"), "step"),
        (lambda s: s["extra"].pop("step"), "step"),
        (lambda s: s["extra"].update(lr_scale=None), "lr_scale"),
        (lambda s: s["extra"].update(data_position={"epoch": "x"}), "data_position"),
        (lambda s: s["extra"].update(data_position={"epoch": 0, "index": -5}), "data_position"),
        (lambda s: s["extra"].update(lr_scale="big"), "lr_scale"),
        (lambda s: s["extra"].update(best_val_bpc=[1]), "best_val_bpc"),
        (lambda s: s.update(optim_scalars={"x": {"step": 1}}), "train_state"),
        (lambda s: s.update(optim_scalars={"0": {"step": "evil"}}), "train_state"),
        (lambda s: s.update(param_groups=["no"]), "train_state"),
        (lambda s: s["param_groups"][0].update(lr="0.1"), "train_state"),
        (lambda s: s.update(extra=None), "train_state"),
    ]:
        broken = json.loads(json.dumps(state))
        change(broken)
        write(broken)
        refused(needle)
    # a tensor named so it cannot be parsed, an RNG state or hidden state of the wrong kind
    for more in (
        {"optim.notanumber.exp_avg": torch.zeros(1)},
        {"extra.rng_cpu": torch.zeros(3)},
        {"extra.state_h": torch.zeros(5, 5, 5)},
    ):
        write(more=more)
        refused("train_state")
    (run / "train_state.safetensors").write_text("{not: json}")
    refused("train_state.safetensors")
    (run / "train_state.safetensors").write_bytes(good)
    assert train(TrainConfig(**{**cfg, "max_steps": 6}, resume=True)).steps == 6
