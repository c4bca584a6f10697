"""Sampling bar by bar: each bar the likeliest of several sampled ones (musicrnn.sample)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from encoders import GrammarState, UsageError
from encoders.abc.grammar import check
from musicrnn.data import Vocab
from musicrnn.sample import MONOTONE_BARS, _away, _BarChoice, generate, generate_pieces

VOCAB = Vocab("\nHab|")
PROBS = {"\n": 0.001, "H": 0.001, "a": 0.3, "b": 0.2, "|": 0.498}


class FixedModel(torch.nn.Module):
    """Every next character has the probabilities `probs`, whatever came before."""

    def __init__(self, probs):
        super().__init__()
        self.logits = torch.log(torch.tensor([probs[c] for c in VOCAB.chars]))

    def forward(self, ids):
        b, t = ids.shape
        return self.logits.expand(b, t, -1), self._state(b)

    def step(self, ids, state):
        return self.logits.expand(len(ids), -1), state

    @staticmethod
    def _state(b):
        return torch.zeros(1, b, 1), torch.zeros(1, b, 1)


class Bars(GrammarState):
    """An optional header ("a" or "b", then a newline) and then `bars` bars of a/b ended by
    "|"; then the blank line that ends the piece."""

    def __init__(self, header: bool = False, bars: int = 3):
        self.text, self.header, self.bars = "", header, bars

    def feed(self, text):
        self.text += text

    def _body(self):
        return self.text.split("\n", 1)[1] if self.header else self.text

    def allowed(self):
        if self.header and "\n" not in self.text:
            return "ab" if not self.text else "\n"
        return "\n" if self._body().count("|") >= self.bars else "ab|"

    def segment(self):
        if self.header and "\n" not in self.text:
            return 0
        return 1 + self._body().count("|")


def test_every_bar_is_the_likeliest_of_its_candidates():
    # The likeliest bar under the model is "|" alone (p .498; "a|" is .15): among 16
    # candidates one is that bar, all but certainly, so every chosen bar is.
    model = FixedModel(PROBS)
    texts = generate(model, VOCAB, "", num=20, bar_candidates=16, grammar=Bars, random_seed=0)
    assert texts == ["|||\n"] * 20
    plain = generate(model, VOCAB, "", num=20, grammar=Bars, random_seed=0)
    assert len(set(plain)) > 5 and sum(t != "|||\n" for t in plain) > 10


class CountedBars(Bars):
    """`Bars` counting each a and b as an event (a note)."""

    def events(self):
        return sum(c in "ab" for c in self._body())


def test_bars_with_events_are_ranked_per_event():
    # P(a) .6, P(|) .349: per note, a bar of many a's beats "|" alone (-1.05), which wins summed.
    probs = {"\n": 0.0005, "H": 0.0005, "a": 0.6, "b": 0.05, "|": 0.349}
    model = FixedModel(probs)
    texts = generate(model, VOCAB, "", num=10, bar_candidates=16, grammar=CountedBars, random_seed=3)
    bars = [b for t in texts for b in t.strip().split("|")[:-1]]
    assert len(bars) == 30 and all(set(b) == {"a"} for b in bars)
    assert sum(len(b) for b in bars) / len(bars) >= 3
    assert generate(model, VOCAB, "", num=10, bar_candidates=16, grammar=Bars, random_seed=3) == ["|||\n"] * 10


class MonotoneBars(CountedBars):
    """`CountedBars` of six bars that says how many closed bars in a row repeat one note."""

    def __init__(self):
        super().__init__(bars=6)

    def monotone(self):
        return _monotone_runs(self._body())[-1]


def _monotone_runs(text):
    """After each closed bar of `text`, the bars in a row up to it that repeat one note (0 first)."""
    runs = [0]
    for bar in text.strip().split("|")[:-1]:
        runs.append(runs[-1] + 1 if len(bar) >= 2 and len(set(bar)) == 1 else 0)
    return runs


def _longest_monotone_run(text):
    return max(_monotone_runs(text))


def test_ranking_does_not_lock_into_bars_of_one_repeated_note(monkeypatch):
    # Per note, bars of a's are the likeliest (as repeated notes are under a real model): ranked,
    # nearly every bar is one, runs of three to six.  The ranking keeps the MONOTONE_BARS-th
    # such bar in a row only when no candidate is otherwise (here an empty bar always is).
    probs = {"\n": 0.0005, "H": 0.0005, "a": 0.6, "b": 0.05, "|": 0.349}
    model = FixedModel(probs)
    kw = {"num": 30, "bar_candidates": 8, "grammar": MonotoneBars, "random_seed": 3}
    texts = generate(model, VOCAB, "", **kw)
    assert all(_longest_monotone_run(t) == MONOTONE_BARS - 1 for t in texts)
    monkeypatch.setattr(_BarChoice, "monotone_bars", 0)  # the guard off
    unguarded = [_longest_monotone_run(t) for t in generate(model, VOCAB, "", **kw)]
    assert sum(run >= MONOTONE_BARS for run in unguarded) > 25 and max(unguarded) == 6


class NotesAndLengths(Bars):
    """`Bars` where each a is a note and b writes a note's length (no note of its own)."""

    def events(self):
        return self._body().count("a")


