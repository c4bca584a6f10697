"""Sampling: seeds, stopping, lengths, repeatability, grammar masks, batching."""

from types import SimpleNamespace

import pytest
import torch

from encoders import GrammarState
from musicrnn.data import UnknownCharacters, Vocab
from musicrnn.model import CharLSTM, ModelConfig
from musicrnn.sample import _stepper, generate, generate_pieces

VOCAB = Vocab("\n :1X[]abc|")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return CharLSTM(ModelConfig(len(VOCAB), hidden=24, layers=2, embed=8, dropout=0.0)).eval()


class Only(GrammarState):
    """A grammar allowing one fixed set of characters, recording what it was fed."""

    def __init__(self, chars):
        self.chars, self.fed = chars, []

    def feed(self, text):
        self.fed.append(text)

    def allowed(self):
        return self.chars


def test_texts_start_with_seed_and_stop_or_run_to_length(model):
    texts = generate(model, VOCAB, "X:1", num=20, length=60, random_seed=3)
    assert len(texts) == 20
    for t in texts:
        assert t.startswith("X:1") and len(t) <= 3 + 60
        assert "\n\n" not in t  # stopped at the first blank line, which is cut off
        if len(t) < 63:
            assert t.endswith("\n")
    assert any(len(t) < 63 for t in texts)  # an untrained model writes blank lines often enough


def test_stop_cut_to_single_newline_also_across_the_seed(model):
    assert generate(model, VOCAB, "X:1", num=2, grammar=lambda: Only("\n"), random_seed=0) == ["X:1\n"] * 2
    assert generate(model, VOCAB, "X:1\n", grammar=lambda: Only("\n"), random_seed=0) == ["X:1\n"]
    # A stop string without a newline is kept.
    assert generate(model, VOCAB, "X:1", grammar=lambda: Only("a"), stop="aaa", random_seed=0) == ["X:1aaa"]


def test_length_respected_without_stop(model):
    texts = generate(model, VOCAB, "X:1", num=3, length=37, stop=None, random_seed=1)
    assert [len(t) for t in texts] == [40] * 3
    assert generate(model, VOCAB, "X:1", length=0) == ["X:1"]


def test_random_seed_repeatable(model):
    a = generate(model, VOCAB, "X:1", num=4, length=80, stop=None, random_seed=7)
    b = generate(model, VOCAB, "X:1", num=4, length=80, stop=None, random_seed=7)
    c = generate(model, VOCAB, "X:1", num=4, length=80, stop=None, random_seed=8)
    assert a == b and a != c


def test_grammar_forces_its_one_char_and_sees_every_char(model):
    grammars = []

    def make():
        grammars.append(Only("b"))
        return grammars[-1]

    texts = generate(model, VOCAB, "X:1", num=3, length=25, grammar=make, random_seed=0)
    assert texts == ["X:1" + "b" * 25] * 3
    assert all("".join(g.fed) == texts[0] for g in grammars)


def test_empty_or_unknown_allowed_set_falls_back_to_no_mask(model):
    for allowed in ("", "Zé"):
        masked = generate(
            model, VOCAB, "X:1", num=2, length=30, stop=None, grammar=lambda: Only(allowed), random_seed=4
        )
        free = generate(model, VOCAB, "X:1", num=2, length=30, stop=None, random_seed=4)
        assert masked == free
    # None from allowed() means anything, and a factory that gives None means no grammar.
    assert generate(model, VOCAB, "X:1", length=30, stop=None, grammar=lambda: Only(None), random_seed=4) == generate(
        model, VOCAB, "X:1", length=30, stop=None, grammar=lambda: None, random_seed=4
    )


def test_mask_keeps_allowed_chars_only(model):
    texts = generate(model, VOCAB, "X:1", num=8, length=50, stop=None, grammar=lambda: Only("ab|Q"), random_seed=2)
    assert all(set(t[3:]) <= set("ab|") for t in texts)


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan")])
def test_temperature_must_be_positive(model, temperature):
    with pytest.raises(ValueError, match="temperature"):
        generate(model, VOCAB, "X:1", temperature=temperature)


def test_unknown_seed_chars_listed(model):
    with pytest.raises(UnknownCharacters) as e:
        generate(model, VOCAB, "X:1\nQé")
    assert e.value.chars == ["Q", "é"]
    assert "'Q'" in str(e.value)


