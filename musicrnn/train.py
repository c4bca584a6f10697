"""Training: char-rnn done carefully, readable top to bottom.

    corpus stream --prepare--> train.bin / val.bin (whole pieces held out)
    train tokens --Batches--> [B, T] windows of B contiguous lanes
    loop: forward from the carried (detached) hidden state, cross-entropy,
          backward, clip, AdamW step with warmup + cosine LR
          every eval_every steps: bits/char on the held-out pieces;
          better -> save the model folder; no better for `patience` evals -> stop
    NaN/inf loss or gradient, or a loss exploding past 3x its recent mean: the
          step is skipped, the LR halved, and it is reported (event "nan")
    Ctrl-C: save everything --resume needs and return (result.interrupted)

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
import time
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, Callable

import torch
import torch.nn.functional as F

import encoders
from encoders import UsageError
from musicrnn import checkpoint
from musicrnn.data import PIECE_START, Batches, eval_windows, iter_stream_pieces, prepare
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
    scheme_options: dict[str, Any] = field(default_factory=dict)
    # model
    hidden: int = 512
    layers: int = 2
    embed: int = 64
    dropout: float = 0.1
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

    def validate(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise TrainError(f"invalid training setting: {what}")
        for name in ("hidden", "layers", "embed", "batch_size", "seq_len", "max_steps", "eval_every", "progress_every"):
            v = getattr(self, name)
            need(isinstance(v, int) and not isinstance(v, bool) and v >= 1, f"{name} must be a positive integer, got {v!r}")
        need(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")
        need(self.lr > 0 and math.isfinite(self.lr), f"lr must be positive, got {self.lr}")
        need(0.0 <= self.min_lr_ratio <= 1.0, f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        need(self.warmup_steps >= 0, f"warmup_steps must be >= 0, got {self.warmup_steps}")
        need(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        need(self.grad_clip > 0, f"grad_clip must be positive, got {self.grad_clip}")
        need(self.max_minutes is None or self.max_minutes > 0, f"max_minutes must be positive, got {self.max_minutes}")
        need(self.eval_batches is None or self.eval_batches >= 1, f"eval_batches must be >= 1, got {self.eval_batches}")
        need(self.early_stop_patience is None or self.early_stop_patience >= 1,
             f"early_stop_patience must be >= 1, got {self.early_stop_patience}")
        need(0.0 < self.val_fraction < 1.0, f"val_fraction must be in (0, 1), got {self.val_fraction}")
        need(self.threads is None or self.threads >= 1, f"threads must be >= 1, got {self.threads}")
        need(isinstance(self.scheme_options, dict), "scheme_options must be a dict")
        need(isinstance(self.transpose, int) and 0 <= self.transpose <= 11,
             f"transpose must be 0..11 (other keys per piece), got {self.transpose!r}")

    def hyperparameters(self) -> dict[str, Any]:
        """The settings that shape the model and its training (no paths or run switches)."""
        skip = {"corpus", "out", "scheme", "scheme_options", "resume", "force", "threads", "device", "progress_every"}
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
    return (f"{head}: steps={result.steps} best_val_bpc={best} chars/s={result.chars_per_s:.0f} "
            f"time={result.seconds:.0f}s out={result.out}")


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
    total = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1),
                            ignore_index=-1, reduction="sum")
    return total * world / max(1, scored)


@torch.no_grad()
def evaluate(model: CharLSTM, val: Batches, max_batches: int | None, device: torch.device,
             autocast: Callable[[], Any]) -> float:
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
        with autocast():
            logits, state = model(x, state)
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1),
                                 ignore_index=-1, reduction="sum")
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
            f"{out} already holds a model; resume it (--resume) or replace it (--force), or choose another --out")
    if os.path.exists(out) and not os.path.isdir(out):
        raise TrainError(f"{out}: exists and is not a folder")
    if not write:
        return
    os.makedirs(out, exist_ok=True)
    for name in (checkpoint.TRAIN_STATE, checkpoint.TRAIN_STATE_JSON, LOG):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(out, name))


def _param_groups(model: CharLSTM, weight_decay: float) -> list[dict[str, Any]]:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def train(cfg: TrainConfig, on_progress: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    wall_start = time.perf_counter()
    cfg.validate()
    device = pick_device(cfg.device)
    cluster = Cluster.from_env(device)
    try:
        with contextlib.ExitStack() as held:   # the lock on cfg.out, taken in _train once all is checked
            result = _train(cfg, on_progress, wall_start, device, cluster, held)
            # Leave the group together: a rank that closes its connections while another still
            # finishes its last collective can make gloo abort that one (seen under heavy load).
            cluster.barrier()
        return result
    finally:
        cluster.close()


def _augmenter(cfg: TrainConfig) -> tuple[Callable[[str], list[str]] | None, str]:
    """The scheme's transposer for `cfg.transpose` other keys (None without one), and its name."""
    if not cfg.transpose:
        return None, ""
    codec = encoders.get(cfg.scheme)
    make = getattr(codec, "augmenter", None)
    if make is None:
        raise TrainError(f"--transpose: the {cfg.scheme} scheme cannot transpose its pieces")
    return make(iter_stream_pieces(cfg.corpus), cfg.transpose, cfg.split_seed), f"transpose={cfg.transpose}"


