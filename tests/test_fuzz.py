"""Fuzzing every registered codec (a short pass; `make fuzz` runs 10,000 cases per codec).

Property tests (hypothesis) feed arbitrary text and bytes to every entry point of
every codec; the mutation fuzzer (tools/fuzz.py) feeds broken real files.  A
case may end clean, repaired with a report, or rejected with an InputError that
names the file; any other exception is a crash and fails the test.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import encoders
from encoders import Decoded, EncodeResult, InputError, decode_bytes
from tools import fuzz

CODECS = encoders.all_codecs()
IDS = [c.name for c in CODECS]


def _alphabet(codec) -> str:
    """Characters of the codec's real pieces plus the tricky ones, so random text reaches deep."""
    chars = set()
    for data in fuzz.seed_files(codec, max_pieces=20)[:10]:
        chars |= set(data.decode("utf-8", errors="replace"))
    return "".join(sorted(chars | set(fuzz.TRICKY) | set("\n0123456789")))


def _texts(codec):
    return st.one_of(st.text(max_size=300), st.text(alphabet=_alphabet(codec), max_size=400))


@pytest.fixture(scope="module", autouse=True)
def _strict(monkeypatch_module):
    # the codecs' safety nets re-raise, so a bug is a failure here, not a quiet "internal error"
    monkeypatch_module.setenv("MUSICRNN_DEBUG", "1")


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.mark.parametrize("codec", CODECS, ids=IDS)
def test_mutated_real_files_never_crash_any_entry_point(codec):
    seed = 0 if os.environ.get("CI") else random.randrange(10**6)  # CI repeats; elsewhere explore
    stats = fuzz.fuzz_codec(codec, cases=25, seed=seed, timeout=30.0)
    crashes = f"fuzz seed {seed}:\n" + "\n".join(
        f"{f.target}: {f.kind} at {f.where}: {f.message[:200]} (input {f.data[:120]!r})"
        for f in stats.findings.values()
    )
    assert stats.crashes == 0, crashes
    file_outcomes = stats.outcomes["file"]
    # the pass went through the error paths, not only the happy one
    assert file_outcomes["rejected"] > 0 and file_outcomes["ok"] + file_outcomes["repaired"] > 0, file_outcomes


@pytest.mark.parametrize("codec", CODECS, ids=IDS)
def test_decode_any_text_gives_a_decoded_piece(codec):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_texts(codec))
    def check(text):
        try:
            d = codec.decode(text, path="t" + codec.suffixes[0])
        except InputError as e:
            assert e.problem.path == "t" + codec.suffixes[0]
            return
        assert isinstance(d, Decoded)
        assert fuzz._check_decoded(d, codec) in ("ok", "repaired")

    check()


@pytest.mark.parametrize("codec", CODECS, ids=IDS)
def test_encode_any_text_gives_pieces_or_an_input_error_naming_the_file(codec):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_texts(codec))
    def check(text):
        try:
            result = codec.encode_text(text, path="in" + codec.suffixes[0])
        except InputError as e:
            assert e.problem.path == "in" + codec.suffixes[0] and str(e).startswith("in")
            return
        assert isinstance(result, EncodeResult)
        for p in result.problems:
            assert p.path == "in" + codec.suffixes[0], p
        for piece in result.pieces:  # what the encoder writes, the decoder reads
            assert isinstance(codec.decode(piece), Decoded)

    check()


@pytest.mark.parametrize(
    "codec", [c for c in CODECS if c.grammar() is not None], ids=[c.name for c in CODECS if c.grammar() is not None]
)
def test_grammar_feed_never_raises(codec):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_texts(codec), _texts(codec))
    def check(a, b):
        g = codec.grammar()
        g.feed(a)
        allowed = g.allowed()
        assert allowed is None or isinstance(allowed, str)
        g.feed(b)
        g.allowed()

    check()


@given(st.binary(max_size=2000))
@settings(max_examples=200, deadline=None)
def test_any_bytes_read_as_text_or_a_clean_input_error(data):
    try:
        text = decode_bytes(data, "f.abc")
    except InputError as e:
        assert str(e).startswith("f.abc: ")
        return
    assert isinstance(text, str) and text.strip() and "\x00" not in text[:8192]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1"])
def test_files_in_other_encodings_read_as_the_same_tune(tmp_path, encoding):
    tune = "X:1\nT:Café\nM:3/4\nL:1/4\nK:Ador\nA B c|d2 e|c B A|A3|]\n"
    path = tmp_path / "t.abc"
    path.write_bytes(tune.encode(encoding))
    assert encoders.read_text(path) == tune
    result = encoders.get("abc").encode_text(encoders.read_text(path), path=str(path))
    assert len(result.pieces) == 1 and "A B c|d2 e|" in result.pieces[0]


# ---- the crashes the fuzzer found, each kept as a test


def test_superscript_digits_in_a_tab_are_bad_characters_not_a_crash():
    broken = "e|--0--|\nB|--1--|\nG|--²--|\nD|--2--|\nA|--3--|\nE|-----|\n"  # str.isdigit("²") is True
    good = "e|-0-|\nB|---|\nG|---|\nD|---|\nA|---|\nE|---|\n"
    for codec in (encoders.get("rows"), encoders.get("columns")):
        with pytest.raises(InputError, match="x.tab"):
            codec.encode_text(broken, path="x.tab")
        result = codec.encode_text(broken + "\n" + good, path="x.tab")
        assert len(result.pieces) == 1
        p = result.problems[0]
        assert (p.line, p.column, p.path) == (3, 5, "x.tab") and "²" in p.message
        assert [n.pitch for n in codec.decode(result.pieces[0]).piece.notes] == [64]
        assert isinstance(codec.decode(broken), Decoded)


