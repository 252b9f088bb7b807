"""The numpy vector copies of FrozenLake and CliffWalking step exactly as their tables say."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from lecture_rl.agents.vector_envs import make_train_envs
from lecture_rl.envs.table_vector import TableVectorEnv

SAME, NEXT = AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP


@pytest.mark.parametrize(
    "env_id, kwargs", [("FrozenLake-v1", {"is_slippery": False}), ("CliffWalking-v1", {})]
)
def test_deterministic_maps_match_gymnasiums_sync_vector_env_step_for_step(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    ours = TableVectorEnv(env, 5, autoreset_mode=SAME)
    theirs = gym.make_vec(
        env_id, num_envs=5, vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": SAME}, **kwargs,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    a, _ = ours.reset(seed=1)
    b, _ = theirs.reset(seed=1)
    assert np.array_equal(a, b)
    for _ in range(400):
        actions = rng.integers(4, size=5)
        *ours_out, ours_info = ours.step(actions)
        *theirs_out, theirs_info = theirs.step(actions)
        for x, y in zip(ours_out, theirs_out):
            assert np.array_equal(x, y)
        assert np.array_equal(ours_info.get("_final_obs", np.zeros(5, bool)),
                              theirs_info.get("_final_obs", np.zeros(5, bool)))  # fmt: skip
        for i in np.flatnonzero(ours_info.get("_final_obs", [])):
            assert ours_info["final_obs"][i] == theirs_info["final_obs"][i]


def test_slippery_outcomes_follow_the_table_and_the_same_seed_repeats():
    env = gym.make("FrozenLake-v1", is_slippery=True)
    envs = TableVectorEnv(env, 4000, autoreset_mode=SAME)
    envs.reset(seed=7)
    obs, _, _, _, info = envs.step(np.full(4000, 2))  # RIGHT from the start state 0
    # P[0][RIGHT]: down to 4, right to 1, up (stays at 0), each with probability 1/3
    counts = np.bincount(obs, minlength=16)[[0, 1, 4]] / 4000
    assert counts == pytest.approx([1 / 3] * 3, abs=0.03)
    assert np.allclose(info["prob"], 1 / 3)
    again = TableVectorEnv(env, 4000, autoreset_mode=SAME)
    again.reset(seed=7)
    assert np.array_equal(again.step(np.full(4000, 2))[0], obs)
    other = TableVectorEnv(env, 4000, autoreset_mode=SAME)
    other.reset(seed=8)
    assert not np.array_equal(other.step(np.full(4000, 2))[0], obs)


def test_copy_i_runs_the_episodes_of_seed_plus_i():
    env = gym.make("FrozenLake-v1", is_slippery=True)
    batch = TableVectorEnv(env, 3, autoreset_mode=SAME)
    batch.reset(seed=10)
    single = TableVectorEnv(env, 1, autoreset_mode=SAME)
    single.reset(seed=12)
    actions = np.random.default_rng(1).integers(4, size=(300, 3))
    for row in actions:
        assert batch.step(row)[0][2] == single.step(row[2:])[0][0]


def test_time_limit_truncates_and_autoreset_modes():
    env = gym.make("FrozenLake-v1", is_slippery=False)  # 4x4: 100 steps
    same = TableVectorEnv(env, 2, autoreset_mode=SAME)
    same.reset(seed=0)
    for t in range(1, 101):
        obs, _, terminated, truncated, info = same.step([0, 0])  # LEFT at the wall: stay put
        assert not terminated.any()
        assert truncated.all() == (t == 100)
    assert list(info["final_obs"]) == [0, 0] and np.array_equal(obs, [0, 0])
    nxt = TableVectorEnv(env, 1, max_episode_steps=2, autoreset_mode=NEXT)
    nxt.reset(seed=0)
    steps = [nxt.step([1]) for _ in range(4)]  # DOWN: 0 -> 4 -> 8 (truncated) -> reset -> 4
    assert [int(s[0][0]) for s in steps] == [4, 8, 0, 4]
    assert [bool(s[3][0]) for s in steps] == [False, True, False, False]
    assert [float(s[1][0]) for s in steps] == [0.0] * 4
    assert "final_obs" not in steps[1][4]


def test_misuse_is_a_gymnasium_error():
    env = gym.make("FrozenLake-v1")
    envs = TableVectorEnv(env, 2)
    envs.reset(seed=0)
    with pytest.raises(gym.error.InvalidAction, match="outside"):
        envs.step([0, 4])
    with pytest.raises(gym.error.Error, match="table"):
        TableVectorEnv(gym.make("CartPole-v1"), 2)
    with pytest.raises(gym.error.Error, match="num_envs"):
        TableVectorEnv(env, 0)


def test_the_deep_agents_train_on_it():
    envs = make_train_envs(gym.make("FrozenLake8x8-v1"), 4)
    assert isinstance(envs, TableVectorEnv) and envs.max_episode_steps == 200
    assert envs.single_observation_space == gym.spaces.Discrete(64)
