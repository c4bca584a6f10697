"""Bad input at the command line: one clear line and a documented exit code, never a traceback.

Exit codes (musicrnn --help and the README list them): 0 done, 1 internal error,
2 a problem with the input or options, 3 encode skipped some files, 130 Ctrl-C.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import musicrnn.cli as cli
from musicrnn.checkpoint import BUNDLED_DIR
from musicrnn.cli import EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, EXIT_USER_ERROR, app

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()

REEL = "X:1\nM:4/4\nL:1/8\nK:D\n|:A2FA dAFA|B2GB dBGB|A2FA dfed|cABc d2d2:|\n"
WALTZ = "X:1\nT:Café\nM:3/4\nL:1/4\nK:Ador\nA B c|d2 e|c B A|A3|]\n"
POLKA = "X:1\nM:2/4\nL:1/16\nK:Em\nE2GB e2B2|d2BA G2E2|]\n"
JIG = "X:1\nM:6/8\nL:1/8\nK:G\n|:GAG GAB|ABA ABd|edd gdd|edB dBA:|\n"
HORNPIPE = "X:1\nM:4/4\nL:1/8\nK:G\n|:GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA:|\n"


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def one_line_error(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, result.output
    out = result.output.strip()
    assert "Traceback" not in out and len(out.splitlines()) == 1, out
    for needle in needles:
        assert needle in out, out
    return out


# ---- encode: a folder of broken, binary, empty, non-UTF-8 and unreadable files


def test_encode_a_folder_of_broken_files_encodes_the_rest_and_lists_the_skipped(tmp_path):
    folder = tmp_path / "tunes"
    folder.mkdir()
    (folder / "good.abc").write_text(REEL)
    (folder / "latin1.abc").write_bytes(WALTZ.encode("latin-1"))
    (folder / "utf16.abc").write_bytes(POLKA.encode("utf-16"))
    (folder / "bom.abc").write_bytes(JIG.encode("utf-8-sig"))
    (folder / "empty.abc").write_bytes(b"")
    (folder / "blank.abc").write_bytes(b" \n\t\n")
    (folder / "binary.abc").write_bytes(bytes(range(256)) * 4)
    (folder / "words.abc").write_text("not a tune, just words\n")
    (folder / "broken.abc").write_text("X:1\nK:Hmajor\n" + "?" * 50 + "\n")
    os.mkfifo(folder / "fifo.abc")  # reading it would block forever
    (folder / "dangling.abc").symlink_to(folder / "nowhere.abc")
    (folder / "loop.abc").symlink_to(folder / "loop.abc")
    (folder / "x.abc").mkdir()  # a folder named like a tune file
    (folder / "x.abc" / "inner.abc").write_text(HORNPIPE)
    (folder / "notes.txt").write_text("ignored: no codec reads .txt in a folder\n")
    out = tmp_path / "stream.txt"

    # a real process: a FIFO read by mistake would hang it, and the timeout would say so
    proc = subprocess.run(
        [sys.executable, "-m", "musicrnn", "encode", str(folder), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"},
    )
    assert proc.returncode == EXIT_PARTIAL, proc.stderr
    assert "Traceback" not in proc.stderr
    skipped = {Path(m.group(1)).name: m.group(2) for m in re.finditer(r"skipped file (\S+?): (.*)", proc.stderr)}
    assert skipped.keys() == {
        "empty.abc",
        "blank.abc",
        "binary.abc",
        "words.abc",
        "broken.abc",
        "fifo.abc",
        "dangling.abc",
        "loop.abc",
    }, proc.stderr
    assert skipped["empty.abc"] == "empty file" and skipped["blank.abc"] == "empty file"
    assert "binary" in skipped["binary.abc"]
    assert "FIFO" in skipped["fifo.abc"]
    assert "symbolic link" in skipped["dangling.abc"] and "symbolic link" in skipped["loop.abc"]
    assert "5 pieces" in proc.stdout
    text = out.read_text(encoding="utf-8")
    for tune in (REEL, POLKA, JIG, HORNPIPE):
        assert tune.split("K:")[1] in text
    assert "A B c|d2 e|c B A|A3|]" in text  # the Latin-1 file, read as Latin-1


def test_encode_a_fifo_or_missing_path_given_by_name_is_reported(tmp_path):
    os.mkfifo(tmp_path / "pipe.abc")
    (tmp_path / "ok.abc").write_text(REEL)
    result = run(
        "encode",
        str(tmp_path / "pipe.abc"),
        str(tmp_path / "gone.abc"),
        str(tmp_path / "ok.abc"),
        "--out",
        str(tmp_path / "s.txt"),
    )
    assert result.exit_code == EXIT_PARTIAL
    assert re.search(r"pipe\.abc: not a regular file", result.output)
    assert re.search(r"gone\.abc: no such file or folder", result.output)


def test_encode_with_nothing_readable_is_an_error(tmp_path):
    (tmp_path / "empty.abc").write_bytes(b"")
    result = run("encode", str(tmp_path), "--out", str(tmp_path / "s.txt"))
    assert result.exit_code == EXIT_USER_ERROR
    assert "nothing to write" in result.output and not (tmp_path / "s.txt").exists()


# ---- generate: seeds, sizes, temperatures, models


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--model", "tabs", "--seed", "X:1"], ["'X'", "columns", "'%columns '"]),  # an abc seed to the tabs model
        (["--seed", "X:1\nK:G\n\u00e9\u20ac"], ["vocabulary", "'€'"]),
        (["--length", "0"], ["--length"]),
        (["--length", "2000000"], ["--length"]),
        (["--num", "0"], ["--num"]),
        (["--num", "5000"], ["--num"]),
        (["--num", "4000", "--length", "900000"], ["--num", "characters"]),
        (["--temperature", "0"], ["--temperature"]),
        (["--temperature", "-1"], ["--temperature"]),
        (["--temperature", "nan"], ["--temperature", "nan"]),
        (["--temperature", "inf"], ["--temperature", "inf"]),
        (["--temperature", "1e-30"], ["--temperature"]),
        (["--top-k", "0"], ["--top-k"]),
        (["--model", "no/such/folder"], ["no/such/folder"]),
        (["--model", "nosuchname"], ["bundled models", "folk"]),
        (["--out", "song.xyz"], ["song.xyz", "unknown output type"]),
    ],
)
def test_generate_bad_input_is_one_line(args, needles, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("generate", "--length", "50", *args)
    one_line_error(result, EXIT_USER_ERROR, *needles)


def test_generate_with_an_empty_seed_starts_a_piece_from_scratch():
    for model, start in (("folk", "X:1\n"), ("tabs", "%columns ")):
        result = run("generate", "--model", model, "--seed", "", "--length", "200", "--random-seed", "1", "--out", "-")
        assert result.exit_code == EXIT_OK, result.output
        assert result.stdout.startswith(start), result.stdout[:80]


def _copy_model(tmp_path, name="folk") -> Path:
    dst = tmp_path / name
    shutil.copytree(os.path.join(BUNDLED_DIR, name), dst)
    return dst


def test_generate_with_a_model_of_an_unknown_scheme(tmp_path):
    model = _copy_model(tmp_path)
    meta = json.loads((model / "meta.json").read_text())
    meta["scheme"] = "kazoo"
    (model / "meta.json").write_text(json.dumps(meta))
    result = run("generate", "--model", str(model), "--length", "20")
    one_line_error(result, EXIT_USER_ERROR, "kazoo", str(model))


def test_generate_with_a_pickle_for_a_model(tmp_path):
    import torch

    torch.save({"x": torch.zeros(2)}, tmp_path / "model.pt")
    result = run("generate", "--model", str(tmp_path / "model.pt"), "--length", "20")
    one_line_error(result, EXIT_USER_ERROR, "pickle", "model.pt")


# ---- --scheme mismatches


def test_scheme_mismatch_is_one_line(tmp_path):
    tab = tmp_path / "riff.txt"
    tab.write_text("%columns E2 A2 D3 G3 B3 E4\n-----0 .1 | -----3 .1 |\n")
    tune = tmp_path / "tune.txt"
    tune.write_text(REEL)
    one_line_error(
        run("decode", str(tab), "--scheme", "abc", "--out", str(tmp_path / "x.mid")),
        EXIT_USER_ERROR,
        "columns",
        "--scheme",
    )
    one_line_error(
        run("train", str(tune), "--scheme", "columns", "--out", str(tmp_path / "m")),
        EXIT_USER_ERROR,
        "abc text",
        "tune.txt",
    )
    one_line_error(run("decode", str(tune), "--scheme", "kazoo", "--out", "-"), EXIT_USER_ERROR, "kazoo", "abc")
    one_line_error(
        run("evaluate", str(tab), "--model", "folk", "--samples", "1"), EXIT_USER_ERROR, "columns text", "abc scheme"
    )


# ---- the exit codes themselves


def test_a_bug_exits_1_and_ctrl_c_exits_130(tmp_path, monkeypatch):
    src = tmp_path / "tune.abc"
    src.write_text(REEL)

    def bug(*a, **k):
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(cli.encoders, "read_text", bug)
    one_line_error(run("decode", str(src), "--out", "-"), EXIT_BUG, "internal error (RuntimeError)")

    # a ValueError or KeyError escaping from inside is a bug too, not "your input" (exit 2)
    for exc in (ValueError("math domain error"), KeyError("voice")):

        def deep_bug(*a, exc=exc, **k):
            raise exc

        monkeypatch.setattr(cli.encoders, "read_text", deep_bug)
        one_line_error(run("decode", str(src), "--out", "-"), EXIT_BUG, f"internal error ({type(exc).__name__})")

    def ctrl_c(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.encoders, "read_text", ctrl_c)
    result = run("decode", str(src), "--out", "-")
    assert result.exit_code == EXIT_INTERRUPTED and "interrupted" in result.output


def test_every_exit_code_is_documented_in_the_help_and_the_readme():
    help_text = " ".join(run("--help").output.split())
    readme = (REPO / "README.md").read_text()
    for code in (EXIT_OK, EXIT_BUG, EXIT_USER_ERROR, EXIT_PARTIAL, EXIT_INTERRUPTED):
        assert re.search(rf"\b{code}\b", help_text.split("Exit codes:")[1]), code
        assert re.search(rf"^\| `{code}` \|", readme, flags=re.M), f"README lacks a row for exit code {code}"
