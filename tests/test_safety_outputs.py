"""Nothing the user did not name is replaced (issue 13, data loss).

A command writes the outputs the user named; a file it did not write before (or one edited
since) is replaced only with --force; an input is never an output; numbered files a re-run no
longer writes are removed when musicrnn wrote them; train checks everything before touching
--out and holds a lock on it; a kill -9 leaves nothing behind that the next run does not clean;
a full disk names the file and says what was and was not replaced.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli_errors import one_line_error as cli_one_line_error
from typer.testing import CliRunner

import musicrnn.atomic as atomic
import musicrnn.train as train_mod
from musicrnn import checkpoint
from musicrnn.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_USER_ERROR, app
from musicrnn.overwrite import MANIFEST, RUN_LOCK

REPO = Path(__file__).resolve().parent.parent
REEL = "X:1\nM:4/4\nL:1/8\nK:D\n|:A2FA dAFA|B2GB dBGB|A2FA dfed|cABc d2d2:|\n"
JIG = "X:1\nM:6/8\nL:1/8\nK:G\n|:GAG GAB|ABA ABd|edd gdd|edB dBA:|\n"
TINY = [
    "--hidden",
    "16",
    "--layers",
    "1",
    "--embed",
    "8",
    "--batch-size",
    "4",
    "--seq-len",
    "16",
    "--threads",
    "1",
    "--lr",
    "0.01",
]

runner = CliRunner()


def run(*args) -> object:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, *needles: str, code: int = EXIT_USER_ERROR) -> str:
    """test_cli_errors' check (exit code, one line, no traceback, the needles), user errors by default."""
    return cli_one_line_error(result, code, *needles)


def generate(out: Path, *extra) -> object:
    return run("generate", "--length", "150", "--random-seed", "1", "--out", out, *extra)


