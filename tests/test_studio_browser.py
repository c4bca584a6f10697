"""musicrnn studio in a real browser: Debian's Chromium driven by playwright (as the audition
page's tests do), against the studio served by uvicorn on 127.0.0.1.

A composer's session: set Meter and Key, Generate, the card shows a score and audio that
decodes and plays; Continue adds a card that starts with the first piece's music; one player
at a time, tempo; Keep survives a reload and a server restart; both exports download; a bad
motif is one line in the page; no console errors.

STUDIO_SCREENSHOT=docs/studio.png also saves the page as the README shows it."""

from __future__ import annotations

import os
import socket
import threading
import time
import zipfile
from pathlib import Path

import uvicorn

import encoders
from musicrnn.render import write_midi
from musicrnn.studio import compose
from musicrnn.studio.server import Studio, make_app
from tests.test_audition import browser  # noqa: F401 - the fixture: Chromium with a fresh profile

REPO = Path(__file__).resolve().parent.parent


class Served:
    """The studio on a free port of 127.0.0.1, in a thread, until `stop`."""

    def __init__(self, folder):
        self.studio = Studio(folder, log=lambda line: None)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.studio.set_port(self.sock.getsockname()[1])
        config = uvicorn.Config(make_app(self.studio), log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.studio.port}/"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def watch(tab, problems: list[str]) -> None:
    def console(message) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    tab.on("console", console)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))


def open_page(tab, url: str) -> None:
    tab.goto(url)
    tab.wait_for_selector("body[data-ready='1']", timeout=120000)


def card_text(tab, selector: str) -> str:
    return tab.eval_on_selector(selector, "card => card.querySelector('pre.text').textContent")


def wait_loaded(tab, selector: str) -> dict:
    """The card's score is drawn and its audio decodes: what Chromium says of both."""
    tab.wait_for_function(
        """sel => { const c = document.querySelector(sel);
                    const img = c.querySelector('img.score'), a = c.querySelector('audio');
                    return img.complete && img.naturalWidth > 0 && a.readyState >= 1 && a.duration > 0; }""",
        arg=selector,
        timeout=120000,
    )
    return tab.eval_on_selector(
        selector,
        """c => { const a = c.querySelector('audio'), img = c.querySelector('img.score');
                  return {duration: a.duration, error: a.error && a.error.code, width: img.naturalWidth}; }""",
    )


