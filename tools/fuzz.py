"""Fuzzing every codec: mutated real files in, and nothing but clean answers out.

For each scheme in ``encoders.all_codecs()`` (so a new codec is fuzzed the day it
is registered) the fuzzer takes real pieces of that scheme (the corpora/*.txt
streams the codec recognizes; for a codec reading MIDI files, folk tunes played
into MIDI), breaks them with random mutations, and feeds every case to every
entry point a user or a model can reach:

    file     the bytes, as a file with the codec's suffix -> musicrnn.encode.encode_file
             (what `musicrnn encode` runs on each file: read_text or the codec's
             binary path, encode, the de-duplication digest), then
             every piece it kept -> codec.decode
    decode   the text -> codec.decode -> the Piece rendered to MIDI bytes
    grammar  the text -> codec.grammar().feed -> allowed()   (codecs with a grammar)
    text     the text -> encode_text, split, sniff, body, music_key, label

Mutations: truncation (also inside a UTF-8 character), random bytes changed,
inserted or deleted, swapped and duplicated lines, huge numbers, tricky
characters (NUL, U+2028, superscript digits that str.isdigit accepts and int()
refuses, a BOM in the middle), other encodings (Latin-1, cp1252, UTF-16 and
UTF-32 with and without BOM, UTF-8 with BOM), binary junk, empty and blank
files, other line ends, long lines; `huge_line_case` is a file with one 50 MB line.

Each case ends in one of:

    ok        a clean result
    repaired  a result with a report (skipped pieces, repairs, grammar problems)
    rejected  encoders.InputError, whose message names the file (line, column)
    crash     any other exception, or a repair that reports a swallowed exception
    hang      a case that ran past the time limit

The goal, checked by tests/test_fuzz.py (a short pass) and ``make fuzz``
(10,000 cases per codec), is zero crashes and zero hangs.  Crashing inputs are
saved (``--save``) so they can be replayed.

    python -m tools.fuzz --cases 10000 --save outputs/fuzz
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import random
import re
import signal
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import encoders
from encoders import Codec, Decoded, InputError

__all__ = ["FuzzStats", "Finding", "fuzz_codec", "huge_line_case", "mutate", "seed_files", "main"]

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO / "corpora"
MIDI_SUFFIXES = (".mid", ".midi")
OUTCOMES = ("ok", "repaired", "rejected", "crash", "hang")
TARGETS = ("file", "decode", "grammar", "text")

TRICKY = [
    "\x00",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x85",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufffd",
    "\u200b",
    "\u0301",
    "\u202e",
    "²",
    "³",
    "¹",
    "½",
    "٣",
    "１",
    "Ⅻ",
    "🎵",
    "ß",
    "İ",
    "ﬀ",
    "\t",
    "\r",
    "\\",
    "%",
    '"',
    "|",
    ":",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    "/",
    "-",
    "^",
    "_",
    "=",
    ",",
]
"""Characters that have broken parsers: digits int() refuses, line ends str.splitlines
sees and '\\n' does not, characters whose upper/lower case changes length, format characters."""

SWALLOWED = re.compile(r"\b[A-Z]\w*(Error|Exception)\b")
"""A repair message naming an exception type hides a crash behind a catch-all."""


class Hang(Exception):
    """Raised by the alarm when one case runs too long."""


@dataclass
class Finding:
    """One distinct crash: where it happened and an input that makes it."""

    codec: str
    target: str
    kind: str
    message: str
    where: str
    data: bytes
    count: int = 1

    def key(self) -> tuple[str, str, str, str]:
        return (self.codec, self.target, self.kind, self.where)


@dataclass
class FuzzStats:
    """Outcome counts per target for one codec, and the distinct crashes."""

    codec: str
    cases: int = 0
    outcomes: dict[str, Counter] = field(default_factory=lambda: {t: Counter() for t in TARGETS})
    findings: dict[tuple, Finding] = field(default_factory=dict)
    slowest: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TARGETS, 0.0))
    seconds: float = 0.0
    huge_line_s: float | None = None

    @property
    def crashes(self) -> int:
        return sum(c["crash"] + c["hang"] for c in self.outcomes.values())

    def record(self, target: str, outcome: str, seconds: float) -> None:
        self.outcomes[target][outcome] += 1
        self.slowest[target] = max(self.slowest[target], seconds)

    def add_finding(self, finding: Finding) -> None:
        old = self.findings.get(finding.key())
        if old is None:
            self.findings[finding.key()] = finding
        else:
            old.count += 1
            if len(finding.data) < len(old.data):  # keep the smallest input that does it
                old.data = finding.data


# --------------------------------------------------------------------------- seeds


def _is_midi_codec(codec: Codec) -> bool:
    return any(s in MIDI_SUFFIXES for s in codec.suffixes + getattr(codec, "binary_suffixes", ()))


def _file_suffix(codec: Codec) -> str:
    """The name ending of the files the seeds are: MIDI for the MIDI codecs, else the codec's
    text files (the tab schemes read Guitar Pro files too, but their seeds are text)."""
    return (getattr(codec, "binary_suffixes", ()) if _is_midi_codec(codec) else codec.suffixes)[0]


def seed_files(codec: Codec, max_pieces: int = 300, rng: random.Random | None = None) -> list[bytes]:
    """Real files of the codec's kind, as bytes: pieces of every corpora/*.txt stream
    the codec recognizes, grouped 1 to 4 to a file; for a MIDI codec, folk tunes
    played into MIDI files (by the abc codec and musicrnn.render)."""
    rng = rng or random.Random(0)
    if _is_midi_codec(codec):
        return _midi_seeds(max_pieces=min(max_pieces, 60))
    pieces: list[str] = []
    for path in sorted(CORPORA.glob("*.txt")):
        with open(path, encoding="utf-8") as fh:
            head = fh.read(400_000)
        if not codec.sniff(head):
            continue
        # the last piece of the head may be cut short; drop it
        pieces.extend(codec.split(head)[:-1][:max_pieces])
    files: list[bytes] = []
    i = 0
    while i < len(pieces):
        n = rng.randint(1, 4)
        files.append(encoders.join_stream(pieces[i : i + n]).encode("utf-8"))
        i += n
    return files


def _midi_seeds(max_pieces: int) -> list[bytes]:
    from musicrnn.render import to_midi

    abc = encoders.get("abc")
    with open(CORPORA / "folk.txt", encoding="utf-8") as fh:
        tunes = abc.split(fh.read(200_000))[:max_pieces]
    out = []
    for tune in tunes:
        buf = io.BytesIO()
        to_midi(abc.decode(tune).piece).save(file=buf)
        out.append(buf.getvalue())
    return out


# --------------------------------------------------------------------------- mutations


def _lines_op(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    if len(lines) < 2:
        return text + "\n" + text
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    op = rng.randrange(4)
    if op == 0:
        lines[i], lines[j] = lines[j], lines[i]
    elif op == 1:
        lines.insert(j, lines[i])
    elif op == 2:
        del lines[i]
    else:
        rng.shuffle(lines)
    return "\n".join(lines)


def _huge_number(text: str, rng: random.Random) -> str:
    digits = rng.choice(
        [
            "9" * 20,
            "9" * 400,
            "1" + "0" * 5000,
            "0" * 30,
            "-" + "9" * 25,
            "4294967296",
            "18446744073709551616",
            "1e308",
            "0.0000000001",
            "NaN",
            "inf",
        ]
    )
    spans = [m.span() for m in re.finditer(r"\d+", text)]
    if spans and rng.random() < 0.8:
        a, b = rng.choice(spans)
        return text[:a] + digits + text[b:]
    k = rng.randrange(len(text) + 1)
    return text[:k] + digits + text[k:]


def _tricky(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 8)):
        k = rng.randrange(len(text) + 1)
        text = text[:k] + rng.choice(TRICKY) * rng.choice([1, 1, 1, 3, 100]) + text[k:]
    return text


def _char_ops(text: str, rng: random.Random) -> str:
    chars = list(text)
    alphabet = sorted(set(text)) or ["a"]
    for _ in range(rng.randint(1, 12)):
        k = rng.randrange(len(chars) + 1)
        op = rng.randrange(3)
        if op == 0 and chars:
            chars[min(k, len(chars) - 1)] = rng.choice(alphabet)
        elif op == 1:
            chars.insert(k, rng.choice(alphabet))
        elif chars:
            del chars[k : k + rng.randint(1, 20)]
    return "".join(chars)


def _splice(text: str, other: str, rng: random.Random) -> str:
    return text[: rng.randrange(len(text) + 1)] + other[rng.randrange(len(other) + 1) :]


TEXT_MUTATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "truncate": lambda t, r: t[: r.randrange(len(t) + 1)],
    "chars": _char_ops,
    "lines": _lines_op,
    "huge number": _huge_number,
    "tricky chars": _tricky,
    "line ends": lambda t, r: t.replace("\n", r.choice(["\r\n", "\r", "", "\n\n", " ", "\u2028", "\n\n\n"])),
    "long line": lambda t, r: t.replace("\n", " ") * r.randint(1, 8),
    "repeat": lambda t, r: t * r.randint(2, 8),
    "blank": lambda t, r: r.choice(["", " ", "\n", "\n\n\n", "\t \r\n", "%", "X:", "X:1", "%columns ", "|"]),
    "case": lambda t, r: t.swapcase() if r.random() < 0.5 else t.upper(),
}

ENCODINGS = [
    "utf-8",
    "utf-8",
    "utf-8",
    "utf-8-sig",
    "latin-1",
    "cp1252",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "mac-roman",
]


def _encode(text: str, rng: random.Random) -> bytes:
    name = rng.choice(ENCODINGS)
    if name in ("latin-1", "cp1252", "mac-roman"):
        text = text.replace("a", "é", rng.randint(0, 5))
    return text.encode(name, errors="replace")


def _byte_ops(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        k = rng.randrange(len(b) + 1)
        op = rng.randrange(4)
        if op == 0 and b:
            b[min(k, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            b[k:k] = rng.randbytes(rng.randint(1, 8))
        elif op == 2:
            del b[k : k + rng.randint(1, 64)]
        else:
            b[k:k] = bytes([rng.choice([0x00, 0x80, 0xC3, 0xE2, 0xF0, 0xFF, 0xFE, 0xEF, 0x0D])])
    return bytes(b)


BYTE_MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "bytes": _byte_ops,
    "truncate bytes": lambda d, r: d[: r.randrange(len(d) + 1)],
    "junk": lambda d, r: r.randbytes(r.choice([1, 7, 100, 4096, 70_000])),
    "junk prefix": lambda d, r: r.randbytes(r.randint(1, 64)) + d,
}


def mutate(data: bytes, rng: random.Random, others: list[bytes], binary: bool = False) -> tuple[bytes, str]:
    """One case from a real file: 1 to 3 mutations; returns the bytes and their names."""
    names: list[str] = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        if binary or rng.random() < 0.3:
            name = rng.choice(sorted(BYTE_MUTATIONS) + ["splice"])
            if name == "splice":
                data = data[: rng.randrange(len(data) + 1)] + rng.choice(others)[rng.randrange(64) :]
            else:
                data = BYTE_MUTATIONS[name](data, rng)
        else:
            text = data.decode("utf-8", errors="replace")
            name = rng.choice(sorted(TEXT_MUTATIONS) + ["splice"])
            if name == "splice":
                text = _splice(text, rng.choice(others).decode("utf-8", errors="replace"), rng)
            else:
                text = TEXT_MUTATIONS[name](text, rng)
            if rng.random() < 0.25:
                data = _encode(text, rng)
                name += " + encoding"
            else:
                data = text.encode("utf-8", errors="surrogatepass")
        names.append(name)
    return data, ", ".join(names)


def huge_line_case(seed: bytes, size: int = 50 << 20) -> bytes:
    """A real file whose longest line is repeated into one line of `size` bytes."""
    lines = seed.split(b"\n")
    longest = max(lines, key=len) or b"x"
    k = lines.index(longest)
    lines[k] = (longest + b" ") * (size // (len(longest) + 1) + 1)
    return b"\n".join(lines)


# --------------------------------------------------------------------------- running one case


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    if seconds <= 0 or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise Hang(f"ran past {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def _strict() -> Iterator[None]:
    """MUSICRNN_DEBUG on: the codecs' safety nets re-raise, so a bug shows where it is."""
    old = os.environ.get("MUSICRNN_DEBUG")
    os.environ["MUSICRNN_DEBUG"] = "1"
    try:
        yield
    finally:
        if old is None:
            del os.environ["MUSICRNN_DEBUG"]
        else:
            os.environ["MUSICRNN_DEBUG"] = old


