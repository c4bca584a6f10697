"""Baselines (n-gram, xz), model bits per char, novelty, and the evaluation report."""

import math
import random
from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from encoders import EncodeResult, Scheme
from encoders.piece import Decoded, Piece
from musicrnn.data import Vocab
from musicrnn.evaluate import EvalReport, evaluate, model_bits_per_char, novelty, report_rows
from musicrnn.model import CharLSTM, ModelConfig
from musicrnn.ngram import best_ngram, ngram_bits_per_char, xz_alone_bits_per_char, xz_bits_per_char

# --------------------------------------------------------------------------- n-gram


def kneser_ney_reference(train, test, order):
    """The same interpolated modified Kneser-Ney, written plainly with dicts (slow, for checking)."""
    V = len(set(train))

    def discounts(counts):
        n = [sum(1 for c in counts if c == r) for r in (1, 2, 3, 4)]
        if min(n[:3]) == 0:
            return [0, 0.5, 1, 1.5]
        y = n[0] / (n[0] + 2 * n[1])
        d = [1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]]
        return [0] + [min(max(x, 0.05), r) for r, x in zip((1, 2, 3), d)]

    levels = {}
    for k in range(1, order + 1):
        if k == order:
            counts = defaultdict(int)
            for i in range(len(train) - k + 1):
                counts[train[i : i + k]] += 1
        else:
            before = defaultdict(set)
            for i in range(1, len(train) - k + 1):
                before[train[i : i + k]].add(train[i - 1])
            counts = {g: len(s) for g, s in before.items()}
        D = discounts(list(counts.values()))
        total, gamma = defaultdict(float), defaultdict(float)
        for g, c in counts.items():
            total[g[:-1]] += c
            gamma[g[:-1]] += D[min(c, 3)]
        levels[k] = (counts, total, gamma, D)

    bits = 0.0
    for i, ch in enumerate(test):
        p = 1 / (V + 1)
        for k in range(1, min(order, i + 1) + 1):
            counts, total, gamma, D = levels[k]
            ctx = test[i - k + 1 : i]
            if total.get(ctx, 0) > 0:
                c = counts.get(ctx + ch, 0)
                p = max(c - D[min(c, 3)], 0) / total[ctx] + gamma[ctx] / total[ctx] * p
        bits -= math.log2(p)
    return bits / len(test)


def markov_text(n, seed):
    """Text from a first-order Markov source over 'abcd', and its entropy rate in bits."""
    P = np.array([[0.7, 0.1, 0.1, 0.1], [0.2, 0.2, 0.5, 0.1], [0.05, 0.05, 0.05, 0.85], [0.4, 0.3, 0.2, 0.1]])
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    cum = P.cumsum(1)
    s, out = 0, []
    for x in u:
        s = int(np.searchsorted(cum[s], x))
        out.append("abcd"[min(s, 3)])
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(abs(w - 1))])
    pi /= pi.sum()
    return "".join(out), float(-(pi[:, None] * P * np.log2(P)).sum())


def test_ngram_matches_plain_reference():
    r = random.Random(0)
    words = ["|:abc", "cba|", "X:1\n", "[ab]", "a2b", " c/2", "::"]
    train = "".join(r.choice(words) for _ in range(600))
    test = "".join(r.choice(words) for _ in range(80)) + "Zé"  # two chars unseen in training
    for order in (1, 2, 3, 5):
        assert ngram_bits_per_char(train, test, order) == pytest.approx(
            kneser_ney_reference(train, test, order), rel=1e-9
        )


def test_ngram_hashed_codes_for_big_alphabets():
    r = random.Random(1)
    alphabet = [chr(0x400 + i) for i in range(300)]  # 301 ** 8 > 2 ** 63: codes are hashed
    train = "".join(r.choice(alphabet[:30]) + r.choice(alphabet) for _ in range(1500))
    test = "".join(r.choice(alphabet[:30]) + r.choice(alphabet) for _ in range(60))
    assert ngram_bits_per_char(train, test, 8) == pytest.approx(kneser_ney_reference(train, test, 8), rel=1e-9)


