"""Scheme ``abc``: folk tunes in ABC notation, normalized so a char-LSTM learns music, not noise.

The stream is plain ABC (standard 2.1): one tune per block, blocks separated by
one blank line.  Encoding keeps what is needed to play a tune and drops the rest:

    X:1              always first; every tune of a stream is X:1 (so a model is
                     seeded with "X:1"); files of several tunes get 1..N when written
    T:<title>        only with the option titles=True
    M:<meter>        always (C -> 4/4, C| -> 2/2, M:none for free meter)
    L:<unit>         always (the default the standard derives from M, made explicit)
    Q:<tempo>        when the source has one, as 1/4=120
    R:<rhythm>       when the source has one, lower case
    K:<key>          always, and always the last header line (K:C when absent)
    <music lines>    notes, rests, bar lines, repeats and endings, chords [CEG],
                     chord symbols "Am", tuplets (3, ties -, broken rhythm > <,
                     grace notes {g}, slurs ( ), the decorations ~ and ., and
                     inline [K:] [M:] [L:] fields

Dropped: comments (%), lyrics (w: W:), other header fields, !long! and +long+
decorations (fingerings among them), free-text annotations ("^text", "_text",
"<text", ">text", "@text"), line continuations (joined), repeated spaces.
Line ends are kept where a bar line is (the Essen collection leaves the bar line
at a line end implicit; the encoder writes it).

A tiny example, raw and encoded:

    X: 12                      X:1
    T:The Kesh                 M:6/8
    % from a session           L:1/8
    M:6/8                      R:jig
    R:Jig                      K:G
    K:G                        |:GAG GAB|ABA ABd:|
    |:GAG GAB|ABA ABd:|

Decoding plays a tune the way abc2midi, the reference player, does (see
`player`); the `grammar` says which next characters keep a generated tune
playable (a bar never longer than the meter, no header field inside the music).

Modules: `tokens` (a lossless ABC tokenizer), `player` (ABC -> Piece),
`normalize` (raw ABC -> the encoded form above, transposition), `corpus` (the
folk corpus from music21's wheel), `grammar` (validity-guided sampling).
"""

from __future__ import annotations

import random
import re
from typing import Callable, Iterable

from encoders import EncodeResult, GrammarState, register, split_stream
from encoders.piece import Decoded


class AbcCodec:
    """The ``abc`` scheme (see the module docstring for the encoded form)."""

    name = "abc"
    suffixes = (".abc",)
    seed = "X:1"

    def encode_text(self, text: str, path: str = "", **options) -> EncodeResult:
        from encoders.abc.normalize import normalize

        return normalize(text, path=path, **options)

    def decode(self, text: str, path: str = "") -> Decoded:
        from encoders.abc.player import play

        return play(text, path=path)

    def split(self, stream: str) -> list[str]:
        """Tunes of a stream or of any ABC file: a tune starts at an X: line and ends
        at a blank line (as in the standard and abc2midi); text before the first X:
        (a file header, free text) is not a tune.  Text with no X: at all is one tune."""
        blocks = split_stream(stream)
        if not any(re.match(r"X:", line) for b in blocks for line in b.splitlines()):
            return blocks
        tunes: list[str] = []
        for block in blocks:
            current: list[str] | None = None
            for line in block.splitlines(keepends=True):
                if line.startswith("X:"):
                    if current:
                        tunes.append("".join(current))
                    current = [line]
                elif current is not None:
                    current.append(line)
            if current:
                tunes.append("".join(current))
        return [t if t.endswith("\n") else t + "\n" for t in tunes]

    def sniff(self, text: str) -> bool:
        return bool(re.match(r"\s*(%[^\n]*\n\s*)*X:", text))

    def grammar(self, options: dict | None = None) -> GrammarState | None:
        """Validity-guided decoding; `options` (the model's scheme options, see
        `corpus_options`) hold the header to the meters and R: values its corpus has."""
        from encoders.abc.grammar import AbcGrammar

        options = options or {}
        return AbcGrammar(meters=options.get("meters"), rhythms=options.get("rhythms"))

    def corpus_options(self, stream: str) -> dict:
        """What a model trained on `stream` keeps with it (its "scheme_options"): the M: and
        R: values of the stream's tunes, so its tunes use only headers the corpus has."""
        from encoders.abc.figures import figures

        heads = [figures(t, header_only=True) for t in split_stream(stream)]
        return {"meters": sorted({h["meter"] for h in heads}),
                "rhythms": sorted({h["rhythm"] for h in heads if h["rhythm"]})}

    def body(self, text: str) -> str:
        """The music lines: everything after the first K: header line."""
        m = re.search(r"^K:[^\n]*\n", text, flags=re.M)
        return text[m.end():] if m else text

    def music_key(self, text: str) -> str:
        """What makes two tunes the same music (for de-duplication): no X:, T:, Q:, R:."""
        from encoders.abc.corpus import music_key

        return music_key(text)

    def figures(self, text: str, header_only: bool = False) -> dict:
        """The header's choices and the written form, for the music table (see `figures`)."""
        from encoders.abc.figures import figures

        return figures(text, header_only)

    def complete_seed(self, seed: str) -> str:
        """The seed's header in the stream's order, with X: and L: filled in (see `seed`)."""
        from encoders.abc.seed import complete_seed

        return complete_seed(seed)

    def augmenter(self, pieces: Iterable[str], copies: int, seed: int) -> Callable[[str], list[str]]:
        """For training: a function giving each tune in `copies` other keys, the keys drawn
        from those the tunes of `pieces` are in (see `transpose`)."""
        from encoders.abc.transpose import keys_for, transpositions

        key_counts = keys_for(pieces)
        rng = random.Random(seed)
        return lambda text: transpositions(text, copies, key_counts, rng)

    def label(self, text: str, number: int) -> str:
        if re.match(r"X:[^\n]*", text):
            return re.sub(r"^X:[^\n]*", f"X:{number}", text, count=1)
        return f"X:{number}\n{text}"


CODEC = register(AbcCodec())
