#!/bin/sh
# Recipe of the bundled folk model (musicrnn/models/folk): `make model`.
# Every tune of corpora/folk.txt moved to tonic C (corpora/folk_in_c.py: the tonic is one
# letter for the whole corpus), then a 2x512 char-LSTM that reads each character's bar in its
# strain and tune (--bar-positions) trained on the CPU, piece-aligned (every tune read from the
# sampler's zero state), dropout 0.3, every evaluation's model kept; the run stops 12
# evaluations after its lowest held-out loss (about 80 minutes on 2 cores here; MINUTES caps
# it).  The weights of the five kept checkpoints centred on that lowest loss are averaged
# (corpora/average_checkpoints.py): the mean meets the music table's goals where no single
# checkpoint did.  The model is told it is at home on C with the keys the tunes were in
# (generate moves its tunes back out), shipped as float16 package data with the JSON
# metadata, and its music table printed.  Run it in the background:
#   nohup make model > outputs/model.log 2>&1 &
set -eu
MUSICRNN=.venv/bin/musicrnn
MINUTES=${MINUTES:-100}
.venv/bin/python corpora/folk_in_c.py corpora/folk.txt corpora/folk_c.txt
$MUSICRNN train corpora/folk_c.txt --out outputs/models/folk \
    --hidden 512 --layers 2 --embed 64 --dropout 0.3 --bar-positions \
    --batch-size 64 --seq-len 128 --lr 3e-3 \
    --max-steps 1000000 --max-minutes "$MINUTES" --eval-every 200 --patience 12 \
    --random-seed 1 --keep-evals --force
.venv/bin/python corpora/average_checkpoints.py outputs/models/folk corpora/folk_c.txt \
    --out outputs/models/folk_averaged --around 2 --force
.venv/bin/python corpora/folk_in_c.py --meta outputs/models/folk_averaged corpora/folk.txt
.venv/bin/python -c "from musicrnn.checkpoint import export; export('outputs/models/folk_averaged', 'musicrnn/models/folk')"
$MUSICRNN evaluate --model musicrnn/models/folk corpora/folk_c.txt --samples 200 --random-seed 0
