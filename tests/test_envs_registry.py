"""Checks every shipped env id and variant must pass: both env checkers, registration from a
fresh interpreter and in SB3's subprocess vector env, determinism, pickling, vector modes and
headless rendering."""

from __future__ import annotations

import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import lecture_rl.envs
from lecture_rl.envs.grid_maps import shipped_maps

GRID_VARIANTS = [
    {"map_name": name, "obs_mode": mode}
    for name in ("lecture", "cliff", "maze")
    for mode in ("index", "onehot", "coords", "image")
] + [{"map_name": "lecture", "slip": 0.2, "step_reward": -0.1}]

VARIANTS = (
    [("LectureRL/GridWorld-v0", kw) for kw in GRID_VARIANTS]
    + [("LectureRL/Parity-v0", {}), ("LectureRL/Parity-v0", {"length": 3})]
    + [
        ("LectureRL/Copy-v0", {}),
        ("LectureRL/Copy-v0", {"length": 3, "symbols": 2, "delay": 4, "reverse": True}),
        ("LectureRL/Copy-v0", {"length": 6, "symbols": 8, "delay": 1}),
    ]
)
IDS = sorted(lecture_rl.envs.ENV_IDS)


def _name(param: tuple[str, dict]) -> str:
    env_id, kw = param
    return env_id.split("/")[1] + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def test_every_contract_id_is_registered_with_a_vector_entry_point():
    assert set(IDS) == {"LectureRL/GridWorld-v0", "LectureRL/Parity-v0", "LectureRL/Copy-v0"}
    for env_id in IDS:
        spec = gym.spec(env_id)
        assert spec.vector_entry_point is not None
    assert {"lecture", "cliff", "maze"} <= set(shipped_maps())


@pytest.mark.parametrize("param", VARIANTS, ids=_name)
def test_gymnasium_and_sb3_env_checkers_pass(param):
    env_id, kw = param
    env = gym.make(env_id, **kw)
    gym_check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(gym.make(env_id, **kw), warn=True)


@pytest.mark.parametrize("param", VARIANTS, ids=_name)
def test_same_seed_same_episode_other_seed_differs_somewhere(param):
    env_id, kw = param

    def rollout(seed: int) -> list:
        env = gym.make(env_id, **kw)
        env.action_space.seed(123)
        obs, _ = env.reset(seed=seed)
        trace = [np.asarray(obs).tolist()]
        for _ in range(40):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            trace.append((np.asarray(obs).tolist(), reward, terminated, truncated))
            if terminated or truncated:
                obs, _ = env.reset()
                trace.append(np.asarray(obs).tolist())
        return trace

    assert rollout(7) == rollout(7)
    random_task = env_id != "LectureRL/GridWorld-v0" or kw.get("slip", 0) > 0
    if random_task:
        assert any(rollout(seed) != rollout(7) for seed in (8, 9, 10))