def _train(cfg: TrainConfig, on_progress: Callable[[dict[str, Any]], None] | None, wall_start: float,
           device: torch.device, cluster: Cluster, held: contextlib.ExitStack) -> TrainResult:
    device = cluster.device or device
    main = cluster.is_main
    _prepare_out(cfg, write=False)   # checks only: nothing in --out changes before the corpus is checked too
    torch.set_num_threads(cfg.threads or max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))

    # ---- data: whole pieces held out for validation (rank 0 writes the token files, the others read them)
    augment, augment_name = _augmenter(cfg)
    if main:
        try:
            data = prepare(cfg.corpus, cfg.val_fraction, cfg.split_seed, augment, augment_name)
        except BaseException:
            cluster.share(0.0)
            raise
        cluster.share(1.0)
    else:
        if not cluster.share(None):
            raise TrainError(f"{cfg.corpus}: rank 0 could not prepare the corpus")
        data = prepare(cfg.corpus, cfg.val_fraction, cfg.split_seed, augment, augment_name)
    vocab = data.vocab
    newline = int(vocab.encode(PIECE_START)[0])
    if len(data.val) < 2:
        raise TrainError(f"{cfg.corpus}: needs at least 2 pieces (one is held out for validation), "
                         f"found {data.meta['pieces']}")
    try:
        batches = Batches(data.train, cfg.batch_size, cfg.seq_len, newline, seed=cfg.random_seed,
                          rank=cluster.rank, world=cluster.world, pin_memory=device.type == "cuda")
    except ValueError as e:
        raise TrainError(f"{cfg.corpus}: {e}") from None
    val_batches = eval_windows(data.val, cfg.batch_size, cfg.seq_len, newline)
    assert val_batches is not None

    # ---- all checked: now take --out (a lock with our pid: two runs never share a folder), and
    # with --force clear the old run's state and log
    if main:
        try:
            held.enter_context(run_lock(cfg.out))
            _prepare_out(cfg)
        except BaseException:
            cluster.share(0.0)
            raise
        cluster.share(1.0)
    elif not cluster.share(None):
        raise TrainError(f"{cfg.out}: rank 0 could not take the folder")

    # ---- model and optimizer
    torch.manual_seed(cfg.random_seed)
    mconf = ModelConfig(vocab_size=len(vocab), hidden=cfg.hidden, layers=cfg.layers, embed=cfg.embed,
                        dropout=cfg.dropout)
    model = CharLSTM(mconf).to(device)
    step_model = model
    if cluster.active:   # backward averages the gradients over the ranks
        step_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device] if device.type == "cuda" else None)
        if cluster.rank:
            torch.manual_seed(cfg.random_seed * 7919 + cluster.rank)   # own dropout masks
    optimizer = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.99))
    if device.type == "cuda":
        def autocast() -> Any:
            return torch.autocast("cuda", dtype=torch.bfloat16)
    else:
        autocast = contextlib.nullcontext

    # ---- the run's counters (restored by resume)
    step = 0
    best_val: float | None = None
    evals_since_best = 0
    lr_scale = 1.0          # halved after each NaN/inf or exploding loss
    nan_skips = 0
    loss_ema: float | None = None   # recent mean training loss (nats), to see a loss explode
    prior_seconds = 0.0     # training wall time of earlier sessions (for max_minutes)
    val_bpc: float | None = None
    state: tuple[torch.Tensor, torch.Tensor] | None = None

    if cfg.resume:
        try:
            _check_resumable(cfg, checkpoint.read_train_state_info(cfg.out), mconf, data.meta["fingerprint"])
            extra = checkpoint.load_train_state(cfg.out, optimizer, model)
        except checkpoint.CheckpointError as e:
            raise TrainError(f"cannot resume: {e}") from None
        _check_resumed_tensors(cfg, extra, mconf)
        step = int(extra["step"])
        batches.set_position(extra["data_position"])
        best_val = extra.get("best_val_bpc")
        val_bpc = extra.get("val_bpc")
        evals_since_best = int(extra.get("evals_since_best", 0))
        lr_scale = float(extra.get("lr_scale", 1.0))
        nan_skips = int(extra.get("nan_skips", 0))
        loss_ema = extra.get("loss_ema")
        prior_seconds = float(extra.get("train_seconds", 0.0))
        if "state_h" in extra:   # saved for all lanes; each rank takes its own
            state = (cluster.lanes_of(extra["state_h"]).to(device), cluster.lanes_of(extra["state_c"]).to(device))
        torch.set_rng_state(extra["rng_cpu"])
        if device.type == "cuda" and "rng_cuda" in extra:
            torch.cuda.set_rng_state(extra["rng_cuda"])
        if cluster.rank:
            torch.manual_seed(cfg.random_seed * 7919 + cluster.rank + step)
    model.train()

    log = open(os.path.join(cfg.out, LOG), "a", encoding="utf-8") if main else None

    latest: dict[str, Any] = {"loss": None, "lr": None}   # train bits/char and LR at the last report

    def report(event: str, **values: Any) -> None:
        """One line of train_log.jsonl and one on_progress call; every record has the same core keys."""
        record = {"event": event, "step": step, "max_steps": cfg.max_steps,
                  "time": round(prior_seconds + session_seconds(), 3), "val_loss": val_bpc,
                  "chars_per_s": speed(), "eta_s": eta(), "epoch": batches.epoch, **latest, **values}
        if log is None:
            return
        log.write(json.dumps(record) + "\n")
        log.flush()
        if on_progress is not None:
            on_progress(record)

    session_start = time.perf_counter()

    def session_seconds() -> float:
        return time.perf_counter() - session_start

    def checkpoint_meta(chars_per_s: float) -> dict[str, Any]:
        return {
            "vocab": vocab.chars,
            "scheme": cfg.scheme,
            "scheme_options": cfg.scheme_options,
            "hyperparameters": cfg.hyperparameters(),
            "metrics": {
                "best_val_bpc": best_val,
                "best_step": step,
                "steps": step,
                "train_seconds": round(prior_seconds + session_seconds(), 3),
                "chars_per_s": round(chars_per_s, 1),
                "val_chars": int(len(data.val)),
            },
            "corpus": {
                "file": data.meta["source"],
                "fingerprint": data.meta["fingerprint"],
                "pieces": data.meta["pieces"],
                "train_pieces": data.meta["train_pieces"],
                "val_pieces": data.meta["val_pieces"],
                "train_chars": data.meta["train_tokens"],
                "val_chars": data.meta["val_tokens"],
            },
            "versions": checkpoint.versions(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    # What the last completed step left behind: saved on Ctrl-C so resume is exact.
    committed = {"step": step, "position": batches.position, "state": state, "rng": torch.get_rng_state()}

    def save_state() -> None:
        saved_state = committed["state"]
        if cluster.active and saved_state is not None:   # every rank's lanes, so resume sees one state
            saved_state = tuple(cluster.gather_lanes(s) for s in saved_state)
        if not main:
            return
        extra: dict[str, Any] = {
            "step": committed["step"],
            "data_position": committed["position"],
            "best_val_bpc": best_val,
            "val_bpc": val_bpc,
            "evals_since_best": evals_since_best,
            "lr_scale": lr_scale,
            "nan_skips": nan_skips,
            "loss_ema": loss_ema,
            "train_seconds": prior_seconds + session_seconds(),
            "model_config": mconf.to_dict(),
            "fingerprint": data.meta["fingerprint"],
            "batch_size": cfg.batch_size,
            "seq_len": cfg.seq_len,
            "random_seed": cfg.random_seed,
            "rng_cpu": committed["rng"],
        }
        if saved_state is not None:
            extra["state_h"], extra["state_c"] = saved_state
        if device.type == "cuda":
            extra["rng_cuda"] = torch.cuda.get_rng_state()
        checkpoint.save_train_state(cfg.out, optimizer, extra, model=model)

    saved_this_run = False

    def run_eval() -> None:
        nonlocal best_val, evals_since_best, val_bpc, saved_this_run
        val_bpc = cluster.share(evaluate(model, val_batches, cfg.eval_batches, device, autocast) if main else None)
        improved = best_val is None or val_bpc < best_val
        if improved:
            best_val, evals_since_best = val_bpc, 0
        else:
            evals_since_best += 1
        # The resume state first: a kill -9 between the two writes then leaves a run that
        # --resume continues (at worst the model folder is one evaluation behind), never
        # a new model with no state to resume it from.
        save_state()
        if improved:
            if main:
                checkpoint.save(cfg.out, model, checkpoint_meta(speed()))
            saved_this_run = True
        report("eval", val_loss=val_bpc, best_val_loss=best_val, improved=improved)

    train_seconds = 0.0     # pure training-step time of this session
    session_steps = 0
    session_chars = 0       # characters of pieces (not padding) trained on this session

    def speed() -> float:
        return session_chars / train_seconds if train_seconds > 0 else 0.0

    start_step = step
    budget_s = cfg.max_minutes * 60.0 if cfg.max_minutes else None

    def eta() -> float:
        """Seconds left: remaining steps at this session's pace, capped by the time budget."""
        left = (cfg.max_steps - step) * session_seconds() / max(1, step - start_step)
        if budget_s is not None:
            left = min(left, max(0.0, budget_s - prior_seconds - session_seconds()))
        return left

    clock = prior_seconds   # under DDP: rank 0's training clock after the last step, so all ranks agree

    def now() -> float:
        return clock if cluster.active else prior_seconds + session_seconds()

    loss_sum, loss_n = 0.0, 0
    stop_reason = "max_steps"
    interrupted = False
    def skip_step(reason: str = "loss or gradient was NaN/inf", **values: Any) -> None:
        """A NaN/inf loss or gradient, or an exploding loss: drop the update and the state,
        halve the LR, report it (event "nan")."""
        nonlocal state, lr_scale, nan_skips, committed
        optimizer.zero_grad(set_to_none=True)
        state, lr_scale, nan_skips = None, lr_scale * 0.5, nan_skips + 1
        committed = {**committed, "position": batches.position, "state": None}
        report("nan", lr_scale=lr_scale, nan_skips=nan_skips, reason=reason, **values)
        if nan_skips >= 20:
            raise TrainError(f"loss or gradient was NaN/inf or exploded {nan_skips} times; try a lower --lr")

    try:
        while step < cfg.max_steps:
            if budget_s is not None and now() >= budget_s:
                stop_reason = "time"
                break
            t0 = time.perf_counter()
            batch = batches.next()
            if batch.reset:
                state = None  # new pieces start from the sampler's zero state
            x, y = batch.x.to(device, non_blocking=True), batch.y.to(device, non_blocking=True)
            lr = lr_at(cfg, step, now()) * lr_scale
            for group in optimizer.param_groups:
                group["lr"] = lr

            with autocast():
                logits, new_state = step_model(x, state)
            loss = _piece_loss(logits, y, batch.scored, cluster.world)
            loss_value = loss.item()
            if cluster.active:   # the global loss (NaN on any rank is NaN on all) and rank 0's clock
                (loss_value,), (clock,) = cluster.agree([loss_value], [prior_seconds + session_seconds()])
            if not math.isfinite(loss_value):
                skip_step(loss=loss_value, lr=lr)
                continue
            if _exploded(loss_value, loss_ema, step):
                skip_step(f"loss {loss_value:.2f} exploded (recent mean {loss_ema:.2f})", loss=loss_value, lr=lr)
                continue
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            if not torch.isfinite(grad_norm):
                skip_step(loss=loss_value, lr=lr, grad_norm=float(grad_norm))
                continue
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            # carried into the next window without its graph (truncated BPTT); float32 so a
            # bf16 state from autocast never meets a float32 input outside autocast
            state = (new_state[0].detach().float(), new_state[1].detach().float())
            step += 1
            committed = {"step": step, "position": batches.position, "state": state, "rng": torch.get_rng_state()}
            train_seconds += time.perf_counter() - t0
            session_steps += 1
            session_chars += batch.scored
            loss_sum += loss_value
            loss_n += 1
            loss_ema = loss_value if loss_ema is None else 0.98 * loss_ema + 0.02 * loss_value

            if step % cfg.progress_every == 0 or step == cfg.max_steps:
                latest.update(loss=loss_sum / loss_n / LN2, lr=lr)
                report("progress")
                loss_sum, loss_n = 0.0, 0
            if step % cfg.eval_every == 0:
                run_eval()
                if cfg.early_stop_patience is not None and evals_since_best >= cfg.early_stop_patience:
                    stop_reason = "early_stop"
                    break
        # a last evaluation unless the last step just had one
        if step % cfg.eval_every != 0 or not saved_this_run and best_val is None:
            run_eval()
    except KeyboardInterrupt:
        interrupted, stop_reason = True, "interrupted"
        step = committed["step"]
        state = committed["state"]
        if not cluster.active:   # under torchrun the ranks cannot meet again: resume from the last evaluation
            if not saved_this_run and best_val is None:
                run_eval()  # leave a usable model behind
            save_state()
        report("interrupted")
    finally:
        if log is not None:
            log.close()

    return TrainResult(
        best_val_bpc=best_val,
        steps=step,
        seconds=time.perf_counter() - wall_start,
        chars_per_s=speed(),
        interrupted=interrupted,
        out=cfg.out,
        stop_reason=stop_reason,
        nan_skips=nan_skips,
    )


EXPLODE_AFTER_STEPS = 50
"""Steps before an exploding loss is looked for (the loss falls fast at first)."""


def _exploded(loss: float, ema: float | None, step: int) -> bool:
    """A loss 3x the recent mean and 2 nats above it: the run is diverging, not a hard batch.
    (A char-LSTM's batches differ by a fraction of a nat; an epoch's fresh hidden state by
    less than one.)"""
    return ema is not None and step >= EXPLODE_AFTER_STEPS and loss > max(3.0 * ema, ema + 2.0)


def _check_resumable(cfg: TrainConfig, extra: dict[str, Any], mconf: ModelConfig, fingerprint: str) -> None:
    """Resume only what continues the same run: same model shape, corpus and batching."""
    where = os.path.join(cfg.out, checkpoint.TRAIN_STATE)
    if extra.get("model_config") != mconf.to_dict():
        raise TrainError(f"{where}: the saved run has model {extra.get('model_config')}, "
                         f"these settings make {mconf.to_dict()}; use the same sizes to resume")
    if extra.get("fingerprint") != fingerprint:
        raise TrainError(f"{where}: the corpus changed since this run started; resume needs the same corpus "
                         "(or start again with --force)")
    for key in ("batch_size", "seq_len", "random_seed"):
        if extra.get(key) != getattr(cfg, key):
            raise TrainError(f"{where}: the saved run used {key}={extra.get(key)}, not {getattr(cfg, key)}; "
                             "the data order would differ")
    pos = extra.get("data_position")
    if not isinstance(extra.get("step"), int) or not isinstance(pos, dict) \
            or not all(isinstance(pos.get(k), int) and pos[k] >= 0 for k in ("epoch", "index")):
        raise TrainError(f"{where}: lacks a valid step and data_position; cannot resume")
    for key in ("best_val_bpc", "val_bpc", "lr_scale", "train_seconds", "evals_since_best", "nan_skips", "loss_ema"):
        value = extra.get(key)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)
                                  or not math.isfinite(value)):
            raise TrainError(f"{where}: {key} must be a number, got {value!r}; cannot resume")


def _check_resumed_tensors(cfg: TrainConfig, extra: dict[str, Any], mconf: ModelConfig) -> None:
    """The RNG state and carried hidden state must be what this run would have made."""
    where = os.path.join(cfg.out, checkpoint.TRAIN_STATE)
    rng = extra.get("rng_cpu")
    if not isinstance(rng, torch.Tensor) or rng.dtype != torch.uint8 or rng.shape != torch.get_rng_state().shape:
        raise TrainError(f"{where}: lacks a valid RNG state; cannot resume")
    shape = (mconf.layers, cfg.batch_size, mconf.hidden)
    for key in ("state_h", "state_c"):
        t = extra.get(key)
        if t is not None and (not isinstance(t, torch.Tensor) or tuple(t.shape) != shape or not t.is_floating_point()):
            raise TrainError(f"{where}: {key} is not a hidden state of shape {list(shape)}; cannot resume")
