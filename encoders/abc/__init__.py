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

Modules: `codec` (the scheme: what musicrnn asks of ABC), `tokens` (a lossless
ABC tokenizer), `normalize` (reading: raw ABC -> the encoded form above),
`player` (playing: ABC -> Piece), `grammar` (validity-guided sampling),
`corpus` (the folk corpus from music21's wheel), `figures` (the music table's
reading of a tune), `seed` (a user's seed in the stream's order), `transpose`
(training tunes in other keys).
"""

from __future__ import annotations

from encoders.abc.codec import CODEC, AbcScheme

__all__ = ["AbcScheme", "CODEC"]
