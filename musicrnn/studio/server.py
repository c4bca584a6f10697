"""The studio's web server: a Starlette app (served by uvicorn) for one composer on this machine.

    GET  /                          the page (its token in a <meta>)
    GET  /static/studio.js|css      the page's script and style (package data; nothing else is served)
    GET  /api/models                the models, and the page's choices (keys, tunings)
    GET  /api/tunebook              the kept pieces' cards
    GET  /api/piece/ID/FILE         a piece's file, made on first request (score.svg audio.wav roll.png
                                    piece.mid piece.txt piece.gp5); ?download=1 names it for saving
    GET  /api/tunebook.abc|.zip     the tunebook exported
    POST /api/generate              new pieces (or Continue, Vary, a MIDI file continued): one JSON card a
                                    line (NDJSON), each sent as its piece is finished
    POST /api/keep|discard          into or out of the tunebook
    POST /api/transpose             a new card: the piece in another key

The safety rules are those of `audition --serve` (musicrnn.audition.AuditionServer): only the
Host names 127.0.0.1:PORT and localhost:PORT are answered (421 otherwise, against DNS
rebinding); a POST needs the page's token in X-Musicrnn-Token and, where the browser names
one, the server's own origin (403 otherwise); bodies are bounded.  Every error is a status and
one line of JSON, {"error": "..."}, which the page shows; nothing is a traceback.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import os
import re
import secrets
import sys
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

import encoders
from encoders import UsageError
from musicrnn.studio import compose
from musicrnn.studio.compose import StudioError
from musicrnn.studio.models import KIND_ABC, KIND_MIDI, Shelf
from musicrnn.studio.pieces import ID_RE, Session, card
from musicrnn.studio.tunebook import Tunebook, _slug, inside
from musicrnn.terminal import printable

__all__ = ["TOKEN_HEADER", "Studio", "make_app"]

TOKEN_HEADER = "X-Musicrnn-Token"
MAX_BODY = 64 << 10
MAX_MIDI = 4 << 20
"""Bytes of a MIDI file to continue (a song's opening is a few kB)."""
STATIC = {"studio.js": "text/javascript; charset=utf-8", "studio.css": "text/css; charset=utf-8"}
KEYS = {
    "major": "C G D A E B F Bb Eb Ab",
    "minor": "Am Em Bm F#m C#m Dm Gm Cm Fm",
    "dorian": "Ador Edor Bdor Ddor Gdor Cdor",
    "mixolydian": "Dmix Gmix Amix Cmix Emix",
    "other modes": "Ephr Bphr Flyd Clyd",
}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; frame-ancestors 'none'",
    ),
]


