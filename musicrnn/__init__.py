"""musicrnn: encode music as text, train a character-level LSTM, sample new music.

Every command is a function too (musicrnn.pipeline), here without importing torch
until one is called:

    >>> import musicrnn
    >>> pieces = musicrnn.generate(model="folk", num=4, seed="X:1")   # doctest: +SKIP

The names that would be a submodule's (musicrnn.encode, .train, .render, .audition,
.evaluate are modules) say what they act on: encode_files, train_model, render_file,
audition_page, evaluate_model.
"""

__version__ = "0.1.0"

_PIPELINE = (
    "Continuation",
    "Pieces",
    "audition_page",
    "continue_file",
    "decode",
    "encode_files",
    "evaluate_model",
    "generate",
    "render_file",
    "train_model",
)
__all__ = list(_PIPELINE)


def __getattr__(name: str):
    if name in _PIPELINE:
        from musicrnn import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'musicrnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PIPELINE))
