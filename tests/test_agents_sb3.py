"""The stable-baselines3 adapter: training, acting with LSTM state, pickle-free checkpoints."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.agents import HyperparameterError


def test_sb3_ppo_solves_lecture_grid(tmp_path):
    env = gym.make("LectureRL/GridWorld-v0")
    agent = agents.make("sb3:PPO", env, seed=0, device="cpu", n_steps=256, batch_size=64)
    seen = []
    result = agent.train(env, steps=3000, callback=seen.append)
    assert seen and seen == result.episodes and result.env_steps >= 3000
    assert agent.evaluate(env, 3, seed=0)["return_mean"] == pytest.approx(10.0)
    agent.save(tmp_path / "ppo")
    back = agents.load(tmp_path / "ppo")
    assert type(back) is type(agent)
    assert back.evaluate(env, 3, seed=0)["return_mean"] == pytest.approx(10.0)
    for a, b in zip(agent.model.policy.parameters(), back.model.policy.parameters()):
        assert torch.equal(a, b)


def test_sb3_dqn_episode_budget():
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = agents.make("sb3:DQN", env, seed=0, device="cpu", learning_starts=50)
    result = agent.train(env, episodes=7)
    assert len(result.episodes) == 7
    assert agent.act(0) in range(4)


def test_recurrent_ppo_keeps_state(tmp_path):
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("sb3-contrib:RecurrentPPO", env, seed=0, device="cpu", n_steps=64)
    agent.train(env, steps=256)
    assert agent.policy_name == "MlpLstmPolicy"
    agent.reset()
    agent.act(1)
    h1 = agent._recurrent_state[0].copy()
    agent.act(1)
    assert not np.array_equal(h1, agent._recurrent_state[0])  # state carried and updated
    agent.reset()
    assert agent._recurrent_state is None
    agent.save(tmp_path / "rppo")
    back = agents.load(tmp_path / "rppo")
    agent.reset(), back.reset()
    bits = [1, 0, 1, 1]
    assert [agent.act(b) for b in bits] == [back.act(b) for b in bits]


def test_unknown_algorithm_and_hyperparameter():
    with pytest.raises(KeyError, match="sb3:PPO"):
        agents.agent_class("sb3:PPPO")
    env = gym.make("FrozenLake-v1")
    with pytest.raises(HyperparameterError, match="n_steps"):
        agents.make("sb3:PPO", env, n_step=3)
    with pytest.raises(HyperparameterError, match="Box"):
        agents.make("sb3:SAC", env)


def test_episode_budget_and_a_stopping_callback():
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("sb3:A2C", env, seed=0, device="cpu")
    result = agent.train(env, episodes=5)
    assert len(result.episodes) == 5
    seen = []
    agent.train(env, steps=10_000, callback=lambda r: seen.append(r) or len(seen) < 3)
    assert len(seen) == 3  # returning False stops training, as in SB3's own callbacks
