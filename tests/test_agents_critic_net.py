"""`critic_net=separate`: the critic on its own copy of the backbone (SB3's MlpPolicy for PPO).

Checked: the two networks share no parameter and no gradient, the heads read their own
columns, greedy actions and checkpoints round-trip, memory nets and gSDE are refused in one
line, and a tiny fixed-seed PPO and REINFORCE learn with it.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from lecture_rl import agents
from lecture_rl.nets.actor_critic_pair import ActorCriticPair

TINY = {"num_envs": 4, "n_steps": 16, "num_minibatches": 2, "hidden_size": 16}


def test_the_pair_holds_two_networks_that_no_loss_crosses():
    env = gym.make("CartPole-v1")
    agent = agents.make("ppo", env, seed=0, critic_net="separate", **TINY)
    pair = agent.backbone
    assert isinstance(pair, ActorCriticPair) and pair.output_dim == 2 * pair.actor_dim == 32
    actor_ids = {id(p) for p in pair.actor.parameters()}
    assert actor_ids and not actor_ids & {id(p) for p in pair.critic.parameters()}
    obs = torch.randn(7, 4)
    features, _ = pair.step(obs)
    torch.testing.assert_close(features[:, :16], pair.actor.step(obs)[0])
    torch.testing.assert_close(features[:, 16:], pair.critic.step(obs)[0])

    agent.value(features).sum().backward()  # V(s) alone: only the critic's net and head
    assert all(p.grad is None or not p.grad.any() for p in pair.actor.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in pair.critic.parameters())
    agent.backbone.zero_grad(set_to_none=True)
    features, _ = pair.step(obs)
    agent._action_scores(features).sum().backward()  # π(·|s) alone: only the actor's
    assert all(p.grad is None or not p.grad.any() for p in pair.critic.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in pair.actor.parameters())


def test_shared_stays_the_default_with_one_backbone():
    agent = agents.make("ppo", gym.make("CartPole-v1"), seed=0, **TINY)
    assert not isinstance(agent.backbone, ActorCriticPair)
    assert agent.heads["critic"].in_features == agent.heads["actor"].in_features == 16


@pytest.mark.parametrize("agent_name", ["ppo", "reinforce"])
def test_greedy_actions_and_checkpoints_round_trip(agent_name, tmp_path, no_unpickling):
    env = gym.make("CartPole-v1")
    settings = TINY if agent_name == "ppo" else {"num_envs": 4, "hidden_size": 16}
    agent = agents.make(agent_name, env, seed=3, critic_net="separate", **settings)
    agent.train(env, steps=256)
    agent.save(tmp_path / "ckpt")
    loaded = agents.load(tmp_path / "ckpt")
    assert isinstance(loaded.backbone, ActorCriticPair)
    obs, _ = env.reset(seed=4)
    with torch.no_grad():  # the numpy twin (act) and torch (scores) agree on the actor's net
        scores = agent._action_scores(agent.backbone.step(obs[None])[0])[0].numpy()
    assert agent.act(obs) == loaded.act(obs) == int(np.argmax(scores))
    assert loaded.evaluate(env, 3, seed=1)["episodes"] == agent.evaluate(env, 3, seed=1)["episodes"]


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"net": "lstm"}, "critic_net=separate gives the critic its own feed-forward network"),
        ({"frame_stack": 3}, "but frame_stack carries a memory"),
        ({"use_sde": True}, "critic_net=separate with use_sde=true is not supported"),
    ],
)  # fmt: skip
def test_memory_nets_and_gsde_are_refused_in_one_line(settings, words):
    with pytest.raises(agents.HyperparameterError) as caught:
        agents.make("ppo", gym.make("Pendulum-v1"), critic_net="separate", **settings)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_ppo_with_a_separate_critic_learns_cartpole():
    """A fixed seed, 30k steps: from ~20 (random) to a greedy policy that balances 150+."""
    env = gym.make("CartPole-v1")
    agent = agents.make("ppo", env, seed=0, critic_net="separate", num_envs=8, n_steps=32,
                        num_minibatches=1, update_epochs=20, lr=1e-3, gamma=0.98,
                        gae_lambda=0.8)  # fmt: skip
    before = agent.evaluate(env, 10, seed=0)["return_mean"]
    agent.train(env, steps=30_000)
    after = agent.evaluate(env, 10, seed=0)["return_mean"]
    assert before < 60 and after > 150, (before, after)