@pytest.mark.parametrize("env_id", IDS)
def test_make_with_the_module_prefix_in_a_fresh_interpreter(env_id):
    code = (
        "import gymnasium as gym\n"
        f"env = gym.make('lecture_rl.envs:{env_id}')\n"
        "obs, info = env.reset(seed=0)\n"
        "print(env.observation_space.contains(obs), type(env.unwrapped).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("True ")


def test_sb3_subproc_vec_env_makes_every_id_by_its_module_prefixed_name():
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    for env_id in IDS:
        venv = make_vec_env(f"lecture_rl.envs:{env_id}", n_envs=2, vec_env_cls=SubprocVecEnv)
        try:
            obs = venv.reset()
            assert obs.shape[0] == 2
            obs, rewards, dones, infos = venv.step(np.zeros(2, dtype=np.int64))
            assert rewards.shape == (2,) and len(infos) == 2
        finally:
            venv.close()


@pytest.mark.parametrize("env_id", IDS)
def test_pickle_round_trip_continues_identically(env_id):
    env = gym.make(env_id).unwrapped
    env.reset(seed=3)
    env.step(0)
    clone = pickle.loads(pickle.dumps(env))
    for action in (1, 0, 1, 1):
        a = env.step(action)
        b = clone.step(action)
        assert np.array_equal(a[0], b[0]) and a[1:4] == b[1:4]
        if a[2] or a[3]:
            break


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("mode", ["sync", "async", "vector_entry_point"])
def test_make_vec_in_every_mode(env_id, mode):
    envs = gym.make_vec(env_id, num_envs=3, vectorization_mode=mode)
    try:
        obs, _ = envs.reset(seed=0)
        assert envs.observation_space.contains(obs)
        for _ in range(20):
            obs, rewards, terminated, truncated, _ = envs.step(envs.action_space.sample())
            assert envs.observation_space.contains(obs)
            assert rewards.shape == terminated.shape == truncated.shape == (3,)
        if mode == "vector_entry_point":
            assert "autoreset_mode" in envs.metadata
    finally:
        envs.close()


@pytest.mark.parametrize("env_id", IDS)
def test_native_vector_env_accepts_a_list_of_seeds_deterministically(env_id):
    make = lambda: gym.make_vec(env_id, num_envs=4, vectorization_mode="vector_entry_point")  # noqa: E731
    first, second = make(), make()
    a, _ = first.reset(seed=[1, 2, 3, 4])
    b, _ = second.reset(seed=[1, 2, 3, 4])
    assert np.array_equal(a, b)
    actions = np.ones(4, dtype=np.int64)
    assert np.array_equal(first.step(actions)[0], second.step(actions)[0])


@pytest.mark.parametrize("env_id", IDS)
def test_every_render_mode_headless(env_id):
    for mode in ("rgb_array", "ansi", "human"):
        env = gym.make(env_id, render_mode=mode)
        env.reset(seed=0)
        env.step(0)
        frame = env.render()
        if mode == "rgb_array":
            assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
            assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 4  # a picture, not a blank
        elif mode == "ansi":
            assert isinstance(frame, str) and frame.strip()
        else:
            assert frame is None
        env.close()
        env.close()  # closing twice is harmless


@pytest.mark.parametrize("env_id", IDS)
def test_step_order_and_action_misuse_raise_gymnasium_errors(env_id):
    env = gym.make(env_id, disable_env_checker=True).unwrapped
    with pytest.raises(gym.error.ResetNeeded, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(gym.error.InvalidAction):
        env.step(env.action_space.n)
    with pytest.raises(gym.error.InvalidAction):
        env.step(-1)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(0)
        done = terminated or truncated
    with pytest.raises(gym.error.ResetNeeded, match="reset"):
        env.step(0)


@pytest.mark.parametrize(
    ("env_id", "kw", "pattern"),
    [
        ("LectureRL/Parity-v0", {"length": 0}, "length"),
        ("LectureRL/Parity-v0", {"length": 2.5}, "length"),
        ("LectureRL/Copy-v0", {"symbols": 1}, "symbols"),
        ("LectureRL/Copy-v0", {"length": 0}, "length"),
        ("LectureRL/Copy-v0", {"delay": -1}, "delay"),
        ("LectureRL/GridWorld-v0", {"slip": 1.5}, "slip"),
        ("LectureRL/GridWorld-v0", {"slip": -0.1}, "slip"),
        ("LectureRL/GridWorld-v0", {"obs_mode": "pixels"}, "obs_mode"),
        ("LectureRL/GridWorld-v0", {"map_name": "no-such-map"}, "no-such-map"),
        ("LectureRL/GridWorld-v0", {"render_mode": "video"}, "render"),
    ],
)
def test_nonsensical_keywords_are_clear_errors(env_id, kw, pattern):
    with pytest.raises((gym.error.Error, ValueError), match=pattern):
        gym.make(env_id, **kw)
