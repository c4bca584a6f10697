"""Model folders: safetensors weights plus JSON, loaded without running any code.

A model is a folder of two files:

    model.safetensors   the CharLSTM's weights (float32)
    meta.json           format_version, model config, vocabulary, scheme,
                        hyper-parameters, metrics, corpus fingerprint, versions

and, while training or after it, the state --resume needs:

    train_state.safetensors  optimizer tensors, last weights, hidden state, RNG, and
                             (in its header) step, data position, best loss so far, ...
    train_state.json         a readable copy of that header's state (not read back)

The resume state is one file, so `kill -9` between two writes cannot leave
tensors and counters from different steps.

Nothing here calls torch.load or pickle: a pickle can run code when loaded, and
model files get shared.  Every problem with a model folder raises
`CheckpointError`, one line that names the file.
"""

from __future__ import annotations

import json
import os
import platform
import stat
import struct
from dataclasses import dataclass
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

import musicrnn
from encoders import UsageError, lookup, not_a_file
from musicrnn.atomic import write_bytes, write_text
from musicrnn.data import Vocab
from musicrnn.model import CharLSTM, ModelConfig

__all__ = [
    "CheckpointError",
    "FORMAT_VERSION",
    "Loaded",
    "bundled_models",
    "load",
    "load_train_state",
    "read_train_state_info",
    "resolve",
    "save",
    "save_train_state",
    "versions",
]

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
META = "meta.json"
TRAIN_STATE = "train_state.safetensors"
TRAIN_STATE_JSON = "train_state.json"

MAX_JSON_BYTES = 16 << 20  # meta.json / train_state.json
MAX_PARAMS = 500_000_000  # 2 GB of float32: far beyond any char-LSTM worth loading
MAX_HEADER_BYTES = 16 << 20  # a safetensors header (JSON) larger than this is not ours

BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")

_PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")


class CheckpointError(UsageError):
    """A model folder that cannot be loaded; the message is one line naming the file."""


def versions() -> dict[str, str]:
    return {"python": platform.python_version(), "torch": torch.__version__, "musicrnn": musicrnn.__version__}


# --------------------------------------------------------------------------- save


