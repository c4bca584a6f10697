"""The fine-tuning comparison of the README (issue 17): a composer's 50 tunes, as a style the
bundled folk model never trained on, and three models measured on held-out tunes of that style.

    python bench/fine_tune.py prepare OUT      # OUT/mine.txt (50 tunes), OUT/test.txt (held out)
    python bench/fine_tune.py score OUT MODEL...  # held-out bits/char of each model on OUT/test.txt
    python bench/fine_tune.py all OUT          # prepare, both trainings (one thread), the scores

The set: the 6/8 tunes of the folk model's own validation split (corpora/folk.txt split as the
model's meta.json says, so the base never trained on any of them; a base trained at home on C
trained on corpora/folk_c.txt, the same tunes moved to C, split alike), in corpus order, in
their own keys: the first 50 are "mine", the rest (those written with characters of the 50)
the held-out test.  A model at home (the base, and the base fine-tuned) scores the test tunes
moved home, as it reads them.
`make fine-tune` runs it all: the base, the base fine-tuned with `train --init-from folk`, and
a model of the base's size trained from scratch on the 50 tunes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import encoders
from musicrnn.checkpoint import load, resolve
from musicrnn.data import fingerprint_file, split_pieces
from musicrnn.evaluate import model_bits_per_char

CORPUS = Path("corpora/folk.txt")
MINE = 50


HOME_CORPUS = Path("corpora/folk_c.txt")
"""The corpus of a folk model trained at home on C: folk.txt tune for tune (the same split)."""


def prepare(out: Path) -> None:
    meta = json.loads(Path(resolve("folk"), "meta.json").read_text())
    trained_on = HOME_CORPUS if "home" in meta.get("scheme_options", {}) else CORPUS
    if fingerprint_file(trained_on) != meta["corpus"]["fingerprint"]:
        sys.exit(f"{trained_on} is not the corpus the folk model was trained on (make corpus {trained_on})")
    hp = meta["hyperparameters"]
    _, val = split_pieces(CORPUS.read_text(encoding="utf-8"), hp["val_fraction"], hp["split_seed"])
    jigs = [t for t in val if "\nM:6/8\n" in t]
    mine = jigs[:MINE]
    chars = set("".join(mine))
    test = [t for t in jigs[MINE:] if chars.issuperset(t)]  # every model can score every character
    out.mkdir(parents=True, exist_ok=True)
    (out / "mine.txt").write_text(encoders.join_stream(mine), encoding="utf-8")
    (out / "test.txt").write_text(encoders.join_stream(test), encoding="utf-8")
    print(f"{out}/mine.txt: {len(mine)} tunes; {out}/test.txt: {len(test)} held-out tunes")


def score(out: Path, models: list[str]) -> None:
    text = (out / "test.txt").read_text(encoding="utf-8")
    for name in models:
        loaded = load(name)
        # a model at home on C reads the tunes moved home, as generate and its training give them
        options = loaded.meta.get("scheme_options") or {}
        codec = encoders.get(loaded.scheme)
        read = encoders.join_stream([codec.to_home(t, options)[0] for t in encoders.split_stream(text)])
        # a model that reads its bar positions (train --bar-positions) is told them by the grammar
        bits = model_bits_per_char(loaded.model, loaded.vocab, read, grammar=lambda: codec.grammar(options))
        print(f"{name}: {bits:.3f} bits/char")


TRAINING = {"threads": 1, "batch_size": 16, "max_minutes": 8, "force": True}
"""Both runs: one thread, 16 tunes a batch (45 train), at most 8 minutes (early stopping ends them sooner)."""


def run_all(out: Path) -> None:
    import musicrnn

    prepare(out)
    mine = out / "mine.txt"
    for name, settings in (("tuned", {"init_from": "folk"}), ("scratch", {"eval_every": 20, "val_fraction": 0.2})):
        trained = musicrnn.train_model(mine, out / name, **TRAINING, **settings)
        print(f"{name}: {trained.result.steps} steps, best held-out (own split) {trained.result.best_val_bpc:.3f}")
    score(out, ["folk", str(out / "tuned"), str(out / "scratch")])


if __name__ == "__main__":
    command, folder, *rest = sys.argv[1:]
    {"prepare": lambda: prepare(Path(folder)), "score": lambda: score(Path(folder), rest)}.get(
        command, lambda: run_all(Path(folder))
    )()
