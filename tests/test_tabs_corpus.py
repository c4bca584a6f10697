"""corpora/tabs_corpus.py: real music arranged for guitar (chorales as bass and melody, folk
tunes with an accompaniment from their harmony), fretted within one hand's reach."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encoders.abc.player import play
from encoders.piece import Note, Piece
from encoders.tab import COLUMNS, parse_columns, symbol_fret
from encoders.tab.fretting import TUNINGS, fretting, voice_order

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus():
    spec = importlib.util.spec_from_file_location("tabs_corpus", ROOT / "corpora" / "tabs_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["tabs_corpus"] = module
    spec.loader.exec_module(module)
    return module


JIG = """X:1
M:6/8
L:1/8
K:D
A|dfa afd|gbg faf|ege cec|dfd d2:|
"""


def steps_of(text):
    tab, problems = parse_columns(text)
    assert problems == []
    return tab, [e for system in tab.systems for e in system if not isinstance(e, str)]


def check_playable(text):
    """Re-encodes to itself; each step's fretted notes at most 4 frets apart."""
    assert COLUMNS.encode_text(text).pieces == [text]
    _, steps = steps_of(text)
    for e in steps:
        frets = [symbol_fret(x) for x in e if symbol_fret(x)]
        assert not frets or max(frets) - min(frets) <= 4, e
    return steps


def test_scale_and_chords(corpus):
    assert corpus.scale_of("G") == (7, [7, 9, 11, 0, 2, 4, 6])
    assert corpus.scale_of("Ador") == (9, [9, 11, 0, 2, 4, 6, 7])
    assert corpus.scale_of("F#m")[0] == 6 and corpus.scale_of("Bb")[1][3] == 3
    assert corpus.scale_of("H") is None and corpus.scale_of(None) is None
    g_arpeggio = [Note(p, i * 0.5, 0.5) for i, p in enumerate([67, 71, 74, 79])]
    d7 = [Note(p, i * 0.5, 0.5) for i, p in enumerate([62, 66, 69, 72])]
    scale = corpus.scale_of("G")[1]
    assert corpus.choose_chord(g_arpeggio, 0, 2, scale, False) == [7, 11, 2]
    assert corpus.choose_chord(d7, 0, 2, scale, False) == [2, 6, 9]
    assert corpus.tunings_for("Dmix")[0] == TUNINGS["drop D"] and TUNINGS["open G"] in corpus.tunings_for("G")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_scale_of_reads_any_key_text(corpus, key):
    scale = corpus.scale_of(key)
    assert scale is None or (len(scale[1]) == 7 and scale[1][0] == scale[0] and len(set(scale[1])) == 7)


@pytest.mark.parametrize("pattern", ["alternating", "chord", "arpeggio"])
def test_a_folk_tune_gets_bass_under_its_melody(corpus, pattern):
    piece = play(JIG).piece
    arranged = corpus.accompany(piece, pattern)
    melody = {(round(n.onset, 3), n.pitch - 12) for n in piece.notes}  # the melody an octave down
    assert melody <= {(round(n.onset, 3), n.pitch) for n in arranged.notes}
    extra = [n for n in arranged.notes if (round(n.onset, 3), n.pitch) not in melody]
    assert extra and all(n.pitch < 64 for n in extra)
    assert Counter(n.pitch % 12 for n in extra if n.onset == 0.5)[2] >= 1  # the tonic D under the first bar
    stats = Counter()
    text = corpus.fret_in_turn(arranged, corpus.tunings_for(piece.key), 0, stats)
    steps = check_playable(text)
    chords = sum(sum(symbol_fret(x) is not None for x in e) > 1 for e in steps)
    assert chords >= 8 and text.startswith("%columns D2 A2 D3 G3 B3 E4\n")


def test_chorales_keep_melody_and_bass(corpus):
    stats = Counter()
    texts = corpus.chorales(stats, limit=2)
    assert len(texts) == 2 and stats["pieces: chorales"] == 2
    for text in texts:
        counts = [sum(symbol_fret(x) is not None for x in e) for e in check_playable(text)]
        struck = [k for k in counts if k]
        assert sum(k > 1 for k in struck) > len(struck) / 3  # most onsets hold melody and bass


def test_voice_order_keeps_melody_then_bass():
    assert voice_order([60, 64, 67, 48]) == [67, 48, 64, 60]
    # melody high on the neck and a bass no hand reaches with it: the inner voice goes first
    f = fretting(Piece([Note(p, 0.0, 1.0) for p in (79, 72, 43)]), TUNINGS["standard"])
    step = [e for s in f.tab.systems for e in s if not isinstance(e, str)][0]
    pitches = sorted(o + symbol_fret(x) for o, x in zip(f.tab.tuning, step, strict=True) if symbol_fret(x) is not None)
    assert 79 in pitches and f.dropped == 3 - len(pitches)


def test_the_guitar_pro_files_keep_a_corpus_tuning(corpus):
    stats = Counter()
    texts = corpus.guitar_pro(stats, ROOT / "tests" / "data" / "guitarpro")
    assert texts and stats["pieces: guitar pro"] == len(texts)
    allowed = {" ".join(corpus._names(t)) for t in TUNINGS.values()}
    for text in texts:
        assert " ".join(text.split("\n", 1)[0].split(" ")[1:7]) in allowed
    chords, steps = corpus.chord_share(texts)
    assert 0 < chords < steps