def save(out_dir: str | os.PathLike, model: CharLSTM, meta: dict[str, Any]) -> None:
    """Write ``model.safetensors`` and ``meta.json`` into `out_dir` (each atomically).

    `meta` must hold ``vocab`` (the vocabulary's characters) and ``scheme``;
    ``format_version``, ``model`` (the config) and ``versions`` are filled in."""
    out = os.fspath(out_dir)
    meta = dict(meta)
    meta["format_version"] = FORMAT_VERSION
    meta["model"] = model.config.to_dict()
    meta.setdefault("scheme_options", {})
    meta.setdefault("versions", versions())
    vocab = meta.get("vocab")
    if not isinstance(vocab, str) or len(vocab) != model.config.vocab_size:
        raise ValueError(f"meta['vocab'] must be a string of {model.config.vocab_size} characters")
    if not isinstance(meta.get("scheme"), str):
        raise ValueError("meta['scheme'] must be a string such as 'abc'")
    tensors = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    os.makedirs(out, exist_ok=True)
    write_bytes(os.path.join(out, WEIGHTS), st_save(tensors, metadata={"format": "pt"}))
    # meta.json last: a folder with a new meta.json has the weights it describes.
    write_text(os.path.join(out, META), json.dumps(meta, indent=1, ensure_ascii=False, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- load


@dataclass
class Loaded:
    model: CharLSTM
    vocab: Vocab
    meta: dict[str, Any]
    scheme: str
    path: str

    @property
    def config(self) -> ModelConfig:
        return self.model.config


def bundled_models() -> list[str]:
    """Names of the models shipped in the package (``musicrnn/models/<name>/``)."""
    if not os.path.isdir(BUNDLED_DIR):
        return []
    return sorted(
        name
        for name in os.listdir(BUNDLED_DIR)
        if os.path.isfile(os.path.join(BUNDLED_DIR, name, META))
        and os.path.isfile(os.path.join(BUNDLED_DIR, name, WEIGHTS))
    )


def resolve(path_or_name: str | os.PathLike) -> str:
    """The model folder for a path (folder, or a file in it) or a bundled model's name.  A bare
    name (no slash) is the bundled model unless a folder of that name holds model files;
    ``./folk`` or any path with a slash is always a folder."""
    p = os.fspath(path_or_name)
    bare = os.sep not in p and "/" not in p and p not in ("", ".", "..")
    if (
        bare
        and os.path.isdir(os.path.join(BUNDLED_DIR, p))
        and not any(os.path.lexists(os.path.join(p, f)) for f in (META, WEIGHTS))
    ):
        # a bare name is the bundled model unless a folder of that name holds model files
        # (a user's own tabs/ or midi/ folder of tunes must not hide the bundled model)
        return os.path.join(BUNDLED_DIR, p)
    if os.path.isdir(p):
        return p
    if os.path.isfile(p):
        base = os.path.basename(p)
        if base in (WEIGHTS, META):
            return os.path.dirname(p) or "."
        _reject_non_model_file(p)
    if os.sep not in p and "/" not in p and p not in ("", ".", ".."):
        bundled = os.path.join(BUNDLED_DIR, p)
        if os.path.isdir(bundled):
            return bundled
        names = bundled_models()
        listing = ", ".join(names) if names else "none are installed"
        if os.path.lexists(p):
            raise CheckpointError(f"{p}: not a model folder but {not_a_file(p)} (bundled models: {listing})")
        raise CheckpointError(f"{p}: no such model folder, and not a bundled model (bundled models: {listing})")
    if os.path.lexists(p):
        raise CheckpointError(f"{p}: not a model folder but {not_a_file(p)}")
    raise CheckpointError(f"{p}: no such model folder")


def _reject_non_model_file(path: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:1] == b"\x80" or head[:2] == b"PK" or path.lower().endswith(_PICKLE_SUFFIXES):
        raise CheckpointError(
            f"{path}: looks like a pickle/torch.save file; musicrnn loads only a folder of "
            f"{WEIGHTS} + {META} (pickles can run code when loaded)"
        )
    raise CheckpointError(f"{path}: not a model; give the folder holding {WEIGHTS} and {META}")


def _read_regular(path: str, max_bytes: int, what: str = "this file", read: bool = True) -> bytes:
    """A regular file's bytes, at most `max_bytes` of them: a symbolic link to a FIFO or a
    device (/dev/zero) would block or never end, so only regular files are read.
    With read=False only the checks are made."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"{path}: not a regular file (a FIFO, device or folder); not read")
    if st.st_size > max_bytes:
        raise CheckpointError(f"{path}: {st.st_size} bytes is larger than {what} allows ({max_bytes})")
    if not read:
        return b""
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) > max_bytes:
        raise CheckpointError(f"{path}: larger than {what} allows ({max_bytes})")
    return data


def _read_json(path: str) -> Any:
    data = _read_regular(path, MAX_JSON_BYTES)
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError, and ints of 4300+ digits
        raise CheckpointError(f"{path}: not valid JSON ({str(e).splitlines()[0][:200]})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: not valid JSON (nested too deeply)") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _read_safetensors(path: str, max_bytes: int) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and header metadata of a safetensors file, after checking its size and header."""
    data = _read_regular(path, max_bytes, "its config")
    if len(data) < 8:
        raise CheckpointError(f"{path}: too short to be a safetensors file")
    (header_len,) = struct.unpack("<Q", data[:8])
    # A safetensors file is an 8-byte header length and a JSON header ("{"); its first
    # byte may well be 0x80 (a header of 128 + 256k bytes), so test that first.
    looks_safetensors = header_len <= min(MAX_HEADER_BYTES, len(data) - 8) and data[8:9] == b"{"
    if not looks_safetensors and (data[:1] == b"\x80" or data[:2] == b"PK"):
        raise CheckpointError(f"{path}: is a pickle/torch.save file, not safetensors (pickles can run code)")
    if header_len > min(MAX_HEADER_BYTES, len(data) - 8):
        raise CheckpointError(f"{path}: not a safetensors file (bad header length)")
    try:
        header = json.loads(data[8 : 8 + header_len])
        tensors = st_load(data)
    except (SafetensorError, ValueError, UnicodeDecodeError, RecursionError) as e:
        why = (str(e) or type(e).__name__).splitlines()[0][:200]
        raise CheckpointError(f"{path}: not a valid safetensors file ({why})") from None
    metadata = header.get("__metadata__") or {} if isinstance(header, dict) else {}
    return tensors, metadata


_FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}


def _read_header(path: str, max_bytes: int) -> dict[str, Any]:
    """The JSON header of a safetensors file (the 8-byte length, then at most
    MAX_HEADER_BYTES), read without reading any tensor data."""
    _read_regular(path, max_bytes, "its config", read=False)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            first = fh.read(9)
            if len(first) < 8:
                raise CheckpointError(f"{path}: too short to be a safetensors file")
            (n,) = struct.unpack("<Q", first[:8])
            fits = n <= min(MAX_HEADER_BYTES, size - 8)
            if not (fits and first[8:9] == b"{") and (first[:1] == b"\x80" or first[:2] == b"PK"):
                raise CheckpointError(f"{path}: is a pickle/torch.save file, not safetensors (pickles can run code)")
            if not fits:
                raise CheckpointError(f"{path}: not a safetensors file (bad header length)")
            raw = (first[8:] + fh.read(max(0, n - 1)))[:n]
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise CheckpointError(f"{path}: not a valid safetensors file (bad header)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: not a valid safetensors file (its header is not a JSON object)")
    return header


def _check_header(path: str, header: dict[str, Any], config: ModelConfig) -> None:
    """The tensors a safetensors header lists against those `config` needs: names, shapes, float dtypes."""
    listed = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("shape"), list):
            raise CheckpointError(f"{path}: not a valid safetensors file (tensor {name} has no shape)")
        listed[name] = (entry["shape"], str(entry.get("dtype"))[:20], entry.get("dtype") in _FLOAT_DTYPES)
    _check_tensors(path, listed, config)


