"""The musicrnn command end to end, on a tiny model trained here (seconds, CPU)."""

from __future__ import annotations

import re

import mido
import numpy as np
import pretty_midi
import pytest
from typer.testing import CliRunner

from musicrnn.cli import EXIT_PARTIAL, EXIT_USER_ERROR, app
from musicrnn.data import prepare

TUNES = [
    "X:1\nM:6/8\nL:1/8\nK:G\n|:GAG GAB|ABA ABd|edd gdd|edB dBA:|\n",
    "X:1\nM:4/4\nL:1/8\nK:D\n|:A2FA dAFA|B2GB dBGB|A2FA dfed|cABc d2d2:|\n",
    "X:1\nM:3/4\nL:1/4\nK:Ador\nA B c|d2 e|c B A|A3|]\n",
    "X:1\nM:2/4\nL:1/16\nK:Em\nE2GB e2B2|d2BA G2E2|]\n",
]

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    corpus = root / "tiny.txt"
    corpus.write_text("\n".join(TUNES * 12))
    out = root / "model"
    result = run(
        "train",
        str(corpus),
        "--out",
        str(out),
        "--hidden",
        "48",
        "--layers",
        "1",
        "--embed",
        "16",
        "--batch-size",
        "4",
        "--seq-len",
        "32",
        "--max-steps",
        "60",
        "--eval-every",
        "30",
        "--lr",
        "0.01",
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"chars/s=\d", result.output)
    return out


def test_train_never_replaces_a_model_without_force(tiny_model):
    result = run("train", str(tiny_model.parent / "tiny.txt"), "--out", str(tiny_model), "--max-steps", "1")
    assert result.exit_code == EXIT_USER_ERROR
    assert "Traceback" not in result.output


def test_generate_many_tunes_into_one_abc_file(tiny_model, tmp_path):
    out = tmp_path / "batch.abc"
    result = run(
        "generate",
        "--model",
        str(tiny_model),
        "--seed",
        "X:1",
        "--num",
        "3",
        "--length",
        "300",
        "--random-seed",
        "1",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert re.findall(r"^X:(\d+)$", text, flags=re.M) == ["1", "2", "3"]


def test_generate_midi_opens_in_mido_and_pretty_midi(tiny_model, tmp_path):
    out = tmp_path / "song.mid"
    result = run(
        "generate", "--model", str(tiny_model), "--num", "2", "--length", "300", "--random-seed", "2", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    for name in ("song-1.mid", "song-2.mid"):
        mido.MidiFile(tmp_path / name)
        pm = pretty_midi.PrettyMIDI(str(tmp_path / name))
        assert pm.get_end_time() >= 0
    assert (tmp_path / "song.abc").read_text().startswith("X:1\n")


def test_generate_to_stdout_is_repeatable(tiny_model):
    a = run("generate", "--model", str(tiny_model), "--length", "200", "--random-seed", "7", "--out", "-")
    b = run("generate", "--model", str(tiny_model), "--length", "200", "--random-seed", "7", "--out", "-")
    assert a.exit_code == 0 and a.stdout == b.stdout and a.stdout.startswith("X:1")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--seed", "X:1€"], "€"),
        (["--temperature", "0"], "temperature"),
        (["--num", "0"], "--num"),
        (["--model", "no/such/model"], "no/such/model"),
    ],
)
def test_generate_bad_options_are_one_line_errors(tiny_model, args, expected):
    if "--model" not in args:
        args = ["--model", str(tiny_model), *args]
    result = run("generate", *args, "--out", "-")
    assert result.exit_code == EXIT_USER_ERROR
    assert expected in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_decode_abc_file_to_midi(tmp_path):
    src = tmp_path / "tune.abc"
    src.write_text("%abc\nX:7\nT:Scale\nM:4/4\nL:1/4\nQ:1/4=60\nK:D\nD E F G|A B c d|]\n")
    result = run("decode", str(src), "--out", str(tmp_path / "tune.mid"))
    assert result.exit_code == 0, result.output
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "tune.mid"))
    notes = sorted((n.start, n.pitch) for i in pm.instruments for n in i.notes)
    # D major from D4: F and c are sharp; one second per quarter note at Q:1/4=60.
    assert [p for _, p in notes] == [62, 64, 66, 67, 69, 71, 73, 74]
    assert [round(s, 3) for s, _ in notes] == [float(i) for i in range(8)]


