"""Test settings: in CI (CI set), hypothesis runs a fixed set of examples so a run
is repeatable; elsewhere it explores new random examples every time."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
