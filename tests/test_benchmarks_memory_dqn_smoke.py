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
            # the wall time (start-up in) first, then the accuracy and the env steps
            row = re.search(rf"^{net}\s+{task}\s+seed 0:\s+(?:[\d.]+s to 0.99 \(start-up in\), "
                            r"reached|not 0.99 in\s+[\d.]+s, best) ([\d.]+) after\s+([\d,]+) env "
                            r"steps", text, re.M)  # fmt: skip
            assert row is not None, text
            assert 0.0 <= float(row.group(1)) <= 1.0 and int(row.group(2).replace(",", "")) > 0
        headline = re.search(rf"^{net}\s+wall time to greedy 0.99, start-up included: copy .+; "
                             r"parity .+$", text, re.M)  # fmt: skip
        assert headline is not None, text
    assert text.index("headline") < text.index("summary")  # the headline comes first


def test_dqn_vs_sb3_smoke_prints_both_speeds_and_the_ratio():
    text = smoke("dqn_vs_sb3.py")
    frozen, maze = text.split("pixel maze", 1)
    speeds = re.findall(r"^(ours|sb3|sb3-16)\s+median: .* ([\d,]+) env-steps/s", frozen, re.M)
    assert [name for name, _ in speeds] == ["ours", "sb3", "sb3-16"], text
    assert all(float(v.replace(",", "")) > 0 for _, v in speeds)
    assert re.search(r"ratio ours/sb3: speed [\d.]+x", frozen)
    # the maze with the CNN: ours and SB3 at identical settings only, then both ratios
    maze_speeds = re.findall(r"^(ours|sb3|sb3-16)\s+median: .* ([\d,]+) env-steps/s", maze, re.M)
    assert [name for name, _ in maze_speeds] == ["ours", "sb3-16"], text
    assert re.search(r"FrozenLake [\d.]+x, pixel maze [\d.]+x", maze), text
