"""encoders.abc.corpus: the folk files inside music21's wheel and the stream built from them."""

from __future__ import annotations

import re

import pytest

from encoders import split_stream
from encoders.abc.corpus import build_folk, folk_files, music_key


def test_folk_files_hold_more_than_10000_tunes():
    files = folk_files()
    if not files:
        pytest.skip("music21 not installed")
    names = {p.parent.name for p in files}
    assert {"essenFolksong", "oneills1850", "ryansMammoth", "miscFolk"} <= names
    tunes = 0
    for p in files:
        tunes += len(re.findall(rb"^X:", p.read_bytes(), flags=re.M))
    assert tunes > 10_000


def test_build_folk_on_a_few_files(tmp_path):
    files = [p for p in folk_files() if p.parent.name == "essenFolksong"][:2]
    if not files:
        pytest.skip("music21 not installed")
    dup = tmp_path / "dup.abc"
    dup.write_text(
        "X:1\nT:a\nM:2/4\nL:1/8\nK:G\nGABc|d4|]\n\nX:2\nT:b\nM:2/4\nL:1/8\nK:G\nGABc|d4|]\n\n"
        "X:3\nM:2/4\nL:1/8\nK:G\nGABc d|d4|]\n"
    )
    out = tmp_path / "folk.txt"
    stats = build_folk(out, files=files + [dup])
    pieces = split_stream(out.read_text(encoding="utf-8"))
    assert stats["written"] == len(pieces) > 50
    assert stats["files"] == 3 and stats["duplicates"] >= 1
    assert stats["tunes"] == stats["kept"] + stats["duplicates"] + sum(stats["skipped"].values())
    assert stats["skipped"].get("irregular bars", 0) >= 1
    assert stats["chars"] == len(out.read_text(encoding="utf-8"))
    assert all(p.startswith("X:1\n") for p in pieces)
    assert len({music_key(p) for p in pieces}) == len(pieces)
    assert not list(tmp_path.glob(".folk.txt.*"))  # no temp file left behind

    stats_c = build_folk(out, files=files, transpose="C")
    assert all(
        re.search(r"^K:(C|Cm|Cdor|Cmix|Cphr|Clyd|Cloc|none|C [^\n]*)$", p, flags=re.M)
        for p in split_stream(out.read_text(encoding="utf-8"))
    )
    assert stats_c["kept"] == stats_c["written"]
