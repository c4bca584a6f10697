r"""Schemes ``rows`` and ``columns``: guitar (and bass) tablature as text.

Reading real tabs
-----------------
A tab file is messy text: a title, a ``Tuning: Drop D`` line, chord names above
the staff, lyrics and ``[Verse]`` labels between staves, several systems one
after another.  The reader keeps only the *staves*: runs of 4, 6 or 7 (bass,
guitar, 7-string) consecutive *string lines*.  A string line is an optional
label (``e|``, ``E|``, ``Eb|``, ``D|`` or none) and a body made of dashes, bar
lines, frets and technique marks, e.g. ``e|--0--3h5--|``; whatever follows the
body after a space (``x2``, comments) is ignored, as is every other line.

* Frets 0-24, two-digit ones included (digits are read greedily: ``12`` is
  twelve, ``25`` is 2 then 5).
* Techniques, kept as they are: ``h p b r / \ ~ x ( ) v t s ^ < >``
  (``X`` reads as ``x``; ``(5)`` is a ghost note: ``(``, ``5``, ``)``).
* Bar lines and repeats: ``|``, ``||``, ``|:``, ``:|``, ``:|:`` (``*`` repeat
  dots read as ``:``).  The ``|`` right after a label opens the staff and is no bar.
* Ragged lines are padded with ``-`` (a closing bar is kept at the end).
* Tuning: the header (``Tuning: standard | Drop D | Drop C | DADGAD | Eb
  standard | half step down | open G | D A D G B E``...) wins; else the string
  labels (``D|`` on the low string gives drop D); else standard for the string
  count (E A D G B E; bass E A D G; 7-string B E A D G B E).
* Capo and tempo: the first line outside the staves that names a capo
  (``Capo: 3``, ``capo on 2nd fret``, ``Capo III``; ``No capo``) raises every
  pitch by that many semitones (the frets count from the capo, as written); the
  first that states a tempo (``Tempo: 140``, ``BPM: 96``, ``92 bpm``) sets the
  tempo.  Both go into the header (below).
* A file is one piece, whatever blank lines it has: its systems are joined in
  time.  A file with no staff raises `InputError`
  naming the file; a broken staff (an unknown character, a run of 3 or 5 lines,
  another string count) is a `Problem` with line and column and is skipped.
* Files: ``.tab`` and ``.crd``, and ``.txt`` when a tab scheme is asked for
  (``--scheme columns``: a ``.txt`` is as often a stream of another scheme);
  Guitar Pro files ``.gp3 .gp4 .gp5`` through `encoders.tab.guitarpro` (one
  track, option ``track``).

The model behind both schemes is a grid: per system, a list of *events*, each a
bar token or a *step* (one time column) with one symbol per string.

Symbols (one character per string, low string first in ``columns``)::

    -            nothing on this string
    0-9          frets 0-9
    A-O          frets 10-24 (A=10 B=11 C=12 D=13 E=14 F=15 G=16 H=17 I=18
                 J=19 K=20 L=21 M=22 N=23 O=24)
    h p b r / \ ~ x ( ) v t s ^ < >
                 a technique mark occupying that string in that column, exactly
                 where the tab writes it (``3h5`` is three steps: 3, h, 5)

Scheme ``rows``
---------------
The aligned ASCII tab: a header line ``%rows`` plus the tuning, low to high,
with octaves, then `` capo N`` (1-24) and `` tempo N`` (10-999) where the tab
states them; then each system's string lines, high string first, each a
label (the top one lower case on a guitar), ``|`` and the body.  A step is
as wide as its widest symbol (a two-digit fret makes it 2 wide, the others padded with
``-``).  Systems are separated by a line ``=``.  This is also the text every
decoder returns (`Decoded.text`).

Scheme ``columns``
------------------
A header line ``%columns`` plus the tuning (stated once), capo and tempo as in
``rows`` (``%columns E2 A2 D3 G3 B3 E4 capo 2 tempo 96``); then one line per
system of tokens, a space after every token but the last of a line:

    a step       one symbol per string, low to high (``0-----``; ``C-----`` is
                 fret 12 on the low string)
    .N           N empty steps (a run of empty time, compressed; N <= 64,
                 longer runs are written as several tokens)
    | || |: :| :|:   bar lines and repeats

Example: a 2-bar drop-D riff, raw::

    Tuning: Drop D
        D5              F5
    e|-----------|-------------|
    B|-----------|-------------|
    G|-----------|-------------|
    D|-----------|-------------|
    A|-----------|---------3h5-|
    D|0-0-0-3-5--|0-0-0-12-----|

as ``rows``::

    %rows D2 A2 D3 G3 B3 E4
    e|-----------|-------------|
    B|-----------|-------------|
    G|-----------|-------------|
    D|-----------|-------------|
    A|-----------|---------3h5-|
    D|0-0-0-3-5--|0-0-0-12-----|

as ``columns``::

    %columns D2 A2 D3 G3 B3 E4
    0----- .1 0----- .1 0----- .1 3----- .1 5----- .2 | 0----- .1 0----- .1 0----- .1 C----- .1 -3---- -h---- -5---- .1 |

Round trips: tab text -> stream -> tab text -> stream is exact for both
schemes, and `rows_to_columns` / `columns_to_rows` convert losslessly.

Decoding to a `Piece`: program 25 (acoustic steel guitar; 33 for a 4-string
bass), pitch = open string + capo + fret, each step 1/4 beat, bars take no
time, at the header's tempo (120 when it has none).  A
note rings until the next note or an ``x`` on its string, or the end; a fret
inside ``( )`` is a ghost note (velocity 50); ``x`` (mute) is skipped.  Every
fret is played, including the targets of ``h p b r / \``.  Generated text is
repaired, never raised on: a group with the wrong number of symbols is padded
or cut, an unknown symbol becomes ``-``, an unknown token is dropped, two
adjacent bars are merged, two frets that would read as one (``1`` then ``2`` on
a string) get an empty step between them; each repair is reported.

Modules: `codec` (the two schemes), `symbols` (the `Tab` model, its symbols and
tunings, the canonical form), `reading` (raw tabs and both schemes' text),
`writing` (``rows`` and ``columns`` text), `playing` (a Tab's notes), `grammar`
(validity-guided sampling for ``columns``), `fretting` (notes -> a playable tab),
`arranging` (any piece -> a ``.tab`` staff or ``.gp5`` file in standard tuning),
`guitarpro` (Guitar Pro files in and out).
"""

