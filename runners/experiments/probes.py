"""Measurements taken inside a ``compare`` trial: ``f(agent, env, final, **keywords) -> dict``.

Description:
    With ``final=False`` a probe runs after every training episode and its numbers join that
    episode's record (``results.csv``, ``trials/``); with ``final=True`` it runs once after
    training and its numbers are the trial's ``probe``. Keywords are plain JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def v_rms(agent: Any, env: Any, final: bool, true_v: list[float], states: list[int]) -> dict:
    """RMS error of ``agent.v`` against ``true_v`` over ``states`` (episode by episode); the
    final V."""
    v = np.asarray(agent.v, dtype=float)
    if final:
        return {"v": v.tolist()}
    error = v[states] - np.asarray(true_v, dtype=float)[states]
    return {"rms": float(np.sqrt(np.mean(error**2)))}  # √(1/|S| Σ_s (V(s) − v_π(s))²)


def length_accuracy(
    agent: Any, env: Any, final: bool, env_id: str, lengths: list[int], episodes: int, seed: int
) -> dict:
    """Greedy accuracy on the same task at other ``length`` values (after training)."""
    if not final:
        return {}
    from lecture_rl.runners.scoring import greedy_evaluation

    return {
        f"accuracy_{n}": greedy_evaluation(agent, env_id, {"length": n}, episodes, seed)["accuracy"]
        for n in lengths
    }


def greedy_path(agent: Any, env: Any, final: bool, limit: int = 200) -> dict:
    """The greedy episode from the start: visited states, its return, and whether it reached
    a terminal state within ``limit`` moves (a greedy policy can loop forever)."""
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
