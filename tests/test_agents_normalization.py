"""Observation and reward normalisation of the deep agents (`normalize_obs`, `normalize_reward`).

The statistics are checked against stable-baselines3's `VecNormalize` fed the same stream,
saved with the weights, restored on load and frozen outside training.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

import lecture_rl.envs  # noqa: F401  (registers the ids)
from lecture_rl import agents
from lecture_rl.agents import HyperparameterError
from lecture_rl.agents.normalization import (
    ObservationNormalizer,
    RewardNormalizer,
    RunningMeanStd,
)

SMALL = {
    "ppo": {"num_envs": 4, "n_steps": 16, "num_minibatches": 2, "hidden_size": 16},
    "reinforce": {"num_envs": 4, "hidden_size": 16},
    "dqn": {"num_envs": 4, "hidden_size": 16, "learning_starts": 64, "batch_size": 32},
}


def test_running_mean_std_equals_the_statistics_of_all_rows():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size=(n, 3)) for n in (1, 7, 50, 2)]
    stats = RunningMeanStd((3,))
    for batch in batches:
        stats.update(torch.as_tensor(batch))
    rows = np.concatenate(batches)
    # the prior (μ 0, σ² 1, 10⁻⁴ samples) is folded in as SB3 does: negligible here
    np.testing.assert_allclose(stats.mean.numpy(), rows.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats.var.numpy(), rows.var(0), rtol=1e-5)
    assert stats.count.item() == pytest.approx(len(rows) + 1e-4)


def test_normalisers_follow_sb3_vecnormalize_on_the_same_stream():
    """Same observations and rewards in, same normalised numbers out as SB3's VecNormalize."""
    gamma = 0.95
    venv = VecNormalize(
        DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(3)]), gamma=gamma
    )
    venv.seed(0)
    obs_norm = ObservationNormalizer((4,))
    reward_norm = RewardNormalizer(gamma)
    reward_norm.start(3)
    theirs = venv.reset()
    raw = venv.get_original_obs()
    ours = obs_norm(torch.as_tensor(raw), update=True).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    rng = np.random.default_rng(1)
    ended = 0
    for _ in range(200):
        theirs, their_rewards, dones, _ = venv.step(rng.integers(2, size=3))
        raw_obs, raw_rewards = venv.get_original_obs(), venv.get_original_reward()
        ours = obs_norm(torch.as_tensor(raw_obs), update=True).numpy()
        reward_t = torch.as_tensor(raw_rewards, dtype=torch.float32)
        reward_norm.observe(reward_t, torch.as_tensor(dones))
        our_rewards = reward_norm.scale(reward_t).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(our_rewards, their_rewards, rtol=1e-5)
        ended += int(dones.sum())
    assert ended > 3  # the returns were restarted at episode ends along the way
    np.testing.assert_allclose(reward_norm.stats.var.item(), venv.ret_rms.var, rtol=1e-6)


def test_observations_are_clipped_and_frozen_without_update():
    norm = ObservationNormalizer((2,), clip=3.0)
    norm(torch.tensor([[0.0, 0.0], [2.0, 4.0]]), update=True)
    before = norm.stats.mean.clone()
    out = norm(torch.tensor([[1000.0, -1000.0]]))
    assert out.tolist() == [[3.0, -3.0]]
    assert torch.equal(norm.stats.mean, before)  # no update outside training
    np.testing.assert_allclose(norm.numpy(np.array([1.0, 2.0])), norm(torch.tensor([1.0, 2.0])))


@pytest.mark.parametrize("name", ["ppo", "reinforce", "dqn"])
def test_statistics_are_saved_restored_and_frozen_at_evaluation(name, tmp_path, no_unpickling):
    env = gym.make("CartPole-v1")
    agent = agents.make(name, env, seed=0, normalize_obs=True, normalize_reward=True, **SMALL[name])
    agent.train(env, steps=600)
    stats = agent.obs_normalizer.stats
    assert stats.count.item() >= 600  # every observation the training envs showed
    assert (stats.var.numpy() != 1.0).all() and agent.reward_normalizer.stats.count.item() > 1
    saved = {k: v.clone() for k, v in agent.obs_normalizer.state_dict().items()}
    before = agent.evaluate(env, episodes=8, seed=3)
    assert all(torch.equal(v, agent.obs_normalizer.state_dict()[k]) for k, v in saved.items())
    agent.save(tmp_path / "ckpt")
    loaded = agents.load(tmp_path / "ckpt")
    for module in ("obs_normalizer", "reward_normalizer"):
        ours, theirs = getattr(agent, module).state_dict(), getattr(loaded, module).state_dict()
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    after = loaded.evaluate(env, episodes=8, seed=3)
    assert after["episodes"] == before["episodes"]
    obs, _ = env.reset(seed=11)
    assert loaded.act(obs) == agent.act(obs)


def test_a_loaded_agent_without_its_statistics_would_act_otherwise(tmp_path):
    """The statistics matter: the same weights on raw observations give other scores."""
    env = gym.make("CartPole-v1")
    agent = agents.make("ppo", env, seed=0, normalize_obs=True, **SMALL["ppo"])
    agent.train(env, steps=2000)
    obs = np.stack([env.reset(seed=s)[0] for s in range(64)])
    with torch.no_grad():
        normalised = agent._action_scores(agent.backbone.step(agent.obs_tensor(obs))[0])
        raw = agent._action_scores(agent.backbone.step(torch.as_tensor(obs))[0])
    assert not torch.allclose(normalised, raw, atol=1e-3)


def test_resumed_training_continues_the_statistics(tmp_path):
    env = gym.make("CartPole-v1")
    one = agents.make("ppo", env, seed=1, normalize_obs=True, normalize_reward=True,
                      **SMALL["ppo"])  # fmt: skip
    one.train(env, steps=256)
    one.save(tmp_path / "resume", training_state=True)
    resumed = agents.load(tmp_path / "resume")
    count = resumed.obs_normalizer.stats.count.item()
    assert count == one.obs_normalizer.stats.count.item() >= 256
    resumed.train(env, steps=128)
    assert resumed.obs_normalizer.stats.count.item() == pytest.approx(count + 128 + 4, abs=4)


def test_normalize_obs_needs_vector_observations():
    with pytest.raises(HyperparameterError, match=r"normalize_obs=true needs vector \(Box\)"):
        agents.make("ppo", gym.make("FrozenLake-v1"), normalize_obs=True)
    # the reward alone is fine on any observation space
    agent = agents.make("ppo", gym.make("FrozenLake-v1"), normalize_reward=True)
    assert agent.obs_normalizer is None and agent.reward_normalizer is not None


def test_without_normalisation_nothing_is_added_to_the_checkpoint(tmp_path):
    env = gym.make("CartPole-v1")
    agent = agents.make("ppo", env, seed=0, **SMALL["ppo"])
    assert agent.obs_normalizer is None and agent.reward_normalizer is None
    assert set(agent.modules_to_save()) == {"backbone", "actor", "critic"}
