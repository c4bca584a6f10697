"""corpora/pick_checkpoint.py ranks a run's kept checkpoints by the music table's goals."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "corpora" / "pick_checkpoint.py"


def _script():
    spec = importlib.util.spec_from_file_location("pick_checkpoint", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_more_goals_met_wins_then_the_smallest_margin():
    pick = _script()
    at_goals = dict(pick.GOALS)
    met, margin = pick.rank(at_goals)
    assert met == len(pick.GOALS) and margin == 0
    short_form = {**at_goals, "8-bar lengths": 0.45}  # half a scale short
    met, margin = pick.rank(short_form)
    assert met == len(pick.GOALS) - 1 and abs(margin + 0.5) < 1e-9
    two_short = {**short_form, pick.FEATURES[1]: 0.949}
    assert pick.rank(two_short) < pick.rank(short_form) < pick.rank(at_goals)
    # margins are in each goal's scale: 0.03 short on an overlap is worse than 5 points on a share
    assert pick.rank({**at_goals, pick.FEATURES[1]: 0.92}) < pick.rank({**at_goals, "tonic": 0.70})
