"""Pictures open in the programs that read them: PNGs in PIL, SVG in an XML parser,
MusicXML in music21; and show what they should (notes, bars, the continuation line)."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections import Counter

import music21
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import encoders
from encoders import Note, Piece
from musicrnn import pictures
from musicrnn.pictures import PictureError

SCALE = "X:1\nT:Scale\nM:4/4\nL:1/4\nQ:1/4=120\nK:D\nD E F G|A B c d|]\n"
SVG_NS = "{http://www.w3.org/2000/svg}"


def scale() -> Piece:
    return encoders.get("abc").decode(SCALE).piece


def image(path) -> np.ndarray:
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def red_pixels(pixels: np.ndarray) -> int:
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return int(((r > 200) & (g < 80) & (b < 80)).sum())


def test_piano_roll_png_opens_and_marks_where_the_model_took_over(tmp_path):
    piece = scale()
    pictures.piano_roll_png(piece, tmp_path / "plain.png")
    piece.marks["continuation"] = 4.0
    pictures.piano_roll_png(piece, tmp_path / "marked.png")
    plain, marked = image(tmp_path / "plain.png"), image(tmp_path / "marked.png")
    assert plain.shape[0] > 200 and plain.shape[1] > 600
    assert red_pixels(plain) == 0 and red_pixels(marked) > 100
    assert (plain < 200).any()  # notes drawn, not a blank canvas


def test_bar_lines_come_from_the_decoder_or_else_the_meter():
    piece = scale()
    assert pictures.bar_lines(piece) == [4.0, 8.0]  # the ABC's two bar lines, as played
    free = Piece(notes=[Note(60, 0.0, 7.0)], meter=(3, 4))
    assert pictures.bar_lines(free) == [3.0, 6.0]
    assert pictures.bar_lines(Piece(notes=[Note(60, 0.0, 7.0)], meter=None)) == []


def test_an_empty_piece_has_no_picture(tmp_path):
    with pytest.raises(PictureError, match="no notes"):
        pictures.piano_roll_png(Piece(), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def svg_notes(path) -> int:
    root = ET.parse(path).getroot()
    assert root.tag == SVG_NS + "svg"
    return sum(1 for el in root.iter() if "note" in (el.get("class") or "").split())


def test_abc_engraves_to_svg_with_every_note(tmp_path):
    pictures.score_svg(scale(), tmp_path / "scale.svg", text=SCALE, scheme="abc")
    assert svg_notes(tmp_path / "scale.svg") == 8


def test_any_piece_engraves_through_musicxml(tmp_path):
    tab = (
        encoders.get("columns").decode("e|-------|\nB|-------|\nG|-------|\nD|-------|\nA|-------|\nE|0-3-5--|\n").piece
    )
    pictures.score_svg(tab, tmp_path / "tab.svg")
    assert svg_notes(tmp_path / "tab.svg") == 3


def test_text_that_crashes_verovio_falls_back_to_musicxml(tmp_path):
    # verovio dies with a segmentation fault on ABC without a header; the engraving runs in a child.
    piece = encoders.get("abc").decode("garbage\n").piece
    assert piece.notes
    pictures.score_svg(piece, tmp_path / "g.svg", text="garbage\n", scheme="abc")
    assert svg_notes(tmp_path / "g.svg") == len(piece.notes)


def test_musicxml_reparses_in_music21_with_the_same_pitches(tmp_path):
    piece = scale()
    pictures.write_musicxml(piece, tmp_path / "scale.musicxml")
    score = music21.converter.parse(str(tmp_path / "scale.musicxml"))
    pitches = [p.midi for n in score.recurse().notes for p in n.pitches]
    assert Counter(pitches) == Counter(n.pitch for n in piece.notes)
    assert sum(n.quarterLength for n in score.recurse().notes) == pytest.approx(8.0)


def write_log(folder, records, tail: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + tail)


def test_loss_curve_reads_train_and_validation_and_survives_a_cut_line(tmp_path):
    records = [{"event": "progress", "step": s, "loss": 5.0 / s} for s in range(10, 210, 10)]
    records += [{"event": "eval", "step": s, "val_loss": 4.0 / s * 10} for s in (100, 200)]
    write_log(tmp_path / "m", records, tail='{"event": "progress", "st')
    train, val = pictures.read_loss_log(tmp_path / "m")
    assert len(train) == 20 and val == [(100, 0.4), (200, 0.2)]
    path = pictures.loss_curve_png(tmp_path / "m")
    assert path == tmp_path / "m" / "loss.png"
    assert image(path).shape[:2] == (400, 700)


def test_loss_curve_without_a_log_says_which_file(tmp_path):
    with pytest.raises(PictureError, match="train_log.jsonl"):
        pictures.loss_curve_png(tmp_path)
    write_log(tmp_path / "m", [{"event": "start"}])
    with pytest.raises(PictureError, match="no losses"):
        pictures.loss_curve_png(tmp_path / "m")


record = st.fixed_dictionaries(
    {"event": st.sampled_from(["progress", "eval", "start", "done"])},
    optional={
        "step": st.one_of(st.integers(-5, 10**6), st.floats(), st.booleans(), st.text(max_size=3), st.none()),
        "loss": st.one_of(st.floats(), st.integers(0, 9), st.text(max_size=3), st.none()),
        "val_loss": st.one_of(st.floats(0, 10), st.booleans(), st.none()),
    },
)
line = st.one_of(record.map(json.dumps), st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t))


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(line, max_size=30))
def test_the_loss_log_reader_keeps_exactly_the_well_formed_points(tmp_path_factory, lines):
    folder = tmp_path_factory.mktemp("log")
    (folder / "train_log.jsonl").write_text("\n".join(lines) + "\n")
    train, val = pictures.read_loss_log(folder)
    expected_train, expected_val = [], []
    for text in lines:
        try:
            r = json.loads(text)
        except ValueError:
            continue
        if not isinstance(r, dict) or type(r.get("step")) is not int:
            continue
        finite = lambda v: type(v) in (int, float) and math.isfinite(v)  # noqa: E731
        if r.get("event") == "eval" and finite(r.get("val_loss")):
            expected_val.append((r["step"], float(r["val_loss"])))
        elif r.get("event") == "progress" and finite(r.get("loss")):
            expected_train.append((r["step"], float(r["loss"])))
    assert train == expected_train and val == expected_val
