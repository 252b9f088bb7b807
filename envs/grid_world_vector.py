"""`GridWorldVectorEnv`: `num_envs` grid worlds stepped at once in numpy.

Description:
    The native batched version of
    [`lecture_rl.envs.grid_world.GridWorldEnv`][lecture_rl.envs.grid_world.GridWorldEnv] (its
    `vector_entry_point`):

    ```python
    venv = gym.make_vec("LectureRL/GridWorld-v0", num_envs=256,
                        vectorization_mode="vector_entry_point", map_name="cliff")
    ```

    The dynamics are the single env's tables
    ([`GridDynamics`][lecture_rl.envs.grid_world.GridDynamics]: `next_state`, `reward`,
    `terminated` indexed by `[state, direction]`), so one step of every copy is a handful of
    fancy-indexing operations with no Python loop over copies. Observations are looked up in a
    per-state table (`index`, `onehot`, `coords` and the `image` pictures), so every observation
    mode costs the same.

    Slip draws one uniform number per copy and step, `streams.uniforms(key(seed, e), t)`, a
    pure function of the copy's seed, episode and step
    ([`lecture_rl.envs.streams`][lecture_rl.envs.streams]), with the same rule as the single env
    ([`GridDynamics.directions`][lecture_rl.envs.grid_world.GridDynamics.directions]).
    `reset(seed=s)` gives copy `i` the seed `s + i`, so copy `i` runs exactly the episodes of a
    single env reset with `seed=s + i` for the same actions, slip and autoresets included.

Spaces:
    `single_observation_space` / `single_action_space` are the single env's; the batched
    ones come from `gymnasium.vector.utils.batch_space` (`index` batches to
    `MultiDiscrete`, the `Box` modes gain a leading `num_envs` axis).

Autoreset (`autoreset_mode`, stated in `metadata["autoreset_mode"]`):
    - `NEXT_STEP` (default, Gymnasium's): the step after an episode ended resets that copy,
      returning the start observation with reward 0 and `terminated = truncated = False`
      (the action is ignored).
    - `SAME_STEP` (the deep agents'): a copy that ends is reset in the same step; the step
      returns the new episode's first observation, the last one of the finished episode is in
      `infos["final_obs"]` (an object array, `None` where no episode ended; mask
      `infos["_final_obs"]`) and its info in `infos["final_info"]`.
    - `DISABLED`: ended copies must be reset with `reset(options={"reset_mask": mask})`.

Infos:
    `infos["action_mask"]` `int8 (num_envs, nA)` (1 = the move is open) and
    `infos["state"]` `(num_envs,)`, each with its `_key` mask, as
    `SyncVectorEnv` would batch the single env's infos.

Arguments:
    `num_envs` plus the single env's `map_name`, `obs_mode`, `slip`, `step_reward`,
    `max_steps`, `render_mode` (`rgb_array` or `ansi`: a tuple of frames, one per copy)
    and `autoreset_mode`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.error import InvalidAction, ResetNeeded, UnsupportedMode
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from lecture_rl.envs import grid_draw, grid_images, rendering, streams
from lecture_rl.envs.base import EnvArgumentError, reset_mask_of
from lecture_rl.envs.grid_maps import load_map
from lecture_rl.envs.grid_world import (
    GridDynamics,
    GridWorldEnv,
    check_grid_kwargs,
    observation_space,
    start_state_from,
)

VECTOR_RENDER_MODES = ("rgb_array", "ansi")


def observation_table(dynamics: GridDynamics, obs_mode: str) -> np.ndarray:
    """The observation of every state, `table[s]`, in the single env's dtype."""
    if obs_mode == "index":
        return np.arange(dynamics.nS, dtype=np.int64)
    if obs_mode == "onehot":
        return np.eye(dynamics.nS, dtype=np.float32)
    if obs_mode == "coords":
        return np.array([dynamics.coords_of(s) for s in range(dynamics.nS)], dtype=np.float32)
    return grid_images.observation_images(dynamics)


