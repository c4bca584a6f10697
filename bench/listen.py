"""What listening costs and how faithful it is, on real folk tunes, measured in one run.

    .venv/bin/python bench/listen.py [--tunes 20] [--repeats 3]

Takes the first tunes of corpora/folk.txt and, for each soundfont found
(TimGM6mb from pretty_midi's wheel; Debian's FluidR3_GM when installed), renders
every tune to WAV; times that, the piano roll, the ABC -> SVG engraving and the
MusicXML.  Prints the median over the repeats of seconds of audio made per
second of wall time (x real time) and milliseconds per tune, and, from the
files themselves, how far the WAV's length is from its MIDI's and the
peak and loudness levels.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pretty_midi
import soundfile

import encoders
from musicrnn import audio, pictures
from musicrnn.render import to_midi

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tunes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    codec = encoders.get("abc")
    texts = codec.split(encoders.read_text(ROOT / "corpora" / "folk.txt"))[: args.tunes]
    decoded = [codec.decode(t) for t in texts]
    pieces = [audio.piece_for_listening(d.piece, "abc") for d in decoded]
    midi_seconds = [to_midi(p).length for p in pieces]
    total = sum(midi_seconds)
    fonts = [("TimGM6mb", Path(pretty_midi.__file__).with_name("TimGM6mb.sf2"))]
    if audio._DEBIAN_SOUNDFONT.is_file():
        fonts.append(("FluidR3_GM", audio._DEBIAN_SOUNDFONT))

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, font in fonts:
            audio.render_samples(to_midi(pieces[0]), font)  # load the soundfont once, outside the clock
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                for i, p in enumerate(pieces):
                    audio.write_audio(p, tmp / f"{name}-{i}.wav", soundfont=font)
                times.append(time.perf_counter() - t0)
            wall = statistics.median(times)
            errors, peaks, levels = [], [], []
            for i, seconds in enumerate(midi_seconds):
                data, rate = soundfile.read(str(tmp / f"{name}-{i}.wav"), always_2d=True)
                errors.append(100 * (len(data) / rate - seconds) / seconds)
                peak, loud = audio.measure(data, rate)
                peaks.append(peak)
                levels.append(loud)
            rows.append(
                (
                    f"WAV, {name}",
                    f"{total / wall:.0f}x real time",
                    f"{1000 * wall / len(pieces):.0f}",
                    f"length vs MIDI +{min(errors):.1f}..+{max(errors):.1f}%, peak <= {max(peaks):.1f} dBFS, "
                    f"loudness {min(levels):.1f}..{max(levels):.1f} dBFS",
                )
            )
        for label, make in (
            ("piano roll PNG", lambda i: pictures.piano_roll_png(decoded[i].piece, tmp / f"{i}.png")),
            (
                "ABC -> SVG (verovio, child process)",
                lambda i: pictures.score_svg(decoded[i].piece, tmp / f"{i}.svg", text=texts[i], scheme="abc"),
            ),
            ("MusicXML (music21)", lambda i: pictures.write_musicxml(decoded[i].piece, tmp / f"{i}.musicxml")),
        ):
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                for i in range(len(pieces)):
                    make(i)
                times.append(time.perf_counter() - t0)
            rows.append((label, "", f"{1000 * statistics.median(times) / len(pieces):.0f}", ""))

    print(f"{len(pieces)} folk tunes, {total:.0f} s of music; medians of {args.repeats} runs")
    print(f"{'output':38} {'speed':>18} {'ms/tune':>8}  checked in the files")
    for label, speed, ms, note in rows:
        print(f"{label:38} {speed:>18} {ms:>8}  {note}")


if __name__ == "__main__":
    main()
