"""PPO's hand-written update (agents/ppo_fused.py) against autograd.

Both paths train agents built from the same seed; every minibatch's loss and gradient
(what `apply_gradients` receives) must agree, so the weights stay together over several
updates. Shared and separate critics, SB3-style step minibatches and whole-env minibatches,
with clipping and the entropy bonus at work.
"""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch

from lecture_rl import agents

SETTINGS = {
    "num_envs": 4, "n_steps": 32, "hidden_size": 16, "lr": 3e-3, "update_epochs": 4,
    "ent_coef": 0.05, "vf_coef": 0.7, "clip_coef": 0.1, "anneal_lr": False,
}  # fmt: skip


def _number(value) -> float:  # the hand-written path passes floats, autograd tensors
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


def recorded_training(fused: bool, env_id: str, settings: dict) -> tuple[list, list, object]:
    env = gym.make(env_id)
    agent = agents.make("ppo", env, seed=7, **settings)
    agent.use_fused_update = fused
    losses, grads = [], []
    original = agent.apply_gradients

    def record(loss, parts, scalars=None, **kwargs):
        losses.append((_number(loss), {k: _number(v) for k, v in parts.items()}))
        grads.append([p.grad.detach().clone() for p in agent._trainable()])
        return original(loss, parts, scalars, **kwargs)

    agent.apply_gradients = record
    agent.train(env, steps=3 * settings["num_envs"] * settings["n_steps"])
    return losses, grads, agent


@pytest.mark.parametrize("critic_net", ["shared", "separate"])
@pytest.mark.parametrize(
    ("env_id", "minibatches"),
    [("CartPole-v1", {"batch_size": 32}), ("Acrobot-v1", {"num_minibatches": 2}),
     ("FrozenLake-v1", {"batch_size": 48}),
     ("Pendulum-v1", {"batch_size": 32, "log_std_init": -0.5}),  # Gaussian, log σ learned
     ("MountainCarContinuous-v0", {"num_minibatches": 2, "normalize_obs": True,
                                   "normalize_reward": True})],
)  # fmt: skip
def test_fused_update_takes_autograds_steps(critic_net, env_id, minibatches):
    settings = {**SETTINGS, **minibatches, "critic_net": critic_net}
    check_same_training(env_id, settings)


@pytest.mark.parametrize("sample_freq", [-1, 4])
@pytest.mark.parametrize("env_id", ["Pendulum-v1", "MountainCarContinuous-v0"])
def test_fused_gsde_takes_autograds_steps(env_id, sample_freq):
    """gSDE: σ(s)² = φ(s)² σ² + ε, Θ redrawn per rollout or every 4 steps (shared net only)."""
    settings = {**SETTINGS, "batch_size": 32, "use_sde": True, "sde_sample_freq": sample_freq,
                "log_std_init": -1.0, "net_kwargs": {"activation": "tanh"}}  # fmt: skip
    check_same_training(env_id, settings)


def check_same_training(env_id: str, settings: dict) -> None:
    losses, grads, agent = recorded_training(True, env_id, settings)
    want_losses, want_grads, reference = recorded_training(False, env_id, settings)
    assert agent._fused_nets() is not None and len(losses) == len(want_losses) > 8
    for (loss, parts), (want, want_parts) in zip(losses, want_losses):
        assert loss == pytest.approx(want, rel=2e-3, abs=1e-5)
        for key in ("policy", "value", "entropy"):
            assert parts[key] == pytest.approx(want_parts[key], rel=2e-3, abs=1e-5), key
    for got, want in zip(grads[0], want_grads[0]):  # the first step: from the same weights
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    for got, want in zip(agent.parameters(), reference.parameters()):  # 3 updates later
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-4)


def test_the_fused_update_is_skipped_where_it_does_not_apply():
    grid = gym.make("LectureRL/GridWorld-v0", map_name="lecture", obs_mode="image")
    cnn = agents.make("ppo", grid, seed=0,
                      net="cnn", hidden_size=8)  # fmt: skip
    lstm = agents.make("ppo", gym.make("CartPole-v1"), seed=0, net="lstm", hidden_size=8)
    mlp = agents.make("ppo", gym.make("CartPole-v1"), seed=0, hidden_size=8)
    box = agents.make("ppo", gym.make("Pendulum-v1"), seed=0, hidden_size=8)
    assert cnn._fused_nets() is None and lstm._fused_nets() is None
    assert mlp._fused_nets() is not None and box._fused_nets() is not None
