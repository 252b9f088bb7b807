"""Tiny budgets for executing the notebooks in CI: `LECTURE_RL_NOTEBOOK_SMOKE=1`.

Description:
    A notebook states the budget a student runs (`train_episodes=300`, `seeds=10`); with the
    environment variable set, every helper of `lecture_rl.notebook` cuts its budgets to the
    few episodes or steps of `TINY`, so CI runs each notebook top to bottom in seconds and
    still fails on any error. Nothing else changes: the same calls, the same engines.
"""

from __future__ import annotations

import os

SMOKE_ENV = "LECTURE_RL_NOTEBOOK_SMOKE"

#: the most of each budget a helper uses under `LECTURE_RL_NOTEBOOK_SMOKE=1`
TINY: dict[str, int] = {
    "train_episodes": 3,  # watch: training episodes drawn
    "greedy_episodes": 1,  # watch: greedy episodes after training
    "frames": 4,  # watch's animation: frames recorded
    "episodes": 20,  # compare, train: training episodes per seed
    "steps": 2048,  # compare, train: env steps per seed
    "seeds": 2,  # compare, experiment
    "eval_episodes": 3,  # compare, train: greedy episodes per seed (default 100)
    "workers": 1,  # compare, experiment: trials in this process (no pool to start)
}


def smoke() -> bool:
    """Whether the notebooks run at CI's tiny budgets (`LECTURE_RL_NOTEBOOK_SMOKE` set, not 0)."""
    return os.environ.get(SMOKE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def shrink(name: str, value: int | None, *, default: bool = False) -> int | None:
    """`value`, or at most `TINY[name]` under the smoke setting. `None` (the command's default)
    stays `None`, or becomes `TINY[name]` with `default=True` (where the default is large)."""
    if not smoke():
        return value
    if value is None:
        return TINY[name] if default else None
    return min(int(value), TINY[name])
