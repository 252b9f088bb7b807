"""rl-zoo3 hyperparameters for the lecture-rl ids, one file per algorithm.

Description:
    `<algo>.yml` holds rl-zoo3's hyperparameters for `LectureRL/GridWorld-v0`,
    `LectureRL/Parity-v0` and `LectureRL/Copy-v0` (the format of rl-zoo3's own
    `hyperparams/<algo>.yml`). `lecture_rl.assets.zoo.<algo>` is the same table as a module
    with a `hyperparams` dict, the form rl-zoo3's `--conf-file` accepts by module name, so
    no file path is needed:

    ```bash
    python -m rl_zoo3.train --algo dqn --env LectureRL/GridWorld-v0 \\
        --gym-packages lecture_rl.envs --conf-file lecture_rl.assets.zoo.dqn
    ```

    `path` gives the `.yml` file to copy and edit.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

ALGOS = ("a2c", "dqn", "ppo", "ppo_lstm")


def path(algo: str) -> Path:
    """The shipped `<algo>.yml` (`ValueError` naming the choices for another name)."""
    if algo not in ALGOS:
        raise ValueError(f"no rl-zoo3 hyperparameters for algo {algo!r}; choose one of {ALGOS}")
    return Path(str(resources.files(__name__) / f"{algo}.yml"))


def load(algo: str) -> dict[str, Any]:
    """The hyperparameters of `algo` as rl-zoo3 reads them: `{env_id: {key: value}}`."""
    import yaml  # a dependency of rl-zoo3

    with open(path(algo), encoding="utf-8") as f:
        return yaml.safe_load(f)
