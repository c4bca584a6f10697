"""The reference ABC player, abc2midi, and how well our player agrees with it.

`abc2midi_run(text)` plays one tune with abc2midi (Debian package ``abcmidi``) in
a temporary directory and returns an `Abc2midiResult`: the errors and warnings
it printed (``Error in line-char N-M : msg`` lines, as `Problem`s) and the melody
notes of the MIDI file it wrote, read with mido, as (pitch, onset, duration)
tuples in quarter-note beats (ticks / the file's ticks_per_beat).

What is compared, and why it is fair.  abc2midi *performs* some markings that
our player deliberately does not (it writes the notes as notated):

* chord symbols ("Am") become an accompaniment on other channels: abc2midi runs
  with ``-NGUI`` so it writes none;
* grace notes steal time from the next note: both players get the tune with
  grace groups ``{...}`` removed (abc2midi also runs with ``-NGRA``);
* decorations change notes: ``~`` and ``T``/``!trill!`` become ornaments, ``.``
  (staccato) halves a note, fermatas lengthen one: `comparable_text` removes
  every decoration token (``-NFER`` too) before either player sees the tune;
* chord notes are spread 10 ticks apart ("chord attack"): a ``%%MIDI
  chordattack 0`` line is put before the K: line;
* every note starts 1 tick late (abc2midi's habit): onsets and durations are
  rounded to 1/`GRID` beat (5 ticks at 480 per beat) before comparing.

`note_f1(ref, ours)` is the F1 score of the two multisets of (pitch, onset,
duration) after that rounding (a note matches one of the other side exactly;
times equal within `TOLERANCE` beat after rounding).

`bar_warnings(result)` lists abc2midi's bar-length warnings ("Track 0 Bar 1 has
11 time units while the time signature has 6 in repeat"); `abc2midi_bars_ok(text)`
is True when abc2midi prints none for a tune: what `Decoded.bars_ok` of our
player must say (None there, for M:none, counts as no warning).

Run ``python -m tools.reference_abc --sample 500`` to measure agreement on
random tunes of the folk corpus (the ABC files inside music21's wheel): mean
F1, the share of tunes with identical notes, the tunes that failed, and the
share of tunes where our `bars_ok` agrees with abc2midi's bar warnings.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

from encoders.abc.tokens import tokenize
from encoders.piece import Problem

ABC2MIDI = shutil.which("abc2midi") or "/usr/bin/abc2midi"
GRID = 96
"""Onsets and ends are rounded to 1/GRID beat (5 ticks at 480 per beat) before comparing."""
TOLERANCE = 1e-3

_MSG_RE = re.compile(r"^(Error|Warning) in line-char (\d+)-(\d+) : (.*)$", re.M)
_BAR_WARNING_RE = re.compile(r"\bBar -?\d+ has -?\d+(/\d+)? (time )?units (while the time signature has|instead of)")


@dataclass(slots=True)
class Abc2midiResult:
    notes: list[tuple[int, float, float]] = field(default_factory=list)
    """Melody notes (pitch, onset, duration) in quarter-note beats, sorted."""
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    ok: bool = False
    """False when abc2midi wrote no MIDI file (or could not be run)."""
    output: str = ""
    voices: dict[int, list[tuple[int, float, float]]] = field(default_factory=dict)
    """The same notes per MIDI track number."""


def available() -> bool:
    """True when the abc2midi program can be run."""
    return os.path.exists(ABC2MIDI) and os.access(ABC2MIDI, os.X_OK)


def comparable_text(text: str) -> str:
    """The tune with what abc2midi performs and our player does not removed: grace
    groups, decorations, chord symbols.  Both players are compared on this text."""
    out: list[str] = []
    in_grace = False
    line_had = False  # the source line had something; a line emptied here gets a '%'
    line_start = 0
    for t in tokenize(text):
        k = t.kind
        if k == "newline":
            if line_had and not "".join(out[line_start:]).strip():
                out.append("%")
            out.append(t.text)
            line_start = len(out)
            line_had = False
            in_grace = False
            continue
        if k != "space":
            line_had = True
        if in_grace:
            if k == "grace_end":
                in_grace = False
            continue
        if k == "grace_start":
            in_grace = True
            continue
        if k in ("decoration", "chord_symbol", "grace_end"):
            continue
        out.append(t.text)
    return "".join(out)


def _with_directives(text: str) -> str:
    m = re.search(r"^K:", text, flags=re.M)
    directive = "%%MIDI chordattack 0\n"
    if m is None:
        return directive + text
    return text[: m.start()] + directive + text[m.start() :]


def read_midi_notes(path: str) -> dict[int, list[tuple[int, float, float]]]:
    """Notes of a MIDI file per track, in beats; the drum channel (10) is left out."""
    import mido

    mid = mido.MidiFile(path)
    tpb = mid.ticks_per_beat or 480
    voices: dict[int, list[tuple[int, float, float]]] = {}
    for ti, track in enumerate(mid.tracks):
        tick = 0
        open_: dict[tuple[int, int], list[int]] = {}
        notes: list[tuple[int, float, float]] = []
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                if msg.channel == 9:
                    continue
                open_.setdefault((msg.channel, msg.note), []).append(tick)
            elif msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0):
                if msg.channel == 9:
                    continue
                starts = open_.get((msg.channel, msg.note))
                if starts:
                    start = starts.pop(0)
                    notes.append((msg.note, start / tpb, (tick - start) / tpb))
        if notes:
            voices[ti] = sorted(notes, key=lambda n: (n[1], n[0]))
    return voices


def abc2midi_run(text: str, timeout: float = 20.0, prepare: bool = True) -> Abc2midiResult:
    """Play one tune with abc2midi; with `prepare`, first make it comparable
    (`comparable_text`, no chord attack).  Never raises for a bad tune."""
    res = Abc2midiResult()
    if prepare:
        text = _with_directives(comparable_text(text))
    if not available():
        res.errors.append(Problem("abc2midi is not installed"))
        return res
    with tempfile.TemporaryDirectory(prefix="abc2midi-") as d:
        src = os.path.join(d, "tune.abc")
        out = os.path.join(d, "tune.mid")
        with open(src, "w", encoding="utf-8", errors="replace") as fh:
            fh.write(text)
        try:
            proc = subprocess.run(
                [ABC2MIDI, src, "-o", out, "-NGUI", "-NGRA", "-NFER"],
                capture_output=True,
                text=True,
                timeout=timeout,
                errors="replace",
            )
            res.output = proc.stdout + proc.stderr
        except (OSError, subprocess.TimeoutExpired) as e:
            res.errors.append(Problem(f"abc2midi failed: {e}"))
            return res
        for m in _MSG_RE.finditer(res.output):
            p = Problem(m.group(4).strip(), int(m.group(2)), int(m.group(3)))
            (res.errors if m.group(1) == "Error" else res.warnings).append(p)
        if os.path.exists(out) and os.path.getsize(out) > 0:
            try:
                res.voices = read_midi_notes(out)
                res.ok = True
            except Exception as e:  # a broken MIDI file
                res.errors.append(Problem(f"cannot read abc2midi's MIDI: {e}"))
    allnotes = [n for v in res.voices.values() for n in v]
    res.notes = sorted(allnotes, key=lambda n: (n[1], n[0], n[2]))
    return res


def bar_warnings(res: Abc2midiResult) -> list[Problem]:
    """abc2midi's warnings that a bar does not have the meter's length."""
    return [w for w in res.warnings if _BAR_WARNING_RE.search(w.message)]


def abc2midi_bars_ok(text: str, timeout: float = 20.0) -> bool | None:
    """True when abc2midi prints no bar-length warning for the tune, False when it
    does, None when abc2midi cannot be run.  The tune is played as written."""
    if not available():
        return None
    res = abc2midi_run(text, timeout=timeout, prepare=False)
    if not res.output and res.errors:
        return None
    return not bar_warnings(res)


def _key(n) -> tuple[int, int, int]:
    on = round(float(n[1]) * GRID)
    return (int(n[0]), on, round((float(n[1]) + float(n[2])) * GRID) - on)


def note_f1(ref_notes, our_notes) -> float:
    """F1 of two multisets of (pitch, onset, duration) notes (beats), times rounded to
    1/GRID beat.  Both empty -> 1.0.  Accepts tuples or objects with pitch/onset/duration."""

    def norm(ns):
        out = []
        for n in ns:
            if hasattr(n, "pitch"):
                n = (n.pitch, n.onset, n.duration)
            out.append(_key(n))
        return Counter(out)

    a, b = norm(ref_notes), norm(our_notes)
    na, nb = sum(a.values()), sum(b.values())
    if na == 0 and nb == 0:
        return 1.0
    if na == 0 or nb == 0:
        return 0.0
    tp = sum((a & b).values())
    return 2 * tp / (na + nb)


# ----------------------------------------------------------------------------- corpus

CORPUS_DIRS = ("essenFolksong", "oneills1850", "ryansMammoth", "miscFolk", "airdsAirs")


def corpus_files() -> list[str]:
    """The ABC files of the folk collections in music21's wheel."""
    try:
        import music21
    except ImportError:
        return []
    root = os.path.join(os.path.dirname(music21.__file__), "corpus")
    files: list[str] = []
    for d in CORPUS_DIRS:
        files.extend(sorted(glob.glob(os.path.join(root, d, "*.abc"))))
    return files