def test_encode_folder_skips_broken_files_and_keeps_the_rest(tmp_path):
    folder = tmp_path / "tunes"
    folder.mkdir()
    (folder / "good.abc").write_text(TUNES[0].replace("X:1", "X:3\nT:Kesh\n% a comment"))
    (folder / "also_good.abc").write_text(TUNES[1])
    (folder / "empty.abc").write_text("")
    (folder / "binary.abc").write_bytes(b"\x00\x01\x02garbage")
    out = tmp_path / "stream.txt"
    result = run("encode", str(folder), "--out", str(out))
    assert result.exit_code == EXIT_PARTIAL, result.output
    assert "empty.abc" in result.output and "binary.abc" in result.output
    text = out.read_text()
    assert text.count("X:1\n") == 2
    assert "% a comment" not in text and "T:Kesh" not in text


def test_encode_writes_the_same_music_once(tmp_path):
    folder = tmp_path / "dups"
    folder.mkdir()
    (folder / "a.abc").write_text("X:1\nT:One name\nQ:1/4=100\n" + TUNES[0][4:])
    (folder / "b.abc").write_text("X:9\nT:Another name\nQ:1/4=140\n" + TUNES[0][4:] + "\nX:2\n" + TUNES[1][4:])
    out = tmp_path / "s.txt"
    result = run("encode", str(folder), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text().count("X:1\n") == 2
    assert "1 duplicates dropped" in result.output


def test_encode_in_parallel_writes_the_same_stream_and_its_token_files(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(10):  # 4 tunes, the same 4 again under other titles, 2 broken files
        text = TUNES[i % 4].replace("X:1", f"X:{i}\nT:Tune {i}") if i < 8 else "no tune here"
        (folder / f"t{i:02}.abc").write_text(text)
    outs = []
    for jobs in ("1", "3"):
        out = tmp_path / f"s{jobs}.txt"
        result = run("encode", str(folder), "--out", str(out), "--jobs", jobs)
        assert result.exit_code == EXIT_PARTIAL, result.output
        assert "t08.abc" in result.output and "t09.abc" in result.output and "4 duplicates" in result.output
        outs.append(out.read_text())
    assert outs[0] == outs[1] and outs[0].count("X:1\n") == 4
    data = prepare(tmp_path / "s3.txt")
    assert (tmp_path / "s3.tokens" / "meta.json").is_file() and data.meta["pieces"] == 4
    tokens = data.vocab.decode(np.asarray(data.train)) + data.vocab.decode(np.asarray(data.val))
    assert sorted(tokens.split("\n\n")[:-1]) == sorted(p.rstrip("\n") for p in outs[0].split("\n\n"))


def test_a_failed_encode_keeps_the_old_stream(tmp_path):
    (tmp_path / "bad.abc").write_text("nothing playable")
    out = tmp_path / "s.txt"
    out.write_text("old\n")
    result = run("encode", str(tmp_path / "bad.abc"), "--out", str(out))
    assert result.exit_code == EXIT_USER_ERROR
    assert out.read_text() == "old\n"


def test_generate_without_seed_starts_as_the_scheme_starts(tiny_model):
    result = run("generate", "--model", str(tiny_model), "--length", "100", "--random-seed", "3", "--out", "-")
    assert result.exit_code == 0 and result.stdout.startswith("X:1")


def test_decode_tab_with_a_time_step(tmp_path):
    src = tmp_path / "riff.tab"
    src.write_text("Tuning: Drop D\ne|-------|\nB|-------|\nG|-------|\nD|-------|\nA|-------|\nD|0-3-5--|\n")
    for step, expected in (("0.25", [0.0, 0.5, 1.0]), ("0.5", [0.0, 1.0, 2.0])):
        out = tmp_path / f"riff{step}.mid"
        result = run("decode", str(src), "--scheme", "columns", "--step", step, "--out", str(out))
        assert result.exit_code == 0, result.output
        pm = pretty_midi.PrettyMIDI(str(out))
        notes = sorted(pm.instruments[0].notes, key=lambda n: n.start)
        assert [n.pitch for n in notes] == [38, 41, 43]
        assert [round(pm.time_to_tick(n.start) / pm.resolution, 3) for n in notes] == expected
    result = run("decode", str(src), "--scheme", "abc", "--step", "0.5", "--out", str(tmp_path / "x.mid"))
    assert result.exit_code == EXIT_USER_ERROR and "this is columns text, not abc" in result.output  # a tab, sniffed
    tune = tmp_path / "tune.abc"
    tune.write_text("X:1\nM:4/4\nL:1/8\nK:G\nGABc d2d2|\n")
    result = run("decode", str(tune), "--step", "0.5", "--out", str(tmp_path / "x.mid"))
    assert result.exit_code == EXIT_USER_ERROR and "--step" in result.output