def test_empty_seed_starts_a_fresh_piece(model):
    texts = generate(model, VOCAB, "", num=3, length=20, random_seed=0)
    assert len(texts) == 3 and all(len(t) <= 20 for t in texts)


def test_batched_streams_equal_one_stream_when_near_greedy(model):
    one = generate(model, VOCAB, "X:1\n[a", length=120, temperature=1e-4, random_seed=0)
    many = generate(model, VOCAB, "X:1\n[a", num=6, length=120, temperature=1e-4, random_seed=5)
    assert many == one * 6
    assert generate(model, VOCAB, "X:1\n[a", length=120, top_k=1, random_seed=9) == one


def test_top_k_limits_choices(model):
    with torch.inference_mode():
        logits, _ = model(torch.as_tensor(VOCAB.encode("X:1").astype("int64"))[None])
    top2 = {VOCAB.chars[i] for i in logits[0, -1].topk(2).indices.tolist()}
    firsts = {t[3] for t in generate(model, VOCAB, "X:1", num=64, length=1, stop=None, top_k=2, random_seed=0)}
    assert firsts <= top2


def test_fast_step_matches_model_step(model):
    state = model.init_state(3)
    step = _stepper(model, state)
    assert step is not model.step
    ids = torch.tensor([1, 5, 9])
    with torch.inference_mode():
        s1 = s2 = state
        for _ in range(5):
            (a, s1), (b, s2) = model.step(ids, s1), step(ids, s2)
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
            ids = a.argmax(-1)


def test_generate_pieces_wires_grammar_unless_free(model):
    seen = []
    loaded = SimpleNamespace(model=model, vocab=VOCAB, meta={"scheme_options": {"meters": ["6/8"]}})
    codec = SimpleNamespace(
        seed="X:1",
        grammar=lambda options: seen.append(options) or Only("c"),
        bar_candidates=4,
        bar_recall=(8,),
        cadence_temperature=1.0,
        length_chars="",
        to_home=lambda seed, options: (seed, 0),
    )
    texts = generate_pieces(loaded, codec, num=2, length=10, random_seed=0)
    assert texts == ["X:1" + "c" * 10] * 2  # default seed "X:1"
    assert seen and all(s == {"meters": ["6/8"]} for s in seen)  # the model's scheme options reach the grammar
    free = generate_pieces(loaded, codec, seed="X:1", num=2, length=10, random_seed=0, free=True)
    assert free == generate(model, VOCAB, "X:1", num=2, length=10, random_seed=0)


class EndsAfterB(Only):
    """Allows 'a' and 'b'; a piece may end right after a 'b'."""

    def __init__(self):
        super().__init__("ab")
        self.last = ""

    def feed(self, text):
        super().feed(text)
        self.last = text[-1:] or self.last

    def can_end(self):
        return self.last == "b"


def test_a_piece_cut_by_the_length_cap_is_cut_back_to_where_it_could_end(model):
    texts = generate(model, VOCAB, "X:1", num=8, length=30, grammar=EndsAfterB, random_seed=4)
    for t in texts:
        body = t[3:]
        assert body.endswith("b\n") and set(body[:-1]) <= {"a", "b"}, t
        assert len(body) <= 31
    # Without can_end the cap cuts anywhere.
    assert all(
        len(t) == 33 for t in generate(model, VOCAB, "X:1", num=4, length=30, grammar=lambda: Only("ab"), random_seed=4)
    )


def test_scores_are_the_mean_log_likelihood_and_rerank_keeps_the_likeliest(model):
    import math

    scores = []
    texts = generate(model, VOCAB, "X:1", num=6, length=12, random_seed=5, scores=scores, stop=None)
    assert len(scores) == 6 and all(s <= 0 for s in scores)
    # the score is what the model gives the text, character by character (no grammar here)
    ids = torch.as_tensor(VOCAB.encode("\n" + texts[0]).astype("int64"))[None]
    with torch.no_grad():
        logp = torch.log_softmax(model(ids)[0][0], -1)
    new = ids[0, 1 + len("X:1") :]
    want = logp[len("X:1") : -1].gather(1, new[:, None]).mean().item()
    assert math.isclose(scores[0], want, rel_tol=1e-4, abs_tol=1e-5)

    loaded = SimpleNamespace(model=model, vocab=VOCAB, meta={})
    codec = SimpleNamespace(
        seed="X:1",
        grammar=lambda options: None,
        bar_candidates=4,
        bar_recall=(8,),
        cadence_temperature=1.0,
        length_chars="",
        to_home=lambda seed, options: (seed, 0),
    )
    picked = generate_pieces(loaded, codec, seed="X:1", num=2, length=12, random_seed=5, rerank=3)
    assert len(picked) == 2
    every, ranked = [], []
    every = generate(model, VOCAB, "X:1", num=6, length=12, random_seed=5, scores=ranked)
    order = sorted(range(6), key=lambda i: -ranked[i])[:2]
    assert picked == [every[i] for i in sorted(order)]
    with pytest.raises(ValueError, match="rerank"):
        generate_pieces(loaded, codec, seed="X:1", num=2, rerank=0)


