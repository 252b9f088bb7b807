"""The torch batched envs give exactly the numpy native vector envs' trajectories."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from gymnasium.error import InvalidAction, ResetNeeded
from gymnasium.vector import AutoresetMode

from lecture_rl.envs import streams, torch_streams
from lecture_rl.envs.base import EnvArgumentError
from lecture_rl.envs.copy_task_vector import CopyVectorEnv
from lecture_rl.envs.grid_world_vector import GridWorldVectorEnv
from lecture_rl.envs.parity_vector import ParityVectorEnv
from lecture_rl.envs.torch_vector import has_torch_vector_env, make_torch_vector_env

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP]
CASES = [
    ("LectureRL/Parity-v0", ParityVectorEnv, {"length": 16}),
    ("LectureRL/Parity-v0", ParityVectorEnv, {"length": 1}),
    ("LectureRL/Copy-v0", CopyVectorEnv, {"length": 5, "symbols": 4}),
    ("LectureRL/Copy-v0", CopyVectorEnv, {"length": 3, "symbols": 7, "delay": 4, "reverse": True}),
    ("LectureRL/GridWorld-v0", GridWorldVectorEnv, {"map_name": "cliff", "max_steps": 30}),
    ("LectureRL/GridWorld-v0", GridWorldVectorEnv, {"slip": 0.3, "max_steps": 20}),
    ("LectureRL/GridWorld-v0", GridWorldVectorEnv,
     {"map_name": "maze", "obs_mode": "image", "slip": 0.2, "max_steps": 25}),
    ("LectureRL/GridWorld-v0", GridWorldVectorEnv,
     {"obs_mode": "onehot", "step_reward": -0.04, "max_steps": None}),
]  # fmt: skip


def as_numpy(value: Any) -> Any:
    if torch.is_tensor(value):
        return value.cpu().numpy()
    if isinstance(value, dict):
        return {k: as_numpy(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(as_numpy(v) for v in value)
    return value


def assert_infos_equal(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Every numpy info entry is in ours (final_obs: where its mask is set)."""
    for key, value in theirs.items():
        if key == "final_obs":
            rows = np.flatnonzero(theirs["_final_obs"])
            expected = np.stack([np.asarray(value[i]) for i in rows])
            np.testing.assert_array_equal(ours["final_obs"][rows], expected)
        elif isinstance(value, dict):
            assert_infos_equal(ours[key], value)
        else:
            np.testing.assert_array_equal(ours[key], np.asarray(value), err_msg=key)
    if "_final_obs" in ours and "_final_obs" not in theirs:
        assert not ours["_final_obs"].any()  # no copy ended: nothing marked


def run_both(env_id, numpy_class, kwargs, mode, seed, steps=120, num_envs=7, device="cpu"):
    ours = make_torch_vector_env(env_id, num_envs, device, autoreset_mode=mode, **kwargs)
    theirs = numpy_class(num_envs=num_envs, autoreset_mode=mode, **kwargs)
    rng = np.random.default_rng(seed)
    first_ours, first_theirs = ours.reset(seed=seed), theirs.reset(seed=seed)
    np.testing.assert_array_equal(as_numpy(first_ours[0]), first_theirs[0])
    assert_infos_equal(as_numpy(first_ours[1]), first_theirs[1])
    ended = 0
    for _ in range(steps):
        actions = rng.integers(0, theirs.single_action_space.n, size=num_envs)
        got = as_numpy(ours.step(torch.as_tensor(actions, device=device)))
        want = theirs.step(actions)
        for name, a, b in zip(("obs", "reward", "terminated", "truncated"), got[:4], want[:4]):
            np.testing.assert_array_equal(a, b, err_msg=name)
            assert a.dtype == np.asarray(b).dtype, name
        assert_infos_equal(got[4], want[4])
        ended += int(np.sum(want[2] | want[3]))
    assert ended > num_envs  # the run crossed autoresets in every setting
    return ours


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
@pytest.mark.parametrize("env_id,numpy_class,kwargs", CASES, ids=lambda c: str(c))
def test_torch_envs_equal_numpy_envs(env_id, numpy_class, kwargs, mode):
    for seed in (0, 12345):
        run_both(env_id, numpy_class, kwargs, mode, seed)