def test_ngram_reaches_markov_entropy():
    train, H = markov_text(150_000, 0)
    test, _ = markov_text(20_000, 1)
    order, bpc, by_order = best_ngram(train, test, range(1, 7))
    assert list(by_order) == [1, 2, 3, 4, 5, 6]
    assert by_order[2] == pytest.approx(H, abs=0.03)
    assert by_order[1] > by_order[2] + 0.2  # context helps
    assert all(by_order[k] < H + 0.06 for k in (3, 4, 5, 6))  # and smoothing keeps extra context harmless
    assert bpc == min(by_order.values()) and by_order[order] == bpc


def test_ngram_finite_on_unseen_chars_and_errors():
    bpc = ngram_bits_per_char("abababab", "abxyab", 3)
    assert math.isfinite(bpc) and bpc > ngram_bits_per_char("abababab", "ababab", 3)
    with pytest.raises(ValueError):
        ngram_bits_per_char("ab", "", 2)
    with pytest.raises(ValueError):
        ngram_bits_per_char("ab", "ab", 0)


def test_xz_conditional_tiny_on_repetition():
    unit = "|:GAG GAB|ABA ABd:|\n"
    assert xz_bits_per_char(unit * 2000, unit * 300) < 0.1
    r = random.Random(0)
    noise = "".join(r.choice("abcdefgh") for _ in range(6000))
    assert xz_bits_per_char(unit * 2000, noise) > 2.5  # ~3 bits of randomness per char
    assert xz_alone_bits_per_char(unit * 300) < xz_alone_bits_per_char(noise)


# --------------------------------------------------------------------------- novelty


def test_novelty_finds_copied_runs():
    r = random.Random(2)
    train = "".join(r.choice("abcdefg|: \n") for _ in range(50_000))
    fresh = lambda n: "".join(r.choice("ABCDEFG") for _ in range(n))  # noqa: E731
    copied24, copied23 = train[1000:1024], train[2000:2023]
    bodies = [fresh(40) + copied24 + fresh(40), fresh(40) + copied23 + fresh(40), fresh(80), copied23[:10], "XYZ"]
    assert novelty(bodies, train, n=24) == [False, True, True, False, True]


# --------------------------------------------------------------------------- model bits per char


@pytest.fixture(scope="module")
def vocab():
    return Vocab("\n :1CKLMX/|abcdefg")


def tiny_model(vocab, seed=0):
    torch.manual_seed(seed)
    return CharLSTM(ModelConfig(len(vocab), hidden=32, layers=2, embed=8, dropout=0.0)).eval()


def test_untrained_model_near_log2_vocab(vocab):
    r = random.Random(3)
    text = "".join(r.choice(vocab.chars) for _ in range(3000))
    assert model_bits_per_char(tiny_model(vocab), vocab, text) == pytest.approx(math.log2(len(vocab)), abs=0.15)


def test_model_bpc_reads_each_piece_from_the_sampler_start(vocab):
    """Each piece is scored from a zero state fed a newline, whatever the batching and windows."""
    r = random.Random(4)
    letters = [c for c in vocab.chars if c != "\n"]
    pieces = ["".join(r.choice(letters) for _ in range(r.randint(5, 120))) + "\n" for _ in range(9)]
    text = "".join(p + "\n" for p in pieces)
    model = tiny_model(vocab, 1)
    total, count = 0.0, 0
    with torch.inference_mode():
        for p in pieces:
            ids = torch.as_tensor(vocab.encode("\n" + p + "\n").astype("int64"))[None]
            logits, _ = model(ids[:, :-1])
            total += torch.nn.functional.cross_entropy(logits[0], ids[0, 1:], reduction="sum").item()
            count += ids.shape[1] - 1
    whole = total / count / math.log(2)
    assert count == len(text)
    assert model_bits_per_char(model, vocab, text, batch_size=1, seq_len=37) == pytest.approx(whole, rel=1e-5)
    assert model_bits_per_char(model, vocab, text, batch_size=4, seq_len=50) == pytest.approx(whole, rel=1e-5)