def split_tunes(text: str) -> list[str]:
    """Tunes of a file: each starts at an X: line and runs to the next X: line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    starts = [m.start() for m in re.finditer(r"^X:", text, flags=re.M)]
    return [text[a:b].rstrip("\n") + "\n" for a, b in zip(starts, starts[1:] + [len(text)])]


def corpus_tunes() -> list[tuple[str, int, str]]:
    """(file, index, tune text) of every tune of the folk corpus."""
    out = []
    for f in corpus_files():
        with open(f, "rb") as fh:
            data = fh.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        for i, t in enumerate(split_tunes(text)):
            out.append((f, i, t))
    return out


def compare(text: str, with_bars: bool = False):
    """(F1, abc2midi's result, our notes) for one tune, both on `comparable_text`;
    with `with_bars`, also our `bars_ok` for that text (a 4-tuple)."""
    from encoders.abc.player import play

    ctext = comparable_text(text)
    ref = abc2midi_run(text)
    dec = play(ctext)
    ours = dec.piece.notes
    if with_bars:
        return note_f1(ref.notes, ours), ref, ours, dec.bars_ok
    return note_f1(ref.notes, ours), ref, ours


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.reference_abc", description=__doc__.split("\n")[0])
    ap.add_argument("--sample", type=int, default=200, help="how many random corpus tunes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", type=int, default=10, help="list this many disagreeing tunes")
    ap.add_argument("--dump", default="", help="write disagreeing tunes' texts to this folder")
    args = ap.parse_args(argv)
    if not available():
        print("abc2midi is not installed (apt-get install abcmidi)", file=sys.stderr)
        return 2
    tunes = corpus_tunes()
    rng = random.Random(args.seed)
    sample = rng.sample(tunes, min(args.sample, len(tunes)))
    f1s: list[float] = []
    failures: list[tuple[str, int, str]] = []
    bad: list[tuple[float, str, int, str]] = []
    bars_same = bars_n = 0
    bars_confusion: Counter = Counter()
    bars_bad: list[tuple[str, int, str, bool | None, list[str]]] = []
    t0 = time.time()
    for f, i, text in sample:
        try:
            f1, ref, ours, bars_ok = compare(text, with_bars=True)
        except Exception as e:  # the player must not raise; count it
            failures.append((f, i, f"{type(e).__name__}: {e}"))
            f1s.append(0.0)
            continue
        if not ref.ok:
            failures.append((f, i, "abc2midi wrote no MIDI: " + "; ".join(map(str, ref.errors[:2]))))
            continue
        f1s.append(f1)
        if f1 < 1.0:
            bad.append((f1, f, i, text))
        warned = bool(bar_warnings(ref))
        agree = (bars_ok is not False) == (not warned)
        bars_n += 1
        bars_same += agree
        bars_confusion[(bars_ok, warned)] += 1
        if not agree:
            bars_bad.append((f, i, text, bars_ok, [w.message for w in bar_warnings(ref)]))
    n = len(f1s)
    same = sum(1 for x in f1s if x >= 1.0)
    print(f"tunes compared: {n} (of {len(sample)} sampled, {len(tunes)} in corpus) in {time.time() - t0:.1f}s")
    if n:
        print(f"mean F1: {sum(f1s) / n:.4f}")
        print(f"identical: {100.0 * same / n:.1f}%")
    print(f"failures: {len(failures)}")
    for f, i, why in failures[: args.show]:
        print(f"  {os.path.basename(f)}#{i}: {why}")
    bad.sort()
    for f1, f, i, text in bad[: args.show]:
        title = re.search(r"^T:(.*)$", text, flags=re.M)
        print(
            f"  F1 {f1:.3f} {os.path.basename(os.path.dirname(f))}/{os.path.basename(f)}#{i} "
            f"{title.group(1).strip() if title else ''}"
        )
    if bars_n:
        print(
            f"bars_ok agrees with abc2midi's bar warnings: {100.0 * bars_same / bars_n:.1f}% "
            f"({bars_same} of {bars_n}); (bars_ok, abc2midi warned): "
            + ", ".join(f"{k}: {v}" for k, v in sorted(bars_confusion.items(), key=str))
        )
    for f, i, text, ok, msgs in bars_bad[: args.show]:
        print(
            f"  bars_ok {ok} {os.path.basename(os.path.dirname(f))}/{os.path.basename(f)}#{i}: "
            f"{'; '.join(msgs[:2]) or 'no warning'}"
        )
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
        for k, (f1, f, i, text) in enumerate(bad):
            with open(os.path.join(args.dump, f"{k:03d}.abc"), "w", encoding="utf-8") as fh:
                fh.write(f"% F1 {f1:.3f} {f}#{i}\n" + text)
        for k, (f, i, text, ok, msgs) in enumerate(bars_bad):
            with open(os.path.join(args.dump, f"bars{k:03d}.abc"), "w", encoding="utf-8") as fh:
                fh.write(f"% bars_ok {ok} abc2midi: {'; '.join(msgs) or 'no warning'} {f}#{i}\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