def _where(exc: BaseException) -> str:
    """The innermost frame of the project's code in a traceback, as file:line function."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/encoders/" in f.filename or "/musicrnn/" in f.filename]
    f = (ours or frames or [None])[-1]
    if f is None:
        return "?"
    return f"{os.path.relpath(f.filename, REPO)}:{f.lineno} {f.name}"


def _check_decoded(d: object, codec: Codec) -> str:
    """ok or repaired for a decoder's answer; raises AssertionError when it breaks the contract."""
    from musicrnn.render import to_midi

    assert isinstance(d, Decoded), f"decode returned {type(d).__name__}, not Decoded"
    assert isinstance(d.text, str), "Decoded.text is not a string"
    for r in d.repairs:
        if SWALLOWED.search(r.message):
            raise AssertionError(f"repair hides an exception: {r.message[:160]}")
    to_midi(d.piece).save(file=io.BytesIO())
    return "ok" if d.clean else "repaired"


def _check_problems(problems, path: str) -> None:
    for p in problems:
        assert p.path == path, f"problem does not name the file: {p}"
        if SWALLOWED.search(p.message):
            raise AssertionError(f"problem hides an exception: {p.message[:160]}")


def _target_file(codec: Codec, data: bytes, tmpdir: str) -> str:
    from musicrnn.encode import encode_file

    path = Path(tmpdir) / f"case{_file_suffix(codec)}"
    path.write_bytes(data)
    result = encode_file(path, codec.name)
    _check_problems(result.problems + ([result.skipped] if result.skipped else []), str(path))
    for piece, _ in result.pieces:
        _check_decoded(codec.decode(piece, path=str(path)), codec)
    if result.skipped is not None and not result.pieces:
        return "rejected"
    return "repaired" if result.skipped is not None or result.problems else "ok"


