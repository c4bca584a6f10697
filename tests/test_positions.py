"""Bar positions (issue 14): a model that reads, beside each character, where it stands in its
tune (the ABC grammar's bar of the strain and of the tune), told by the grammar in training
and in sampling alike."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import encoders
from musicrnn import checkpoint
from musicrnn.data import PIECE_START, Batches, Vocab, piece_positions, piece_spans
from musicrnn.evaluate import model_bits_per_char
from musicrnn.model import CharLSTM, ModelConfig
from musicrnn.sample import _stepper, generate, generate_pieces
from musicrnn.train import TrainConfig, TrainError, train

ABC = encoders.get("abc")

REEL = (
    "X:1\nM:4/4\nL:1/8\nK:G\ndc|BGGA BGGA|B2AB c2dc|BGGA BGGA|B2A2 G2::\nBd|g2gf g2dB|c2ec BGGA|g2gf g2dB|c2A2 G2:|\n"
)
JIG = "X:1\nM:6/8\nL:1/8\nK:D\nA|dfa agf|e2d cBA|dfa agf|e3 d2:|\n"
TUNES = [REEL, JIG, "X:1\nM:2/4\nL:1/8\nK:C\nc2 e2|g2 e2|f2 d2|c4|]\n"]


def _positions_after(text: str) -> list[int]:
    g = ABC.grammar()
    out = []
    for ch in text:
        g.feed(ch)
        out.append(g.position())
    return out


def test_abc_position_counts_the_strain_and_the_tune_in_fours():
    """A bar line is read once the character after it says which bar line it is."""
    at = _positions_after(REEL)

    def after(prefix: str) -> int:
        assert REEL.startswith(prefix)
        return at[len(prefix) - 1]

    head = "X:1\nM:4/4\nL:1/8\nK:G\n"
    assert {after(head[:k]) for k in range(1, len(head) + 1)} == {0}  # the header: nowhere yet
    assert after(head + "dc|B") == 0  # a pickup is no bar of the strain (the tune's first, of 1-3)
    assert after(head + "dc|BGGA BGGA|B") == 1  # the strain's first bar
    assert after(head + "dc|BGGA BGGA|B2AB c2dc|BGGA BGGA|B") == 3 + 16 * 1  # 4 bars with the pickup
    strain = REEL.index("::") + 3
    assert after(REEL[:strain]) == 0 + 16 * 1  # `::` starts a strain; the tune has 5 bars (4-7: 1)
    second = REEL.index("|", REEL.index("|", strain) + 1)  # the strain's pickup `Bd|` aside
    assert after(REEL[: second + 2]) == 1 + 16 * 1
    assert at[-1] == 0 + 16 * 2  # `:|` ends the second strain; the tune has 9 bars (8-11: 2)
    assert max(at) < ABC.positions


def test_positions_are_bounded_however_long_the_tune():
    long = "X:1\nM:2/4\nL:1/8\nK:C\n" + "c2 e2|c2 e2|c2 e2|c2 e2|\n" * 18
    at = _positions_after(long)
    assert at[-1] == 15 + 16 * 7 and max(at) < ABC.positions


def test_schemes_without_positions_tell_zero():
    tabs = encoders.get("columns")
    assert tabs.positions == 0
    g = tabs.grammar()
    g.feed(tabs.seed)
    assert g.position() == 0


@settings(deadline=None, max_examples=40)  # the grammar's work per character, on a busy machine too
@given(st.lists(st.sampled_from(TUNES), min_size=1, max_size=6))
def test_piece_positions_are_each_pieces_own(pieces):
    """In a stream, each piece's positions are those of a fresh grammar fed that piece alone,
    and the newline its example starts from has a fresh grammar's: neighbours never leak in."""
    text = "".join(p + "\n" for p in pieces)
    vocab = Vocab.from_text(text)
    tokens = vocab.encode(text)
    where = piece_positions(tokens, vocab, ABC.grammar)
    assert where.shape == tokens.shape
    starts, _ = piece_spans(tokens, int(vocab.encode(PIECE_START)[0]))
    for k, start in enumerate(starts):
        lead = 1 if k else 0  # every example after the first starts from the blank line's newline
        if lead:
            assert where[start] == 0
        piece = pieces[k]
        assert where[start + lead : start + lead + len(piece)].tolist() == _positions_after(piece)


