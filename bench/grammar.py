"""How much the ABC grammar costs the sampler, as ratios measured in one run.

    .venv/bin/python bench/grammar.py

Per character of real tunes: the grammar's allowed() + feed() (what validity-guided sampling
adds per sampled character) against the tokenizer reading the same text, and against one step
of the bundled folk model for a batch of 64 streams (what sampling costs anyway)."""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch

from encoders import split_stream
from encoders.abc.grammar import AbcGrammar
from encoders.abc.tokens import tokenize
from musicrnn.checkpoint import load


def per_char(fn, texts: list[str]) -> float:
    chars = sum(len(t) for t in texts)
    start = time.perf_counter()
    for text in texts:
        fn(text)
    return (time.perf_counter() - start) / chars


def walk_grammar(text: str) -> None:
    g = AbcGrammar(min_bars=1, phrase=1)
    for ch in text:
        g.allowed()
        g.feed(ch)


def main() -> None:
    with open(os.path.join(os.path.dirname(__file__), "..", "corpora", "folk.txt"), encoding="utf-8") as fh:
        texts = split_stream(fh.read())[:300]
    grammar = per_char(walk_grammar, texts)
    tokens = per_char(tokenize, texts)
    loaded = load("folk")
    model = loaded.model.eval()
    ids = torch.zeros(64, 1, dtype=torch.long)
    where = ids if model.config.positions else None  # a model that reads bar positions is told them
    with torch.inference_mode():
        state = None
        start = time.perf_counter()
        for _ in range(200):
            _, state = model(ids, state, where)
        step = (time.perf_counter() - start) / 200
    print(f"grammar, allowed() + feed():   {grammar * 1e6:8.2f} us per character")
    print(
        f"tokenizer:                     {tokens * 1e6:8.2f} us per character  (grammar / tokenizer: "
        f"{grammar / tokens:.1f}x)"
    )
    print(
        f"folk model, one step of 64:    {step * 1e6:8.0f} us  (64 grammar steps / model step: "
        f"{64 * grammar / step:.2f})"
    )


if __name__ == "__main__":
    main()
