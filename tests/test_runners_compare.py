"""`lecture-rl compare` (and `train`'s Ctrl-C path): files, reproducibility, failures."""

from __future__ import annotations

import csv
import json
import time

import numpy as np
import pytest

from lecture_rl import agents
from lecture_rl.agents.base import Agent, TrainResult
from lecture_rl.agents.checkpoint_io import atomic_save_npz, load_npz
from lecture_rl.runners.cli import main

PARITY = ["--env", "LectureRL/Parity-v0", "--env-set", "length=4"]


class ScriptedAgent(Agent):
    """Test-only agent: random play; fails or is interrupted at episode `stop_after` on the
    seed named by `fail_seed` / `interrupt_seed`."""

    name = "test_scripted"
    defaults = {"fail_seed": -1, "interrupt_seed": -1, "stop_after": 3}
    default_budget = {"episodes": 5}

    def __init__(self, env, *, seed=None, **hp):
        super().__init__(env, seed=seed, **hp)
        self.counts = np.zeros(int(self.action_space.n))

    def train(self, env, episodes=None, steps=None, *, callback=None):
        result, start, total, episode = TrainResult(), time.perf_counter(), 0, 0
        answers = getattr(env.unwrapped, "answers_per_episode", None)
        if self.log_dir is not None:  # runners set it before training (deep agents log there)
            self.log_dir.mkdir(parents=True, exist_ok=True)
            (self.log_dir / "seen.txt").write_text("training started")
        env.reset(seed=self.seed)
        while (episodes is None or episode < episodes) and (steps is None or total < steps):
            if episode == self.hp["stop_after"]:
                if self.seed == self.hp["fail_seed"]:
                    raise RuntimeError(f"scripted failure on seed {self.seed}")
                if self.seed == self.hp["interrupt_seed"]:
                    raise KeyboardInterrupt
            ret, length, done = 0.0, 0, False
            while not done:
                action = int(self.rng.integers(self.action_space.n))
                self.counts[action] += 1
                _, reward, terminated, truncated, _ = env.step(action)
                ret, length, total = ret + float(reward), length + 1, total + 1
                done = terminated or truncated
            record = {
                "episode": episode,
                "return": ret,
                "length": length,
                "env_steps": total,
                "wall_time": time.perf_counter() - start,
            }
            if answers:
                record["accuracy"] = ret / answers
            result.episodes.append(record)
            if callback:
                callback(record)
            episode += 1
            env.reset()
        result.env_steps = total
        return result

    def act(self, obs, info=None, *, greedy=True):
        if greedy:
            return int(np.argmax(self.counts))
        return int(self.rng.integers(self.action_space.n))

    def _save_state(self, folder):
        atomic_save_npz(folder / "arrays.npz", counts=self.counts)

    def _load_state(self, folder, meta):
        self.counts = load_npz(folder / "arrays.npz")["counts"]


class DeviceAgent(ScriptedAgent):
    """Test-only agent that takes `device` like the deep agents."""

    name = "test_device"
    defaults = {**ScriptedAgent.defaults, "device": "auto"}


agents.register("test_scripted", ScriptedAgent)
agents.register("test_device", DeviceAgent)


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def compare(out, *extra, agents_="q_learning,sarsa", env=None):
    argv = ["compare", *(env or ["--env", "LectureRL/GridWorld-v0"]), "--agents", agents_]
    argv += ["--seeds", "2", "--episodes", "30", "--workers", "1", "--eval-episodes", "3"]
    return main([*argv, "--out", str(out), *extra])


