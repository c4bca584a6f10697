"""`python -m musicrnn ...` runs the command line (also under torchrun)."""

from musicrnn.cli import main

main()
