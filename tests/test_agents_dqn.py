"""DQN (notes 004): replay buffer, the TD target with fixed parameters θ̃, target syncs, learning
on the lecture grid, determinism, checkpoints and misuse."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.agents.dqn import linear_schedule, td_target
from lecture_rl.agents.dynamic_programming import value_iteration
from lecture_rl.agents.replay import ReplayBuffer

FAST = {"learning_starts": 200, "eps_decay_steps": 2000, "target_update": 250, "num_envs": 4}


def test_replay_buffer_wraps_around_and_samples_reproducibly():
    buf = ReplayBuffer(5, (), np.int64, 4, seed=0)
    for start in (0, 3):
        obs = np.arange(start, start + 3)
        buf.add(obs, obs % 4, obs * 1.0, obs + 1, np.zeros(3), np.ones((3, 4), dtype=bool))
    assert len(buf) == 5
    assert sorted(buf.obs.tolist()) == [1, 2, 3, 4, 5]  # 0 was overwritten
    a = ReplayBuffer(5, (), np.int64, 4, seed=1)
    b = ReplayBuffer(5, (), np.int64, 4, seed=1)
    for buffer in (a, b):
        buffer.add(
            np.arange(5),
            np.zeros(5),
            np.arange(5.0),
            np.arange(5),
            np.zeros(5),
            np.ones((5, 4), bool),
        )
    first, second = a.sample(16), b.sample(16)
    assert np.array_equal(first["obs"], second["obs"])
    assert np.array_equal(first["rewards"], first["obs"].astype(np.float32))  # rows stay aligned


def test_td_target_matches_hand_computation():
    r = torch.tensor([1.0, -1.0, 0.5])
    done = torch.tensor([0.0, 1.0, 0.0])
    q_target = torch.tensor([[1.0, 4.0, 2.0], [9.0, 9.0, 9.0], [3.0, -1.0, 5.0]])
    mask = torch.tensor([[True, False, True], [True, True, True], [True, True, False]])
    y = td_target(r, done, q_target, 0.9, next_mask=mask)
    # y = r + γ (1 − done) max over available a' of Q(s', a'; θ̃)
    assert torch.allclose(y, torch.tensor([1.0 + 0.9 * 2.0, -1.0, 0.5 + 0.9 * 3.0]))
    q_online = torch.tensor([[5.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 7.0, 1.0]])
    y_double = td_target(r, done, q_target, 0.9, next_mask=mask, q_next_online=q_online)
    # Double DQN: θ picks argmax (a'=0, -, a'=1), θ̃ values it
    assert torch.allclose(y_double, torch.tensor([1.0 + 0.9 * 1.0, -1.0, 0.5 + 0.9 * -1.0]))
    assert linear_schedule(1.0, 0.1, 100, 50) == pytest.approx(0.55)
    assert linear_schedule(1.0, 0.1, 100, 500) == pytest.approx(0.1)


def test_target_network_stays_fixed_between_syncs():
    env = gym.make("LectureRL/GridWorld-v0")
    agent = agents.make("dqn", env, seed=0, learning_starts=50, target_update=10**9, num_envs=2)
    before = [p.clone() for p in agent.target_q.parameters()]
    online_before = [p.clone() for p in agent.heads["q"].parameters()]
    agent.train(env, steps=400)
    assert all(torch.equal(a, b) for a, b in zip(before, agent.target_q.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(online_before, agent.heads["q"].parameters()))
    agent.soft_update(1.0)  # θ̃ ← θ
    assert all(
        torch.equal(a, b)
        for a, b in zip(agent.target_q.parameters(), agent.heads["q"].parameters())
    )


@pytest.mark.parametrize("obs_mode,net", [("index", "mlp"), ("image", "cnn")])
def test_dqn_reaches_the_optimal_return_on_the_lecture_grid(obs_mode, net):
    env = gym.make("LectureRL/GridWorld-v0", obs_mode=obs_mode)
    u = env.unwrapped
    optimal = value_iteration(u.P, u.nS, u.nA, gamma=0.99)
    agent = agents.make("dqn", env, seed=0, net=net, **FAST)
    agent.train(env, steps=4_000)
    result = agent.evaluate(env, episodes=5, seed=100)
    assert result["return_mean"] == 10.0
    assert optimal.v[u.start_state] > 0  # the DP optimum also reaches the goal


def test_same_seed_same_weights_and_checkpoint_round_trip(tmp_path):
    env = gym.make("LectureRL/GridWorld-v0")

    def trained(seed):
        agent = agents.make("dqn", env, seed=seed, **FAST)
        agent.train(env, steps=600)
        return agent

    a, b, c = trained(0), trained(0), trained(1)
    weights = lambda agent: torch.cat([p.flatten() for p in agent.parameters()])  # noqa: E731
    assert torch.equal(weights(a), weights(b))
    assert not torch.equal(weights(a), weights(c))
    a.save(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "agent.json").is_file()
    assert not list((tmp_path / "ckpt").glob("*.pkl"))
    loaded = agents.load(tmp_path / "ckpt")
    obs = np.arange(env.unwrapped.nS)
    assert torch.equal(loaded.q_values(obs), a.q_values(obs))


def test_dqn_misuse_is_a_clear_error():
    env = gym.make("LectureRL/GridWorld-v0")
    with pytest.raises(agents.HyperparameterError, match="ppo"):
        agents.make("dqn", env, net="lstm")
    with pytest.raises(agents.HyperparameterError, match="loss"):
        agents.make("dqn", env, loss="l1")
    with pytest.raises((agents.HyperparameterError, ValueError), match="image"):
        agents.make("dqn", env, net="cnn")  # index observations are no image
