"""How a run is scored: greedy episodes on fresh seeds, and the tail of the training returns.

Description:
    Evaluation seeds start at `EVAL_SEED_BASE`, far from the small training seeds, so a policy
    is never scored on the episodes it trained on; a greedy episode is cut at the env's own
    limit, else at `DEFAULT_EVAL_STEP_CAP` (a looping policy cannot hang a comparison).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from lecture_rl.agents.base import Agent
from lecture_rl.runners.env_factory import make_env

#: first evaluation seed; training seeds are small numbers, so evaluation seeds never meet them
EVAL_SEED_BASE = 1_000_000
#: greedy episodes are cut here when the env sets no limit of its own (a looping policy)
DEFAULT_EVAL_STEP_CAP = 1_000


def eval_step_cap(env: gym.Env) -> int:
    """Greedy episodes stop here: the env's own limit, else `DEFAULT_EVAL_STEP_CAP`."""
    spec = getattr(env, "spec", None)
    limit = getattr(spec, "max_episode_steps", None)
    return int(limit) if limit else DEFAULT_EVAL_STEP_CAP


def greedy_evaluation(
    agent: Agent, env_id: str, env_kwargs: dict[str, Any], episodes: int, seed: int
) -> dict[str, Any]:
    """Greedy returns of `agent` on a fresh env, episodes seeded `seed, seed+1, ...`."""
    env = make_env(env_id, env_kwargs)
    try:
        return agent.evaluate(env, episodes, seed=seed, max_episode_steps=eval_step_cap(env))
    finally:
        env.close()


def last_fraction_mean(records: list[dict[str, Any]], key: str = "return", frac=0.1) -> float:
    """Mean of `key` over the last `frac` of the episodes (at least one episode)."""
    values = [float(r[key]) for r in records if key in r]
    if not values:
        return math.nan
    count = max(1, int(math.ceil(len(values) * frac)))
    return float(np.mean(values[-count:]))
