#!/bin/sh
# Recipe of the bundled folk model (musicrnn/models/folk): `make model`.
# Trains on corpora/folk.txt on the CPU within a 28-minute wall-clock budget (2 cores
# here), keeps the best checkpoint on the held-out tunes, then ships its weights as
# float16 package data with the JSON metadata.  Run it in the background:
#   nohup make model > outputs/model.log 2>&1 &
set -eu
MUSICRNN=.venv/bin/musicrnn
$MUSICRNN train corpora/folk.txt --out outputs/models/folk \
    --hidden 384 --layers 2 --embed 64 --dropout 0.1 \
    --batch-size 64 --seq-len 128 --lr 3e-3 \
    --max-steps 100000 --max-minutes 28 --eval-every 250 --patience 8 \
    --random-seed 1 --force
.venv/bin/python -c "from musicrnn.checkpoint import export; export('outputs/models/folk', 'musicrnn/models/folk')"
$MUSICRNN evaluate --model musicrnn/models/folk corpora/folk.txt --samples 50 --random-seed 0
