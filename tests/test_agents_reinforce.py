"""REINFORCE with a learned baseline learns a memory task with a recurrent backbone."""

from __future__ import annotations

import gymnasium as gym

import lecture_rl.envs  # noqa: F401  (registers the ids)
from lecture_rl import agents


def train_parity(net: str, length: int, steps: int, seed: int = 0) -> float:
    env = gym.make("LectureRL/Parity-v0", length=length)
    agent = agents.make("reinforce", env, net=net, seed=seed, hidden_size=32)
    result = agent.train(env, steps=steps)
    assert all(r["length"] == length for r in result.episodes)
    return agent.evaluate(env, episodes=256, seed=1000)["accuracy"]


def test_reinforce_lstm_learns_parity_length_2():
    # measured at 30k steps on the counter-based bit streams: seeds 0, 2, 3, 4 reach 1.0,
    # seed 1 only 0.89 (still climbing)
    assert train_parity("lstm", 2, steps=30_000, seed=0) >= 0.95


def test_reinforce_mlp_is_held_at_the_memoryless_bound():
    # without memory the best policy answers the first bit right and guesses the second: 3/4
    assert 0.70 <= train_parity("mlp", 2, steps=30_000) <= 0.75 + 0.04
