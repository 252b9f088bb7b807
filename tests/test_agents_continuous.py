"""Continuous actions: the Gaussian policies of ppo and reinforce, and the agents that refuse.

The log-probabilities and entropies are checked against `torch.distributions`, the clipping
against the Box, and a tiny continuous task is learned in seconds with a fixed seed.
"""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import lecture_rl.envs  # noqa: F401  (registers the ids)
from lecture_rl import agents
from lecture_rl.agents.events import TrainingCallback, Transition
from lecture_rl.agents.policies import (
    CategoricalPolicy,
    GaussianPolicy,
    StateDependentGaussianPolicy,
    UnsupportedActionSpace,
)

BOX = spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32))
TINY_PPO = {"num_envs": 4, "n_steps": 16, "num_minibatches": 2, "hidden_size": 16}


class Target(gym.Env):
    """One step: see x ~ U(-1, 1), answer a in [-2, 2]; reward −(a − x)². Optimum 0."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = spaces.Box(-2.0, 2.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = self.np_random.uniform(-1.0, 1.0, size=1).astype(np.float32)
        return self.x.copy(), {}

    def step(self, action):
        reward = -float((np.asarray(action)[0] - self.x[0]) ** 2)
        return self.x.copy(), reward, True, False, {}


gym.register("TestTarget-v0", entry_point=Target)


class MixedSpaces(gym.Env):
    """Discrete observations, Box actions (for the tabular refusal)."""

    observation_space = spaces.Discrete(3)
    action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        return 0, {}

    def step(self, action):
        return 0, 0.0, True, False, {}


def heads_for(policy, width=5, seed=0):
    torch.manual_seed(seed)
    heads = torch.nn.ModuleDict(policy.build_heads(width))
    with torch.no_grad():
        heads["log_std"].log_std.uniform_(-1.0, 0.5)
    return heads


def test_gaussian_log_prob_and_entropy_equal_torch_distributions():
    policy = GaussianPolicy(BOX)
    heads = heads_for(policy)
    mean = torch.randn(7, 3, 2)
    actions = torch.randn(7, 3, 2) * 2
    logp, entropy = policy.log_prob_entropy(mean, heads, actions)
    normal = torch.distributions.Normal(mean, heads["log_std"]().exp())
    torch.testing.assert_close(logp, normal.log_prob(actions).sum(-1))
    torch.testing.assert_close(entropy, normal.entropy().sum(-1))
    torch.testing.assert_close(policy.log_prob(mean, heads, actions), logp)


def test_gsde_log_prob_and_entropy_equal_torch_distributions():
    policy = StateDependentGaussianPolicy(BOX)
    heads = heads_for(policy)
    features = torch.randn(6, 5)
    mean = torch.randn(6, 2)
    actions = torch.randn(6, 2)
    logp, entropy = policy.log_prob_entropy(mean, heads, actions, features)
    sigma = heads["log_std"]().exp()  # [D, d]
    std = (features.square() @ sigma.square() + policy.EPSILON).sqrt()  # σ_k(s)
    normal = torch.distributions.Normal(mean, std)
    torch.testing.assert_close(logp, normal.log_prob(actions).sum(-1))
    torch.testing.assert_close(entropy, normal.entropy().sum(-1))


def test_categorical_log_prob_and_entropy_equal_torch_distributions():
    policy = CategoricalPolicy(spaces.Discrete(4))
    logits = torch.randn(5, 3, 4)
    actions = torch.randint(4, (5, 3))
    logp, entropy = policy.log_prob_entropy(logits, None, actions)
    dist = torch.distributions.Categorical(logits=logits)
    torch.testing.assert_close(logp, dist.log_prob(actions))
    torch.testing.assert_close(entropy, dist.entropy())


def test_gaussian_samples_have_the_policy_mean_and_std_and_repeat_with_the_seed():
    policy = GaussianPolicy(BOX, log_std_init=-0.5)
    heads = torch.nn.ModuleDict(policy.build_heads(4))
    mean = torch.tensor([[1.0, -3.0]]).expand(20_000, 2)
    draws = policy.sample(mean, heads, torch.Generator().manual_seed(3))
    torch.testing.assert_close(draws.mean(0), mean[0], atol=0.02, rtol=0)
    torch.testing.assert_close(draws.std(0), torch.full((2,), np.exp(-0.5)), atol=0.02, rtol=0)
    again = policy.sample(mean, heads, torch.Generator().manual_seed(3))
    assert torch.equal(draws, again)


def test_gsde_noise_is_linear_in_the_features_and_held_until_redrawn():
    policy = StateDependentGaussianPolicy(BOX, log_std_init=0.0)
    heads = torch.nn.ModuleDict(policy.build_heads(5))
    generator = torch.Generator().manual_seed(0)
    policy.reset_noise(3, heads, generator)
    features = torch.randn(3, 5)
    mean = torch.zeros(3, 2)
    first = policy.sample(mean, heads, generator, features)
    expected = torch.einsum("nj,njk->nk", features, policy.noise)  # φ(s)ᵀ Θ per env
    torch.testing.assert_close(first, expected)
    torch.testing.assert_close(policy.sample(mean, heads, generator, 2 * features), 2 * first)
    policy.reset_noise(3, heads, generator)
    assert not torch.allclose(policy.sample(mean, heads, generator, features), first)


def test_actions_reach_the_env_clipped_and_the_unclipped_sample_is_scored():
    """SB3's rule: the env gets clip(a); the rollout keeps a and log π(a|s) of that a."""
    env = gym.make("Pendulum-v1")
    agent = agents.make("ppo", env, seed=0, log_std_init=1.5, **TINY_PPO)  # σ ≈ 4.5
    sent: list[np.ndarray] = []

    class Actions(TrainingCallback):
        events = (Transition,)

        def on_event(self, event):
            sent.append(np.asarray(event.action))

    stored = {}
    update = agent._update

    def keep(rollout, advantages, returns, previous=None):
        stored["actions"] = rollout.actions.clone()
        stored["logprobs"] = rollout.logprobs.clone()
        stored["obs"] = rollout.obs.clone()
        return update(rollout, advantages, returns, previous)

    agent._update = keep
    agent.train(env, steps=64, callbacks=[Actions()])
    actions = stored["actions"]
    assert actions.shape == (16, 4, 1) and actions.dtype == torch.float32
    assert actions.abs().max() > 2.5  # samples beyond the Box's ±2 were kept as drawn
    sent_actions = np.concatenate(sent)
    assert np.abs(sent_actions).max() <= 2.0 and np.abs(sent_actions).max() == 2.0
    assert len(sent) >= 16 and all(a.shape == (1,) and a.dtype == np.float32 for a in sent)


