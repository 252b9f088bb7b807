"""The grid world as a torch batched env (see `lecture_rl.envs.torch_vector`).

Description:
    `GridWorldVectorEnv` with its tables
    (`next_state`, `reward`, `terminated`, `mask` indexed by `[state, direction]`, and
    the observation of every state) copied once to `device`: a step of every copy is a few
    gathers and `torch.where`s there. Slip draws `uniforms(key(seed, e), t)` per copy, the
    single env's draw (`torch_streams`), so trajectories equal the numpy
    env's for the same seed and actions.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from lecture_rl.envs import torch_streams
from lecture_rl.envs.grid_maps import load_map
from lecture_rl.envs.grid_world import (
    GridDynamics,
    GridWorldEnv,
    check_grid_kwargs,
    observation_space,
    start_state_from,
)
from lecture_rl.envs.grid_world_vector import observation_table
from lecture_rl.envs.torch_vector import TorchVectorEnv


class TorchGridWorldVectorEnv(TorchVectorEnv):
    """`num_envs` grid worlds as tensors on `device`.

    Arguments, infos and autoreset as `GridWorldVectorEnv` (`render_mode` must be
    `None`; `autoreset_mode` `NEXT_STEP` or `SAME_STEP`); observations, rewards
    (`float64`) and infos (`action_mask` `int8`, `state` `int64`) are tensors.
    """

    metadata = {
        "render_modes": [],
        "render_fps": GridWorldEnv.metadata["render_fps"],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    task_env = GridWorldEnv

    def _build(
        self,
        map_name: str | os.PathLike[str],
        obs_mode: str,
        slip: float,
        step_reward: float | None,
        max_steps: int | None,
    ) -> None:
        check_grid_kwargs(obs_mode, slip, step_reward, max_steps)
        self.grid_map = load_map(map_name)
        self.dynamics = d = GridDynamics(self.grid_map, step_reward, slip)
        self.map_name, self.obs_mode = self.grid_map.name, obs_mode
        self.slip, self.max_steps = float(slip), max_steps
        self.nrow, self.ncol, self.nS, self.nA = d.nrow, d.ncol, d.nS, d.nA
        self.start_state = d.start_state
        self.can_truncate = max_steps is not None
        self.single_action_space = spaces.Discrete(d.nA)
        self.single_observation_space = observation_space(d, obs_mode)
        self._setup_spaces()

        def on_device(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

        # flat [state · nA + direction] tables: one gather per lookup (torch's two-index
        # advanced indexing is ~100x slower on the CPU)
        self._next_state = on_device(d.next_state.ravel())
        self._reward = on_device(d.reward.ravel())
        self._terminated = on_device(d.terminated.ravel())
        self._mask = on_device(d.mask)
        self._obs_table = on_device(observation_table(d, obs_mode))
        self._limit = np.iinfo(np.int64).max if max_steps is None else int(max_steps)
        n = self.num_envs
        self.s = torch.full((n,), d.start_state, dtype=torch.int64, device=self.device)
        self.steps = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._done = torch.zeros(n, dtype=torch.bool, device=self.device)
        self._all = torch.ones(n, dtype=torch.bool, device=self.device)

    def _observe(self, states: torch.Tensor) -> torch.Tensor:
        return self._obs_table.index_select(0, states)

    def _infos(self, states: torch.Tensor) -> dict[str, Any]:
        return {
            "action_mask": self._mask.index_select(0, states),
            "_action_mask": self._all,
            "state": states,
            "_state": self._all,
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Every copy to the start state (or `options["start"]`); `seed=s`: copy `i`
        gets `s + i`."""
        self._check_reset_options(options, ("start",))
        start = start_state_from(self.dynamics, dict(options or {}))
        self._start_all(seed)
        self.s = torch.full_like(self.s, start)
        self.steps = torch.zeros_like(self.steps)
        self._done = torch.zeros_like(self._done)
        return self._observe(self.s), self._infos(self.s)

    def step(
        self, actions: Any
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
        self._check_ready()
        a = self._check_actions(actions)
        slips = self.slip > 0.0
        if slips:  # u = uniforms(key(seed, e), t): slipped moves go in a uniform direction
            u = torch_streams.uniforms(self.keys, self.steps)
            random_dir = (u / self.slip * self.nA).to(torch.int64).clamp(max=self.nA - 1)
            a = torch.where(u < self.slip, random_dir, a)
        move = self.s * self.nA + a  # the flat index of (s, a)
        next_s = self._next_state.index_select(0, move)
        reward = self._reward.index_select(0, move)
        terminated = self._terminated.index_select(0, move)
        self.steps = self.steps + 1
        truncated = (self.steps >= self._limit) & ~terminated
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            was_done = self._done  # these copies start over instead of moving
            next_s = torch.where(was_done, self.start_state, next_s)
            reward = torch.where(was_done, 0.0, reward)
            terminated = terminated & ~was_done
            truncated = truncated & ~was_done
            self.steps = torch.where(was_done, 0, self.steps)
            if slips:  # without slip nothing is random: no keys to advance
                self._next_episode(was_done)
            self._done = terminated | truncated
            infos = self._infos(next_s)
        else:  # SAME_STEP: the copies that ended restart now; their last obs in final_obs
            done = terminated | truncated
            final_info = {
                "action_mask": torch.where(done[:, None], self._mask.index_select(0, next_s), 0),
                "_action_mask": done,
                "state": torch.where(done, next_s, 0),
                "_state": done,
            }
            final_obs = self._observe(next_s)
            next_s = torch.where(done, self.start_state, next_s)
            self.steps = torch.where(done, 0, self.steps)
            if slips:
                self._next_episode(done)
            infos = self._infos(next_s)
            infos.update(
                final_obs=final_obs, _final_obs=done, final_info=final_info, _final_info=done
            )
        self.s = next_s
        return self._observe(next_s), reward, terminated, truncated, infos

    def action_masks(self) -> torch.Tensor:
        """`bool (num_envs, nA)`: True where each copy's move from its current state is open."""
        return self._mask.index_select(0, self.s).bool()


__all__ = ["TorchGridWorldVectorEnv"]
