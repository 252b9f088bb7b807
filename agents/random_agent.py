"""The random agent: uniform over the available actions. The baseline every learner must beat.

Description:
    Picks each action uniformly at random with its own seeded generator, honouring
    `info["action_mask"]` when the env gives one. It learns nothing; `train` just plays
    episodes so a comparison has a baseline curve. Works on any action space: Discrete actions
    are drawn by `self.rng` (respecting masks), other spaces by a seeded copy of the space.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from lecture_rl.agents.base import Agent, TrainingRun
from lecture_rl.agents.events import Transition
from lecture_rl.agents.hyperparameters import Param


class RandomAgent(Agent):
    """Uniformly random actions (masks honoured): the baseline."""

    name = "random"
    params: ClassVar[dict[str, Param]] = {}
    #: a random walk on an env without a time limit is cut at this many steps per episode
    max_episode_steps: ClassVar[int] = 10_000

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        self._discrete = isinstance(self.action_space, gym.spaces.Discrete)
        if not self._discrete:
            self._space = copy.deepcopy(self.action_space)
            self._space.seed(int(self.rng.integers(2**31)))
        self._env_seeded = False
        self.episodes_done = 0

    def act(self, obs: Any, info: Mapping[str, Any] | None = None, *, greedy: bool = True) -> Any:
        """A uniformly random action among those `info["action_mask"]` allows."""
        if not self._discrete:
            return self._space.sample()
        space = self.action_space
        mask = info.get("action_mask") if info else None
        if mask is not None:
            actions = np.flatnonzero(np.asarray(mask))
            if actions.size:
                return int(actions[int(self.rng.random() * actions.size)]) + int(space.start)
        return int(self.rng.random() * int(space.n)) + int(space.start)

    def _learn(self, env: gym.Env, run: TrainingRun) -> None:
        """Play episodes at random, recording each one (nothing is learned)."""
        want_transitions = run.wants(Transition)
        budget_steps = run.budget.steps
        while not run.done:
            seed = None if self._env_seeded else self.seed
            self._env_seeded = True
            obs, info = env.reset(seed=seed)
            total, length, done = 0.0, 0, False
            while not done and (budget_steps is None or run.env_steps < budget_steps):
                action = self.act(obs, info)
                next_obs, reward, terminated, truncated, info = env.step(action)
                total += float(reward)
                length += 1
                run.env_steps += 1
                done = terminated or truncated or length >= self.max_episode_steps
                if want_transitions:
                    run.emit(
                        Transition(
                            obs, action, float(reward), next_obs, bool(terminated),
                            bool(truncated), True, self.episodes_done, length - 1,
                            run.env_steps, 0, info,
                        )
                    )  # fmt: skip
                obs = next_obs
                if run.stream.stopped:
                    break
            if not done:
                break
            run.episode_end(total, length, self.episodes_done)
            self.episodes_done += 1

    def _save_state(self, folder: Path) -> dict[str, Any]:
        return {"state": {"episodes_done": self.episodes_done}}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        self.episodes_done = int(meta.get("state", {}).get("episodes_done", 0))
