# Every target creates .venv itself, so a fresh clone needs nothing installed by hand.
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
TEST_STAMP := .venv/.installed-test
# The synthesizer for audio, without its PyAudio requirement (see pyproject.toml).
SYNTH := tinysoundfont==0.3.7

.PHONY: demo audition test venv model tabs-corpus tabs-model midi-model piano-corpus abc-reference midi-reference corpus bench bench-quick bench-tabs bench-listen bench-grammar fine-tune asking fuzz music clean lint format

$(VENV_STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	$(PY) -m pip install -q --no-deps $(SYNTH)
	touch $@

$(TEST_STAMP): $(VENV_STAMP)
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV_STAMP)

demo: $(VENV_STAMP)
	mkdir -p outputs
	.venv/bin/musicrnn generate --seed "X:1" --random-seed 1 --out outputs/demo.mid
	.venv/bin/musicrnn render outputs/demo.mid --out outputs/demo.wav
	@echo "Listen to outputs/demo.wav (MIDI: outputs/demo.mid, the tune's text: outputs/demo.abc)."

# 24 new tunes and the page to listen to them and pick (open outputs/batch/audition.html).
audition: $(VENV_STAMP)
	mkdir -p outputs/batch
	.venv/bin/musicrnn generate --seed "X:1" --num 24 --random-seed 1 --out outputs/batch/tune.abc
	.venv/bin/musicrnn audition outputs/batch

# musicrnn studio (docs/studio.md): the local web app in the browser; Ctrl-C stops it.
.PHONY: studio
studio: $(VENV_STAMP)
	.venv/bin/musicrnn studio --open

test: $(TEST_STAMP) lint
	$(PY) -m pytest

# ruff: lint and format check (the configuration is in pyproject.toml; `make format` applies it).
lint: $(TEST_STAMP)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: $(TEST_STAMP)
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

# The folk corpus from the ABC collections inside music21's wheel (no download).
corpus: $(VENV_STAMP)
	.venv/bin/musicrnn encode --corpus folk --out corpora/folk.txt --force

corpora/folk.txt:
	$(MAKE) corpus

# The folk corpus with every tune moved to tonic C, tune for tune (the bundled model's corpus).
corpora/folk_c.txt: corpora/folk.txt corpora/folk_in_c.py
	$(PY) corpora/folk_in_c.py corpora/folk.txt corpora/folk_c.txt

# The music table of the bundled folk model: 200 generated tunes beside 200 held-out and 200
# training tunes (ends on the tonic, repeats, phrasing, meters, MGEval overlaps); about 5 minutes.
MUSIC_MODEL ?= folk
music: $(VENV_STAMP) corpora/folk_c.txt
	.venv/bin/musicrnn evaluate --model $(MUSIC_MODEL) corpora/folk_c.txt --samples 200 --random-seed 0

# Issue 17's figures (docs/asking.md): 50 tunes asked for as --meter 6/8 --key Ador, with and
# without --bars 16; and (fine-tune) held-out bits/char of the folk model, the folk model
# fine-tuned on 50 jigs (--init-from folk) and a model trained on them from scratch (15 minutes).
asking: $(VENV_STAMP)
	$(PY) bench/asking.py --num 50
	$(PY) bench/asking.py --num 50 --bars 16

fine-tune: $(VENV_STAMP) corpora/folk.txt
	$(PY) bench/fine_tune.py all outputs/fine_tune

# The bundled model's recipe: about 85 min on 2 CPU cores; writes musicrnn/models/folk/.
model: $(VENV_STAMP) corpora/folk.txt
	sh corpora/folk_model.sh

# The guitar tab corpus, arranged from music21's chorales, the folk corpus and pyguitarpro's files
# (about 15 minutes on one core); writes corpora/tabs_guitar.txt.
tabs-corpus: $(VENV_STAMP)
	$(PY) corpora/tabs_corpus.py --out corpora/tabs_guitar.txt

# The bundled tabs model's recipe (35 minutes on one thread); writes musicrnn/models/tabs/.
tabs-model: $(VENV_STAMP)
	sh corpora/tabs_model.sh

# The piano corpus (issue 16): real piano scores from music21's corpus and pianoplayer's MIT
# sdist (fetched by pip download; its sha256 is in corpora/README.md), chorales and folk tunes
# arranged for two hands; writes corpora/piano*.txt in events and roll (about 8 minutes).
piano-corpus: $(VENV_STAMP) corpora/folk.txt
	test -f outputs/pianoplayer/pianoplayer-3.0.2.tar.gz || $(PY) -m pip download --no-deps --no-binary :all: pianoplayer==3.0.2 -d outputs/pianoplayer
	$(PY) corpora/piano_corpus.py --pianoplayer outputs/pianoplayer/pianoplayer-3.0.2.tar.gz
	$(PY) corpora/piano_corpus.py --pianoplayer outputs/pianoplayer/pianoplayer-3.0.2.tar.gz --scheme roll

# The bundled MIDI model's recipe (the piano corpus, its real piano oversampled in 8 keys, roll
# scheme, 2x256, train --transpose 2, 42 minutes); writes corpora/midi_piano.txt and musicrnn/models/midi/.
midi-model: $(VENV_STAMP) corpora/piano_roll.txt
	sh corpora/midi_model.sh

corpora/piano_roll.txt:
	$(MAKE) piano-corpus

# Development tools (tools/, run from the repo root, not installed with the package).
# How well our ABC player agrees with abc2midi on 500 random folk tunes (needs Debian's abcmidi).
abc-reference: $(VENV_STAMP)
	$(PY) -m tools.reference_abc --sample 500

# Note F1 of MIDI written by abc2midi (300 folk tunes) and music21 (all chorales) through roll and events.
midi-reference: $(VENV_STAMP)
	$(PY) -m tools.reference_midi --folk 300 --chorales all

# Speed and scale, measured side by side in one run (never in tests): one table of ratios.
# The 1 GB encode row takes tens of minutes on 2 cores; bench-quick leaves it at 64 MB.
bench: $(VENV_STAMP)
	$(PY) bench/speed.py

bench-grammar: $(VENV_STAMP)
	$(PY) bench/grammar.py

bench-quick: $(VENV_STAMP)
	$(PY) bench/speed.py --quick --encode-mb 64

# The rows-vs-columns tab experiment at one budget (2 x 8 minutes of training).
bench-tabs: $(VENV_STAMP)
	$(PY) bench/tab_schemes.py --minutes 8

# What audio and pictures cost, and the WAVs' lengths and levels (about a minute).
bench-listen: $(VENV_STAMP)
	$(PY) bench/listen.py

# 10,000 mutated real files per codec through every entry point (see tools/fuzz.py);
# crashing inputs are kept in outputs/fuzz/.  Exits non-zero on any crash or hang.
# The same cases each run; `make fuzz FUZZ_SEED=7` explores others.
FUZZ_SEED ?= 0
fuzz: $(VENV_STAMP)
	$(PY) -m tools.fuzz --cases 10000 --seed $(FUZZ_SEED) --jobs 3 --save outputs/fuzz

clean:
	rm -rf .venv outputs/* .pytest_cache