class Cadence(Only):
    """Allows 'a' and 'b'; every other character is a cadence."""

    def __init__(self):
        super().__init__("ab")
        self.n = 0

    def feed(self, text):
        super().feed(text)
        self.n += len(text)

    def cadence(self):
        return self.n % 2 == 1


def test_cadence_temperature_sharpens_only_cadence_steps(model):
    plain = generate(model, VOCAB, "X:1", num=64, length=20, grammar=Cadence, random_seed=2)
    sharp = generate(model, VOCAB, "X:1", num=64, length=20, grammar=Cadence, random_seed=2, cadence_temperature=0.05)

    # at a near-zero temperature the cadence steps take the likeliest letter: fewer distinct choices there
    def distinct(texts, parity):
        return len({t[3 + i] for t in texts for i in range(parity, 20, 2)})

    assert distinct(sharp, 0) <= distinct(plain, 0)
    column = lambda texts, i: {t[3 + i] for t in texts}  # noqa: E731
    assert len(column(sharp, 0)) == 1  # the first step (after the seed) is a cadence step
    assert len(column(plain, 0)) == 2


def test_a_model_at_home_is_primed_in_c_and_its_tunes_come_back_in_the_asked_key():
    import copy

    from encoders import UsageError
    from musicrnn.checkpoint import load
    from musicrnn.pipeline import model_codec

    loaded = copy.copy(load("folk"))
    keys = {"maj": [0, 0, 5, 0, 0, 0, 0, 5, 0, 0, 0, 0], "dor": [0] * 9 + [1, 0, 0]}
    loaded.meta = {
        **loaded.meta,
        "scheme_options": {**loaded.meta["scheme_options"], "home": {"tonic": "C", "keys": keys}},
    }
    codec = model_codec(loaded)
    seed = "X:1\nM:6/8\nL:1/8\nK:Ador\n"
    asked = generate_pieces(loaded, codec, seed=seed, num=4, random_seed=3, bar_candidates=1, bar_recall=())
    assert all(t.startswith(seed) and "K:Cdor" not in t for t in asked)
    # the same tunes, sampled from the seed moved home (C dorian), moved back to A
    at_home = generate(
        loaded.model,
        loaded.vocab,
        seed.replace("Ador", "Cdor"),
        num=4,
        random_seed=3,
        grammar=lambda: codec.grammar(loaded.meta["scheme_options"]),
        cadence_temperature=codec.cadence_temperature,
    )
    assert asked == [codec.transpose(t, -3) for t in at_home]
    drawn = generate_pieces(loaded, codec, num=12, random_seed=3, bar_candidates=1, bar_recall=())
    options = loaded.meta["scheme_options"]
    written = generate(
        loaded.model,
        loaded.vocab,
        "X:1",
        num=12,
        random_seed=3,
        grammar=lambda: codec.grammar(options),
        cadence_temperature=codec.cadence_temperature,
    )
    moved = 0
    for out, text in zip(drawn, written):
        head = codec.figures(text, header_only=True)
        if head["tonic_pc"] == 0:  # written at home: moved to a key of its mode the corpus has
            moved += 1
            keys = {"maj": (2, 7), "dor": (9,)}.get(head["mode"], (2, 7, 9))  # a mode it lacks: any
            assert codec.figures(out, header_only=True)["tonic_pc"] in keys and out != text
        else:  # written in another key: as written
            assert out == text
    assert moved
    with pytest.raises(UsageError, match="home"):
        loaded.meta["scheme_options"]["home"] = {"tonic": "C", "keys": {"maj": [1]}}
        generate_pieces(loaded, codec, num=1)
