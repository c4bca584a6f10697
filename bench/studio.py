"""How long a composer waits for the studio's first card (issue 18: within 3 s for one ABC tune).

    python bench/studio.py [--runs 6]

Serves the studio with uvicorn on 127.0.0.1 (a fresh folder in a temporary directory), then
times each Generate of one 6/8 tune in A dorian with the folk model, as the page does it: from the
POST to the card's line in the streamed answer, then to the card's score, WAV and piano roll
fetched in parallel.  The first run loads the model.  Not a test: the machine's load decides."""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import socket
import tempfile
import threading
import time

import httpx2
import uvicorn

from musicrnn.studio.server import TOKEN_HEADER, Studio, make_app


def serve(folder: str) -> tuple[Studio, uvicorn.Server]:
    studio = Studio(folder, log=lambda line: None)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    studio.set_port(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(make_app(studio), log_level="warning", access_log=False, lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return studio, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        studio, server = serve(tmp)
        client = httpx2.Client(base_url=f"http://127.0.0.1:{studio.port}", timeout=120)
        headers = {TOKEN_HEADER: studio.token}
        body = {"model": "folk", "meter": "6/8", "key": "Ador", "num": 1}
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for run in range(args.runs):
            start = time.perf_counter()
            with client.stream("POST", "/api/generate", json=body, headers=headers) as answer:
                card = next(json.loads(line)["card"] for line in answer.iter_lines() if line.strip())
                first = time.perf_counter() - start
            files = ("score.svg", "audio.wav", "roll.png")
            with cf.ThreadPoolExecutor(len(files)) as pool:
                list(pool.map(lambda name: client.get(f"/api/piece/{card['id']}/{name}").content, files))
            whole = time.perf_counter() - start
            note = " (loads the model)" if run == 0 else ""
            print(f"run {run + 1}{note}: card {first:.2f} s, with score, audio and roll {whole:.2f} s")
        server.should_exit = True


if __name__ == "__main__":
    main()