from encoders.tab.codec import (
    COLUMNS,
    MAX_TEXT_CHARS,
    ROWS,
    ColumnsScheme,
    RowsScheme,
    TabScheme,
    columns_to_rows,
    rows_to_columns,
)
from encoders.tab.playing import tab_to_piece
from encoders.tab.reading import parse_columns, parse_tab
from encoders.tab.symbols import (
    BARS,
    DEFAULT_TUNINGS,
    FRET_LETTERS,
    MAX_RUN,
    NAMES,
    PROGRAM_BASS,
    PROGRAM_GUITAR,
    STEP_BEATS,
    STRING_COUNTS,
    SYMBOLS,
    TECHNIQUES,
    Tab,
    canonical,
    fret_symbol,
    header_tuning,
    pitch_name,
    symbol_fret,
    symbol_text,
)
from encoders.tab.writing import render_columns, render_rows

__all__ = [
    "BARS",
    "COLUMNS",
    "ColumnsScheme",
    "DEFAULT_TUNINGS",
    "FRET_LETTERS",
    "MAX_RUN",
    "MAX_TEXT_CHARS",
    "NAMES",
    "PROGRAM_BASS",
    "PROGRAM_GUITAR",
    "ROWS",
    "RowsScheme",
    "STEP_BEATS",
    "STRING_COUNTS",
    "SYMBOLS",
    "TECHNIQUES",
    "Tab",
    "TabScheme",
    "canonical",
    "columns_to_rows",
    "fret_symbol",
    "header_tuning",
    "parse_columns",
    "parse_tab",
    "pitch_name",
    "render_columns",
    "render_rows",
    "rows_to_columns",
    "symbol_fret",
    "symbol_text",
    "tab_to_piece",
]
