"""Frame stacking (`frame_stack=k`): an MLP reads the last k observations side by side."""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
import pytest
import torch

import lecture_rl.envs  # noqa: F401  (registers the ids)
from lecture_rl import agents
from lecture_rl.agents import HyperparameterError
from lecture_rl.nets import make_backbone
from lecture_rl.nets.frame_stack import FrameStackBackbone

SPACE = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)


def stack(k: int = 4) -> FrameStackBackbone:
    torch.manual_seed(0)
    return FrameStackBackbone(SPACE, lambda s: make_backbone("mlp", s, hidden_size=8), k)


def test_the_input_is_the_last_k_frames_with_zeros_before_the_episode():
    """Against a deque of frames that a reset empties (SB3's VecFrameStack)."""
    net, k = stack(4), 4
    rng = np.random.default_rng(0)
    state = net.initial_state(1)
    frames = deque([np.zeros(3, np.float32)] * k, maxlen=k)
    for t in range(12):
        start = t in (0, 5, 6)
        obs = rng.uniform(-1, 1, 3).astype(np.float32)
        if start:
            frames.extend([np.zeros(3, np.float32)] * k)
        frames.append(obs)
        features, state = net.step(obs[None], state, np.array([start]))
        expected, _ = net.inner.step(torch.as_tensor(np.concatenate(frames))[None])
        torch.testing.assert_close(features, expected)


def test_a_sequence_equals_its_steps_with_episode_starts_inside():
    net = stack(3)
    obs = torch.randn(9, 5, 3)
    starts = torch.rand(9, 5) < 0.3
    state0 = (torch.randn(5, 2, 3),)
    features, final = net.forward_sequence(obs, state0, starts)
    state, steps = state0, []
    for t in range(9):
        out, state = net.step(obs[t], state, starts[t])
        steps.append(out)
    torch.testing.assert_close(features, torch.stack(steps))
    torch.testing.assert_close(final[0], state[0])


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("ppo", {"num_envs": 4, "n_steps": 16, "num_minibatches": 2}),
        ("ppo", {"num_envs": 4, "n_steps": 16, "batch_size": 16}),
        ("reinforce", {"num_envs": 4}),
        ("dqn", {"num_envs": 4, "learning_starts": 64, "batch_size": 16}),
    ],
    ids=["ppo", "ppo-batch_size", "reinforce", "dqn"],
)
def test_agents_train_act_and_reload_with_a_frame_stack(name, settings, tmp_path):
    env = gym.make("CartPole-v1")
    agent = agents.make(name, env, seed=0, frame_stack=3, hidden_size=16, **settings)
    agent.train(env, steps=400)
    agent.save(tmp_path / "ckpt")
    loaded = agents.load(tmp_path / "ckpt")
    assert isinstance(loaded.backbone, FrameStackBackbone) and loaded.backbone.k == 3
    assert loaded.evaluate(env, 4, seed=1)["episodes"] == agent.evaluate(env, 4, seed=1)["episodes"]


def test_frame_stack_is_for_the_mlp_only():
    with pytest.raises(HyperparameterError, match="frame_stack=4 stacks observations for net=mlp"):
        agents.make("ppo", gym.make("CartPole-v1"), net="lstm", frame_stack=4)
