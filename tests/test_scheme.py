"""The Scheme contract (encoders.scheme): a toy scheme defined here, in the test alone, works with
encode, decode, generate, render and audition, and every built-in scheme keeps the contract."""

from __future__ import annotations

from types import SimpleNamespace

import mido
import pytest
import torch

import encoders
from encoders import CharGrammar, Decoded, EncodeResult, GrammarState, Note, Option, Piece, Problem, Scheme, UsageError
from encoders.scheme import ENGRAVE_NOTES, ENGRAVE_TAB


class BeatsGrammar(CharGrammar):
    """After the header line, steps 'x' or '.', sixteen to a line; a piece may end after a whole line."""

    __slots__ = ("_line", "_col", "_cache", "_done", "problems", "_text")

    def __init__(self):
        self._line, self._col, self.problems = 1, 0, []
        self._reset()

    def _reset(self):
        self._cache, self._done, self._text = None, False, ""

    def _body(self):
        return self._text.split("\n", 1)[1] if "\n" in self._text else None

    def allowed(self):
        body = self._body()
        if body is None:
            return "\n" if self._text == "%beats" else None  # the header is the seed, then its line break
        line = body.rsplit("\n", 1)[-1]
        return "\n" if len(line) == 16 else "x."

    def can_end(self):
        body = self._body()
        return body is not None and body.endswith("\n") and len(body) > 1

    def _step(self, ch):
        self._text += ch

    def _recover(self, ch):
        self._text += ch


class Beats(Scheme):
    """A toy drum-pattern scheme: "%beats", then lines of sixteen steps, 'x' a hit, '.' a rest."""

    name = "toybeats"
    suffixes = (".beats",)
    seed = "%beats"
    program = 115
    encode_options = (Option("fill", bool, False, "toy: end every line with a hit"),)
    decode_options = (Option("pitch", int, 60, "toy: the pitch a hit plays"),)

    def _encode_text(self, text, path, fill=False):
        result = EncodeResult()
        for block in self.split(text):
            lines = [line.strip() for line in block.splitlines()[1:]]
            if any(set(line) - set("x.") or len(line) != 16 for line in lines):
                result.problems.append(Problem("not a beat pattern: skipped", path=path))
                continue
            if fill:
                lines = [line[:-1] + "x" for line in lines]
            result.pieces.append("%beats\n" + "".join(line + "\n" for line in lines))
        return result

    def _decode(self, text, path, pitch=60):
        if "boom" in text:
            raise RuntimeError("the toy decoder fell over")
        notes = [
            Note(pitch, 0.25 * (16 * row + col), 0.25)
            for row, line in enumerate(text.splitlines()[1:])
            for col, ch in enumerate(line)
            if ch == "x"
        ]
        return Decoded(Piece(notes=notes), text, [], True)

    def grammar(self, options=None):
        return BeatsGrammar()


@pytest.fixture
def toy(monkeypatch):
    """The toy scheme, registered for one test (the registry is put back after it)."""
    encoders.all_schemes()
    monkeypatch.setattr(encoders, "_REGISTRY", dict(encoders._REGISTRY))
    return encoders.register(Beats())


PATTERN = "%beats\nx...x...x...x...\nx.x.x.x.x.x.x.x.\n"


def test_a_toy_scheme_is_found_by_name_suffix_and_text(toy):
    assert encoders.get("toybeats") is toy and encoders.lookup("toybeats") is toy and encoders.lookup(toy) is toy
    assert encoders.codec_for_path("song.BEATS") is toy and toy.reads("x.beats") and not toy.reads("x.abc")
    assert encoders.sniff(PATTERN) is toy
    assert encoders.lookup("midi") is None and encoders.lookup(None) is None
    assert encoders.declared_options("decode")["pitch"][1] == ["toybeats"]
    assert encoders.declared_options("decode")["step"][1] == ["columns", "rows"]


def test_options_are_declared_checked_and_never_swallowed(toy):
    assert toy.encode_text(PATTERN).pieces == [PATTERN]
    assert toy.encode_text(PATTERN, fill="yes").pieces[0].splitlines()[1] == "x...x...x...x..x"
    assert [n.pitch for n in toy.decode(PATTERN, pitch="62").piece.notes][:1] == [62]
    with pytest.raises(UsageError, match=r"--step is for the columns, rows schemes, not toybeats"):
        toy.decode(PATTERN, step=0.5)
    with pytest.raises(UsageError, match=r"toybeats scheme has no encode option --colour .*--fill"):
        toy.encode_text(PATTERN, colour="red")
    with pytest.raises(UsageError, match=r"--pitch must be a whole number, not 'high'"):
        toy.decode(PATTERN, pitch="high")
    with pytest.raises(UsageError, match=r"--titles is for the abc scheme, not roll"):
        encoders.get("roll").encode_text("%roll\n", titles=True)
    with pytest.raises(UsageError, match=r"--transpose must be one of none, C, all, not 'D'"):
        encoders.get("abc").encode_text("X:1\nK:C\nC|\n", transpose="D")
    assert toy.own_options({"fill": True, "titles": True}) == {"fill": True}


