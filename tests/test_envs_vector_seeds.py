"""Same seed, same numbers in every vectorization mode (lecture_rl.envs.streams' rule).

Copy `i` of a vector env reset with `seed=s` runs exactly the episodes of a single env reset
with `seed=s + i`, for the same actions, through autoresets: the native batch
(`vector_entry_point`), `SyncVectorEnv` and `AsyncVectorEnv` give identical arrays.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import lecture_rl.envs  # noqa: F401
from lecture_rl.envs import streams

CASES = [
    ("LectureRL/Parity-v0", {"length": 3}),
    ("LectureRL/Parity-v0", {"length": 16}),
    ("LectureRL/Copy-v0", {"length": 2}),
    ("LectureRL/Copy-v0", {"length": 3, "symbols": 5, "delay": 2, "reverse": True}),
    ("LectureRL/GridWorld-v0", {"slip": 0.5, "max_steps": 6}),
    ("LectureRL/GridWorld-v0", {"map_name": "cliff", "slip": 0.3, "max_steps": 20}),
    (
        "LectureRL/GridWorld-v0",
        {"map_name": "maze", "slip": 0.2, "obs_mode": "onehot", "max_steps": 9},
    ),
    ("LectureRL/GridWorld-v0", {"map_name": "lecture", "obs_mode": "coords"}),
]
MODES = ("vector_entry_point", "sync", "async")
NUM_ENVS, STEPS = 3, 60


def rollout(env_id: str, kw: dict, mode: str, autoreset: AutoresetMode, seed) -> list:
    if mode == "vector_entry_point":  # the native env takes it as a keyword
        envs = gym.make_vec(env_id, NUM_ENVS, mode, autoreset_mode=autoreset, **kw)
    else:
        envs = gym.make_vec(env_id, NUM_ENVS, mode, {"autoreset_mode": autoreset}, **kw)
    try:
        obs, infos = envs.reset(seed=seed)
        actions = np.random.default_rng(7).integers(
            0, envs.single_action_space.n, (STEPS, NUM_ENVS)
        )
        out = [np.array(obs)] + ([infos["hidden"]] if "hidden" in infos else [])
        ends = 0
        for a in actions:
            obs, reward, terminated, truncated, infos = envs.step(a)
            out += [np.array(obs), reward.astype(np.float64), terminated, truncated]
            if "hidden" in infos:  # the task's hidden variable (Parity, Copy)
                out.append(np.asarray(infos["hidden"]))
            if autoreset is AutoresetMode.SAME_STEP and "final_obs" in infos:
                done = infos["_final_obs"]
                out.append(np.stack([np.asarray(o) for o in infos["final_obs"][done]]))
            ends += int((terminated | truncated).sum())
        assert ends >= 2 * NUM_ENVS, "the rollout must pass several autoresets"
        return out
    finally:
        envs.close()


@pytest.mark.parametrize("autoreset", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize(("env_id", "kw"), CASES, ids=lambda c: str(c))
def test_native_sync_async_identical(env_id, kw, autoreset):
    runs = {mode: rollout(env_id, kw, mode, autoreset, seed=11) for mode in MODES}
    native = runs["vector_entry_point"]
    for mode in ("sync", "async"):
        assert len(runs[mode]) == len(native)
        for k, (a, b) in enumerate(zip(native, runs[mode])):
            np.testing.assert_array_equal(a, b, err_msg=f"{mode} differs at item {k}")


@pytest.mark.parametrize(("env_id", "kw"), CASES[::2], ids=lambda c: str(c))
def test_copy_i_is_the_single_env_seeded_seed_plus_i(env_id, kw):
    envs = gym.make_vec(env_id, num_envs=NUM_ENVS, vectorization_mode="vector_entry_point", **kw)
    singles = [gym.make(env_id, **kw) for _ in range(NUM_ENVS)]
    obs, infos = envs.reset(seed=100)
    tape_task = "hidden" in infos
    for i, env in enumerate(singles):
        o, info = env.reset(seed=100 + i)
        np.testing.assert_array_equal(obs[i], o)
        assert not tape_task or infos["hidden"][i] == info["hidden"]
    rng = np.random.default_rng(3)
    restart = np.zeros(NUM_ENVS, dtype=bool)
    for _ in range(STEPS):
        a = rng.integers(0, envs.single_action_space.n, NUM_ENVS)
        obs, reward, terminated, truncated, infos = envs.step(a)
        for i, env in enumerate(singles):
            if restart[i]:  # NEXT_STEP: this step resets copy i (a reset without a seed)
                (o, info), r, te, tr = env.reset(), 0.0, False, False
            else:
                o, r, te, tr, info = env.step(int(a[i]))
            np.testing.assert_array_equal(obs[i], o)
            assert not tape_task or infos["hidden"][i] == info["hidden"]
            assert (reward[i], terminated[i], truncated[i]) == (r, te, tr)
        restart = terminated | truncated


def test_seed_list_gives_each_copy_its_seed():
    kw = {"length": 4}
    single = gym.make("LectureRL/Parity-v0", **kw)
    envs = gym.make_vec(
        "LectureRL/Parity-v0", num_envs=2, vectorization_mode="vector_entry_point", **kw
    )
    envs.reset(seed=[42, 9])
    single.reset(seed=9)
    np.testing.assert_array_equal(envs.unwrapped._obs_tape[1, :4], single.unwrapped.bits)
    with pytest.raises(ValueError, match="one seed per copy"):
        envs.reset(seed=[1, 2, 3])


def test_streams_are_uniform_and_differ_between_seeds_and_episodes():
    keys = streams.episode_keys(np.arange(4), np.zeros(4))
    assert len(set(keys.tolist())) == 4
    assert streams.episode_keys([5], [0])[0] != streams.episode_keys([5], [1])[0]
    u = streams.uniforms(streams.episode_keys([1], [0]), np.arange(200_000))
    assert 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005  # 5 standard errors of the mean of 200k uniforms
    counts = np.bincount(streams.integers(streams.episode_keys([2], [3]), np.arange(60_000), 6))
    assert counts.min() > 9_500 and counts.max() < 10_500  # 6 symbols, 10k each expected
    keys = streams.episode_keys(np.arange(50) * 7919, np.arange(50))
    for key, t in zip(keys.tolist(), range(0, 5000, 100)):  # the plain-Python single-draw path
        assert streams.uniform_at(key, t) == streams.uniforms(np.array([key], np.uint64), t)[0]
    bits = streams.integers(streams.episode_keys([0], [0]), np.arange(10_000), 2)
    assert abs(bits.mean() - 0.5) < 0.03