# --------------------------------------------------------------------------- the report


class StubCodec(Scheme):
    """A toy scheme, enough for evaluate: pieces start "X:1\\nK:C\\n", the body follows."""

    name = "stub"
    seed = "X:1"

    def _encode_text(self, text, path):
        return EncodeResult(self.split(text))

    def _decode(self, text, path):
        return Decoded(Piece(), text, repairs=[] if "|" in text else ["no bar"], bars_ok="||" not in text)

    def body(self, text):
        return text.split("K:C\n", 1)[-1]


def test_evaluate_report(vocab):
    loaded, stream = _stub_setup(vocab)
    report = evaluate(loaded, StubCodec(), stream, num_samples=6, random_seed=0, length=150, orders=range(1, 5))
    assert isinstance(report, EvalReport)
    assert report.val_pieces == 6 and report.num_samples == 6 and len(report.samples) == 6
    assert all(s.startswith("X:1") for s in report.samples)
    assert report.model_bpc == pytest.approx(math.log2(len(vocab)), abs=0.3)
    assert 1 <= report.ngram_order <= 4 and report.ngram_bpc < report.model_bpc  # untrained loses
    assert report.improvement_vs_ngram_pct < 0
    for share in (report.share_clean, report.share_bars_ok, report.share_novel, report.share_novel_real):
        assert 0.0 <= share <= 1.0
    assert report.share_novel_real == 1.0  # random pieces share no 24-char runs
    rows = dict(report_rows(report))
    assert rows["model bits/char"] == f"{report.model_bpc:.3f}"
    assert "%" in rows["model vs n-gram"] and "%" in rows["model vs xz given the training text"]
    assert "%" in rows["model vs xz of the held-out text"]


# --------------------------------------------------------------------------- progress


def _stub_setup(vocab):
    r = random.Random(5)
    pieces = [
        "X:1\nK:C\n" + "".join(r.choice("abcdefg |") for _ in range(r.randint(40, 120))) + "\n" for _ in range(60)
    ]
    loaded = SimpleNamespace(
        model=tiny_model(vocab),
        vocab=vocab,
        path="tiny",
        scheme="stub",
        meta={"hyperparameters": {"val_fraction": 0.1, "split_seed": 7}},
    )
    return loaded, "\n".join(pieces)


def test_evaluate_counts_every_stage_in_its_own_units(vocab):
    from musicrnn.evaluate import STAGES, UNITS

    loaded, stream = _stub_setup(vocab)
    events = []
    stage = lambda what: events.append(("stage", what))  # noqa: E731
    count = lambda done, total, unit: events.append((done, total, unit))  # noqa: E731
    args = {"num_samples": 6, "random_seed": 0, "length": 150, "orders": range(1, 5)}
    report = evaluate(loaded, StubCodec(), stream, on_stage=stage, on_count=count, **args)
    by_stage, current = {}, None
    for e in events:
        if e[0] == "stage":
            current = e[1]
            by_stage[current] = []
        else:
            by_stage[current].append(e)
    assert list(by_stage) == list(STAGES)
    for what, unit in zip(STAGES, UNITS):
        counts = by_stage[what]
        assert counts and {u for _, _, u in counts} == {unit}, what
        done = [d for d, _, _ in counts]
        assert done == sorted(done) and done[0] == 0 and done[-1] > 0, what
        totals = {t for _, t, _ in counts}
        if what == "sampling pieces":  # pieces end when the model ends them: a count, no total
            assert totals == {None}
        else:
            assert len(totals) == 1 and done[-1] == totals.pop(), what
    assert by_stage["scoring the held-out pieces"][-1][0] == report.val_chars
    assert by_stage["n-gram baselines"][-1][:2] == (4, 4)
    assert by_stage["checking the samples"][-1][0] == report.num_samples

    quiet = evaluate(_stub_setup(vocab)[0], StubCodec(), stream, **args)  # counting changes nothing
    assert quiet.samples == report.samples and quiet.model_bpc == report.model_bpc
    assert quiet.ngram_by_order == report.ngram_by_order and quiet.music == report.music