def test_decode_never_raises_but_says_what_failed(toy, monkeypatch):
    monkeypatch.delenv("MUSICRNN_DEBUG", raising=False)
    decoded = toy.decode("%beats\nboom\n", path="b.beats")
    assert decoded.piece.notes == [] and decoded.text == "%beats\nboom\n"
    assert [str(p) for p in decoded.repairs] == [
        "b.beats: internal error, nothing played: RuntimeError: the toy decoder fell over"
    ]
    monkeypatch.setenv("MUSICRNN_DEBUG", "1")
    with pytest.raises(RuntimeError):
        toy.decode("%beats\nboom\n")


@pytest.mark.parametrize("name", ["roll", "events"])
def test_the_midi_schemes_have_the_safety_net_too(name, monkeypatch):
    monkeypatch.delenv("MUSICRNN_DEBUG", raising=False)
    scheme = encoders.get(name)
    monkeypatch.setattr(type(scheme), "_decode", lambda self, text, path: 1 / 0)
    decoded = scheme.decode("%" + name + " q=90\nL.\n")
    assert "ZeroDivisionError" in decoded.repairs[0].message and decoded.piece.notes == []


def test_defaults_say_the_scheme_has_no_such_capability(toy):
    assert toy.figures(PATTERN) is None and toy.grammar is not Scheme.grammar
    assert toy.complete_seed("%beats") == "%beats" and toy.augmenter([PATTERN], 2, 0) is None
    assert toy.corpus_options([PATTERN]) == {} and toy.corpus_options(PATTERN) == {}
    assert toy.body(PATTERN) == toy.music_key(PATTERN) == toy.label(PATTERN, 3) == PATTERN
    assert toy.engraving == ENGRAVE_NOTES and not toy.supports_continuation
    with pytest.raises(UsageError, match="needs a model of a MIDI scheme .*this one writes toybeats"):
        toy.continuation("song.mid")
    state = GrammarState()
    assert state.allowed() is None and state.can_end() is None and state.cadence() is False


def test_what_the_built_in_schemes_say_about_themselves():
    said = {
        s.name: (s.program, s.engraving, s.supports_continuation, s.grammar() is not None)
        for s in encoders.all_schemes()
    }
    assert said == {
        "abc": (40, "abc", False, True),
        "rows": (25, ENGRAVE_TAB, False, False),
        "columns": (25, ENGRAVE_TAB, False, True),
        "roll": (None, ENGRAVE_NOTES, True, True),
        "events": (None, ENGRAVE_NOTES, True, False),
    }
    assert encoders.Codec is Scheme


def test_encode_a_folder_of_two_schemes_each_with_its_own_options(toy, tmp_path):
    from musicrnn.encode import collect_files, encode_to_stream

    (tmp_path / "a.beats").write_text(PATTERN + "\n%beats\nnot a pattern\n")
    (tmp_path / "b.abc").write_text("X:1\nT:A\nM:4/4\nK:C\nCDEF GABc|\n")
    files, missing = collect_files([tmp_path], None)
    assert [f.name for f in files] == ["a.beats", "b.abc"] and not missing
    report = encode_to_stream(files, tmp_path / "out.txt", None, {"fill": True, "titles": True})
    stream = (tmp_path / "out.txt").read_text()
    assert report.pieces == 2 and len(report.skipped_pieces) == 1
    assert "x..x\nx.x.x.x.x.x.x.xx\n" in stream and "T:A" in stream
    with pytest.raises(UsageError, match="--fill is for the toybeats scheme, not abc"):
        encode_to_stream(files, tmp_path / "out2.txt", "abc", {"fill": True})
    with pytest.raises(UsageError, match="no scheme has the encode option 'colour'"):
        encode_to_stream(files, tmp_path / "out2.txt", None, {"colour": 1})
    assert not (tmp_path / "out2.txt").exists()


def test_generate_render_and_audition_a_toy_scheme(toy, tmp_path):
    from musicrnn.audio import piece_for_listening
    from musicrnn.audition import collect_sources
    from musicrnn.data import Vocab
    from musicrnn.model import CharLSTM, ModelConfig
    from musicrnn.outputs import write_piece
    from musicrnn.sample import generate_pieces

    vocab = Vocab.from_text("\n%beatsx.")
    torch.manual_seed(0)
    model = CharLSTM(ModelConfig(len(vocab), hidden=16, layers=1, embed=8, dropout=0.0)).eval()
    loaded = SimpleNamespace(model=model, vocab=vocab, meta={})
    texts = generate_pieces(loaded, toy, num=3, length=40, random_seed=1)
    for text in texts:
        head, _, body = text.partition("\n")
        assert head == "%beats" and set(body) <= set("x.\n")
        assert all(len(line) == 16 for line in body.splitlines())  # capped: cut back to a whole line
    decoded = toy.decode(PATTERN)
    assert piece_for_listening(decoded.piece, "toybeats").programs == {0: 115}
    write_piece(decoded.piece, tmp_path / "b.mid", text=decoded.text, scheme=toy)
    programs = [m.program for t in mido.MidiFile(tmp_path / "b.mid").tracks for m in t if m.type == "program_change"]
    assert programs == [115]
    folder = tmp_path / "pieces"
    folder.mkdir()
    (folder / "song.beats").write_text(PATTERN)
    sources, skipped = collect_sources(folder)
    assert [(s.scheme, s.name, len(s.piece.notes)) for s in sources] == [("toybeats", "song", 12)] and not skipped
