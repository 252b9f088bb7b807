"""The memory-nets and DQN-vs-SB3 benchmarks' smoke modes run and print their figures (CI)."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def smoke(script: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke"],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_memory_nets_smoke_prints_accuracy_steps_seconds_per_net_and_task():
    text = smoke("memory_nets.py")
    for net in ("lstm", "gru", "transformer"):
        for task in ("copy", "parity"):
            row = re.search(rf"^{net}\s+{task}\s+seed 0: \w+\s+([\d.]+) after\s+([\d,]+) env "
                            r"steps in\s+([\d.]+)s", text, re.M)  # fmt: skip
            assert row is not None, text
            assert 0.0 <= float(row.group(1)) <= 1.0 and int(row.group(2).replace(",", "")) > 0


def test_dqn_vs_sb3_smoke_prints_both_speeds_and_the_ratio():
    text = smoke("dqn_vs_sb3.py")
    speeds = re.findall(r"^(ours|sb3)\s+median: .* ([\d,]+) env-steps/s", text, re.M)
    assert [name for name, _ in speeds] == ["ours", "sb3"], text
    assert all(float(v.replace(",", "")) > 0 for _, v in speeds)
    assert re.search(r"ratio ours/sb3: speed [\d.]+x", text)
