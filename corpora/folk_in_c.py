"""The folk corpus with every tune moved to tonic C, one for one (`make corpus-c`).

    .venv/bin/python corpora/folk_in_c.py corpora/folk.txt corpora/folk_c.txt
    .venv/bin/python corpora/folk_in_c.py --meta outputs/models/folk corpora/folk.txt


Each tune of the stream is moved the nearer way so its tonic is C, keeping its mode
(`encoders.abc.normalize.transpose_tune`: every note read as abc2midi plays it, spelled in
the new key); K:none tunes stay as they are.  The tunes keep their order and count, so a
model trained on the result holds out exactly the tunes a model of the original holds out
(the split is by piece index and seed).  Why: the key is a label a char-LSTM must carry
for hundreds of characters to know which note is home; with every tune at home on C, the
tonic is one letter for all 11,000 tunes, and `generate` moves each tune to a key drawn from
the corpus's keys of its mode (or the key asked for)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def mark_home(model: Path, corpus: Path) -> None:
    """Tell a model trained on the moved corpus that it is at home on C, and which keys the
    tunes of each mode were in before (scheme option "home", `encoders.abc.transpose.home_of`):
    `generate` then moves seeds home and its tunes back out."""
    import json

    from encoders import read_text
    from encoders.abc.transpose import HOME_TONIC, home_keys, home_of
    from musicrnn.data import split_stream

    meta_path = model / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    options = meta.setdefault("scheme_options", {})
    options["home"] = {"tonic": HOME_TONIC, "keys": home_keys(split_stream(read_text(corpus)))}
    home_of(options)  # what the loader will accept
    meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"{meta_path}: at home on {HOME_TONIC}, keys of {sum(map(sum, options['home']['keys'].values()))} tunes")


def main(argv: list[str]) -> int:
    from encoders import read_text
    from encoders.abc.normalize import interval_to_c, transpose_tune
    from musicrnn.data import split_stream

    if argv[:1] == ["--meta"]:
        mark_home(Path(argv[1]), Path(argv[2]))
        return 0
    src, dst = Path(argv[0]), Path(argv[1])
    pieces = split_stream(read_text(src))
    out = [transpose_tune(p, interval_to_c(p)) for p in pieces]
    dst.write_text("".join(p.rstrip("\n") + "\n\n" for p in out), encoding="utf-8")
    moved = sum(a != b for a, b in zip(pieces, out))
    print(f"wrote {dst}: {len(out)} tunes, {moved} moved to tonic C")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