def test_unranked_characters_are_written_as_sampled_but_do_not_count_in_ranking():
    # b (p .05) costs 3 nats: ranked on it, the bars kept are those without one; unranked (as
    # ABC's note lengths are), a bar is kept whatever its b's, so they come at the sampled rate.
    probs = {"\n": 0.0005, "H": 0.0005, "a": 0.6, "b": 0.05, "|": 0.349}
    model = FixedModel(probs)
    kw = {"num": 40, "bar_candidates": 8, "grammar": NotesAndLengths, "random_seed": 5}

    def share_of_b(texts):
        body = "".join(texts).replace("|", "").replace("\n", "")
        return body.count("b") / len(body)

    sampled = share_of_b(generate(model, VOCAB, "", num=400, grammar=NotesAndLengths, random_seed=5))
    assert share_of_b(generate(model, VOCAB, "", **kw)) < 0.01
    assert share_of_b(generate(model, VOCAB, "", unranked="b", **kw)) == pytest.approx(sampled, abs=0.03)


def test_the_header_is_sampled_not_ranked():
    # Ranked, every header would be "a" (p .3 against .2); sampled, about 2 in 5 are "b".
    model = FixedModel(PROBS)
    texts = generate(model, VOCAB, "", num=100, bar_candidates=16, grammar=lambda: Bars(header=True), random_seed=1)
    heads = [t.split("\n")[0] for t in texts]
    assert set(heads) == {"a", "b"} and 20 <= heads.count("b") <= 60
    assert all(t.split("\n")[1] == "|||" for t in texts)  # the bars are still chosen


def test_one_candidate_or_no_bar_counting_grammar_is_plain_sampling():
    model = FixedModel(PROBS)
    kw = {"num": 6, "grammar": Bars, "random_seed": 4}
    assert generate(model, VOCAB, "", bar_candidates=1, **kw) == generate(model, VOCAB, "", **kw)

    class Uncounted(Bars):
        def segment(self):
            return None

    kw["grammar"] = Uncounted
    assert generate(model, VOCAB, "", bar_candidates=8, **kw) == generate(model, VOCAB, "", **kw)


def test_scores_are_the_chosen_texts_mean_log_likelihood():
    model = FixedModel(PROBS)
    scores = []
    texts = generate(model, VOCAB, "", num=3, bar_candidates=16, grammar=Bars, random_seed=0, scores=scores)
    # "|||" then the blank line: three "|" at .498, then "\n" and "\n" at probability 1 (masked).
    want = 3 * torch.log(torch.tensor(PROBS["|"] / (PROBS["a"] + PROBS["b"] + PROBS["|"]))).item() / 5
    assert texts == ["|||\n"] * 3 and scores == pytest.approx([want] * 3, abs=1e-4)


