"""stable-baselines3 algorithms as lecture-rl agents: same protocol, checkpoints without pickle."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents


def test_sb3_ppo_learns_the_lecture_grid_and_round_trips_without_pickle(tmp_path):
    env = gym.make("LectureRL/GridWorld-v0")
    agent = agents.make("sb3:PPO", env, seed=0, device="cpu")
    records = []
    agent.train(env, steps=6_000, callback=records.append)
    assert records and all({"return", "length", "env_steps"} <= set(r) for r in records)
    assert agent.evaluate(env, episodes=3, seed=10)["return_mean"] == 10.0
    agent.save(tmp_path / "ppo")
    assert not list((tmp_path / "ppo").glob("*.zip")) and not list((tmp_path / "ppo").glob("*.pkl"))
    loaded = agents.load(tmp_path / "ppo")
    obs, info = env.reset(seed=0)
    for _ in range(5):
        assert loaded.act(obs, info) == agent.act(obs, info)
        obs, _, terminated, truncated, info = env.step(agent.act(obs, info))
        if terminated or truncated:
            break


def test_recurrent_ppo_keeps_its_lstm_state_between_steps():
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("sb3-contrib:RecurrentPPO", env, seed=0, n_steps=64, batch_size=64)
    agent.train(env, steps=128)
    agent.reset()
    agent.act(0)
    state_after_one = agent._recurrent_state
    assert state_after_one is not None
    agent.act(1)
    assert not np.array_equal(agent._recurrent_state[0], state_after_one[0])
    agent.reset()
    assert agent._recurrent_state is None


def test_episode_budget_and_a_stopping_callback():
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("sb3:A2C", env, seed=0, device="cpu")
    result = agent.train(env, episodes=5)
    assert len(result.episodes) == 5
    seen = []
    agent.train(env, steps=10_000, callback=lambda r: seen.append(r) or len(seen) < 3)
    assert len(seen) == 3


def test_unknown_algorithm_and_hyperparameter_are_clear_errors():
    env = gym.make("LectureRL/GridWorld-v0")
    with pytest.raises(KeyError, match="sb3:PPO"):
        agents.make("sb3:Nope", env)
    with pytest.raises(agents.HyperparameterError, match="learning_rate"):
        agents.make("sb3:PPO", env, learning_rat=0.1)