def test_unseeded_reset_continues_the_seeded_episodes():
    """A later reset without a seed goes on with each copy's next episode, as numpy's."""
    ours = make_torch_vector_env("LectureRL/Copy-v0", 5, "cpu", length=4)
    theirs = CopyVectorEnv(num_envs=5, length=4)
    ours.reset(seed=3), theirs.reset(seed=3)
    for _ in range(30):  # a few autoresets, counted on the device
        ours.step(torch.zeros(5, dtype=torch.long)), theirs.step(np.zeros(5, dtype=np.int64))
    got, want = ours.reset(), theirs.reset()
    np.testing.assert_array_equal(got[0].numpy(), want[0])
    np.testing.assert_array_equal(got[1]["hidden"].numpy(), want[1]["hidden"])


def test_torch_streams_equal_numpy_streams():
    rng = np.random.default_rng(0)
    seeds = rng.integers(0, 2**63, size=200, dtype=np.int64)
    episodes = rng.integers(0, 10**6, size=200, dtype=np.int64)
    keys = streams.episode_keys(seeds.astype(np.uint64), episodes.astype(np.uint64))
    keys_t = torch_streams.episode_keys(torch.from_numpy(seeds), torch.from_numpy(episodes))
    np.testing.assert_array_equal(keys_t.numpy(), keys.view(np.int64))
    steps = np.arange(40)
    np.testing.assert_array_equal(
        torch_streams.integers(keys_t[:, None], torch.from_numpy(steps), 11).numpy(),
        streams.integers(keys[:, None], steps, 11),
    )
    np.testing.assert_array_equal(
        torch_streams.uniforms(keys_t[:, None], torch.from_numpy(steps)).numpy(),
        streams.uniforms(keys[:, None], steps),
    )


def test_outputs_stay_on_the_device_as_tensors():
    envs = make_torch_vector_env("LectureRL/GridWorld-v0", 4, "cpu", autoreset_mode="SameStep")
    obs, infos = envs.reset(seed=0)
    out = envs.step(torch.zeros(4, dtype=torch.long))
    for value in (obs, *out[:4], out[4]["action_mask"], out[4]["final_obs"]):
        assert torch.is_tensor(value) and value.device == torch.device("cpu")
    assert out[1].dtype == torch.float64 and out[2].dtype == torch.bool


def test_misuse_raises_gymnasium_errors():
    envs = make_torch_vector_env("LectureRL/Parity-v0", 3, "cpu")
    with pytest.raises(ResetNeeded):
        envs.step(torch.zeros(3, dtype=torch.long))
    envs.reset(seed=0)
    with pytest.raises(InvalidAction, match="shape"):
        envs.step(torch.zeros(4, dtype=torch.long))
    with pytest.raises(InvalidAction, match="integer"):
        envs.step(torch.zeros(3))
    with pytest.raises(InvalidAction, match="not in the action space"):
        envs.step(torch.tensor([0, 2, 1]))
    with pytest.raises(EnvArgumentError, match="reset option"):
        envs.reset(options={"reset_mask": np.ones(3, dtype=bool)})
    with pytest.raises(EnvArgumentError, match="render"):
        make_torch_vector_env("LectureRL/Parity-v0", 3, "cpu", render_mode="ansi")
    assert has_torch_vector_env("LectureRL/Copy-v0") and not has_torch_vector_env("CartPole-v1")
    with pytest.raises(Exception, match="no torch batched version"):
        make_torch_vector_env("CartPole-v1", 3, "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("env_id,numpy_class,kwargs", CASES[::2], ids=lambda c: str(c))
def test_torch_envs_on_cuda_equal_numpy_envs(env_id, numpy_class, kwargs):
    ours = run_both(env_id, numpy_class, kwargs, AutoresetMode.SAME_STEP, 7, device="cuda")
    assert ours.keys.device.type == "cuda"