def _target_decode(codec: Codec, text: str) -> str:
    return _check_decoded(codec.decode(text, path="fuzz" + codec.suffixes[0]), codec)


def _target_grammar(codec: Codec, text: str) -> str | None:
    g = codec.grammar()
    if g is None:
        return None
    g.feed(text)
    allowed = g.allowed()
    assert allowed is None or isinstance(allowed, str), f"allowed() gave {type(allowed).__name__}"
    if hasattr(g, "can_end"):
        g.can_end()
    if allowed:
        g.feed(allowed[0])
    return "repaired" if getattr(g, "problems", None) else "ok"


def _target_text(codec: Codec, text: str) -> str:
    path = "fuzz" + codec.suffixes[0]
    outcome = "ok"
    try:
        result = codec.encode_text(text, path=path)
        _check_problems(result.problems, path)
        outcome = "repaired" if result.problems else "ok"
    except InputError as e:
        assert e.problem.path == path, f"InputError does not name the file: {e}"
        outcome = "rejected"
    for piece in codec.split(text):
        assert isinstance(piece, str)
    assert isinstance(codec.sniff(text), bool)
    assert isinstance(codec.body(text), str)
    if hasattr(codec, "music_key"):
        codec.music_key(text)
    assert isinstance(codec.label(text, 7), str)
    return outcome


