"""The native batched form shared by the sequence tasks (Parity, Copy).

A sequence task is fully described by two tapes per episode, drawn when the episode starts:

- `obs_tape[t]`: the observation shown before the agent's `t`-th action (`t = 0` is the
  reset observation, `t = T` the terminal one);
- `target_tape[t]`: the answer graded at step `t` (reward 1 when the action equals it), or
  `-1` where the action is not graded (e.g. Copy's input phase).

From them a subclass derives `hidden_tape[t]` (`TapeVectorEnv._hidden_tape`), the task's
hidden variable with observation `t` shown; `infos["hidden"]` holds it for the observations
`reset` and `step` return, as the single envs' `info["hidden"]`.

`TapeVectorEnv` keeps both tapes for every copy as `[num_envs, ...]` arrays and steps
all copies with a few numpy operations (no Python loop over copies). A subclass only says how to
draw new tapes from per-copy episode keys (`TapeVectorEnv._draw_tapes`; the same draws as
the single env, [`lecture_rl.envs.streams`][lecture_rl.envs.streams]) and how to read user-given
ones from `reset(options=...)` (`TapeVectorEnv._tapes_from_options`).

Autoreset follows Gymnasium's `AutoresetMode`:

- `NEXT_STEP` (default): the step after an episode ended resets that copy (reward 0, the new
  episode's first observation, the action ignored);
- `SAME_STEP`: a copy that ends is reset within the same `step`; its last observation is in
  `infos["final_obs"]` (mask `infos["_final_obs"]`) and its last step's info in
  `infos["final_info"]`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.error import InvalidAction, ResetNeeded
from gymnasium.vector import AutoresetMode

from lecture_rl.envs.base import HIDDEN_KEY, EnvArgumentError, check_int, reset_mask_of, tape_rows
from lecture_rl.envs.streams import EpisodeStreams, vector_seeds


def parse_autoreset_mode(mode: Any) -> AutoresetMode:
    """`mode` as an `AutoresetMode` (`NEXT_STEP` and `SAME_STEP` are supported)."""
    supported = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)
    try:
        parsed = AutoresetMode(mode)
    except ValueError:
        parsed = None
    if parsed not in supported:
        raise EnvArgumentError(
            f"autoreset_mode={mode!r} is not supported; use gymnasium.vector.AutoresetMode."
            "NEXT_STEP (the default) or AutoresetMode.SAME_STEP"
        )
    return parsed


class TapeVectorEnv(gym.vector.VectorEnv):
    """`num_envs` copies of a sequence task stepped together in numpy (see the module doc).

    Subclasses set `single_observation_space`, `single_action_space`, `episode_steps`
    (`T`), `answers_per_episode` and `info_key` (the info name of the graded answer) in
    `__init__` and then call `_setup`.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}
    info_key = "target"
    #: the single env's id and the task's name, for messages
    single_id = ""
    title = ""
    reset_option_keys: tuple[str, ...] = ()

    def __init__(
        self,
        num_envs: int,
        autoreset_mode: Any = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise EnvArgumentError(
                f"render_mode={render_mode!r}: the batched {self.title} env does not render; "
                f'render a single env, gym.make("{self.single_id}", render_mode=...)'
            )
        self.num_envs = check_int("num_envs", num_envs, 1)
        self.autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = None

    # ----------------------------------------------------------------- subclass hooks
    def _draw_tapes(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fresh episodes, one per episode key (`lecture_rl.envs.streams`), exactly the single
        env's draws for those keys: `(obs_tape [k, T+1], target [k, T])`."""
        raise NotImplementedError

    def _tapes_from_options(self, options: dict[str, Any], k: int) -> tuple[np.ndarray, ...] | None:
        """Tapes for `k` copies from user `options` (`None` if none were given)."""
        return None

    def _hidden_tape(self, obs_tape: np.ndarray, target_tape: np.ndarray) -> np.ndarray:
        """`hidden_tape [k, T+1]`: the hidden variable with observation `t` shown."""
        raise NotImplementedError

    # ----------------------------------------------------------------- set-up
    def _setup(self) -> None:
        n, steps = self.num_envs, self.episode_steps
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, n)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, n)
        self._n_actions = int(self.single_action_space.n)
        self._rows = np.arange(n)
        # one padding column each: obs at T+1 and target at T are read by a copy that ended on
        # the previous step (NEXT_STEP), whose values are then replaced by the reset ones.
        self._obs_tape = np.zeros((n, steps + 2), dtype=np.int64)
        self._target_tape = np.full((n, steps + 1), -1, dtype=np.int64)
        self._hidden = np.full((n, steps + 2), -1, dtype=np.int64)
        self._t = np.zeros(n, dtype=np.int64)
        self._autoreset = np.zeros(n, dtype=bool)
        self._streams = EpisodeStreams(n)  # per-copy seed and episode counter
        self._needs_reset = True

    def _start_episodes(self, rows: np.ndarray | slice, tapes: tuple[np.ndarray, ...]) -> None:
        obs_tape, target_tape = tapes
        steps = self.episode_steps
        self._obs_tape[rows, : steps + 1] = obs_tape
        self._target_tape[rows, :steps] = target_tape
        self._hidden[rows, : steps + 1] = self._hidden_tape(obs_tape, target_tape)
        self._t[rows] = 0

    # ----------------------------------------------------------------- Gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start new episodes in every copy (or in `options["reset_mask"]`'s copies).

        `seed=s` gives copy `i` the seed `s + i` (a list: one seed per copy), so copy `i`
        runs the single env's episodes for that seed. `options` may fix the tapes (see the
        subclass) for every copy, either one tape for all or one row per copy.
        """
        seeds = vector_seeds(seed, self.num_envs)
        options = dict(options) if options else {}
        mask = options.pop("reset_mask", None)
        unknown = sorted(set(options) - set(self.reset_option_keys))
        if unknown:
            raise EnvArgumentError(
                f"unknown reset option(s) {unknown}; this environment accepts "
                f"{['reset_mask', *self.reset_option_keys]}"
            )
        if mask is None:
            rows: np.ndarray | slice = slice(None)
            k = self.num_envs
        else:
            mask = reset_mask_of(mask, self.num_envs)
            if self._needs_reset and not mask.all():
                raise ResetNeeded("the first reset() must reset every copy; drop 'reset_mask'")
            rows, k = mask, int(mask.sum())
        index = np.arange(self.num_envs)[rows]
        keys = self._streams.start(index, [seeds[i] for i in index], self.np_random)
        tapes = self._tapes_from_options(options, k)
        self._start_episodes(rows, tapes if tapes is not None else self._draw_tapes(keys))
        self._autoreset[rows] = False
        self._needs_reset = False
        obs = self._obs_tape[:, 0].copy() if mask is None else self._current_obs()
        return obs, {HIDDEN_KEY: self._hidden[self._rows, self._t]}

    def _current_obs(self) -> np.ndarray:
        return self._obs_tape[self._rows, self._t]

    def _check_actions(self, actions: Any) -> np.ndarray:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or actions.dtype.kind not in "iub":
            raise InvalidAction(
                f"actions must be an integer array of shape ({self.num_envs},), got dtype "
                f"{actions.dtype} and shape {actions.shape}; "
                f"the action space is {self.action_space}"
            )
        if actions.min() < 0 or actions.max() >= self._n_actions:
            raise InvalidAction(
                f"actions {actions!r} are not in the action space {self.action_space}; "
                f"use integers in [0, {self._n_actions - 1}]"
            )
        return actions

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self._needs_reset:
            raise ResetNeeded(
                f"{type(self).__name__}.step() was called before reset(); call envs.reset() first"
            )
        actions = self._check_actions(actions)
        rows = self._rows
        target = self._target_tape[rows, self._t]  # the answer graded this step, -1 if none
        reward = (actions == target).astype(np.float64)  # +1 per right answer
        t = self._t + 1
        terminated = t == self.episode_steps
        obs = self._obs_tape[rows, t]
        graded = target >= 0
        infos: dict[str, Any] = {self.info_key: target, "_" + self.info_key: graded}
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            restart = self._autoreset
            if restart.any():  # these copies ended last step: this step only resets them
                self._t = t
                self._start_episodes(restart, self._draw_tapes(self._streams.next_episode(restart)))
                t = self._t
                obs[restart] = self._obs_tape[restart, 0]
                reward[restart] = 0.0
                graded[restart] = False
            self._autoreset = terminated.copy()
        elif terminated.any():  # SAME_STEP: reset the copies that ended, keep their last obs
            infos["final_obs"] = obs.copy()
            infos["_final_obs"] = terminated.copy()
            infos["final_info"] = {self.info_key: target, "_" + self.info_key: terminated}
            infos["_final_info"] = terminated.copy()
            self._t = t
            keys = self._streams.next_episode(terminated)
            self._start_episodes(terminated, self._draw_tapes(keys))
            t = self._t
            obs[terminated] = self._obs_tape[terminated, 0]
        self._t = t
        infos[HIDDEN_KEY] = self._hidden[rows, t]
        return obs, reward, terminated, np.zeros(self.num_envs, dtype=bool), infos

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release: the copies are arrays."""


def batch_rows(name: str, value: Any, k: int, width: int) -> np.ndarray:
    """A user-given tape option as `[k, width]`: one row for all copies or one row per copy."""
    array = tape_rows(value, k, width)
    if array is None:
        raise EnvArgumentError(
            f"reset option {name!r} must have shape ({width},) (one tape for every copy) or "
            f"({k}, {width}) (one per copy being reset), got shape {np.shape(value)}"
        )
    return array


__all__ = ["TapeVectorEnv", "batch_rows", "parse_autoreset_mode"]
