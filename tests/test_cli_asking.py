"""The command line of issue 17: generate in music's terms with the bundled models, the files it
wrote one a line, --seed-file, --version, the help texts, train --init-from and --sample-every."""

from __future__ import annotations

import re

from typer.testing import CliRunner

import musicrnn
from musicrnn.cli import EXIT_USER_ERROR, app

runner = CliRunner()


def test_a_jig_in_a_dorian_of_eight_bars(tmp_path):
    pieces = musicrnn.generate(meter="6/8", key="A dorian", bars=8, num=3, random_seed=3, title="Mo Phort")
    for p in pieces:
        head, body = p.text.split("K:Ador\n", 1)
        assert head == "X:1\nT:Mo Phort\nM:6/8\nL:1/8\n" or head.startswith("X:1\nT:Mo Phort\nM:6/8\nL:1/8\n")
        bars = re.findall(r"[A-Ga-gz][^|:]*?(?:\||:)", re.sub(r'"[^"]*"', "", body))
        assert len(bars) == 8, body
        assert p.piece.title == "Mo Phort" and p.piece.meter == (6, 8)


def test_a_motif_comes_right_after_the_header(tmp_path):
    (p,) = musicrnn.generate(meter="4/4", key="D", seed="FAAB A2FA|", bars=4, random_seed=1)
    assert p.text.startswith("X:1\nM:4/4\nL:1/8\nK:D\nFAAB A2FA|")


def test_generate_prints_each_file_it_wrote_on_its_own_line(tmp_path):
    seed = tmp_path / "seed.abc"
    seed.write_text("X:1\nM:3/4\nL:1/8\nK:G\nGAB c2d|\n", encoding="utf-8")
    out = tmp_path / "waltz.mid"
    result = runner.invoke(
        app,
        ["generate", "--seed-file", str(seed), "--num", "2", "--bars", "6", "--random-seed", "1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == [str(tmp_path / "waltz-1.mid"), str(tmp_path / "waltz-2.mid"), str(tmp_path / "waltz.abc")]
    assert (tmp_path / "waltz.abc").read_text().count("GAB c2d|") == 2


def test_what_the_model_cannot_honour_is_one_line(tmp_path):
    result = runner.invoke(app, ["generate", "--meter", "11/8"])
    assert result.exit_code == EXIT_USER_ERROR
    assert (
        result.output.count("\n") == 1 and "never saw that meter (it knows" in result.output and "6/8" in result.output
    )
    result = runner.invoke(app, ["generate", "--tuning", "drop D"])
    assert result.exit_code == EXIT_USER_ERROR and "--tuning: abc pieces have no place for it" in result.output
    result = runner.invoke(app, ["generate", "--seed", "a", "--seed-file", "x"])
    assert result.exit_code == EXIT_USER_ERROR and "not both" in result.output
    result = runner.invoke(app, ["generate", "--bars", "8", "--free"])
    assert result.exit_code == EXIT_USER_ERROR and "leave out --free" in result.output


def test_a_tab_in_drop_d_of_four_bars():
    (p,) = musicrnn.generate(model="tabs", tuning="drop D", bars=4, random_seed=2)
    assert p.text.startswith("%rows D2 A2 D3 G3 B3 E4") or p.text.startswith("%columns D2 A2 D3 G3 B3 E4")


def test_a_capo_the_tabs_model_never_saw_is_put_on_the_tab_it_writes():
    # The bundled tabs corpus has no capo: the model writes the shapes, the capo goes on after,
    # so every note sounds two semitones above the same tab without it.
    (with_capo,) = musicrnn.generate(model="tabs", tuning="drop D", capo=2, bars=4, random_seed=2)
    (without,) = musicrnn.generate(model="tabs", tuning="drop D", bars=4, random_seed=2)
    assert re.match(r"%(rows|columns) D2 A2 D3 G3 B3 E4 capo 2\n", with_capo.text)
    assert with_capo.text.split("\n", 1)[1] == without.text.split("\n", 1)[1]
    up = sorted((n.onset, n.pitch) for n in with_capo.piece.notes)
    down = sorted((n.onset, n.pitch) for n in without.piece.notes)
    assert up and [(t, p - 2) for t, p in up] == down
    from encoders.tab import COLUMNS

    assert COLUMNS.apply_later("%columns E2 A2 D3 G3 B3 E4 tempo 90\n0-----\n", {"capo": 3}) == (
        "%columns E2 A2 D3 G3 B3 E4 capo 3 tempo 90\n0-----\n"
    )


def test_version_and_help_texts():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"musicrnn {musicrnn.__version__}"
    main = runner.invoke(app, ["--help"]).output
    assert "to come" not in main
    decode = " ".join(runner.invoke(app, ["decode", "--help"], terminal_width=200).output.split())
    from musicrnn.outputs import piece_suffixes

    # every file decode writes: music files, and the tab schemes' own .tab and .gp5 (were missing)
    for suffix in {".mid", ".wav", ".flac", ".ogg", ".svg", ".musicxml", ".png", ".abc", *piece_suffixes()} - {
        ".xml",  # MusicXML's other ending
        ".midi",
    }:
        assert suffix in decode, suffix


def test_train_init_from_with_samples(corpus, tmp_path):
    base = tmp_path / "base"
    small = ["--hidden", "32", "--layers", "1", "--embed", "8", "--batch-size", "8", "--seq-len", "32"]
    result = runner.invoke(app, ["train", str(corpus), "--out", str(base), *small, "--max-steps", "10"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        ["train", str(corpus), "--out", str(tmp_path / "mine"), "--init-from", str(base), "--max-steps", "10"]
        + ["--batch-size", "8", "--sample-every", "5"],
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("sample at step") == 2


def test_the_built_in_corpus_sums_up_its_own_filtering(tmp_path, monkeypatch):
    from encoders.abc import corpus

    real = list(corpus.folk_files())[:3]
    broken = tmp_path / "broken.abc"
    broken.write_text("X:1\nT:no music at all\n", encoding="utf-8")
    monkeypatch.setattr(corpus, "folk_files", lambda: [*real, broken])
    out = tmp_path / "folk.txt"
    result = runner.invoke(app, ["encode", "--corpus", "folk", "--out", str(out), "--no-tokens"])
    assert result.exit_code == 0, result.output
    summary = [line for line in result.output.splitlines() if "own filtering" in line]
    assert len(summary) == 1 and "left out 1 files" in summary[0] and "no playable piece found" in summary[0]
    assert "skipped file" not in result.output
    verbose = runner.invoke(app, ["encode", "--corpus", "folk", "--out", str(out), "--no-tokens", "-v"])
    assert verbose.exit_code == 0 and "skipped file" in verbose.output and "broken.abc" in verbose.output
    mine = runner.invoke(app, ["encode", str(broken), *map(str, real), "--out", str(tmp_path / "m.txt")])
    assert mine.exit_code == 3  # the user's own unreadable file


def test_reasons_are_counted_without_the_tunes_they_name():
    from encoders import Problem
    from musicrnn.encode import reasons

    problems = [
        Problem("tune X:12 ('A: b'): irregular bars: bar 5 has 7 units"),
        Problem("tune X:4 ('x'): irregular bars (abc2midi)"),
        Problem("tune X:3: no notes"),
    ]
    assert reasons(problems) == [("irregular bars", 2), ("no notes", 1)]
