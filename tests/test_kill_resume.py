"""kill -9 a real `musicrnn train` at random moments: nothing saved is ever half-written, and
`--resume` carries on to exactly the weights and optimizer state of a run never interrupted.

Every file train writes goes through musicrnn.atomic (temporary file, fsync, rename), and the
state --resume needs is one file (train_state.safetensors, its counters in the header), so
there is no moment at which a kill leaves a folder that does not load.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from musicrnn import checkpoint
from musicrnn.train import TrainConfig, train

REPO = Path(__file__).resolve().parent.parent
ARGS = {
    "hidden": 32,
    "layers": 1,
    "embed": 8,
    "batch_size": 8,
    "seq_len": 32,
    "max_steps": 500,
    "eval_every": 20,
    "lr": 0.01,
    "threads": 1,
    "random_seed": 7,
}


def _cli_args(corpus: Path, out: Path, resume: bool) -> list[str]:
    args = [sys.executable, "-m", "musicrnn", "train", str(corpus), "--out", str(out)]
    for key, value in ARGS.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args + (["--resume"] if resume else [])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120"}


def _log_lines(out: Path) -> int:
    try:
        return len((out / "train_log.jsonl").read_bytes().splitlines())
    except FileNotFoundError:
        return 0


def _check_folder_loads(out: Path) -> int | None:
    """Whatever a kill left must load: the model (when there is one) and the resume state."""
    if (out / checkpoint.META).exists() or (out / checkpoint.WEIGHTS).exists():
        loaded = checkpoint.load(str(out))
        assert loaded.config.hidden == ARGS["hidden"]
    if checkpoint.has_train_state(out):
        info = checkpoint.read_train_state_info(out)
        assert info["step"] % ARGS["eval_every"] == 0
        return info["step"]
    return None


def test_kill_9_at_random_moments_then_resume_matches_an_uninterrupted_run(corpus, tmp_path):
    rng = random.Random(os.environ.get("CI") and 1 or time.time_ns())
    out = tmp_path / "killed"
    kills, saved_steps = 0, []
    while kills < 3:
        resume = checkpoint.has_train_state(out)
        before = _log_lines(out)
        proc = subprocess.Popen(
            _cli_args(corpus, out, resume), env=_env(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            # wait until this process is training (it wrote to the log), then a random moment more
            deadline = time.monotonic() + 120
            while _log_lines(out) <= before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.5))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        if proc.returncode == 0:
            pytest.fail("the run finished before it could be killed; make it longer")
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
        kills += 1
        saved_steps.append(_check_folder_loads(out))
    assert any(s for s in saved_steps), f"no kill came after a save: {saved_steps}"

    done = subprocess.run(
        _cli_args(corpus, out, resume=True), env=_env(), cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"steps={ARGS['max_steps']}" in done.stdout

    # the same run, never interrupted (in this process: same code, same thread count)
    ref = tmp_path / "uninterrupted"
    train(TrainConfig(corpus=str(corpus), out=str(ref), scheme="abc", dropout=0.1, early_stop_patience=10, **ARGS))
    a = load_file(str(ref / checkpoint.TRAIN_STATE))
    b = load_file(str(out / checkpoint.TRAIN_STATE))
    assert a.keys() == b.keys()
    for name in a:
        if name.startswith(("model.", "optim.", "extra.state_")):
            assert torch.equal(a[name], b[name]), f"{name} differs after {kills} kills (saved at {saved_steps})"
    meta_a, meta_b = checkpoint.load(str(ref)).meta, checkpoint.load(str(out)).meta
    assert meta_a["metrics"]["best_val_bpc"] == meta_b["metrics"]["best_val_bpc"]
    ref_weights = load_file(str(ref / checkpoint.WEIGHTS))
    for name, t in load_file(str(out / checkpoint.WEIGHTS)).items():
        assert torch.equal(t, ref_weights[name]), name
    # the log of the killed run shows each session starting where the last save was
    steps = [
        json.loads(line)["step"]
        for line in (out / "train_log.jsonl").read_text().splitlines()
        if line.strip().endswith("}")
    ]
    assert steps[-1] == ARGS["max_steps"]


def test_a_model_folder_is_never_replaced_without_force(corpus, tmp_path):
    from typer.testing import CliRunner

    from musicrnn.cli import app

    def cli(*extra: str):
        return CliRunner().invoke(app, _cli_args(corpus, out, resume=False)[3:] + list(extra))

    out = tmp_path / "model"
    train(TrainConfig(corpus=str(corpus), out=str(out), scheme="abc", **{**ARGS, "max_steps": 10}))
    weights = (out / checkpoint.WEIGHTS).read_bytes()
    result = cli()
    assert result.exit_code == 2 and "already holds a model" in result.output and "--force" in result.output
    assert (out / checkpoint.WEIGHTS).read_bytes() == weights
    # a folder with only a model (no run to resume, e.g. an exported one) is protected too
    (out / checkpoint.TRAIN_STATE).unlink()
    (out / checkpoint.TRAIN_STATE_JSON).unlink()
    result = cli()
    assert result.exit_code == 2 and "already holds a model" in result.output
    result = cli("--resume")
    assert result.exit_code == 2 and "nothing to resume" in result.output
    assert (out / checkpoint.WEIGHTS).read_bytes() == weights
    result = cli("--force", "--max-steps", "10", "--random-seed", "8")
    assert result.exit_code == 0, result.output
    assert (out / checkpoint.WEIGHTS).read_bytes() != weights


def test_a_nan_loss_is_skipped_and_reported_on_the_command_line(corpus, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import musicrnn.train as train_mod
    from musicrnn.cli import app

    real = train_mod.F.cross_entropy
    calls = {"n": 0}

    def poisoned(*args, **kwargs):  # the 5th batch's loss is NaN, as from a poisoned batch
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss * float("nan") if calls["n"] == 5 else loss

    monkeypatch.setattr(train_mod.F, "cross_entropy", poisoned)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, _cli_args(corpus, out, resume=False)[3:] + ["--max-steps", "20"])
    assert result.exit_code == 0, result.output
    assert "NaN/inf; step skipped, learning rate now x0.5 (1 so far)" in result.output
    assert "steps=20" in result.output  # the skipped batch did not count as a step
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    nan = [e for e in log if e["event"] == "nan"]
    assert len(nan) == 1 and nan[0]["lr_scale"] == 0.5 and nan[0]["step"] == 4
    state = checkpoint.read_train_state_info(out)
    assert state["nan_skips"] == 1 and state["lr_scale"] == 0.5  # and --resume keeps the lowered rate
    weights = checkpoint.load(str(out)).model.state_dict()
    assert all(torch.isfinite(t).all() for t in weights.values())


def test_an_exploding_loss_is_skipped_and_reported(corpus, tmp_path, monkeypatch):
    import musicrnn.train as train_mod

    real = train_mod.F.cross_entropy
    calls = {"n": 0, "poison": None}

    def spiking(*args, **kwargs):  # one batch's loss 40x the usual: finite, but a diverging run
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss * 40 if calls["n"] == calls["poison"] else loss

    monkeypatch.setattr(train_mod.F, "cross_entropy", spiking)
    cfg = dict(corpus=str(corpus), scheme="abc", **{**ARGS, "max_steps": 120, "eval_every": 1000})
    clean = []
    result = train(TrainConfig(out=str(tmp_path / "clean"), **cfg), on_progress=clean.append)
    assert result.nan_skips == 0 and not [e for e in clean if e["event"] == "nan"]  # no false alarm
    calls.update(n=0, poison=90)
    events = []
    result = train(TrainConfig(out=str(tmp_path / "spiked"), **cfg), on_progress=events.append)
    skipped = [e for e in events if e["event"] == "nan"]
    assert result.nan_skips == 1 and len(skipped) == 1 and "exploded" in skipped[0]["reason"]
    assert skipped[0]["lr_scale"] == 0.5 and result.steps == 120
