"""Pictures of music and of training: piano rolls, sheet music, MusicXML, loss curves.

* `piano_roll_png(piece, path)`: time (beats) across, pitch up; one colour per voice,
  a thin line at every bar (the decoder's ``Piece.bar_beats``, else the meter),
  and a dashed red line where the seed ends and the model takes over
  (``Piece.marks["continuation"]``).  Drawn with matplotlib.
* `score_svg(piece, path, text=, scheme=)`: engraved sheet music by verovio.
  A scheme whose `Scheme.engraving` names a format verovio reads (ABC) is
  engraved from its text; anything else (tabs, MIDI) goes through MusicXML.
* `musicxml(piece)` / `write_musicxml`: a MusicXML score for MuseScore & co., made by
  music21 from the piece's MIDI (music21 quantizes onsets to sixteenths and triplets
  and spells the notes in the piece's key).  Piano music with notes both sides of
  middle C is written on a grand staff (treble and bass, braced), and a continuation's
  boundary is marked above the top staff ("\u25bc model").
* `loss_curve_png(model_dir)`: train and validation bits/char against steps,
  from the ``train_log.jsonl`` that training writes; ``train`` draws it as
  ``loss.png`` next to the checkpoint.

Every file is written atomically.

    >>> from encoders import Note, Piece
    >>> piano_roll_png(Piece(notes=[Note(60, 0.0, 1.0)]), "roll.png")  # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from encoders import Piece, Scheme, UsageError, lookup
from encoders.scheme import ENGRAVE_NOTES, ENGRAVE_TAB
from musicrnn.atomic import write_bytes, write_text

__all__ = [
    "PictureError",
    "engraving",
    "loss_curve_png",
    "mei_svg",
    "musicxml",
    "piano_roll_png",
    "score_svg",
    "write_musicxml",
]

LOSS_CURVE_NAME = "loss.png"


class PictureError(UsageError):
    """A picture cannot be drawn (nothing to draw, unreadable log, engraving failed)."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def bar_lines(piece: Piece) -> list[float]:
    """Beats of the bar lines: the decoder's, else every meter's worth of beats."""
    if piece.bar_beats:
        return sorted(set(piece.bar_beats))
    if piece.meter and piece.meter[0] > 0 and piece.meter[1] > 0:
        bar = piece.meter[0] * 4.0 / piece.meter[1]
        count = int(piece.end // bar)
        return [bar * (i + 1) for i in range(count)]
    return []


def piano_roll_png(piece: Piece, path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw a piece's notes as a piano roll PNG; returns the path."""
    if not piece.notes:
        raise PictureError("nothing to draw: the piece has no notes")
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    end = max(piece.end, 1.0)
    pitches = [n.pitch for n in piece.notes]
    low, high = min(pitches) - 2, max(pitches) + 2
    width = min(30.0, max(7.0, end * 0.11))
    fig, ax = plt.subplots(figsize=(width, 3.2), dpi=100)
    try:
        colours = plt.get_cmap("tab10")
        voices = sorted({n.voice for n in piece.notes})
        for n in piece.notes:
            ax.add_patch(
                Rectangle(
                    (n.onset, n.pitch - 0.4),
                    max(n.duration, 0.05),
                    0.8,
                    facecolor=colours(voices.index(n.voice) % 10),
                    edgecolor="black",
                    linewidth=0.3,
                    alpha=0.35 + 0.65 * min(n.velocity, 127) / 127,
                )
            )
        for beat in bar_lines(piece):
            ax.axvline(beat, color="0.75", linewidth=0.6, zorder=0)
        boundary = piece.marks.get("continuation")
        if boundary is not None:
            ax.axvline(boundary, color="red", linestyle="--", linewidth=1.4)
            ax.text(boundary, high + 0.3, " model \u2192", color="red", va="bottom", ha="left", fontsize=8)
            ax.text(boundary, high + 0.3, "\u2190 seed ", color="red", va="bottom", ha="right", fontsize=8)
        ax.set_xlim(0, end)
        ax.set_ylim(low, high + 2)
        ax.set_xlabel("beats (quarter notes)")
        octaves = [p for p in range(0, 128, 12) if low <= p <= high + 2]
        ax.set_yticks(octaves, [f"C{p // 12 - 1}" for p in octaves])
        ax.set_ylabel("pitch")
        name = title if title is not None else (piece.title or "")
        ax.set_title(f"{name}  ({piece.tempo:g} per minute, {len(piece.notes)} notes)".strip(), fontsize=9)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    write_bytes(path, buffer.getvalue())
    return Path(path)


PIANO_PROGRAMS = range(0, 8)
"""General MIDI's pianos: a piece all on them is engraved on a grand staff."""
MIDDLE_C = 60


def grand_staff(piece: Piece) -> Piece | None:
    """A piano piece (every program a piano) whose notes lie both sides of middle C, as two
    voices for a grand staff: 0 the treble staff, 1 the bass (a piece of two voices, such as a
    file's two hands, keeps them, the higher on the treble staff; else split at middle C);
    None for any other piece."""
    programs = {n.program for n in piece.notes} | set(piece.programs.values())
    if not programs <= set(PIANO_PROGRAMS):
        return None
    if not any(n.pitch < MIDDLE_C for n in piece.notes) or not any(n.pitch >= MIDDLE_C for n in piece.notes):
        return None
    voices = sorted({n.voice for n in piece.notes})
    if len(voices) == 2:  # two tracks (a file's hands): the higher one on the treble staff
        medians = {v: statistics.median(n.pitch for n in piece.notes if n.voice == v) for v in voices}
        high, low = sorted(voices, key=lambda v: -medians[v])
        if medians[high] > medians[low]:
            notes = [replace(n, voice=0 if n.voice == high else 1) for n in piece.notes]
            names = {0: piece.names.get(high, "Right hand"), 1: piece.names.get(low, "Left hand")}
            programs = {0: piece.programs.get(high, 0), 1: piece.programs.get(low, 0)}
            return replace(piece, notes=notes, programs=programs, names=names)
    notes = [replace(n, voice=0 if n.pitch >= MIDDLE_C else 1) for n in piece.notes]
    program = min(programs)
    return replace(piece, notes=notes, programs={0: program, 1: program}, names={0: "Right hand", 1: "Left hand"})


def _mark_boundary(score, beat: float) -> None:
    """A text above the top staff where the model takes over ("model ->")."""
    import music21

    top = score.parts[0]
    for measure in top.getElementsByClass(music21.stream.Measure):
        length = measure.barDuration.quarterLength if measure.barDuration else 4.0
        if measure.offset <= beat < measure.offset + length + 1e-9:
            mark = music21.expressions.TextExpression("\u25bc model")
            mark.style.color = "red"
            measure.insert(beat - measure.offset, mark)
            return


def _staves(score, two: bool) -> None:
    """Treble and bass clefs on the two staves of a grand staff, joined by a brace."""
    import music21

    parts = list(score.parts)
    if not two or len(parts) != 2:
        return
    for part, clef in zip(parts, (music21.clef.TrebleClef(), music21.clef.BassClef()), strict=True):
        for old in part.recurse().getElementsByClass(music21.clef.Clef):
            old.activeSite.remove(old)
        first = part.getElementsByClass(music21.stream.Measure).first()
        if first is not None:
            first.insert(0, clef)
    score.insert(0, music21.layout.StaffGroup(parts, name="Piano", symbol="brace", barTogether=True))


def musicxml(piece: Piece) -> str:
    """A MusicXML score of a piece (music21, from the piece's MIDI): a piano piece on a grand
    staff (`grand_staff`), the moment a model took over (``marks["continuation"]``) marked."""
    if not piece.notes:
        raise PictureError("nothing to engrave: the piece has no notes")
    import music21

    from musicrnn.render import to_midi

    two = grand_staff(piece)
    with tempfile.TemporaryDirectory() as tmp:
        midi_path = os.path.join(tmp, "piece.mid")
        to_midi(two or piece).save(midi_path)
        score = music21.converter.parse(midi_path, format="midi", quantizePost=True)
        score.metadata = music21.metadata.Metadata(title=piece.title or "musicrnn")
        _staves(score, two is not None)
        if piece.marks.get("continuation") is not None:
            _mark_boundary(score, piece.marks["continuation"])
        xml_path = score.write("musicxml", fp=os.path.join(tmp, "piece.musicxml"))
        return Path(xml_path).read_text(encoding="utf-8")


def write_musicxml(piece: Piece, path: str | os.PathLike) -> Path:
    write_text(path, musicxml(piece))
    return Path(path)


_ENGRAVE_SECONDS = 60

# The engraving child's whole program: it imports verovio and nothing of musicrnn's.
# It runs as `python -I` (isolated): no working folder, PYTHONPATH or user site on
# sys.path, so a verovio.py (or numpy.py...) in the folder musicrnn runs in is never
# imported; verovio comes from the interpreter's own site-packages.
_ENGRAVE_CHILD = """
import sys
import verovio
verovio.enableLog(verovio.LOG_OFF)
toolkit = verovio.toolkit()
toolkit.setOptions({"inputFrom": sys.argv[1], "adjustPageHeight": True, "pageHeight": 60000,
                    "pageWidth": 2100, "scale": 45, "header": "none", "footer": "none"})
if not toolkit.loadData(sys.stdin.read()) or toolkit.getPageCount() < 1:
    sys.exit("verovio could not read the " + sys.argv[1] + ": " + toolkit.getLog().strip()[:200])
sys.stdout.write(toolkit.renderToSVG(1))
"""


def engraving(scheme: str | Scheme | None) -> str:
    """How a scheme (or scheme name) is engraved (`Scheme.engraving`); from the notes
    for None or a name no scheme has (a MIDI file's)."""
    known = lookup(scheme)
    return known.engraving if known is not None else ENGRAVE_NOTES


def mei_svg(mei: str) -> str:
    """SVG of MEI (a scheme's own engraving, `Scheme.engrave_mei`: a tab staff), by verovio."""
    return _engrave(mei, "mei")


def _engrave(data: str, input_from: str) -> str:
    """SVG of the first page, engraved by verovio in a child process.

    verovio crashes the whole process (a segmentation fault, not an exception) on
    some malformed ABC, e.g. text without a header, and generated text can be
    anything; in a child the crash becomes a PictureError.  The child is isolated
    (``-I``) and runs in a fresh empty folder: nothing is imported from the working folder."""
    try:
        with tempfile.TemporaryDirectory(prefix="musicrnn-engrave-") as empty:
            done = subprocess.run(
                [sys.executable, "-I", "-c", _ENGRAVE_CHILD, input_from],
                input=data,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                cwd=empty,
                timeout=_ENGRAVE_SECONDS,
            )
    except subprocess.TimeoutExpired:
        raise PictureError(f"verovio took over {_ENGRAVE_SECONDS} s on the {input_from}") from None
    if done.returncode != 0 or not done.stdout.lstrip().startswith(("<svg", "<?xml")):
        why = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        raise PictureError(f"verovio could not engrave the {input_from}: {why[0][:200]}")
    return done.stdout


def score_svg(
    piece: Piece, path: str | os.PathLike, text: str | None = None, scheme: str | Scheme | None = None
) -> Path:
    """Engrave sheet music as SVG: from the piece's text when its scheme (or scheme name)
    engraves from text (`Scheme.engraving`, e.g. ABC), else via MusicXML from the notes."""
    svg = None
    form = engraving(scheme)
    if text and form not in (ENGRAVE_NOTES, ENGRAVE_TAB):
        try:
            svg = _engrave(text, form)
        except PictureError:
            svg = None  # verovio's readers are partial (ABC); MusicXML from the played notes always works
    if svg is None:
        svg = _engrave(musicxml(piece), "musicxml")
    write_text(path, svg)
    return Path(path)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    """A finite loss (a NaN step, which training skips, has no place on the curve)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def read_loss_log(model_dir: str | os.PathLike) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(train, validation) points (step, bits/char) from a model folder's train_log.jsonl."""
    log = Path(model_dir) / "train_log.jsonl"
    train: list[tuple[int, float]] = []
    val: list[tuple[int, float]] = []
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise PictureError(f"{log}: cannot read the training log ({e.strerror or e})") from None
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash mid-write; the rest still plots
        if not isinstance(record, dict) or not _is_int(record.get("step")):
            continue
        if record.get("event") == "eval" and _is_number(record.get("val_loss")):
            val.append((record["step"], float(record["val_loss"])))
        elif record.get("event") == "progress" and _is_number(record.get("loss")):
            train.append((record["step"], float(record["loss"])))
    return train, val


def loss_curve_png(model_dir: str | os.PathLike, path: str | os.PathLike | None = None) -> Path:
    """Plot train and validation bits/char against steps; default path: <model_dir>/loss.png."""
    train, val = read_loss_log(model_dir)
    if not train and not val:
        raise PictureError(f"{Path(model_dir) / 'train_log.jsonl'}: no losses logged yet")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    try:
        if train:
            ax.plot(*zip(*train), label="train", color="tab:blue", linewidth=1)
        if val:
            ax.plot(*zip(*val), label="validation (held-out pieces)", color="tab:orange", marker="o", linewidth=1.5)
            best_step, best = min(val, key=lambda p: p[1])
            ax.annotate(
                f"best {best:.3f}",
                (best_step, best),
                textcoords="offset points",
                xytext=(0, 10),
                ha="center",
                fontsize=8,
            )
        ax.set_xlabel("step")
        ax.set_ylabel("bits per character")
        ax.set_title(f"training {Path(model_dir).name}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    target = Path(path) if path else Path(model_dir) / LOSS_CURVE_NAME
    write_bytes(target, buffer.getvalue())
    return target
