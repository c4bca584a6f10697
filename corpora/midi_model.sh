#!/bin/sh
# Recipe of the bundled MIDI model (musicrnn/models/midi, scheme roll): `make midi-model`.
# 1. The piano corpus (corpora/piano_roll.txt, `make piano-corpus`): 8 real piano pieces
#    (14.9 minutes) and 1,302 chorales and folk tunes arranged for two hands.
# 2. corpora/midi_piano.py: each real piece also in 7 other keys (oversampled: about a
#    tenth of the stream), the held-out pieces never read -> corpora/midi_piano.txt.
# 3. A 2x256 LSTM trained within a 42-minute wall-clock budget on the CPU, every piece also
#    in 2 other keys (`--transpose 2`), one torch thread (the machine's 2 cores were shared),
#    the best checkpoint on the held-out pieces kept, shipped as float16 package data.
# 4. Its continuations of held-out piano beside the real music's (tools/continuation_figures.py).
# Run it in the background:  nohup make midi-model > outputs/midi_model.log 2>&1 &
set -eu
PY=${PY:-.venv/bin/python}
MUSICRNN="$PY -m musicrnn"
$PY corpora/midi_piano.py
$MUSICRNN train corpora/midi_piano.txt --out outputs/models/midi \
    --hidden 256 --layers 2 --embed 64 --dropout 0.1 \
    --batch-size 64 --seq-len 128 --lr 3e-3 \
    --max-steps 1100 --max-minutes 42 --eval-every 100 --patience 8 --transpose 2 \
    --threads 1 --random-seed 1 --force
$PY -c "from musicrnn.checkpoint import export; export('outputs/models/midi', 'musicrnn/models/midi')"
$PY -m tools.continuation_figures --model musicrnn/models/midi --free --samples 2