def _check_tensors(path: str, listed: dict[str, tuple[Any, str, bool]], config: ModelConfig) -> None:
    """Tensors (name -> (shape, dtype name, is a float type)) against those `config` needs."""
    expected = config.tensor_shapes()
    missing = sorted(set(expected) - set(listed))
    extra = sorted(set(listed) - set(expected))
    if missing or extra:
        what = f"missing tensors {missing[:3]}" if missing else f"unexpected tensors {extra[:3]}"
        raise CheckpointError(f"{path}: does not match the config in {META}: {what}")
    for name, shape in expected.items():
        got, dtype, is_float = listed[name]
        if tuple(got) != shape:
            raise CheckpointError(
                f"{path}: tensor {name} has shape {list(got)!s:.80}, the config in {META} needs {list(shape)}"
            )
        if not is_float:
            raise CheckpointError(f"{path}: tensor {name} has dtype {dtype!r}, expected a float type")


def _check_meta(path: str, meta: Any) -> tuple[ModelConfig, Vocab, str]:
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: must hold a JSON object, not {type(meta).__name__}")
    fv = meta.get("format_version")
    if not isinstance(fv, int) or isinstance(fv, bool):
        raise CheckpointError(f"{path}: format_version must be an integer, got {fv!r}")
    if fv > FORMAT_VERSION or fv < 1:
        raise CheckpointError(
            f"{path}: format_version {fv} is not supported (this musicrnn reads {FORMAT_VERSION}); upgrade musicrnn"
        )
    try:
        config = ModelConfig.from_dict(meta.get("model"))
    except ValueError as e:
        raise CheckpointError(f"{path}: {e}") from None
    if config.num_params() > MAX_PARAMS:
        raise CheckpointError(
            f"{path}: model of {config.num_params():,} parameters is too large (at most {MAX_PARAMS:,})"
        )
    chars = meta.get("vocab")
    if not isinstance(chars, str):
        raise CheckpointError(f"{path}: vocab must be a string of characters, got {type(chars).__name__}")
    try:
        vocab = Vocab(chars)
    except ValueError as e:
        raise CheckpointError(f"{path}: vocab: {e}") from None
    if len(vocab) != config.vocab_size:
        raise CheckpointError(f"{path}: vocab has {len(vocab)} characters but model.vocab_size is {config.vocab_size}")
    scheme = meta.get("scheme")
    if not isinstance(scheme, str) or not scheme:
        raise CheckpointError(f"{path}: scheme must be a non-empty string such as 'abc', got {scheme!r}")
    if config.positions:
        known = lookup(scheme)
        told = known.positions if known is not None else 0
        if told != config.positions:
            raise CheckpointError(
                f"{path}: the model reads {config.positions} positions in a piece, but the {scheme} scheme's "
                f"grammar tells {told}"
            )
    for key in ("scheme_options", "metrics", "hyperparameters", "corpus", "versions"):
        if key in meta and not isinstance(meta[key], dict):
            raise CheckpointError(f"{path}: {key} must be a JSON object, got {type(meta[key]).__name__}")
    return config, vocab, scheme


