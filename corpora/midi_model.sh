#!/bin/sh
# Recipe of the bundled MIDI model (musicrnn/models/midi, scheme roll): `make midi-model`.
# 1. The corpus's MIDI files, made here with no download: Bach chorales exported by
#    music21, 3,000 folk tunes played by our ABC player (corpora/midi_corpus.py).
# 2. Those files encoded like anybody's MIDI: `musicrnn encode --scheme roll` -> corpora/midi.txt.
# 3. A 2x256 LSTM trained within a 25-minute wall-clock budget on the CPU (one torch
#    thread: the bundled one was trained while three other jobs shared the 2 cores, where
#    one thread ran several times faster than two), the best checkpoint on the held-out
#    pieces kept, shipped as float16 package data.
# Run it in the background:  nohup make midi-model > outputs/midi_model.log 2>&1 &
set -eu
PY=${PY:-.venv/bin/python}
MUSICRNN="$PY -m musicrnn"
rm -rf outputs/midi_corpus/folk
$PY corpora/midi_corpus.py outputs/midi_corpus --folk 3000
$MUSICRNN encode outputs/midi_corpus --scheme roll --out corpora/midi.txt --force
$MUSICRNN train corpora/midi.txt --out outputs/models/midi \
    --hidden 256 --layers 2 --embed 64 --dropout 0.1 \
    --batch-size 64 --seq-len 128 --lr 3e-3 \
    --max-steps 100000 --max-minutes 25 --eval-every 100 --patience 8 \
    --threads 1 --random-seed 1 --force
$PY -c "from musicrnn.checkpoint import export; export('outputs/models/midi', 'musicrnn/models/midi')"
$MUSICRNN evaluate --model musicrnn/models/midi corpora/midi.txt --samples 50 --random-seed 0
