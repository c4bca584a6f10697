"""Rows against columns: the guitar-tab experiment, redone at the same budget on the same tunes.

Trains one char-LSTM per scheme for the same wall-clock minutes on the same fretted
folk tunes (corpora/tabs_rows.txt and corpora/tabs.txt hold the same pieces in the
same order, so the held-out split is the same tunes), then prints one table:

* bits per time step on the held-out tunes: the model's bits per character times
  the held-out characters, divided by the held-out time steps (columns of the tab),
  which both schemes share, unlike characters;
* the share of 50 free samples (no grammar) that are well-formed: they decode
  with no repair; and, for columns, with its grammar;
* training steps and time.

    .venv/bin/python bench/tab_schemes.py --minutes 8
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import encoders
from encoders.tab import parse_columns, rows_to_columns
from musicrnn.checkpoint import load
from musicrnn.data import split_pieces
from musicrnn.evaluate import model_bits_per_char
from musicrnn.sample import generate_pieces
from musicrnn.train import TrainConfig, train

CORPORA = {"rows": "corpora/tabs_rows.txt", "columns": "corpora/tabs.txt"}


def time_steps(piece_text: str, scheme: str) -> int:
    """Columns (time steps) of one piece, whatever its scheme."""
    columns = piece_text if scheme == "columns" else rows_to_columns(piece_text)
    tab, _ = parse_columns(columns)
    return sum(1 for system in tab.systems for event in system if isinstance(event, tuple))


def run(scheme: str, minutes: float, out_root: str, samples: int, train_again: bool = True) -> dict:
    codec = encoders.get(scheme)
    corpus = CORPORA[scheme]
    out = os.path.join(out_root, scheme)
    cfg = TrainConfig(
        corpus=corpus,
        out=out,
        scheme=scheme,
        hidden=256,
        layers=2,
        lr=3e-3,
        max_steps=100_000,
        max_minutes=minutes,
        eval_every=200,
        early_stop_patience=None,
        random_seed=1,
        force=True,
    )
    if train_again or not os.path.exists(os.path.join(out, "meta.json")):
        train(cfg)
    loaded = load(out)
    metrics = loaded.meta["metrics"]
    text = encoders.read_text(corpus)
    _, val = split_pieces(text, cfg.val_fraction, cfg.split_seed)
    val_text = encoders.join_stream(val)
    bpc = model_bits_per_char(loaded.model, loaded.vocab, val_text)
    steps = sum(time_steps(p, scheme) for p in val)
    row = {
        "scheme": scheme,
        "val_pieces": len(val),
        "bits_per_char": bpc,
        "chars": len(val_text),
        "time_steps": steps,
        "bits_per_step": bpc * len(val_text) / steps,
        "train_steps": metrics["steps"],
        "train_seconds": round(metrics["train_seconds"]),
    }
    for free in (True, False):
        if not free and codec.grammar() is None:
            continue
        # A length far above the longest tune (rows ~10k chars), so the cap does not judge.
        texts = generate_pieces(loaded, codec, num=samples, length=20_000, temperature=1.0, random_seed=0, free=free)
        ok = [codec.decode(t) for t in texts]
        row["well_formed_free" if free else "well_formed_grammar"] = sum(
            d.clean and bool(d.piece.notes) for d in ok
        ) / len(ok)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=8.0)
    ap.add_argument("--out", default="outputs/tab_schemes")
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--no-train", action="store_true", help="measure the models already in --out")
    args = ap.parse_args()
    rows = [run(s, args.minutes, args.out, args.samples, not args.no_train) for s in ("rows", "columns")]
    print(
        f"{'scheme':8} {'bits/step':>9} {'bits/char':>9} {'held-out steps':>14} "
        f"{'well-formed free':>16} {'with grammar':>12} {'train steps':>11} {'seconds':>7}"
    )
    for r in rows:
        grammar = f"{100 * r['well_formed_grammar']:.0f}%" if "well_formed_grammar" in r else "-"
        print(
            f"{r['scheme']:8} {r['bits_per_step']:9.3f} {r['bits_per_char']:9.3f} {r['time_steps']:14,} "
            f"{100 * r['well_formed_free']:15.0f}% {grammar:>12} {r['train_steps']:11,} {r['train_seconds']:7}"
        )
    print(f"columns / rows, bits per time step: {rows[1]['bits_per_step'] / rows[0]['bits_per_step']:.3f}")
    json.dump(rows, sys.stderr, indent=1)


if __name__ == "__main__":
    main()