def load(path_or_name: str | os.PathLike, device: str | torch.device = "cpu") -> Loaded:
    """Load a model folder (or a bundled model by name) for sampling: eval mode, on `device`."""
    folder = resolve(path_or_name)
    meta_path = os.path.join(folder, META)
    weights_path = os.path.join(folder, WEIGHTS)
    if not os.path.exists(weights_path):
        pickles = [f for f in sorted(os.listdir(folder)) if f.lower().endswith(_PICKLE_SUFFIXES)]
        if pickles:
            raise CheckpointError(
                f"{os.path.join(folder, pickles[0])}: a pickle/torch.save file; musicrnn loads only "
                f"{WEIGHTS} + {META} (pickles can run code when loaded)"
            )
        raise CheckpointError(f"{weights_path}: missing (a model folder holds {WEIGHTS} and {META})")
    meta = _read_json(meta_path)
    config, vocab, scheme = _check_meta(meta_path, meta)
    max_bytes = 4 * config.num_params() + (1 << 20)  # float32 weights plus room for the header
    # The weights file's header must describe the tensors the config needs before the
    # model (which can be gigabytes for a config that merely claims to be big) is built.
    _check_header(weights_path, _read_header(weights_path, max_bytes), config)
    tensors, _ = _read_safetensors(weights_path, max_bytes)
    # again on the tensors read (the file may have changed since its header was checked)
    _check_tensors(
        weights_path, {k: (t.shape, str(t.dtype), t.is_floating_point()) for k, t in tensors.items()}, config
    )
    model = CharLSTM(config)
    for name, t in tensors.items():
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{weights_path}: tensor {name} holds NaN or infinite values")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    model.to(device).eval()
    return Loaded(model=model, vocab=vocab, meta=meta, scheme=scheme, path=folder)


# --------------------------------------------------------------------------- train state (--resume)


def save_train_state(
    out_dir: str | os.PathLike,
    optimizer: torch.optim.Optimizer,
    extra: dict[str, Any],
    model: torch.nn.Module | None = None,
) -> None:
    """Everything --resume needs besides the config, in two files.

    Tensors (optimizer moments, the model's latest weights when `model` is
    given, and any tensor values of `extra`, e.g. RNG states or the carried
    hidden state) go to ``train_state.safetensors``; the rest of `extra` and the
    optimizer's scalars go, as JSON, into the same file's header metadata, so the
    state is written in one atomic rename.  ``train_state.json`` gets a readable
    copy of that JSON."""
    out = os.fspath(out_dir)
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    opt_scalars: dict[str, dict[str, Any]] = {}
    for pid, pstate in sd["state"].items():
        for key, value in pstate.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{pid}.{key}"] = value
            else:
                opt_scalars.setdefault(str(pid), {})[key] = value
    groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()} for g in sd["param_groups"]]
    json_extra: dict[str, Any] = {}
    for key, value in extra.items():
        if isinstance(value, torch.Tensor):
            tensors[f"extra.{key}"] = value
        else:
            json_extra[key] = value
    if model is not None:
        for key, value in model.state_dict().items():
            tensors[f"model.{key}"] = value
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    token = os.urandom(8).hex()
    state = {
        "token": token,
        "param_groups": groups,
        "optim_scalars": opt_scalars,
        "optim_tensor_keys": sorted(k for k in tensors if k.startswith("optim.")),
        "extra": json_extra,
    }
    os.makedirs(out, exist_ok=True)
    write_bytes(
        os.path.join(out, TRAIN_STATE),
        st_save(tensors, metadata={"token": token, "state": json.dumps(state, ensure_ascii=False)}),
    )
    write_text(os.path.join(out, TRAIN_STATE_JSON), json.dumps(state, indent=1, ensure_ascii=False) + "\n")


def has_train_state(out_dir: str | os.PathLike) -> bool:
    return os.path.isfile(os.path.join(os.fspath(out_dir), TRAIN_STATE))


