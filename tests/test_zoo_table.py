"""benchmarks/zoo_table.py: its smoke runs ours and SB3 with rl-zoo3's settings, keeps every
finished run in its results file at once, and a rerun skips what the file holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import zoo_table  # noqa: E402


def test_rows_are_rl_zoo3s_published_ones_at_its_budgets():
    rows = {row.name: row for row in zoo_table.ROWS}
    assert len(rows) == 10
    assert rows["ppo-CartPole-v1"].published_steps == 100_000
    assert rows["dqn-LunarLander-v3"].published_env == "LunarLander-v2"
    assert rows["ppo-MiniGrid-DoorKey-5x5-v0"].published_mean == 0.964
    assert all(name in rows for name in zoo_table.CHEAP_ROWS)


def test_every_row_has_a_builtin_preset_within_rl_zoo3s_budget():
    """The table trains with the built-in presets: each preset is measured at no more steps than
    rl-zoo3 published for its row, and the rows the README reports have one."""
    from lecture_rl.runners import presets

    with_preset = set()
    for row in zoo_table.ROWS:
        preset = presets.preset_for(row.agent, row.env_id)
        if preset is None:
            continue
        with_preset.add(row.name)
        assert preset.entry == row.env_id
        # DoorKey-5x5: rl-zoo3's 100k is not reproduced here by SB3 either; ours trains 200k
        # and its row is then not counted as reached (test_a_run_over_budget_is_not_reached)
        limit = 200_000 if row.env_id == "MiniGrid-DoorKey-5x5-v0" else row.published_steps
        assert preset.steps is not None and preset.steps <= limit, row.name
    assert {
        "ppo-CartPole-v1",
        "dqn-CartPole-v1",
        "ppo-Pendulum-v1",
        "ppo-MountainCarContinuous-v0",
        "ppo-LunarLanderContinuous-v3",
        "ppo-MiniGrid-DoorKey-5x5-v0",
        "ppo-LunarLander-v3",
        "ppo-Acrobot-v1",
        "dqn-LunarLander-v3",
    } <= with_preset


def test_a_row_without_a_preset_is_not_run():
    row = zoo_table.Row("ppo", "FrozenLake-v1", 1.0, 0.0, 1_000)  # no ppo preset for it
    with pytest.raises(zoo_table._UNAVAILABLE, match="no built-in ppo preset for FrozenLake-v1"):
        zoo_table.run_ours(row, 0, "auto", None, 1)


@pytest.mark.filterwarnings("ignore")
def test_smoke_writes_each_run_and_a_rerun_reuses_them(tmp_path):
    out = tmp_path / "zoo.json"
    argv = [sys.executable, str(ROOT / "benchmarks" / "zoo_table.py"), "--smoke", "--out", str(out)]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert first.returncode == 0, first.stderr
    data = json.loads(out.read_text())
    assert data["published"]["commit"] == zoo_table.ZOO_COMMIT
    whos = sorted((run["row"], run["who"]) for run in data["runs"])
    assert whos == [("dqn-CartPole-v1", "ours"), ("ppo-CartPole-v1", "ours"),
                    ("ppo-CartPole-v1", "sb3")]  # fmt: skip
    for run in data["runs"]:
        assert run["seconds"] > 0 and run["steps"] == zoo_table.SMOKE_STEPS
        assert run["greedy"] >= 8  # CartPole's shortest episode lasts at least 8 steps
    assert "| `ppo` | CartPole-v1 |" in first.stdout and "500.0 (100,000)" in first.stdout

    second = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert second.returncode == 0, second.stderr
    assert " seed 0: greedy" not in second.stdout  # nothing trained again
    assert json.loads(out.read_text())["runs"] == data["runs"]


def test_preset_none_trains_the_defaults_at_rl_zoo3s_budget():
    row = zoo_table.BY_NAME["ppo-CartPole-v1"]
    settings = zoo_table.resolved_settings(row, "none", None, 100)
    assert settings["budget"] == {"steps": 100_000} and "n_steps" not in settings["hyperparameters"]
    builtin = zoo_table.resolved_settings(row, "auto", None, 100)
    assert builtin["hyperparameters"]["n_steps"] == 32


def test_a_run_over_budget_is_not_reached():
    """A row's mean at or above the published one counts only within rl-zoo3's budget."""
    row = zoo_table.BY_NAME["ppo-MiniGrid-DoorKey-5x5-v0"]

    def runs(steps):
        return {f"k{seed}": {"row": row.name, "who": "ours", "settings_key": "s", "seed": seed,
                             "greedy": 0.97, "seconds": 10.0, "cpu_seconds": 8.0, "steps": steps}
                for seed in range(3)}  # fmt: skip

    text, numbers = zoo_table.table([row], runs(200_000), {row.name: "s"})
    assert not numbers[row.name]["reached"] and "no (over its budget)" in text
    text, numbers = zoo_table.table([row], runs(100_000), {row.name: "s"})
    assert numbers[row.name]["reached"] and "| yes |" in text