def test_compare_writes_the_contract_files_and_repeats_exactly(tmp_path):
    assert compare(tmp_path / "a", "--set", "alpha=0.5") == 0
    assert compare(tmp_path / "b", "--set", "alpha=0.5") == 0
    a, b = tmp_path / "a", tmp_path / "b"
    assert (a / "results.csv").read_bytes() == (b / "results.csv").read_bytes()

    rows = read_rows(a / "results.csv")
    assert list(rows[0])[:5] == ["agent", "seed", "episode", "return", "length"]
    assert "wall_time" not in rows[0]
    assert len(rows) == 2 * 2 * 30
    assert {(r["agent"], r["seed"]) for r in rows} == {
        (name, seed) for name in ("q_learning", "sarsa") for seed in ("0", "1")
    }
    steps = [int(r["env_steps"]) for r in rows if r["agent"] == "sarsa" and r["seed"] == "1"]
    assert steps == sorted(steps) and steps[0] > 0

    summary = json.loads((a / "summary.json").read_text())
    assert summary["env"] == "LectureRL/GridWorld-v0"
    for name in ("q_learning", "sarsa"):
        evaluation = summary["agents"][name]["eval"]
        assert set(evaluation) >= {"return_mean", "return_std", "ci95", "n"}
        assert evaluation["n"] == 2 and len(evaluation["ci95"]) == 2
        assert evaluation["ci95"][0] <= evaluation["return_mean"] <= evaluation["ci95"][1]
        assert np.isclose(evaluation["return_mean"], np.mean(evaluation["per_seed"]))
    # the lecture grid is solved greedily (+10) after 30 episodes with alpha=0.5
    assert summary["agents"]["q_learning"]["eval"]["return_mean"] == pytest.approx(10.0)
    png = (a / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert len(list((a / "trials").glob("*.json"))) == 4


def test_config_json_and_toml_rerun_the_same_comparison(tmp_path):
    assert compare(tmp_path / "a", "--set", "epsilon=0.2", "--env-set", "map_name=maze") == 0
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["hyperparameters"] == {"epsilon": 0.2}
    assert config["env_kwargs"] == {"map_name": "maze"}
    assert (
        main(
            [
                "compare",
                "--config",
                str(tmp_path / "a" / "config.json"),
                "--out",
                str(tmp_path / "b"),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    toml = tmp_path / "c.toml"
    toml.write_text(
        'env = "LectureRL/GridWorld-v0"\nagents = ["q_learning", "sarsa"]\nseeds = 2\n'
        'episodes = 30\neval_episodes = 3\n[env_kwargs]\nmap_name = "maze"\n'
        "[hyperparameters]\nepsilon = 0.2\n"
    )
    assert (
        main(["compare", "--config", str(toml), "--out", str(tmp_path / "c"), "--workers", "1"])
        == 0
    )
    expected = (tmp_path / "a" / "results.csv").read_bytes()
    assert (tmp_path / "b" / "results.csv").read_bytes() == expected
    assert (tmp_path / "c" / "results.csv").read_bytes() == expected


def test_per_agent_override_changes_only_that_agent(tmp_path):
    assert compare(tmp_path / "plain") == 0
    assert compare(tmp_path / "tuned", "--set", "q_learning.epsilon=0.9") == 0
    plain, tuned = (
        read_rows(tmp_path / "plain/results.csv"),
        read_rows(tmp_path / "tuned/results.csv"),
    )
    for_agent = lambda rows, name: [r for r in rows if r["agent"] == name]  # noqa: E731
    assert for_agent(plain, "sarsa") == for_agent(tuned, "sarsa")
    assert for_agent(plain, "q_learning") != for_agent(tuned, "q_learning")


def test_worker_processes_match_inline_and_a_failing_trial_loses_nothing(tmp_path):
    common = [
        "--agents",
        "test_scripted",
        "--seeds",
        "3",
        "--episodes",
        "6",
        "--eval-episodes",
        "2",
        "--set",
        "fail_seed=1",
    ]
    rc = main(["compare", *PARITY, *common, "--workers", "2", "--out", str(tmp_path / "pool")])
    assert rc == 1  # some trial failed; the others are kept
    summary = json.loads((tmp_path / "pool/summary.json").read_text())
    assert [(f["agent"], f["seed"]) for f in summary["failed"]] == [("test_scripted", 1)]
    assert "scripted failure on seed 1" in summary["failed"][0]["error"]
    entry = summary["agents"]["test_scripted"]
    assert entry["eval"]["n"] == 2 and entry["seeds"] == [0, 2]
    assert 0.0 <= entry["eval"]["accuracy"] <= 1.0

    pool_rows = read_rows(tmp_path / "pool/results.csv")
    assert {r["seed"] for r in pool_rows} == {"0", "2"}
    assert "accuracy" in pool_rows[0]
    rc = main(["compare", *PARITY, *common, "--workers", "1", "--out", str(tmp_path / "inline")])
    assert rc == 1
    assert (tmp_path / "inline/results.csv").read_bytes() == (
        tmp_path / "pool/results.csv"
    ).read_bytes()


def test_ctrl_c_keeps_the_finished_trials(tmp_path):
    argv = ["compare", *PARITY, *"--agents test_scripted --seeds 3 --episodes 5".split()]
    argv += [*"--set interrupt_seed=1 --workers 1 --out".split(), str(tmp_path)]
    assert main(argv) == 130
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert summary["agents"]["test_scripted"]["eval"]["n"] == 1
    assert {r["seed"] for r in read_rows(tmp_path / "results.csv")} == {"0"}
    assert (tmp_path / "curves.png").is_file()


def test_train_ctrl_c_saves_an_interrupted_checkpoint(tmp_path):
    argv = ["train", *PARITY, *"--agent test_scripted --episodes 50 --set interrupt_seed=0".split()]
    argv += ["--out", str(tmp_path)]
    assert main(argv) == 130
    meta = json.loads((tmp_path / "agent.json").read_text())
    assert meta["interrupted"] is True and meta["training"]["episodes"] == 3
    assert len(read_rows(tmp_path / "train_log.csv")) == 3
    restored = agents.load(tmp_path)
    assert restored.counts.sum() == 12  # 3 episodes x 4 steps, as trained


def test_device_and_log_dir_reach_the_agent(tmp_path):
    base = ["train", *PARITY, "--episodes", "2", "--eval-episodes", "1", "--device", "cpu"]
    assert main([*base, "--agent", "test_device", "--out", str(tmp_path / "d")]) == 0
    meta = json.loads((tmp_path / "d" / "agent.json").read_text())
    assert meta["hyperparameters"]["device"] == "cpu"
    assert (tmp_path / "d" / "tb" / "seen.txt").is_file()
    # agents without a device hyperparameter do not get one
    assert main([*base, "--agent", "test_scripted", "--out", str(tmp_path / "s")]) == 0
    meta = json.loads((tmp_path / "s" / "agent.json").read_text())
    assert "device" not in meta["hyperparameters"]


def test_step_budget_compare_counts_env_steps(tmp_path):
    argv = ["compare", *PARITY, *"--agents test_scripted,random --seeds 2 --steps 40".split()]
    argv += [*"--workers 1 --eval-episodes 2 --out".split(), str(tmp_path)]
    assert main(argv) == 0
    rows = read_rows(tmp_path / "results.csv")
    for name in ("test_scripted", "random"):
        for seed in ("0", "1"):
            steps = [int(r["env_steps"]) for r in rows if (r["agent"], r["seed"]) == (name, seed)]
            assert steps[-1] >= 40, (name, seed, steps)
    assert (tmp_path / "tb" / "test_scripted-seed1" / "seen.txt").is_file()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["threshold"] == pytest.approx(0.99 * 4)  # Parity: 0.99 accuracy
    assert set(summary["agents"]) == {"test_scripted", "random"}


def test_stable_baselines3_agents_get_the_same_outputs(tmp_path):
    argv = "compare --env LectureRL/GridWorld-v0 --agents random,sb3:A2C --seeds 1".split()
    argv += [*"--steps 300 --workers 1 --eval-episodes 2 --out".split(), str(tmp_path)]
    assert main(argv) == 0
    rows = read_rows(tmp_path / "results.csv")
    assert {r["agent"] for r in rows} == {"random", "sb3:A2C"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["agents"]["sb3:A2C"]["eval"]["n"] == 1
    assert (tmp_path / "trials" / "sb3_A2C-seed0.json").is_file()


def test_a_budget_too_small_to_finish_an_episode_still_prints_its_table(tmp_path, capsys):
    """No training episode ended (5 steps of 16-step episodes): the table shows "—"."""
    out = tmp_path / "tiny"
    args = ["--env", "LectureRL/Parity-v0", "--agents", "q_learning", "--seeds", "1"]
    assert main(["compare", *args, "--steps", "5", "--eval-episodes", "1", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["agents"]["q_learning"]["train_return_last_10pct"]["mean"] is None
    row = next(line for line in capsys.readouterr().out.splitlines() if "q_learning" in line)
    assert "—" in row
