"""Dynamic programming from env.unwrapped.P: policy evaluation, value and policy iteration."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.agents.dynamic_programming import (
    NotConverged,
    model_arrays,
    policy_evaluation,
    policy_iteration,
    uniform_policy,
    value_iteration,
)
from lecture_rl.agents.tabular import UnsupportedSpaceError, availability


@pytest.fixture
def lecture():
    env = gym.make("LectureRL/GridWorld-v0", map_name="lecture")
    u = env.unwrapped
    yield env, u, availability(env, u.nS, u.nA)
    env.close()


def test_policy_evaluation_by_hand_with_gamma_zero(lecture):
    env, u, avail = lecture
    v = policy_evaluation(u.P, u.nS, u.nA, uniform_policy(u.nS, u.nA, avail), gamma=0.0)
    # γ = 0: V(s) is the expected immediate reward of a uniformly random available move
    assert v[u.state_of(3, 2)] == pytest.approx(-10 / 2)  # up or right (into the pit)
    assert v[u.state_of(2, 3)] == pytest.approx((10 - 10 + 0) / 3)  # up goal, down pit, left
    assert v[u.state_of(1, 2)] == pytest.approx(10 / 3)  # right (goal), down, left
    assert v[u.state_of(2, 2)] == 0.0


def test_policy_evaluation_satisfies_the_bellman_equation(lecture):
    env, u, avail = lecture
    policy = uniform_policy(u.nS, u.nA, avail)
    v = policy_evaluation(u.P, u.nS, u.nA, policy, gamma=0.9)
    for s in range(u.nS):
        backup = sum(
            policy[s, a]
            * sum(p * (r + (0.0 if done else 0.9 * v[s2])) for p, s2, r, done in u.P[s][a])
            for a in range(u.nA)
        )
        assert v[s] == pytest.approx(backup, abs=1e-9)
    assert all(v[t] == 0.0 for t in u.terminal_states)


def test_value_iteration_frozen_lake_success_rate():
    env = gym.make("FrozenLake-v1", is_slippery=True)
    agent = agents.make("value_iteration", env, gamma=0.99, seed=0)
    agent.train(env, episodes=0)
    result = agent.evaluate(env, episodes=1000, seed=0)
    assert result["return_mean"] >= 0.7, result
    env.close()


def test_value_and_policy_iteration_agree():
    for env_id, kwargs, gamma in (
        ("FrozenLake-v1", {"is_slippery": True}, 0.95),
        ("LectureRL/GridWorld-v0", {"map_name": "maze", "slip": 0.1}, 0.9),
        ("CliffWalking-v1", {}, 1.0),
    ):
        env = gym.make(env_id, **kwargs)
        P, nS, nA = env.unwrapped.P, env.observation_space.n, env.action_space.n
        avail = availability(env, nS, nA)
        vi = value_iteration(P, nS, nA, gamma=gamma, available=avail)
        pi = policy_iteration(P, nS, nA, gamma=gamma, available=avail)
        assert np.allclose(vi.v, pi.v, atol=1e-6), env_id
        # policy iteration's deterministic policy is one of value iteration's greedy actions
        chosen = pi.policy.argmax(axis=1)
        assert (vi.policy[np.arange(nS), chosen] > 0).all(), env_id
        env.close()


def test_cliff_optimum_is_the_13_step_edge_path():
    env = gym.make("CliffWalking-v1")
    for name in ("value_iteration", "policy_iteration"):
        agent = agents.make(name, env, gamma=1.0, seed=0)
        result = agent.train(env, episodes=3)
        assert [r["return"] for r in result.episodes] == [-13.0] * 3
        assert agent.v[36] == pytest.approx(-13.0)  # V*(start)
    env.close()


def test_lecture_optimum_heads_for_the_goal(lecture):
    env, u, _ = lecture
    agent = agents.make("value_iteration", env, gamma=0.7, seed=0)
    agent.train(env, episodes=0)
    # from the start (2,1): two moves to (1,2) or (2,3) then the goal: V = γ²·10 = 4.9
    assert agent.v[u.start_state] == pytest.approx(0.7**2 * 10)
    assert u.greedy_actions(agent.q, u.state_of(3, 2)) == [0]  # up, away from the pit
    result = agent.evaluate(env, episodes=5, seed=0)
    assert result["return_mean"] == 10.0 and result["length_mean"] == 3.0


def test_masked_actions_excluded_from_the_max():
    """In Taxi-v4 the masked moves are no-ops; the plan never chooses them."""
    env = gym.make("Taxi-v4")
    agent = agents.make("value_iteration", env, gamma=0.95)
    agent.train(env, episodes=0)
    avail = agent.available_actions
    assert avail is not None and not avail.all()
    assert (agent.policy[~avail] == 0).all()
    assert agent.evaluate(env, episodes=20, seed=0)["return_mean"] > 5
    env.close()


def test_model_arrays_drop_terminal_bootstraps(lecture):
    env, u, _ = lecture
    R, T = model_arrays(u.P, u.nS, u.nA)
    pit = u.state_of(3, 3)
    s = u.state_of(3, 2)
    assert R[s, 1] == -10.0 and T[s, 1].sum() == 0.0  # into the pit: reward only
    assert T[s, 0, u.state_of(2, 2)] == 1.0
    assert R[pit].tolist() == [0.0] * 4 and T[pit].sum() == 0.0


def test_never_ending_policy_with_gamma_one_is_reported(lecture):
    env, u, _ = lecture
    always_up = np.zeros((u.nS, u.nA))
    always_up[:, 0] = 1.0  # in row 1 "up" is blocked: the agent stays forever
    with pytest.raises(NotConverged, match="never reaches a terminal state"):
        policy_evaluation(u.P, u.nS, u.nA, always_up, gamma=1.0)
    assert np.isfinite(policy_evaluation(u.P, u.nS, u.nA, always_up, gamma=0.9)).all()


def test_env_without_a_model_is_refused():
    env = gym.make("LectureRL/Parity-v0")
    with pytest.raises(UnsupportedSpaceError, match="no transition model"):
        agents.make("value_iteration", env)


def test_dp_checkpoint_round_trip(tmp_path):
    env = gym.make("FrozenLake-v1")
    agent = agents.make("policy_iteration", env, gamma=0.9, seed=0)
    agent.train(env, episodes=0)
    agent.save(tmp_path / "pi")
    loaded = agents.load(tmp_path / "pi")
    assert np.array_equal(loaded.q, agent.q) and np.array_equal(loaded.v, agent.v)
    assert np.array_equal(loaded.policy, agent.policy)
    assert loaded.evaluate(env, 200, seed=0) == agent.evaluate(env, 200, seed=0)


@pytest.mark.parametrize("hp", [{"gamma": 1.5}, {"theta": 0}, {"max_sweeps": 0}, {"alpha": 0.5}])
def test_dp_hyperparameters_checked(hp):
    env = gym.make("FrozenLake-v1")
    with pytest.raises(agents.HyperparameterError):
        agents.make("value_iteration", env, **hp)
