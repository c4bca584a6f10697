"""bench/fine_tune.py scores the bundled folk model, which reads its bar positions, on held-out jigs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_score_tells_a_positions_model_its_bars(tmp_path):
    jigs = (
        "X:1\nM:6/8\nL:1/8\nK:D\n|:dfa afd|gbg fdB|AFA DFA|BGB AFD:|\n\n"
        "X:2\nM:6/8\nL:1/8\nK:G\nGBd gdB|cAF DFA|GBd gfg|afd g3|\n\n"
    )
    (tmp_path / "test.txt").write_text(jigs, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fine_tune.py"), "score", str(tmp_path), "folk"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    bits = float(re.fullmatch(r"folk: (\d+\.\d+) bits/char\n", done.stdout).group(1))
    assert 0.3 < bits < 3.0  # a folk model reads jigs far better than chance (log2 71 = 6.1)
