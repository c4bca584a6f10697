"""DistributedDataParallel on CPU: 2 gloo processes under torchrun give the one-process run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file

from musicrnn.train import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
# The same run as CLI options and as a TrainConfig (the CLI's defaults for the rest).
OPTIONS = {
    "hidden": 32,
    "layers": 2,
    "embed": 8,
    "dropout": 0.0,
    "batch_size": 8,
    "seq_len": 16,
    "lr": 0.01,
    "eval_every": 15,
}


def _cli_args(**kw) -> list[str]:
    args = []
    for k, v in {**OPTIONS, **kw}.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return args


def _torchrun(corpus: Path, out: Path, *extra: str, **kw) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "musicrnn",
        "train",
        str(corpus),
        "--out",
        str(out),
        "--scheme",
        "abc",
        *_cli_args(**kw),
        *extra,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _single(corpus: Path, out: Path, **kw):
    cfg = TrainConfig(
        corpus=str(corpus), out=str(out), scheme="abc", early_stop_patience=10, threads=1, **{**OPTIONS, **kw}
    )
    return train(cfg)


def _max_difference(a: Path, b: Path) -> float:
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    return max((wa[k].float() - wb[k].float()).abs().max().item() for k in wa)


def test_two_gloo_ranks_train_and_resume_like_one_process(corpus, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _single(corpus, one, max_steps=30)
    first = _torchrun(corpus, two, max_steps=30)
    # rank 0 alone reports and writes: one summary line, one log line per event
    assert first.stdout.count("chars/s=") == 1, first.stdout
    log = [json.loads(line) for line in (two / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log if e["event"] == "eval"] == [15, 30]
    # the same global batch (8 lanes: 4 per rank) and the same steps give the same weights
    assert _max_difference(one, two) < 1e-5
    state = load_file(str(two / "train_state.safetensors"))
    assert state["extra.state_h"].shape[1] == 8  # the saved hidden state covers both ranks' lanes

    # resume continues both runs the same way
    _single(corpus, one, max_steps=45, resume=True)
    _torchrun(corpus, two, "--resume", max_steps=45)
    assert _max_difference(one, two) < 1e-5
    assert json.loads((two / "train_state.json").read_text())["extra"]["step"] == 45