def _model(vocab, positions=ABC.positions, seed=0):
    torch.manual_seed(seed)
    m = CharLSTM(ModelConfig(len(vocab), hidden=24, layers=2, embed=8, dropout=0.0, positions=positions)).eval()
    if positions:
        with torch.no_grad():
            m.where.weight.normal_()  # as a trained one: positions change what it writes
    return m


VOCAB = Vocab.from_text("".join(TUNES) + "\n" + "ABCDEFGabcdefgz2345678/|:[]()<>^_=,'~\n XMLKQ")


def test_a_model_with_positions_needs_them_and_its_shapes_are_declared():
    m = _model(VOCAB)
    ids = torch.as_tensor(VOCAB.encode(JIG).astype("int64"))[None]
    with pytest.raises(ValueError, match="position"):
        m(ids)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == m.config.tensor_shapes()
    assert m.num_params() == m.config.num_params()
    at = torch.as_tensor(_positions_after(JIG))[None]
    moved, _ = m(ids, None, at)
    same, _ = m(ids, None, torch.zeros_like(at))
    assert not torch.allclose(moved, same)  # the positions are read


def test_a_zero_position_embedding_is_the_model_without_positions():
    """Fine-tuning a model to read positions starts exactly where its base was."""
    plain = _model(VOCAB, positions=0)
    torch.manual_seed(0)
    fresh = CharLSTM(ModelConfig(len(VOCAB), hidden=24, layers=2, embed=8, dropout=0.0, positions=128)).eval()
    fresh.load_state_dict({**plain.state_dict(), "where.weight": fresh.where.weight}, strict=True)
    ids = torch.as_tensor(VOCAB.encode(REEL).astype("int64"))[None]
    at = torch.as_tensor(_positions_after(REEL))[None]
    assert torch.allclose(fresh(ids, None, at)[0], plain(ids)[0])


def test_the_fast_step_reads_positions_as_the_model_does():
    m = _model(VOCAB)
    state = m.init_state(3)
    step = _stepper(m, state)
    assert step is not m.step  # the fast step was checked against the model's and kept
    s1 = s2 = state
    for t in range(6):
        ids = torch.tensor([t % 5, 2, 7])
        at = torch.tensor([t, 17, 100])
        (a, s1), (b, s2) = m.step(ids, s1, at), step(ids, s2, at)
        assert torch.allclose(a, b, atol=1e-5)


def _loglik(m, seed: str, new: str, masked: bool) -> float:
    """The summed log-likelihood of `new` after `seed`, one forward pass over the whole text at
    the positions training reads (`piece_positions`), under the grammar's masks if `masked`."""
    full = PIECE_START + seed + new
    ids = VOCAB.encode(full)
    where = piece_positions(ids, VOCAB, ABC.grammar)
    logits, _ = m(torch.as_tensor(ids.astype("int64"))[None], None, torch.as_tensor(where.astype("int64"))[None])
    g = ABC.grammar()
    g.feed(seed)
    total = 0.0
    for t, ch in enumerate(new):
        row = logits[0, len(seed) + t].clone()
        if masked:
            allowed = [c for c in g.allowed() if not VOCAB.missing(c)]
            keep = torch.zeros_like(row, dtype=torch.bool)
            keep[torch.as_tensor(VOCAB.encode("".join(allowed)).astype("int64"))] = True
            row = row.masked_fill(~keep, float("-inf"))
        total += float(torch.log_softmax(row, -1)[int(VOCAB.encode(ch)[0])])
        g.feed(ch)
    return total


SEED = "X:1\nM:6/8\nL:1/8\nK:D\n"


