"""The music table (musicrnn.music) and the ABC text figures behind it (encoders.abc.figures)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import encoders
from encoders.abc.figures import figures
from encoders.piece import Note
from musicrnn.music import estimate_key, figures_of, music_rows, overlap, set_figures

ABC = encoders.get("abc")

# 8 bars, repeated, ending on the tonic G; bars 5 and 6 repeat bars 1 and 2
JIG = """X:1
M:6/8
L:1/8
R:jig
K:G
|:GAG GAB|ABA ABd|edd gdd|edB dBA|GAG GAB|ABA ABd|edd gdB|AGF G3:|
"""
# 6 bars ending on A in G major, no repeat sign, glued short bars
ODD = """X:1
M:6/8
L:1/8
K:G
GAG GA||B ABA|ABd edd|gd||d edB|dBA GA||A|
"""


def test_figures_of_a_real_tune():
    f = figures_of(ABC, JIG)
    assert f.ends_on_tonic is True and f.repeat_signs is True and f.double_bars == 0
    assert f.written_bars == 8 and f.repeated_bars == 2
    assert f.bars == 8 and f.off_length_bars == 0 and f.inner_bars == 6
    assert (f.meter, f.mode, f.rhythm) == ("6/8", "maj", "jig")
    assert abs(f.features["pitch classes (from the tonic)"].sum() - 1) < 1e-9


def test_figures_of_a_glued_tune():
    f = figures_of(ABC, ODD)
    assert f.ends_on_tonic is False and f.repeat_signs is False and f.double_bars == 3
    assert f.off_length_bars >= 2 and f.bars % 8 != 0


def test_estimate_key():
    scale = [Note(p, i, 1.0) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60])]
    assert estimate_key(scale) == (0, "maj")
    a_minor = [Note(p, i, 1.0) for i, p in enumerate([57, 59, 60, 62, 64, 65, 68, 69, 64, 60, 57])]
    assert estimate_key(a_minor) == (9, "min")


def test_overlap_is_one_for_the_same_distribution_and_falls_with_distance():
    rng = np.random.default_rng(0)
    real = rng.normal(0, 1, (150, 3))
    same = rng.normal(0, 1, (150, 3))
    far = rng.normal(3, 1, (150, 3))
    assert overlap(same, real) > 0.9
    assert overlap(far, real) < 0.3
    assert np.isnan(overlap(same[:0], real))


def test_music_rows_side_by_side():
    gen, real = set_figures(ABC, [ODD] * 3), set_figures(ABC, [JIG] * 3)
    corpus = {"meter": Counter({"6/8": 10}), "mode": Counter({"maj": 10}), "rhythm": Counter({"jig": 5})}
    rows = {r[0]: r[1:] for r in music_rows(gen, real, real, corpus)}
    assert rows["ends on the tonic of its key"] == ("0%", "100%", "100%")
    assert rows["pieces with repeat signs"] == ("0%", "100%", "100%")
    assert rows["|| per piece"] == ("3.00", "0.00", "0.00")
    assert rows["meter distribution, total variation from the corpus"] == ("0.00", "0.00", "0.00")
    assert any(k.startswith("overlap with held-out real: intervals") for k in rows)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("XMLKR:|[]:/1234568 \nABCDEFGabcdefgz^_=,'()-><%\"")), max_size=200))
def test_text_figures_never_raise(text):
    f = figures(text)
    assert isinstance(f["written_bars"], list) and f["double_bars"] >= 0
    head = figures(text, header_only=True)
    assert set(head) == {"meter", "mode", "tonic_pc", "rhythm"}


def test_header_only_agrees_with_the_full_read_on_the_corpus():
    text = encoders.read_text("corpora/folk.txt")
    for tune in encoders.split_stream(text)[:300]:
        full = figures(tune)
        head = figures(tune, header_only=True)
        assert all(head[k] == full[k] for k in head), tune


def test_seed_completion_properties():
    import itertools

    import pytest

    from encoders.abc.grammar import AbcGrammar
    from encoders.abc.seed import complete_seed
    from encoders.piece import UsageError

    fields = ["X:1", "M:6/8", "K:Ador", "R:jig"]
    for order in itertools.permutations(fields):
        seed = complete_seed("\n".join(order))
        assert seed == "X:1\nM:6/8\nL:1/8\nR:jig\nK:Ador\n"
        g = AbcGrammar()
        g.feed(seed + "EAA ABc|")
        assert not g.problems
    with pytest.raises(UsageError, match="needs M:"):
        complete_seed("X:1\nK:G")
    with pytest.raises(UsageError, match="C: is not"):
        complete_seed("X:1\nC:Trad\nM:4/4")
    assert complete_seed("GABc|") == "GABc|"  # music alone is left as it is


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("XMLKRTQC:16/8\nGAabc|z ")), max_size=60))
def test_seed_completion_never_raises_but_usage_errors(seed):
    from encoders.abc.seed import complete_seed
    from encoders.piece import UsageError

    try:
        out = complete_seed(seed)
    except UsageError:
        return
    assert isinstance(out, str)


def test_pairwise_measures_stay_bounded_on_large_sets():
    import tracemalloc

    from musicrnn.music import _pairwise

    rng = np.random.default_rng(1)
    a = rng.random((7, 3))
    full = np.abs(a[:, None, :] - a[None, :, :]).sum(-1)[np.triu_indices(7, 1)]
    assert np.allclose(np.sort(_pairwise(a, a, same=True)), np.sort(full))  # each pair once
    big = rng.random((5000, 25))
    # 5,000 pieces a set: all 12.5 million pairs at once would take gigabytes; a block of rows at
    # a time stays small (numpy reports its buffers to tracemalloc)
    tracemalloc.start()
    try:
        assert 0.0 <= overlap(big, big[::-1].copy()) <= 1.0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 600e6, peak
