"""The "theirs" column of the POPGym table: POPGym's MMER from RLlib's iteration results, the
results file of `benchmarks/popgym_reference.py` and the table that reads it."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
popgym_reference = pytest.importorskip("popgym_reference")


def run(env: str, model: str, seed: int, steps: int, returns: list[float], **extra) -> dict:
    return {
        "env": env, "model": model, "seed": seed, "steps": steps, "env_steps": steps + 100,
        "episode_reward_mean": returns, "mmer": popgym_reference.mmer_from_iterations(returns),
        "seconds": 100.0 * (seed + 1), **extra,
    }  # fmt: skip


def test_mmer_is_the_best_iteration_mean_and_skips_iterations_without_episodes():
    assert popgym_reference.mmer_from_iterations([-0.5, 0.25, float("nan"), 0.1]) == 0.25
    assert math.isnan(popgym_reference.mmer_from_iterations([float("nan"), float("nan")]))
    assert math.isnan(popgym_reference.mmer_from_iterations([]))


def test_merging_replaces_a_rerun_and_keeps_the_others_in_a_stable_order():
    old = [run("B", "GRU", 0, 10, [0.1]), run("A", "LSTM", 0, 10, [0.2])]
    new = [run("B", "GRU", 0, 10, [0.9]), run("A", "GRU", 0, 10, [0.3])]
    merged = popgym_reference.merge_runs(old, new)
    assert [(r["env"], r["model"], r["mmer"]) for r in merged] == [
        ("A", "GRU", 0.3), ("A", "LSTM", 0.2), ("B", "GRU", 0.9),
    ]  # fmt: skip


def test_the_cell_averages_the_seeds_of_the_model_facing_our_agent_at_its_largest_budget():
    results = {
        "runs": [
            run("RepeatPreviousEasy", "GRU", 0, 98_304, [-0.5, 0.2]),
            run("RepeatPreviousEasy", "GRU", 1, 98_304, [-0.5, 0.4]),
            run("RepeatPreviousEasy", "GRU", 0, 64, [0.99]),  # a smaller budget: not shown
            run("RepeatPreviousEasy", "LSTM", 0, 98_304, [-0.1, -0.3]),
        ]
    }
    gru = popgym_reference.theirs_cell(results, "RepeatPreviousEasy", "ppo-gru")
    assert gru.startswith("+0.300 (GRU, 98,404 steps in 2 iterations, 2 seeds, 150 s)")
    lstm = popgym_reference.theirs_cell(results, "RepeatPreviousEasy", "ppo-lstm")
    assert lstm.startswith("-0.100 (LSTM, ")
    assert popgym_reference.theirs_cell(results, "RepeatPreviousEasy", "ppo-mlp") == "-"
    assert popgym_reference.theirs_cell(results, "CountRecallEasy", "ppo-gru") == "-"


def test_a_missing_results_file_reads_as_no_runs(tmp_path):
    assert popgym_reference.load_results(tmp_path / "none.json") == {"runs": []}


def test_the_table_puts_theirs_beside_our_row_with_as_many_cells_as_headers():
    popgym_table = pytest.importorskip("popgym_table")
    rows = [
        popgym_table.Row("RepeatPreviousEasy", "ppo-gru", [0.9, 0.95], [1.0, 0.98], [5, 6], 100),
        popgym_table.Row("RepeatPreviousEasy", "ppo-mlp", [-0.5, -0.4], [-0.5, -0.5], [1, 1], 100),
    ]
    results = {"runs": [run("RepeatPreviousEasy", "GRU", 0, 98_304, [0.5, 0.75])]}
    args = argparse.Namespace()
    text = popgym_table.table(rows, {"RepeatPreviousEasy": -0.5}, {"RepeatPreviousEasy": "ref"},
                              args, results)  # fmt: skip
    lines = text.splitlines()
    assert len({line.count("|") for line in lines}) == 1
    assert "POPGym's code, run here" in lines[0]
    assert "| +0.750 (GRU, 98,404 steps in 2 iterations, 1 seed, 100 s) | ref |" in lines[2]
    assert "| - | ref |" in lines[3]
    without = popgym_table.table(rows, {"RepeatPreviousEasy": -0.5},
                                 {"RepeatPreviousEasy": "ref"}, args)  # fmt: skip
    assert "POPGym's code" not in without
    assert len({line.count("|") for line in without.splitlines()}) == 1


def test_a_bad_theirs_file_stops_the_table_with_exit_2_before_any_training(tmp_path):
    bad = tmp_path / "theirs.json"
    bad.write_text("{not json")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "popgym_table.py"), "--smoke",
         "--theirs", str(bad)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "cannot read --theirs" in done.stderr and "popgym_reference.py --out" in done.stderr
    assert "seed 0" not in done.stdout  # nothing trained


def test_the_smoke_run_of_their_code_writes_a_row_the_table_can_read(tmp_path):
    pytest.importorskip("ray.rllib", reason="the 'popgym-baselines' extra is not installed")
    out = tmp_path / "theirs.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "popgym_reference.py"), "--smoke",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())
    [row] = results["runs"]
    assert (row["env"], row["model"], row["steps"]) == ("RepeatPreviousEasy", "GRU", 64)
    assert row["env_steps"] >= 64 and row["episode_reward_mean"]
    assert -1.0 <= row["mmer"] <= 1.0
    # RLlib's learner statistics were found (the policy trained): finite, one per iteration
    for key in popgym_reference.LEARNER_STATS:
        values = row[f"{key}_per_iteration"]
        assert len(values) == len(row["episode_reward_mean"])
        assert all(math.isfinite(value) for value in values), (key, values)
    assert "1 local worker x 2 envs x 32 = 64-step batches" in results["setup"]
    cell = popgym_reference.theirs_cell(results, "RepeatPreviousEasy", "ppo-gru")
    assert cell.startswith(f"{row['mmer']:+.3f} (GRU, ")
