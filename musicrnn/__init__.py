"""musicrnn: encode music as text, train a character-level LSTM, sample new music."""

__version__ = "0.1.0"
