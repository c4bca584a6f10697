"""corpora/average_checkpoints.py: the mean of a run's kept checkpoints around its best."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from musicrnn.checkpoint import load, save
from musicrnn.model import CharLSTM, ModelConfig

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "corpora" / "average_checkpoints.py"


def _script():
    spec = importlib.util.spec_from_file_location("average_checkpoints", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@given(st.lists(st.floats(0.5, 3.0), min_size=1, max_size=30, unique=True), st.integers(0, 5))
def test_around_best_takes_the_window_centred_on_the_lowest_loss(losses, around):
    steps = [200 * (i + 1) for i in range(len(losses))]
    chosen = _script().around_best(list(zip(steps, losses)), around)
    best = steps[losses.index(min(losses))]
    assert best in chosen
    assert chosen == sorted(chosen) and len(set(chosen)) == len(chosen)
    i = steps.index(best)
    assert chosen == steps[max(0, i - around) : i + around + 1]  # consecutive evaluations, clipped at the ends


def test_around_best_refuses_an_empty_run():
    with pytest.raises(ValueError):
        _script().around_best([], 2)


def test_average_states_is_the_elementwise_mean_and_refuses_other_shapes():
    average_states = _script().average_states
    a = {"w": torch.tensor([1.0, 2.0]), "b": torch.tensor([0.0])}
    b = {"w": torch.tensor([3.0, 6.0], dtype=torch.float16), "b": torch.tensor([1.0])}
    mean = average_states([a, b])
    assert torch.equal(mean["w"], torch.tensor([2.0, 4.0])) and torch.equal(mean["b"], torch.tensor([0.5]))
    assert mean["w"].dtype == torch.float32  # half-precision weights are averaged in float32
    with pytest.raises(ValueError):
        average_states([a, {"w": torch.zeros(3), "b": torch.zeros(1)}])
    with pytest.raises(ValueError):
        average_states([a, {"w": torch.zeros(2)}])


def _kept_run(tmp_path: Path, losses: dict[int, float]) -> Path:
    """A run folder holding tiny kept checkpoints, each of constant weights (its step / 100)."""
    vocab = "\nX:1|abc"
    run = tmp_path / "run"
    for step, loss in losses.items():
        torch.manual_seed(0)
        model = CharLSTM(ModelConfig(vocab_size=len(vocab), hidden=8, layers=1, embed=4, dropout=0.0))
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(step / 100)
        meta = {"vocab": vocab, "scheme": "abc", "metrics": {"val_bpc": loss}, "hyperparameters": {"val_fraction": 0.5}}
        save(run / "checkpoints" / f"step-{step}", model, meta)
    return run


def test_the_script_writes_the_mean_of_the_window_and_its_held_out_loss(tmp_path):
    run = _kept_run(tmp_path, {200: 2.0, 400: 1.5, 600: 1.2, 800: 1.3, 1000: 1.4, 1200: 1.6})
    (run / "checkpoints" / "step-old").mkdir()  # a folder that is not a kept checkpoint is passed over
    corpus = tmp_path / "tunes.txt"
    corpus.write_text("X:1\n|abc|cba|\n\n" * 8)
    out = tmp_path / "averaged"
    command = [sys.executable, str(SCRIPT), str(run), str(corpus), "--out", str(out), "--around", "1"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    averaged = load(str(out))
    assert averaged.meta["metrics"]["averaged_steps"] == [400, 600, 800]
    for p in averaged.model.parameters():
        assert torch.allclose(p, torch.full_like(p, 6.0))  # (4 + 6 + 8) / 3
    assert averaged.meta["metrics"]["val_bpc"] > 0
    # never replaces a model without --force
    again = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert again.returncode != 0 and "--force" in again.stderr
    assert json.loads((out / "meta.json").read_text())["metrics"]["averaged_steps"] == [400, 600, 800]


def test_a_checkpoint_without_its_loss_is_a_one_line_error(tmp_path):
    run = _kept_run(tmp_path, {200: 2.0, 400: 1.5})
    (run / "checkpoints" / "step-400" / "meta.json").write_text("{}")
    corpus = tmp_path / "tunes.txt"
    corpus.write_text("X:1\n|abc|cba|\n\n" * 8)
    command = [sys.executable, str(SCRIPT), str(run), str(corpus), "--out", str(tmp_path / "averaged")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "step-400" in done.stderr and "val_bpc" in done.stderr
    assert not (tmp_path / "averaged").exists()
