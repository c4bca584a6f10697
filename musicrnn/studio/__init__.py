"""musicrnn studio: a local web app to generate, hear, compare, continue and keep pieces.

    musicrnn studio [--port N] [--models DIR ...] [--folder outputs/studio] [--open]

serves one page on http://127.0.0.1:PORT/ (see docs/studio.md): the controls (Model,
Meter, Key, Bars, Temperature, How many, Motif; tuning and capo for tab models, a MIDI
file to continue for MIDI models), cards streamed as each piece is finished (score, tab,
audio, piano roll, text; Keep, Discard, Continue, Vary from bar N, Transpose, downloads)
and the tunebook: kept pieces, one file each under FOLDER/tunebook/, exported as one
ABC file or a zip.

Modules: `compose` (the controls checked; the seeds that start, continue and vary a
piece), `models` (the models offered, each loaded once), `pieces` (the session's pieces
and their files, made on demand), `tunebook` (the kept pieces on disk), `server` (the
Starlette app and its guard: host names, same-origin token, bounded bodies, one-line
errors).  The page itself is package data: static/index.html, studio.js, studio.css.
"""

from __future__ import annotations

import os
import socket
import webbrowser
from collections.abc import Callable

__all__ = ["serve_studio"]


def serve_studio(
    port: int = 0,
    models: list[str | os.PathLike] = (),
    folder: str | os.PathLike = "outputs/studio",
    open_browser: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the studio on 127.0.0.1:`port` (0: a free one) until Ctrl-C; `on_ready(url)` is
    told where once it listens, and `open_browser` opens the page there."""
    import uvicorn

    from musicrnn.studio.compose import StudioError
    from musicrnn.studio.server import Studio, make_app

    if not 0 <= port <= 65535:
        raise StudioError(f"--port must be from 0 to 65535, not {port}")
    studio = Studio(folder, models)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)  # a browser opened at once waits for the server rather than being refused
    except OSError as e:
        sock.close()
        raise StudioError(f"--port {port}: cannot listen there ({e.strerror or e})") from None
    studio.set_port(sock.getsockname()[1])
    url = f"http://127.0.0.1:{studio.port}/"
    config = uvicorn.Config(make_app(studio), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    if on_ready:
        on_ready(url)
    if open_browser:
        webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
