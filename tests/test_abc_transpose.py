"""Transposition of ABC tunes (training augmentation): every note moves by exactly the
interval, spelled for the new key, and the copies keep the corpus's keys and register."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encoders.abc.player import play
from encoders.abc.tokens import parse_key
from encoders.abc.transpose import keys_for, signature_fifths, transpose, transpositions
from musicrnn.data import prepare

KEYS = [
    "C",
    "G",
    "D",
    "A",
    "E",
    "F",
    "Bb",
    "Eb",
    "Ador",
    "Edor",
    "Dmix",
    "Amix",
    "Em",
    "Bm",
    "Gm",
    "Dm",
    "F#m",
    "Glyd",
    "Ephr",
]
NOTE = st.tuples(
    st.sampled_from(["", "", "", "^", "_", "=", "^^", "__"]),
    st.sampled_from("CDEFGABcdefgab"),
    st.sampled_from(["", "", ",", "'"]),
    st.sampled_from(["", "2", "/", "3/2"]),
)


def _tune(key: str, notes: list[tuple[str, str, str, str]], chord: str = "") -> str:
    body = "".join("".join(n) + (" |" if i % 4 == 3 else "") for i, n in enumerate(notes))
    return f"X:1\nM:4/4\nL:1/8\nK:{key}\n{chord}{body}|]\n"


def _pitches(text: str) -> list[int]:
    return [n.pitch for n in play(text).piece.notes]


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(KEYS), notes=st.lists(NOTE, min_size=1, max_size=24), semis=st.integers(-6, 6))
def test_every_note_moves_by_the_interval_and_back(key, notes, semis):
    tune = _tune(key, notes)
    moved = transpose(tune, semis)
    if moved is None:
        # only a written accidental can need a triple one (a double one, or a flat or sharp where
        # the new key is spelled a diminished or augmented interval away: E down 3 is Db, not C#)
        assert any(acc for acc, *_ in notes)
        return
    assert _pitches(moved) == [p + semis for p in _pitches(tune)]
    back = transpose(moved, -semis)
    assert back is not None and _pitches(back) == _pitches(tune)


def test_spelling_follows_the_new_key():
    assert transpose("K:G\nGA^FG|=F2 d2|]\n", 2) == "K:A\nAB^GA|=G2 e2|]\n"
    assert transpose("K:D\nd2 ^c2|]\n", -2) == "K:C\nc2 =B2|]\n"
    # modes keep their name; the signature does the work, so plain notes stay plain
    assert transpose("K:Ador\nABcd efga|]\n", 5) == "K:Ddor\ndefg abc'd'|]\n"
    # the key with fewest accidentals for the pitch: up a semitone from G is Ab, not G#
    assert transpose("K:G\nG2|]\n", 1).startswith("K:Ab\n")
    # chord symbols, grace notes, chords and inline keys move too; an octave mark appears when needed
    assert transpose('K:G\n"D7/F#"{g}[GBd]2 b|[K:Em] e|]\n', 2) == 'K:A\n"E7/G#"{a}[Ace]2 c\'|[K:F#m] f|]\n'


def test_keys_that_cannot_move_are_left_alone():
    assert transpose("K:none\nCDE|]\n", 2) is None
    assert transpose("K:D exp ^f ^c ^g\nCDE|]\n", 2) is None
    assert transpose("K:HP\nCDE|]\n", 2) is None
    assert transpose("CDE|]\n", 2) is None  # no key at all
    assert signature_fifths("Bb") == -2 and signature_fifths("Ador") == 1 and signature_fifths("F#m") == 3


def test_copies_take_the_corpus_keys_and_stay_in_range():
    tunes = [_tune(k, [("", "G", ",", ""), ("", "e", "'", "")]) for k in ["G"] * 6 + ["D"] * 3 + ["F"]]
    counts = keys_for(tunes)
    assert counts == Counter({1: 6, 2: 3, -1: 1})
    rng = random.Random(0)
    copies = transpositions(_tune("G", [("", "G", ",", "2"), ("", "d", "", "")]), 4, counts, rng)
    keys = sorted(parse_key(c.split("K:")[1].split("\n")[0]).tonic for c in copies)
    assert keys == ["D", "F"]  # only the corpus's other keys, each once
    for copy in copies:
        assert min(_pitches(copy)) >= 55 - 1  # the fiddle's G string (a semitone of spelling aside)


def test_prepare_trains_on_copies_and_validates_on_real_tunes(tmp_path):
    tunes = [_tune(k, [("", "ABcdefgab"[i % 9], "", "")] * 8) for i, k in enumerate(["G", "D", "A", "C"] * 10)]
    stream = tmp_path / "s.txt"
    stream.write_text("\n".join(tunes))
    plain = prepare(stream, 0.1, 7)
    copies = [0]

    def augment(text: str) -> list[str]:
        copies[0] += 1
        return [transpose(text, 2), text.replace("K:", "K:\u00e9")]  # the second has a new character: dropped

    more = prepare(stream, 0.1, 7, augment, "test")
    assert copies[0] == plain.meta["train_pieces"]  # held-out tunes are never augmented
    kept = more.meta["augmented_pieces"]  # copies whose characters the corpus has (not the \u00e9 ones)
    assert copies[0] // 2 <= kept <= copies[0]
    assert len(more.val) == len(plain.val) and len(more.train) > (1 + kept / copies[0] * 0.9) * len(plain.train)
    assert more.vocab.chars == plain.vocab.chars
    assert prepare(stream, 0.1, 7).meta["augment"] == ""  # a change of setting makes the files again


HOME = {"home": {"tonic": "C", "keys": {"maj": [0, 0, 7, 0, 0, 0, 0, 3, 0, 0, 0, 0], "dor": [0] * 9 + [1, 0, 0]}}}


@settings(max_examples=60, deadline=None)
@given(
    tonic=st.sampled_from(["C", "D", "Eb", "E", "F", "F#", "G", "A", "Bb", "B"]),
    mode=st.sampled_from(["", "m", "dor", "mix"]),
)
def test_a_seed_moved_home_comes_back_in_its_own_key(tonic, mode):
    from encoders.abc.codec import CODEC

    seed = f"X:1\nM:6/8\nL:1/8\nK:{tonic}{mode}\nABc d2e|"
    home, back = CODEC.to_home(seed, HOME)
    assert CODEC.from_home(home, back, HOME, random.Random(0)) == seed
    if back:  # moved home (else kept as it is: its key would not come back spelled the same)
        assert re.search(r"^K:C" + re.escape(mode) + "$", home, flags=re.M)
    else:
        assert home == seed and tonic == "C"
    assert CODEC.to_home(seed, {}) == (seed, 0)  # a model not at home: nothing moves


def test_tunes_written_at_home_go_to_keys_drawn_from_the_corpus():
    from encoders.abc.codec import CODEC

    rng = random.Random(1)
    tune = "X:1\nM:4/4\nL:1/8\nK:C\ncdef gfed|c8|]\n"
    keys = [CODEC.from_home(tune, None, HOME, rng).split("\n")[3] for _ in range(200)]
    assert set(keys) == {"K:D", "K:G"} and 100 < keys.count("K:D") < 180  # 7 in 10 major tunes are in D
    dorian = CODEC.from_home(tune.replace("K:C", "K:Cdor"), None, HOME, rng)
    assert dorian.split("\n")[3] == "K:Ador" and "K:Ddor" not in dorian
    assert CODEC.from_home(tune.replace("K:C", "K:G"), None, HOME, rng).split("\n")[3] == "K:G"  # not at home


@pytest.mark.parametrize(
    "home",
    [
        {"tonic": "D", "keys": {"maj": [1] * 12}},
        {"tonic": "C", "keys": {"maj": [1] * 11}},
        {"tonic": "C", "keys": []},
        {"tonic": "C", "keys": {"maj": [0] * 12}},
        "C",
        {"tonic": "C", "keys": {"maj": [True] * 12}},
    ],
)
def test_a_malformed_home_option_is_refused(home):
    from encoders.abc.transpose import home_of

    with pytest.raises(ValueError, match="home"):
        home_of({"home": home})
