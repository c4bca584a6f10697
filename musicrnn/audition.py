"""The audition page: one HTML file to listen to, look at and choose among many pieces.

``musicrnn audition DIR`` reads every piece in DIR (ABC, tab and stream files; MIDI
files) and writes ``DIR/audition.html``, one card per piece:

    +-- tune-3 . abc . 142 notes . 31.2 s . 0 repairs -----------------+
    | sheet music (SVG; ABC and MIDI) or the tab staff (tabs; verovio) |
    | audio player (OGG Vorbis through the General MIDI soundfont)     |
    | piano roll (PNG)                                                 |
    | > text                                                           |
    | [keep] [discard]                                                 |
    +------------------------------------------------------------------+
    toolbar: kept 2 / 24 . hide discarded . download kept (.zip) . download list (.txt)

The page is self-contained: audio, pictures, the pieces' MIDI and text are
embedded (data: URIs, one JSON block), so it works from file://, can be
copied or mailed, and needs no server.  Choices are remembered in the browser
(localStorage).  "download kept" builds a zip in the page (stored entries with
CRC-32: the zip format needs no compression library) holding each kept piece's
MIDI and text and ``kept.txt``; "download list" saves ``kept.txt`` alone.

``--serve`` serves the page on 127.0.0.1 instead and adds "save to folder", which
writes the kept list to ``DIR/kept.txt`` (POST /kept).  The server answers only its own
host names, serves the page alone (no listing, no other file) and takes the list only
with the token it put in the page, from its own origin (`AuditionServer`).  Only
regular files in DIR are read: links out of DIR are skipped and reported.

A MIDI or Guitar Pro file written beside its text (``tune-3.mid`` or ``tune.mid``
next to ``tune.abc``, ``riff-1.gp5`` next to ``riff-1.tab``, as ``generate``/``decode``
write them) is the same piece and is shown once, from its text.  A tab's card shows
its staff engraved by verovio (MEI tablature, `encoders.tab.mei`) and, as its text
(and the file "download kept" writes), the aligned staff of a ``.tab`` file.  A file that cannot be read is reported and skipped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import http.server
import io
import json
import os
import re
import secrets
import stat
import sys
import tempfile
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import encoders
from encoders import InputError, UsageError
from encoders.scheme import ENGRAVE_TAB
from musicrnn.atomic import write_text
from musicrnn.outputs import MIDI_SUFFIXES as _MIDI
from musicrnn.terminal import printable

__all__ = [
    "AuditionError",
    "AuditionReport",
    "AuditionServer",
    "Card",
    "build_page",
    "collect_sources",
    "make_card",
    "page_html",
    "serve",
]

PAGE_NAME = "audition.html"
KEPT_NAME = "kept.txt"
_MAX_POST_BYTES = 1 << 20
AUDIO_COMPRESSION = 0.85
"""Vorbis at about 9 kB/s (libsndfile's default makes about 13): 24 one-minute pieces stay near 15 MB."""


class AuditionError(UsageError):
    """No page can be made (no folder, no pieces)."""


@dataclass(slots=True)
class Card:
    """What one card shows: everything already rendered and encoded for embedding."""

    name: str
    scheme: str
    notes: int
    seconds: float
    repairs: int
    text: str | None
    audio_uri: str
    roll_uri: str
    score_uri: str | None
    midi_b64: str
    text_suffix: str


@dataclass(slots=True)
class AuditionReport:
    path: Path
    cards: list[Card] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _natural(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _inside(path: Path, root: Path) -> str | None:
    """Why `path` (an entry of the folder `root`, resolved) may not be read, or None: it must
    resolve to a regular file under `root`, outside any dot folder."""
    if not path.is_symlink():
        return None
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "a broken or looping symbolic link, not read"
    if not real.is_relative_to(root):
        return "a symbolic link to outside the folder, not read"
    if any(part.startswith(".") for part in real.relative_to(root).parts):
        return "a symbolic link into a hidden file or folder, not read"
    return None


def collect_sources(folder: str | os.PathLike) -> tuple[list, list[str]]:
    """The pieces in a folder (outputs.Source, in natural file order) and the files skipped, with why.

    Only regular files in the folder itself are read: a symbolic link is followed only
    when it resolves to a file inside the folder (not into a dot folder such as .git);
    a link out of it (to ~/.ssh/id_ed25519, /etc/shadow...) is skipped and reported.
    Names are made printable (`musicrnn.terminal.printable`): a name that is not UTF-8
    or holds control characters shows escaped, on the page and in the reports."""
    from musicrnn.outputs import read_pieces

    folder = Path(folder)
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise AuditionError(f"{printable(folder)}: {what}")
    root = folder.resolve()
    text_suffixes = ({s for c in encoders.all_codecs() for s in c.suffixes} | {".txt"}) - set(_MIDI)
    binary = {s for c in encoders.all_codecs() for s in c.binary_suffixes} | set(_MIDI)  # MIDI, Guitar Pro
    wanted = text_suffixes | set(_MIDI)
    sources, skipped = [], []
    files = []
    for path in sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=_natural):
        why = _inside(path, root)
        if why is not None:
            if path.suffix.lower() in wanted and path.name != KEPT_NAME:
                skipped.append(f"{printable(path)}: {why}")
            continue
        if path.is_file():
            files.append(path)
    text_stems = {p.stem for p in files if p.suffix.lower() in text_suffixes - binary and p.name != KEPT_NAME}
    continued = _continued_midi(files, text_stems)  # MIDI that says where a model took over
    continued_stems = {p.stem for p in continued}
    for path in files:
        suffix = path.suffix.lower()
        if path.name == KEPT_NAME or suffix not in wanted:
            continue
        if path in continued:
            found = continued[path]
        elif suffix in text_suffixes - binary and path.stem in continued_stems:
            continue  # its MIDI beside it holds the same piece and where the model took over
        elif suffix in binary and (path.stem in text_stems or re.sub(r"-\d+$", "", path.stem) in text_stems):
            continue  # the same piece as in its text file beside it
        else:
            found = None
        try:
            found = found if found is not None else read_pieces(path)
        except (InputError, ValueError, OSError, EOFError) as e:
            message = str(e) if str(e).startswith(str(path)) else f"{path}: {e}"
            skipped.append(printable(message))
            continue
        for source in found:
            source.name = printable(source.name)
        sources.extend(found)
    return sources, skipped


def _continued_midi(files: list[Path], text_stems: set[str]) -> dict:
    """MIDI files beside a text of the same name whose piece marks where a model took over
    (`generate --seed-midi`): the MIDI keeps the seed's tracks and that mark, the text does
    not, so the card is the MIDI's.  Path -> its pieces."""
    from musicrnn.outputs import read_pieces

    found = {}
    for path in files:
        if path.suffix.lower() in _MIDI and path.stem in text_stems:
            try:
                pieces = read_pieces(path)
            except (InputError, ValueError, OSError, EOFError):
                continue  # read (and reported) as any other file would be: through its text
            if any("continuation" in p.piece.marks for p in pieces):
                found[path] = pieces
    return found


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def make_card(source, soundfont: str | os.PathLike | None = None, program: int | None = None) -> Card:
    """Render one piece for its card: audio, piano roll, sheet music (not for tabs), MIDI."""
    from musicrnn.audio import piece_for_listening, write_audio
    from musicrnn.pictures import PictureError, engraving, piano_roll_png, score_svg
    from musicrnn.render import to_midi

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        report = write_audio(
            source.piece,
            tmp_path / "a.ogg",
            scheme=source.scheme,
            soundfont=soundfont,
            program=program,
            compression=AUDIO_COMPRESSION,
        )
        piano_roll_png(source.piece, tmp_path / "roll.png", title=source.name)
        score_uri, text = None, source.text
        if engraving(source.scheme) == ENGRAVE_TAB and source.text is not None:
            score_uri, text = _tab_card(source, tmp_path)
        elif engraving(source.scheme) != ENGRAVE_TAB:
            try:
                score_svg(source.piece, tmp_path / "score.svg", text=source.text, scheme=source.scheme)
                score_uri = _data_uri("image/svg+xml", (tmp_path / "score.svg").read_bytes())
            except PictureError:
                score_uri = None
        midi = io.BytesIO()
        to_midi(piece_for_listening(source.piece, source.scheme)).save(file=midi)
        codec_suffix = encoders.get(source.scheme).suffixes[0] if source.text is not None else ".txt"
        return Card(
            name=source.name,
            scheme=source.scheme,
            notes=len(source.piece.notes),
            seconds=report.seconds,
            repairs=len(source.repairs),
            text=text,
            audio_uri=_data_uri("audio/ogg", (tmp_path / "a.ogg").read_bytes()),
            roll_uri=_data_uri("image/png", (tmp_path / "roll.png").read_bytes()),
            score_uri=score_uri,
            midi_b64=base64.b64encode(midi.getvalue()).decode("ascii"),
            text_suffix=codec_suffix,
        )


def _tab_card(source, tmp_path: Path) -> tuple[str | None, str]:
    """A tab's card: its staff engraved by verovio (MEI tablature, `Scheme.engrave_mei`)
    and, as its text, the aligned staff a guitarist prints (what a ``.tab`` file holds)."""
    from musicrnn.pictures import PictureError, _engrave

    codec = encoders.get(source.scheme)
    if ".tab" not in codec.piece_files:
        return None, source.text  # a tab scheme without a staff of its own: its text is the picture
    data, _ = codec.piece_file(source.text, ".tab", title=source.name)
    mei = codec.engrave_mei(source.text, source.name)
    if mei is None:
        return None, data.decode("utf-8")
    try:
        svg = _engrave(mei, "mei")
    except PictureError:
        return None, data.decode("utf-8")
    return _data_uri("image/svg+xml", svg.encode("utf-8")), data.decode("utf-8")


def build_page(
    folder: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    soundfont: str | os.PathLike | None = None,
    program: int | None = None,
    on_piece: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> AuditionReport:
    """Render every piece in `folder` and write the audition page (default folder/audition.html);
    `on_start(count)` is told how many pieces there are, `on_piece(name)` follows them."""
    folder = Path(folder)
    sources, skipped = collect_sources(folder)
    if not sources:
        raise AuditionError(
            f"{printable(folder)}: no pieces found (ABC, tab, stream or MIDI files)"
            + (f"; {len(skipped)} file(s) skipped" if skipped else "")
        )
    report = AuditionReport(Path(out) if out else folder / PAGE_NAME, skipped=skipped)
    if on_start:
        on_start(len(sources))
    for source in sources:
        if on_piece:
            on_piece(source.name)
        try:
            report.cards.append(make_card(source, soundfont, program))
        except ValueError as e:  # a piece without notes, a file verovio cannot engrave...
            report.skipped.append(printable(f"{source.name}: {e}"))
    if not report.cards:
        raise AuditionError(f"{printable(folder)}: no piece could be rendered: {'; '.join(report.skipped[:3])}")
    write_text(
        report.path,
        page_html(report.cards, title=f"audition: {printable(folder.resolve().name)}", skipped=report.skipped),
    )
    return report


def _card_html(index: int, card: Card) -> str:
    e = html.escape
    facts = f"{e(card.scheme)} &middot; {card.notes} notes &middot; {card.seconds:.1f} s" + (
        f" &middot; {card.repairs} repaired" if card.repairs else ""
    )
    if card.score_uri:
        score = f'<img class="score" alt="sheet music of {e(card.name)}" src="{card.score_uri}">'
    elif card.text is not None:
        score = f'<pre class="tab">{e(card.text)}</pre>'
    else:
        score = ""
    text = (
        f"<details><summary>text</summary><pre>{e(card.text)}</pre></details>"
        if card.text is not None and card.score_uri
        else ""
    )
    return f"""
<section class="card" id="card-{index}" data-name="{e(card.name)}">
  <header><h2>{e(card.name)}</h2><span class="facts">{facts}</span></header>
  {score}
  <audio controls preload="auto" src="{card.audio_uri}"></audio>
  <img class="roll" alt="piano roll of {e(card.name)}" src="{card.roll_uri}">
  {text}
  <div class="choice">
    <button type="button" class="keep" data-choice="keep">keep</button>
    <button type="button" class="discard" data-choice="discard">discard</button>
  </div>
</section>"""


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f4f2; color: #222; }
#toolbar { position: sticky; top: 0; z-index: 2; background: #263238; color: #fff; padding: .6em 1em;
  display: flex; gap: 1em; align-items: center; flex-wrap: wrap; }
#toolbar button { font: inherit; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1em; padding: 1em; }
.card { background: #fff; border: 2px solid #ddd; border-radius: 8px; padding: .8em; overflow: hidden; }
.card.kept { border-color: #2e7d32; box-shadow: 0 0 0 2px #a5d6a7; }
.card.discarded { opacity: .45; }
body.hide-discarded .card.discarded { display: none; }
.card header { display: flex; justify-content: space-between; align-items: baseline; gap: 1em; }
.card h2 { font-size: 1.1em; margin: 0; }
.facts { color: #666; font-size: .85em; }
.score, .roll { width: 100%; display: block; margin: .4em 0; background: #fff; }
audio { width: 100%; }
pre { font-size: 12px; overflow: auto; max-height: 24em; background: #fafafa; padding: .4em; }
.choice button { font-size: 1em; padding: .3em 1.2em; margin-right: .5em; }
.card.kept button.keep { background: #2e7d32; color: #fff; }
.card.discarded button.discard { background: #b71c1c; color: #fff; }
#skipped { padding: 0 1em 1em; color: #8d6e63; }
"""

# The page's behaviour: choices (kept in localStorage), the counter, and the exports.
_SCRIPT = r"""
"use strict";
const pieces = JSON.parse(document.getElementById("pieces").textContent);
const storeKey = "musicrnn-audition:" + document.body.dataset.page;
const cards = Array.from(document.querySelectorAll(".card"));
let choices = {};
try { choices = JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { choices = {}; }

function save() { try { localStorage.setItem(storeKey, JSON.stringify(choices)); } catch (e) { /* private mode */ } }
function keptNames() { return pieces.map(p => p.name).filter(n => choices[n] === "keep"); }
function show() {
  for (const card of cards) {
    const c = choices[card.dataset.name];
    card.classList.toggle("kept", c === "keep");
    card.classList.toggle("discarded", c === "discard");
  }
  document.getElementById("count").textContent = "kept " + keptNames().length + " / " + pieces.length;
}
for (const card of cards) {
  for (const button of card.querySelectorAll("button[data-choice]")) {
    button.addEventListener("click", () => {
      const name = card.dataset.name, value = button.dataset.choice;
      if (choices[name] === value) delete choices[name]; else choices[name] = value;
      save(); show();
    });
  }
}
document.getElementById("hide").addEventListener("change", e => document.body.classList.toggle("hide-discarded", e.target.checked));

// ---- zip: stored (uncompressed) entries, CRC-32, UTF-8 names (PKWARE APPNOTE 4.3, 4.4).
const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let crc = 0xFFFFFFFF;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >>> 8);
  return (crc ^ 0xFFFFFFFF) >>> 0;
}
function zip(files) {
  const now = new Date();
  const time = (now.getHours() << 11) | (now.getMinutes() << 5) | (now.getSeconds() >> 1);
  const date = ((now.getFullYear() - 1980) << 9) | ((now.getMonth() + 1) << 5) | now.getDate();
  const enc = new TextEncoder(), parts = [], central = [];
  let offset = 0;
  for (const f of files) {
    const name = enc.encode(f.name), crc = crc32(f.bytes), size = f.bytes.length;
    const local = new DataView(new ArrayBuffer(30));
    [[0, 0x04034b50, 4], [4, 20, 2], [6, 0x0800, 2], [8, 0, 2], [10, time, 2], [12, date, 2], [14, crc, 4],
     [18, size, 4], [22, size, 4], [26, name.length, 2], [28, 0, 2]]
      .forEach(([at, v, n]) => n === 4 ? local.setUint32(at, v, true) : local.setUint16(at, v, true));
    const dir = new DataView(new ArrayBuffer(46));
    [[0, 0x02014b50, 4], [4, 20, 2], [6, 20, 2], [8, 0x0800, 2], [10, 0, 2], [12, time, 2], [14, date, 2],
     [16, crc, 4], [20, size, 4], [24, size, 4], [28, name.length, 2], [30, 0, 2], [32, 0, 2], [34, 0, 2],
     [36, 0, 2], [38, 0, 4], [42, offset, 4]]
      .forEach(([at, v, n]) => n === 4 ? dir.setUint32(at, v, true) : dir.setUint16(at, v, true));
    parts.push(local, name, f.bytes);
    central.push(dir, name);
    offset += 30 + name.length + size;
  }
  const dirSize = central.reduce((s, p) => s + p.byteLength, 0);
  const end = new DataView(new ArrayBuffer(22));
  [[0, 0x06054b50, 4], [4, 0, 2], [6, 0, 2], [8, files.length, 2], [10, files.length, 2], [12, dirSize, 4],
   [16, offset, 4], [20, 0, 2]]
    .forEach(([at, v, n]) => n === 4 ? end.setUint32(at, v, true) : end.setUint16(at, v, true));
  return new Blob([...parts, ...central, end], {type: "application/zip"});
}
function fromBase64(text) { return Uint8Array.from(atob(text), c => c.charCodeAt(0)); }
function download(name, blob) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
function listText() { const k = keptNames(); return k.length ? k.join("\n") + "\n" : ""; }
document.getElementById("export-zip").addEventListener("click", () => {
  const enc = new TextEncoder(), files = [];
  for (const p of pieces.filter(p => choices[p.name] === "keep")) {
    files.push({name: p.name + ".mid", bytes: fromBase64(p.midi)});
    if (p.text !== null) files.push({name: p.name + p.suffix, bytes: enc.encode(p.text)});
  }
  files.push({name: "kept.txt", bytes: enc.encode(listText())});
  download("kept.zip", zip(files));
});
document.getElementById("export-list").addEventListener("click", () =>
  download("kept.txt", new Blob([listText()], {type: "text/plain"})));
// Served by `audition --serve`, the page carries the server's token (a <meta> the server adds):
// saving sends it back, which a page from another site cannot do.
const saveButton = document.getElementById("save-folder");
const tokenMeta = document.querySelector('meta[name="musicrnn-token"]');
if (location.protocol.startsWith("http") && tokenMeta) {
  saveButton.hidden = false;
  saveButton.addEventListener("click", async () => {
    const answer = await fetch("kept", {method: "POST", credentials: "same-origin",
                                         headers: {"Content-Type": "application/json", "X-Musicrnn-Token": tokenMeta.content},
                                         body: JSON.stringify({kept: keptNames()})});
    document.getElementById("status").textContent = answer.ok ? "saved " + (await answer.json()).path : "save failed";
  });
}
show();
"""


def page_html(cards: list[Card], title: str = "audition", skipped: list[str] | None = None) -> str:
    """The whole page: toolbar, cards, the pieces' data for export, and the script."""
    data = [{"name": c.name, "midi": c.midi_b64, "text": c.text, "suffix": c.text_suffix} for c in cards]
    # No "<" at all inside the script block, so no text ("</script>", "<!--") can end it early.
    data_json = json.dumps(data).replace("<", "\\u003c")
    page_id = hashlib.sha1(data_json.encode("utf-8")).hexdigest()[:16]
    skipped_html = ""
    if skipped:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in skipped)
        skipped_html = f'<details id="skipped"><summary>{len(skipped)} skipped</summary><ul>{items}</ul></details>'
    body = "".join(_card_html(i, c) for i, c in enumerate(cards))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body data-page="{page_id}">
<div id="toolbar">
  <strong>{html.escape(title)}</strong>
  <span id="count"></span>
  <label><input type="checkbox" id="hide"> hide discarded</label>
  <button type="button" id="export-zip">download kept (.zip)</button>
  <button type="button" id="export-list">download list (.txt)</button>
  <button type="button" id="save-folder" hidden>save to folder</button>
  <span id="status"></span>
</div>
<main>{body}
</main>
{skipped_html}
<script type="application/json" id="pieces">{data_json}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""


TOKEN_HEADER = "X-Musicrnn-Token"
_TOKEN_META = "musicrnn-token"


class AuditionServer(http.server.ThreadingHTTPServer):
    """Serves one audition page on 127.0.0.1, and takes the kept list (POST /kept).

    What it answers, and nothing else:

    * only requests whose ``Host`` is ``127.0.0.1:PORT`` or ``localhost:PORT`` (421
      otherwise): a web page whose name was rebound to 127.0.0.1 (DNS rebinding) gets nothing;
    * ``GET /PAGE`` (``/`` redirects there): the page, read fresh from the folder, with a
      random per-server token in a ``<meta>`` tag.  No other file (no listing, no dot
      files, no links; the page itself must be a regular file in the folder);
    * ``POST /kept`` with a JSON body ``{"kept": [names]}`` of at most 1 MB, sent with the
      token in the ``X-Musicrnn-Token`` header and, when the browser names one, the
      server's own Origin/Referer: a cross-site form or fetch can do neither.

    A bad request gets a 4xx status and one line on the log (stderr); never a traceback."""

    daemon_threads = True
    request_timeout = 10.0
    """Seconds a client may take to send its request (a stalled one is dropped)."""

    def __init__(
        self,
        folder: str | os.PathLike,
        port: int = 8000,
        page: str = PAGE_NAME,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.folder = Path(folder).resolve()
        self.page = page
        self.token = secrets.token_urlsafe(32)
        names = ("127.0.0.1", "localhost")
        self.hosts = frozenset(f"{name}:{self.server_port}" for name in names) | (
            frozenset(names) if self.server_port == 80 else frozenset()
        )  # browsers leave out the default port
        self.origins = frozenset(f"http://{host}" for host in self.hosts)
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))

    def handle_error(self, request, client_address) -> None:
        """Whatever escaped a handler (a dropped connection...): one line, no traceback."""
        error = sys.exc_info()[1]
        self.log(f"audition server: {client_address[0]}: {type(error).__name__}: {printable(str(error))[:200]}")

    def page_bytes(self) -> bytes | None:
        """The page as served (token added), or None when it is not a regular file in the folder."""
        try:
            fd = os.open(self.folder / self.page, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            data = fh.read()
        meta = f'<meta name="{_TOKEN_META}" content="{self.token}">'.encode("ascii")
        head = data.find(b"<head>")
        if head < 0:
            return meta + data
        return data[: head + 6] + b"\n" + meta + data[head + 6 :]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: AuditionServer
    server_version = "musicrnn-audition"
    sys_version = ""
    default_request_version = "HTTP/1.0"  # a malformed request line still gets a status line (not HTTP/0.9)

    def setup(self) -> None:
        self.timeout = self.server.request_timeout
        super().setup()

    # ---- answers

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every refusal: its status, one log line, and the connection closed (an unread body
        must not be read as the next request)."""
        where = printable(self.requestline)[:200] if getattr(self, "requestline", "") else "-"
        self.server.log(f'audition server: {self.client_address[0]} "{where}": {code} {message or ""}'.rstrip())
        self.close_connection = True
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args) -> None:  # quiet: refusals are logged by send_error
        pass

    def _send(self, code: int, content_type: str, body: bytes, head_only: bool = False) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", "frame-ancestors 'none'")
        self.send_header("Referrer-Policy", "same-origin")
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    # ---- checks

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        if host in self.server.hosts:
            return True
        self.send_error(421, "unknown host: this server answers only " + " and ".join(sorted(self.server.hosts)))
        return False

    def _path(self) -> str:
        return urllib.parse.unquote(urllib.parse.urlsplit(self.path).path, errors="replace")

    def _foreign(self) -> str | None:
        """What shows the request comes from another site (None: it does not)."""
        site = self.headers.get("Sec-Fetch-Site")
        if site is not None and site.strip().lower() not in ("same-origin", "none"):
            return f"Sec-Fetch-Site {site}"
        origin = self.headers.get("Origin")
        if origin is not None:
            return None if origin.strip().lower() in self.server.origins else f"Origin {origin}"
        referer = self.headers.get("Referer")
        if referer is not None:
            parts = urllib.parse.urlsplit(referer.strip())
            return None if f"{parts.scheme}://{parts.netloc}".lower() in self.server.origins else "Referer"
        return None

    def _token_ok(self) -> bool:
        given = (self.headers.get(TOKEN_HEADER) or "").strip().encode("latin-1", "replace")
        return hmac.compare_digest(given, self.server.token.encode("ascii"))

    def _content_length(self) -> int | None:
        """The body's length, or None after refusing the request."""
        if self.headers.get("Transfer-Encoding") is not None:
            self.send_error(411, "a Content-Length is needed (no Transfer-Encoding)")
            return None
        values = self.headers.get_all("Content-Length") or []
        if not values:
            self.send_error(411, "Content-Length missing")
            return None
        raw = values[0].strip()
        if len({v.strip() for v in values}) > 1 or not (raw.isascii() and raw.isdigit()):
            self.send_error(400, "Content-Length is not a number")
            return None
        if len(raw) > 12 or int(raw) > _MAX_POST_BYTES:
            self.send_error(413, f"body over {_MAX_POST_BYTES} bytes")
            return None
        if int(raw) == 0:
            self.send_error(400, "body missing")
            return None
        return int(raw)

    # ---- methods

    def do_GET(self) -> None:  # the http.server naming
        self._get(head_only=False)

    def do_HEAD(self) -> None:
        self._get(head_only=True)

    def _get(self, head_only: bool) -> None:
        if not self._host_ok():
            return
        path = self._path()
        if path == "/":
            self.send_response(302)
            self.send_header("Location", "/" + urllib.parse.quote(self.server.page))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path != "/" + self.server.page:
            self.send_error(404, "not found: this server serves the audition page alone")
            return
        body = self.server.page_bytes()
        if body is None:
            self.send_error(404, "the page is not a regular file in the folder")
            return
        self._send(200, "text/html; charset=utf-8", body, head_only)

    def do_POST(self) -> None:
        if not self._host_ok():
            return
        if self._path().rstrip("/") != "/kept":
            self.send_error(404, "only /kept takes a POST")
            return
        foreign = self._foreign()
        if foreign is not None:
            self.send_error(403, f"cross-site request refused ({printable(foreign)[:80]})")
            return
        if not self._token_ok():
            self.send_error(403, f"missing or wrong {TOKEN_HEADER}")
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            self.send_error(415, "Content-Type must be application/json")
            return
        length = self._content_length()
        if length is None:
            return
        try:
            body = self.rfile.read(length)
        except OSError as e:  # the client stalled (socket timeout) or went away
            self.server.log(f"audition server: {self.client_address[0]}: body not received ({type(e).__name__})")
            self.close_connection = True
            return
        if len(body) != length:
            self.send_error(400, "body shorter than its Content-Length")
            return
        try:
            kept = json.loads(body)["kept"]
            if not isinstance(kept, list) or not all(_good_name(k) for k in kept):
                raise ValueError
        except (ValueError, KeyError, TypeError, IndexError, RecursionError):
            self.send_error(400, 'expected {"kept": ["name", ...]}')
            return
        target = self.server.folder / KEPT_NAME
        write_text(target, "".join(k + "\n" for k in kept))
        answer = json.dumps({"path": printable(target), "kept": len(kept)}).encode("utf-8")
        self._send(200, "application/json", answer)


def _good_name(name) -> bool:
    """A piece's name as kept.txt can hold it: one line of text that UTF-8 can write."""
    if not isinstance(name, str) or "\n" in name or "\r" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (JSON allows "\ud800")
        return False
    return True


def serve(
    folder: str | os.PathLike, port: int = 8000, page: str = PAGE_NAME, log: Callable[[str], None] | None = None
) -> AuditionServer:
    """A server for the folder's audition page on 127.0.0.1 (port 0: any free one), started in a thread.

    The caller stops it with ``server.shutdown()``; its URL is
    ``http://127.0.0.1:{server.server_port}/audition.html``.  `log` gets one line per refused
    request (default: stderr)."""
    server = AuditionServer(folder, port, page=page, log=log)
    threading.Thread(target=server.serve_forever, daemon=True, name="audition-server").start()
    return server
