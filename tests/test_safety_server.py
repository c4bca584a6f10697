"""`audition` reads, embeds and serves only what is in its folder (issue 13).

Each test is an attack that worked before: a link to a secret inside the folder, a
served folder listing with its .git and a link to /, a page on another site writing
kept.txt (CSRF) or reading the server through a rebound host name, requests that
printed tracebacks, and file names that crashed the page or drove the terminal.
The server runs in a thread on 127.0.0.1; every socket has a timeout."""

from __future__ import annotations

import json
import os
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pretty_midi
import pytest
from typer.testing import CliRunner

from musicrnn import audition
from musicrnn.cli import EXIT_USER_ERROR, app
from musicrnn.terminal import printable

REPO = Path(__file__).resolve().parent.parent
TIM = str(Path(pretty_midi.__file__).with_name("TimGM6mb.sf2"))
TUNE = "X:1\nT:{title}\nM:4/4\nL:1/8\nQ:1/4=160\nK:D\nA2FA dAFA|B2GB dBGB|A2FA dfed|cABc d2d2|]\n"
SECRET = "SECRET-KEY-MATERIAL"


# ---------------------------------------------------------------- reading: links stay inside the folder


@pytest.fixture
def linked(tmp_path):
    """A folder of pieces with links: out of it (to a 'private key'), into its .git, to /, and inside it."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(TUNE.format(title=SECRET))  # text that even plays
    folder = tmp_path / "batch"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "config").write_text(TUNE.format(title=SECRET + "-git"))
    (folder / "sub").mkdir()
    (folder / "sub" / "real.abc").write_text(TUNE.format(title="Inside"))
    (folder / "tune.abc").write_text(TUNE.format(title="Tune"))
    (folder / "bonus.abc").symlink_to(home / ".ssh" / "id_ed25519")
    (folder / "shadow.abc").symlink_to("/etc/shadow")
    (folder / "git.abc").symlink_to(folder / ".git" / "config")
    (folder / "inner.abc").symlink_to(Path("sub") / "real.abc")  # relative, stays inside: read
    (folder / "up.abc").symlink_to(Path("..") / "home" / ".ssh" / "id_ed25519")
    (folder / "loop.abc").symlink_to("loop.abc")
    (folder / "rootlink").symlink_to("/")
    return folder


def test_links_out_of_the_folder_are_skipped_and_named(linked):
    sources, skipped = audition.collect_sources(linked)
    assert [s.name for s in sources] == ["inner", "tune"]
    reasons = {line.split(": ", 1)[0].rsplit("/", 1)[-1]: line.split(": ", 1)[1] for line in skipped}
    assert reasons == {
        "bonus.abc": "a symbolic link to outside the folder, not read",
        "git.abc": "a symbolic link into a hidden file or folder, not read",
        "loop.abc": "a broken or looping symbolic link, not read",
        "shadow.abc": "a symbolic link to outside the folder, not read",
        "up.abc": "a symbolic link to outside the folder, not read",
    }
    assert all(SECRET not in s.text for s in sources)


def test_the_page_holds_nothing_from_outside_the_folder(linked):
    report = audition.build_page(linked, soundfont=TIM)
    page = report.path.read_text(encoding="utf-8")
    assert SECRET not in page  # neither in a card, nor in the data the zip is built from
    assert [c.name for c in report.cards] == ["inner", "tune"]
    assert "bonus.abc: a symbolic link to outside the folder, not read" in page  # shown on the page


def test_the_command_reports_links_it_skipped(linked):
    result = CliRunner().invoke(app, ["audition", str(linked), "--soundfont", TIM], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "bonus.abc: a symbolic link to outside the folder, not read" in result.output
    assert SECRET not in (linked / "audition.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- file names: never crash, never raw


def _musicrnn(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI in a child with real pipes and strict UTF-8 output: a lone surrogate cannot slip through."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", "PYTHONIOENCODING": "utf-8:strict"}
    return subprocess.run(
        [sys.executable, "-P", "-m", "musicrnn", *args], cwd=cwd, env=env, capture_output=True, timeout=300
    )


def test_names_that_are_not_utf8_or_hold_escapes_are_shown_escaped(tmp_path):
    folder = tmp_path / "names"
    folder.mkdir()
    raw = os.fsencode(folder)
    with open(raw + b"/caf\xe9.abc", "wb") as fh:  # Latin-1 bytes: not UTF-8
        fh.write(TUNE.format(title="Cafe").encode())
    with open(raw + b"/\x1b]0;owned\x07tune.abc", "wb") as fh:  # sets the terminal's title
        fh.write(TUNE.format(title="Title").encode())
    with open(raw + b"/\x1b[2Jbroken.abc", "wb") as fh:  # clears the screen, when reported
        fh.write(b"\x00\x01binary")
    done = _musicrnn(tmp_path, "audition", "names", "--soundfont", TIM)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
    output = done.stdout + done.stderr
    assert b"\x1b" not in output and b"\x07" not in output
    assert b"\\x1b[2Jbroken.abc" in done.stderr  # reported, escaped
    page = (folder / "audition.html").read_text(encoding="utf-8")
    names = re.findall(r'data-name="([^"]*)"', page)
    assert sorted(names) == sorted(["caf\\xe9", "\\x1b]0;owned\\x07tune"])


def test_errors_name_files_escaped(tmp_path):
    done = _musicrnn(tmp_path, "render", "\x1b[2Jmissing.abc", "--out", "x.wav")
    assert done.returncode == EXIT_USER_ERROR
    assert done.stderr.decode().strip().splitlines() == ["error: \\x1b[2Jmissing.abc: no such file"]


def test_printable_escapes_what_a_terminal_would_act_on():
    assert printable("caf\udce9.abc") == "caf\\xe9.abc"
    assert printable(b"caf\xe9.abc") == "caf\\xe9.abc"
    assert printable("a\x1b[31mb\nc\rd\x7fe\x9bf") == "a\\x1b[31mb\\nc\\rd\\x7fe\\x9bf"
    assert printable("right\u202eto left") == "right\\u202eto left"  # bidirectional override
    assert printable(Path("Scarborough Fair \u2013 \u00e9t\u00e9.abc")) == "Scarborough Fair \u2013 \u00e9t\u00e9.abc"


# ---------------------------------------------------------------- the server


def _page() -> str:
    card = audition.Card(
        name="tune",
        scheme="abc",
        notes=1,
        seconds=1.0,
        repairs=0,
        text="X:1\nK:C\nC|\n",
        audio_uri="data:audio/ogg;base64,",
        roll_uri="data:image/png;base64,",
        score_uri=None,
        midi_b64="",
        text_suffix=".abc",
    )
    return audition.page_html([card], title="audition: served")


@pytest.fixture
def served(tmp_path):
    """A served folder with things no browser should get: its .git, a link to /, a link to a secret."""
    folder = tmp_path / "batch"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "config").write_text("[remote] url = secret\n")
    (folder / ".env").write_text("TOKEN=secret\n")
    (folder / "audition.html").write_text(_page())
    (folder / "kept.txt").write_text("original\n")
    (folder / "tune.abc").write_text(TUNE.format(title="Tune"))
    (folder / "rootlink").symlink_to("/")
    (tmp_path / "secret.txt").write_text(SECRET)
    (folder / "bonus.abc").symlink_to(tmp_path / "secret.txt")
    lines: list[str] = []
    server = audition.serve(folder, port=0, log=lines.append)
    server.request_timeout = 1.0
    try:
        yield folder, server, lines
    finally:
        server.shutdown()
        server.server_close()


def _exchange(server, data: bytes, wait: float = 10.0) -> tuple[int, dict, bytes]:
    """Send raw bytes to the server, read its whole answer: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=wait) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def _request(
    server, method: str, path: str, headers: dict | None = None, body: bytes = b"", host: str | None = "own"
) -> tuple[int, dict, bytes]:
    lines = [f"{method} {path} HTTP/1.1"]
    if host == "own":
        host = f"127.0.0.1:{server.server_port}"
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return _exchange(server, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def _token(server) -> str:
    status, _, page = _request(server, "GET", "/audition.html")
    assert status == 200
    return re.search(rb'<meta name="musicrnn-token" content="([^"]+)">', page).group(1).decode()


def _post_kept(server, body: bytes, **headers) -> tuple[int, dict, bytes]:
    own = {
        "Origin": f"http://127.0.0.1:{server.server_port}",
        "Content-Type": "application/json",
        "X-Musicrnn-Token": server.token,
        "Content-Length": str(len(body)),
    }
    own.update({k.replace("_", "-"): v for k, v in headers.items()})
    return _request(server, "POST", "/kept", {k: v for k, v in own.items() if v is not None}, body)


def test_only_the_page_is_served(served):
    folder, server, _ = served
    for path in (
        "/rootlink/etc/hostname",
        "/rootlink/etc/passwd",
        "/.git/config",
        "/.git/",
        "/.env",
        "/bonus.abc",
        "/tune.abc",
        "/kept.txt",
        "/%2e%2e/%2e%2e/etc/passwd",
        "//etc/passwd",
        "/audition.html/",
        "/sub/",
        "/rootlink/",
    ):
        status, _, body = _request(server, "GET", path)
        assert status == 404, path
        assert SECRET.encode() not in body and b"secret" not in body
    status, headers, body = _request(server, "GET", "/")
    assert status == 302 and headers["location"] == "/audition.html"
    assert b"Directory listing" not in body and b"tune.abc" not in body
    status, headers, body = _request(server, "GET", "/audition.html")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'<meta name="musicrnn-token"' in body and body.count(b"<head>") == 1
    assert "access-control-allow-origin" not in headers  # no other site may read it
    status, headers, body = _request(server, "HEAD", "/audition.html")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 1000


def test_a_page_that_is_a_link_out_of_the_folder_is_not_served(served, tmp_path):
    folder, server, _ = served
    (folder / "audition.html").unlink()
    (folder / "audition.html").symlink_to(tmp_path / "secret.txt")
    status, _, body = _request(server, "GET", "/audition.html")
    assert status == 404 and SECRET.encode() not in body


def test_only_its_own_host_names_are_answered(served):
    """DNS rebinding: evil.example resolves to 127.0.0.1, and its page reads the server as its own."""
    folder, server, lines = served
    port = server.server_port
    for host in (
        f"evil.example:{port}",
        "evil.example",
        f"127.0.0.1:{port + 1}",
        "127.0.0.1",
        f"localhost.:{port}",
        f"[::1]:{port}",
        None,
    ):
        status, _, body = _request(server, "GET", "/audition.html", host=host)
        assert status == 421, host
        assert b"musicrnn-token" not in body
    status, _, _ = _post_kept(server, b'{"kept": ["x"]}', Origin=None)
    assert status == 200  # (the same request with the right host works)
    status, _, _ = _request(
        server,
        "POST",
        "/kept",
        {"Content-Type": "application/json", "X-Musicrnn-Token": server.token, "Content-Length": "15"},
        b'{"kept": ["y"]}',
        host=f"evil.example:{port}",
    )
    assert status == 421
    assert (folder / "kept.txt").read_text() == "x\n"
    for host in (f"localhost:{port}", f"LOCALHOST:{port}", f"127.0.0.1:{port}"):
        assert _request(server, "GET", "/audition.html", host=host)[0] == 200


def test_a_cross_site_post_cannot_write_kept_txt(served):
    folder, server, lines = served
    body = b'{"kept": ["pwned"]}'
    # The classic CSRF: a form or no-cors fetch from another site, text/plain, no token.
    status, headers, _ = _post_kept(
        server, body, Origin="http://evil.example", Content_Type="text/plain", X_Musicrnn_Token=None
    )
    assert status == 403 and "access-control-allow-origin" not in headers
    # Even holding the token, another origin (or referer, or a browser's Sec-Fetch-Site) is refused.
    for extra in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": None, "Referer": "http://evil.example/page.html"},
        {"Origin": f"http://127.0.0.1:{server.server_port}", "Sec-Fetch-Site": "cross-site"},
    ):
        assert _post_kept(server, body, **{k.replace("-", "_"): v for k, v in extra.items()})[0] == 403, extra
    # Same origin but no token, or the wrong one.
    assert _post_kept(server, body, X_Musicrnn_Token=None)[0] == 403
    assert _post_kept(server, body, X_Musicrnn_Token="guess")[0] == 403
    assert _post_kept(server, body, X_Musicrnn_Token=server.token[:-1] + "\u00e9")[0] == 403
    assert (folder / "kept.txt").read_text() == "original\n"
    # The preflight a cross-site fetch with the token header would need is not granted.
    status, headers, _ = _request(
        server, "OPTIONS", "/kept", {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert status >= 400 and "access-control-allow-origin" not in headers
    # The page's own request: same origin, the token it was served with.
    token = _token(server)
    status, _, answer = _post_kept(
        server,
        b'{"kept": ["tune"]}',
        X_Musicrnn_Token=token,
        Referer=f"http://localhost:{server.server_port}/audition.html",
        Origin=f"http://localhost:{server.server_port}",
        Sec_Fetch_Site="same-origin",
    )
    assert status == 200 and json.loads(answer)["kept"] == 1
    assert (folder / "kept.txt").read_text() == "tune\n"


def test_each_server_has_its_own_token(tmp_path):
    (tmp_path / "audition.html").write_text(_page())
    one, two = (audition.serve(tmp_path, port=0, log=lambda line: None) for _ in range(2))
    try:
        assert one.token != two.token and len(one.token) >= 32
        assert _token(one) == one.token and _token(two) == two.token
    finally:
        for server in (one, two):
            server.shutdown()
            server.server_close()


@pytest.mark.parametrize(
    "headers, body, expected",
    [
        ({"Content-Length": "abc"}, b'{"kept": []}', 400),
        ({"Content-Length": "-1"}, b'{"kept": []}', 400),
        ({"Content-Length": "1e3"}, b'{"kept": []}', 400),
        ({"Content-Length": "9" * 5000}, b"", 413),  # int() refuses 4,300+ digits
        ({"Content-Length": str(2_000_000)}, b"x" * 1024, 413),  # over 1 MB: not read
        ({"Content-Length": None}, b"", 411),
        ({"Content-Length": None, "Transfer-Encoding": "chunked"}, b"5\r\nhello\r\n0\r\n\r\n", 411),
        ({"Content-Length": "0"}, b"", 400),
        ({}, b'{"kept": ["\\ud800"]}', 400),  # a lone surrogate kept.txt cannot hold
        ({}, b'{"kept": ["a\\rb"]}', 400),
        ({}, b"[" * 200_000, 400),  # deep enough to break json's recursion
        ({}, b'{"kept": ["caf\xe9"]}', 400),  # not UTF-8
        ({}, b'["kept"]', 400),
        ({}, b"null", 400),
        ({"Content-Type": "text/plain"}, b'{"kept": []}', 415),
    ],
    ids=[
        "letters",
        "negative",
        "float",
        "5000-digits",
        "over-1MB",
        "missing",
        "chunked",
        "empty",
        "surrogate",
        "carriage-return",
        "deep",
        "latin-1",
        "list",
        "null",
        "text-plain",
    ],
)
def test_bad_posts_get_a_4xx_and_one_log_line(served, capfd, headers, body, expected):
    folder, server, lines = served
    if "Content-Length" not in headers:
        headers = {**headers, "Content-Length": str(len(body))}
    status, _, _ = _post_kept(server, body, **{k.replace("-", "_"): v for k, v in headers.items()})
    assert status == expected
    assert len(lines) == 1 and f": {expected} " in lines[0] and "\n" not in lines[0]
    assert (folder / "kept.txt").read_text() == "original\n"
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /audition.html HTTP/9.9\r\n\r\n",
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
        b"\xff\xfe\r\n\r\n",
    ],
    ids=["garbage", "version", "long-line", "bytes"],
)
def test_broken_requests_get_a_4xx_and_one_log_line(served, capfd, data):
    folder, server, lines = served
    status, _, _ = _exchange(server, data)
    assert 400 <= status < 500 or status == 505
    assert len(lines) == 1
    assert "Traceback" not in "".join(capfd.readouterr())