def test_bundled_folk_model_bar_by_bar_writes_whole_playable_tunes():
    from musicrnn.checkpoint import load
    from musicrnn.pipeline import model_codec

    loaded = load("folk")
    codec = model_codec(loaded)
    texts = generate_pieces(loaded, codec, num=6, random_seed=2, bar_candidates=4)
    assert len(texts) == 6
    for text in texts:
        assert check(text) == [], text
        decoded = codec.decode(text)
        assert not decoded.repairs and decoded.piece.notes
    with pytest.raises(UsageError, match="bar_candidates"):
        generate_pieces(loaded, codec, num=1, bar_candidates=0)


def test_bar_candidates_option_is_checked_and_one_is_plain_sampling():
    from musicrnn import pipeline

    with pytest.raises(UsageError, match="--bar-candidates must be from 1 to 32"):
        pipeline.generate("folk", num=1, bar_candidates=33)
    one = pipeline.generate("folk", num=3, random_seed=5, bar_candidates=1)
    four = pipeline.generate("folk", num=3, random_seed=5)
    assert [p.text for p in one] != [p.text for p in four]  # the default chooses bars
    assert all(p.piece.notes for p in one + four)


def _per_event(bar: str, probs: dict) -> float:
    """A bar's log-likelihood per a/b under FixedModel(probs) and the body's mask "ab|"."""
    z = probs["a"] + probs["b"] + probs["|"]
    ll = sum(torch.log(torch.tensor(probs[c] / z)).item() for c in bar)
    return ll / max(1, sum(c in "ab" for c in bar))


RECALL_PROBS = {"\n": 0.001, "H": 0.001, "a": 0.4, "b": 0.35, "|": 0.248}


def test_a_recalled_bar_is_kept_when_the_model_finds_it_likelier():
    # With one sampled bar and a copy of the bar before as the two candidates, every kept
    # bar is at least as likely (per note) as the one before it, and some are copies.
    model = FixedModel(RECALL_PROBS)
    grammar = lambda: CountedBars(bars=10)  # noqa: E731
    texts = generate(model, VOCAB, "", num=30, bar_recall=(1,), grammar=grammar, random_seed=7)
    copies = 0
    for text in texts:
        bars = [b + "|" for b in text.strip().split("|")[:-1]]
        assert len(bars) == 10
        scores = [_per_event(b, RECALL_PROBS) for b in bars]
        assert all(b >= a - 1e-9 for a, b in zip(scores, scores[1:])), text
        copies += sum(a == b for a, b in zip(bars, bars[1:]))
    assert copies > 100
    plain = generate(model, VOCAB, "", num=30, grammar=grammar, random_seed=7)
    falls = 0
    for text in plain:
        scores = [_per_event(b + "|", RECALL_PROBS) for b in text.strip().split("|")[:-1]]
        falls += sum(b < a - 1e-9 for a, b in zip(scores, scores[1:]))
    assert falls > 30  # sampled alone, bars are as often less likely than the one before


class Alternating(CountedBars):
    """`CountedBars` whose odd bars hold only a's and even bars only b's."""

    def allowed(self):
        allowed = super().allowed()
        if allowed != "ab|":
            return allowed
        bar = self._body().split("|")[-1]
        note = "a" if self._body().count("|") % 2 == 0 else "b"
        return note + "|" if bar else note


def test_a_recalled_bar_the_grammar_refuses_is_never_kept():
    model = FixedModel(RECALL_PROBS)
    grammar = lambda: Alternating(bars=8)  # noqa: E731
    for recall in ((1,), (2,), (1, 2)):
        texts = generate(model, VOCAB, "", num=20, bar_recall=recall, grammar=grammar, random_seed=1)
        for text in texts:
            bars = text.strip().split("|")[:-1]
            assert len(bars) == 8 and all(b and set(b) == set("ab"[i % 2]) for i, b in enumerate(bars)), text
        if 2 in recall:  # a copy of the bar two back is allowed: some are kept
            assert sum(t.strip().split("|")[i] == t.strip().split("|")[i - 2] for t in texts for i in range(2, 8)) > 20