def hidden_tmp(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---- generate: the text beside the MIDI, numbered files


def test_generate_never_replaces_the_users_own_text_beside_the_midi(tmp_path):
    mine = tmp_path / "mine.abc"
    mine.write_text(REEL)
    one_line_error(generate(tmp_path / "mine.mid"), f"{mine}: already exists", "--force")
    assert mine.read_text() == REEL and not (tmp_path / "mine.mid").exists()

    result = generate(tmp_path / "mine.mid", "--force")
    assert result.exit_code == EXIT_OK, result.output
    assert mine.read_text() != REEL and f"replaced {mine} (--force)" in result.output

    # what musicrnn wrote for this --out it replaces again, and says so
    result = generate(tmp_path / "mine.mid", "--random-seed", "2")
    assert result.exit_code == EXIT_OK, result.output
    assert "(written by musicrnn before)" in result.output and str(tmp_path / "mine.mid") in result.output

    # edited since, the text is the user's again
    mine.write_text(mine.read_text() + "% my notes\n")
    one_line_error(generate(tmp_path / "mine.mid"), f"{mine}: already exists", "--force")
    assert mine.read_text().endswith("% my notes\n")


def test_a_named_output_musicrnn_did_not_write_needs_force(tmp_path):
    mine = tmp_path / "batch.abc"
    mine.write_text(REEL)
    one_line_error(generate(mine), f"{mine}: already exists and musicrnn did not write it", "--force")
    assert mine.read_text() == REEL
    assert generate(mine, "--force").exit_code == EXIT_OK and mine.read_text() != REEL


def test_fewer_numbered_files_remove_the_stale_ones_musicrnn_wrote(tmp_path):
    out = tmp_path / "song.mid"
    assert generate(out, "--num", "3").exit_code == EXIT_OK
    assert {p.name for p in tmp_path.iterdir()} == {"song-1.mid", "song-2.mid", "song-3.mid", "song.abc", MANIFEST}
    edited = tmp_path / "song-2.mid"
    edited.write_bytes(edited.read_bytes() + b"\0")  # changed since: the user's now

    result = generate(out, "--num", "1")
    assert result.exit_code == EXIT_OK, result.output
    assert {p.name for p in tmp_path.iterdir()} == {"song.mid", "song-2.mid", "song.abc", MANIFEST}
    text = " ".join(result.output.split())
    assert f"removed {tmp_path / 'song-1.mid'}, {tmp_path / 'song-3.mid'}" in text
    assert f"left {edited}" in text and "changed since" in text

    # numbered files musicrnn did not write for this --out are the user's
    (tmp_path / "other-1.mid").write_bytes(b"MThd")
    one_line_error(generate(tmp_path / "other.mid", "--num", "2"), "other-1.mid", "--force")


def test_an_input_is_never_an_output_even_with_force(tmp_path):
    src = tmp_path / "song.mid"
    assert run("decode", write(tmp_path / "t.abc", REEL), "--out", src).exit_code == EXIT_OK
    before = src.read_bytes()
    one_line_error(
        run("generate", "--seed-midi", src, "--seed-bars", "1", "--bars", "1", "--out", src, "--force"),
        f"{src}: is also an input",
    )
    one_line_error(run("render", src, "--out", src, "--force"), "is also an input")
    assert src.read_bytes() == before


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---- encode, decode, render


def test_encode_refuses_its_input_and_a_file_it_did_not_write(tmp_path):
    tune = write(tmp_path / "t.abc", REEL)
    for out in (tune, tmp_path / "hard.abc"):
        if out.name == "hard.abc":
            os.link(tune, out)  # the same file under another name
        one_line_error(run("encode", tune, "--out", out, "--force"), f"{out}: is also an input")
        assert tune.read_text() == REEL

    notes = write(tmp_path / "notes.txt", "my notes\n")
    one_line_error(
        run("encode", tune, "--out", notes, "--no-tokens"),
        f"{notes}: already exists and musicrnn did not write it",
        "--force",
    )
    assert notes.read_text() == "my notes\n"
    result = run("encode", tune, "--out", notes, "--no-tokens", "--force")
    assert result.exit_code == EXIT_OK and "(--force)" in result.output and notes.read_text().startswith("X:1")
    result = run("encode", write(tmp_path / "j.abc", JIG), "--out", notes, "--no-tokens")  # ours now
    assert result.exit_code == EXIT_OK and "written by musicrnn before" in result.output

    # a folder given as input that holds the output
    folder = tmp_path / "tunes"
    folder.mkdir()
    write(folder / "a.abc", REEL)
    assert run("encode", folder, "--out", folder / "all.abc").exit_code == EXIT_OK
    one_line_error(run("encode", folder, "--out", folder / "all.abc"), "all.abc: is also an input")


def test_encode_keeps_a_token_folder_it_did_not_write(tmp_path):
    tune = write(tmp_path / "t.abc", REEL)
    (tmp_path / "s.tokens").mkdir()
    (tmp_path / "s.tokens" / "train.bin").write_bytes(b"mine")
    one_line_error(run("encode", tune, "--out", tmp_path / "s.txt"), "s.tokens", "--force", "--no-tokens")
    assert not (tmp_path / "s.txt").exists() and (tmp_path / "s.tokens" / "train.bin").read_bytes() == b"mine"
    assert run("encode", tune, "--out", tmp_path / "s.txt", "--no-tokens").exit_code == EXIT_OK
    assert run("encode", tune, "--out", tmp_path / "s.txt", "--force").exit_code == EXIT_OK
    assert (tmp_path / "s.tokens" / "meta.json").is_file()
    assert run("encode", tune, "--out", tmp_path / "s.txt").exit_code == EXIT_OK  # musicrnn's tokens now


def test_decode_and_render_ask_before_replacing(tmp_path):
    tune = write(tmp_path / "t.abc", REEL)
    one_line_error(run("decode", tune, "--out", tune), "is also an input")
    user = tmp_path / "user.mid"
    user.write_bytes(b"mine")
    one_line_error(run("decode", tune, "--out", user), f"{user}: already exists", "--force")
    one_line_error(run("render", tune, "--out", user), f"{user}: already exists", "--force")
    assert user.read_bytes() == b"mine"
    assert run("decode", tune, "--out", user, "--force").exit_code == EXIT_OK and user.read_bytes() != b"mine"
    assert run("render", tune, "--out", user).exit_code == EXIT_OK  # musicrnn wrote it now


# ---- kill -9 during encode


def test_a_stale_temporary_file_is_removed_by_the_next_write_of_the_same_file(tmp_path):
    stale = write(tmp_path / ".s.txt.ab12cd34.tmp", "half a stream")
    live = write(tmp_path / ".s.txt.zz99yy88.tmp", "another writer's")
    other = write(tmp_path / ".other.txt.ab12cd34.tmp", "not this output's")
    with open(live) as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a writer still at work
        result = run("encode", write(tmp_path / "t.abc", REEL), "--out", tmp_path / "s.txt", "--no-tokens")
    assert result.exit_code == EXIT_OK, result.output
    assert not stale.exists() and live.exists() and other.exists()


def many_tunes(tmp_path: Path) -> Path:
    """A folder of 2,500 small distinct tunes: an encode that runs long enough to interrupt."""
    folder = tmp_path / "tunes"
    folder.mkdir()
    for i in range(2500):
        write(folder / f"t{i:04d}.abc", REEL.replace("dfed", "dfe" + "abcdefg"[i % 7]))
    return folder


def test_kill_9_during_encode_is_quiet_and_the_next_run_cleans_up(tmp_path):
    folder = many_tunes(tmp_path)
    out = tmp_path / "out" / "s.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "musicrnn", "encode", str(folder), "--out", str(out), "--jobs", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not (out.parent.is_dir() and hidden_tmp(out.parent)) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the workers at work
    proc.send_signal(signal.SIGKILL)
    # the workers end with their parent: stderr (which they share) closes soon, with nothing in it
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the encode finished before the kill; give it more files"
    assert err.decode() == ""
    assert hidden_tmp(out.parent) and not out.exists()

    result = run("encode", write(tmp_path / "t.abc", REEL), "--out", out, "--no-tokens")
    assert result.exit_code == EXIT_OK, result.output
    assert hidden_tmp(out.parent) == []


def ctrl_c_as_in_a_terminal() -> None:
    """In the child before it starts: Ctrl-C does what it does in a terminal.  A test run
    started in the background by a shell without job control inherits SIGINT ignored (as
    `cmd &` does), and a command that ignores it rightly runs on."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_encode_exits_130_with_one_line_and_leaves_nothing(tmp_path):
    folder = many_tunes(tmp_path)
    out = tmp_path / "out" / "s.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "musicrnn", "encode", str(folder), "--out", str(out), "--jobs", "2"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=ctrl_c_as_in_a_terminal,
    )
    deadline = time.monotonic() + 120
    while not (out.parent.is_dir() and hidden_tmp(out.parent)) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group: parent and workers
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, err.decode()[-2000:]
    assert err.decode().strip() == "interrupted"
    assert list(out.parent.iterdir()) == []


# ---- a full disk


def _disk_full_at(monkeypatch, name_part: str) -> None:
    real = atomic._fsync_file

    def fsync(path):
        if name_part in os.path.basename(path) or name_part in path:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path)

    monkeypatch.setattr(atomic, "_fsync_file", fsync)


def test_a_full_disk_names_the_file_and_what_was_replaced(tmp_path, monkeypatch):
    tunes = write(tmp_path / "two.abc", REEL + "\n" + JIG)
    _disk_full_at(monkeypatch, ".t-2.mid.")
    out = one_line_error(
        run("decode", tunes, "--out", tmp_path / "t.mid"),
        f"{tmp_path / 't-2.mid'}: could not write: No space left on device",
        f"already written: {tmp_path / 't-1.mid'}",
        f"left as they were: {tmp_path / 't-2.mid'}",
    )
    assert "Errno" not in out
    assert (tmp_path / "t-1.mid").exists() and not (tmp_path / "t-2.mid").exists() and hidden_tmp(tmp_path) == []


def test_a_full_disk_during_encode_says_the_stream_was_replaced_and_its_tokens_not(tmp_path, monkeypatch):
    tune = write(tmp_path / "t.abc", REEL)
    stream = tmp_path / "s.txt"
    assert run("encode", tune, "--out", stream, "--no-tokens").exit_code == EXIT_OK
    old = stream.read_text()

    _disk_full_at(monkeypatch, ".s.txt.")  # the stream itself: nothing is replaced
    one_line_error(
        run("encode", write(tmp_path / "j.abc", JIG), "--out", stream),
        f"{stream}: could not write: No space left on device",
        "nothing was replaced",
    )
    assert stream.read_text() == old

    monkeypatch.undo()
    _disk_full_at(monkeypatch, "s.tokens")  # the stream is written, then its token files fail
    result = run("encode", tmp_path / "j.abc", "--out", stream)
    assert result.exit_code == EXIT_USER_ERROR
    wrote, error = result.output.strip().splitlines()
    assert wrote.startswith(f"wrote {stream}")
    for needle in ("s.tokens", "No space left on device", f"already written: {stream}", "left as they were: "):
        assert needle in error, error
    assert stream.read_text() != old
    monkeypatch.undo()  # the stream is musicrnn's all the same: the next run may replace it
    assert run("encode", tmp_path / "j.abc", "--out", stream).exit_code == EXIT_OK


# ---- train


def _train(corpus: Path, out: Path, *extra) -> object:
    return run("train", corpus, "--out", out, *TINY, *extra)


def test_train_force_checks_the_new_corpus_before_clearing_the_old_run(corpus, tmp_path):
    out = tmp_path / "m"
    assert _train(corpus, out, "--max-steps", "10", "--eval-every", "10").exit_code == EXIT_OK
    kept = {name: (out / name).read_bytes() for name in (checkpoint.TRAIN_STATE, "train_log.jsonl")}
    one_tune = write(tmp_path / "one.txt", "X:1\nK:C\nabc|\n")
    result = _train(one_tune, out, "--force", "--max-steps", "10")
    assert result.exit_code == EXIT_USER_ERROR and "one.txt" in result.output, result.output
    result = _train(corpus, out, "--force", "--max-steps", "10", "--batch-size", "0")
    assert result.exit_code == EXIT_USER_ERROR and "batch_size" in result.output, result.output
    for name, data in kept.items():
        assert (out / name).read_bytes() == data, f"{name} was cleared before the new run was checked"


def test_two_runs_never_share_a_folder(corpus, tmp_path):
    out = tmp_path / "m"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom musicrnn.overwrite import run_lock\n"
            "with run_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n",
            str(out),
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = _train(corpus, out, "--max-steps", "10")
        assert result.exit_code == EXIT_USER_ERROR and "Traceback" not in result.output
        error = result.output.strip().splitlines()[-1]  # under the progress bar's line
        assert error.startswith(f"error: {out}: another musicrnn train") and f"(pid {holder.pid}," in error, error
        assert sorted(p.name for p in out.iterdir()) == [RUN_LOCK]
    finally:
        holder.kill()
        holder.wait()
    result = _train(corpus, out, "--max-steps", "10", "--eval-every", "10")
    assert result.exit_code == EXIT_OK, result.output
    assert (out / RUN_LOCK).read_text() == ""  # released: no pid in it


@pytest.mark.parametrize("extra", [["--eval-every", "5"], ["--max-minutes", "0.00001"]])
def test_train_reports_an_evaluation_before_its_first_loss(corpus, tmp_path, extra):
    result = _train(corpus, tmp_path / "m", "--max-steps", "10", *extra)
    assert result.exit_code == EXIT_OK, result.output
    assert "internal error" not in result.output and "best_val_bpc=" in result.output


def test_ctrl_c_in_train_saves_the_run_and_exits_130(corpus, tmp_path, monkeypatch):
    real = train_mod._piece_loss
    calls = {"n": 0}

    def loss(*args, **kwargs):  # Ctrl-C during the third step, long before the first evaluation
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "_piece_loss", loss)
    out = tmp_path / "m"
    result = _train(corpus, out, "--max-steps", "50", "--eval-every", "20")
    assert result.exit_code == EXIT_INTERRUPTED, result.output
    assert "internal error" not in result.output and "interrupted: steps=2" in result.output
    assert checkpoint.read_train_state_info(out)["step"] == 2
    monkeypatch.undo()
    result = _train(corpus, out, "--max-steps", "4", "--eval-every", "20", "--resume")
    assert result.exit_code == EXIT_OK and "done: steps=4" in result.output, result.output

    # Ctrl-C while the corpus is prepared: nothing to save yet, nothing cleared, still 130
    def prepare(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_mod, "prepare", prepare)
    log = (out / "train_log.jsonl").read_bytes()
    result = _train(corpus, out, "--max-steps", "4", "--force")
    assert result.exit_code == EXIT_INTERRUPTED and (out / "train_log.jsonl").read_bytes() == log


def test_the_record_of_written_files_is_small_json(tmp_path):
    assert generate(tmp_path / "a.mid").exit_code == EXIT_OK
    record = json.loads((tmp_path / MANIFEST).read_text())
    assert set(record["outputs"]["a.mid"]) == {"a.mid", "a.abc"}
    assert set(record["outputs"]["a.mid"]["a.mid"]) == {"size", "mtime_ns", "digest"}
