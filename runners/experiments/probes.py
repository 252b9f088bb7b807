"""Measurements taken inside a `compare` trial: `f(agent, env, final, **keywords) -> dict`.

Description:
    With `final=False` a probe runs after every training episode and its numbers join that
    episode's record (`results.csv`, `trials/`); with `final=True` it runs once after
    training and its numbers are the trial's `probe`. Keywords are plain JSON.
"""

from __future__ import annotations

import weakref
from typing import Any

import gymnasium as gym
import numpy as np


def v_rms(agent: Any, env: Any, final: bool, true_v: list[float], states: list[int]) -> dict:
    """RMS error of `agent.v` against `true_v` over `states` (episode by episode); the
    final V."""
    v = np.asarray(agent.v, dtype=float)
    if final:
        return {"v": v.tolist()}
    error = v[states] - np.asarray(true_v, dtype=float)[states]
    return {"rms": float(np.sqrt(np.mean(error**2)))}  # √(1/|S| Σ_s (V(s) − v_π(s))²)


def length_accuracy(
    agent: Any, env: Any, final: bool, env_id: str, lengths: list[int], episodes: int, seed: int
) -> dict:
    """Greedy accuracy on the same task at other `length` values (after training)."""
    if not final:
        return {}
    from lecture_rl.runners.scoring import greedy_evaluation

    return {
        f"accuracy_{n}": greedy_evaluation(agent, env_id, {"length": n}, episodes, seed)["accuracy"]
        for n in lengths
    }


def greedy_path(agent: Any, env: Any, final: bool, limit: int = 200) -> dict:
    """The greedy episode from the start: visited states, its return, and whether it reached
    a terminal state within `limit` moves (a greedy policy can loop forever)."""
    if not final:
        return {}
    obs, info = env.reset(seed=0)
    agent.reset()
    path, total, reached = [int(obs)], 0.0, False
    for _ in range(limit):
        obs, reward, terminated, truncated, info = env.step(agent.act(obs, info, greedy=True))
        path.append(int(obs))
        total += float(reward)
        if terminated or truncated:
            reached = bool(terminated)
            break
    return {"path": path, "greedy_return": total, "reached": reached}


#: per trained agent: its own evaluation env and the env step of its next greedy episode
_GREEDY_SCHEDULE: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def greedy_return(agent: Any, env: Any, final: bool, every: int, seed: int = 1_000_000) -> dict:
    """The return of one greedy episode (reset with `seed`) every `every` env steps of
    training, on a copy of `env` (the training envs are never touched): a record gains
    `greedy_return` and `greedy_at` (the env steps when it ran) when its episode ended past
    the next multiple of `every`. A greedy policy that loops is cut at the env's own limit.

    Where one end-of-training evaluation says whether the policy is optimal at one moment,
    these say whether it stays so."""
    if final:
        return {}
    steps = int(agent.env_steps)
    schedule = _GREEDY_SCHEDULE.get(agent)
    if schedule is None:
        schedule = _GREEDY_SCHEDULE[agent] = [gym.make(env.spec), every]
    probe_env, due = schedule
    if steps < due:
        return {}
    schedule[1] = (steps // every + 1) * every
    return {"greedy_return": agent.evaluate(probe_env, 1, seed=seed)["return_mean"],
            "greedy_at": steps}  # fmt: skip
