"""Gymnasium's table-driven toy-text envs (FrozenLake, CliffWalking) as one native vector env.

Description:
    `FrozenLake-v1` and `CliffWalking-v1` are finite MDPs given by their transition table
    `P[s][a] = [(p, s', r, terminated), ...]` (the model p(s', r | s, a) of notes 000 §4 that
    dynamic programming reads). Their `step` samples one row of `P[s][a]` and their
    `reset` a start state from `initial_state_distrib`; nothing else. `TableVectorEnv`
    does the same for `num_envs` copies at once with numpy: the table becomes dense arrays
    `[S, A, K]` and a step is a handful of array lookups instead of `num_envs` Python calls
    through `SyncVectorEnv` (the deep agents' training envs; `benchmarks/dqn_vs_sb3.py`).

    Same dynamics, different random numbers: the outcome of a slippery step and the start state
    are drawn from the counter-based streams of
    [`lecture_rl.envs.streams`][lecture_rl.envs.streams] (copy `i` of a vector reset with `seed=s`
    uses seed `s + i`; the start state of episode `e` is drawn with word 0 of its key, step `t`
    with word `t`), not from each copy's `np_random`, so trajectories match Gymnasium's envs in
    distribution, not draw by draw.

## Arguments
- `env`: a `FrozenLake-v1` or `CliffWalking-v1` env (any wrappers; its table is read once).
- `num_envs` (int >= 1): copies.
- `max_episode_steps`: the time limit (truncation); default: the env's spec (100 for
  FrozenLake 4×4, none for CliffWalking).
- `autoreset_mode`: `AutoresetMode.SAME_STEP` (the deep agents' mode: a finished copy is
  reset in the same `step` and its last observation is in `infos["final_obs"]`) or
  `AutoresetMode.NEXT_STEP` (Gymnasium's default: it is reset by the next `step`).

`infos["prob"]` is the probability of the sampled transition (1 after a reset), as the single
env reports it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.toy_text.cliffwalking import CliffWalkingEnv
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv
from gymnasium.vector import AutoresetMode

from lecture_rl.envs import streams

TABLE_ENVS: tuple[type, ...] = (FrozenLakeEnv, CliffWalkingEnv)  # step/reset read only P


def is_table_env(env: gym.Env) -> bool:
    """Whether `env` is one of the toy-text envs whose dynamics are exactly their table."""
    return isinstance(env.unwrapped, TABLE_ENVS)


class TableVectorEnv(gym.vector.VectorEnv):
    """`num_envs` copies of a table-driven toy-text env stepped in numpy; see the module."""

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        env: gym.Env,
        num_envs: int,
        *,
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    ):
        model = env.unwrapped
        if not isinstance(model, TABLE_ENVS):
            names = ", ".join(cls.__name__ for cls in TABLE_ENVS)
            raise gym.error.Error(
                f"TableVectorEnv steps {names} from their table P; got {type(model).__name__}"
            )
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise gym.error.Error(f"num_envs={num_envs!r} must be a whole number >= 1")
        mode = AutoresetMode(autoreset_mode)
        if mode not in (AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP):
            raise gym.error.Error(f"autoreset_mode={mode.value!r}: use same-step or next-step")
        self.num_envs = int(num_envs)
        self.single_observation_space = model.observation_space
        self.single_action_space = model.action_space
        self.observation_space = gym.vector.utils.batch_space(model.observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(model.action_space, num_envs)
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.autoreset_mode = mode
        self.spec = env.spec
        if max_episode_steps is None and env.spec is not None:
            max_episode_steps = env.spec.max_episode_steps
        self.max_episode_steps = max_episode_steps
        self.render_mode = None

        # P[s][a] = [(p, s', r, terminated), ...] as dense arrays [S, A, K] (K: most outcomes)
        n_states, n_actions = int(model.observation_space.n), int(model.action_space.n)
        k = max(len(model.P[s][a]) for s in range(n_states) for a in range(n_actions))
        self._prob = np.zeros((n_states, n_actions, k))
        self._next = np.zeros((n_states, n_actions, k), dtype=np.int64)
        self._reward = np.zeros((n_states, n_actions, k))
        self._terminated = np.zeros((n_states, n_actions, k), dtype=bool)
        for s in range(n_states):
            for a in range(n_actions):
                for j, (p, s_next, r, done) in enumerate(model.P[s][a]):
                    self._prob[s, a, j] = p
                    self._next[s, a, j] = s_next
                    self._reward[s, a, j] = r
                    self._terminated[s, a, j] = done
        self._cumulative = np.cumsum(self._prob, axis=-1)
        self._cumulative[..., -1] = np.inf  # a uniform u < 1 always lands in some outcome
        self._start_cdf = np.cumsum(np.asarray(model.initial_state_distrib, dtype=float))
        self._start_cdf[-1] = np.inf

        self._seeds = np.zeros(num_envs, dtype=np.uint64)
        self._episodes = np.zeros(num_envs, dtype=np.uint64)
        self._keys = np.zeros(num_envs, dtype=np.uint64)
        self._elapsed = np.zeros(num_envs, dtype=np.int64)
        self._states = np.zeros(num_envs, dtype=np.int64)
        self._needs_reset = np.zeros(num_envs, dtype=bool)  # NEXT_STEP: reset on the next step
        self._seeded = False
        self._entropy = np.random.default_rng()  # seeds for a reset without any seed

    # ----- reset and step ---------------------------------------------------------------------

    def _start(self, rows: np.ndarray) -> None:
        """Start a new episode in `rows`: a new key, a start state drawn with word 0."""
        self._keys[rows] = streams.episode_keys(self._seeds[rows], self._episodes[rows])
        u = streams.uniforms(self._keys[rows], 0)
        self._states[rows] = np.searchsorted(self._start_cdf, u, side="right")
        self._elapsed[rows] = 0
        self._needs_reset[rows] = False

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is None and not self._seeded:
            seed = int(self._entropy.integers(streams.SEED_BOUND - self.num_envs))
        if seed is not None:
            seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else seed
            if len(seeds) != self.num_envs:
                raise gym.error.Error(f"{len(seeds)} seeds for {self.num_envs} envs")
            self._seeds[:] = np.asarray(seeds, dtype=np.uint64)
            self._episodes[:] = 0
            self._seeded = True
        else:
            self._episodes += np.uint64(1)
        self._start(np.arange(self.num_envs))
        ones = np.ones(self.num_envs)
        return self._states.copy(), {"prob": ones, "_prob": np.ones(self.num_envs, dtype=bool)}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)
        if ((actions < 0) | (actions >= self._prob.shape[1])).any():
            raise gym.error.InvalidAction(
                f"actions {actions.tolist()} outside {self.single_action_space}"
            )
        waiting = np.flatnonzero(self._needs_reset)  # NEXT_STEP: these only reset now
        self._elapsed += 1
        u = streams.uniforms(self._keys, self._elapsed)  # one word per copy and step
        s, rows = self._states, np.arange(self.num_envs)
        outcome = (u[:, None] < self._cumulative[s, actions]).argmax(axis=1)  # ~ p(· | s, a)
        prob = self._prob[s, actions, outcome]
        rewards = self._reward[s, actions, outcome]
        terminated = self._terminated[s, actions, outcome]
        self._states = self._next[s, actions, outcome]
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self.max_episode_steps is not None:
            truncated = ~terminated & (self._elapsed >= self.max_episode_steps)
        infos: dict[str, Any] = {"prob": prob, "_prob": np.ones(self.num_envs, dtype=bool)}
        if len(waiting):
            self._episodes[waiting] += np.uint64(1)
            self._start(waiting)
            rewards[waiting], terminated[waiting], truncated[waiting] = 0.0, False, False
            prob[waiting] = 1.0
        done = terminated | truncated
        if done.any():
            finished = rows[done]
            if self.autoreset_mode == AutoresetMode.SAME_STEP:
                final_obs = np.full(self.num_envs, None, dtype=object)
                final_obs[finished] = [int(x) for x in self._states[finished]]
                final_prob = np.zeros(self.num_envs)
                final_prob[finished] = prob[finished]
                infos["final_obs"], infos["_final_obs"] = final_obs, done.copy()
                infos["final_info"] = {"prob": final_prob, "_prob": done.copy()}
                infos["_final_info"] = done.copy()
                self._episodes[finished] += np.uint64(1)
                self._start(finished)
                prob[finished] = 1.0
            else:
                self._needs_reset[finished] = True
        return self._states.copy(), rewards, terminated, truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        pass
