"""The viewer benchmark's smoke mode runs and prints its figures (CI runs it here)."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_viewer_benchmark_smoke_prints_frame_time_and_turbo_ratio():
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "viewer.py"), "--smoke"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    ms = float(re.search(r"ours ([\d.]+) ms/frame", done.stdout).group(1))
    ratio = float(re.search(r"ratio live / headless ([\d.]+)", done.stdout).group(1))
    assert 0 < ms < 50 and 0 < ratio  # figures, not targets: the machine is shared
    assert "Gymnasium CliffWalking-v1" in done.stdout