def _read_state(out: str, metadata: dict[str, str] | None = None) -> tuple[str, Any]:
    """(where it was read, the JSON state): from train_state.safetensors' header, or for a
    run saved by an older musicrnn from train_state.json (its token must match)."""
    st_path = os.path.join(out, TRAIN_STATE)
    if metadata is None:
        metadata = _read_safetensors_metadata(st_path)
    if "state" in metadata:
        try:
            return st_path, json.loads(metadata["state"], parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise CheckpointError(f"{st_path}: its state is not valid JSON") from None
    json_path = os.path.join(out, TRAIN_STATE_JSON)
    state = _read_json(json_path)
    if not isinstance(state, dict) or metadata.get("token") != state.get("token"):
        raise CheckpointError(f"{st_path}: does not belong to {TRAIN_STATE_JSON} beside it (interrupted write?)")
    return json_path, state


def _read_safetensors_metadata(path: str) -> dict[str, str]:
    """The header metadata of a safetensors file, without reading its tensors."""
    head = _read_head(path)
    n = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else None
    if n is None or n > len(head) - 8:
        raise CheckpointError(f"{path}: not a safetensors file (bad header length)")
    try:
        header = json.loads(head[8 : 8 + n])
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise CheckpointError(f"{path}: not a valid safetensors file (bad header)") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        return {}
    return meta


def _read_head(path: str) -> bytes:
    """The first 8 bytes of a safetensors file and its header (a regular file's only)."""
    _read_regular(path, 8 * MAX_PARAMS + MAX_HEADER_BYTES, "a train state", read=False)
    with open(path, "rb") as fh:
        first = fh.read(8)
        if len(first) < 8:
            return first
        (n,) = struct.unpack("<Q", first)
        return first + fh.read(min(n, MAX_HEADER_BYTES))


def read_train_state_info(out_dir: str | os.PathLike) -> dict[str, Any]:
    """The JSON part of `extra` saved by save_train_state (no tensors, nothing restored)."""
    where, state = _read_state(os.fspath(out_dir))
    if not isinstance(state, dict) or not isinstance(state.get("extra"), dict):
        raise CheckpointError(f"{where}: not a musicrnn train state")
    return dict(state["extra"])


def load_train_state(
    out_dir: str | os.PathLike, optimizer: torch.optim.Optimizer, model: torch.nn.Module | None = None
) -> dict[str, Any]:
    """Restore the optimizer (and `model`'s latest weights, when saved); return `extra`
    with its tensors back in place."""
    out = os.fspath(out_dir)
    st_path = os.path.join(out, TRAIN_STATE)
    tensors, metadata = _read_safetensors(st_path, 8 * MAX_PARAMS + MAX_HEADER_BYTES)
    json_path, state = _read_state(out, metadata)
    if (
        not isinstance(state, dict)
        or not isinstance(state.get("extra"), dict)
        or not isinstance(state.get("param_groups"), list)
        or not isinstance(state.get("optim_scalars"), dict)
    ):
        raise CheckpointError(f"{json_path}: not a musicrnn train state")

    opt_state: dict[int, dict[str, Any]] = {}
    try:
        for name, t in tensors.items():
            if name.startswith("optim."):
                _, pid, key = name.split(".", 2)
                opt_state.setdefault(int(pid), {})[key] = t
        for pid, scalars in state["optim_scalars"].items():
            if not isinstance(scalars, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in scalars.values()
            ):
                raise ValueError(f"optimizer scalars of parameter {pid} must be numbers")
            opt_state.setdefault(int(pid), {}).update(scalars)
        if not all(isinstance(g, dict) for g in state["param_groups"]):
            raise ValueError("param_groups must be JSON objects")
        groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in state["param_groups"]]
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{json_path}: not a musicrnn train state ({e})") from None
    try:
        optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
        for group in optimizer.param_groups:
            for key in ("lr", "weight_decay", "eps"):
                if key in group and not (isinstance(group[key], (int, float)) and not isinstance(group[key], bool)):
                    raise TypeError(f"{key} must be a number, got {group[key]!r}")
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise CheckpointError(
            f"{st_path}: optimizer state does not fit this model ({str(e).splitlines()[0]})"
        ) from None

    if model is not None:
        weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            model.load_state_dict(weights)
        except RuntimeError as e:
            raise CheckpointError(f"{st_path}: weights do not fit this model ({str(e).splitlines()[0]})") from None

    extra = dict(state["extra"])
    for name, t in tensors.items():
        if name.startswith("extra."):
            extra[name[len("extra.") :]] = t
    return extra


# --------------------------------------------------------------------------- bundling


def export(src: str | os.PathLike, dst: str | os.PathLike, half: bool = True) -> str:
    """Copy a trained model folder's weights and metadata (not its training state) to `dst`,
    as float16 when `half` (halves the file; `load` reads it back as float32). Used to ship
    the bundled models as package data."""
    loaded = load(src)
    state = {k: (v.half() if half else v.float()).contiguous() for k, v in loaded.model.state_dict().items()}
    meta = dict(loaded.meta)
    meta["weights_dtype"] = "float16" if half else "float32"
    os.makedirs(dst, exist_ok=True)
    write_bytes(os.path.join(dst, WEIGHTS), st_save(state))
    write_text(os.path.join(dst, META), json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return os.fspath(dst)