@torch.no_grad()
def test_sampling_tells_the_model_the_positions_training_reads():
    """The log-likelihood sampling gives each stream is the one a whole-text forward pass gives
    at the positions `piece_positions` (training's) tells: the sampler told the model,
    character by character, what training tells it."""
    m = _model(VOCAB)
    seed = SEED + "A|dfa agf|e2d cBA|dfa agf|e3 d2:|"  # 5 bars: the positions after it are not 0
    scores: list[float] = []
    texts = generate(m, VOCAB, seed, num=4, length=120, grammar=ABC.grammar, mask=False, stop=None,
                     random_seed=5, scores=scores)  # fmt: skip
    for text, score in zip(texts, scores):
        new = text[len(seed) :]
        assert len(new) == 120
        assert _loglik(m, seed, new, masked=False) / 120 == pytest.approx(score, rel=1e-4)
    assert len(set(texts)) > 1


@torch.no_grad()
def test_bar_by_bar_sampling_tells_the_model_the_positions_training_reads():
    """The same, for the kept bars of bar-by-bar sampling (candidates and recalled copies
    forked and chosen: each row's positions follow its own text)."""
    from musicrnn.sample import _BarChoice, _generator, _primer_positions

    m = _model(VOCAB)
    gen = _generator(torch.device("cpu"), 2)
    where = _primer_positions(m, ABC.grammar, SEED)
    run = _BarChoice(m, VOCAB, SEED, 3, 3, 150, gen, torch.device("cpu"), (2,), "", where)
    run.sample(ABC.grammar, None, 1.0, None, 0.7)
    for row in run.final:
        new = VOCAB.decode(run.out[row, : run.pos[row]])
        assert _loglik(m, SEED, new, masked=True) == pytest.approx(run.total[row], abs=1e-3)
    assert any(run.bars)


def test_sampling_bar_by_bar_with_positions_writes_whole_tunes():
    m = _model(VOCAB)
    texts = generate(m, VOCAB, "X:1\nM:6/8\nL:1/8\nK:D\n", num=3, length=300, grammar=ABC.grammar,
                     bar_candidates=3, bar_recall=(2,), random_seed=1)  # fmt: skip
    for text in texts:
        g = ABC.grammar()
        g.feed(text)
        assert not g.problems


def test_a_model_with_positions_without_a_grammar_says_why():
    with pytest.raises(encoders.UsageError, match="grammar"):
        generate(_model(VOCAB), VOCAB, "X:1\n", length=10)
    with pytest.raises(encoders.UsageError, match="grammar"):
        model_bits_per_char(_model(VOCAB), VOCAB, JIG)


def test_scoring_held_out_tunes_reads_their_positions():
    m = _model(VOCAB)
    text = REEL + "\n" + JIG
    bits = model_bits_per_char(m, VOCAB, text, grammar=ABC.grammar)
    ids = VOCAB.encode(PIECE_START + text)
    where = piece_positions(ids, VOCAB, ABC.grammar)
    total, n = 0.0, 0
    for start, stop in zip(*piece_spans(ids, int(VOCAB.encode(PIECE_START)[0]))):
        x = torch.as_tensor(ids[start:stop].astype("int64"))[None]
        w = torch.as_tensor(where[start:stop].astype("int64"))[None]
        logits, _ = m(x[:, :-1], None, w[:, :-1])
        total -= float(torch.log_softmax(logits[0], -1).gather(1, x[0, 1:, None]).sum().detach())
        n += x.shape[1] - 1
    assert bits == pytest.approx(total / n / np.log(2), rel=1e-5)


def test_batches_carry_the_positions_of_their_inputs():
    text = "".join(t + "\n" for t in TUNES * 3)
    tokens = VOCAB.encode(text)
    where = piece_positions(tokens, VOCAB, ABC.grammar)
    newline = int(VOCAB.encode(PIECE_START)[0])
    batches = Batches(tokens, 2, 40, newline, seed=3, where=where)
    plain = Batches(tokens, 2, 40, newline, seed=3)
    starts, stops = piece_spans(tokens, newline)
    for _ in range(len(batches)):
        b, p = batches.next(), plain.next()
        assert torch.equal(b.x, p.x) and torch.equal(b.y, p.y) and p.where is None
        assert b.where.shape == b.x.shape
        # every input's position is the one beside its token in the stream
        for row in range(b.x.shape[0]):
            ids = b.x[row][b.y[row] >= 0].numpy()
            at = b.where[row][b.y[row] >= 0].numpy()
            if not len(ids):
                continue
            text_ids = tokens.astype(np.int64)
            hits = [s for s in range(len(tokens) - len(ids) + 1) if (text_ids[s : s + len(ids)] == ids).all()]
            assert any((where[s : s + len(ids)] == at).all() for s in hits)