class GridWorldVectorEnv(VectorEnv):
    """`num_envs` copies of the grid world in numpy; see the module docstring."""

    metadata = {
        "render_modes": list(VECTOR_RENDER_MODES),
        "render_fps": GridWorldEnv.metadata["render_fps"],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    # Intentional twin (duplicate scan): the keywords of GridWorldEnv.__init__, which gym.make_vec
    # passes through; the rules themselves are shared (GridDynamics, check_grid_kwargs).
    def __init__(
        self,
        num_envs: int = 1,
        map_name: str | os.PathLike[str] = "lecture",
        obs_mode: str = "index",
        slip: float = 0.0,
        step_reward: float | None = None,
        max_steps: int | None = 100,
        render_mode: str | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
    ) -> None:
        not_int = isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer))
        if not_int or num_envs < 1:
            raise EnvArgumentError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        check_grid_kwargs(obs_mode, slip, step_reward, max_steps)
        if render_mode is not None and render_mode not in VECTOR_RENDER_MODES:
            raise UnsupportedMode(
                f"render_mode={render_mode!r} is not supported by GridWorldVectorEnv; use one of "
                f"{list(VECTOR_RENDER_MODES)} or None (for a window, render a single GridWorldEnv)"
            )
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise EnvArgumentError(
                f"autoreset_mode={autoreset_mode!r} is not supported; use one of "
                f"{[m.value for m in AutoresetMode]}"
            ) from None

        self.num_envs = int(num_envs)
        self.autoreset_mode = mode
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.render_mode = render_mode
        self.grid_map = load_map(map_name)
        self.dynamics = d = GridDynamics(self.grid_map, step_reward, slip)
        self.map_name, self.obs_mode = self.grid_map.name, obs_mode
        self.slip, self.max_steps = float(slip), max_steps
        self.nrow, self.ncol, self.nS, self.nA = d.nrow, d.ncol, d.nS, d.nA
        self.start_state, self.terminal_states = d.start_state, set(d.terminal_states)

        self.single_action_space = spaces.Discrete(d.nA)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.single_observation_space = observation_space(d, obs_mode)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)

        self._obs_table = observation_table(d, obs_mode)
        # a step's limit as a number (max_steps=None: never truncate)
        self._limit = np.iinfo(np.int64).max if max_steps is None else int(max_steps)
        self._all = np.ones(self.num_envs, dtype=bool)
        self.s = np.full(self.num_envs, d.start_state, dtype=np.int64)
        self.steps = np.zeros(self.num_envs, dtype=np.int64)
        self._done = np.zeros(self.num_envs, dtype=bool)  # the copy's episode has ended
        self._streams = streams.EpisodeStreams(self.num_envs)  # per-copy seed and episode
        self._needs_reset = True

    # -------------------------------------------------------------- helpers
    def _obs(self, states: np.ndarray) -> np.ndarray:
        return self._obs_table[states]  # fancy indexing returns a fresh array

    def _infos(self, states: np.ndarray, present: np.ndarray | None = None) -> dict[str, Any]:
        present = self._all if present is None else present
        return {
            "action_mask": self.dynamics.mask[states],
            "_action_mask": present.copy(),
            "state": states.copy(),
            "_state": present.copy(),
        }

    def _check_actions(self, actions: Any) -> np.ndarray:
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or not (
            np.issubdtype(a.dtype, np.integer)
            or (a.dtype == object and all(isinstance(x, (int, np.integer)) for x in a.flat))
        ):
            raise InvalidAction(
                f"actions must be an integer array of shape ({self.num_envs},) (one action in "
                f"0..{self.nA - 1} per copy), got {a.dtype} array of shape {a.shape}"
            )
        a = a.astype(np.int64, copy=False)
        if a.size and (a.min() < 0 or a.max() >= self.nA):
            bad = int(np.flatnonzero((a < 0) | (a >= self.nA))[0])
            raise InvalidAction(
                f"action {int(a[bad])} of copy {bad} is not in the action space "
                f"{self.single_action_space}; use integers in [0, {self.nA - 1}]"
            )
        return a

    # -------------------------------------------------------------- Gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every copy (or those in `options["reset_mask"]`) to the start state.

        `options["start"]` (`(row, col)` or a state index) starts the reset copies there.
        """
        seeds = streams.vector_seeds(seed, self.num_envs)  # copy i: seed + i, as SyncVectorEnv
        options = dict(options) if options else {}
        reset_mask = options.pop("reset_mask", None)
        start = start_state_from(self.dynamics, options)
        if reset_mask is None or self._needs_reset:
            if reset_mask is not None:
                raise ResetNeeded(
                    "reset(options={'reset_mask': ...}) resets some copies of a vector env "
                    "that was never reset; call reset() without a reset_mask first"
                )
            reset_mask = self._all
        else:
            reset_mask = reset_mask_of(reset_mask, self.num_envs)
        index = np.flatnonzero(reset_mask)
        self._streams.start(index, [seeds[i] for i in index], self.np_random)
        self.s[reset_mask] = start
        self.steps[reset_mask] = 0
        self._done[reset_mask] = False
        self._needs_reset = False
        return self._obs(self.s), self._infos(self.s)

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self._needs_reset:
            raise ResetNeeded("GridWorldVectorEnv.step() was called before reset(); call reset()")
        a = self._check_actions(actions)
        d = self.dynamics
        was_done = self._done
        if self.autoreset_mode == AutoresetMode.DISABLED and was_done.any():
            raise ResetNeeded(
                f"copies {np.flatnonzero(was_done).tolist()} ended their episode; with "
                "autoreset_mode=DISABLED reset them with reset(options={'reset_mask': mask})"
            )
        if d.slip > 0.0:  # u = uniforms(key(seed, e), t) per copy: the single env's draw
            a = d.directions(a, streams.uniforms(self._streams.keys, self.steps))
        s = self.s
        next_s = d.next_state[s, a]
        reward = d.reward[s, a]
        terminated = d.terminated[s, a]
        self.steps += 1
        truncated = (self.steps >= self._limit) & ~terminated

        if self.autoreset_mode == AutoresetMode.NEXT_STEP and was_done.any():
            # the copies that ended last step start over instead of moving
            next_s[was_done] = d.start_state
            reward[was_done] = 0.0
            terminated[was_done] = False
            truncated[was_done] = False
            self.steps[was_done] = 0
            if d.slip > 0.0:  # without slip nothing is random: no keys to advance
                self._streams.next_episode(was_done)

        done = terminated | truncated
        infos: dict[str, Any]
        if self.autoreset_mode == AutoresetMode.SAME_STEP and done.any():
            final_obs = np.full(self.num_envs, None, dtype=object)
            final_obs[:] = list(self._obs(next_s)) if self.obs_mode != "index" else next_s
            final_obs[~done] = None
            final_info = self._infos(next_s, done)
            final_info["action_mask"][~done] = 0
            final_info["state"][~done] = 0
            next_s[done] = d.start_state
            self.steps[done] = 0
            if d.slip > 0.0:
                self._streams.next_episode(done)
            infos = self._infos(next_s)
            infos.update(
                final_obs=final_obs,
                _final_obs=done.copy(),
                final_info=final_info,
                _final_info=done.copy(),
            )
            self._done = np.zeros(self.num_envs, dtype=bool)
        else:
            infos = self._infos(next_s)
            self._done = done
        self.s = next_s
        return self._obs(next_s), reward, terminated, truncated, infos

    def action_masks(self) -> np.ndarray:
        """`bool (num_envs, nA)`: True where each copy's move from its current state is open."""
        return self.dynamics.mask[self.s].astype(bool)

    # -------------------------------------------------------------- rendering
    def render(self) -> tuple[Any, ...] | None:
        """One frame per copy: `rgb_array` pictures or `ansi` text (no trail, no overlay)."""
        if self.render_mode is None:
            return None
        if self.render_mode == "ansi":
            return tuple(grid_images.grid_text(self.dynamics, int(s)) for s in self.s)
        return tuple(
            rendering.surface_to_rgb(
                grid_draw.draw_grid(self.dynamics, agent=int(s), caption=self.map_name)
            )
            for s in self.s
        )
