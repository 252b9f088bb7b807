"""lecture-rl environments: the lecture's grid world, bit-stream parity and delayed copy.

Importing this package registers the ids with Gymnasium:

```python
import gymnasium as gym
import lecture_rl.envs  # noqa: F401  (registers the ids)

env = gym.make("LectureRL/Parity-v0", length=8, render_mode="ansi")
venv = gym.make_vec(
    "LectureRL/Parity-v0", num_envs=256, vectorization_mode="vector_entry_point"
)
```

`gym.make("lecture_rl.envs:LectureRL/Parity-v0")` imports the package itself, the form that
stable-baselines3's `make_vec_env` and subprocess vector envs use.

Every id has a native batched implementation (numpy, all copies stepped at once), its
`vector_entry_point`. Episodes end inside the environments (GridWorld truncates at its own
`max_steps`; Parity and Copy terminate after their fixed number of steps), so the single and
batched versions agree and no `TimeLimit` wrapper is registered.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

ENV_IDS: dict[str, str] = {
    "LectureRL/GridWorld-v0": "the lecture's grid world (notes 000 §7.f) and other maps: "
    "lecture, cliff, maze",
    "LectureRL/Parity-v0": "one random bit per step; the action is the XOR of all bits so far",
    "LectureRL/Copy-v0": "watch a sequence of symbols, wait, then reproduce it "
    "(optionally reversed)",
}

#: the optimal return of each id's default settings (GridWorld: the `lecture` map, 10); a
#: GridWorld made with another map reports its own as `env.unwrapped.reward_threshold`
REWARD_THRESHOLDS: dict[str, float] = {"LectureRL/GridWorld-v0": 10.0}

_ENTRY_POINTS: dict[str, tuple[str, str]] = {
    "LectureRL/GridWorld-v0": (
        "lecture_rl.envs.grid_world:GridWorldEnv",
        "lecture_rl.envs.grid_world_vector:GridWorldVectorEnv",
    ),
    "LectureRL/Parity-v0": (
        "lecture_rl.envs.parity:ParityEnv",
        "lecture_rl.envs.parity_vector:ParityVectorEnv",
    ),
    "LectureRL/Copy-v0": (
        "lecture_rl.envs.copy_task:CopyEnv",
        "lecture_rl.envs.copy_task_vector:CopyVectorEnv",
    ),
}


def register_envs() -> None:
    """Register every lecture-rl id with Gymnasium (idempotent)."""
    for env_id, (entry_point, vector_entry_point) in _ENTRY_POINTS.items():
        if env_id in registry:
            continue
        register(
            id=env_id,
            entry_point=entry_point,
            vector_entry_point=vector_entry_point,
            reward_threshold=REWARD_THRESHOLDS.get(env_id),
        )


register_envs()

__all__ = ["ENV_IDS", "register_envs"]
