"""Tiny training runs on a synthetic corpus: learning, resume, refusing to overwrite, Ctrl-C, NaN."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import musicrnn.train as train_mod
from musicrnn import checkpoint
from musicrnn.data import Batches, prepare
from musicrnn.train import OutputExistsError, TrainConfig, TrainError, summary_line, train


def _cfg(corpus, out, **kw):
    base = {
        "corpus": str(corpus),
        "out": str(out),
        "hidden": 48,
        "layers": 2,
        "embed": 8,
        "dropout": 0.0,
        "batch_size": 8,
        "seq_len": 32,
        "lr": 1e-2,
        "warmup_steps": 5,
        "max_steps": 120,
        "eval_every": 40,
        "eval_batches": None,
        "threads": 1,
        "progress_every": 10,
        "val_fraction": 0.1,
    }
    base.update(kw)
    return TrainConfig(**base)


def test_tiny_run_learns_and_writes_a_loadable_model(corpus, tmp_path):
    events = []
    result = train(_cfg(corpus, tmp_path / "out"), on_progress=events.append)
    assert not result.interrupted and result.steps == 120 and result.stop_reason == "max_steps"
    evals = [e["val_loss"] for e in events if e["event"] == "eval"]
    assert evals[0] > result.best_val_bpc
    assert result.best_val_bpc < 0.9, result.best_val_bpc  # uniform over 10 chars is 3.3 bits
    progress = [e for e in events if e["event"] == "progress"]
    assert {"step", "max_steps", "loss", "val_loss", "chars_per_s", "eta_s", "lr"} <= set(progress[-1])
    assert "chars/s=" in summary_line(result) and str(result.steps) in summary_line(result)

    loaded = checkpoint.load(str(tmp_path / "out"))
    meta = loaded.meta
    assert meta["scheme"] == "abc" and meta["metrics"]["best_val_bpc"] == pytest.approx(result.best_val_bpc)
    assert meta["corpus"]["fingerprint"] == prepare(corpus, 0.1, 1234).meta["fingerprint"]
    assert meta["hyperparameters"]["hidden"] == 48
    log = [json.loads(line) for line in (tmp_path / "out" / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == len(events)


def test_scheme_options_are_read_from_the_corpus_while_it_is_prepared(corpus, tmp_path, monkeypatch):
    import encoders

    abc = encoders.get("abc")
    given = []
    real = abc.corpus_options

    def corpus_options(pieces):
        given.append(pieces)
        return real(pieces)

    monkeypatch.setattr(abc, "corpus_options", corpus_options)
    monkeypatch.setattr(encoders, "read_text", None)  # the stream is never read whole
    tunes = tmp_path / "tunes.txt"
    tunes.write_text(
        "\n".join(
            f"X:{i}\nM:{'6/8' if i % 2 else '2/4'}\nR:{'jig' if i % 2 else 'polka'}\nK:C\n{'abc|' * 3}\n"
            for i in range(20)
        ),
        encoding="utf-8",
    )
    train(_cfg(tunes, tmp_path / "out", max_steps=2, eval_every=2))
    assert len(given) == 1 and not isinstance(given[0], str)  # the pieces, streamed
    meta = checkpoint.load(str(tmp_path / "out")).meta
    assert meta["scheme_options"] == {"meters": ["2/4", "6/8"], "rhythms": ["jig", "polka"], "modes": ["maj"]}
    assert meta["scheme_options"] == real(tunes.read_text())

    # given options are kept as given (and nothing is read for them), on resume too
    options = {"meters": ["6/8"], "rhythms": ["jig"]}
    given.clear()
    train(_cfg(corpus, tmp_path / "given", max_steps=2, eval_every=2, scheme_options=options))
    train(_cfg(corpus, tmp_path / "given", max_steps=4, eval_every=2, scheme_options=options, resume=True))
    assert not given and checkpoint.load(str(tmp_path / "given")).meta["scheme_options"] == options


def test_transpose_trains_on_more_keys_where_the_scheme_can(corpus, tmp_path):
    tunes = tmp_path / "keys.txt"
    tunes.write_text(
        "\n".join(
            f"X:{i}\nT:A tune, it's\nM:6/8\nK:{'GDA'[i % 3]}\nDEF GAB|cde fga|bag fed|cBA GFE|\n" for i in range(20)
        ),
        encoding="utf-8",
    )
    train(_cfg(tunes, tmp_path / "out", max_steps=2, eval_every=2, transpose=2))
    data = prepare(tunes, 0.1, 1234, augment_name="transpose=2")  # the files that run made
    assert 0 < data.meta["augmented_pieces"] <= 2 * data.meta["train_pieces"]
    with pytest.raises(TrainError, match="columns scheme cannot transpose"):  # tabs: not yet
        train(_cfg(corpus, tmp_path / "tabs", scheme="columns", transpose=2))


def test_out_is_never_replaced_without_force(corpus, tmp_path):
    out = tmp_path / "out"
    train(_cfg(corpus, out, max_steps=10, eval_every=10))
    before = (out / "model.safetensors").read_bytes()
    with pytest.raises(OutputExistsError, match="already holds a model"):
        train(_cfg(corpus, out, max_steps=10, eval_every=10, random_seed=2))
    assert (out / "model.safetensors").read_bytes() == before
    result = train(_cfg(corpus, out, max_steps=10, eval_every=10, random_seed=2, force=True))
    assert result.steps == 10 and (out / "model.safetensors").read_bytes() != before
    with pytest.raises(TrainError, match="nothing to resume"):
        train(_cfg(corpus, tmp_path / "fresh", resume=True))


def test_interrupt_then_resume_matches_an_uninterrupted_run(corpus, tmp_path):
    cfg = {"max_steps": 60, "eval_every": 20}
    full = train(_cfg(corpus, tmp_path / "full", **cfg))

    def interrupt(event):
        if event["event"] == "progress" and event["step"] == 30:
            raise KeyboardInterrupt

    part = train(_cfg(corpus, tmp_path / "part", **cfg), on_progress=interrupt)
    assert part.interrupted and part.steps == 30 and "interrupted" in summary_line(part)
    state = json.loads((tmp_path / "part" / "train_state.json").read_text())["extra"]
    assert state["step"] == 30

    # the saved data position gives the same next batch as a fresh Batches advanced 30 steps
    data = prepare(corpus, 0.1, 1234)
    newline = int(data.vocab.encode("\n")[0])
    ref = Batches(data.train, 8, 32, newline, seed=1234)
    for _ in range(30):
        ref.next()
    restored = Batches(data.train, 8, 32, newline, seed=1234)
    restored.set_position(state["data_position"])
    assert torch.equal(restored.next().x, ref.next().x)

    events = []
    resumed = train(_cfg(corpus, tmp_path / "part", resume=True, **cfg), on_progress=events.append)
    assert events[0]["step"] == 40 and resumed.steps == 60  # carried on from step 30
    a = load_file(str(tmp_path / "full" / "train_state.safetensors"))
    b = load_file(str(tmp_path / "part" / "train_state.safetensors"))
    for name in a:
        if name.startswith("model."):
            assert torch.equal(a[name], b[name]), name
    assert resumed.best_val_bpc == full.best_val_bpc

    with pytest.raises(TrainError, match="hidden|model"):
        train(_cfg(corpus, tmp_path / "part", resume=True, hidden=32, **cfg))


def test_nan_loss_skips_the_step_and_lowers_lr(corpus, tmp_path, monkeypatch):
    real = train_mod.F.cross_entropy
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        loss = real(*args, **kwargs)
        calls["n"] += 1
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(train_mod.F, "cross_entropy", flaky)
    events = []
    result = train(
        _cfg(corpus, tmp_path / "out", max_steps=20, eval_every=20, warmup_steps=0), on_progress=events.append
    )
    assert result.nan_skips == 1 and result.steps == 20
    nan = [e for e in events if e["event"] == "nan"]
    assert len(nan) == 1 and nan[0]["lr_scale"] == 0.5
    lrs = [e["lr"] for e in events if e["event"] == "progress"]
    assert lrs[0] < 1e-2 * 0.5 + 1e-9
    assert result.best_val_bpc is not None


def test_keep_evals_keeps_every_evaluations_model_and_force_clears_them(corpus, tmp_path):
    out = tmp_path / "out"
    events = []
    train(_cfg(corpus, out, max_steps=60, eval_every=20, keep_evals=True), on_progress=events.append)
    evals = {e["step"]: e["val_loss"] for e in events if e["event"] == "eval"}
    kept = sorted(p.name for p in (out / train_mod.KEPT).iterdir())
    assert kept == sorted(f"step-{step}" for step in evals) and len(kept) == 3
    (out / train_mod.KEPT / "step-old").mkdir()  # not a kept model: the reader passes it over
    assert list(train_mod.kept_checkpoints(out)) == sorted(evals)  # what the checkpoint scripts read
    (out / train_mod.KEPT / "step-old").rmdir()
    for step, val in evals.items():
        loaded = checkpoint.load(str(out / train_mod.KEPT / f"step-{step}"))
        assert loaded.meta["metrics"]["val_bpc"] == pytest.approx(val) and loaded.meta["metrics"]["steps"] == step
        assert "best_step" not in loaded.meta["metrics"]  # a kept model does not claim to be the run's best
    last = checkpoint.load(str(out / train_mod.KEPT / "step-60")).model.state_dict()
    first = checkpoint.load(str(out / train_mod.KEPT / "step-20")).model.state_dict()
    assert any(not torch.equal(last[k], first[k]) for k in last)  # each holds its own weights
    train(_cfg(corpus, out, max_steps=10, eval_every=10, force=True))
    assert not (out / train_mod.KEPT).exists()  # a new run does not inherit the old run's models
    assert "keep_evals" not in checkpoint.load(str(out)).meta["hyperparameters"]