def test_act_and_evaluate_give_actions_in_the_box(tmp_path, no_unpickling):
    env = gym.make("Pendulum-v1")
    agent = agents.make("ppo", env, seed=1, **TINY_PPO)
    agent.train(env, steps=128)
    with torch.no_grad():
        agent.heads["actor"].bias.fill_(5.0)  # a mean far outside the Box: greedy is clipped
    obs, _ = env.reset(seed=0)
    action = agent.act(obs)
    assert isinstance(action, np.ndarray) and action.shape == (1,) and action.dtype == np.float32
    assert action[0] == 2.0
    assert env.action_space.contains(agent.act(obs, greedy=False))
    agent.save(tmp_path / "ckpt")
    loaded = agents.load(tmp_path / "ckpt")
    assert loaded.act(obs)[0] == 2.0
    assert loaded.evaluate(env, 4, seed=2)["episodes"] == agent.evaluate(env, 4, seed=2)["episodes"]


@pytest.mark.parametrize("net", ["mlp", "lstm", "gru", "transformer"])
def test_every_net_trains_saves_and_loads_a_gaussian_policy(net, tmp_path):
    env = gym.make("Pendulum-v1")
    agent = agents.make("ppo", env, seed=0, net=net, **TINY_PPO)
    agent.train(env, steps=64)
    agent.save(tmp_path / net, training_state=True)
    loaded = agents.load(tmp_path / net)
    obs, _ = env.reset(seed=5)
    for _ in range(3):  # the recurrent state is carried the same way
        action = agent.act(obs)
        np.testing.assert_array_equal(loaded.act(obs), action)
        obs = env.step(action)[0]
    torch.testing.assert_close(loaded.heads["log_std"](), agent.heads["log_std"]())


@pytest.mark.parametrize(
    ("agent_name", "settings"),
    [
        ("ppo", {**TINY_PPO, "num_envs": 16, "n_steps": 8, "lr": 3e-3, "hidden_size": 32}),
        ("reinforce", {"num_envs": 32, "hidden_size": 32, "lr": 3e-3, "ent_coef": 0.0}),
        ("ppo", {**TINY_PPO, "num_envs": 16, "n_steps": 8, "lr": 3e-3, "use_sde": True,
                 "batch_size": 32, "hidden_size": 32}),
    ],
    ids=["ppo", "reinforce", "ppo-gsde"],
)  # fmt: skip
def test_a_gaussian_policy_learns_a_continuous_target(agent_name, settings):
    """Answer a = x: from −(mean square error of a random policy) ≈ −1.9 to near 0."""
    env = gym.make("TestTarget-v0")
    agent = agents.make(agent_name, env, seed=0, **settings)
    before = agent.evaluate(env, 200, seed=0)["return_mean"]
    agent.train(env, steps=6000)
    after = agent.evaluate(env, 200, seed=0)["return_mean"]
    assert before < -0.25 and after > -0.05, (before, after)


def test_batch_size_refuses_memory_nets():
    with pytest.raises(agents.HyperparameterError, match="batch_size=64 shuffles single steps"):
        agents.make("ppo", gym.make("Pendulum-v1"), net="lstm", batch_size=64)


def test_use_sde_refuses_discrete_actions():
    with pytest.raises(ValueError, match=r"use_sde=true explores a Box action space"):
        agents.make("ppo", gym.make("CartPole-v1"), use_sde=True)


@pytest.mark.parametrize("name", ["dqn", "q_learning", "sarsa", "mc", "td0"])
def test_box_actions_are_refused_by_dqn_and_tabular_agents(name):
    env = MixedSpaces() if name != "dqn" else gym.make("Pendulum-v1")
    with pytest.raises(ValueError) as caught:
        agents.make(name, env)
    message = str(caught.value)
    assert "\n" not in message and "Box(" in message and "ppo or reinforce" in message


@pytest.mark.parametrize("name", ["dqn", "q_learning"])
def test_the_cli_refuses_box_actions_in_one_line(name):
    result = subprocess.run(
        [sys.executable, "-m", "lecture_rl.runners.cli", "train", "--env", "Pendulum-v1",
         "--agent", name, "--steps", "100"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ppo or reinforce" in lines[0], result.stderr
    assert isinstance(UnsupportedActionSpace("x"), ValueError)