def test_a_stalled_body_is_dropped_with_one_log_line(served, capfd):
    folder, server, lines = served
    head = (
        f"POST /kept HTTP/1.1\r\nHost: 127.0.0.1:{server.server_port}\r\nContent-Type: application/json\r\n"
        f'X-Musicrnn-Token: {server.token}\r\nContent-Length: 100\r\n\r\n{{"kept": ['
    ).encode()
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as s:
        s.sendall(head)
        ready, _, _ = select.select([s], [], [], 10)  # the server gives up after request_timeout (1 s)
        assert ready and s.recv(1024) == b""
    deadline = time.monotonic() + 5
    while not lines and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(lines) == 1 and "body not received" in lines[0]
    assert (folder / "kept.txt").read_text() == "original\n"
    assert "Traceback" not in "".join(capfd.readouterr())


def test_the_command_serves_the_page_alone(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "tune.abc").write_text(TUNE.format(title="Tune"))
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("secret\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "musicrnn", "audition", str(folder), "--serve", "--port", "0", "--soundfont", TIM],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        port, seen, deadline = None, b"", time.monotonic() + 120
        while port is None and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stdout], [], [], 1)[0]:
                seen += os.read(proc.stdout.fileno(), 4096)
                match = re.search(rb"serving http://127\.0\.0\.1:(\d+)/audition\.html", seen)
                port = int(match.group(1)) if match else None
        assert port, (seen + proc.stderr.read() if proc.poll() is not None else seen).decode("utf-8", "replace")

        class At:
            server_port = port

        assert _request(At, "GET", "/audition.html")[0] == 200
        assert _request(At, "GET", "/.git/config")[0] == 404
        assert _request(At, "GET", "/tune.abc")[0] == 404
        assert _request(At, "GET", "/audition.html", host=f"evil.example:{port}")[0] == 421
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        proc.stdout.close()
        proc.stderr.close()


def test_a_port_in_use_is_a_one_line_error(tmp_path):
    (tmp_path / "tune.abc").write_text(TUNE.format(title="Tune"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = CliRunner().invoke(
            app, ["audition", str(tmp_path), "--serve", "--port", str(taken.getsockname()[1]), "--soundfont", TIM]
        )
    assert result.exit_code == EXIT_USER_ERROR
    assert result.output.strip().splitlines()[-1].startswith("error: [Errno 98]")
