"""musicrnn studio's server (musicrnn.studio), through Starlette's test client: the guard (host
names, same-origin token, bounded bodies, one-line errors), generating with the bundled
models, Continue / Vary / Transpose, the pieces' files, the tunebook across a restart, and
property tests for what reads a request (the controls, the bars of a piece, the guard)."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import guitarpro
import mido
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

import encoders
from musicrnn.studio import compose
from musicrnn.studio.compose import StudioError
from musicrnn.studio.server import TOKEN_HEADER, Guard, Studio, make_app

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
REPO = Path(__file__).resolve().parent.parent


def client_for(folder: Path) -> tuple[Studio, TestClient]:
    studio = Studio(folder, port=PORT, log=lambda line: None)
    return studio, TestClient(make_app(studio), base_url=BASE)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio")
    studio, client = client_for(root / "studio")
    return root, studio, client


def post(served, path: str, body, **headers):
    _, studio, client = served
    headers = {TOKEN_HEADER: studio.token, "Content-Type": "application/json", **headers}
    return client.post(path, content=json.dumps(body).encode("ascii"), headers=headers)  # "\ud800" too


def lines(response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def generate(served, **body) -> list[dict]:
    answer = post(served, "/api/generate", {"model": "folk", **body})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    got = lines(answer)
    assert "error" not in got[-1], got[-1]
    return [line["card"] for line in got if "card" in line]


def one_line_error(answer, status: int, *words: str) -> str:
    assert answer.status_code == status, answer.text
    message = answer.json()["error"]
    assert "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message
    return message


# ---------------------------------------------------------------- the guard


def test_only_its_own_host_names_are_answered(served):
    _, studio, client = served
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"Host": f"localhost:{PORT}"}).status_code == 200
    for host in ("evil.example", f"evil.example:{PORT}", "127.0.0.1:1", "localhost", ""):
        one_line_error(client.get("/api/models", headers={"Host": host}), 421, "unknown host")


def test_the_page_carries_the_token_and_the_security_headers(served):
    _, studio, client = served
    page = client.get("/")
    assert f'<meta name="musicrnn-token" content="{studio.token}">' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert client.get("/static/studio.js").headers["content-type"].startswith("text/javascript")
    # nothing but the page's own files: no listing, no other package file, no way out
    for path in ("/static/", "/static/index.html", "/static/..%2f__init__.py", "/static/../server.py", "/.git/config"):
        assert client.get(path).status_code == 404, path


def test_a_state_changing_request_needs_the_token_from_its_own_origin(served):
    _, studio, client = served
    body = {"model": "folk"}
    one_line_error(client.post("/api/generate", json=body), 403, TOKEN_HEADER)
    one_line_error(client.post("/api/generate", json=body, headers={TOKEN_HEADER: "guess"}), 403, TOKEN_HEADER)
    for header, value in (
        ("Origin", "http://evil.example"),
        ("Origin", "null"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Referer", "http://evil.example/page"),
    ):
        one_line_error(post(served, "/api/keep", {"id": "0" * 16}, **{header: value}), 403, "cross-site")
    # a form from another site cannot send JSON with the header, and text/plain is refused anyway
    answer = client.post(
        "/api/keep", content=b'{"id": "x"}', headers={"Content-Type": "text/plain", TOKEN_HEADER: studio.token}
    )
    one_line_error(answer, 415, "application/json")
    # the same origin, with the token: answered
    same = post(served, "/api/keep", {"id": "0" * 16}, Origin=BASE, **{"Sec-Fetch-Site": "same-origin"})
    one_line_error(same, 404, "no such piece")


def test_bad_requests_are_one_line_in_the_page(served):
    _, studio, client = served
    cases = [
        ({"model": "folk", "meter": "6/8", "key": "D", "motif": "AB€c"}, "does not know", "'€'"),
        ({"model": "folk", "temperature": "hot"}, "Temperature must be a number"),
        ({"model": "folk", "temperature": 0}, "Temperature must be from"),
        ({"model": "folk", "num": 10_000}, "How many must be from"),
        ({"model": "folk", "bars": 2.5}, "Bars must be a whole number"),
        ({"model": "folk", "motif": "\ud800"}, "not text"),
        ({"model": "folk", "meter": "6/8; rm -rf"}, "Meter must look like"),
        ({"model": "folk", "key": "H"}, "Key must look like"),
        ({"model": "folk", "key": "D"}, "Key needs Meter"),  # pipeline's message, in the page's words
        ({"model": "folk", "meter": "13/8", "key": "D"}, "Meter"),
        ({"model": "tabs", "tuning": "banjo"}, "Tuning"),
        ({"model": "nope"}, "no model named 'nope'"),
        ({"model": "folk", "from": "0123456789abcdef", "action": "continue"}, "no such piece"),
        ([1, 2], "JSON object"),
    ]
    for body, *words in cases:
        answer = post(served, "/api/generate", body)
        one_line_error(answer, 404 if "no such piece" in words else 400, *words)
    headers = {TOKEN_HEADER: studio.token, "Content-Type": "application/json"}
    one_line_error(client.post("/api/generate", content=b"{not json", headers=headers), 400, "not JSON")
    one_line_error(client.post("/api/keep", content=b"[" * 100_000, headers=headers), 413, "over")
    one_line_error(client.post("/api/keep", content=b"[" * 60_000 + b"]" * 60_000, headers=headers), 413)
    one_line_error(client.post("/api/keep", content=b"[" * 5_000 + b"]" * 5_000, headers=headers), 400, "not JSON")
    one_line_error(client.post("/api/keep", content=b"[[]]", headers=headers), 400, "JSON object")
    one_line_error(client.post("/api/transpose", content=b'{"id": ["x"]}', headers=headers), 404, "no such piece")
    assert client.get("/api/piece/0123456789abcdef/score.svg").status_code == 404
    assert client.get("/api/piece/..%2f..%2fetc/passwd").status_code == 404


def test_an_unreadable_midi_file_is_one_line(served, tmp_path):
    bad = [
        (base64.b64encode(b"MThd\x00\x00\x00\x06\x00\x01").decode(), "midi"),
        (base64.b64encode(b"RIFF....WAVEfmt ").decode(), "not a MIDI file"),
        ("@@not base64@@", "base64"),
    ]
    for data, word in bad:
        answer = post(served, "/api/generate", {"model": "midi", "midi": data})
        message = one_line_error(answer, 400)
        assert word.lower() in message.lower(), message
    answer = post(served, "/api/generate", {"model": "folk", "midi": base64.b64encode(b"MThd").decode()})
    one_line_error(answer, 400, "does not continue MIDI files")
    assert list((served[0] / "studio").glob(".uploads/*")) == []  # the upload is never left behind


def test_an_internal_error_is_one_line_too(served, monkeypatch):
    from musicrnn.studio import server

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(server.compose, "parse_settings", broken)
    message = one_line_error(post(served, "/api/generate", {"model": "folk"}), 500, "internal error (RuntimeError)")
    assert "second line" not in message.split("boom")[0]


# ---------------------------------------------------------------- generating and the cards


@pytest.fixture(scope="module")
def jig(served):
    """Two 6/8 tunes in A dorian, streamed."""
    return generate(served, meter="6/8", key="Ador", num=2, temperature=0.8)


def test_generate_streams_a_card_per_piece_in_the_meter_and_key_asked(jig):
    assert len(jig) == 2 and jig[0]["id"] != jig[1]["id"]
    for card in jig:
        assert card["text"].startswith("X:1\nM:6/8\nL:1/8\nK:Ador\n")
        assert card["notes"] > 8 and card["bars"] >= 2
        assert card["kind"] == "abc" and not card["kept"]
        assert {"score.svg", "audio.wav", "roll.png", "piece.mid", "piece.txt"} <= set(card["files"])


def test_each_card_has_a_score_audio_that_decodes_a_roll_and_midi(served, jig):
    _, _, client = served
    card = jig[0]
    get = lambda name: client.get(f"/api/piece/{card['id']}/{name}")  # noqa: E731
    svg = get("score.svg")
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content[:2000]
    wav = get("audio.wav")
    samples, rate = soundfile.read(io.BytesIO(wav.content))
    assert rate == 44100 and len(samples) / rate > 2 and abs(samples).max() > 0.05
    assert get("roll.png").content.startswith(b"\x89PNG")
    midi = mido.MidiFile(file=io.BytesIO(get("piece.mid").content))
    assert sum(1 for track in midi.tracks for m in track if m.type == "note_on" and m.velocity) == card["notes"]
    download = client.get(f"/api/piece/{card['id']}/piece.txt?download=1")
    assert download.text == card["text"]
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''folk-1.abc"
    assert get("piece.gp5").status_code == 400  # a tune has no Guitar Pro file


def test_continue_starts_with_the_piece_and_goes_on(served, jig):
    parent = jig[0]
    (card,) = generate(served, **{"from": parent["id"], "action": "continue"})
    seed = compose.continue_seed(parent["text"], "abc")
    assert card["text"].startswith(seed) and len(card["text"]) > len(seed) + 2
    assert card["made"] == "continue" and card["parent"] == parent["id"]
    assert card["bars"] >= parent["bars"] + 4  # Bars unset: 8 more bars asked of pipeline.generate


def test_vary_from_bar_n_keeps_the_bars_before_it(served, jig):
    parent = jig[1]
    ends = compose.bar_ends(parent["text"], "abc")
    (card,) = generate(served, **{"from": parent["id"], "action": "vary", "bar": 3})
    assert card["text"].startswith(parent["text"][: ends[1]])
    one_line_error(post(served, "/api/generate", {"from": parent["id"], "action": "vary", "bar": 999}), 400, "bars 1")


def test_transpose_moves_the_tune_into_another_key(served, jig):
    answer = post(served, "/api/transpose", {"id": jig[0]["id"], "semitones": 2})
    card = answer.json()["card"]
    assert "\nK:Bdor\n" in card["text"] and card["made"] == "transpose"
    assert card["notes"] == jig[0]["notes"]
    one_line_error(post(served, "/api/transpose", {"id": jig[0]["id"], "semitones": "up"}), 400, "semitones")


def test_bars_ends_the_piece_there(served):
    (card,) = generate(served, meter="4/4", key="D", bars=4)
    assert card["bars"] <= 5


def test_a_tab_model_gives_a_staff_and_a_guitar_pro_file(served):
    _, _, client = served
    (card,) = generate(served, model="tabs", tuning="drop D")
    assert card["kind"] == "tab" and "staff" in card and "score.svg" in card["files"]
    assert card["text"].startswith("%columns D2 A2 D3 G3 B3 E4")
    score = client.get(f"/api/piece/{card['id']}/score.svg")  # a tab staff engraved from MEI
    assert score.status_code == 200 and b"<svg" in score.content[:400]
    gp5 = client.get(f"/api/piece/{card['id']}/piece.gp5")
    song = guitarpro.parse(io.BytesIO(gp5.content))
    assert [s.value for s in song.tracks[0].strings][-1] == 38  # the low string in drop D


def test_a_midi_model_continues_an_uploaded_midi_file(served, tmp_path):
    from musicrnn.render import write_midi

    tune = encoders.split_stream((REPO / "corpora" / "folk.txt").read_text(encoding="utf-8")[:3000])[0]
    write_midi(encoders.get("abc").decode(tune).piece, tmp_path / "folk.mid")
    data = base64.b64encode((tmp_path / "folk.mid").read_bytes()).decode()
    (card,) = generate(served, model="midi", midi=data, seed_bars=2, bars=2)
    assert card["made"] == "midi" and card["scheme"] == "roll" and card["notes"] > 4


# ---------------------------------------------------------------- the tunebook


def test_kept_pieces_survive_a_restart_and_export(served, jig):
    root, studio, client = served
    for card in jig:
        assert post(served, "/api/keep", {"id": card["id"]}).json() == {"kept": True, "id": card["id"]}
    assert sorted(p.stem for p in (root / "studio" / "tunebook").glob("*.json")) == sorted(c["id"] for c in jig)
    post(served, "/api/discard", {"id": jig[1]["id"]})
    # a new server on the same folder: the kept piece is there, with its files
    again, client2 = client_for(root / "studio")
    book = client2.get("/api/tunebook").json()
    assert [c["id"] for c in book["cards"]] == [jig[0]["id"]] and book["cards"][0]["kept"]
    assert client2.get(f"/api/piece/{jig[0]['id']}/roll.png").status_code == 200
    abc = client2.get("/api/tunebook.abc")
    assert abc.headers["content-disposition"].endswith("tunebook.abc")
    assert abc.text.strip() == encoders.get("abc").label(jig[0]["text"], 1).strip()
    with zipfile.ZipFile(io.BytesIO(client2.get("/api/tunebook.zip").content)) as z:
        assert sorted(z.namelist()) == ["folk-1.abc", "folk-1.mid", "tunebook.abc"]
        assert z.read("folk-1.abc").decode() == jig[0]["text"]
    # new pieces are numbered after the kept ones
    (card,) = generate((root, again, client2))
    assert card["name"] == "folk 2"


def test_the_studio_writes_only_inside_its_folder(tmp_path):
    folder = tmp_path / "inside"
    studio, client = client_for(folder)
    (card,) = generate((tmp_path, studio, client), num=1)
    post((tmp_path, studio, client), "/api/keep", {"id": card["id"]})
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert written == ["inside", "inside/tunebook", f"inside/tunebook/{card['id']}.json"]
    # a file in the tunebook folder that is not a studio piece is left alone and reported
    (folder / "tunebook" / "0123456789abcdef.json").write_text("{broken", encoding="utf-8")
    (folder / "tunebook" / "notes.json").write_text("mine", encoding="utf-8")
    again, _ = client_for(folder)
    assert [r.id for r in again.tunebook.all()] == [card["id"]]
    assert again.tunebook.skipped and again.tunebook.skipped[0].startswith("0123456789abcdef.json")
    assert (folder / "tunebook" / "notes.json").read_text() == "mine"


def test_a_link_out_of_the_folder_is_never_written_through(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "studio"
    folder.mkdir()
    (folder / "tunebook").symlink_to(outside)
    (folder / ".uploads").symlink_to(outside)
    served = (tmp_path, *client_for(folder))
    assert served[1].tunebook.skipped == ["tunebook: not a folder inside the studio's folder; not read"]
    (card,) = generate(served)
    one_line_error(post(served, "/api/keep", {"id": card["id"]}), 400, "a link out of the studio's folder")
    from musicrnn.render import write_midi

    write_midi(encoders.get("abc").decode(card["text"]).piece, tmp_path / "t.mid")
    data = base64.b64encode((tmp_path / "t.mid").read_bytes()).decode()
    one_line_error(post(served, "/api/generate", {"model": "midi", "midi": data}), 400, "a link out")
    assert list(outside.iterdir()) == []


def test_a_folder_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(StudioError, match="not a folder"):
        Studio(tmp_path / "f")


# ---------------------------------------------------------------- property tests of what reads a request

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
controls = st.fixed_dictionaries(
    {},
    optional={
        name: json_values | st.text(alphabet="0123456789./-e ", max_size=8)
        for name in ("model", "meter", "key", "bars", "temperature", "num", "motif", "tuning", "capo", "seed_bars")
    },
)


@settings(max_examples=300, deadline=None)
@given(controls)
def test_any_controls_are_settings_or_one_line(data):
    try:
        s = compose.parse_settings(data)
    except StudioError as e:
        assert "\n" not in str(e)
        return
    assert 1 <= s.num <= compose.MAX_HOW_MANY and 0.05 <= s.temperature <= 3
    assert s.bars is None or 1 <= s.bars <= compose.MAX_BARS


abc_bodies = st.lists(st.sampled_from(["A", "B2", "c/", "z", "|", "||", ":|", "|:", "|]", " ", "\n", "[1", "(3"]))


@settings(max_examples=300, deadline=None)
@given(abc_bodies, st.integers(-3, 40))
def test_bars_continue_and_vary_on_any_abc_text(body, bar):
    text = "X:1\nM:4/4\nL:1/8\nK:D\n" + "".join(body)
    ends = compose.bar_ends(text, "abc")
    assert ends == sorted(ends) and all(0 < e <= len(text) for e in ends)
    try:
        seed = compose.continue_seed(text, "abc")
        assert text.startswith(seed.rstrip()) and seed.startswith("X:1\nM:4/4")
        varied = compose.vary_seed(text, "abc", bar)
        assert text.startswith(varied) and varied.startswith("X:1\nM:4/4\nL:1/8\nK:D")
    except StudioError as e:
        assert "\n" not in str(e)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["columns", "roll", "events"]), st.integers(-2, 20))
def test_bars_of_any_tab_or_roll_text(text, scheme, bar):
    ends = compose.bar_ends(text, scheme)
    assert ends == sorted(ends) and all(0 < e <= len(text) for e in ends)
    try:
        assert text.startswith(compose.vary_seed(text, scheme, bar).rstrip("\n"))
    except StudioError as e:
        assert "\n" not in str(e)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["GET", "POST", "HEAD", "DELETE"]),
    st.dictionaries(
        st.sampled_from(["host", "origin", "referer", "sec-fetch-site", TOKEN_HEADER.lower()]),
        st.text(max_size=40),
    ),
)
def test_the_guard_on_any_headers(method, headers):
    studio = type("S", (), {"hosts": frozenset({"127.0.0.1:1"}), "origins": frozenset({"http://127.0.0.1:1"})})()
    studio.token = "t" * 43
    refusal = Guard(None, studio).refusal(method, headers)
    if headers.get("host") != "127.0.0.1:1":
        assert refusal[0] == 421
    elif method != "GET" and method != "HEAD" and headers.get(TOKEN_HEADER.lower()) != studio.token:
        assert refusal is not None and refusal[0] == 403
    if refusal is not None:
        assert "\n" not in refusal[1]


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_any_file_in_the_tunebook_is_read_or_skipped(tmp_path_factory, data):
    from musicrnn.studio.tunebook import Tunebook

    folder = tmp_path_factory.mktemp("book")
    (folder / "tunebook").mkdir()
    good = {"id": "0123456789abcdef", "name": "folk 3", "model": "folk", "scheme": "abc", "kind": "abc"}
    good |= {"text": "X:1\nM:4/4\nL:1/8\nK:D\nABcd|\n", "created": 1.0}
    piece = {**good, **data} if isinstance(data, dict) else data
    (folder / "tunebook" / "0123456789abcdef.json").write_text(json.dumps(piece), encoding="utf-8")
    book = Tunebook(folder)
    assert len(book.all()) + len(book.skipped) == 1
    assert book.numbers() >= 1
    for record in book.all():
        assert record.text == piece["text"]


# ---------------------------------------------------------------- the command


def test_the_command_refuses_bad_options_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from musicrnn.cli import app

    (tmp_path / "file").write_text("x")
    for args, words in (
        (["--port", "70000"], "--port must be from 0 to 65535"),
        (["--models", str(tmp_path / "none")], "no such"),
        (["--models", str(tmp_path)], "no model folder"),
        (["--folder", str(tmp_path / "file")], "not a folder"),
    ):
        result = CliRunner().invoke(app, ["studio", "--folder", str(tmp_path / "s"), *args])
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_the_command_serves_prints_its_address_and_stops_on_ctrl_c(tmp_path):
    import signal
    import subprocess
    import sys
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "musicrnn", "studio", "--folder", str(tmp_path / "s")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # Ctrl-C as in a terminal
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("musicrnn studio at http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split()[3]
        with urllib.request.urlopen(url, timeout=60) as page:
            assert b"musicrnn-token" in page.read()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130  # interrupted, as every command says it (README: exit codes)
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # the folder it was given, nothing else
