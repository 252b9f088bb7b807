"""`--threads`: one torch thread by default for the small nets, N when asked, misuse exit 2."""

from __future__ import annotations

import pytest
import torch

from lecture_rl import agents
from lecture_rl.runners import threads
from lecture_rl.runners.cli import main
from lecture_rl.runners.threads import TorchThreads, default_threads

PARITY = ["--env", "LectureRL/Parity-v0", "--env-set", "length=4"]


def test_small_nets_get_one_thread_and_large_ones_more(monkeypatch):
    import gymnasium as gym

    import lecture_rl.envs  # noqa: F401

    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("ppo", env, net="lstm", seed=0)
    assert 0 < threads.parameter_count(agent) < threads.MANY_PARAMETERS
    assert default_threads(agent) == 1
    monkeypatch.setattr(threads, "MANY_PARAMETERS", 10)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 8)
    assert default_threads(agent) == 4
    tabular = agents.make("q_learning", gym.make("LectureRL/GridWorld-v0"), seed=0)
    assert threads.parameter_count(tabular) == 0


def test_torch_threads_are_restored_after_the_block():
    before = torch.get_num_threads()
    with TorchThreads(3) as threads:
        threads.apply()
        assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("threads, expected", [(None, 1), ("2", 2)])
def test_train_trains_with_the_chosen_thread_count(threads, expected, tmp_path, monkeypatch):
    seen = []
    cls = agents.agent_class("reinforce")
    original = cls.train

    def spy(self, env, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(self, env, *args, **kwargs)

    monkeypatch.setattr(cls, "train", spy)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    extra = ["--threads", threads] if threads else []
    argv = ["train", *PARITY, "--agent", "reinforce", "--steps", "64", "--eval-episodes", "1"]
    try:
        assert main([*argv, *extra, "--out", str(tmp_path / "r")]) == 0
    finally:
        torch.set_num_threads(before)
    assert seen == [expected]


@pytest.mark.parametrize("command", ["train", "compare"])
def test_zero_threads_is_misuse(command, capsys, tmp_path):
    argv = [command, *PARITY, "--threads", "0", "--out", str(tmp_path / "x")]
    argv += ["--agent", "random"] if command == "train" else ["--agents", "random"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--threads must be at least 1" in err and len(err.strip().splitlines()) == 1
