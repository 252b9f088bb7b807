"""The event benchmark's `--before TREE`: an older checkout measured in the same run."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "event_overhead.py"), *args],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip


def test_before_measures_a_checkout_in_a_child_that_imports_it(tmp_path):
    # links to this tree's packages stand in for the older checkout (the benchmark checks
    # that the child imported the tree's agents, not the installed package)
    tree = tmp_path / "tree"
    tree.mkdir()
    for part in ("envs", "agents", "nets", "runners", "assets"):
        (tree / part).symlink_to(ROOT / part)
    done = run("--smoke", "--before", str(tree))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "every variant with the earlier defaults" in out
    assert len(re.findall(r"^repeat \d before\s+[\d,]+ env-steps/s", out, re.M)) == 2
    ratio = re.search(r"ratio unsubscribed/before: ([\d.]+)x wall", out)
    assert ratio and float(ratio.group(1)) > 0


def test_before_without_a_checkout_is_one_line_and_exit_2(tmp_path):
    done = run("--smoke", "--before", str(tmp_path))
    assert done.returncode == 2
    assert "no agents/ppo.py there" in done.stderr
    assert "git worktree add" in done.stderr
