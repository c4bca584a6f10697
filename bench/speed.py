"""Speed and scale, measured side by side in one run: one table of ratios.

    .venv/bin/python bench/speed.py                 # everything (the 1 GB encode takes minutes)
    .venv/bin/python bench/speed.py --scale-mb 64   # a smaller corpus for the memory row
    .venv/bin/python bench/speed.py --only train    # one group: train, sample, decode, encode, scale

Every figure is a ratio of two things timed in this run, alternating A, B, A,
B, ..., and each time is the median of the repeats, so a machine that is busy
with something else slows both sides alike.  The rows:

* train chars/s against a plain training loop (nn.Embedding -> nn.LSTM ->
  nn.Linear, AdamW, cross-entropy, clipping) of the same size and batch on the
  same tokens; both count only the time of the steps.
* train effective FLOP/s against this machine's fp32 matmul FLOP/s (a
  2048x2048 torch.mm, same threads).  An LSTM's forward is its matmuls, per
  character 2*(4H(E+H) + 4H*2H*(L-1) + H*V) FLOPs; training is counted as 3x
  forward (backward does two matmuls per forward one).  Elementwise gate math,
  the embedding and the optimizer are not counted, so the figure is honest.
* one-stream sampling chars/s against the naive loop: nn.LSTM called per
  character, softmax, multinomial, .item() and string append.
* `generate --num 64` against 64 one-stream generations (the bundled folk
  model, its grammar on, stop at the end of a piece); also at a fixed length,
  which takes away the longest piece's tail (see "bound" below the table).
* ABC decode (our player) against music21's ABC parser on the same tunes.
* encode MB/s per scheme (input bytes per second, one process), and the scale
  rows, each in a child process whose peak resident memory (all its processes
  together) is reported: `prepare` of a generated 1 GB columns stream into the
  token files, and `musicrnn encode --jobs N` of a generated folder of tab files
  (--encode-mb, 1 GB by default: tens of minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import encoders  # noqa: E402
from musicrnn.data import Batches, prepare  # noqa: E402
from musicrnn.model import ModelConfig  # noqa: E402

ROWS: list[tuple[str, str, str, str, str]] = []  # measure, ours, baseline, ratio, goal
NOTES: list[str] = []


def row(measure: str, ours: str, base: str, ratio: float | None, goal: str, fmt: str = "{:.2f}x") -> None:
    ROWS.append((measure, ours, base, "n/a" if ratio is None else fmt.format(ratio), goal))
    print(f"  {measure}: {ours} vs {base} -> {ROWS[-1][3]} (goal {goal})", file=sys.stderr, flush=True)


def side_by_side(a, b, repeats: int) -> tuple[float, float, list, list]:
    """Median of `repeats` alternating calls of a() and b(); each returns (seconds, extra)."""
    ta, tb, ea, eb = [], [], [], []
    for _ in range(repeats):
        s, e = a()
        ta.append(s)
        ea.append(e)
        s, e = b()
        tb.append(s)
        eb.append(e)
    return statistics.median(ta), statistics.median(tb), ea, eb


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {gpu}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, Python {platform.python_version()}"
    )


# --------------------------------------------------------------------------- training


def forward_flops_per_char(c: ModelConfig) -> int:
    H, E, L, V = c.hidden, c.embed, c.layers, c.vocab_size
    return 2 * (4 * H * (E + H) + 4 * H * (2 * H) * (L - 1) + H * V)


def matmul_flops(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t)
    return 2 * n**3 / statistics.median(times)


def recurrent_matmul_flops(batch: int, hidden: int, steps: int = 128, repeats: int = 5) -> float:
    """FLOP/s of the matmul an LSTM must do once per time step and layer, h @ W_hh^T:
    [batch, hidden] x [hidden, 4*hidden], `steps` of them in a row, as in one window."""
    h, w = torch.randn(batch, hidden), torch.randn(hidden, 4 * hidden)
    torch.mm(h, w)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(steps):
            torch.mm(h, w)
        times.append(time.perf_counter() - t)
    return 2 * batch * hidden * 4 * hidden * steps / statistics.median(times)


def plain_loop(
    tokens: np.ndarray,
    V: int,
    hidden: int,
    layers: int,
    embed: int,
    batch: int,
    seq: int,
    steps: int,
    dropout: float = 0.1,
) -> tuple[float, None]:
    """The textbook loop, same size, batch, dropout (train's default) and tokens: seconds of `steps` steps."""
    torch.manual_seed(0)
    emb, head = nn.Embedding(V, embed), nn.Linear(hidden, V)
    lstm = nn.LSTM(embed, hidden, layers, batch_first=True, dropout=dropout)
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=2e-3)
    batches = Batches(tokens, batch, seq)
    state = None
    spent = 0.0
    for _ in range(steps):
        t = time.perf_counter()
        b = batches.next()
        out, state = lstm(emb(b.x), state)
        loss = F.cross_entropy(head(F.dropout(out, dropout)).reshape(-1, V), b.y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        state = (state[0].detach(), state[1].detach())
        loss.item()
        spent += time.perf_counter() - t
    return spent, None


def ours_train(
    corpus: str, out: str, hidden: int, layers: int, batch: int, seq: int, steps: int
) -> tuple[float, float]:
    from musicrnn.train import TrainConfig, train

    cfg = TrainConfig(
        corpus=corpus,
        out=out,
        hidden=hidden,
        layers=layers,
        batch_size=batch,
        seq_len=seq,
        max_steps=steps,
        eval_every=10**6,
        eval_batches=1,
        warmup_steps=10,
        force=True,
        progress_every=10**6,
        threads=torch.get_num_threads(),
    )
    result = train(cfg)
    return batch * seq * steps / result.chars_per_s, result.chars_per_s


def bench_train(repeats: int, quick: bool, work: str) -> None:
    corpus = os.path.join(work, "folk.txt")
    shutil.copy(ROOT / "corpora" / "folk.txt", corpus)
    data = prepare(corpus)
    V = len(data.vocab)
    peak = statistics.median(matmul_flops() for _ in range(3))
    row("fp32 matmul, 2048x2048 torch.mm", f"{peak / 1e9:.1f} GFLOP/s", "", None, "(the yardstick)")
    for hidden, steps in ((256, 8 if quick else 20), (512, 4 if quick else 10)):
        layers, batch, seq, embed = 2, 64, 128, 64
        t_ours, t_plain, _, _ = side_by_side(
            lambda: ours_train(corpus, os.path.join(work, f"m{hidden}"), hidden, layers, batch, seq, steps),
            lambda: plain_loop(data.train, V, hidden, layers, embed, batch, seq, steps),
            repeats,
        )
        chars = batch * seq * steps
        ours, plain = chars / t_ours, chars / t_plain
        row(
            f"train chars/s, {layers}x{hidden}, batch {batch}x{seq}",
            f"{ours:,.0f}",
            f"{plain:,.0f} plain nn.LSTM loop",
            ours / plain,
            ">= 0.95x",
        )
        fl = 3 * forward_flops_per_char(ModelConfig(vocab_size=V, hidden=hidden, layers=layers, embed=embed))
        peak_now = matmul_flops()
        row(
            f"train FLOP/s, {layers}x{hidden} (3x forward matmuls)",
            f"{ours * fl / 1e9:.1f} GFLOP/s",
            f"{peak_now / 1e9:.1f} GFLOP/s matmul",
            100 * ours * fl / peak_now,
            ">= 60%",
            "{:.0f}%",
        )
        rec = recurrent_matmul_flops(batch, hidden)
        row(
            f"  the recurrence's own matmul, [{batch}x{hidden}]x[{hidden}x{4 * hidden}]",
            f"{rec / 1e9:.1f} GFLOP/s",
            f"{peak_now / 1e9:.1f} GFLOP/s matmul",
            100 * rec / peak_now,
            "(a ceiling)",
            "{:.0f}%",
        )


# --------------------------------------------------------------------------- sampling


def weights_floor(model, repeats: int = 200) -> float:
    """Seconds per character of only the matrix-vector products one sampling step needs at
    batch 1 (every weight matrix read once): what no one-stream sampler can beat."""
    mats = [p.detach() for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith("embed")]
    vecs = [torch.randn(m.shape[1]) for m in mats]
    times = []
    with torch.inference_mode():
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(repeats):
                for m, v in zip(mats, vecs):
                    torch.mv(m, v)
            times.append((time.perf_counter() - t) / repeats)
    return statistics.median(times)


def naive_sample(model, vocab, seed: str, length: int) -> tuple[float, str]:
    """nn.LSTM per character + softmax + multinomial + .item(): what one writes first."""
    t = time.perf_counter()
    text = seed
    with torch.no_grad():
        ids = torch.tensor([[vocab.chars.index(c) for c in seed]])
        out, state = model.lstm(model.embed(ids), None)
        logits = model.head(out[:, -1])
        for _ in range(length):
            probs = torch.softmax(logits, dim=-1)
            nxt = torch.multinomial(probs, 1).item()
            text += vocab.chars[nxt]
            out, state = model.lstm(model.embed(torch.tensor([[nxt]])), state)
            logits = model.head(out[:, -1])
    return time.perf_counter() - t, text


def plain_twin(model):
    """The model without its position embedding, if it has one (a folk model trained with
    `--bar-positions` reads bar positions, which only a grammar tells): the raw sampler rows
    time the sampler's machinery against a naive loop at the bundled model's size,
    grammar-free, as they always did."""
    from dataclasses import replace

    from musicrnn.model import CharLSTM

    if not model.config.positions:
        return model
    twin = CharLSTM(replace(model.config, positions=0)).eval()
    twin.load_state_dict({k: v for k, v in model.state_dict().items() if k != "where.weight"})
    return twin


def bench_sample(repeats: int, quick: bool) -> None:
    from musicrnn.checkpoint import load
    from musicrnn.sample import generate, generate_pieces

    loaded = load("folk")
    model, vocab = plain_twin(loaded.model), loaded.vocab
    codec = encoders.get(loaded.scheme)
    length = 300 if quick else 1000

    def ours_one() -> tuple[float, None]:
        t = time.perf_counter()
        generate(model, vocab, "X:1\n", num=1, length=length, stop=None, random_seed=1)
        return time.perf_counter() - t, None

    t_ours, t_naive, _, _ = side_by_side(ours_one, lambda: naive_sample(model, vocab, "X:1\n", length), repeats)
    row(
        f"sampling chars/s, one stream, 2x{model.config.hidden}",
        f"{length / t_ours:,.0f}",
        f"{length / t_naive:,.0f} naive nn.LSTM loop",
        t_naive / t_ours,
        ">= 5x",
    )
    floor = weights_floor(model)
    row(
        "  the step's matmuls alone, batch 1 (reading the weights)",
        f"{1 / floor:,.0f} chars/s",
        f"{length / t_naive:,.0f} naive",
        t_naive / length / floor,
        "(a ceiling)",
    )
    cfg = model.config
    per_char = forward_flops_per_char(cfg)
    peak = matmul_flops()
    NOTES.append(
        f"ceiling of the batched ratios: a batch of 64 cannot step faster than 64 x {per_char / 1e6:.2f} MFLOP "
        f"at the matmul peak ({peak / 1e9:.0f} GFLOP/s), so 64 one-stream chars ({1e3 * t_ours / length:.3f} ms "
        f"each) over one 64-stream step is at most {t_ours / length * peak / per_char:.1f}x on this machine"
    )

    num = 64

    def batched(seed: int) -> tuple[float, list[str]]:
        t = time.perf_counter()
        texts = generate_pieces(loaded, codec, num=num, random_seed=seed)
        return time.perf_counter() - t, texts

    def one_by_one(seed: int) -> tuple[float, list[str]]:
        t = time.perf_counter()
        texts = [generate_pieces(loaded, codec, num=1, random_seed=seed * 1000 + i)[0] for i in range(num)]
        return time.perf_counter() - t, texts

    counter = iter(range(10**6))
    t_b, t_1, eb, e1 = side_by_side(lambda: batched(next(counter)), lambda: one_by_one(next(counter)), repeats)
    chars_b = statistics.median(sum(map(len, texts)) for texts in eb)
    chars_1 = statistics.median(sum(map(len, texts)) for texts in e1)
    bound = statistics.median(sum(map(len, texts)) / max(map(len, texts)) for texts in eb)
    row(
        f"generate --num {num} (grammar on, pieces end at the blank line)",
        f"{num / t_b:.1f} pieces/s",
        f"{num / t_1:.1f} pieces/s one at a time",
        t_1 / t_b,
        ">= 20x",
    )
    row(
        "  the same, in chars/s",
        f"{chars_b / t_b:,.0f}",
        f"{chars_1 / t_1:,.0f}",
        (chars_b / t_b) / (chars_1 / t_1),
        ">= 20x",
    )
    NOTES.append(
        f"bound: a batch runs until its longest piece ends; with one stream left it is a one-stream run, "
        f"so the --num {num} ratio cannot pass sum(piece lengths) / longest piece = {bound:.1f} "
        f"(median over the repeats) however cheap the batched step"
    )

    fixed = 200 if quick else 400

    def fixed_batched() -> tuple[float, None]:
        t = time.perf_counter()
        generate(model, vocab, "X:1\n", num=num, length=fixed, stop=None, grammar=codec.grammar, random_seed=1)
        return time.perf_counter() - t, None

    def fixed_one() -> tuple[float, None]:
        t = time.perf_counter()
        for i in range(num):
            generate(model, vocab, "X:1\n", num=1, length=fixed, stop=None, grammar=codec.grammar, random_seed=i)
        return time.perf_counter() - t, None

    t_b, t_1, _, _ = side_by_side(fixed_batched, fixed_one, max(1, repeats - 1))
    row(
        f"  fixed length {fixed}, grammar on",
        f"{num * fixed / t_b:,.0f} chars/s",
        f"{num * fixed / t_1:,.0f}",
        t_1 / t_b,
        ">= 20x",
    )

    def fixed_free(n: int) -> tuple[float, None]:
        t = time.perf_counter()
        for i in range(num // n):
            generate(model, vocab, "X:1\n", num=n, length=fixed, stop=None, random_seed=i)
        return time.perf_counter() - t, None

    t_b, t_1, _, _ = side_by_side(lambda: fixed_free(num), lambda: fixed_free(1), max(1, repeats - 1))
    row(
        f"  fixed length {fixed}, --free (no grammar)",
        f"{num * fixed / t_b:,.0f} chars/s",
        f"{num * fixed / t_1:,.0f}",
        t_1 / t_b,
        "(the batching alone)",
    )


# --------------------------------------------------------------------------- decode


def bench_decode(repeats: int, quick: bool) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from abc_decode import _music21_parse, _time

    from encoders.abc.player import play
    from tools.reference_abc import corpus_tunes

    all_tunes = corpus_tunes()
    tunes = [t for _, _, t in random.Random(0).sample(all_tunes, min(60 if quick else 200, len(all_tunes)))]
    warnings.simplefilter("ignore")
    t_ours, t_m21, _, _ = side_by_side(
        lambda: (_time(play, tunes), None), lambda: (_time(_music21_parse, tunes), None), repeats
    )
    n = len(tunes)
    row(
        f"ABC decode, {n} folk tunes",
        f"{n / t_ours:,.0f} tunes/s",
        f"{n / t_m21:,.0f} music21 parse",
        t_m21 / t_ours,
        ">= 20x",
    )


# --------------------------------------------------------------------------- encode


def tab_files(folder: Path, megabytes: float, seed: int = 0) -> int:
    """Write a folder of tab files (about `megabytes` MB) made from the fretted folk corpus: each file
    one tune as an ASCII tab (rows text), its frets changed at random so no two files hold the same music."""
    columns = encoders.get("columns")
    pieces = columns.split(encoders.read_text(ROOT / "corpora" / "tabs.txt"))
    bases = [np.frombuffer(columns.decode(p).text.encode("ascii"), dtype=np.uint8) for p in pieces[:400]]
    digits = [np.flatnonzero((b >= ord("0")) & (b <= ord("9"))) for b in bases]
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written, i = 0, 0
    while written < megabytes * 1e6:
        k = int(rng.integers(len(bases)))
        data = bases[k].copy()
        where = digits[k][rng.random(len(digits[k])) < 0.3]
        data[where] = rng.integers(ord("0"), ord("9") + 1, len(where))
        sub = folder / f"{i // 1000:04d}"
        if i % 1000 == 0:
            sub.mkdir(exist_ok=True)
        (sub / f"tune{i:07d}.tab").write_bytes(data.tobytes())
        written += len(data)
        i += 1
    return written


def encode_inputs(scheme: str, work: Path) -> list[Path]:
    codec = encoders.get(scheme)
    if ".abc" in codec.suffixes:
        from encoders.abc.corpus import folk_files

        return folk_files()[:200]
    if ".tab" in codec.suffixes:
        folder = work / "tabs-small"
        if not folder.exists():
            tab_files(folder, 4)
        return sorted(folder.rglob("*.tab"))
    if any(s in codec.suffixes + tuple(getattr(codec, "binary_suffixes", ())) for s in (".mid", ".midi")):
        folder = work / "midi"
        if not folder.exists():
            from encoders.abc.corpus import folk_files
            from musicrnn.render import write_midi

            folder.mkdir()
            abc = encoders.get("abc")
            for f in folk_files()[:40]:
                for j, piece in enumerate(abc.encode_text(encoders.read_text(f)).pieces[:5]):
                    write_midi(abc.decode(piece).piece, folder / f"{f.stem}-{j}.mid")
        return sorted(folder.glob("*.mid"))
    return []


def bench_encode(repeats: int, quick: bool, work: Path) -> None:
    from musicrnn.encode import encode_to_stream

    for codec in encoders.all_codecs():
        files = encode_inputs(codec.name, work)
        if not files:
            continue
        size = sum(f.stat().st_size for f in files)
        out = work / f"enc-{codec.name}.txt"
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            report = encode_to_stream(files, out, codec.name, {}, jobs=1)
            times.append(time.perf_counter() - t)
        t = statistics.median(times)
        row(
            f"encode {codec.name}, {len(files)} files, 1 process",
            f"{size / t / 1e6:.2f} MB/s in",
            f"{report.chars / t / 1e6:.2f} MB/s out",
            None,
            "(reported)",
        )


def process_tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            parents[int(d)] = int(fields[1])
            rss[int(d)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in tree)


def tab_stream(path: Path, megabytes: float, seed: int = 0) -> int:
    """Write a columns-scheme stream of about `megabytes` MB: the fretted folk corpus's pieces
    again and again, frets changed at random (digits stay frets, so every piece stays valid)."""
    text = (ROOT / "corpora" / "tabs.txt").read_bytes()
    base = np.frombuffer(text, dtype=np.uint8)
    header_end = text.index(b"\n") + 1
    body = base[header_end:]
    digits = np.flatnonzero((body >= ord("0")) & (body <= ord("9")))
    rng = np.random.default_rng(seed)
    written = 0
    with open(path, "wb") as fh:
        while written < megabytes * 1e6:
            copy = body.copy()
            where = digits[rng.random(len(digits)) < 0.3]
            copy[where] = rng.integers(ord("0"), ord("9") + 1, len(where))
            fh.write(base[:header_end].tobytes() if not written else b"")
            fh.write(copy.tobytes())
            fh.write(b"\n")
            written += len(copy) + 1
    return path.stat().st_size


def peak_rss(cmd: list[str]) -> tuple[int, float, str]:
    """Run a command; (peak resident bytes of it and all its processes together, seconds, stdout)."""
    peak = 0
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process_tree_rss(proc.pid))
            time.sleep(0.25)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, _ = proc.communicate()
    done.set()
    watcher.join()
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {stdout}")
    return peak, time.perf_counter() - t, stdout


def bench_scale(megabytes: float, encode_mb: float, work: Path, jobs: int) -> None:
    # 1. The token files of a GB-sized stream (what `encode` ends with, and `train` does first).
    stream = work / "big.txt"
    size = tab_stream(stream, megabytes)
    code = "import sys; from musicrnn.data import prepare; d = prepare(sys.argv[1]); print(d.meta['pieces'])"
    peak, seconds, stdout = peak_rss([sys.executable, "-c", code, str(stream)])
    tokens = sum(f.stat().st_size for f in (work / "big.tokens").glob("*.bin"))
    row(
        f"prepare a {size / 1e9:.2f} GB columns stream -> token files",
        f"{peak / 2**30:.2f} GiB peak RSS",
        f"{size / seconds / 1e6:.1f} MB/s, {tokens / 1e6:,.0f} MB of tokens",
        None,
        "<= 2 GiB RSS",
    )
    stream.unlink()
    shutil.rmtree(work / "big.tokens", ignore_errors=True)

    # 2. `musicrnn encode` of a folder of tab files: stream and token files.
    folder = work / f"tabs-{encode_mb:g}mb"
    size = tab_files(folder, encode_mb)
    out = work / "enc.txt"
    cmd = [
        sys.executable,
        "-m",
        "musicrnn",
        "encode",
        str(folder),
        "--scheme",
        "columns",
        "--jobs",
        str(jobs),
        "--out",
        str(out),
    ]
    peak, seconds, stdout = peak_rss(cmd)
    row(
        f"encode a {size / 1e9:.2f} GB tab folder, --jobs {jobs} (stream + tokens)",
        f"{peak / 2**30:.2f} GiB peak RSS",
        f"{size / seconds / 1e6:.1f} MB/s",
        None,
        "<= 2 GiB RSS",
    )
    said = " ".join(stdout.split()).split(" wrote ")[0]  # rich wraps lines: join the words again
    NOTES.append(f"encode: {said} ({seconds:.0f}s)")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="shorter runs (noisier)")
    ap.add_argument("--scale-mb", type=float, default=1024, help="size of the generated stream to prepare (0: skip)")
    ap.add_argument("--encode-mb", type=float, default=1024, help="size of the generated tab folder to encode")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="encode workers for the scale row")
    ap.add_argument("--only", choices=["train", "sample", "decode", "encode", "scale"], action="append")
    ap.add_argument("--work", help="folder for generated files (default: a temporary one, removed)")
    ap.add_argument("--threads", type=int, help="torch threads for every row (default: torch's, one per core)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    groups = args.only or ["train", "sample", "decode", "encode", "scale"]
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="musicrnn-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        if "train" in groups:
            bench_train(args.repeats, args.quick, str(work))
        if "sample" in groups:
            bench_sample(args.repeats, args.quick)
        if "decode" in groups:
            bench_decode(args.repeats, args.quick)
        if "encode" in groups:
            bench_encode(args.repeats, args.quick, work)
        if "scale" in groups and args.scale_mb > 0:
            bench_scale(args.scale_mb, args.encode_mb, work, args.jobs)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nmachine: {machine()}")
    print(f"medians of {args.repeats} alternating repeats; {time.perf_counter() - started:.0f}s in all\n")
    headers = ("measure", "musicrnn", "baseline", "ratio", "goal")
    widths = [max(len(h), *(len(r[i]) for r in ROWS)) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in ROWS:
        print(line(r))
    for note in NOTES:
        print(f"\n{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
