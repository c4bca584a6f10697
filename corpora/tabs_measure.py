r"""Measure a tabs model as a guitarist would: its tabs written as Guitar Pro 5, read back.

    .venv/bin/python corpora/tabs_measure.py --model outputs/models/tabs \
        --corpus corpora/tabs_guitar.txt --num 30 --work /tmp/tabs_measure

`--num` tabs are generated (`musicrnn.generate`, the grammar on, as a user gets them)
and written as ``.gp5``; as many held-out real pieces of the corpus (the training run's
own split) are written the same way.  Each file is read back with pyguitarpro and these
figures are printed side by side (a markdown table):

* tuning one the corpus has: the strings read back, low to high, are one of the tunings
  of the corpus's headers;
* notes within the guitar's range: pitch from the lowest open string to the top string's
  24th fret, and within E1..E6 (MIDI 28..88);
* beats with two or more notes: of the beats that strike a note;
* beats whose fretted notes are more than 4 frets apart (out of one hand's reach);
* measures of the piece's usual length: of the measures between the first and the last
  (a pickup and an ending may be short), those whose length is the piece's most common;
* measures repeating an earlier one of the same piece (the same frets on the same
  strings at the same places), of the measures that strike a note.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOW, HIGH = 28, 88


def figures(path: Path) -> dict:
    """The counts of one Guitar Pro file's first track (see the module docstring)."""
    import guitarpro

    song = guitarpro.parse(str(path))
    track = song.tracks[0]
    tuning = tuple(s.value for s in reversed(track.strings))
    top = max(tuning) + 24
    f = Counter()
    f["tuning"] = " ".join(_names(tuning))
    lengths, contents = [], []
    for m in track.measures:
        lengths.append(m.length)
        content = []
        for voice in m.voices[:1]:
            for beat in voice.beats:
                struck = [n for n in beat.notes if n.type == guitarpro.NoteType.normal]
                if not struck:
                    continue
                pitches = [track.strings[n.string - 1].value + track.offset + n.value for n in struck]
                frets = [n.value for n in struck if n.value > 0]
                f["notes"] += len(struck)
                f["notes in range"] += sum(min(tuning) <= p <= top + track.offset and LOW <= p <= HIGH for p in pitches)
                f["beats"] += 1
                f["chord beats"] += len(struck) > 1
                f["wide beats"] += bool(frets) and max(frets) - min(frets) > 4
                content += [(beat.start - m.start, n.string, n.value) for n in struck]
        contents.append(tuple(sorted(content)))
    inner = lengths[1:-1]
    if inner:
        usual = Counter(inner).most_common(1)[0][0]
        f["inner measures"] += len(inner)
        f["usual measures"] += sum(x == usual for x in inner)
    seen = set()
    for c in contents:
        if not c:
            continue
        f["struck measures"] += 1
        f["repeated measures"] += c in seen
        seen.add(c)
    return f


def _names(tuning):
    from encoders.tab import pitch_name

    return [pitch_name(p) for p in tuning]


def summarize(files: list[Path], tunings: set[str]) -> dict:
    total = Counter()
    pieces_ok = 0
    for path in files:
        f = figures(path)
        pieces_ok += f.pop("tuning") in tunings
        total.update(f)

    def share(a, b):
        return total[a] / total[b] if total[b] else float("nan")

    return {
        "pieces": len(files),
        "tuning one the corpus has": pieces_ok / len(files) if files else float("nan"),
        "notes": total["notes"],
        "notes within the guitar's range": share("notes in range", "notes"),
        "beats with 2+ notes": share("chord beats", "beats"),
        "beats with frets > 4 apart": share("wide beats", "beats"),
        "measures of the usual length": share("usual measures", "inner measures"),
        "measures repeating an earlier one": share("repeated measures", "struck measures"),
    }


def held_out(corpus: Path, model: Path, num: int, folder: Path) -> list[Path]:
    from encoders.tab import COLUMNS
    from musicrnn.data import split_pieces
    from musicrnn.evaluate import _split_settings

    meta = json.loads((model / "meta.json").read_text()) if (model / "meta.json").is_file() else {}
    _, val = split_pieces(corpus.read_text(encoding="utf-8"), *_split_settings(meta))
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, text in enumerate(val[:num]):
        data, _ = COLUMNS.piece_file(text, ".gp5", title=f"real-{i + 1}")
        path = folder / f"real-{i + 1}.gp5"
        path.write_bytes(data)
        out.append(path)
    return out


def main(argv: list[str] | None = None) -> int:
    from encoders.tab import COLUMNS
    from musicrnn import pipeline
    from musicrnn.checkpoint import load

    ap = argparse.ArgumentParser(prog="corpora/tabs_measure.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tabs")
    ap.add_argument("--corpus", default=str(ROOT / "corpora" / "tabs_guitar.txt"))
    ap.add_argument("--num", type=int, default=30)
    ap.add_argument("--length", type=int, default=4000)
    ap.add_argument("--random-seed", type=int, default=0)
    ap.add_argument("--bar-candidates", type=int, default=None)
    ap.add_argument("--work", default="/tmp/tabs_measure")
    args = ap.parse_args(argv)
    corpus, work = Path(args.corpus), Path(args.work)
    tunings = set(COLUMNS.corpus_options(corpus.read_text(encoding="utf-8")).get("tunings", []))
    loaded = load(args.model)
    gen = pipeline.generate(
        loaded,
        num=args.num,
        length=args.length,
        random_seed=args.random_seed,
        bar_candidates=args.bar_candidates,
        out=str(work / "gen" / "tab.gp5"),
        force=True,
    )
    generated = sorted(p for p in gen.written if p.suffix == ".gp5")
    real = held_out(corpus, Path(loaded.path), args.num, work / "real")
    rows = [summarize(generated, tunings), summarize(real, tunings)]
    print(f"| {args.model} | generated | held-out real |\n|---|---|---|")
    for key in rows[0]:
        a, b = rows[0][key], rows[1][key]
        fmt = (lambda v: f"{v:.1%}") if isinstance(a, float) else (lambda v: f"{v:,}")
        print(f"| {key} | {fmt(a)} | {fmt(b)} |")
    print(f"repaired pieces: {gen.repaired} of {len(gen)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
