"""The `mc` agent: first-visit vs every-visit by hand, prediction on the random walk, control
on the lecture map."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from lecture_rl import agents
from lecture_rl.agents.hyperparameters import HyperparameterError


def make(map_name: str = "random_walk") -> gym.Env:
    return gym.make("LectureRL/GridWorld-v0", map_name=map_name, max_steps=None)


def feed(agent, steps) -> None:
    for s, a, r, s2, terminated in steps:
        agent.learn(s, a, r, s2, terminated)


@pytest.mark.parametrize(("first_visit", "expected"), [(True, 1.0), (False, 1.5)])
def test_first_visit_and_every_visit_by_hand(first_visit, expected):
    # Episode 3 -> 2 -> 3 -> 4 -> terminal with rewards 0, −1, 0, +2; γ = 1, α = 1/n (the
    # sample average). Returns: G_0 = 1, G_1 = 1, G_2 = 2, G_3 = 2. State 3 is visited at t = 0
    # and t = 2: first-visit MC averages G_0 only (1), every-visit G_0 and G_2 (1.5).
    env = make()
    agent = agents.make(
        "mc", env, seed=0, mode="prediction", first_visit=first_visit, alpha=1.0,
        alpha_power=1.0, gamma=1.0, initial_v=0.0,
    )  # fmt: skip
    feed(agent, [(3, 3, 0.0, 2, False), (2, 1, -1.0, 3, False), (3, 1, 0.0, 4, False),
                 (4, 1, 2.0, 5, True)])  # fmt: skip
    assert agent.v[3] == pytest.approx(expected)
    assert agent.v[2] == pytest.approx(1.0)
    assert agent.v[4] == pytest.approx(2.0)


def test_nothing_is_learned_before_the_episode_ends():
    env = make()
    agent = agents.make("mc", env, seed=0, mode="prediction", alpha=0.5, gamma=1.0)
    feed(agent, [(3, 1, 1.0, 4, False)])
    assert np.all(agent.v == 0.0)
    feed(agent, [(4, 1, 1.0, 5, True)])
    assert agent.v[3] == pytest.approx(1.0) and agent.v[4] == pytest.approx(0.5)


def test_prediction_estimates_the_random_walk_values():
    env = make()
    agent = agents.make("mc", env, seed=0, mode="prediction", alpha=1.0, alpha_power=1.0,
                        gamma=1.0)  # fmt: skip
    agent.train(env, episodes=3000)
    np.testing.assert_allclose(agent.v[1:6], np.arange(1, 6) / 6, atol=0.05)


def test_control_learns_the_lecture_map():
    env = make("lecture")
    agent = agents.make("mc", env, seed=0, alpha=0.1, gamma=0.9, epsilon=0.2)
    agent.train(env, episodes=600)
    result = agent.evaluate(gym.make("LectureRL/GridWorld-v0", map_name="lecture"), 5, seed=0)
    assert result["return_mean"] == pytest.approx(10.0)  # the greedy path reaches the goal


def test_a_truncated_episode_learns_with_the_tail_estimated():
    # Cut after 3 -> 2 (reward −1) with V(2) = 4: G_0 = −1 + γ·V(2) = −1 + 0.5·4 = 1, so
    # V(3) ← 0 + 1·(1 − 0) = 1 (α = 1). The old agent dropped cut episodes (V(3) stayed 0).
    env = make()
    agent = agents.make("mc", env, seed=0, mode="prediction", alpha=1.0, gamma=0.5)
    agent.v_table[2] = 4.0
    agent.learn(3, 3, -1.0, 2, False, truncated=True)
    assert agent.v[3] == pytest.approx(1.0)


def test_control_finds_the_maze_when_loops_are_truncated():
    # Dropping truncated episodes left a greedy loop unpunished: greedy return −1.0 (100 steps
    # of −0.01) on the maze after thousands of episodes. Learning from them reaches the goal.
    env = gym.make("LectureRL/GridWorld-v0", map_name="maze")
    agent = agents.make("mc", env, seed=3, gamma=0.95, epsilon=0.1)
    agent.train(env, episodes=800)
    result = agent.evaluate(gym.make("LectureRL/GridWorld-v0", map_name="maze"), 2, seed=0)
    assert result["return_mean"] > 0.8


def test_exploring_starts_reach_the_maze_optimum():
    env = gym.make("LectureRL/GridWorld-v0", map_name="maze")
    agent = agents.make("mc", env, seed=2, gamma=0.95, epsilon=0.0, exploring_starts=True)
    starts = []
    original = env.reset
    env.reset = lambda **kw: starts.append(kw.get("options")) or original(**kw)
    agent.train(env, episodes=1000)
    assert len({option["start"] for option in starts}) == len(env.unwrapped.start_states)
    result = agent.evaluate(gym.make("LectureRL/GridWorld-v0", map_name="maze"), 2, seed=0)
    assert result["return_mean"] == pytest.approx(0.89)  # 12 moves: 1 − 11 · 0.01


def test_exploring_starts_need_an_env_that_starts_where_told():
    with pytest.raises(HyperparameterError, match="exploring_starts"):
        agents.make("mc", gym.make("CliffWalking-v1"), seed=0, exploring_starts=True)
    with pytest.raises(HyperparameterError, match="mode=control"):
        agents.make("mc", make(), seed=0, mode="prediction", exploring_starts=True)


def test_bad_policy_is_refused():
    with pytest.raises(HyperparameterError, match="policy"):
        agents.make("mc", make(), seed=0, mode="prediction", policy="greedy")