def _cfg(corpus, out, **kw):
    settings = {"corpus": str(corpus), "out": str(out), "hidden": 32, "layers": 1, "embed": 8, "dropout": 0.0}
    settings |= {"batch_size": 8, "seq_len": 32, "lr": 1e-2, "warmup_steps": 2, "max_steps": 20, "eval_every": 10}
    return TrainConfig(**(settings | kw))


def _log(out):
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


def test_training_with_bar_positions_makes_a_model_that_reads_them(corpus, tmp_path):
    result = train(_cfg(corpus, tmp_path / "m", bar_positions=True))
    loaded = checkpoint.load(str(tmp_path / "m"))
    assert loaded.config.positions == ABC.positions
    assert loaded.model.where.weight.abs().sum() > 0  # it learned from them
    pieces = generate_pieces(loaded, ABC, num=2, length=200, random_seed=0)
    assert all(p.startswith("X:") for p in pieces)
    assert generate_pieces(loaded, ABC, num=2, length=200, random_seed=0, free=True)
    assert result.best_val_bpc is not None


def test_fine_tuning_to_read_positions_starts_from_the_base(corpus, tmp_path):
    train(_cfg(corpus, tmp_path / "base"))
    base_eval = [e for e in _log(tmp_path / "base") if e["event"] == "eval"][-1]
    train(_cfg(corpus, tmp_path / "pos", init_from=str(tmp_path / "base"), bar_positions=True, max_steps=10))
    first = next(e for e in _log(tmp_path / "pos") if e["event"] == "eval")
    assert first["step"] == 0
    assert first["val_loss"] == pytest.approx(base_eval["best_val_loss"], rel=1e-4)  # zero positions at first
    # fine-tuning a model that reads positions keeps reading them
    train(_cfg(corpus, tmp_path / "again", init_from=str(tmp_path / "pos"), max_steps=5))
    assert checkpoint.load(str(tmp_path / "again")).config.positions == ABC.positions


def test_a_scheme_without_positions_refuses_bar_positions(tmp_path):
    with pytest.raises(TrainError, match="positions"):
        _cfg(tmp_path / "x.txt", tmp_path / "m", scheme="columns", bar_positions=True).validate()


def test_a_model_claiming_positions_its_scheme_does_not_tell_is_refused(tmp_path):
    m = CharLSTM(ModelConfig(len(VOCAB), hidden=8, layers=1, embed=4, positions=7))
    checkpoint.save(str(tmp_path / "m"), m, {"vocab": VOCAB.chars, "scheme": "abc"})
    with pytest.raises(checkpoint.CheckpointError, match="positions"):
        checkpoint.load(str(tmp_path / "m"))
    m = CharLSTM(ModelConfig(len(VOCAB), hidden=8, layers=1, embed=4, positions=ABC.positions))
    checkpoint.save(str(tmp_path / "ok"), m, {"vocab": VOCAB.chars, "scheme": "abc"})
    assert checkpoint.load(str(tmp_path / "ok")).config.positions == ABC.positions


def test_positions_only_trains_the_positions_alone(corpus, tmp_path):
    train(_cfg(corpus, tmp_path / "base"))
    base = checkpoint.load(str(tmp_path / "base")).model.state_dict()
    train(
        _cfg(
            corpus, tmp_path / "pos", init_from=str(tmp_path / "base"), bar_positions=True, positions_only=True,
            max_steps=20, eval_every=5, lr=3e-2,
        )
    )  # fmt: skip
    tuned = checkpoint.load(str(tmp_path / "pos"))
    assert tuned.meta["metrics"]["best_step"] > 0  # reading positions paid on the held-out tunes
    weights = tuned.model.state_dict()
    assert weights["where.weight"].abs().sum() > 0
    for name, tensor in base.items():
        assert torch.equal(weights[name], tensor), name  # the base's own weights, unchanged
    with pytest.raises(TrainError, match="positions_only"):
        _cfg(corpus, tmp_path / "x", positions_only=True).validate()
