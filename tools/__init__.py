"""Development tools, not part of the musicrnn package (pyproject ships only musicrnn and encoders).

Run them from the repository root, which puts this folder on the import path:

    python -m tools.fuzz --cases 10000 --save outputs/fuzz     # make fuzz
    python -m tools.reference_abc --sample 500                 # make abc-reference (needs abc2midi)
    python -m tools.reference_midi --folk 300 --chorales all   # make midi-reference

The tests import them the same way (`make test` runs pytest from the repository root).
"""