class Studio:
    """What the server holds: the models, this session's pieces, the tunebook, the token."""

    def __init__(self, folder: str | os.PathLike, models: list[str | os.PathLike] = (), port: int = 0, log=None):
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise StudioError(f"--folder {printable(folder)}: not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder.resolve()
        self.shelf = Shelf(models)
        if not self.shelf.models:
            raise StudioError("no model to offer: none is bundled and --models found none")
        self.tunebook = Tunebook(self.folder)
        self.session = Session(self.tunebook.numbers())
        self.token = secrets.token_urlsafe(32)
        self.model_lock = threading.Lock()
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.set_port(port)

    def set_port(self, port: int) -> None:
        """The port served on: the Host names and origins answered follow it."""
        names = ("127.0.0.1", "localhost")
        self.port = port
        self.hosts = frozenset(f"{n}:{port}" for n in names) | (frozenset(names) if port == 80 else frozenset())
        self.origins = frozenset(f"http://{h}" for h in self.hosts)

    def record(self, piece_id: Any):
        """A piece of this session or of the tunebook; StudioError (404) for another id."""
        if isinstance(piece_id, str) and ID_RE.fullmatch(piece_id):
            found = self.session.get(piece_id) or self.tunebook.get(piece_id)
            if found is not None:
                return found
        raise StudioError("no such piece (the server was restarted and it was not kept?)", status=404)

    def card(self, record) -> dict:
        return card(record, self.tunebook.get(record.id) is not None)


# ---- the guard: host names, same origin and the token, bounded bodies, one-line errors


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": printable(message)[:500]}, status_code=status)


class Guard:
    """ASGI middleware: answers only the studio's own host names, refuses a state-changing
    request from another site or without the token, and adds the security headers."""

    def __init__(self, app, studio: Studio):
        self.app, self.studio = app, studio

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refusal(scope["method"], headers)
        if refusal is not None:
            self.studio.log(f"studio: {scope['method']} {printable(scope['path'])[:120]}: {refusal[0]} {refusal[1]}")
            return await _error(refusal[1], refusal[0])(scope, receive, send)

        async def secured(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + SECURITY_HEADERS}
            await send(message)

        await self.app(scope, receive, secured)

    def refusal(self, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        studio = self.studio
        if headers.get("host", "").strip().lower() not in studio.hosts:
            return 421, "unknown host: this server answers only " + " and ".join(sorted(studio.hosts))
        if method in ("GET", "HEAD"):
            return None
        site = headers.get("sec-fetch-site")
        if site is not None and site.strip().lower() not in ("same-origin", "none"):
            return 403, f"cross-site request refused (Sec-Fetch-Site {site[:40]})"
        origin = headers.get("origin")
        if origin is not None and origin.strip().lower() not in studio.origins:
            return 403, f"cross-site request refused (Origin {origin[:80]})"
        referer = headers.get("referer")
        if origin is None and referer is not None:
            parts = urllib.parse.urlsplit(referer.strip())
            if f"{parts.scheme}://{parts.netloc}".lower() not in studio.origins:
                return 403, "cross-site request refused (Referer)"
        given = headers.get(TOKEN_HEADER.lower(), "").strip().encode("latin-1", "replace")
        if not hmac.compare_digest(given, studio.token.encode("ascii")):
            return 403, f"missing or wrong {TOKEN_HEADER} (reload the page)"
        return None


def _status(e: Exception) -> int:
    return getattr(e, "status", 400)


CONTROLS = {"--meter": "Meter", "--key": "Key", "--bars": "Bars", "--tuning": "Tuning", "--capo": "Capo"}
CONTROLS |= {"--seed-bars": "Seed bars", "--seed": "Motif", "--temperature": "Temperature", "--num": "How many"}
"""The command line's flags in pipeline's messages, as the page labels its controls."""


def _one_line(studio: Studio, e: Exception) -> tuple[str, int]:
    """An exception as the page says it: a user error's message, else an internal error."""
    if isinstance(e, (UsageError, OSError)):
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        for flag, label in CONTROLS.items():
            message = re.sub(re.escape(flag) + r"\b(?!-)", label, message)
        return message, _status(e) if isinstance(e, UsageError) else 400
    studio.log(f"studio: internal error ({type(e).__name__}): {printable(str(e))[:200]}")
    if encoders.debugging():
        raise e
    return f"internal error ({type(e).__name__}): {str(e)[:200]}", 500


def endpoint(handler: Callable) -> Callable:
    """An endpoint whose every failure is one line of JSON (never a traceback)."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        studio = request.app.state.studio
        try:
            return await handler(studio, request)
        except Exception as e:  # noqa: BLE001 - every failure becomes one line in the page
            message, status = _one_line(studio, e)
            return _error(message, status)

    return wrapper


async def _json(request: Request, limit: int = MAX_BODY) -> Any:
    if (request.headers.get("content-type") or "").split(";")[0].strip().lower() != "application/json":
        raise StudioError("Content-Type must be application/json", status=415)
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
        raise StudioError(f"the request is over {limit:,} bytes", status=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise StudioError(f"the request is over {limit:,} bytes", status=413)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise StudioError("the request is not JSON") from None
    if not isinstance(data, dict):
        raise StudioError("expected a JSON object")
    return data


# ---- generating: the plan is checked before the answer starts, then each piece is one line


class Plan:
    """What one Generate (or Continue, Vary, MIDI file) makes: `num` pieces, each asked of
    pipeline.generate with the controls as its keywords (meter, key, bars, tuning, capo) and
    the motif, or the piece to go on from, as its seed."""

    def __init__(self, studio: Studio, body: dict):
        self.studio = studio
        parent = studio.record(body.get("from")) if body.get("from") else None
        if parent is not None:  # Continue and Vary go on with the piece's own model
            body = {**body, "model": parent.model}
        self.settings = s = compose.parse_settings(body)
        self.info = studio.shelf.info(s.model)
        self.parent, self.made, self.midi, self.asked = parent, "new", None, {}
        action = body.get("action") if parent is not None else None
        if action == "continue":  # the piece without its end, and Bars (else 8) more bars
            self.made, self.seed = "continue", compose.continue_seed(parent.text, parent.scheme)
            self.asked["bars"] = len(compose.bar_ends(parent.text, parent.scheme)) + (s.bars or 8)
        elif action == "vary":  # the bars before bar N, then as many bars as the piece had
            self.made, self.seed = "vary", compose.vary_seed(parent.text, parent.scheme, body.get("bar"))
            self.asked["bars"] = max(len(compose.bar_ends(parent.text, parent.scheme)), int(body["bar"]))
        elif parent is not None:
            raise StudioError("action must be continue or vary")
        elif body.get("midi"):
            self.made, self.seed, self.midi = "midi", None, self._midi(body["midi"])
        else:
            self.seed = self._new(s)
        self.loaded = studio.shelf.loaded(self.info.name)
        if self.seed:
            self._check_motif()

    def _new(self, s: compose.Settings) -> str | None:
        """The keywords of a new piece (those its scheme's header takes), and its seed: the motif."""
        fields = encoders.get(self.info.scheme).header_fields
        asked = {"meter": s.meter, "key": s.key, "tuning": s.tuning, "capo": s.capo}
        self.asked = {k: v for k, v in asked.items() if v and k in fields}
        if s.bars:
            self.asked["bars"] = s.bars
        if s.motif and self.info.kind == KIND_ABC and not (s.meter and s.key):
            raise StudioError("choose a Meter and a Key for the Motif (the motif is the tune's first notes)")
        return s.motif or None

    def _midi(self, data: Any) -> bytes:
        if self.info.kind != KIND_MIDI:
            raise StudioError(f"the {self.info.name} model does not continue MIDI files; choose a MIDI model")
        if not isinstance(data, str) or len(data) > MAX_MIDI * 4 // 3 + 4:
            raise StudioError(f"the MIDI file must be at most {MAX_MIDI // (1 << 20)} MB")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise StudioError("the MIDI file did not arrive whole (bad base64)") from None
        if not raw.startswith(b"MThd"):
            raise StudioError("the uploaded file is not a MIDI file (it does not start with MThd)")
        return raw

    def _check_motif(self) -> None:
        missing = self.loaded.vocab.missing(self.seed)
        if missing:
            shown = ", ".join(repr(c) for c in missing[:8])
            raise StudioError(f"the Motif has characters the {self.info.name} model does not know: {shown}")

    def one(self, random_seed: int):
        """One piece, made now (blocking: run in a worker thread)."""
        from musicrnn import pipeline

        s = self.settings
        with self.studio.model_lock:
            if self.midi is not None:
                text, repairs = self._continue_midi(random_seed)
            else:
                made = pipeline.generate(
                    self.loaded, seed=self.seed, num=1, temperature=s.temperature, random_seed=random_seed, **self.asked
                )
                text, repairs = made[0].text, made[0].repairs
        codec = encoders.get(self.info.scheme)
        if not codec.sniff(text):  # a scheme whose decoder answers in another form (tab rows)
            again = codec.encode_text(text).pieces
            text = again[0] if again else text
        about = {k: v for k, v in asdict(s).items() if v not in ("", None)} | {"random_seed": random_seed}
        return self.studio.session.add(
            self.info.name,
            self.info.scheme,
            self.info.kind,
            text,
            made=self.made,
            parent=self.parent.id if self.parent else None,
            settings=about,
            repairs=[str(r) for r in repairs[:20]],
        )

    def _continue_midi(self, random_seed: int):
        from musicrnn import pipeline

        path = inside(self.studio.folder, ".uploads") / f"{secrets.token_hex(8)}.mid"
        path.write_bytes(self.midi)
        try:
            done = pipeline.continue_file(
                path,
                self.loaded,
                seed_bars=self.settings.seed_bars,
                bars=self.settings.bars or 8,
                temperature=self.settings.temperature,
                random_seed=random_seed,
            )
        finally:
            path.unlink(missing_ok=True)
        return done.source.text, done.source.repairs


@endpoint
async def generate(studio: Studio, request: Request) -> Response:
    plan = await run_in_threadpool(Plan, studio, await _json(request, MAX_MIDI * 2))
    seeds = [secrets.randbelow(2**32) for _ in range(plan.settings.num)]
    first = await run_in_threadpool(plan.one, seeds[0])  # its errors are the request's (4xx)

    async def lines():
        yield json.dumps({"card": studio.card(first)}) + "\n"
        for seed in seeds[1:]:
            try:
                record = await run_in_threadpool(plan.one, seed)
                line = {"card": studio.card(record)}
            except Exception as e:  # noqa: BLE001 - one line in the page, the batch stops
                line = {"error": _one_line(studio, e)[0]}
            yield json.dumps(line) + "\n"
            if "error" in line:
                return
        yield json.dumps({"done": len(seeds)}) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@endpoint
async def keep(studio: Studio, request: Request) -> Response:
    record = studio.record((await _json(request)).get("id"))
    await run_in_threadpool(studio.tunebook.keep, record)
    return JSONResponse({"kept": True, "id": record.id})


@endpoint
async def discard(studio: Studio, request: Request) -> Response:
    record = studio.record((await _json(request)).get("id"))
    await run_in_threadpool(studio.tunebook.drop, record.id)
    return JSONResponse({"kept": False, "id": record.id})


@endpoint
async def transpose(studio: Studio, request: Request) -> Response:
    body = await _json(request)
    parent = studio.record(body.get("id"))
    text = compose.transpose_text(parent.text, parent.scheme, body.get("semitones"))
    record = studio.session.add(
        parent.model, parent.scheme, parent.kind, text, made="transpose", parent=parent.id, settings=parent.settings
    )
    return JSONResponse({"card": await run_in_threadpool(studio.card, record)})


# ---- reading


def _page(studio: Studio) -> bytes:
    page = resources.files("musicrnn.studio").joinpath("static/index.html").read_bytes()
    meta = f'<meta name="musicrnn-token" content="{studio.token}">'.encode("ascii")
    return page.replace(b"<head>", b"<head>\n" + meta, 1)


@endpoint
async def index(studio: Studio, request: Request) -> Response:
    return Response(_page(studio), media_type="text/html; charset=utf-8")


@endpoint
async def static(studio: Studio, request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        raise StudioError("not found", status=404)
    return Response(resources.files("musicrnn.studio").joinpath("static", name).read_bytes(), media_type=STATIC[name])


@endpoint
async def models(studio: Studio, request: Request) -> Response:
    listed = [info.public() for info in studio.shelf.models.values()]
    keys = {group: names.split() for group, names in KEYS.items()}
    return JSONResponse({"models": listed, "keys": keys, "max_num": compose.MAX_HOW_MANY})


@endpoint
async def tunebook(studio: Studio, request: Request) -> Response:
    cards = await run_in_threadpool(lambda: [studio.card(r) for r in studio.tunebook.all()])
    return JSONResponse({"cards": cards, "skipped": studio.tunebook.skipped})


def _attachment(data: bytes, media: str, filename: str) -> Response:
    quoted = urllib.parse.quote(filename)
    return Response(data, media_type=media, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quoted}"})


@endpoint
async def piece_file(studio: Studio, request: Request) -> Response:
    record = studio.record(request.path_params["id"])
    name = request.path_params["file"]
    data, media = await run_in_threadpool(studio.session.asset, record, name)
    if request.query_params.get("download"):
        suffix = encoders.get(record.scheme).suffixes[0] if name == "piece.txt" else Path(name).suffix
        return _attachment(data, media, _slug(record.name) + suffix)
    return Response(data, media_type=media)


@endpoint
async def export_abc(studio: Studio, request: Request) -> Response:
    return _attachment(studio.tunebook.abc().encode("utf-8"), "text/vnd.abc; charset=utf-8", "tunebook.abc")


@endpoint
async def export_zip(studio: Studio, request: Request) -> Response:
    return _attachment(await run_in_threadpool(studio.tunebook.zip), "application/zip", "tunebook.zip")


def make_app(studio: Studio) -> Starlette:
    """The studio's ASGI app (serve it with uvicorn on 127.0.0.1:studio.port)."""
    routes = [
        Route("/", index),
        Route("/static/{name}", static),
        Route("/api/models", models),
        Route("/api/tunebook", tunebook),
        Route("/api/tunebook.abc", export_abc),
        Route("/api/tunebook.zip", export_zip),
        Route("/api/piece/{id}/{file}", piece_file),
        Route("/api/generate", generate, methods=["POST"]),
        Route("/api/keep", keep, methods=["POST"]),
        Route("/api/discard", discard, methods=["POST"]),
        Route("/api/transpose", transpose, methods=["POST"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guard, studio=studio)])
    app.state.studio = studio
    return app
