#!/bin/sh
# Recipe of the bundled guitar-tab model (musicrnn/models/tabs): `make tabs-model`.
# The columns scheme on corpora/tabs.txt (3,000 folk tunes fretted in five tunings),
# a 20-minute wall-clock budget on the CPU, best checkpoint on the held-out tunes,
# shipped as float16 package data.  Run it in the background:
#   nohup make tabs-model > outputs/tabs_model.log 2>&1 &
set -eu
MUSICRNN=.venv/bin/musicrnn
$MUSICRNN train corpora/tabs.txt --out outputs/models/tabs \
    --hidden 384 --layers 2 --embed 64 --dropout 0.1 \
    --batch-size 64 --seq-len 128 --lr 3e-3 \
    --max-steps 100000 --max-minutes 20 --eval-every 250 --patience 8 \
    --random-seed 1 --force
.venv/bin/python -c "from musicrnn.checkpoint import export; export('outputs/models/tabs', 'musicrnn/models/tabs')"
