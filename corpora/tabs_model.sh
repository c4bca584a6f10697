#!/bin/sh
# Recipe of the bundled guitar-tab model (musicrnn/models/tabs): `make tabs-model`.
# The columns scheme on corpora/tabs_guitar.txt (real music arranged for guitar: Bach
# chorales, folk tunes with an accompaniment, Guitar Pro files; corpora/tabs_corpus.py),
# a 35-minute wall-clock budget on one CPU thread, best checkpoint on the held-out pieces,
# shipped as float16 package data.  Run it in the background:
#   nohup make tabs-model > /tmp/tabs_train.log 2>&1 &
# TABS_EXPORT=0 trains without replacing the shipped model (to measure it first).
set -eu
MUSICRNN=.venv/bin/musicrnn
nice -n 5 $MUSICRNN train corpora/tabs_guitar.txt --out outputs/models/tabs \
    --hidden 256 --layers 2 --embed 64 --dropout 0.1 \
    --batch-size 64 --seq-len 128 --lr 3e-3 \
    --max-steps 100000 --max-minutes 35 --eval-every 100 --patience 8 \
    --threads 1 --random-seed 1 --force
if [ "${TABS_EXPORT:-1}" != 0 ]; then
    .venv/bin/python -c "from musicrnn.checkpoint import export; export('outputs/models/tabs', 'musicrnn/models/tabs')"
fi
