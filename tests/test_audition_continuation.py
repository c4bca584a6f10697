"""The audition page of a continued MIDI file: the MIDI's card, with the seed's tracks and the mark."""

from musicrnn.audition import collect_sources
from tests.test_continue_piano import two_hands


def test_a_continued_midi_is_auditioned_from_the_midi_not_its_text(tmp_path):
    import musicrnn

    path = two_hands(tmp_path / "seed.mid")
    out = tmp_path / "page"
    out.mkdir()
    musicrnn.continue_file(path, seed_bars=4, bars=4, random_seed=1, out=str(out / "continued.mid"))
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["continued.mid", "continued.roll"]  # the MIDI and its text beside it
    sources, skipped = collect_sources(out)
    assert skipped == [] and len(sources) == 1
    piece = sources[0].piece
    assert piece.marks.get("continuation") and len(set(piece.names.values())) == 2  # both hands' tracks
