#!/bin/sh
# Recipe of the bundled folk model (musicrnn/models/folk): `make model`.
# Trains on corpora/folk.txt on the CPU within a 100-minute wall-clock budget (2 cores
# here), piece-aligned (every tune read from the sampler's zero state), keeps the best
# checkpoint on the held-out tunes, then ships its weights as float16 package data with
# the JSON metadata, and prints the music table.  Run it in the background:
#   nohup make model > outputs/model.log 2>&1 &
set -eu
MUSICRNN=.venv/bin/musicrnn
MINUTES=${MINUTES:-100}
$MUSICRNN train corpora/folk.txt --out outputs/models/folk \
    --hidden 512 --layers 2 --embed 64 --dropout 0.2 \
    --batch-size 64 --seq-len 128 --lr 3e-3 \
    --max-steps 1000000 --max-minutes "$MINUTES" --eval-every 200 --patience 12 \
    --random-seed 1 --force
.venv/bin/python -c "from musicrnn.checkpoint import export; export('outputs/models/folk', 'musicrnn/models/folk')"
$MUSICRNN evaluate --model musicrnn/models/folk corpora/folk.txt --samples 50 --random-seed 0
