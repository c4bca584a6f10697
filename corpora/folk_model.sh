#!/bin/sh
# Recipe of the bundled folk model (musicrnn/models/folk): `make model`.
# Every tune of corpora/folk.txt moved to tonic C (corpora/folk_in_c.py: the tonic is one
# letter for the whole corpus), then a 2x512 char-LSTM trained on the CPU within a 95-minute
# wall-clock budget (2 cores here), piece-aligned (every tune read from the sampler's zero
# state), keeping the best checkpoint on the held-out tunes (the same tunes as folk.txt's
# split); the model is told it is at home on C with the keys the tunes were in (generate
# moves its tunes back out), shipped as float16 package data with the JSON metadata, and
# its music table printed.  Run it in the background:
#   nohup make model > outputs/model.log 2>&1 &
set -eu
MUSICRNN=.venv/bin/musicrnn
MINUTES=${MINUTES:-95}
.venv/bin/python corpora/folk_in_c.py corpora/folk.txt corpora/folk_c.txt
$MUSICRNN train corpora/folk_c.txt --out outputs/models/folk \
    --hidden 512 --layers 2 --embed 64 --dropout 0.2 \
    --batch-size 64 --seq-len 128 --lr 3e-3 \
    --max-steps 1000000 --max-minutes "$MINUTES" --eval-every 200 --patience 12 \
    --random-seed 1 --force
.venv/bin/python corpora/folk_in_c.py --meta outputs/models/folk corpora/folk.txt
.venv/bin/python -c "from musicrnn.checkpoint import export; export('outputs/models/folk', 'musicrnn/models/folk')"
$MUSICRNN evaluate --model musicrnn/models/folk corpora/folk_c.txt --samples 200 --random-seed 0
