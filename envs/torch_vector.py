"""Batched envs as torch tensor operations on the agent's device (CPU or GPU).

Description:
    The numpy native vector envs (`parity_vector`,
    `copy_task_vector`, `grid_world_vector`) return
    numpy arrays, so a deep agent on a GPU copies observations to the device and actions back
    to the host at every step. Their torch versions keep every copy's state in tensors on one
    `device`, take the actions as a tensor there and return `obs`, `reward`,
    `terminated`, `truncated` and the infos as tensors on that device: a training step
    never waits for the host.

    They draw the same numbers (`torch_streams`) with the same seeding
    rule (`reset(seed=s)`: copy `i` runs the single env's episodes for seed `s + i`), so
    for the same seed and actions they give exactly the numpy envs' trajectories, autoresets
    included (`tests/test_envs_torch_vector.py` checks it step by step).

    Differences from the numpy envs, all to avoid a device-to-host wait:

    - `infos["final_obs"]` is a tensor `[num_envs, ...]` present at every `SAME_STEP`
      step (its mask `infos["_final_obs"]` marks the copies that ended), not an object array
      present only when one ended;
    - actions are checked for shape and dtype; their range is checked (`InvalidAction`)
      while `check_action_range` is set, by default only on the CPU (on a GPU that check
      would wait for the device);
    - `reset` takes `seed` (and GridWorld's `options["start"]`) but no `reset_mask`;
      `render_mode` must be `None`; `autoreset_mode` is `NEXT_STEP` or `SAME_STEP`.

Usage:

```python
from lecture_rl.envs.torch_vector import make_torch_vector_env
envs = make_torch_vector_env("LectureRL/Parity-v0", 4096, "cuda", length=16)
obs, infos = envs.reset(seed=0)          # obs: int64 tensor on cuda
obs, reward, terminated, truncated, infos = envs.step(torch.zeros(4096, dtype=torch.long,
                                                                  device="cuda"))
```
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.error import InvalidAction, ResetNeeded
from gymnasium.vector import AutoresetMode

from lecture_rl.envs import torch_streams
from lecture_rl.envs.base import EnvArgumentError, check_int, keywords_of
from lecture_rl.envs.streams import EpisodeStreams, vector_seeds
from lecture_rl.envs.tape_vector import parse_autoreset_mode


class TorchVectorEnv(gym.vector.VectorEnv):
    """Shared part of the torch batched envs: device, per-copy seeds and keys, action checks.

    A copy's random numbers depend only on its episode key `key(seed, e)` (`self.keys`,
    `int64` on the device) and the step; `seeds` and `episodes` live on the device too, so
    an autoreset (`_next_episode`) is elementwise. Subclasses set the spaces, call
    `_setup_spaces` and implement `reset` / `step`.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}
    #: whether an episode can end by truncation (then agents bootstrap from `final_obs`)
    can_truncate = False

    #: the single env whose constructor keywords (and their defaults) this batched env takes
    task_env: type[gym.Env]

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        autoreset_mode: Any = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        **task: Any,
    ) -> None:
        """`num_envs` copies on `device`; `task`: the keywords of `task_env`
        (same names and defaults: one signature, the single env's, holds them)."""
        self.num_envs = check_int("num_envs", num_envs, 1)
        self.autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        if render_mode is not None:
            raise EnvArgumentError(
                f"render_mode={render_mode!r}: the torch batched envs do not render; render a "
                "single env (gym.make(..., render_mode=...))"
            )
        self.render_mode = None
        self.device = torch.device(device)
        n = self.num_envs
        self.seeds = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._seed_words = torch_streams.seed_words(self.seeds)
        self.episodes = torch.zeros(n, dtype=torch.int64, device=self.device)
        self.keys = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._streams = EpisodeStreams(n)  # the host's view, used by reset() only
        self._needs_reset = True
        #: check that actions are in range (reads them on the host: on by default on the CPU
        #: only; an agent whose actions are in range by construction turns it off)
        self.check_action_range = self.device.type == "cpu"
        self._build(**keywords_of(self.task_env, task))

    def _build(self, **task: Any) -> None:
        """Set the task up from its keywords (validated here, as the single env does)."""
        raise NotImplementedError

    def _setup_spaces(self) -> None:
        n = self.num_envs
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, n)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, n)
        self._n_actions = int(self.single_action_space.n)

    def _start_all(self, seed: Any) -> None:
        """Begin a new episode in every copy
        ([`EpisodeStreams`][lecture_rl.envs.streams.EpisodeStreams]' rule, on the host)."""
        seeds = vector_seeds(seed, self.num_envs)
        streams = self._streams
        streams.episodes[:] = self.episodes.cpu().numpy().astype(np.uint64)  # autoresets
        streams.start(slice(None), seeds, self.np_random)
        as_tensor = lambda words: torch.from_numpy(words.view(np.int64).copy()).to(self.device)  # noqa: E731
        self.seeds = as_tensor(streams.seeds)
        self._seed_words = torch_streams.seed_words(self.seeds)  # half of each autoreset's key
        self.episodes = as_tensor(streams.episodes)
        self.keys = as_tensor(streams.keys)
        self._needs_reset = False

    def _next_episode(self, mask: torch.Tensor) -> None:
        """Autoreset: the next episode (same seed) in the copies of `mask`, elementwise."""
        self.episodes = self.episodes + mask
        keys = torch_streams.keys_of_seed_words(self._seed_words, self.episodes)
        self.keys = torch.where(mask, keys, self.keys)

    def _check_reset_options(self, options: dict[str, Any] | None, allowed: tuple[str, ...]):
        unknown = sorted(set(options or {}) - set(allowed))
        if unknown:
            raise EnvArgumentError(
                f"unknown reset option(s) {unknown}; the torch batched env accepts "
                f"{list(allowed)} (for reset_mask or fixed tapes use the numpy vector env)"
            )

    def _check_actions(self, actions: Any) -> torch.Tensor:
        """`actions` as an `int64` tensor on the device, of shape `(num_envs,)`."""
        actions = torch.as_tensor(actions, device=self.device)
        not_integer = actions.dtype.is_floating_point or actions.dtype.is_complex
        if actions.shape != (self.num_envs,) or not_integer:
            raise InvalidAction(
                f"actions must be an integer tensor of shape ({self.num_envs},), got dtype "
                f"{actions.dtype} and shape {tuple(actions.shape)}; "
                f"the action space is {self.action_space}"
            )
        actions = actions.long()
        if self.check_action_range and (
            int(actions.min()) < 0 or int(actions.max()) >= self._n_actions
        ):
            raise InvalidAction(
                f"actions {actions.tolist()!r} are not in the action space {self.action_space}; "
                f"use integers in [0, {self._n_actions - 1}]"
            )
        return actions

    def _check_ready(self) -> None:
        if self._needs_reset:
            raise ResetNeeded(
                f"{type(self).__name__}.step() was called before reset(); call envs.reset() first"
            )

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release: the copies are tensors."""


#: env id -> `module:class` of its torch batched version
TORCH_VECTOR_ENVS: dict[str, str] = {
    "LectureRL/Parity-v0": "lecture_rl.envs.torch_tape_vector:TorchParityVectorEnv",
    "LectureRL/Copy-v0": "lecture_rl.envs.torch_tape_vector:TorchCopyVectorEnv",
    "LectureRL/GridWorld-v0": "lecture_rl.envs.torch_grid_vector:TorchGridWorldVectorEnv",
}


def has_torch_vector_env(env_id: str | None) -> bool:
    """Whether `env_id` has a torch batched version."""
    return env_id in TORCH_VECTOR_ENVS


def make_torch_vector_env(
    env_id: str,
    num_envs: int,
    device: str | torch.device = "cpu",
    autoreset_mode: Any = AutoresetMode.NEXT_STEP,
    **kwargs: Any,
) -> TorchVectorEnv:
    """`num_envs` copies of `env_id` (its registered keyword arguments in `kwargs`) as
    tensors on `device`; `gymnasium.error.Error` when `env_id` has no torch version."""
    if env_id not in TORCH_VECTOR_ENVS:
        raise gym.error.UnregisteredEnv(
            f"{env_id!r} has no torch batched version; these have one: "
            f"{sorted(TORCH_VECTOR_ENVS)} (use gym.make_vec for the others)"
        )
    env_class = gym.envs.registration.load_env_creator(TORCH_VECTOR_ENVS[env_id])
    return env_class(num_envs=num_envs, device=device, autoreset_mode=autoreset_mode, **kwargs)


__all__ = ["TORCH_VECTOR_ENVS", "TorchVectorEnv", "has_torch_vector_env", "make_torch_vector_env"]