def test_bar_recall_makes_the_bundled_model_repeat_bars():
    from musicrnn.checkpoint import load
    from musicrnn.pipeline import model_codec

    loaded = load("folk")
    codec = model_codec(loaded)
    # 48 tunes: the bundled model repeats bars of its own too (8% of bars unrecalled, 16% recalled,
    # 1,600 tunes), so a handful of tunes can tie
    kw = {"num": 48, "random_seed": 2}
    figures = lambda texts: [codec.figures(t)["written_bars"] for t in texts]  # noqa: E731
    repeats = lambda bars: sum(b in bars[:i] for i, b in enumerate(bars) if b)  # noqa: E731
    recalled = figures(generate_pieces(loaded, codec, bar_recall=(8,), **kw))
    plain = figures(generate_pieces(loaded, codec, bar_recall=(), **kw))
    assert sum(map(repeats, recalled)) > sum(map(repeats, plain))


def test_bar_recall_option_is_checked_and_zero_turns_it_off():
    from musicrnn import pipeline

    for bad in ("x", "-1", "65", "1,2,3,4,5", ""):
        with pytest.raises(UsageError, match="--bar-recall"):
            pipeline.generate("folk", num=1, bar_recall=bad)
    assert pipeline.bar_recall_of("8, 4") == (4, 8) and pipeline.bar_recall_of("0") == ()
    off = pipeline.generate("folk", num=3, random_seed=5, bar_recall="0")
    same = [p.text for p in pipeline.generate("folk", num=3, random_seed=5, bar_recall=())]
    assert [p.text for p in off] == same
    on = pipeline.generate("folk", num=3, random_seed=5)
    assert [p.text for p in on] != same  # the default recalls (its extra rows draw too)


def test_abc_ranks_bars_without_note_lengths_and_cools_cadence_bars_unless_asked():
    from musicrnn import pipeline
    from musicrnn.checkpoint import load

    loaded = load("folk")
    codec = pipeline.model_codec(loaded)
    assert codec.length_chars == "0123456789/<>" and codec.cadence_temperature == 0.7
    kw = {"num": 3, "random_seed": 4, "bar_candidates": 4, "bar_recall": (8,)}
    default = generate_pieces(loaded, codec, **kw)
    options = loaded.meta["scheme_options"]
    home, back = codec.to_home("X:1", options)
    direct = generate(
        loaded.model,
        loaded.vocab,
        home,
        grammar=lambda: codec.grammar(options),
        unranked=codec.length_chars,
        cadence_temperature=0.7,
        **kw,
    )
    # the default is the scheme's: lengths unranked, cadence bars at 0.7 (then moved to drawn keys)
    assert default == _away(codec, direct, "X:1", home, back, options, 4)
    ranked = generate_pieces(loaded, codec, rank_lengths=True, **kw)
    warm = generate_pieces(loaded, codec, cadence_temperature=1.0, **kw)
    assert ranked != default and warm != default
    texts = [p.text for p in pipeline.generate("folk", rank_lengths=True, **kw)]
    assert texts == ranked


def test_a_bar_that_ends_the_piece_counts_its_end_as_one_more_event():
    import numpy as np

    from musicrnn.sample import _BarChoice

    class Events:
        def __init__(self, n):
            self.n = n

        def events(self):
            return self.n

    run = object.__new__(_BarChoice)
    run.grammars = [Events(4), Events(3)]  # 3 notes each since the bar began (at 1 and 0 events)
    run.events_at = np.array([1, 0])
    run.bar_ll = np.array([-3.0, -3.0])
    run.stopped = np.array([False, True])  # the second wrote the blank line: the piece ends
    assert run._scores(np.array([0, 1])).tolist() == [-1.0, -0.75]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789, -x", max_size=12))
def test_bar_recall_text_parses_to_bars_back_or_is_a_one_line_error(text):
    from musicrnn import pipeline

    try:
        backs = pipeline.bar_recall_of(text)
    except UsageError as e:
        assert "--bar-recall" in str(e) and "\n" not in str(e)
        return
    assert list(backs) == sorted(set(backs)) and len(backs) <= 4 and all(1 <= b <= 64 for b in backs)
    assert backs == tuple(sorted({int(x) for x in text.replace(" ", "").split(",")} - {0}))
