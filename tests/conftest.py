"""Test settings: in CI (CI set), hypothesis runs a fixed set of examples so a run
is repeatable; elsewhere it explores new random examples every time.  Also the
`corpus` fixture the training tests share."""

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


PATTERNS = ["abc|", "cba|", "aabb|", "ccab|"]


@pytest.fixture
def corpus(tmp_path):
    """A stream of 80 tiny ABC tunes in four patterns: enough for a short training run to learn."""
    path = tmp_path / "tunes.txt"
    path.write_text("\n".join(f"X:1\nK:C\n{PATTERNS[i % 4] * 3}\n" for i in range(80)), encoding="utf-8")
    return path
