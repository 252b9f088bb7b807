"""PPO learns the memory tasks with a recurrent backbone and cannot without one."""

from __future__ import annotations

import gymnasium as gym
import pytest

import lecture_rl.envs  # noqa: F401  (registers the ids)
from lecture_rl import agents
from lecture_rl.agents import HyperparameterError

SMALL = {"num_envs": 32, "hidden_size": 32, "n_steps": 16}


def memoryless_bound(length: int) -> float:
    """Best accuracy without memory on Parity: the first answer is the bit seen, the rest 1/2."""
    return (1 + 0.5 * (length - 1)) / length


def train_parity(net: str, length: int, steps: int, seed: int = 0) -> float:
    env = gym.make("LectureRL/Parity-v0", length=length)
    agent = agents.make("ppo", env, net=net, seed=seed, **SMALL)
    agent.train(env, steps=steps)
    return agent.evaluate(env, episodes=256, seed=1000)["accuracy"]


def test_ppo_lstm_solves_parity_length_5():
    assert train_parity("lstm", 5, steps=30_000) >= 0.99


def test_ppo_mlp_stays_at_the_memoryless_bound_on_parity_length_5():
    accuracy = train_parity("mlp", 5, steps=30_000)
    bound = memoryless_bound(5)  # 0.6
    assert bound - 0.08 <= accuracy <= bound + 0.04


def test_ppo_gru_solves_parity_length_4():
    assert train_parity("gru", 4, steps=30_000, seed=1) >= 0.99


def test_callback_returning_true_stops_training_early():
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("ppo", env, net="mlp", seed=0, **SMALL)
    seen = []

    def stop_after_40(record):
        seen.append(record)
        return len(seen) >= 40

    result = agent.train(env, steps=1_000_000, callback=stop_after_40)
    assert result.stopped_early
    assert result.env_steps == 32 * 16  # the rollout in progress is finished, then it stops
    assert len(result.episodes) >= 40


@pytest.mark.parametrize(
    ("hp", "pattern"),
    [
        ({"num_minibatches": 64, "num_envs": 32}, r"num_minibatches=64 is out of range"),
        ({"clip_coef": 0}, r"clip_coef=0 is out of range; valid: \(0, inf\]"),
        ({"gae_lambda": 2}, r"gae_lambda=2 is out of range"),
        ({"anneal_lr": "yes"}, "anneal_lr='yes' must be true or false"),
    ],
)
def test_ppo_rejects_out_of_range_values(hp, pattern):
    env = gym.make("LectureRL/Parity-v0")
    with pytest.raises(HyperparameterError, match=pattern):
        agents.make("ppo", env, **hp)