def test_a_composers_session_in_chromium(browser, tmp_path):  # noqa: F811 - the fixture
    folder = tmp_path / "studio"
    served = Served(folder)
    problems: list[str] = []
    try:
        tab = browser.new_page()
        watch(tab, problems)
        open_page(tab, served.url)
        for label in ("Model", "Meter", "Key", "Bars", "Temperature", "How many", "Motif"):
            assert tab.get_by_label(label, exact=True).is_visible(), label
        assert tab.get_by_role("button", name="Generate").is_visible()
        assert not tab.get_by_label("Tuning").is_visible()  # for tab models only

        # A 6/8 tune in A dorian: the card, its score and its audio, which plays.
        tab.select_option("#model", "folk")
        tab.select_option("#meter", "6/8")
        tab.select_option("#key", "Ador")
        tab.fill("#num", "2")
        tab.click("#generate")
        tab.wait_for_selector(".card:nth-of-type(1)", timeout=120000)
        first = tab.eval_on_selector(".card", "c => c.dataset.id")
        sel = f".card[data-id='{first}']"
        shown = wait_loaded(tab, sel)
        assert shown["error"] is None and shown["duration"] > 2 and shown["width"] > 100
        text = card_text(tab, sel)
        assert text.startswith("X:1\nM:6/8\nL:1/8\nK:Ador\n")
        tab.wait_for_function("() => document.querySelectorAll('.card').length === 2", timeout=120000)
        tab.eval_on_selector(sel, "c => c.querySelector('audio').play()")
        tab.wait_for_function("s => document.querySelector(s + ' audio').currentTime > 0.2", arg=sel, timeout=60000)

        # One player at a time; tempo follows the slider.
        second = tab.eval_on_selector_all(".card", "cs => cs[1].dataset.id")
        wait_loaded(tab, f".card[data-id='{second}']")
        tab.eval_on_selector(f".card[data-id='{second}']", "c => c.querySelector('audio').play()")
        tab.wait_for_function("s => document.querySelector(s + ' audio').paused", arg=sel, timeout=10000)
        tab.click("#play-all")  # from the first card on the page, the others stopped
        # the first card plays, and the others stop (their pause comes as an event: wait for it)
        tab.wait_for_function(
            "() => { const a = [...document.querySelectorAll('.card audio')];"
            " return !a[0].paused && a.slice(1).every(x => x.paused); }",
            timeout=60000,
        )
        playing = tab.eval_on_selector_all(".card audio", "as => as.map(a => !a.paused)")
        assert playing[0] and not any(playing[1:])
        tab.fill("#tempo", "150")
        tab.dispatch_event("#tempo", "input")
        rates = tab.eval_on_selector_all("audio", "as => as.map(a => a.playbackRate)")
        assert rates and all(abs(r - 1.5) < 1e-6 for r in rates)
        tab.click("#stop")

        # Continue: a new card that starts with the first piece's music.
        tab.fill("#num", "1")
        tab.click(f"{sel} button.continue")
        tab.wait_for_function("() => document.querySelectorAll('.card').length === 3", timeout=120000)
        continued = tab.eval_on_selector(".batch .card", "c => c.dataset.id")  # the newest batch is on top
        assert continued not in (first, second)
        assert card_text(tab, f".card[data-id='{continued}']").startswith(compose.continue_seed(text, "abc"))
        wait_loaded(tab, f".card[data-id='{continued}']")

        # Keep: it stays kept across a reload...
        tab.click(f"{sel} button.keep")
        tab.wait_for_selector(f"{sel}.kept")
        tab.fill("#tempo", "100")
        tab.dispatch_event("#tempo", "input")
        tab.evaluate("window.scrollTo(0, 0)")
        tab.wait_for_selector("#generate:not([disabled])")
        if os.environ.get("STUDIO_SCREENSHOT"):
            tab.screenshot(path=os.environ["STUDIO_SCREENSHOT"], full_page=False)
        tab.reload()
        tab.wait_for_selector(f"#tunebook {sel}.kept", timeout=120000)
        assert tab.inner_text("#book-count") == "tunebook: 1 kept"

        # ...and a restart of the server.
        served.stop()
        served = Served(folder)
        open_page(tab, served.url)
        tab.wait_for_selector(f"#tunebook {sel}.kept", timeout=120000)
        assert card_text(tab, sel) == text
        assert wait_loaded(tab, sel)["error"] is None

        # The exports download: the tune as ABC, and the zip of text and MIDI.
        with tab.expect_download() as download:
            tab.click("#export-abc")
        download.value.save_as(tmp_path / "book.abc")
        assert (tmp_path / "book.abc").read_text(encoding="utf-8").strip() == text.strip()
        with tab.expect_download() as download:
            tab.click("#export-zip")
        download.value.save_as(tmp_path / "book.zip")
        with zipfile.ZipFile(tmp_path / "book.zip") as z:
            assert z.testzip() is None
            assert sorted(z.namelist()) == ["folk-1.abc", "folk-1.mid", "tunebook.abc"]
        with tab.expect_download() as download:
            tab.click(f"{sel} a.download >> text=MIDI")
        assert download.value.suggested_filename == "folk-1.mid"
        assert problems == []

        # A MIDI model continues a MIDI file chosen in the page (a folk tune of the corpus, as MIDI).
        tune = encoders.split_stream((REPO / "corpora" / "folk.txt").read_text(encoding="utf-8")[:3000])[0]
        write_midi(encoders.get("abc").decode(tune).piece, tmp_path / "folk.mid")
        tab.select_option("#model", "midi")
        assert tab.get_by_label("MIDI to continue").is_visible() and not tab.get_by_label("Motif").is_visible()
        tab.set_input_files("#midi", str(tmp_path / "folk.mid"))
        tab.fill("#seed-bars", "2")
        tab.fill("#bars", "2")
        before = tab.eval_on_selector_all(".card", "cs => cs.length")
        tab.click("#generate")
        tab.wait_for_function("n => document.querySelectorAll('.card').length > n", arg=before, timeout=120000)
        assert "midi" in tab.inner_text(".batch .card .facts")
        assert problems == []

        # A motif the model cannot write: one line in the page (the 400 is the only console line).
        tab.select_option("#model", "folk")
        tab.fill("#bars", "")
        tab.select_option("#meter", "6/8")
        tab.select_option("#key", "Ador")
        tab.fill("#motif", "AB€c")
        tab.click("#generate")
        tab.wait_for_selector("#error:not([hidden])", timeout=120000)
        message = tab.inner_text("#error")
        assert "does not know" in message and "\n" not in message and "Traceback" not in message
        assert all("status of 400" in p for p in problems), problems
    finally:
        served.stop()