def test_a_tempo_of_five_thousand_digits_is_ignored_not_a_crash():
    abc = encoders.get("abc")
    tune = "X:1\nM:4/4\nL:1/8\nQ:1/4=" + "9" * 5000 + "\nK:G\nGABc dedc|]\n"
    result = abc.encode_text(tune, path="q.abc")
    assert len(result.pieces) == 1 and "Q:" not in result.pieces[0]
    d = abc.decode(tune)
    assert d.piece.tempo == 120.0 and len(d.piece.notes) == 8
    # '²' in the P: play order crashed the player ("nothing played") before
    d = abc.decode("X:1\nP:A²\nL:1/8\nK:C\nP:A\nABc|]\n")
    assert d.clean and [n.pitch for n in d.piece.notes] == [69, 71, 72]


# ---- the harness itself: it must see a crash when there is one


class _Fragile(encoders.Scheme):
    """A scheme that breaks on the letter Q (and hangs on 'hang'), to prove the fuzzer catches it."""

    name, suffixes, seed = "fragile", (".frg",), "a"

    def _encode_text(self, text, path="", **options):
        if "Q" in text:
            raise IndexError("Q is not handled")
        if not text.strip():
            raise InputError("empty", path=path)
        return EncodeResult([text.strip() + "\n"], [])

    def _decode(self, text, path="", **options):
        return Decoded(encoders.Piece(), text)

    def sniff(self, text):
        return False

    def label(self, text, number):
        if "hang" in text:
            while True:
                pass
        return text


def test_the_fuzzer_reports_crashes_and_hangs(tmp_path, monkeypatch):
    fragile = _Fragile()
    monkeypatch.setitem(encoders._REGISTRY, fragile.name, fragile)  # encode_file looks codecs up by name
    stats = fuzz.FuzzStats("fragile")
    for data in (b"abc\n", b"xQx\n", b"", b"hang\n"):
        fuzz.run_case(fragile, data, stats, str(tmp_path), timeout=0.5)
    kinds = {(f.target, f.kind) for f in stats.findings.values()}
    assert ("file", "IndexError") in kinds and ("text", "IndexError") in kinds
    assert ("text", "Hang") in kinds
    assert stats.outcomes["file"]["rejected"] == 1 and stats.outcomes["file"]["ok"] >= 1
    table = fuzz.summary_table([stats])
    assert "fragile" in table and "crash" in table.splitlines()[0]


def test_mutations_break_real_files_in_many_ways():
    codec = encoders.get("abc")
    seeds = fuzz.seed_files(codec, max_pieces=30)
    rng = random.Random(3)
    names = set()
    outs = set()
    for _ in range(300):
        data, name = fuzz.mutate(rng.choice(seeds), rng, seeds)
        names.update(n.strip() for n in name.split(","))
        outs.add(data)
    assert len(outs) > 250
    assert {"truncate", "huge number", "tricky chars", "lines", "junk"} <= names, names
    huge = fuzz.huge_line_case(seeds[0], 1 << 20)
    assert max(len(line) for line in huge.split(b"\n")) >= 1 << 20


FINDINGS = os.path.join(os.path.dirname(__file__), "fuzz_findings")


@pytest.mark.parametrize(
    "name, codec, targets",
    [
        ("roll-file-slow.mid", "roll", ("file",)),
        ("events-decode-slow.txt", "events", ("decode", "text")),
        ("events-decode-slow.txt", "roll", ("decode", "grammar", "text")),
    ],
)
def test_inputs_make_fuzz_once_found_too_slow_now_end_cleanly(tmp_path, name, codec, targets):
    # each took 20 s to minutes (a 13-million-beat note; thousands of unison copies);
    # replayed through the fuzzer itself, with its time limit as the hang detector
    with open(os.path.join(FINDINGS, name), "rb") as f:
        data = f.read()
    stats = fuzz.FuzzStats(codec)
    fuzz.run_case(encoders.get(codec), data, stats, str(tmp_path), timeout=20.0, targets=targets)
    assert not stats.findings, [(f.kind, f.message) for f in stats.findings.values()]
    for target in targets:
        assert sum(stats.outcomes[target].values()) == 1
    if name.endswith(".mid"):
        assert stats.outcomes["file"]["rejected"] == 1


def _state_and_parent(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent pid from /proc, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _children(pid: int) -> set[int]:
    found = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        info = _state_and_parent(int(entry))
        if info and info[1] == pid and info[0] != "Z":
            found.add(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to find the workers")
def test_sigterm_to_make_fuzz_with_jobs_stops_its_workers_too(tmp_path):
    import contextlib
    import signal
    import subprocess
    import sys
    import time

    workers: set[int] = set()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tools/ is not installed: run from the repo
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tools.fuzz",
            "--cases",
            "1000000",
            "--jobs",
            "2",
            "--codec",
            "abc",
            "--codec",
            "rows",
            "--huge-line-mb",
            "0",
        ],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):  # the pool starts its two workers
            workers = _children(proc.pid) - {proc.pid}
            if len(workers) >= 2:
                break
            time.sleep(0.1)
        assert len(workers) >= 2
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) != 0
        for _ in range(300):
            alive = {w for w in workers if (_state_and_parent(w) or ("Z",))[0] != "Z"}
            if not alive:
                break
            time.sleep(0.1)
        assert not alive, f"workers {alive} outlived the fuzzer"
    finally:
        for pid in [proc.pid, *workers]:  # leave no orphan behind when the test fails
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
