"""Average a run's kept checkpoints around its lowest held-out loss into one model (`make model`).

    .venv/bin/python corpora/average_checkpoints.py outputs/models/folk corpora/folk_c.txt \
        --out outputs/models/folk_avg --around 2

A run trained with `--keep-evals` keeps every evaluation's model in RUN/checkpoints/step-N.
Past the first few epochs the weights wander around a minimum of the held-out loss: each
evaluation's model is one point of that walk, and the tunes it writes carry that point's
quirks (one checkpoint writes too many repeated bars, the next too few leaps).  The mean of
the weights of the checkpoints within --around evaluations of the lowest held-out loss
(five for --around 2) sits nearer the middle of that walk (checkpoint averaging, as in
stochastic weight averaging): measured on the folk positions run, its tunes meet every goal
of the music table where no single checkpoint did (docs/models.md).

The averaged model keeps the best checkpoint's metadata; its metrics gain `averaged_steps`,
and its held-out bits/char are measured again on CORPUS's held-out tunes (the run's split).
Reads only RUN's checkpoints and CORPUS; writes only --out (replaced only with --force)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def around_best(kept: list[tuple[int, float]], around: int) -> list[int]:
    """The steps within `around` evaluations of the lowest loss, of (step, loss) pairs."""
    if not kept:
        raise ValueError("no kept checkpoints")
    ordered = sorted(kept)
    best = min(range(len(ordered)), key=lambda i: (ordered[i][1], ordered[i][0]))
    return [step for step, _ in ordered[max(0, best - around) : best + around + 1]]


def held_out_loss(folder: Path) -> float:
    """The held-out bits/char a kept checkpoint's meta.json records (train --keep-evals)."""
    from encoders import UsageError

    try:
        loss = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["metrics"]["val_bpc"]
    except (OSError, ValueError, KeyError, TypeError):
        loss = None
    if not isinstance(loss, (int, float)) or isinstance(loss, bool):
        raise UsageError(f"{folder}: its meta.json records no held-out loss (metrics.val_bpc)")
    return float(loss)


def average_states(states: list[dict]) -> dict:
    """The element-wise mean of state dicts with the same tensors (computed in float32)."""
    import torch

    if not states:
        raise ValueError("nothing to average")
    names = set(states[0])
    for state in states[1:]:
        if set(state) != names or any(state[n].shape != states[0][n].shape for n in names):
            raise ValueError("the checkpoints do not share one architecture")
    return {n: torch.stack([s[n].float() for s in states]).mean(dim=0) for n in sorted(names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a training run's folder (trained with --keep-evals)")
    parser.add_argument("corpus", type=Path, help="the corpus the run was trained on (its held-out tunes)")
    parser.add_argument("--out", type=Path, required=True, help="the averaged model's folder")
    parser.add_argument("--around", type=int, default=2, help="evaluations each side of the best (default 2)")
    parser.add_argument("--force", action="store_true", help="replace --out if it holds a model")
    args = parser.parse_args()

    from encoders import read_text
    from musicrnn.checkpoint import load, save
    from musicrnn.data import split_pieces
    from musicrnn.evaluate import _split_settings, _stream, model_bits_per_char
    from musicrnn.pipeline import model_codec
    from musicrnn.train import KEPT, kept_checkpoints

    if args.around < 0:
        sys.exit("--around must be 0 or more")
    if (args.out / "meta.json").exists() and not args.force:
        sys.exit(f"{args.out} already holds a model (--force replaces it)")
    folders = {step: Path(path) for step, path in kept_checkpoints(args.run).items()}
    if not folders:
        sys.exit(f"{args.run / KEPT}: no kept checkpoints (train with --keep-evals)")
    losses = {s: held_out_loss(p) for s, p in folders.items()}
    steps = around_best(sorted(losses.items()), args.around)
    best = min(steps, key=losses.__getitem__)
    loaded = {s: load(str(folders[s])) for s in steps}
    chosen = list(loaded.values())
    if any(m.meta["vocab"] != chosen[0].meta["vocab"] for m in chosen):
        sys.exit("the checkpoints do not share one vocabulary")
    model = loaded[best].model
    model.load_state_dict(average_states([m.model.state_dict() for m in chosen]))
    model.eval()

    meta = dict(loaded[best].meta)
    fraction, split_seed = _split_settings(meta)
    _, held_out = split_pieces(read_text(args.corpus), val_fraction=fraction, seed=split_seed)
    codec, options = model_codec(loaded[best]), meta.get("scheme_options") or {}
    bits = model_bits_per_char(model, loaded[best].vocab, _stream(held_out), grammar=lambda: codec.grammar(options))
    meta["metrics"] = {**meta["metrics"], "val_bpc": bits, "averaged_steps": steps}
    save(args.out, model, meta)
    print(f"averaged steps {steps[0]}-{steps[-1]} ({len(steps)}; lowest held-out loss at {best}): {bits:.4f} bits/char")


if __name__ == "__main__":
    from encoders import UsageError

    try:
        main()
    except UsageError as error:  # a broken checkpoint: one line, not a traceback
        sys.exit(f"error: {error}")
