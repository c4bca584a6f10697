"""corpora/piano_corpus.py: the two-hand arrangements and the licence table (no music21 parsing: fast)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pc():
    spec = importlib.util.spec_from_file_location("piano_corpus", ROOT / "corpora" / "piano_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["piano_corpus"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def hands(notes):
    return [n for n in notes if n.voice == 0], [n for n in notes if n.voice == 1]


def sounding(notes, t):
    return [n.pitch for n in notes if n.onset <= t < n.onset + n.duration]


def check_two_hands(notes, bars, skip_first=False):
    """Left hand below the right at every moment either sounds, and a left-hand note in every bar."""
    right, left = hands(notes)
    assert right and left
    times = sorted({n.onset for n in notes})
    for t in times:
        upper, lower = sounding(right, t), sounding(left, t)
        if upper and lower:
            assert max(lower) < min(upper), (t, lower, upper)
    for index, (start, stop) in enumerate(bars):
        if skip_first and index == 0:
            continue
        assert any(start <= n.onset < stop for n in left), f"bar {index} has no left-hand note"
        assert any(n.onset == start for n in left), f"bar {index}: no bass note on its first beat"


# a tune in G, 4/4, with a one-beat pickup: D | G B d B | c A F# A | G B d g | f# d d2 | G4 (ends short)
FOLK = [
    (62, 0, 1),
    (67, 1, 1),
    (71, 2, 1),
    (74, 3, 1),
    (71, 4, 1),
    (72, 5, 1),
    (69, 6, 1),
    (66, 7, 1),
    (69, 8, 1),
    (67, 9, 1),
    (71, 10, 1),
    (74, 11, 1),
    (79, 12, 1),
    (78, 13, 1),
    (74, 14, 1),
    (74, 15, 2),
    (67, 17, 3),
]
FOLK_BARS = [1, 5, 9, 13, 17]


def test_folk_two_hands_and_a_bass_note_every_bar(pc):
    notes, pickup = pc.arrange_folk(FOLK, (4, 4), FOLK_BARS, "G")
    assert pickup == 1
    spans = pc.bar_spans(FOLK_BARS, 20, 4)
    check_two_hands(notes, spans, skip_first=True)
    right, left = hands(notes)
    assert [(n.pitch, n.onset, n.duration) for n in right] == FOLK  # the tune itself is untouched
    assert not any(n.onset < 1 for n in left)  # the pickup is the tune alone


def test_folk_chords_follow_the_melody(pc):
    spans = pc.bar_spans(FOLK_BARS, 20, 4)
    chords = pc.choose_chords(FOLK, spans, (4, 4), pc.tonic_of("G"))
    G, D = (7, pc.MAJOR), (2, pc.MAJOR)
    assert chords[1] == G  # G B d B
    assert chords[2] == D  # c A F# A
    assert chords[-1] == G  # ends at home


@pytest.mark.parametrize("meter,beats", [((3, 4), 3), ((6, 8), 2), ((2, 2), 2), ((4, 4), 4)])
def test_folk_pattern_per_meter(pc, meter, beats):
    bar = meter[0] * 4 / meter[1]
    beat = pc.beat_length(meter)
    tune = [(72 + (i % 3), i * beat, beat) for i in range(beats * 4)]
    notes, pickup = pc.arrange_folk(tune, meter, [bar * k for k in range(1, 4)], "C")
    assert pickup == 0
    check_two_hands(notes, [(bar * k, bar * (k + 1)) for k in range(4)])
    _, left = hands(notes)
    onsets = sorted({n.onset for n in left if n.onset < bar})
    assert onsets == [k * beat for k in range(beats)]  # bass on the first beat, chords on the others


def test_low_tune_goes_up_an_octave(pc):
    tune = [(48 + i % 5, i, 1) for i in range(8)]
    notes, _ = pc.arrange_folk(tune, (4, 4), [4], "C")
    right, left = hands(notes)
    assert min(n.pitch for n in right) >= 60
    check_two_hands(notes, [(0, 4), (4, 8)])


CHORALE = {  # two bars of 4/4: soprano, alto, tenor, bass
    "s": [(72, 0, 1), (71, 1, 1), (72, 2, 1), (74, 3, 1), (76, 4, 2), (74, 6, 2)],
    "a": [(67, 0, 1), (67, 1, 1), (67, 2, 0.5), (65, 2.5, 0.5), (65, 3, 1), (67, 4, 2), (67, 6, 2)],
    "t": [(64, 0, 1), (62, 1, 1), (64, 2, 1), (62, 3, 1), (60, 4, 2), (59, 6, 2)],
    "b": [(48, 0, 1), (55, 1, 1), (52, 2, 1), (53, 3, 1), (48, 4, 2), (55, 6, 2)],
}


def test_chorale_soprano_over_left_hand_chords(pc):
    notes = pc.arrange_chorale(CHORALE["s"], CHORALE["a"], CHORALE["t"], CHORALE["b"], (4, 4))
    check_two_hands(notes, [(0, 4), (4, 8)])
    right, left = hands(notes)
    assert [(n.pitch, n.onset, n.duration) for n in right] == CHORALE["s"]
    first = sorted(n.pitch for n in left if n.onset == 0)
    assert first[0] == 48 and {p % 12 for p in first[1:]} == {4, 7}  # C bass, E and G above it
    assert max(first) - min(first) < 12  # one hand's span
    # the same chord on beats 3 and 4 of bar 2 is held, not struck again
    assert not any(n.onset == 7 for n in left)


def test_pad_pickup_puts_bar_lines_on_the_grid(pc):
    notes, pickup = pc.arrange_folk(FOLK, (4, 4), FOLK_BARS, "G")
    padded = pc.pad_pickup(notes, pickup, 4)
    right, left = hands(padded)
    assert min(n.onset for n in right) == 3
    assert min(n.onset for n in left) == 4  # bar 2 of the grid
    assert {4, 8, 12, 16} <= {n.onset for n in left}  # every bar line the meter's


def test_licence_table_complete(pc):
    readme = (ROOT / "corpora" / "README.md").read_text(encoding="utf-8")
    ids = [s.id for s in pc.SOURCES]
    assert len(ids) == len(set(ids))
    for source in pc.SOURCES:
        assert source.licence.strip() and source.origin in ("music21", "pianoplayer") and source.tempo > 0
        assert f"`{source.id}`" in readme, f"{source.id} not in corpora/README.md"
    for what, why in pc.LEFT_OUT:
        assert what and why
    assert "scarlatti_k027" in readme  # left out for its non-commercial licence: said so
    held = [s.id for s in pc.SOURCES if s.held_out]
    assert 1 <= len(held) < len(ids)
    for ident in held:
        assert f"`{ident}`" in readme
