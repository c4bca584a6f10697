"""Text that is safe to print: file names and messages as one visible line.

A file name is whatever bytes its creator chose.  Printed raw, ``ESC [ 2 J`` clears
the terminal (or sets its title, or hides what follows), a newline forges a line of
output, and a name that is not UTF-8 (Python keeps its bytes as lone surrogates,
``b"caf\\xe9"`` -> ``"caf\\udce9"``) makes the print itself fail.  `printable`
escapes all of these; everything printable is left as it is.

    >>> printable("caf\\udce9.abc")
    'caf\\\\xe9.abc'
    >>> printable("\\x1b[2Jtune\\n.abc")
    '\\\\x1b[2Jtune\\\\n.abc'
    >>> printable("Scarborough Fair \u2013 fiddle.abc")
    'Scarborough Fair \u2013 fiddle.abc'
"""

from __future__ import annotations

import os

__all__ = ["printable"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str | os.PathLike | bytes) -> str:
    """`text` (a str, a path, or bytes decoded as the file system would) with every character
    that is not printable escaped: controls (ESC, newline, DEL, C1), bidirectional overrides
    and other format characters, lone surrogates (an undecodable byte shows as ``\\xNN``)."""
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    elif not isinstance(text, str):
        text = os.fspath(text)
        if isinstance(text, bytes):
            text = os.fsdecode(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)
