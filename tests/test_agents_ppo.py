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


def test_callback_returning_false_stops_training_early():
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("ppo", env, net="mlp", seed=0, **SMALL)
    seen = []

    def stop_after_40(record):
        seen.append(record)
        return len(seen) < 40  # False stops training, as in SB3 callbacks

    result = agent.train(env, steps=1_000_000, callback=stop_after_40)
    assert result.stopped_early
    assert result.env_steps == 32 * 16  # the rollout in progress is finished, then it stops
    assert len(result.episodes) >= 40


@pytest.mark.parametrize(
    ("hp", "pattern"),
    [
        ({"num_minibatches": 64, "num_envs": 32}, r"num_minibatches=64 is out of range"),
        ({"clip_coef": 0}, r"clip_coef=0 is out of range; clip_coef must be in \(0, ∞\)"),
        ({"gae_lambda": 2}, r"gae_lambda=2 is out of range"),
        ({"anneal_lr": "yes"}, "anneal_lr='yes' must be true or false"),
    ],
)
def test_ppo_rejects_out_of_range_values(hp, pattern):
    env = gym.make("LectureRL/Parity-v0")
    with pytest.raises(HyperparameterError, match=pattern):
        agents.make("ppo", env, **hp)


def best_return(env: gym.Env, horizon: int) -> float:
    """The optimal undiscounted return within ``horizon`` steps, by dynamic programming on P."""
    grid = env.unwrapped
    value = [0.0] * grid.nS
    for _ in range(horizon):
        value = [
            max(
                sum(p * (r + (0.0 if done else value[s2])) for p, s2, r, done in grid.P[s][a])
                for a in range(grid.nA)
                if grid.action_mask(s)[a]
            )
            for s in range(grid.nS)
        ]
    return value[grid.start_state]


@pytest.mark.parametrize("name", ["ppo", "reinforce"])
def test_policy_gradient_agents_reach_the_optimal_return_on_the_lecture_grid(name):
    env = gym.make("LectureRL/GridWorld-v0", map_name="lecture")
    agent = agents.make(name, env, net="mlp", seed=0, num_envs=16, hidden_size=32)
    result = agent.train(env, steps=20_000)
    assert result.env_steps >= 20_000 and result.episodes
    grid = env.unwrapped
    for state in range(grid.nS):  # greedy actions respect info["action_mask"]
        mask = grid.action_mask(state)
        agent.reset()
        assert mask[agent.act(state, {"action_mask": mask})] == 1
    evaluation = agent.evaluate(env, episodes=20, seed=0)
    assert evaluation["return_mean"] == pytest.approx(best_return(env, 100))


@pytest.mark.parametrize(("net", "low", "high"), [("lstm", 0.75, 1.0), ("mlp", 0.4, 0.6)])
def test_ppo_recall_on_copy_needs_memory(net, low, high):
    # a memoryless policy can only guess the recalled symbol: accuracy 1/symbols = 0.5
    env = gym.make("LectureRL/Copy-v0", length=3, symbols=2)
    agent = agents.make("ppo", env, net=net, seed=1, hidden_size=64, num_envs=64)
    agent.train(env, steps=80_000)
    assert low <= agent.evaluate(env, episodes=256, seed=1000)["accuracy"] <= high