def run_case(
    codec: Codec, data: bytes, stats: FuzzStats, tmpdir: str, timeout: float = 20.0, targets: tuple[str, ...] = TARGETS
) -> None:
    """Feed one input to every target; count outcomes and keep what crashed."""
    text = data.decode("utf-8", errors="replace")
    for target in targets:
        t0 = time.perf_counter()
        try:
            with _time_limit(timeout):
                if target == "file":
                    outcome = _target_file(codec, data, tmpdir)
                elif target == "decode":
                    outcome = _target_decode(codec, text)
                elif target == "grammar":
                    outcome = _target_grammar(codec, text)
                else:
                    outcome = _target_text(codec, text)
        except InputError as e:
            outcome = "rejected" if target != "grammar" else "crash"
            if outcome == "crash":
                stats.add_finding(Finding(codec.name, target, type(e).__name__, str(e)[:300], _where(e), data))
        except Hang as e:
            outcome = "hang"
            stats.add_finding(Finding(codec.name, target, "Hang", str(e), _where(e), data))
        except (Exception, RecursionError) as e:
            outcome = "crash"
            stats.add_finding(Finding(codec.name, target, type(e).__name__, str(e)[:300], _where(e), data))
        if outcome is not None:
            stats.record(target, outcome, time.perf_counter() - t0)


