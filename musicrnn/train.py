"""Training: char-rnn done carefully, readable top to bottom.

    corpus stream --prepare--> train.bin / val.bin (whole pieces held out), and in
          the same streaming pass the scheme's corpus_options (meta.json's scheme_options)
    train tokens --Batches--> [B, T] windows of B contiguous lanes
    loop: forward from the carried (detached) hidden state, cross-entropy,
          backward, clip, AdamW step with warmup + cosine LR
          every eval_every steps: bits/char on the held-out pieces;
          better -> save the model folder; no better for `patience` evals -> stop
    NaN/inf loss or gradient, or a loss exploding past 3x its recent mean: the
          step is skipped, the LR halved, and it is reported (event "nan")
    Ctrl-C: save everything --resume needs and return (result.interrupted)

In code: a `Trainer` runs one session (one call of `train`) of a run; `TrainState` is
what the run carries from step to step, all that --resume restores, and saves, loads
and checks itself (train_state.safetensors, see checkpoint.py); `RunKey` is what a
resumed run must share with the saved one.

Under torchrun (see distributed.py) every rank runs this same loop on its own
lanes of the corpus, the model wrapped in DistributedDataParallel; the global
batch is --batch-size lanes, so N processes compute the one-process step.
Rank 0 alone prepares the token files, evaluates, and writes checkpoints and
the log.

The out folder ends up holding the best model (model.safetensors + meta.json,
see checkpoint.py), the latest training state (train_state.*) and
train_log.jsonl, one JSON object per progress report or evaluation.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import torch
import torch.nn.functional as F

import encoders
from encoders import UsageError
from musicrnn import checkpoint
from musicrnn.data import (
    PIECE_START,
    Batches,
    TokenData,
    eval_windows,
    iter_stream_pieces,
    piece_positions,
    prepare,
)
from musicrnn.distributed import Cluster
from musicrnn.model import CharLSTM, ModelConfig
from musicrnn.overwrite import run_lock

__all__ = ["OutputExistsError", "TrainConfig", "TrainError", "TrainResult", "pick_device", "summary_line", "train"]

LOG = "train_log.jsonl"
LN2 = math.log(2.0)


class TrainError(UsageError):
    """A training run that cannot start or go on; the message says why and what to do."""


class OutputExistsError(TrainError, FileExistsError):
    """The out folder already holds a model, and neither resume nor force was asked for."""


@dataclass
class TrainConfig:
    corpus: str
    """Path of the text stream (pieces separated by a blank line)."""
    out: str
    """Model folder to write."""
    scheme: str = "abc"
    scheme_options: dict[str, Any] | None = None
    """What the model keeps of its corpus for the scheme (e.g. the meters of ABC tunes, the
    pitches of MIDI pieces); None: the scheme's corpus_options of the corpus, read while
    the corpus is prepared."""
    # model
    hidden: int = 512
    layers: int = 2
    embed: int = 64
    dropout: float = 0.1
    bar_positions: bool = False
    """The model reads each character's position in its piece beside it (the scheme's
    `positions`, told by its grammar: ABC's bar of the strain and of the tune)."""
    positions_only: bool = False
    """Train the position embedding alone, every other weight as it starts (fine-tuning a
    model to read positions: it learns where tunes end without forgetting the tunes)."""
    # optimization
    batch_size: int = 64
    seq_len: int = 128
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    """The cosine schedule ends at lr * min_lr_ratio."""
    warmup_steps: int = 100
    weight_decay: float = 0.01
    """AdamW decay, on weight matrices only (not biases)."""
    grad_clip: float = 1.0
    max_steps: int = 2000
    max_minutes: float | None = None
    """Wall-clock budget for the whole run (resumed sessions included); the LR
    schedule follows whichever of steps or time is further along."""
    # evaluation
    eval_every: int = 200
    eval_batches: int | None = 50
    """Validation windows per evaluation (None: all of the validation pieces)."""
    early_stop_patience: int | None = 5
    """Stop after this many evaluations without a better val loss (None: never)."""
    val_fraction: float = 0.05
    transpose: int = 0
    """Also train on each training piece in this many other keys (schemes that can
    transpose: abc); held-out pieces stay as written."""
    split_seed: int = 1234
    """Seed of the train/validation split of pieces (kept apart from random_seed so
    runs with different seeds are compared on the same held-out pieces)."""
    # running
    device: str = "auto"
    random_seed: int = 1234
    resume: bool = False
    force: bool = False
    threads: int | None = None
    """torch.set_num_threads; None: all cores."""
    progress_every: int = 10
    init_from: str | None = None
    """Fine-tune: start from this model (a folder or a bundled model's name) instead of random
    weights; its sizes are the model's, characters it lacks extend its vocabulary."""
    sample_every: int | None = None
    """Every N steps, sample a piece from the model as it is and report it (event "sample")."""
    sample_length: int = 400
    keep_evals: bool = False
    """Also keep the model of every evaluation in out/checkpoints/step-N (to choose one by its
    music, not its held-out loss alone)."""

    def validate(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise TrainError(f"invalid training setting: {what}")

        for name in ("hidden", "layers", "embed", "batch_size", "seq_len", "max_steps", "eval_every", "progress_every"):
            v = getattr(self, name)
            need(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                f"{name} must be a positive integer, got {v!r}",
            )
        need(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")
        need(self.lr > 0 and math.isfinite(self.lr), f"lr must be positive, got {self.lr}")
        need(0.0 <= self.min_lr_ratio <= 1.0, f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        need(self.warmup_steps >= 0, f"warmup_steps must be >= 0, got {self.warmup_steps}")
        need(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        need(self.grad_clip > 0, f"grad_clip must be positive, got {self.grad_clip}")
        need(self.max_minutes is None or self.max_minutes > 0, f"max_minutes must be positive, got {self.max_minutes}")
        need(self.eval_batches is None or self.eval_batches >= 1, f"eval_batches must be >= 1, got {self.eval_batches}")
        need(
            self.early_stop_patience is None or self.early_stop_patience >= 1,
            f"early_stop_patience must be >= 1, got {self.early_stop_patience}",
        )
        need(0.0 < self.val_fraction < 1.0, f"val_fraction must be in (0, 1), got {self.val_fraction}")
        need(self.threads is None or self.threads >= 1, f"threads must be >= 1, got {self.threads}")
        need(self.sample_every is None or self.sample_every >= 1, f"sample_every must be >= 1, got {self.sample_every}")
        need(
            self.scheme_options is None or isinstance(self.scheme_options, dict),
            "scheme_options must be a dict (or None: from the corpus)",
        )
        need(not self.positions_only or self.bar_positions, "positions_only needs bar_positions")
        need(
            not self.bar_positions or encoders.get(self.scheme).positions > 0,
            f"bar_positions: the {self.scheme} scheme's grammar tells no positions",
        )
        need(
            isinstance(self.transpose, int) and 0 <= self.transpose <= 11,
            f"transpose must be 0..11 (other keys per piece), got {self.transpose!r}",
        )

    def hyperparameters(self) -> dict[str, Any]:
        """The settings that shape the model and its training (no paths or run switches)."""
        skip = {
            "corpus",
            "out",
            "scheme",
            "scheme_options",
            "resume",
            "force",
            "threads",
            "device",
            "progress_every",
            "sample_every",
            "sample_length",
            "keep_evals",
        }
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


@dataclass
class TrainResult:
    best_val_bpc: float | None
    steps: int
    seconds: float
    """Wall-clock seconds of this call (evaluations and saving included)."""
    chars_per_s: float
    """Training characters per second of pure training steps in this call."""
    interrupted: bool
    out: str
    stop_reason: str = ""
    """max_steps, time, early_stop or interrupted."""
    nan_skips: int = 0


def summary_line(result: TrainResult) -> str:
    best = "n/a" if result.best_val_bpc is None else f"{result.best_val_bpc:.3f}"
    head = "interrupted" if result.interrupted else "done"
    return (
        f"{head}: steps={result.steps} best_val_bpc={best} chars/s={result.chars_per_s:.0f} "
        f"time={result.seconds:.0f}s out={result.out}"
    )


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda if present, else mps, else cpu; other names are checked to exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TrainError(f"unknown device {name!r}; use auto, cpu, cuda or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainError("device cuda asked for, but this torch sees no CUDA GPU; use --device auto or cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise TrainError("device mps asked for, but it is not available here; use --device auto or cpu")
    return device


def lr_at(cfg: TrainConfig, step: int, seconds: float) -> float:
    """Linear warmup, then cosine from lr to lr*min_lr_ratio over the steps (or the time budget)."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    frac = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
    if cfg.max_minutes:
        frac = max(frac, seconds / (cfg.max_minutes * 60.0))
    frac = min(1.0, frac)
    min_lr = cfg.lr * cfg.min_lr_ratio
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * frac)) * (cfg.lr - min_lr)


def _piece_loss(logits: torch.Tensor, y: torch.Tensor, scored: int, world: int = 1) -> torch.Tensor:
    """This rank's share of the batch's mean cross-entropy over the characters of pieces
    (targets -1, past a piece's end, are not scored): its sum over `scored`, the whole
    batch's count, times `world`, so DDP's average over the ranks is the batch's mean."""
    total = F.cross_entropy(
        logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1), ignore_index=-1, reduction="sum"
    )
    return total * world / max(1, scored)


@torch.no_grad()
def evaluate(
    model: CharLSTM, val: Batches, max_batches: int | None, device: torch.device, autocast: Callable[[], Any]
) -> float:
    """Bits per character on validation batches (at most `max_batches`), each batch of pieces
    read from a zero state, the hidden state carried across a long piece's windows."""
    was_training = model.training
    model.eval()
    val.set_position({"epoch": 0, "index": 0})
    n = len(val) if max_batches is None else min(len(val), max_batches)
    total = torch.zeros((), device=device, dtype=torch.float64)
    count = 0
    state = None
    for _ in range(n):
        b = val.next()
        if b.reset:
            state = None
        x, y = b.x.to(device), b.y.to(device)
        where = b.where.to(device) if b.where is not None else None
        with autocast():
            logits, state = model(x, state, where)
        total += F.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1), ignore_index=-1, reduction="sum"
        )
        count += int((y >= 0).sum())
    model.train(was_training)
    return total.item() / max(1, count) / LN2


def _prepare_out(cfg: TrainConfig, write: bool = True) -> None:
    """Refuse to replace a model; with force, clear the old run's state and log when `write`
    (every rank checks first with write=False; rank 0 clears once the corpus is checked and
    it holds the folder's lock)."""
    out = cfg.out
    has_model = any(os.path.exists(os.path.join(out, f)) for f in (checkpoint.WEIGHTS, checkpoint.META))
    has_state = checkpoint.has_train_state(out)
    if cfg.resume:
        if not has_state:
            raise TrainError(f"{out}: nothing to resume (no {checkpoint.TRAIN_STATE}); train without resume first")
        return
    if (has_model or has_state) and not cfg.force:
        raise OutputExistsError(
            f"{out} already holds a model; resume it (--resume) or replace it (--force), or choose another --out"
        )
    if os.path.exists(out) and not os.path.isdir(out):
        raise TrainError(f"{out}: exists and is not a folder")
    if not write:
        return
    os.makedirs(out, exist_ok=True)
    for name in (checkpoint.TRAIN_STATE, checkpoint.TRAIN_STATE_JSON, LOG):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(out, name))
    kept = os.path.join(out, KEPT)
    if os.path.isdir(kept) and not os.path.islink(kept):  # the old run's kept models are not this run's
        shutil.rmtree(kept)


def _param_groups(model: CharLSTM, weight_decay: float) -> list[dict[str, Any]]:
    trained = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trained if p.dim() >= 2]
    no_decay = [p for p in trained if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def train(cfg: TrainConfig, on_progress: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    wall_start = time.perf_counter()
    cfg.validate()
    device = pick_device(cfg.device)
    cluster = Cluster.from_env(device)
    try:
        with contextlib.ExitStack() as held:  # the lock on cfg.out, taken in _train once all is checked
            result = _train(cfg, on_progress, wall_start, device, cluster, held)
            # Leave the group together: a rank that closes its connections while another still
            # finishes its last collective can make gloo abort that one (seen under heavy load).
            cluster.barrier()
        return result
    finally:
        cluster.close()


def _train(
    cfg: TrainConfig,
    on_progress: Callable[[dict[str, Any]], None] | None,
    wall_start: float,
    device: torch.device,
    cluster: Cluster,
    held: contextlib.ExitStack,
) -> TrainResult:
    device = cluster.device or device
    _prepare_out(cfg, write=False)  # checks only: nothing in --out changes before the corpus is checked too
    torch.set_num_threads(cfg.threads or max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    base = _base_model(cfg)
    data = _prepare_data(cfg, cluster, base)
    batches, val_batches = _batches(cfg, data, cluster, device)

    # All checked: now take --out (a lock with our pid: two runs never share a folder), and
    # with --force clear the old run's state and log.
    def take_out() -> None:
        held.enter_context(run_lock(cfg.out))
        _prepare_out(cfg)

    _main_first(cluster, take_out, f"{cfg.out}: rank 0 could not take the folder")
    trainer = Trainer(cfg, data, batches, val_batches, device, cluster, on_progress)
    if base is not None:
        trainer.start_from(base)
    trainer.read_positions()
    if cfg.resume:
        trainer.resume()
    return trainer.run(wall_start)


def _main_first(cluster: Cluster, work: Callable[[], Any], failed: str) -> Any:
    """Rank 0 does `work` (returning what it returns) while the other ranks wait; they
    go on (returning None) once it succeeded, and raise TrainError(`failed`) if it raised."""
    if cluster.is_main:
        try:
            result = work()
        except BaseException:
            cluster.share(0.0)
            raise
        cluster.share(1.0)
        return result
    if not cluster.share(None):
        raise TrainError(failed)
    return None


def _prepare_data(cfg: TrainConfig, cluster: Cluster, base: checkpoint.Loaded | None = None) -> TokenData:
    """The token files, whole pieces held out for validation (rank 0 writes them, the other
    ranks then read them), and on rank 0 the scheme's options of the corpus unless
    cfg.scheme_options gives them.  Fine-tuning (`base`): the base model's vocabulary first,
    and a corpus too small to learn from is refused."""
    augment, augment_name = _augmenter(cfg)
    base_vocab = base.vocab.chars if base is not None else ""
    scheme = encoders.get(cfg.scheme)
    home = scheme.at_home(iter_stream_pieces(cfg.corpus), base.meta.get("scheme_options")) if base else None
    move, home_option = home if home is not None else (None, None)

    def make(options: Callable[[Iterable[str]], dict[str, Any]] | None) -> TokenData:
        return prepare(
            cfg.corpus, cfg.val_fraction, cfg.split_seed, augment, augment_name, options, base_vocab, move,
            "home" if move else "",
        )  # fmt: skip

    data = _main_first(
        cluster, lambda: make(_options_reader(cfg)), f"{cfg.corpus}: rank 0 could not prepare the corpus"
    )
    if data is None:
        data = make(None)  # only rank 0 writes the model folder's meta
    elif home_option is not None and data.scheme_options is not None:
        data.scheme_options["home"] = home_option  # the keys of the composer's tunes, to send its tunes to
    if len(data.val) < 2:
        raise TrainError(
            f"{cfg.corpus}: needs at least 2 pieces (one is held out for validation), found {data.meta['pieces']}"
        )
    if base is not None and data.meta["pieces"] < MIN_FINE_TUNE_PIECES:
        raise TrainError(
            f"{cfg.corpus}: {data.meta['pieces']} pieces are too few to learn a style from; fine-tuning needs "
            f"at least {MIN_FINE_TUNE_PIECES} (some are held out to tell when it stops getting better)"
        )
    return data


MIN_FINE_TUNE_PIECES = 20
"""train --init-from: fewer pieces than this are refused (too few to learn a style and hold
some out to measure it)."""


def _base_model(cfg: TrainConfig) -> checkpoint.Loaded | None:
    """The model `cfg.init_from` names (None without one), checked to write the corpus's
    scheme; the run takes its sizes."""
    if not cfg.init_from:
        return None
    base = checkpoint.load(cfg.init_from, device="cpu")
    if base.scheme != cfg.scheme:
        raise TrainError(
            f"--init-from {cfg.init_from}: the model writes the {base.scheme} scheme, the corpus is {cfg.scheme}"
        )
    c = base.config
    cfg.hidden, cfg.layers, cfg.embed = c.hidden, c.layers, c.embed
    cfg.bar_positions = cfg.bar_positions or bool(c.positions)
    return base


def merged_options(base: dict[str, Any], corpus: dict[str, Any]) -> dict[str, Any]:
    """A fine-tuned model's scheme options: what its base knew and what its corpus has
    (lists joined, sorted; for any other value the corpus's)."""
    merged = dict(base)
    for name, value in corpus.items():
        old = merged.get(name)
        if isinstance(value, list) and isinstance(old, list):
            merged[name] = (
                sorted(set(map(str, old)) | set(map(str, value)))
                if all(isinstance(v, str) for v in old + value)
                else sorted(set(old) | set(value))
            )
        else:
            merged[name] = value
    return merged


def _batches(cfg: TrainConfig, data: TokenData, cluster: Cluster, device: torch.device) -> tuple[Batches, Batches]:
    """This rank's training batches and the validation batches."""
    newline = int(data.vocab.encode(PIECE_START)[0])
    try:
        batches = Batches(
            data.train,
            cfg.batch_size,
            cfg.seq_len,
            newline,
            seed=cfg.random_seed,
            rank=cluster.rank,
            world=cluster.world,
            pin_memory=device.type == "cuda",
        )
    except ValueError as e:
        raise TrainError(f"{cfg.corpus}: {e}") from None
    val_batches = eval_windows(data.val, cfg.batch_size, cfg.seq_len, newline)
    assert val_batches is not None
    return batches, val_batches


def _augmenter(cfg: TrainConfig) -> tuple[Callable[[str], list[str]] | None, str]:
    """The scheme's transposer for `cfg.transpose` other keys (None without one), and its name."""
    if not cfg.transpose:
        return None, ""
    augment = encoders.get(cfg.scheme).augmenter(iter_stream_pieces(cfg.corpus), cfg.transpose, cfg.split_seed)
    if augment is None:
        raise TrainError(f"--transpose: the {cfg.scheme} scheme cannot transpose its pieces")
    return augment, f"transpose={cfg.transpose}"


def _options_reader(cfg: TrainConfig) -> Callable[[Iterable[str]], dict[str, Any]] | None:
    """What reads the scheme's options from the corpus's pieces while it is prepared
    (None: cfg.scheme_options gives them)."""
    if cfg.scheme_options is not None:
        return None
    return encoders.get(cfg.scheme).corpus_options


@dataclass
class RunKey:
    """What a resumed run must share with the saved one: the model's shape, the corpus and
    the batching (anything else would change the tensors' shapes or the data order)."""

    model_config: dict[str, Any]
    fingerprint: str
    batch_size: int
    seq_len: int
    random_seed: int

    def check(self, where: str, saved: dict[str, Any]) -> None:
        """Refuse a saved state (the JSON part) that belongs to another run."""
        if saved.get("model_config") != self.model_config:
            raise TrainError(
                f"{where}: the saved run has model {saved.get('model_config')}, "
                f"these settings make {self.model_config}; use the same sizes to resume"
            )
        if saved.get("fingerprint") != self.fingerprint:
            raise TrainError(
                f"{where}: the corpus changed since this run started; resume needs the same corpus "
                "(or start again with --force)"
            )
        for key in ("batch_size", "seq_len", "random_seed"):
            if saved.get(key) != getattr(self, key):
                raise TrainError(
                    f"{where}: the saved run used {key}={saved.get(key)}, not {getattr(self, key)}; "
                    "the data order would differ"
                )


@dataclass
class TrainState:
    """Where a run stands after its last completed step: everything --resume restores.

    Kept up to date step by step (a step that fails half-way leaves it as it was), so
    saving it at any moment, Ctrl-C included, saves a state the run really passed
    through.  `save` writes it with the optimizer, the latest weights and the RunKey
    into train_state.safetensors: the tensors as "extra.<name>" (the hidden state as
    extra.state_h and extra.state_c, every rank's lanes), the rest as JSON in the
    header's "extra"; `resume` reads and checks it back."""

    step: int = 0
    """Optimizer steps completed."""
    data_position: dict[str, int] = field(default_factory=lambda: {"epoch": 0, "index": 0})
    """The training batches' position after that step (Batches.position): the next batch."""
    best_val_bpc: float | None = None
    val_bpc: float | None = None
    """The latest evaluation's bits/char."""
    evals_since_best: int = 0
    lr_scale: float = 1.0
    """Halved after each skipped step (NaN/inf or exploding loss)."""
    nan_skips: int = 0
    loss_ema: float | None = None
    """Recent mean training loss (nats), to see a loss explode."""
    train_seconds: float = 0.0
    """The run's wall time (all sessions) at its last save: the time budget counts it."""
    rng_cpu: torch.Tensor | None = None
    """torch's CPU generator after that step (dropout masks)."""
    rng_cuda: torch.Tensor | None = None
    hidden: tuple[torch.Tensor, torch.Tensor] | None = None
    """The LSTM state carried into the next window, this rank's lanes (None: a zero state)."""

    TENSORS = ("rng_cpu", "rng_cuda", "hidden")
    """Fields saved as tensors; the others are JSON."""
    OPTIONAL = ("best_val_bpc", "val_bpc", "loss_ema")
    """Numbers that are None until the first evaluation or step."""

    def commit(
        self, hidden: tuple[torch.Tensor, torch.Tensor] | None, position: dict[str, int], loss: float | None = None
    ) -> None:
        """A step completed (`loss` its training loss, nats) or was skipped (loss None)."""
        self.hidden, self.data_position = hidden, position
        if loss is None:
            self.lr_scale, self.nan_skips = self.lr_scale * 0.5, self.nan_skips + 1
            return
        self.step += 1
        self.rng_cpu = torch.get_rng_state()
        if self.rng_cuda is not None:  # set on CUDA only
            self.rng_cuda = torch.cuda.get_rng_state()
        self.loss_ema = loss if self.loss_ema is None else 0.98 * self.loss_ema + 0.02 * loss

    def evaluated(self, val_bpc: float) -> bool:
        """Record an evaluation; True when it is the best so far."""
        improved = self.best_val_bpc is None or val_bpc < self.best_val_bpc
        self.val_bpc = val_bpc
        if improved:
            self.best_val_bpc, self.evals_since_best = val_bpc, 0
        else:
            self.evals_since_best += 1
        return improved

    def save(
        self, out: str, optimizer: torch.optim.Optimizer, model: torch.nn.Module, key: RunKey, cluster: Cluster
    ) -> None:
        """Write train_state.* (rank 0; every rank must call it, for the hidden state's lanes)."""
        hidden = self.hidden
        if cluster.active and hidden is not None:  # every rank's lanes, so resume sees one state
            hidden = (cluster.gather_lanes(hidden[0]), cluster.gather_lanes(hidden[1]))
        if not cluster.is_main:
            return
        extra: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self.TENSORS}
        extra.update(asdict(key))
        extra["rng_cpu"] = self.rng_cpu
        if self.rng_cuda is not None:
            extra["rng_cuda"] = self.rng_cuda
        if hidden is not None:
            extra["state_h"], extra["state_c"] = hidden
        checkpoint.save_train_state(out, optimizer, extra, model=model)

    @classmethod
    def resume(
        cls,
        out: str,
        optimizer: torch.optim.Optimizer,
        model: torch.nn.Module,
        key: RunKey,
        hidden_shape: tuple[int, int, int],
    ) -> TrainState:
        """The state saved in `out`, after checking it belongs to this run (`key`) and holds what
        this run would have made; restores the optimizer and the latest weights into `model`.
        The hidden state is every lane's, on the CPU (see `restore`)."""
        where = os.path.join(out, checkpoint.TRAIN_STATE)
        try:
            key.check(where, checkpoint.read_train_state_info(out))
            extra = checkpoint.load_train_state(out, optimizer, model)
        except checkpoint.CheckpointError as e:
            raise TrainError(f"cannot resume: {e}") from None
        # step and data_position must be there; the other fields were added over time (their defaults)
        values = {
            "step": None,
            "data_position": None,
            **{f.name: extra[f.name] for f in fields(cls) if f.name in extra and f.name != "hidden"},
        }
        state = cls(**values)
        if "state_h" in extra or "state_c" in extra:
            state.hidden = (extra.get("state_h"), extra.get("state_c"))
        state.check(where, hidden_shape)
        return state

    def check(self, where: str, hidden_shape: tuple[int, int, int]) -> None:
        """Every field of the kind the run makes (a saved file may hold anything); counts
        and numbers are given their types."""
        pos = self.data_position
        if (
            not isinstance(self.step, int)
            or not isinstance(pos, dict)
            or not all(isinstance(pos.get(k), int) and pos[k] >= 0 for k in ("epoch", "index"))
        ):
            raise TrainError(f"{where}: lacks a valid step and data_position; cannot resume")
        for name in (
            "best_val_bpc",
            "val_bpc",
            "lr_scale",
            "train_seconds",
            "evals_since_best",
            "nan_skips",
            "loss_ema",
        ):
            value = getattr(self, name)
            if (value is not None or name not in self.OPTIONAL) and (
                not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
            ):
                raise TrainError(f"{where}: {name} must be a number, got {value!r}; cannot resume")
        self.data_position = {"epoch": pos["epoch"], "index": pos["index"]}
        self.evals_since_best, self.nan_skips = int(self.evals_since_best), int(self.nan_skips)
        self.lr_scale, self.train_seconds = float(self.lr_scale), float(self.train_seconds)
        rng = self.rng_cpu
        if not isinstance(rng, torch.Tensor) or rng.dtype != torch.uint8 or rng.shape != torch.get_rng_state().shape:
            raise TrainError(f"{where}: lacks a valid RNG state; cannot resume")
        if self.rng_cuda is not None and (
            not isinstance(self.rng_cuda, torch.Tensor) or self.rng_cuda.dtype != torch.uint8
        ):
            raise TrainError(f"{where}: lacks a valid CUDA RNG state; cannot resume")
        for name, t in zip(("state_h", "state_c"), self.hidden or ()):
            if not isinstance(t, torch.Tensor) or tuple(t.shape) != hidden_shape or not t.is_floating_point():
                raise TrainError(f"{where}: {name} is not a hidden state of shape {list(hidden_shape)}; cannot resume")

    def restore(self, device: torch.device, cluster: Cluster, random_seed: int) -> None:
        """Continue from here on this rank: its lanes of the hidden state on `device`, the RNGs."""
        if self.hidden is not None:
            self.hidden = (cluster.lanes_of(self.hidden[0]).to(device), cluster.lanes_of(self.hidden[1]).to(device))
        torch.set_rng_state(self.rng_cpu)
        if device.type == "cuda" and self.rng_cuda is not None:
            torch.cuda.set_rng_state(self.rng_cuda)
        if cluster.rank:  # its own dropout masks, new for each session
            torch.manual_seed(random_seed * 7919 + cluster.rank + self.step)
        self.rng_cpu = torch.get_rng_state()
        self.rng_cuda = torch.cuda.get_rng_state() if device.type == "cuda" else None


@dataclass
class Session:
    """This call's part of the run: its clocks, speed and the losses since the last report
    (not saved: a resumed run measures its own)."""

    prior_seconds: float
    """The run's wall time before this session."""
    start_step: int
    start: float = field(default_factory=time.perf_counter)
    step_seconds: float = 0.0
    """Time spent in training steps (no evaluations, no saving)."""
    chars: int = 0
    """Characters of pieces (not padding) trained on."""
    clock: float = 0.0
    """Under DDP: rank 0's run time after the last step, so every rank takes the same LR and stops together."""
    loss_sum: float = 0.0
    loss_n: int = 0
    saved_model: bool = False
    """The model folder was written in this session."""

    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def run_seconds(self) -> float:
        return self.prior_seconds + self.seconds()

    def speed(self) -> float:
        return self.chars / self.step_seconds if self.step_seconds > 0 else 0.0


class Trainer:
    """One session of a run: the model and optimizer, the batches, the run's TrainState and
    this session's clock.  `run` trains until max_steps, the time budget, early stopping or
    Ctrl-C, evaluating, saving and reporting on the way."""

    def __init__(
        self,
        cfg: TrainConfig,
        data: TokenData,
        batches: Batches,
        val_batches: Batches,
        device: torch.device,
        cluster: Cluster,
        on_progress: Callable[[dict[str, Any]], None] | None,
    ):
        self.cfg, self.data, self.batches, self.val_batches = cfg, data, batches, val_batches
        self.device, self.cluster, self.on_progress = device, cluster, on_progress
        self.scheme_options = cfg.scheme_options if cfg.scheme_options is not None else data.scheme_options or {}
        torch.manual_seed(cfg.random_seed)
        self.mconf = ModelConfig(
            vocab_size=len(data.vocab),
            hidden=cfg.hidden,
            layers=cfg.layers,
            embed=cfg.embed,
            dropout=cfg.dropout,
            positions=encoders.get(cfg.scheme).positions if cfg.bar_positions else 0,
        )
        self.model = CharLSTM(self.mconf).to(device)
        if cfg.positions_only:
            for name, p in self.model.named_parameters():
                p.requires_grad_(name == "where.weight")
        self.step_model: torch.nn.Module = self.model
        if cluster.active:  # backward averages the gradients over the ranks
            self.step_model = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[device] if device.type == "cuda" else None
            )
            if cluster.rank:
                torch.manual_seed(cfg.random_seed * 7919 + cluster.rank)  # own dropout masks
        self.optimizer = torch.optim.AdamW(_param_groups(self.model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.99))
        self.key = RunKey(
            model_config=self.mconf.to_dict(),
            fingerprint=data.meta["fingerprint"],
            batch_size=cfg.batch_size,
            seq_len=cfg.seq_len,
            random_seed=cfg.random_seed,
        )
        self.state = TrainState(
            rng_cpu=torch.get_rng_state(), rng_cuda=torch.cuda.get_rng_state() if device.type == "cuda" else None
        )
        self.session = Session(prior_seconds=0.0, start_step=0)
        self.budget_s = cfg.max_minutes * 60.0 if cfg.max_minutes else None
        self.latest: dict[str, Any] = {"loss": None, "lr": None}  # train bits/char and LR at the last report
        self.log: Any = None
        self.base: str | None = None

    def start_from(self, base: checkpoint.Loaded) -> None:
        """Fine-tuning: the base model's weights; a character it lacks (at the end of the
        vocabulary) starts with the mean embedding and the base's least likely output."""
        n = len(base.vocab)
        own, theirs = self.model.state_dict(), base.model.state_dict()
        with torch.no_grad():
            for name, tensor in theirs.items():
                target = own[name]
                if tensor.shape == target.shape:
                    target.copy_(tensor.float())
                elif name in ("embed.weight", "head.weight", "head.bias"):
                    target[:n] = tensor.float()
                    if name == "embed.weight":
                        target[n:] = tensor.float().mean(0)
                    elif name == "head.weight":
                        target[n:] = 0.0
                    else:
                        target[n:] = tensor.float().min()
        self.scheme_options = merged_options(base.meta.get("scheme_options") or {}, self.scheme_options)
        self.base = base.path

    def read_positions(self) -> None:
        """A model with positions: every token's position in its piece (the scheme's grammar,
        with the model's scheme options, run over the corpus), beside the batches' tokens."""
        if not self.mconf.positions:
            return
        scheme = encoders.get(self.cfg.scheme)
        options = self.scheme_options

        def grammar() -> Any:
            return scheme.grammar(options)

        self.batches.where = piece_positions(self.data.train, self.data.vocab, grammar)
        self.val_batches.where = piece_positions(self.data.val, self.data.vocab, grammar)

    def autocast(self) -> Any:
        """bfloat16 on CUDA; full precision elsewhere."""
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def resume(self) -> None:
        """Carry on the run saved in the out folder."""
        cfg = self.cfg
        self.state = TrainState.resume(
            cfg.out, self.optimizer, self.model, self.key, (self.mconf.layers, cfg.batch_size, self.mconf.hidden)
        )
        self.state.restore(self.device, self.cluster, cfg.random_seed)
        self.batches.set_position(self.state.data_position)
        self.session = Session(
            prior_seconds=self.state.train_seconds, start_step=self.state.step, clock=self.state.train_seconds
        )

    def run(self, wall_start: float) -> TrainResult:
        """Train to the end of the run (or Ctrl-C); the result of this session."""
        cfg, state = self.cfg, self.state
        self.model.train()
        self.log = open(os.path.join(cfg.out, LOG), "a", encoding="utf-8") if self.cluster.is_main else None
        self.session.start = time.perf_counter()
        try:
            if self.base and state.step == 0:
                self._evaluate()  # the base model as it is: fine-tuning keeps it unless it gets better
            stop_reason = self._loop()
            # a last evaluation unless the last step just had one
            if state.step % cfg.eval_every != 0 or not self.session.saved_model and state.best_val_bpc is None:
                self._evaluate()
        except KeyboardInterrupt:
            stop_reason = "interrupted"
            self._interrupted()
        finally:
            if self.log is not None:
                self.log.close()
        return TrainResult(
            best_val_bpc=state.best_val_bpc,
            steps=state.step,
            seconds=time.perf_counter() - wall_start,
            chars_per_s=self.session.speed(),
            interrupted=stop_reason == "interrupted",
            out=cfg.out,
            stop_reason=stop_reason,
            nan_skips=state.nan_skips,
        )

    def _loop(self) -> str:
        """Steps until the run ends; why it ended: max_steps, time or early_stop."""
        cfg, state = self.cfg, self.state
        while state.step < cfg.max_steps:
            if self.budget_s is not None and self._now() >= self.budget_s:
                return "time"
            lr = self._step()
            if lr is None:
                continue
            if state.step % cfg.progress_every == 0 or state.step == cfg.max_steps:
                s = self.session
                self.latest.update(loss=s.loss_sum / s.loss_n / LN2, lr=lr)
                self.report("progress")
                s.loss_sum, s.loss_n = 0.0, 0
            if cfg.sample_every and state.step % cfg.sample_every == 0:
                self._sample()
            if state.step % cfg.eval_every == 0:
                self._evaluate()
                if cfg.early_stop_patience is not None and state.evals_since_best >= cfg.early_stop_patience:
                    return "early_stop"
        return "max_steps"

    def _sample(self) -> None:
        """A piece from the model as it is now, reported as event "sample" (rank 0)."""
        if not self.cluster.is_main:
            return
        from musicrnn.sample import generate

        scheme = encoders.get(self.cfg.scheme)
        self.model.eval()
        try:
            text = generate(
                self.model,
                self.data.vocab,
                "" if self.data.vocab.missing(scheme.seed) else scheme.seed,
                length=self.cfg.sample_length,
                grammar=lambda: scheme.grammar(self.scheme_options),
                random_seed=self.state.step,
                device=self.device,
            )[0]
        finally:
            self.model.train()
        self.report("sample", text=text)

    def _step(self) -> float | None:
        """One batch: forward from the carried hidden state, backward, clip, AdamW step; its LR,
        or None when the step was skipped (NaN/inf loss or gradient, or an exploding loss)."""
        cfg, state, session = self.cfg, self.state, self.session
        t0 = time.perf_counter()
        batch = self.batches.next()
        hidden = None if batch.reset else state.hidden  # new pieces start from the sampler's zero state
        x, y = batch.x.to(self.device, non_blocking=True), batch.y.to(self.device, non_blocking=True)
        where = batch.where.to(self.device, non_blocking=True) if batch.where is not None else None
        lr = lr_at(cfg, state.step, self._now()) * state.lr_scale
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with self.autocast():
            logits, new_hidden = self.step_model(x, hidden, where)
        loss = _piece_loss(logits, y, batch.scored, self.cluster.world)
        loss_value = loss.item()
        if self.cluster.active:  # the global loss (NaN on any rank is NaN on all) and rank 0's clock
            (loss_value,), (session.clock,) = self.cluster.agree([loss_value], [session.run_seconds()])
        if not math.isfinite(loss_value):
            return self._skip(loss=loss_value, lr=lr)
        if _exploded(loss_value, state.loss_ema, state.step):
            return self._skip(
                f"loss {loss_value:.2f} exploded (recent mean {state.loss_ema:.2f})", loss=loss_value, lr=lr
            )
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        if not torch.isfinite(grad_norm):
            return self._skip(loss=loss_value, lr=lr, grad_norm=float(grad_norm))
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        # carried into the next window without its graph (truncated BPTT); float32 so a
        # bf16 state from autocast never meets a float32 input outside autocast
        state.commit(
            (new_hidden[0].detach().float(), new_hidden[1].detach().float()), self.batches.position, loss_value
        )
        session.step_seconds += time.perf_counter() - t0
        session.chars += batch.scored
        session.loss_sum += loss_value
        session.loss_n += 1
        return lr

    def _skip(self, reason: str = "loss or gradient was NaN/inf", **values: Any) -> None:
        """A NaN/inf loss or gradient, or an exploding loss: drop the update and the hidden
        state, halve the LR, report it (event "nan"); the step does not count."""
        self.optimizer.zero_grad(set_to_none=True)
        state = self.state
        state.commit(None, self.batches.position)
        self.report("nan", lr_scale=state.lr_scale, nan_skips=state.nan_skips, reason=reason, **values)
        if state.nan_skips >= 20:
            raise TrainError(f"loss or gradient was NaN/inf or exploded {state.nan_skips} times; try a lower --lr")

    def _evaluate(self) -> None:
        """Bits/char on the held-out pieces; save the resume state, and the model when it is the best."""
        main, state = self.cluster.is_main, self.state
        val_bpc = self.cluster.share(
            evaluate(self.model, self.val_batches, self.cfg.eval_batches, self.device, self.autocast) if main else None
        )
        improved = state.evaluated(val_bpc)
        # The resume state first: a kill -9 between the two writes then leaves a run that
        # --resume continues (at worst the model folder is one evaluation behind), never
        # a new model with no state to resume it from.
        self._save_state()
        if improved:
            if main:
                checkpoint.save(self.cfg.out, self.model, self._meta())
            self.session.saved_model = True
        if self.cfg.keep_evals and main:  # this evaluation's model and loss, not the run's best
            meta = self._meta()
            metrics = {k: v for k, v in meta["metrics"].items() if not k.startswith("best_")}
            meta["metrics"] = {**metrics, "val_bpc": val_bpc}
            checkpoint.save(os.path.join(self.cfg.out, KEPT, f"step-{state.step}"), self.model, meta)
        self.report("eval", val_loss=val_bpc, best_val_loss=state.best_val_bpc, improved=improved)

    def _interrupted(self) -> None:
        """Ctrl-C: save what the last completed step left (resume is then exact) and a model."""
        if not self.cluster.active:  # under torchrun the ranks cannot meet again: resume from the last evaluation
            if not self.session.saved_model and self.state.best_val_bpc is None:
                self._evaluate()  # leave a usable model behind
            self._save_state()
        self.report("interrupted")

    def _save_state(self) -> None:
        self.state.train_seconds = self.session.run_seconds()
        self.state.save(self.cfg.out, self.optimizer, self.model, self.key, self.cluster)

    def _now(self) -> float:
        """The run's time, the same on every rank."""
        return self.session.clock if self.cluster.active else self.session.run_seconds()

    def _eta(self) -> float:
        """Seconds left: remaining steps at this session's pace, capped by the time budget."""
        s = self.session
        left = (self.cfg.max_steps - self.state.step) * s.seconds() / max(1, self.state.step - s.start_step)
        if self.budget_s is not None:
            left = min(left, max(0.0, self.budget_s - s.run_seconds()))
        return left

    def report(self, event: str, **values: Any) -> None:
        """One line of train_log.jsonl and one on_progress call (rank 0); every record has the same core keys."""
        if self.log is None:
            return
        record = {
            "event": event,
            "step": self.state.step,
            "max_steps": self.cfg.max_steps,
            "time": round(self.session.run_seconds(), 3),
            "val_loss": self.state.val_bpc,
            "chars_per_s": self.session.speed(),
            "eta_s": self._eta(),
            "epoch": self.batches.epoch,
            **self.latest,
            **values,
        }
        self.log.write(json.dumps(record) + "\n")
        self.log.flush()
        if self.on_progress is not None:
            self.on_progress(record)

    def _meta(self) -> dict[str, Any]:
        """The model folder's meta.json (see checkpoint.save)."""
        cfg, state, meta = self.cfg, self.state, self.data.meta
        return {
            "vocab": self.data.vocab.chars,
            "scheme": cfg.scheme,
            "scheme_options": self.scheme_options,
            "hyperparameters": cfg.hyperparameters(),
            "metrics": {
                "best_val_bpc": state.best_val_bpc,
                "best_step": state.step,
                "steps": state.step,
                "train_seconds": round(self.session.run_seconds(), 3),
                "chars_per_s": round(self.session.speed(), 1),
                "val_chars": int(len(self.data.val)),
            },
            "corpus": {
                "file": meta["source"],
                "fingerprint": meta["fingerprint"],
                "pieces": meta["pieces"],
                "train_pieces": meta["train_pieces"],
                "val_pieces": meta["val_pieces"],
                "train_chars": meta["train_tokens"],
                "val_chars": meta["val_tokens"],
            },
            "versions": checkpoint.versions(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            **({"init_from": self.base} if self.base else {}),
        }


KEPT = "checkpoints"
"""Where --keep-evals keeps each evaluation's model, inside the run's folder."""


def kept_checkpoints(out: str | os.PathLike) -> dict[int, str]:
    """The models --keep-evals kept in the run folder `out` (``KEPT/step-N``), by step N,
    in step order; any other name there is passed over."""
    folder = os.path.join(out, KEPT)
    names = os.listdir(folder) if os.path.isdir(folder) else []
    steps = {int(n[5:]): os.path.join(folder, n) for n in names if n.startswith("step-") and n[5:].isdigit()}
    return dict(sorted(steps.items()))


EXPLODE_AFTER_STEPS = 50
"""Steps before an exploding loss is looked for (the loss falls fast at first)."""


def _exploded(loss: float, ema: float | None, step: int) -> bool:
    """A loss 3x the recent mean and 2 nats above it: the run is diverging, not a hard batch.
    (A char-LSTM's batches differ by a fraction of a nat; an epoch's fresh hidden state by
    less than one.)"""
    return ema is not None and step >= EXPLODE_AFTER_STEPS and loss > max(3.0 * ema, ema + 2.0)