def _saved_model(tmp_path, text):
    from musicrnn import checkpoint

    torch.manual_seed(1)
    chars = "".join(sorted(set(text)))
    out = tmp_path / "m"
    checkpoint.save(
        out,
        CharLSTM(ModelConfig(vocab_size=len(chars), hidden=12, layers=1, embed=4)),
        {
            "vocab": chars,
            "scheme": "abc",
        },
    )
    return out


def _frames(stderr: str) -> list[str]:
    """What a terminal showed, frame by frame: the escape sequences out, split at each redraw."""
    import re

    plain = re.sub(r"\x1b\[[0-9;]*m", "", stderr)  # colours
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", plain)  # cursor moves
    return [f.strip() for f in re.split(r"[\r\n]+", plain) if f.strip()]


def test_evaluate_shows_counts_and_an_eta_on_a_terminal_and_the_same_stdout(tmp_path, corpus, monkeypatch):
    import re

    from typer.testing import CliRunner

    from musicrnn import cli_kit
    from musicrnn.cli import app

    model = _saved_model(tmp_path, corpus.read_text())
    argv = ["evaluate", str(corpus), "--model", str(model), "--samples", "2", "--bar-candidates", "1"]
    plain = CliRunner().invoke(app, argv)
    assert plain.exit_code == 0, plain.output
    assert "evaluating" not in plain.stderr  # off a terminal: no bar

    monkeypatch.setattr(cli_kit, "err_console", cli_kit._Console(stderr=True, force_terminal=True, width=160))
    monkeypatch.setattr(cli_kit, "REFRESH_S", 0.0)
    shown = CliRunner().invoke(app, argv)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == plain.stdout  # the tables, untouched
    frames = _frames(shown.stderr)
    counted = re.compile(r"([\d,]+)/([\d,]+) (characters|orders|bytes|samples|parts)\b")
    for unit in ("characters", "orders", "bytes", "samples", "parts"):
        seen = [
            (int(m[1].replace(",", "")), int(m[2].replace(",", "")))
            for f in frames
            if (m := counted.search(f)) and m[3] == unit
        ]
        done = [d for d, _ in seen]
        assert seen and done == sorted(done) and done[-1] == seen[-1][1] and len(set(done)) > 1, (unit, seen)
    assert any(re.search(r"\beta \d+:\d\d:\d\d\b", f) for f in frames), frames
    sampling = [f for f in frames if "sampling pieces" in f and "characters sampled" in f]
    assert sampling and not any("/" in f.split("characters sampled")[0].split()[-1] for f in sampling)
    assert not any("eta" in f for f in sampling)  # no total, so no ETA
    assert not any("/?" in f for f in frames)


def test_a_tune_a_model_at_home_moved_out_of_c_is_no_copy_only_if_it_is_none_at_home():
    from encoders.abc.codec import CODEC
    from musicrnn.evaluate import NgramIndex, is_novel

    train = "X:1\nM:4/4\nL:1/8\nK:C\ncdef gfed cdef g4|c'bag fedc BcdB c4|]\n"
    index = NgramIndex(train, 24)
    moved = CODEC.transpose(train, 2)  # the training tune, moved to D as generate moves it out
    home = {"home": {"tonic": "C", "keys": {"maj": [0, 0, 1] + [0] * 9}}}
    assert is_novel(index, CODEC, moved, {})  # as written, no run of it is in the training text
    assert not is_novel(index, CODEC, moved, home)  # moved home it is the training tune
    fresh = "X:1\nM:4/4\nL:1/8\nK:D\nfedc BAGF EFGA B4|ABcd efga gfed d4|]\n"
    assert is_novel(index, CODEC, fresh, home)