def fuzz_codec(
    codec: Codec, cases: int, seed: int = 0, timeout: float = 20.0, progress: Callable[[int], None] | None = None
) -> FuzzStats:
    """`cases` mutated inputs through every target of one codec (plus the unmutated seeds
    first when there are fewer seeds than cases)."""
    rng = random.Random(f"{seed}:{codec.name}")
    seeds = seed_files(codec, rng=random.Random(seed))
    if not seeds:
        seeds = [codec.seed.encode("utf-8")]
    stats = FuzzStats(codec.name)
    binary = _is_midi_codec(codec)
    t0 = time.perf_counter()
    with _strict(), tempfile.TemporaryDirectory(prefix="musicrnn-fuzz-") as tmpdir:
        texts: list[bytes] = []
        if binary:
            # the scheme's text, as its encoder writes it, is what decode/grammar/text get
            from musicrnn.encode import encode_file

            for i, data in enumerate(seeds[:40]):
                p = Path(tmpdir) / f"seed{i}{_file_suffix(codec)}"
                p.write_bytes(data)
                texts.extend(t.encode("utf-8") for t, _ in encode_file(p, codec.name).pieces)
        for i in range(cases):
            if i < min(len(seeds), cases // 10):
                data = seeds[i]
            else:
                data, _ = mutate(rng.choice(seeds), rng, seeds, binary=binary and rng.random() < 0.7)
            stats.cases += 1
            if binary:
                # a binary format's text entry points get mutations of its scheme's text
                run_case(codec, data, stats, tmpdir, timeout, targets=("file",))
                if texts:
                    text_data, _ = mutate(rng.choice(texts), rng, texts)
                    run_case(codec, text_data, stats, tmpdir, timeout, targets=("decode", "grammar", "text"))
            else:
                run_case(codec, data, stats, tmpdir, timeout)
            if progress:
                progress(i + 1)
    stats.seconds = time.perf_counter() - t0
    return stats


# --------------------------------------------------------------------------- make fuzz


def summary_table(all_stats: list[FuzzStats]) -> str:
    head = ["codec", "target", "cases", *OUTCOMES, "slowest ms"]
    rows = []
    for s in all_stats:
        for t in TARGETS:
            c = s.outcomes[t]
            n = sum(c.values())
            if n:
                rows.append([s.codec, t, str(n), *(str(c[o]) for o in OUTCOMES), f"{1000 * s.slowest[t]:.0f}"])
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    fmt = "  ".join("{:<%d}" % w if i < 2 else "{:>%d}" % w for i, w in enumerate(widths))
    return "\n".join([fmt.format(*head)] + [fmt.format(*r) for r in rows])


def _save(findings: list[Finding], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in findings:
        digest = hashlib.sha1(f.data).hexdigest()[:10]
        (folder / f"{f.codec}-{f.target}-{digest}.bin").write_bytes(f.data)


def _fuzz_one(name: str, cases: int, seed: int, timeout: float, huge_line_mb: int) -> FuzzStats:
    """One codec's cases, then the file with one huge line; prints a line when done."""
    codec = encoders.get(name)
    stats = fuzz_codec(
        codec, cases, seed, timeout, progress=lambda i: i % 1000 or print(f"{name}: {i}/{cases}", flush=True)
    )
    print(f"{name}: {stats.cases} cases in {stats.seconds:.0f} s, {stats.crashes} crashes", flush=True)
    if huge_line_mb:
        seeds = seed_files(codec, max_pieces=4) or [codec.seed.encode()]
        data = huge_line_case(seeds[0], huge_line_mb << 20)
        t0 = time.perf_counter()
        with _strict(), tempfile.TemporaryDirectory(prefix="musicrnn-fuzz-") as tmpdir:
            run_case(codec, data, stats, tmpdir, timeout=max(timeout, 300.0), targets=("file",))
        stats.huge_line_s = time.perf_counter() - t0
        print(f"{name}: a file with one {len(data) >> 20} MB line took {stats.huge_line_s:.1f} s", flush=True)
    return stats


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _worker_signals() -> None:
    """A worker dies quietly when the pool terminates it (and leaves Ctrl-C to the parent)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="mutated inputs per codec")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--codec", action="append", help="only these schemes (default: every registered one)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds one target may take on one case")
    parser.add_argument("--huge-line-mb", type=int, default=50, help="size of the one-line file case (0: skip)")
    parser.add_argument("--save", type=Path, default=None, help="folder to write crashing inputs to")
    parser.add_argument("--jobs", type=int, default=1, help="codecs fuzzed at once, one process each")
    args = parser.parse_args(argv)

    names = [c.name for c in encoders.all_codecs() if not args.codec or c.name in args.codec]
    jobs = [(name, args.cases, args.seed, args.timeout, args.huge_line_mb) for name in names]
    if args.jobs > 1:
        import multiprocessing

        # SIGTERM (a CI timeout, `kill`) leaves through the `with` below, which terminates the
        # workers; without this the parent died alone and its workers fuzzed on for an hour
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        with multiprocessing.get_context("fork").Pool(min(args.jobs, len(jobs)), initializer=_worker_signals) as pool:
            all_stats = pool.starmap(_fuzz_one, jobs)
    else:
        all_stats = [_fuzz_one(*job) for job in jobs]
    print()
    print(summary_table(all_stats))
    findings = [f for s in all_stats for f in s.findings.values()]
    huge_mb = args.huge_line_mb
    print(
        f"\n{sum(s.cases for s in all_stats)} cases, {len(findings)} distinct crashes, "
        f"{sum(s.crashes for s in all_stats)} crashing cases"
    )
    for s in all_stats:
        if s.huge_line_s is not None:
            print(f"  {s.codec}: the file with one {huge_mb} MB line took {s.huge_line_s:.1f} s")
    for f in findings:
        print(f"  {f.codec}/{f.target}: {f.kind} at {f.where} ({f.count}x): {f.message[:160]}")
    if args.save and findings:
        _save(findings, args.save)
        print(f"crashing inputs written to {args.save}/")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
